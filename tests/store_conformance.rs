//! The store contract, written once and run on every store: the in-memory one, the SQLite
//! file and PostgreSQL. A store appends a case's events only at the version the caller read
//! (also when the callers are two store instances — two "nodes" — on the same data), keeps the
//! inbox and timer indexes in step with the events, hands each due deadline to one node under
//! a lease, and announces changes on its change feed.
//!
//! PostgreSQL: `ALUR_TEST_PG` names the database (default: `postgres://postgres@127.0.0.1:5432/test`,
//! then the same as `root`); every test works in a fresh schema `alur_test_<random>`, dropped
//! at the end. Without a reachable PostgreSQL the PostgreSQL tests print `SKIPPED` and pass,
//! except under `ALUR_CI=1`, where they fail.

use alur::runtime::event::{Artifact, Storage};
use alur::runtime::store::{
    Change, Deployment, FeedReach, OpenTask, Partition, PostgresStore, Sharing, StoreError, Timer,
};
use alur::runtime::{CaseId, Engine, Event, Fields, ManualClock, MemoryStore, Recorded, SqliteStore, Store, TaskNo};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Memory,
    Sqlite,
    Postgres,
}

/// A store under test, and how to open a second instance ("node") on the same data.
pub struct Fixture {
    kind: Kind,
    first: Arc<dyn Store>,
    /// The SQLite file's directory.
    dir: Option<tempfile::TempDir>,
    /// The PostgreSQL schema of this test, dropped when the fixture goes.
    pg: Option<PgSchema>,
}

struct PgSchema {
    /// The URL of the test's schema.
    url: String,
    /// The URL of the database.
    base: String,
    schema: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // Also on a failing test (while unwinding): a runtime of its own, on a thread of its own.
        let (base, schema) = (self.base.clone(), self.schema.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(std::io::stderr(), "warning: could not drop test schema {}: {dropped:?}", self.schema);
        }
    }
}

/// The PostgreSQL database the tests use, found once per run: Ok(URL), or why there is none.
async fn postgres_url() -> Result<String, String> {
    static FOUND: tokio::sync::OnceCell<Result<String, String>> = tokio::sync::OnceCell::const_new();
    FOUND
        .get_or_init(|| async {
            let candidates = match std::env::var("ALUR_TEST_PG") {
                Ok(url) => vec![url],
                Err(_) => vec![
                    "postgres://postgres@127.0.0.1:5432/test".to_string(),
                    "postgres://root@127.0.0.1:5432/test".to_string(),
                ],
            };
            let mut problems = Vec::new();
            for url in candidates {
                let probe = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                    tokio::spawn(connection);
                    client.batch_execute("SELECT 1").await
                })
                .await;
                match probe {
                    Ok(Ok(())) => return Ok(url),
                    Ok(Err(e)) => problems.push(format!("{url}: {e}")),
                    Err(_) => problems.push(format!("{url}: timed out")),
                }
            }
            Err(problems.join("; "))
        })
        .await
        .clone()
}

fn with_params(base: &str, params: &str) -> String {
    if base.contains('?') {
        format!("{base}&{params}")
    } else {
        format!("{base}?{params}")
    }
}

impl Fixture {
    /// A fresh, empty store; None (after saying SKIPPED) when PostgreSQL is not there and
    /// skipping is allowed.
    pub async fn new(kind: Kind, test: &str) -> Option<Fixture> {
        match kind {
            Kind::Memory => Some(Fixture { kind, first: Arc::new(MemoryStore::new()), dir: None, pg: None }),
            Kind::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let store = SqliteStore::open(dir.path().join("alur.db")).unwrap();
                Some(Fixture { kind, first: Arc::new(store), dir: Some(dir), pg: None })
            }
            Kind::Postgres => {
                let base = match postgres_url().await {
                    Ok(base) => base,
                    Err(why) => {
                        if std::env::var("ALUR_CI").as_deref() == Ok("1") {
                            panic!("PostgreSQL is required under ALUR_CI=1 but not reachable: {why}");
                        }
                        // Straight to stderr, past the test harness's capture: a skip must show.
                        let _ = writeln!(
                            std::io::stderr(),
                            "SKIPPED store_conformance::postgres::{test}: no PostgreSQL ({why}); \
                             set ALUR_TEST_PG=postgres://USER@HOST:PORT/DB"
                        );
                        return None;
                    }
                };
                let schema = format!("alur_test_{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
                // Few connections per store: tests run in parallel on one server.
                let url = with_params(&base, &format!("schema={schema}&pool_size=4"));
                let pg = PgSchema { url: url.clone(), base, schema };
                let store = PostgresStore::open(&url).await.unwrap();
                Some(Fixture { kind, first: Arc::new(store), dir: None, pg: Some(pg) })
            }
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.first.clone()
    }

    /// The `--db` value of a PostgreSQL fixture (its schema's URL).
    pub fn postgres_url(&self) -> Option<&str> {
        self.pg.as_ref().map(|pg| pg.url.as_str())
    }

    /// Another store instance on the same data: a second node. A store whose data lives in one
    /// process is shared by its nodes as the one instance.
    pub async fn node(&self) -> Arc<dyn Store> {
        if self.first.capabilities().sharing == Sharing::OneProcess {
            return self.first.clone();
        }
        self.other_instance().await
    }

    /// A second instance on the same data (for the in-memory store, the same one).
    async fn other_instance(&self) -> Arc<dyn Store> {
        match self.kind {
            Kind::Memory => self.first.clone(),
            Kind::Sqlite => {
                let path = self.dir.as_ref().unwrap().path().join("alur.db");
                Arc::new(SqliteStore::open(path).unwrap())
            }
            Kind::Postgres => Arc::new(PostgresStore::open(&self.pg.as_ref().unwrap().url).await.unwrap()),
        }
    }

    /// A node whose change feed hears the first node's changes: another node when the store's
    /// feed reaches every node, else the first store itself.
    pub async fn listening_node(&self) -> Arc<dyn Store> {
        match self.first.capabilities().feed {
            FeedReach::AllNodes => self.node().await,
            FeedReach::ThisInstance => self.first.clone(),
        }
    }
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

/// A case's stream being written: hands out the next seq.
pub struct Stream {
    pub case: CaseId,
    pub seq: u64,
}

impl Stream {
    pub fn new() -> Stream {
        Stream { case: CaseId::new(), seq: 0 }
    }

    pub fn ev(&mut self, event: Event) -> Recorded {
        self.seq += 1;
        Recorded {
            case: self.case,
            seq: self.seq,
            at: t0() + Duration::seconds(self.seq as i64),
            by: "u".into(),
            event,
        }
    }

    pub fn started(&mut self, sop: &str) -> Recorded {
        self.ev(Event::CaseStarted {
            sop: sop.into(),
            version: 1,
            applicant: "p".into(),
            fields: Default::default(),
            parent: None,
            entry: None,
            variant: None,
            registration: None,
        })
    }

    pub fn opened(&mut self, task: TaskNo, step: &str, actors: &[&str], due_minutes: i64) -> Recorded {
        self.ev(Event::TaskOpened {
            task,
            step: step.into(),
            actors: actors.iter().copied().collect(),
            due: Some(t0() + Duration::minutes(due_minutes)),
            uncertain: false,
        })
    }

    pub fn completed(&mut self, task: TaskNo) -> Recorded {
        self.ev(Event::TaskCompleted { task, outcome: None, fields: Default::default(), note: None })
    }

    /// Appends at the version the stream had before `events` were made.
    pub async fn append(&self, store: &dyn Store, events: &[Recorded]) -> Result<(), StoreError> {
        store.append(self.case, self.seq - events.len() as u64, events).await
    }
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Actor ids as events and open tasks hold them.
pub fn names(items: &[&str]) -> alur::runtime::Names {
    items.iter().copied().collect()
}

pub fn keys(tasks: &[OpenTask]) -> Vec<(CaseId, TaskNo)> {
    tasks.iter().map(|t| (t.case, t.task)).collect()
}

async fn append_and_read_back(f: &Fixture) {
    let store = f.store();
    let mut s = Stream::new();
    let batch1 = vec![s.started("lks"), s.opened(1, "ajukan", &["pemohon"], 30)];
    s.append(&*store, &batch1).await.unwrap();
    let batch2 = vec![s.completed(1), s.ev(Event::CaseEnded { end: "selesai".into() })];
    s.append(&*store, &batch2).await.unwrap();
    let all: Vec<Recorded> = batch1.into_iter().chain(batch2).collect();
    assert_eq!(store.events(s.case).await.unwrap(), all);
    assert_eq!(store.case_ids().await.unwrap(), vec![s.case]);
    assert!(store.events(CaseId::new()).await.unwrap().is_empty());
}

async fn case_ids_in_start_order(f: &Fixture) {
    let store = f.store();
    let mut started = Vec::new();
    for _ in 0..5 {
        let mut s = Stream::new();
        let e = vec![s.started("lks")];
        s.append(&*store, &e).await.unwrap();
        started.push(s.case);
    }
    assert_eq!(store.case_ids().await.unwrap(), started);
}

async fn conflict_on_wrong_version_writes_nothing(f: &Fixture) {
    let store = f.store();
    let mut s = Stream::new();
    let first = vec![s.started("lks"), s.opened(1, "ajukan", &["pemohon"], 30)];
    s.append(&*store, &first).await.unwrap();
    let before = store.events(s.case).await.unwrap();
    // Starting the same case again, and appending at a version it is not at.
    assert_eq!(store.append(s.case, 0, &first).await, Err(StoreError::Conflict(s.case)));
    let next = vec![s.completed(1)];
    assert_eq!(store.append(s.case, 1, &next).await, Err(StoreError::Conflict(s.case)));
    assert_eq!(store.append(s.case, 5, &next).await, Err(StoreError::Conflict(s.case)));
    // A case that does not exist is at version 0.
    let mut other = Stream::new();
    let e = vec![other.started("lks")];
    assert_eq!(store.append(other.case, 1, &e).await, Err(StoreError::Conflict(other.case)));
    assert_eq!(store.events(s.case).await.unwrap(), before);
    assert!(store.events(other.case).await.unwrap().is_empty());
    assert_eq!(store.case_ids().await.unwrap(), vec![s.case]);
    // Nothing reached the indexes either.
    assert_eq!(keys(&store.open_tasks(&[]).await.unwrap()), vec![(s.case, 1)]);
    // And the right version still works.
    s.append(&*store, &next).await.unwrap();
    assert!(store.open_tasks(&[]).await.unwrap().is_empty());
}

/// A case with nothing open (just started, or ended) still takes appends at its version, and
/// its whole stream reads back (the in-memory store keeps such a case's stream apart from the
/// index entries).
async fn a_case_with_nothing_open_takes_appends(f: &Fixture) {
    let store = f.store();
    let mut s = Stream::new();
    let start = vec![s.started("lks")];
    s.append(&*store, &start).await.unwrap();
    let opened = vec![s.opened(1, "a", &["x"], 10)];
    assert_eq!(store.append(s.case, 2, &opened).await, Err(StoreError::Conflict(s.case)));
    s.append(&*store, &opened).await.unwrap();
    assert_eq!(keys(&store.open_tasks(&[]).await.unwrap()), vec![(s.case, 1)]);
    let end = vec![s.completed(1), s.ev(Event::CaseEnded { end: "selesai".into() })];
    s.append(&*store, &end).await.unwrap();
    assert!(store.open_tasks(&[]).await.unwrap().is_empty());
    let after = vec![s.ev(Event::Notified { task: 1, to: "pemohon".into() })];
    assert_eq!(store.append(s.case, 3, &after).await, Err(StoreError::Conflict(s.case)));
    s.append(&*store, &after).await.unwrap();
    let all: Vec<Recorded> = [start, opened, end, after].concat();
    assert_eq!(store.events(s.case).await.unwrap(), all);
    assert_eq!(store.events_after(s.case, 2).await.unwrap(), all[2..].to_vec());
    assert_eq!(store.case_ids().await.unwrap(), vec![s.case]);
}

/// Events numbered other than right after the version are refused, and nothing is written:
/// the version is the last event's number.
async fn misnumbered_events_are_refused(f: &Fixture) {
    let store = f.store();
    let mut s = Stream::new();
    let first = vec![s.started("lks"), s.opened(1, "ajukan", &["pemohon"], 30)];
    s.append(&*store, &first).await.unwrap();
    let mut skipped = s.completed(1);
    skipped.seq += 1;
    let refused = store.append(s.case, 2, &[skipped]).await;
    assert!(matches!(&refused, Err(StoreError::Refused(m)) if m.contains("numbered 4, not 3")), "{refused:?}");
    let mut other = Stream::new();
    let mut late_start = other.started("lks");
    late_start.seq = 2;
    assert!(matches!(store.append(other.case, 0, &[late_start]).await, Err(StoreError::Refused(_))));
    assert_eq!(store.events(s.case).await.unwrap(), first);
    assert!(store.events(other.case).await.unwrap().is_empty());
    assert_eq!(store.case_ids().await.unwrap(), vec![s.case]);
    assert_eq!(keys(&store.open_tasks(&[]).await.unwrap()), vec![(s.case, 1)]);
}

/// Completions with and without an outcome, fields and a note read back as appended (the
/// in-memory store keeps the plain ones in a smaller form than the rest).
async fn completions_read_back_as_appended(f: &Fixture) {
    let store = f.store();
    let mut s = Stream::new();
    let mut fields = Fields::new();
    fields.insert("nomor_izin".into(), alur::model::Value::Text("503/17".into()));
    let e = vec![
        s.started("lks"),
        s.opened(1, "a", &["x"], 10),
        s.ev(Event::TaskCompleted { task: 1, outcome: Some("diterima".into()), fields: Fields::new(), note: None }),
        s.opened(2, "b", &["y"], 20),
        s.ev(Event::TaskCompleted { task: 2, outcome: None, fields: Fields::new(), note: Some("lengkap".into()) }),
        s.opened(3, "c", &["z"], 30),
        s.ev(Event::TaskCompleted { task: 3, outcome: None, fields, note: None }),
    ];
    s.append(&*store, &e).await.unwrap();
    assert_eq!(store.events(s.case).await.unwrap(), e);
    assert_eq!(store.events_after(s.case, 4).await.unwrap(), e[4..].to_vec());
}

async fn a_case_starts_with_case_started(f: &Fixture) {
    let store = f.store();
    let mut s = Stream::new();
    let e = vec![s.opened(1, "ajukan", &["pemohon"], 30)];
    assert!(matches!(store.append(s.case, 0, &e).await, Err(StoreError::Refused(_))));
    assert!(store.events(s.case).await.unwrap().is_empty());
    assert!(store.open_tasks(&[]).await.unwrap().is_empty());
    assert!(store.case_ids().await.unwrap().is_empty());
}

/// Appends that arrive together (and may share a transaction: the SQLite and PostgreSQL stores
/// commit in groups) each keep their own result: a stale, misnumbered or already-started append
/// fails alone, and the others are written with their index rows.
async fn appends_together_keep_each_result(f: &Fixture) {
    let store = f.store();
    let mut streams = Vec::new();
    for _ in 0..24 {
        let mut s = Stream::new();
        let e = vec![s.started("lks"), s.opened(1, "ajukan", &["pemohon"], 30)];
        s.append(&*store, &e).await.unwrap();
        streams.push(s);
    }
    // Every third is stale, the fifth misnumbered, the rest good.
    let expect = |i: usize| match i % 3 {
        0 => "conflict",
        _ if i == 4 => "refused",
        _ => "ok",
    };
    let mut handles = Vec::new();
    for (i, s) in streams.iter().enumerate() {
        let store = store.clone();
        let case = s.case;
        let (expected, seq) = match expect(i) {
            "conflict" => (1, 2),
            "refused" => (2, 5),
            _ => (2, 3),
        };
        handles.push(tokio::spawn(async move {
            let event = Recorded {
                case,
                seq,
                at: t0(),
                by: "u".into(),
                event: Event::TaskClaimed { task: 1, user: format!("u{i}") },
            };
            store.append(case, expected, &[event]).await
        }));
    }
    let taken = streams[0].case;
    let dup = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut s = Stream { case: taken, seq: 0 };
            let e = vec![s.started("lks")];
            s.append(&*store, &e).await
        })
    };
    let mut fresh = Stream::new();
    let fresh_events = vec![fresh.started("lks"), fresh.opened(1, "ajukan", &["pemohon"], 30)];
    let new_case = {
        let store = store.clone();
        let case = fresh.case;
        let events = fresh_events.clone();
        tokio::spawn(async move { store.append(case, 0, &events).await })
    };
    for (i, h) in handles.into_iter().enumerate() {
        let result = h.await.unwrap();
        match expect(i) {
            "conflict" => assert_eq!(result, Err(StoreError::Conflict(streams[i].case)), "append {i}"),
            "refused" => assert!(matches!(result, Err(StoreError::Refused(_))), "append {i}: {result:?}"),
            _ => assert_eq!(result, Ok(()), "append {i}"),
        }
    }
    assert_eq!(dup.await.unwrap(), Err(StoreError::Conflict(taken)));
    assert_eq!(new_case.await.unwrap(), Ok(()));
    assert_eq!(store.events(fresh.case).await.unwrap(), fresh_events);
    // What is stored is what was accepted: the events, and the inbox's claims.
    let tasks = store.open_tasks(&[]).await.unwrap();
    for (i, s) in streams.iter().enumerate() {
        let ok = expect(i) == "ok";
        assert_eq!(store.events(s.case).await.unwrap().len(), if ok { 3 } else { 2 }, "case {i}");
        let task = tasks.iter().find(|t| t.case == s.case).unwrap();
        assert_eq!(task.claimed_by, ok.then(|| format!("u{i}")), "case {i}");
    }
    assert!(tasks.iter().any(|t| t.case == fresh.case));
}

async fn racing_appends_have_one_winner(f: &Fixture) {
    let store = f.store();
    let mut s = Stream::new();
    let e = vec![s.started("lks"), s.opened(1, "ajukan", &["pemohon"], 30)];
    s.append(&*store, &e).await.unwrap();
    let mut handles = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        let case = s.case;
        handles.push(tokio::spawn(async move {
            let event = Recorded {
                case,
                seq: 3,
                at: t0(),
                by: format!("u{i}").into(),
                event: Event::TaskClaimed { task: 1, user: format!("u{i}") },
            };
            store.append(case, 2, &[event]).await
        }));
    }
    // Other cases appended meanwhile are not disturbed by the losers' conflicts.
    let mut others = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        others.push(tokio::spawn(async move {
            let mut o = Stream::new();
            let e = vec![o.started("lks")];
            o.append(&*store, &e).await.map(|_| o.case)
        }));
    }
    let mut wins = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(()) => wins += 1,
            Err(StoreError::Conflict(c)) => assert_eq!(c, s.case),
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.events(s.case).await.unwrap().len(), 3);
    for h in others {
        let case = h.await.unwrap().unwrap();
        assert_eq!(store.events(case).await.unwrap().len(), 1);
    }
    assert_eq!(store.case_ids().await.unwrap().len(), 17);
}

async fn open_tasks_by_actor(f: &Fixture) {
    let store = f.store();
    let mut a = Stream::new();
    let e = vec![a.started("lks"), a.opened(1, "ajukan", &["pemohon"], 30), a.opened(2, "cek", &["fo", "bo"], 60)];
    a.append(&*store, &e).await.unwrap();
    let mut b = Stream::new();
    let e = vec![b.started("reklame"), b.opened(1, "verifikasi", &["bo"], 10)];
    b.append(&*store, &e).await.unwrap();

    let all = store.open_tasks(&[]).await.unwrap();
    let mut expected = vec![(a.case, 1), (a.case, 2), (b.case, 1)];
    expected.sort();
    assert_eq!(keys(&all), expected);
    let task = all.iter().find(|t| t.case == a.case && t.task == 2).unwrap();
    assert_eq!(
        task,
        &OpenTask {
            case: a.case,
            task: 2,
            sop: "lks".into(),
            step: "cek".into(),
            actors: names(&["fo", "bo"]),
            due: Some(t0() + Duration::minutes(60)),
            claimed_by: None,
        }
    );
    assert_eq!(
        store.open_tasks(&strings(&["bo"])).await.unwrap().iter().find(|t| t.case == b.case).unwrap().sop,
        "reklame"
    );

    let mut bo = vec![(a.case, 2), (b.case, 1)];
    bo.sort();
    assert_eq!(keys(&store.open_tasks(&strings(&["bo"])).await.unwrap()), bo);
    assert_eq!(keys(&store.open_tasks(&strings(&["pemohon"])).await.unwrap()), vec![(a.case, 1)]);
    assert_eq!(keys(&store.open_tasks(&strings(&["pemohon", "fo"])).await.unwrap()), vec![(a.case, 1), (a.case, 2)]);
    assert!(store.open_tasks(&strings(&["kabid"])).await.unwrap().is_empty());
}

/// The inboxes of a partitioning split the inbox: each task in exactly one, the one that holds
/// its case, each in inbox order, for partition counts that divide the memory store's shards
/// and counts that do not.
async fn partitioned_inboxes_split_the_inbox(f: &Fixture) {
    let store = f.store();
    for n in 0..40 {
        let mut s = Stream::new();
        let actor = if n % 3 == 0 { "bo" } else { "fo" };
        let e = vec![s.started("lks"), s.opened(1, "cek", &[actor], 90 - n), s.opened(2, "cek", &["bo"], n % 7)];
        s.append(&*store, &e).await.unwrap();
    }
    for actors in [strings(&[]), strings(&["bo"])] {
        let whole = store.inbox(&actors).await.unwrap();
        assert_eq!(whole.len(), if actors.is_empty() { 80 } else { 54 });
        for count in [1, 2, 3, 4, 7, 16, 64] {
            let mut union = Vec::new();
            for index in 0..count {
                let partition = Partition::new(index, count).unwrap();
                let share = store.inbox_of(&actors, partition).await.unwrap();
                assert!(share.iter().all(|t| partition.holds(t.case) && Partition::of(t.case, count) == partition));
                let order: Vec<_> = share.iter().map(|t| (t.due, t.case, t.task)).collect();
                assert!(order.windows(2).all(|w| w[0] < w[1]), "partition {index} of {count} out of order");
                union.extend(share);
            }
            union.sort_by_key(|t| (t.due, t.case, t.task));
            assert_eq!(union, whole, "the partitions of {count} are not the inbox");
        }
    }
    assert_eq!(Partition::new(2, 2), None);
    assert_eq!(Partition::of(CaseId::new(), 0), Partition::all());
}

async fn claims_show_in_the_index(f: &Fixture) {
    let store = f.store();
    let mut s = Stream::new();
    let e = vec![s.started("lks"), s.opened(1, "ajukan", &["pemohon"], 30)];
    s.append(&*store, &e).await.unwrap();
    let e = vec![s.ev(Event::TaskClaimed { task: 1, user: "ani".into() })];
    s.append(&*store, &e).await.unwrap();
    assert_eq!(store.open_tasks(&[]).await.unwrap()[0].claimed_by.as_deref(), Some("ani"));
    let e = vec![s.ev(Event::TaskReleased { task: 1, user: "ani".into() })];
    s.append(&*store, &e).await.unwrap();
    assert_eq!(store.open_tasks(&[]).await.unwrap()[0].claimed_by, None);
    // A claim on a task that is not open changes nothing.
    let e = vec![s.ev(Event::TaskClaimed { task: 7, user: "ani".into() })];
    s.append(&*store, &e).await.unwrap();
    assert_eq!(keys(&store.open_tasks(&[]).await.unwrap()), vec![(s.case, 1)]);
}

async fn escalation_adds_an_actor(f: &Fixture) {
    let store = f.store();
    let mut s = Stream::new();
    let e = vec![s.started("lks"), s.opened(1, "verifikasi", &["fo"], 30)];
    s.append(&*store, &e).await.unwrap();
    let e = vec![
        s.ev(Event::DeadlinePassed { task: 1 }),
        s.ev(Event::TaskEscalated { task: 1, to: "kabid".into() }),
        // Escalating to an actor that has it already adds nothing.
        s.ev(Event::TaskEscalated { task: 1, to: "fo".into() }),
    ];
    s.append(&*store, &e).await.unwrap();
    let tasks = store.open_tasks(&strings(&["kabid"])).await.unwrap();
    assert_eq!(keys(&tasks), vec![(s.case, 1)]);
    assert_eq!(tasks[0].actors, names(&["fo", "kabid"]));
    assert_eq!(keys(&store.open_tasks(&strings(&["fo"])).await.unwrap()), vec![(s.case, 1)]);
    // The deadline passed: its timer is gone, the task stays open.
    assert!(store.due_timers(t0() + Duration::days(365), 10).await.unwrap().is_empty());
    // Closing the task takes it out of every actor's inbox.
    let e = vec![s.completed(1)];
    s.append(&*store, &e).await.unwrap();
    assert!(store.open_tasks(&strings(&["kabid"])).await.unwrap().is_empty());
    assert!(store.open_tasks(&strings(&["fo"])).await.unwrap().is_empty());
}

async fn tasks_close_on_completion_expiry_and_end(f: &Fixture) {
    let store = f.store();
    let mut s = Stream::new();
    let e = vec![
        s.started("lks"),
        s.opened(1, "a", &["x"], 10),
        s.opened(2, "b", &["x"], 20),
        s.opened(3, "c", &["y"], 30),
        s.opened(4, "d", &["y"], 40),
    ];
    s.append(&*store, &e).await.unwrap();
    let e = vec![s.completed(1), s.ev(Event::TaskExpired { task: 2 })];
    s.append(&*store, &e).await.unwrap();
    assert_eq!(keys(&store.open_tasks(&[]).await.unwrap()), vec![(s.case, 3), (s.case, 4)]);
    assert_eq!(
        store.due_timers(t0() + Duration::days(1), 10).await.unwrap().iter().map(|t| t.task).collect::<Vec<_>>(),
        vec![3, 4]
    );
    let e = vec![s.ev(Event::CaseEnded { end: "selesai".into() })];
    s.append(&*store, &e).await.unwrap();
    assert!(store.open_tasks(&[]).await.unwrap().is_empty());
    assert!(store.due_timers(t0() + Duration::days(1), 10).await.unwrap().is_empty());
    assert_eq!(store.next_timer().await.unwrap(), None);

    for close in [Event::CaseWithdrawn { reason: None }, Event::CaseCancelled { reason: Some("x".into()) }] {
        let mut c = Stream::new();
        let e = vec![c.started("lks"), c.opened(1, "a", &["x"], 10)];
        c.append(&*store, &e).await.unwrap();
        let e = vec![c.ev(close)];
        c.append(&*store, &e).await.unwrap();
        assert!(store.open_tasks(&[]).await.unwrap().is_empty());
        assert_eq!(store.next_timer().await.unwrap(), None);
    }
}

async fn timers_are_set_cleared_and_ordered(f: &Fixture) {
    let store = f.store();
    assert_eq!(store.next_timer().await.unwrap(), None);
    let mut a = Stream::new();
    let e = vec![a.started("lks"), a.opened(1, "a", &["x"], 50), a.opened(2, "b", &["x"], 10)];
    a.append(&*store, &e).await.unwrap();
    let mut b = Stream::new();
    let e = vec![b.started("lks"), b.opened(1, "a", &["x"], 30), b.opened(2, "b", &["x"], 10)];
    b.append(&*store, &e).await.unwrap();
    let at = |m: i64| t0() + Duration::minutes(m);

    assert_eq!(store.next_timer().await.unwrap(), Some(at(10)));
    let mut tens = vec![Timer { case: a.case, task: 2, due: at(10) }, Timer { case: b.case, task: 2, due: at(10) }];
    tens.sort_by_key(|t| (t.case, t.task));
    let mut all = tens.clone();
    all.push(Timer { case: b.case, task: 1, due: at(30) });
    all.push(Timer { case: a.case, task: 1, due: at(50) });
    assert_eq!(store.due_timers(at(100), 10).await.unwrap(), all);
    // Due at or before `until`; at most `limit`.
    assert_eq!(store.due_timers(at(30), 10).await.unwrap(), all[..3].to_vec());
    assert_eq!(store.due_timers(at(29), 10).await.unwrap(), tens);
    assert_eq!(store.due_timers(at(100), 1).await.unwrap(), all[..1].to_vec());
    assert!(store.due_timers(at(9), 10).await.unwrap().is_empty());

    // A deadline that passed or a task that closed clears its timer.
    let e = vec![a.ev(Event::DeadlinePassed { task: 2 })];
    a.append(&*store, &e).await.unwrap();
    let e = vec![b.completed(2)];
    b.append(&*store, &e).await.unwrap();
    assert_eq!(store.next_timer().await.unwrap(), Some(at(30)));
    assert_eq!(store.due_timers(at(100), 10).await.unwrap(), all[2..].to_vec());
}

pub fn deployment(sop: &str, version: u32, sha: &str) -> Deployment {
    Deployment {
        sop: sop.into(),
        version,
        sha256: sha.into(),
        sources: vec![(format!("{sop}.sop"), format!("sop {sop}\n"))],
        calendars: vec![("kantor.sop".into(), "kalender\n".into())],
        deployed_at: t0(),
        compiler: None,
        model_sha256: None,
    }
}

/// A task of a step whose SOP states no time: in the inbox after the tasks with a due date,
/// without a timer, read back without a due date (no made-up one).
async fn a_task_without_a_due_date_has_no_timer(f: &Fixture) {
    let store = f.store();
    let mut s = Stream::new();
    let started = s.started("lks");
    let mut untimed = s.opened(1, "periksa", &["x"], 0);
    if let Event::TaskOpened { due, .. } = &mut untimed.event {
        *due = None;
    }
    let e = vec![started, untimed];
    s.append(&*store, &e).await.unwrap();
    let mut other = Stream::new();
    let timed = vec![other.started("lks"), other.opened(1, "a", &["x"], 5_000)];
    other.append(&*store, &timed).await.unwrap();
    let inbox = store.inbox(&["x".to_string()]).await.unwrap();
    let order: Vec<_> = inbox.iter().map(|t| (t.case, t.due.is_some())).collect();
    assert_eq!(order, vec![(other.case, true), (s.case, false)]);
    assert_eq!(store.events(s.case).await.unwrap(), e);
    let timers = store.due_timers(t0() + Duration::days(3650), 10).await.unwrap();
    assert_eq!(timers.iter().map(|t| t.case).collect::<Vec<_>>(), vec![other.case]);
}

async fn deployments_are_saved_once_per_version(f: &Fixture) {
    let store = f.store();
    assert!(store.deployments().await.unwrap().is_empty());
    store.save_deployment(&deployment("lks", 1, "a")).await.unwrap();
    store.save_deployment(&deployment("lks", 1, "other")).await.unwrap();
    store.save_deployment(&deployment("lks", 2, "b")).await.unwrap();
    store.save_deployment(&deployment("reklame", 1, "c")).await.unwrap();
    let saved = store.deployments().await.unwrap();
    let summary: Vec<_> = saved.iter().map(|d| (d.sop.as_str(), d.version, d.sha256.as_str())).collect();
    assert_eq!(summary, vec![("lks", 1, "a"), ("lks", 2, "b"), ("reklame", 1, "c")]);
    assert_eq!(saved[0].sources, deployment("lks", 1, "a").sources);
    assert_eq!(saved[0].calendars, deployment("lks", 1, "a").calendars);
    assert_eq!(saved[0].deployed_at, t0());
}

async fn events_after_returns_the_tail(f: &Fixture) {
    let store = f.store();
    let mut s = Stream::new();
    let e = vec![s.started("lks"), s.opened(1, "a", &["x"], 10), s.completed(1)];
    s.append(&*store, &e).await.unwrap();
    assert_eq!(store.events_after(s.case, 0).await.unwrap(), e);
    assert_eq!(store.events_after(s.case, 1).await.unwrap(), e[1..].to_vec());
    assert!(store.events_after(s.case, 3).await.unwrap().is_empty());
    assert!(store.events_after(s.case, 9).await.unwrap().is_empty());
    assert!(store.events_after(CaseId::new(), 0).await.unwrap().is_empty());
}

/// Many cases' tails in one read: in the order asked, each as `events_after` answers it, on
/// this node and another.
async fn events_after_each_answers_in_the_order_asked(f: &Fixture) {
    let store = f.store();
    let (mut a, mut b) = (Stream::new(), Stream::new());
    let ea = vec![a.started("lks"), a.opened(1, "a", &["x"], 10), a.completed(1)];
    let eb = vec![b.started("lks"), b.opened(1, "a", &["x"], 10)];
    a.append(&*store, &ea).await.unwrap();
    b.append(&*store, &eb).await.unwrap();
    let unknown = CaseId::new();
    let asks = [(b.case, 1), (unknown, 0), (a.case, 0), (a.case, 3), (b.case, 0)];
    for store in [f.store(), f.node().await] {
        let each = store.events_after_each(&asks).await.unwrap();
        assert_eq!(each, vec![eb[1..].to_vec(), vec![], ea.clone(), vec![], eb.clone()]);
    }
    assert!(store.events_after_each(&[]).await.unwrap().is_empty());
}

/// Instants keep their nanoseconds, in events, the inbox and the timers.
async fn instants_read_back_exactly(f: &Fixture) {
    let store = f.store();
    let at = t0() + Duration::nanoseconds(123_456_789);
    let due = at + Duration::nanoseconds(1);
    let case = CaseId::new();
    let e = vec![
        Recorded {
            case,
            seq: 1,
            at,
            by: "u".into(),
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
        },
        Recorded {
            case,
            seq: 2,
            at,
            by: "u".into(),
            event: Event::TaskOpened {
                task: 1,
                step: "a".into(),
                actors: names(&["x"]),
                due: Some(due),
                uncertain: true,
            },
        },
    ];
    store.append(case, 0, &e).await.unwrap();
    assert_eq!(store.events(case).await.unwrap(), e);
    assert_eq!(store.open_tasks(&[]).await.unwrap()[0].due, Some(due));
    assert_eq!(store.next_timer().await.unwrap(), Some(due));
    assert!(store.due_timers(at, 10).await.unwrap().is_empty());
    assert_eq!(store.due_timers(due, 10).await.unwrap(), vec![Timer { case, task: 1, due }]);
}

/// Two nodes appending to one case at the same version: exactly one wins, round after round,
/// and both read the winner's events.
async fn racing_appends_across_two_nodes_have_one_winner(f: &Fixture) {
    let a = f.store();
    let b = f.node().await;
    // Starting the same new case on both nodes.
    let case = CaseId::new();
    let start = |by: &str| Recorded {
        case,
        seq: 1,
        at: t0(),
        by: by.into(),
        event: Event::CaseStarted {
            sop: "lks".into(),
            version: 1,
            applicant: by.into(),
            fields: Default::default(),
            parent: None,
            entry: None,
            variant: None,
            registration: None,
        },
    };
    let (ea, eb) = (vec![start("a")], vec![start("b")]);
    let (ra, rb) = tokio::join!(
        tokio::spawn({
            let a = a.clone();
            async move { a.append(case, 0, &ea).await }
        }),
        tokio::spawn({
            let b = b.clone();
            async move { b.append(case, 0, &eb).await }
        }),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra.is_ok() != rb.is_ok(), "{ra:?} {rb:?}");
    assert!(matches!(ra.as_ref().err().or(rb.as_ref().err()), Some(StoreError::Conflict(c)) if *c == case));
    for version in 1..=10u64 {
        let claim = |user: &str| {
            vec![Recorded {
                case,
                seq: version + 1,
                at: t0(),
                by: user.into(),
                event: Event::TaskClaimed { task: 1, user: user.into() },
            }]
        };
        let (ea, eb) = (claim("a"), claim("b"));
        let (ra, rb) = tokio::join!(
            tokio::spawn({
                let a = a.clone();
                async move { a.append(case, version, &ea).await }
            }),
            tokio::spawn({
                let b = b.clone();
                async move { b.append(case, version, &eb).await }
            }),
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert!(ra.is_ok() != rb.is_ok(), "round {version}: {ra:?} {rb:?}");
        let winner = if ra.is_ok() { "a" } else { "b" };
        let on_a = a.events(case).await.unwrap();
        assert_eq!(on_a.len() as u64, version + 1);
        assert_eq!(*on_a.last().unwrap().by, *winner);
        assert_eq!(b.events(case).await.unwrap(), on_a);
    }
    assert_eq!(a.case_ids().await.unwrap(), vec![case]);
    assert_eq!(b.case_ids().await.unwrap(), vec![case]);
}

/// What one node writes, every node reads at once: the inbox, deployments, events. And a
/// listening node's change feed announces it, in order.
async fn a_change_on_one_node_shows_on_every_node(f: &Fixture) {
    let a = f.store();
    let b = f.node().await;
    let listener = f.listening_node().await;
    let mut feed = listener.changes();
    // A name with quotes and a backslash travels intact.
    let odd = r#"lks'\"x"#;
    a.save_deployment(&deployment(odd, 1, "a")).await.unwrap();
    assert_eq!(b.deployments().await.unwrap().len(), 1);
    let mut s = Stream::new();
    let e = vec![s.started("lks"), s.opened(1, "ajukan", &["pemohon"], 30)];
    s.append(&*a, &e).await.unwrap();
    assert_eq!(keys(&b.open_tasks(&strings(&["pemohon"])).await.unwrap()), vec![(s.case, 1)]);
    let e = vec![s.completed(1)];
    s.append(&*a, &e).await.unwrap();
    assert!(b.open_tasks(&[]).await.unwrap().is_empty());
    assert_eq!(b.events(s.case).await.unwrap().len(), 3);
    // The feed: what was committed, in commit order. (The stated bound is one second; the
    // test allows more so that a loaded machine does not fail it.)
    let mut heard = Vec::new();
    while heard.len() < 3 {
        match tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv()).await {
            Ok(Ok(change)) => heard.push(change),
            other => panic!("no change announced: {other:?} (heard {heard:?})"),
        }
    }
    assert_eq!(
        heard,
        vec![
            Change::Deployed { sop: odd.into(), version: 1 },
            Change::Appended { case: s.case, version: 2 },
            Change::Appended { case: s.case, version: 3 },
        ]
    );
    // A refused append and a deployment that is not new announce nothing.
    let stale = Recorded { case: s.case, seq: 2, at: t0(), by: "u".into(), event: Event::TaskExpired { task: 1 } };
    assert_eq!(a.append(s.case, 1, &[stale]).await, Err(StoreError::Conflict(s.case)));
    a.save_deployment(&deployment(odd, 1, "a")).await.unwrap();
    let e = vec![s.ev(Event::CaseEnded { end: "x".into() })];
    s.append(&*a, &e).await.unwrap();
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv()).await;
    assert_eq!(next.unwrap().unwrap(), Change::Appended { case: s.case, version: 4 });
}

/// The change feed reaches as far as the store says: a feed that reaches every node hears
/// another instance's commits, one that reaches only its own instance does not (a second
/// SQLite store on the same file polls instead), and every feed hears its own.
async fn the_feed_reaches_as_far_as_the_store_says(f: &Fixture) {
    let a = f.store();
    let other = f.other_instance().await;
    let (mut own, mut others) = (a.changes(), other.changes());
    let mut s = Stream::new();
    let e = vec![s.started("lks")];
    s.append(&*a, &e).await.unwrap();
    let appended = Change::Appended { case: s.case, version: 1 };
    let wait = |secs| std::time::Duration::from_millis(secs);
    assert_eq!(tokio::time::timeout(wait(10_000), own.recv()).await.unwrap().unwrap(), appended);
    let same_instance = Arc::ptr_eq(&a, &other);
    let heard = tokio::time::timeout(wait(if same_instance { 10_000 } else { 3_000 }), others.recv()).await;
    match (a.capabilities().feed, same_instance) {
        (FeedReach::AllNodes, _) | (FeedReach::ThisInstance, true) => assert_eq!(heard.unwrap().unwrap(), appended),
        (FeedReach::ThisInstance, false) => assert!(heard.is_err(), "another instance heard {heard:?}"),
    }
}

/// Deadlines of many cases come out earliest first across the whole store (the in-memory
/// store keeps them per shard of cases), at most `limit` of them, and claims split them.
async fn deadlines_of_many_cases_come_out_earliest_first(f: &Fixture) {
    let store = f.store();
    let at = |m: i64| t0() + Duration::minutes(m);
    let lease = Duration::minutes(1);
    // Case i's deadline is at minute (7 i mod 40) + 1: every minute from 1 to 40 once, in an
    // order unrelated to the case ids.
    let mut by_minute = std::collections::BTreeMap::new();
    for i in 0..40i64 {
        let mut s = Stream::new();
        let minute = (7 * i) % 40 + 1;
        let e = vec![s.started("lks"), s.opened(1, "a", &["x"], minute)];
        s.append(&*store, &e).await.unwrap();
        by_minute.insert(minute, Timer { case: s.case, task: 1, due: at(minute) });
    }
    let first = |from: i64, to: i64| (from..=to).map(|m| by_minute[&m].clone()).collect::<Vec<_>>();
    assert_eq!(store.next_timer().await.unwrap(), Some(at(1)));
    assert_eq!(store.due_timers(at(100), 5).await.unwrap(), first(1, 5));
    assert_eq!(store.due_timers(at(12), 100).await.unwrap(), first(1, 12));
    assert_eq!(store.claim_due_timers("n1", at(100), lease, 5).await.unwrap(), first(1, 5));
    assert_eq!(store.claim_due_timers("n2", at(100), lease, 5).await.unwrap(), first(6, 10));
    assert_eq!(store.claim_due_timers("n3", at(20), lease, 100).await.unwrap(), first(11, 20));
    // Leases run to minute 101 and 21; the first deadline nobody holds is at minute 21.
    assert_eq!(store.next_claimable_timer().await.unwrap(), Some(at(21)));
}

/// One node's claim keeps a deadline from the others until its lease runs out or it gives the
/// claim back; firing (the timer clearing) ends it.
async fn timer_claims_are_exclusive_until_the_lease_runs_out(f: &Fixture) {
    let store = f.store();
    let at = |m: i64| t0() + Duration::minutes(m);
    let lease = Duration::minutes(1);
    let mut s = Stream::new();
    let e = vec![
        s.started("lks"),
        s.opened(1, "a", &["x"], 10),
        s.opened(2, "b", &["x"], 20),
        s.opened(3, "c", &["x"], 30),
    ];
    s.append(&*store, &e).await.unwrap();
    let case = s.case;
    let timer = |task: TaskNo, m: i64| Timer { case, task, due: at(m) };
    assert_eq!(store.next_claimable_timer().await.unwrap(), Some(at(10)));
    assert!(store.claim_due_timers("n1", at(9), lease, 10).await.unwrap().is_empty());

    assert_eq!(store.claim_due_timers("n1", at(15), lease, 10).await.unwrap(), vec![timer(1, 10)]);
    // Held: nobody else gets it, not even n1 again, until the lease ends at 16.
    assert!(store.claim_due_timers("n2", at(15), lease, 10).await.unwrap().is_empty());
    assert!(store.claim_due_timers("n1", at(15), lease, 10).await.unwrap().is_empty());
    // Claims do not hide deadlines from `due_timers` or `next_timer`.
    assert_eq!(store.due_timers(at(15), 10).await.unwrap(), vec![timer(1, 10)]);
    assert_eq!(store.next_timer().await.unwrap(), Some(at(10)));
    // The next claimable instant is the lease's end, before the deadline at 20.
    assert_eq!(store.next_claimable_timer().await.unwrap(), Some(at(16)));

    // At the lease's end another node takes it over.
    assert_eq!(store.claim_due_timers("n2", at(16), lease, 10).await.unwrap(), vec![timer(1, 10)]);
    assert!(store.claim_due_timers("n1", at(16), lease, 10).await.unwrap().is_empty());
    // Releasing a claim one does not hold changes nothing; the holder's release frees it.
    store.release_timer("n1", s.case, 1).await.unwrap();
    assert!(store.claim_due_timers("n1", at(16), lease, 10).await.unwrap().is_empty());
    store.release_timer("n2", s.case, 1).await.unwrap();
    assert_eq!(store.claim_due_timers("n1", at(16), lease, 10).await.unwrap(), vec![timer(1, 10)]);

    // Earliest first, at most `limit`; held ones are passed over (n1's lease ended at 17).
    assert_eq!(store.claim_due_timers("n2", at(40), lease, 1).await.unwrap(), vec![timer(1, 10)]);
    assert_eq!(store.claim_due_timers("n3", at(40), lease, 10).await.unwrap(), vec![timer(2, 20), timer(3, 30)]);
    assert!(store.claim_due_timers("n4", at(40), lease, 10).await.unwrap().is_empty());
    assert_eq!(store.next_claimable_timer().await.unwrap(), Some(at(41)));

    // Firing clears the timer and with it the claim; so does closing the task.
    let e = vec![s.ev(Event::DeadlinePassed { task: 1 }), s.completed(2)];
    s.append(&*store, &e).await.unwrap();
    assert_eq!(store.claim_due_timers("n4", at(100), lease, 10).await.unwrap(), vec![timer(3, 30)]);
    let e = vec![s.ev(Event::CaseEnded { end: "x".into() })];
    s.append(&*store, &e).await.unwrap();
    assert!(store.claim_due_timers("n4", at(1000), lease, 10).await.unwrap().is_empty());
    assert_eq!(store.next_claimable_timer().await.unwrap(), None);
}

/// Many due deadlines, four claimers on two nodes at once: every deadline is claimed by
/// exactly one of them.
async fn two_nodes_racing_for_due_timers_claim_each_once(f: &Fixture) {
    let nodes = [f.store(), f.node().await];
    let mut all = BTreeSet::new();
    for _ in 0..40 {
        let mut s = Stream::new();
        let e = vec![s.started("lks"), s.opened(1, "a", &["x"], 10), s.opened(2, "b", &["x"], 20)];
        s.append(&*nodes[0], &e).await.unwrap();
        all.insert((s.case, 1));
        all.insert((s.case, 2));
    }
    let now = t0() + Duration::hours(1);
    let mut claimers = Vec::new();
    for i in 0..4 {
        let store = nodes[i % 2].clone();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = store.claim_due_timers(&format!("n{i}"), now, Duration::minutes(1), 3).await.unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|t| (t.case, t.task)));
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut claimed = Vec::new();
    for c in claimers {
        claimed.extend(c.await.unwrap());
    }
    let unique: BTreeSet<_> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), unique.len(), "a deadline was claimed twice");
    assert_eq!(unique, all);
    assert!(nodes[1].claim_due_timers("late", now, Duration::minutes(1), 100).await.unwrap().is_empty());
}

/// A node claims deadlines and dies (never fires them, never renews): another node takes them
/// over when the lease runs out, not before, and fires them.
async fn a_dead_nodes_claims_go_to_another_after_the_lease(f: &Fixture) {
    let survivor = f.node().await;
    let mut streams = Vec::new();
    let now = t0() + Duration::hours(1);
    let lease = Duration::minutes(1);
    {
        let dying = f.store();
        for _ in 0..10 {
            let mut s = Stream::new();
            let e = vec![s.started("lks"), s.opened(1, "a", &["x"], 10)];
            s.append(&*dying, &e).await.unwrap();
            streams.push(s);
        }
        assert_eq!(dying.claim_due_timers("dying", now, lease, 100).await.unwrap().len(), 10);
    }
    for wait in [Duration::zero(), Duration::seconds(30), Duration::seconds(59)] {
        assert!(survivor.claim_due_timers("survivor", now + wait, lease, 100).await.unwrap().is_empty());
    }
    let taken = survivor.claim_due_timers("survivor", now + lease, lease, 100).await.unwrap();
    assert_eq!(taken.len(), 10);
    for s in &mut streams {
        let e = vec![s.ev(Event::DeadlinePassed { task: 1 })];
        s.append(&*survivor, &e).await.unwrap();
    }
    assert!(survivor.claim_due_timers("other", now + Duration::hours(1), lease, 100).await.unwrap().is_empty());
    assert_eq!(survivor.next_claimable_timer().await.unwrap(), None);
}

/// Two engines (two nodes) firing deadlines at the same moment: each deadline passes once.
async fn deadlines_fire_once_across_two_engines(f: &Fixture) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let start = chrono_tz::Asia::Makassar.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).single().unwrap().with_timezone(&Utc);
    let clock = Arc::new(ManualClock::new(start));
    let one = Engine::new(f.store(), clock.clone()).await.unwrap().with_node("one");
    one.deploy_file(&root.join("sop/lks-lksa.sop"), &root.join("sop/calendars")).await.unwrap();
    let two = Engine::new(f.node().await, clock.clone()).await.unwrap().with_node("two");
    let mut cases = Vec::new();
    for i in 0..6 {
        cases.push(one.start_case("lks_lksa", &format!("p{i}"), Default::default(), None).await.unwrap());
    }
    clock.advance(Duration::days(30));
    let now = one.now();
    let (a, b) = tokio::join!(one.fire_due(now), two.fire_due(now));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a + b, cases.len(), "one fired {a}, two fired {b}");
    for case in cases {
        let passed =
            one.history(case).await.unwrap().iter().filter(|r| matches!(r.event, Event::DeadlinePassed { .. })).count();
        assert_eq!(passed, 1, "case {case}");
    }
    assert_eq!(one.fire_due(now).await.unwrap() + two.fire_due(now).await.unwrap(), 0);
}

/// A store that answers and whose schema is current is ready; one whose schema is behind (its
/// latest migration's row gone, as if it had not run) is not, until it is current again.
async fn ready_when_the_schema_is_current(f: &Fixture) {
    let store = f.store();
    store.ready().await.unwrap();
    // Opened now: opening a store on a schema that is behind would migrate it.
    let pg = match f.kind {
        Kind::Postgres => Some(PostgresStore::open(&f.pg.as_ref().unwrap().url).await.unwrap()),
        Kind::Memory | Kind::Sqlite => None,
    };
    let pg = &pg;
    // The schema version as each database keeps it: take the latest row out, then put it back.
    let set_back = |back: bool| async move {
        match f.kind {
            Kind::Memory => {}
            Kind::Sqlite => {
                let conn = rusqlite::Connection::open(f.dir.as_ref().unwrap().path().join("alur.db")).unwrap();
                if back {
                    conn.execute("UPDATE schema_version SET version = -version WHERE version < 0", []).unwrap();
                } else {
                    conn.execute(
                        "UPDATE schema_version SET version = -version WHERE version = (SELECT MAX(version) FROM schema_version)",
                        [],
                    )
                    .unwrap();
                }
            }
            Kind::Postgres => {
                let client = pg.as_ref().unwrap().pool().get().await.unwrap();
                let sql = if back {
                    "UPDATE schema_version SET version = -version WHERE version < 0"
                } else {
                    "UPDATE schema_version SET version = -version WHERE version = (SELECT MAX(version) FROM schema_version)"
                };
                client.execute(sql, &[]).await.unwrap();
            }
        }
    };
    set_back(false).await;
    if f.kind != Kind::Memory {
        let error = store.ready().await.unwrap_err();
        assert!(error.to_string().contains("migrations are not applied"), "{error}");
    }
    set_back(true).await;
    store.ready().await.unwrap();
}

/// A document attached the way the engine stored it before the blob store: base64 in the event.
fn inline_document(bytes: &[u8], base64: Option<&str>) -> Event {
    use base64::Engine as _;
    let base64 = base64.map(str::to_string).unwrap_or_else(|| base64::engine::general_purpose::STANDARD.encode(bytes));
    Event::ArtifactAttached(Box::new(Artifact {
        task: Some(1),
        artifact: "persyaratan".into(),
        name: "ktp.pdf".into(),
        media_type: "application/pdf".into(),
        size: bytes.len() as u64,
        sha256: alur::runtime::media::sha256_hex(bytes),
        storage: Storage::Inline { base64 },
    }))
}

/// Blobs: stored once by content, read back checked, seen by every node.
async fn blobs_are_stored_once_and_read_back(f: &Fixture) {
    let store = f.store();
    let bytes = b"%PDF-1.4 surat keterangan".to_vec();
    let sha = store.put_blob(bytes.clone()).await.unwrap();
    assert_eq!(sha, alur::runtime::media::sha256_hex(&bytes));
    assert_eq!(store.put_blob(bytes.clone()).await.unwrap(), sha, "the same content, the same address");
    assert!(store.has_blob(&sha).await.unwrap());
    assert_eq!(store.blob(&sha).await.unwrap(), Some(bytes.clone()));
    let absent = alur::runtime::media::sha256_hex(b"never stored");
    assert!(!store.has_blob(&absent).await.unwrap());
    assert_eq!(store.blob(&absent).await.unwrap(), None);
    assert_eq!(store.put_blob(Vec::new()).await.unwrap(), alur::runtime::media::sha256_hex(b""));
    assert_eq!(f.node().await.blob(&sha).await.unwrap(), Some(bytes.clone()));
    // Damaged where it is kept: an error naming it, never other bytes; stored again, healed.
    let damaged = b"%PDF-1.4 surat keterangan palsu".to_vec();
    match f.kind {
        Kind::Memory => return,
        Kind::Sqlite => {
            let file = f.dir.as_ref().unwrap().path().join("alur.db.blobs").join(&sha[..2]).join(&sha);
            std::fs::write(file, &damaged).unwrap();
        }
        Kind::Postgres => {
            let pg = PostgresStore::open(&f.pg.as_ref().unwrap().url).await.unwrap();
            let client = pg.pool().get().await.unwrap();
            client.execute("UPDATE blobs SET bytes = $1 WHERE sha256 = $2", &[&damaged, &sha]).await.unwrap();
        }
    }
    match store.blob(&sha).await {
        Err(StoreError::BlobDamaged { sha256, .. }) => assert_eq!(sha256, sha),
        other => panic!("expected damage, got {other:?}"),
    }
    assert_eq!(store.put_blob(bytes.clone()).await.unwrap(), sha);
    assert_eq!(store.blob(&sha).await.unwrap(), Some(bytes));
}

/// A database written before the blob store, with documents inline in their events, is
/// migrated when opened: the bytes move into blobs, the events name them by hash and size, and
/// the engine reads the same bytes back. Interrupted after a blob was written (it is there
/// already), the migration still completes; a body that is not base64 stays as it was.
async fn inline_documents_move_into_blobs_when_the_store_migrates(f: &Fixture) {
    if f.kind == Kind::Memory {
        return; // nothing stored before this build
    }
    let store = f.store();
    let first = b"%PDF-1.4 akta kelahiran".to_vec();
    let second = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 1, 2, 3];
    let mut s = Stream::new();
    let events = vec![
        s.started("lks"),
        s.ev(inline_document(&first, None)),
        s.ev(inline_document(&second, None)),
        s.ev(inline_document(&first, None)),
        s.ev(inline_document(b"x", Some("@@not base64@@"))),
    ];
    s.append(&*store, &events).await.unwrap();
    // As if an earlier attempt stopped after writing this blob.
    store.put_blob(second.clone()).await.unwrap();
    drop(store);
    // Back to the schema before the blob store.
    match f.kind {
        Kind::Memory => {}
        Kind::Sqlite => {
            let conn = rusqlite::Connection::open(f.dir.as_ref().unwrap().path().join("alur.db")).unwrap();
            // The steps after 4 (the checkpoint's tables, the case summaries, the registration
            // numbers) go too.
            conn.execute_batch(
                "DELETE FROM schema_version WHERE version >= 4; DROP TABLE checkpoint; DROP TABLE ended_cases;
                 DROP TABLE case_summaries; DROP TABLE report_tallies; DROP TABLE registration_sequences;
                 DROP TABLE registrations; PRAGMA user_version = 3;",
            )
            .unwrap();
        }
        Kind::Postgres => {
            let pg = PostgresStore::open(&f.pg.as_ref().unwrap().url).await.unwrap();
            let client = pg.pool().get().await.unwrap();
            // The blob this test put first goes too: it comes back from the migration.
            // The steps after 4 (the case summaries, the archive, the registration numbers) go too.
            client
                .batch_execute(
                    "DELETE FROM schema_version WHERE version >= 4; DROP TABLE blobs;
                     DROP TABLE case_summaries; DROP TABLE report_tallies;
                     DROP TABLE archived_cases; DROP TABLE archived_events;
                     DROP TABLE registration_sequences; DROP TABLE registrations;",
                )
                .await
                .unwrap();
        }
    }
    let store = f.node().await;
    store.ready().await.unwrap();
    let read = store.events(s.case).await.unwrap();
    assert_eq!(read.len(), events.len());
    let engine = Engine::new(store.clone(), Arc::new(ManualClock::new(t0()))).await.unwrap();
    for (index, expected) in [(1, &first), (2, &second), (3, &first)] {
        let Event::ArtifactAttached(file) = &read[index].event else { panic!("not a document: {:?}", read[index]) };
        assert_eq!(file.storage, Storage::Blob, "event {index}");
        assert_eq!(file.sha256, alur::runtime::media::sha256_hex(expected));
        assert_eq!(file.size, expected.len() as u64);
        assert_eq!(&engine.document(file).await.unwrap(), expected);
        assert!(!serde_json::to_string(&read[index].event).unwrap().contains("base64"));
    }
    let Event::ArtifactAttached(damaged) = &read[4].event else { panic!("not a document") };
    assert_eq!(damaged.storage, Storage::Inline { base64: "@@not base64@@".into() });
    assert!(engine.document(damaged).await.is_err(), "a damaged inline body is an error, not bytes");
    // Opening again changes nothing.
    let again = f.node().await;
    assert_eq!(again.events(s.case).await.unwrap(), read);
}

/// Ended cases move to the archive and read the same (events, listing, summaries) on this node
/// and another; a running case and one that ended after the date stay; a second run moves
/// nothing; an archived case takes no more appends.
async fn ended_cases_move_to_the_archive_and_read_the_same(f: &Fixture) {
    use alur::runtime::store::summary::SummaryFilter;
    use alur::runtime::Caller;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = Engine::new(f.store(), clock.clone()).await.unwrap();
    engine.deploy_file(&root.join("sop/lks-lksa.sop"), &root.join("sop/calendars")).await.unwrap();
    let withdraw = |case: CaseId, who: String| {
        let engine = &engine;
        async move { engine.withdraw(case, &Caller::new(who, &["pemohon"]), Some("salah isi".into())).await.unwrap() }
    };
    let mut old = Vec::new();
    for n in 0..3 {
        let case = engine.start_case("lks_lksa", &format!("p{n}"), Default::default(), None).await.unwrap();
        withdraw(case, format!("p{n}")).await;
        old.push(case);
    }
    let running = engine.start_case("lks_lksa", "p8", Default::default(), None).await.unwrap();
    clock.advance(Duration::days(10));
    let recent = engine.start_case("lks_lksa", "p9", Default::default(), None).await.unwrap();
    withdraw(recent, "p9".into()).await;
    let all = [old.clone(), vec![running, recent]].concat();
    let mut before = Vec::new();
    for &case in &all {
        before.push(f.store().events(case).await.unwrap());
    }
    let listed = |store: Arc<dyn Store>| async move {
        let mut ids = store.case_ids().await.unwrap();
        ids.sort();
        ids
    };
    let ids_before = listed(f.store()).await;
    let filter = SummaryFilter { limit: 100, ..SummaryFilter::default() };
    let summaries_before = f.store().case_summaries(&filter).await.unwrap();

    let moved = f.store().archive_ended(t0() + Duration::days(5), t0() + Duration::days(11)).await.unwrap();
    let events: u64 = before[..3].iter().map(|e| e.len() as u64).sum();
    assert_eq!((moved.cases, moved.events, moved.kept), (3, events, 1), "{moved:?}");
    for store in [f.store(), f.node().await] {
        for (case, events) in all.iter().zip(&before) {
            assert_eq!(&store.events(*case).await.unwrap(), events, "case {case} reads the same");
            assert_eq!(&store.events_after(*case, 2).await.unwrap(), &events[2..], "the tail of case {case}");
        }
        let asks: Vec<(CaseId, u64)> = all.iter().map(|case| (*case, 0)).collect();
        assert_eq!(store.events_after_each(&asks).await.unwrap(), before, "read together, archived or not");
        assert_eq!(listed(store.clone()).await, ids_before, "every case is still listed, once");
        assert_eq!(store.case_summaries(&filter).await.unwrap(), summaries_before, "and summarized");
    }
    let again = f.store().archive_ended(t0() + Duration::days(5), t0() + Duration::days(11)).await.unwrap();
    assert_eq!((again.cases, again.kept), (0, 1), "{again:?}");
    // An archived case takes no appends; the running one goes on.
    let mut late = Stream { case: old[0], seq: before[0].len() as u64 };
    let refused = f.store().append(old[0], late.seq, &[late.ev(Event::CaseCancelled { reason: None })]).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_eq!(f.store().events(old[0]).await.unwrap(), before[0]);
    withdraw(running, "p8".into()).await;
    // (The SQLite store keeps the case whose event is the log's last: a new case goes after it.)
    let newest = engine.start_case("lks_lksa", "p10", Default::default(), None).await.unwrap();
    let everything = f.store().archive_ended(t0() + Duration::days(30), t0() + Duration::days(30)).await.unwrap();
    assert_eq!((everything.cases, everything.kept), (2, 0), "{everything:?}");
    let mut ids = ids_before.clone();
    ids.push(newest);
    ids.sort();
    assert_eq!(listed(f.store()).await, ids);
}

/// A registered start: `CaseStarted` carrying a registration still without its number.
fn registered_start(s: &mut Stream) -> Recorded {
    let mut first = s.started("lks");
    if let Event::CaseStarted { registration, .. } = &mut first.event {
        *registration = Some(alur::runtime::registration::unnumbered());
    }
    first
}

fn numbering(before: &str) -> alur::model::Numbering {
    alur::model::Numbering { before: before.into(), width: 4, after: "/2026".into() }
}

/// Numbers count 1, 2, 3 per sequence; a start the store refuses takes none (no gap); the
/// number is in the stored first event and finds its case.
async fn registered_starts_take_the_next_number_without_gaps(f: &Fixture) {
    let store = f.store();
    let (a, b) = (numbering("503/"), numbering("510/"));
    let mut cases = Vec::new();
    for (i, seq) in [&a, &a, &b, &a].into_iter().enumerate() {
        let mut s = Stream::new();
        let events = vec![registered_start(&mut s), s.opened(1, "ajukan", &["pemohon"], 30)];
        let got = store.append_registered(s.case, events, seq).await.unwrap();
        assert!(!got.secret.is_empty(), "start {i}");
        cases.push((s.case, got));
    }
    let numbers: Vec<&str> = cases.iter().map(|(_, r)| r.number.as_str()).collect();
    assert_eq!(numbers, ["503/0001/2026", "503/0002/2026", "510/0001/2026", "503/0003/2026"]);
    assert_eq!(cases[1].1.n, 2);
    assert_eq!(cases[1].1.sequence, "503/{nomor}/2026");
    for (case, registration) in &cases {
        assert_eq!(store.case_by_number(&registration.number).await.unwrap(), Some(*case));
        let events = store.events(*case).await.unwrap();
        let Event::CaseStarted { registration: Some(stored), .. } = &events[0].event else { panic!("no number") };
        assert_eq!(stored, registration);
        assert_eq!(events.len(), 2);
    }
    assert_eq!(store.case_by_number("503/0009/2026").await.unwrap(), None);
    // The same case started again (a conflict), and a misnumbered start: both refused, and
    // neither takes a number.
    let (again, _) = &cases[0];
    let mut s = Stream { case: *again, seq: 0 };
    let refused = store.append_registered(*again, vec![registered_start(&mut s)], &a).await;
    assert_eq!(refused, Err(StoreError::Conflict(*again)));
    let mut s = Stream::new();
    let mut bad = registered_start(&mut s);
    bad.seq = 2;
    assert!(matches!(store.append_registered(s.case, vec![bad], &a).await, Err(StoreError::Refused(_))));
    // A start without a registration in its first event is refused too.
    let mut s = Stream::new();
    let plain = vec![s.started("lks")];
    assert!(matches!(store.append_registered(s.case, plain, &a).await, Err(StoreError::Refused(_))));
    assert!(store.events(s.case).await.unwrap().is_empty());
    let mut s = Stream::new();
    let next = store.append_registered(s.case, vec![registered_start(&mut s)], &a).await.unwrap();
    assert_eq!(next.number, "503/0004/2026", "no number was lost to the refused starts");
    // A number another pattern's sequence already gave is refused, not given twice.
    let overlapping = alur::model::Numbering { before: "503/000".into(), width: 0, after: "/2026".into() };
    let mut s = Stream::new();
    let clash = store.append_registered(s.case, vec![registered_start(&mut s)], &overlapping).await;
    assert!(matches!(&clash, Err(StoreError::Refused(m)) if m.contains("503/0001/2026")), "{clash:?}");
    assert!(store.events(s.case).await.unwrap().is_empty());
    let mut s = Stream::new();
    let after = store.append_registered(s.case, vec![registered_start(&mut s)], &overlapping).await;
    assert!(after.is_err(), "the clash gave its number back, so the same number is refused again");
}

/// Many starts at once, half on each of two nodes (two store instances on one SQLite file or
/// PostgreSQL database): every number 1..=n once.
async fn racing_registered_starts_across_nodes_take_each_number_once(f: &Fixture) {
    let nodes = [f.store(), f.node().await];
    let seq = numbering("503/");
    let starts: Vec<_> = (0..40)
        .map(|i| {
            let (store, seq) = (nodes[i % 2].clone(), seq.clone());
            tokio::spawn(async move {
                let mut s = Stream::new();
                let events = vec![registered_start(&mut s), s.opened(1, "ajukan", &["pemohon"], 30)];
                (s.case, store.append_registered(s.case, events, &seq).await.unwrap())
            })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    for start in starts {
        let (case, registration) = start.await.unwrap();
        assert_eq!(nodes[0].case_by_number(&registration.number).await.unwrap(), Some(case));
        assert!(numbers.insert(registration.n), "{} given twice", registration.number);
    }
    assert_eq!(numbers, (1..=40).collect::<BTreeSet<u64>>());
}

/// Two engines (nodes) starting cases of an SOP that numbers them: the numbers are in the
/// office's format, each once, with no gap, and the case state carries them.
async fn engines_on_two_nodes_number_their_cases_once(f: &Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let (sop, calendars) = crate::desk::numbered_sop(dir.path());
    let start = chrono_tz::Asia::Makassar.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).single().unwrap().with_timezone(&Utc);
    let clock = Arc::new(ManualClock::new(start));
    let one = Arc::new(Engine::new(f.store(), clock.clone()).await.unwrap().with_node("one"));
    one.deploy_file(&sop, &calendars).await.unwrap();
    let two = Arc::new(Engine::new(f.node().await, clock.clone()).await.unwrap().with_node("two"));
    two.refresh_deployments().await.unwrap();
    let starts: Vec<_> = (0..30)
        .map(|i| {
            let engine = if i % 2 == 0 { one.clone() } else { two.clone() };
            tokio::spawn(async move { engine.start_case("lks_lksa", &format!("p{i}"), Default::default(), None).await })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    for start in starts {
        let case = start.await.unwrap().unwrap();
        let state = one.load(case).await.unwrap();
        let number = state.number.clone().expect("a registration number");
        assert_eq!(state.registration.as_ref().map(|r| r.number.as_str()), Some(number.as_str()));
        assert!(number.starts_with("503/") && number.ends_with("/DPMPTSP/XII/2026"), "{number}");
        assert!(numbers.insert(number));
    }
    let expected: BTreeSet<String> = (1..=30).map(|n| format!("503/{n:04}/DPMPTSP/XII/2026")).collect();
    assert_eq!(numbers, expected);
}

/// Every contract test on every store, by concern: `store_conformance::<store>::<concern>::<test>`.
/// Every store implements every concern; what differs between them (how far the data is
/// shared, whose commits the feed announces) is `Store::capabilities`, and the tests that
/// depend on it (a second node, the feed's reach) ask it.
macro_rules! conformance {
    ($($concern:ident: [$($test:ident),* $(,)?]),* $(,)?) => {
        conformance!(@store memory, Memory, $($concern: [$($test),*]),*);
        conformance!(@store sqlite, Sqlite, $($concern: [$($test),*]),*);
        conformance!(@store postgres, Postgres, $($concern: [$($test),*]),*);
    };
    (@store $store:ident, $kind:ident, $($concern:ident: [$($test:ident),*]),*) => {
        mod $store {
            $(
                mod $concern {
                    $(
                        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                        async fn $test() {
                            // None only for PostgreSQL when it is not there and skipping is allowed.
                            let Some(f) = crate::store_conformance::Fixture::new(
                                crate::store_conformance::Kind::$kind,
                                stringify!($test),
                            )
                            .await
                            else {
                                return;
                            };
                            crate::store_conformance::$test(&f).await
                        }
                    )*
                }
            )*
        }
    };
}

conformance!(
    event_log: [
        ready_when_the_schema_is_current,
        append_and_read_back,
        case_ids_in_start_order,
        conflict_on_wrong_version_writes_nothing,
        misnumbered_events_are_refused,
        a_case_with_nothing_open_takes_appends,
        completions_read_back_as_appended,
        a_case_starts_with_case_started,
        racing_appends_have_one_winner,
        appends_together_keep_each_result,
        events_after_returns_the_tail,
        events_after_each_answers_in_the_order_asked,
        instants_read_back_exactly,
        racing_appends_across_two_nodes_have_one_winner,
    ],
    inbox: [
        open_tasks_by_actor,
        partitioned_inboxes_split_the_inbox,
        claims_show_in_the_index,
        escalation_adds_an_actor,
        tasks_close_on_completion_expiry_and_end,
    ],
    timers: [
        timers_are_set_cleared_and_ordered,
        a_task_without_a_due_date_has_no_timer,
        deadlines_of_many_cases_come_out_earliest_first,
        a_hold_pauses_the_task_and_its_maximum_routes_once_after_a_restart,
    ],
    leases: [
        timer_claims_are_exclusive_until_the_lease_runs_out,
        two_nodes_racing_for_due_timers_claim_each_once,
        a_dead_nodes_claims_go_to_another_after_the_lease,
        deadlines_fire_once_across_two_engines,
    ],
    deployments: [deployments_are_saved_once_per_version],
    feed: [a_change_on_one_node_shows_on_every_node, the_feed_reaches_as_far_as_the_store_says],
    blobs: [blobs_are_stored_once_and_read_back, inline_documents_move_into_blobs_when_the_store_migrates],
    archive: [ended_cases_move_to_the_archive_and_read_the_same],
    registry: [
        registered_starts_take_the_next_number_without_gaps,
        racing_registered_starts_across_nodes_take_each_number_once,
        engines_on_two_nodes_number_their_cases_once,
    ],
);

/// PostgreSQL's group commit: concurrent appends of one node share transactions, and every one
/// of them is written, in order, with its case's version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_group_commit_shares_commits() {
    use alur::runtime::store::prelude::*;
    let Some(f) = Fixture::new(Kind::Postgres, "postgres_group_commit_shares_commits").await else { return };
    let url = f.pg.as_ref().unwrap().url.clone();
    let store = Arc::new(alur::runtime::store::PostgresStore::open(&url).await.unwrap());
    let before = store.commit_stats();
    let writers: Vec<_> = (0..64)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut s = Stream::new();
                let e = vec![s.started("lks"), s.opened(1, "ajukan", &["pemohon"], 30)];
                s.append(&*store, &e).await.unwrap();
                for n in 0..5 {
                    let event = if n % 2 == 0 {
                        Event::TaskClaimed { task: 1, user: "u".into() }
                    } else {
                        Event::TaskReleased { task: 1, user: "u".into() }
                    };
                    let e = vec![s.ev(event)];
                    s.append(&*store, &e).await.unwrap();
                }
                s.case
            })
        })
        .collect();
    for w in writers {
        let case = w.await.unwrap();
        let events = store.events(case).await.unwrap();
        assert_eq!(events.iter().map(|r| r.seq).collect::<Vec<_>>(), (1..=7).collect::<Vec<_>>());
        // The last was a claim: the index followed every append in order.
        let tasks = store.open_tasks(&[]).await.unwrap();
        assert_eq!(tasks.iter().find(|t| t.case == case).unwrap().claimed_by.as_deref(), Some("u"));
    }
    let after = store.commit_stats();
    let (requests, commits) = (after.requests - before.requests, after.commits - before.commits);
    assert_eq!(requests, 64 * 6);
    assert!(commits < requests / 2, "{commits} commits for {requests} appends: little was shared");
}

/// `store::open` and what is particular to PostgreSQL: migrations, several nodes starting at
/// once on a fresh schema, bad URLs.
mod opening {
    use super::{postgres_url, with_params, Fixture, Kind, Stream};
    use alur::runtime::store::{self, PostgresStore, StoreError};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_path_opens_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let store = store::open(path.to_str().unwrap()).await.unwrap();
        let mut s = Stream::new();
        let e = vec![s.started("lks")];
        s.append(&*store, &e).await.unwrap();
        assert!(path.exists());
        let missing = dir.path().join("no/such/dir/x.db");
        // A path SQLite cannot open is the setting to fix.
        let refused = store::open(missing.to_str().unwrap()).await.err();
        assert!(matches!(&refused, Some(StoreError::Config(m)) if m.contains("no/such/dir")), "{refused:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_postgres_url_opens_postgres_and_nodes_starting_at_once_migrate_once() {
        // Through the fixture's check, so a missing PostgreSQL skips (or fails in CI) alike.
        let Some(f) = Fixture::new(Kind::Postgres, "a_postgres_url_opens_postgres").await else { return };
        drop(f);
        let base = postgres_url().await.unwrap();
        let schema = format!("alur_test_{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
        let url = with_params(&base, &format!("schema={schema}&pool_size=2"));
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { store::open(&url).await })
            })
            .collect();
        let mut stores = Vec::new();
        for o in opens {
            stores.push(o.await.unwrap().unwrap());
        }
        let pg = PostgresStore::open(&url).await.unwrap();
        assert_eq!(pg.schema(), schema);
        assert_eq!(pg.schema_version().await.unwrap(), 7);
        let mut s = Stream::new();
        let e = vec![s.started("lks")];
        s.append(&*stores[0], &e).await.unwrap();
        assert_eq!(stores[3].events(s.case).await.unwrap(), e);
        pg.drop_schema().await.unwrap();
    }

    /// `alur deploy` and `alur case` on PostgreSQL through `--db` and `ALUR_DB`, as a second
    /// process on the same schema would see it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_cli_works_cases_on_postgres() {
        let Some(f) = Fixture::new(Kind::Postgres, "the_cli_works_cases_on_postgres").await else { return };
        let url = f.pg.as_ref().unwrap().url.clone();
        let root = env!("CARGO_MANIFEST_DIR");
        let run = |args: &[&str]| {
            let out = assert_cmd::Command::cargo_bin("alur")
                .unwrap()
                .current_dir(root)
                .env("LANG", "en_US.UTF-8")
                .env("ALUR_DB", &url)
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let deployed = run(&["deploy", "--db", &url]);
        assert!(deployed.contains("lks_lksa v1"), "{deployed}");
        let started = run(&["case", "start", "lks_lksa", "--as", "yayasan"]);
        let case: alur::runtime::CaseId = started.lines().next().unwrap().trim().parse().unwrap();
        let inbox = run(&["case", "inbox", "--role", "pemohon"]);
        assert!(inbox.contains(&case.to_string()) && inbox.contains("ajukan"), "{inbox}");
        // The store in this process sees what the other processes wrote.
        let events = f.store().events(case).await.unwrap();
        assert!(matches!(events[0].event, alur::runtime::Event::CaseStarted { .. }));
        assert_eq!(f.store().deployments().await.unwrap().len(), deployed.lines().count());
        // Deploying the same files again is no new version.
        assert!(run(&["deploy"]).contains("nothing changed"));
        assert_eq!(f.store().deployments().await.unwrap().len(), deployed.lines().count());
    }

    /// The change feed's connection dies (killed on the server): the feed reconnects, says
    /// `Resync`, and announces changes again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_change_feed_reconnects_and_says_resync() {
        use alur::runtime::store::Change;
        let Some(f) = Fixture::new(Kind::Postgres, "the_change_feed_reconnects_and_says_resync").await else { return };
        let writer = f.node().await;
        let mut feed = f.store().changes();
        let pg = f.pg.as_ref().unwrap();
        let (admin, connection) = tokio_postgres::connect(&pg.base, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let killed = admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1",
                &[&format!("LISTEN alur_changes_{}", pg.schema)],
            )
            .await
            .unwrap();
        // Both stores of the test listen.
        assert_eq!(killed.len(), 2);
        let wait = std::time::Duration::from_secs(10);
        assert_eq!(tokio::time::timeout(wait, feed.recv()).await.unwrap().unwrap(), Change::Resync);
        let mut s = Stream::new();
        let e = vec![s.started("lks")];
        s.append(&*writer, &e).await.unwrap();
        assert_eq!(
            tokio::time::timeout(wait, feed.recv()).await.unwrap().unwrap(),
            Change::Appended { case: s.case, version: 1 }
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_postgres_urls_are_clear_errors() {
        // A setting to fix is `Config`; a server that does not answer is unreachable for now.
        for (url, says, is_setting) in [
            ("postgres://u@127.0.0.1:5432/test?schema=Bad-Name", "not a valid name", true),
            ("postgres://u@127.0.0.1:5432/test?pool_size=0", "pool_size=0", true),
            ("postgres://u@127.0.0.1:5432/test?nonsense=1", "bad database URL", true),
            ("postgres://u:secret@127.0.0.1:1/test", "connecting", false),
        ] {
            match store::open(url).await {
                Err(StoreError::Config(message)) | Err(StoreError::Transient(message)) => {
                    let kind = matches!(store::open(url).await, Err(StoreError::Config(_)));
                    assert_eq!(kind, is_setting, "{url}: {message}");
                    assert!(message.contains(says), "{url}: {message}");
                    assert!(!message.contains("secret"), "{url}: {message}");
                }
                Err(other) => panic!("{url}: unexpected {other}"),
                Ok(_) => panic!("{url}: opened"),
            }
        }
    }
}

/// The accounts on PostgreSQL keep the last admin too, in the transaction that would demote or
/// delete them (the SQLite accounts are tested through the API in `serve_api`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_accounts_keep_the_last_admin() {
    use alur::server::accounts::{AccountError, Accounts, Role, User};
    let Some(fixture) = Fixture::new(Kind::Postgres, "postgres_accounts_keep_the_last_admin").await else { return };
    let store = PostgresStore::open(&fixture.pg.as_ref().unwrap().url).await.unwrap();
    let accounts = Accounts::open_postgres(store.pool().clone()).await.unwrap();
    let user = |name: &str, roles: Vec<Role>| User { name: name.into(), display: name.into(), roles };
    accounts.create_user(&user("kepala", vec![Role::Admin]), "rahasia").await.unwrap();
    let demoted = accounts.update_user(&user("kepala", vec![Role::Analyst]), None).await;
    assert!(matches!(demoted, Err(AccountError::LastAdmin(_))), "{demoted:?}");
    assert!(matches!(accounts.delete_user("kepala").await, Err(AccountError::LastAdmin(_))));
    assert!(accounts.user("kepala").await.unwrap().unwrap().is_admin());
    accounts.create_user(&user("wakil", vec![Role::Admin, Role::Analyst]), "rahasia").await.unwrap();
    accounts.update_user(&user("kepala", vec![Role::Analyst]), None).await.unwrap();
    assert!(matches!(accounts.delete_user("wakil").await, Err(AccountError::LastAdmin(_))));
    accounts.delete_user("kepala").await.unwrap();
    let reserved = accounts.create_user(&user("system", vec![Role::Analyst]), "rahasia").await;
    assert!(matches!(reserved, Err(AccountError::Invalid(_))), "{reserved:?}");
}

/// The accounts on PostgreSQL disable, reset, change passwords and end sign-ins as the SQLite
/// ones do (`accounts::disable_reset_change_and_revoke`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_accounts_disable_reset_change_and_revoke() {
    use alur::server::accounts::Accounts;
    let Some(fixture) = Fixture::new(Kind::Postgres, "postgres_accounts_disable_reset_change_and_revoke").await else {
        return;
    };
    let store = PostgresStore::open(&fixture.pg.as_ref().unwrap().url).await.unwrap();
    let accounts = Accounts::open_postgres(store.pool().clone()).await.unwrap();
    crate::accounts::disable_reset_change_and_revoke(&accounts).await;
}

/// Issue 23, item 7: the PostgreSQL accounts ran their queries through `block_in_place`, which
/// the current-thread runtime refuses ("needs the multi-thread tokio runtime"). Natively async
/// now, the whole behaviour works there, and a burst of sign-ins leaves its one thread free.
#[tokio::test]
async fn postgres_accounts_work_on_a_current_thread_runtime() {
    use alur::server::accounts::Accounts;
    let Some(fixture) = Fixture::new(Kind::Postgres, "postgres_accounts_work_on_a_current_thread_runtime").await else {
        return;
    };
    let store = PostgresStore::open(&fixture.pg.as_ref().unwrap().url).await.unwrap();
    let accounts = Accounts::open_postgres(store.pool().clone()).await.unwrap();
    crate::accounts::disable_reset_change_and_revoke(&accounts).await;
    accounts.audit("kepala", "uji", "ani", 200);
    accounts.close().await;
    let entries = accounts.audit_entries(10).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "uji"), "closing wrote the queued entry: {entries:?}");

    let fresh = Arc::new(Accounts::open_postgres(store.pool().clone()).await.unwrap());
    let (longest, took) = crate::accounts::sign_ins_beside_a_ticker(fresh, 24).await;
    crate::accounts::assert_the_ticker_kept_going(longest, took);
}

/// On a runtime of two workers, 48 sign-ins at once on PostgreSQL do not stall a task that
/// only ticks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sign_ins_leave_two_workers_free() {
    use alur::server::accounts::Accounts;
    let Some(fixture) = Fixture::new(Kind::Postgres, "postgres_sign_ins_leave_two_workers_free").await else { return };
    let store = PostgresStore::open(&fixture.pg.as_ref().unwrap().url).await.unwrap();
    let accounts = Arc::new(Accounts::open_postgres(store.pool().clone()).await.unwrap());
    let (longest, took) = crate::accounts::sign_ins_beside_a_ticker(accounts, 48).await;
    crate::accounts::assert_the_ticker_kept_going(longest, took);
}

/// A connection of the accounts ended by the server while it waits (an administrator's
/// `pg_terminate_backend`, a failover) is a transient error, answered 503 with `Retry-After`,
/// not a fault; tried again, the call gets a new connection and works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_accounts_a_lost_connection_is_unavailable() {
    use alur::server::accounts::{AccountError, Accounts, Role, User};
    let Some(fixture) = Fixture::new(Kind::Postgres, "postgres_accounts_a_lost_connection_is_unavailable").await else {
        return;
    };
    let pg = fixture.pg.as_ref().unwrap();
    let store = PostgresStore::open(&pg.url).await.unwrap();
    let accounts = Arc::new(Accounts::open_postgres(store.pool().clone()).await.unwrap());
    let admin = User { name: "kepala".into(), display: "Kepala".into(), roles: vec![Role::Admin] };
    accounts.create_user(&admin, "kopi hitam tanpa gula").await.unwrap();

    // Another session holds the users' table, so the accounts' query waits on the server...
    let (holder, connection) = tokio_postgres::connect(&pg.base, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    holder.batch_execute(&format!("BEGIN; LOCK TABLE {}.users IN ACCESS EXCLUSIVE MODE", pg.schema)).await.unwrap();
    let waiting = tokio::spawn({
        let accounts = accounts.clone();
        async move { accounts.users().await }
    });
    // ...until the server ends that connection.
    let mut ended = 0;
    for _ in 0..200 {
        let row = holder
            .query_one(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE wait_event_type = 'Lock' AND query LIKE '%FROM users ORDER BY name%'",
                &[],
            )
            .await
            .unwrap();
        ended = row.get::<_, i64>(0);
        if ended > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(ended, 1, "the accounts' query was found waiting");
    let refused = waiting.await.unwrap();
    assert!(matches!(&refused, Err(AccountError::Unavailable { .. })), "{refused:?}");
    let problem = alur::server::problem::Problem::account(&refused.unwrap_err(), alur::diagnostic::Lang::En);
    assert_eq!((problem.status, problem.code.as_str()), (503, "unavailable"));
    assert!(!problem.detail.contains("terminat"), "the cause is logged, not sent: {}", problem.detail);
    let response = axum::response::IntoResponse::into_response(problem);
    assert_eq!(response.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));

    holder.batch_execute("ROLLBACK").await.unwrap();
    // As a client told `Retry-After` does: the pool may hand out the ended connection once more
    // before it has noticed the end (one more `Unavailable`); then a new connection works.
    let mut tries = 0;
    let users = loop {
        tries += 1;
        match accounts.users().await {
            Err(AccountError::Unavailable { .. }) if tries < 5 => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            other => break other.unwrap(),
        }
    };
    assert_eq!(users.len(), 1, "a new connection works");
}

/// An SOP whose one staff step may stand on hold for at most 2 working days, then lapses.
const HOLD_SOP: &str = r#"sop tangguh "Uji penangguhan" {
    kalender wita_kantor
    standar_pelayanan 1 hari

    pelaksana {
        pemohon "Pemohon"      pemohon
        fo      "Front Office" staf
    }

    selesai {
        terbit "Izin terbit"
        gugur  "Permohonan gugur"
    }

    langkah 1 verifikasi oleh fo {
        kegiatan    "Memverifikasi berkas"
        waktu       1 jam
        penangguhan maks 2 hari -> gugur
        lanjut ke arsip
    }

    langkah 2 arsip oleh fo {
        kegiatan "Mengarsipkan"
        waktu    10 menit
        lanjut ke terbit
    }
}
"#;

/// `penangguhan` on every store (issue 22 shape 7): a held task leaves the inbox and its
/// deadline does not fire; resuming gives it back the time it had left and the service clock
/// counts the hold as paused; a hold that reaches its maximum routes the case once, fired by
/// an engine that started after the hold (a restart), and never again.
async fn a_hold_pauses_the_task_and_its_maximum_routes_once_after_a_restart(f: &Fixture) {
    use alur::runtime::{Caller, Completion, RuntimeError};
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tangguh.sop"), HOLD_SOP).unwrap();
    let start = chrono_tz::Asia::Makassar.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).single().unwrap().with_timezone(&Utc);
    let clock = Arc::new(ManualClock::new(start));
    let engine = Engine::new(f.store(), clock.clone()).await.unwrap().with_node("one");
    engine.deploy_file(&dir.path().join("tangguh.sop"), &root.join("sop/calendars")).await.unwrap();
    let d = engine.deployment("tangguh", None).unwrap();
    let fo = Caller::new("budi", &["fo"]);
    let case = engine.start_case("tangguh", "p", Default::default(), None).await.unwrap();
    let due = engine.load(case).await.unwrap().tasks.get(&1).unwrap().due.unwrap();

    // Held after 20 minutes, with 40 left.
    clock.advance(Duration::minutes(20));
    engine.hold(case, 1, &fo, "menunggu rekomendasi dinas teknis").await.unwrap();
    assert!(matches!(engine.hold(case, 1, &fo, "lagi").await, Err(RuntimeError::AlreadyOnHold { task: 1 })));
    assert!(matches!(
        engine.complete(case, 1, &fo, Completion::default()).await,
        Err(RuntimeError::OnHold { task: 1 })
    ));
    assert!(engine.inbox(&["fo".to_string()]).await.unwrap().is_empty(), "a held task leaves the inbox");
    let state = engine.load(case).await.unwrap();
    let view = alur::runtime::view::view(&state, &d, engine.now());
    let hold = view.on_hold.clone().unwrap();
    assert_eq!((hold.task, hold.reason.as_str()), (1, "menunggu rekomendasi dinas teknis"));
    assert_eq!(hold.until, d.calendar.due(hold.since, alur::time::Duration::workdays(2)).at);

    // Past the task's own due instant, nothing fires: its deadline stands still.
    clock.advance(Duration::hours(3));
    assert_eq!(engine.fire_due(engine.now()).await.unwrap(), 0);
    let held_for = d.calendar.working_minutes_between(hold.since, engine.now());
    engine.resume(case, 1, &fo).await.unwrap();
    assert!(matches!(engine.resume(case, 1, &fo).await, Err(RuntimeError::NotOnHold { task: 1 })));
    let state = engine.load(case).await.unwrap();
    let new_due = state.tasks.get(&1).unwrap().due.unwrap();
    assert_eq!(new_due, d.calendar.add_working_minutes(due, held_for));
    assert_eq!(d.calendar.working_minutes_between(engine.now(), new_due), 40, "the time left at the hold");
    let inbox = engine.inbox(&["fo".to_string()]).await.unwrap();
    assert_eq!(inbox.iter().map(|t| (t.task, t.due)).collect::<Vec<_>>(), vec![(1, Some(new_due))]);
    let view = alur::runtime::view::view(&state, &d, engine.now());
    assert!(view.on_hold.is_none());
    assert_eq!(view.case_due.as_ref().unwrap().paused_minutes, held_for, "the service clock paused");

    // Held again, and never resumed: after the maximum, an engine started later (a restart on
    // the same data) sends the case to `gugur`, once.
    clock.advance(Duration::minutes(10));
    engine.hold(case, 1, &fo, "menunggu kelengkapan dari pemohon").await.unwrap();
    drop(engine);
    clock.advance(Duration::days(5));
    let restarted = Engine::new(f.node().await, clock.clone()).await.unwrap().with_node("two");
    assert_eq!(restarted.fire_due(restarted.now()).await.unwrap(), 1);
    assert_eq!(restarted.fire_due(restarted.now()).await.unwrap(), 0);
    let state = restarted.load(case).await.unwrap();
    assert_eq!(state.end.as_deref(), Some("gugur"));
    let history = restarted.history(case).await.unwrap();
    assert_eq!(history.iter().filter(|r| matches!(r.event, Event::HoldExpired { .. })).count(), 1);
    assert!(restarted.inbox(&["fo".to_string()]).await.unwrap().is_empty());
    assert_eq!(f.store().next_timer().await.unwrap(), None);

    // Once resumed, the step goes on; the next step may not be held.
    let case = restarted.start_case("tangguh", "p", Default::default(), None).await.unwrap();
    restarted.complete(case, 1, &fo, Completion::default()).await.unwrap();
    assert!(matches!(
        restarted.hold(case, 2, &fo, "x").await,
        Err(RuntimeError::HoldNotAllowed { step }) if step == "arsip"
    ));
}
