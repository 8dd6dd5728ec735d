//! Retention: ended cases moved out of the tables the running work is read from, into an
//! archive the same store still reads (issue 28). An archived case reads as before (its events,
//! its summary in the case list and the reports, its place in `case_ids`); what changes is that
//! opening the store, its checkpoints and its indexes no longer carry it.
//!
//! Where the archive is differs by store: the SQLite store moves the cases into a second file
//! beside the database (`<db>.archive`, see `sqlite/archive.rs`), PostgreSQL into the tables
//! `archived_cases` and `archived_events` of the same schema (`postgres/archive.rs`), the
//! in-memory store into a map of its own. A case is moved only once its follow-ups are settled
//! (see `summary`), so start-up recovery never needs an archived case.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// What a move did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Archived {
    /// Cases moved by this run.
    pub cases: u64,
    /// Their events.
    pub events: u64,
    /// Ended cases left where they were: ended on or after the date, or not ready to move yet
    /// (SQLite: ended after the last checkpoint; any store: a follow-up not yet settled). A
    /// later run takes them.
    pub kept: u64,
}

#[async_trait]
pub trait CaseArchive: Send + Sync {
    /// Moves the cases that ended (ended, withdrawn or cancelled) before `before` into the
    /// archive, recording `now` as when. Safe beside running commands and other nodes; a run cut
    /// short is finished by the next. Running cases are never moved.
    async fn archive_ended(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> Result<Archived, StoreError>;
    /// Where archived cases go, for people: a file's path or a schema's tables.
    fn archive_place(&self) -> String;
}
