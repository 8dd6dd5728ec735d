//! The stores beyond the contract every store keeps (tests/store_conformance.rs): the memory
//! store's chunked log reads back whole; the SQLite file survives reopening, old files are
//! upgraded, group commit shares fsyncs, and the engine runs a whole SOP on it.

use crate::store_conformance::{deployment, keys, strings, t0, Stream};
use alur::runtime::store::prelude::*;
use alur::runtime::store::StoreError;
use alur::runtime::{CaseId, Event, Recorded, SqliteStore, Store};
use chrono::Duration;
use std::sync::Arc;

#[tokio::test]
async fn sqlite_data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alur.db");
    let mut s = Stream::new();
    let events = vec![s.started("lks"), s.opened(1, "ajukan", &["pemohon"], 30), s.opened(2, "cek", &["fo"], 10)];
    {
        let store = SqliteStore::open(&path).unwrap();
        store.save_deployment(&deployment("lks", 1, "a")).await.unwrap();
        s.append(&store, &events).await.unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.events(s.case).await.unwrap(), events);
    assert_eq!(store.case_ids().await.unwrap(), vec![s.case]);
    assert_eq!(store.deployments().await.unwrap().len(), 1);
    assert_eq!(keys(&store.open_tasks(&strings(&["fo"])).await.unwrap()), vec![(s.case, 2)]);
    assert_eq!(store.next_timer().await.unwrap(), Some(t0() + Duration::minutes(10)));
    // The version carries over too.
    let stale = vec![Recorded {
        case: s.case,
        seq: 1,
        at: t0(),
        by: "u".into(),
        event: Event::StepSkipped { step: "x".into() },
    }];
    assert_eq!(store.append(s.case, 0, &stale).await, Err(StoreError::Conflict(s.case)));
    let next = vec![s.completed(2)];
    s.append(&store, &next).await.unwrap();
    assert_eq!(store.events(s.case).await.unwrap().len(), 4);
}

#[test]
fn sqlite_refuses_a_file_that_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not.db");
    std::fs::write(&path, "this is not an SQLite database, it is a long enough line of text to look like a header")
        .unwrap();
    match SqliteStore::open(&path) {
        // SQLite cannot tell a damaged header from another kind of file: both are named.
        Err(StoreError::Damaged { path: named, cause }) => {
            assert_eq!(named, path.display().to_string());
            assert!(cause.contains("not a database"), "{cause}");
        }
        Err(other) => panic!("unexpected {other}"),
        Ok(_) => panic!("opened a file that is not a database"),
    }
}

/// A file cut short (a copy that stopped half-way) is named as damaged at open, by its header,
/// without reading every page.
#[tokio::test]
async fn sqlite_names_a_file_cut_short_as_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        let mut s = Stream::new();
        let mut events = vec![s.started("lks")];
        for _ in 0..200 {
            events.push(s.ev(Event::TaskClaimed { task: 1, user: "u".repeat(1_000) }));
        }
        s.append(&store, &events).await.unwrap();
    }
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    }
    let length = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(length / 2).unwrap();
    match SqliteStore::open(&path) {
        // Named by the header check, or (when the closed store's last checkpoint row left a WAL
        // beside it) by SQLite reading the log: damaged either way.
        Err(StoreError::Damaged { cause, .. }) => {
            assert!(cause.contains("pages") || cause.contains("malformed"), "{cause}")
        }
        Err(other) => panic!("unexpected {other}"),
        Ok(_) => panic!("opened a file cut short"),
    }
}

mod engine_on_sqlite {
    use alur::runtime::{Caller, CaseId, CaseStatus, Completion, Engine, ManualClock, SqliteStore};
    use chrono::{DateTime, TimeZone, Utc};
    use std::path::PathBuf;
    use std::sync::Arc;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn wita(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Makassar.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap().with_timezone(&Utc)
    }

    fn who(role: &str) -> Caller {
        Caller::new(format!("user-{role}"), &[role])
    }

    async fn open_task(engine: &Engine, case: CaseId) -> (u32, String) {
        let state = engine.load(case).await.unwrap();
        let open: Vec<_> = state.open_tasks().collect();
        assert_eq!(open.len(), 1, "expected one open task, got {:?}", open.iter().map(|t| &t.step).collect::<Vec<_>>());
        (open[0].no, open[0].step.to_string())
    }

    /// The scenario of `runtime::lks_runs_end_to_end_with_one_return_at_verification`, on the
    /// SQLite file, and read again by a fresh engine on the reopened file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lks_runs_end_to_end_with_one_return_at_verification() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alur.db");
        let start = wita(2026, 12, 1, 8, 0);
        let clock = Arc::new(ManualClock::new(start));
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        let engine = Engine::new(store, clock.clone()).await.unwrap();
        engine.deploy_file(&root().join("sop/lks-lksa.sop"), &root().join("sop/calendars")).await.unwrap();
        let case = engine.start_case("lks_lksa", "pemohon-1", Default::default(), None).await.unwrap();
        let steps = [
            ("ajukan", "pemohon", None),
            ("verifikasi", "front_office", Some("ditolak")),
            ("ajukan", "pemohon", None),
            ("verifikasi", "front_office", Some("diterima")),
            ("terima_berkas", "back_office", None),
            ("rekomendasi_teknis", "dinas_teknis", None),
            ("proses_draft", "back_office", None),
            ("paraf_kabid", "kabid", None),
            ("paraf_sekretaris", "sekretaris", None),
            ("tanda_tangan", "kepala_dinas", None),
            ("terima_izin", "pemohon", None),
        ];
        for (step, role, outcome) in steps {
            let (task, open) = open_task(&engine, case).await;
            assert_eq!(open, step);
            let inbox = engine.inbox(&[role.to_string()]).await.unwrap();
            assert!(inbox.iter().any(|t| t.case == case && t.task == task), "{step} not in the {role} inbox");
            clock.advance(chrono::Duration::minutes(5));
            let completion = Completion { outcome: outcome.map(str::to_string), ..Completion::default() };
            engine.complete(case, task, &who(role), completion).await.unwrap();
        }
        let state = engine.load(case).await.unwrap();
        assert_eq!(state.status, CaseStatus::Ended);
        assert_eq!(state.end.as_deref(), Some("izin_diterima"));
        assert_eq!(state.tasks.len(), 11);
        assert_eq!(state.rework.len(), 1);
        assert_eq!(state.tasks.get(&1).unwrap().due, Some(wita(2026, 12, 1, 8, 30)));
        assert!(engine.inbox(&[]).await.unwrap().is_empty());
        let history = engine.history(case).await.unwrap();
        drop(engine);

        // A new engine on the reopened file has the deployment and the same case.
        let reopened = Engine::new(Arc::new(SqliteStore::open(&path).unwrap()), clock.clone()).await.unwrap();
        assert_eq!(reopened.deployments().len(), 1);
        let again = reopened.load(case).await.unwrap();
        assert_eq!(reopened.history(case).await.unwrap(), history);
        assert_eq!(again.status, CaseStatus::Ended);
    }
}

/// `writers` tasks, each starting a case of its own and then appending `claims` claims to it one
/// at a time; each task ends with its case id.
fn claiming_writers(store: &Arc<SqliteStore>, writers: usize, claims: usize) -> Vec<tokio::task::JoinHandle<CaseId>> {
    (0..writers)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut s = Stream::new();
                let e = vec![s.started("lks"), s.opened(1, "a", &["x"], 10)];
                s.append(&*store, &e).await.unwrap();
                for i in 0..claims {
                    let e = vec![s.ev(Event::TaskClaimed { task: 1, user: format!("u{i}") })];
                    s.append(&*store, &e).await.unwrap();
                }
                s.case
            })
        })
        .collect()
}

/// Concurrent appends share commits (one fsync for many), and each still succeeds alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_group_commit_shares_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("alur.db")).unwrap());
    let before = store.commit_stats();
    for h in claiming_writers(&store, 64, 5) {
        let case = h.await.unwrap();
        assert_eq!(store.events(case).await.unwrap().len(), 7);
    }
    let after = store.commit_stats();
    let requests = after.requests - before.requests;
    let commits = after.commits - before.commits;
    assert_eq!(requests, 64 * 6);
    assert!(commits < requests, "{commits} commits for {requests} appends: nothing was shared");
}

/// Many commands racing to commit, on both kinds of tokio runtime: each one's request is
/// committed whether it led a batch or waited on another's (a request queued while a commit was
/// going on and then left behind would hang its caller: the timeout turns that into a failure).
async fn racing_writers_all_commit(store: Arc<SqliteStore>) {
    let writers = claiming_writers(&store, 32, 40);
    let all = async {
        let mut cases = Vec::new();
        for w in writers {
            cases.push(w.await.unwrap());
        }
        cases
    };
    let cases = tokio::time::timeout(std::time::Duration::from_secs(120), all).await.expect("a commit never came");
    for case in cases {
        assert_eq!(store.events(case).await.unwrap().len(), 42);
    }
    assert_eq!(store.case_ids().await.unwrap().len(), 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_racing_writers_all_commit_on_the_multi_thread_runtime() {
    let dir = tempfile::tempdir().unwrap();
    racing_writers_all_commit(Arc::new(SqliteStore::open(dir.path().join("alur.db")).unwrap())).await;
}

#[tokio::test]
async fn sqlite_racing_writers_all_commit_on_the_current_thread_runtime() {
    let dir = tempfile::tempdir().unwrap();
    racing_writers_all_commit(Arc::new(SqliteStore::open(dir.path().join("alur.db")).unwrap())).await;
}

/// A steady stream of commits does not grow the WAL without bound: past 2,000 frames (8 MB)
/// the checkpoint thread copies it into the database and the committer makes it start over.
/// (With PASSIVE checkpoints alone the WAL never started over while commits kept coming: it
/// grew to 400 MB in a 4-second benchmark.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_stays_bounded_under_a_steady_stream_of_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alur.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut s = Stream::new();
    let start = vec![s.started("lks"), s.opened(1, "a", &["x"], 10)];
    s.append(&store, &start).await.unwrap();
    // Each append adds an event row of about 2 KB and rewrites the open task's row: 3,000 of
    // them write more than 6,000 pages (25 MB) to the WAL.
    let user = "u".repeat(2_000);
    for i in 0..3_000 {
        let event = if i % 2 == 0 {
            Event::TaskClaimed { task: 1, user: user.clone() }
        } else {
            Event::TaskReleased { task: 1, user: user.clone() }
        };
        let next = [s.ev(event)];
        s.append(&store, &next).await.unwrap();
    }
    // The frames in the WAL now (a passive checkpoint reports them): had it never started
    // over, all 6,000 and more.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let frames: i64 = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1)).unwrap();
    assert!((0..4_000).contains(&frames), "the WAL holds {frames} frames");
    let wal = std::fs::metadata(dir.path().join("alur.db-wal")).map(|m| m.len()).unwrap_or(0);
    assert!(wal <= 64 << 20, "the WAL grew to {wal} bytes");
    assert_eq!(store.events(s.case).await.unwrap().len(), 3_002);
}

/// A file made before the `schema_version` table (its version only in `PRAGMA user_version`)
/// is upgraded in place: its events stay, in order, and the inbox and deadlines derived from
/// them are what the old index tables said.
#[tokio::test]
async fn sqlite_upgrades_a_file_from_before_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let mut s = Stream::new();
    let events = vec![
        s.started("lks"),
        s.opened(1, "ajukan", &["pemohon"], 10),
        s.completed(1),
        s.opened(2, "cek", &["fo"], 20),
    ];
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        // Migration 1 as shipped, with one case: its events and its index rows.
        conn.execute_batch(
            r#"
            CREATE TABLE deployments (sop TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL,
                deployed_at TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (sop, version));
            CREATE TABLE cases (case_id TEXT NOT NULL PRIMARY KEY, sop TEXT NOT NULL);
            CREATE TABLE events (case_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, "by" TEXT NOT NULL,
                body TEXT NOT NULL, PRIMARY KEY (case_id, seq)) WITHOUT ROWID;
            CREATE TABLE open_tasks (case_id TEXT NOT NULL, task INTEGER NOT NULL, sop TEXT NOT NULL, step TEXT NOT NULL,
                due TEXT NOT NULL, claimed_by TEXT, PRIMARY KEY (case_id, task)) WITHOUT ROWID;
            CREATE TABLE task_actors (case_id TEXT NOT NULL, task INTEGER NOT NULL, pos INTEGER NOT NULL,
                actor TEXT NOT NULL, PRIMARY KEY (case_id, task, pos)) WITHOUT ROWID;
            CREATE INDEX task_actors_by_actor ON task_actors (actor, case_id, task);
            CREATE TABLE timers (case_id TEXT NOT NULL, task INTEGER NOT NULL, due TEXT NOT NULL,
                PRIMARY KEY (case_id, task)) WITHOUT ROWID;
            CREATE INDEX timers_by_due ON timers (due, case_id, task);
            PRAGMA user_version = 1;
            "#,
        )
        .unwrap();
        let id = s.case.to_string();
        conn.execute("INSERT INTO cases (case_id, sop) VALUES (?1, 'lks')", [&id]).unwrap();
        // Written in reverse: the old table's key, not the insert order, is the stream's order.
        for r in events.iter().rev() {
            conn.execute(
                r#"INSERT INTO events (case_id, seq, at, "by", body) VALUES (?1, ?2, ?3, ?4, ?5)"#,
                rusqlite::params![
                    id,
                    r.seq as i64,
                    r.at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                    r.by,
                    serde_json::to_string(&r.event).unwrap()
                ],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO open_tasks (case_id, task, sop, step, due) VALUES (?1, 2, 'lks', 'cek', '2026-12-01T00:20:00.000000000Z')",
            [&id],
        )
        .unwrap();
        conn.execute("INSERT INTO task_actors (case_id, task, pos, actor) VALUES (?1, 2, 0, 'fo')", [&id]).unwrap();
        conn.execute("INSERT INTO timers (case_id, task, due) VALUES (?1, 2, '2026-12-01T00:20:00.000000000Z')", [&id])
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.events(s.case).await.unwrap(), events);
    assert_eq!(keys(&store.open_tasks(&strings(&["fo"])).await.unwrap()), vec![(s.case, 2)]);
    assert!(store.open_tasks(&strings(&["pemohon"])).await.unwrap().is_empty());
    let due = t0() + Duration::minutes(20);
    assert_eq!(store.next_timer().await.unwrap(), Some(due));
    let claimed = store.claim_due_timers("n1", due, Duration::minutes(1), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].case, claimed[0].task), (s.case, 2));
    // The stream goes on where it was.
    let next = vec![s.completed(2)];
    s.append(&store, &next).await.unwrap();
    assert!(store.open_tasks(&[]).await.unwrap().is_empty());
    assert_eq!(store.next_timer().await.unwrap(), None);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let versions: Vec<i64> = conn
        .prepare("SELECT version FROM schema_version ORDER BY version")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7]);
    // Opening again changes nothing.
    drop(conn);
    SqliteStore::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM schema_version", [], |row| row.get(0)).unwrap();
    assert_eq!(count, 7);
}

/// A file at schema version 2 keeps its live claims on deadlines through the upgrade: the node
/// that held one still holds it, until its lease runs out.
#[tokio::test]
async fn sqlite_upgrade_keeps_live_claims() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let mut s = Stream::new();
    let events = vec![s.started("lks"), s.opened(1, "cek", &["fo"], 10)];
    {
        // The tables as schema 2 left them, with a claim in the old timers table.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            r#"
            CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
            INSERT INTO schema_version VALUES (1, 'then'), (2, 'then');
            CREATE TABLE deployments (sop TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL,
                deployed_at TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (sop, version));
            CREATE TABLE cases (case_id TEXT NOT NULL PRIMARY KEY, sop TEXT NOT NULL);
            CREATE TABLE events (case_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, "by" TEXT NOT NULL,
                body TEXT NOT NULL, PRIMARY KEY (case_id, seq)) WITHOUT ROWID;
            CREATE TABLE open_tasks (case_id TEXT NOT NULL, task INTEGER NOT NULL, sop TEXT NOT NULL, step TEXT NOT NULL,
                due TEXT NOT NULL, claimed_by TEXT, PRIMARY KEY (case_id, task)) WITHOUT ROWID;
            CREATE TABLE task_actors (case_id TEXT NOT NULL, task INTEGER NOT NULL, pos INTEGER NOT NULL,
                actor TEXT NOT NULL, PRIMARY KEY (case_id, task, pos)) WITHOUT ROWID;
            CREATE TABLE timers (case_id TEXT NOT NULL, task INTEGER NOT NULL, due TEXT NOT NULL,
                claimed_by TEXT, lease_until TEXT, PRIMARY KEY (case_id, task)) WITHOUT ROWID;
            PRAGMA user_version = 2;
            "#,
        )
        .unwrap();
        let id = s.case.to_string();
        conn.execute("INSERT INTO cases (case_id, sop) VALUES (?1, 'lks')", [&id]).unwrap();
        for r in &events {
            conn.execute(
                r#"INSERT INTO events (case_id, seq, at, "by", body) VALUES (?1, ?2, ?3, ?4, ?5)"#,
                rusqlite::params![
                    id,
                    r.seq as i64,
                    r.at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                    r.by,
                    serde_json::to_string(&r.event).unwrap()
                ],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO timers (case_id, task, due, claimed_by, lease_until)
             VALUES (?1, 1, '2026-12-01T00:10:00.000000000Z', 'old-node', '2026-12-01T00:12:00.000000000Z')",
            [&id],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let at = |m: i64| t0() + Duration::minutes(m);
    let lease = Duration::minutes(1);
    assert!(store.claim_due_timers("new-node", at(11), lease, 10).await.unwrap().is_empty());
    assert_eq!(store.next_claimable_timer().await.unwrap(), Some(at(12)));
    assert_eq!(store.claim_due_timers("new-node", at(12), lease, 10).await.unwrap().len(), 1);
}

/// A file from a newer alur is refused, not downgraded.
#[test]
fn sqlite_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    SqliteStore::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (99, 'later')", []).unwrap();
    drop(conn);
    match SqliteStore::open(&path) {
        Err(StoreError::Schema(message)) => assert!(message.contains("schema version 99"), "{message}"),
        Err(other) => panic!("unexpected {other}"),
        Ok(_) => panic!("opened a database from a newer alur"),
    }
}

/// The in-memory store keeps one log in chunks; cases interleaved across many chunks still read
/// back whole and in order, from the start or after a version.
#[tokio::test]
async fn memory_store_reads_interleaved_cases_across_log_chunks() {
    let store = alur::runtime::MemoryStore::new();
    let mut streams: Vec<Stream> = (0..3).map(|_| Stream::new()).collect();
    let mut written: Vec<Vec<Recorded>> = vec![Vec::new(); 3];
    for (i, s) in streams.iter_mut().enumerate() {
        let started = vec![s.started("lks")];
        s.append(&store, &started).await.unwrap();
        written[i].extend(started);
    }
    // 3 cases x 4,000 rounds: 12,000 events, more than one chunk of the log.
    for round in 0..4_000u32 {
        for (i, s) in streams.iter_mut().enumerate() {
            let batch = vec![s.opened(round + 1, "langkah", &["fo"], 10)];
            s.append(&store, &batch).await.unwrap();
            written[i].extend(batch);
        }
    }
    for (i, s) in streams.iter().enumerate() {
        assert_eq!(store.events(s.case).await.unwrap(), written[i]);
        assert_eq!(store.events_after(s.case, 3_990).await.unwrap(), written[i][3_990..].to_vec());
        assert!(store.events_after(s.case, 10_000).await.unwrap().is_empty());
    }
}

/// A batch is written without a savepoint per append; when one append fails after it may
/// have written, the batch is done again with savepoints, so only that append fails and the
/// others commit. Provoked here with a case row left behind without events (its first event
/// then collides with the row), among many appends sent at once so they share batches.
#[tokio::test]
async fn sqlite_append_failing_midway_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alur.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let mut broken = Stream::new();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute("INSERT INTO cases (case_id, sop) VALUES (?1, 'lks')", [broken.case.to_string()]).unwrap();
    }
    let broken_events = vec![broken.started("lks")];
    let mut tasks = Vec::new();
    let mut good = Vec::new();
    for i in 0..40 {
        let mut s = Stream::new();
        let events = vec![s.started("lks"), s.opened(1, "ajukan", &["pemohon"], 30)];
        let client = store.clone();
        good.push((s.case, events.clone()));
        tasks.push(tokio::spawn(async move { client.append(s.case, 0, &events).await }));
        if i == 20 {
            let store = store.clone();
            let events = broken_events.clone();
            tasks.push(tokio::spawn(async move { store.append(broken.case, 0, &events).await }));
        }
    }
    let results: Vec<_> = futures_util::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1, "{results:?}");
    assert!(matches!(store.append(broken.case, 0, &broken_events).await, Err(StoreError::Backend(_))));
    assert!(store.events(broken.case).await.unwrap().is_empty());
    for (case, events) in &good {
        assert_eq!(&store.events(*case).await.unwrap(), events);
    }
    assert_eq!(store.open_tasks(&strings(&["pemohon"])).await.unwrap().len(), good.len());
}

/// A claim on a deadline that fired stays in the file until its lease runs out: it stands for
/// nothing (the deadline is gone, and a task's number is never used again), and the next claim
/// after the lease deletes it, so the claims table holds the live claims only.
#[tokio::test]
async fn sqlite_claims_of_fired_deadlines_are_dropped_once_their_lease_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alur.db");
    let store = SqliteStore::open(&path).unwrap();
    let at = |m: i64| t0() + Duration::minutes(m);
    let lease = Duration::minutes(1);
    let mut streams = Vec::new();
    for _ in 0..5 {
        let mut s = Stream::new();
        let e = vec![s.started("lks"), s.opened(1, "a", &["x"], 10)];
        s.append(&store, &e).await.unwrap();
        streams.push(s);
    }
    assert_eq!(store.claim_due_timers("n1", at(10), lease, 100).await.unwrap().len(), 5);
    for s in &mut streams {
        let e = vec![s.ev(Event::DeadlinePassed { task: 1 })];
        s.append(&store, &e).await.unwrap();
    }
    let claims = |path: &std::path::Path| -> i64 {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row("SELECT COUNT(*) FROM timer_claims", [], |row| row.get(0)).unwrap()
    };
    assert_eq!(store.next_claimable_timer().await.unwrap(), None);
    assert_eq!(claims(&path), 5);
    assert!(store.claim_due_timers("n2", at(11), lease, 100).await.unwrap().is_empty());
    assert_eq!(claims(&path), 0);
}

/// A document's bytes live in a file beside the database, written before the event naming it;
/// a blob file damaged on disk is an error that says so, never other bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_documents_live_beside_the_file_and_damage_is_an_error() {
    use alur::runtime::{Attachment, Caller, Engine, ManualClock};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alur.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
    let engine = Engine::new(store.clone(), Arc::new(ManualClock::new(t0()))).await.unwrap();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    engine.deploy_file(&root.join("sop/lks-lksa.sop"), &root.join("sop/calendars")).await.unwrap();
    let case = engine.start_case("lks_lksa", "p", Default::default(), None).await.unwrap();
    let scan = b"\x89PNG\r\n\x1a\nfoto ktp".to_vec();
    let pemohon = Caller::new("p", &["pemohon"]);
    let png = Attachment::Bytes(scan.clone());
    engine.attach(case, Some(1), &pemohon, "persyaratan", "ktp.png", "image/png", png).await.unwrap();
    let file = engine.load(case).await.unwrap().attachments[0].file.clone();
    let blob = dir.path().join("alur.db.blobs").join(&file.sha256[..2]).join(&file.sha256);
    assert_eq!(std::fs::read(&blob).unwrap(), scan);
    assert_eq!(engine.document(&file).await.unwrap(), scan);
    let mut damaged = scan.clone();
    damaged[9] ^= 1;
    std::fs::write(&blob, &damaged).unwrap();
    let error = engine.document(&file).await.unwrap_err().to_string();
    assert!(error.contains("damaged") && error.contains(&file.sha256), "{error}");
    std::fs::remove_file(&blob).unwrap();
    let error = engine.document(&file).await.unwrap_err().to_string();
    assert!(error.contains("missing"), "{error}");
}

/// Another process holding the SQLite file's write lock past the busy timeout (10 s) makes an
/// append fail as transient, not as a backend fault: nothing was written, the same append works
/// once the lock is gone, and the API says 503 with Retry-After.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_lock_held_elsewhere_is_a_transient_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alur.db");
    let store = SqliteStore::open(&path).unwrap();
    store.save_deployment(&deployment("lks", 1, "a")).await.unwrap();
    let mut s = Stream::new();
    let events = vec![s.started("lks"), s.opened(1, "ajukan", &["pemohon"], 30)];
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let refused = store.append(s.case, 0, &events).await;
    assert!(matches!(&refused, Err(StoreError::Transient(_))), "{refused:?}");
    assert!(store.events(s.case).await.unwrap().is_empty(), "nothing was written");
    other.execute_batch("ROLLBACK").unwrap();
    s.append(&store, &events).await.unwrap();
    assert_eq!(store.events(s.case).await.unwrap(), events);

    let problem = alur::server::problem::Problem::runtime(
        &alur::runtime::RuntimeError::Unavailable("sqlite store: database is locked".into()),
        alur::diagnostic::Lang::En,
    );
    assert_eq!(problem.status, 503);
    assert_eq!(problem.code, "unavailable");
    assert!(!problem.detail.contains("sqlite"), "the cause is logged, not sent: {}", problem.detail);
    let response = axum::response::IntoResponse::into_response(problem);
    assert_eq!(response.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));
}

/// A stored event that does not decode (the file edited by hand, or damaged) is `Corrupt`,
/// a kind of its own the server logs as such, not a generic database failure.
#[tokio::test]
async fn sqlite_an_event_that_does_not_read_back_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alur.db");
    let mut s = Stream::new();
    let events = vec![s.started("lks"), s.opened(1, "ajukan", &["pemohon"], 30)];
    {
        let store = SqliteStore::open(&path).unwrap();
        s.append(&store, &events).await.unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE events SET body = '{\"type\": \"no_such_event\"}' WHERE seq = 2", []).unwrap();
    drop(conn);
    let read = match SqliteStore::open(&path) {
        Ok(store) => store.events(s.case).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match read {
        Err(StoreError::Corrupt(message)) => assert!(message.contains("decoding an event"), "{message}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
