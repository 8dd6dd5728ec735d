//! Working time: SOP durations, office calendars, deadlines, and when a step opened at an
//! instant starts and falls due ([`window::step_window`]).
//!
//! Calendars are data files (`sop/calendars/*.sop`, syntax in docs/calendar.md) loaded into a
//! [`CalendarSet`]; a [`Calendar`] compiled from it answers deadline questions from a
//! precomputed per-date table of working periods.

mod calendar;
mod calendar_file;
mod calendar_set;
mod deadline;
mod duration;
pub mod window;

pub use calendar::{Calendar, CalendarSpec, Due, Holiday, ProvisionalRange, WorkPosition};
pub use calendar_file::{
    lower as lower_calendar_file, parse_calendar_file, CalendarDef, DateRange, HolidayDecl, HolidayKind, Period,
    SpecialHoursDecl, WeekHours, WorkingDayDecl,
};
pub use calendar_set::{derived_day_length, CalendarSet, DEFAULT_DAY_LENGTH_MINUTES};
pub use duration::Duration;
pub use window::{next_workday_opening, step_window, StepTime};
