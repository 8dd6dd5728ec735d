//! The write side: group commit (one write connection, a leader committing every queued
//! request in one transaction) and what each request writes.

use super::*;

/// How long a connection waits for a lock held by another connection (another process on the
/// same file, or a checkpoint) before giving up with an error.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The most requests one transaction takes: bounds how long the first of a batch waits.
pub(super) const MAX_BATCH: usize = 1024;

/// Idle read connections kept for reuse.
pub(super) const MAX_IDLE_READERS: usize = 8;

pub(super) type Reply = oneshot::Sender<Result<(), StoreError>>;
pub(super) type ClaimReply = oneshot::Sender<Result<Vec<Timer>, StoreError>>;
pub(super) type SettleReply = oneshot::Sender<Result<bool, StoreError>>;

/// An event ready to insert: serialized by the caller, so the committing thread spends its time
/// on SQLite only.
pub(super) struct Row {
    pub(super) seq: i64,
    pub(super) at: String,
    pub(super) by: String,
    pub(super) body: String,
}

pub(super) enum Request {
    Append {
        case: CaseId,
        expected: u64,
        events: Vec<Recorded>,
        rows: Vec<Row>,
        /// A registered start: the number is taken in the append's transaction.
        numbering: Option<Box<crate::model::Numbering>>,
        reply: Reply,
    },
    Deployment {
        deployment: Box<Deployment>,
        body: String,
        reply: Reply,
    },
    Claim {
        node: String,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
        reply: ClaimReply,
    },
    Release {
        node: String,
        case: CaseId,
        task: TaskNo,
        reply: Reply,
    },
    Settle {
        unsettled: crate::runtime::store::summary::Unsettled,
        tallies: Vec<crate::runtime::store::summary::Tally>,
        reply: SettleReply,
    },
}

/// What a request did, when it did not fail.
pub(super) enum Done {
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
    pub(super) fn reply(self, result: Result<Done, StoreError>) {
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

/// The write side: the requests waiting for a commit and the one write connection.
pub(super) struct Committer {
    pub(super) queue: Mutex<Vec<Request>>,
    pub(super) writer: Mutex<Writer>,
    pub(super) stats: Counters,
    /// What `/metrics` reads, once the server asks (`Store::observe`).
    pub(super) metrics: std::sync::OnceLock<StoreCounters>,
}

pub(super) struct Writer {
    pub(super) conn: Connection,
    pub(super) feed: broadcast::Sender<Change>,
    pub(super) projection: Arc<Projection>,
    /// What the checkpoint thread asks of the committer between two batches.
    pub(super) upkeep: Arc<WalUpkeep>,
    /// Dropped with the writer: the checkpoint thread does a last checkpoint and ends.
    pub(super) closing: Option<std::sync::mpsc::Sender<()>>,
    /// The checkpoint thread, joined at close: once the store is dropped nothing writes the file.
    pub(super) checkpointer: Option<std::thread::JoinHandle<()>>,
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
pub(super) struct Counters {
    pub(super) commits: AtomicU64,
    pub(super) requests: AtomicU64,
}

impl Committer {
    /// Commits what is queued, batch after batch, unless another thread holds the write
    /// connection. Whoever holds it looks at the queue again after letting go, so a request
    /// queued while it was held is never left behind. With `hand_off`, after one batch the
    /// rest is left to a blocking thread, so the caller that led gets its answer.
    pub(super) fn lead(self: &Arc<Committer>, hand_off: bool) {
        self.lead_holding(None, hand_off);
    }

    /// [`Committer::lead`] when the write connection may already be held.
    pub(super) fn lead_holding(self: &Arc<Committer>, mut held: Option<MutexGuard<'_, Writer>>, hand_off: bool) {
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
    pub(super) fn try_writer(&self) -> Option<MutexGuard<'_, Writer>> {
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
    pub(super) fn queue(&self) -> MutexGuard<'_, Vec<Request>> {
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Up to [`MAX_BATCH`] requests from the front of the queue.
    pub(super) fn take_batch(&self) -> Vec<Request> {
        let mut queue = self.queue();
        if queue.len() <= MAX_BATCH {
            return std::mem::take(&mut *queue);
        }
        queue.drain(..MAX_BATCH).collect()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        checkpoint_if_behind(&self.conn, &self.projection, checkpoint::CHECKPOINT_AT_CLOSE);
        // The thread copies what is left of the WAL into the file and ends.
        drop(self.closing.take());
        if let Some(thread) = self.checkpointer.take() {
            let _ = thread.join();
        }
    }
}

impl Writer {
    pub(super) fn run_batch(&mut self, batch: Vec<Request>, metrics: Option<&StoreCounters>) {
        run_batch(&mut self.conn, batch, &self.feed, &self.projection, metrics);
        checkpoint_if_behind(&self.conn, &self.projection, checkpoint::CHECKPOINT_EVERY);
        // After the replies: the commands of this batch do not wait for it.
        if self.upkeep.restart_due.swap(false, Ordering::Relaxed) {
            passive_checkpoint(&self.conn);
        }
    }
}

/// A commit slower than this is logged (a disk that stalls).
pub(super) const SLOW_COMMIT: Duration = Duration::from_secs(1);

pub(super) fn run_batch(
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

pub(super) type BatchResults = Vec<Result<Done, StoreError>>;

/// A committed batch: each request's result, the `pos` of its last event, and how long its
/// `COMMIT` (the fsync) took.
pub(super) type Committed = (BatchResults, i64, Duration);

/// One transaction for the batch. The outer error means the transaction failed as a whole;
/// the inner results are per request. Also returns the `pos` of the batch's last event (0
/// when it appended none).
///
/// Tried first without a savepoint per request: an append is checked (version, numbering)
/// before it writes anything, so a conflict leaves nothing to undo, and savepoints cost a
/// statement each way plus a copy of every page a request touches. Only when a request fails
/// after it may have written (a database error, or any failed request of the other kinds) is
/// the transaction rolled back and the batch done again with a savepoint per request.
pub(super) fn apply_batch(
    conn: &mut Connection,
    batch: &[Request],
    projection: &Projection,
) -> Result<Committed, StoreError> {
    if let Some(done) = apply_batch_unguarded(conn, batch, projection)? {
        return Ok(done);
    }
    apply_batch_guarded(conn, batch, projection)
}

/// Starts the batch's transaction and brings the indexes up to date with the log: after
/// `BEGIN IMMEDIATE` nobody else can append until the commit, so the appends of this batch
/// follow exactly what the projection then holds.
pub(super) fn begin(conn: &Connection, projection: &Projection) -> Result<(), StoreError> {
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
pub(super) fn commit(conn: &Connection, results: &BatchResults) -> Result<(i64, Duration), StoreError> {
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
pub(super) fn log_end(conn: &Connection) -> Result<i64, StoreError> {
    conn.prepare_cached("SELECT COALESCE(MAX(pos), 0) FROM events")
        .and_then(|mut s| s.query_row([], |row| row.get(0)))
        .map_err(backend("reading the end of the event log"))
}

/// `None` when a request failed after it may have written: the transaction is rolled back.
pub(super) fn apply_batch_unguarded(
    conn: &mut Connection,
    batch: &[Request],
    projection: &Projection,
) -> Result<Option<Committed>, StoreError> {
    begin(conn, projection)?;
    let mut results = Vec::with_capacity(batch.len());
    let mut versions = BatchVersions::default();
    let mut tallies = super::summary::BatchTallies::default();
    for request in batch {
        let result = match request {
            Request::Append { case, expected, events, rows, numbering, .. } => {
                match check_append(conn, projection, &versions, *case, *expected, events) {
                    Err(refused) => Err(refused),
                    Ok(sop) => match write_append(conn, *case, events, rows, &sop, numbering.as_deref()) {
                        Ok(written) => {
                            versions.insert(*case, *expected + events.len() as u64);
                            Ok(appended(*case, *expected, events, written))
                        }
                        Err(_) => return rollback_for_guarded(conn),
                    },
                }
            }
            other => match apply_other(conn, other, projection, &mut tallies) {
                Ok(done) => Ok(done),
                Err(_) => return rollback_for_guarded(conn),
            },
        };
        results.push(result);
    }
    if tallies.write(conn).is_err() {
        return rollback_for_guarded(conn);
    }
    let (last, fsync) = commit(conn, &results)?;
    Ok(Some((results, last, fsync)))
}

/// The versions of the cases appended to earlier in the batch, which the projection learns
/// only once the batch is committed.
pub(super) type BatchVersions = HashMap<CaseId, u64>;

pub(super) fn appended(case: CaseId, expected: u64, events: &[Recorded], (positions, index): Written) -> Done {
    let change = Change::Appended { case, version: expected + events.len() as u64 };
    Done::Appended { change, case, positions, index }
}

pub(super) fn rollback_for_guarded(conn: &Connection) -> Result<Option<Committed>, StoreError> {
    exec_cached(conn, "ROLLBACK").map_err(backend("rolling back"))?;
    Ok(None)
}

/// The batch with a savepoint per request, so a request that fails half-way is undone alone.
pub(super) fn apply_batch_guarded(
    conn: &mut Connection,
    batch: &[Request],
    projection: &Projection,
) -> Result<Committed, StoreError> {
    begin(conn, projection)?;
    let mut results = Vec::with_capacity(batch.len());
    let mut versions = BatchVersions::default();
    let mut tallies = super::summary::BatchTallies::default();
    for request in batch {
        exec_cached(conn, "SAVEPOINT request").map_err(backend("starting a savepoint"))?;
        let result = match request {
            Request::Append { case, expected, events, rows, numbering, .. } => {
                append_one(conn, projection, &versions, *case, *expected, events, rows, numbering.as_deref()).map(
                    |written| {
                        versions.insert(*case, *expected + events.len() as u64);
                        appended(*case, *expected, events, written)
                    },
                )
            }
            other => apply_other(conn, other, projection, &mut tallies),
        };
        if result.is_err() {
            exec_cached(conn, "ROLLBACK TO request").map_err(backend("rolling back a savepoint"))?;
        }
        exec_cached(conn, "RELEASE request").map_err(backend("releasing a savepoint"))?;
        results.push(result);
    }
    // A failure here fails the batch as a whole (rolled back by the caller).
    tallies.write(conn)?;
    let (last, fsync) = commit(conn, &results)?;
    Ok((results, last, fsync))
}

/// The requests other than appends.
pub(super) fn apply_other(
    conn: &Connection,
    request: &Request,
    projection: &Projection,
    tallies: &mut super::summary::BatchTallies,
) -> Result<Done, StoreError> {
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
        Request::Settle { unsettled, tallies: settled, .. } => {
            super::summary::settle(conn, unsettled, settled, tallies).map(Done::Settled)
        }
    }
}

/// Runs a statement without parameters through the statement cache (transaction control runs
/// several times per batch; parsing it each time showed in profiles).
pub(super) fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute([])
}

/// True when the deployment is new.
pub(super) fn save_deployment(conn: &Connection, d: &Deployment, body: &str) -> Result<bool, StoreError> {
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
pub(super) fn live_claims(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<HashMap<(CaseId, TaskNo), DateTime<Utc>>, StoreError> {
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
pub(super) fn claim_timers(
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

pub(super) fn release_timer(conn: &Connection, node: &str, case: CaseId, task: TaskNo) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM timer_claims WHERE case_id = ?1 AND task = ?2 AND claimed_by = ?3")
        .and_then(|mut s| s.execute(params![case.to_string(), task, node]))
        .map_err(backend("releasing a timer"))?;
    Ok(())
}

#[expect(clippy::too_many_arguments, reason = "an append request's fields, borrowed from it one by one")]
pub(super) fn append_one(
    conn: &Connection,
    projection: &Projection,
    versions: &BatchVersions,
    case: CaseId,
    expected: u64,
    events: &[Recorded],
    rows: &[Row],
    numbering: Option<&crate::model::Numbering>,
) -> Result<Written, StoreError> {
    let sop = check_append(conn, projection, versions, case, expected, events)?;
    write_append(conn, case, events, rows, &sop, numbering)
}

/// What an append needs to know of its case's SOP.
pub(super) enum CaseSop {
    /// A new case: the SOP is in its first event, and the case gets its row.
    New,
    /// The case's SOP (empty when no task opens, which is the only thing that needs it).
    Known(Name),
}

/// Everything that can refuse an append, before anything is written: the case's version, the
/// first event of a new case, the numbering of the events.
pub(super) fn check_append(
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
pub(super) type Written = (Vec<i64>, Vec<IndexChange>);

/// Writes a checked append: the events and a new case's row.
pub(super) fn write_append(
    conn: &Connection,
    case: CaseId,
    events: &[Recorded],
    rows: &[Row],
    sop: &CaseSop,
    numbering: Option<&crate::model::Numbering>,
) -> Result<Written, StoreError> {
    let id = case.to_string();
    let mut positions = Vec::with_capacity(rows.len());
    // A registered start: its first event's body with the number taken now.
    let first_body = match (numbering, sop) {
        (Some(numbering), CaseSop::New) => Some(take_number(conn, &id, events, numbering)?),
        (Some(_), CaseSop::Known(_)) => {
            return Err(StoreError::Refused("only a new case takes a registration number".into()))
        }
        (None, _) => None,
    };
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
        for (i, row) in rows.iter().enumerate() {
            let body = match (&first_body, i) {
                (Some(body), 0) => body,
                _ => &row.body,
            };
            insert.execute(params![id, row.seq, row.at, row.by, body]).map_err(backend("inserting an event"))?;
            positions.push(conn.last_insert_rowid());
        }
    }
    super::summary::write(conn, &id, events)?;
    // A claim on a deadline that goes is left in its table: it is on that deadline only (task
    // numbers are never reused), which nobody looks for again, and it is deleted once its
    // lease runs out (see `claim_timers`).
    let mut changes = Vec::new();
    for_each_index_change(&sop, events, |change| changes.push(change));
    Ok((positions, changes))
}

/// Takes the next number of `numbering`'s sequence for a new case (under the batch's write
/// lock, so no other process takes it too) and returns its first event's body with the number.
fn take_number(
    conn: &Connection,
    id: &str,
    events: &[Recorded],
    numbering: &crate::model::Numbering,
) -> Result<String, StoreError> {
    use crate::runtime::store::registry;
    let first = registry::requested(events).map(|_| &events[0])?;
    let sequence = numbering.sequence();
    let n: i64 = conn
        .prepare_cached(
            "INSERT INTO registration_sequences (sequence, last) VALUES (?1, 1) \
             ON CONFLICT (sequence) DO UPDATE SET last = last + 1 RETURNING last",
        )
        .and_then(|mut s| s.query_row(params![sequence], |row| row.get(0)))
        .map_err(backend("taking a registration number"))?;
    let n = u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("registration sequence {sequence} is at {n}")))?;
    let (first, registration) = registry::numbered(first, numbering, n)?;
    match conn
        .prepare_cached("INSERT INTO registrations (number, case_id) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![registration.number, id]))
    {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            return Err(registry::taken(&registration.number))
        }
        Err(e) => return Err(backend("recording a registration number")(e)),
    }
    serde_json::to_string(&first.event).map_err(backend("serializing an event"))
}

/// Serializes events for the committing thread.
pub(super) fn rows_of(events: &[Recorded]) -> Result<Vec<Row>, StoreError> {
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
