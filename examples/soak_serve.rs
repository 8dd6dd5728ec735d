//! A soak of `alur serve` as an office runs it (issue 23): the real binary on SQLite, 50 HTTP
//! clients for 60 seconds mixing case reads, task completions, document uploads and sign-ins,
//! with a SIGTERM halfway and a restart on the same database.
//!
//! `cargo run --release --example soak_serve -- [--secs 60] [--clients 50] [--cases 15000] [--dir target/soak]`
//! (`scripts/soak-serve.sh` builds the server first; `ALUR_BIN` names another binary).
//!
//! What it checks and prints:
//! - every response is one the API promises for the request (2xx; 409 for a completion that lost
//!   a race; 429 for a throttled sign-in): anything else is counted and printed, and fails the
//!   run;
//! - p50/p99 latency per kind of request;
//! - the server's memory (VmRSS) after preparation and at the end of each run, so growth shows;
//! - SIGTERM while the clients are busy: the server drains and exits 0, and after the restart
//!   every acknowledged completion and upload is in the database exactly once;
//! - `/metrics`, scraped with the clients paused (once per server run), counts exactly the
//!   requests the clients got answers to, per method, route and status class.
//!
//! Exit status 1 when a check fails.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::RwLock;

type Error = Box<dyn std::error::Error + Send + Sync>;

const ADMIN_PASSWORD: &str = "soak-admin-password-1";
const METRICS_TOKEN: &str = "soak-metrics-token-0123456789";
const PDF: &[u8] = b"%PDF-1.4\n% soak upload\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

struct Args {
    secs: u64,
    clients: usize,
    cases: usize,
    dir: PathBuf,
}

fn args() -> Args {
    let mut a = Args { secs: 60, clients: 50, cases: 15000, dir: PathBuf::from("target/soak") };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--secs" => a.secs = value.parse().unwrap_or(a.secs).max(10),
            "--clients" => a.clients = value.parse().unwrap_or(a.clients).max(1),
            "--cases" => a.cases = value.parse().unwrap_or(a.cases).max(100),
            "--dir" => a.dir = PathBuf::from(value),
            other => eprintln!("ignored argument {other}"),
        }
    }
    a
}

fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("ALUR_BIN") {
        return PathBuf::from(bin);
    }
    // target/release/examples/soak_serve -> target/release/alur
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().and_then(Path::parent).map(|d| d.join("alur")))
        .unwrap_or_else(|| PathBuf::from("target/release/alur"))
}

fn free_port() -> Result<u16, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct Server {
    child: Child,
    base: String,
}

fn start_server(dir: &Path, port: u16, run: u32) -> Result<Server, Error> {
    let log = std::fs::File::create(dir.join(format!("serve-{run}.log")))?;
    let child = Command::new(binary())
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--demo", "--log-format", "json"])
        .arg("--db")
        .arg(dir.join("alur.db"))
        .arg("--sop-dir")
        .arg(dir.join("sop"))
        .env("ALUR_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("ALUR_METRICS_TOKEN", METRICS_TOKEN)
        .env("RUST_LOG", "warn")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    Ok(Server { child, base: format!("http://127.0.0.1:{port}") })
}

async fn wait_ready(http: &reqwest::Client, base: &str) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the server did not become ready in 60 s".into())
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn sign_in(http: &reqwest::Client, base: &str, user: &str) -> Result<String, Error> {
    let body = serde_json::json!({"user": user, "password": "demo"});
    let response = http.post(format!("{base}/api/login")).json(&body).send().await?;
    let status = response.status();
    let value: serde_json::Value = response.json().await?;
    value["token"].as_str().map(str::to_string).ok_or_else(|| format!("sign-in of {user}: {status} {value}").into())
}

fn multipart(case_artifact: &str) -> (String, Vec<u8>) {
    let boundary = "soakBoundary7d1";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"artifact\"\r\n\r\n{case_artifact}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"akta.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(PDF);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Read,
    Complete,
    Upload,
    SignIn,
}

impl Kind {
    fn route(self) -> (&'static str, &'static str) {
        match self {
            Kind::Read => ("GET", "/api/cases/{case}"),
            Kind::Complete => ("POST", "/api/cases/{case}/tasks/{task}/complete"),
            Kind::Upload => ("POST", "/api/cases/{case}/artifacts"),
            Kind::SignIn => ("POST", "/api/login"),
        }
    }

    fn expected(self, status: u16) -> bool {
        match self {
            // 409: another command changed the case at the same moment (the client retries).
            Kind::Complete | Kind::Upload => (200..300).contains(&status) || status == 409,
            Kind::SignIn => (200..300).contains(&status) || status == 429,
            _ => (200..300).contains(&status),
        }
    }
}

#[derive(Default)]
struct Tally {
    /// (server run, kind, status) -> count.
    answered: HashMap<(u32, Kind, u16), u64>,
    latencies: HashMap<Kind, Vec<u64>>,
    /// Requests that got no answer (the server was stopping or not yet up): not responses.
    unanswered: u64,
    unexpected: Vec<String>,
    completed: Vec<String>,
    uploaded: Vec<String>,
}

struct Shared {
    base: Mutex<String>,
    run: AtomicUsize,
    gate: RwLock<()>,
    stop: AtomicBool,
    next_case: AtomicUsize,
    cases: Vec<String>,
    tokens: HashMap<&'static str, String>,
    tally: Mutex<Tally>,
}

async fn client(shared: Arc<Shared>, http: reqwest::Client, seed: u64) {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    while !shared.stop.load(Ordering::Relaxed) {
        let guard = shared.gate.read().await;
        let run = shared.run.load(Ordering::SeqCst) as u32;
        let base = shared.base.lock().map(|b| b.clone()).unwrap_or_default();
        let roll = random() % 100;
        let kind = match roll {
            0..40 => Kind::Read,
            40..70 => Kind::Complete,
            70..90 => Kind::Upload,
            _ => Kind::SignIn,
        };
        let any_case = shared.cases[(random() as usize) % shared.cases.len()].clone();
        let started = Instant::now();
        let (request, acknowledges) = match kind {
            Kind::Read => {
                (http.get(format!("{base}/api/cases/{any_case}")).bearer_auth(&shared.tokens["front_office"]), None)
            }
            Kind::Complete => {
                let i = shared.next_case.fetch_add(1, Ordering::Relaxed);
                let Some(case) = shared.cases.get(i).cloned() else {
                    drop(guard);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let request = http
                    .post(format!("{base}/api/cases/{case}/tasks/2/complete"))
                    .bearer_auth(&shared.tokens["front_office"])
                    .json(&serde_json::json!({"outcome": "diterima"}));
                (request, Some(case))
            }
            Kind::Upload => {
                let (content_type, body) = multipart("persyaratan");
                let request = http
                    .post(format!("{base}/api/cases/{any_case}/artifacts"))
                    .bearer_auth(&shared.tokens["pemohon"])
                    .header("content-type", content_type)
                    .body(body);
                (request, Some(any_case.clone()))
            }
            Kind::SignIn => (
                http.post(format!("{base}/api/login")).json(&serde_json::json!({"user": "kabid", "password": "demo"})),
                None,
            ),
        };
        let result = request.send().await;
        let micros = started.elapsed().as_micros() as u64;
        let answered = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                Some((status, body))
            }
            Err(_) => None,
        };
        // Recorded before the gate is let go: a paused run's tally is complete.
        if answered.is_none() {
            if let Ok(mut tally) = shared.tally.lock() {
                tally.unanswered += 1;
            }
            drop(guard);
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let Ok(mut tally) = shared.tally.lock() else { return };
        match answered {
            None => {}
            Some((status, body)) => {
                *tally.answered.entry((run, kind, status)).or_default() += 1;
                tally.latencies.entry(kind).or_default().push(micros);
                if !kind.expected(status) {
                    let line = format!("{kind:?} {status}: {}", body.chars().take(300).collect::<String>());
                    tally.unexpected.push(line);
                }
                if (200..300).contains(&status) {
                    match (kind, acknowledges) {
                        (Kind::Complete, Some(case)) => tally.completed.push(case),
                        (Kind::Upload, Some(case)) => tally.uploaded.push(case),
                        _ => {}
                    }
                }
            }
        }
        drop(tally);
        drop(guard);
    }
}

/// `alur_http_requests_total` by (method, route, status class), from a Prometheus text page.
fn http_counts(page: &str) -> BTreeMap<(String, String, String), u64> {
    let mut out = BTreeMap::new();
    for line in page.lines().filter(|l| l.starts_with("alur_http_requests_total{")) {
        let Some((labels, value)) = line.rsplit_once(' ') else { continue };
        let label = |key: &str| {
            labels.split(&format!("{key}=\"")).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or("").to_string()
        };
        let count = value.parse::<f64>().unwrap_or(0.0) as u64;
        out.insert((label("method"), label("route"), label("status")), count);
    }
    out
}

fn class(status: u16) -> String {
    format!("{}xx", status / 100)
}

/// The clients' answered requests of one server run, keyed as the metrics are.
fn client_counts(tally: &Tally, run: u32) -> BTreeMap<(String, String, String), u64> {
    let mut out = BTreeMap::new();
    for ((r, kind, status), n) in &tally.answered {
        if *r == run {
            let (method, route) = kind.route();
            *out.entry((method.to_string(), route.to_string(), class(*status))).or_default() += n;
        }
    }
    out
}

async fn compare_metrics(
    http: &reqwest::Client,
    base: &str,
    run: u32,
    clients: BTreeMap<(String, String, String), u64>,
) -> Result<bool, Error> {
    let page = http.get(format!("{base}/metrics")).bearer_auth(METRICS_TOKEN).send().await?.text().await?;
    let scraped = http_counts(&page);
    let mut equal = true;
    for (key, expected) in &clients {
        let got = scraped.get(key).copied().unwrap_or(0);
        let mark = if got == *expected { "=" } else { "≠" };
        equal &= got == *expected;
        println!("  run {run} {} {} {}: clients {expected} {mark} /metrics {got}", key.0, key.1, key.2);
    }
    Ok(equal)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        let Some(name) = path.file_name() else { continue };
        if path.is_dir() {
            copy_dir(&path, &to.join(name))?;
        } else {
            std::fs::copy(&path, to.join(name))?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let a = args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let _ = std::fs::remove_dir_all(&a.dir);
    std::fs::create_dir_all(a.dir.join("sop"))?;
    // The server runs in this folder: every path it is given is absolute.
    let a = Args { dir: std::fs::canonicalize(&a.dir)?, ..a };
    std::fs::copy(root.join("sop/lks-lksa.sop"), a.dir.join("sop/lks-lksa.sop"))?;
    copy_dir(&root.join("sop/calendars"), &a.dir.join("sop/calendars"))?;
    let port = free_port()?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(a.clients).build()?;

    let mut server = start_server(&a.dir, port, 1)?;
    wait_ready(&http, &server.base).await?;
    let base = server.base.clone();
    let mut tokens = HashMap::new();
    for user in ["pemohon", "front_office"] {
        tokens.insert(user, sign_in(&http, &base, user).await?);
    }

    // Cases waiting at verification (task 2, the front office), prepared by 50 workers.
    let prepared = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..50 {
        let (http, base, token, next, total) =
            (http.clone(), base.clone(), tokens["pemohon"].clone(), next.clone(), a.cases);
        workers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let r = http
                    .post(format!("{base}/api/cases"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"sop": "lks_lksa"}))
                    .send()
                    .await?;
                let v: serde_json::Value = r.json().await?;
                let id = v["id"].as_str().ok_or("no case id")?.to_string();
                let r = http
                    .post(format!("{base}/api/cases/{id}/tasks/1/complete"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({}))
                    .send()
                    .await?;
                if r.status().as_u16() != 204 {
                    return Err(Error::from(format!("preparing {id}: {}", r.status())));
                }
                ids.push(id);
            }
            Ok::<_, Error>(ids)
        }));
    }
    let mut cases = Vec::new();
    for w in workers {
        cases.extend(w.await??);
    }
    // What the preparation itself sent, for the first comparison with /metrics.
    let mut setup = BTreeMap::new();
    setup.insert(("POST".to_string(), "/api/login".to_string(), "2xx".to_string()), 2u64);
    setup.insert(("POST".to_string(), "/api/cases".to_string(), "2xx".to_string()), cases.len() as u64);
    setup.insert(
        ("POST".to_string(), "/api/cases/{case}/tasks/{task}/complete".to_string(), "2xx".to_string()),
        cases.len() as u64,
    );
    println!("prepared {} cases in {:.1} s", cases.len(), prepared.elapsed().as_secs_f64());
    let rss_start = rss_kib(server.child.id());

    let shared = Arc::new(Shared {
        base: Mutex::new(base.clone()),
        run: AtomicUsize::new(1),
        gate: RwLock::new(()),
        stop: AtomicBool::new(false),
        next_case: AtomicUsize::new(0),
        cases,
        tokens,
        tally: Mutex::new(Tally::default()),
    });
    let started = Instant::now();
    let mut clients = Vec::new();
    for i in 0..a.clients {
        clients.push(tokio::spawn(client(shared.clone(), http.clone(), i as u64 + 1)));
    }
    let at = |fraction: f64| Duration::from_secs_f64(a.secs as f64 * fraction);
    let mut ok = true;

    // Before the SIGTERM: pause the clients, compare /metrics with what they were answered.
    tokio::time::sleep(at(0.4)).await;
    {
        let _paused = shared.gate.write().await;
        let mut counts = client_counts(&*shared.tally.lock().map_err(|_| "tally")?, 1);
        for (key, n) in setup {
            *counts.entry(key).or_default() += n;
        }
        println!("/metrics of run 1 against the clients (paused at {:.0} s):", started.elapsed().as_secs_f64());
        ok &= compare_metrics(&http, &base, 1, counts).await?;
    }
    let rss_before_stop = rss_kib(server.child.id());

    // SIGTERM while the clients are busy; restart on the same database.
    tokio::time::sleep(at(0.1)).await;
    let stopping = Instant::now();
    Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status()?;
    let status = tokio::task::spawn_blocking(move || server.child.wait()).await??;
    let drained = stopping.elapsed();
    {
        // The first server is gone: every answer from here on is the second's.
        let _paused = shared.gate.write().await;
        shared.run.store(2, Ordering::SeqCst);
    }
    println!(
        "SIGTERM at {:.0} s: exit {status}, drained in {:.2} s",
        started.elapsed().as_secs_f64(),
        drained.as_secs_f64()
    );
    ok &= status.success();
    let restarted = Instant::now();
    server = start_server(&a.dir, port, 2)?;
    wait_ready(&http, &server.base).await?;
    println!("restarted and ready in {:.2} s", restarted.elapsed().as_secs_f64());

    tokio::time::sleep(at(1.0).saturating_sub(started.elapsed())).await;
    shared.stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rss_end = rss_kib(server.child.id());
    let tally = std::mem::take(&mut *shared.tally.lock().map_err(|_| "tally")?);
    println!("/metrics of run 2 against the clients (at the end):");
    ok &= compare_metrics(&http, &server.base, 2, client_counts(&tally, 2)).await?;

    // Everything acknowledged is in the database exactly once.
    Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status()?;
    let status = tokio::task::spawn_blocking(move || server.child.wait()).await??;
    ok &= status.success();
    let store = alur::runtime::store::SqliteStore::open(a.dir.join("alur.db"))?;
    use alur::runtime::store::EventLog as _;
    let mut lost_completions = 0;
    let mut lost_uploads = 0;
    let mut uploads_wanted: HashMap<&str, usize> = HashMap::new();
    for case in &tally.uploaded {
        *uploads_wanted.entry(case.as_str()).or_default() += 1;
    }
    for case in &tally.completed {
        let id = case.parse().map_err(|_| format!("case id {case}"))?;
        let events = store.events(id).await?;
        let completed =
            events.iter().filter(|r| matches!(&r.event, alur::runtime::Event::TaskCompleted { task: 2, .. })).count();
        if completed != 1 {
            lost_completions += 1;
            println!("case {case}: task 2 completed {completed} times, acknowledged once");
        }
    }
    for (case, wanted) in &uploads_wanted {
        let id = case.parse().map_err(|_| format!("case id {case}"))?;
        let events = store.events(id).await?;
        let stored = events.iter().filter(|r| matches!(&r.event, alur::runtime::Event::ArtifactAttached(_))).count();
        // The preparation attaches nothing, so every stored document is one the clients sent.
        if stored != *wanted {
            lost_uploads += 1;
            println!("case {case}: {stored} documents stored, {wanted} acknowledged");
        }
    }
    ok &= lost_completions == 0 && lost_uploads == 0 && tally.unexpected.is_empty();

    let total: u64 = tally.answered.values().sum();
    println!(
        "{} clients, {elapsed:.0} s: {total} answered ({:.0}/s), {} unanswered during the restart, {} unexpected",
        a.clients,
        total as f64 / elapsed,
        tally.unanswered,
        tally.unexpected.len()
    );
    for line in tally.unexpected.iter().take(10) {
        println!("  unexpected: {line}");
    }
    let mut by_status: BTreeMap<(Kind, u16), u64> = BTreeMap::new();
    for ((_, kind, status), n) in &tally.answered {
        *by_status.entry((*kind, *status)).or_default() += n;
    }
    for ((kind, status), n) in &by_status {
        println!("  {kind:?} {status}: {n}");
    }
    for kind in [Kind::Read, Kind::Complete, Kind::Upload, Kind::SignIn] {
        let mut l = tally.latencies.get(&kind).cloned().unwrap_or_default();
        l.sort_unstable();
        println!(
            "RESULT soak-latency {kind:?} n={} p50_ms={:.2} p99_ms={:.2} max_ms={:.1}",
            l.len(),
            percentile(&l, 0.5),
            percentile(&l, 0.99),
            percentile(&l, 1.0)
        );
    }
    println!(
        "RESULT soak-memory rss_kib after_preparation={rss_start} before_sigterm={rss_before_stop} end_of_second_run={rss_end}"
    );
    println!(
        "RESULT soak-durability acknowledged_completions={} lost={lost_completions} acknowledged_uploads={} lost={lost_uploads}",
        tally.completed.len(),
        tally.uploaded.len()
    );
    println!("RESULT soak {}", if ok { "PASS" } else { "FAIL" });
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
