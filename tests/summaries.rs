//! Case summaries and report tallies (issue 28): the case list and the reports read projections
//! kept as events are appended, and give the same answers as reading every case (the old full
//! computation, kept as the oracle); start-up recovery reads only the cases whose follow-ups may
//! not have happened. Run on every store.

use crate::store_conformance::{Fixture, Kind};
use alur::runtime::store::summary::{CaseSummaries, CaseSummary, SummaryFilter, Tally, Unsettled};
use alur::runtime::store::{
    Archived, BlobStore, CaseArchive, Change, ChangeFeed, Deployment, DeploymentStore, EventLog, FeedReach, InboxIndex,
    OpenTask, Partition, Sharing, StoreError, Timer, TimerIndex,
};
use alur::runtime::{
    Caller, CaseId, CaseStatus, Completion, Engine, ManualClock, Recorded, RuntimeError, Store, TaskNo,
};
use alur::server::app::queries::{case_rows, case_rows_full, report_rows, report_rows_full, CaseFilter};
use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

const SOPS: &[&str] =
    &["lks-lksa.sop", "izin-reklame.sop", "rekomendasi-dinas-teknis.sop", "persetujuan-lingkungan.sop"];

async fn engine_on(store: Arc<dyn Store>, clock: Arc<ManualClock>) -> Engine {
    let engine = Engine::new(store, clock).await.unwrap();
    for file in SOPS {
        engine.deploy_file(&root().join("sop").join(file), &root().join("sop/calendars")).await.unwrap();
    }
    engine
}

/// Cases of every SOP started over some weeks, worked through the inbox with returns and other
/// outcomes now and then, some cancelled or withdrawn, deadlines passing; some left open.
async fn workload(engine: &Engine, clock: &ManualClock, seed: u64) {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let sops: Vec<String> = engine.deployments().iter().map(|d| d.deployment.sop.clone()).collect();
    let applicants = ["ani", "budi", "citra"];
    for _round in 0..14 {
        for _ in 0..rng.gen_range(1..4) {
            let sop = &sops[rng.gen_range(0..sops.len())];
            let d = engine.deployment(sop, None).unwrap();
            let variant = d.sop.variants.first().map(|v| v.id.name.to_string());
            let applicant = applicants[rng.gen_range(0..applicants.len())];
            let _ = engine.start_case_of(sop, variant.as_deref(), applicant, Default::default(), None).await;
        }
        for task in engine.inbox(&[]).await.unwrap() {
            if rng.gen_bool(0.35) {
                continue;
            }
            if rng.gen_bool(0.03) {
                let _ = engine.cancel(task.case, &Caller::system(), Some("batal".into())).await;
                continue;
            }
            if rng.gen_bool(0.03) {
                if let Ok(case) = engine.load(task.case).await {
                    let _ = engine.withdraw(task.case, &Caller::new(case.applicant.as_str(), &[]), None).await;
                }
                continue;
            }
            let roles: Vec<String> = task.actors.iter().map(|a| a.to_string()).collect();
            let caller = Caller::with_roles(format!("petugas-{}", roles[0]), roles);
            let mut outcome = None;
            for _ in 0..3 {
                let completion = Completion { outcome: outcome.clone(), ..Completion::default() };
                match engine.complete(task.case, task.task, &caller, completion).await {
                    Err(RuntimeError::OutcomeRequired { allowed, .. }) => {
                        let allowed: Vec<&str> = allowed.split(", ").collect();
                        let pick = if rng.gen_bool(0.25) { rng.gen_range(0..allowed.len()) } else { 0 };
                        outcome = allowed.get(pick).map(|s| s.to_string());
                    }
                    Err(RuntimeError::RoundLimit { .. }) => outcome = None,
                    _ => break,
                }
            }
        }
        clock.advance(Duration::hours(rng.gen_range(3..60)));
        engine.fire_due(engine.now()).await.unwrap();
    }
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

/// The projections' answers equal the full computation's, for the reports and for the case
/// list with each filter.
async fn assert_same_as_the_oracle(engine: &Engine) {
    let sops: Vec<String> = engine.deployments().iter().map(|d| d.deployment.sop.clone()).collect();
    for by_actor in [false, true] {
        for sop in std::iter::once(None).chain(sops.iter().map(|s| Some(s.as_str()))) {
            let fast = report_rows(engine, sop, by_actor).await.unwrap();
            let full = report_rows_full(engine, sop, by_actor).await.unwrap();
            assert!(sop.is_some() || !full.is_empty(), "the workload made no report");
            assert_eq!(json(&fast), json(&full), "report by_actor={by_actor} sop={sop:?}");
        }
    }
    let mut filters = vec![CaseFilter::default(), CaseFilter { limit: Some(5), ..Default::default() }];
    for status in ["active", "ended", "withdrawn", "cancelled"] {
        filters.push(CaseFilter { status: Some(status.into()), ..Default::default() });
        filters.push(CaseFilter { status: Some(status.into()), limit: Some(3), ..Default::default() });
    }
    for sop in &sops {
        filters.push(CaseFilter { sop: Some(sop.clone()), ..Default::default() });
    }
    filters.push(CaseFilter { applicant: Some("budi".into()), status: Some("ended".into()), ..Default::default() });
    let everyone = |_: &alur::runtime::CaseState, _: &alur::runtime::deploy::Deployed| true;
    let only_ani = |c: &alur::runtime::CaseState, _: &alur::runtime::deploy::Deployed| c.applicant == "ani";
    for filter in &filters {
        let fast = case_rows(engine, filter, everyone).await.unwrap();
        let full = case_rows_full(engine, filter, everyone).await.unwrap();
        assert_eq!(json(&fast), json(&full), "case list {:?} {:?} {:?}", filter.status, filter.sop, filter.limit);
        let fast = case_rows(engine, filter, only_ani).await.unwrap();
        let full = case_rows_full(engine, filter, only_ani).await.unwrap();
        assert_eq!(json(&fast), json(&full), "visible case list {:?}", filter.status);
    }
    // Overdue: the running cases only (the deadline view is read for those).
    let overdue = CaseFilter { overdue: Some(true), ..Default::default() };
    let fast = case_rows(engine, &overdue, everyone).await.unwrap();
    let mut full = case_rows_full(engine, &overdue, everyone).await.unwrap();
    full.retain(|row| row.status == "active");
    assert_eq!(json(&fast), json(&full), "overdue cases");
}

async fn projections_match_the_full_computation(f: &Fixture) {
    let clock = Arc::new(ManualClock::new(start()));
    let engine = engine_on(f.store(), clock.clone()).await;
    workload(&engine, &clock, 7).await;
    let ended = engine
        .store()
        .case_summaries(&SummaryFilter { status: Some("ended".into()), limit: 1000, ..Default::default() })
        .await
        .unwrap();
    assert!(ended.len() >= 5, "the workload ended {} cases", ended.len());
    assert!(engine.store().unsettled().await.unwrap().is_empty(), "every command settled its case");
    assert_same_as_the_oracle(&engine).await;
    // Another engine (a restart, another node) reads the same.
    let again = Arc::new(engine_on(f.node().await, clock.clone()).await);
    again.recover().await.unwrap();
    assert_same_as_the_oracle(&again).await;
}

/// A store that counts the cases whose events are read, and can refuse appends to one case
/// (a crash between a child's end and its parent's continuation).
struct Watching {
    inner: Arc<dyn Store>,
    read: Mutex<Vec<CaseId>>,
    refuse: Mutex<Option<CaseId>>,
}

impl Watching {
    fn new(inner: Arc<dyn Store>) -> Watching {
        Watching { inner, read: Mutex::default(), refuse: Mutex::default() }
    }
}

#[async_trait]
impl CaseArchive for Watching {
    async fn archive_ended(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> Result<Archived, StoreError> {
        self.inner.archive_ended(before, now).await
    }
    fn archive_place(&self) -> String {
        self.inner.archive_place()
    }
}

#[async_trait]
impl alur::runtime::store::Registry for Watching {
    async fn append_registered(
        &self,
        case: CaseId,
        events: Vec<Recorded>,
        numbering: &alur::model::Numbering,
    ) -> Result<alur::runtime::event::Registration, StoreError> {
        self.inner.append_registered(case, events, numbering).await
    }
    async fn case_by_number(&self, number: &str) -> Result<Option<CaseId>, StoreError> {
        self.inner.case_by_number(number).await
    }
}

#[async_trait]
impl BlobStore for Watching {
    async fn put_blob(&self, bytes: Vec<u8>) -> Result<String, StoreError> {
        self.inner.put_blob(bytes).await
    }
    async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.blob(sha256).await
    }
    async fn has_blob(&self, sha256: &str) -> Result<bool, StoreError> {
        self.inner.has_blob(sha256).await
    }
}

#[async_trait]
impl CaseSummaries for Watching {
    async fn case_summaries(&self, filter: &SummaryFilter) -> Result<Vec<CaseSummary>, StoreError> {
        self.inner.case_summaries(filter).await
    }
    async fn unsettled(&self) -> Result<Vec<Unsettled>, StoreError> {
        self.inner.unsettled().await
    }
    async fn settle(&self, u: Unsettled, tallies: &[Tally]) -> Result<bool, StoreError> {
        self.inner.settle(u, tallies).await
    }
    async fn case_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        self.inner.case_counts().await
    }
    async fn tallies(&self, sop: Option<&str>) -> Result<Vec<Tally>, StoreError> {
        self.inner.tallies(sop).await
    }
}

#[async_trait]
impl EventLog for Watching {
    async fn ready(&self) -> Result<(), StoreError> {
        self.inner.ready().await
    }
    fn sharing(&self) -> Sharing {
        self.inner.sharing()
    }
    async fn append(&self, case: CaseId, expected: u64, events: &[Recorded]) -> Result<(), StoreError> {
        if *self.refuse.lock().unwrap() == Some(case) {
            return Err(StoreError::Backend("the process died here".into()));
        }
        self.inner.append(case, expected, events).await
    }
    async fn events(&self, case: CaseId) -> Result<Vec<Recorded>, StoreError> {
        self.read.lock().unwrap().push(case);
        self.inner.events(case).await
    }
    async fn events_after(&self, case: CaseId, seq: u64) -> Result<Vec<Recorded>, StoreError> {
        self.read.lock().unwrap().push(case);
        self.inner.events_after(case, seq).await
    }
    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        self.inner.case_ids().await
    }
}

#[async_trait]
impl DeploymentStore for Watching {
    async fn save_deployment(&self, deployment: &Deployment) -> Result<(), StoreError> {
        self.inner.save_deployment(deployment).await
    }
    async fn deployments(&self) -> Result<Vec<Deployment>, StoreError> {
        self.inner.deployments().await
    }
}

#[async_trait]
impl InboxIndex for Watching {
    async fn open_tasks(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError> {
        self.inner.open_tasks(actors).await
    }
    async fn inbox_of(&self, actors: &[String], partition: Partition) -> Result<Vec<OpenTask>, StoreError> {
        self.inner.inbox_of(actors, partition).await
    }
}

#[async_trait]
impl TimerIndex for Watching {
    async fn due_timers(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError> {
        self.inner.due_timers(until, limit).await
    }
    async fn next_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.next_timer().await
    }
    async fn claim_due_timers(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<Timer>, StoreError> {
        self.inner.claim_due_timers(node, now, lease, limit).await
    }
    async fn release_timer(&self, node: &str, case: CaseId, task: TaskNo) -> Result<(), StoreError> {
        self.inner.release_timer(node, case, task).await
    }
    async fn next_claimable_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.next_claimable_timer().await
    }
}

impl ChangeFeed for Watching {
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.inner.changes()
    }
    fn feed_reach(&self) -> FeedReach {
        self.inner.feed_reach()
    }
    fn observe(&self, metrics: Arc<alur::runtime::metrics::StoreMetrics>) {
        self.inner.observe(metrics)
    }
}

/// Works a case's open tasks with their first outcome until `stop` says so or nothing is open;
/// a task waiting on a sub-procedure is skipped.
async fn work(engine: &Engine, case: CaseId, stop: impl Fn(&alur::runtime::CaseState) -> bool) {
    for _ in 0..60 {
        let state = engine.load(case).await.unwrap();
        if state.status != CaseStatus::Active || stop(&state) {
            return;
        }
        let Some(task) = state.open_tasks().find(|t| t.child.is_none()).cloned() else { return };
        let d = engine.deployment(&state.sop, Some(state.version)).unwrap();
        let outcome =
            d.sop.step(&task.step).and_then(|s| s.decision.as_ref()).map(|dec| dec.outcomes[0].name.name.clone());
        let caller = Caller::new("u", &[&*task.actors[0]]);
        engine.complete(case, task.no, &caller, Completion { outcome, ..Completion::default() }).await.unwrap();
    }
}

async fn recovery_reads_only_unsettled_cases(f: &Fixture) {
    let clock = Arc::new(ManualClock::new(start()));
    let watching = Arc::new(Watching::new(f.store()));
    let engine = engine_on(watching.clone(), clock.clone()).await;
    // Finished cases: settled when they ended.
    let mut finished = Vec::new();
    for _ in 0..4 {
        let case = engine.start_case("lks_lksa", "ani", Default::default(), None).await.unwrap();
        work(&engine, case, |_| false).await;
        assert_eq!(engine.load(case).await.unwrap().status, CaseStatus::Ended);
        finished.push(case);
    }
    // A parent waiting on its sub-procedure; the child's end is appended, then the process
    // "dies" before the parent's task is completed.
    let parent = engine.start_case("persetujuan_lingkungan", "budi", Default::default(), None).await.unwrap();
    work(&engine, parent, |s| s.open_tasks().any(|t| t.child.is_some())).await;
    let state = engine.load(parent).await.unwrap();
    let waiting = state.open_tasks().find(|t| t.child.is_some()).cloned().expect("a task waiting on a child");
    let child = waiting.child.unwrap();
    *watching.refuse.lock().unwrap() = Some(parent);
    for _ in 0..30 {
        let cs = engine.load(child).await.unwrap();
        let Some(ct) = cs.open_tasks().next().cloned() else { break };
        let d = engine.deployment(&cs.sop, Some(cs.version)).unwrap();
        let outcome =
            d.sop.step(&ct.step).and_then(|s| s.decision.as_ref()).map(|dec| dec.outcomes[0].name.name.clone());
        let _ = engine
            .complete(
                child,
                ct.no,
                &Caller::new("u", &[&*ct.actors[0]]),
                Completion { outcome, ..Completion::default() },
            )
            .await;
    }
    assert_eq!(engine.load(child).await.unwrap().status, CaseStatus::Ended);
    let status = |s: &alur::runtime::CaseState| s.tasks.get(&waiting.no).map(|t| t.status);
    assert_eq!(status(&engine.load(parent).await.unwrap()), Some(alur::runtime::TaskStatus::Open));
    let unsettled: Vec<CaseId> = watching.unsettled().await.unwrap().iter().map(|u| u.case).collect();
    assert!(unsettled.contains(&child), "the child's end is not settled");

    // The restart: a new engine recovers.
    *watching.refuse.lock().unwrap() = None;
    let restarted = Arc::new(Watching::new(f.node().await));
    let engine = Arc::new(engine_on(restarted.clone(), clock.clone()).await);
    restarted.read.lock().unwrap().clear();
    engine.recover().await.unwrap();
    let read = restarted.read.lock().unwrap().clone();
    for case in &finished {
        assert!(!read.contains(case), "recovery read a finished case");
    }
    assert!(read.contains(&child));
    let state = engine.load(parent).await.unwrap();
    assert_eq!(status(&state), Some(alur::runtime::TaskStatus::Completed), "the parent went on");
    assert!(restarted.unsettled().await.unwrap().iter().all(|u| u.case != child));
    // And the child is counted once in the reports, as the full computation counts it.
    assert_same_as_the_oracle(&engine).await;
}

macro_rules! on_every_store {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let f = super::Fixture::new(super::Kind::Memory, stringify!($test)).await.unwrap();
                    super::$test(&f).await
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let f = super::Fixture::new(super::Kind::Sqlite, stringify!($test)).await.unwrap();
                    super::$test(&f).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(f) = super::Fixture::new(super::Kind::Postgres, stringify!($test)).await else {
                        return;
                    };
                    super::$test(&f).await
                }
            )*
        }
    };
}

on_every_store!(projections_match_the_full_computation, recovery_reads_only_unsettled_cases);

/// A file from before the summaries (schema 5) gets them from its log when it migrates, and
/// the first recovery counts its closed cases into the tallies, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_sqlite_file_gets_its_summaries_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alur.db");
    let clock = Arc::new(ManualClock::new(start()));
    let all = SummaryFilter { limit: usize::MAX, ..Default::default() };
    let before = {
        let store = Arc::new(alur::runtime::SqliteStore::open(&path).unwrap());
        let engine = engine_on(store.clone(), clock.clone()).await;
        workload(&engine, &clock, 3).await;
        store.case_summaries(&all).await.unwrap()
    };
    assert!(before.iter().any(|s| s.status != "active"));
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE case_summaries; DROP TABLE report_tallies; DROP TABLE registration_sequences;
             DROP TABLE registrations; DELETE FROM schema_version WHERE version >= 6; PRAGMA user_version = 5;",
        )
        .unwrap();
    }
    let store = Arc::new(alur::runtime::SqliteStore::open(&path).unwrap());
    assert_eq!(store.case_summaries(&all).await.unwrap(), before);
    assert_eq!(store.unsettled().await.unwrap().len(), before.len(), "every migrated case is settled once");
    let engine = Arc::new(engine_on(store.clone(), clock.clone()).await);
    engine.recover().await.unwrap();
    assert!(store.unsettled().await.unwrap().is_empty());
    assert_same_as_the_oracle(&engine).await;
    // A second recovery has nothing to do and counts nothing twice.
    engine.recover().await.unwrap();
    assert_same_as_the_oracle(&engine).await;
}
