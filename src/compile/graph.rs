//! The written structure to a petgraph state graph. Names that do not resolve are left out of
//! the graph; the checker reports them.

use foldhash::{HashMap, HashMapExt};

use crate::model::{Edge, Element, Flow, Node, NodeIndex, Sop, Target};

struct Builder<'a> {
    sop: &'a Sop,
    flow: Flow,
    /// Entry node of each step: its gate when conditional, the step itself otherwise.
    entries: Vec<NodeIndex>,
    decisions: HashMap<usize, NodeIndex>,
    by_name: HashMap<&'a str, NodeIndex>,
    /// Where the flow goes after the last desk of each hand-off chain, by the row's id: a
    /// conditional row that is skipped skips all its desks.
    chain_exits: HashMap<&'a str, NodeIndex>,
}

/// Builds the flow graph of a model whose `flow` is still empty.
pub fn build(sop: &Sop) -> Flow {
    let mut flow = Flow::default();
    flow.start = flow.graph.add_node(Node::Start);
    let mut b = Builder {
        sop,
        flow,
        entries: Vec::new(),
        decisions: HashMap::new(),
        by_name: HashMap::new(),
        chain_exits: HashMap::new(),
    };
    for (index, step) in sop.steps.iter().enumerate() {
        let node = b.flow.graph.add_node(Node::Step { step: index });
        b.flow.step_nodes.push(node);
        let entry = if step.condition.is_some() {
            b.flow.graph.add_node(Node::Gate { step: index, guards_step: true })
        } else {
            node
        };
        b.entries.push(entry);
        if step.decision.is_some() {
            let decision = b.flow.graph.add_node(Node::Decision { step: index });
            b.decisions.insert(index, decision);
        }
        b.by_name.entry(step.id.as_str()).or_insert(entry);
    }
    for (index, end) in sop.ends.iter().enumerate() {
        let node = b.flow.graph.add_node(Node::End { end: index });
        b.flow.end_nodes.push(node);
        b.by_name.entry(end.id.as_str()).or_insert(node);
    }
    let default_end = b.flow.end_nodes.first().copied().unwrap_or(b.flow.start);
    let entry = b.sequence(&sop.body, default_end);
    let start = b.flow.start;
    b.flow.graph.add_edge(start, entry, Edge::Next);
    b.flow
}

impl Builder<'_> {
    fn entry_of(&mut self, element: &Element, continuation: NodeIndex) -> NodeIndex {
        match element {
            Element::Step { step } => self.entries.get(*step).copied().unwrap_or(continuation),
            Element::Parallel { .. } | Element::Alternatives { .. } => continuation,
        }
    }

    /// Wires a sequence so it flows into `continuation`; returns its entry node.
    fn sequence(&mut self, elements: &[Element], continuation: NodeIndex) -> NodeIndex {
        let mut next = continuation;
        for element in elements.iter().rev() {
            next = self.element(element, next);
        }
        next
    }

    fn element(&mut self, element: &Element, continuation: NodeIndex) -> NodeIndex {
        match element {
            Element::Step { step } => {
                self.step(*step, continuation);
                self.entry_of(element, continuation)
            }
            Element::Parallel { name, branches, .. } => {
                let name = name.as_ref().map(|n| n.name.clone());
                let split = self.flow.graph.add_node(Node::Split { name: name.clone() });
                let join = self.flow.graph.add_node(Node::Join { name });
                for branch in branches {
                    let entry = self.sequence(branch, join);
                    self.flow.graph.add_edge(split, entry, Edge::Branch);
                }
                if branches.is_empty() {
                    // Reported as an empty block; the flow goes on past it.
                    self.flow.graph.add_edge(split, join, Edge::Branch);
                }
                self.flow.graph.add_edge(join, continuation, Edge::Next);
                split
            }
            Element::Alternatives { name, branches, .. } => {
                let choice = self.flow.graph.add_node(Node::Choice { name: name.as_ref().map(|n| n.name.clone()) });
                for branch in branches {
                    let entry = self.sequence(branch, continuation);
                    self.flow.graph.add_edge(choice, entry, Edge::Branch);
                }
                if branches.is_empty() {
                    self.flow.graph.add_edge(choice, continuation, Edge::Branch);
                }
                choice
            }
        }
    }

    fn resolve(&self, target: &Target, continuation: NodeIndex) -> Option<NodeIndex> {
        match target {
            Target::Next => Some(continuation),
            Target::Named(name) => self.by_name.get(name.as_str()).copied().or_else(|| self.stand_in(name.as_str())),
        }
    }

    /// Where an unknown target (already reported) most likely points: the name the did-you-mean
    /// help suggests, or else an end. Without a stand-in, one misspelt target would also make the
    /// step it meant unreachable and the steps before it a loop without exit.
    fn stand_in(&self, name: &str) -> Option<NodeIndex> {
        let mut names: Vec<&str> = self.by_name.keys().copied().collect();
        names.sort_unstable();
        crate::diagnostic::did_you_mean(name, names)
            .and_then(|n| self.by_name.get(n).copied())
            .or_else(|| self.flow.end_nodes.first().copied())
    }

    fn step(&mut self, index: usize, continuation: NodeIndex) {
        let sop = self.sop;
        let Some(step) = sop.steps.get(index) else { return };
        let node = self.flow.step_nodes[index];
        let entry = self.entries[index];
        // A sequence is wired last to first, so a chain's last desk is met before its first.
        if let Some(desk) = step.desk.as_ref().filter(|d| d.is_last()) {
            self.chain_exits.insert(desk.row.as_str(), continuation);
        }
        if let Some(condition) = &step.condition {
            let skip_to = step.desk.as_ref().and_then(|d| self.chain_exits.get(d.row.as_str()).copied());
            self.flow.graph.add_edge(entry, node, Edge::Condition { condition: Some(condition.clone()) });
            self.flow.graph.add_edge(entry, skip_to.unwrap_or(continuation), Edge::Condition { condition: None });
        }
        if let (Some(decision), Some(&decision_node)) = (&step.decision, self.decisions.get(&index)) {
            self.flow.graph.add_edge(node, decision_node, Edge::Next);
            for outcome in &decision.outcomes {
                if let Some(target) = self.resolve(&outcome.target, continuation) {
                    let edge = Edge::Outcome { name: outcome.name.name.clone(), rework: outcome.rework.clone() };
                    self.flow.graph.add_edge(decision_node, target, edge);
                }
            }
        } else if step.routes.iter().any(|r| r.condition.is_some()) {
            let gate = self.flow.graph.add_node(Node::Gate { step: index, guards_step: false });
            self.flow.graph.add_edge(node, gate, Edge::Next);
            let mut has_otherwise = false;
            for route in &step.routes {
                has_otherwise |= route.condition.is_none();
                if let Some(target) = self.resolve(&route.target, continuation) {
                    self.flow.graph.add_edge(gate, target, Edge::Condition { condition: route.condition.clone() });
                }
                if route.condition.is_none() {
                    break;
                }
            }
            if !has_otherwise {
                self.flow.graph.add_edge(gate, continuation, Edge::Condition { condition: None });
            }
        } else if let Some(route) = step.routes.first() {
            if let Some(target) = self.resolve(&route.target, continuation) {
                self.flow.graph.add_edge(node, target, Edge::Next);
            }
        } else {
            self.flow.graph.add_edge(node, continuation, Edge::Next);
        }
        for action in &step.deadline_actions {
            if let crate::model::DeadlineAction::Route { target, .. } = action {
                if let Some(target) = self.resolve(target, continuation) {
                    self.flow.graph.add_edge(node, target, Edge::Deadline);
                }
            }
        }
        if let Some(hold) = &step.hold {
            if let Some(target) = self.resolve(&hold.target, continuation) {
                self.flow.graph.add_edge(node, target, Edge::Hold);
            }
        }
    }
}
