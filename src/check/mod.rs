//! Stage 3: proving an SOP before anything runs. Names, routes, rules, documents and timing;
//! every check reports all it finds and none stops the others.

mod documents;
mod flow;
mod names;
mod rules;
mod timing;

use crate::compile::Options;
use crate::diagnostic::{did_you_mean, Diagnostic, Text};
use crate::model::Sop;
use crate::syntax::Span;
use crate::t;

pub fn check(sop: &Sop, options: &Options) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    names::check(sop, options, &mut out);
    rules::check(sop, &mut out);
    flow::check(sop, &mut out);
    documents::check(sop, &mut out);
    timing::check(sop, options, &mut out);
    out
}

/// "unknown X `name`" with a did-you-mean help when a close name exists.
pub(crate) fn unknown(
    code: crate::diagnostic::Code,
    kind: Text,
    name: &str,
    span: Span,
    candidates: &[&str],
    how_to_declare: Text,
) -> Diagnostic {
    let (kind_id, kind_en) = (&kind.id, &kind.en);
    let d = Diagnostic::new(
        code,
        t!("{kind_id} `{name}` tidak dikenal", "unknown {kind_en} `{name}`"),
        span,
        t!("tidak ada {kind_id} bernama ini", "no {kind_en} has this name"),
    );
    match did_you_mean(name, candidates.iter().copied()) {
        Some(better) => d.with_help(t!("maksudnya `{better}`?", "did you mean `{better}`?")),
        None => d.with_help(how_to_declare),
    }
}
