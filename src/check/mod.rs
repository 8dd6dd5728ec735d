//! Stage 3: proving an SOP before anything runs. Names, routes, rules, documents and timing;
//! every check reports all it finds and none stops the others.

mod documents;
mod flow;
mod names;
mod rules;
mod timing;

use crate::diagnostic::{did_you_mean, Code, Diagnostic, Text};
use crate::model::Options;
use crate::model::Sop;
use crate::syntax::Span;
use crate::t;

pub fn check(sop: &Sop, options: &Options) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    names::check(sop, options, &mut out);
    rules::check(sop, &mut out);
    flow::check(sop, &mut out);
    let flow_broken = flow_broken(&out);
    documents::check(sop, &mut out);
    timing::check(sop, options, flow_broken, &mut out);
    out
}

/// Whether the flow check found steps that never reach an end (the main path may stop short).
fn flow_broken(found: &[Diagnostic]) -> bool {
    found.iter().any(|d| matches!(d.code, Code::NoEndReachable | Code::LoopWithoutExit))
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
