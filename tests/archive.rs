//! `alur archive`: ended cases moved out of the live SQLite file into its archive read the same
//! as before, in an engine that has the file open, in a fresh one, through `alur case show`,
//! and from a backup; a move cut short between its two commits is finished by the next.

use alur::runtime::store::CaseArchive;
use alur::runtime::{Caller, CaseId, Completion, Engine, ManualClock, SqliteStore};
use chrono::Utc;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn alur(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alur")).args(["--lang", "en"]).args(args).env_remove("ALUR_DB").output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

async fn complete(engine: &Engine, case: CaseId, role: &str, outcome: Option<&str>) {
    let state = engine.load(case).await.unwrap();
    let task = state.open_tasks().next().unwrap().no;
    let completion = Completion { outcome: outcome.map(str::to_string), ..Completion::default() };
    engine.complete(case, task, &Caller::new(format!("user-{role}"), &[role]), completion).await.unwrap();
}

const WHOLE: [(&str, Option<&str>); 9] = [
    ("pemohon", None),
    ("front_office", Some("diterima")),
    ("back_office", None),
    ("dinas_teknis", None),
    ("back_office", None),
    ("kabid", None),
    ("sekretaris", None),
    ("kepala_dinas", None),
    ("pemohon", None),
];

/// Events in the live file's log of these cases.
fn live_events(db: &Path, cases: &[CaseId]) -> usize {
    let conn = rusqlite::Connection::open(db).unwrap();
    cases
        .iter()
        .map(|c| {
            conn.query_row("SELECT COUNT(*) FROM events WHERE case_id = ?1", [c.to_string()], |r| r.get::<_, i64>(0))
                .unwrap() as usize
        })
        .sum()
}

fn show(db: &Path, case: CaseId) -> String {
    let sop = root().join("sop");
    let out = alur(&["case", "--db", path(db), "--sop-dir", path(&sop), "show", &case.to_string(), "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_cases_read_the_same_everywhere_and_leave_the_live_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alur.db");
    // Now: `alur case show` fires the deadlines due by the system's clock.
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let engine = Engine::new(store.clone(), clock.clone()).await.unwrap();
    engine.deploy_file(&root().join("sop/lks-lksa.sop"), &root().join("sop/calendars")).await.unwrap();

    // Three cases to their end, one withdrawn, one returned to the applicant, one started last.
    let mut ended = Vec::new();
    for n in 0..3 {
        let case = engine.start_case("lks_lksa", &format!("pemohon-{n}"), Default::default(), None).await.unwrap();
        for (role, outcome) in WHOLE {
            clock.advance(chrono::Duration::minutes(7));
            complete(&engine, case, role, outcome).await;
        }
        ended.push(case);
    }
    let withdrawn = engine.start_case("lks_lksa", "pemohon-3", Default::default(), None).await.unwrap();
    engine.withdraw(withdrawn, &Caller::new("pemohon-3", &["pemohon"]), Some("salah isi".into())).await.unwrap();
    ended.push(withdrawn);
    let returned = engine.start_case("lks_lksa", "pemohon-4", Default::default(), None).await.unwrap();
    complete(&engine, returned, "pemohon", None).await;
    complete(&engine, returned, "front_office", Some("ditolak")).await;
    let running = engine.start_case("lks_lksa", "pemohon-5", Default::default(), None).await.unwrap();
    let all: Vec<CaseId> = ended.iter().copied().chain([returned, running]).collect();

    let mut before = Vec::new();
    for &case in &all {
        before.push(engine.history(case).await.unwrap());
    }
    let shown_before = show(&db, ended[0]);
    assert_eq!(live_events(&db, &ended), before[..4].iter().map(Vec::len).sum::<usize>());

    // A date before every end moves nothing.
    let out = alur(&["archive", "--before", "2026-01-01", "--db", path(&db)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("0 ended cases"), "{}", text(&out));

    // By another process, while this engine has the file open.
    let out = alur(&["archive", "--before", "2100-01-01", "--db", path(&db)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("4 ended cases"), "{}", text(&out));
    assert_eq!(live_events(&db, &ended), 0, "the ended cases' events left the live file");
    assert!(live_events(&db, &[returned, running]) > 0, "running cases stay");
    assert!(db.with_extension("db.archive").is_file());

    for (case, events) in all.iter().zip(&before) {
        assert_eq!(&engine.history(*case).await.unwrap(), events, "case {case} reads the same in the open engine");
    }
    assert_eq!(show(&db, ended[0]), shown_before, "`alur case show` of an archived case");
    let mut listed = alur::runtime::store::EventLog::case_ids(&*store).await.unwrap();
    listed.sort();
    let mut expected = all.clone();
    expected.sort();
    assert_eq!(listed, expected, "archived cases are still listed, once each");
    // The running cases go on.
    complete(&engine, running, "pemohon", None).await;
    complete(&engine, returned, "pemohon", None).await;

    // Again: nothing left to move.
    let out = alur(&["archive", "--before", "2100-01-01", "--db", path(&db)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("0 ended cases"), "{}", text(&out));

    // A backup carries the archive; the restored database reads the archived cases.
    let backup = dir.path().join("cadangan.db");
    let out = alur(&["backup", path(&backup), "--db", path(&db)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("cadangan.db.archive"), "{}", text(&out));
    drop(engine);
    drop(store);
    let fresh = tempfile::tempdir().unwrap();
    let restored = fresh.path().join("alur.db");
    let out = alur(&["restore", path(&backup), "--db", path(&restored)]);
    assert!(out.status.success(), "{}", text(&out));
    let store = Arc::new(SqliteStore::open(&restored).unwrap());
    let engine = Engine::new(store, clock.clone()).await.unwrap();
    for (case, events) in ended.iter().zip(&before) {
        assert_eq!(&engine.history(*case).await.unwrap(), events, "case {case} from the restored backup");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_cut_short_after_the_archive_commit_is_finished_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alur.db");
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let cases = {
        let store = Arc::new(SqliteStore::open(&db).unwrap());
        let engine = Engine::new(store, clock.clone()).await.unwrap();
        engine.deploy_file(&root().join("sop/lks-lksa.sop"), &root().join("sop/calendars")).await.unwrap();
        let mut cases = Vec::new();
        for n in 0..2 {
            let case = engine.start_case("lks_lksa", &format!("pemohon-{n}"), Default::default(), None).await.unwrap();
            engine.withdraw(case, &Caller::new(format!("pemohon-{n}"), &["pemohon"]), None).await.unwrap();
            cases.push(case);
        }
        engine.start_case("lks_lksa", "pemohon-9", Default::default(), None).await.unwrap();
        cases
    };
    // The live file as it was before the move, beside the archive the move wrote: what a crash
    // between the two commits leaves.
    let before_move = dir.path().join("before.db");
    let out = alur(&["backup", path(&before_move), "--db", path(&db)]);
    assert!(out.status.success(), "{}", text(&out));
    let out = alur(&["archive", "--before", "2100-01-01", "--db", path(&db)]);
    assert!(text(&out).contains("2 ended cases"), "{}", text(&out));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::copy(&before_move, &db).unwrap();
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let engine = Engine::new(store.clone(), clock.clone()).await.unwrap();
    let histories = [engine.history(cases[0]).await.unwrap(), engine.history(cases[1]).await.unwrap()];
    let events = histories[0].len() + histories[1].len();
    assert_eq!(live_events(&db, &cases), events, "both files hold the cases");
    let moved = store.archive_ended(Utc::now() + chrono::Duration::days(1), Utc::now()).await.unwrap();
    assert_eq!((moved.cases, moved.events), (2, events as u64), "{moved:?}");
    assert_eq!(live_events(&db, &cases), 0);
    assert_eq!(engine.history(cases[0]).await.unwrap(), histories[0]);
    assert_eq!(engine.history(cases[1]).await.unwrap(), histories[1]);
}

#[test]
fn a_bad_date_or_a_missing_database_is_refused_with_a_clear_message() {
    let out = alur(&["archive", "--before", "1 Januari", "--db", "x.db"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("YYYY-MM-DD"), "{}", text(&out));
    let out = alur(&["archive", "--before", "2026-01-01", "--zone", "WITA", "--db", "x.db"]);
    assert!(text(&out).contains("IANA"), "{}", text(&out));
    let out = alur(&["archive", "--before", "2026-01-01", "--db", "tidak-ada.db"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("tidak-ada.db` does not exist"), "{}", text(&out));
}

/// `alur archive --db postgres://...`: the cases move into the schema's archive tables and read
/// the same through `alur case show`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alur_archive_moves_ended_cases_on_postgres_too() {
    use crate::store_conformance::{Fixture, Kind};
    let Some(f) = Fixture::new(Kind::Postgres, "alur_archive_moves_ended_cases_on_postgres_too").await else { return };
    let url = f.postgres_url().unwrap().to_string();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let engine = Engine::new(f.store(), clock.clone()).await.unwrap();
    engine.deploy_file(&root().join("sop/lks-lksa.sop"), &root().join("sop/calendars")).await.unwrap();
    let case = engine.start_case("lks_lksa", "pemohon-1", Default::default(), None).await.unwrap();
    engine.withdraw(case, &Caller::new("pemohon-1", &["pemohon"]), None).await.unwrap();
    let running = engine.start_case("lks_lksa", "pemohon-2", Default::default(), None).await.unwrap();
    let shown = |case: CaseId| {
        let sop = root().join("sop");
        let out = alur(&["case", "--db", &url, "--sop-dir", path(&sop), "show", &case.to_string(), "--format", "json"]);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let before = shown(case);
    let out = alur(&["archive", "--before", "2100-01-01", "--db", &url]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 ended cases"), "{}", text(&out));
    assert!(text(&out).contains(".archived_events"), "{}", text(&out));
    assert_eq!(shown(case), before, "the archived case reads the same");
    assert!(engine.history(running).await.unwrap().len() > 1);
}
