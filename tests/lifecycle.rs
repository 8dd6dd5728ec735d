//! Running a server an office can stop and restore: `alur backup` while the database is open,
//! `alur restore` into a fresh folder with every case read back equal, the refusals of both,
//! and `alur serve` stopping on SIGTERM with its audit log written and exit status 0.

use alur::runtime::store::prelude::*;
use alur::runtime::store::sqlite_file;
use alur::runtime::{Attachment, Caller, CaseId, Completion, Engine, ManualClock, SqliteStore, Store};
use alur::server::accounts::{audit_path, Accounts};
use chrono::{TimeZone, Utc};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn alur(args: &[&str], paths: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alur"))
        .args(["--lang", "en"])
        .args(args)
        .args(paths)
        .env_remove("ALUR_DB")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Completes the open task of `case` (there is one) as someone in `role`.
async fn complete(engine: &Engine, case: CaseId, role: &str, outcome: Option<&str>) {
    let state = engine.load(case).await.unwrap();
    let task = state.open_tasks().next().unwrap().no;
    let completion = Completion { outcome: outcome.map(str::to_string), ..Completion::default() };
    engine.complete(case, task, &Caller::new(format!("user-{role}"), &[role]), completion).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_open_then_restore_into_a_fresh_folder_gives_every_case_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alur.db");
    let start = chrono_tz::Asia::Makassar.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap().with_timezone(&Utc);
    let clock = Arc::new(ManualClock::new(start));
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let engine = Engine::new(store.clone(), clock.clone()).await.unwrap();
    engine.deploy_file(&root().join("sop/lks-lksa.sop"), &root().join("sop/calendars")).await.unwrap();
    let accounts = Accounts::open(Some(&db)).unwrap();
    accounts.audit("admin", "backup-test", "", 200);
    accounts.close().await;

    // One case to its end, one returned to the applicant, one at verification, one just started.
    let mut cases = Vec::new();
    for n in 0..4 {
        cases.push(engine.start_case("lks_lksa", &format!("pemohon-{n}"), Default::default(), None).await.unwrap());
    }
    let whole = [
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
    for (role, outcome) in whole {
        clock.advance(chrono::Duration::minutes(5));
        complete(&engine, cases[0], role, outcome).await;
    }
    complete(&engine, cases[1], "pemohon", None).await;
    complete(&engine, cases[1], "front_office", Some("ditolak")).await;
    complete(&engine, cases[2], "pemohon", None).await;
    // A document, kept in a blob file beside the database: the backup carries it.
    let scan = b"%PDF-1.4 akta kelahiran yang dipindai".to_vec();
    let applicant = Caller::new("pemohon-2", &["pemohon"]);
    let pdf = "application/pdf";
    engine
        .attach(cases[2], None, &applicant, "persyaratan", "akta.pdf", pdf, Attachment::Bytes(scan.clone()))
        .await
        .unwrap();

    // Backed up by another process while this engine has the file open.
    let backup = dir.path().join("cadangan.db");
    let out = alur(&["backup"], &[&backup, Path::new("--db"), &db]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("cadangan.db") && text(&out).contains("cadangan-audit.db"), "{}", text(&out));
    assert!(text(&out).contains("cadangan.db.blobs (1 documents"), "{}", text(&out));
    // Not over an existing copy without --force, nor into the open database.
    let again = alur(&["backup"], &[&backup, Path::new("--db"), &db]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(text(&again).contains("--force"), "{}", text(&again));
    let over_open = alur(&["restore", "--force"], &[&backup, Path::new("--db"), &db]);
    assert_eq!(over_open.status.code(), Some(1), "{}", text(&over_open));
    assert!(text(&over_open).contains("in use"), "{}", text(&over_open));
    assert!(alur(&["backup", "--force"], &[&backup, Path::new("--db"), &db]).status.success());

    // Written after the backup: not in it.
    complete(&engine, cases[3], "pemohon", None).await;

    let fresh = tempfile::tempdir().unwrap();
    let restored = fresh.path().join("alur.db");
    let out = alur(&["restore"], &[&backup, Path::new("--db"), &restored]);
    assert!(out.status.success(), "{}", text(&out));
    let events_backed_up: usize = {
        let mut n = 0;
        for &case in &cases {
            n += store.events(case).await.unwrap().len();
        }
        n - 2
    };
    assert!(text(&out).contains(&format!("4 cases, {events_backed_up} events restored")), "{}", text(&out));
    assert!(audit_path(&restored).is_file());

    let copy = SqliteStore::open(&restored).unwrap();
    assert_eq!(copy.case_ids().await.unwrap().len(), 4);
    for &case in &cases[..3] {
        assert_eq!(copy.events(case).await.unwrap(), store.events(case).await.unwrap(), "case {case}");
    }
    let original = store.events(cases[3]).await.unwrap();
    assert_eq!(copy.events(cases[3]).await.unwrap(), original[..original.len() - 2].to_vec());
    // The open tasks' deadlines are indexed again: the earliest is the one of case 3's first task.
    assert_eq!(copy.next_timer().await.unwrap(), engine.load(cases[3]).await.unwrap().tasks.get(&1).unwrap().due);
    // The document comes back with its bytes and hash.
    let copy: Arc<dyn Store> = Arc::new(copy);
    let restored_engine = Engine::new(copy.clone(), clock.clone()).await.unwrap();
    let attached = restored_engine.load(cases[2]).await.unwrap().attachments;
    assert_eq!(attached.len(), 1);
    assert_eq!(restored_engine.document(&attached[0].file).await.unwrap(), scan);
    assert_eq!(attached[0].file.sha256, alur::runtime::media::sha256_hex(&scan));
    drop(restored_engine);
    let restored_accounts = Accounts::open(Some(&restored)).unwrap();
    assert!(restored_accounts.audit_entries(10).await.unwrap().iter().any(|e| e.action == "backup-test"));
    drop(restored_accounts);
    drop(copy);

    // A restore refuses to replace a database without --force, and anything but an alur file.
    let out = alur(&["restore"], &[&backup, Path::new("--db"), &restored]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let junk = fresh.path().join("junk.db");
    std::fs::write(&junk, "not a database, only a line of text long enough to fill a header").unwrap();
    let out = alur(&["restore", "--force"], &[&junk, Path::new("--db"), &restored]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("damaged"), "{}", text(&out));
    let audit_only = audit_path(&backup);
    let out = alur(&["restore", "--force"], &[&audit_only, Path::new("--db"), &restored]);
    assert!(text(&out).contains("not an alur database"), "{}", text(&out));
    assert!(sqlite_file::inspect(&restored).is_ok());
    // A damaged database is what a restore is for.
    let out = alur(&["restore", "--force"], &[&backup, Path::new("--db"), &junk]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sqlite_file::inspect(&junk).unwrap().cases, 4);
    // A backup without the documents its database names is refused: it is not a backup.
    std::fs::remove_dir_all(alur::runtime::store::blob_files::dir_of(&backup)).unwrap();
    let elsewhere = fresh.path().join("lain.db");
    let out = alur(&["restore"], &[&backup, Path::new("--db"), &elsewhere]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("1 documents the database names are missing"), "{}", text(&out));
    assert!(!elsewhere.exists());
}

#[test]
fn backup_of_a_postgres_database_points_to_pg_dump() {
    let out = alur(&["backup", "x.dump", "--db", "postgres://localhost/alur"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("pg_dump") && text(&out).contains("docs/operations.md"), "{}", text(&out));
}

/// SIGTERM: the request under way is answered and in the audit log, the WAL is copied
/// into the file, and the exit status is 0.
#[cfg(unix)]
#[test]
fn serve_stops_on_sigterm_with_its_audit_log_written() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let status =
        Command::new("cp").args(["-r", concat!(env!("CARGO_MANIFEST_DIR"), "/sop")]).arg(dir.path()).status().unwrap();
    assert!(status.success());
    let (mut child, url, lines_rx, mut lines) = serve_in(dir.path(), &[]);
    // A failed sign-in under way when SIGTERM comes (its body not sent yet): still answered
    // 401 and audited.
    let body = r#"{"user":"penguji-sigterm","password":"salah"}"#;
    let mut http = std::net::TcpStream::connect(&url).unwrap();
    write!(
        http,
        "POST /api/login HTTP/1.1\r\nHost: {url}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "the server stopped before its request finished");
    http.write_all(&body.as_bytes()[10..]).unwrap();
    let mut response = String::new();
    http.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");

    let exit = child.wait().unwrap();
    lines.extend(lines_rx.iter());
    assert_eq!(exit.code(), Some(0), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("alur stopped")), "{lines:#?}");

    let db = dir.path().join("alur.db");
    // Everything is in the file itself: no WAL with frames left beside it.
    let wal = dir.path().join("alur.db-wal");
    assert!(std::fs::metadata(&wal).map_or(0, |m| m.len()) == 0, "the WAL was not checkpointed");
    let accounts = Accounts::open(Some(&db)).unwrap();
    // This test is not on a runtime (it waits for a process): the accounts' calls are async.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let entries = runtime.block_on(accounts.audit_entries(100)).unwrap();
    assert!(
        entries.iter().any(|e| e.user == "penguji-sigterm" && e.action == "login" && e.status == 401),
        "{entries:#?}"
    );
}

/// Starts `alur serve` in `dir` on a free port; its process, address, the channel of its
/// output lines and the lines read so far.
#[cfg(unix)]
fn serve_in(
    dir: &Path,
    env: &[(&str, &str)],
) -> (std::process::Child, String, std::sync::mpsc::Receiver<String>, Vec<String>) {
    serve_with(dir, env, &["--addr", "127.0.0.1:0"])
}

/// [`serve_in`] with these arguments after `alur serve`.
#[cfg(unix)]
fn serve_with(
    dir: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (std::process::Child, String, std::sync::mpsc::Receiver<String>, Vec<String>) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_alur"))
        .current_dir(dir)
        .env("LANG", "en_US.UTF-8")
        .env("ALUR_ADMIN_PASSWORD", "Rahasia-Kantor-2026")
        .env_remove("ALUR_DB")
        .env_remove("ALUR_CONFIG")
        .envs(env.iter().copied())
        .arg("serve")
        .args(args)
        .stdout(std::process::Stdio::piped())
        // The log (tracing) goes to stderr: kept in the folder for the tests that read it.
        .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut lines = Vec::new();
    let url = loop {
        if let Some(url) = lines.iter().find_map(|l: &String| l.split("serving on http://").nth(1)) {
            break url.split_whitespace().next().unwrap().to_string();
        }
        assert!(std::time::Instant::now() < deadline, "no start-up line: {lines:#?}");
        if let Ok(line) = lines_rx.recv_timeout(std::time::Duration::from_millis(200)) {
            lines.push(line);
        }
    };
    (child, url, lines_rx, lines)
}

/// A client that never finishes its request does not keep the server from stopping: past the
/// drain time (`ALUR_DRAIN_SECONDS`) it is cut off, and the server still stops cleanly.
#[cfg(unix)]
#[test]
fn a_request_that_never_finishes_is_cut_off_after_the_drain_time() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let status =
        Command::new("cp").args(["-r", concat!(env!("CARGO_MANIFEST_DIR"), "/sop")]).arg(dir.path()).status().unwrap();
    assert!(status.success());
    let (mut child, url, lines_rx, mut lines) = serve_in(dir.path(), &[("ALUR_DRAIN_SECONDS", "1")]);
    let mut http = std::net::TcpStream::connect(&url).unwrap();
    write!(
        http,
        "POST /api/login HTTP/1.1\r\nHost: {url}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let asked = std::time::Instant::now();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if asked.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the server waited for the unfinished request for over 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    lines.extend(lines_rx.try_iter());
    assert_eq!(exit.code(), Some(0), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("alur stopped")), "{lines:#?}");
    drop(http);
}

/// Stops a server started by `serve_in` with SIGTERM and waits for it.
#[cfg(unix)]
fn stop(mut child: std::process::Child) -> std::process::ExitStatus {
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let asked = std::time::Instant::now();
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            return exit;
        }
        if asked.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the server did not stop on SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The first admin's password, made and printed at start-up (no `ALUR_ADMIN_PASSWORD`), must
/// be changed at the first sign-in: until then every API call but the change is a 403 saying
/// so, and every page leads to the change form.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_first_admin_password_must_be_changed_at_the_first_sign_in() {
    use serde_json::{json, Value};
    let dir = tempfile::tempdir().unwrap();
    let status =
        Command::new("cp").args(["-r", concat!(env!("CARGO_MANIFEST_DIR"), "/sop")]).arg(dir.path()).status().unwrap();
    assert!(status.success());
    let (child, url, _lines_rx, lines) = serve_in(dir.path(), &[("ALUR_ADMIN_PASSWORD", "")]);
    let line = lines.iter().find(|l| l.contains("First admin created")).expect("the first admin's line").clone();
    assert!(line.contains("must be changed at the first sign-in"), "{line}");
    let password = line.split("password `").nth(1).unwrap().split('`').next().unwrap().to_string();
    assert!(password.len() >= 10, "{line}");

    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let base = format!("http://{url}");
    let signed: Value = http
        .post(format!("{base}/api/login"))
        .json(&json!({"user": "admin", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(signed["must_change_password"], true, "{signed}");
    let token = signed["token"].as_str().unwrap().to_string();
    let me = http.get(format!("{base}/api/me?lang=en")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status().as_u16(), 403);
    let problem: Value = me.json().await.unwrap();
    assert_eq!(problem["code"], "password_change_required", "{problem}");
    assert!(problem["detail"].as_str().unwrap().starts_with("Change your password first"), "{problem}");
    let users = http.get(format!("{base}/api/users")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(users.status().as_u16(), 403);
    let page =
        http.get(format!("{base}/inbox")).header("cookie", format!("alur_session={token}")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 303);
    assert_eq!(page.headers()["location"], "/account/password");

    let changed = http
        .post(format!("{base}/api/me/password"))
        .bearer_auth(&token)
        .json(&json!({"old_password": password, "new_password": "kunci gudang arsip lantai dua"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status().as_u16(), 204);
    let me = http.get(format!("{base}/api/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let users = http.get(format!("{base}/api/users")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(users.status().as_u16(), 200);
    let old = http.post(format!("{base}/api/login")).json(&json!({"user": "admin", "password": password})).send();
    assert_eq!(old.await.unwrap().status().as_u16(), 401);
    assert_eq!(stop(child).code(), Some(0));
}

/// With `ALUR_LOG_FORMAT=json` every line the server logs is a JSON object; a request's lines
/// carry its request id (the one it sent, or the one it was answered with), and a command's
/// lines nest in its request's span.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_parse_and_carry_the_request_id() {
    use serde_json::{json, Value};
    let dir = tempfile::tempdir().unwrap();
    let status =
        Command::new("cp").args(["-r", concat!(env!("CARGO_MANIFEST_DIR"), "/sop")]).arg(dir.path()).status().unwrap();
    assert!(status.success());
    let env = [("ALUR_LOG_FORMAT", "json"), ("RUST_LOG", "info,alur::runtime=debug")];
    let (child, url, _lines_rx, _lines) = serve_in(dir.path(), &env);
    let http = reqwest::Client::new();
    let base = format!("http://{url}");
    let login = |user: &str, password: &str| {
        http.post(format!("{base}/api/login")).json(&json!({"user": user, "password": password})).send()
    };
    let admin: Value = login("admin", "Rahasia-Kantor-2026").await.unwrap().json().await.unwrap();
    let admin = admin["token"].as_str().unwrap().to_string();
    let warga = json!({"name": "warga", "roles": ["applicant"], "password": "kopi hitam tanpa gula"});
    let made = http.post(format!("{base}/api/users")).bearer_auth(&admin).json(&warga).send().await.unwrap();
    assert_eq!(made.status().as_u16(), 201);
    let warga: Value = login("warga", "kopi hitam tanpa gula").await.unwrap().json().await.unwrap();
    let warga = warga["token"].as_str().unwrap().to_string();
    let started = http
        .post(format!("{base}/api/cases"))
        .bearer_auth(&warga)
        .header("x-request-id", "probe-start-1")
        .json(&json!({"sop": "lks_lksa"}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 201);
    assert_eq!(started.headers()["x-request-id"], "probe-start-1");
    let refused = http.get(format!("{base}/api/me")).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let made_id = refused.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(stop(child).code(), Some(0));

    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let request_id = |line: &Value| line["spans"][0]["request_id"].as_str().map(str::to_string);
    let answered = |id: &str| {
        lines.iter().find(|l| l["fields"]["message"] == "answered" && request_id(l).as_deref() == Some(id)).cloned()
    };
    let start = answered("probe-start-1").unwrap_or_else(|| panic!("no answer line for probe-start-1:\n{log}"));
    assert_eq!(start["fields"]["status"], 201);
    assert_eq!(start["span"]["route"], "/api/cases");
    assert!(start["fields"]["latency_ms"].is_number(), "{start}");
    let refused = answered(&made_id).unwrap_or_else(|| panic!("no answer line for {made_id}:\n{log}"));
    assert_eq!(refused["fields"]["status"], 401);
    // The command's own line: other lines may be logged inside its span before it.
    let command = lines
        .iter()
        .find(|l| {
            request_id(l).as_deref() == Some("probe-start-1")
                && l["span"]["name"] == "command"
                && l["fields"]["message"] == "command"
        })
        .unwrap_or_else(|| panic!("no command line in the request's span:\n{log}"));
    assert_eq!(command["span"]["command"], "start");
    assert_eq!(command["span"]["sop"], "lks_lksa");
    assert_eq!(command["fields"]["result"], "ok", "{log}");
}

/// `alur serve` without flags reads `alur.toml` in its folder: it listens on the file's
/// address, keeps its cases in the file's database (relative to the file), reads the SOPs from
/// the file's SOP folder, asks for the file's metrics token, and signs in and throttles as the
/// file's security section says.
#[cfg(unix)]
#[test]
fn a_served_instance_uses_the_address_database_and_token_of_alur_toml() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let office = dir.path().join("kantor");
    std::fs::create_dir_all(office.join("data")).unwrap();
    let status =
        Command::new("cp").args(["-r", concat!(env!("CARGO_MANIFEST_DIR"), "/sop")]).arg(&office).status().unwrap();
    assert!(status.success());
    std::fs::rename(office.join("sop"), office.join("prosedur")).unwrap();
    // A free port, for the file to name.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        office.join("alur.toml"),
        format!(
            "[server]\naddr = \"127.0.0.1:{port}\"\ndatabase = \"data/kantor.db\"\nsop_dir = \"prosedur\"\n\n\
             [security]\nmetrics_token = \"token-metrik-kantor-0123\"\nsession_hours = 2\n\n\
             [security.sign_in]\nfree_per_user = 1\n"
        ),
    )
    .unwrap();
    let (child, url, lines_rx, mut lines) = serve_with(&office, &[], &[]);
    assert_eq!(url, format!("127.0.0.1:{port}"), "{lines:#?}");
    let get = |path: &str, token: Option<&str>| {
        let mut http = std::net::TcpStream::connect(&url).unwrap();
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        write!(http, "GET {path} HTTP/1.1\r\nHost: {url}\r\n{auth}Connection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        http.read_to_string(&mut answer).unwrap();
        answer
    };
    assert!(get("/readyz", None).starts_with("HTTP/1.1 200"));
    assert!(get("/metrics", None).starts_with("HTTP/1.1 401"), "the file's token is asked for");
    assert!(get("/metrics", Some("token-metrik-kantor-0123")).starts_with("HTTP/1.1 200"));
    let login = |user: &str, password: &str| {
        let mut http = std::net::TcpStream::connect(&url).unwrap();
        let body = format!("user={user}&password={password}");
        write!(
            http,
            "POST /login HTTP/1.1\r\nHost: {url}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        http.read_to_string(&mut answer).unwrap();
        answer
    };
    // A sign-in lasts the file's 2 hours.
    let signed_in = login("admin", "Rahasia-Kantor-2026");
    assert!(signed_in.contains("Max-Age=7200"), "{signed_in}");
    // One free failure, then waits: by the third attempt a 429 (the default is 5 free).
    let statuses: Vec<String> = (0..3).map(|_| login("penguji", "salah")[..12].to_string()).collect();
    assert_eq!(statuses[0], "HTTP/1.1 401", "{statuses:?}");
    assert!(statuses.iter().any(|s| s == "HTTP/1.1 429"), "the file's free_per_user = 1: {statuses:?}");
    assert_eq!(stop(child).code(), Some(0));
    lines.extend(lines_rx.try_iter());
    assert!(lines.iter().any(|l| l.contains("lks_lksa")), "the SOPs of `prosedur` are deployed: {lines:#?}");
    assert!(office.join("data/kantor.db").is_file(), "the file's database is used");
    assert!(!office.join("alur.db").exists(), "not the default one");
}

/// `archive_after_days` in alur.toml: the served instance moves cases that ended longer ago
/// into the archive by itself, soon after start, and says so in its log; the case still reads.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_instance_archives_ended_cases_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let status =
        Command::new("cp").args(["-r", concat!(env!("CARGO_MANIFEST_DIR"), "/sop")]).arg(dir.path()).status().unwrap();
    assert!(status.success());
    let db = dir.path().join("alur.db");
    let (old, running) = {
        let clock = std::sync::Arc::new(ManualClock::new(chrono::Utc::now() - chrono::Duration::days(10)));
        let store = std::sync::Arc::new(SqliteStore::open(&db).unwrap());
        let engine = Engine::new(store, clock).await.unwrap();
        let sop = dir.path().join("sop");
        engine.deploy_file(&sop.join("lks-lksa.sop"), &sop.join("calendars")).await.unwrap();
        let old = engine.start_case("lks_lksa", "pemohon-1", Default::default(), None).await.unwrap();
        engine.withdraw(old, &Caller::new("pemohon-1", &["pemohon"]), None).await.unwrap();
        let running = engine.start_case("lks_lksa", "pemohon-2", Default::default(), None).await.unwrap();
        (old, running)
    };
    std::fs::write(dir.path().join("alur.toml"), "[server]\narchive_after_days = 3\n").unwrap();
    let (child, _url, _lines_rx, _lines) = serve_in(dir.path(), &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let log = loop {
        let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
        if log.contains("archived ended cases") || std::time::Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(stop(child).code(), Some(0));
    assert!(log.contains("archived ended cases") && log.contains("cases=1"), "{log}");
    assert!(dir.path().join("alur.db.archive").is_file());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let live = |case: alur::runtime::CaseId| -> i64 {
        conn.query_row("SELECT COUNT(*) FROM events WHERE case_id = ?1", [case.to_string()], |r| r.get(0)).unwrap()
    };
    assert_eq!(live(old), 0, "the ended case left the live file");
    assert!(live(running) > 0, "the running case stays");
    let store = std::sync::Arc::new(SqliteStore::open(&db).unwrap());
    let events = alur::runtime::store::EventLog::events(&*store, old).await.unwrap();
    assert!(matches!(events.last().map(|r| &r.event), Some(alur::runtime::Event::CaseWithdrawn { .. })));
}
