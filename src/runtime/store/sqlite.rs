//! The durable store: one SQLite file in WAL mode. Appends are durable (fsynced) before they
//! return, and the inbox and timer indexes change in the same transaction as the events.
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
//! Nothing here is known to the engine: the contract (conditional append, indexes in the same
//! transaction) is the `Store` trait's, so a PostgreSQL store can keep it with several engine
//! processes on one database.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};

use super::{index_changes, Change, Deployment, IndexChange, OpenTask, Store, StoreError, Timer, CHANGE_FEED_CAPACITY};
use crate::runtime::event::{Event, Recorded};
use crate::runtime::{CaseId, TaskNo};

/// The schema, one step per entry: a database at schema version n (the highest row of its
/// `schema_version` table) gets steps n+1.. applied, each in its own transaction together with
/// its `schema_version` row, so an interrupted upgrade leaves a database at a known version.
/// Steps are never edited once shipped, only added. (Databases made before the table existed
/// kept their version in `PRAGMA user_version`; it is carried over.)
const MIGRATIONS: &[&str] = &[
    // 1: events, cases, deployments and the inbox and timer indexes.
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
    // 2: claims on timers (a node fires a deadline under a lease).
    r#"
    ALTER TABLE timers ADD COLUMN claimed_by TEXT;
    ALTER TABLE timers ADD COLUMN lease_until TEXT;
    CREATE INDEX timers_leased ON timers (lease_until) WHERE lease_until IS NOT NULL;
    "#,
];

/// How long a connection waits for a lock held by another connection (another process on the
/// same file, or a checkpoint) before giving up with an error.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The most requests one transaction takes: bounds how long the first of a batch waits.
const MAX_BATCH: usize = 1024;

/// Idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 8;

type Reply = oneshot::Sender<Result<(), StoreError>>;
type ClaimReply = oneshot::Sender<Result<Vec<Timer>, StoreError>>;

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
    Claim { node: String, now: String, until: String, limit: i64, reply: ClaimReply },
    Release { node: String, case: CaseId, task: TaskNo, reply: Reply },
}

/// What a request did, when it did not fail.
enum Done {
    Written,
    /// A new deployment or an append: announced on the change feed after the commit.
    Changed(Change),
    Claimed(Vec<Timer>),
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
                    Done::Written | Done::Changed(_) => Vec::new(),
                }));
            }
        }
    }
}

pub struct SqliteStore {
    commits: Arc<Committer>,
    readers: Arc<Readers>,
    feed: broadcast::Sender<Change>,
}

/// The write side: the requests waiting for a commit and the one write connection.
struct Committer {
    queue: Mutex<Vec<Request>>,
    writer: Mutex<Writer>,
    stats: Counters,
}

struct Writer {
    conn: Connection,
    feed: broadcast::Sender<Change>,
    /// Set by the checkpoint thread when the WAL is long and nearly all copied: the committer
    /// copies the rest, so that the WAL starts over (see `checkpoint_loop`).
    restart_due: Arc<AtomicBool>,
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

/// Maps an SQLite (or other) error to a backend error that says what was being done.
fn backend<E: std::fmt::Display>(doing: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Backend(format!("sqlite store: {doing}: {e}"))
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

/// A timestamp as fixed-width RFC 3339 in UTC (nanoseconds, `Z`): it reads back exactly and
/// sorts as text in time order, which the timer index relies on.
fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Backend(format!("sqlite store: bad timestamp `{text}`: {e}")))
}

fn parse_case(text: &str) -> Result<CaseId, StoreError> {
    text.parse().map_err(|e| StoreError::Backend(format!("sqlite store: bad case id `{text}`: {e}")))
}

fn to_i64(n: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Backend(format!("sqlite store: {what} {n} is too large")))
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

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let mode: String =
        conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(backend("switching to WAL mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!("sqlite store: the database refused WAL mode (it is in {mode})")));
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
            return Err(StoreError::Backend(format!(
                "sqlite store: the database has schema version {version}, newer than this alur knows ({known})"
            )));
        }
        if version < target {
            tx.execute_batch(step).map_err(backend("migrating the schema"))?;
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
        let mut conn = connect(&path)?;
        migrate(&mut conn)?;
        let feed = broadcast::channel(CHANGE_FEED_CAPACITY).0;
        // Checkpoints run on a thread and connection of their own, so no command waits while
        // the WAL is copied into the database (see `checkpoint_loop`).
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(backend("configuring checkpoints"))?;
        let (closing, closed) = std::sync::mpsc::channel::<()>();
        let checkpoint_conn = connect(&path)?;
        let restart_due = Arc::new(AtomicBool::new(false));
        let due = restart_due.clone();
        std::thread::Builder::new()
            .name("alur-sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpoint_conn, &due, &closed))
            .map_err(backend("starting the checkpoint thread"))?;
        let writer = Writer { conn, feed: feed.clone(), restart_due, _closing: closing };
        Ok(SqliteStore {
            commits: Arc::new(Committer {
                queue: Mutex::new(Vec::new()),
                writer: Mutex::new(writer),
                stats: Counters::default(),
            }),
            readers: Arc::new(Readers { path, idle: Mutex::new(Vec::new()) }),
            feed,
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
                    writer.run_batch(batch);
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
fn checkpoint_loop(conn: &Connection, restart_due: &AtomicBool, closed: &std::sync::mpsc::Receiver<()>) {
    loop {
        let last = match closed.recv_timeout(CHECKPOINT_EVERY) {
            Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => false,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => true,
        };
        if let Some((mut log, _)) = passive_checkpoint(conn) {
            if log >= RESTART_FRAMES {
                // Each pass copies what came in during the one before; when that is little,
                // the committer's copy of the rest is short.
                for _ in 0..4 {
                    let Some((next, _)) = passive_checkpoint(conn) else { break };
                    let added = next - log;
                    log = next;
                    if added < RESTART_FRAMES / 20 {
                        restart_due.store(true, Ordering::Relaxed);
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

impl Writer {
    fn run_batch(&mut self, batch: Vec<Request>) {
        run_batch(&mut self.conn, batch, &self.feed);
        // After the replies: the commands of this batch do not wait for it.
        if self.restart_due.swap(false, Ordering::Relaxed) {
            passive_checkpoint(&self.conn);
        }
    }
}

fn run_batch(conn: &mut Connection, batch: Vec<Request>, feed: &broadcast::Sender<Change>) {
    match apply_batch(conn, &batch) {
        Ok(results) => {
            for (request, result) in batch.into_iter().zip(results) {
                if let Ok(Done::Changed(change)) = &result {
                    // Committed: tell the subscribers (none listening is fine).
                    let _ = feed.send(change.clone());
                }
                request.reply(result);
            }
        }
        Err(error) => {
            // The batch failed as a whole: undo whatever is still open and tell every caller.
            // (After a failed COMMIT the outcome can be unknown, as with any database; the
            // engine re-reads the case before its next command, so it sees what is there.)
            let _ = conn.execute_batch("ROLLBACK");
            let message = error.to_string();
            for request in batch {
                request.reply(Err(StoreError::Backend(message.clone())));
            }
        }
    }
}

/// One transaction for the batch. The outer error means the transaction failed as a whole;
/// the inner results are per request.
///
/// Tried first without a savepoint per request: an append is checked (version, numbering)
/// before it writes anything, so a conflict leaves nothing to undo, and savepoints cost a
/// statement each way plus a copy of every page a request touches. Only when a request fails
/// after it may have written (a database error, or any failed request of the other kinds) is
/// the transaction rolled back and the batch done again with a savepoint per request.
fn apply_batch(conn: &mut Connection, batch: &[Request]) -> Result<Vec<Result<Done, StoreError>>, StoreError> {
    if let Some(results) = apply_batch_unguarded(conn, batch)? {
        return Ok(results);
    }
    apply_batch_guarded(conn, batch)
}

/// `None` when a request failed after it may have written: the transaction is rolled back.
fn apply_batch_unguarded(
    conn: &mut Connection,
    batch: &[Request],
) -> Result<Option<Vec<Result<Done, StoreError>>>, StoreError> {
    // IMMEDIATE takes the write lock now, so another process writing the same file makes us
    // wait (busy timeout) here rather than fail at commit.
    exec_cached(conn, "BEGIN IMMEDIATE").map_err(backend("starting a transaction"))?;
    let mut results = Vec::with_capacity(batch.len());
    for request in batch {
        let result = match request {
            Request::Append { case, expected, events, rows, .. } => {
                match check_append(conn, *case, *expected, events, rows) {
                    Err(refused) => Err(refused),
                    Ok(sop) => match write_append(conn, *case, events, rows, &sop) {
                        Ok(()) => Ok(Done::Changed(Change::Appended {
                            case: *case,
                            version: *expected + events.len() as u64,
                        })),
                        Err(_) => return rollback_for_guarded(conn),
                    },
                }
            }
            other => match apply_other(conn, other) {
                Ok(done) => Ok(done),
                Err(_) => return rollback_for_guarded(conn),
            },
        };
        results.push(result);
    }
    // The one fsync of the batch (synchronous=FULL).
    exec_cached(conn, "COMMIT").map_err(backend("committing"))?;
    Ok(Some(results))
}

fn rollback_for_guarded(conn: &Connection) -> Result<Option<Vec<Result<Done, StoreError>>>, StoreError> {
    exec_cached(conn, "ROLLBACK").map_err(backend("rolling back"))?;
    Ok(None)
}

/// The batch with a savepoint per request, so a request that fails half-way is undone alone.
fn apply_batch_guarded(conn: &mut Connection, batch: &[Request]) -> Result<Vec<Result<Done, StoreError>>, StoreError> {
    exec_cached(conn, "BEGIN IMMEDIATE").map_err(backend("starting a transaction"))?;
    let mut results = Vec::with_capacity(batch.len());
    for request in batch {
        exec_cached(conn, "SAVEPOINT request").map_err(backend("starting a savepoint"))?;
        let result = match request {
            Request::Append { case, expected, events, rows, .. } => append_one(conn, *case, *expected, events, rows)
                .map(|()| Done::Changed(Change::Appended { case: *case, version: *expected + events.len() as u64 })),
            other => apply_other(conn, other),
        };
        if result.is_err() {
            exec_cached(conn, "ROLLBACK TO request").map_err(backend("rolling back a savepoint"))?;
        }
        exec_cached(conn, "RELEASE request").map_err(backend("releasing a savepoint"))?;
        results.push(result);
    }
    exec_cached(conn, "COMMIT").map_err(backend("committing"))?;
    Ok(results)
}

/// The requests other than appends.
fn apply_other(conn: &Connection, request: &Request) -> Result<Done, StoreError> {
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
            claim_timers(conn, node, now, until, *limit).map(Done::Claimed)
        }
        Request::Release { node, case, task, .. } => release_timer(conn, node, *case, *task).map(|()| Done::Written),
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

/// Claims due timers nobody holds a live lease on. Inside the writer's transaction, which holds
/// the file's write lock, so no other process claims the same ones.
fn claim_timers(conn: &Connection, node: &str, now: &str, until: &str, limit: i64) -> Result<Vec<Timer>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE timers SET claimed_by = ?1, lease_until = ?3
             WHERE (case_id, task) IN (
                 SELECT case_id, task FROM timers
                 WHERE due <= ?2 AND (lease_until IS NULL OR lease_until <= ?2)
                 ORDER BY due, case_id, task LIMIT ?4)
             RETURNING case_id, task, due",
        )
        .map_err(backend("claiming timers"))?;
    let rows = stmt
        .query_map(params![node, now, until, limit], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, TaskNo>(1)?, row.get::<_, String>(2)?))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(backend("claiming timers"))?;
    let mut timers = rows
        .into_iter()
        .map(|(case, task, due)| Ok(Timer { case: parse_case(&case)?, task, due: parse_time(&due)? }))
        .collect::<Result<Vec<_>, StoreError>>()?;
    timers.sort_by_key(|t| (t.due, t.case, t.task));
    Ok(timers)
}

fn release_timer(conn: &Connection, node: &str, case: CaseId, task: TaskNo) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE timers SET claimed_by = NULL, lease_until = NULL WHERE case_id = ?1 AND task = ?2 AND claimed_by = ?3",
    )
    .and_then(|mut s| s.execute(params![case.to_string(), task, node]))
    .map_err(backend("releasing a timer"))?;
    Ok(())
}

fn append_one(
    conn: &Connection,
    case: CaseId,
    expected: u64,
    events: &[Recorded],
    rows: &[Row],
) -> Result<(), StoreError> {
    let sop = check_append(conn, case, expected, events, rows)?;
    write_append(conn, case, events, rows, &sop)
}

/// Everything that can refuse an append, before anything is written: the case's version, the
/// first event of a new case, the numbering of the events. Returns the case's SOP.
fn check_append(
    conn: &Connection,
    case: CaseId,
    expected: u64,
    events: &[Recorded],
    rows: &[Row],
) -> Result<Option<String>, StoreError> {
    let id = case.to_string();
    let current: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events WHERE case_id = ?1")
        .and_then(|mut s| s.query_row([&id], |row| row.get(0)))
        .map_err(backend("reading a case's version"))?;
    if current != to_i64(expected, "expected version")? {
        return Err(StoreError::Conflict(case));
    }
    for (i, row) in rows.iter().enumerate() {
        // The version is the last seq, so the events must continue the stream exactly.
        if row.seq != current + 1 + i as i64 {
            return Err(StoreError::Backend(format!(
                "event {} of case {case} is numbered {}, not {}",
                i + 1,
                row.seq,
                current + 1 + i as i64
            )));
        }
    }
    if current == 0 {
        let Some(Event::CaseStarted { .. }) = events.first().map(|e| &e.event) else {
            return Err(StoreError::Backend("a case must start with CaseStarted".into()));
        };
        // A new case: its SOP is in its first event.
        return Ok(None);
    }
    // Only a task opening needs the SOP (for the inbox row).
    if !events.iter().any(|e| matches!(e.event, Event::TaskOpened { .. })) {
        return Ok(Some(String::new()));
    }
    conn.prepare_cached("SELECT sop FROM cases WHERE case_id = ?1")
        .and_then(|mut s| s.query_row([&id], |row| row.get(0)))
        .map(Some)
        .map_err(backend("reading a case's SOP"))
}

/// Writes a checked append: the events, a new case's row, the index changes. `sop` is what
/// `check_append` returned.
fn write_append(
    conn: &Connection,
    case: CaseId,
    events: &[Recorded],
    rows: &[Row],
    sop: &Option<String>,
) -> Result<(), StoreError> {
    let id = case.to_string();
    let sop = match sop {
        Some(sop) => sop.clone(),
        None => {
            let Some(Event::CaseStarted { sop, .. }) = events.first().map(|e| &e.event) else {
                return Err(StoreError::Backend("a case must start with CaseStarted".into()));
            };
            conn.prepare_cached("INSERT INTO cases (case_id, sop) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![id, sop]))
                .map_err(backend("recording a new case"))?;
            sop.clone()
        }
    };
    {
        let mut insert = conn
            .prepare_cached(r#"INSERT INTO events (case_id, seq, at, "by", body) VALUES (?1, ?2, ?3, ?4, ?5)"#)
            .map_err(backend("preparing the event insert"))?;
        for row in rows {
            insert.execute(params![id, row.seq, row.at, row.by, row.body]).map_err(backend("inserting an event"))?;
        }
    }
    for change in index_changes(&sop, events) {
        apply_change(conn, change)?;
    }
    Ok(())
}

fn apply_change(conn: &Connection, change: IndexChange) -> Result<(), StoreError> {
    let exec = |sql: &str, params: &[&dyn rusqlite::ToSql]| {
        conn.prepare_cached(sql).and_then(|mut s| s.execute(params)).map_err(backend("updating the indexes"))
    };
    match change {
        IndexChange::OpenTask(t) => {
            let id = t.case.to_string();
            exec("DELETE FROM task_actors WHERE case_id = ?1 AND task = ?2", &[&id, &t.task])?;
            exec(
                "INSERT OR REPLACE INTO open_tasks (case_id, task, sop, step, due, claimed_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &[&id, &t.task, &t.sop, &t.step, &time_text(t.due), &t.claimed_by],
            )?;
            for (pos, actor) in t.actors.iter().enumerate() {
                exec(
                    "INSERT INTO task_actors (case_id, task, pos, actor) VALUES (?1, ?2, ?3, ?4)",
                    &[&id, &t.task, &(pos as i64), actor],
                )?;
            }
        }
        IndexChange::Claim { case, task, user } => {
            exec(
                "UPDATE open_tasks SET claimed_by = ?3 WHERE case_id = ?1 AND task = ?2",
                &[&case.to_string(), &task, &user],
            )?;
        }
        IndexChange::AddActor { case, task, actor } => {
            // Only to a task still open, and only once (as the fold does).
            exec(
                "INSERT INTO task_actors (case_id, task, pos, actor)
                 SELECT o.case_id, o.task,
                        (SELECT COALESCE(MAX(pos) + 1, 0) FROM task_actors a WHERE a.case_id = o.case_id AND a.task = o.task),
                        ?3
                 FROM open_tasks o
                 WHERE o.case_id = ?1 AND o.task = ?2
                   AND NOT EXISTS (SELECT 1 FROM task_actors a
                                   WHERE a.case_id = o.case_id AND a.task = o.task AND a.actor = ?3)",
                &[&case.to_string(), &task, &actor],
            )?;
        }
        IndexChange::CloseTask { case, task } => {
            let id = case.to_string();
            exec("DELETE FROM open_tasks WHERE case_id = ?1 AND task = ?2", &[&id, &task])?;
            exec("DELETE FROM task_actors WHERE case_id = ?1 AND task = ?2", &[&id, &task])?;
        }
        IndexChange::CloseCase { case } => {
            let id = case.to_string();
            // The open tasks go, and with them their deadlines.
            exec(
                "DELETE FROM timers WHERE case_id = ?1 AND task IN (SELECT task FROM open_tasks WHERE case_id = ?1)",
                &[&id],
            )?;
            exec("DELETE FROM task_actors WHERE case_id = ?1", &[&id])?;
            exec("DELETE FROM open_tasks WHERE case_id = ?1", &[&id])?;
        }
        IndexChange::SetTimer(t) => {
            // A new deadline: nobody holds it yet.
            exec(
                "INSERT OR REPLACE INTO timers (case_id, task, due, claimed_by, lease_until) VALUES (?1, ?2, ?3, NULL, NULL)",
                &[&t.case.to_string(), &t.task, &time_text(t.due)],
            )?;
        }
        IndexChange::ClearTimer { case, task } => {
            exec("DELETE FROM timers WHERE case_id = ?1 AND task = ?2", &[&case.to_string(), &task])?;
        }
    }
    Ok(())
}

/// The columns of an open task as the inbox queries select them.
const OPEN_TASK_COLUMNS: &str = "o.case_id, o.task, o.sop, o.step, o.due, o.claimed_by,
    (SELECT json_group_array(a.actor ORDER BY a.pos) FROM task_actors a WHERE a.case_id = o.case_id AND a.task = o.task)";

/// An open task as read, before its text columns are decoded.
struct OpenTaskRow {
    case: String,
    task: TaskNo,
    sop: String,
    step: String,
    due: String,
    claimed_by: Option<String>,
    /// JSON array, in the order the actors were added.
    actors: String,
}

fn open_task_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<OpenTaskRow> {
    Ok(OpenTaskRow {
        case: row.get(0)?,
        task: row.get(1)?,
        sop: row.get(2)?,
        step: row.get(3)?,
        due: row.get(4)?,
        claimed_by: row.get(5)?,
        actors: row.get(6)?,
    })
}

impl OpenTaskRow {
    fn decode(self) -> Result<OpenTask, StoreError> {
        Ok(OpenTask {
            case: parse_case(&self.case)?,
            task: self.task,
            sop: self.sop.into(),
            step: self.step.into(),
            actors: serde_json::from_str(&self.actors).map_err(backend("decoding a task's actors"))?,
            due: parse_time(&self.due)?,
            claimed_by: self.claimed_by,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
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
            bodies.iter().map(|b| serde_json::from_str(b).map_err(backend("decoding a deployment"))).collect()
        })
        .await
    }

    async fn append(&self, case: CaseId, expected: u64, events: &[Recorded]) -> Result<(), StoreError> {
        let rows = events
            .iter()
            .map(|r| {
                Ok(Row {
                    seq: to_i64(r.seq, "seq")?,
                    at: time_text(r.at),
                    by: r.by.to_string(),
                    body: serde_json::to_string(&r.event).map_err(backend("serializing an event"))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let (reply, wait) = oneshot::channel();
        self.write(Request::Append { case, expected, events: events.to_vec(), rows, reply }, wait).await
    }

    async fn events(&self, case: CaseId) -> Result<Vec<Recorded>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(r#"SELECT seq, at, "by", body FROM events WHERE case_id = ?1 ORDER BY seq"#)
                .map_err(backend("reading events"))?;
            let rows = stmt
                .query_map([case.to_string()], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(backend("reading events"))?;
            rows.into_iter()
                .map(|(seq, at, by, body)| {
                    Ok(Recorded {
                        case,
                        seq: u64::try_from(seq).map_err(backend("reading a seq"))?,
                        at: parse_time(&at)?,
                        by: by.into(),
                        event: serde_json::from_str(&body).map_err(backend("decoding an event"))?,
                    })
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
        let filter = if actors.is_empty() {
            None
        } else {
            Some(serde_json::to_string(actors).map_err(backend("serializing actors"))?)
        };
        self.read(move |conn| {
            let raw = match &filter {
                None => {
                    let sql = format!("SELECT {OPEN_TASK_COLUMNS} FROM open_tasks o ORDER BY o.case_id, o.task");
                    let mut stmt = conn.prepare_cached(&sql).map_err(backend("reading open tasks"))?;
                    let rows = stmt.query_map([], open_task_row).and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
                    rows
                }
                Some(actors) => {
                    // The actors go in as one JSON array, so one cached statement serves any list.
                    let sql = format!(
                        "SELECT {OPEN_TASK_COLUMNS} FROM open_tasks o
                         WHERE EXISTS (SELECT 1 FROM task_actors a
                                       WHERE a.case_id = o.case_id AND a.task = o.task
                                         AND a.actor IN (SELECT value FROM json_each(?1)))
                         ORDER BY o.case_id, o.task"
                    );
                    let mut stmt = conn.prepare_cached(&sql).map_err(backend("reading open tasks"))?;
                    let rows =
                        stmt.query_map([actors], open_task_row).and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
                    rows
                }
            }
            .map_err(backend("reading open tasks"))?;
            raw.into_iter().map(OpenTaskRow::decode).collect()
        })
        .await
    }

    async fn due_timers(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT case_id, task, due FROM timers WHERE due <= ?1 ORDER BY due, case_id, task LIMIT ?2",
                )
                .map_err(backend("reading timers"))?;
            let rows = stmt
                .query_map(params![time_text(until), limit], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, TaskNo>(1)?, row.get::<_, String>(2)?))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(backend("reading timers"))?;
            rows.into_iter()
                .map(|(case, task, due)| Ok(Timer { case: parse_case(&case)?, task, due: parse_time(&due)? }))
                .collect()
        })
        .await
    }

    async fn next_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| {
            let due: Option<String> = conn
                .prepare_cached("SELECT due FROM timers ORDER BY due LIMIT 1")
                .and_then(|mut s| s.query_row([], |row| row.get(0)).optional())
                .map_err(backend("reading the next timer"))?;
            due.as_deref().map(parse_time).transpose()
        })
        .await
    }

    async fn claim_due_timers(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<Timer>, StoreError> {
        let (reply, wait) = oneshot::channel();
        let request = Request::Claim {
            node: node.to_string(),
            now: time_text(now),
            until: time_text(now + lease),
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
            reply,
        };
        self.write(request, wait).await
    }

    async fn release_timer(&self, node: &str, case: CaseId, task: TaskNo) -> Result<(), StoreError> {
        let (reply, wait) = oneshot::channel();
        self.write(Request::Release { node: node.to_string(), case, task, reply }, wait).await
    }

    async fn next_claimable_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| {
            // The earliest unleased deadline (by the due index), or a lease that ends earlier.
            let at: Option<String> = conn
                .prepare_cached(
                    "SELECT MIN(at) FROM (
                         SELECT MIN(due) AS at FROM timers WHERE lease_until IS NULL
                         UNION ALL
                         SELECT MIN(MAX(due, lease_until)) AS at FROM timers WHERE lease_until IS NOT NULL)",
                )
                .and_then(|mut s| s.query_row([], |row| row.get(0)))
                .map_err(backend("reading the next claimable timer"))?;
            at.as_deref().map(parse_time).transpose()
        })
        .await
    }

    fn changes(&self) -> broadcast::Receiver<Change> {
        self.feed.subscribe()
    }
}
