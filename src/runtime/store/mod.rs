//! Where events live. The store is an async trait so the engine runs the same on the
//! in-memory store (tests, simulation), the embedded SQLite file, and (later) PostgreSQL with
//! several engine processes: appends are conditional on the case's version, and everything
//! else the engine needs (inbox, timers) is an index derived from the events in the same
//! transaction.

mod memory;
mod sqlite;

pub use memory::MemoryStore;
pub use sqlite::{CommitStats, SqliteStore};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::{Event, Recorded};
use super::{CaseId, TaskNo};

/// A compiled SOP as deployed: the source is kept, so a deployment never depends on the file
/// it came from still being there.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Deployment {
    pub sop: String,
    pub version: u32,
    /// SHA-256 of the sources and calendars: deploying the same text again is not a new version.
    pub sha256: String,
    /// The SOP file first, then every file it imports or calls: (path, text).
    pub sources: Vec<(String, String)>,
    /// The calendar files the SOP was checked and scheduled with: (name, text).
    pub calendars: Vec<(String, String)>,
    pub deployed_at: DateTime<Utc>,
}

/// An open task in the inbox index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenTask {
    pub case: CaseId,
    pub task: TaskNo,
    pub sop: String,
    pub step: String,
    pub actors: Vec<String>,
    pub due: DateTime<Utc>,
    pub claimed_by: Option<String>,
}

/// A deadline still to fire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub case: CaseId,
    pub task: TaskNo,
    pub due: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    /// The case moved on since it was read (the expected version is not the current one).
    #[error("conflict on case {0}")]
    Conflict(CaseId),
    #[error("{0}")]
    Backend(String),
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Saves a deployment unless the same SOP version exists already.
    async fn save_deployment(&self, deployment: &Deployment) -> Result<(), StoreError>;
    async fn deployments(&self) -> Result<Vec<Deployment>, StoreError>;
    /// Appends events when the case is at `expected` (0 for a new case); otherwise nothing is
    /// written and `Conflict` is returned. Durable before it returns.
    async fn append(&self, case: CaseId, expected: u64, events: &[Recorded]) -> Result<(), StoreError>;
    async fn events(&self, case: CaseId) -> Result<Vec<Recorded>, StoreError>;
    /// The events of a case after `seq` (to bring a cached state up to date).
    async fn events_after(&self, case: CaseId, seq: u64) -> Result<Vec<Recorded>, StoreError> {
        Ok(self.events(case).await?.into_iter().filter(|r| r.seq > seq).collect())
    }
    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError>;
    /// Open tasks any of whose actors is in `actors` (all open tasks when empty).
    async fn open_tasks(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError>;
    /// Deadlines due at or before `until`, earliest first.
    async fn due_timers(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError>;
    /// The earliest deadline still to fire.
    async fn next_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// How a batch of events changes the inbox and timer indexes. Every store applies these in
/// the same transaction as the append, so the indexes never disagree with the events.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexChange {
    OpenTask(OpenTask),
    Claim { case: CaseId, task: TaskNo, user: Option<String> },
    AddActor { case: CaseId, task: TaskNo, actor: String },
    CloseTask { case: CaseId, task: TaskNo },
    CloseCase { case: CaseId },
    SetTimer(Timer),
    ClearTimer { case: CaseId, task: TaskNo },
}

/// The index changes a batch of events implies. `sop` is the case's SOP id.
pub fn index_changes(sop: &str, events: &[Recorded]) -> Vec<IndexChange> {
    let mut out = Vec::new();
    for r in events {
        let case = r.case;
        match &r.event {
            Event::TaskOpened { task, step, actors, due, .. } => {
                out.push(IndexChange::OpenTask(OpenTask {
                    case,
                    task: *task,
                    sop: sop.to_string(),
                    step: step.clone(),
                    actors: actors.clone(),
                    due: *due,
                    claimed_by: None,
                }));
                out.push(IndexChange::SetTimer(Timer { case, task: *task, due: *due }));
            }
            Event::TaskClaimed { task, user } => {
                out.push(IndexChange::Claim { case, task: *task, user: Some(user.clone()) })
            }
            Event::TaskReleased { task, .. } => out.push(IndexChange::Claim { case, task: *task, user: None }),
            Event::TaskEscalated { task, to } => {
                out.push(IndexChange::AddActor { case, task: *task, actor: to.clone() })
            }
            Event::DeadlinePassed { task } => out.push(IndexChange::ClearTimer { case, task: *task }),
            Event::TaskCompleted { task, .. } | Event::TaskExpired { task } => {
                out.push(IndexChange::CloseTask { case, task: *task });
                out.push(IndexChange::ClearTimer { case, task: *task });
            }
            Event::CaseEnded { .. } | Event::CaseWithdrawn { .. } | Event::CaseCancelled { .. } => {
                out.push(IndexChange::CloseCase { case })
            }
            _ => {}
        }
    }
    out
}
