//! `alur simulate`: the simulator agrees with the timing totals when nothing varies, with
//! queueing theory on one desk, repeats itself for a seed, and explains bad scenario files.

use std::path::{Path, PathBuf};

use alur::simulate::{self, Overrides, Report, Scenario};
use assert_cmd::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const LKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sop/lks-lksa.sop");
const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sop/skenario/lks-40-per-hari.toml");
const CALENDARS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sop/calendars");

fn alur() -> Command {
    let mut cmd = Command::cargo_bin("alur").unwrap();
    cmd.env("LANG", "id_ID.UTF-8").env_remove("LC_ALL").env_remove("LC_MESSAGES");
    cmd
}

fn run(sop_path: &Path, scenario: &str, cases: u64, seed: u64) -> Report {
    let (sop, calendar) = simulate::load(sop_path, Path::new(CALENDARS)).unwrap();
    let scenario = Scenario::parse(scenario).unwrap();
    let overrides = Overrides { cases: Some(cases), seed: Some(seed), ..Overrides::default() };
    let (program, problems) = simulate::lower(&sop, &calendar, &scenario, &overrides);
    assert!(problems.is_empty(), "{problems:?}");
    simulate::simulate(&sop, &calendar, &program.unwrap(), &mut |_| {})
}

/// One desk, one step of 10 minutes: the textbook queue.
fn one_desk_sop() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loket.sop");
    std::fs::write(
        &path,
        "sop loket \"Satu loket\" {\n    kalender wita_kantor\n    pelaksana {\n        petugas \"Petugas\" staf\n    }\n    \
         selesai {\n        dilayani \"Dilayani\"\n    }\n    langkah 1 layani oleh petugas {\n        kegiatan \"Melayani\"\n        \
         waktu    10 menit\n    }\n}\n",
    )
    .unwrap();
    (dir, path)
}

fn queue_scenario(per_day: f64, staff: u32) -> String {
    format!(
        "pemanasan = 5000\n[kedatangan]\nper_hari = {per_day}\n[petugas]\npetugas = {staff}\n\
         [waktu.layani]\ndistribusi = \"eksponensial\"\n"
    )
}

#[test]
fn without_variability_every_case_takes_the_main_path_total() {
    let (sop, calendar) = simulate::load(Path::new(LKS), Path::new(CALENDARS)).unwrap();
    let day = calendar.day_length_minutes();
    let expected = alur::timing::totals(&sop, day).main_path.duration.working_minutes(day) as f64;
    assert_eq!(expected, 1878.0); // 4 Hari 1 Jam 18 Menit on a 7.5-hour day
    let report = run(Path::new(LKS), "", 5_000, 1);
    assert_eq!(report.counted, 5_000);
    let lead = &report.lead_time_minutes;
    for v in [lead.min, lead.p50, lead.p99, lead.max] {
        assert!((v - expected).abs() < 1e-6, "lead time {v} is not the main-path total {expected}");
    }
    assert_eq!(report.main_path_minutes, expected);
    assert_eq!(report.returned_share, 0.0);
    // Every case keeps the stated total and its rounding to 5 days.
    assert!(report.targets.iter().all(|t| t.within == 1.0 && t.within_elapsed == 1.0), "{:?}", report.targets);
    assert!(report.desks.iter().all(|d| d.mean_wait_minutes == 0.0));
}

#[test]
fn an_mm1_desk_matches_the_mean_wait_of_theory() {
    // λ = 0.07 per working minute (31.5 a 450-minute day), μ = 0.1: ρ = 0.7,
    // Wq = ρ / (μ − λ) = 23.33 minutes. Tolerance 5% over 200,000 cases.
    let (_dir, path) = one_desk_sop();
    let report = run(&path, &queue_scenario(31.5, 1), 200_000, 7);
    let desk = report.desks.iter().find(|d| d.actor == "petugas").unwrap();
    let theory = 0.7 / (0.1 - 0.07);
    let error = (desk.mean_wait_minutes - theory).abs() / theory;
    assert!(error < 0.05, "mean wait {} vs theory {theory} ({:.1}% off)", desk.mean_wait_minutes, error * 100.0);
    let utilisation = desk.utilisation.unwrap();
    assert!((utilisation - 0.7).abs() < 0.02, "utilisation {utilisation}");
    assert_eq!(report.bottleneck.as_deref(), Some("petugas"));
}

#[test]
fn an_mmc_desk_matches_erlang_c() {
    // c = 3, μ = 0.1, λ = 0.24 (108 a day): ρ = 0.8. Erlang C gives the chance to wait.
    let (c, mu, lambda) = (3u32, 0.1f64, 0.24f64);
    let a = lambda / mu;
    let rho = a / f64::from(c);
    let mut sum = 0.0;
    let mut term = 1.0;
    for k in 0..c {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let last = term * a / f64::from(c) / (1.0 - rho);
    let erlang_c = last / (sum + last);
    let theory = erlang_c / (f64::from(c) * mu - lambda);
    let (_dir, path) = one_desk_sop();
    let report = run(&path, &queue_scenario(108.0, c), 200_000, 11);
    let desk = report.desks.iter().find(|d| d.actor == "petugas").unwrap();
    let error = (desk.mean_wait_minutes - theory).abs() / theory;
    assert!(error < 0.05, "mean wait {} vs Erlang C {theory} ({:.1}% off)", desk.mean_wait_minutes, error * 100.0);
    assert!((desk.utilisation.unwrap() - rho).abs() < 0.02);
}

#[test]
fn returns_follow_the_probability_and_the_round_limit() {
    // LKS: 20% returned at verification, no round limit: one return in five decisions.
    let report = run(Path::new(LKS), "[keputusan.verifikasi]\nditolak = 0.2\n", 50_000, 3);
    let runs = report.steps.iter().find(|s| s.step == "verifikasi").unwrap().per_case;
    assert!((runs - 1.25).abs() < 0.02, "verification per case {runs}, expected 1/(1-0.2)");
    assert!((report.returned_share - 0.2).abs() < 0.01);
    // The clock stops while the file is back with the applicant (jam berhenti), from the
    // return until the resubmission (the applicant's step done again); the second verification
    // counts. So a returned case spends 10 more service minutes (1888), and the two days the
    // applicant took show only in the elapsed time.
    let report =
        run(Path::new(LKS), "[keputusan.verifikasi]\nditolak = 0.2\n[perbaikan]\nrerata = \"2 hari\"\n", 20_000, 3);
    let (total, rounded) = (&report.targets[0], &report.targets[1]);
    let expected = 1878.0 + 10.0 * report.mean_rounds;
    assert!((total.mean_clock_minutes - expected).abs() < 1e-6, "{total:?}");
    assert!((total.within - (1.0 - report.returned_share)).abs() < 1e-9, "{total:?}");
    assert!((rounded.within - 1.0).abs() < 1e-9, "{rounded:?}");
    assert!((rounded.within_elapsed - 0.8).abs() < 0.02, "{rounded:?}");

    // A round limit: after the last allowed return the file goes on.
    let limited = std::fs::read_to_string(LKS)
        .unwrap()
        .replace("kembali ke ajukan, jam berhenti", "kembali ke ajukan, jam berhenti, maks 1 kali");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lks.sop");
    std::fs::write(&path, limited).unwrap();
    let report = run(&path, "[keputusan.verifikasi]\nditolak = 0.9\n", 10_000, 3);
    let runs = report.steps.iter().find(|s| s.step == "verifikasi").unwrap().per_case;
    assert!((runs - 1.9).abs() < 0.02, "at most one return: {runs}");
}

#[test]
fn the_same_seed_gives_the_same_output() {
    let args = ["simulate", LKS, "--scenario", SCENARIO, "--cases", "3000", "--format", "json"];
    let a = alur().args(args).args(["--seed", "5"]).output().unwrap();
    let b = alur().args(args).args(["--seed", "5"]).output().unwrap();
    let c = alur().args(args).args(["--seed", "6"]).output().unwrap();
    assert_eq!(a.status.code(), Some(0), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    let json: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(json["cases"], 3000);
    assert_eq!(json["seed"], 5);
    assert!(json["lead_time_minutes"]["p90"].as_f64().unwrap() >= json["lead_time_minutes"]["p50"].as_f64().unwrap());
    assert!(json["bottleneck"].is_string());
}

#[test]
fn the_report_has_percentiles_promises_desks_a_histogram_and_an_svg() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("lead.svg");
    let out = alur()
        .args(["simulate", LKS, "--scenario", SCENARIO, "--cases", "2000", "--lang", "en", "--svg"])
        .arg(&svg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "p50",
        "p99",
        "calendar days",
        "Stated total 4 Hari 1 Jam 18 Menit",
        "front_office",
        "Bottleneck:",
        "Lead-time histogram",
        "│",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"));
    assert!(chart.contains("<rect"));
}

#[test]
fn bad_scenarios_get_bilingual_errors_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("skenario.toml");
    std::fs::write(
        &bad,
        "[petugas]\nfront_office = 2\n\n[waktu.verifkasi]\ndistribusi = \"segitiga\"\nmin = 0.5\nmax = 2\n",
    )
    .unwrap();
    let out = alur().args(["simulate", LKS, "--lang", "en", "--scenario"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skenario.toml:4:8: error: the SOP has no step `verifkasi`"), "{err}");
    assert!(err.contains("did you mean `verifikasi`?"), "{err}");
    let out = alur().args(["simulate", LKS, "--lang", "id", "--scenario"]).arg(&bad).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skenario.toml:4:8: galat: langkah `verifkasi` tidak ada di SOP ini"), "{err}");
    assert!(err.contains("maksudnya `verifikasi`?"), "{err}");

    // TOML syntax, unknown keys, probabilities and staff counts, each at its line.
    for (text, line, needle) in [
        ("[kedatangan]\nper_hari = 40\npola = \"poisson\n", 3, "cannot read the scenario"),
        ("kasus = 10\n[kedatangan]\nper_bulan = 40\n", 3, "unknown field `per_bulan`"),
        ("[keputusan.verifikasi]\nditolak = 1.5\n", 2, "must be between 0 and 1"),
        ("[keputusan.verifikasi]\nditolak = 0.7\nditerima = 0.6\n", 1, "add up to 1.3"),
        ("[keputusan.verifikasi]\ndikembalikan = 0.2\n", 2, "no outcome `dikembalikan`"),
        ("[petugas]\nfront_office = 0\n", 2, "whole number of 1 or more"),
        ("[waktu.default]\ndistribusi = \"normal\"\n", 2, "unknown distribution `normal`"),
        ("[perbaikan]\nrerata = \"2 minggu\"\n", 2, "`2 minggu` is not a duration"),
        ("\n[keputusan.verifikasi]\nditolak = 1\n", 2, "no case would ever end"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let out = alur().args(["simulate", LKS, "--lang", "en", "--scenario"]).arg(&bad).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{text}: {err}");
        assert!(err.contains(&format!("skenario.toml:{line}:")), "{text}: expected line {line} in {err}");
        assert!(err.contains(needle), "{text}: expected `{needle}` in {err}");
    }
}

#[test]
fn compare_runs_one_scenario_on_two_versions() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("lks-b.sop");
    let text = std::fs::read_to_string(LKS)
        .unwrap()
        .replace("waktu       4 Hari", "waktu       2 Hari")
        .replace("total    4 Hari 1 Jam 18 Menit (5 Hari)", "total    2 Hari 1 Jam 18 Menit (3 Hari)");
    std::fs::write(&b, text).unwrap();
    let out = alur()
        .args(["simulate", "--compare", LKS])
        .arg(&b)
        .args(["--scenario", SCENARIO, "--cases", "2000", "--calendars", CALENDARS, "--lang", "en"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("B − A"), "{text}");
    assert!(text.contains("main-path total") && text.contains("−2.00 wd"), "{text}");
    let out = alur()
        .args(["simulate", "--compare", LKS])
        .arg(&b)
        .args(["--scenario", SCENARIO, "--cases", "500", "--calendars", CALENDARS, "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (a50, b50) = (
        json["a"]["lead_time_minutes"]["p50"].as_f64().unwrap(),
        json["b"]["lead_time_minutes"]["p50"].as_f64().unwrap(),
    );
    assert!(b50 < a50, "two days shorter at the technical agency: {b50} < {a50}");
}

#[test]
fn every_shipped_sop_runs_to_the_end_with_staffed_desks_and_variability() {
    // Parallel blocks, alternatives, conditional steps and routes, sub-procedure calls, calendar
    // days and next-day starts: every case reaches an end and none loops for ever.
    for name in ["lks-lksa", "izin-reklame", "persetujuan-lingkungan", "rekomendasi-dinas-teknis"] {
        let path = PathBuf::from(ROOT).join(format!("sop/{name}.sop"));
        let (sop, _) = simulate::load(&path, Path::new(CALENDARS)).unwrap();
        let mut scenario = String::from(
            "[kedatangan]\nper_hari = 15\n[waktu.semua]\ndistribusi = \"lognormal\"\nkv = 0.8\n[perbaikan]\nrerata = 1\n[petugas]\n",
        );
        for actor in &sop.actors {
            if actor.kind == alur::model::ActorKind::Staff {
                scenario.push_str(&format!("{} = 2\n", actor.id));
            }
        }
        let report = run(&path, &scenario, 3_000, 9);
        assert_eq!(report.counted, 3_000, "{name}");
        assert_eq!(report.stuck, 0, "{name}");
        assert_eq!(report.ends.iter().map(|(_, n)| n).sum::<u64>(), 3_000, "{name}: {:?}", report.ends);
        assert!(report.lead_time_minutes.min > 0.0, "{name}");
    }
}

#[test]
fn compare_accepts_names_one_version_has_and_refuses_names_neither_has() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("lks-b.sop");
    let text = std::fs::read_to_string(LKS).unwrap().replace("langkah 7 paraf_sekretaris", "langkah 7 paraf_sekda");
    std::fs::write(&b, text).unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, "[waktu.paraf_sekretaris]\nrerata = 2\n[waktu.paraf_sekda]\nrerata = 3\n").unwrap();
    let compare = |scenario: &Path| {
        alur()
            .args(["simulate", "--compare", LKS])
            .arg(&b)
            .args(["--cases", "200", "--calendars", CALENDARS, "--lang", "en", "--scenario"])
            .arg(scenario)
            .output()
            .unwrap()
    };
    let out = compare(&scenario);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(&scenario, "[waktu.paraf_sekretaris]\nrerata = 2\n[waktu.paraf_bupati]\nrerata = 3\n").unwrap();
    let out = compare(&scenario);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("s.toml:3:8: error: the SOP has no step `paraf_bupati`"), "{err}");
    assert!(!err.contains("paraf_sekretaris"), "{err}");
}

/// A share as the report prints it in English: "67.0%".
fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// Minutes as the report prints them in English: "4.4 min", "2.1 h".
fn mins(v: f64) -> String {
    if v >= 60.0 {
        format!("{:.1} h", v / 60.0)
    } else {
        format!("{v:.1} min")
    }
}

/// The text of each promise line's label in a chart (`<text class="promise-label">`).
fn promise_labels(svg: &str) -> Vec<String> {
    svg.split(r#"<text class="promise-label""#)
        .skip(1)
        .map(|t| t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()].to_string())
        .collect()
}

#[test]
fn the_charts_promise_lines_give_the_share_of_the_bars_left_of_them_and_name_the_service_clock() {
    // The bars are lead times: elapsed working time from application to end. A line for the
    // stated total is labelled with the share of those lead times within it (the bars left of
    // it); the service clock, which stops while a file is returned, is a different measure and
    // is shown only under its own name.
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("lead.svg");
    let out = alur()
        .args(["simulate", LKS, "--scenario", SCENARIO, "--cases", "3000", "--lang", "en", "--format", "json", "--svg"])
        .arg(&svg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let chart = std::fs::read_to_string(&svg).unwrap();
    let labels = promise_labels(&chart);
    let targets = json["targets"].as_array().unwrap();
    let lines: Vec<&serde_json::Value> = targets.iter().filter(|t| t["calendar_days"] == 0).collect();
    assert_eq!(labels.len(), lines.len(), "one label per promise line: {labels:?}");
    let hist = &json["histogram"];
    let (start, bin) = (hist["start_minutes"].as_f64().unwrap(), hist["bin_minutes"].as_f64().unwrap());
    let counts: Vec<f64> = hist["counts"].as_array().unwrap().iter().map(|c| c.as_f64().unwrap()).collect();
    let total: f64 = counts.iter().sum();
    for (t, label) in lines.iter().zip(&labels) {
        let (elapsed, service) = (t["within_elapsed"].as_f64().unwrap(), t["within"].as_f64().unwrap());
        assert!((elapsed - service).abs() > 0.05, "the scenario returns files: the clocks differ");
        // The elapsed share is the share of the bars left of the line (within the bin it cuts).
        let limit = t["limit_minutes"].as_f64().unwrap();
        let left: f64 =
            counts.iter().enumerate().filter(|(i, _)| start + (*i as f64 + 1.0) * bin <= limit).map(|c| c.1).sum();
        let cut: f64 = counts.iter().enumerate().filter(|(i, _)| start + *i as f64 * bin < limit).map(|c| c.1).sum();
        assert!(left / total <= elapsed + 1e-9 && elapsed <= cut / total + 1e-9, "{t}");
        assert!(
            label.contains(&pct(elapsed)),
            "the line's label gives the share left of it ({}): `{label}`",
            pct(elapsed)
        );
        assert!(!label.contains(&pct(service)), "the service-clock share is not the line's: `{label}`");
    }
    assert!(chart.contains(&format!("service clock {}", pct(lines[0]["within"].as_f64().unwrap()))), "{chart}");
}

#[test]
fn compare_draws_both_versions_in_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("lks-b.sop");
    let text = std::fs::read_to_string(LKS)
        .unwrap()
        .replace("waktu       4 Hari", "waktu       2 Hari")
        .replace("total    4 Hari 1 Jam 18 Menit (5 Hari)", "total    2 Hari 1 Jam 18 Menit (3 Hari)");
    std::fs::write(&b, text).unwrap();
    let svg = dir.path().join("compare.svg");
    let out = alur()
        .args(["simulate", "--compare", LKS])
        .arg(&b)
        .args(["--scenario", SCENARIO, "--cases", "1000", "--calendars", CALENDARS, "--lang", "en", "--svg"])
        .arg(&svg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"));
    for promise in ["Stated total 4 Hari 1 Jam 18 Menit", "Stated total 2 Hari 1 Jam 18 Menit"] {
        assert!(chart.contains(promise), "both versions' promises are drawn: no `{promise}`");
    }
    assert!(chart.contains("lks-b.sop") && chart.contains("lks-lksa.sop"), "each version is named");
}

#[test]
fn a_constant_lead_time_fills_one_clean_bin() {
    // Nothing varies: every case takes the main-path total, so the histogram has one bar, and
    // no bin label reads the same at both ends.
    let report = run(Path::new(LKS), "", 500, 1);
    let filled: Vec<&u64> = report.histogram.counts.iter().filter(|c| **c > 0).collect();
    assert_eq!(filled, [&500], "{:?}", report.histogram);
    for lang in [alur::diagnostic::Lang::En, alur::diagnostic::Lang::Id] {
        let text = simulate::render::histogram_text(&report, lang, 40);
        for line in text.lines().skip(1) {
            let range = line.split('│').next().unwrap().trim();
            let (lo, hi) = range.split_once('–').unwrap();
            assert_ne!(lo, hi, "a bin from {lo} to {hi}:\n{text}");
        }
    }
    let chart = simulate::render::svg(&report, alur::diagnostic::Lang::En);
    assert_eq!(chart.matches("<title>").count(), 1, "one bar");
}

#[test]
fn the_report_says_what_the_bottleneck_is_with_its_figures() {
    let json =
        alur().args(["simulate", LKS, "--scenario", SCENARIO, "--cases", "3000", "--format", "json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let name = json["bottleneck"].as_str().unwrap();
    let desk = json["desks"].as_array().unwrap().iter().find(|d| d["actor"] == name).unwrap();
    let out =
        alur().args(["simulate", LKS, "--scenario", SCENARIO, "--cases", "3000", "--lang", "en"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().skip_while(|l| !l.starts_with("Bottleneck")).take(3).collect::<Vec<_>>().join("\n");
    assert!(line.contains(name), "{line}");
    assert!(line.contains("longest in total"), "what the bottleneck means: {line}");
    assert!(line.contains(&format!("utilisation {}", pct(desk["utilisation"].as_f64().unwrap()))), "{line}");
    assert!(line.contains(&format!("mean wait {}", mins(desk["mean_wait_minutes"].as_f64().unwrap()))), "{line}");
    assert!(line.contains(&format!("max wait {}", mins(desk["max_wait_minutes"].as_f64().unwrap()))), "{line}");
    let out =
        alur().args(["simulate", LKS, "--scenario", SCENARIO, "--cases", "3000", "--lang", "id"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().skip_while(|l| !l.starts_with("Hambatan")).take(3).collect::<Vec<_>>().join("\n");
    assert!(line.contains("terlama") && line.contains("antre maks"), "{line}");

    // Nobody waits (one desk, regular arrivals well within its capacity): the busiest desk.
    let (_dir, path) = one_desk_sop();
    let report = run(&path, "[kedatangan]\nper_hari = 10\npola = \"teratur\"\n[petugas]\npetugas = 1\n", 200, 1);
    assert_eq!(report.bottleneck.as_deref(), Some("petugas"));
    assert_eq!(report.bottleneck_basis, Some(simulate::BottleneckBasis::Utilisation));
    let text = simulate::render::text(&report, alur::diagnostic::Lang::En, 40);
    assert!(text.contains("no file waits at a staffed desk; this is the one with the highest utilisation"), "{text}");
}

/// A step whose SOP states no time: the scenario must say how long it takes, as a time; the
/// promise that starts after the complete file is then measured.
#[test]
fn steps_without_a_stated_time_take_their_time_from_the_scenario_or_are_refused() {
    let path = Path::new(ROOT).join("sop/contoh/kabmalang-izin-reklame.sop");
    let (written, calendar) = simulate::load(&path, Path::new(CALENDARS)).unwrap();
    // A file with variants is simulated one variant at a time.
    let (program, problems) = simulate::lower(&written, &calendar, &Scenario::default(), &Overrides::default());
    assert!(program.is_none() && problems[0].message.en.contains("variants (baru, perpanjangan)"), "{problems:?}");
    let sop = alur::compile::for_variant(&written, "baru").unwrap();
    let lower = |text: &str| {
        let scenario = Scenario::parse(text).unwrap();
        let overrides = Overrides { cases: Some(200), seed: Some(1), ..Overrides::default() };
        simulate::lower(&sop, &calendar, &scenario, &overrides)
    };
    // Nothing given: refused, every untimed step named.
    let (program, problems) = lower("");
    assert!(program.is_none());
    for step in ["serahkan", "terima_berkas", "proses", "terima_izin"] {
        assert!(problems.iter().any(|p| p.message.en.contains(&format!("`{step}`"))), "{step}: {problems:?}");
    }
    // A factor has no standard to multiply.
    let (program, problems) = lower("[waktu.semua]\nrerata = 1.5\n");
    assert!(program.is_none());
    assert!(problems.iter().any(|p| p.span.is_some() && p.message.en.contains("factor")), "{problems:?}");
    // Times given: the promise (14 working days after the complete file) is measured.
    let times = |proses: &str| {
        format!(
            "[waktu.semua]\nrerata = \"10 menit\"\n[waktu.proses]\nrerata = \"{proses}\"\n[kedatangan]\nper_hari = 5\n"
        )
    };
    let report = |text: &str| {
        let (program, problems) = lower(text);
        assert!(problems.is_empty(), "{problems:?}");
        simulate::simulate(&sop, &calendar, &program.unwrap(), &mut |_| {})
    };
    let kept = report(&times("5 hari"));
    let broken = report(&times("20 hari"));
    let promise = |r: &Report| r.targets.iter().find(|t| t.label.starts_with("Maksimal 14 hari")).unwrap().clone();
    assert_eq!(promise(&kept).within, 1.0);
    assert_eq!(promise(&broken).within, 0.0);
    assert!(promise(&kept).measured > 0);
}

/// The simulator's clocks leave out the steps a promise excludes, as the runtime's do.
#[test]
fn a_promise_that_excludes_a_step_is_measured_without_it() {
    let path = Path::new(ROOT).join("tests/flow/kecuali-rekomendasi.sop");
    let scenario = "[waktu.ajukan]\nrerata = \"10 menit\"\n[kedatangan]\nper_hari = 4\n";
    let report = run(&path, scenario, 200, 3);
    let promise = report.targets.iter().find(|t| t.label.starts_with("5 hari kerja")).unwrap();
    assert!(promise.measured > 0);
    assert_eq!(promise.within, 1.0, "3 working days counted of a 5-day promise");
    assert_eq!(promise.within_elapsed, 0.0, "13 working days elapsed");
}

/// A promise stops when the applicant is served (`dilayani`) in the simulator as in the runtime:
/// a week of archiving afterwards does not break it.
#[test]
fn a_promise_stops_when_the_applicant_is_served() {
    let path = Path::new(ROOT).join("tests/flow/arsip-setelah-dilayani.sop");
    let report = run(&path, "[waktu.arsipkan]\nrerata = \"5 hari\"\n[kedatangan]\nper_hari = 2\n", 100, 5);
    let promise = report.targets.iter().find(|t| t.kind == alur::simulate::TargetKind::ServiceStandard).unwrap();
    assert_eq!(promise.within, 1.0);
    let stated = report.targets.iter().find(|t| t.kind == alur::simulate::TargetKind::StatedTotal).unwrap();
    assert_eq!(stated.within, 0.0, "the stated total counts the archiving");
}

/// `[tangguh.STEP]` (issue 22 shape 7): the held share waits in the lead time while the service
/// clock stands still; a hold longer than the SOP's maximum ends there and the case lapses; a
/// hold on a step the SOP does not let stand on hold is refused.
#[test]
fn holds_count_in_the_lead_time_not_on_the_promise_and_lapse_past_the_maximum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tangguh.sop");
    std::fs::write(
        &path,
        "sop tangguh \"Uji\" {\n    kalender wita_kantor\n    standar_pelayanan 1 hari\n    pelaksana {\n        \
         fo \"Front Office\" staf\n    }\n    selesai {\n        terbit \"Terbit\"\n        gugur \"Gugur\"\n    }\n    \
         langkah 1 verifikasi oleh fo {\n        waktu       1 jam\n        penangguhan maks 2 hari -> gugur\n    }\n    langkah 2 arsip oleh fo {\n        waktu 10 menit\n    }\n}\n",
    )
    .unwrap();
    let within = |lama: &str| {
        let report = run(&path, &format!("[tangguh.verifikasi]\npeluang = 1.0\nlama = \"{lama}\"\n"), 200, 2);
        let promise = report.targets.iter().find(|t| t.kind == alur::simulate::TargetKind::ServiceStandard).unwrap();
        let ended = |end: &str| report.ends.iter().find(|(e, _)| e == end).map_or(0, |(_, n)| *n);
        (promise.within, promise.within_elapsed, ended("terbit"), ended("gugur"), report.lead_time_minutes.p50)
    };
    let (clock, elapsed, issued, lapsed, lead) = within("1 hari");
    assert_eq!((clock, elapsed, issued, lapsed), (1.0, 0.0, 200, 0), "held a day: the promise is kept");
    assert!((lead - (450.0 + 70.0)).abs() < 1e-6, "the day on hold is in the lead time: {lead}");
    let (_, _, issued, lapsed, lead) = within("5 hari");
    assert_eq!((issued, lapsed), (0, 200), "past 2 days every case lapses");
    assert!((lead - 900.0).abs() < 1e-6, "it lapses at the maximum: {lead}");

    let (sop, calendar) = simulate::load(&path, Path::new(CALENDARS)).unwrap();
    let scenario = Scenario::parse("[tangguh.arsip]\npeluang = 0.5\nlama = \"1 hari\"\n").unwrap();
    let (program, problems) = simulate::lower(&sop, &calendar, &scenario, &Overrides::default());
    assert!(program.is_none());
    assert!(problems[0].message.get(alur::diagnostic::Lang::En).contains("may not be put on hold"), "{problems:?}");
}
