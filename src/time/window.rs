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

/// When a step opened at `opened` really starts and when it falls due: the one rule for a
/// step's time, which the runtime, `alur time` and the simulator share. Its clock starts at the
/// next opening (or the next working day's opening when the step says so); a step that takes no
/// time is due the moment it opens, even at closing time (a 1-minute step started at 15:59 is
/// due at 16:00, so a 0-minute step opened at 16:00 is due at 16:00, not at the next opening).
pub fn step_window(
    calendar: &Calendar,
    duration: Duration,
    starts_next_workday: bool,
    opened: DateTime<Utc>,
) -> (DateTime<Utc>, Due) {
    if starts_next_workday {
        let starts = next_workday_opening(calendar, opened);
        return (starts, calendar.due(starts, duration));
    }
    if duration.is_zero() {
        let uncertain = !calendar.is_certain(calendar.local_date(opened));
        return (opened, Due { at: opened, uncertain });
    }
    let starts = calendar.next_opening(opened);
    (starts, calendar.due(starts, duration))
}
