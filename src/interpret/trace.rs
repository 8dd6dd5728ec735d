//! A whole case run on a timeline, every task done the moment it falls due (a step the system
//! does alone, the moment it opens), outcomes and field values chosen by a [`Choices`]: the
//! timing `alur time` reports for a path, and what the differential tests hold the runtime and
//! the simulator to.

use std::collections::BTreeMap;
use std::fmt::Debug;

use chrono::{DateTime, Utc};
use foldhash::{HashMap, HashMapExt};

use super::{After, Case, Interpreter, Reached};
use crate::diagnostic::Text;
use crate::model::{FieldValues, Node, NodeIndex, Sop, Step, Value};
use crate::t;
use crate::time::step_window;
use crate::time::Calendar;

/// Field values by name.
pub type Fields = BTreeMap<String, Value>;

/// A case that takes more tasks than this goes round a loop it never leaves.
const MAX_TASKS: usize = 10_000;
/// ... or more than this many per step of the SOP.
const MAX_TASKS_PER_STEP: usize = 4;

/// How a traced case decides where the SOP leaves it a choice.
pub trait Choices {
    /// The outcome of a decision the `visit`-th time its step is done (from 1); `None` takes the
    /// main outcome (the first that does not send the file back).
    fn outcome(&mut self, _sop: &Sop, _step: usize, _visit: u32) -> Option<String> {
        None
    }

    /// The field values recorded when the step is done.
    fn fields(&mut self, _sop: &Sop, _step: usize, _visit: u32) -> Fields {
        Fields::new()
    }

    /// A gate whose conditions read a field nobody has given: the main path assumes the first
    /// condition that may hold does.
    fn undecided(&mut self, _sop: &Sop, _gate: NodeIndex, known: &[Option<bool>]) -> Option<usize> {
        known.iter().position(|k| *k != Some(false))
    }

    /// Which branch of a set of alternatives (the first unless told).
    fn alternative(&mut self, _sop: &Sop, _choice: NodeIndex, _first_steps: &[Option<usize>]) -> usize {
        0
    }
}

/// The main path: every decision takes its first outcome that does not send the file back,
/// every condition nobody has given a value for holds the first time its gate is met (and the
/// last route is taken after that, so a route back does not go round for ever), the first
/// alternative is taken.
#[derive(Default)]
pub struct MainPath {
    gates: HashMap<NodeIndex, u32>,
}

impl Choices for MainPath {
    fn outcome(&mut self, sop: &Sop, step: usize, visit: u32) -> Option<String> {
        // A decision met a third time is on a loop its main outcome does not leave (a return
        // is taken once, then the main outcome): leave it by the last outcome that does not
        // send the file back.
        let decision = sop.steps.get(step)?.decision.as_ref()?;
        (visit > 2).then(|| decision.outcomes.iter().rev().find(|o| o.rework.is_none()).map(|o| o.name.name.clone()))?
    }

    fn undecided(&mut self, _sop: &Sop, gate: NodeIndex, known: &[Option<bool>]) -> Option<usize> {
        let met = self.gates.entry(gate).or_insert(0);
        *met += 1;
        if *met == 1 {
            known.iter().position(|k| *k != Some(false))
        } else {
            known.iter().rposition(|k| *k != Some(false))
        }
    }
}

/// Where each step's time falls.
pub trait Timeline {
    type Instant: Copy + Ord + Debug;

    /// When a step opened at `opened` starts and falls due (`None` when the SOP states no time
    /// for it), and whether the due date may move (provisional holidays).
    fn window(&self, step: &Step, opened: Self::Instant) -> (Self::Instant, Option<Self::Instant>, bool);
}

impl Timeline for Calendar {
    type Instant = DateTime<Utc>;

    fn window(&self, step: &Step, opened: DateTime<Utc>) -> (DateTime<Utc>, Option<DateTime<Utc>>, bool) {
        let (starts, due) = step_window(self, step.time(), opened);
        (starts, due.map(|d| d.at), due.is_some_and(|d| d.uncertain))
    }
}

/// Working minutes from the start, on days of a fixed length: the timeline of the checks,
/// which know the calendar's day length and nothing else.
pub struct WorkingMinutes {
    pub day_length: u32,
}

impl Timeline for WorkingMinutes {
    type Instant = u64;

    fn window(&self, step: &Step, opened: u64) -> (u64, Option<u64>, bool) {
        let day = u64::from(self.day_length.max(1));
        let time = step.time();
        let starts = if time.starts_next_workday { (opened / day + 1) * day } else { opened };
        let length = |d: crate::time::Duration| d.working_minutes(self.day_length) + u64::from(d.calendar_days) * day;
        let Some(d) = time.duration else { return (starts, None, false) };
        match time.then_next_workday {
            None => (starts, Some(starts + length(d)), false),
            Some((first, second)) => {
                let middle = starts + length(first);
                let next = (middle / day + 1) * day;
                (starts, Some(next + length(second)), false)
            }
        }
    }
}

/// One task of a traced case.
#[derive(Clone, Debug, PartialEq)]
pub struct TracedTask<I> {
    pub step: usize,
    pub opened: I,
    pub starts: I,
    /// When it falls due; for a step whose SOP states no time (see `timed`), when it starts.
    pub due: I,
    /// False for a step whose SOP states no time: traced as if it took none, which makes every
    /// total it is part of incomplete.
    pub timed: bool,
    pub uncertain: bool,
    /// When it is done: when due, or when it opens for a step the system does at once.
    pub done: I,
    pub outcome: Option<String>,
    /// The task whose completion opened this one (at a join, the last branch to arrive).
    pub after: Option<usize>,
}

/// A traced case: its tasks in the order they opened, the steps passed over, the end.
#[derive(Clone, Debug)]
pub struct Trace<I> {
    pub tasks: Vec<TracedTask<I>>,
    pub skipped: Vec<usize>,
    pub end: Option<usize>,
    /// The task whose completion ended the case.
    pub end_after: Option<usize>,
    /// The case went round a loop it never left (or had nowhere to go).
    pub stuck: bool,
}

impl<I: Copy> Trace<I> {
    /// The tasks that set the pace, first to last: from the task that ended the case back
    /// through the tasks that opened each one.
    pub fn critical_path(&self) -> Vec<usize> {
        let mut path = Vec::new();
        let mut at = self.end_after;
        while let Some(task) = at {
            if path.len() > self.tasks.len() {
                break;
            }
            path.push(task);
            at = self.tasks.get(task).and_then(|t| t.after);
        }
        path.reverse();
        path
    }
}

struct TraceCase<'c> {
    sop: &'c Sop,
    fields: Fields,
    joined: HashMap<NodeIndex, u32>,
    choices: &'c mut dyn Choices,
}

impl Case for TraceCase<'_> {
    fn fields(&self) -> &dyn FieldValues {
        &self.fields
    }

    fn arrived(&self, join: NodeIndex) -> u32 {
        self.joined.get(&join).copied().unwrap_or(0)
    }

    fn set_arrived(&mut self, join: NodeIndex, count: u32) {
        if count == 0 {
            self.joined.remove(&join);
        } else {
            self.joined.insert(join, count);
        }
    }

    fn alternative(&mut self, choice: NodeIndex, first_steps: &[Option<usize>]) -> usize {
        self.choices.alternative(self.sop, choice, first_steps)
    }

    fn undecided(&mut self, gate: NodeIndex, known: &[Option<bool>]) -> Option<usize> {
        self.choices.undecided(self.sop, gate, known)
    }
}

/// Runs a case of `sop` from `start` on `timeline`, every task done when due, until it ends.
pub fn trace<T: Timeline>(
    interpreter: &Interpreter,
    sop: &Sop,
    timeline: &T,
    start: T::Instant,
    initial: Fields,
    choices: &mut dyn Choices,
) -> Trace<T::Instant> {
    let mut case = TraceCase { sop, fields: initial, joined: HashMap::new(), choices };
    let mut trace = Trace { tasks: Vec::new(), skipped: Vec::new(), end: None, end_after: None, stuck: false };
    let mut open: Vec<usize> = Vec::new();
    let mut visits = vec![0u32; sop.steps.len()];
    let mut rounds: HashMap<(usize, String), u32> = HashMap::new();
    let mut reached = Vec::new();
    let mut next = Some((sop.flow.start, start, None::<usize>));
    loop {
        if let Some((node, at, cause)) = next.take() {
            reached.clear();
            interpreter.walk(sop, node, &mut case, &mut reached);
            if apply(interpreter, sop, timeline, &reached, at, cause, &mut trace, &mut open) {
                return trace;
            }
        }
        if trace.tasks.len() > MAX_TASKS.max(sop.steps.len() * MAX_TASKS_PER_STEP) {
            trace.stuck = true;
            return trace;
        }
        // The open task due first (ties: the one opened first).
        let Some(position) = (0..open.len()).min_by_key(|&i| (trace.tasks[open[i]].done, open[i])) else {
            trace.stuck = trace.end.is_none();
            return trace;
        };
        let task = open.remove(position);
        let step = trace.tasks[task].step;
        visits[step] += 1;
        let visit = visits[step];
        let given = case.choices.outcome(sop, step, visit);
        let fields = case.choices.fields(sop, step, visit);
        let outcome = sop.steps[step].decision.as_ref().map(|decision| {
            let mut chosen = given
                .filter(|g| decision.outcomes.iter().any(|o| o.name.name == *g))
                .or_else(|| interpreter.main_outcome(sop, step).map(str::to_string))
                .unwrap_or_default();
            // A return past its round limit is refused by the runtime: the main outcome then.
            if let Some(o) = decision.outcomes.iter().find(|o| o.name.name == chosen) {
                if let Some(rework) = &o.rework {
                    let used = rounds.entry((step, chosen.clone())).or_insert(0);
                    if rework.max_rounds.is_some_and(|max| *used >= max) {
                        chosen = interpreter.main_outcome(sop, step).unwrap_or_default().to_string();
                    } else {
                        *used += 1;
                    }
                }
            }
            chosen
        });
        case.fields.extend(fields);
        let After { node, record, .. } = match interpreter.after(sop, step, outcome.as_deref()) {
            Ok(after) => after,
            Err(_) => After { node: None, record: None, rework: None },
        };
        if let (Some(field), Some(outcome)) = (record, &outcome) {
            case.fields.insert(field.to_string(), Value::Choice(outcome.clone()));
        }
        trace.tasks[task].outcome = outcome;
        let done = trace.tasks[task].done;
        next = node.map(|n| (n, done, Some(task)));
    }
}

/// Records what a walk reached at `at`; true when the case ended.
#[allow(clippy::too_many_arguments)]
fn apply<T: Timeline>(
    interpreter: &Interpreter,
    sop: &Sop,
    timeline: &T,
    reached: &[Reached],
    at: T::Instant,
    cause: Option<usize>,
    trace: &mut Trace<T::Instant>,
    open: &mut Vec<usize>,
) -> bool {
    let last_task_of = |trace: &Trace<T::Instant>, step: usize| trace.tasks.iter().rposition(|t| t.step == step);
    for r in reached {
        match r {
            Reached::Opened { step, after } => {
                let Some(s) = sop.steps.get(*step) else { continue };
                let (starts, due, uncertain) = timeline.window(s, at);
                let timed = due.is_some();
                let due = due.unwrap_or(starts);
                let done = if interpreter.done_at_once(*step) { at } else { due };
                let after = after.and_then(|a| last_task_of(trace, a)).or(cause);
                trace.tasks.push(TracedTask {
                    step: *step,
                    opened: at,
                    starts,
                    due,
                    timed,
                    uncertain,
                    done,
                    outcome: None,
                    after,
                });
                if !interpreter.done_at_once(*step) {
                    open.push(trace.tasks.len() - 1);
                }
            }
            Reached::DoneAtOnce { .. } | Reached::Joined { .. } => {}
            Reached::Skipped { step } => trace.skipped.push(*step),
            Reached::Ended { end, after } => {
                trace.end = Some(*end);
                trace.end_after = after.and_then(|a| last_task_of(trace, a)).or(cause);
                return true;
            }
        }
    }
    false
}

/// Outcomes chosen by name (`alur time --outcome STEP=OUTCOME`), the main path elsewhere.
/// `STEP` names a decision (an outcome), a step with conditional routes (the target taken), a
/// conditional step (`ya`/`tidak`) or a set of alternatives (its branch's first step). Given
/// several times for one step, the names apply to its first, second, ... time.
#[derive(Default)]
pub struct Chosen {
    /// Per branching point: its kind and the names given, in order.
    given: Vec<(String, Vec<String>)>,
    /// The names of each gate's routes, in written order.
    gate_routes: HashMap<NodeIndex, Vec<String>>,
    main: MainPath,
}

impl Chosen {
    /// Reads `STEP=OUTCOME` pairs, checking each against the SOP.
    pub fn parse(sop: &Sop, interpreter: &Interpreter, pairs: &[String]) -> Result<Chosen, Text> {
        let points = super::branching_points(sop);
        let mut chosen = Chosen::default();
        for pair in pairs {
            let Some((point, name)) = pair.split_once('=').map(|(p, n)| (p.trim(), super::route_alias(n.trim())))
            else {
                return Err(t!(
                    "`{pair}`: tulis LANGKAH=PILIHAN, misalnya verifikasi=ditolak",
                    "`{pair}`: write STEP=OUTCOME, for example verifikasi=ditolak"
                ));
            };
            let names: Vec<String> = points
                .iter()
                .filter(|(p, _, _)| p == point)
                .flat_map(|(_, node, guards)| {
                    interpreter
                        .routes(sop, *node)
                        .map(|(t, e)| super::route_name(sop, e, t, *guards))
                        .collect::<Vec<_>>()
                })
                .collect();
            if names.is_empty() {
                let known: Vec<&str> = points.iter().map(|(p, _, _)| p.as_str()).collect();
                let Text { id: hint_id, en: hint_en } = did_you_mean(point, known.iter().copied());
                let list = known.join(", ");
                return Err(t!(
                    "`{point}` bukan titik pilihan SOP ini{hint_id}; yang ada: {list}",
                    "`{point}` is not a branching point of this SOP{hint_en}; there are: {list}"
                ));
            }
            if !names.iter().any(|n| n == name) {
                let Text { id: hint_id, en: hint_en } = did_you_mean(name, names.iter().map(String::as_str));
                let list = names.join(", ");
                return Err(t!(
                    "`{point}` tidak punya pilihan `{name}`{hint_id}; pilihannya: {list}",
                    "`{point}` has no outcome `{name}`{hint_en}; its outcomes: {list}"
                ));
            }
            for (_, node, guards) in points.iter().filter(|(p, _, _)| p == point) {
                if matches!(sop.flow.graph.node_weight(*node), Some(Node::Gate { .. })) {
                    let names = interpreter.routes(sop, *node).map(|(t, e)| super::route_name(sop, e, t, *guards));
                    chosen.gate_routes.insert(*node, names.collect());
                }
            }
            match chosen.given.iter_mut().find(|(p, _)| p == point) {
                Some((_, names)) => names.push(name.to_string()),
                None => chosen.given.push((point.to_string(), vec![name.to_string()])),
            }
        }
        Ok(chosen)
    }

    fn named(&self, point: &str, nth: usize, fits: impl Fn(&str) -> bool) -> Option<&str> {
        let (_, names) = self.given.iter().find(|(p, _)| p == point)?;
        names.iter().map(String::as_str).filter(|n| fits(n)).nth(nth)
    }
}

/// " (did you mean `x`?)" when a name is close to one of `known`, else nothing.
fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Text {
    match crate::diagnostic::did_you_mean(name, known) {
        Some(s) => t!(" (maksudnya `{s}`?)", " (did you mean `{s}`?)"),
        None => t!("", ""),
    }
}

impl Choices for Chosen {
    fn outcome(&mut self, sop: &Sop, step: usize, visit: u32) -> Option<String> {
        let s = sop.steps.get(step)?;
        let decision = s.decision.as_ref()?;
        let fits = |n: &str| decision.outcomes.iter().any(|o| o.name.name == n);
        // A hand-off chain's decision is named by its row (`branching_points`).
        match self.named(s.row_id().as_str(), visit.saturating_sub(1) as usize, fits) {
            Some(name) => Some(name.to_string()),
            None => self.main.outcome(sop, step, visit),
        }
    }

    fn undecided(&mut self, sop: &Sop, gate: NodeIndex, known: &[Option<bool>]) -> Option<usize> {
        let Some(Node::Gate { step, guards_step }) = sop.flow.graph.node_weight(gate) else {
            return self.main.undecided(sop, gate, known);
        };
        let point = sop.steps.get(*step).map(|s| s.row_id().as_str()).unwrap_or_default();
        let guards = *guards_step;
        let wanted = self.named(point, 0, |n| matches!(n, "ya" | "tidak") == guards);
        let routes = self.gate_routes.get(&gate);
        match wanted.and_then(|name| routes?.iter().position(|n| n == name)) {
            Some(index) => Some(index),
            None => self.main.undecided(sop, gate, known),
        }
    }

    fn alternative(&mut self, sop: &Sop, choice: NodeIndex, first_steps: &[Option<usize>]) -> usize {
        let Some(Node::Choice { name: Some(point) }) = sop.flow.graph.node_weight(choice) else { return 0 };
        let wanted = self.named(point, 0, |_| true);
        first_steps
            .iter()
            .position(|s| s.and_then(|s| sop.steps.get(s)).is_some_and(|s| Some(s.id.as_str()) == wanted))
            .unwrap_or(0)
    }
}
