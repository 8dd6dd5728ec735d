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

/// From this many steps on, the documents analysis (the costliest check on large SOPs) runs on
/// a second thread beside the others; below it a thread would cost more than it saves.
const PARALLEL_FROM_STEPS: usize = 1_000;

pub fn check(sop: &Sop, options: &Options) -> Vec<Diagnostic> {
    check_parallel_from(sop, options, crate::syntax::two_threads_from(PARALLEL_FROM_STEPS))
}

/// [`check`] with the step count from which a second thread is used (tests compare both ways).
#[doc(hidden)]
pub fn check_parallel_from(sop: &Sop, options: &Options, parallel_from: usize) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if sop.steps.len() < parallel_from {
        names::check(sop, options, &mut out);
        rules::check(sop, &mut out);
        flow::check(sop, &mut out);
        let flow_broken = flow_broken(&out);
        documents::check(sop, &mut out);
        timing::check(sop, options, flow_broken, &mut out);
        return out;
    }
    // The same checks and the same order of diagnostics as above.
    let mut timed = Vec::new();
    let documented = std::thread::scope(|scope| {
        let documents = scope.spawn(|| {
            let mut found = Vec::new();
            documents::check(sop, &mut found);
            found
        });
        names::check(sop, options, &mut out);
        rules::check(sop, &mut out);
        flow::check(sop, &mut out);
        timing::check(sop, options, flow_broken(&out), &mut timed);
        documents.join()
    });
    match documented {
        Ok(found) => out.extend(found),
        // A panic in the check is a bug; the one-thread path would have panicked the same way.
        Err(panic) => std::panic::resume_unwind(panic),
    }
    out.extend(timed);
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
