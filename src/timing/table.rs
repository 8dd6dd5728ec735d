//! The due date of every step of a case on a calendar: a case traced by the interpreter, every
//! task done when due, on the main path or on the outcomes chosen (`alur time --outcome`). Steps
//! of parallel branches off the critical path have their rows too.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::diagnostic::Lang;
use crate::interpret::trace::{trace, Choices, Fields, MainPath};
use crate::interpret::Interpreter;
use crate::model::Sop;
use crate::time::{Calendar, Duration};

/// One task of the traced case.
#[derive(Clone, Debug, Serialize)]
pub struct TimedStep {
    /// Index into `Sop::steps`.
    pub step: usize,
    /// When the task opens, when its clock starts (the next opening), when it falls due.
    pub opened: DateTime<Utc>,
    pub starts: DateTime<Utc>,
    /// None when the SOP states no time for the step.
    pub due: Option<DateTime<Utc>>,
    /// The due date lies past the calendar's known dates or in a provisional year.
    pub uncertain: bool,
    /// Done the moment it opens (a step the system does alone).
    pub at_once: bool,
    /// The step's Waktu (none when the SOP states none), and the written times summed along the
    /// steps that led to it, with how many steps on the way have no time stated.
    pub duration: Option<Duration>,
    pub cumulative: Duration,
    pub cumulative_untimed: usize,
    /// On the critical path (the steps that set the pace).
    pub critical: bool,
    /// The outcome its decision took.
    pub outcome: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TimingTable {
    /// The start as given, and the instant the clock really starts from (the next opening).
    pub start: DateTime<Utc>,
    pub clock_starts: DateTime<Utc>,
    /// In the order the tasks open.
    pub steps: Vec<TimedStep>,
    /// Conditional steps passed over.
    pub skipped: Vec<usize>,
    /// The end reached (index into `Sop::ends`) and when.
    pub end: Option<usize>,
    pub finished: Option<DateTime<Utc>>,
    /// The case went round a loop it never left.
    pub stuck: bool,
}

/// Traces a case of `sop` from `start` with `choices` and lays out its tasks.
pub fn timing_table(
    interpreter: &Interpreter,
    sop: &Sop,
    calendar: &Calendar,
    start: DateTime<Utc>,
    choices: &mut dyn Choices,
) -> TimingTable {
    let traced = trace(interpreter, sop, calendar, start, Fields::new(), choices);
    let critical = traced.critical_path();
    let mut cumulative: Vec<(Duration, usize)> = Vec::with_capacity(traced.tasks.len());
    let steps: Vec<TimedStep> = traced
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let duration = sop.steps.get(t.step).and_then(|s| s.stated_duration());
            let (before, untimed_before) =
                t.after.and_then(|a| cumulative.get(a).copied()).unwrap_or((Duration::ZERO, 0));
            let sum = (before + duration.unwrap_or_default(), untimed_before + usize::from(!t.timed));
            cumulative.push(sum);
            TimedStep {
                step: t.step,
                opened: t.opened,
                starts: t.starts,
                due: t.timed.then_some(t.due),
                uncertain: t.uncertain,
                at_once: interpreter.done_at_once(t.step),
                duration,
                cumulative: sum.0,
                cumulative_untimed: sum.1,
                critical: critical.contains(&i),
                outcome: t.outcome.clone(),
            }
        })
        .collect();
    let finished = match traced.end_after {
        Some(task) => traced.tasks.get(task).map(|t| t.done),
        None => traced.end.map(|_| start),
    };
    TimingTable {
        start,
        clock_starts: steps.first().map_or(start, |s| s.starts),
        steps,
        skipped: traced.skipped,
        end: traced.end,
        finished,
        stuck: traced.stuck,
    }
}

/// The timing of the main path as JSON (`alur time --format json`, the server's SOP page).
pub fn timing_json(sop: &Sop, calendar: &Calendar, start: DateTime<Utc>, lang: Lang) -> serde_json::Value {
    let interpreter = Interpreter::new(sop);
    let table = timing_table(&interpreter, sop, calendar, start, &mut MainPath::default());
    let totals = super::totals::totals_with(&interpreter, sop, calendar.day_length_minutes());
    timing_json_of(sop, calendar, &table, &totals, lang)
}

/// A timing table and the totals as JSON.
pub fn timing_json_of(
    sop: &Sop,
    calendar: &Calendar,
    table: &TimingTable,
    totals: &super::Totals,
    lang: Lang,
) -> serde_json::Value {
    let zone = calendar.time_zone();
    let at = |t: DateTime<Utc>| t.with_timezone(&zone).to_rfc3339();
    let steps: Vec<serde_json::Value> = table
        .steps
        .iter()
        .map(|r| {
            let step = &sop.steps[r.step];
            let actor_names: Vec<&str> =
                step.actor_ids().map(|a| sop.actor(a).map_or(a, |actor| actor.label.as_str())).collect();
            // A desk of a hand-off chain: its row and its place in the chain (from 1).
            let desk = step.desk.as_ref().map(|d| serde_json::json!({ "row": d.row.name, "desk": d.index + 1, "of": d.count }));
            serde_json::json!({
                "number": step.number,
                "desk": desk,
                "id": step.id.name,
                "activity": step.activity,
                "actors": step.actor_ids().collect::<Vec<_>>(),
                "actor_names": actor_names,
                "duration": r.duration,
                "waktu": r.duration.map_or_else(|| step.duration.as_ref().map(|d| d.text.clone()).unwrap_or_default(), |d| d.display(lang)),
                "time_stated": r.duration.is_some(),
                "cumulative": r.cumulative,
                "cumulative_untimed": r.cumulative_untimed,
                "opened": at(r.opened),
                "starts": at(r.starts),
                "due": r.due.map(at),
                "uncertain": r.uncertain,
                "at_once": r.at_once,
                "critical": r.critical,
                "outcome": r.outcome,
            })
        })
        .collect();
    serde_json::json!({
        "sop": sop.id.name,
        "variant": sop.variant.as_ref().map(|v| v.name.as_str()),
        "title": sop.title,
        "calendar": calendar.name(),
        "time_zone": zone.name(),
        "start": at(table.start),
        "clock_starts": at(table.clock_starts),
        "steps": steps,
        "skipped": table.skipped.iter().map(|&s| sop.steps[s].id.name.as_str()).collect::<Vec<_>>(),
        "end": table.end.and_then(|e| sop.ends.get(e)).map(|e| e.id.name.as_str()),
        "finished": table.finished.map(at),
        "stuck": table.stuck,
        "totals": totals,
        "stated_total": sop.header.stated_total.as_ref().map(|s| serde_json::json!({
            "duration": s.duration, "rounded_workdays": s.rounded_workdays, "text": s.duration.display(lang) })),
    })
}
