//! alur: a rules-driven workflow engine where a government SOP is one plain-text `.sop` file.
//!
//! The stages, in the order a file flows through them:
//! [`syntax`] (text to syntax tree) → [`compile`] (syntax tree to model and state graph) →
//! [`check`] (routes and timing proven before anything runs) → [`time`] (working-time
//! arithmetic on office calendars). [`diagnostic`] is shared by all of them; [`format`] reprints
//! a syntax tree canonically.

// The parser pest generates without its `std` feature names `::alloc` (see Cargo.toml).
extern crate alloc;

pub mod check;
pub mod cli;
pub mod compile;
pub mod diagnostic;
pub mod format;
pub mod import;
pub mod interpret;
pub mod lsp;
pub mod model;
pub mod render;
pub mod runtime;
pub mod server;
pub mod simulate;
pub mod source;
pub mod syntax;
pub mod time;
pub mod timing;
