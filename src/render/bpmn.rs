//! BPMN 2.0 XML: one process with a lane per actor, a user task per step (a plain task for
//! system actors), exclusive gateways for decisions, conditional routes and alternatives,
//! parallel gateways for parallel blocks, end events for the SOP's ends, conditions on the
//! sequence flows as Python expressions (what SpiffWorkflow evaluates), each step's Waktu in
//! its documentation and in `alur:waktu` extension elements, deadline actions as boundary timers
//! on their tasks, and diagram interchange (shapes with bounds, edges with waypoints) so a
//! modeller opens it laid out.
//!
//! Decision outcomes are read from task data: the variable is the field the decision records
//! (`keputusan catat hasil` → `hasil`), else `keputusan_<step>`; the flow for outcome `x` has
//! the condition `keputusan_<step> == 'x'`. Alternatives (`alternatif`) read
//! `alternatif_<name>` (the step id of the branch taken), defaulting to the first branch.

use std::collections::{HashMap, HashSet};

use petgraph::visit::EdgeRef;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::text::{outcome_text, Labels};
use crate::model::{ActorKind, DeadlineAction, Edge, ExprKind, Node, NodeIndex, Sop, Value};
use crate::time::Duration;

const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
const BPMNDI_NS: &str = "http://www.omg.org/spec/BPMN/20100524/DI";
const DC_NS: &str = "http://www.omg.org/spec/DD/20100524/DC";
const DI_NS: &str = "http://www.omg.org/spec/DD/20100524/DI";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
const ALUR_NS: &str = "https://alur.dev/schema/bpmn/1";

/// A small XML writer over quick-xml: writing to memory cannot fail.
struct Xml {
    w: Writer<Vec<u8>>,
}

impl Xml {
    fn new() -> Xml {
        Xml { w: Writer::new_with_indent(Vec::new(), b' ', 2) }
    }
    fn element(name: &str, attrs: &[(&str, &str)]) -> BytesStart<'static> {
        let mut e = BytesStart::new(name.to_string());
        for (k, v) in attrs {
            e.push_attribute((*k, *v));
        }
        e
    }
    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        let _ = self.w.write_event(Event::Start(Xml::element(name, attrs)));
    }
    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        let _ = self.w.write_event(Event::Empty(Xml::element(name, attrs)));
    }
    fn end(&mut self, name: &str) {
        let _ = self.w.write_event(Event::End(BytesEnd::new(name.to_string())));
    }
    fn text_element(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start(name, attrs);
        let _ = self.w.write_event(Event::Text(BytesText::new(text)));
        self.end(name);
    }
    fn finish(self) -> String {
        let mut s = String::from_utf8(self.w.into_inner()).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// ISO 8601 for a step's Waktu (working days as days: BPMN has no working-time unit).
pub fn iso_duration(d: &Duration) -> String {
    let days = d.workdays + d.calendar_days;
    let mut s = String::from("P");
    if days > 0 {
        s.push_str(&format!("{days}D"));
    }
    if d.hours > 0 || d.minutes > 0 || days == 0 {
        s.push('T');
        if d.hours > 0 {
            s.push_str(&format!("{}H", d.hours));
        }
        if d.minutes > 0 || d.hours == 0 {
            s.push_str(&format!("{}M", d.minutes));
        }
    }
    s
}

fn python_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A condition as a Python expression on task data.
pub fn python_expr(expr: &crate::model::Expr) -> String {
    match &expr.kind {
        ExprKind::Field { name } => name.clone(),
        ExprKind::Literal { value } => match value {
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Number(n) => format!("{n}"),
            Value::Text(t) | Value::Choice(t) => python_str(t),
            Value::Date(d) => python_str(&d.to_string()),
        },
        ExprKind::Compare { op, left, right } => {
            format!("{} {} {}", python_expr(left), op.symbol(), python_expr(right))
        }
        ExprKind::And { left, right } => format!("({} and {})", python_expr(left), python_expr(right)),
        ExprKind::Or { left, right } => format!("({} or {})", python_expr(left), python_expr(right)),
        ExprKind::Not { inner } => format!("not ({})", python_expr(inner)),
    }
}

/// The task-data variable a step's decision is read from.
pub fn decision_variable(sop: &Sop, step: usize) -> String {
    let s = &sop.steps[step];
    match s.decision.as_ref().and_then(|d| d.record.as_ref()) {
        Some(field) => field.name.clone(),
        None => format!("keputusan_{}", s.id.name),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Start,
    Task {
        user: bool,
    },
    Exclusive,
    Parallel,
    End,
    /// A timer on a step's task: its deadline. Interrupting when the deadline routes the case.
    Boundary {
        interrupting: bool,
    },
    /// An intermediate throw event: someone told on the way to a deadline route.
    Throw,
}

/// Who a deadline tells, by actor id: an escalation (the task handed over) or a message.
#[derive(Clone, PartialEq)]
enum Told {
    Escalation(String),
    Message(String),
}

struct BNode {
    id: String,
    name: String,
    kind: Kind,
    lane: usize,
    /// Layout column.
    layer: usize,
    doc: Option<String>,
    step: Option<usize>,
    default_flow: Option<String>,
    /// The escalation or message an event throws.
    told: Option<Told>,
    /// A boundary event's task (node index) and its timer's duration expression.
    attached_to: Option<usize>,
    timer: Option<String>,
}

impl BNode {
    /// A node that belongs to no step.
    fn plain(id: String, name: String, kind: Kind, lane: usize) -> BNode {
        BNode {
            id,
            name,
            kind,
            lane,
            layer: 0,
            doc: None,
            step: None,
            default_flow: None,
            told: None,
            attached_to: None,
            timer: None,
        }
    }
}

struct BFlow {
    id: String,
    source: usize,
    target: usize,
    name: Option<String>,
    condition: Option<String>,
}

fn size(kind: Kind) -> (f64, f64) {
    match kind {
        Kind::Start | Kind::End | Kind::Boundary { .. } | Kind::Throw => (36.0, 36.0),
        Kind::Task { .. } => (150.0, 100.0),
        Kind::Exclusive | Kind::Parallel => (50.0, 50.0),
    }
}

/// A step's deadline actions (`terlambat ...`) as a boundary timer on its task, with the step's
/// Waktu as the timer's duration (no Waktu: due at once, as the runtime has it). The actions run
/// in written order, up to the first route, as the runtime fires them: each escalation or
/// notification is an event in the lane of the one told; a route interrupts the task and flows
/// to its target, otherwise the task stays open and the last event ends the timer's path.
fn deadlines(
    sop: &Sop,
    labels: &Labels,
    index_of: &HashMap<NodeIndex, usize>,
    nodes: &mut Vec<BNode>,
    flows: &mut Vec<BFlow>,
) {
    let interpreter = crate::interpret::Interpreter::new(sop);
    let lane_of = |actor: &str| sop.actors.iter().position(|a| a.id.name == actor);
    for (step, &node) in sop.flow.step_nodes.iter().enumerate() {
        let (Some(st), Some(&host)) = (sop.steps.get(step), index_of.get(&node)) else { continue };
        if st.deadline_actions.is_empty() || !matches!(nodes[host].kind, Kind::Task { .. }) {
            continue;
        }
        let route = interpreter.after_deadline(sop, step).and_then(|t| index_of.get(&t).copied());
        let mut told: Vec<Told> = Vec::new();
        for action in &st.deadline_actions {
            match action {
                DeadlineAction::Escalate { actor, .. } => told.push(Told::Escalation(actor.name.clone())),
                DeadlineAction::Notify { actor, .. } => told.push(Told::Message(actor.name.clone())),
                DeadlineAction::Route { .. } => break,
            }
        }
        if told.is_empty() && route.is_none() {
            continue;
        }
        // A step whose SOP states no time never falls due (E210 refuses actions on one).
        let Some(duration) = st.stated_duration() else { continue };
        let boundary = nodes.len();
        let mut timer = BNode::plain(
            format!("Timer_{}", st.id.name),
            format!("{} ({})", labels.overdue, duration.display(labels.lang)),
            Kind::Boundary { interrupting: route.is_some() },
            nodes[host].lane,
        );
        timer.attached_to = Some(host);
        // A Python string holding the ISO 8601 duration: SpiffWorkflow evaluates timer
        // expressions as it evaluates the conditions.
        timer.timer = Some(format!("'{}'", iso_duration(&duration)));
        nodes.push(timer);
        let mut previous = boundary;
        let count = told.len();
        for (i, t) in told.into_iter().enumerate() {
            let (actor, verb) = match &t {
                Told::Escalation(a) => (a.as_str(), labels.escalated_to),
                Told::Message(a) => (a.as_str(), labels.notify),
            };
            let label = sop.actor(actor).map_or(actor, |a| a.label.as_str());
            let last = i + 1 == count && route.is_none();
            let mut event = BNode::plain(
                format!("Late_{}_{}", st.id.name, i + 1),
                format!("{verb} {label}"),
                if last { Kind::End } else { Kind::Throw },
                lane_of(actor).unwrap_or(nodes[host].lane),
            );
            event.told = Some(t);
            nodes.push(event);
            let at = nodes.len() - 1;
            flows.push(BFlow {
                id: format!("Flow_{}", flows.len() + 1),
                source: previous,
                target: at,
                name: None,
                condition: None,
            });
            previous = at;
        }
        if let Some(target) = route {
            flows.push(BFlow {
                id: format!("Flow_{}", flows.len() + 1),
                source: previous,
                target,
                name: None,
                condition: None,
            });
        }
    }
}

/// A step that may stand on hold (`penangguhan maks`) as an interrupting boundary timer on its
/// task, with the longest hold as its duration and a flow to where the case goes past it. BPMN
/// has no "on hold"; the timer documents the limit (the runtime starts it only while held).
fn holds(
    sop: &Sop,
    labels: &Labels,
    index_of: &HashMap<NodeIndex, usize>,
    nodes: &mut Vec<BNode>,
    flows: &mut Vec<BFlow>,
) {
    let interpreter = crate::interpret::Interpreter::new(sop);
    for (step, &node) in sop.flow.step_nodes.iter().enumerate() {
        let (Some(st), Some(&host)) = (sop.steps.get(step), index_of.get(&node)) else { continue };
        let (Some(hold), Kind::Task { .. }) = (&st.hold, nodes[host].kind) else { continue };
        let Some(target) = interpreter.after_hold(sop, step).and_then(|t| index_of.get(&t).copied()) else { continue };
        let mut timer = BNode::plain(
            format!("Hold_{}", st.id.name),
            format!("{} ({})", labels.held_too_long, hold.max.display(labels.lang)),
            Kind::Boundary { interrupting: true },
            nodes[host].lane,
        );
        timer.attached_to = Some(host);
        timer.timer = Some(format!("'{}'", iso_duration(&hold.max)));
        nodes.push(timer);
        flows.push(BFlow {
            id: format!("Flow_{}", flows.len() + 1),
            source: nodes.len() - 1,
            target,
            name: None,
            condition: None,
        });
    }
}

/// The id and name of the escalation or message a deadline throws.
fn told_ref(told: &Told, sop: &Sop) -> (String, String) {
    let label = |actor: &str| sop.actor(actor).map_or_else(|| actor.to_string(), |a| a.label.clone());
    match told {
        Told::Escalation(actor) => (format!("Escalation_{actor}"), label(actor)),
        Told::Message(actor) => (format!("Message_{actor}"), label(actor)),
    }
}

pub fn render(sop: &Sop, labels: &Labels) -> String {
    let (mut nodes, index_of) = nodes(sop, labels);
    let mut flows = flows(sop, labels, &index_of, &mut nodes);
    deadlines(sop, labels, &index_of, &mut nodes, &mut flows);
    holds(sop, labels, &index_of, &mut nodes, &mut flows);
    merge_before_shared_splits(&mut nodes, &mut flows);
    lanes_from_neighbours(&mut nodes, &flows);
    let back = layers(&mut nodes, &flows);
    let place = Placement::of(sop, &nodes);
    let process_id = sop.id.name.clone();
    let mut x = Xml::new();
    let _ = x.w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    x.start(
        "bpmn:definitions",
        &[
            ("xmlns:bpmn", BPMN_NS),
            ("xmlns:bpmndi", BPMNDI_NS),
            ("xmlns:dc", DC_NS),
            ("xmlns:di", DI_NS),
            ("xmlns:xsi", XSI_NS),
            ("xmlns:alur", ALUR_NS),
            ("id", &format!("Definitions_{process_id}")),
            ("targetNamespace", "https://alur.dev/sop"),
            ("exporter", "alur"),
            ("exporterVersion", env!("CARGO_PKG_VERSION")),
        ],
    );
    // The escalations and messages the deadlines throw, one per actor told.
    process(&mut x, sop, &nodes, &flows);
    diagram(&mut x, sop, &nodes, &flows, &back, &place);
    x.end("bpmn:definitions");
    x.finish()
}

/// A node for each node of the flow, in the lane of its step's actor (`usize::MAX` for a node
/// of no step), and each flow node's index among them.
fn nodes(sop: &Sop, labels: &Labels) -> (Vec<BNode>, HashMap<NodeIndex, usize>) {
    let graph = &sop.flow.graph;
    let mut nodes: Vec<BNode> = Vec::new();
    let mut index_of: HashMap<NodeIndex, usize> = HashMap::new();
    let step_lane = |step: usize| -> usize {
        sop.steps
            .get(step)
            .and_then(|s| s.actor_ids().next())
            .and_then(|a| sop.actors.iter().position(|x| x.id.name == a))
            .unwrap_or(0)
    };
    for n in graph.node_indices() {
        let Some(weight) = graph.node_weight(n) else { continue };
        let (id, name, kind, step) = match weight {
            Node::Start => ("StartEvent_1".to_string(), labels.start.to_string(), Kind::Start, None),
            Node::Step { step } => {
                let s = &sop.steps[*step];
                let system =
                    s.actor_ids().next().and_then(|a| sop.actor(a)).is_some_and(|a| a.kind == ActorKind::System);
                (
                    s.id.name.clone(),
                    format!("{}. {}", s.numbered(), s.activity),
                    Kind::Task { user: !system },
                    Some(*step),
                )
            }
            Node::Decision { step } => {
                let s = &sop.steps[*step];
                (
                    format!("Gateway_{}", s.id.name),
                    format!("{}?", outcome_text(&s.id.name)),
                    Kind::Exclusive,
                    Some(*step),
                )
            }
            Node::Gate { step, .. } => {
                (format!("Gateway_{}", n.index()), format!("{}?", labels.when), Kind::Exclusive, Some(*step))
            }
            Node::Split { name } => {
                (format!("Split_{}", n.index()), name.clone().unwrap_or_default(), Kind::Parallel, None)
            }
            Node::Join { name } => {
                (format!("Join_{}", n.index()), name.clone().unwrap_or_default(), Kind::Parallel, None)
            }
            Node::Choice { name } => {
                (format!("Choice_{}", n.index()), name.clone().unwrap_or_default(), Kind::Exclusive, None)
            }
            Node::End { end } => {
                let e = &sop.ends[*end];
                (format!("End_{}", e.id.name), e.label.clone(), Kind::End, None)
            }
        };
        let doc = step.filter(|_| matches!(kind, Kind::Task { .. })).map(|s| {
            let st = &sop.steps[s];
            let mut parts = Vec::new();
            if let Some(a) = st.actor_ids().next().and_then(|a| sop.actor(a)) {
                parts.push(format!("{}: {}", labels.performers, a.label));
            }
            match st.duration.as_ref().map(|d| (d, d.value)) {
                Some((_, Some(value))) => {
                    parts.push(format!("{}: {} ({})", labels.time, value.display(labels.lang), iso_duration(&value)))
                }
                Some((d, None)) => parts.push(format!("{}: {}", labels.time, d.cell(labels.lang))),
                None => {}
            }
            if let Some(notes) = &st.notes {
                parts.push(format!("{}: {notes}", labels.notes));
            }
            if let Some(call) = &st.call {
                parts.push(format!("panggil: {}", call.path));
            }
            parts.join("; ")
        });
        index_of.insert(n, nodes.len());
        nodes.push(BNode {
            id,
            name,
            kind,
            lane: step.map(step_lane).unwrap_or(usize::MAX),
            layer: 0,
            doc,
            step,
            default_flow: None,
            told: None,
            attached_to: None,
            timer: None,
        });
    }
    (nodes, index_of)
}

/// Sequence flows (deadline routes are timers, not flows: documented instead), with a merge
/// gateway where several outcomes of one gateway lead into the same node.
fn flows(sop: &Sop, labels: &Labels, index_of: &HashMap<NodeIndex, usize>, nodes: &mut Vec<BNode>) -> Vec<BFlow> {
    let graph = &sop.flow.graph;
    let mut flows: Vec<BFlow> = Vec::new();
    let mut extra: Vec<BNode> = Vec::new();
    for n in graph.node_indices() {
        let Some(&src) = index_of.get(&n) else { continue };
        // petgraph lists a node's edges newest first: take them in the order they were written.
        let mut edges: Vec<_> = graph.edges(n).filter(|e| !e.weight().on_time_out()).collect();
        edges.reverse();
        let choice_first = edges.iter().find(|e| matches!(e.weight(), Edge::Branch)).map(|e| e.id());
        // Several outcomes of one gateway into the same node meet at a merge gateway first.
        let mut targets: HashMap<NodeIndex, usize> = HashMap::new();
        for e in &edges {
            *targets.entry(e.target()).or_default() += 1;
        }
        let mut merges: HashMap<NodeIndex, usize> = HashMap::new();
        for e in &edges {
            let Some(&tgt) = index_of.get(&e.target()) else { continue };
            let id = format!("Flow_{}", flows.len() + 1);
            let (name, condition) = match e.weight() {
                Edge::Outcome { name, .. } => {
                    let var = nodes[src].step.map(|s| decision_variable(sop, s)).unwrap_or_default();
                    (Some(outcome_text(name)), Some(format!("{var} == {}", python_str(name))))
                }
                Edge::Condition { condition: Some(c) } => {
                    (Some(super::text::condition_text(c, sop, labels)), Some(python_expr(c)))
                }
                Edge::Condition { condition: None } => {
                    nodes[src].default_flow = Some(id.clone());
                    (Some(labels.otherwise.to_string()), None)
                }
                Edge::Branch if nodes[src].kind == Kind::Exclusive => {
                    let step_id = graph
                        .node_weight(e.target())
                        .and_then(|w| match w {
                            Node::Step { step } | Node::Gate { step, .. } => {
                                sop.steps.get(*step).map(|s| s.id.name.clone())
                            }
                            _ => None,
                        })
                        .unwrap_or_default();
                    if Some(e.id()) == choice_first {
                        nodes[src].default_flow = Some(id.clone());
                        (Some(outcome_text(&step_id)), None)
                    } else {
                        let var = format!("alternatif_{}", nodes[src].name.replace(' ', "_"));
                        (Some(outcome_text(&step_id)), Some(format!("{var} == {}", python_str(&step_id))))
                    }
                }
                _ => (None, None),
            };
            let target = if targets.get(&e.target()).copied().unwrap_or(0) > 1 {
                *merges.entry(e.target()).or_insert_with(|| {
                    let at = nodes.len() + extra.len();
                    extra.push(BNode::plain(
                        format!("Merge_{}_{}", nodes[src].id, nodes[tgt].id),
                        String::new(),
                        Kind::Exclusive,
                        nodes[src].lane,
                    ));
                    flows.push(BFlow {
                        id: format!("Flow_m{}", at),
                        source: at,
                        target: tgt,
                        name: None,
                        condition: None,
                    });
                    at
                })
            } else {
                tgt
            };
            flows.push(BFlow { id, source: src, target, name, condition });
        }
    }
    nodes.extend(extra);
    flows
}

/// A parallel split reached from several places gets an exclusive merge in front: a parallel
/// gateway with several incoming flows would wait for all of them.
fn merge_before_shared_splits(nodes: &mut Vec<BNode>, flows: &mut Vec<BFlow>) {
    for split in 0..nodes.len() {
        if nodes[split].kind != Kind::Parallel || !nodes[split].id.starts_with("Split_") {
            continue;
        }
        let incoming: Vec<usize> = (0..flows.len()).filter(|&f| flows[f].target == split).collect();
        if incoming.len() < 2 {
            continue;
        }
        let merge = nodes.len();
        nodes.push(BNode::plain(
            format!("Merge_{}", nodes[split].id),
            String::new(),
            Kind::Exclusive,
            nodes[split].lane,
        ));
        for f in incoming {
            flows[f].target = merge;
        }
        flows.push(BFlow { id: format!("Flow_m{merge}"), source: merge, target: split, name: None, condition: None });
    }
}

/// Lanes of the nodes that belong to no step: the lane of a neighbour.
fn lanes_from_neighbours(nodes: &mut [BNode], flows: &[BFlow]) {
    for _ in 0..nodes.len() {
        let mut changed = false;
        for f in flows {
            if nodes[f.target].lane == usize::MAX && nodes[f.source].lane != usize::MAX {
                nodes[f.target].lane = nodes[f.source].lane;
                changed = true;
            }
            if nodes[f.source].lane == usize::MAX && nodes[f.target].lane != usize::MAX {
                nodes[f.source].lane = nodes[f.target].lane;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for n in nodes.iter_mut() {
        if n.lane == usize::MAX {
            n.lane = 0;
        }
    }
}

/// Layers: longest path from the start, ignoring the flows that go back (found by DFS), which
/// it returns (by index).
fn layers(nodes: &mut [BNode], flows: &[BFlow]) -> HashSet<usize> {
    let start = nodes.iter().position(|n| n.kind == Kind::Start).unwrap_or(0);
    // A boundary event is reached with its task (an arc without a flow), in the task's layer.
    let mut out_flows: Vec<Vec<(usize, Option<usize>)>> = vec![Vec::new(); nodes.len()];
    for (i, f) in flows.iter().enumerate() {
        out_flows[f.source].push((f.target, Some(i)));
    }
    for (i, n) in nodes.iter().enumerate() {
        if let Some(host) = n.attached_to {
            out_flows[host].push((i, None));
        }
    }
    let mut back: HashSet<usize> = HashSet::new();
    let mut state = vec![0u8; nodes.len()];
    let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
    state[start] = 1;
    while let Some((node, next)) = stack.pop() {
        if let Some(&(t, fi)) = out_flows[node].get(next) {
            stack.push((node, next + 1));
            match state[t] {
                0 => {
                    state[t] = 1;
                    stack.push((t, 0));
                }
                1 => {
                    back.extend(fi);
                }
                _ => {}
            }
        } else {
            state[node] = 2;
        }
    }
    for _ in 0..nodes.len() {
        let mut changed = false;
        for i in 0..nodes.len() {
            if let Some(host) = nodes[i].attached_to {
                if nodes[i].layer != nodes[host].layer {
                    nodes[i].layer = nodes[host].layer;
                    changed = true;
                }
            }
        }
        for (i, f) in flows.iter().enumerate() {
            if back.contains(&i) {
                continue;
            }
            let want = nodes[f.source].layer + 1;
            if nodes[f.target].layer < want {
                nodes[f.target].layer = want;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    // What the flows never reach (a step entered only when a deadline routes there) goes after
    // the rest, so it does not sit on the lane labels.
    let last = (0..nodes.len()).filter(|&i| state[i] != 0).map(|i| nodes[i].layer).max().unwrap_or(0);
    for (i, n) in nodes.iter_mut().enumerate() {
        if state[i] == 0 {
            n.layer = last + 1;
        }
    }
    for i in 0..nodes.len() {
        if let Some(host) = nodes[i].attached_to {
            nodes[i].layer = nodes[host].layer;
        }
    }

    back
}

const LANE_ROW_H: f64 = 140.0;
const POOL_X: f64 = 20.0;
const LANE_X: f64 = 50.0;
const LAYER_W: f64 = 190.0;

/// Where the diagram draws things: x by layer, y by lane (stacking nodes that share a lane and
/// a layer).
struct Placement {
    n_lanes: usize,
    /// The top of each lane, and the bottom of the last.
    lane_top: Vec<f64>,
    pool_w: f64,
    /// Each node's x, y, width and height.
    bounds: Vec<(f64, f64, f64, f64)>,
}

impl Placement {
    fn of(sop: &Sop, nodes: &[BNode]) -> Placement {
        let n_lanes = sop.actors.len().max(1);
        let mut stack_of: HashMap<(usize, usize), usize> = HashMap::new();
        let mut slot = vec![0usize; nodes.len()];
        for (i, n) in nodes.iter().enumerate().filter(|(_, n)| n.attached_to.is_none()) {
            let c = stack_of.entry((n.lane, n.layer)).or_default();
            slot[i] = *c;
            *c += 1;
        }
        let mut lane_rows = vec![1usize; n_lanes];
        for (&(lane, _), &count) in &stack_of {
            if lane < n_lanes {
                lane_rows[lane] = lane_rows[lane].max(count);
            }
        }
        let mut lane_top = vec![0.0; n_lanes + 1];
        lane_top[0] = 20.0;
        for l in 0..n_lanes {
            lane_top[l + 1] = lane_top[l] + lane_rows[l] as f64 * LANE_ROW_H;
        }
        let max_layer = nodes.iter().map(|n| n.layer).max().unwrap_or(0);
        let pool_w = (max_layer + 1) as f64 * LAYER_W + 80.0;
        let mut bounds: Vec<(f64, f64, f64, f64)> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let (w, h) = size(n.kind);
                let cx = LANE_X + 60.0 + n.layer as f64 * LAYER_W;
                let cy = lane_top[n.lane.min(n_lanes - 1)] + LANE_ROW_H / 2.0 + slot[i] as f64 * LANE_ROW_H;
                (cx - w / 2.0, cy - h / 2.0, w, h)
            })
            .collect();
        // A boundary event sits on the bottom border of its task, towards the right; a second one
        // (a deadline and a hold) to the left of the first.
        let mut on_host: HashMap<usize, usize> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            if let Some(host) = n.attached_to {
                let (hx, hy, hw, hh) = bounds[host];
                let (w, h) = size(n.kind);
                let k = on_host.entry(host).or_default();
                bounds[i] = (hx + hw - 30.0 - w / 2.0 - 48.0 * *k as f64, hy + hh - h / 2.0, w, h);
                *k += 1;
            }
        }
        Placement { n_lanes, lane_top, pool_w, bounds }
    }
}

/// The process: the escalations and messages, the lanes, the nodes with their timers and
/// times, and the sequence flows.
fn process(x: &mut Xml, sop: &Sop, nodes: &[BNode], flows: &[BFlow]) {
    let process_id = sop.id.name.clone();
    let mut declared: Vec<&Told> = Vec::new();
    for t in nodes.iter().filter_map(|n| n.told.as_ref()) {
        if !declared.contains(&t) {
            declared.push(t);
        }
    }
    for t in declared {
        let (id, name) = told_ref(t, sop);
        match t {
            Told::Escalation(actor) => {
                x.empty("bpmn:escalation", &[("id", &id), ("name", &name), ("escalationCode", actor)]);
            }
            Told::Message(_) => x.empty("bpmn:message", &[("id", &id), ("name", &name)]),
        }
    }
    x.start("bpmn:collaboration", &[("id", "Collaboration_1")]);
    x.empty("bpmn:participant", &[("id", "Participant_1"), ("name", &sop.title), ("processRef", &process_id)]);
    x.end("bpmn:collaboration");
    x.start("bpmn:process", &[("id", &process_id), ("name", &sop.title), ("isExecutable", "true")]);
    x.start("bpmn:laneSet", &[("id", "LaneSet_1")]);
    for (l, actor) in sop.actors.iter().enumerate() {
        x.start("bpmn:lane", &[("id", &format!("Lane_{}", actor.id.name)), ("name", &actor.label)]);
        for n in nodes.iter().filter(|n| n.lane == l) {
            x.text_element("bpmn:flowNodeRef", &[], &n.id);
        }
        x.end("bpmn:lane");
    }
    x.end("bpmn:laneSet");
    for (i, n) in nodes.iter().enumerate() {
        let tag = match n.kind {
            Kind::Start => "bpmn:startEvent",
            Kind::Task { user: true } => "bpmn:userTask",
            Kind::Task { user: false } => "bpmn:task",
            Kind::Exclusive => "bpmn:exclusiveGateway",
            Kind::Parallel => "bpmn:parallelGateway",
            Kind::End => "bpmn:endEvent",
            Kind::Boundary { .. } => "bpmn:boundaryEvent",
            Kind::Throw => "bpmn:intermediateThrowEvent",
        };
        let mut attrs: Vec<(&str, &str)> = vec![("id", &n.id), ("name", &n.name)];
        if let Some(d) = &n.default_flow {
            attrs.push(("default", d));
        }
        if let (Kind::Boundary { interrupting }, Some(host)) = (n.kind, n.attached_to) {
            attrs.push(("cancelActivity", if interrupting { "true" } else { "false" }));
            attrs.push(("attachedToRef", &nodes[host].id));
        }
        x.start(tag, &attrs);
        if let Some(doc) = &n.doc {
            x.text_element("bpmn:documentation", &[], doc);
        }
        if let (Kind::Task { .. }, Some(step)) = (n.kind, n.step) {
            let st = &sop.steps[step];
            if let Some(d) = &st.duration {
                x.start("bpmn:extensionElements", &[]);
                match d.value {
                    Some(value) => {
                        let iso = iso_duration(&value);
                        let unit = if value.calendar_days > 0 { "hari_kalender" } else { "hari_kerja" };
                        x.empty(
                            "alur:waktu",
                            &[("iso", &iso), ("text", &d.text), ("days", unit), ("number", &st.number)],
                        );
                    }
                    // No `iso`: the SOP states no time for the step.
                    None => x.empty("alur:waktu", &[("text", &d.text), ("number", &st.number)]),
                }
                x.end("bpmn:extensionElements");
            }
        }
        for f in flows.iter().filter(|f| f.target == i) {
            x.text_element("bpmn:incoming", &[], &f.id);
        }
        for f in flows.iter().filter(|f| f.source == i) {
            x.text_element("bpmn:outgoing", &[], &f.id);
        }
        let definition = format!("{}_definition", n.id);
        if let Some(duration) = &n.timer {
            x.start("bpmn:timerEventDefinition", &[("id", &definition)]);
            x.text_element("bpmn:timeDuration", &[("xsi:type", "bpmn:tFormalExpression")], duration);
            x.end("bpmn:timerEventDefinition");
        }
        match &n.told {
            Some(t @ Told::Escalation(_)) => x.empty(
                "bpmn:escalationEventDefinition",
                &[("id", &definition), ("escalationRef", &told_ref(t, sop).0)],
            ),
            Some(t @ Told::Message(_)) => {
                x.empty("bpmn:messageEventDefinition", &[("id", &definition), ("messageRef", &told_ref(t, sop).0)])
            }
            None => {}
        }
        x.end(tag);
    }
    for f in flows {
        let mut attrs: Vec<(&str, &str)> =
            vec![("id", &f.id), ("sourceRef", &nodes[f.source].id), ("targetRef", &nodes[f.target].id)];
        if let Some(name) = &f.name {
            attrs.push(("name", name));
        }
        match &f.condition {
            Some(c) => {
                x.start("bpmn:sequenceFlow", &attrs);
                x.text_element("bpmn:conditionExpression", &[("xsi:type", "bpmn:tFormalExpression")], c);
                x.end("bpmn:sequenceFlow");
            }
            None => x.empty("bpmn:sequenceFlow", &attrs),
        }
    }
    x.end("bpmn:process");
}

/// Diagram interchange: the pool, the lanes, each node's bounds and each flow's waypoints.
fn diagram(x: &mut Xml, sop: &Sop, nodes: &[BNode], flows: &[BFlow], back: &HashSet<usize>, place: &Placement) {
    let (n_lanes, lane_top, pool_w, bounds) = (place.n_lanes, &place.lane_top, place.pool_w, &place.bounds);
    let f = |v: f64| format!("{}", v.round());
    x.start("bpmndi:BPMNDiagram", &[("id", "BPMNDiagram_1")]);
    x.start("bpmndi:BPMNPlane", &[("id", "BPMNPlane_1"), ("bpmnElement", "Collaboration_1")]);
    let pool_h = lane_top[n_lanes] - lane_top[0];
    x.start(
        "bpmndi:BPMNShape",
        &[("id", "Participant_1_di"), ("bpmnElement", "Participant_1"), ("isHorizontal", "true")],
    );
    x.empty(
        "dc:Bounds",
        &[("x", &f(POOL_X)), ("y", &f(lane_top[0])), ("width", &f(pool_w + LANE_X - POOL_X)), ("height", &f(pool_h))],
    );
    x.end("bpmndi:BPMNShape");
    for (l, actor) in sop.actors.iter().enumerate() {
        let id = format!("Lane_{}", actor.id.name);
        x.start("bpmndi:BPMNShape", &[("id", &format!("{id}_di")), ("bpmnElement", &id), ("isHorizontal", "true")]);
        x.empty(
            "dc:Bounds",
            &[
                ("x", &f(LANE_X)),
                ("y", &f(lane_top[l])),
                ("width", &f(pool_w)),
                ("height", &f(lane_top[l + 1] - lane_top[l])),
            ],
        );
        x.end("bpmndi:BPMNShape");
    }
    for (i, n) in nodes.iter().enumerate() {
        let (bx, by, bw, bh) = bounds[i];
        let mut attrs = vec![("id", format!("{}_di", n.id)), ("bpmnElement", n.id.clone())];
        if n.kind == Kind::Exclusive {
            attrs.push(("isMarkerVisible", "true".into()));
        }
        let attrs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        x.start("bpmndi:BPMNShape", &attrs);
        x.empty("dc:Bounds", &[("x", &f(bx)), ("y", &f(by)), ("width", &f(bw)), ("height", &f(bh))]);
        x.end("bpmndi:BPMNShape");
    }
    for (fi, fl) in flows.iter().enumerate() {
        let (sx, sy, sw, sh) = bounds[fl.source];
        let (tx, ty, tw, th) = bounds[fl.target];
        let points: Vec<(f64, f64)> = if nodes[fl.source].attached_to.is_some() {
            // Down out of the timer, then along to the target.
            let (ax, ay) = (sx + sw / 2.0, sy + sh);
            let (tc, tm) = (tx + tw / 2.0, ty + th / 2.0);
            if tx > ax + 20.0 && tm > ay {
                vec![(ax, ay), (ax, tm), (tx, tm)]
            } else if tx > ax + 20.0 {
                let below = ay + 20.0;
                vec![(ax, ay), (ax, below), (tx - 20.0, below), (tx - 20.0, tm), (tx, tm)]
            } else {
                let below = ay.max(ty + th) + 18.0;
                vec![(ax, ay), (ax, below), (tc, below), (tc, ty + th)]
            }
        } else if back.contains(&fi) || tx <= sx {
            let below = sy.max(ty) + sh.max(th) + 18.0;
            vec![(sx + sw / 2.0, sy + sh), (sx + sw / 2.0, below), (tx + tw / 2.0, below), (tx + tw / 2.0, ty + th)]
        } else {
            let (ax, ay) = (sx + sw, sy + sh / 2.0);
            let (bx, by) = (tx, ty + th / 2.0);
            if (ay - by).abs() < 0.5 {
                vec![(ax, ay), (bx, by)]
            } else {
                let mid = bx - 20.0;
                vec![(ax, ay), (mid, ay), (mid, by), (bx, by)]
            }
        };
        x.start("bpmndi:BPMNEdge", &[("id", &format!("{}_di", fl.id)), ("bpmnElement", &fl.id)]);
        for (px, py) in points {
            x.empty("di:waypoint", &[("x", &f(px)), ("y", &f(py))]);
        }
        x.end("bpmndi:BPMNEdge");
    }
    x.end("bpmndi:BPMNPlane");
    x.end("bpmndi:BPMNDiagram");
}
