//! What a person asks of a case: where the file is, since when, when it is due, whether the
//! service standard is being kept, and how long each step took, in working time.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::case::{CaseState, CaseStatus, TaskStatus};
use super::deploy::Deployed;
use crate::model::{ClockPoint, ClockPolicy};
use crate::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sla {
    OnTime,
    /// Less than a quarter of the time is left.
    DueSoon,
    Overdue,
    /// Finished before its due instant.
    Met,
    /// Finished after its due instant.
    Missed,
}

#[derive(Clone, Debug, Serialize)]
pub struct TaskView {
    pub task: u32,
    pub step: String,
    pub actors: Vec<String>,
    pub opened: DateTime<Utc>,
    /// None when the SOP states no time for the step: no deadline of its own, no SLA.
    pub due: Option<DateTime<Utc>>,
    pub uncertain: bool,
    pub sla: Option<Sla>,
    pub claimed_by: Option<String>,
    /// The hold the task stands on (`penangguhan`): its deadline stands still meanwhile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_hold: Option<HoldView>,
}

/// A task on hold: since when, until when at the latest (the step's maximum), and what the
/// office waits for.
#[derive(Clone, Debug, Serialize)]
pub struct HoldView {
    pub task: u32,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub reason: String,
}

impl HoldView {
    fn of(hold: &super::case::Hold) -> HoldView {
        HoldView { task: hold.task, since: hold.since, until: hold.until, reason: hold.reason.clone() }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ClockView {
    pub label: Option<String>,
    pub promised: Duration,
    pub started: Option<DateTime<Utc>>,
    pub due: Option<DateTime<Utc>>,
    /// Working minutes the clock stood still: while the file was back with the applicant, a
    /// step the promise leaves out was open, or a task stood on hold.
    pub paused_minutes: u64,
    pub sla: Option<Sla>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepTime {
    pub step: String,
    pub times: u32,
    pub working_minutes: u64,
    /// The step's Waktu in working minutes, for comparison (none when the SOP states none).
    pub standard_minutes: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseView {
    pub status: CaseStatus,
    pub end: Option<String>,
    pub open_tasks: Vec<TaskView>,
    /// The first open task on hold, if any: the case waits (`penangguhan`).
    pub on_hold: Option<HoldView>,
    pub case_due: Option<ClockView>,
    pub segments: Vec<ClockView>,
    /// The completion date told to the applicant (`tanggal_selesai`), once the step that tells
    /// it is done: fixed at what was told, it does not move with pauses.
    pub completion_date: Option<DateTime<Utc>>,
    /// When the applicant was served (the `dilayani` step done); the case may go on with the
    /// office's own steps.
    pub served: Option<DateTime<Utc>>,
    pub time_per_step: Vec<StepTime>,
}

fn sla(
    calendar: &crate::time::Calendar,
    start: DateTime<Utc>,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    closed: Option<DateTime<Utc>>,
) -> Sla {
    if let Some(closed) = closed {
        return if closed <= due { Sla::Met } else { Sla::Missed };
    }
    window_sla(calendar, calendar.working_minutes_between(start, due), due, now)
}

/// Due soon when less than a quarter of `total` working minutes is left before `due`.
fn window_sla(calendar: &crate::time::Calendar, total: u64, due: DateTime<Utc>, now: DateTime<Utc>) -> Sla {
    if now > due {
        return Sla::Overdue;
    }
    let total = total.max(1);
    let left = calendar.working_minutes_between(now, due);
    if left * 4 < total {
        Sla::DueSoon
    } else {
        Sla::OnTime
    }
}

pub fn view(state: &CaseState, d: &Deployed, now: DateTime<Utc>) -> CaseView {
    let calendar = &d.calendar;
    let sop = &d.sop;
    let open_tasks = state
        .tasks
        .values()
        .filter(|t| t.status == TaskStatus::Open)
        .map(|t| TaskView {
            task: t.no,
            step: t.step.to_string(),
            actors: t.actors.iter().map(|a| a.to_string()).collect(),
            opened: t.opened,
            due: t.due,
            uncertain: t.uncertain,
            // A held task's deadline stands still: no SLA until it resumes.
            sla: t.due.filter(|_| t.hold.is_none()).map(|due| sla(calendar, t.opened, due, now, None)),
            claimed_by: t.claimed_by.as_deref().map(str::to_string),
            on_hold: t.hold.as_deref().map(HoldView::of),
        })
        .collect();
    let closed = match state.status {
        CaseStatus::Active => None,
        _ => state.closed,
    };
    // When a step first started or finished, for the clock points of the service standards.
    let point = |p: &ClockPoint| -> Option<DateTime<Utc>> {
        let mut tasks = state.tasks.values().filter(|t| *t.step == *p.step().name);
        match p {
            ClockPoint::StartOf(_) => tasks.next().map(|t| t.opened),
            ClockPoint::EndOf(_) => tasks.find_map(|t| t.closed.filter(|_| t.status == TaskStatus::Completed)),
        }
    };
    let clock = |label: Option<String>,
                 promised: Duration,
                 from: Option<&ClockPoint>,
                 until: Option<&ClockPoint>,
                 excluded: &[crate::model::Name]| {
        let mut started = match from {
            None => Some(state.started),
            Some(p) => point(p),
        };
        let stopped = match until {
            None => closed,
            Some(p) => point(p),
        };
        let mut paused = 0;
        for round in &state.rework {
            let (Some(start), back) = (started, round.until) else { continue };
            if round.from < start {
                continue;
            }
            match round.clock {
                ClockPolicy::Pause => paused += calendar.working_minutes_between(round.from, back.unwrap_or(now)),
                ClockPolicy::Restart => {
                    if let Some(back) = back {
                        started = Some(back);
                        paused = 0;
                    }
                }
                ClockPolicy::Run => {}
            }
        }
        // The steps the promise does not count: the clock stands still while one is open.
        if let Some(start) = started {
            for t in state.tasks.values().filter(|t| excluded.iter().any(|e| *t.step == *e.name)) {
                let from = t.opened.max(start);
                let to = t.closed.unwrap_or(now).min(stopped.unwrap_or(now));
                if to > from {
                    paused += calendar.working_minutes_between(from, to);
                }
            }
        }
        // Every hold stops the clock (`penangguhan`: the office waits, the time is not the
        // office's), as the time back with the applicant does.
        if let Some(start) = started {
            for hold in &state.holds {
                let from = hold.since.max(start);
                let to = hold.ended.unwrap_or(now).min(stopped.unwrap_or(now));
                if to > from {
                    paused += calendar.working_minutes_between(from, to);
                }
            }
        }
        let due = started.map(|s| calendar.add_working_minutes(calendar.due(s, promised).at, paused));
        // Due soon measured against the promise itself, not the promise plus the time it
        // stood still.
        let status = match (started, due) {
            (Some(_), Some(d)) if stopped.is_some() => stopped.map(|c| if c <= d { Sla::Met } else { Sla::Missed }),
            (Some(s), Some(d)) => {
                Some(window_sla(calendar, calendar.working_minutes_between(s, calendar.due(s, promised).at), d, now))
            }
            _ => None,
        };
        ClockView { label, promised, started, due, paused_minutes: paused, sla: status }
    };
    let standards = &sop.header.service_standards;
    let case_due = match standards.first() {
        Some(s) if standards.len() == 1 => {
            Some(clock(s.label.clone(), s.duration, s.from.as_ref(), sop.promise_until(s).as_ref(), &s.excluded))
        }
        _ => sop.header.stated_total.as_ref().map(|t| clock(None, t.duration, None, None, &[])),
    };
    let segments = if standards.len() > 1 {
        standards
            .iter()
            .map(|s| clock(s.label.clone(), s.duration, s.from.as_ref(), sop.promise_until(s).as_ref(), &s.excluded))
            .collect()
    } else {
        Vec::new()
    };
    let mut time_per_step: Vec<StepTime> = Vec::new();
    for t in state.tasks.values() {
        let minutes = calendar.working_minutes_between(t.opened, t.closed.unwrap_or(now));
        let standard = sop
            .step(&t.step)
            .and_then(|s| s.stated_duration())
            .map(|d| d.working_minutes(calendar.day_length_minutes()));
        match time_per_step.iter_mut().find(|s| *s.step == *t.step) {
            Some(entry) => {
                entry.times += 1;
                entry.working_minutes += minutes;
            }
            None => time_per_step.push(StepTime {
                step: t.step.to_string(),
                times: 1,
                working_minutes: minutes,
                standard_minutes: standard,
            }),
        }
    }
    let completion_date = sop.completion_date().and_then(|(step, after)| {
        let id = &sop.steps.get(step)?.id.name;
        let told = state.tasks.values().find(|t| *t.step == **id && t.status == TaskStatus::Completed)?;
        Some(calendar.due(told.closed?, after).at)
    });
    let served = sop.served_step().and_then(|s| {
        state.tasks.values().find(|t| *t.step == *s.id.name && t.status == TaskStatus::Completed)?.closed
    });
    CaseView {
        status: state.status,
        end: state.end.clone(),
        open_tasks,
        on_hold: state.on_hold().map(HoldView::of),
        case_due,
        segments,
        completion_date,
        served,
        time_per_step,
    }
}
