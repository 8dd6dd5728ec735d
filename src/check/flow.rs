//! Routes: every step can be reached, every step can reach an end, no loop traps a case, and
//! no route jumps into or out of a parallel branch.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use petgraph::algo::kosaraju_scc;
use petgraph::visit::{Bfs, EdgeRef, Reversed};

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{DeadlineAction, Edge, Element, Node, NodeIndex, Sop, Target};
use crate::syntax::Span;
use crate::t;

pub fn check(sop: &Sop, out: &mut Vec<Diagnostic>) {
    let graph = &sop.flow.graph;
    // Sets of nodes, by node index.
    let mut reachable = NodeSet::new(graph.node_count());
    let mut bfs = Bfs::new(graph, sop.flow.start);
    while let Some(node) = bfs.next(graph) {
        reachable.insert(node);
    }
    let mut finishing = NodeSet::new(graph.node_count());
    let reversed = Reversed(graph);
    for &end in &sop.flow.end_nodes {
        let mut bfs = Bfs::new(reversed, end);
        while let Some(node) = bfs.next(reversed) {
            finishing.insert(node);
        }
    }
    for (index, &node) in sop.flow.step_nodes.iter().enumerate() {
        if !reachable.contains(&node) {
            let step = &sop.steps[index];
            let id = step.id.as_str();
            out.push(
                Diagnostic::new(
                    Code::UnreachableStep,
                    t!("tidak ada rute menuju langkah `{id}`", "no route leads to step `{id}`"),
                    step.span,
                    t!("langkah ini tidak pernah dikerjakan", "this step is never done"),
                )
                .with_help(t!(
                    "arahkan suatu hasil keputusan ke `{id}`, atau hapus langkah ini",
                    "route an outcome to `{id}`, or remove this step"
                )),
            );
        }
    }
    // Steps that are reached but cannot finish: trapped in a loop, or leading into one.
    let trapped: HashSet<NodeIndex> =
        sop.flow.step_nodes.iter().copied().filter(|n| reachable.contains(n) && !finishing.contains(n)).collect();
    let mut in_loop = HashSet::new();
    for component in kosaraju_scc(graph) {
        let looping = component.len() > 1 || component.iter().any(|n| graph.edges_connecting(*n, *n).next().is_some());
        if !looping || !component.iter().all(|n| reachable.contains(n) && !finishing.contains(n)) {
            continue;
        }
        let mut steps: Vec<usize> = component.iter().filter_map(|n| sop.flow.step_of(*n)).collect();
        steps.sort();
        let Some(&first) = steps.first() else { continue };
        in_loop.extend(component.iter().copied());
        let names = steps.iter().map(|s| format!("`{}`", sop.steps[s.to_owned()].id)).collect::<Vec<_>>().join(", ");
        let mut d = Diagnostic::new(
            Code::LoopWithoutExit,
            t!("perulangan tanpa jalan keluar: {names}", "a loop with no way out: {names}"),
            sop.steps[first].span,
            t!("kasus yang masuk ke sini tidak pernah selesai", "a case that gets here never finishes"),
        )
        .with_help(t!(
            "beri salah satu langkah keputusan dengan hasil yang keluar dari perulangan",
            "give one of the steps a decision with an outcome that leaves the loop"
        ));
        for &s in steps.iter().skip(1) {
            d = d.with_label(sop.steps[s].span, t!("bagian dari perulangan", "part of the loop"));
        }
        let members: HashSet<NodeIndex> = component.iter().copied().collect();
        for (span, back_to) in closing_routes(sop, &members) {
            d = d.with_label(
                span,
                t!(
                    "rute ini kembali ke `{back_to}` dan menutup perulangan",
                    "this route goes back to `{back_to}` and closes the loop"
                ),
            );
        }
        out.push(d);
    }
    for (index, &node) in sop.flow.step_nodes.iter().enumerate() {
        if trapped.contains(&node) && !in_loop.contains(&node) {
            let step = &sop.steps[index];
            let id = step.id.as_str();
            out.push(
                Diagnostic::new(
                    Code::NoEndReachable,
                    t!(
                        "dari langkah `{id}` tidak ada akhir yang dapat dicapai",
                        "no end can be reached from step `{id}`"
                    ),
                    step.span,
                    t!("kasus dari sini tidak pernah selesai", "a case never finishes from here"),
                )
                .with_help(t!(
                    "arahkan rutenya ke langkah yang menuju akhir",
                    "route it to a step that leads to an end"
                )),
            );
        }
    }
    branch_boundaries(sop, out);
}

/// The lines whose routes close a loop: the edges inside it that go back in the written order
/// (to the same step or an earlier one), each with the step it goes back to. In written order
/// because that is how the file reads: `kembali ke ajukan`, `lanjut ke verifikasi`.
fn closing_routes(sop: &Sop, members: &HashSet<NodeIndex>) -> Vec<(Span, String)> {
    let graph = &sop.flow.graph;
    let mut edges: Vec<_> =
        graph.edge_references().filter(|e| members.contains(&e.source()) && members.contains(&e.target())).collect();
    edges.sort_by_key(|e| e.id().index());
    let mut out: Vec<(Span, String)> = Vec::new();
    for edge in edges {
        let (Some(source), Some(target)) = (graph.node_weight(edge.source()), graph.node_weight(edge.target())) else {
            continue;
        };
        let (Some(from), Some(to)) = (step_at(source), step_at(target)) else { continue };
        // Within one step, only a route of its own back to its start closes a loop.
        let back = to < from
            || (to == from
                && matches!(source, Node::Decision { .. } | Node::Gate { guards_step: false, .. } | Node::Step { .. })
                && matches!(target, Node::Step { .. } | Node::Gate { guards_step: true, .. }));
        let (Some(step), Some(back_to)) = (sop.steps.get(from), sop.steps.get(to)) else { continue };
        if !back {
            continue;
        }
        let back_to = back_to.id.as_str();
        let span = match (source, edge.weight()) {
            (Node::Decision { .. }, Edge::Outcome { name, .. }) => {
                step.decision.iter().flat_map(|d| &d.outcomes).find(|o| o.name.as_str() == name).map(|o| o.span)
            }
            (Node::Gate { .. }, Edge::Condition { condition }) => {
                step.routes.iter().find(|r| r.condition == *condition).map(|r| r.span)
            }
            (Node::Step { .. }, Edge::Deadline) => step.deadline_actions.iter().find_map(|a| match a {
                DeadlineAction::Route { target: Target::Named(n), span } if n.as_str() == back_to => Some(*span),
                _ => None,
            }),
            (Node::Step { .. }, Edge::Hold) => step.hold.as_ref().map(|h| h.span),
            (Node::Step { .. }, _) => step.routes.first().map(|r| r.span),
            _ => None,
        };
        // A route that falls through to the next step in its branch has no line of its own.
        let span = span.unwrap_or(step.span);
        if !out.iter().any(|(s, _)| s.same_place(&span)) {
            out.push((span, back_to.to_string()));
        }
    }
    out
}

/// The step a node belongs to: the step itself, its decision, or its gate.
fn step_at(node: &Node) -> Option<usize> {
    match node {
        Node::Step { step } | Node::Decision { step } | Node::Gate { step, .. } => Some(*step),
        _ => None,
    }
}

/// A set of graph nodes as one flag per node index.
struct NodeSet(Vec<bool>);

impl NodeSet {
    fn new(nodes: usize) -> Self {
        NodeSet(vec![false; nodes])
    }

    fn insert(&mut self, node: NodeIndex) {
        if let Some(flag) = self.0.get_mut(node.index()) {
            *flag = true;
        }
    }

    fn contains(&self, node: &NodeIndex) -> bool {
        self.0.get(node.index()).copied().unwrap_or(false)
    }
}

/// Where each step sits: the chain of (parallel block, branch) around it.
fn contexts(sop: &Sop) -> HashMap<usize, Vec<(usize, usize)>> {
    fn walk(
        elements: &[Element],
        context: &mut Vec<(usize, usize)>,
        counter: &mut usize,
        out: &mut HashMap<usize, Vec<(usize, usize)>>,
    ) {
        for element in elements {
            match element {
                Element::Step { step } => {
                    out.insert(*step, context.clone());
                }
                Element::Parallel { branches, .. } => {
                    *counter += 1;
                    let block = *counter;
                    for (i, branch) in branches.iter().enumerate() {
                        context.push((block, i));
                        walk(branch, context, counter, out);
                        context.pop();
                    }
                }
                Element::Alternatives { branches, .. } => {
                    for branch in branches {
                        walk(branch, context, counter, out);
                    }
                }
            }
        }
    }
    let mut out = HashMap::new();
    walk(&sop.body, &mut Vec::new(), &mut 0, &mut out);
    out
}

fn branch_boundaries(sop: &Sop, out: &mut Vec<Diagnostic>) {
    let contexts = contexts(sop);
    let none = Vec::new();
    // Step index by id (the first step of a duplicated id, as `Sop::step_index`).
    let mut step_ids: HashMap<&str, usize> = HashMap::with_capacity(sop.steps.len());
    for (index, step) in sop.steps.iter().enumerate() {
        step_ids.entry(step.id.as_str()).or_insert(index);
    }
    for (index, step) in sop.steps.iter().enumerate() {
        let here = contexts.get(&index).unwrap_or(&none);
        let outcome_targets = step.decision.iter().flat_map(|d| &d.outcomes).map(|o| &o.target);
        let route_targets = step.routes.iter().map(|r| &r.target);
        let deadline_targets = step.deadline_actions.iter().filter_map(|a| match a {
            DeadlineAction::Route { target, .. } => Some(target),
            _ => None,
        });
        let hold_target = step.hold.iter().map(|h| &h.target);
        let targets: Vec<(&str, Span)> = outcome_targets
            .chain(route_targets)
            .chain(deadline_targets)
            .chain(hold_target)
            .filter_map(|t| match t {
                Target::Named(n) => Some((n.as_str(), n.span)),
                Target::Next => None,
            })
            .collect();
        for (name, span) in targets {
            let there = match step_ids.get(name).copied() {
                Some(t) => contexts.get(&t).unwrap_or(&none),
                None if sop.end(name).is_some() => &none,
                None => continue,
            };
            if here != there {
                out.push(
                    Diagnostic::new(
                        Code::RouteLeavesBranch,
                        t!("rute ke `{name}` melompat keluar atau masuk cabang paralel", "the route to `{name}` jumps into or out of a parallel branch"),
                        span,
                        t!("di luar cabang langkah ini", "outside this step's branch"),
                    )
                    .with_label(step.span, t!("langkah di dalam cabang", "the step in the branch"))
                    .with_help(t!(
                        "cabang paralel bertemu dulu sebelum alur berlanjut; catat hasilnya di data dan arahkan setelah `paralel`",
                        "parallel branches meet before the flow goes on; record the result in a field and route after the `parallel` block"
                    )),
                );
            }
        }
    }
}
