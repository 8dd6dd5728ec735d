//! Load on the task-completion endpoint of `alur serve` over loopback, on the durable SQLite
//! store: N LKS cases wait at verification; C concurrent HTTP clients each complete their
//! share (`POST /api/cases/{id}/tasks/2/complete`, `{"outcome":"diterima"}`) as the front
//! office would. Beside it, in the same run, the same completions straight on the engine
//! (no HTTP), so the HTTP layer's cost shows as a ratio.
//!
//! `cargo run --release --example bench_serve -- [-n 20000] [--clients 32] [--dir target/bench] [--log off|human|json]`
//!
//! `--log human` or `json` logs as `alur serve --log-format` does (`RUST_LOG`, default `info`:
//! a span per request and command, a line per response), into `<dir>/bench-serve-log.txt`, so
//! the cost of the log shows against `--log off`.
//!
//! Prints `RESULT serve-http <clients> <N> <secs> <completions/s> <p50 ms> <p99 ms>` and
//! `RESULT serve-engine ...` for the direct run.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use alur::runtime::store::SqliteStore;
use alur::runtime::{Caller, CaseId, Completion, Engine, SystemClock};
use alur::server::accounts::{Accounts, Role, User};
use alur::server::catalog::Catalog;
use alur::server::{router, AppState};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    n: usize,
    clients: usize,
    dir: PathBuf,
    log: String,
}

fn args() -> Args {
    let mut a = Args { n: 20_000, clients: 32, dir: PathBuf::from("target/bench"), log: "off".into() };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "-n" => a.n = value.parse().unwrap_or(a.n),
            "--clients" => a.clients = value.parse().unwrap_or(a.clients).max(1),
            "--dir" => a.dir = PathBuf::from(value),
            "--log" => a.log = value,
            other => eprintln!("ignored argument {other}"),
        }
    }
    a
}

fn fresh_db(dir: &Path, name: &str) -> Result<PathBuf, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(path)
}

/// An engine on a fresh SQLite file with the LKS SOP and `n` cases waiting at verification.
async fn prepared(db: &Path, n: usize) -> Result<(Arc<Engine>, Vec<CaseId>), Box<dyn std::error::Error>> {
    let store = SqliteStore::open(db)?;
    let engine = Arc::new(Engine::new(Arc::new(store), Arc::new(SystemClock)).await?);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    engine.deploy_file(&root.join("sop/lks-lksa.sop"), &root.join("sop/calendars")).await?;
    // Prepared by 64 concurrent workers, so group commit makes the setup quick.
    let mut handles = Vec::new();
    let workers = 64;
    for w in 0..workers {
        let engine = engine.clone();
        let count = n / workers + usize::from(w < n % workers);
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(count);
            let applicant = Caller::new("warga", &["pemohon"]);
            for _ in 0..count {
                let case = engine.start_case("lks_lksa", "warga", Default::default(), None).await?;
                engine.complete(case, 1, &applicant, Completion::default()).await?;
                ids.push(case);
            }
            Ok::<_, alur::runtime::RuntimeError>(ids)
        }));
    }
    let mut ids = Vec::with_capacity(n);
    for handle in handles {
        ids.extend(handle.await??);
    }
    Ok((engine, ids))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(label: &str, clients: usize, mut latencies: Vec<Duration>, elapsed: Duration) {
    latencies.sort();
    let n = latencies.len();
    println!(
        "RESULT {label} {clients} {n} {:.2} {:.0} {:.2} {:.2}",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );
}

/// Splits the cases over `clients` workers that each run `work` on their share.
async fn drive<F, Fut>(ids: &[CaseId], clients: usize, work: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize, CaseId) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let mut handles = Vec::new();
    for c in 0..clients {
        let mine: Vec<CaseId> = ids.iter().skip(c).step_by(clients).copied().collect();
        let work = work.clone();
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(mine.len());
            for case in mine {
                let t = Instant::now();
                if !work(c, case).await {
                    eprintln!("a completion failed");
                    continue;
                }
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        if let Ok(mut l) = handle.await {
            all.append(&mut l);
        }
    }
    (all, started.elapsed())
}

async fn run(a: Args) -> Result<(), Box<dyn std::error::Error>> {
    // Straight on the engine.
    let db = fresh_db(&a.dir, "bench-serve-engine.db")?;
    let (engine, ids) = prepared(&db, a.n).await?;
    let fo = Caller::new("fo", &["front_office"]);
    let (latencies, elapsed) = drive(&ids, a.clients, {
        let engine = engine.clone();
        move |_, case| {
            let engine = engine.clone();
            let fo = fo.clone();
            async move {
                let done = Completion { outcome: Some("diterima".into()), ..Completion::default() };
                engine.complete(case, 2, &fo, done).await.is_ok()
            }
        }
    })
    .await;
    report("serve-engine", a.clients, latencies, elapsed);
    drop(engine);

    // Through HTTP.
    let db = fresh_db(&a.dir, "bench-serve-http.db")?;
    let (engine, ids) = prepared(&db, a.n).await?;
    let accounts = Arc::new(Accounts::open(Some(&db))?);
    let fo =
        User { name: "fo".into(), display: "Front Office".into(), roles: vec![Role::Actor("front_office".into())] };
    accounts.create_user(&fo, "rahasia").await?;
    let (token, _) = accounts.sign_in("fo", "rahasia").await?.ok_or("no token")?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let state = Arc::new(AppState {
        engine,
        accounts,
        catalog: Catalog::new(&root.join("sop")),
        secure_cookies: false,
        throttle: Default::default(),
        metrics: Arc::new(alur::server::metrics::Metrics::new(None)?),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    let client = reqwest::Client::builder().pool_max_idle_per_host(a.clients).build()?;
    let auth = format!("Bearer {token}");
    let (latencies, elapsed) = drive(&ids, a.clients, move |_, case| {
        let client = client.clone();
        let auth = auth.clone();
        async move {
            let response = client
                .post(format!("http://{addr}/api/cases/{case}/tasks/2/complete"))
                .header("authorization", auth)
                .header("content-type", "application/json")
                .body(r#"{"outcome":"diterima"}"#)
                .send()
                .await;
            matches!(response, Ok(r) if r.status().as_u16() == 204)
        }
    })
    .await;
    report("serve-http", a.clients, latencies, elapsed);
    Ok(())
}

/// The log as `alur serve` writes it (at `info`), into a file in `dir`.
fn start_log(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let format = match a.log.as_str() {
        "off" => return Ok(()),
        "human" => alur::server::LogFormat::Human,
        "json" => alur::server::LogFormat::Json,
        other => return Err(format!("--log {other}: use off, human or json").into()),
    };
    std::fs::create_dir_all(&a.dir)?;
    let file = std::sync::Mutex::new(std::fs::File::create(a.dir.join("bench-serve-log.txt"))?);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(false)
        .with_writer(file);
    match format {
        alur::server::LogFormat::Human => builder.try_init(),
        alur::server::LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).try_init(),
    }
    .map_err(|e| e.to_string())?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args();
    start_log(&a)?;
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(a))
}
