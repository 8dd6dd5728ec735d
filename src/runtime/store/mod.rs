//! Where events live. The store is an async trait so the engine runs the same on the
//! in-memory store (tests, simulation), the embedded SQLite file, and PostgreSQL with several
//! engine processes ("nodes") on one database: appends are conditional on the case's version,
//! and everything else the engine needs (inbox, timers) is an index derived from the events in
//! the same transaction. For several nodes the store also hands out deadlines under a lease
//! (each fires on one node) and announces every change on a feed.

pub mod blob_files;
mod index;
mod memory;
mod postgres;
mod sqlite;
pub mod sqlite_file;
pub mod summary;

pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub(crate) use postgres::{
    detail as postgres_detail, is_transient as postgres_transient, run_migrations as run_postgres_migrations,
};
pub(crate) use sqlite::is_busy as sqlite_busy;
pub use sqlite::{CommitStats, SqliteStore};

use crate::runtime::name::{Name, Names};
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
    /// Interned names, the same the events and the deployment hold (serialized as strings).
    pub sop: Name,
    pub step: Name,
    pub actors: Names,
    /// None for a step whose SOP states no time: it sorts after every task with a due date.
    pub due: Option<DateTime<Utc>>,
    pub claimed_by: Option<String>,
}

/// Sorts open tasks by due instant (tasks without one last), then case, then task. The keys are
/// unique, so an unstable sort gives the one order; the keys are taken out first, so the
/// (large) tasks move only once.
pub(crate) fn sort_by_due(tasks: &mut [OpenTask]) {
    tasks.sort_by_cached_key(inbox_order);
}

/// An open task's place in the inbox: [`due_order`], tasks without a due date after all others.
pub(crate) fn inbox_order(task: &OpenTask) -> (u128, u128) {
    match task.due {
        Some(due) => due_order(due, task.case, task.task),
        None => (u128::MAX, (task.case.0.as_u128() << 32) | u128::from(task.task)),
    }
}

/// (due, case, task) packed into two numbers that compare in that order: cheaper to compare
/// than the tuple (in sorts and in the timer index's B-tree) and half its size. The seconds
/// (with the sign bit flipped, so they compare as unsigned in time order) and nanoseconds,
/// then the 128 bits of the case id and the task number: 64 + 32 + 128 + 32 bits.
pub(crate) fn due_order(due: DateTime<Utc>, case: CaseId, task: TaskNo) -> (u128, u128) {
    let secs = (due.timestamp() as u64) ^ (1 << 63);
    let case = case.0.as_u128();
    let high = (u128::from(secs) << 64) | (u128::from(due.timestamp_subsec_nanos()) << 32) | (case >> 96);
    (high, (case << 32) | u128::from(task))
}

/// The deadline a [`due_order`] key was made of.
pub(crate) fn from_due_order((high, low): (u128, u128)) -> Option<Timer> {
    let secs = (((high >> 64) as u64) ^ (1 << 63)) as i64;
    let due = DateTime::from_timestamp(secs, (high >> 32) as u32)?;
    let case = ((high & 0xffff_ffff) << 96) | (low >> 32);
    Some(Timer { case: CaseId(uuid::Uuid::from_u128(case)), task: low as u32, due })
}

/// Sorts open tasks by case, then task (the order `Store::open_tasks` returns).
pub(crate) fn sort_by_case(tasks: &mut [OpenTask]) {
    tasks.sort_by_cached_key(|t| (t.case.0.as_u128(), t.task));
}

/// A share of the cases, for workers that split the work between them: case ids are spread
/// over `count` partitions by their low 64 bits (random in a UUID v7), and a worker that takes
/// only the tasks of its partition never races another worker for a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    index: u32,
    count: u32,
}

impl Default for Partition {
    fn default() -> Self {
        Partition::all()
    }
}

impl Partition {
    /// Partition `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u32, count: u32) -> Option<Partition> {
        (index < count).then_some(Partition { index, count })
    }

    /// The whole: one partition holding every case.
    pub fn all() -> Partition {
        Partition { index: 0, count: 1 }
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// The partition of `count` that holds `case` (`count` 0 counts as 1).
    pub fn of(case: CaseId, count: u32) -> Partition {
        let count = count.max(1);
        Partition { index: index_in(case, count), count }
    }

    pub fn holds(&self, case: CaseId) -> bool {
        index_in(case, self.count) == self.index
    }
}

/// Which of `count` partitions a case falls in: by the low 64 bits of its id (random in a UUID
/// v7, and the bits the memory store picks its shards by). A 64-bit remainder is one division,
/// where a 128-bit one is a library call.
fn index_in(case: CaseId, count: u32) -> u32 {
    ((case.0.as_u128() as u64) % u64::from(count.max(1))) as u32
}

/// A deadline still to fire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub case: CaseId,
    pub task: TaskNo,
    pub due: DateTime<Utc>,
}

/// A change committed to the store, as the change feed announces it to every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// Events were appended to a case, which is now at `version` (the seq of its last event).
    Appended { case: CaseId, version: u64 },
    /// A new SOP version was deployed.
    Deployed { sop: String, version: u32 },
    /// Changes may have been missed (the feed lost its database connection and is back):
    /// re-read whatever is shown.
    Resync,
}

/// How many changes a subscriber may fall behind before it gets `RecvError::Lagged` (which,
/// like `Change::Resync`, means: re-read).
pub const CHANGE_FEED_CAPACITY: usize = 4096;

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

/// A change feed with nobody behind it: the receiver reports `Closed` at once.
pub fn closed_feed() -> tokio::sync::broadcast::Receiver<Change> {
    tokio::sync::broadcast::channel(1).1
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

/// Documents' bytes, addressed by their SHA-256 (lowercase hex): the events of a case name a
/// document by hash, size and type, so folding a case's history never reads its files. Every
/// store keeps its own (memory: a map; SQLite: files beside the database; PostgreSQL: a table).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` and returns their SHA-256. The same content is stored once (a second put
    /// is a no-op). Durable before it returns: an event naming the hash may be appended after.
    async fn put_blob(&self, bytes: Vec<u8>) -> Result<String, StoreError>;
    /// The bytes stored under `sha256`, checked against it on the way out: `None` when nothing
    /// is stored there, `BlobDamaged` when what is stored no longer hashes to it.
    async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Whether something is stored under `sha256` (without reading or checking it).
    async fn has_blob(&self, sha256: &str) -> Result<bool, StoreError>;
}

/// `Ok(bytes)` when `bytes` hash to `sha256`, else `BlobDamaged` saying what they hash to.
pub(crate) fn verified(sha256: &str, bytes: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    let actual = crate::runtime::media::sha256_hex(&bytes);
    if actual == sha256 {
        Ok(bytes)
    } else {
        Err(StoreError::BlobDamaged {
            sha256: sha256.to_string(),
            cause: format!("its {} bytes hash to {actual}", bytes.len()),
        })
    }
}

#[async_trait]
pub trait Store: BlobStore + summary::CaseSummaries + Send + Sync {
    /// Whether the store can serve now: it answers a trivial read and its schema is at the
    /// version this alur migrates to (not older, not newer). For `/readyz`: cheap enough to be
    /// asked every few seconds.
    async fn ready(&self) -> Result<(), StoreError>;

    /// Saves a deployment unless the same SOP version exists already.
    async fn save_deployment(&self, deployment: &Deployment) -> Result<(), StoreError>;
    async fn deployments(&self) -> Result<Vec<Deployment>, StoreError>;
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
    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError>;
    /// Open tasks any of whose actors is in `actors` (all open tasks when empty), by case then task.
    async fn open_tasks(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError>;
    /// `open_tasks` in inbox order: by due instant, then case, then task.
    async fn inbox(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError> {
        let mut tasks = self.open_tasks(actors).await?;
        sort_by_due(&mut tasks);
        Ok(tasks)
    }
    /// `inbox` for the cases of one partition.
    async fn inbox_of(&self, actors: &[String], partition: Partition) -> Result<Vec<OpenTask>, StoreError> {
        let mut tasks = self.inbox(actors).await?;
        tasks.retain(|t| partition.holds(t.case));
        Ok(tasks)
    }
    /// Deadlines due at or before `until`, earliest first.
    async fn due_timers(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError>;
    /// The earliest deadline still to fire.
    async fn next_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Claims, for `node`, up to `limit` deadlines due at or before `now` that no node holds a
    /// live lease on, earliest first; each claim's lease runs until `now + lease`. Of several
    /// nodes claiming at once, each deadline goes to exactly one; a lease that ran out (its
    /// node died or hung) can be claimed by any node. A claim ends when the deadline's timer
    /// goes (the firing append clears it), when released, or when its lease runs out.
    ///
    /// The default (for a store that only ever has one node) claims nothing more than
    /// `due_timers` returns.
    async fn claim_due_timers(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<Timer>, StoreError> {
        let _ = (node, lease);
        self.due_timers(now, limit).await
    }

    /// Gives up `node`'s claim on a deadline, so it can be claimed again at once (after firing
    /// it failed). A claim `node` does not hold is left alone.
    async fn release_timer(&self, node: &str, case: CaseId, task: TaskNo) -> Result<(), StoreError> {
        let _ = (node, case, task);
        Ok(())
    }

    /// When a deadline can next be claimed: the earliest over the timers of the later of the
    /// due instant and the end of a lease on it. A timer service sleeps until then (not until
    /// `next_timer`, which may be a deadline another node is firing right now).
    async fn next_claimable_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.next_timer().await
    }

    /// The change feed: every append and deployment committed by any node on this store,
    /// from now on. The default is a feed that is closed at once (poll instead).
    /// Counts this store's commits in `metrics` from now on (`/metrics`); a store that has no
    /// commits of its own (the in-memory one) ignores it.
    fn observe(&self, _metrics: std::sync::Arc<crate::runtime::metrics::StoreMetrics>) {}

    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        closed_feed()
    }
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

/// A case's first event, for the stores' unit tests.
#[cfg(test)]
pub(crate) fn started_event(case: CaseId) -> Recorded {
    Recorded {
        case,
        seq: 1,
        at: DateTime::<Utc>::UNIX_EPOCH,
        by: "p".into(),
        event: Event::CaseStarted {
            sop: "lks".into(),
            version: 1,
            applicant: "p".into(),
            fields: Default::default(),
            parent: None,
            entry: None,
            variant: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_order_sorts_as_the_tuple_and_comes_back() {
        let case = |n: u128| CaseId(uuid::Uuid::from_u128(n));
        let at = |secs: i64, nanos: u32| DateTime::from_timestamp(secs, nanos).unwrap_or_default();
        let mut timers = vec![
            Timer { case: case(u128::MAX), task: 1, due: at(-5, 0) },
            Timer { case: case(1), task: 2, due: at(0, 0) },
            Timer { case: case(1), task: 1, due: at(0, 0) },
            Timer { case: case(1 << 100), task: 0, due: at(0, 0) },
            Timer { case: case(0), task: u32::MAX, due: at(0, 999_999_999) },
            Timer { case: case(7), task: 3, due: at(1_800_000_000, 5) },
            Timer { case: case(7), task: 3, due: at(-1_800_000_000, 5) },
        ];
        let mut packed: Vec<_> = timers.iter().map(|t| due_order(t.due, t.case, t.task)).collect();
        packed.sort_unstable();
        timers.sort_unstable_by_key(|t| (t.due, t.case, t.task));
        let back: Vec<_> = packed.into_iter().filter_map(from_due_order).collect();
        assert_eq!(back, timers);
    }
}
