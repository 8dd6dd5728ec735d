//! Durations the way SOPs state them: working days, hours and minutes kept as separate
//! components, plus calendar days as a unit of their own.
//!
//! SOP totals are plain unit-by-unit sums: 78 menit is stated as "1 Jam 18 Menit" and is never
//! folded into a day, because how many hours make a working day is a property of the calendar.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign};

use crate::diagnostic::Lang;

/// A duration in SOP units. Minutes are normalised into hours (60 menit = 1 jam); hours are
/// never normalised into working days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Duration {
    /// Working days (hari kerja).
    pub workdays: u32,
    /// Working hours (jam kerja).
    pub hours: u32,
    /// Working minutes, always below 60 once normalised.
    pub minutes: u32,
    /// Calendar days (hari kalender), counted on the calendar rather than in working time.
    pub calendar_days: u32,
}

impl Duration {
    pub const ZERO: Duration = Duration { workdays: 0, hours: 0, minutes: 0, calendar_days: 0 };

    pub fn new(workdays: u32, hours: u32, minutes: u32) -> Self {
        Duration { workdays, hours, minutes, calendar_days: 0 }.normalised()
    }

    pub fn minutes(minutes: u32) -> Self {
        Self::new(0, 0, minutes)
    }

    pub fn hours(hours: u32) -> Self {
        Self::new(0, hours, 0)
    }

    pub fn workdays(workdays: u32) -> Self {
        Self::new(workdays, 0, 0)
    }

    pub fn calendar_days(days: u32) -> Self {
        Duration { calendar_days: days, ..Self::ZERO }
    }

    /// Folds minutes into hours (the SOP convention) and leaves working days alone.
    pub fn normalised(self) -> Self {
        let total_minutes = u64::from(self.hours) * 60 + u64::from(self.minutes);
        Duration {
            workdays: self.workdays,
            hours: u32::try_from(total_minutes / 60).unwrap_or(u32::MAX),
            minutes: (total_minutes % 60) as u32,
            calendar_days: self.calendar_days,
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }

    /// The part below one day (hours and minutes) in working minutes.
    pub fn sub_day_minutes(&self) -> u64 {
        u64::from(self.hours) * 60 + u64::from(self.minutes)
    }

    /// Total working minutes, given how many working minutes make a working day
    /// (a property of the calendar, 450 = 7.5 hours by default).
    pub fn working_minutes(&self, day_length_minutes: u32) -> u64 {
        u64::from(self.workdays) * u64::from(day_length_minutes) + self.sub_day_minutes()
    }

    /// The stated rounding to whole working days: any positive remainder of hours and minutes
    /// adds whole days, counted with the calendar's day length ("4 Hari 1 Jam 18 Menit (5 Hari)").
    pub fn rounded_workdays(&self, day_length_minutes: u32) -> u32 {
        let rest = self.sub_day_minutes();
        let day = u64::from(day_length_minutes.max(1));
        let extra = rest.div_ceil(day);
        self.workdays.saturating_add(u32::try_from(extra).unwrap_or(u32::MAX))
    }

    pub fn checked_add(self, other: Duration) -> Option<Duration> {
        Some(
            Duration {
                workdays: self.workdays.checked_add(other.workdays)?,
                hours: self.hours.checked_add(other.hours)?,
                minutes: self.minutes.checked_add(other.minutes)?,
                calendar_days: self.calendar_days.checked_add(other.calendar_days)?,
            }
            .normalised(),
        )
    }

    /// Multiplies every component (for the cost of `n` rework rounds).
    pub fn times(self, n: u32) -> Duration {
        Duration {
            workdays: self.workdays.saturating_mul(n),
            hours: self.hours.saturating_mul(n),
            minutes: self.minutes.saturating_mul(n),
            calendar_days: self.calendar_days.saturating_mul(n),
        }
        .normalised()
    }

    /// Orders durations by their length on a calendar with the given day length.
    pub fn length_key(&self, day_length_minutes: u32) -> (u64, u32) {
        (self.working_minutes(day_length_minutes), self.calendar_days)
    }

    /// Renders the duration the way an SOP states it: "4 Hari 1 Jam 18 Menit".
    pub fn display(&self, lang: Lang) -> String {
        let units: [(u32, &str, &str, &str); 4] = [
            (self.calendar_days, "Hari Kalender", "calendar day", "calendar days"),
            (self.workdays, "Hari", "workday", "workdays"),
            (self.hours, "Jam", "hour", "hours"),
            (self.minutes, "Menit", "minute", "minutes"),
        ];
        let mut parts = Vec::new();
        for (n, id, en_one, en_many) in units {
            if n == 0 {
                continue;
            }
            let word = match lang {
                Lang::Id => id,
                Lang::En if n == 1 => en_one,
                Lang::En => en_many,
            };
            parts.push(format!("{n} {word}"));
        }
        if parts.is_empty() {
            return match lang {
                Lang::Id => "0 Menit".to_string(),
                Lang::En => "0 minutes".to_string(),
            };
        }
        parts.join(" ")
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, other: Duration) -> Duration {
        Duration {
            workdays: self.workdays.saturating_add(other.workdays),
            hours: self.hours.saturating_add(other.hours),
            minutes: self.minutes.saturating_add(other.minutes),
            calendar_days: self.calendar_days.saturating_add(other.calendar_days),
        }
        .normalised()
    }
}

impl AddAssign for Duration {
    fn add_assign(&mut self, other: Duration) {
        *self = *self + other;
    }
}

impl std::iter::Sum for Duration {
    fn sum<I: Iterator<Item = Duration>>(iter: I) -> Duration {
        iter.fold(Duration::ZERO, Add::add)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display(Lang::Id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_total_is_stated_unit_by_unit() {
        let steps = [30, 10, 10, 10, 5, 5, 5, 3].map(Duration::minutes);
        let total: Duration = steps.into_iter().sum::<Duration>() + Duration::workdays(4);
        assert_eq!(total, Duration::new(4, 1, 18));
        assert_eq!(total.display(Lang::Id), "4 Hari 1 Jam 18 Menit");
        assert_eq!(total.rounded_workdays(450), 5);
    }

    #[test]
    fn minutes_fold_into_hours_but_not_into_days() {
        assert_eq!(Duration::minutes(600), Duration::new(0, 10, 0));
        assert_eq!(Duration::minutes(600).rounded_workdays(450), 2);
        assert_eq!(Duration::workdays(3).rounded_workdays(450), 3);
        assert_eq!(Duration::ZERO.rounded_workdays(450), 0);
    }

    #[test]
    fn english_display() {
        assert_eq!(Duration::new(1, 1, 1).display(Lang::En), "1 workday 1 hour 1 minute");
        assert_eq!(Duration::ZERO.display(Lang::En), "0 minutes");
    }
}
