//! Deadlines: an SOP [`Duration`] added to a start instant on a [`Calendar`].
//!
//! The convention, in order (docs/calendar.md explains each choice):
//! 1. calendar days move the start that many dates on, same local clock time;
//! 2. a start outside working time counts from the next opening;
//! 3. n working days land on the n-th following working day at the same working-minute
//!    position within the day, clamped to that day's length;
//! 4. hours and minutes end at the earliest instant at which that much working time has
//!    elapsed, so a task can fall due exactly at closing time.

use chrono::{DateTime, Utc};

use super::calendar::{Calendar, Due};
use super::Duration;

impl Calendar {
    /// When a task of duration `d` started at `start` falls due.
    pub fn due(&self, start: DateTime<Utc>, d: Duration) -> Due {
        self.due_parts(start, d.calendar_days, d.workdays, d.sub_day_minutes().saturating_mul(60))
    }

    /// Due dates of steps run one after the other: each step starts when the previous one
    /// falls due. A step's deadline is uncertain when any earlier one is.
    pub fn due_chain(&self, start: DateTime<Utc>, steps: &[Duration]) -> Vec<Due> {
        let mut at = start;
        let mut uncertain = false;
        steps
            .iter()
            .map(|d| {
                let due = self.due(at, *d);
                at = due.at;
                uncertain |= due.uncertain;
                Due { at, uncertain }
            })
            .collect()
    }
}
