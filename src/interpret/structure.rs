//! The flow's structure as a whole, for the analyses that look at every path at once (best and
//! worst totals, what documents exist before each step): which edges close a loop, and an
//! order of the nodes that puts each after the nodes before it.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::model::{Edge, NodeIndex, Sop};

/// Edge indexes that close a cycle (target on the DFS stack), plus every rework edge.
pub fn back_edges(sop: &Sop) -> HashSet<usize> {
    let graph = &sop.flow.graph;
    let mut back = HashSet::new();
    for edge in graph.edge_references() {
        if matches!(edge.weight(), Edge::Outcome { rework: Some(_), .. }) {
            back.insert(edge.id().index());
        }
    }
    let mut state: HashMap<NodeIndex, u8> = HashMap::new(); // 1 = on stack, 2 = done
    let mut stack: Vec<(NodeIndex, Vec<(usize, NodeIndex)>)> = Vec::new();
    let children = |n: NodeIndex| -> Vec<(usize, NodeIndex)> {
        let mut v: Vec<_> =
            graph.edges_directed(n, Direction::Outgoing).map(|e| (e.id().index(), e.target())).collect();
        v.sort();
        v.reverse();
        v
    };
    state.insert(sop.flow.start, 1);
    stack.push((sop.flow.start, children(sop.flow.start)));
    while let Some((node, pending)) = stack.last_mut() {
        match pending.pop() {
            Some((edge, target)) => match state.get(&target) {
                Some(1) => {
                    back.insert(edge);
                }
                Some(_) => {}
                None => {
                    state.insert(target, 1);
                    let c = children(target);
                    stack.push((target, c));
                }
            },
            None => {
                state.insert(*node, 2);
                stack.pop();
            }
        }
    }
    back
}

/// Every node, each after all its predecessors except across `back_edges`.
pub fn topological_order(sop: &Sop, back_edges: &HashSet<usize>) -> Vec<NodeIndex> {
    let graph = &sop.flow.graph;
    let mut indegree: HashMap<NodeIndex, usize> = graph.node_indices().map(|n| (n, 0)).collect();
    for edge in graph.edge_references() {
        if !back_edges.contains(&edge.id().index()) {
            *indegree.entry(edge.target()).or_default() += 1;
        }
    }
    let mut ready: Vec<NodeIndex> = indegree.iter().filter(|(_, d)| **d == 0).map(|(n, _)| *n).collect();
    ready.sort();
    ready.reverse();
    let mut order = Vec::with_capacity(graph.node_count());
    while let Some(node) = ready.pop() {
        order.push(node);
        for edge in graph.edges_directed(node, Direction::Outgoing) {
            if back_edges.contains(&edge.id().index()) {
                continue;
            }
            if let Some(d) = indegree.get_mut(&edge.target()) {
                *d -= 1;
                if *d == 0 {
                    ready.push(edge.target());
                }
            }
        }
    }
    order
}
