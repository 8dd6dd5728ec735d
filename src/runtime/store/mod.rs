//! Where events live. The store is an async trait so the engine runs the same on the
//! in-memory store (tests, simulation), the embedded SQLite file, and PostgreSQL with several
//! engine processes ("nodes") on one database: appends are conditional on the case's version,
//! and everything else the engine needs (inbox, timers) is an index derived from the events in
//! the same transaction. For several nodes the store also hands out deadlines under a lease
//! (each fires on one node) and announces every change on a feed.

mod archive;
mod blob;
pub mod blob_files;
mod deployments;
mod feed;
mod inbox;
mod index;
mod log;
mod memory;
mod postgres;
mod registry;
mod sqlite;
pub mod sqlite_file;
pub mod summary;
mod timers;

pub use archive::{Archived, CaseArchive};
pub(crate) use blob::verified;
pub use blob::BlobStore;
pub use deployments::{Deployment, DeploymentStore};
pub use feed::{Change, ChangeFeed, FeedReach, CHANGE_FEED_CAPACITY};
pub(crate) use inbox::{sort_by_case, sort_by_due};
pub use inbox::{InboxIndex, OpenTask, Partition};
pub(crate) use log::check_numbering;
pub use log::{EventLog, Sharing};
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub(crate) use postgres::{
    detail as postgres_detail, is_transient as postgres_transient, run_migrations as run_postgres_migrations,
};
pub use registry::Registry;
pub(crate) use sqlite::is_busy as sqlite_busy;
pub use sqlite::{archive_path, CommitStats, SqliteStore};
pub(crate) use timers::{due_order, from_due_order};
pub use timers::{Timer, TimerIndex};

use crate::runtime::name::Name;

use super::event::{Event, Recorded};
use super::{CaseId, TaskNo};

/// A store: every concern the engine needs, each a trait of its own (one line each, so a new
/// concern is a one-line change here and in the blanket impl's bounds). `Arc<dyn Store>` is
/// what the engine and the server hold.
pub trait Store:
    EventLog
    + InboxIndex
    + TimerIndex
    + DeploymentStore
    + ChangeFeed
    + BlobStore
    + summary::CaseSummaries
    + CaseArchive
    + Registry
{
    /// What the store supports, as its concerns state it.
    fn capabilities(&self) -> Capabilities {
        Capabilities { sharing: self.sharing(), feed: self.feed_reach() }
    }
}

impl<T> Store for T where
    T: EventLog
        + InboxIndex
        + TimerIndex
        + DeploymentStore
        + ChangeFeed
        + BlobStore
        + summary::CaseSummaries
        + CaseArchive
        + Registry
{
}

/// What a store supports beyond the contract every store keeps: how far its data is shared and
/// whose commits its change feed announces. Deadline claims are no capability: every store
/// implements them, as real claims among the processes it is shared by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub sharing: Sharing,
    pub feed: FeedReach,
}

/// Opens the store a `--db` / `ALUR_DB` value names: a `postgres://` or `postgresql://` URL
/// selects PostgreSQL (an optional `schema=NAME` query parameter picks the schema, default
/// `public`), anything else is the path of an SQLite file. Either way the schema is brought
/// up to date.
pub async fn open(spec: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PostgresStore::open(spec).await?))
    } else {
        let path = std::path::PathBuf::from(spec);
        // Opening runs migrations and may wait on a lock held by another process.
        let store = tokio::task::spawn_blocking(move || SqliteStore::open(path))
            .await
            .map_err(|e| StoreError::Backend(format!("sqlite store: opening: {e}")))??;
        Ok(std::sync::Arc::new(store))
    }
}

/// What went wrong in a store, by what the caller can do about it.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    /// The case moved on since it was read (the expected version is not the current one).
    #[error("conflict on case {0}")]
    Conflict(CaseId),
    /// Events the store will not append as given (misnumbered, of another case, a case not
    /// starting with `CaseStarted`, a number past what the database holds): the caller's
    /// mistake, never the applicant's; nothing was written.
    #[error("refused: {0}")]
    Refused(String),
    /// The database's schema is not the one this alur knows: migrations not applied yet, or a
    /// newer alur migrated it. Run the alur that matches it, or upgrade.
    #[error("{0}")]
    Schema(String),
    /// Settings the store cannot open with (a bad database URL, pool size or schema name, a
    /// file that refuses WAL mode): fix the setting.
    #[error("{0}")]
    Config(String),
    /// A stored value does not read back (a time, a case id, an event out of its case): the
    /// database was changed outside alur or is damaged.
    #[error("the database holds a value alur cannot read: {0}")]
    Corrupt(String),
    /// The database or the file system failed in another way: what was being done, in the
    /// driver's words.
    #[error("{0}")]
    Backend(String),
    /// The database is busy (another process holds its lock past the wait) or cannot be reached
    /// right now: the command did nothing and the same command may be tried again.
    #[error("the database is busy or unreachable, try again: {0}")]
    Transient(String),
    /// The database file is damaged (SQLite's own check fails, or it is not a database):
    /// nothing can be trusted from it; restore a backup.
    #[error("the database file {path} is damaged: {cause}")]
    Damaged { path: String, cause: String },
    /// A stored document's bytes no longer hash to their address (a damaged blob file or row):
    /// never served as if they were the document; restore the blob from a backup.
    #[error("the stored document {sha256} is damaged: {cause}")]
    BlobDamaged { sha256: String, cause: String },
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
    for_each_index_change(&sop.into(), events, |change| out.push(change));
    out
}

/// [`index_changes`] handed to `out` one by one, without collecting them.
pub fn for_each_index_change(sop: &Name, events: &[Recorded], mut out: impl FnMut(IndexChange)) {
    for r in events {
        let case = r.case;
        match &r.event {
            Event::TaskOpened { task, step, actors, due, .. } => {
                out(IndexChange::OpenTask(OpenTask {
                    case,
                    task: *task,
                    sop: *sop,
                    step: *step,
                    actors: *actors,
                    due: *due,
                    claimed_by: None,
                }));
                if let Some(due) = *due {
                    out(IndexChange::SetTimer(Timer { case, task: *task, due }));
                }
            }
            Event::TaskClaimed { task, user } => {
                out(IndexChange::Claim { case, task: *task, user: Some(user.clone()) })
            }
            Event::TaskReleased { task, .. } => out(IndexChange::Claim { case, task: *task, user: None }),
            Event::TaskEscalated { task, to } => out(IndexChange::AddActor { case, task: *task, actor: to.clone() }),
            Event::DeadlinePassed { task } => out(IndexChange::ClearTimer { case, task: *task }),
            // A held task leaves the inbox; its one timer becomes the end of the longest hold.
            Event::TaskHeld { task, until, .. } => {
                out(IndexChange::CloseTask { case, task: *task });
                out(IndexChange::SetTimer(Timer { case, task: *task, due: *until }));
            }
            Event::TaskResumed { task, step, actors, due, claimed_by, overdue } => {
                out(IndexChange::OpenTask(OpenTask {
                    case,
                    task: *task,
                    sop: *sop,
                    step: *step,
                    actors: *actors,
                    due: *due,
                    claimed_by: claimed_by.clone(),
                }));
                match due.filter(|_| !overdue) {
                    Some(due) => out(IndexChange::SetTimer(Timer { case, task: *task, due })),
                    None => out(IndexChange::ClearTimer { case, task: *task }),
                }
            }
            Event::TaskCompleted { task, .. } | Event::TaskExpired { task } => {
                out(IndexChange::CloseTask { case, task: *task });
                out(IndexChange::ClearTimer { case, task: *task });
            }
            Event::CaseEnded { .. } | Event::CaseWithdrawn { .. } | Event::CaseCancelled { .. } => {
                out(IndexChange::CloseCase { case })
            }
            _ => {}
        }
    }
}

/// `Ok` when a database's schema version is `known`, the number of migrations this alur has.
pub(crate) fn schema_current(version: i64, known: usize) -> Result<(), StoreError> {
    match usize::try_from(version) {
        Ok(v) if v == known => Ok(()),
        _ => Err(StoreError::Schema(format!(
            "the schema is at version {version}, this alur expects {known}: {}",
            if version < known as i64 { "migrations are not applied" } else { "a newer alur migrated it" }
        ))),
    }
}

/// A case's first event, for the stores' unit tests.
#[cfg(test)]
pub(crate) fn started_event(case: CaseId) -> Recorded {
    Recorded {
        case,
        seq: 1,
        at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        by: "p".into(),
        event: Event::CaseStarted {
            sop: "lks".into(),
            version: 1,
            applicant: "p".into(),
            fields: Default::default(),
            parent: None,
            entry: None,
            variant: None,
            registration: None,
        },
    }
}

/// The store's traits, to call their methods on a concrete store (`MemoryStore`, ...); a
/// `dyn Store` needs none of them in scope.
pub mod prelude {
    pub use super::summary::CaseSummaries;
    pub use super::{BlobStore, ChangeFeed, DeploymentStore, EventLog, InboxIndex, Registry, Store, TimerIndex};
}
