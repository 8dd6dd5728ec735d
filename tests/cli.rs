//! The `alur` binary: exit statuses, output formats and languages.

use assert_cmd::Command;

fn alur() -> Command {
    let mut cmd = Command::cargo_bin("alur").unwrap();
    cmd.env("LANG", "id_ID.UTF-8").env_remove("LC_ALL").env_remove("LC_MESSAGES");
    cmd
}

const LKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sop/lks-lksa.sop");

#[test]
fn check_clean_file_exits_zero() {
    let out = alur().args(["check", LKS]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 kesalahan"));
}

#[test]
fn check_errors_exit_one_and_warnings_zero_unless_denied() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.sop");
    std::fs::write(&bad, "sop a \"A\" {\n pelaksana { fo \"FO\" }\n langkah 1 a oleh fx { waktu 1 menit }\n}\n")
        .unwrap();
    assert_eq!(alur().args(["check"]).arg(&bad).output().unwrap().status.code(), Some(1));
    let warn = dir.path().join("warn.sop");
    std::fs::write(&warn, "sop a \"A\" {\n pelaksana { fo \"FO\" }\n langkah 1 a oleh fo { waktu 1 day }\n}\n")
        .unwrap();
    assert_eq!(alur().args(["check"]).arg(&warn).output().unwrap().status.code(), Some(0));
    assert_eq!(alur().args(["check", "--deny-warnings"]).arg(&warn).output().unwrap().status.code(), Some(1));
}

#[test]
fn check_shows_warnings_beside_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.sop");
    // `kabid` does no step (W005) and step 1's actor is not declared (E103).
    std::fs::write(
        &bad,
        "sop a \"A\" {\n pelaksana {\n  fo \"FO\"\n  kabid \"Kabid\"\n }\n langkah 1 a oleh fx { waktu 1 menit }\n}\n",
    )
    .unwrap();
    let out = alur().args(["check", "--lang", "en"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error[E103]: unknown actor `fx`"), "{stderr}");
    assert!(stderr.contains("warning[W005]: actor `kabid` does no step"), "{stderr}");
    // `fo` looks unused only because `fx` is its misspelling: that echo is left out.
    assert!(!stderr.contains("actor `fo` does no step"), "{stderr}");
    assert!(stderr.contains("1 error(s), 1 warning(s)"), "{stderr}");
}

#[test]
fn check_usage_and_io_problems_exit_two() {
    assert_eq!(alur().args(["check", "/no/such/file.sop"]).output().unwrap().status.code(), Some(2));
    assert_eq!(alur().args(["check", "--no-such-flag", LKS]).output().unwrap().status.code(), Some(2));
}

#[test]
fn check_json_names_code_span_and_message_in_the_chosen_language() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.sop");
    std::fs::write(&bad, "sop a \"A\" {\n pelaksana { fo \"FO\" }\n langkah 1 a oleh fx { waktu 1 menit }\n}\n")
        .unwrap();
    let out = alur().args(["check", "--format", "json", "--lang", "en"]).arg(&bad).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The file's own entry (a `calendars/` folder found above the temporary folder has one too).
    let file =
        json["files"].as_array().unwrap().iter().find(|f| f["file"].as_str().unwrap().ends_with("bad.sop")).unwrap();
    let all = file["diagnostics"].as_array().unwrap();
    let d = all.iter().find(|d| d["code"] == "E103").unwrap();
    assert_eq!(d["severity"], "error");
    assert_eq!(d["message"], "unknown actor `fx`");
    assert_eq!(d["labels"][0]["text"], "fx");
    assert_eq!(d["labels"][0]["start_position"]["line"], 3);
    assert_eq!(d["help"], "did you mean `fo`?");
    assert_eq!(json["errors"], 1);
}

#[test]
fn check_a_directory_checks_every_sop_in_it() {
    let out = alur().args(["check", concat!(env!("CARGO_MANIFEST_DIR"), "/sop")]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Two files of a folder with one SOP id: the second (by name) is E101, naming the first.
#[test]
fn check_a_directory_refuses_two_files_with_one_sop_id() {
    let dir = tempfile::tempdir().unwrap();
    let lks = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sop/lks-lksa.sop")).unwrap();
    std::fs::write(dir.path().join("lks-lksa.sop"), &lks).unwrap();
    std::fs::write(dir.path().join("lks-lksa-lama.sop"), &lks).unwrap();
    let out = alur().args(["check", "--lang", "en"]).arg(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[E101]: SOP `lks_lksa` is already defined in"), "{stderr}");
    assert!(stderr.contains("lks-lksa-lama.sop") && stderr.contains("lks-lksa.sop:"), "{stderr}");
}

#[test]
fn fmt_rewrites_and_check_mode_reports() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.sop");
    std::fs::write(&file, "sop a \"A\" {\npelaksana { fo \"FO\" }\n   langkah 1 a oleh fo { waktu 1 menit }\n}\n")
        .unwrap();
    assert_eq!(alur().args(["fmt", "--check"]).arg(&file).output().unwrap().status.code(), Some(1));
    assert_eq!(alur().args(["fmt"]).arg(&file).output().unwrap().status.code(), Some(0));
    assert_eq!(alur().args(["fmt", "--check"]).arg(&file).output().unwrap().status.code(), Some(0));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("    langkah 1 a oleh fo {\n        waktu 1 menit\n    }")
            || text.contains("    langkah 1 a oleh fo { waktu"),
        "{text}"
    );
}

#[test]
fn fmt_leaves_a_file_with_syntax_errors_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.sop");
    let text = "sop a \"A\" {\n  langkah 1 a oleh fo { kegiatan \"unclosed\n}\n";
    std::fs::write(&file, text).unwrap();
    assert_eq!(alur().args(["fmt"]).arg(&file).output().unwrap().status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

#[test]
fn inspect_prints_the_model_and_its_graph_as_json() {
    let out = alur().args(["inspect", LKS, "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["id"]["name"], "lks_lksa");
    assert_eq!(json["steps"].as_array().unwrap().len(), 9);
    assert!(json["flow"]["graph"]["nodes"].as_array().unwrap().len() >= 11);
}

#[test]
fn a_closed_output_pipe_ends_quietly() {
    // `alur time FILE | head -3` used to panic on the broken pipe.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("alur"))
        .args(["time", LKS, "--start", "2026-12-01 08:00"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(101), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn time_prints_due_dates_on_the_office_calendar() {
    let out = alur().args(["time", LKS, "--start", "2026-12-01 08:00", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["calendar"], "wita_kantor");
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 9);
    // Tuesday 08:00 plus 4 hari 1 jam 18 menit is Monday 09:18 (WITA).
    assert_eq!(steps[8]["due"], "2026-12-07T09:18:00+08:00");
    assert_eq!(steps[3]["due"], "2026-12-07T08:50:00+08:00");
    assert_eq!(json["totals"]["main_path"]["rounded_workdays"], 5);
}

#[test]
fn time_refuses_an_unreadable_start() {
    let out = alur().args(["time", LKS, "--start", "besok pagi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2026-12-23 15:00"));
}

/// Copies the shipped SOPs into a fresh working directory, as an office would have them.
fn office() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        fn walk(from: &std::path::Path, to: &std::path::Path) {
            std::fs::create_dir_all(to).unwrap();
            for entry in std::fs::read_dir(from).unwrap() {
                let path = entry.unwrap().path();
                let target = to.join(path.file_name().unwrap());
                if path.is_dir() {
                    walk(&path, &target);
                } else {
                    std::fs::copy(&path, &target).unwrap();
                }
            }
        }
        walk(from, to)
    };
    copy(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sop"), &dir.path().join("sop"));
    dir
}

#[test]
fn a_case_is_walked_through_the_lks_sop_from_the_shell() {
    let dir = office();
    let run = |args: &[&str]| {
        let out = alur().current_dir(dir.path()).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["case", "start", "lks_lksa", "--as", "yayasan"]);
    assert_eq!(code, Some(0), "{err}");
    let case = out.lines().next().unwrap().trim().to_string();
    assert!(dir.path().join("alur.db").exists(), "the embedded database is in the working directory");
    // A document: its type from its extension, its bytes in a blob file beside the database.
    std::fs::write(dir.path().join("akta.pdf"), b"%PDF-1.4 akta").unwrap();
    std::fs::write(dir.path().join("akta.html"), b"<html>").unwrap();
    let (code, _, err) = run(&["case", "attach", &case, "persyaratan", "akta.pdf", "--as", "yayasan"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(dir.path().join("alur.db.blobs").is_dir());
    let (code, _, err) = run(&["--lang", "en", "case", "attach", &case, "persyaratan", "akta.html", "--as", "yayasan"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("application/octet-stream") && err.contains("PDF, PNG, JPEG"), "{err}");
    let (_, inbox, _) = run(&["case", "inbox", "--role", "pemohon"]);
    assert!(inbox.contains(&case) && inbox.contains("ajukan"), "{inbox}");
    let steps = [
        ("1", "pemohon", None),
        ("2", "front_office", Some("ditolak")),
        ("3", "pemohon", None),
        ("4", "front_office", Some("diterima")),
        ("5", "back_office", None),
        ("6", "dinas_teknis", None),
        ("7", "back_office", None),
        ("8", "kabid", None),
        ("9", "sekretaris", None),
        ("10", "kepala_dinas", None),
        ("11", "pemohon", None),
    ];
    for (task, role, outcome) in steps {
        let mut args = vec!["case", "complete", &case, task, "--as", "u", "--role", role];
        if let Some(outcome) = outcome {
            args.extend(["--outcome", outcome]);
        }
        let (code, _, err) = run(&args);
        assert_eq!(code, Some(0), "task {task}: {err}");
    }
    let (_, shown, _) = run(&["case", "show", &case, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(json["case"]["status"], "ended");
    assert_eq!(json["case"]["end"], "izin_diterima");
    // A wrong outcome is refused with the allowed ones, and changes nothing.
    let (_, _, _) = run(&["case", "start", "lks_lksa", "--as", "b"]);
    let (code, _, err) =
        run(&["case", "complete", &case, "4", "--as", "u", "--role", "front_office", "--outcome", "mungkin"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("ended") || err.contains("closed") || err.contains("selesai"), "{err}");
}

#[test]
fn serve_refuses_a_missing_sop_folder_and_a_bad_address() {
    let dir = tempfile::tempdir().unwrap();
    let out = alur()
        .current_dir(dir.path())
        .args(["serve", "--sop-dir", "tidak-ada", "--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("folder SOP `tidak-ada` tidak ada"), "{err}");
    let out = alur().current_dir(dir.path()).args(["serve", "--addr", "bukan-alamat"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "clap refuses the address");
}

/// A node's own deployments at start are reported once each, as its own (they were once
/// reported a second time as "deployed by another node", and compiled twice, because the change
/// feed announced them a moment before the engine held them).
#[test]
fn serve_reports_each_of_its_own_deployments_once() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .args(["-r", concat!(env!("CARGO_MANIFEST_DIR"), "/sop")])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_alur"))
        .current_dir(dir.path())
        .env("LANG", "id_ID.UTF-8")
        .env("ALUR_ADMIN_PASSWORD", "rahasia")
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !lines.iter().any(|l: &String| l.contains("alur berjalan di")) && std::time::Instant::now() < deadline {
        if let Ok(line) = lines_rx.recv_timeout(std::time::Duration::from_millis(200)) {
            lines.push(line);
        }
    }
    // Time for a late announcement to be (wrongly) reported.
    std::thread::sleep(std::time::Duration::from_millis(800));
    lines.extend(lines_rx.try_iter());
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines.iter().any(|l| l.contains("alur berjalan di")), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains("node lain") || l.contains("another node")), "{lines:#?}");
    let lks = lines.iter().filter(|l| l.starts_with("SOP lks_lksa v1")).count();
    assert_eq!(lks, 1, "{lines:#?}");
}

/// Barito Timur's field inspection may stand on hold (`penangguhan maks 60 hari kalender`):
/// `alur time` says so, and `alur case hold` / `resume` put the inspection on hold and back.
#[test]
fn a_corpus_case_is_put_on_hold_and_resumed_from_the_shell() {
    let dir = office();
    let run = |args: &[&str]| {
        let out = alur().current_dir(dir.path()).env("LANG", "en_US.UTF-8").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, timing, err) = run(&["time", "sop/contoh/baritotimur-rekomendasi-apotek.sop", "--lang", "en"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(timing.contains("Hold: step 3 pemeriksaan_lapangan: at most 60 calendar days"), "{timing}");
    assert!(timing.contains("the applicant is served at the latest"), "{timing}");

    let (code, out, err) = run(&["case", "start", "rekomendasi_apotek_baritotimur", "--as", "apoteker"]);
    assert_eq!(code, Some(0), "{err}");
    let case = out.lines().next().unwrap().trim().to_string();
    for (task, role) in [("1", "pemohon"), ("2", "petugas")] {
        let (code, _, err) = run(&["case", "complete", &case, task, "--as", "u", "--role", role]);
        assert_eq!(code, Some(0), "task {task}: {err}");
    }
    let (code, _, err) =
        run(&["case", "hold", &case, "--reason", "persyaratan teknis", "--as", "u", "--role", "petugas"]);
    assert_eq!(code, Some(1), "the inspection is the technical team's: {err}");
    let (code, out, err) = run(&[
        "case",
        "hold",
        &case,
        "--reason",
        "persyaratan teknis",
        "--as",
        "u",
        "--role",
        "tim_teknis",
        "--lang",
        "en",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("on hold: task #3"), "{out}");
    let (_, inbox, _) = run(&["case", "inbox", "--role", "tim_teknis"]);
    assert!(!inbox.contains(&case), "a held task leaves the inbox: {inbox}");
    let (_, shown, _) = run(&["case", "show", &case, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(json["view"]["on_hold"]["reason"], "persyaratan teknis", "{json}");
    let (code, _, err) = run(&["case", "complete", &case, "3", "--as", "u", "--role", "tim_teknis"]);
    assert_eq!(code, Some(1), "resume first: {err}");
    let (code, _, err) = run(&["case", "resume", &case, "--as", "u", "--role", "tim_teknis"]);
    assert_eq!(code, Some(0), "{err}");
    let (_, inbox, _) = run(&["case", "inbox", "--role", "tim_teknis"]);
    assert!(inbox.contains(&case), "back in the inbox: {inbox}");
    let (code, _, err) = run(&["case", "complete", &case, "3", "--as", "u", "--role", "tim_teknis"]);
    assert_eq!(code, Some(0), "{err}");
}

/// `alur case list` prints the newest cases, not the whole history, and says when there are more.
#[test]
fn case_list_prints_the_newest_cases_and_says_when_there_are_more() {
    let dir = office();
    let run = |args: &[&str]| {
        let out = alur().current_dir(dir.path()).args(["--lang", "en"]).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let mut started = Vec::new();
    for n in 0..3 {
        let (code, out, err) = run(&["case", "start", "lks_lksa", "--as", &format!("yayasan{n}")]);
        assert_eq!(code, Some(0), "{err}");
        started.push(out.lines().next().unwrap().trim().to_string());
    }
    let (code, out, err) = run(&["case", "list", "--limit", "2"]);
    assert_eq!(code, Some(0), "{err}");
    let listed: Vec<&str> = out.lines().map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(listed, [started[1].as_str(), started[2].as_str()], "the newest two, the newest last");
    assert!(err.contains("the newest 2 of 3 cases"), "{err}");
    let (_, out, err) = run(&["case", "list", "--all"]);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(err.is_empty(), "{err}");
    let (_, out, _) = run(&["case", "list", "--status", "ended"]);
    assert_eq!(out.lines().count(), 0, "{out}");
    let (code, _, err) = run(&["case", "list", "--status", "selesai"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("unknown status `selesai`"), "{err}");
}
