//! The store contract, written once and run on every store: the in-memory one and the SQLite
//! file. A store appends a case's events only at the version the caller read, and keeps the
//! inbox and timer indexes in step with the events.

use alur::runtime::store::{Deployment, OpenTask, StoreError, Timer};
use alur::runtime::{CaseId, Event, MemoryStore, Recorded, SqliteStore, Store, TaskNo};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::sync::Arc;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

/// A case's stream being written: hands out the next seq.
struct Stream {
    case: CaseId,
    seq: u64,
}

impl Stream {
    fn new() -> Stream {
        Stream { case: CaseId::new(), seq: 0 }
    }

    fn ev(&mut self, event: Event) -> Recorded {
        self.seq += 1;
        Recorded {
            case: self.case,
            seq: self.seq,
            at: t0() + Duration::seconds(self.seq as i64),
            by: "u".into(),
            event,
        }
    }

    fn started(&mut self, sop: &str) -> Recorded {
        self.ev(Event::CaseStarted {
            sop: sop.into(),
            version: 1,
            applicant: "p".into(),
            fields: Default::default(),
            parent: None,
        })
    }

    fn opened(&mut self, task: TaskNo, step: &str, actors: &[&str], due_minutes: i64) -> Recorded {
        self.ev(Event::TaskOpened {
            task,
            step: step.into(),
            actors: actors.iter().map(|a| a.to_string()).collect(),
            due: t0() + Duration::minutes(due_minutes),
            uncertain: false,
        })
    }

    fn completed(&mut self, task: TaskNo) -> Recorded {
        self.ev(Event::TaskCompleted { task, outcome: None, fields: Default::default(), note: None })
    }

    /// Appends at the version the stream had before `events` were made.
    async fn append(&self, store: &dyn Store, events: &[Recorded]) -> Result<(), StoreError> {
        store.append(self.case, self.seq - events.len() as u64, events).await
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn keys(tasks: &[OpenTask]) -> Vec<(CaseId, TaskNo)> {
    tasks.iter().map(|t| (t.case, t.task)).collect()
}

async fn append_and_read_back(store: Arc<dyn Store>) {
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

async fn case_ids_in_start_order(store: Arc<dyn Store>) {
    let mut started = Vec::new();
    for _ in 0..5 {
        let mut s = Stream::new();
        let e = vec![s.started("lks")];
        s.append(&*store, &e).await.unwrap();
        started.push(s.case);
    }
    assert_eq!(store.case_ids().await.unwrap(), started);
}

async fn conflict_on_wrong_version_writes_nothing(store: Arc<dyn Store>) {
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

async fn a_case_starts_with_case_started(store: Arc<dyn Store>) {
    let mut s = Stream::new();
    let e = vec![s.opened(1, "ajukan", &["pemohon"], 30)];
    assert!(matches!(store.append(s.case, 0, &e).await, Err(StoreError::Backend(_))));
    assert!(store.events(s.case).await.unwrap().is_empty());
    assert!(store.open_tasks(&[]).await.unwrap().is_empty());
    assert!(store.case_ids().await.unwrap().is_empty());
}

async fn racing_appends_have_one_winner(store: Arc<dyn Store>) {
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
                by: format!("u{i}"),
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

async fn open_tasks_by_actor(store: Arc<dyn Store>) {
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
            actors: strings(&["fo", "bo"]),
            due: t0() + Duration::minutes(60),
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

async fn claims_show_in_the_index(store: Arc<dyn Store>) {
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

async fn escalation_adds_an_actor(store: Arc<dyn Store>) {
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
    assert_eq!(tasks[0].actors, strings(&["fo", "kabid"]));
    assert_eq!(keys(&store.open_tasks(&strings(&["fo"])).await.unwrap()), vec![(s.case, 1)]);
    // The deadline passed: its timer is gone, the task stays open.
    assert!(store.due_timers(t0() + Duration::days(365), 10).await.unwrap().is_empty());
    // Closing the task takes it out of every actor's inbox.
    let e = vec![s.completed(1)];
    s.append(&*store, &e).await.unwrap();
    assert!(store.open_tasks(&strings(&["kabid"])).await.unwrap().is_empty());
    assert!(store.open_tasks(&strings(&["fo"])).await.unwrap().is_empty());
}

async fn tasks_close_on_completion_expiry_and_end(store: Arc<dyn Store>) {
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

async fn timers_are_set_cleared_and_ordered(store: Arc<dyn Store>) {
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

fn deployment(sop: &str, version: u32, sha: &str) -> Deployment {
    Deployment {
        sop: sop.into(),
        version,
        sha256: sha.into(),
        sources: vec![(format!("{sop}.sop"), format!("sop {sop}\n"))],
        calendars: vec![("kantor.sop".into(), "kalender\n".into())],
        deployed_at: t0(),
    }
}

async fn deployments_are_saved_once_per_version(store: Arc<dyn Store>) {
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

fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

fn sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("alur.db")).unwrap();
    (dir, Arc::new(store))
}

/// Every contract test, once per store.
macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod memory_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::memory()).await
                }
            )*
        }
        mod sqlite_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let (_dir, store) = super::sqlite();
                    super::$test(store).await
                }
            )*
        }
    };
}

conformance!(
    append_and_read_back,
    case_ids_in_start_order,
    conflict_on_wrong_version_writes_nothing,
    a_case_starts_with_case_started,
    racing_appends_have_one_winner,
    open_tasks_by_actor,
    claims_show_in_the_index,
    escalation_adds_an_actor,
    tasks_close_on_completion_expiry_and_end,
    timers_are_set_cleared_and_ordered,
    deployments_are_saved_once_per_version,
);

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
        Err(StoreError::Backend(message)) => assert!(message.contains("sqlite store"), "{message}"),
        Err(other) => panic!("unexpected {other}"),
        Ok(_) => panic!("opened a file that is not a database"),
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
        (open[0].no, open[0].step.clone())
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
        assert_eq!(state.tasks[&1].due, wita(2026, 12, 1, 8, 30));
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

/// Concurrent appends share commits (one fsync for many), and each still succeeds alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_group_commit_shares_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("alur.db")).unwrap());
    let before = store.commit_stats();
    let mut handles = Vec::new();
    for _ in 0..64 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut s = Stream::new();
            let e = vec![s.started("lks"), s.opened(1, "a", &["x"], 10)];
            s.append(&*store, &e).await.unwrap();
            for i in 0..5 {
                let e = vec![s.ev(Event::TaskClaimed { task: 1, user: format!("u{i}") })];
                s.append(&*store, &e).await.unwrap();
            }
            s.case
        }));
    }
    for h in handles {
        let case = h.await.unwrap();
        assert_eq!(store.events(case).await.unwrap().len(), 7);
    }
    let after = store.commit_stats();
    let requests = after.requests - before.requests;
    let commits = after.commits - before.commits;
    assert_eq!(requests, 64 * 6);
    assert!(commits < requests, "{commits} commits for {requests} appends: nothing was shared");
}
