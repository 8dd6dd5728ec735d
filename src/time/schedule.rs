//! Due dates along a path of steps on a calendar: the table `alur time` prints and the
//! runtime and simulator reuse.

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use serde::Serialize;

use super::{Calendar, Duration};
use crate::model::Sop;

#[derive(Clone, Debug, Serialize)]
pub struct ScheduledStep {
    /// Index into `Sop::steps`.
    pub step: usize,
    pub starts: DateTime<Utc>,
    pub due: DateTime<Utc>,
    /// The step's own duration and the running total (in SOP units) up to its end.
    pub duration: Duration,
    pub cumulative: Duration,
    /// The due date lies past the calendar's known dates or in a provisional year.
    pub uncertain: bool,
}

/// The opening of the first working day after the local date of `t`.
pub fn next_workday_opening(calendar: &Calendar, t: DateTime<Utc>) -> DateTime<Utc> {
    let zone = calendar.time_zone();
    let tomorrow = calendar.local_date(t).checked_add_days(Days::new(1)).unwrap_or(calendar.local_date(t));
    let midnight = zone
        .from_local_datetime(&tomorrow.and_time(NaiveTime::MIN))
        .earliest()
        .map(|local| local.with_timezone(&Utc))
        .unwrap_or(t);
    calendar.next_opening(midnight)
}

/// Each step of `path` starts when the previous one is due (or at the next working day's opening
/// when the step says so) and is due its Waktu later in working time.
pub fn schedule(sop: &Sop, path: &[usize], calendar: &Calendar, start: DateTime<Utc>) -> Vec<ScheduledStep> {
    let mut out = Vec::with_capacity(path.len());
    let mut at = start;
    let mut cumulative = Duration::ZERO;
    for &index in path {
        let Some(step) = sop.steps.get(index) else { continue };
        let duration = step.duration.as_ref().map(|d| d.value).unwrap_or_default();
        let starts =
            if step.starts_next_workday { next_workday_opening(calendar, at) } else { calendar.next_opening(at) };
        let due = calendar.due(starts, duration);
        cumulative += duration;
        out.push(ScheduledStep { step: index, starts, due: due.at, duration, cumulative, uncertain: due.uncertain });
        at = due.at;
    }
    out
}

/// The timing table as JSON (`alur time --format json`, the server's SOP page): each step of
/// the main path with its due instant from `start` on `calendar`, and the totals.
pub fn timing_json(
    sop: &crate::model::Sop,
    calendar: &Calendar,
    start: DateTime<Utc>,
    lang: crate::diagnostic::Lang,
) -> serde_json::Value {
    let totals = super::totals(sop, calendar.day_length_minutes());
    let rows = schedule(sop, &totals.main_path.steps, calendar, start);
    let zone = calendar.time_zone();
    let steps: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let step = &sop.steps[r.step];
            serde_json::json!({
                "number": step.number,
                "id": step.id.name,
                "activity": step.activity,
                "actors": step.actor_ids().collect::<Vec<_>>(),
                "duration": r.duration,
                "waktu": r.duration.display(lang),
                "cumulative": r.cumulative,
                "starts": r.starts.with_timezone(&zone).to_rfc3339(),
                "due": r.due.with_timezone(&zone).to_rfc3339(),
                "uncertain": r.uncertain,
            })
        })
        .collect();
    serde_json::json!({
        "sop": sop.id.name,
        "calendar": calendar.name(),
        "time_zone": zone.name(),
        "start": start.with_timezone(&zone).to_rfc3339(),
        "steps": steps,
        "totals": totals,
        "stated_total": sop.header.stated_total.as_ref().map(|s| serde_json::json!({
            "duration": s.duration, "rounded_workdays": s.rounded_workdays, "text": s.duration.display(lang) })),
    })
}
