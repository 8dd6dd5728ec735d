//! The timing answers of an SOP: its totals as written ([`totals`]) and the due dates of a case's
//! steps on a calendar ([`table`]), both read off the one interpreter of the flow.

pub mod table;
pub mod totals;

pub use table::{timing_json, timing_table, TimedStep, TimingTable};
pub use totals::{totals, PathTotal, Totals};
