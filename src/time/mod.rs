//! Working time: SOP durations, office calendars, deadlines and timing totals.
//!
//! Calendars are data files (`sop/calendars/*.sop`, syntax in docs/calendar.md) loaded into a
//! [`CalendarSet`]; a [`Calendar`] compiled from it answers deadline questions from a
//! precomputed per-date table of working periods.

mod calendar;
mod calendar_file;
mod calendar_set;
mod deadline;
mod duration;
pub mod schedule;
pub mod totals;

pub use calendar::{Calendar, CalendarSpec, Due, Holiday, ProvisionalRange, WorkPosition};
pub use calendar_file::{
    lower as lower_calendar_file, parse_calendar_file, CalendarDef, DateRange, HolidayDecl, HolidayKind, Period,
    SpecialHoursDecl, WeekHours, WorkingDayDecl,
};
pub use calendar_set::{derived_day_length, CalendarSet, DEFAULT_DAY_LENGTH_MINUTES};
pub use duration::Duration;
pub use schedule::{schedule, ScheduledStep};
pub use totals::{totals, Totals};
