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
//!
//! The parts: `schema.rs` (migrations), `committer.rs` (group commit and what each request
//! writes), `projection.rs` (the state derived in memory and its catch-up), `wal.rs` (the
//! checkpoint thread that keeps the WAL small), `checkpoint.rs` (the projection saved in
//! the file); here the store itself and its reads.

use crate::runtime::name::Name;
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};

mod archive;
mod checkpoint;
mod committer;
mod projection;
mod schema;
mod summary;
mod wal;

use committer::*;
use projection::*;
use schema::*;
use wal::*;

pub use archive::archive_path;
pub use committer::CommitStats;
pub(super) use schema::SCHEMA_VERSION;

use super::blob_files::BlobDir;
use super::index::Index;
use super::{
    check_numbering, for_each_index_change, schema_current, Archived, BlobStore, CaseArchive, Change, ChangeFeed,
    Deployment, DeploymentStore, EventLog, InboxIndex, IndexChange, OpenTask, Partition, StoreError, Timer, TimerIndex,
    CHANGE_FEED_CAPACITY,
};
use crate::runtime::event::{Event, Recorded};
use crate::runtime::metrics::StoreCounters;
use crate::runtime::{CaseId, TaskNo};

pub struct SqliteStore {
    commits: Arc<Committer>,
    readers: Arc<Readers>,
    projection: Arc<Projection>,
    feed: broadcast::Sender<Change>,
    /// The documents, in files beside the database.
    blobs: BlobDir,
    /// Ended cases moved out of the file (`archive.rs`), read when the log has none of a case.
    archive: Arc<archive::Archive>,
    /// What opening made of the checkpoint (the tests ask).
    #[cfg_attr(not(test), allow(dead_code))]
    loaded: checkpoint::Loaded,
}

/// One event as the log holds it.
struct EventRow {
    seq: i64,
    at: String,
    by: String,
    body: String,
}

/// The rows of `case` at `positions` of the log, in order; `None` when one is gone (the case
/// was archived by another process after its positions were read).
fn rows_at(conn: &Connection, case: CaseId, positions: &[i64]) -> Result<Option<Vec<EventRow>>, StoreError> {
    let mut stmt = conn
        .prepare_cached(r#"SELECT case_id, seq, at, "by", body FROM events WHERE pos = ?1"#)
        .map_err(backend("reading events"))?;
    let mut rows = Vec::with_capacity(positions.len());
    for pos in positions {
        let row = stmt
            .query_row([pos], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    EventRow { seq: row.get(1)?, at: row.get(2)?, by: row.get(3)?, body: row.get(4)? },
                ))
            })
            .optional()
            .map_err(backend("reading events"))?;
        let Some((id, row)) = row else { return Ok(None) };
        if parse_case(&id)? != case {
            return Err(StoreError::Corrupt(format!("sqlite store: event {pos} of the log is not of case {case}")));
        }
        rows.push(row);
    }
    Ok(Some(rows))
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
        let sqlite = (&e as &dyn std::any::Any).downcast_ref::<rusqlite::Error>();
        let message = format!("sqlite store: {doing}: {e}");
        if sqlite.is_some_and(is_busy) {
            StoreError::Transient(message)
        } else if sqlite.is_some_and(is_damage) {
            // The file's path is filled in where it is known (`open`, `read`).
            StoreError::Damaged { path: String::new(), cause: message }
        } else {
            StoreError::Backend(message)
        }
    }
}

/// A damaged file named by its path (SQLite's error does not say which file).
fn of_file(error: StoreError, path: &Path) -> StoreError {
    match error {
        StoreError::Damaged { path: named, cause } if named.is_empty() => {
            StoreError::Damaged { path: path.display().to_string(), cause }
        }
        other => other,
    }
}

/// Another connection holds the database's lock (past the busy timeout).
pub(crate) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(error.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

/// A file SQLite cannot open (a missing folder, no permission, a folder where the file should
/// be): the `--db` setting to fix.
fn cannot_open(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError::Config(format!("sqlite store: opening {}: {e}", path.display()))
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)
        .map_err(|e| StoreError::Backend(format!("sqlite store: opening {}: {e}", path.display())))?;
    configure(conn)
}

fn configure(conn: Connection) -> Result<Connection, StoreError> {
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

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`, bringing its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        check_intact(&path)?;
        let mut conn = configure(Connection::open(&path).map_err(|e| cannot_open(&path, e))?)?;
        let blobs = BlobDir::of_database(&path);
        migrate(&mut conn, &blobs)?;
        let feed = broadcast::channel(CHANGE_FEED_CAPACITY).0;
        // Checkpoints run on a thread and connection of their own, so no command waits while
        // the WAL is copied into the database (see `checkpoint_loop`).
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(backend("configuring checkpoints"))?;
        let (closing, closed) = std::sync::mpsc::channel::<()>();
        let checkpoint_conn = connect(&path)?;
        let upkeep = Arc::new(WalUpkeep::new());
        let asks = upkeep.clone();
        let checkpointer = std::thread::Builder::new()
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
        // SQLite finding the file malformed while the log is read (past the header check, which a
        // WAL to replay leaves to SQLite) is the file's damage, said as such.
        let loaded = loaded.map_err(|e| of_file(e, &path))?;
        // A long replay is not done again by the next open.
        checkpoint_if_behind(&conn, &projection, checkpoint::CHECKPOINT_EVERY);
        let writer = Writer {
            conn,
            feed: feed.clone(),
            projection: projection.clone(),
            upkeep,
            closing: Some(closing),
            checkpointer: Some(checkpointer),
        };
        Ok(SqliteStore {
            commits: Arc::new(Committer {
                queue: Mutex::new(Vec::new()),
                writer: Mutex::new(writer),
                stats: Counters::default(),
                metrics: std::sync::OnceLock::new(),
            }),
            archive: Arc::new(archive::Archive::beside(&path)),
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
            result.map_err(|e| of_file(e, &readers.path))
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

/// A case's events after `seq`: from the live log, or from the archive when the log has none.
/// The projection caught up first, by the caller.
fn read_events_after(
    conn: &Connection,
    projection: &Projection,
    archive: &archive::Archive,
    case: CaseId,
    seq: u64,
) -> Result<Vec<Recorded>, StoreError> {
    let Some(positions) = positions(conn, projection, case, seq)? else {
        return archive.events_after(case, seq);
    };
    let Some(rows) = rows_at(conn, case, &positions)? else {
        // Gone from the log: another process archived the case after this one read where its
        // events were.
        return archive.events_after(case, seq);
    };
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        events.push(decode_event(case, row.seq, &row.at, row.by, &row.body)?);
    }
    Ok(events)
}

#[async_trait]
impl CaseArchive for SqliteStore {
    /// Moves the cases that ended before `before` into the archive beside the file (see
    /// `archive.rs`), a round at a time under the write lock; commands queued meanwhile are
    /// committed between rounds.
    async fn archive_ended(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> Result<Archived, StoreError> {
        if !self.projection.checkpoints {
            return Err(StoreError::Config(
                "sqlite store: archiving moves the cases a checkpoint has written out, and checkpoints are off \
                 (ALUR_CHECKPOINT=off); unset it"
                    .into(),
            ));
        }
        let (commits, path) = (self.commits.clone(), self.archive.path().to_path_buf());
        tokio::task::spawn_blocking(move || {
            {
                // Every case that has ended by now leaves memory for `ended_cases`.
                let writer = commits.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                catch_up(&writer.conn, &writer.projection)?;
                checkpoint_if_behind(&writer.conn, &writer.projection, 1);
            }
            let mut total = Archived::default();
            let mut from = String::new();
            loop {
                let round = {
                    let writer = commits.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    archive::move_round(&writer.conn, &writer.projection, &path, before, now, &from)
                };
                // What queued up while the lock was held.
                commits.lead(false);
                let (done, next) = round?;
                total.cases += done.cases;
                total.events += done.events;
                total.kept += done.kept;
                match next {
                    Some(next) => from = next,
                    None => return Ok(total),
                }
            }
        })
        .await
        .map_err(backend("archiving on a blocking thread"))?
    }

    fn archive_place(&self) -> String {
        self.archive.path().display().to_string()
    }
}

#[async_trait]
impl super::Registry for SqliteStore {
    async fn append_registered(
        &self,
        case: CaseId,
        events: Vec<Recorded>,
        numbering: &crate::model::Numbering,
    ) -> Result<crate::runtime::event::Registration, StoreError> {
        super::registry::requested(&events)?;
        let rows = rows_of(&events)?;
        let (reply, wait) = oneshot::channel();
        let numbering = Some(Box::new(numbering.clone()));
        self.write(Request::Append { case, expected: 0, events, rows, numbering, reply }, wait).await?;
        // The number was taken in the commit: read back as stored.
        let first = self.events(case).await?.into_iter().next();
        match first.map(|r| r.event) {
            Some(Event::CaseStarted { registration: Some(registration), .. }) => Ok(registration),
            _ => Err(StoreError::Corrupt(format!("case {case} was registered but its first event has no number"))),
        }
    }

    async fn case_by_number(&self, number: &str) -> Result<Option<CaseId>, StoreError> {
        let number = number.to_string();
        self.read(move |conn| {
            let id: Option<String> = conn
                .prepare_cached("SELECT case_id FROM registrations WHERE number = ?1")
                .and_then(|mut s| s.query_row(params![number], |row| row.get(0)).optional())
                .map_err(backend("looking up a registration number"))?;
            id.map(|id| parse_case(&id)).transpose()
        })
        .await
    }
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn ready(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            let version: i64 = conn
                .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |row| row.get(0))
                .map_err(backend("reading the schema version"))?;
            schema_current(version, MIGRATIONS.len())
        })
        .await
    }

    fn sharing(&self) -> super::Sharing {
        super::Sharing::OneHost
    }

    async fn append(&self, case: CaseId, expected: u64, events: &[Recorded]) -> Result<(), StoreError> {
        self.append_owned(case, expected, events.to_vec()).await
    }

    async fn append_owned(&self, case: CaseId, expected: u64, events: Vec<Recorded>) -> Result<(), StoreError> {
        let rows = rows_of(&events)?;
        let (reply, wait) = oneshot::channel();
        self.write(Request::Append { case, expected, events, rows, numbering: None, reply }, wait).await
    }

    async fn events(&self, case: CaseId) -> Result<Vec<Recorded>, StoreError> {
        self.events_after(case, 0).await
    }

    async fn events_after(&self, case: CaseId, seq: u64) -> Result<Vec<Recorded>, StoreError> {
        let (projection, archive) = (self.projection.clone(), self.archive.clone());
        self.read(move |conn| {
            catch_up(conn, &projection)?;
            read_events_after(conn, &projection, &archive, case, seq)
        })
        .await
    }

    async fn events_after_each(&self, asks: &[(CaseId, u64)]) -> Result<Vec<Vec<Recorded>>, StoreError> {
        let (projection, archive, asks) = (self.projection.clone(), self.archive.clone(), asks.to_vec());
        // One read on one connection: a hop to the blocking pool per case was most of a report's time.
        self.read(move |conn| {
            catch_up(conn, &projection)?;
            asks.iter().map(|&(case, seq)| read_events_after(conn, &projection, &archive, case, seq)).collect()
        })
        .await
    }

    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        let archive = self.archive.clone();
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT case_id FROM cases ORDER BY rowid").map_err(backend("reading cases"))?;
            let ids = stmt
                .query_map([], |row| row.get::<_, String>(0))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(backend("reading cases"))?;
            // Archived cases are still cases of this store, older than the live ones; one in
            // both files (a move cut short) is the live one.
            let live: Vec<CaseId> = ids.iter().map(|id| parse_case(id)).collect::<Result<_, _>>()?;
            let held: std::collections::HashSet<CaseId> = live.iter().copied().collect();
            let mut all: Vec<CaseId> = archive.case_ids()?.into_iter().filter(|c| !held.contains(c)).collect();
            all.extend(live);
            Ok(all)
        })
        .await
    }
}

#[async_trait]
impl InboxIndex for SqliteStore {
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
}

#[async_trait]
impl TimerIndex for SqliteStore {
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
}

#[async_trait]
impl DeploymentStore for SqliteStore {
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
}

impl ChangeFeed for SqliteStore {
    fn changes(&self) -> broadcast::Receiver<Change> {
        self.feed.subscribe()
    }

    fn observe(&self, metrics: Arc<crate::runtime::metrics::StoreMetrics>) {
        let _ = self.commits.metrics.set(metrics.of("sqlite"));
    }

    fn feed_reach(&self) -> super::FeedReach {
        super::FeedReach::ThisInstance
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
        (Request::Append { case, expected, events, rows, numbering: None, reply }, wait)
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
}
