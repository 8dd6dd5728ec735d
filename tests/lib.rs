//! All integration tests, compiled into one binary (as in casey/just): each module reads like
//! a part of the specification of alur.

mod cli;
mod language;
mod properties;
mod sops;
