//! Conditions are well typed: fields exist, comparisons compare like with like, and a
//! condition is a yes/no question.

use super::unknown;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{CompareOp, Expr, ExprKind, FieldType, Sop, Value};
use crate::t;

#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Bool,
    Number,
    Text,
    Date,
    Choice(Option<Vec<String>>),
}

impl Ty {
    /// The type's name with an article, in each language: `angka`, `a number`.
    fn name(&self) -> (&'static str, &'static str) {
        match self {
            Ty::Bool => ("ya_tidak", "a yes/no value"),
            Ty::Number => ("angka", "a number"),
            Ty::Text => ("teks", "a text"),
            Ty::Date => ("tanggal", "a date"),
            Ty::Choice(_) => ("pilihan", "a choice"),
        }
    }
}

pub fn check(sop: &Sop, out: &mut Vec<Diagnostic>) {
    for step in &sop.steps {
        for condition in step.condition.iter().chain(step.routes.iter().filter_map(|r| r.condition.as_ref())) {
            if let Some(ty) = type_of(sop, condition, out) {
                if ty != Ty::Bool {
                    let (name_id, name_en) = ty.name();
                    out.push(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            t!(
                                "syarat harus bernilai ya atau tidak, bukan {name_id}",
                                "a condition must be yes or no, not {name_en}"
                            ),
                            condition.span,
                            t!("ini bernilai {name_id}", "this is {name_en}"),
                        )
                        .with_help(t!(
                            "bandingkan dengan sesuatu, misalnya `luas > 500`",
                            "compare it with something, for example `area > 500`"
                        )),
                    );
                }
            }
        }
    }
}

/// The type of an expression, or `None` after reporting why it has none.
fn type_of(sop: &Sop, expr: &Expr, out: &mut Vec<Diagnostic>) -> Option<Ty> {
    match &expr.kind {
        ExprKind::Field { name } => match sop.field(name) {
            Some(field) => Some(match &field.ty {
                FieldType::Bool => Ty::Bool,
                FieldType::Number => Ty::Number,
                FieldType::Text => Ty::Text,
                FieldType::Date => Ty::Date,
                FieldType::Choice(c) => Ty::Choice(Some(c.clone())),
            }),
            None => {
                let fields: Vec<&str> = sop.fields.iter().map(|f| f.id.as_str()).collect();
                out.push(unknown(
                    Code::UnknownField,
                    t!("data", "field"),
                    name,
                    expr.span,
                    &fields,
                    t!(
                        "tambahkan di blok `data`, misalnya `{name} ya_tidak`",
                        "add it to the `fields` block, for example `{name} boolean`"
                    ),
                ));
                None
            }
        },
        ExprKind::Literal { value } => Some(match value {
            Value::Bool(_) => Ty::Bool,
            Value::Number(_) => Ty::Number,
            Value::Text(_) => Ty::Text,
            Value::Date(_) => Ty::Date,
            Value::Choice(_) => Ty::Choice(None),
        }),
        ExprKind::Not { inner } => {
            let ty = type_of(sop, inner, out)?;
            expect_bool(&ty, inner, out)
        }
        ExprKind::And { left, right } | ExprKind::Or { left, right } => {
            let l = type_of(sop, left, out).and_then(|t| expect_bool(&t, left, out));
            let r = type_of(sop, right, out).and_then(|t| expect_bool(&t, right, out));
            l.and(r)
        }
        ExprKind::Compare { op, left, right } => {
            let l = type_of(sop, left, out);
            let r = type_of(sop, right, out);
            let (l, r) = (l?, r?);
            let compatible = match (&l, &r) {
                (Ty::Choice(Some(choices)), Ty::Choice(None)) | (Ty::Choice(None), Ty::Choice(Some(choices))) => {
                    let word = match (&left.kind, &right.kind) {
                        (_, ExprKind::Literal { value: Value::Choice(w) })
                        | (ExprKind::Literal { value: Value::Choice(w) }, _) => w,
                        _ => return Some(Ty::Bool),
                    };
                    if !choices.contains(word) {
                        let list = choices.join(", ");
                        let word_span =
                            if matches!(right.kind, ExprKind::Literal { .. }) { right.span } else { left.span };
                        out.push(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                t!("`{word}` bukan salah satu pilihan", "`{word}` is not one of the choices"),
                                word_span,
                                t!("pilihannya: {list}", "the choices are: {list}"),
                            )
                            .with_help(t!("pakai salah satu dari: {list}", "use one of: {list}")),
                        );
                    }
                    true
                }
                (Ty::Choice(_), Ty::Choice(_)) | (Ty::Choice(_), Ty::Text) | (Ty::Text, Ty::Choice(_)) => true,
                (a, b) => a == b,
            };
            let ordered = matches!(op, CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge);
            if !compatible {
                let ((l_id, l_en), (r_id, r_en)) = (l.name(), r.name());
                out.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        t!("{l_id} tidak dapat dibandingkan dengan {r_id}", "{l_en} cannot be compared with {r_en}"),
                        expr.span,
                        t!("jenis berbeda", "different types"),
                    )
                    .with_label(left.span, t!("{l_id}", "{l_en}"))
                    .with_label(right.span, t!("{r_id}", "{r_en}"))
                    .with_help(t!("bandingkan nilai yang sejenis", "compare values of the same type")),
                );
            } else if ordered && !matches!(l, Ty::Number | Ty::Date) {
                let (l_id, l_en) = l.name();
                let symbol = op.symbol();
                out.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        t!(
                            "`{symbol}` hanya untuk angka dan tanggal, bukan {l_id}",
                            "`{symbol}` only compares numbers and dates, not {l_en}"
                        ),
                        expr.span,
                        t!("tidak dapat diurutkan", "cannot be ordered"),
                    )
                    .with_help(t!("pakai `==` atau `!=`", "use `==` or `!=`")),
                );
            }
            Some(Ty::Bool)
        }
    }
}

fn expect_bool(ty: &Ty, expr: &Expr, out: &mut Vec<Diagnostic>) -> Option<Ty> {
    if *ty == Ty::Bool {
        return Some(Ty::Bool);
    }
    let (name_id, name_en) = ty.name();
    out.push(Diagnostic::new(
        Code::TypeMismatch,
        t!("diharapkan ya atau tidak, bukan {name_id}", "expected yes or no, not {name_en}"),
        expr.span,
        t!("ini bernilai {name_id}", "this is {name_en}"),
    ));
    None
}
