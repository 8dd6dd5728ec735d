//! All integration tests, compiled into one binary (as in casey/just): each module reads like
//! a part of the specification of alur.

// A failing unwrap in a test is a failing test, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod archive;
mod calendar;
mod calendar_file;
mod calendar_props;
mod cli;
mod corpus;
mod corpus_sop;
mod crash;
mod desk;
mod differential;
mod e2e_browser;
mod flow_meaning;
mod holidays_crosscheck;
mod import;
mod language;
mod layers;
mod layout;
mod lifecycle;
mod lsp;
mod multinode;
mod properties;
mod render;
mod runtime;
mod serve_api;
mod settings;
mod simulate;
mod sops;
mod store;
mod store_conformance;
mod summaries;
mod variants;
mod web;
