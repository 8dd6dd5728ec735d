//! Working time: SOP durations, office calendars, deadlines and timing totals.

mod duration;
pub mod totals;

pub use duration::Duration;
pub use totals::{totals, Totals, DEFAULT_DAY_LENGTH_MINUTES};
