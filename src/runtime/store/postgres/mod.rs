//! The shared store: PostgreSQL, for several engine processes ("nodes") on one database.
//!
//! The contract is the `Store` trait's, kept with the database's own tools:
//!
//! - Appends are committed in groups (`committer.rs`): the appends a node has queued share one
//!   transaction and a fixed number of round trips. The case's row in `cases` carries its
//!   version; the batch locks its cases' rows (`FOR UPDATE`, in case-id order) and inserts its
//!   new cases (`ON CONFLICT DO NOTHING`), so of two nodes appending at the same version the
//!   second sees the first's version once it has the lock and gets `Conflict`, and writes
//!   nothing; the rest of its batch goes on.
//! - The events and the inbox, timer and summary rows go in the same transaction, one
//!   statement per kind for the whole batch. Right after the commit the batch's changes are
//!   announced with one `NOTIFY` in a transaction of its own (see `committer::announce`: a
//!   NOTIFY inside the append would serialize all commits).
//! - Deadlines are claimed with `SELECT ... FOR UPDATE SKIP LOCKED`, setting `claimed_by` and
//!   `lease_until`: of several nodes claiming at once each deadline goes to one, and a lease
//!   that ran out can be claimed by any node.
//! - The change feed is `LISTEN` on a dedicated connection; a notification reaches every node
//!   within milliseconds of the commit (the stated bound, in docs/postgres.md, is one second
//!   while that connection is up). When the connection drops the feed reconnects every second
//!   and then sends `Change::Resync`.
//!
//! Instants are stored as fixed-width RFC 3339 text in UTC with nanoseconds (`COLLATE "C"`),
//! as in the SQLite store: they read back exactly and sort as text in time order. Events and
//! deployments are kept as JSON text, byte for byte as written.

use async_trait::async_trait;

mod summary;
use chrono::{DateTime, SecondsFormat, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, NoTls};
use tracing::Instrument;

mod alone;
mod archive;
mod committer;
mod feed;
mod schema;

use feed::*;
use schema::*;

pub(crate) use schema::run_migrations;

use super::{
    check_numbering, index_changes, BlobStore, Change, ChangeFeed, Deployment, DeploymentStore, EventLog, InboxIndex,
    IndexChange, OpenTask, StoreError, Timer, TimerIndex, CHANGE_FEED_CAPACITY,
};
use crate::runtime::event::{Event, Recorded};
use crate::runtime::{CaseId, Name, TaskNo};

/// Pooled connections when the URL does not say (`pool_size=N`).
const DEFAULT_POOL_SIZE: usize = 32;

/// How long the change feed waits before connecting again after losing its connection.
const RECONNECT: Duration = Duration::from_secs(1);

/// How long connecting may take when the URL does not say (`connect_timeout=SECONDS`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct PostgresStore {
    pool: Pool,
    /// The schema every connection works in (its `search_path`).
    schema: String,
    /// The NOTIFY channel of this schema.
    channel: String,
    feed: broadcast::Sender<Change>,
    listener: Mutex<Option<tokio::task::AbortHandle>>,
    /// What `/metrics` reads, once the server asks (`Store::observe`): the appends' commits.
    metrics: std::sync::Arc<std::sync::OnceLock<crate::runtime::metrics::StoreCounters>>,
    /// The appends' queue, which the committer tasks take batches from.
    appends: mpsc::UnboundedSender<committer::Request>,
    stats: std::sync::Arc<committer::Counters>,
    /// False with `ALUR_PG_GROUP_COMMIT=off`: each append in a transaction of its own, as
    /// before group commit (for a benchmark's before-and-after in one build).
    group_commit: bool,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Ok(mut listener) = self.listener.lock() {
            if let Some(handle) = listener.take() {
                handle.abort();
            }
        }
    }
}

/// A stored value that does not read back: the database was changed outside alur or is damaged.
fn corrupt<E: std::fmt::Display>(doing: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Corrupt(format!("postgres store: {doing}: {e}"))
}

/// Maps a database (or other) error to a backend error that says what was being done.
fn backend<E: std::fmt::Display>(doing: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Backend(format!("postgres store: {doing}: {e}"))
}

/// What went wrong, in full: tokio-postgres's Display says only "db error" or "error
/// connecting to server", the cause is in the database error or the source.
/// PostgreSQL's own words for an error where it gave some, else the driver's.
pub(crate) fn detail(e: &tokio_postgres::Error) -> String {
    if let Some(d) = e.as_db_error() {
        return d.message().to_string();
    }
    match std::error::Error::source(e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

fn db(doing: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| {
        let message = format!("postgres store: {doing}: {}", detail(&e));
        if is_transient(&e) {
            StoreError::Transient(message)
        } else {
            StoreError::Backend(message)
        }
    }
}

/// The connection was lost, or the server cancelled the transaction for a reason that passes
/// (a serialization failure, a deadlock, a server shutting down or not yet accepting): the
/// same command may succeed when tried again.
pub(crate) fn is_transient(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    if e.is_closed() {
        return true;
    }
    let Some(code) = e.code() else { return false };
    [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::TOO_MANY_CONNECTIONS,
    ]
    .contains(code)
        || code.code().starts_with("08")
}

fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("postgres store: bad timestamp `{text}`: {e}")))
}

fn to_i64(n: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Refused(format!("postgres store: {what} {n} is too large")))
}

fn task_no(n: i64) -> Result<TaskNo, StoreError> {
    TaskNo::try_from(n).map_err(|_| StoreError::Corrupt(format!("postgres store: bad task number {n}")))
}

/// What `PostgresStore::open` takes from the URL beyond what tokio-postgres understands.
struct Spec {
    config: tokio_postgres::Config,
    schema: String,
    pool_size: usize,
}

/// A schema name alur accepts: it goes into `search_path` and a NOTIFY channel name unquoted.
fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

fn parse_spec(url: &str) -> Result<Spec, StoreError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut schema = "public".to_string();
    let mut pool_size = DEFAULT_POOL_SIZE;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("schema", value)) => schema = value.to_string(),
            Some(("pool_size", value)) => {
                pool_size = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    StoreError::Config(format!("postgres store: `pool_size={value}` is not a positive number"))
                })?
            }
            _ => rest.push(pair),
        }
    }
    if !valid_schema(&schema) {
        return Err(StoreError::Config(format!(
            "postgres store: schema `{schema}` is not a valid name (lower-case letters, digits and `_`, \
             not starting with a digit, at most 40 characters)"
        )));
    }
    let url = if rest.is_empty() { base.to_string() } else { format!("{base}?{}", rest.join("&")) };
    // The error may quote the URL, which may hold a password: say only what is wrong.
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| StoreError::Config(format!("postgres store: bad database URL: {e}")))?;
    if config.get_user().is_none() {
        let user = std::env::var("PGUSER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "postgres".into());
        config.user(&user);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("alur");
    }
    // Every connection works in the schema, and only there.
    let options = match config.get_options() {
        Some(options) => format!("{options} -c search_path={schema}"),
        None => format!("-c search_path={schema}"),
    };
    config.options(&options);
    Ok(Spec { config, schema, pool_size })
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/database`, with optional
    /// `schema=NAME` and `pool_size=N` query parameters besides those of libpq URLs), creates
    /// the schema if needed, brings it up to date, and starts listening for changes.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let spec = parse_spec(url)?;
        let manager =
            Manager::from_config(spec.config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(spec.pool_size).build().map_err(backend("building the pool"))?;
        let channel = format!("alur_changes_{}", spec.schema);
        let metrics = std::sync::Arc::new(std::sync::OnceLock::new());
        let stats = std::sync::Arc::new(committer::Counters::default());
        let appends = committer::start(committer::Shared {
            pool: pool.clone(),
            channel: channel.clone(),
            metrics: metrics.clone(),
            stats: stats.clone(),
        });
        let store = PostgresStore {
            pool,
            schema: spec.schema,
            channel,
            feed: broadcast::channel(CHANGE_FEED_CAPACITY).0,
            listener: Mutex::new(None),
            metrics,
            appends,
            stats,
            group_commit: std::env::var("ALUR_PG_GROUP_COMMIT").as_deref() != Ok("off"),
        };
        store.migrate().await?;
        // Listening before `open` returns: a change committed after it is announced.
        let (ready, started) = oneshot::channel();
        let task = tokio::spawn(listen(spec.config, store.channel.clone(), store.feed.clone(), ready));
        if let Ok(mut listener) = store.listener.lock() {
            *listener = Some(task.abort_handle());
        }
        started.await.map_err(backend("starting the change feed"))??;
        Ok(store)
    }

    /// The store's connection pool (every connection works in the store's schema): the
    /// server keeps its accounts in the same database through it.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// How well group commit is doing: transactions committed and the appends they carried.
    pub fn commit_stats(&self) -> super::CommitStats {
        use std::sync::atomic::Ordering::Relaxed;
        super::CommitStats { commits: self.stats.commits.load(Relaxed), requests: self.stats.requests.load(Relaxed) }
    }

    /// The schema this store works in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The current schema version (the highest migration applied).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version", &[])
            .await
            .map_err(db("reading the schema version"))?;
        Ok(row.get(0))
    }

    /// Drops the store's schema with everything in it (for tests and benchmarks that made a
    /// schema of their own).
    pub async fn drop_schema(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .await
            .map_err(db("dropping the schema"))
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        client(&self.pool).await
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", self.schema))
            .await
            .or_else(|e| {
                // Two nodes creating the schema at once: the loser's error means it exists.
                if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(db("creating the schema"))?;
        run_migrations(&mut client, MIGRATIONS, "schema_version", MIGRATION_LOCK)
            .await
            .map_err(|problem| StoreError::Schema(format!("postgres store: schema `{}`: {problem}", self.schema)))
    }
}

/// A pooled connection; not getting one is transient unless the database refused who we are.
async fn client(pool: &Pool) -> Result<deadpool_postgres::Object, StoreError> {
    pool.get().await.map_err(|e| {
        use deadpool_postgres::PoolError;
        // As the accounts' connections: no connection to be had (unreachable, refusing,
        // the pool exhausted past its wait) passes; a refused password does not.
        let transient = match &e {
            PoolError::Backend(e) => e.as_db_error().is_none() || is_transient(e),
            PoolError::Timeout(_) | PoolError::Closed => true,
            _ => false,
        };
        let detail = match &e {
            PoolError::Backend(e) => detail(e),
            other => other.to_string(),
        };
        let message = format!("postgres store: connecting: {detail}");
        if transient {
            StoreError::Transient(message)
        } else {
            StoreError::Backend(message)
        }
    })
}

/// An event of `case` from a row whose columns from `first` on are seq, at, by and body.
fn recorded_from(case: CaseId, row: &tokio_postgres::Row, first: usize) -> Result<Recorded, StoreError> {
    Ok(Recorded {
        case,
        seq: u64::try_from(row.get::<_, i64>(first)).map_err(corrupt("reading a seq"))?,
        at: parse_time(row.get(first + 1))?,
        by: row.get::<_, String>(first + 2).into(),
        event: serde_json::from_str(row.get::<_, &str>(first + 3)).map_err(corrupt("decoding an event"))?,
    })
}

/// An append's events as the columns of `events`, with what the append is checked by.
struct EventRows {
    seqs: Vec<i64>,
    ats: Vec<String>,
    bys: Vec<String>,
    bodies: Vec<String>,
    /// The SOP of a new case's `CaseStarted`.
    started: Option<String>,
    /// Checked after the version: a stale caller hears `Conflict`.
    misnumbered: Option<StoreError>,
}

impl EventRows {
    fn of(case: CaseId, expected: u64, events: &[Recorded]) -> Result<EventRows, StoreError> {
        let n = events.len();
        let mut rows = EventRows {
            seqs: Vec::with_capacity(n),
            ats: Vec::with_capacity(n),
            bys: Vec::with_capacity(n),
            bodies: Vec::with_capacity(n),
            started: None,
            misnumbered: check_numbering(case, expected, events).err(),
        };
        for r in events {
            rows.seqs.push(to_i64(r.seq, "seq")?);
            rows.ats.push(time_text(r.at));
            rows.bys.push(r.by.to_string());
            rows.bodies.push(serde_json::to_string(&r.event).map_err(backend("serializing an event"))?);
        }
        rows.started = match events.first().map(|e| &e.event) {
            Some(Event::CaseStarted { sop, .. }) => Some(sop.to_string()),
            _ => None,
        };
        if expected == 0 && rows.started.is_none() {
            return Err(StoreError::Refused("a case must start with CaseStarted".into()));
        }
        Ok(rows)
    }
}

/// A statement with its parameters, owned, to be run in a pipeline.
struct Statement {
    sql: &'static str,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

fn statement(sql: &'static str, params: Vec<Box<dyn ToSql + Sync + Send>>) -> Statement {
    Statement { sql, params }
}

/// Runs statements in order on one connection (in the caller's transaction), sending them all
/// before waiting for the replies.
async fn pipeline(tx: &deadpool_postgres::Transaction<'_>, statements: &[Statement]) -> Result<(), StoreError> {
    let mut prepared = Vec::with_capacity(statements.len());
    for s in statements {
        prepared.push(tx.prepare_cached(s.sql).await.map_err(db("preparing a statement"))?);
    }
    let runs = statements.iter().zip(&prepared).map(|(s, p)| {
        let params: Vec<&(dyn ToSql + Sync)> = s.params.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
        async move { tx.execute(p, &params).await }
    });
    futures_util::future::try_join_all(runs).await.map_err(db("writing events and indexes"))?;
    Ok(())
}

/// An SQL string literal in the escape form (`E'...'`), which reads the same whatever
/// `standard_conforming_strings` says. NUL cannot be in a PostgreSQL string and is dropped.
fn quote_literal(text: &str) -> String {
    format!("E'{}'", text.replace('\0', "").replace('\\', "\\\\").replace('\'', "''"))
}

fn open_task_from(row: &tokio_postgres::Row) -> Result<OpenTask, StoreError> {
    Ok(OpenTask {
        case: CaseId(row.get(0)),
        task: task_no(row.get(1))?,
        sop: row.get::<_, String>(2).into(),
        step: row.get::<_, String>(3).into(),
        due: row.get::<_, Option<String>>(4).map(|due| parse_time(&due)).transpose()?,
        claimed_by: row.get(5),
        actors: row.get::<_, Vec<String>>(6).into_iter().map(Name::from).collect(),
    })
}

fn timer_from(row: &tokio_postgres::Row) -> Result<Timer, StoreError> {
    Ok(Timer { case: CaseId(row.get(0)), task: task_no(row.get(1))?, due: parse_time(row.get(2))? })
}

#[async_trait]
impl BlobStore for PostgresStore {
    async fn put_blob(&self, bytes: Vec<u8>) -> Result<String, StoreError> {
        let sha256 = crate::runtime::media::sha256_hex(&bytes);
        let client = self.client().await?;
        // A row there already is this content, unless damaged: then it is replaced.
        let stmt = client
            .prepare_cached(
                "INSERT INTO blobs (sha256, size, bytes) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO UPDATE \
                 SET size = EXCLUDED.size, bytes = EXCLUDED.bytes WHERE blobs.bytes <> EXCLUDED.bytes",
            )
            .await
            .map_err(db("storing a document"))?;
        client
            .execute(&stmt, &[&sha256, &to_i64(bytes.len() as u64, "size")?, &bytes])
            .await
            .map_err(db("storing a document"))?;
        Ok(sha256)
    }

    async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT bytes FROM blobs WHERE sha256 = $1")
            .await
            .map_err(db("reading a document"))?;
        let row = client.query_opt(&stmt, &[&sha256]).await.map_err(db("reading a document"))?;
        row.map(|row| super::verified(sha256, row.get(0))).transpose()
    }

    async fn has_blob(&self, sha256: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT 1 FROM blobs WHERE sha256 = $1")
            .await
            .map_err(db("looking for a document"))?;
        Ok(client.query_opt(&stmt, &[&sha256]).await.map_err(db("looking for a document"))?.is_some())
    }
}

#[async_trait]
impl super::Registry for PostgresStore {
    async fn append_registered(
        &self,
        case: CaseId,
        events: Vec<Recorded>,
        numbering: &crate::model::Numbering,
    ) -> Result<crate::runtime::event::Registration, StoreError> {
        super::registry::requested(&events)?;
        self.append_numbered(case, 0, &events, Some(numbering))
            .await?
            .ok_or_else(|| StoreError::Backend(format!("case {case} was appended without its number")))
    }

    async fn case_by_number(&self, number: &str) -> Result<Option<CaseId>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT case_id FROM registrations WHERE number = $1")
            .await
            .map_err(db("looking up a registration number"))?;
        let row = client.query_opt(&stmt, &[&number]).await.map_err(db("looking up a registration number"))?;
        Ok(row.map(|row| CaseId(row.get(0))))
    }
}

#[async_trait]
impl EventLog for PostgresStore {
    async fn ready(&self) -> Result<(), StoreError> {
        super::schema_current(self.schema_version().await?, MIGRATIONS.len())
    }

    fn sharing(&self) -> super::Sharing {
        super::Sharing::Nodes
    }

    async fn append(&self, case: CaseId, expected: u64, events: &[Recorded]) -> Result<(), StoreError> {
        if !self.group_commit {
            return self.append_alone(case, expected, events).await;
        }
        to_i64(expected + events.len() as u64, "version")?;
        let EventRows { seqs, ats, bys, bodies, started, misnumbered } = EventRows::of(case, expected, events)?;
        let (reply, answer) = oneshot::channel();
        let request = committer::Request {
            case,
            expected,
            events: events.to_vec(),
            seqs,
            ats,
            bys,
            bodies,
            started,
            misnumbered,
            reply,
        };
        self.appends
            .send(request)
            .map_err(|_| StoreError::Backend("postgres store: the committer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("postgres store: the committer stopped before answering".into()))?
    }

    async fn events(&self, case: CaseId) -> Result<Vec<Recorded>, StoreError> {
        self.events_after(case, 0).await
    }

    async fn events_after(&self, case: CaseId, seq: u64) -> Result<Vec<Recorded>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            // An archived case's events are in `archived_events` (see `archive.rs`); one
            // statement reads one snapshot, where the case is in exactly one of the two.
            .prepare_cached(
                r#"SELECT seq, at, "by", body FROM events WHERE case_id = $1 AND seq > $2
                   UNION ALL
                   SELECT seq, at, "by", body FROM archived_events WHERE case_id = $1 AND seq > $2
                   ORDER BY seq"#,
            )
            .await
            .map_err(db("reading events"))?;
        let rows = client.query(&stmt, &[&case.0, &to_i64(seq, "seq")?]).await.map_err(db("reading events"))?;
        rows.iter().map(|row| recorded_from(case, row, 0)).collect()
    }

    async fn events_after_each(&self, asks: &[(CaseId, u64)]) -> Result<Vec<Vec<Recorded>>, StoreError> {
        let ids: Vec<uuid::Uuid> = asks.iter().map(|(case, _)| case.0).collect();
        let after: Vec<i64> = asks.iter().map(|&(_, seq)| to_i64(seq, "seq")).collect::<Result<_, _>>()?;
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                r#"WITH asked (case_id, after, n) AS
                       (SELECT * FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY)
                   SELECT a.n, e.seq, e.at, e."by", e.body
                     FROM asked a JOIN events e ON e.case_id = a.case_id AND e.seq > a.after
                   UNION ALL
                   SELECT a.n, e.seq, e.at, e."by", e.body
                     FROM asked a JOIN archived_events e ON e.case_id = a.case_id AND e.seq > a.after
                   ORDER BY 1, 2"#,
            )
            .await
            .map_err(db("reading events"))?;
        let rows = client.query(&stmt, &[&ids, &after]).await.map_err(db("reading events"))?;
        let mut out: Vec<Vec<Recorded>> = vec![Vec::new(); asks.len()];
        for row in &rows {
            // The ask's place, from 1.
            let n = usize::try_from(row.get::<_, i64>(0) - 1).ok().filter(|n| *n < asks.len());
            let Some(n) = n else {
                return Err(StoreError::Corrupt("postgres store: a read answered a case not asked".into()));
            };
            out[n].push(recorded_from(asks[n].0, row, 1)?);
        }
        Ok(out)
    }

    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT case_id, pos FROM cases UNION ALL SELECT case_id, pos FROM archived_cases ORDER BY pos",
            )
            .await
            .map_err(db("reading cases"))?;
        let rows = client.query(&stmt, &[]).await.map_err(db("reading cases"))?;
        Ok(rows.iter().map(|row| CaseId(row.get(0))).collect())
    }
}

#[async_trait]
impl InboxIndex for PostgresStore {
    async fn open_tasks(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError> {
        let client = self.client().await?;
        let rows = if actors.is_empty() {
            let stmt = client
                .prepare_cached(
                    "SELECT case_id, task, sop, step, due, claimed_by, actors FROM open_tasks ORDER BY case_id, task",
                )
                .await
                .map_err(db("reading open tasks"))?;
            client.query(&stmt, &[]).await
        } else {
            let stmt = client
                .prepare_cached(
                    "SELECT case_id, task, sop, step, due, claimed_by, actors FROM open_tasks
                     WHERE actors && $1::TEXT[] ORDER BY case_id, task",
                )
                .await
                .map_err(db("reading open tasks"))?;
            client.query(&stmt, &[&actors]).await
        }
        .map_err(db("reading open tasks"))?;
        rows.iter().map(open_task_from).collect()
    }
}

#[async_trait]
impl TimerIndex for PostgresStore {
    async fn due_timers(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT case_id, task, due FROM timers WHERE due <= $1 ORDER BY due, case_id, task LIMIT $2",
            )
            .await
            .map_err(db("reading timers"))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client.query(&stmt, &[&time_text(until), &limit]).await.map_err(db("reading timers"))?;
        rows.iter().map(timer_from).collect()
    }

    async fn next_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached("SELECT MIN(due) FROM timers").await.map_err(db("reading the next timer"))?;
        let row = client.query_one(&stmt, &[]).await.map_err(db("reading the next timer"))?;
        row.get::<_, Option<&str>>(0).map(parse_time).transpose()
    }

    async fn claim_due_timers(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<Timer>, StoreError> {
        let client = self.client().await?;
        // SKIP LOCKED: rows another node is claiming right now are passed over; a row whose
        // claim committed meanwhile is re-checked after locking and no longer qualifies.
        let stmt = client
            .prepare_cached(
                "UPDATE timers t SET claimed_by = $1, lease_until = $3
                 FROM (SELECT case_id, task FROM timers
                       WHERE due <= $2 AND (lease_until IS NULL OR lease_until <= $2)
                       ORDER BY due, case_id, task LIMIT $4
                       FOR UPDATE SKIP LOCKED) c
                 WHERE t.case_id = c.case_id AND t.task = c.task
                 RETURNING t.case_id, t.task, t.due",
            )
            .await
            .map_err(db("claiming timers"))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(&stmt, &[&node, &time_text(now), &time_text(now + lease), &limit])
            .await
            .map_err(db("claiming timers"))?;
        let mut timers = rows.iter().map(timer_from).collect::<Result<Vec<_>, _>>()?;
        timers.sort_by_key(|t| (t.due, t.case, t.task));
        Ok(timers)
    }

    async fn release_timer(&self, node: &str, case: CaseId, task: TaskNo) -> Result<(), StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE timers SET claimed_by = NULL, lease_until = NULL
                 WHERE case_id = $1 AND task = $2 AND claimed_by = $3",
            )
            .await
            .map_err(db("releasing a timer"))?;
        client.execute(&stmt, &[&case.0, &i64::from(task), &node]).await.map_err(db("releasing a timer"))?;
        Ok(())
    }

    async fn next_claimable_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let client = self.client().await?;
        // The earliest unleased deadline (by the due index), or a lease that ends earlier
        // (few rows: only deadlines being fired, or held by a node that died).
        let stmt = client
            .prepare_cached(
                "SELECT LEAST(
                     (SELECT MIN(due) FROM timers WHERE lease_until IS NULL),
                     (SELECT MIN(GREATEST(due, lease_until)) FROM timers WHERE lease_until IS NOT NULL))",
            )
            .await
            .map_err(db("reading the next claimable timer"))?;
        let row = client.query_one(&stmt, &[]).await.map_err(db("reading the next claimable timer"))?;
        row.get::<_, Option<&str>>(0).map(parse_time).transpose()
    }
}

#[async_trait]
impl DeploymentStore for PostgresStore {
    async fn save_deployment(&self, d: &Deployment) -> Result<(), StoreError> {
        let body = serde_json::to_string(d).map_err(backend("serializing a deployment"))?;
        let change = serde_json::to_string(&Change::Deployed { sop: d.sop.clone(), version: d.version })
            .map_err(backend("serializing a change"))?;
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "WITH saved AS (
                     INSERT INTO deployments (sop, version, sha256, deployed_at, body) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (sop, version) DO NOTHING RETURNING 1)
                 SELECT pg_notify($6, $7) FROM saved",
            )
            .await
            .map_err(db("saving a deployment"))?;
        client
            .query(
                &stmt,
                &[&d.sop, &i64::from(d.version), &d.sha256, &time_text(d.deployed_at), &body, &self.channel, &change],
            )
            .await
            .map_err(db("saving a deployment"))?;
        Ok(())
    }

    async fn deployments(&self) -> Result<Vec<Deployment>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT body FROM deployments ORDER BY pos")
            .await
            .map_err(db("reading deployments"))?;
        let rows = client.query(&stmt, &[]).await.map_err(db("reading deployments"))?;
        rows.iter()
            .map(|row| serde_json::from_str(row.get::<_, &str>(0)).map_err(corrupt("decoding a deployment")))
            .collect()
    }
}

impl ChangeFeed for PostgresStore {
    fn changes(&self) -> broadcast::Receiver<Change> {
        self.feed.subscribe()
    }

    fn observe(&self, metrics: std::sync::Arc<crate::runtime::metrics::StoreMetrics>) {
        let _ = self.metrics.set(metrics.of("postgres"));
    }

    fn feed_reach(&self) -> super::FeedReach {
        super::FeedReach::AllNodes
    }
}
