//! The runtime executes any compiled SOP: every construct, on the shipped SOPs and on small
//! SOPs written for one construct, with virtual time.

use alur::model::Value;
use alur::runtime::store::prelude::*;
use alur::runtime::view::{view, Sla};
use alur::runtime::{
    Caller, CaseId, CaseStatus, Clock, Completion, Engine, Event, ManualClock, MemoryStore, RuntimeError, TaskStatus,
};
use chrono::{DateTime, TimeZone, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A WITA wall-clock time as UTC.
fn wita(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Makassar.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap().with_timezone(&Utc)
}

async fn engine_at(start: DateTime<Utc>, files: &[&str]) -> (Arc<Engine>, Arc<ManualClock>, Arc<MemoryStore>) {
    let clock = Arc::new(ManualClock::new(start));
    let store = Arc::new(MemoryStore::new());
    let engine = Engine::new(store.clone(), clock.clone()).await.unwrap();
    for file in files {
        engine.deploy_file(&root().join("sop").join(file), &root().join("sop/calendars")).await.unwrap();
    }
    (Arc::new(engine), clock, store)
}

fn who(role: &str) -> Caller {
    Caller::new(format!("user-{role}"), &[role])
}

fn decide(outcome: &str) -> Completion {
    Completion { outcome: Some(outcome.into()), ..Completion::default() }
}

/// The one open task of a case.
async fn open_task(engine: &Engine, case: CaseId) -> (u32, String) {
    let state = engine.load(case).await.unwrap();
    let open: Vec<_> = state.open_tasks().collect();
    assert_eq!(open.len(), 1, "expected one open task, got {:?}", open.iter().map(|t| &t.step).collect::<Vec<_>>());
    (open[0].no, open[0].step.to_string())
}

#[tokio::test]
async fn lks_runs_end_to_end_with_one_return_at_verification() {
    let start = wita(2026, 12, 1, 8, 0);
    let (engine, clock, _) = engine_at(start, &["lks-lksa.sop"]).await;
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
        // Work found through the inbox, as a worklist would.
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
    // The first task was due 30 working minutes after the start.
    assert_eq!(state.tasks.get(&1).unwrap().due, Some(wita(2026, 12, 1, 8, 30)));
    assert!(engine.inbox(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn task_due_dates_follow_the_office_calendar() {
    // Thursday 15:55 WITA: a 30-minute step falls due Friday 07:55.
    let (engine, _, _) = engine_at(wita(2026, 11, 26, 15, 55), &["lks-lksa.sop"]).await;
    let case = engine.start_case("lks_lksa", "p", Default::default(), None).await.unwrap();
    let state = engine.load(case).await.unwrap();
    assert_eq!(state.tasks.get(&1).unwrap().due, Some(wita(2026, 11, 27, 7, 55)));
}

#[tokio::test]
async fn two_completions_of_one_task_have_exactly_one_winner() {
    let (engine, _, _) = engine_at(wita(2026, 12, 1, 8, 0), &["lks-lksa.sop"]).await;
    for _ in 0..20 {
        let case = engine.start_case("lks_lksa", "p", Default::default(), None).await.unwrap();
        let mut handles = Vec::new();
        for i in 0..8 {
            let engine = engine.clone();
            handles.push(tokio::spawn(async move {
                engine.complete(case, 1, &Caller::new(format!("u{i}"), &["pemohon"]), Completion::default()).await
            }));
        }
        let mut wins = 0;
        for h in handles {
            match h.await.unwrap() {
                Ok(()) => wins += 1,
                Err(RuntimeError::Conflict(_) | RuntimeError::TaskNotOpen { .. }) => {}
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert_eq!(wins, 1);
        let history = engine.history(case).await.unwrap();
        let completions = history.iter().filter(|r| matches!(r.event, Event::TaskCompleted { task: 1, .. })).count();
        assert_eq!(completions, 1);
    }
}

#[tokio::test]
async fn claims_race_and_only_the_claimer_may_complete() {
    let (engine, _, _) = engine_at(wita(2026, 12, 1, 8, 0), &["lks-lksa.sop"]).await;
    let case = engine.start_case("lks_lksa", "p", Default::default(), None).await.unwrap();
    let a = Caller::new("ani", &["pemohon"]);
    let b = Caller::new("budi", &["pemohon"]);
    engine.claim(case, 1, &a).await.unwrap();
    assert!(matches!(engine.claim(case, 1, &b).await, Err(RuntimeError::ClaimedByOther { .. })));
    assert!(matches!(
        engine.complete(case, 1, &b, Completion::default()).await,
        Err(RuntimeError::ClaimedByOther { .. })
    ));
    engine.release(case, 1, &a).await.unwrap();
    // Releasing is for the task's own actors, even when nobody holds it (a bug once let anyone).
    let outsider = Caller::new("kabid", &["kabid"]);
    assert!(matches!(engine.release(case, 1, &outsider).await, Err(RuntimeError::WrongActor { .. })));
    engine.claim(case, 1, &b).await.unwrap();
    engine.complete(case, 1, &b, Completion::default()).await.unwrap();
}

#[tokio::test]
async fn bad_commands_are_typed_errors_and_change_nothing() {
    let (engine, _, store) = engine_at(wita(2026, 12, 1, 8, 0), &["lks-lksa.sop", "izin-reklame.sop"]).await;
    let case = engine.start_case("lks_lksa", "p", Default::default(), None).await.unwrap();
    let before = store.events(case).await.unwrap().len();
    let cases: Vec<(Result<(), RuntimeError>, &str)> = vec![
        (engine.complete(CaseId::new(), 1, &who("pemohon"), Completion::default()).await, "unknown case"),
        (engine.complete(case, 99, &who("pemohon"), Completion::default()).await, "unknown task"),
        (engine.complete(case, 1, &who("kabid"), Completion::default()).await, "wrong role"),
        (engine.complete(case, 1, &who("pemohon"), decide("diterima")).await, "outcome on a step without decision"),
    ];
    for (result, what) in cases {
        assert!(result.is_err(), "{what} was accepted");
    }
    assert!(matches!(
        engine.start_case("tidak_ada", "p", Default::default(), None).await,
        Err(RuntimeError::UnknownSop(_))
    ));
    engine.complete(case, 1, &who("pemohon"), Completion::default()).await.unwrap();
    let after_first = store.events(case).await.unwrap().len();
    assert!(matches!(
        engine.complete(case, 2, &who("front_office"), decide("mungkin")).await,
        Err(RuntimeError::UnknownOutcome { .. })
    ));
    assert!(matches!(
        engine.complete(case, 2, &who("front_office"), Completion::default()).await,
        Err(RuntimeError::OutcomeRequired { .. })
    ));
    // Fields of the wrong type, and unknown fields.
    let mut wrong = alur::runtime::Fields::new();
    wrong.insert("perlu_survei".into(), Value::Text("ya".into()));
    assert!(matches!(engine.start_case("izin_reklame", "p", wrong, None).await, Err(RuntimeError::FieldType { .. })));
    let mut unknown = alur::runtime::Fields::new();
    unknown.insert("tidak_ada".into(), Value::Bool(true));
    assert!(matches!(
        engine.start_case("izin_reklame", "p", unknown, None).await,
        Err(RuntimeError::UnknownField { .. })
    ));
    assert_eq!(store.events(case).await.unwrap().len(), after_first);
    assert!(after_first > before);
    // A cancelled case takes nothing more.
    engine.cancel(case, &who("admin"), Some("uji".into())).await.unwrap();
    assert!(matches!(
        engine.complete(case, 2, &who("front_office"), decide("diterima")).await,
        Err(RuntimeError::CaseClosed { .. })
    ));
    assert!(matches!(engine.withdraw(case, &who("pemohon"), None).await, Err(RuntimeError::CaseClosed { .. })));
}

#[tokio::test]
async fn return_rounds_are_limited_and_pause_the_service_clock() {
    let start = wita(2026, 12, 1, 8, 0);
    let (engine, clock, _) = engine_at(start, &["izin-reklame.sop"]).await;
    let case = engine.start_case("izin_reklame", "p", Default::default(), Some("daftar_online")).await.unwrap();
    let (task, step) = open_task(&engine, case).await;
    assert_eq!(step, "daftar_online", "the online entry was chosen");
    engine.complete(case, task, &who("pemohon"), Completion::default()).await.unwrap();
    for round in 1..=2 {
        let (task, step) = open_task(&engine, case).await;
        assert_eq!(step, "verifikasi");
        engine.complete(case, task, &who("back_office"), decide("tidak_lengkap")).await.unwrap();
        // The applicant takes a working day to complete the file; the clock is paused.
        clock.advance(chrono::Duration::days(1));
        let (task, step) = open_task(&engine, case).await;
        assert_eq!(step, "daftar_online", "round {round}");
        engine.complete(case, task, &who("pemohon"), Completion::default()).await.unwrap();
    }
    let (task, _) = open_task(&engine, case).await;
    let third = engine.complete(case, task, &who("back_office"), decide("tidak_lengkap")).await;
    assert!(matches!(third, Err(RuntimeError::RoundLimit { rounds: 2, .. })), "{third:?}");
    let state = engine.load(case).await.unwrap();
    let d = engine.deployment("izin_reklame", None).unwrap();
    let v = view(&state, &d, clock.now());
    let due = v.case_due.expect("a service standard");
    assert!(due.paused_minutes >= 2 * 450 - 60, "paused {} minutes", due.paused_minutes);
}

#[tokio::test]
async fn conditional_step_three_way_decision_and_the_end_it_leads_to() {
    for (survey, decision, end) in
        [(true, "disetujui", "terbit"), (false, "ditolak", "ditolak"), (false, "ditangguhkan", "ditangguhkan")]
    {
        let (engine, clock, _) = engine_at(wita(2026, 12, 1, 8, 0), &["izin-reklame.sop"]).await;
        let mut fields = alur::runtime::Fields::new();
        fields.insert("perlu_survei".into(), Value::Bool(survey));
        let case = engine.start_case("izin_reklame", "p", fields, None).await.unwrap();
        let mut seen = Vec::new();
        loop {
            let state = engine.load(case).await.unwrap();
            if state.status != CaseStatus::Active {
                assert_eq!(state.end.as_deref(), Some(end));
                assert_eq!(state.fields.get("hasil"), Some(&Value::Choice(decision.into())));
                assert_eq!(state.skipped.contains(&"survei_lapangan".to_string()), !survey);
                break;
            }
            let task = state.open_tasks().next().unwrap().clone();
            seen.push(task.step.to_string());
            let outcome = match &*task.step {
                "verifikasi" => Some("lengkap"),
                "kajian_teknis" => Some(decision),
                _ => None,
            };
            let role = task.actors[0];
            clock.advance(chrono::Duration::minutes(1));
            let completion = Completion { outcome: outcome.map(str::to_string), ..Completion::default() };
            engine.complete(case, task.no, &Caller::new("u", &[&*role]), completion).await.unwrap();
        }
        assert_eq!(seen.contains(&"survei_lapangan".to_string()), survey);
        assert_eq!(seen.first().map(String::as_str), Some("daftar_loket"), "the first alternative by default");
        assert!(!seen.contains(&"penomoran".to_string()), "system steps are done by the system");
    }
}

#[tokio::test]
async fn deadlines_escalate_and_route_once_through_the_timer_service() {
    let start = wita(2026, 12, 1, 8, 0);
    let (engine, clock, _) = engine_at(start, &["izin-reklame.sop"]).await;
    let case = engine.start_case("izin_reklame", "p", Default::default(), None).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let service = tokio::spawn(alur::runtime::timer::run(engine.clone(), clock.clone(), stop_rx, |e| panic!("{e}")));
    let (task, _) = open_task(&engine, case).await;
    engine.complete(case, task, &who("front_office"), Completion::default()).await.unwrap();
    // Verification (30 menit) is left too long: it escalates to the kabid, once.
    clock.advance(chrono::Duration::hours(2));
    let mut escalated = false;
    for _ in 0..200 {
        let history = engine.history(case).await.unwrap();
        if history.iter().any(|r| matches!(r.event, Event::TaskEscalated { .. })) {
            escalated = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(escalated, "the deadline did not fire");
    clock.advance(chrono::Duration::hours(2));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let history = engine.history(case).await.unwrap();
    let escalations = history.iter().filter(|r| matches!(r.event, Event::TaskEscalated { .. })).count();
    assert_eq!(escalations, 1, "a deadline fires once");
    let (task, step) = open_task(&engine, case).await;
    assert_eq!(step, "verifikasi");
    assert!(engine.inbox(&["kabid".into()]).await.unwrap().iter().any(|t| t.case == case), "escalated to kabid");
    engine.complete(case, task, &who("kabid"), decide("lengkap")).await.unwrap();
    // The technical review misses its 3 hours: the permit is issued automatically.
    let (_, step) = open_task(&engine, case).await;
    assert_eq!(step, "kajian_teknis");
    clock.advance(chrono::Duration::days(7));
    let mut ended = None;
    for _ in 0..200 {
        let state = engine.load(case).await.unwrap();
        if state.status == CaseStatus::Ended {
            ended = state.end.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(ended.as_deref(), Some("terbit"), "fiktif positif");
    let state = engine.load(case).await.unwrap();
    assert!(state.tasks.values().any(|t| &*t.step == "kajian_teknis" && t.status == TaskStatus::Expired));
    stop_tx.send(true).unwrap();
    service.await.unwrap();
}

#[tokio::test]
async fn parallel_recommendations_join_and_a_sub_procedure_routes_its_parent() {
    let (engine, clock, _) =
        engine_at(wita(2026, 12, 1, 8, 0), &["rekomendasi-dinas-teknis.sop", "persetujuan-lingkungan.sop"]).await;
    let case = engine.start_case("persetujuan_lingkungan", "p", Default::default(), None).await.unwrap();
    let mut max_open = 0;
    let mut children = Vec::new();
    for _ in 0..100 {
        let state = engine.load(case).await.unwrap();
        if state.status != CaseStatus::Active {
            break;
        }
        let open: Vec<_> = state.open_tasks().cloned().collect();
        max_open = max_open.max(open.len());
        let mut progressed = false;
        for task in open {
            if let Some(child) = task.child {
                children.push(child);
                // Work the child case: its end completes this task.
                loop {
                    let cs = engine.load(child).await.unwrap();
                    let Some(ct) = cs.open_tasks().next().cloned() else { break };
                    let d = engine.deployment(&cs.sop, Some(cs.version)).unwrap();
                    let step = d.sop.step(&ct.step).unwrap();
                    let outcome = step.decision.as_ref().map(|dec| dec.outcomes[0].name.name.clone());
                    let completion = Completion { outcome, ..Completion::default() };
                    engine.complete(child, ct.no, &Caller::new("u", &[&*ct.actors[0]]), completion).await.unwrap();
                }
                progressed = true;
                continue;
            }
            let d = engine.deployment(&state.sop, Some(state.version)).unwrap();
            let step = d.sop.step(&task.step).unwrap();
            let outcome = step.decision.as_ref().map(|dec| dec.outcomes[0].name.name.clone());
            clock.advance(chrono::Duration::minutes(1));
            let completion = Completion { outcome, ..Completion::default() };
            engine.complete(case, task.no, &Caller::new("u", &[&*task.actors[0]]), completion).await.unwrap();
            progressed = true;
        }
        assert!(progressed);
    }
    let state = engine.load(case).await.unwrap();
    assert_eq!(state.status, CaseStatus::Ended, "open: {:?}", state.open_tasks().map(|t| &t.step).collect::<Vec<_>>());
    assert!(max_open >= 2, "parallel branches ran at once");
    assert_eq!(children.len(), 1, "one sub-procedure");
    let child = engine.load(children[0]).await.unwrap();
    assert_eq!(child.parent.map(|p| p.0), Some(case));
    assert_eq!(child.status, CaseStatus::Ended);
}

#[tokio::test]
async fn a_changed_file_is_a_new_version_and_running_cases_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let calendars = root().join("sop/calendars");
    let file = dir.path().join("x.sop");
    let text = |minutes: u32| {
        format!(
            "sop x \"X\" {{\n    kalender wita_kantor\n    pelaksana {{\n        fo \"FO\"\n    }}\n    langkah 1 a oleh fo {{\n        waktu {minutes} menit\n    }}\n}}\n"
        )
    };
    std::fs::write(&file, text(10)).unwrap();
    let (engine, _, _) = engine_at(wita(2026, 12, 1, 8, 0), &[]).await;
    let first = engine.deploy_file(&file, &calendars).await.unwrap();
    assert_eq!((first.version, first.new), (1, true));
    let again = engine.deploy_file(&file, &calendars).await.unwrap();
    assert_eq!((again.version, again.new), (1, false));
    let case = engine.start_case("x", "p", Default::default(), None).await.unwrap();
    std::fs::write(&file, text(20)).unwrap();
    let second = engine.deploy_file(&file, &calendars).await.unwrap();
    assert_eq!(second.version, 2);
    std::fs::remove_file(&file).unwrap();
    // The running case stays on version 1; deployments are stored, not re-read from disk.
    let state = engine.load(case).await.unwrap();
    assert_eq!(state.version, 1);
    engine.complete(case, 1, &who("fo"), Completion::default()).await.unwrap();
    let store = engine.store().clone();
    let reloaded = Engine::new(store, Arc::new(ManualClock::new(wita(2026, 12, 2, 8, 0)))).await.unwrap();
    assert_eq!(reloaded.deployment("x", None).unwrap().deployment.version, 2);
    let _ = Path::new("");
}

#[tokio::test]
async fn artifacts_are_recorded_with_their_hash_and_sla_is_reported() {
    let start = wita(2026, 12, 1, 8, 0);
    let (engine, clock, _) = engine_at(start, &["lks-lksa.sop"]).await;
    let case = engine.start_case("lks_lksa", "p", Default::default(), None).await.unwrap();
    engine
        .attach(
            case,
            Some(1),
            &who("pemohon"),
            "data_elektronik",
            "formulir.pdf",
            "application/pdf",
            alur::runtime::Attachment::Bytes(b"%PDF-1.4 uji".to_vec()),
        )
        .await
        .unwrap();
    assert!(matches!(
        engine
            .attach(
                case,
                Some(1),
                &who("pemohon"),
                "tidak_ada",
                "x",
                "text/plain",
                alur::runtime::Attachment::Bytes(vec![])
            )
            .await,
        Err(RuntimeError::UnknownArtifact { .. })
    ));
    let state = engine.load(case).await.unwrap();
    assert_eq!(state.attachments.len(), 1);
    assert_eq!(state.attachments[0].file.size, 12);
    assert_eq!(state.attachments[0].file.sha256.len(), 64);
    let d = engine.deployment("lks_lksa", None).unwrap();
    assert_eq!(view(&state, &d, clock.now()).open_tasks[0].sla, Some(Sla::OnTime));
    clock.advance(chrono::Duration::minutes(25));
    assert_eq!(view(&state, &d, clock.now()).open_tasks[0].sla, Some(Sla::DueSoon));
    clock.advance(chrono::Duration::minutes(10));
    assert_eq!(view(&state, &d, clock.now()).open_tasks[0].sla, Some(Sla::Overdue));
    let case_due = view(&state, &d, clock.now()).case_due.unwrap();
    assert_eq!(case_due.due, Some(wita(2026, 12, 7, 9, 18)), "the stated total from the start");
}

/// A case's history holds a document's hash, size and type, not its bytes: folding it (and
/// reading its events) never reads the blob store; only asking for the document does.
#[tokio::test]
async fn a_case_history_never_reads_its_documents() {
    let (engine, _, store) = engine_at(wita(2026, 12, 1, 8, 0), &["lks-lksa.sop"]).await;
    let case = engine.start_case("lks_lksa", "p", Default::default(), None).await.unwrap();
    let mut scan = b"%PDF-1.7\n".to_vec();
    scan.extend((0..5_000_000u32).map(|i| (i % 251) as u8));
    let pemohon = who("pemohon");
    let pdf = "application/pdf";
    let big = alur::runtime::Attachment::Bytes(scan.clone());
    engine.attach(case, Some(1), &pemohon, "persyaratan", "scan.pdf", pdf, big).await.unwrap();
    // The same document again is stored once.
    let again = alur::runtime::Attachment::Bytes(scan.clone());
    engine.attach(case, Some(1), &pemohon, "persyaratan", "scan-lagi.pdf", pdf, again).await.unwrap();
    let events = store.events(case).await.unwrap();
    let size: usize = events.iter().map(|r| serde_json::to_string(r).unwrap().len()).sum();
    assert!(size < 4_000, "the events of a case with a 5 MB document take {size} bytes");
    let fresh = Engine::new(store.clone(), Arc::new(ManualClock::new(wita(2026, 12, 1, 9, 0)))).await.unwrap();
    let state = fresh.load(case).await.unwrap();
    let _ = fresh.history(case).await.unwrap();
    assert_eq!(store.blob_reads(), 0, "folding the case read a document");
    assert_eq!(state.attachments.len(), 2);
    assert_eq!(state.attachments[0].file.sha256, state.attachments[1].file.sha256);
    assert_eq!(state.attachments[0].file.size, scan.len() as u64);
    assert_eq!(fresh.document(&state.attachments[1].file).await.unwrap(), scan);
    assert_eq!(store.blob_reads(), 1);
}

/// Uploads are refused unless their declared type is one an office takes and their content is
/// what that type says; a refused upload stores nothing.
#[tokio::test]
async fn documents_of_types_not_taken_or_not_what_they_say_are_refused() {
    use alur::runtime::media::Refusal;
    let (engine, _, store) = engine_at(wita(2026, 12, 1, 8, 0), &["lks-lksa.sop"]).await;
    let case = engine.start_case("lks_lksa", "p", Default::default(), None).await.unwrap();
    let attach = |media_type: &'static str, bytes: &'static [u8]| {
        let engine = engine.clone();
        async move {
            let content = alur::runtime::Attachment::Bytes(bytes.to_vec());
            engine.attach(case, Some(1), &who("pemohon"), "persyaratan", "x", media_type, content).await
        }
    };
    let before = store.events(case).await.unwrap().len();
    let refused = [
        ("text/html", &b"<script>alert(1)</script>"[..], Refusal::NotAllowed),
        ("application/octet-stream", b"%PDF-1.4", Refusal::NotAllowed),
        ("application/pdf", b"<html><body>bukan pdf</body></html>", Refusal::Mismatch),
        ("image/png", b"\xFF\xD8\xFF\xE0 a jpeg", Refusal::Mismatch),
    ];
    for (media_type, bytes, refusal) in refused {
        match attach(media_type, bytes).await {
            Err(RuntimeError::DocumentRefused { media_type: said, refusal: why }) => {
                assert_eq!((said.as_str(), why), (media_type, refusal))
            }
            other => panic!("{media_type}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(store.events(case).await.unwrap().len(), before, "a refused upload changed the case");
    let said = RuntimeError::DocumentRefused { media_type: "text/html".into(), refusal: Refusal::NotAllowed };
    assert!(said.to_string().contains("PDF, PNG, JPEG"), "{said}");
    for (media_type, bytes) in [
        ("image/png", &b"\x89PNG\r\n\x1a\n...."[..]),
        ("image/jpeg", b"\xFF\xD8\xFF\xE0...."),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04...."),
        ("text/plain; charset=utf-8", "Surat pernyataan\n".as_bytes()),
    ] {
        attach(media_type, bytes).await.unwrap_or_else(|e| panic!("{media_type}: {e}"));
    }
}

#[tokio::test]
async fn two_engines_on_one_store_see_each_others_changes() {
    // Bug found by the crash test: a command that started from a stale cached case failed with
    // "no task 2" instead of reading the store again.
    let start = wita(2026, 12, 1, 8, 0);
    let (a, clock, store) = engine_at(start, &["lks-lksa.sop"]).await;
    let b = Engine::new(store.clone(), clock.clone()).await.unwrap();
    let case = a.start_case("lks_lksa", "p", Default::default(), None).await.unwrap();
    // Engine b moves the case on; engine a's cache still has it at task 1.
    b.complete(case, 1, &who("pemohon"), Completion::default()).await.unwrap();
    a.complete(case, 2, &who("front_office"), decide("diterima")).await.unwrap();
    // And a stale completion of an already completed task is refused, not applied twice.
    assert!(b.complete(case, 2, &who("front_office"), decide("diterima")).await.is_err());
    let history = a.history(case).await.unwrap();
    assert_eq!(history.iter().filter(|r| matches!(r.event, Event::TaskCompleted { task: 2, .. })).count(), 1);
}

#[tokio::test]
async fn a_deployment_with_a_broken_calendar_is_refused() {
    // Calendar errors used to be collected and then ignored at deploy time.
    let (engine, _, _) = engine_at(wita(2026, 12, 1, 8, 0), &[]).await;
    let sop = "sop x \"X\" {\n    kalender k\n    pelaksana {\n        fo \"FO\"\n    }\n    langkah 1 a oleh fo {\n        waktu 10 menit\n    }\n}\n";
    // `k` itself is fine; another calendar deployed with it is not.
    let calendar = "kalender k {\n    zona Asia/Makassar\n    jam_kerja senin-jumat 07:30-16:00\n}\nkalender lain {\n    zona Asia/Makassar\n    jam_kerja senin 07:30-25:00\n}\n";
    let result =
        engine.deploy_sources("x", vec![("x.sop".into(), sop.into())], vec![("k.sop".into(), calendar.into())]).await;
    assert!(matches!(result, Err(RuntimeError::Calendar(_))), "{result:?}");
}

/// Only `Caller::system()` is the engine: a caller that is merely named `system` (a user of that
/// name, as a front end would pass it) may neither complete another desk's task nor a task
/// someone else claimed.
#[tokio::test]
async fn a_caller_named_system_is_not_the_engine() {
    let (engine, _, _) = engine_at(wita(2026, 12, 1, 8, 0), &["lks-lksa.sop"]).await;
    let case = engine.start_case("lks_lksa", "p", Default::default(), None).await.unwrap();
    engine.complete(case, 1, &who("pemohon"), Completion::default()).await.unwrap();
    let named = Caller::new("system", &[]);
    let refused = engine.complete(case, 2, &named, decide("diterima")).await;
    assert!(matches!(refused, Err(RuntimeError::WrongActor { .. })), "{refused:?}");
    engine.claim(case, 2, &who("front_office")).await.unwrap();
    let named = Caller::new("system", &["front_office"]);
    let refused = engine.complete(case, 2, &named, decide("diterima")).await;
    assert!(matches!(refused, Err(RuntimeError::ClaimedByOther { .. })), "{refused:?}");
    engine.complete(case, 2, &Caller::system(), decide("diterima")).await.unwrap();
}

/// A step whose SOP states no time (`waktu -`) opens a task without a due date: no deadline, no
/// timer, no SLA of its own; the case's promise still starts where the SOP says and runs out.
#[tokio::test]
async fn a_step_without_a_stated_time_has_no_deadline_while_the_promise_runs() {
    let start = wita(2026, 12, 1, 8, 0);
    let (engine, clock, store) = engine_at(start, &["contoh/kabmalang-izin-reklame.sop"]).await;
    // The file has two variants (baru, perpanjangan) with the same steps and promise.
    let case = engine.start_case_of("izin_reklame_malang", Some("baru"), "p", Default::default(), None).await.unwrap();
    let state = engine.load(case).await.unwrap();
    assert_eq!(state.tasks.get(&1).unwrap().due, None);
    assert_eq!(store.next_timer().await.unwrap(), None, "no deadline, no timer");
    let d = engine.case_deployment(&state).unwrap();
    let v = view(&state, &d, clock.now());
    assert_eq!(v.open_tasks[0].sla, None);
    assert_eq!(v.case_due.as_ref().unwrap().started, None, "the promise starts after terima_berkas");
    let history = engine.history(case).await.unwrap();
    let opened = history.iter().find(|r| matches!(r.event, Event::TaskOpened { .. })).unwrap();
    let json = serde_json::to_value(&opened.event).unwrap();
    assert!(json.get("due").is_none(), "no made-up due date in the log: {json}");

    clock.advance(chrono::Duration::minutes(10));
    engine.complete(case, 1, &who("pemohon"), Completion::default()).await.unwrap();
    clock.advance(chrono::Duration::minutes(10));
    let accepted = clock.now();
    engine.complete(case, 2, &who("customer_service"), Completion::default()).await.unwrap();
    let state = engine.load(case).await.unwrap();
    let v = view(&state, &d, clock.now());
    let promise = v.case_due.as_ref().unwrap();
    assert_eq!(promise.started, Some(accepted));
    assert_eq!(promise.due, Some(d.calendar.due(accepted, alur::time::Duration::workdays(14)).at));
    assert_eq!(promise.sla, Some(Sla::OnTime));
    // A month later the step still has no deadline of its own, but the promise is broken.
    clock.advance(chrono::Duration::days(30));
    assert_eq!(engine.fire_due(clock.now()).await.unwrap(), 0);
    let state = engine.load(case).await.unwrap();
    let v = view(&state, &d, clock.now());
    assert_eq!(v.open_tasks[0].step, "proses");
    assert_eq!(v.open_tasks[0].sla, None);
    assert_eq!(v.case_due.as_ref().unwrap().sla, Some(Sla::Overdue));
    assert!(!state.tasks.values().any(|t| t.deadline_passed));
}

/// `tanggal_selesai`: when the intake step is done the applicant is told a completion date,
/// counted on the calendar from that moment by the SOP's promise; it stays what was told.
#[tokio::test]
async fn the_completion_date_is_told_when_the_intake_step_is_done() {
    let start = wita(2026, 12, 1, 8, 0);
    let (engine, clock, _) = engine_at(start, &[]).await;
    let sop = "sop sip \"SIP\" {\n    kalender wita_kantor\n    standar_pelayanan 5 hari\n    pelaksana {\n        pemohon \"Pemohon\" pemohon\n        loket \"Loket\"\n    }\n    \
               langkah 1 ajukan oleh pemohon {\n        waktu -\n    }\n    langkah 2 terima oleh loket {\n        waktu 15 menit\n        tanggal_selesai\n    }\n    \
               langkah 3 proses oleh loket {\n        waktu -\n    }\n}\n";
    let calendars: Vec<(String, String)> = ["kantor.sop", "nasional.sop"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read_to_string(root().join("sop/calendars").join(f)).unwrap()))
        .collect();
    engine.deploy_sources("sip", vec![("sip.sop".into(), sop.into())], calendars).await.unwrap();
    let d = engine.deployment("sip", None).unwrap();
    let case = engine.start_case("sip", "p", Default::default(), None).await.unwrap();
    let state = engine.load(case).await.unwrap();
    assert_eq!(view(&state, &d, clock.now()).completion_date, None, "not told before intake");
    clock.advance(chrono::Duration::minutes(30));
    engine.complete(case, 1, &who("pemohon"), Completion::default()).await.unwrap();
    clock.advance(chrono::Duration::minutes(10));
    let told_at = clock.now();
    engine.complete(case, 2, &who("loket"), Completion::default()).await.unwrap();
    let state = engine.load(case).await.unwrap();
    let told = view(&state, &d, clock.now()).completion_date.expect("told at intake");
    assert_eq!(told, d.calendar.due(told_at, alur::time::Duration::workdays(5)).at);
    // Five working days from Tuesday 08:40 WITA: the next Tuesday at the same time.
    assert_eq!(told, wita(2026, 12, 8, 8, 40));
    clock.advance(chrono::Duration::days(3));
    assert_eq!(view(&engine.load(case).await.unwrap(), &d, clock.now()).completion_date, Some(told));
}

/// `standar_pelayanan ... kecuali STEP`: the promise's clock stands still while the excluded
/// step (another agency's recommendation) is open.
#[tokio::test]
async fn a_promise_does_not_count_the_steps_it_excludes() {
    let start = wita(2026, 12, 1, 8, 0);
    let clock = Arc::new(ManualClock::new(start));
    let engine = Engine::new(Arc::new(MemoryStore::new()), clock.clone()).await.unwrap();
    engine
        .deploy_file(&root().join("tests/flow/kecuali-rekomendasi.sop"), &root().join("sop/calendars"))
        .await
        .unwrap();
    let d = engine.deployment("izin_apotek", None).unwrap();
    let case = engine.start_case("izin_apotek", "p", Default::default(), None).await.unwrap();
    engine.complete(case, 1, &who("pemohon"), Completion::default()).await.unwrap();
    clock.advance(chrono::Duration::minutes(30));
    engine.complete(case, 2, &who("loket"), Completion::default()).await.unwrap();
    let verified = clock.now();
    // The recommendation takes three weeks: the promise of 5 working days is not broken by it.
    clock.advance(chrono::Duration::days(21));
    engine.complete(case, 3, &who("dinkes"), Completion::default()).await.unwrap();
    let back = clock.now();
    clock.advance(chrono::Duration::hours(2));
    let state = engine.load(case).await.unwrap();
    let promise = view(&state, &d, clock.now()).case_due.unwrap();
    assert_eq!(promise.started, Some(verified));
    assert_eq!(promise.paused_minutes, d.calendar.working_minutes_between(verified, back));
    assert_eq!(promise.sla, Some(Sla::OnTime));
    // The same three weeks counted would have broken it.
    assert!(d.calendar.working_minutes_between(verified, clock.now()) > 5 * 450);
}

/// `dilayani`: the applicant is served when the permit is handed over; the promise stops there
/// while the office goes on archiving.
#[tokio::test]
async fn the_promise_stops_when_the_applicant_is_served_and_archiving_goes_on() {
    let start = wita(2026, 12, 1, 8, 0);
    let clock = Arc::new(ManualClock::new(start));
    let engine = Engine::new(Arc::new(MemoryStore::new()), clock.clone()).await.unwrap();
    engine
        .deploy_file(&root().join("tests/flow/arsip-setelah-dilayani.sop"), &root().join("sop/calendars"))
        .await
        .unwrap();
    let d = engine.deployment("izin_reklame", None).unwrap();
    let case = engine.start_case("izin_reklame", "p", Default::default(), None).await.unwrap();
    clock.advance(chrono::Duration::hours(6));
    engine.complete(case, 1, &who("loket"), Completion::default()).await.unwrap();
    clock.advance(chrono::Duration::minutes(10));
    engine.complete(case, 2, &who("loket"), Completion::default()).await.unwrap();
    let served = clock.now();
    // Archiving takes a week: the applicant's promise was kept when the permit was handed over.
    clock.advance(chrono::Duration::days(7));
    let state = engine.load(case).await.unwrap();
    assert_eq!(state.status, CaseStatus::Active, "archiving is still open");
    let v = view(&state, &d, clock.now());
    assert_eq!(v.served, Some(served));
    assert_eq!(v.case_due.as_ref().unwrap().sla, Some(Sla::Met));
    assert_eq!(v.open_tasks[0].step, "arsipkan");
    // The checker measures the promise up to the served step too: 1 hari 10 menit, kept.
    let totals = alur::timing::totals(&d.sop, 450);
    assert_eq!(totals.service_standards[0].within, Some(true));
    assert_eq!(totals.main_path.duration, alur::time::Duration::new(2, 0, 10));
}

/// The environment variable that makes `span_probe` run (in a process of its own).
const SPAN_PROBE: &str = "ALUR_TEST_SPAN_PROBE";

/// Commands and timer firings run in spans of their own, so every line logged on their way
/// says which command (or deadline), case and task it belongs to. The engine runs in a test
/// process of its own (`span_probe`), whose global subscriber writes JSON lines: a subscriber
/// set for one thread in this process races the other tests' threads for tracing's call-site
/// cache, and lost lines now and then.
#[test]
fn commands_and_timer_firings_run_in_spans() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "runtime::span_probe", "--ignored", "--nocapture", "--test-threads=1"])
        .env(SPAN_PROBE, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let case_id = stdout.lines().find_map(|l| l.strip_prefix("case ")).expect(&stdout).trim().to_string();
    // The first line follows libtest's "test runtime::span_probe ... " on the same line.
    let json = |line: &str| line.find("{\"timestamp\"").map(|at| serde_json::from_str(&line[at..]).unwrap());
    let lines: Vec<serde_json::Value> = stdout.lines().filter_map(json).collect();
    let in_span = |name: &'static str| lines.iter().filter(move |l| l["span"]["name"] == name);
    let commands: Vec<_> = in_span("command").collect();
    let of = |command: &str, result: &str| {
        commands.iter().any(|l| {
            l["span"]["command"] == command && l["span"]["case"] == case_id.as_str() && l["fields"]["result"] == result
        })
    };
    assert!(of("start", "ok") && of("complete", "ok") && of("complete", "refused"), "{stdout}");
    assert!(commands.iter().any(|l| l["span"]["user"] == "user-kabid" && l["span"]["task"] == 2), "{stdout}");
    let fired = in_span("timer").find(|l| l["fields"]["message"] == "deadline fired").expect(&stdout);
    assert_eq!(fired["span"]["case"], case_id.as_str());
    assert_eq!(fired["fields"]["lag_seconds"], 600.0);
}

/// Run by `commands_and_timer_firings_run_in_spans`: commands and a deadline, logged as JSON
/// lines on stdout, and the case's id.
#[tokio::test]
#[ignore = "run by commands_and_timer_firings_run_in_spans, in a process of its own"]
async fn span_probe() {
    if std::env::var(SPAN_PROBE).is_err() {
        return;
    }
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(std::io::stdout)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let (engine, clock, _) = engine_at(wita(2026, 12, 1, 8, 0), &["lks-lksa.sop"]).await;
    let case = engine.start_case("lks_lksa", "pemohon-1", Default::default(), None).await.unwrap();
    println!("case {case}");
    engine.complete(case, 1, &who("pemohon"), Completion::default()).await.unwrap();
    let refused = engine.complete(case, 2, &who("kabid"), decide("diterima")).await;
    assert!(refused.is_err());
    let due = engine.inbox(&[]).await.unwrap()[0].due.expect("verifikasi has a stated time");
    clock.set(due + chrono::Duration::minutes(10));
    assert_eq!(engine.fire_due(engine.now()).await.unwrap(), 1);
}

/// Deployments record what compiled them (issue 27 item 3): the alur version and the SHA-256
/// of the compiled model, compared with today's compile whenever a deployment is loaded.
mod recompiled {
    use super::*;
    use alur::runtime::deploy::{OnRecompiled, Recompiled, COMPILER};
    use alur::runtime::store::Deployment;

    /// The LKS SOP deployed on a fresh store, and that store's one deployment as stored.
    async fn deployed() -> Deployment {
        let (_, _, store) = engine_at(wita(2026, 3, 2, 8, 0), &["lks-lksa.sop"]).await;
        let mut stored = store.deployments().await.unwrap();
        assert_eq!(stored.len(), 1);
        stored.remove(0)
    }

    /// A store holding `deployment` alone.
    async fn holding(deployment: &Deployment) -> Arc<MemoryStore> {
        let store = Arc::new(MemoryStore::new());
        store.save_deployment(deployment).await.unwrap();
        store
    }

    #[tokio::test]
    async fn a_deployment_records_its_compiler_and_model_and_reloads_as_the_same() {
        let deployment = deployed().await;
        assert_eq!(deployment.compiler.as_deref(), Some(COMPILER));
        let hash = deployment.model_sha256.clone().unwrap();
        assert_eq!(hash.len(), 64);
        let clock = Arc::new(ManualClock::new(wita(2026, 3, 2, 8, 0)));
        let engine = Engine::with_recompiled(holding(&deployment).await, clock, OnRecompiled::Refuse).await.unwrap();
        let loaded = engine.deployments();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].recompiled, Recompiled::Same);
        assert_eq!(loaded[0].model_sha256, hash);
    }

    #[tokio::test]
    async fn a_deployment_from_before_hashing_is_no_alarm() {
        let mut deployment = deployed().await;
        deployment.compiler = None;
        deployment.model_sha256 = None;
        let clock = Arc::new(ManualClock::new(wita(2026, 3, 2, 8, 0)));
        let engine = Engine::with_recompiled(holding(&deployment).await, clock, OnRecompiled::Refuse).await.unwrap();
        assert_eq!(engine.deployments()[0].recompiled, Recompiled::Unrecorded);
    }

    #[tokio::test]
    async fn a_model_that_compiles_differently_is_refused_or_reported() {
        let mut deployment = deployed().await;
        deployment.compiler = Some("alur 0.0.1".into());
        deployment.model_sha256 = Some("0".repeat(64));
        let store = holding(&deployment).await;
        let clock = Arc::new(ManualClock::new(wita(2026, 3, 2, 8, 0)));
        let refused = Engine::with_recompiled(store.clone(), clock.clone(), OnRecompiled::Refuse).await.err();
        let Some(RuntimeError::Recompiled { sop, version, deployed_by }) = &refused else {
            panic!("not refused: {refused:?}")
        };
        assert_eq!((sop.as_str(), *version, deployed_by.as_str()), ("lks_lksa", 1, "alur 0.0.1"));
        let message = refused.as_ref().map(ToString::to_string).unwrap_or_default();
        assert!(message.contains("ALUR_ACCEPT_RECOMPILED=1"), "{message}");

        let engine = Engine::with_recompiled(store.clone(), clock, OnRecompiled::Accept).await.unwrap();
        let loaded = engine.deployments();
        assert_eq!(loaded[0].recompiled, Recompiled::Differs { deployed_by: Some("alur 0.0.1".into()) });
        // The same sources deployed again are a new version, on this alur's model.
        let again = engine.deploy_file(&root().join("sop/lks-lksa.sop"), &root().join("sop/calendars")).await.unwrap();
        assert_eq!((again.version, again.new), (2, true));
        let newest = engine.deployments().into_iter().find(|d| d.deployment.version == 2).unwrap();
        assert_eq!(newest.recompiled, Recompiled::Same);
    }
}
