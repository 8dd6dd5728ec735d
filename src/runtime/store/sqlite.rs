//! The durable store: one SQLite file in WAL mode. Appends are durable (fsynced) before they
//! return. The file holds the events (one log in commit order, keyed by `pos`), the cases, the
//! deployments and the claims on deadlines. What is derived from the events lives in memory
//! (`Projection`): each case's version and the positions of its events in the log, and the
//! inbox and timer indexes. It is rebuilt from the log when the file is opened, kept up to date
//! by every commit, and brought up to date with whatever another process appended before each
//! batch (under the file's write lock, so the version checks see every append) and each read.
//! A commit then writes the new rows at the end of the log and nothing else: a completion
//! dirties one b-tree page instead of nine, and 64 concurrent completions a handful instead of
//! one per case, which is what an fsync-bound command pays for.
//!
//! Group commit, leader and followers: one write connection, behind a lock. A command puts its
//! request in a queue and tries the lock; the one that gets it (the leader) takes every request
//! waiting, runs them in one transaction, commits once — one fsync for the whole batch — and
//! only then replies to each. A command that finds the lock taken is a follower: its request is
//! in the queue, and whoever holds the lock looks at the queue again after letting go, so it is
//! committed by the next batch. Concurrent commands share an fsync and each is still on disk
//! before its caller hears back. The leader commits on its own thread (in `block_in_place` on
//! tokio's multi-thread runtime): one client's command reaches the disk without waking another
//! thread and being woken back, two cross-core wake-ups that cost more than the fsync on this
//! machine. After its own batch a leader that still sees requests waiting hands the lead to a
//! blocking thread and returns to its caller. Reads run on a small pool of separate connections
//! on tokio's blocking threads; WAL lets them proceed while a commit is written.
//!
//! Nothing here is known to the engine: the contract (conditional append, indexes that agree
//! with the events) is the `Store` trait's, so a PostgreSQL store can keep it with several
//! engine processes on one database.

use crate::runtime::name::Name;
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};

mod checkpoint;
mod summary;

use super::blob_files::BlobDir;
use super::index::Index;
use super::{
    check_numbering, for_each_index_change, schema_current, BlobStore, Change, Deployment, IndexChange, OpenTask,
    Partition, Store, StoreError, Timer, CHANGE_FEED_CAPACITY,
};
use crate::runtime::event::{Event, Recorded};
use crate::runtime::metrics::StoreCounters;
use crate::runtime::{CaseId, TaskNo};

/// The schema, one step per entry: a database at schema version n (the highest row of its
/// `schema_version` table) gets steps n+1.. applied, each in its own transaction together with
/// its `schema_version` row, so an interrupted upgrade leaves a database at a known version.
/// Steps are never edited once shipped, only added. (Databases made before the table existed
/// kept their version in `PRAGMA user_version`; it is carried over.)
/// The schema version this build brings a file to (`alur restore` refuses a newer one).
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// One step of the schema: SQL, or code for what SQL alone cannot do (files beside the
/// database). Either runs inside the step's transaction.
enum Migration {
    Sql(&'static str),
    Code(fn(&Connection, &BlobDir) -> Result<(), StoreError>),
}

const MIGRATIONS: &[Migration] = &[
    // 1: events, cases, deployments and the inbox and timer indexes.
    Migration::Sql(
        r#"
    CREATE TABLE deployments (
        sop TEXT NOT NULL,
        version INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        deployed_at TEXT NOT NULL,
        -- The whole Deployment (sources and calendars included) as JSON.
        body TEXT NOT NULL,
        PRIMARY KEY (sop, version)
    );
    -- Rowid order is the order cases started in, which `case_ids` returns.
    CREATE TABLE cases (
        case_id TEXT NOT NULL PRIMARY KEY,
        sop TEXT NOT NULL
    );
    CREATE TABLE events (
        case_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        "by" TEXT NOT NULL,
        -- The Event as JSON (tagged by `type`).
        body TEXT NOT NULL,
        PRIMARY KEY (case_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE open_tasks (
        case_id TEXT NOT NULL,
        task INTEGER NOT NULL,
        sop TEXT NOT NULL,
        step TEXT NOT NULL,
        due TEXT NOT NULL,
        claimed_by TEXT,
        PRIMARY KEY (case_id, task)
    ) WITHOUT ROWID;
    -- One row per actor of an open task, so an inbox query by role uses an index.
    CREATE TABLE task_actors (
        case_id TEXT NOT NULL,
        task INTEGER NOT NULL,
        pos INTEGER NOT NULL,
        actor TEXT NOT NULL,
        PRIMARY KEY (case_id, task, pos)
    ) WITHOUT ROWID;
    CREATE INDEX task_actors_by_actor ON task_actors (actor, case_id, task);
    CREATE TABLE timers (
        case_id TEXT NOT NULL,
        task INTEGER NOT NULL,
        due TEXT NOT NULL,
        PRIMARY KEY (case_id, task)
    ) WITHOUT ROWID;
    CREATE INDEX timers_by_due ON timers (due, case_id, task);
    "#,
    ),
    // 2: claims on timers (a node fires a deadline under a lease).
    Migration::Sql(
        r#"
    ALTER TABLE timers ADD COLUMN claimed_by TEXT;
    ALTER TABLE timers ADD COLUMN lease_until TEXT;
    CREATE INDEX timers_leased ON timers (lease_until) WHERE lease_until IS NOT NULL;
    "#,
    ),
    // 3: the events as one log in commit order (`pos`); what is derived from them (versions,
    // each case's events, the inbox and timer indexes) moves into memory, and the claims on
    // deadlines get a table of their own. The old events keep their order within each case,
    // the cases the order they started in.
    Migration::Sql(
        r#"
    CREATE TABLE event_log (
        pos INTEGER PRIMARY KEY,
        case_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        "by" TEXT NOT NULL,
        -- The Event as JSON (tagged by `type`).
        body TEXT NOT NULL
    );
    INSERT INTO event_log (case_id, seq, at, "by", body)
        SELECT e.case_id, e.seq, e.at, e."by", e.body
        FROM events e LEFT JOIN cases c ON c.case_id = e.case_id
        ORDER BY c.rowid, e.case_id, e.seq;
    DROP TABLE events;
    ALTER TABLE event_log RENAME TO events;
    CREATE TABLE timer_claims (
        case_id TEXT NOT NULL,
        task INTEGER NOT NULL,
        claimed_by TEXT NOT NULL,
        lease_until TEXT NOT NULL,
        PRIMARY KEY (case_id, task)
    ) WITHOUT ROWID;
    INSERT INTO timer_claims (case_id, task, claimed_by, lease_until)
        SELECT case_id, task, claimed_by, lease_until FROM timers
        WHERE claimed_by IS NOT NULL AND lease_until IS NOT NULL;
    DROP TABLE timers;
    DROP TABLE task_actors;
    DROP TABLE open_tasks;
    "#,
    ),
    // 4: documents out of the event log: every document stored inline (base64 in its event)
    // moves into a blob file, and its event names it by hash instead.
    Migration::Code(move_inline_documents),
    // 5: the derived state at a known log position (see `checkpoint.rs`): the running cases'
    // event positions, the inbox and the deadlines in one row, and the event positions of every
    // case that ended before it, read when asked for. An open loads them and replays only the
    // log after the position.
    Migration::Sql(
        r#"
    CREATE TABLE checkpoint (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        -- The last event of the log the state includes.
        pos INTEGER NOT NULL,
        format INTEGER NOT NULL,
        -- SHA-256 of `body`: a damaged row is told from a good one.
        sha256 TEXT NOT NULL,
        written_at TEXT NOT NULL,
        body BLOB NOT NULL
    );
    CREATE TABLE ended_cases (
        case_id TEXT NOT NULL PRIMARY KEY,
        -- The positions of the case's events in the log, 8 bytes each (little-endian).
        positions BLOB NOT NULL
    ) WITHOUT ROWID;
    "#,
    ),
    // 6: case summaries and report tallies (see `summary.rs`).
    Migration::Sql(summary::MIGRATION),
];

/// Events rewritten per round of migration 4 (bounds the documents held in memory at once).
const MOVE_CHUNK: i64 = 64;

/// Migration 4: each `ArtifactAttached` event holding its bytes inline gets them written to a
/// blob file (durably, before the rewritten event commits) and is rewritten to name the blob by
/// the hash and size of those bytes. Safe if interrupted: the transaction rolls back, the blobs
/// already written stay (content-addressed, so the next attempt finds them), and the step runs
/// again. An inline body that is not valid base64 is left as it is, and said in the log: its
/// download reports it, as before.
fn move_inline_documents(conn: &Connection, blobs: &BlobDir) -> Result<(), StoreError> {
    use crate::runtime::event::Storage;
    use base64::Engine as _;
    let mut after = 0_i64;
    loop {
        let rows: Vec<(i64, String)> = conn
            .prepare(
                "SELECT pos, body FROM events WHERE pos > ?1 AND body LIKE '%\"kind\":\"inline\"%' \
                 ORDER BY pos LIMIT ?2",
            )
            .and_then(|mut q| q.query_map(params![after, MOVE_CHUNK], |row| Ok((row.get(0)?, row.get(1)?)))?.collect())
            .map_err(backend("reading inline documents"))?;
        let Some(&(last, _)) = rows.last() else { return Ok(()) };
        after = last;
        for (pos, body) in rows {
            let Ok(Event::ArtifactAttached(mut file)) = serde_json::from_str::<Event>(&body) else { continue };
            let Storage::Inline { base64 } = &file.storage else { continue };
            let bytes = match base64::engine::general_purpose::STANDARD.decode(base64) {
                Ok(bytes) => bytes,
                Err(error) => {
                    tracing::warn!(pos, %error, "an inline document is not valid base64; left in its event");
                    continue;
                }
            };
            file.sha256 = blobs.put(&bytes)?;
            file.size = bytes.len() as u64;
            file.storage = Storage::Blob;
            let body =
                serde_json::to_string(&Event::ArtifactAttached(file)).map_err(backend("serializing an event"))?;
            conn.execute("UPDATE events SET body = ?1 WHERE pos = ?2", params![body, pos])
                .map_err(backend("rewriting an event"))?;
        }
    }
}

/// How long a connection waits for a lock held by another connection (another process on the
/// same file, or a checkpoint) before giving up with an error.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The most requests one transaction takes: bounds how long the first of a batch waits.
const MAX_BATCH: usize = 1024;

/// Idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 8;

type Reply = oneshot::Sender<Result<(), StoreError>>;
type ClaimReply = oneshot::Sender<Result<Vec<Timer>, StoreError>>;
type SettleReply = oneshot::Sender<Result<bool, StoreError>>;

/// An event ready to insert: serialized by the caller, so the committing thread spends its time
/// on SQLite only.
struct Row {
    seq: i64,
    at: String,
    by: String,
    body: String,
}

enum Request {
    Append { case: CaseId, expected: u64, events: Vec<Recorded>, rows: Vec<Row>, reply: Reply },
    Deployment { deployment: Box<Deployment>, body: String, reply: Reply },
    Claim { node: String, now: DateTime<Utc>, until: DateTime<Utc>, limit: usize, reply: ClaimReply },
    Release { node: String, case: CaseId, task: TaskNo, reply: Reply },
    Settle { unsettled: super::summary::Unsettled, tallies: Vec<super::summary::Tally>, reply: SettleReply },
}

/// What a request did, when it did not fail.
enum Done {
    Written,
    /// A new deployment: announced on the change feed after the commit.
    Changed(Change),
    /// An append: announced on the change feed, and its events' positions and index changes
    /// applied to the projection, after the commit.
    Appended {
        change: Change,
        case: CaseId,
        positions: Vec<i64>,
        index: Vec<IndexChange>,
    },
    Claimed(Vec<Timer>),
    Settled(bool),
}

impl Request {
    fn reply(self, result: Result<Done, StoreError>) {
        // The caller may have gone away (its future dropped); the result stands regardless.
        match self {
            Request::Append { reply, .. } | Request::Deployment { reply, .. } | Request::Release { reply, .. } => {
                let _ = reply.send(result.map(|_| ()));
            }
            Request::Claim { reply, .. } => {
                let _ = reply.send(result.map(|done| match done {
                    Done::Claimed(timers) => timers,
                    Done::Written | Done::Changed(_) | Done::Appended { .. } | Done::Settled(_) => Vec::new(),
                }));
            }
            Request::Settle { reply, .. } => {
                let _ = reply.send(result.map(|done| matches!(done, Done::Settled(true))));
            }
        }
    }
}

pub struct SqliteStore {
    commits: Arc<Committer>,
    readers: Arc<Readers>,
    projection: Arc<Projection>,
    feed: broadcast::Sender<Change>,
    /// The documents, in files beside the database.
    blobs: BlobDir,
    /// What opening made of the checkpoint (the tests ask).
    #[cfg_attr(not(test), allow(dead_code))]
    loaded: checkpoint::Loaded,
}

/// The inbox and timer indexes of the file, derived from its events, and how far into the
/// event log (by `pos`) they are. Every commit of this store applies its own appends before
/// it replies; whatever another process (or another store on the same file) appended is read
/// from the log and applied first, before each batch and each read of the indexes. The log
/// only grows and `pos` is assigned under the file's write lock, so any snapshot of it is a
/// prefix in `pos` order and every event is applied exactly once, in order.
struct Projection {
    state: Mutex<Derived>,
    /// Whether checkpoints are loaded and written (`ALUR_CHECKPOINT=off`: every open replays
    /// the whole log and none is written, as before there were checkpoints; for comparing).
    checkpoints: bool,
}

struct Derived {
    index: Index,
    /// The events of the cases held here: their positions in the log, in the case's order (so
    /// the case's version is their number). Every running case is here; a case that ended only
    /// until the next checkpoint has written it to `ended_cases` (see `checkpoint.rs`), or
    /// while an append to it needs it.
    streams: HashMap<CaseId, Stream, foldhash::fast::RandomState>,
    /// The `pos` of the last event applied.
    applied: i64,
    /// Whether `streams` holds every case of the log (the whole log was replayed since the last
    /// checkpoint was written): a case not there then has no events, and `ended_cases` is not
    /// asked.
    whole: bool,
    /// The `pos` of the checkpoint loaded or last written (0: none).
    checkpointed: i64,
}

impl Default for Derived {
    fn default() -> Self {
        Derived { index: Index::default(), streams: HashMap::default(), applied: 0, whole: true, checkpointed: 0 }
    }
}

/// A case's events held in memory.
#[derive(Default)]
struct Stream {
    positions: Vec<i64>,
    /// The case ended (ended, withdrawn, cancelled): the next checkpoint moves it out.
    ended: bool,
    /// Changed since it was last written to `ended_cases`.
    dirty: bool,
}

impl Derived {
    /// A case's stream, read from `ended_cases` into memory when it is not here (an append to a
    /// case that ended, or a catch-up reading another process's). `None` when the case has no
    /// events.
    fn stream(&mut self, conn: &Connection, case: CaseId) -> Result<Option<&mut Stream>, StoreError> {
        if !self.streams.contains_key(&case) {
            if self.whole {
                return Ok(None);
            }
            let Some(positions) = checkpoint::ended_positions(conn, case)? else { return Ok(None) };
            self.streams.insert(case, Stream { positions, ended: true, dirty: false });
        }
        Ok(self.streams.get_mut(&case))
    }

    fn version(&mut self, conn: &Connection, case: CaseId) -> Result<u64, StoreError> {
        Ok(self.stream(conn, case)?.map_or(0, |s| s.positions.len() as u64))
    }
}

/// The positions in the log of a case's events after the first `after`: from memory, or for a
/// case that ended before the last checkpoint from `ended_cases` (without keeping them).
fn positions(conn: &Connection, projection: &Projection, case: CaseId, after: u64) -> Result<Vec<i64>, StoreError> {
    let from = |at: &[i64]| at[usize::try_from(after).unwrap_or(usize::MAX).min(at.len())..].to_vec();
    {
        let derived = projection.lock();
        match derived.streams.get(&case) {
            Some(stream) => return Ok(from(&stream.positions)),
            None if derived.whole => return Ok(Vec::new()),
            None => {}
        }
    }
    // Written to `ended_cases` before it left memory, so a case missing there is in the table.
    Ok(checkpoint::ended_positions(conn, case)?.map(|at| from(&at)).unwrap_or_default())
}

impl Projection {
    /// The derived indexes. A panic while they were being changed (a bug) may have left them
    /// half-changed: they are then dropped and rebuilt from the log by the next catch-up.
    fn lock(&self) -> MutexGuard<'_, Derived> {
        self.state.lock().unwrap_or_else(|poisoned| {
            let mut derived = poisoned.into_inner();
            *derived = Derived::default();
            self.state.clear_poison();
            derived
        })
    }
}

/// The write side: the requests waiting for a commit and the one write connection.
struct Committer {
    queue: Mutex<Vec<Request>>,
    writer: Mutex<Writer>,
    stats: Counters,
    /// What `/metrics` reads, once the server asks (`Store::observe`).
    metrics: std::sync::OnceLock<StoreCounters>,
}

struct Writer {
    conn: Connection,
    feed: broadcast::Sender<Change>,
    projection: Arc<Projection>,
    /// What the checkpoint thread asks of the committer between two batches.
    upkeep: Arc<WalUpkeep>,
    /// Dropped with the writer: the checkpoint thread does a last checkpoint and ends.
    _closing: std::sync::mpsc::Sender<()>,
}

/// How well group commit is doing: write requests per commit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions the writer committed (one fsync each).
    pub commits: u64,
    /// Write requests (appends and deployments) those commits carried.
    pub requests: u64,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    requests: AtomicU64,
}

/// Read connections: taken for one query on a blocking thread, then put back.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(conn);
        }
        let conn = connect(&self.path)?;
        // Readers never write; this turns a bug that tries into an error instead of a lock.
        conn.pragma_update(None, "query_only", true).map_err(backend("setting up a read connection"))?;
        Ok(conn)
    }

    fn put(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
    }
}

/// A stored value that does not read back: the database was changed outside alur or is damaged.
fn corrupt<E: std::fmt::Display>(doing: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Corrupt(format!("sqlite store: {doing}: {e}"))
}

/// Maps an SQLite (or other) error to a store error that says what was being done: a lock
/// held past the busy timeout is transient (try again), anything else a backend error.
fn backend<E: std::fmt::Display + 'static>(doing: &'static str) -> impl Fn(E) -> StoreError {
    move |e| {
        let busy = (&e as &dyn std::any::Any).downcast_ref::<rusqlite::Error>().is_some_and(is_busy);
        let message = format!("sqlite store: {doing}: {e}");
        if busy {
            StoreError::Transient(message)
        } else {
            StoreError::Backend(message)
        }
    }
}

/// Another connection holds the database's lock (past the busy timeout).
pub(crate) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(error.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)
        .map_err(|e| StoreError::Backend(format!("sqlite store: opening {}: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend("setting the busy timeout"))?;
    // FULL: in WAL mode the log is fsynced at every commit, so a returned append survives a
    // crash or power loss (NORMAL would only survive a process crash).
    conn.pragma_update(None, "synchronous", "FULL").map_err(backend("setting synchronous=FULL"))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Whether SQLite says the file is damaged (or not a database at all).
fn is_damage(error: &rusqlite::Error) -> bool {
    matches!(error.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase))
}

/// Names a damaged file as such before anything reads it (a truncated file otherwise fails
/// somewhere in the reading, with a message about a column), in time that does not grow with
/// the history: the header (an SQLite file, as long as it says it is) and SQLite's
/// `quick_check` of the tables an open reads whole (the checkpoint, the deployments, the
/// schema versions). A check of every page took seconds at 100,000 cases and minutes at a
/// million (docs/performance.md); a damaged page elsewhere is reported when it is read, and
/// `alur backup` and `alur restore` still check every page. A missing file is created by
/// `open`.
fn check_intact(path: &Path) -> Result<(), StoreError> {
    if !path.exists() {
        return Ok(());
    }
    let damaged = |cause: String| StoreError::Damaged { path: path.display().to_string(), cause };
    check_header(path).map_err(damaged)?;
    let conn = Connection::open(path)
        .map_err(|e| StoreError::Backend(format!("sqlite store: opening {}: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend("setting the busy timeout"))?;
    let check = |sql: &str| -> Result<Vec<String>, rusqlite::Error> {
        conn.prepare(sql).and_then(|mut check| check.query_map([], |row| row.get(0))?.collect())
    };
    let tables = check(
        "SELECT name FROM sqlite_schema WHERE type = 'table' \
         AND name IN ('checkpoint', 'deployments', 'schema_version') ORDER BY name",
    );
    let found = tables.and_then(|tables| {
        let mut lines = Vec::new();
        for table in tables {
            lines.extend(check(&format!("PRAGMA quick_check(\"{table}\")"))?.into_iter().filter(|l| l != "ok"));
        }
        Ok(lines)
    });
    match found {
        Ok(lines) if lines.is_empty() => Ok(()),
        Ok(lines) => Err(damaged(lines.join("; "))),
        Err(e) if is_damage(&e) => Err(damaged(e.to_string())),
        Err(e) => Err(backend("checking the database file")(e)),
    }
}

/// The file's first 100 bytes are an SQLite header, and, with no WAL beside it, the file holds
/// the pages it says it has (a file cut short is damaged). An empty file is a new database.
fn check_header(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| format!("reading its header: {e}"))?;
    let length = file.metadata().map_err(|e| format!("reading its length: {e}"))?.len();
    if length == 0 {
        return Ok(());
    }
    let mut header = [0u8; 100];
    if file.read_exact(&mut header).is_err() || &header[..16] != b"SQLite format 3\0" {
        return Err("file is not a database (its header is not SQLite's)".into());
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([header[28], header[29], header[30], header[31]]));
    // The page count is valid when the change counter matches the "version valid for" field,
    // and the file's length says something only with no WAL to replay: a checkpoint cut short
    // (a crash) may have written the header's page count before the pages it counts, which the
    // WAL still holds.
    let valid = header[24..28] == header[92..96];
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let no_wal = std::fs::metadata(&wal).map_or(true, |m| m.len() == 0);
    if valid && no_wal && pages * page_size > length {
        return Err(format!("the header counts {pages} pages of {page_size} bytes, the file has {length} bytes"));
    }
    Ok(())
}

/// A timestamp as fixed-width RFC 3339 in UTC (nanoseconds, `Z`): it reads back exactly and
/// sorts as text in time order, which the timer index relies on.
fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("sqlite store: bad timestamp `{text}`: {e}")))
}

fn parse_case(text: &str) -> Result<CaseId, StoreError> {
    text.parse().map_err(|e| StoreError::Corrupt(format!("sqlite store: bad case id `{text}`: {e}")))
}

fn to_i64(n: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Refused(format!("sqlite store: {what} {n} is too large")))
}

/// The schema version recorded in the database (inside a write transaction).
fn schema_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(backend("creating the schema_version table"))?;
    let recorded: i64 = conn
        .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |row| row.get(0))
        .map_err(backend("reading the schema version"))?;
    if recorded > 0 {
        return Ok(recorded);
    }
    // A database from before the table: its version is in the header.
    let legacy: i64 =
        conn.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(backend("reading the schema version"))?;
    let now = time_text(Utc::now());
    for version in 1..=legacy.min(MIGRATIONS.len() as i64) {
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)", params![version, now])
            .map_err(backend("recording the schema version"))?;
    }
    Ok(legacy)
}

fn migrate(conn: &mut Connection, blobs: &BlobDir) -> Result<(), StoreError> {
    let mode: String =
        conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(backend("switching to WAL mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Config(format!("sqlite store: the database refused WAL mode (it is in {mode})")));
    }
    let known = MIGRATIONS.len() as i64;
    for (index, step) in MIGRATIONS.iter().enumerate() {
        let target = index as i64 + 1;
        // IMMEDIATE: another process opening the same file at once waits here, then sees the
        // version this one reached.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend("starting a migration"))?;
        let version = schema_version(&tx)?;
        if version > known {
            return Err(StoreError::Schema(format!(
                "sqlite store: the database has schema version {version}, newer than this alur knows ({known})"
            )));
        }
        if version < target {
            match step {
                Migration::Sql(sql) => tx.execute_batch(sql).map_err(backend("migrating the schema"))?,
                Migration::Code(run) => run(&tx, blobs)?,
            }
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
                params![target, time_text(Utc::now())],
            )
            .map_err(backend("recording the schema version"))?;
            // Kept in step for tools that read the header.
            tx.pragma_update(None, "user_version", target).map_err(backend("setting the schema version"))?;
        }
        tx.commit().map_err(backend("committing a migration"))?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`, bringing its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        check_intact(&path)?;
        let mut conn = connect(&path)?;
        let blobs = BlobDir::of_database(&path);
        migrate(&mut conn, &blobs)?;
        let feed = broadcast::channel(CHANGE_FEED_CAPACITY).0;
        // Checkpoints run on a thread and connection of their own, so no command waits while
        // the WAL is copied into the database (see `checkpoint_loop`).
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(backend("configuring checkpoints"))?;
        let (closing, closed) = std::sync::mpsc::channel::<()>();
        let checkpoint_conn = connect(&path)?;
        let upkeep = Arc::new(WalUpkeep::new(&path, &conn)?);
        let asks = upkeep.clone();
        std::thread::Builder::new()
            .name("alur-sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpoint_conn, &asks, &closed))
            .map_err(backend("starting the checkpoint thread"))?;
        // The indexes: the last checkpoint and the log after it (or the whole log), read in
        // one transaction so both are of one state of the file.
        let checkpoints = std::env::var("ALUR_CHECKPOINT").map_or(true, |v| v != "off");
        let projection = Arc::new(Projection { state: Mutex::default(), checkpoints });
        exec_cached(&conn, "BEGIN").map_err(backend("starting to read the log"))?;
        let loaded = (if checkpoints { checkpoint::load(&conn, &projection) } else { Ok(checkpoint::Loaded::None) })
            .and_then(|loaded| {
                catch_up(&conn, &projection)?;
                Ok(loaded)
            });
        exec_cached(&conn, "COMMIT").map_err(backend("reading the log"))?;
        let loaded = loaded?;
        // A long replay is not done again by the next open.
        checkpoint_if_behind(&conn, &projection, checkpoint::CHECKPOINT_EVERY);
        let writer = Writer { conn, feed: feed.clone(), projection: projection.clone(), upkeep, _closing: closing };
        Ok(SqliteStore {
            commits: Arc::new(Committer {
                queue: Mutex::new(Vec::new()),
                writer: Mutex::new(writer),
                stats: Counters::default(),
                metrics: std::sync::OnceLock::new(),
            }),
            readers: Arc::new(Readers { path, idle: Mutex::new(Vec::new()) }),
            projection,
            feed,
            blobs,
            loaded,
        })
    }

    /// Commits and the write requests they carried since the store was opened.
    pub fn commit_stats(&self) -> CommitStats {
        CommitStats {
            commits: self.commits.stats.commits.load(Ordering::Relaxed),
            requests: self.commits.stats.requests.load(Ordering::Relaxed),
        }
    }

    /// Queues a request, commits the queue unless another command is committing it, and waits
    /// for the request's commit.
    async fn write<T>(
        &self,
        request: Request,
        reply: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.commits.queue().push(request);
        let commits = self.commits.clone();
        match tokio::runtime::Handle::try_current().map(|runtime| runtime.runtime_flavor()) {
            // On the multi-thread runtime the worker's other tasks move to another thread while
            // this one commits. Only a command that finds no commit going on leads: the others
            // just wait for their reply, and keep their worker.
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
                if let Some(writer) = commits.try_writer() {
                    tokio::task::block_in_place(|| commits.lead_holding(Some(writer), true));
                }
            }
            // Polled outside tokio: nothing else to keep running on this thread.
            Err(_) => commits.lead(false),
            // A single-threaded runtime cannot spare its thread: the commit runs beside it.
            Ok(_) => {
                tokio::task::spawn_blocking(move || commits.lead(false))
                    .await
                    .map_err(backend("committing on a blocking thread"))?;
            }
        }
        reply.await.map_err(|_| StoreError::Backend("sqlite store: a request was dropped before its commit".into()))?
    }

    /// Runs a read on a pooled connection on a blocking thread (SQLite calls block).
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let result = f(&conn);
            readers.put(conn);
            result
        })
        .await
        .map_err(backend("running a read"))?
    }

    /// Runs `f` on the inbox and timer indexes once they hold every committed event, including
    /// those other processes appended.
    async fn read_index<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Index) -> T + Send + 'static,
    {
        let projection = self.projection.clone();
        self.read(move |conn| {
            catch_up(conn, &projection)?;
            Ok(f(&projection.lock().index))
        })
        .await
    }
}

/// Events read from the log per round of a catch-up (bounds the memory a replay of a large
/// file takes).
const CATCH_UP_CHUNK: i64 = 4096;

/// Applies to the projection every event in the log past what it holds, in log order. The SOP
/// of a case (which an opening task's inbox entry carries) comes from its first event when that
/// is among those read, else from the case's open tasks, else from the `cases` table.
fn catch_up(conn: &Connection, projection: &Projection) -> Result<(), StoreError> {
    // Most of the time there is nothing to read: asked without a parameter, since a statement
    // whose range parameter changes value is compiled again on every run.
    if log_end(conn)? <= projection.lock().applied {
        return Ok(());
    }
    loop {
        let from = projection.lock().applied;
        let rows = {
            let mut stmt = conn
                .prepare_cached(
                    r#"SELECT pos, case_id, seq, at, "by", body FROM events WHERE pos > ?1 ORDER BY pos LIMIT ?2"#,
                )
                .map_err(backend("reading the event log"))?;
            stmt.query_map(params![from, CATCH_UP_CHUNK], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(backend("reading the event log"))?
        };
        let Some(last) = rows.last().map(|r| r.0) else { return Ok(()) };
        let mut events = Vec::with_capacity(rows.len());
        for (pos, case, seq, at, by, body) in rows {
            events.push((pos, decode_event(parse_case(&case)?, seq, &at, by, &body)?));
        }
        let mut started: HashMap<CaseId, Name> = HashMap::new();
        let mut derived = projection.lock();
        for (pos, recorded) in &events {
            if *pos <= derived.applied {
                // Applied meanwhile (by this store's own commit, or a read that caught up first).
                continue;
            }
            // The case's stream: a new case's, or the one held (in memory, or in `ended_cases`
            // for a case that ended before the checkpoint). Written there by a checkpoint past
            // this event (another process's, later than what this one loaded), it holds this
            // event already.
            let seq = recorded.seq;
            let ended = matches!(
                recorded.event,
                Event::CaseEnded { .. } | Event::CaseWithdrawn { .. } | Event::CaseCancelled { .. }
            );
            let stream = match derived.stream(conn, recorded.case)? {
                Some(stream) => Some(stream),
                None if seq == 1 => Some(derived.streams.entry(recorded.case).or_default()),
                None => None,
            };
            let fits = match stream {
                Some(stream) if stream.positions.len() as u64 + 1 == seq => {
                    stream.positions.push(*pos);
                    stream.ended |= ended;
                    stream.dirty = true;
                    true
                }
                Some(stream) => stream.positions.get((seq as usize).wrapping_sub(1)) == Some(pos),
                None => false,
            };
            if !fits && derived.whole {
                // The log itself skips a number (it was not written by this store): kept as
                // it is, as before there were checkpoints.
                derived.streams.entry(recorded.case).or_default().positions.push(*pos);
            } else if !fits {
                // The checkpoint does not agree with the log (a case it should hold is not there):
                // nothing it says can be trusted, and the whole log is replayed instead.
                tracing::warn!(
                    case = %recorded.case,
                    seq,
                    pos,
                    "sqlite store: the checkpoint disagrees with the event log; replaying the whole log \
                     (titik simpan tidak cocok dengan log peristiwa; seluruh log dibaca ulang)"
                );
                *derived = Derived::default();
                drop(derived);
                return catch_up(conn, projection);
            }
            let sop = match &recorded.event {
                Event::CaseStarted { sop, .. } => {
                    let sop: Name = sop.as_str().into();
                    started.insert(recorded.case, sop);
                    sop
                }
                Event::TaskOpened { .. } | Event::TaskResumed { .. } => match started.get(&recorded.case) {
                    Some(sop) => *sop,
                    None => match derived.index.sop_of(recorded.case) {
                        Some(sop) => *sop,
                        None => case_sop(conn, recorded.case)?.into(),
                    },
                },
                // Only an opening (or resuming) task needs it.
                _ => "".into(),
            };
            let index = &mut derived.index;
            for_each_index_change(&sop, std::slice::from_ref(recorded), |change| index.apply(change, &mut |_, _| {}));
            derived.applied = *pos;
        }
        derived.applied = derived.applied.max(last);
        if (events.len() as i64) < CATCH_UP_CHUNK {
            return Ok(());
        }
    }
}

fn case_sop(conn: &Connection, case: CaseId) -> Result<String, StoreError> {
    conn.prepare_cached("SELECT sop FROM cases WHERE case_id = ?1")
        .and_then(|mut s| s.query_row([case.to_string()], |row| row.get(0)))
        .map_err(backend("reading a case's SOP"))
}

/// An event as the log holds it.
fn decode_event(case: CaseId, seq: i64, at: &str, by: String, body: &str) -> Result<Recorded, StoreError> {
    Ok(Recorded {
        case,
        seq: u64::try_from(seq).map_err(corrupt("reading a seq"))?,
        at: parse_time(at)?,
        by: by.into(),
        event: serde_json::from_str(body).map_err(corrupt("decoding an event"))?,
    })
}

impl Committer {
    /// Commits what is queued, batch after batch, unless another thread holds the write
    /// connection. Whoever holds it looks at the queue again after letting go, so a request
    /// queued while it was held is never left behind. With `hand_off`, after one batch the
    /// rest is left to a blocking thread, so the caller that led gets its answer.
    fn lead(self: &Arc<Committer>, hand_off: bool) {
        self.lead_holding(None, hand_off);
    }

    /// [`Committer::lead`] when the write connection may already be held.
    fn lead_holding(self: &Arc<Committer>, mut held: Option<MutexGuard<'_, Writer>>, hand_off: bool) {
        loop {
            {
                let Some(mut writer) = held.take().or_else(|| self.try_writer()) else { return };
                let batch = self.take_batch();
                if !batch.is_empty() {
                    self.stats.commits.fetch_add(1, Ordering::Relaxed);
                    self.stats.requests.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    writer.run_batch(batch, self.metrics.get());
                }
            }
            if self.queue().is_empty() {
                return;
            }
            if hand_off {
                let rest = self.clone();
                tokio::task::spawn_blocking(move || rest.lead(false));
                return;
            }
        }
    }

    /// The write connection, unless another thread is committing.
    fn try_writer(&self) -> Option<MutexGuard<'_, Writer>> {
        match self.writer.try_lock() {
            Ok(writer) => Some(writer),
            Err(std::sync::TryLockError::WouldBlock) => None,
            // A panic while committing (a bug) may have left a transaction open: its callers
            // heard an error (their replies were dropped), so it is undone.
            Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                let writer = poisoned.into_inner();
                let _ = writer.conn.execute_batch("ROLLBACK");
                self.writer.clear_poison();
                Some(writer)
            }
        }
    }

    /// The queue. Pushing and taking cannot leave it half-changed, so a panic elsewhere while
    /// it was locked (which poisons the lock) does not stop commits: its requests must not wait
    /// forever.
    fn queue(&self) -> MutexGuard<'_, Vec<Request>> {
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Up to [`MAX_BATCH`] requests from the front of the queue.
    fn take_batch(&self) -> Vec<Request> {
        let mut queue = self.queue();
        if queue.len() <= MAX_BATCH {
            return std::mem::take(&mut *queue);
        }
        queue.drain(..MAX_BATCH).collect()
    }
}

/// How often the checkpoint thread copies the WAL into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// WAL frames past which the WAL is made to start over (about 8 MB).
const RESTART_FRAMES: i64 = 2000;

/// Copies the WAL into the database in the background and keeps the WAL small.
///
/// A PASSIVE checkpoint never blocks a commit, but it only copies the frames that were there
/// when it began, and SQLite starts the WAL over (writing it in place from its beginning again)
/// only once every frame is copied. Under a steady stream of commits that never happened: the
/// WAL grew to 400 MB in a 4-second benchmark, and each fdatasync then had a grown file size to
/// write too. So when the WAL passes [`RESTART_FRAMES`] this thread copies pass after pass until
/// a pass finds few new frames, and tells the committer, which copies the rest between two
/// batches (no commit comes in between there, 1 to 5 ms at 32 busy clients): the next commit
/// starts the WAL over. Under a load that never lets the passes catch up the WAL grows until
/// one does. (A RESTART checkpoint from this thread would wait for the write lock, which a busy
/// committer never lets go of long enough; checkpointing on the committing thread, SQLite's
/// default, stalled every command of the batch that triggered it: 32 HTTP clients went from
/// 8,300 to 5,500 completions/s.)
fn checkpoint_loop(conn: &Connection, upkeep: &WalUpkeep, closed: &std::sync::mpsc::Receiver<()>) {
    loop {
        let last = match closed.recv_timeout(CHECKPOINT_EVERY) {
            Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => false,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => true,
        };
        if let Some((mut log, _)) = passive_checkpoint(conn) {
            upkeep.watch_length(log);
            if log >= RESTART_FRAMES {
                // Each pass copies what came in during the one before; when that is little,
                // the committer's copy of the rest is short.
                for _ in 0..4 {
                    let Some((next, _)) = passive_checkpoint(conn) else { break };
                    let added = next - log;
                    log = next;
                    if added < RESTART_FRAMES / 20 {
                        upkeep.restart_due.store(true, Ordering::Relaxed);
                        break;
                    }
                }
            }
        }
        if last {
            return;
        }
    }
}

/// Frames the WAL file is kept ahead of the frames written (4 MB of 4 KiB pages).
const WAL_AHEAD_FRAMES: u64 = 1024;

/// The WAL file is extended ahead of its writes only up to this length (64 MiB): past it the
/// checkpoints are not keeping up, and the file grows with its writes as SQLite grows it.
const WAL_AHEAD_LIMIT: u64 = 64 << 20;

/// Bytes of the WAL file's header, before its first frame.
const WAL_HEADER: u64 = 32;

/// What the checkpoint thread asks of the committer, which does it between two batches under
/// the write lock.
///
/// A commit that makes the WAL file longer waits for the file system to record its new
/// length as well as for the data: on this project's ext4 machine such an fdatasync took 2 to
/// 4 times as long as one that overwrites blocks the file already has, and a fresh WAL grows
/// with every commit until its first restart, and again whenever a cycle runs longer than
/// the ones before (the one-client benchmark: 4% of its commits, 8 to 10% of its time; 64
/// clients, whose batches outrun the checkpoints: half of the commits). So, as PostgreSQL
/// fills its WAL segments with zeros before writing them, the committer writes zeros past the
/// end of the WAL ahead of the frames: the commits then overwrite blocks the file has. The
/// first extension (to about 8 MB) comes with the first batch after the first pass, 100 ms
/// after the store opened: a process that commits sooner and ends (a CLI command) writes
/// none. SQLite reads a WAL only up to its first frame that does not carry the header's salt
/// and a valid checksum, so zeros past the last frame are as good as no bytes (and after a
/// restart old frames are ignored the same way); it never truncates the WAL (no
/// `journal_size_limit`, no TRUNCATE checkpoint here), and deletes it when the last
/// connection closes.
struct WalUpkeep {
    /// Set when the WAL is long and nearly all copied: the committer copies the rest, so that
    /// the WAL starts over (see `checkpoint_loop`).
    restart_due: AtomicBool,
    /// The length the WAL file should be extended to (0: none).
    extend_to: AtomicU64,
    wal: PathBuf,
    /// Bytes of one WAL frame: a 24-byte header and a page.
    frame: u64,
}

impl WalUpkeep {
    fn new(database: &Path, conn: &Connection) -> Result<WalUpkeep, StoreError> {
        let page: i64 =
            conn.query_row("PRAGMA page_size", [], |row| row.get(0)).map_err(backend("reading the page size"))?;
        let page = u64::try_from(page).unwrap_or(4096);
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        Ok(WalUpkeep {
            restart_due: AtomicBool::new(false),
            extend_to: AtomicU64::new(0),
            wal: PathBuf::from(wal),
            frame: page + 24,
        })
    }

    /// Told the frames the WAL holds (after a checkpoint pass): asks for an extension when
    /// the file is less than [`WAL_AHEAD_FRAMES`] ahead of them.
    fn watch_length(&self, frames: i64) {
        let frames = u64::try_from(frames).unwrap_or(0);
        let written = WAL_HEADER + frames * self.frame;
        let Ok(length) = std::fs::metadata(&self.wal).map(|m| m.len()) else { return };
        if length < written + WAL_AHEAD_FRAMES * self.frame && length < WAL_AHEAD_LIMIT {
            let wanted = (written + 2 * WAL_AHEAD_FRAMES * self.frame).min(WAL_AHEAD_LIMIT);
            self.extend_to.store(wanted, Ordering::Relaxed);
        }
    }
}

/// Writes zeros from the end of the WAL file to `length` and syncs them, holding the write
/// lock (`BEGIN IMMEDIATE`) so that no writer, in this process or another, appends a frame
/// meanwhile. Only bytes past the file's end are written: no frame is ever there.
fn extend_wal(conn: &Connection, wal: &Path, length: u64) -> Result<(), StoreError> {
    use std::os::unix::fs::FileExt;
    exec_cached(conn, "BEGIN IMMEDIATE").map_err(backend("starting a transaction"))?;
    let extended = (|| -> std::io::Result<()> {
        // Opened after the lock is held; a WAL that is not there (yet) is left to SQLite.
        let file = match std::fs::OpenOptions::new().write(true).open(wal) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        let mut at = file.metadata()?.len();
        if at >= length {
            return Ok(());
        }
        let zeros = vec![0u8; 1 << 20];
        while at < length {
            let n = (length - at).min(zeros.len() as u64) as usize;
            file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        file.sync_data()
    })();
    // Nothing was written through SQLite: ending the transaction releases the lock.
    exec_cached(conn, "ROLLBACK").map_err(backend("ending a transaction"))?;
    extended.map_err(|e| StoreError::Backend(format!("sqlite store: extending {}: {e}", wal.display())))
}

/// A PASSIVE checkpoint: the frames in the WAL and how many of them are copied.
fn passive_checkpoint(conn: &Connection) -> Option<(i64, i64)> {
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(1)?, row.get(2)?))) {
        Ok(frames) => Some(frames),
        Err(error) => {
            eprintln!("alur: sqlite checkpoint: {error}");
            None
        }
    }
}

/// Writes a checkpoint when the projection is `behind` events or more past the last one. Only
/// how long the next open takes depends on it: a failure is logged, nothing else.
fn checkpoint_if_behind(conn: &Connection, projection: &Projection, behind: i64) {
    let due = projection.checkpoints && {
        let derived = projection.lock();
        derived.applied - derived.checkpointed >= behind.max(1)
    };
    if due {
        if let Err(error) = checkpoint::write(conn, projection) {
            tracing::warn!(%error, "sqlite store: writing a checkpoint (menulis titik simpan)");
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        checkpoint_if_behind(&self.conn, &self.projection, checkpoint::CHECKPOINT_AT_CLOSE);
    }
}

impl Writer {
    fn run_batch(&mut self, batch: Vec<Request>, metrics: Option<&StoreCounters>) {
        run_batch(&mut self.conn, batch, &self.feed, &self.projection, metrics);
        checkpoint_if_behind(&self.conn, &self.projection, checkpoint::CHECKPOINT_EVERY);
        // After the replies: the commands of this batch do not wait for it.
        if self.upkeep.restart_due.swap(false, Ordering::Relaxed) {
            passive_checkpoint(&self.conn);
        }
        let wanted = self.upkeep.extend_to.swap(0, Ordering::Relaxed);
        if wanted > 0 {
            if let Err(error) = extend_wal(&self.conn, &self.upkeep.wal, wanted) {
                // Only the speed of the next commits depends on it.
                eprintln!("alur: sqlite: extending the WAL ahead of its writes: {error}");
            }
        }
    }
}

/// A commit slower than this is logged (a disk that stalls).
const SLOW_COMMIT: Duration = Duration::from_secs(1);

fn run_batch(
    conn: &mut Connection,
    batch: Vec<Request>,
    feed: &broadcast::Sender<Change>,
    projection: &Projection,
    metrics: Option<&StoreCounters>,
) {
    // A commit serves every request of its batch: it is no one request's child.
    let span = tracing::info_span!(parent: None, "commit", store = "sqlite", requests = batch.len());
    let _entered = span.enter();
    let started = std::time::Instant::now();
    let applied = apply_batch(conn, &batch, projection);
    let took = started.elapsed();
    if let Some(metrics) = metrics {
        let fsync = applied.as_ref().ok().map(|(_, _, fsync)| *fsync);
        metrics.committed(applied.is_ok(), batch.len(), took, fsync);
    }
    if took > SLOW_COMMIT {
        tracing::warn!(seconds = took.as_secs_f64(), "slow commit");
    }
    match applied {
        Ok((mut results, last_pos, _)) => {
            // The indexes first, so a caller that hears back reads its own append in them. A
            // read that caught up since the commit may have applied the batch already.
            {
                let mut derived = projection.lock();
                if derived.applied < last_pos {
                    for result in &mut results {
                        if let Ok(Done::Appended { index, case, positions, .. }) = result {
                            let ended = index.iter().any(|c| matches!(c, IndexChange::CloseCase { .. }));
                            for change in std::mem::take(index) {
                                derived.index.apply(change, &mut |_, _| {});
                            }
                            // Its stream is in memory: the append's check read it there.
                            let stream = derived.streams.entry(*case).or_default();
                            stream.positions.extend(positions.iter().copied());
                            stream.ended |= ended;
                            stream.dirty = true;
                        }
                    }
                    derived.applied = last_pos;
                }
            }
            for (request, result) in batch.into_iter().zip(results) {
                if let Ok(Done::Changed(change) | Done::Appended { change, .. }) = &result {
                    // Committed: tell the subscribers (none listening is fine).
                    let _ = feed.send(change.clone());
                }
                request.reply(result);
            }
        }
        Err(error) => {
            // The batch failed as a whole: undo whatever is still open and tell every caller.
            // (After a failed COMMIT the outcome can be unknown, as with any database; the
            // engine re-reads the case before its next command, so it sees what is there, and
            // the next batch catches the indexes up with whatever the log holds.)
            let _ = conn.execute_batch("ROLLBACK");
            tracing::error!(%error, "commit failed");
            // Every caller gets the same kind of error: a busy database stays transient.
            for request in batch {
                request.reply(Err(error.clone()));
            }
        }
    }
}

type BatchResults = Vec<Result<Done, StoreError>>;

/// A committed batch: each request's result, the `pos` of its last event, and how long its
/// `COMMIT` (the fsync) took.
type Committed = (BatchResults, i64, Duration);

/// One transaction for the batch. The outer error means the transaction failed as a whole;
/// the inner results are per request. Also returns the `pos` of the batch's last event (0
/// when it appended none).
///
/// Tried first without a savepoint per request: an append is checked (version, numbering)
/// before it writes anything, so a conflict leaves nothing to undo, and savepoints cost a
/// statement each way plus a copy of every page a request touches. Only when a request fails
/// after it may have written (a database error, or any failed request of the other kinds) is
/// the transaction rolled back and the batch done again with a savepoint per request.
fn apply_batch(conn: &mut Connection, batch: &[Request], projection: &Projection) -> Result<Committed, StoreError> {
    if let Some(done) = apply_batch_unguarded(conn, batch, projection)? {
        return Ok(done);
    }
    apply_batch_guarded(conn, batch, projection)
}

/// Starts the batch's transaction and brings the indexes up to date with the log: after
/// `BEGIN IMMEDIATE` nobody else can append until the commit, so the appends of this batch
/// follow exactly what the projection then holds.
fn begin(conn: &Connection, projection: &Projection) -> Result<(), StoreError> {
    // IMMEDIATE takes the write lock now, so another process writing the same file makes us
    // wait (busy timeout) here rather than fail at commit.
    exec_cached(conn, "BEGIN IMMEDIATE").map_err(backend("starting a transaction"))?;
    if let Err(error) = catch_up(conn, projection) {
        let _ = exec_cached(conn, "ROLLBACK");
        return Err(error);
    }
    Ok(())
}

/// The commit: the one fsync of the batch (synchronous=FULL). Returns the `pos` of the batch's
/// last event (0 when it appended none) and how long the `COMMIT` took.
fn commit(conn: &Connection, results: &BatchResults) -> Result<(i64, Duration), StoreError> {
    let started = std::time::Instant::now();
    exec_cached(conn, "COMMIT").map_err(backend("committing"))?;
    let fsync = started.elapsed();
    let last = results
        .iter()
        .filter_map(|r| match r {
            Ok(Done::Appended { positions, .. }) => positions.last().copied(),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    Ok((last, fsync))
}

/// The `pos` of the last event in the log (0 when it is empty).
fn log_end(conn: &Connection) -> Result<i64, StoreError> {
    conn.prepare_cached("SELECT COALESCE(MAX(pos), 0) FROM events")
        .and_then(|mut s| s.query_row([], |row| row.get(0)))
        .map_err(backend("reading the end of the event log"))
}

/// `None` when a request failed after it may have written: the transaction is rolled back.
fn apply_batch_unguarded(
    conn: &mut Connection,
    batch: &[Request],
    projection: &Projection,
) -> Result<Option<Committed>, StoreError> {
    begin(conn, projection)?;
    let mut results = Vec::with_capacity(batch.len());
    let mut versions = BatchVersions::default();
    for request in batch {
        let result = match request {
            Request::Append { case, expected, events, rows, .. } => {
                match check_append(conn, projection, &versions, *case, *expected, events) {
                    Err(refused) => Err(refused),
                    Ok(sop) => match write_append(conn, *case, events, rows, &sop) {
                        Ok(written) => {
                            versions.insert(*case, *expected + events.len() as u64);
                            Ok(appended(*case, *expected, events, written))
                        }
                        Err(_) => return rollback_for_guarded(conn),
                    },
                }
            }
            other => match apply_other(conn, other, projection) {
                Ok(done) => Ok(done),
                Err(_) => return rollback_for_guarded(conn),
            },
        };
        results.push(result);
    }
    let (last, fsync) = commit(conn, &results)?;
    Ok(Some((results, last, fsync)))
}

/// The versions of the cases appended to earlier in the batch, which the projection learns
/// only once the batch is committed.
type BatchVersions = HashMap<CaseId, u64>;

fn appended(case: CaseId, expected: u64, events: &[Recorded], (positions, index): Written) -> Done {
    let change = Change::Appended { case, version: expected + events.len() as u64 };
    Done::Appended { change, case, positions, index }
}

fn rollback_for_guarded(conn: &Connection) -> Result<Option<Committed>, StoreError> {
    exec_cached(conn, "ROLLBACK").map_err(backend("rolling back"))?;
    Ok(None)
}

/// The batch with a savepoint per request, so a request that fails half-way is undone alone.
fn apply_batch_guarded(
    conn: &mut Connection,
    batch: &[Request],
    projection: &Projection,
) -> Result<Committed, StoreError> {
    begin(conn, projection)?;
    let mut results = Vec::with_capacity(batch.len());
    let mut versions = BatchVersions::default();
    for request in batch {
        exec_cached(conn, "SAVEPOINT request").map_err(backend("starting a savepoint"))?;
        let result = match request {
            Request::Append { case, expected, events, rows, .. } => {
                append_one(conn, projection, &versions, *case, *expected, events, rows).map(|written| {
                    versions.insert(*case, *expected + events.len() as u64);
                    appended(*case, *expected, events, written)
                })
            }
            other => apply_other(conn, other, projection),
        };
        if result.is_err() {
            exec_cached(conn, "ROLLBACK TO request").map_err(backend("rolling back a savepoint"))?;
        }
        exec_cached(conn, "RELEASE request").map_err(backend("releasing a savepoint"))?;
        results.push(result);
    }
    let (last, fsync) = commit(conn, &results)?;
    Ok((results, last, fsync))
}

/// The requests other than appends.
fn apply_other(conn: &Connection, request: &Request, projection: &Projection) -> Result<Done, StoreError> {
    match request {
        Request::Append { .. } => Err(StoreError::Backend("an append is not applied here".into())),
        Request::Deployment { deployment, body, .. } => save_deployment(conn, deployment, body).map(|new| {
            if new {
                Done::Changed(Change::Deployed { sop: deployment.sop.clone(), version: deployment.version })
            } else {
                Done::Written
            }
        }),
        Request::Claim { node, now, until, limit, .. } => {
            claim_timers(conn, projection, node, *now, *until, *limit).map(Done::Claimed)
        }
        Request::Release { node, case, task, .. } => release_timer(conn, node, *case, *task).map(|()| Done::Written),
        Request::Settle { unsettled, tallies, .. } => summary::settle(conn, unsettled, tallies).map(Done::Settled),
    }
}

/// Runs a statement without parameters through the statement cache (transaction control runs
/// several times per batch; parsing it each time showed in profiles).
fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute([])
}

/// True when the deployment is new.
fn save_deployment(conn: &Connection, d: &Deployment, body: &str) -> Result<bool, StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO deployments (sop, version, sha256, deployed_at, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (sop, version) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![d.sop, d.version, d.sha256, time_text(d.deployed_at), body]))
        .map_err(backend("saving a deployment"))?;
    Ok(inserted > 0)
}

/// The live claims on deadlines at `now`: (case, task) to the end of the lease.
fn live_claims(conn: &Connection, now: DateTime<Utc>) -> Result<HashMap<(CaseId, TaskNo), DateTime<Utc>>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT case_id, task, lease_until FROM timer_claims WHERE lease_until > ?1")
        .map_err(backend("reading claims"))?;
    let rows = stmt
        .query_map([time_text(now)], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, TaskNo>(1)?, row.get::<_, String>(2)?))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(backend("reading claims"))?;
    rows.into_iter().map(|(case, task, until)| Ok(((parse_case(&case)?, task), parse_time(&until)?))).collect()
}

/// Claims due timers nobody holds a live lease on. Inside the writer's transaction, which holds
/// the file's write lock, so no other process claims the same ones.
fn claim_timers(
    conn: &Connection,
    projection: &Projection,
    node: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Timer>, StoreError> {
    // A claim whose lease ran out is as good as none: gone, the table stays small.
    conn.prepare_cached("DELETE FROM timer_claims WHERE lease_until <= ?1")
        .and_then(|mut s| s.execute([time_text(now)]))
        .map_err(backend("dropping claims whose lease ran out"))?;
    let held = live_claims(conn, now)?;
    let timers: Vec<Timer> =
        projection.lock().index.due(now).filter(|t| !held.contains_key(&(t.case, t.task))).take(limit).collect();
    let lease_until = time_text(until);
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR REPLACE INTO timer_claims (case_id, task, claimed_by, lease_until) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(backend("claiming timers"))?;
    for t in &timers {
        stmt.execute(params![t.case.to_string(), t.task, node, lease_until]).map_err(backend("claiming timers"))?;
    }
    Ok(timers)
}

fn release_timer(conn: &Connection, node: &str, case: CaseId, task: TaskNo) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM timer_claims WHERE case_id = ?1 AND task = ?2 AND claimed_by = ?3")
        .and_then(|mut s| s.execute(params![case.to_string(), task, node]))
        .map_err(backend("releasing a timer"))?;
    Ok(())
}

fn append_one(
    conn: &Connection,
    projection: &Projection,
    versions: &BatchVersions,
    case: CaseId,
    expected: u64,
    events: &[Recorded],
    rows: &[Row],
) -> Result<Written, StoreError> {
    let sop = check_append(conn, projection, versions, case, expected, events)?;
    write_append(conn, case, events, rows, &sop)
}

/// What an append needs to know of its case's SOP.
enum CaseSop {
    /// A new case: the SOP is in its first event, and the case gets its row.
    New,
    /// The case's SOP (empty when no task opens, which is the only thing that needs it).
    Known(Name),
}

/// Everything that can refuse an append, before anything is written: the case's version, the
/// first event of a new case, the numbering of the events.
fn check_append(
    conn: &Connection,
    projection: &Projection,
    versions: &BatchVersions,
    case: CaseId,
    expected: u64,
    events: &[Recorded],
) -> Result<CaseSop, StoreError> {
    // The projection holds every committed event (caught up under the write lock at the
    // batch's start); the batch's own earlier appends are on top.
    let current = match versions.get(&case) {
        Some(version) => *version,
        None => projection.lock().version(conn, case)?,
    };
    let current = to_i64(current, "version")?;
    if current != to_i64(expected, "expected version")? {
        return Err(StoreError::Conflict(case));
    }
    check_numbering(case, expected, events)?;
    if current == 0 {
        let Some(Event::CaseStarted { .. }) = events.first().map(|e| &e.event) else {
            return Err(StoreError::Refused("a case must start with CaseStarted".into()));
        };
        return Ok(CaseSop::New);
    }
    // Only a task opening (or resuming from a hold) needs the SOP (for the inbox entry).
    if !events.iter().any(|e| matches!(e.event, Event::TaskOpened { .. } | Event::TaskResumed { .. })) {
        return Ok(CaseSop::Known("".into()));
    }
    let known = projection.lock().index.sop_of(case).cloned();
    match known {
        Some(sop) => Ok(CaseSop::Known(sop)),
        None => case_sop(conn, case).map(|sop| CaseSop::Known(sop.into())),
    }
}

/// What a written append tells the projection once the batch is committed: the positions of
/// its events in the log and its index changes.
type Written = (Vec<i64>, Vec<IndexChange>);

/// Writes a checked append: the events and a new case's row.
fn write_append(
    conn: &Connection,
    case: CaseId,
    events: &[Recorded],
    rows: &[Row],
    sop: &CaseSop,
) -> Result<Written, StoreError> {
    let id = case.to_string();
    let mut positions = Vec::with_capacity(rows.len());
    let sop = match sop {
        CaseSop::Known(sop) => *sop,
        CaseSop::New => {
            let Some(Event::CaseStarted { sop, .. }) = events.first().map(|e| &e.event) else {
                return Err(StoreError::Refused("a case must start with CaseStarted".into()));
            };
            conn.prepare_cached("INSERT INTO cases (case_id, sop) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![id, sop]))
                .map_err(backend("recording a new case"))?;
            Name::new(sop)
        }
    };
    {
        let mut insert = conn
            .prepare_cached(r#"INSERT INTO events (case_id, seq, at, "by", body) VALUES (?1, ?2, ?3, ?4, ?5)"#)
            .map_err(backend("preparing the event insert"))?;
        for row in rows {
            insert.execute(params![id, row.seq, row.at, row.by, row.body]).map_err(backend("inserting an event"))?;
            positions.push(conn.last_insert_rowid());
        }
    }
    summary::write(conn, &id, events)?;
    // A claim on a deadline that goes is left in its table: it is on that deadline only (task
    // numbers are never reused), which nobody looks for again, and it is deleted once its
    // lease runs out (see `claim_timers`).
    let mut changes = Vec::new();
    for_each_index_change(&sop, events, |change| changes.push(change));
    Ok((positions, changes))
}

/// Serializes events for the committing thread.
fn rows_of(events: &[Recorded]) -> Result<Vec<Row>, StoreError> {
    events
        .iter()
        .map(|r| {
            Ok(Row {
                seq: to_i64(r.seq, "seq")?,
                at: time_text(r.at),
                by: r.by.to_string(),
                body: serde_json::to_string(&r.event).map_err(backend("serializing an event"))?,
            })
        })
        .collect()
}

#[async_trait]
impl BlobStore for SqliteStore {
    async fn put_blob(&self, bytes: Vec<u8>) -> Result<String, StoreError> {
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || blobs.put(&bytes)).await.map_err(backend("storing a document"))?
    }

    async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (blobs, sha256) = (self.blobs.clone(), sha256.to_string());
        tokio::task::spawn_blocking(move || blobs.get(&sha256)).await.map_err(backend("reading a document"))?
    }

    async fn has_blob(&self, sha256: &str) -> Result<bool, StoreError> {
        let (blobs, sha256) = (self.blobs.clone(), sha256.to_string());
        tokio::task::spawn_blocking(move || Ok(blobs.has(&sha256))).await.map_err(backend("looking for a document"))?
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ready(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            let version: i64 = conn
                .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |row| row.get(0))
                .map_err(backend("reading the schema version"))?;
            schema_current(version, MIGRATIONS.len())
        })
        .await
    }

    async fn save_deployment(&self, deployment: &Deployment) -> Result<(), StoreError> {
        let body = serde_json::to_string(deployment).map_err(backend("serializing a deployment"))?;
        let (reply, wait) = oneshot::channel();
        self.write(Request::Deployment { deployment: Box::new(deployment.clone()), body, reply }, wait).await
    }

    async fn deployments(&self) -> Result<Vec<Deployment>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT body FROM deployments ORDER BY rowid")
                .map_err(backend("reading deployments"))?;
            let bodies = stmt
                .query_map([], |row| row.get::<_, String>(0))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(backend("reading deployments"))?;
            bodies.iter().map(|b| serde_json::from_str(b).map_err(corrupt("decoding a deployment"))).collect()
        })
        .await
    }

    async fn append(&self, case: CaseId, expected: u64, events: &[Recorded]) -> Result<(), StoreError> {
        self.append_owned(case, expected, events.to_vec()).await
    }

    async fn append_owned(&self, case: CaseId, expected: u64, events: Vec<Recorded>) -> Result<(), StoreError> {
        let rows = rows_of(&events)?;
        let (reply, wait) = oneshot::channel();
        self.write(Request::Append { case, expected, events, rows, reply }, wait).await
    }

    async fn events(&self, case: CaseId) -> Result<Vec<Recorded>, StoreError> {
        self.events_after(case, 0).await
    }

    async fn events_after(&self, case: CaseId, seq: u64) -> Result<Vec<Recorded>, StoreError> {
        let projection = self.projection.clone();
        self.read(move |conn| {
            catch_up(conn, &projection)?;
            let positions = positions(conn, &projection, case, seq)?;
            let mut stmt = conn
                .prepare_cached(r#"SELECT case_id, seq, at, "by", body FROM events WHERE pos = ?1"#)
                .map_err(backend("reading events"))?;
            positions
                .into_iter()
                .map(|pos| {
                    let (id, seq, at, by, body) = stmt
                        .query_row([pos], |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, i64>(1)?,
                                row.get::<_, String>(2)?,
                                row.get::<_, String>(3)?,
                                row.get::<_, String>(4)?,
                            ))
                        })
                        .map_err(backend("reading events"))?;
                    if parse_case(&id)? != case {
                        return Err(StoreError::Corrupt(format!(
                            "sqlite store: event {pos} of the log is not of case {case}"
                        )));
                    }
                    decode_event(case, seq, &at, by, &body)
                })
                .collect()
        })
        .await
    }

    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT case_id FROM cases ORDER BY rowid").map_err(backend("reading cases"))?;
            let ids = stmt
                .query_map([], |row| row.get::<_, String>(0))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(backend("reading cases"))?;
            ids.iter().map(|id| parse_case(id)).collect()
        })
        .await
    }

    async fn open_tasks(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError> {
        let actors = actors.to_vec();
        let mut tasks = self.read_index(move |index| index.open_tasks(&actors).cloned().collect::<Vec<_>>()).await?;
        tasks.sort_unstable_by_key(|t| (t.case, t.task));
        Ok(tasks)
    }

    async fn inbox_of(&self, actors: &[String], partition: Partition) -> Result<Vec<OpenTask>, StoreError> {
        let actors = actors.to_vec();
        // Only the partition's tasks are copied out of the index (and sorted).
        let mut tasks = self
            .read_index(move |index| {
                index.open_tasks(&actors).filter(|t| partition.holds(t.case)).cloned().collect::<Vec<_>>()
            })
            .await?;
        super::sort_by_due(&mut tasks);
        Ok(tasks)
    }

    async fn due_timers(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError> {
        self.read_index(move |index| index.due(until).take(limit).collect()).await
    }

    async fn next_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read_index(|index| index.next_due()).await
    }

    async fn claim_due_timers(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<Timer>, StoreError> {
        let (reply, wait) = oneshot::channel();
        let request = Request::Claim { node: node.to_string(), now, until: now + lease, limit, reply };
        self.write(request, wait).await
    }

    async fn release_timer(&self, node: &str, case: CaseId, task: TaskNo) -> Result<(), StoreError> {
        let (reply, wait) = oneshot::channel();
        self.write(Request::Release { node: node.to_string(), case, task, reply }, wait).await
    }

    async fn next_claimable_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let projection = self.projection.clone();
        self.read(move |conn| {
            catch_up(conn, &projection)?;
            // Every claim, live or not: one whose lease ended makes its deadline claimable
            // from the later of the two.
            let claims = live_claims(conn, DateTime::<Utc>::MIN_UTC)?;
            let derived = projection.lock();
            let mut best: Option<DateTime<Utc>> = None;
            // In due order: a later due instant cannot beat what was found.
            for Timer { case, task, due } in derived.index.timers() {
                if best.is_some_and(|b| due >= b) {
                    break;
                }
                let at = claims.get(&(case, task)).map_or(due, |until| (*until).max(due));
                best = Some(best.map_or(at, |b| b.min(at)));
            }
            Ok(best)
        })
        .await
    }

    fn observe(&self, metrics: Arc<crate::runtime::metrics::StoreMetrics>) {
        let _ = self.commits.metrics.set(metrics.of("sqlite"));
    }

    fn changes(&self) -> broadcast::Receiver<Change> {
        self.feed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(case: CaseId, seq: u64, user: &str) -> Recorded {
        Recorded {
            case,
            seq,
            at: DateTime::<Utc>::UNIX_EPOCH,
            by: user.into(),
            event: Event::TaskClaimed { task: 1, user: user.into() },
        }
    }

    use crate::runtime::store::started_event as started;

    fn append_request(
        case: CaseId,
        expected: u64,
        events: Vec<Recorded>,
    ) -> (Request, oneshot::Receiver<Result<(), StoreError>>) {
        let (reply, wait) = oneshot::channel();
        let rows = rows_of(&events).expect("rows");
        (Request::Append { case, expected, events, rows, reply }, wait)
    }

    /// A step of the checkpoint property: what is done to which case (an index into the cases
    /// started so far, modulo their number), through which of two stores on the file.
    #[derive(Clone, Debug)]
    enum Op {
        Start { other: bool },
        Open { case: usize, due_minutes: Option<u32>, other: bool },
        Claim { case: usize, other: bool },
        Complete { case: usize, other: bool },
        End { case: usize, other: bool },
        Checkpoint { other: bool },
        Reopen,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let other = any::<bool>();
        prop_oneof![
            3 => other.prop_map(|other| Op::Start { other }),
            4 => (any::<usize>(), proptest::option::of(0..5000u32), other)
                .prop_map(|(case, due_minutes, other)| Op::Open { case, due_minutes, other }),
            2 => (any::<usize>(), other).prop_map(|(case, other)| Op::Claim { case, other }),
            3 => (any::<usize>(), other).prop_map(|(case, other)| Op::Complete { case, other }),
            2 => (any::<usize>(), other).prop_map(|(case, other)| Op::End { case, other }),
            2 => other.prop_map(|other| Op::Checkpoint { other }),
            1 => Just(Op::Reopen),
        ]
    }

    /// What a store says of the cases: each one's events (so its version), the open tasks and
    /// the deadlines.
    async fn seen(store: &SqliteStore, cases: &[CaseId]) -> (Vec<Vec<Recorded>>, Vec<OpenTask>, Vec<Timer>) {
        let mut events = Vec::new();
        for case in cases {
            events.push(store.events(*case).await.expect("events"));
        }
        let open = store.open_tasks(&[]).await.expect("open tasks");
        let timers = store.due_timers(DateTime::<Utc>::MAX_UTC, usize::MAX).await.expect("timers");
        (events, open, timers)
    }

    fn at(event: Event, case: CaseId, seq: u64) -> Recorded {
        Recorded { case, seq, at: DateTime::<Utc>::UNIX_EPOCH, by: "p".into(), event }
    }

    /// A case's tasks as the property's model keeps them: version, next task number, open
    /// tasks (an end closes them all).
    #[derive(Default)]
    struct Model {
        version: u64,
        next_task: u32,
        open: Vec<u32>,
    }

    async fn run_ops(dir: &Path, ops: Vec<Op>) {
        let path = dir.join("alur.db");
        let mut stores = [SqliteStore::open(&path).expect("open"), SqliteStore::open(&path).expect("open")];
        let mut cases: Vec<CaseId> = Vec::new();
        let mut models: Vec<Model> = Vec::new();
        for op in ops {
            // A case that ended may take more events (the store does not refuse them; the
            // index opens their tasks again).
            let pick = |n: usize| (!cases.is_empty()).then(|| n % cases.len());
            let (other, event, target) = match op {
                Op::Start { other } => {
                    let case = CaseId::new();
                    cases.push(case);
                    models.push(Model::default());
                    (other, started(case).event, cases.len() - 1)
                }
                Op::Open { case, due_minutes, other } => {
                    let Some(i) = pick(case) else { continue };
                    models[i].next_task += 1;
                    let task = models[i].next_task;
                    models[i].open.push(task);
                    let due = due_minutes.map(|m| DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::minutes(m.into()));
                    let actors = ["kasi", "kabid"].into_iter().map(Name::new).collect::<crate::runtime::name::Names>();
                    (other, Event::TaskOpened { task, step: "verifikasi".into(), actors, due, uncertain: false }, i)
                }
                Op::Claim { case, other } => {
                    let Some(i) = pick(case) else { continue };
                    let Some(&task) = models[i].open.first() else { continue };
                    (other, Event::TaskClaimed { task, user: "budi".into() }, i)
                }
                Op::Complete { case, other } => {
                    let Some(i) = pick(case) else { continue };
                    let Some(task) = models[i].open.pop() else { continue };
                    let event = Event::TaskCompleted { task, outcome: None, fields: Default::default(), note: None };
                    (other, event, i)
                }
                Op::End { case, other } => {
                    let Some(i) = pick(case) else { continue };
                    models[i].open.clear();
                    (other, Event::CaseEnded { end: "selesai".into() }, i)
                }
                Op::Checkpoint { other } => {
                    let store = &stores[usize::from(other)];
                    let writer = store.commits.writer.lock().expect("writer");
                    checkpoint::write(&writer.conn, &store.projection).expect("checkpoint");
                    continue;
                }
                Op::Reopen => {
                    // Not dropped first: a reopen of a live file, as a second process does.
                    stores[0] = SqliteStore::open(&path).expect("reopen");
                    continue;
                }
            };
            let store = &stores[usize::from(other)];
            let case = cases[target];
            let model = &mut models[target];
            let recorded = at(event, case, model.version + 1);
            store.append(case, model.version, &[recorded]).await.expect("append");
            model.version += 1;
            // A stale version is refused, whichever store is asked.
            if model.version > 1 {
                let again = at(Event::CaseEnded { end: "x".into() }, case, model.version);
                let refused = stores[usize::from(!other)].append(case, model.version - 1, &[again]).await;
                assert_eq!(refused, Err(StoreError::Conflict(case)));
            }
        }
        let live = seen(&stores[0], &cases).await;
        assert_eq!(seen(&stores[1], &cases).await, live, "the two stores on the file agree");
        for (events, model) in live.0.iter().zip(&models) {
            assert_eq!(events.len() as u64, model.version);
        }
        let expected_open: usize = models.iter().map(|m| m.open.len()).sum();
        assert_eq!(live.1.len(), expected_open);
        drop(stores);
        // Reopened: the checkpoint (written at close or before) and the log after it.
        let reopened = SqliteStore::open(&path).expect("reopen");
        assert_eq!(seen(&reopened, &cases).await, live, "a reopened store agrees");
        drop(reopened);
        // The whole log replayed, without the checkpoint.
        let conn = Connection::open(&path).expect("conn");
        conn.execute("DELETE FROM checkpoint", []).expect("no checkpoint");
        drop(conn);
        let replayed = SqliteStore::open(&path).expect("reopen");
        assert_eq!(replayed.loaded, checkpoint::Loaded::None);
        assert_eq!(seen(&replayed, &cases).await, live, "a full replay agrees");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Whatever is appended, by this store or another on the same file, and whenever
        /// checkpoints are written: a store opened from the last checkpoint and the log after it
        /// holds the same versions, events, inbox and deadlines as the whole log replayed.
        #[test]
        fn a_checkpoint_and_the_log_after_it_agree_with_a_full_replay(
            ops in proptest::collection::vec(op(), 1..80)
        ) {
            let dir = tempfile::tempdir().expect("dir");
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            runtime.block_on(run_ops(dir.path(), ops));
        }
    }

    /// Finished cases stay out of memory after a checkpoint, and are read from `ended_cases`.
    #[tokio::test]
    async fn ended_cases_leave_memory_at_a_checkpoint_and_read_the_same() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("alur.db");
        let store = SqliteStore::open(&path).expect("open");
        let (done, running) = (CaseId::new(), CaseId::new());
        store.append(done, 0, &[started(done)]).await.expect("start");
        store.append(done, 1, &[at(Event::CaseEnded { end: "selesai".into() }, done, 2)]).await.expect("end");
        store.append(running, 0, &[started(running)]).await.expect("start");
        let before = store.events(done).await.expect("events");
        {
            let writer = store.commits.writer.lock().expect("writer");
            checkpoint::write(&writer.conn, &store.projection).expect("checkpoint");
        }
        let held: Vec<CaseId> = store.projection.lock().streams.keys().copied().collect();
        assert_eq!(held, [running]);
        assert_eq!(store.events(done).await.expect("events"), before);
        drop(store);
        let reopened = SqliteStore::open(&path).expect("reopen");
        assert_eq!(reopened.loaded, checkpoint::Loaded::Used);
        assert_eq!(reopened.projection.lock().streams.len(), 1, "only the running case is loaded");
        assert_eq!(reopened.events(done).await.expect("events"), before);
        // An append to the ended case finds its version.
        let late = at(Event::CaseEnded { end: "lagi".into() }, done, 3);
        assert_eq!(reopened.append(done, 1, std::slice::from_ref(&late)).await, Err(StoreError::Conflict(done)));
        reopened.append(done, 2, &[late]).await.expect("append after the end");
        assert_eq!(reopened.events(done).await.expect("events").len(), 3);
    }

    /// A damaged or stale checkpoint is not used: the whole log is replayed, and says why.
    #[tokio::test]
    async fn a_damaged_or_stale_checkpoint_falls_back_to_a_full_replay() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("alur.db");
        let store = SqliteStore::open(&path).expect("open");
        let case = CaseId::new();
        store.append(case, 0, &[started(case)]).await.expect("start");
        let open = Event::TaskOpened {
            task: 1,
            step: "verifikasi".into(),
            actors: ["kasi"].into_iter().map(Name::new).collect::<crate::runtime::name::Names>(),
            due: Some(DateTime::<Utc>::UNIX_EPOCH),
            uncertain: false,
        };
        store.append(case, 1, &[at(open, case, 2)]).await.expect("open");
        {
            let writer = store.commits.writer.lock().expect("writer");
            checkpoint::write(&writer.conn, &store.projection).expect("checkpoint");
        }
        let expected = seen(&store, &[case]).await;
        drop(store);
        let damage = |sql: &str| Connection::open(&path).expect("conn").execute(sql, []).expect("damage");
        for (sql, why) in [
            ("UPDATE checkpoint SET body = CAST('{\"cases\":[]}' AS BLOB)", "SHA-256"),
            ("UPDATE checkpoint SET format = 99", "format 99"),
            ("UPDATE checkpoint SET pos = 1000", "past the end of the log"),
        ] {
            damage(sql);
            let reopened = SqliteStore::open(&path).expect("reopen");
            match &reopened.loaded {
                checkpoint::Loaded::Ignored(reason) => assert!(reason.contains(why), "{reason}"),
                other => panic!("{sql}: {other:?}"),
            }
            assert_eq!(seen(&reopened, &[case]).await, expected, "{sql}");
            // Closing wrote no new checkpoint (nothing appended): the damage is made again
            // on a good one.
            let writer = reopened.commits.writer.lock().expect("writer");
            checkpoint::write(&writer.conn, &reopened.projection).expect("checkpoint");
        }
        // A checkpoint that leaves out a running case: found out on the first event of it.
        damage("UPDATE checkpoint SET body = CAST('{\"cases\":[]}' AS BLOB), sha256 = '' ");
        let conn = Connection::open(&path).expect("conn");
        let body = br#"{"cases":[]}"#;
        conn.execute(
            "UPDATE checkpoint SET body = ?1, sha256 = ?2, pos = 1",
            params![&body[..], crate::runtime::media::sha256_hex(body)],
        )
        .expect("stale");
        drop(conn);
        let reopened = SqliteStore::open(&path).expect("reopen");
        assert_eq!(seen(&reopened, &[case]).await, expected, "a checkpoint missing a case is replayed past");
    }

    /// Two appends to one case at the same version in one batch: the projection learns of the
    /// first only at the commit, so the batch keeps its own versions and the second conflicts.
    #[tokio::test]
    async fn appends_at_one_version_in_one_batch_have_one_winner() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(dir.path().join("alur.db")).expect("open");
        let case = CaseId::new();
        store.append(case, 0, &[started(case)]).await.expect("start");
        let (first, first_reply) = append_request(case, 1, vec![claimed(case, 2, "a")]);
        let (second, second_reply) = append_request(case, 1, vec![claimed(case, 2, "b")]);
        let (third, third_reply) = append_request(case, 2, vec![claimed(case, 3, "c")]);
        store.commits.writer.lock().expect("writer").run_batch(vec![first, second, third], None);
        assert_eq!(first_reply.await.expect("reply"), Ok(()));
        assert_eq!(second_reply.await.expect("reply"), Err(StoreError::Conflict(case)));
        // The batch's own version counts for the next append in it.
        assert_eq!(third_reply.await.expect("reply"), Ok(()));
        let by: Vec<String> = store.events(case).await.expect("events").into_iter().map(|r| r.by.to_string()).collect();
        assert_eq!(by, ["p", "a", "c"]);
    }

    /// The zeros written ahead of the WAL's frames: later commits overwrite them (the file
    /// does not grow), and a WAL with zeros past its last frame recovers every frame, as the
    /// files are on disk after a crash.
    #[tokio::test]
    async fn a_wal_extended_with_zeros_is_overwritten_and_recovers_every_frame() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("alur.db");
        let store = SqliteStore::open(&path).expect("open");
        let case = CaseId::new();
        store.append(case, 0, &[started(case)]).await.expect("start");
        for seq in 2..=20 {
            store.append(case, seq - 1, &[claimed(case, seq, "a")]).await.expect("append");
        }
        let wal = dir.path().join("alur.db-wal");
        let before = std::fs::metadata(&wal).expect("wal").len();
        let ahead = {
            let writer = store.commits.writer.lock().expect("writer");
            assert_eq!(writer.upkeep.wal, wal);
            // Further ahead than the checkpoint thread asks for, so it asks for nothing here.
            let ahead = before + 2 * WAL_AHEAD_FRAMES * writer.upkeep.frame;
            extend_wal(&writer.conn, &writer.upkeep.wal, ahead).expect("extend");
            ahead
        };
        assert_eq!(std::fs::metadata(&wal).expect("wal").len(), ahead);
        for seq in 21..=40 {
            store.append(case, seq - 1, &[claimed(case, seq, "b")]).await.expect("append");
        }
        assert_eq!(std::fs::metadata(&wal).expect("wal").len(), ahead, "the commits wrote into the zeros");
        // The files as a crash would leave them (no clean close: the WAL is recovered).
        let copy = tempfile::tempdir().expect("dir");
        std::fs::copy(&path, copy.path().join("alur.db")).expect("copy db");
        std::fs::copy(&wal, copy.path().join("alur.db-wal")).expect("copy wal");
        let recovered = SqliteStore::open(copy.path().join("alur.db")).expect("open the copy");
        let seqs: Vec<u64> = recovered.events(case).await.expect("events").into_iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
        drop(store);
        let reopened = SqliteStore::open(&path).expect("reopen");
        assert_eq!(reopened.events(case).await.expect("events").len(), 40);
    }
}
