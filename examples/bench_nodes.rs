//! Load on the task-completion endpoint of several `alur serve` processes ("nodes") on one
//! PostgreSQL database, beside one node on its SQLite file: N LKS cases wait at verification;
//! C concurrent HTTP clients, spread evenly over the nodes, each complete their share
//! (`POST /api/cases/{id}/tasks/2/complete`, `{"outcome":"diterima"}`) as the front office
//! would. The nodes are real processes of the `alur` binary (`--alur PATH`), the cases are
//! prepared straight on the engine before the nodes start.
//!
//! `cargo run --release --example bench_nodes -- --alur target/release/alur [-n 6000]
//!  [--clients 32] [--pg postgres://postgres@127.0.0.1:5432/test] [--dir target/bench]`
//!
//! Prints `RESULT nodes-<store>-<nodes> <clients> <N> <secs> <completions/s> <p50 ms> <p99 ms>`
//! for SQLite with 1 node and PostgreSQL with 1, 2 and 3 nodes.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use alur::runtime::store::{PostgresStore, SqliteStore};
use alur::runtime::{Caller, CaseId, Completion, Engine, Store, SystemClock};
use alur::server::accounts::{Accounts, Role, User};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    n: usize,
    clients: usize,
    alur: PathBuf,
    pg: String,
    dir: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        n: 6_000,
        clients: 32,
        alur: PathBuf::from("target/release/alur"),
        pg: std::env::var("ALUR_BENCH_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        dir: PathBuf::from("target/bench"),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "-n" => a.n = value.parse().unwrap_or(a.n),
            "--clients" => a.clients = value.parse().unwrap_or(a.clients).max(1),
            "--alur" => a.alur = PathBuf::from(value),
            "--pg" => a.pg = value,
            "--dir" => a.dir = PathBuf::from(value),
            other => eprintln!("ignored argument {other}"),
        }
    }
    a
}

/// `n` LKS cases waiting at verification (task 2, front office), prepared by 64 workers.
async fn prepare(store: Arc<dyn Store>, n: usize) -> Result<Vec<CaseId>, Error> {
    let engine = Arc::new(Engine::new(store, Arc::new(SystemClock)).await?);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    engine.deploy_file(&root.join("sop/lks-lksa.sop"), &root.join("sop/calendars")).await?;
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
    Ok(ids)
}

fn front_office() -> User {
    User { name: "fo".into(), display: "Front Office".into(), roles: vec![Role::Actor("front_office".into())] }
}

struct Nodes(Vec<(Child, u16)>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for (child, _) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> Result<u16, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn start_nodes(a: &Args, db: &str, count: usize) -> Result<Nodes, Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut nodes = Nodes(Vec::new());
    for i in 0..count {
        let port = free_port()?;
        let log = std::fs::File::create(a.dir.join(format!("bench-node{}.log", i + 1)))?;
        let child = Command::new(&a.alur)
            .args(["serve", "--db", db, "--addr", &format!("127.0.0.1:{port}")])
            .arg("--sop-dir")
            .arg(root.join("sop"))
            .env("ALUR_ADMIN_PASSWORD", "rahasia")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{}: {e}", a.alur.display()))?;
        nodes.0.push((child, port));
    }
    let http = reqwest::Client::new();
    for (child, port) in &mut nodes.0 {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = child.try_wait()? {
                return Err(format!("a node exited ({status}); see {}", a.dir.display()).into());
            }
            if let Ok(r) = http.get(format!("http://127.0.0.1:{port}/api/me")).send().await {
                if r.status() == 401 {
                    break;
                }
            }
            if Instant::now() > deadline {
                return Err("a node did not start in 120 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(nodes)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Completes every case's verification through the nodes: client `c` talks to node `c % nodes`.
async fn drive(ports: &[u16], token: &str, ids: &[CaseId], clients: usize) -> (Vec<Duration>, Duration, usize) {
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().unwrap_or_default();
    let started = Instant::now();
    let mut handles = Vec::new();
    for c in 0..clients {
        let mine: Vec<CaseId> = ids.iter().skip(c).step_by(clients).copied().collect();
        let port = ports[c % ports.len()];
        let http = http.clone();
        let auth = format!("Bearer {token}");
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(mine.len());
            let mut failed = 0;
            for case in mine {
                let t = Instant::now();
                let response = http
                    .post(format!("http://127.0.0.1:{port}/api/cases/{case}/tasks/2/complete"))
                    .header("authorization", &auth)
                    .header("content-type", "application/json")
                    .body(r#"{"outcome":"diterima"}"#)
                    .send()
                    .await;
                if matches!(response, Ok(r) if r.status().as_u16() == 204) {
                    latencies.push(t.elapsed());
                } else {
                    failed += 1;
                }
            }
            (latencies, failed)
        }));
    }
    let (mut all, mut failed) = (Vec::new(), 0);
    for handle in handles {
        if let Ok((mut l, f)) = handle.await {
            all.append(&mut l);
            failed += f;
        }
    }
    (all, started.elapsed(), failed)
}

async fn sign_in(port: u16) -> Result<String, Error> {
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/login"))
        .json(&serde_json::json!({"user": "fo", "password": "rahasia"}))
        .send()
        .await?;
    let body: serde_json::Value = response.json().await?;
    Ok(body["token"].as_str().ok_or("no token")?.to_string())
}

async fn run_one(a: &Args, label: &str, db: &str, nodes: usize, ids: &[CaseId]) -> Result<(), Error> {
    let running = start_nodes(a, db, nodes).await?;
    let ports: Vec<u16> = running.0.iter().map(|(_, p)| *p).collect();
    let token = sign_in(ports[0]).await?;
    let (mut latencies, elapsed, failed) = drive(&ports, &token, ids, a.clients).await;
    drop(running);
    latencies.sort();
    let n = latencies.len();
    println!(
        "RESULT nodes-{label}-{nodes} {} {n} {:.2} {:.0} {:.2} {:.2}{}",
        a.clients,
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        if failed > 0 { format!("  ({failed} failed)") } else { String::new() }
    );
    Ok(())
}

async fn run(a: Args) -> Result<(), Error> {
    std::fs::create_dir_all(&a.dir)?;
    println!("# label clients completions secs completions/s p50_ms p99_ms");

    // One node on its SQLite file.
    let path = a.dir.join("bench-nodes.db");
    for file in [path.clone(), alur::server::accounts::audit_path(&path)] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
    {
        let store = Arc::new(SqliteStore::open(&path)?);
        let ids = prepare(store, a.n).await?;
        let accounts = Accounts::open(Some(&path))?;
        accounts.create_user(&front_office(), "rahasia").await?;
        drop(accounts);
        run_one(&a, "sqlite", &path.to_string_lossy(), 1, &ids).await?;
    }

    // 1, 2 and 3 nodes on PostgreSQL, each run on a fresh schema.
    for nodes in 1..=3 {
        let schema = format!("alur_bench_nodes_{}", rand::random::<u32>());
        let sep = if a.pg.contains('?') { '&' } else { '?' };
        let db = format!("{}{sep}schema={schema}", a.pg);
        let store = Arc::new(PostgresStore::open(&db).await?);
        let ids = prepare(store.clone(), a.n).await?;
        let accounts = Accounts::open_postgres(store.pool().clone()).await?;
        accounts.create_user(&front_office(), "rahasia").await?;
        let result = run_one(&a, "postgres", &db, nodes, &ids).await;
        store.drop_schema().await?;
        result?;
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let a = args();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(a))
}
