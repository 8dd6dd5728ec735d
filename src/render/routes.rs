//! The flow between steps as the official table shows it: the state graph with its decision,
//! gate, split, join and choice nodes folded into arrows from step to step (or to an end), each
//! labelled with the outcome or condition it is taken on.

use super::text::{condition_text, outcome_text, Labels};
pub use crate::interpret::Dest;
use crate::interpret::{Arrow, Interpreter};
use crate::model::{Edge, Sop};

/// One arrow of the table's flowchart.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRoute {
    pub from: usize,
    pub to: Dest,
    /// The outcomes or conditions it is taken on, joined with " / "; `None` for plain flow.
    pub label: Option<String>,
    /// A return-for-completion route (drawn back up the table).
    pub rework: bool,
    /// Taken when the step's time runs out, or its hold lasts longer than allowed (drawn
    /// dashed, as a deadline).
    pub deadline: bool,
    /// Leaves a decision (the step is drawn as a diamond).
    pub from_decision: bool,
}

/// The arrows of the flowchart, in step order, one per (from, to) pair: the interpreter's
/// arrows out of each step, labelled.
pub fn step_routes(sop: &Sop, labels: &Labels) -> Vec<StepRoute> {
    let interpreter = Interpreter::new(sop);
    let mut out: Vec<StepRoute> = Vec::new();
    for (index, &node) in sop.flow.step_nodes.iter().enumerate() {
        for arrow in interpreter.arrows(sop, node) {
            let from_decision = matches!(arrow.edges.first(), Some(Edge::Next))
                && sop.steps.get(index).is_some_and(|s| s.decision.is_some());
            let label = if arrow.hold() {
                Some(labels.held_too_long.to_string())
            } else if arrow.deadline {
                Some(labels.overdue.to_string())
            } else {
                arrow_label(sop, &arrow, labels)
            };
            let (dest, rework, deadline) = (arrow.to, arrow.rework(), arrow.deadline);
            match out.iter_mut().find(|r| r.from == index && r.to == dest && r.deadline == deadline) {
                Some(existing) => {
                    existing.rework |= rework;
                    if let Some(l) = label {
                        existing.label = Some(match existing.label.take() {
                            Some(old) if old.split(" / ").any(|p| p == l) => old,
                            Some(old) => format!("{old} / {l}"),
                            None => l,
                        });
                    }
                }
                None => out.push(StepRoute { from: index, to: dest, label, rework, deadline, from_decision }),
            }
        }
    }
    out
}

/// The steps the procedure starts with (several for alternative entries).
pub fn entry_steps(sop: &Sop) -> Vec<usize> {
    let interpreter = Interpreter::new(sop);
    interpreter
        .arrows(sop, sop.flow.start)
        .into_iter()
        .filter_map(|a| match a.to {
            Dest::Step(s) => Some(s),
            Dest::End(_) => None,
        })
        .collect()
}

/// An arrow's label: the outcomes and conditions along it, joined with ", ".
fn arrow_label(sop: &Sop, arrow: &Arrow<'_>, labels: &Labels) -> Option<String> {
    let parts: Vec<String> = arrow.edges.iter().filter_map(|e| edge_label(sop, e, labels)).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn edge_label(sop: &Sop, edge: &Edge, labels: &Labels) -> Option<String> {
    match edge {
        Edge::Next | Edge::Branch | Edge::Deadline | Edge::Hold => None,
        Edge::Outcome { name, .. } => Some(outcome_text(name)),
        Edge::Condition { condition: Some(c) } => Some(condition_text(c, sop, labels)),
        Edge::Condition { condition: None } => Some(labels.otherwise.to_string()),
    }
}
