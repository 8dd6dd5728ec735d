//! Conditions: `luas > 500 dan jenis == baru`, `not perlu_survei`, with parentheses.
//! Precedence, loosest first: `atau`/`or`, `dan`/`and`, `tidak`/`not`, comparisons.

use chrono::NaiveDate;

use super::cursor::Cursor;
use super::keyword::Kw;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{CompareOp, Expr, ExprKind, Value};
use crate::syntax::TokenKind;
use crate::t;

/// Nesting of parentheses and `not` beyond this is refused (no real rule needs it, and the
/// recursive descent must not overflow the stack on hostile input).
const MAX_DEPTH: usize = 64;

pub fn expect_condition(cursor: &mut Cursor<'_>) -> Result<Expr, Diagnostic> {
    or_expr(cursor, 0)
}

fn too_deep(cursor: &Cursor<'_>) -> Diagnostic {
    Diagnostic::new(
        Code::NestingTooDeep,
        t!("syarat ini bersarang terlalu dalam", "this condition is nested too deeply"),
        cursor.here(),
        t!("terlalu dalam", "too deep"),
    )
}

fn or_expr(cursor: &mut Cursor<'_>, depth: usize) -> Result<Expr, Diagnostic> {
    let mut left = and_expr(cursor, depth)?;
    while cursor.eat_kw(Kw::Or) {
        let right = and_expr(cursor, depth)?;
        let span = left.span.to(right.span);
        left = Expr { kind: ExprKind::Or { left: Box::new(left), right: Box::new(right) }, span };
    }
    Ok(left)
}

fn and_expr(cursor: &mut Cursor<'_>, depth: usize) -> Result<Expr, Diagnostic> {
    let mut left = not_expr(cursor, depth)?;
    while cursor.eat_kw(Kw::And) {
        let right = not_expr(cursor, depth)?;
        let span = left.span.to(right.span);
        left = Expr { kind: ExprKind::And { left: Box::new(left), right: Box::new(right) }, span };
    }
    Ok(left)
}

fn not_expr(cursor: &mut Cursor<'_>, depth: usize) -> Result<Expr, Diagnostic> {
    if depth > MAX_DEPTH {
        return Err(too_deep(cursor));
    }
    let start = cursor.here();
    if cursor.eat_kw(Kw::Not) {
        let inner = not_expr(cursor, depth + 1)?;
        let span = start.to(inner.span);
        return Ok(Expr { kind: ExprKind::Not { inner: Box::new(inner) }, span });
    }
    comparison(cursor, depth)
}

fn comparison(cursor: &mut Cursor<'_>, depth: usize) -> Result<Expr, Diagnostic> {
    let left = atom(cursor, depth)?;
    let op = match cursor.peek() {
        Some(t) if t.kind == TokenKind::Compare => match t.text.as_str() {
            "==" | "=" => CompareOp::Eq,
            "!=" => CompareOp::Ne,
            "<" => CompareOp::Lt,
            "<=" => CompareOp::Le,
            ">" => CompareOp::Gt,
            _ => CompareOp::Ge,
        },
        _ => return Ok(left),
    };
    cursor.next();
    let right = atom(cursor, depth)?;
    let span = left.span.to(right.span);
    Ok(Expr { kind: ExprKind::Compare { op, left: Box::new(left), right: Box::new(right) }, span })
}

fn atom(cursor: &mut Cursor<'_>, depth: usize) -> Result<Expr, Diagnostic> {
    if depth > MAX_DEPTH {
        return Err(too_deep(cursor));
    }
    let what = t!(
        "syarat seperti `luas > 500` atau `perlu_survei`",
        "a condition such as `area > 500` or `inspection_needed`"
    );
    if let Some(open) = cursor.eat_punct("(") {
        let inner = or_expr(cursor, depth + 1)?;
        let close = cursor.expect_punct(")", &t!("`)` penutup", "a closing `)`"))?;
        return Ok(Expr { kind: inner.kind, span: open.span.to(close.span) });
    }
    let Some(token) = cursor.peek() else {
        return Err(cursor.expected(&what));
    };
    let value = match token.kind {
        TokenKind::Number => match token.text.parse::<f64>() {
            Ok(n) => Value::Number(n),
            Err(_) => return Err(cursor.expected(&what)),
        },
        TokenKind::String => Value::Text(token.string_value()),
        TokenKind::Date => match NaiveDate::parse_from_str(&token.text, "%Y-%m-%d") {
            Ok(d) => Value::Date(d),
            Err(_) => {
                let text = &token.text;
                return Err(Diagnostic::new(
                    Code::InvalidValue,
                    t!("`{text}` bukan tanggal yang ada", "`{text}` is not a real date"),
                    token.span,
                    t!("tanggal tidak valid", "invalid date"),
                ));
            }
        },
        TokenKind::Word if Kw::True.matches(token) => Value::Bool(true),
        TokenKind::Word if Kw::False.matches(token) => Value::Bool(false),
        TokenKind::Word if Kw::of(token).is_some_and(|(k, _)| matches!(k, Kw::And | Kw::Or | Kw::Not)) => {
            return Err(cursor.expected(&what));
        }
        TokenKind::Word => {
            cursor.next();
            // A field, or a choice word such as `baru`: told apart once fields are known.
            return Ok(Expr { kind: ExprKind::Field { name: token.text.clone() }, span: token.span });
        }
        _ => return Err(cursor.expected(&what)),
    };
    cursor.next();
    Ok(Expr { kind: ExprKind::Literal { value }, span: token.span })
}
