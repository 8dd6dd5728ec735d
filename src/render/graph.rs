//! The state graph (`model::Flow`) as Mermaid and Graphviz DOT: one lane per actor (Mermaid
//! subgraphs, DOT clusters), decisions as diamonds, return-for-completion routes dashed and
//! labelled, deadline routes dotted.

use std::fmt::Write;

use petgraph::visit::EdgeRef;

use super::text::{condition_text, outcome_text, Labels};
use crate::model::{Edge, Node, NodeIndex, Sop};

fn node_id(sop: &Sop, node: NodeIndex) -> String {
    // A later desk of a hand-off chain is `row.2`: Mermaid reads `.` as syntax.
    let step_id = |step: usize| sop.steps.get(step).map_or("x".to_string(), |s| s.id.name.replace('.', "__"));
    match sop.flow.graph.node_weight(node) {
        Some(Node::Start) => "start".into(),
        Some(Node::Step { step }) => format!("s_{}", step_id(*step)),
        Some(Node::Decision { step }) => format!("d_{}", step_id(*step)),
        Some(Node::End { end }) => format!("e_{}", sop.ends.get(*end).map(|e| e.id.name.as_str()).unwrap_or("x")),
        _ => format!("n{}", node.index()),
    }
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{}\u{2026}", cut.trim_end())
    }
}

/// The lane (actor index) a node is drawn in, when it belongs to one.
fn lane_of(sop: &Sop, node: NodeIndex) -> Option<usize> {
    let step = match sop.flow.graph.node_weight(node)? {
        Node::Step { step } | Node::Decision { step } => *step,
        Node::Gate { step, guards_step: false } => *step,
        _ => return None,
    };
    let actor = sop.steps.get(step)?.actor_ids().next()?;
    sop.actors.iter().position(|a| a.id.name == actor)
}

fn node_label(sop: &Sop, node: NodeIndex, labels: &Labels) -> String {
    match sop.flow.graph.node_weight(node) {
        Some(Node::Start) => labels.start.to_string(),
        Some(Node::Step { step }) => {
            sop.steps.get(*step).map(|s| format!("{}. {}", s.numbered(), short(&s.activity, 60))).unwrap_or_default()
        }
        Some(Node::Decision { step }) => {
            sop.steps.get(*step).map(|s| format!("{}?", outcome_text(&s.id.name))).unwrap_or_default()
        }
        Some(Node::Gate { .. }) => format!("{}?", labels.when),
        Some(Node::Split { name }) | Some(Node::Join { name }) => name.clone().unwrap_or_else(|| "+".into()),
        Some(Node::Choice { name }) => name.clone().unwrap_or_else(|| labels.or.into()),
        Some(Node::End { end }) => sop.ends.get(*end).map(|e| e.label.clone()).unwrap_or_default(),
        None => String::new(),
    }
}

enum Style {
    Plain,
    Rework,
    Deadline,
}

fn edge_info(sop: &Sop, edge: &Edge, labels: &Labels) -> (Option<String>, Style) {
    match edge {
        Edge::Next | Edge::Branch => (None, Style::Plain),
        Edge::Outcome { name, rework } => {
            (Some(outcome_text(name)), if rework.is_some() { Style::Rework } else { Style::Plain })
        }
        Edge::Condition { condition: Some(c) } => (Some(condition_text(c, sop, labels)), Style::Plain),
        Edge::Condition { condition: None } => (Some(labels.otherwise.to_string()), Style::Plain),
        Edge::Deadline => (Some(labels.overdue.to_string()), Style::Deadline),
        Edge::Hold => (Some(labels.held_too_long.to_string()), Style::Deadline),
    }
}

/// Text inside a Mermaid `"..."` label.
fn mermaid_text(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '#' => out.push_str("#35;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn mermaid_node(sop: &Sop, node: NodeIndex, labels: &Labels) -> String {
    let id = node_id(sop, node);
    let label = mermaid_text(&node_label(sop, node, labels));
    match sop.flow.graph.node_weight(node) {
        Some(Node::Start) | Some(Node::End { .. }) => format!("{id}([\"{label}\"])"),
        Some(Node::Step { .. }) => format!("{id}[\"{label}\"]"),
        Some(Node::Decision { .. }) | Some(Node::Gate { .. }) | Some(Node::Choice { .. }) => {
            format!("{id}{{\"{label}\"}}")
        }
        Some(Node::Split { .. }) | Some(Node::Join { .. }) => format!("{id}{{{{\"{label}\"}}}}"),
        None => id,
    }
}

pub fn mermaid(sop: &Sop, labels: &Labels) -> String {
    let graph = &sop.flow.graph;
    let mut out = String::new();
    let _ = writeln!(out, "---\ntitle: \"{}\"\n---", mermaid_text(&sop.title));
    out.push_str("flowchart TD\n");
    for (lane, actor) in sop.actors.iter().enumerate() {
        let members: Vec<NodeIndex> = graph.node_indices().filter(|&n| lane_of(sop, n) == Some(lane)).collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "    subgraph lane_{}[\"{}\"]", actor.id.name, mermaid_text(&actor.label));
        for n in members {
            let _ = writeln!(out, "        {}", mermaid_node(sop, n, labels));
        }
        out.push_str("    end\n");
    }
    for n in graph.node_indices().filter(|&n| lane_of(sop, n).is_none()) {
        let _ = writeln!(out, "    {}", mermaid_node(sop, n, labels));
    }
    let mut rework_links = Vec::new();
    for (i, edge) in graph.edge_references().enumerate() {
        let (label, style) = edge_info(sop, edge.weight(), labels);
        let arrow = match style {
            Style::Plain => "-->",
            Style::Rework | Style::Deadline => "-.->",
        };
        if matches!(style, Style::Rework) {
            rework_links.push(i);
        }
        let label = label.map(|l| format!("|\"{}\"|", mermaid_text(&l))).unwrap_or_default();
        let _ = writeln!(out, "    {} {arrow}{label} {}", node_id(sop, edge.source()), node_id(sop, edge.target()));
    }
    for i in rework_links {
        let _ = writeln!(out, "    linkStyle {i} stroke:#c0392b,color:#c0392b");
    }
    out
}

/// Text inside a DOT `"..."` string.
fn dot_text(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

fn dot_node(sop: &Sop, node: NodeIndex, labels: &Labels) -> String {
    let shape = match sop.flow.graph.node_weight(node) {
        Some(Node::Start) | Some(Node::End { .. }) => "shape=box, style=\"rounded\", peripheries=1",
        Some(Node::Step { .. }) => "shape=box",
        Some(Node::Decision { .. }) | Some(Node::Gate { .. }) | Some(Node::Choice { .. }) => "shape=diamond",
        Some(Node::Split { .. }) | Some(Node::Join { .. }) => "shape=diamond, label=\"+\"",
        None => "shape=box",
    };
    let label = dot_text(&node_label(sop, node, labels));
    if matches!(sop.flow.graph.node_weight(node), Some(Node::Split { .. }) | Some(Node::Join { .. })) {
        format!("\"{}\" [{shape}, xlabel=\"{label}\"];", node_id(sop, node))
    } else {
        format!("\"{}\" [{shape}, label=\"{label}\"];", node_id(sop, node))
    }
}

pub fn dot(sop: &Sop, labels: &Labels) -> String {
    let graph = &sop.flow.graph;
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", dot_text(&sop.id.name));
    let _ = writeln!(out, "    label=\"{}\";\n    labelloc=t;", dot_text(&sop.title));
    out.push_str(
        "    rankdir=TB;\n    node [fontname=\"Arial\", fontsize=10];\n    edge [fontname=\"Arial\", fontsize=9];\n",
    );
    for (lane, actor) in sop.actors.iter().enumerate() {
        let members: Vec<NodeIndex> = graph.node_indices().filter(|&n| lane_of(sop, n) == Some(lane)).collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "    subgraph \"cluster_{}\" {{", dot_text(&actor.id.name));
        let _ = writeln!(out, "        label=\"{}\";\n        style=rounded;", dot_text(&actor.label));
        for n in members {
            let _ = writeln!(out, "        {}", dot_node(sop, n, labels));
        }
        out.push_str("    }\n");
    }
    for n in graph.node_indices().filter(|&n| lane_of(sop, n).is_none()) {
        let _ = writeln!(out, "    {}", dot_node(sop, n, labels));
    }
    for edge in graph.edge_references() {
        let (label, style) = edge_info(sop, edge.weight(), labels);
        let mut attrs = Vec::new();
        if let Some(l) = label {
            attrs.push(format!("label=\"{}\"", dot_text(&l)));
        }
        match style {
            Style::Plain => {}
            Style::Rework => attrs.push("style=dashed, color=\"#c0392b\", fontcolor=\"#c0392b\"".into()),
            Style::Deadline => attrs.push("style=dotted".into()),
        }
        let attrs = if attrs.is_empty() { String::new() } else { format!(" [{}]", attrs.join(", ")) };
        let _ = writeln!(out, "    \"{}\" -> \"{}\"{attrs};", node_id(sop, edge.source()), node_id(sop, edge.target()));
    }
    out.push_str("}\n");
    out
}
