//! The event log: each case's events in order, appended only at the version the caller read.

use async_trait::async_trait;

use super::StoreError;
use crate::runtime::event::Recorded;
use crate::runtime::CaseId;

/// How far the data of a store reaches: which engine processes ("nodes") may work on it at once.
/// Every concern of the store (appends at a version, deadline claims, the change feed's reach
/// aside) holds among all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// One process: the data lives in its memory (the in-memory store).
    OneProcess,
    /// Processes on one machine: they share a file and its locks (SQLite).
    OneHost,
    /// Processes on any machine that reaches the database (PostgreSQL).
    Nodes,
}

#[async_trait]
pub trait EventLog: Send + Sync {
    /// Whether the store can serve now: it answers a trivial read and its schema is at the
    /// version this alur migrates to (not older, not newer). For `/readyz`: cheap enough to be
    /// asked every few seconds.
    async fn ready(&self) -> Result<(), StoreError>;
    /// Which processes may append to the same data at once (each keeps the contract with all
    /// the others).
    fn sharing(&self) -> Sharing;
    /// Appends events when the case is at `expected` (0 for a new case); otherwise nothing is
    /// written and `Conflict` is returned. Durable before it returns.
    async fn append(&self, case: CaseId, expected: u64, events: &[Recorded]) -> Result<(), StoreError>;
    /// `append` for a caller done with the events: a store that keeps them in memory takes
    /// them as they are instead of copying them.
    async fn append_owned(&self, case: CaseId, expected: u64, events: Vec<Recorded>) -> Result<(), StoreError> {
        self.append(case, expected, &events).await
    }
    async fn events(&self, case: CaseId) -> Result<Vec<Recorded>, StoreError>;
    /// The events of a case after `seq` (to bring a cached state up to date).
    async fn events_after(&self, case: CaseId, seq: u64) -> Result<Vec<Recorded>, StoreError> {
        Ok(self.events(case).await?.into_iter().filter(|r| r.seq > seq).collect())
    }
    /// [`events_after`](EventLog::events_after) of many cases in one read, answered in the
    /// order asked (a case the store does not hold has no events). Reports and lists read every
    /// running case: one round trip to the database instead of one per case.
    async fn events_after_each(&self, asks: &[(CaseId, u64)]) -> Result<Vec<Vec<Recorded>>, StoreError> {
        let mut out = Vec::with_capacity(asks.len());
        for &(case, seq) in asks {
            out.push(self.events_after(case, seq).await?);
        }
        Ok(out)
    }
    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError>;
}

/// The version is the last seq, so appended events must continue the stream exactly: every
/// store refuses others, after its version check (a stale caller hears `Conflict`).
pub(crate) fn check_numbering(case: CaseId, expected: u64, events: &[Recorded]) -> Result<(), StoreError> {
    match events.iter().enumerate().find(|(i, r)| r.seq != expected + 1 + *i as u64) {
        Some((i, r)) => Err(StoreError::Refused(format!(
            "event {} of case {case} is numbered {}, not {}",
            i + 1,
            r.seq,
            expected + 1 + i as u64
        ))),
        None => Ok(()),
    }
}
