//! The control flow of an SOP as a petgraph state graph: nodes are steps, decisions, parallel
//! splits and joins, and ends; edges are routes labelled with their outcome or condition.

use petgraph::graph::DiGraph;
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};

use super::{Expr, Rework};

pub type NodeIndex = petgraph::graph::NodeIndex<u32>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum Node {
    Start,
    /// A step (index into `Sop::steps`).
    Step {
        step: usize,
    },
    /// The decision a step takes: outgoing edges are its outcomes.
    Decision {
        step: usize,
    },
    /// Routing by conditions on case fields, tried in order: either a conditional step's gate
    /// (`skip` is then the step it guards) or a step's conditional routes.
    Gate {
        step: usize,
        guards_step: bool,
    },
    /// Start of parallel branches.
    Split {
        name: Option<String>,
    },
    /// All parallel branches meet here before the flow goes on.
    Join {
        name: Option<String>,
    },
    /// Exactly one of several alternative branches is taken.
    Choice {
        name: Option<String>,
    },
    /// A terminal end (index into `Sop::ends`).
    End {
        end: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "edge", rename_all = "snake_case")]
pub enum Edge {
    Next,
    /// A named outcome of a decision; `rework` marks a return-for-completion loop.
    Outcome {
        name: String,
        rework: Option<Rework>,
    },
    /// A condition; `None` is the "otherwise" route.
    Condition {
        condition: Option<Expr>,
    },
    /// Into one of several parallel or alternative branches.
    Branch,
    /// Taken when the step's time runs out.
    Deadline,
    /// Taken when the step's task stood on hold for its maximum (`penangguhan maks`).
    Hold,
}

impl Edge {
    /// A way out taken when time runs out (a deadline, a hold's maximum) rather than when the
    /// step is done: never the step's ordinary exit.
    pub fn on_time_out(&self) -> bool {
        matches!(self, Edge::Deadline | Edge::Hold)
    }
}

/// The state graph and its entry node.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Flow {
    pub graph: DiGraph<Node, Edge>,
    pub start: NodeIndex,
    /// The node of each step, by step index.
    pub step_nodes: Vec<NodeIndex>,
    /// The node of each end, by end index.
    pub end_nodes: Vec<NodeIndex>,
}

impl PartialEq for Flow {
    fn eq(&self, other: &Flow) -> bool {
        let edges = |f: &Flow| -> Vec<(usize, usize, Edge)> {
            f.graph.edge_references().map(|e| (e.source().index(), e.target().index(), e.weight().clone())).collect()
        };
        self.start == other.start
            && self.graph.node_weights().eq(other.graph.node_weights())
            && edges(self) == edges(other)
    }
}

impl Flow {
    pub fn step_of(&self, node: NodeIndex) -> Option<usize> {
        match self.graph.node_weight(node)? {
            Node::Step { step } => Some(*step),
            _ => None,
        }
    }
}
