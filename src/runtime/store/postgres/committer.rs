//! The write side: group commit on PostgreSQL, as the SQLite store's `committer.rs` does it.
//!
//! Appends are queued; a few committer tasks per store (`COMMITTERS`) each take whatever is
//! queued (up to `MAX_BATCH`) and write it in one transaction with a fixed number of round
//! trips, however many appends the batch holds:
//!
//! 1. `BEGIN`, the batch's case rows locked in case-id order (`SELECT ... FOR UPDATE`: two
//!    batches, of this node or another, never wait on each other in a cycle) with their
//!    versions, and the new cases inserted (`ON CONFLICT DO NOTHING`), pipelined;
//! 2. each append judged in Rust against those versions, in queue order (a conflict or a
//!    misnumbered append fails alone, before anything of it is written);
//! 3. the winners' writes, pipelined: one `UNNEST` statement for every event of the batch, one
//!    for the cases' new versions, and one per kind of index or summary change and position in
//!    its append (a case's changes stay in their order; different cases' rows never meet);
//! 4. `COMMIT`, then one `NOTIFY` for the whole batch.
//!
//! A batch that fails after step 2 (a database error, not a conflict) is done again one append
//! per transaction, so only the append at fault fails.

use super::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::runtime::metrics::StoreCounters;
use crate::runtime::store::summary::summary_change;

/// Committer tasks per store: while one waits for its `COMMIT` (the fsync), another gathers
/// and writes the next batch.
pub(super) const COMMITTERS: usize = 2;

/// The most appends one transaction takes: bounds how long the first of a batch waits.
pub(super) const MAX_BATCH: usize = 512;

/// A NOTIFY payload must stay under 8000 bytes: a batch's changes go in arrays below this.
const MAX_PAYLOAD: usize = 7000;

pub(super) type Reply = oneshot::Sender<Result<(), StoreError>>;

/// An append, serialized by its caller: the committer spends its time on the database.
pub(super) struct Request {
    pub(super) case: CaseId,
    pub(super) expected: u64,
    pub(super) events: Vec<Recorded>,
    pub(super) seqs: Vec<i64>,
    pub(super) ats: Vec<String>,
    pub(super) bys: Vec<String>,
    pub(super) bodies: Vec<String>,
    /// The SOP of a new case (`expected == 0`, first event `CaseStarted`).
    pub(super) started: Option<String>,
    /// The append's events are not numbered on from `expected` (said after the version check).
    pub(super) misnumbered: Option<StoreError>,
    pub(super) reply: Reply,
}

impl Request {
    fn version(&self) -> u64 {
        self.expected + self.events.len() as u64
    }
}

/// What the committers share with the store.
pub(super) struct Shared {
    pub(super) pool: Pool,
    pub(super) channel: String,
    pub(super) metrics: Arc<std::sync::OnceLock<StoreCounters>>,
    pub(super) stats: Arc<Counters>,
}

/// How well group commit is doing (`PostgresStore::commit_stats`).
#[derive(Default)]
pub(super) struct Counters {
    pub(super) commits: std::sync::atomic::AtomicU64,
    pub(super) requests: std::sync::atomic::AtomicU64,
}

/// Starts the committer tasks; they end once the store (the sender) is dropped and the queue
/// is empty.
pub(super) fn start(shared: Shared) -> mpsc::UnboundedSender<Request> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    let shared = Arc::new(shared);
    for _ in 0..COMMITTERS {
        let (receiver, shared) = (receiver.clone(), shared.clone());
        tokio::spawn(async move {
            loop {
                let batch = {
                    let mut receiver = receiver.lock().await;
                    let Some(first) = receiver.recv().await else { return };
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match receiver.try_recv() {
                            Ok(request) => batch.push(request),
                            Err(_) => break,
                        }
                    }
                    batch
                };
                shared.run(batch).await;
            }
        });
    }
    sender
}

/// Each append's outcome, decided before anything is written.
enum Verdict {
    Refused(StoreError),
    /// Written with this SOP (the case's).
    Win(String),
}

impl Shared {
    async fn run(&self, batch: Vec<Request>) {
        let span = tracing::info_span!(parent: None, "commit", store = "postgres", requests = batch.len());
        async {
            let mut client = match client(&self.pool).await {
                Ok(client) => client,
                Err(error) => {
                    for request in batch {
                        let _ = request.reply.send(Err(error.clone()));
                    }
                    return;
                }
            };
            match self.commit(&mut client, &batch).await {
                Ok(verdicts) => {
                    let changes: Vec<Change> = batch
                        .iter()
                        .zip(&verdicts)
                        .filter(|(_, v)| matches!(v, Verdict::Win(_)))
                        .map(|(r, _)| Change::Appended { case: r.case, version: r.version() })
                        .collect();
                    announce(&client, &self.channel, &changes).await;
                    for (request, verdict) in batch.into_iter().zip(verdicts) {
                        let _ = request.reply.send(match verdict {
                            Verdict::Win(_) => Ok(()),
                            Verdict::Refused(error) => Err(error),
                        });
                    }
                }
                Err((error, committing)) if batch.len() == 1 || committing => {
                    // A failed COMMIT may or may not have committed: nothing is done again
                    // (the engine re-reads a case before its next command).
                    for request in batch {
                        let _ = request.reply.send(Err(error.clone()));
                    }
                }
                Err(_) => {
                    // One append may be at fault: each alone, so only it fails.
                    drop(client);
                    for request in batch {
                        Box::pin(self.run(vec![request])).await;
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// The batch's transaction. The error says whether it came from the `COMMIT` itself.
    async fn commit(
        &self,
        client: &mut deadpool_postgres::Object,
        batch: &[Request],
    ) -> Result<Vec<Verdict>, (StoreError, bool)> {
        let began = std::time::Instant::now();
        let before = |e| (e, false);
        let tx = client.transaction().await.map_err(db("starting a transaction")).map_err(before)?;

        // Step 1: the versions of the cases there are, locked; the new cases inserted.
        let mut ids: Vec<uuid::Uuid> = batch.iter().map(|r| r.case.0).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut inserting = HashMap::new();
        let (mut new_ids, mut new_sops, mut new_versions) = (Vec::new(), Vec::new(), Vec::new());
        for (i, r) in batch.iter().enumerate() {
            if let (0, Some(sop), None) = (r.expected, &r.started, &r.misnumbered) {
                if let std::collections::hash_map::Entry::Vacant(first) = inserting.entry(r.case) {
                    first.insert(i);
                    new_ids.push(r.case.0);
                    new_sops.push(sop.clone());
                    new_versions.push(to_i64(r.version(), "version").map_err(before)?);
                }
            }
        }
        let lock = tx
            .prepare_cached(
                "SELECT case_id, version, sop FROM cases WHERE case_id = ANY($1) ORDER BY case_id FOR UPDATE",
            )
            .await
            .map_err(db("preparing the version check"))
            .map_err(before)?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO cases (case_id, sop, version) SELECT * FROM UNNEST($1::UUID[], $2::TEXT[], $3::BIGINT[])
                 ON CONFLICT (case_id) DO NOTHING RETURNING case_id",
            )
            .await
            .map_err(db("preparing the new cases"))
            .map_err(before)?;
        let (locked, inserted) = futures_util::future::join(tx.query(&lock, &[&ids]), async {
            if new_ids.is_empty() {
                Ok(Vec::new())
            } else {
                tx.query(&insert, &[&new_ids, &new_sops, &new_versions]).await
            }
        })
        .await;
        let locked = locked.map_err(db("checking the cases' versions")).map_err(before)?;
        let inserted = inserted.map_err(db("recording new cases")).map_err(before)?;

        // Step 2: each append judged, in queue order.
        let mut versions: HashMap<CaseId, (u64, String)> = HashMap::with_capacity(locked.len());
        for row in &locked {
            let version = u64::try_from(row.get::<_, i64>(1)).map_err(corrupt("reading a version")).map_err(before)?;
            versions.insert(CaseId(row.get(0)), (version, row.get(2)));
        }
        let inserted: HashSet<uuid::Uuid> = inserted.iter().map(|row| row.get(0)).collect();
        let mut moved: BTreeMap<CaseId, u64> = BTreeMap::new();
        let mut verdicts = Vec::with_capacity(batch.len());
        for (i, r) in batch.iter().enumerate() {
            let verdict = if r.expected == 0 {
                if inserting.get(&r.case) == Some(&i) && inserted.contains(&r.case.0) {
                    let sop = r.started.clone().unwrap_or_default();
                    versions.insert(r.case, (r.version(), sop.clone()));
                    Verdict::Win(sop)
                } else if versions.contains_key(&r.case) || inserting.contains_key(&r.case) {
                    Verdict::Refused(StoreError::Conflict(r.case))
                } else {
                    Verdict::Refused(r.misnumbered.clone().unwrap_or(StoreError::Conflict(r.case)))
                }
            } else {
                match versions.get_mut(&r.case) {
                    Some((version, sop)) if *version == r.expected => match &r.misnumbered {
                        Some(error) => Verdict::Refused(error.clone()),
                        None => {
                            *version = r.version();
                            moved.insert(r.case, r.version());
                            Verdict::Win(sop.clone())
                        }
                    },
                    _ => Verdict::Refused(StoreError::Conflict(r.case)),
                }
            };
            verdicts.push(verdict);
        }

        // Step 3: the winners' writes.
        let mut statements = Vec::new();
        let (mut cases, mut seqs, mut ats, mut bys, mut bodies) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut ops = Ops::default();
        for (r, verdict) in batch.iter().zip(&verdicts) {
            let Verdict::Win(sop) = verdict else { continue };
            cases.extend(std::iter::repeat_n(r.case.0, r.events.len()));
            seqs.extend_from_slice(&r.seqs);
            ats.extend_from_slice(&r.ats);
            bys.extend_from_slice(&r.bys);
            bodies.extend_from_slice(&r.bodies);
            for change in index_changes(sop, &r.events) {
                ops.index(change);
            }
            ops.summary(r.case, &r.events).map_err(before)?;
        }
        if !cases.is_empty() {
            statements.push(statement(
                r#"INSERT INTO events (case_id, seq, at, "by", body)
                   SELECT * FROM UNNEST($1::UUID[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[])"#,
                vec![Box::new(cases), Box::new(seqs), Box::new(ats), Box::new(bys), Box::new(bodies)],
            ));
        }
        if !moved.is_empty() {
            let mut versions = Vec::with_capacity(moved.len());
            for version in moved.values() {
                versions.push(to_i64(*version, "version").map_err(before)?);
            }
            let ids: Vec<uuid::Uuid> = moved.keys().map(|c| c.0).collect();
            statements.push(statement(
                "UPDATE cases c SET version = u.v FROM UNNEST($1::UUID[], $2::BIGINT[]) AS u(id, v)
                 WHERE c.case_id = u.id",
                vec![Box::new(ids), Box::new(versions)],
            ));
        }
        ops.statements(&mut statements);
        pipeline(&tx, &statements).await.map_err(before)?;

        // Step 4.
        let committing = std::time::Instant::now();
        let committed = tx.commit().await;
        if let Some(metrics) = self.metrics.get() {
            metrics.committed(committed.is_ok(), batch.len(), began.elapsed(), Some(committing.elapsed()));
        }
        committed.map_err(|e| (db("committing")(e), true))?;
        self.stats.commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.stats.requests.fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(verdicts)
    }
}

/// Announces a batch's changes right after its commit: one notification (or a few, for a
/// large batch) of a JSON array. Not in the batch's transaction: a transaction that NOTIFYs
/// holds a database-wide lock from before its commit until after it, which would serialize
/// every commit's fsync. This transaction has nothing to make durable, so it commits without
/// waiting for the disk. A failed announcement does not fail the appends (they are committed;
/// readers see them).
pub(super) async fn announce(client: &tokio_postgres::Client, channel: &str, changes: &[Change]) {
    if changes.is_empty() {
        return;
    }
    let mut payloads = Vec::new();
    let mut current = String::new();
    for change in changes {
        let Ok(json) = serde_json::to_string(change) else { continue };
        if !current.is_empty() && current.len() + json.len() + 2 > MAX_PAYLOAD {
            payloads.push(std::mem::take(&mut current) + "]");
        }
        current.push(if current.is_empty() { '[' } else { ',' });
        current.push_str(&json);
    }
    if !current.is_empty() {
        payloads.push(current + "]");
    }
    let mut sql = String::from("BEGIN; SET LOCAL synchronous_commit = off;");
    for payload in &payloads {
        sql.push_str(&format!(" SELECT pg_notify({}, {});", quote_literal(channel), quote_literal(payload)));
    }
    sql.push_str(" COMMIT");
    if client.batch_execute(&sql).await.is_err() {
        let _ = client.batch_execute("ROLLBACK").await;
    }
}

/// The kinds of index and summary change, each written for many cases by one statement.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    OpenTask,
    Claim,
    AddActor,
    CloseTask,
    CloseCase,
    SetTimer,
    ClearTimer,
    Started,
    Closed,
    Pending,
}

/// One row's worth of a statement's arrays.
enum Op {
    OpenTask {
        case: CaseId,
        task: i64,
        sop: String,
        step: String,
        due: Option<String>,
        claimed_by: Option<String>,
        actors: String,
    },
    Claim {
        case: CaseId,
        task: i64,
        user: Option<String>,
    },
    AddActor {
        case: CaseId,
        task: i64,
        actor: String,
    },
    CloseTask {
        case: CaseId,
        task: i64,
    },
    CloseCase {
        case: CaseId,
    },
    SetTimer {
        case: CaseId,
        task: i64,
        due: String,
    },
    ClearTimer {
        case: CaseId,
        task: i64,
    },
    Started {
        case: CaseId,
        sop: String,
        version: i64,
        applicant: String,
        at: String,
    },
    Closed {
        case: CaseId,
        status: String,
        at: String,
        end: Option<String>,
    },
    Pending {
        case: CaseId,
        first: i64,
        last: i64,
    },
}

impl Op {
    fn case(&self) -> CaseId {
        match self {
            Op::OpenTask { case, .. }
            | Op::Claim { case, .. }
            | Op::AddActor { case, .. }
            | Op::CloseTask { case, .. }
            | Op::CloseCase { case }
            | Op::SetTimer { case, .. }
            | Op::ClearTimer { case, .. }
            | Op::Started { case, .. }
            | Op::Closed { case, .. }
            | Op::Pending { case, .. } => *case,
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Op::OpenTask { .. } => Kind::OpenTask,
            Op::Claim { .. } => Kind::Claim,
            Op::AddActor { .. } => Kind::AddActor,
            Op::CloseTask { .. } => Kind::CloseTask,
            Op::CloseCase { .. } => Kind::CloseCase,
            Op::SetTimer { .. } => Kind::SetTimer,
            Op::ClearTimer { .. } => Kind::ClearTimer,
            Op::Started { .. } => Kind::Started,
            Op::Closed { .. } => Kind::Closed,
            Op::Pending { .. } => Kind::Pending,
        }
    }
}

/// A batch's index and summary changes grouped into statements. The n-th change of a case goes
/// into group n (with its kind): groups run in order, so each case's changes keep theirs, and
/// a statement never touches one row twice (a case is in a group once; its rows are its own).
#[derive(Default)]
struct Ops {
    groups: BTreeMap<(usize, Kind), Vec<Op>>,
    next: HashMap<CaseId, usize>,
}

impl Ops {
    fn push(&mut self, op: Op) {
        let n = self.next.entry(op.case()).or_default();
        self.groups.entry((*n, op.kind())).or_default().push(op);
        *n += 1;
    }

    fn index(&mut self, change: IndexChange) {
        self.push(match change {
            IndexChange::OpenTask(t) => Op::OpenTask {
                case: t.case,
                task: i64::from(t.task),
                sop: t.sop.to_string(),
                step: t.step.to_string(),
                due: t.due.map(time_text),
                claimed_by: t.claimed_by,
                actors: serde_json::Value::from(t.actors.iter().map(|a| a.to_string()).collect::<Vec<_>>()).to_string(),
            },
            IndexChange::Claim { case, task, user } => Op::Claim { case, task: i64::from(task), user },
            IndexChange::AddActor { case, task, actor } => Op::AddActor { case, task: i64::from(task), actor },
            IndexChange::CloseTask { case, task } => Op::CloseTask { case, task: i64::from(task) },
            IndexChange::CloseCase { case } => Op::CloseCase { case },
            IndexChange::SetTimer(t) => Op::SetTimer { case: t.case, task: i64::from(t.task), due: time_text(t.due) },
            IndexChange::ClearTimer { case, task } => Op::ClearTimer { case, task: i64::from(task) },
        });
    }

    fn summary(&mut self, case: CaseId, events: &[Recorded]) -> Result<(), StoreError> {
        let change = summary_change(events);
        if let Some(s) = &change.started {
            self.push(Op::Started {
                case,
                sop: s.sop.to_string(),
                version: i64::from(s.version),
                applicant: s.applicant.to_string(),
                at: time_text(s.at),
            });
        }
        if let Some((status, at, end)) = change.closed {
            self.push(Op::Closed { case, status: status.to_string(), at: time_text(at), end: end.map(str::to_string) });
        }
        if let Some((first, last)) = change.pending {
            self.push(Op::Pending { case, first: to_i64(first, "seq")?, last: to_i64(last, "seq")? });
        }
        Ok(())
    }

    fn statements(self, out: &mut Vec<Statement>) {
        for ((_, kind), ops) in self.groups {
            out.push(group_statement(kind, ops));
        }
    }
}

/// One statement for a group of changes of one kind, each of another case.
fn group_statement(kind: Kind, ops: Vec<Op>) -> Statement {
    let mut ids = Vec::with_capacity(ops.len());
    let mut tasks: Vec<i64> = Vec::new();
    let (mut a, mut b, mut c): (Vec<String>, Vec<String>, Vec<String>) = (Vec::new(), Vec::new(), Vec::new());
    let (mut oa, mut ob): (Vec<Option<String>>, Vec<Option<String>>) = (Vec::new(), Vec::new());
    let mut n2: Vec<i64> = Vec::new();
    for op in ops {
        ids.push(op.case().0);
        match op {
            Op::OpenTask { task, sop, step, due, claimed_by, actors, .. } => {
                tasks.push(task);
                a.push(sop);
                b.push(step);
                c.push(actors);
                oa.push(due);
                ob.push(claimed_by);
            }
            Op::Claim { task, user, .. } => {
                tasks.push(task);
                oa.push(user);
            }
            Op::AddActor { task, actor, .. } => {
                tasks.push(task);
                a.push(actor);
            }
            Op::CloseTask { task, .. } | Op::ClearTimer { task, .. } => tasks.push(task),
            Op::CloseCase { .. } => {}
            Op::SetTimer { task, due, .. } => {
                tasks.push(task);
                a.push(due);
            }
            Op::Started { sop, version, applicant, at, .. } => {
                a.push(sop);
                tasks.push(version);
                b.push(applicant);
                c.push(at);
            }
            Op::Closed { status, at, end, .. } => {
                a.push(status);
                b.push(at);
                oa.push(end);
            }
            Op::Pending { first, last, .. } => {
                tasks.push(first);
                n2.push(last);
            }
        }
    }
    match kind {
        Kind::OpenTask => statement(
            "INSERT INTO open_tasks (case_id, task, sop, step, due, claimed_by, actors)
             SELECT id, task, sop, step, due, claimed_by,
                    ARRAY(SELECT e FROM jsonb_array_elements_text(actors::JSONB) WITH ORDINALITY AS x(e, n) ORDER BY n)
             FROM UNNEST($1::UUID[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[])
                  AS u(id, task, sop, step, due, claimed_by, actors)
             ON CONFLICT (case_id, task) DO UPDATE SET sop = EXCLUDED.sop, step = EXCLUDED.step,
                 due = EXCLUDED.due, claimed_by = EXCLUDED.claimed_by, actors = EXCLUDED.actors",
            vec![Box::new(ids), Box::new(tasks), Box::new(a), Box::new(b), Box::new(oa), Box::new(ob), Box::new(c)],
        ),
        Kind::Claim => statement(
            "UPDATE open_tasks o SET claimed_by = u.who FROM UNNEST($1::UUID[], $2::BIGINT[], $3::TEXT[]) AS u(id, task, who)
             WHERE o.case_id = u.id AND o.task = u.task",
            vec![Box::new(ids), Box::new(tasks), Box::new(oa)],
        ),
        // Only to a task still open, and only once (as the fold does).
        Kind::AddActor => statement(
            "UPDATE open_tasks o SET actors = array_append(o.actors, u.actor)
             FROM UNNEST($1::UUID[], $2::BIGINT[], $3::TEXT[]) AS u(id, task, actor)
             WHERE o.case_id = u.id AND o.task = u.task AND NOT (u.actor = ANY (o.actors))",
            vec![Box::new(ids), Box::new(tasks), Box::new(a)],
        ),
        Kind::CloseTask => statement(
            "DELETE FROM open_tasks o USING UNNEST($1::UUID[], $2::BIGINT[]) AS u(id, task)
             WHERE o.case_id = u.id AND o.task = u.task",
            vec![Box::new(ids), Box::new(tasks)],
        ),
        // The open tasks go, and with them every deadline of the case (a task on hold has its
        // timer but is not in `open_tasks`).
        Kind::CloseCase => statement(
            "WITH timers_gone AS (DELETE FROM timers WHERE case_id = ANY($1::UUID[]))
             DELETE FROM open_tasks WHERE case_id = ANY($1::UUID[])",
            vec![Box::new(ids)],
        ),
        // A new deadline: nobody holds it yet.
        Kind::SetTimer => statement(
            "INSERT INTO timers (case_id, task, due, claimed_by, lease_until)
             SELECT id, task, due, NULL, NULL FROM UNNEST($1::UUID[], $2::BIGINT[], $3::TEXT[]) AS u(id, task, due)
             ON CONFLICT (case_id, task) DO UPDATE SET due = EXCLUDED.due, claimed_by = NULL, lease_until = NULL",
            vec![Box::new(ids), Box::new(tasks), Box::new(a)],
        ),
        Kind::ClearTimer => statement(
            "DELETE FROM timers t USING UNNEST($1::UUID[], $2::BIGINT[]) AS u(id, task)
             WHERE t.case_id = u.id AND t.task = u.task",
            vec![Box::new(ids), Box::new(tasks)],
        ),
        Kind::Started => statement(
            "INSERT INTO case_summaries (case_id, sop, version, applicant, status, started)
             SELECT id, sop, version, applicant, 'active', at
             FROM UNNEST($1::UUID[], $2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[]) AS u(id, sop, version, applicant, at)",
            vec![Box::new(ids), Box::new(a), Box::new(tasks), Box::new(b), Box::new(c)],
        ),
        Kind::Closed => statement(
            "UPDATE case_summaries s SET status = u.status, closed = u.at, outcome = u.outcome
             FROM UNNEST($1::UUID[], $2::TEXT[], $3::TEXT[], $4::TEXT[]) AS u(id, status, at, outcome)
             WHERE s.case_id = u.id",
            vec![Box::new(ids), Box::new(a), Box::new(b), Box::new(oa)],
        ),
        Kind::Pending => statement(
            "UPDATE case_summaries s SET pending_first = COALESCE(s.pending_first, u.first), pending_last = u.last
             FROM UNNEST($1::UUID[], $2::BIGINT[], $3::BIGINT[]) AS u(id, first, last)
             WHERE s.case_id = u.id",
            vec![Box::new(ids), Box::new(tasks), Box::new(n2)],
        ),
    }
}
