//! Working time: SOP durations, office calendars, deadlines, and when a step opened at an
//! instant starts and falls due ([`window::step_window`]).
//!
//! Calendars are data files (`sop/calendars/*.sop`, syntax in docs/calendar.md) that the
//! compiler's front end (`crate::compile::calendar`) reads into a [`CalendarSet`]; a [`Calendar`] compiled from it answers deadline questions from a
//! precomputed per-date table of working periods.

mod calendar;
mod calendar_def;
mod calendar_set;
mod deadline;
mod duration;
pub mod window;

pub use calendar::{Calendar, CalendarSpec, Due, Holiday, ProvisionalRange, WorkPosition};
pub use calendar_def::{
    CalendarDef, DateRange, HolidayDecl, HolidayKind, Period, SpecialHoursDecl, WeekHours, WorkingDayDecl,
    MAX_RANGE_DAYS,
};
pub use calendar_set::{derived_day_length, CalendarSet, DEFAULT_DAY_LENGTH_MINUTES};
pub use duration::Duration;
pub use window::{next_workday_opening, step_window, StepTime};
