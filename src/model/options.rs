//! What a compilation is told from outside the file: the calendars that exist and their day
//! lengths. The compiler and the checks both read it; it depends on neither.

use std::collections::HashMap;

/// Options that come from outside the file.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Working minutes in a day, when the SOP's calendar is known (7.5 hours otherwise).
    pub day_length_minutes: Option<u32>,
    /// Names of the calendars that exist, to check the `kalender` setting against.
    pub calendars: Option<Vec<String>>,
    /// Working minutes per day of each known calendar, for the SOP's own calendar.
    pub day_lengths: HashMap<String, u32>,
    /// The calendars themselves: the SOP's own calendar's day length is read from here when
    /// `day_lengths` does not have it (compiling only the calendar that is used).
    pub calendar_set: Option<std::sync::Arc<crate::time::CalendarSet>>,
}

impl Options {
    /// The day length that timing checks use for an SOP on `calendar`.
    pub fn day_length_for(&self, calendar: Option<&str>) -> u32 {
        self.day_length_minutes
            .or_else(|| calendar.and_then(|c| self.day_lengths.get(c).copied()))
            .or_else(|| {
                let (set, name) = (self.calendar_set.as_ref()?, calendar?);
                set.calendar(name).ok().map(|c| c.day_length_minutes())
            })
            .unwrap_or(crate::time::DEFAULT_DAY_LENGTH_MINUTES)
    }
}
