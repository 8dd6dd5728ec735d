//! Service variants in one file (issue 22, shape 12): baru and perpanjangan with their own
//! steps, times, totals, promises and requirements, chosen when a case starts; `alur time`, the
//! simulator and the document take one variant's flow.

use alur::compile::{compile_source, for_variant, variant_flows, Options};
use alur::diagnostic::Code;
use alur::model::Sop;
use alur::runtime::{Caller, Clock, Completion, Engine, ManualClock, MemoryStore, RuntimeError};
use chrono::{DateTime, TimeZone, Utc};
use std::path::PathBuf;
use std::sync::Arc;

const REKLAME: &str = r#"
sop izin_reklame "Izin Reklame" {
    kalender    wita_kantor
    total       3 hari 1 jam untuk baru
    total       1 hari 1 jam untuk perpanjangan
    persyaratan "KTP", "Gambar reklame"
    persyaratan untuk perpanjangan "Izin reklame yang lama"
    standar_pelayanan "Perpanjangan selesai dalam 2 hari" 2 hari untuk perpanjangan

    varian {
        baru         "Izin baru"
        perpanjangan "Perpanjangan izin"
    }

    pelaksana {
        pemohon "Pemohon"      pemohon
        loket   "Front Office" staf
        teknis  "Tim Teknis"   staf
    }

    langkah 1 ajukan oleh pemohon {
        kegiatan "Mengajukan permohonan"
        waktu    -
        output   berkas "Berkas permohonan"
    }

    langkah 2 verifikasi oleh loket {
        kegiatan    "Memeriksa berkas"
        kelengkapan berkas
        waktu       1 jam
    }

    langkah 3 survei oleh teknis {
        untuk    baru
        kegiatan "Survei lokasi reklame"
        waktu    2 hari
        output   bap "BAP lapangan"
    }

    langkah 4 terbitkan oleh loket {
        kegiatan    "Menerbitkan izin"
        kelengkapan berkas
        waktu       1 hari
        waktu       1 hari untuk perpanjangan
        output      izin "Izin reklame"
    }
}
"#;

fn compiled(text: &str) -> (Option<Sop>, Vec<(Code, String)>) {
    let c = compile_source("reklame.sop", text, &Options::default());
    let found = c.diagnostics.iter().map(|d| (d.code, format!("{} {:?}", d.message.en, d.notes))).collect();
    (c.sop, found)
}

#[test]
fn each_variant_has_its_own_steps_times_total_promise_and_requirements() {
    let (sop, diagnostics) = compiled(REKLAME);
    let sop = sop.unwrap();
    assert!(diagnostics.iter().all(|(c, _)| c.severity() != alur::diagnostic::Severity::Error), "{diagnostics:?}");
    assert!(sop.needs_variant());

    let baru = for_variant(&sop, "baru").unwrap();
    let ids: Vec<&str> = baru.steps.iter().map(|s| s.id.name.as_str()).collect();
    assert_eq!(ids, ["ajukan", "verifikasi", "survei", "terbitkan"]);
    assert_eq!(baru.title, "Izin Reklame (Izin baru)");
    assert_eq!(baru.header.stated_total.as_ref().unwrap().duration.workdays, 3);
    assert!(baru.header.service_standards.is_empty());
    assert_eq!(baru.header.service.requirements, ["KTP", "Gambar reklame"]);

    let renewal = for_variant(&sop, "perpanjangan").unwrap();
    let ids: Vec<&str> = renewal.steps.iter().map(|s| s.id.name.as_str()).collect();
    assert_eq!(ids, ["ajukan", "verifikasi", "terbitkan"]);
    assert_eq!(renewal.left_out.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["survei"]);
    assert_eq!(renewal.header.stated_total.as_ref().unwrap().duration.workdays, 1);
    assert_eq!(renewal.header.service_standards.len(), 1);
    assert_eq!(renewal.header.service.requirements, ["KTP", "Gambar reklame", "Izin reklame yang lama"]);
    let issue = renewal.step("terbitkan").unwrap();
    assert_eq!(issue.stated_duration().unwrap().workdays, 1);

    // The renewal's table has no column for the survey team, which it never meets.
    let actors = |flow: &Sop| flow.actors.iter().map(|a| a.id.name.clone()).collect::<Vec<_>>();
    assert_eq!(actors(&renewal), ["pemohon", "loket"]);
    assert_eq!(actors(&baru), ["pemohon", "loket", "teknis"]);
    // An actor no step of the file names is still reported as unused, once.
    let idle = REKLAME.replace(
        "        teknis  \"Tim Teknis\"   staf\n",
        "        teknis  \"Tim Teknis\"   staf\n        kadis   \"Kepala Dinas\" staf\n",
    );
    let (_, diagnostics) = compiled(&idle);
    assert_eq!(diagnostics.iter().filter(|(c, _)| *c == Code::UnusedActor).count(), 1, "{diagnostics:?}");
    assert!(for_variant(&sop, "pencabutan").is_none());
    let flows = variant_flows(&sop, None).unwrap();
    assert_eq!(flows.len(), 2);
    let why = variant_flows(&sop, Some("perpanjang")).unwrap_err();
    assert!(why.en.contains("did you mean `perpanjangan`"), "{}", why.en);
}

#[test]
fn a_total_is_checked_per_variant_and_says_which() {
    // The renewal's timed steps take 1 hari 1 jam; say 1 hari instead.
    let text = REKLAME.replace("total       1 hari 1 jam untuk perpanjangan", "total       1 hari untuk perpanjangan");
    let (_, diagnostics) = compiled(&text);
    let e401: Vec<_> = diagnostics.iter().filter(|(c, _)| *c == Code::StatedTotalMismatch).collect();
    assert_eq!(e401.len(), 1, "{diagnostics:?}");
    assert!(e401[0].1.contains("in variant `perpanjangan`"), "{:?}", e401[0]);
}

#[test]
fn a_document_used_by_one_variant_only_is_not_unused() {
    // `bap` is given by the survey (baru only) and needed by issuing: used in `baru`, and absent
    // with its step in `perpanjangan`.
    let text = REKLAME.replace(
        "        kelengkapan berkas\n        waktu       1 hari\n",
        "        kelengkapan berkas, bap\n        waktu       1 hari\n",
    );
    let (_, diagnostics) = compiled(&text);
    assert!(!diagnostics.iter().any(|(c, _)| *c == Code::OutputUnused), "{diagnostics:?}");
    // ... but issuing needs it in `perpanjangan` too, where nothing gives it.
    let w002: Vec<_> = diagnostics.iter().filter(|(c, _)| *c == Code::InputNotProduced).collect();
    assert_eq!(w002.len(), 1, "{diagnostics:?}");
    assert!(w002[0].1.contains("in variant `perpanjangan`"), "{:?}", w002[0]);
}

#[test]
fn variant_names_and_routes_into_left_out_steps_are_errors() {
    let (_, diagnostics) = compiled(&REKLAME.replace("untuk    baru", "untuk    bru"));
    assert_eq!(diagnostics.iter().filter(|(c, _)| *c == Code::UnknownVariant).count(), 1, "{diagnostics:?}");
    let no_block = REKLAME.replace(
        "    varian {\n        baru         \"Izin baru\"\n        perpanjangan \"Perpanjangan izin\"\n    }\n",
        "",
    );
    let (_, diagnostics) = compiled(&no_block);
    assert!(
        diagnostics.iter().any(|(c, m)| *c == Code::UnknownVariant && m.contains("not declared")),
        "{diagnostics:?}"
    );

    let routed = REKLAME
        .replace("        waktu       1 jam\n    }", "        waktu       1 jam\n        lanjut ke survei\n    }");
    let (_, diagnostics) = compiled(&routed);
    let e215: Vec<_> = diagnostics.iter().filter(|(c, _)| *c == Code::VariantLeavesOutStep).collect();
    assert_eq!(e215.len(), 1, "{diagnostics:?}");
    assert!(e215[0].1.contains("variant `perpanjangan`"), "{:?}", e215[0]);

    let timed = REKLAME
        .replace("        waktu    2 hari\n", "        waktu    2 hari\n        waktu    1 hari untuk perpanjangan\n");
    let (_, diagnostics) = compiled(&timed);
    assert!(diagnostics.iter().any(|(c, _)| *c == Code::VariantLeavesOutStep), "{diagnostics:?}");
}

#[test]
fn a_file_with_variants_is_fmt_stable() {
    let format = |text: &str| {
        let (cst, _) = alur::syntax::parse(alur::syntax::FileId(0), text);
        alur::format::format(&cst, text)
    };
    let formatted = format(REKLAME);
    assert_eq!(format(&formatted), formatted);
    assert!(formatted.contains("    varian {\n"), "{formatted}");
    assert!(formatted.contains("waktu       1 hari untuk perpanjangan"), "{formatted}");
}

fn wita(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Makassar.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap().with_timezone(&Utc)
}

async fn engine_with_reklame(start: DateTime<Utc>) -> (Engine, Arc<ManualClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reklame.sop");
    std::fs::write(&file, REKLAME).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let engine = Engine::new(Arc::new(MemoryStore::new()), clock.clone()).await.unwrap();
    let calendars = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sop/calendars");
    engine.deploy_file(&file, &calendars).await.unwrap();
    (engine, clock, dir)
}

#[tokio::test]
async fn a_case_runs_on_its_variant_chosen_at_the_start() {
    let start = wita(2026, 12, 1, 8, 0);
    let (engine, _clock, _dir) = engine_with_reklame(start).await;
    // Without a variant, or with one the SOP does not have, nothing starts.
    let refused = engine.start_case("izin_reklame", "budi", Default::default(), None).await.unwrap_err();
    match &refused {
        RuntimeError::UnknownVariant { variant: None, allowed, .. } => assert_eq!(allowed, &["baru", "perpanjangan"]),
        other => panic!("{other:?}"),
    }
    let refused = engine.start_case_of("izin_reklame", Some("cabut"), "budi", Default::default(), None).await;
    assert!(matches!(refused, Err(RuntimeError::UnknownVariant { .. })), "{refused:?}");
    assert!(engine.store().case_ids().await.unwrap().is_empty());

    let case =
        engine.start_case_of("izin_reklame", Some("perpanjangan"), "budi", Default::default(), None).await.unwrap();
    let applicant = Caller::new("budi", &["pemohon"]);
    let office = Caller::new("siti", &["loket"]);
    let mut done = Vec::new();
    for caller in [&applicant, &office, &office] {
        let state = engine.load(case).await.unwrap();
        assert_eq!(state.variant.as_deref(), Some("perpanjangan"));
        let task = state.open_tasks().next().unwrap();
        done.push(task.step.to_string());
        if task.step.as_ref() == "terbitkan" {
            // The renewal's issuing takes its own 1 hari: due at 08:00 the next working day
            // after it opened (opened Tuesday 08:00, due Wednesday 08:00).
            assert_eq!(task.due, Some(wita(2026, 12, 2, 8, 0)), "{task:?}");
        }
        engine.complete(case, task.no, caller, Completion::default()).await.unwrap();
    }
    assert_eq!(done, ["ajukan", "verifikasi", "terbitkan"]);
    let state = engine.load(case).await.unwrap();
    assert_eq!(state.status, alur::runtime::CaseStatus::Ended);
    // The case is viewed on its variant's flow: its promise is the renewal's.
    let d = engine.case_deployment(&state).unwrap();
    assert_eq!(d.sop.title, "Izin Reklame (Perpanjangan izin)");
    let view = alur::runtime::view::view(&state, &d, engine.now());
    let promise = view.case_due.as_ref().expect("the renewal's 2-day promise is measured");
    assert_eq!(promise.due, Some(wita(2026, 12, 3, 8, 0)));
}

#[test]
fn alur_time_and_render_give_every_variant_or_the_one_chosen() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sop/contoh/metro-bangunan-gedung.sop");
    let run = |args: &[&str]| {
        let out = crate::render::alur().args(args).arg(&file).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, both, _) = run(&["time", "--start", "2026-03-02 08:00"]);
    assert_eq!(code, Some(0));
    assert!(both.contains("(Penerbitan PBG)") && both.contains("(Penerbitan SLF dan SBKBG)"), "{both}");
    let (code, one, _) = run(&["time", "--start", "2026-03-02 08:00", "--varian", "slf_sbkbg"]);
    assert_eq!(code, Some(0));
    assert!(!one.contains("(Penerbitan PBG)") && one.contains("terbitkan_slf"), "{one}");
    let (code, json, _) = run(&["time", "--start", "2026-03-02 08:00", "--format", "json"]);
    assert_eq!(code, Some(0));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let variants: Vec<&str> = json.as_array().unwrap().iter().map(|v| v["variant"].as_str().unwrap()).collect();
    assert_eq!(variants, ["pbg", "slf_sbkbg"]);
    let (code, _, err) = run(&["time", "--varian", "pbgg"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("`pbg`"), "{err}");

    let (code, html, _) = run(&["render", "--to", "html"]);
    assert_eq!(code, Some(0));
    assert_eq!(html.matches("<body>").count(), 1);
    // The page is the SOP's, each document the variant's.
    assert!(html.contains("- Penyelenggaraan Bangunan Gedung Kepentingan Umum dengan Pertelaan</title>"), "{html}");
    assert!(html.contains("Penerbitan PBG") && html.contains("Penerbitan SLF dan SBKBG"));
    let (code, _, err) = run(&["render", "--to", "svg"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, svg, _) = run(&["render", "--to", "svg", "--varian", "pbg"]);
    assert_eq!(code, Some(0));
    assert!(svg.contains("terbitkan_pbg") || svg.contains("Kepala Dinas"), "{svg}");
}

#[test]
fn a_procedure_with_variants_cannot_be_called() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reklame.sop"), REKLAME).unwrap();
    let caller = r#"sop induk "Induk" {
    pelaksana {
        loket "Front Office" staf
    }

    langkah 1 rekomendasi oleh loket {
        kegiatan "Meminta izin reklame"
        panggil  "reklame.sop"
        waktu    5 hari
    }
}
"#;
    std::fs::write(dir.path().join("induk.sop"), caller).unwrap();
    let c = alur::compile::compile_path(&dir.path().join("induk.sop"), &Options::default());
    let e: Vec<_> = c.diagnostics.iter().filter(|d| d.message.en.contains("has service variants")).collect();
    assert_eq!(e.len(), 1, "{:?}", c.diagnostics);
    assert_eq!(e[0].code, Code::InvalidValue);
}

/// The timer, a hold and a resume act on the case's variant, not on the file as written: an
/// overdue verification of a renewal moves on to issuing (the survey is not the renewal's).
#[tokio::test]
async fn deadlines_and_holds_follow_the_case_variant() {
    let text = REKLAME
        .replace(
            "        kelengkapan berkas\n        waktu       1 jam\n",
            "        kelengkapan berkas\n        waktu       1 jam\n        terlambat   lanjut ke lanjut\n        penangguhan maks 5 hari -> lanjut\n",
        );
    let start = wita(2026, 12, 1, 8, 0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reklame.sop");
    std::fs::write(&file, &text).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let engine = Engine::new(Arc::new(MemoryStore::new()), clock.clone()).await.unwrap();
    let calendars = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sop/calendars");
    engine.deploy_file(&file, &calendars).await.unwrap();
    let applicant = Caller::new("budi", &["pemohon"]);
    let office = Caller::new("siti", &["loket"]);

    // Overdue: the deadline route goes to the renewal's next step.
    let case =
        engine.start_case_of("izin_reklame", Some("perpanjangan"), "budi", Default::default(), None).await.unwrap();
    engine.complete(case, 1, &applicant, Completion::default()).await.unwrap();
    clock.advance(chrono::Duration::hours(3));
    assert_eq!(engine.fire_due(clock.now()).await.unwrap(), 1);
    let state = engine.load(case).await.unwrap();
    let open: Vec<String> = state.open_tasks().map(|t| t.step.to_string()).collect();
    assert_eq!(open, ["terbitkan"]);

    // Held, then resumed: the task is the renewal's verification, and held past its maximum
    // the case goes to the renewal's next step too.
    let case =
        engine.start_case_of("izin_reklame", Some("perpanjangan"), "budi", Default::default(), None).await.unwrap();
    engine.complete(case, 1, &applicant, Completion::default()).await.unwrap();
    engine.hold(case, 2, &office, "menunggu dokumen").await.unwrap();
    engine.resume(case, 2, &office).await.unwrap();
    engine.hold(case, 2, &office, "menunggu lagi").await.unwrap();
    clock.advance(chrono::Duration::days(14));
    assert!(engine.fire_due(clock.now()).await.unwrap() >= 1);
    let state = engine.load(case).await.unwrap();
    let open: Vec<String> = state.open_tasks().map(|t| t.step.to_string()).collect();
    assert_eq!(open, ["terbitkan"]);
}
