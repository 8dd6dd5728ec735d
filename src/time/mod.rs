//! Working time: SOP durations, office calendars, deadlines and timing totals.

mod duration;

pub use duration::Duration;
