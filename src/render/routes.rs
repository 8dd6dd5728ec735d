//! The flow between steps as the official table shows it: the state graph with its decision,
//! gate, split, join and choice nodes folded into arrows from step to step (or to an end), each
//! labelled with the outcome or condition it is taken on.

use std::collections::HashSet;

use petgraph::visit::EdgeRef;

use super::text::{condition_text, outcome_text, Labels};
use crate::model::{Edge, Node, NodeIndex, Sop};

/// Where an arrow goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dest {
    Step(usize),
    End(usize),
}

/// One arrow of the table's flowchart.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRoute {
    pub from: usize,
    pub to: Dest,
    /// The outcomes or conditions it is taken on, joined with " / "; `None` for plain flow.
    pub label: Option<String>,
    /// A return-for-completion route (drawn back up the table).
    pub rework: bool,
    /// Taken when the step's time runs out.
    pub deadline: bool,
    /// Leaves a decision (the step is drawn as a diamond).
    pub from_decision: bool,
}

/// The arrows of the flowchart, in step order, one per (from, to) pair.
pub fn step_routes(sop: &Sop, labels: &Labels) -> Vec<StepRoute> {
    let mut out: Vec<StepRoute> = Vec::new();
    let graph = &sop.flow.graph;
    for (index, &node) in sop.flow.step_nodes.iter().enumerate() {
        // petgraph lists a node's edges newest first: take them in the order they were written.
        let mut edges: Vec<_> = graph.edges(node).collect();
        edges.reverse();
        for edge in edges {
            let deadline = matches!(edge.weight(), Edge::Deadline);
            let mut found = Vec::new();
            let mut seen = HashSet::new();
            let label = edge_label(sop, edge.weight(), labels);
            follow(sop, edge.target(), label, false, &mut seen, labels, &mut found);
            for (dest, label, rework) in found {
                let from_decision = matches!(graph.node_weight(edge.target()), Some(Node::Decision { .. }));
                let label = if deadline { Some(labels.overdue.to_string()) } else { label };
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
    }
    out
}

/// The steps the procedure starts with (several for alternative entries).
pub fn entry_steps(sop: &Sop, labels: &Labels) -> Vec<usize> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    follow(sop, sop.flow.start, None, false, &mut seen, labels, &mut found);
    found
        .into_iter()
        .filter_map(|(d, _, _)| match d {
            Dest::Step(s) => Some(s),
            Dest::End(_) => None,
        })
        .collect()
}

fn edge_label(sop: &Sop, edge: &Edge, labels: &Labels) -> Option<String> {
    match edge {
        Edge::Next | Edge::Branch | Edge::Deadline => None,
        Edge::Outcome { name, .. } => Some(outcome_text(name)),
        Edge::Condition { condition: Some(c) } => Some(condition_text(c, sop, labels)),
        Edge::Condition { condition: None } => Some(labels.otherwise.to_string()),
    }
}

fn join(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}, {b}")),
        (a, b) => a.or(b),
    }
}

#[allow(clippy::too_many_arguments)]
fn follow(
    sop: &Sop,
    node: NodeIndex,
    label: Option<String>,
    rework: bool,
    seen: &mut HashSet<NodeIndex>,
    labels: &Labels,
    found: &mut Vec<(Dest, Option<String>, bool)>,
) {
    let graph = &sop.flow.graph;
    match graph.node_weight(node) {
        Some(Node::Step { step }) => found.push((Dest::Step(*step), label, rework)),
        Some(Node::End { end }) => found.push((Dest::End(*end), label, rework)),
        Some(_) => {
            // Only a cycle through routing nodes alone is cut; a node met again on another
            // branch (a join after a decision) is followed again, so each outcome is seen.
            if !seen.insert(node) {
                return;
            }
            let mut edges: Vec<_> = graph.edges(node).collect();
            edges.reverse();
            for edge in edges {
                if matches!(edge.weight(), Edge::Deadline) {
                    continue;
                }
                let is_rework = matches!(edge.weight(), Edge::Outcome { rework: Some(_), .. });
                let next = join(label.clone(), edge_label(sop, edge.weight(), labels));
                follow(sop, edge.target(), next, rework || is_rework, seen, labels, found);
            }
            seen.remove(&node);
        }
        None => {}
    }
}
