//! The meaning of a flow, in one place: given the compiled flow graph, a node and what a case
//! knows (its fields and recorded decisions, the branches that have joined, the entry it chose),
//! what comes next: the steps that open, the conditional steps skipped, the joins reached, the
//! end. The runtime's planner, `alur time`, the simulator, the drawings and the BPMN export all
//! ask this module what follows a node; none works it out on its own (the drawings still list
//! every edge, and the whole-graph analyses of the checks still read them, but neither decides
//! where a case goes).
//!
//! [`Interpreter::walk`] moves a token from a node through the routing nodes (start, gates,
//! splits, joins, alternatives, decisions) to the steps it opens; [`Interpreter::after`] says
//! where a step leads once done (with its outcome); [`trace`] runs a whole case on a calendar
//! with every task done when it falls due, which is the timing `alur time` reports and the
//! differential tests hold the runtime and the simulator to.

mod structure;
pub mod trace;

use petgraph::graph::EdgeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use smallvec::SmallVec;

use crate::model::{ActorKind, Edge, Expr, FieldValues, Node, NodeIndex, Rework, Sop, Step};

pub use structure::{back_edges, topological_order};
pub use trace::{trace, Choices, Chosen, MainPath, Trace, TracedTask};

/// What a token reaches as it moves through the flow, in the order it reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reached {
    /// A step's task opens. `after` is the step done at once whose completion led here, if any
    /// (otherwise whatever started the walk).
    Opened { step: usize, after: Option<usize> },
    /// A step performed by the system alone is done the moment it opens (numbering, issuing
    /// automatically); its task completes without anyone acting.
    DoneAtOnce { step: usize },
    /// A conditional step whose condition does not hold is passed over.
    Skipped { step: usize },
    /// A branch arrived at a join; `passed` when it was the last one and the flow goes on.
    Joined { join: NodeIndex, passed: bool },
    /// The case ends.
    Ended { end: usize, after: Option<usize> },
}

/// What the walk asks of the case it moves.
pub trait Case {
    /// The values conditions read (recorded decisions included).
    fn fields(&self) -> &dyn FieldValues;

    /// How many branches have arrived at `join` so far.
    fn arrived(&self, join: NodeIndex) -> u32;

    /// Records one more arrival at `join` (or clears it when the join passes).
    fn set_arrived(&mut self, join: NodeIndex, count: u32);

    /// Which branch of a set of alternatives to take, as an index into `branches` (their
    /// first steps, in written order). The first one unless the case chose another entry.
    fn alternative(&mut self, _choice: NodeIndex, _first_steps: &[Option<usize>]) -> usize {
        0
    }

    /// A gate whose conditions read a field with no value yet: which route to take, given what
    /// is known of each route's condition (`Some(true)` holds, `Some(false)` does not, `None`
    /// cannot be told; the last route of a gate always holds). The runtime's rule, the default:
    /// a condition on a field with no value counts as false.
    fn undecided(&mut self, _gate: NodeIndex, known: &[Option<bool>]) -> Option<usize> {
        known.iter().position(|k| *k == Some(true))
    }
}

/// Where a step leads once it is done.
#[derive(Clone, Debug, PartialEq)]
pub struct After<'s> {
    /// The node the token moves to (`None`: the flow has no way on, reported by the checker).
    pub node: Option<NodeIndex>,
    /// The field the outcome is recorded in, with the outcome.
    pub record: Option<&'s str>,
    /// Set when the outcome sends the file back for rework.
    pub rework: Option<&'s Rework>,
}

/// Why a completion does not fit the step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutcomeError {
    /// The step takes a decision and no outcome was given; the allowed ones.
    Required(Vec<String>),
    /// The outcome is not one of the step's; the allowed ones.
    Unknown(Vec<String>),
    /// The step takes no decision.
    NoDecision,
}

/// A flow's routes in the order they were written, and the facts the walk needs per node,
/// worked out once per compiled SOP.
#[derive(Clone, Debug, Default)]
pub struct Interpreter {
    /// Per node, its outgoing edges in written order.
    routes: Vec<Vec<EdgeIndex>>,
    /// Per node: for a join, how many branch arrivals let it pass.
    join_needs: Vec<u32>,
    /// Per step: done the moment it opens (the system performs it alone).
    at_once: Vec<bool>,
}

impl Interpreter {
    pub fn new(sop: &Sop) -> Interpreter {
        let graph = &sop.flow.graph;
        let routes: Vec<Vec<EdgeIndex>> = graph
            .node_indices()
            .map(|node| {
                // petgraph lists a node's edges newest first; routes were added in written order.
                let mut edges: Vec<EdgeIndex> =
                    graph.edges_directed(node, Direction::Outgoing).map(|e| e.id()).collect();
                edges.sort_unstable();
                edges
            })
            .collect();
        let join_needs = graph
            .node_indices()
            .map(|node| match graph.node_weight(node) {
                Some(Node::Join { .. }) => {
                    // Splits and joins are made in pairs: the split is the node just before.
                    // One arrival per branch (a branch may reach the join by several routes).
                    let split = NodeIndex::new(node.index().saturating_sub(1));
                    match graph.node_weight(split) {
                        Some(Node::Split { .. }) => routes.get(split.index()).map_or(1, |r| r.len() as u32),
                        _ => graph.edges_directed(node, Direction::Incoming).count() as u32,
                    }
                }
                _ => 0,
            })
            .collect();
        let at_once = sop.steps.iter().map(|step| done_at_once(sop, step)).collect();
        Interpreter { routes, join_needs, at_once }
    }

    /// The steps a case may name as its entry: the first step of each branch of every
    /// `alternatif` block, in written order (what [`Case::alternative`] can choose).
    pub fn entries(&self, sop: &Sop) -> Vec<usize> {
        let mut out = Vec::new();
        for node in sop.flow.graph.node_indices() {
            if matches!(sop.flow.graph.node_weight(node), Some(Node::Choice { .. })) {
                for step in self.routes(sop, node).filter_map(|(t, _)| first_step_of(sop, t)) {
                    if !out.contains(&step) {
                        out.push(step);
                    }
                }
            }
        }
        out
    }

    /// The routes out of `node` in written order: (target, edge).
    pub fn routes<'s>(&'s self, sop: &'s Sop, node: NodeIndex) -> impl Iterator<Item = (NodeIndex, &'s Edge)> + 's {
        let graph = &sop.flow.graph;
        self.routes
            .get(node.index())
            .into_iter()
            .flatten()
            .filter_map(move |e| Some((graph.edge_endpoints(*e)?.1, graph.edge_weight(*e)?)))
    }

    /// The routes out of `node` in written order, with their edge ids.
    pub fn route_ids(&self, node: NodeIndex) -> &[EdgeIndex] {
        self.routes.get(node.index()).map_or(&[], Vec::as_slice)
    }

    /// Whether a step is done the moment it opens: the system performs it alone, it takes no
    /// decision and calls no other procedure.
    pub fn done_at_once(&self, step: usize) -> bool {
        self.at_once.get(step).copied().unwrap_or(false)
    }

    /// How many branches must arrive at a join before it passes.
    pub fn join_needs(&self, join: NodeIndex) -> u32 {
        self.join_needs.get(join.index()).copied().unwrap_or(1).max(1)
    }

    /// The node a token moves to when `step` is done, before its outcome is known: the step's
    /// decision for a step that takes one.
    pub fn exit(&self, sop: &Sop, step: usize) -> Option<NodeIndex> {
        let node = *sop.flow.step_nodes.get(step)?;
        self.routes(sop, node).find(|(_, e)| !e.on_time_out()).map(|(t, _)| t)
    }

    /// The join that closes a parallel split.
    pub fn join_of(&self, sop: &Sop, split: NodeIndex) -> Option<NodeIndex> {
        // Splits and joins are made in pairs: the join is the node right after its split.
        let join = NodeIndex::new(split.index() + 1);
        matches!(sop.flow.graph.node_weight(join), Some(Node::Join { .. })).then_some(join)
    }

    /// The node a deadline route of `step` leads to (`terlambat lanjut ke`).
    pub fn after_deadline(&self, sop: &Sop, step: usize) -> Option<NodeIndex> {
        let node = *sop.flow.step_nodes.get(step)?;
        self.routes(sop, node).find(|(_, e)| matches!(e, Edge::Deadline)).map(|(t, _)| t)
    }

    /// The node a hold of `step` leads to once it stood on hold for its maximum
    /// (`penangguhan maks … -> TARGET`).
    pub fn after_hold(&self, sop: &Sop, step: usize) -> Option<NodeIndex> {
        let node = *sop.flow.step_nodes.get(step)?;
        self.routes(sop, node).find(|(_, e)| matches!(e, Edge::Hold)).map(|(t, _)| t)
    }

    /// Where `step` leads once done with `outcome` (which a step with a decision needs and any
    /// other step must not have), what the outcome records and whether it is a return.
    pub fn after<'s>(&self, sop: &'s Sop, step: usize, outcome: Option<&str>) -> Result<After<'s>, OutcomeError> {
        let Some((s, &node)) = sop.steps.get(step).zip(sop.flow.step_nodes.get(step)) else {
            return Ok(After { node: None, record: None, rework: None });
        };
        let allowed =
            |s: &Step| s.decision.iter().flat_map(|d| d.outcomes.iter().map(|o| o.name.name.clone())).collect();
        match (&s.decision, outcome) {
            (Some(decision), Some(outcome)) => {
                let Some(o) = decision.outcomes.iter().find(|o| o.name.name == outcome) else {
                    return Err(OutcomeError::Unknown(allowed(s)));
                };
                let decision_node = self.routes(sop, node).find_map(|(t, _)| {
                    matches!(sop.flow.graph.node_weight(t), Some(Node::Decision { .. })).then_some(t)
                });
                let target = decision_node.and_then(|dn| {
                    self.routes(sop, dn).find_map(|(target, edge)| match edge {
                        Edge::Outcome { name, .. } if name == outcome => Some(target),
                        _ => None,
                    })
                });
                Ok(After {
                    node: target,
                    record: decision.record.as_ref().map(|r| r.as_str()),
                    rework: o.rework.as_ref(),
                })
            }
            (Some(_), None) => Err(OutcomeError::Required(allowed(s))),
            (None, Some(_)) => Err(OutcomeError::NoDecision),
            (None, None) => Ok(After { node: self.exit(sop, step), record: None, rework: None }),
        }
    }

    /// The first outcome of a step's decision that does not send the file back: the one the
    /// main path takes.
    pub fn main_outcome<'s>(&self, sop: &'s Sop, step: usize) -> Option<&'s str> {
        let decision = sop.steps.get(step)?.decision.as_ref()?;
        decision.outcomes.iter().find(|o| o.rework.is_none()).or(decision.outcomes.first()).map(|o| o.name.as_str())
    }

    /// Moves a token from `from` until it stops at steps that open, at joins still waiting,
    /// or at an end; appends what it reached to `out`. A step the system does alone is done at
    /// once and the token goes on from it, after the rest of the walk.
    pub fn walk(&self, sop: &Sop, from: NodeIndex, case: &mut dyn Case, out: &mut Vec<Reached>) {
        // On the stack: a walk rarely holds more than a few nodes at once.
        let mut work: SmallVec<[(NodeIndex, Option<usize>); 8]> = smallvec::smallvec![(from, None)];
        let mut pending: SmallVec<[(NodeIndex, Option<usize>); 4]> = SmallVec::new();
        // A route that loops back with no step between would spin: bound the walk.
        let mut budget = sop.flow.graph.node_count() * 4 + 16;
        while let Some((node, after)) = work.pop().or_else(|| pending.pop()) {
            if budget == 0 {
                return;
            }
            budget -= 1;
            match sop.flow.graph.node_weight(node) {
                None | Some(Node::Decision { .. }) => {}
                Some(Node::Start) => work.extend(self.routes(sop, node).next().map(|(t, _)| (t, after))),
                Some(Node::Step { step }) => {
                    out.push(Reached::Opened { step: *step, after });
                    if self.done_at_once(*step) {
                        out.push(Reached::DoneAtOnce { step: *step });
                        if let Ok(After { node: Some(next), .. }) = self.after(sop, *step, None) {
                            pending.push((next, Some(*step)));
                        }
                    }
                }
                Some(Node::Gate { step, guards_step }) => {
                    if let Some(target) = self.gate(sop, node, case) {
                        let guarded = sop.flow.step_nodes.get(*step).copied();
                        if *guards_step && Some(target) != guarded {
                            out.push(Reached::Skipped { step: *step });
                        }
                        work.push((target, after));
                    }
                }
                Some(Node::Split { .. }) => {
                    // Pushed last to first, so the first branch is walked first.
                    let from = work.len();
                    work.extend(self.routes(sop, node).map(|(t, _)| (t, after)));
                    work[from..].reverse();
                }
                Some(Node::Join { .. }) => {
                    let arrived = case.arrived(node) + 1;
                    if arrived >= self.join_needs(node) {
                        case.set_arrived(node, 0);
                        out.push(Reached::Joined { join: node, passed: true });
                        work.extend(self.routes(sop, node).next().map(|(t, _)| (t, after)));
                    } else {
                        case.set_arrived(node, arrived);
                        out.push(Reached::Joined { join: node, passed: false });
                    }
                }
                Some(Node::Choice { .. }) => {
                    let firsts: SmallVec<[Option<usize>; 4]> =
                        self.routes(sop, node).map(|(t, _)| first_step_of(sop, t)).collect();
                    let chosen = case.alternative(node, &firsts);
                    let target = self.routes(sop, node).nth(chosen).or_else(|| self.routes(sop, node).next());
                    work.extend(target.map(|(t, _)| (t, after)));
                }
                Some(Node::End { end }) => {
                    out.push(Reached::Ended { end: *end, after });
                    return;
                }
            }
        }
    }

    /// The route a gate takes for the case: the first whose condition holds; where a condition
    /// reads a field with no value yet, the case says.
    pub fn gate(&self, sop: &Sop, gate: NodeIndex, case: &mut dyn Case) -> Option<NodeIndex> {
        let index = match gate_route(self.gate_conditions(sop, gate), case.fields()) {
            GateRoute::Taken(i) => Some(i),
            GateRoute::Unknown(known) => case.undecided(gate, &known),
        }?;
        self.routes(sop, gate).nth(index).map(|(t, _)| t)
    }

    /// The conditions of a gate's routes in written order (`None`: otherwise).
    pub fn gate_conditions<'s>(&'s self, sop: &'s Sop, gate: NodeIndex) -> impl Iterator<Item = Option<&'s Expr>> + 's {
        self.routes(sop, gate).map(|(_, e)| match e {
            Edge::Condition { condition } => condition.as_ref(),
            _ => None,
        })
    }

    /// Every way out of a step as the official table draws it: the routing nodes folded into
    /// arrows from the step to the steps or ends it can reach, each with the edges it takes.
    /// A deadline route is one of them, marked.
    pub fn arrows<'s>(&'s self, sop: &'s Sop, from: NodeIndex) -> Vec<Arrow<'s>> {
        let mut out = Vec::new();
        for (target, edge) in self.routes(sop, from) {
            let deadline = edge.on_time_out();
            let mut path = vec![edge];
            let mut seen = Vec::new();
            self.fold(sop, target, deadline, &mut path, &mut seen, &mut out);
        }
        out
    }

    fn fold<'s>(
        &'s self,
        sop: &'s Sop,
        node: NodeIndex,
        deadline: bool,
        path: &mut Vec<&'s Edge>,
        seen: &mut Vec<NodeIndex>,
        out: &mut Vec<Arrow<'s>>,
    ) {
        match sop.flow.graph.node_weight(node) {
            Some(Node::Step { step }) => out.push(Arrow { to: Dest::Step(*step), edges: path.clone(), deadline }),
            Some(Node::End { end }) => out.push(Arrow { to: Dest::End(*end), edges: path.clone(), deadline }),
            Some(_) => {
                // Only a cycle through routing nodes alone is cut; a node met again on another
                // branch (a join after a decision) is followed again, so each outcome is seen.
                if seen.contains(&node) {
                    return;
                }
                seen.push(node);
                for (target, edge) in self.routes(sop, node) {
                    if edge.on_time_out() {
                        continue;
                    }
                    path.push(edge);
                    self.fold(sop, target, deadline, path, seen, out);
                    path.pop();
                }
                seen.pop();
            }
            None => {}
        }
    }
}

/// Which route of a gate holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateRoute {
    /// The route at this index (in written order) is the first whose condition holds.
    Taken(usize),
    /// A condition before any that holds reads a field with no value: what is known of each.
    Unknown(SmallVec<[Option<bool>; 4]>),
}

/// The rule of a gate: its routes are tried in written order and the first whose condition
/// holds is taken (a route without a condition always holds).
pub fn gate_route<'e>(conditions: impl Iterator<Item = Option<&'e Expr>>, fields: &dyn FieldValues) -> GateRoute {
    let known: SmallVec<[Option<bool>; 4]> = conditions
        .map(|c| match c {
            None => Some(true),
            Some(c) => c.eval(fields),
        })
        .collect();
    match known.iter().position(|k| *k != Some(false)) {
        Some(i) if known[i] == Some(true) => GateRoute::Taken(i),
        Some(_) => GateRoute::Unknown(known),
        None => GateRoute::Taken(known.len()),
    }
}

/// Where an arrow of the table's flowchart goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dest {
    Step(usize),
    End(usize),
}

/// A way from a step (or the start) to the next step or end, through routing nodes.
#[derive(Clone, Debug)]
pub struct Arrow<'s> {
    pub to: Dest,
    /// The edges taken, first to last (outcomes, conditions, branches).
    pub edges: Vec<&'s Edge>,
    /// Taken when the step's time runs out (or its hold lasts longer than allowed: the first
    /// edge says which).
    pub deadline: bool,
}

impl Arrow<'_> {
    /// Taken when a hold lasts longer than the step allows (`penangguhan maks`).
    pub fn hold(&self) -> bool {
        matches!(self.edges.first(), Some(Edge::Hold))
    }

    /// A return-for-completion route.
    pub fn rework(&self) -> bool {
        self.edges.iter().any(|e| matches!(e, Edge::Outcome { rework: Some(_), .. }))
    }
}

/// The step a node leads to first (the step itself, or the step behind its gate).
pub fn first_step_of(sop: &Sop, node: NodeIndex) -> Option<usize> {
    match sop.flow.graph.node_weight(node)? {
        Node::Step { step } | Node::Gate { step, guards_step: true } => Some(*step),
        _ => None,
    }
}

/// Whether only the system performs a step that takes no decision and calls nothing.
fn done_at_once(sop: &Sop, step: &Step) -> bool {
    step.performers.is_some()
        && step.actor_ids().all(|a| sop.actor(a).is_some_and(|actor| actor.kind == ActorKind::System))
        && step.decision.is_none()
        && step.call.as_ref().is_none_or(|c| c.sop.is_none())
}

/// The name a route out of a branching point goes by in `--outcome STEP=NAME` and the
/// simulator's `[outcomes.STEP]`: the outcome; `ya`/`tidak` for a conditional step's gate; the
/// target step or end for a conditional route.
pub fn route_name(sop: &Sop, edge: &Edge, target: NodeIndex, guards_step: bool) -> String {
    if let Edge::Outcome { name, .. } = edge {
        return name.clone();
    }
    if guards_step {
        return if matches!(edge, Edge::Condition { condition: Some(_) }) { "ya".into() } else { "tidak".into() };
    }
    match sop.flow.graph.node_weight(target) {
        Some(Node::Step { step }) | Some(Node::Gate { step, guards_step: true }) => {
            sop.steps.get(*step).map(|s| s.id.name.clone()).unwrap_or_default()
        }
        Some(Node::End { end }) => sop.ends.get(*end).map(|e| e.id.name.clone()).unwrap_or_default(),
        _ => "lanjut".into(),
    }
}

/// English aliases of the route names (`yes`, `no`, `next`).
pub fn route_alias(name: &str) -> &str {
    match name {
        "yes" => "ya",
        "no" => "tidak",
        "next" => "lanjut",
        other => other,
    }
}

/// The branching point a step name stands for in `--outcome` and `[outcomes]`: its decision,
/// its conditional routes' gate, or its own condition's gate (`guards`), in that order.
pub fn branching_points(sop: &Sop) -> Vec<(String, NodeIndex, bool)> {
    sop.flow
        .graph
        .node_indices()
        .filter_map(|node| match sop.flow.graph.node_weight(node)? {
            Node::Decision { step } | Node::Gate { step, .. } => {
                let guards = matches!(sop.flow.graph.node_weight(node), Some(Node::Gate { guards_step: true, .. }));
                // A hand-off chain decides at its last desk, named by its row.
                Some((sop.steps.get(*step)?.row_id().name.clone(), node, guards))
            }
            Node::Choice { name } => Some((name.clone()?, node, false)),
            _ => None,
        })
        .collect()
}
