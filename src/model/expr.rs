//! Conditions on case fields: the "rules" of a rules-driven SOP.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use crate::syntax::Span;

/// The type of a case field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "choices", rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    Bool,
    Date,
    /// One of a fixed set of words (an outcome recorded by a decision is one).
    Choice(Vec<String>),
}

/// A value of a case field or a literal in a condition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    Bool(bool),
    Number(f64),
    Text(String),
    Date(NaiveDate),
    Choice(String),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "ya/tidak (boolean)",
            Value::Number(_) => "angka (number)",
            Value::Text(_) => "teks (text)",
            Value::Date(_) => "tanggal (date)",
            Value::Choice(_) => "pilihan (choice)",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

    fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CompareOp::Eq => ordering == Equal,
            CompareOp::Ne => ordering != Equal,
            CompareOp::Lt => ordering == Less,
            CompareOp::Le => ordering != Greater,
            CompareOp::Gt => ordering == Greater,
            CompareOp::Ge => ordering != Less,
        }
    }
}

/// Field values a condition reads, by name: any map of them (the engine evaluates on a case's
/// own map, without converting it first).
pub trait FieldValues {
    fn field(&self, name: &str) -> Option<&Value>;
}

impl<S: std::hash::BuildHasher> FieldValues for HashMap<String, Value, S> {
    fn field(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

impl FieldValues for std::collections::BTreeMap<String, Value> {
    fn field(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExprKind {
    Field { name: String },
    Literal { value: Value },
    Compare { op: CompareOp, left: Box<Expr>, right: Box<Expr> },
    And { left: Box<Expr>, right: Box<Expr> },
    Or { left: Box<Expr>, right: Box<Expr> },
    Not { inner: Box<Expr> },
}

impl Expr {
    /// Evaluates the condition against case field values. `None` when a field it reads has no
    /// value yet, so the caller can say which data is missing instead of guessing.
    pub fn eval(&self, fields: &(impl FieldValues + ?Sized)) -> Option<bool> {
        match self.value(fields)? {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn value(&self, fields: &(impl FieldValues + ?Sized)) -> Option<Value> {
        match &self.kind {
            ExprKind::Field { name } => fields.field(name).cloned(),
            ExprKind::Literal { value } => Some(value.clone()),
            ExprKind::Not { inner } => Some(Value::Bool(!inner.eval(fields)?)),
            ExprKind::And { left, right } => Some(Value::Bool(left.eval(fields)? && right.eval(fields)?)),
            ExprKind::Or { left, right } => Some(Value::Bool(left.eval(fields)? || right.eval(fields)?)),
            ExprKind::Compare { op, left, right } => {
                let (l, r) = (left.value(fields)?, right.value(fields)?);
                let ordering = match (&l, &r) {
                    (Value::Number(a), Value::Number(b)) => a.partial_cmp(b)?,
                    (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
                    (Value::Date(a), Value::Date(b)) => a.cmp(b),
                    (Value::Text(a) | Value::Choice(a), Value::Text(b) | Value::Choice(b)) => a.cmp(b),
                    _ => return None,
                };
                Some(Value::Bool(op.holds(ordering)))
            }
        }
    }

    /// Every field the condition reads.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match &self.kind {
            ExprKind::Field { name } => out.push(name),
            ExprKind::Literal { .. } => {}
            ExprKind::Not { inner } => inner.collect_fields(out),
            ExprKind::Compare { left, right, .. } | ExprKind::And { left, right } | ExprKind::Or { left, right } => {
                left.collect_fields(out);
                right.collect_fields(out);
            }
        }
    }
}
