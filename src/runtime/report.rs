//! What one case adds to the per-step and per-actor reports: the rule the reports count by, in
//! one place. A closed case's tallies are computed once, when it settles, and kept by the store
//! (`store::summary`); a running case's at every report, since its open tasks change with the
//! clock.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use super::case::{CaseState, TaskStatus};
use super::deploy::Deployed;
use super::store::summary::Tally;

/// The tallies of one case's tasks, per step and per actor, at `now`: every task counts its
/// step's stated standard (when the step states one); an open task counts as open, and as
/// overdue past its due instant; a completed one its working minutes from opening to
/// completion, and as overdue when completed past its due instant.
pub fn case_tallies(case: &CaseState, d: &Deployed, now: DateTime<Utc>) -> Vec<Tally> {
    let cal = &d.calendar;
    let mut out: BTreeMap<(bool, String), Tally> = BTreeMap::new();
    for t in case.tasks.values() {
        let step = d.sop.step(&t.step);
        let standard = step.and_then(|s| s.stated_duration()).map(|x| x.working_minutes(cal.day_length_minutes()));
        let mut one = Tally { sop: case.sop.clone(), ..Tally::default() };
        if let Some(standard) = standard {
            one.standard = standard;
            one.standard_count = 1;
        }
        match t.status {
            TaskStatus::Open => {
                one.open = 1;
                one.overdue = u64::from(t.due.is_some_and(|due| now > due));
            }
            TaskStatus::Completed => {
                let closed = t.closed.unwrap_or(now);
                one.completed = 1;
                one.minutes = cal.working_minutes_between(t.opened, closed);
                one.overdue = u64::from(t.due.is_some_and(|due| closed > due));
            }
            TaskStatus::Expired | TaskStatus::Cancelled => {}
        }
        let keys = std::iter::once((false, t.step.to_string())).chain(t.actors.iter().map(|a| (true, a.to_string())));
        for (by_actor, key) in keys {
            out.entry((by_actor, key.clone()))
                .or_insert_with(|| Tally { sop: case.sop.clone(), by_actor, key, ..Tally::default() })
                .add(&one);
        }
    }
    out.into_values().collect()
}
