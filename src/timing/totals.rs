//! Timing totals: the main path the stated total is checked against (a traced case that takes
//! every main outcome, its critical path through parallel branches), best and worst over all
//! acyclic paths, the cost of each rework loop, time per actor, and each service-standard
//! promise. Durations here are the SOP's own units, summed as written. A step whose SOP states
//! no time (`waktu -`) adds nothing to a sum and is listed beside it (`untimed`), so every total
//! it is part of says that it is incomplete rather than passing for the whole.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde::Serialize;

use crate::interpret::trace::{trace, Fields, MainPath, WorkingMinutes};
use crate::interpret::{back_edges, first_step_of, topological_order, Interpreter, Trace};
use crate::model::{ClockPoint, Edge, Node, NodeIndex, Sop};
use crate::time::Duration;

#[derive(Clone, Debug, Serialize)]
pub struct Totals {
    /// Working minutes per day used for comparisons and rounding.
    pub day_length_minutes: u32,
    /// Every decision takes its first outcome that does not send the file back; parallel blocks
    /// count their longest branch.
    pub main_path: PathTotal,
    /// The shortest path from start to an end (parallel branches still wait for each other).
    pub best: PathTotal,
    /// The longest path from start to an end without going round a loop.
    pub worst: PathTotal,
    pub rework_loops: Vec<ReworkLoop>,
    pub per_actor: Vec<ActorTime>,
    pub service_standards: Vec<StandardCheck>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PathTotal {
    pub duration: Duration,
    pub rounded_workdays: u32,
    /// Step indexes on the path, in order (for parallel blocks: the longest branch).
    pub steps: Vec<usize>,
    /// The steps on the path whose SOP states no time: `duration` is the sum of the others.
    pub untimed: Vec<usize>,
    /// The end the path reaches (index into `Sop::ends`).
    pub end: Option<usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReworkLoop {
    /// The step whose decision sends the file back.
    pub decision_step: usize,
    pub outcome: String,
    /// The step the file goes back to.
    pub back_to: usize,
    /// One more round: the steps from `back_to` up to and including the deciding step.
    pub round: Duration,
    pub round_steps: Vec<usize>,
    pub max_rounds: Option<u32>,
    /// The main path plus every allowed round (when the rounds are limited).
    pub worst_with_rounds: Option<Duration>,
    pub clock: crate::model::ClockPolicy,
}

#[derive(Clone, Debug, Serialize)]
pub struct ActorTime {
    pub actor: String,
    pub duration: Duration,
    pub steps: usize,
    /// How many of `steps` have no time stated.
    pub untimed: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct StandardCheck {
    pub label: Option<String>,
    pub promised: Duration,
    /// Measured along the main path between the standard's clock points (the steps with a
    /// stated time).
    pub measured: Duration,
    /// The steps between the clock points whose SOP states no time.
    pub untimed: Vec<usize>,
    /// Kept or not; `None` when the steps with a stated time keep it but steps without one
    /// leave it open.
    pub within: Option<bool>,
}

/// A step's stated time; nothing for a step whose SOP states none (see [`untimed`]).
fn step_duration(sop: &Sop, step: usize) -> Duration {
    sop.steps.get(step).and_then(|s| s.stated_duration()).unwrap_or_default()
}

/// The steps among `steps` whose SOP states no time.
pub fn untimed(sop: &Sop, steps: &[usize]) -> Vec<usize> {
    steps.iter().copied().filter(|&s| sop.steps.get(s).is_some_and(|st| st.time_not_stated())).collect()
}

pub fn totals(sop: &Sop, day_length_minutes: u32) -> Totals {
    totals_with(&Interpreter::new(sop), sop, day_length_minutes)
}

/// [`totals`] with the SOP's interpreter at hand.
pub fn totals_with(interpreter: &Interpreter, sop: &Sop, day_length_minutes: u32) -> Totals {
    let (main_path, main_trace) = main_path(interpreter, sop, day_length_minutes);
    let (best, worst) = extremes(sop, day_length_minutes);
    let rework_loops = rework_loops(sop, &main_path);
    // Every step the main path takes counts for its actors, off the critical path too.
    let mut per_actor: Vec<ActorTime> = Vec::new();
    for index in main_trace.tasks.iter().map(|t| t.step) {
        let Some(step) = sop.steps.get(index) else { continue };
        for actor in step.actor_ids() {
            match per_actor.iter_mut().find(|a| a.actor == actor) {
                Some(entry) => {
                    entry.duration += step_duration(sop, index);
                    entry.steps += 1;
                    entry.untimed += usize::from(step.time_not_stated());
                }
                None => per_actor.push(ActorTime {
                    actor: actor.to_string(),
                    duration: step_duration(sop, index),
                    steps: 1,
                    untimed: usize::from(step.time_not_stated()),
                }),
            }
        }
    }
    let service_standards = sop
        .header
        .service_standards
        .iter()
        .map(|standard| {
            let until = sop.promise_until(standard);
            let segment: Vec<usize> = segment(sop, &main_path.steps, standard.from.as_ref(), until.as_ref())
                .iter()
                .copied()
                .filter(|&s| !standard.excluded.iter().any(|e| sop.steps.get(s).is_some_and(|st| st.id.name == e.name)))
                .collect();
            let segment = &segment;
            let measured: Duration = segment.iter().map(|&s| step_duration(sop, s)).sum();
            let untimed = untimed(sop, segment);
            let kept_so_far =
                measured.length_key(day_length_minutes) <= standard.duration.length_key(day_length_minutes);
            StandardCheck {
                label: standard.label.clone(),
                promised: standard.duration,
                measured,
                within: if kept_so_far && !untimed.is_empty() { None } else { Some(kept_so_far) },
                untimed,
            }
        })
        .collect();
    Totals { day_length_minutes, main_path, best, worst, rework_loops, per_actor, service_standards }
}

/// The steps of a path between two clock points.
pub fn segment<'p>(sop: &Sop, path: &'p [usize], from: Option<&ClockPoint>, until: Option<&ClockPoint>) -> &'p [usize] {
    let position = |name: &str| path.iter().position(|&s| sop.steps.get(s).is_some_and(|st| st.id.name == name));
    let start = match from {
        None => 0,
        Some(ClockPoint::StartOf(n)) => position(n.as_str()).unwrap_or(path.len()),
        Some(ClockPoint::EndOf(n)) => position(n.as_str()).map(|p| p + 1).unwrap_or(path.len()),
    };
    let stop = match until {
        None => path.len(),
        Some(ClockPoint::StartOf(n)) => position(n.as_str()).unwrap_or(path.len()),
        Some(ClockPoint::EndOf(n)) => position(n.as_str()).map(|p| p + 1).unwrap_or(path.len()),
    };
    path.get(start..stop.max(start)).unwrap_or(&[])
}

/// The main path: a case traced in working minutes taking every main outcome, and its
/// critical path (the steps that set the pace) with their written times summed.
pub fn main_path(interpreter: &Interpreter, sop: &Sop, day: u32) -> (PathTotal, Trace<u64>) {
    let traced =
        trace(interpreter, sop, &WorkingMinutes { day_length: day }, 0, Fields::new(), &mut MainPath::default());
    let steps: Vec<usize> = traced.critical_path().into_iter().map(|t| traced.tasks[t].step).collect();
    let duration: Duration = steps.iter().map(|&s| step_duration(sop, s)).sum();
    let untimed = untimed(sop, &steps);
    let path =
        PathTotal { duration, rounded_workdays: duration.rounded_workdays(day), steps, untimed, end: traced.end };
    (path, traced)
}

/// Best and worst totals over all paths that do not go round a loop. Loops are cut at their
/// back edges (found by depth-first search from the start); a join waits for all its branches.
fn extremes(sop: &Sop, day: u32) -> (PathTotal, PathTotal) {
    let back_edges = back_edges(sop);
    let order = topological_order(sop, &back_edges);
    (extreme(sop, day, &order, &back_edges, false), extreme(sop, day, &order, &back_edges, true))
}

/// One pass of dynamic programming in topological order, remembering the chosen predecessor
/// of each node (not whole paths, which would make large SOPs quadratic).
fn extreme(sop: &Sop, day: u32, order: &[NodeIndex], back_edges: &HashSet<usize>, longest: bool) -> PathTotal {
    let graph = &sop.flow.graph;
    let mut best: HashMap<NodeIndex, (Duration, Option<NodeIndex>)> = HashMap::with_capacity(order.len());
    let incoming = |node: NodeIndex| {
        graph
            .edges_directed(node, Direction::Incoming)
            .filter(|e| !back_edges.contains(&e.id().index()) && !e.weight().on_time_out())
            .map(|e| e.source())
    };
    for &node in order {
        if node == sop.flow.start {
            best.insert(node, (Duration::ZERO, None));
            continue;
        }
        let is_join = matches!(graph.node_weight(node), Some(Node::Join { .. }));
        let candidates = incoming(node).filter_map(|p| best.get(&p).map(|(d, _)| (*d, p)));
        // A join waits for its slowest branch whichever extreme is asked for.
        let chosen = if longest || is_join {
            candidates.max_by_key(|(d, _)| d.length_key(day))
        } else {
            candidates.min_by_key(|(d, _)| d.length_key(day))
        };
        let Some((mut duration, pred)) = chosen else { continue };
        if let Some(Node::Step { step }) = graph.node_weight(node) {
            duration += step_duration(sop, *step);
        }
        best.insert(node, (duration, Some(pred)));
    }
    let ends = sop.flow.end_nodes.iter().enumerate().filter_map(|(i, n)| best.get(n).map(|(d, _)| (i, *n, *d)));
    let chosen = if longest {
        ends.max_by_key(|(_, _, d)| d.length_key(day))
    } else {
        ends.min_by_key(|(_, _, d)| d.length_key(day))
    };
    let Some((end, end_node, duration)) = chosen else {
        return PathTotal {
            duration: Duration::ZERO,
            rounded_workdays: 0,
            steps: Vec::new(),
            untimed: Vec::new(),
            end: None,
        };
    };
    // Walk back along the chosen predecessors; at a join, every branch is on the path.
    let position: HashMap<NodeIndex, usize> = order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut on_path = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![end_node];
    while let Some(node) = stack.pop() {
        if !seen.insert(node) {
            continue;
        }
        if let Some(Node::Step { step }) = graph.node_weight(node) {
            on_path.push((position.get(&node).copied().unwrap_or(usize::MAX), *step));
        }
        if matches!(graph.node_weight(node), Some(Node::Join { .. })) {
            stack.extend(incoming(node).filter(|p| best.contains_key(p)));
        } else if let Some((_, Some(pred))) = best.get(&node) {
            stack.push(*pred);
        }
    }
    on_path.sort();
    let steps: Vec<usize> = on_path.into_iter().map(|(_, s)| s).collect();
    let untimed = untimed(sop, &steps);
    PathTotal { duration, rounded_workdays: duration.rounded_workdays(day), steps, untimed, end: Some(end) }
}

fn rework_loops(sop: &Sop, main: &PathTotal) -> Vec<ReworkLoop> {
    let graph = &sop.flow.graph;
    let mut out = Vec::new();
    // The first position of each step on the main path.
    let mut position: HashMap<usize, usize> = HashMap::with_capacity(main.steps.len());
    for (i, &step) in main.steps.iter().enumerate() {
        position.entry(step).or_insert(i);
    }
    for edge in graph.edge_references() {
        let Edge::Outcome { name, rework: Some(rework) } = edge.weight() else { continue };
        let Some(Node::Decision { step: decision_step }) = graph.node_weight(edge.source()) else { continue };
        let Some(back_to) = first_step_of(sop, edge.target()) else { continue };
        // One round: from the step the file returns to, along the main path, to the decision.
        let from = position.get(&back_to).copied();
        let to = position.get(decision_step).copied();
        let round_steps: Vec<usize> = match (from, to) {
            (Some(a), Some(b)) if a <= b => main.steps[a..=b].to_vec(),
            _ => vec![back_to, *decision_step],
        };
        let round: Duration = round_steps.iter().map(|&s| step_duration(sop, s)).sum();
        let worst_with_rounds = rework.max_rounds.map(|n| main.duration + round.times(n));
        out.push(ReworkLoop {
            decision_step: *decision_step,
            outcome: name.clone(),
            back_to,
            round,
            round_steps,
            max_rounds: rework.max_rounds,
            worst_with_rounds,
            clock: rework.clock,
        });
    }
    out.sort_by_key(|l| (l.decision_step, l.outcome.clone()));
    out
}
