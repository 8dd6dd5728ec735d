//! Case field values from what people type (forms, the shell) or send (JSON), checked against
//! the field's declared type.

use chrono::NaiveDate;

use super::{Fields, RuntimeError};
use crate::model::{FieldType, Sop, Value};

/// A value typed as text: `ya`/`tidak` for yes-no fields, `YYYY-MM-DD` for dates.
pub fn from_text(sop: &Sop, name: &str, raw: &str) -> Result<Value, RuntimeError> {
    let Some(field) = sop.field(name) else { return Err(RuntimeError::UnknownField { field: name.into() }) };
    let wrong = |expected: &str| RuntimeError::FieldType {
        field: name.to_string(),
        expected: expected.to_string(),
        got: format!("`{raw}`"),
    };
    Ok(match &field.ty {
        FieldType::Text => Value::Text(raw.to_string()),
        FieldType::Choice(choices) => {
            if !choices.iter().any(|c| c == raw) {
                return Err(wrong(&format!("one of {}", choices.join(", "))));
            }
            Value::Choice(raw.to_string())
        }
        FieldType::Number => Value::Number(raw.trim().parse().map_err(|_| wrong("a number"))?),
        FieldType::Bool => match raw.trim() {
            "ya" | "benar" | "true" | "yes" | "on" => Value::Bool(true),
            "tidak" | "salah" | "false" | "no" | "off" => Value::Bool(false),
            _ => return Err(wrong("ya or tidak (yes or no)")),
        },
        FieldType::Date => Value::Date(
            NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| wrong("a date written YYYY-MM-DD"))?,
        ),
    })
}

/// `NAME=VALUE` pairs, as the shell gives them.
pub fn from_pairs(sop: &Sop, pairs: &[String]) -> Result<Fields, String> {
    let mut out = Fields::new();
    for pair in pairs {
        let Some((name, raw)) = pair.split_once('=') else { return Err(format!("`{pair}`: write NAME=VALUE")) };
        out.insert(name.to_string(), from_text(sop, name, raw).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// A JSON object of plain values: strings, numbers, booleans, dates as `YYYY-MM-DD` strings.
pub fn from_json(sop: &Sop, object: &serde_json::Map<String, serde_json::Value>) -> Result<Fields, RuntimeError> {
    let mut out = Fields::new();
    for (name, json) in object {
        let Some(field) = sop.field(name) else { return Err(RuntimeError::UnknownField { field: name.clone() }) };
        let value = match (&field.ty, json) {
            (FieldType::Number, serde_json::Value::Number(n)) => match n.as_f64() {
                Some(n) => Value::Number(n),
                None => {
                    return Err(RuntimeError::FieldType {
                        field: name.clone(),
                        expected: "a number".into(),
                        got: n.to_string(),
                    })
                }
            },
            (FieldType::Bool, serde_json::Value::Bool(b)) => Value::Bool(*b),
            (_, serde_json::Value::String(text)) if !matches!(field.ty, FieldType::Number | FieldType::Bool) => {
                from_text(sop, name, text)?
            }
            (ty, other) => {
                let expected = match ty {
                    FieldType::Text => "text",
                    FieldType::Number => "a number",
                    FieldType::Bool => "true or false",
                    FieldType::Date => "a date string YYYY-MM-DD",
                    FieldType::Choice(_) => "one of the choices, as a string",
                };
                return Err(RuntimeError::FieldType {
                    field: name.clone(),
                    expected: expected.into(),
                    got: other.to_string(),
                });
            }
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// A value as plain JSON (the inverse of [`from_json`]).
pub fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => {
            serde_json::Number::from_f64(*n).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null)
        }
        Value::Text(t) | Value::Choice(t) => serde_json::Value::String(t.clone()),
        Value::Date(d) => serde_json::Value::String(d.format("%Y-%m-%d").to_string()),
    }
}

/// A value as a person reads it.
pub fn to_text(value: &Value) -> String {
    match value {
        Value::Bool(true) => "ya".into(),
        Value::Bool(false) => "tidak".into(),
        Value::Number(n) => n.to_string(),
        Value::Text(t) | Value::Choice(t) => t.clone(),
        Value::Date(d) => d.format("%Y-%m-%d").to_string(),
    }
}
