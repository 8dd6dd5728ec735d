//! One meaning of a flow, defect by defect (issue 21): each test failed on the code that read
//! the flow four times (the runtime, `alur time`, `alur simulate`, the drawings).

use assert_cmd::Command;
use serde_json::Value;

fn alur() -> Command {
    let mut cmd = Command::cargo_bin("alur").unwrap();
    cmd.env("LANG", "id_ID.UTF-8").env_remove("LC_ALL").env_remove("LC_MESSAGES");
    cmd
}

fn path(name: &str) -> String {
    format!("{}/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn calendars() -> String {
    path("sop/calendars")
}

fn time_json(file: &str, start: &str, extra: &[&str]) -> Value {
    let out = alur()
        .args(["time", &path(file), "--calendars", &calendars(), "--start", start, "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn step<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("no row for {id}"))
}

#[test]
fn time_follows_a_recorded_decision_to_the_route_it_decides() {
    // The main path takes `terbit` at `kajian`, so `surat` goes on to the permit, not to the
    // refusal route that tests `rekomendasi == tolak`.
    let json = time_json("tests/flow/rekomendasi-dicatat.sop", "2026-12-08 08:00", &[]);
    assert_eq!(step(&json, "kajian")["outcome"], "terbit");
    assert_eq!(json["totals"]["main_path"]["end"], 0, "the main path ends at izin_terbit");
    assert_eq!(json["end"], "izin_terbit");
}

#[test]
fn time_times_the_path_of_the_outcomes_given() {
    let json = time_json("tests/flow/rekomendasi-dicatat.sop", "2026-12-08 08:00", &["--outcome", "kajian=tolak"]);
    assert_eq!(step(&json, "kajian")["outcome"], "tolak");
    assert_eq!(json["end"], "ditolak");
    let out = alur()
        .args(["time", &path("tests/flow/rekomendasi-dicatat.sop"), "--calendars", &calendars()])
        .args(["--outcome", "kajian=tolk"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`tolak`"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn simulate_sends_the_share_of_rejections_the_scenario_gives_and_no_more() {
    let out = alur()
        .args(["simulate", &path("tests/flow/rekomendasi-dicatat.sop"), "--calendars", &calendars()])
        .args(["--scenario", &path("tests/flow/rekomendasi-separuh-ditolak.toml"), "--cases", "1000"])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ends: std::collections::BTreeMap<String, u64> = json["ends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e[0].as_str().unwrap().to_string(), e[1].as_u64().unwrap()))
        .collect();
    let issued = ends["izin_terbit"];
    assert!((400..=600).contains(&issued), "{ends:?}: half the cases should be issued");
    assert_eq!(issued + ends["ditolak"], 1000);
}

#[test]
fn time_gives_every_step_a_due_date_and_every_actor_its_time() {
    let json = time_json("tests/flow/paralel-cabang-pendek.sop", "2026-12-08 08:00", &[]);
    // The short branch is off the critical path, and still has its row and its due date.
    let short = step(&json, "cek_lalin");
    assert_eq!(short["due"], "2026-12-08T09:30:00+08:00");
    assert_eq!(short["critical"], false);
    assert_eq!(step(&json, "kajian_lingkungan")["critical"], true);
    let actors: Vec<&str> =
        json["totals"]["per_actor"].as_array().unwrap().iter().map(|a| a["actor"].as_str().unwrap()).collect();
    assert!(actors.contains(&"dishub"), "{actors:?}");
    let out = alur()
        .args(["time", &path("tests/flow/paralel-cabang-pendek.sop"), "--calendars", &calendars()])
        .args(["--start", "2026-12-08 08:00"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    // The table names the steps and actors as the SOP does, not only by id.
    assert!(table.contains("Cek lalu lintas") && table.contains("Dinas Perhubungan"), "{table}");
    assert!(table.contains("Sel 2026-12-08 09:30"), "{table}");
}

#[test]
fn a_step_that_takes_no_time_is_due_when_it_opens_even_at_closing() {
    // Tuesday: the office closes at 16:00.
    let json = time_json("tests/flow/tutup-kantor.sop", "2026-12-08 15:59", &[]);
    assert_eq!(step(&json, "catat")["due"], "2026-12-08T16:00:00+08:00");
    assert_eq!(step(&json, "nomor")["due"], "2026-12-08T16:00:00+08:00");
}

#[test]
fn a_start_outside_working_hours_says_when_the_clock_starts() {
    let out = alur()
        .args(["time", &path("tests/flow/tutup-kantor.sop"), "--calendars", &calendars()])
        .args(["--start", "2026-12-08 18:00", "--lang", "en"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("the clock starts at: Wed 2026-12-09 07:30"), "{table}");
}

#[test]
fn inspect_shows_the_routes_and_decisions() {
    let out = alur().args(["inspect", &path("sop/izin-reklame.sop"), "--format", "human"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mulai: 1 daftar_loket atau 2 daftar_online"), "{text}");
    assert!(text.contains("→ 2 daftar_online [tidak lengkap] (dikembalikan)"), "{text}");
    assert!(text.contains("⏱→ 13 terbit_otomatis"), "{text}");
    assert!(text.contains("keputusan dicatat di hasil"), "{text}");
    assert!(text.contains("→ selesai (ditolak) [hasil == ditolak]"), "{text}");
}

#[tokio::test]
async fn the_runtime_dues_a_step_that_takes_no_time_when_it_opens_at_closing() {
    use alur::runtime::{Caller, Completion, Engine, Event, ManualClock, MemoryStore};
    use chrono::TimeZone;
    use std::sync::Arc;
    let wita = |h, m| {
        chrono_tz::Asia::Makassar.with_ymd_and_hms(2026, 12, 8, h, m, 0).single().unwrap().with_timezone(&chrono::Utc)
    };
    let clock = Arc::new(ManualClock::new(wita(15, 59)));
    let engine = Engine::new(Arc::new(MemoryStore::new()), clock.clone()).await.unwrap();
    engine
        .deploy_file(&std::path::PathBuf::from(path("tests/flow/tutup-kantor.sop")), std::path::Path::new(&calendars()))
        .await
        .unwrap();
    let case = engine.start_case("tutup", "p", Default::default(), None).await.unwrap();
    clock.set(wita(16, 0));
    engine.complete(case, 1, &Caller::system(), Completion::default()).await.unwrap();
    let dues: Vec<_> = engine
        .history(case)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::TaskOpened { due, .. } => Some(due),
            _ => None,
        })
        .collect();
    assert_eq!(dues, vec![Some(wita(16, 0)), Some(wita(16, 0))]);
}

#[test]
fn an_outcome_given_once_returns_the_file_once_then_the_main_path_goes_on() {
    let json = time_json("sop/izin-reklame.sop", "2026-12-08 08:00", &["--outcome", "verifikasi=tidak_lengkap"]);
    let verifications: Vec<&Value> =
        json["steps"].as_array().unwrap().iter().filter(|s| s["id"] == "verifikasi").collect();
    let outcomes: Vec<&str> = verifications.iter().map(|s| s["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["tidak_lengkap", "lengkap"]);
    assert_eq!(json["end"], "terbit");
    // Given twice, it returns twice (the SOP allows two rounds).
    let json = time_json(
        "sop/izin-reklame.sop",
        "2026-12-08 08:00",
        &["--outcome", "verifikasi=tidak_lengkap", "--outcome", "verifikasi=tidak_lengkap"],
    );
    let n = json["steps"].as_array().unwrap().iter().filter(|s| s["id"] == "verifikasi").count();
    assert_eq!(n, 3);
}

#[test]
fn a_waktu_in_two_parts_waits_for_the_next_working_day_between_them() {
    // Tuesday 10:00: the check takes 1 jam (11:00), the survey starts Wednesday 07:30 and takes
    // 1 hari, so the step is due Thursday 07:30 and the next step 30 minutes later.
    let json = time_json("tests/flow/survei-hari-berikutnya.sop", "2026-12-08 10:00", &[]);
    assert_eq!(step(&json, "s1")["due"], "2026-12-10T07:30:00+08:00");
    assert_eq!(step(&json, "s2")["due"], "2026-12-10T08:00:00+08:00");
    // The written total counts both parts.
    assert_eq!(json["totals"]["main_path"]["duration"]["workdays"], 1);
    assert_eq!(json["totals"]["main_path"]["duration"]["hours"], 1);
}

/// Issue 22 shape 4: a hand-off chain inside one row is done desk by desk. `alur time` gives
/// each desk its share and its own due date and charges its actor.
#[test]
fn time_gives_each_desk_of_a_chain_its_share_due_date_and_actor() {
    let json = time_json("tests/flow/rantai-meja.sop", "2026-12-08 08:00", &[]);
    let rows: Vec<(&str, &str, &str)> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["actors"][0].as_str().unwrap(), s["due"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("ajukan", "pemohon", "2026-12-08T08:10:00+08:00"),
            // 1 jam 30 menit split evenly over three desks.
            ("disposisi", "kabid", "2026-12-08T08:40:00+08:00"),
            ("disposisi.2", "kasi", "2026-12-08T09:10:00+08:00"),
            ("disposisi.3", "back_office", "2026-12-08T09:40:00+08:00"),
            // Shares as written: 20 menit -> 40 menit.
            ("paraf", "kasi", "2026-12-08T10:00:00+08:00"),
            ("paraf.2", "kabid", "2026-12-08T10:40:00+08:00"),
        ]
    );
    assert_eq!(step(&json, "disposisi.2")["desk"], serde_json::json!({ "row": "disposisi", "desk": 2, "of": 3 }));
    // The decision is taken at the last desk.
    assert_eq!(step(&json, "disposisi.3")["outcome"], "setuju");
    let per_actor: Vec<(&str, u64)> = json["totals"]["per_actor"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["actor"].as_str().unwrap(),
                a["duration"]["hours"].as_u64().unwrap() * 60 + a["duration"]["minutes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(per_actor, [("pemohon", 10), ("kabid", 70), ("kasi", 50), ("back_office", 30)]);
    // `--outcome` names the chain's decision by its row.
    let refused = time_json("tests/flow/rantai-meja.sop", "2026-12-08 08:00", &["--outcome", "disposisi=tolak"]);
    assert_eq!(refused["end"], "ditolak");
    let out = alur()
        .args(["time", &path("tests/flow/rantai-meja.sop"), "--calendars", &calendars()])
        .args(["--start", "2026-12-08 08:00"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("2 (2/3)") && table.contains("3 (2/2)"), "{table}");
}

/// The runtime opens a task per desk, in its actor's inbox with its own due date, one after
/// the other; the decision is the last desk's.
#[tokio::test]
async fn the_runtime_opens_a_task_per_desk_of_a_chain_in_turn() {
    use alur::runtime::{Caller, Completion, Engine, ManualClock, MemoryStore};
    use chrono::TimeZone;
    use std::sync::Arc;
    let wita = |h, m| {
        chrono_tz::Asia::Makassar.with_ymd_and_hms(2026, 12, 8, h, m, 0).single().unwrap().with_timezone(&chrono::Utc)
    };
    let clock = Arc::new(ManualClock::new(wita(8, 0)));
    let engine = Engine::new(Arc::new(MemoryStore::new()), clock.clone()).await.unwrap();
    engine
        .deploy_file(&std::path::PathBuf::from(path("tests/flow/rantai-meja.sop")), std::path::Path::new(&calendars()))
        .await
        .unwrap();
    let case = engine.start_case("rantai", "p", Default::default(), None).await.unwrap();
    let mut seen = Vec::new();
    for (actor, at, outcome) in [
        ("pemohon", (8, 10), None),
        ("kabid", (8, 40), None),
        ("kasi", (9, 10), None),
        ("back_office", (9, 40), Some("setuju")),
        ("kasi", (10, 0), None),
        ("kabid", (10, 40), None),
    ] {
        let inbox = engine.inbox(&[actor.to_string()]).await.unwrap();
        assert_eq!(inbox.len(), 1, "one open task, in {actor}'s inbox");
        let task = &inbox[0];
        seen.push((task.step.to_string(), task.due));
        // The other desks see nothing meanwhile.
        for other in ["kabid", "kasi", "back_office"].into_iter().filter(|o| *o != actor) {
            assert!(engine.inbox(&[other.to_string()]).await.unwrap().is_empty(), "{other} waits for {actor}");
        }
        clock.set(wita(at.0, at.1));
        let completion = Completion { outcome: outcome.map(str::to_string), ..Completion::default() };
        engine.complete(case, task.task, &Caller::system(), completion).await.unwrap();
    }
    let expected: Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> = [
        ("ajukan", (8, 10)),
        ("disposisi", (8, 40)),
        ("disposisi.2", (9, 10)),
        ("disposisi.3", (9, 40)),
        ("paraf", (10, 0)),
        ("paraf.2", (10, 40)),
    ]
    .into_iter()
    .map(|(s, (h, m))| (s.to_string(), Some(wita(h, m))))
    .collect();
    assert_eq!(seen, expected);
    assert_eq!(engine.load(case).await.unwrap().end.as_deref(), Some("terbit"), "the case ends after the last desk");
}

/// The simulator charges each desk's share to its actor: per case Kabid works 30 + 40 minutes,
/// Kasi 30 + 20, Back Office 30.
#[test]
fn simulate_charges_each_desk_of_a_chain_to_its_actor() {
    let scenario = std::env::temp_dir().join(format!("alur-rantai-{}.toml", std::process::id()));
    std::fs::write(
        &scenario,
        "nama = \"rantai\"\nmulai = \"2026-12-08 08:00\"\nbenih = 1\n[kedatangan]\nper_hari = 2\n[keputusan.disposisi]\ntolak = 0.0\n",
    )
    .unwrap();
    let out = alur()
        .args(["simulate", &path("tests/flow/rantai-meja.sop"), "--calendars", &calendars()])
        .arg("--scenario")
        .arg(&scenario)
        .args(["--cases", "50", "--format", "json"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&scenario);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let desk = |actor: &str| json["desks"].as_array().unwrap().iter().find(|d| d["actor"] == actor).unwrap().clone();
    let served: Vec<u64> =
        ["kabid", "kasi", "back_office"].iter().map(|a| desk(a)["served"].as_u64().unwrap()).collect();
    assert_eq!(served, [100, 100, 50], "Kabid and Kasi each hold two desks of every case");
    let busy = |a: &str| desk(a)["mean_busy"].as_f64().unwrap();
    assert!((busy("kabid") / busy("back_office") - 70.0 / 30.0).abs() < 0.01, "{json}");
    assert!((busy("kasi") / busy("back_office") - 50.0 / 30.0).abs() < 0.01, "{json}");
}

/// `alur inspect` shows the desks and the row they are on; the document draws one row.
#[test]
fn inspect_and_the_document_show_a_chain_as_one_row_of_desks() {
    let out = alur().args(["inspect", &path("tests/flow/rantai-meja.sop"), "--format", "human"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("rantai serah-terima dalam satu baris: kabid → kasi → back_office (waktu baris 1 Jam 30 Menit)"),
        "{text}"
    );
    assert!(text.contains("→ 2 (2/3) disposisi.2"), "{text}");
    let out = alur().args(["render", &path("tests/flow/rantai-meja.sop"), "--to", "md"]).output().unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| 2 ") || l.starts_with("| 3 ")).collect();
    assert_eq!(rows.len(), 2, "{md}");
    assert!(rows[0].contains("▭ 1") && rows[0].contains("▭ 2") && rows[0].contains("◇ 3"), "{md}");
    assert!(rows[1].contains("20 Menit → 40 Menit"), "{md}");
}
