//! When a step's time runs: the rule the runtime, `alur time` and the simulator share.

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};

use super::{Calendar, Due, Duration};

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

/// What a step's time is made of, as far as the calendar is concerned.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepTime {
    /// The whole Waktu; `None` when the SOP states no time for the step.
    pub duration: Option<Duration>,
    /// The step may only start at the next working day's opening (`mulai hari_berikutnya`).
    pub starts_next_workday: bool,
    /// The Waktu in two parts with the next working day between them (`waktu 1 jam, lalu
    /// hari_berikutnya 1 hari`): the second part starts at the opening of the working day after
    /// the first part ends. `(first, second)`, which add up to `duration`.
    pub then_next_workday: Option<(Duration, Duration)>,
}

impl StepTime {
    pub fn of(duration: Duration) -> StepTime {
        StepTime { duration: Some(duration), ..StepTime::default() }
    }
}

/// When a step opened at `opened` really starts and when it falls due: the one rule for a
/// step's time, which the runtime, `alur time` and the simulator share. Its clock starts at the
/// next opening (or the next working day's opening when the step says so); a step that takes no
/// time is due the moment it opens, even at closing time (a 1-minute step started at 15:59 is
/// due at 16:00, so a 0-minute step opened at 16:00 is due at 16:00, not at the next opening).
/// A Waktu in two parts waits for the next working day's opening between them. A step whose
/// SOP states no time has no due date (`None`): it starts as a step that takes time does.
pub fn step_window(calendar: &Calendar, time: StepTime, opened: DateTime<Utc>) -> (DateTime<Utc>, Option<Due>) {
    let part = |start: DateTime<Utc>, d: Duration| -> Due {
        if d.is_zero() {
            Due { at: start, uncertain: !calendar.is_certain(calendar.local_date(start)) }
        } else {
            calendar.due(start, d)
        }
    };
    let starts = if time.starts_next_workday {
        next_workday_opening(calendar, opened)
    } else if time.duration.is_some_and(|d| d.is_zero()) {
        opened
    } else {
        calendar.next_opening(opened)
    };
    let Some(duration) = time.duration else { return (starts, None) };
    match time.then_next_workday {
        None => (starts, Some(part(starts, duration))),
        Some((first, second)) => {
            let middle = part(starts, first);
            let due = part(next_workday_opening(calendar, middle.at), second);
            (starts, Some(Due { at: due.at, uncertain: due.uncertain || middle.uncertain }))
        }
    }
}
