//! Engine throughput on the LKS/LKSA SOP, driven like the peers in ../shared/peers: N cases,
//! a fraction R returned once at `verifikasi`, tasks found through the inbox as a worklist
//! would, each completed by a caller holding the task's role.
//!
//! `cargo run --release --example bench_engine -- --store mem -n 20000 -r 0.2 [--clients 64] [--db FILE]
//! [--worklist own|shared] [--metrics on]`
//!
//! The clients split the cases between them (see `Partition`). With `--worklist own` (the
//! default) each reads the inbox of its own share and works it, again and again, until it is
//! empty; with `shared` one dispatcher reads the whole inbox once a round and hands each client
//! its share's tasks, and a round ends when every client is done.
//!
//! Prints `RESULT alur <store>-<clients>[-shared][-metrics] <N> <secs> <cases/s> <tasks/s> <p50 µs> <p99 µs> <commands/s>
//! <completions/s>`, where tasks/s counts task completions over the whole run, commands/s every
//! durable command (the case starts and the completions, each one commit of its own with one
//! client), and completions/s the completions over the time after the last case started (the
//! rate of completion commands alone, which p50/p99 are the latencies of).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use alur::runtime::store::{OpenTask, Partition};
use alur::runtime::{Caller, CaseId, Completion, Engine, ManualClock, MemoryStore, Store};
use chrono::TimeZone;
use foldhash::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

struct Args {
    store: String,
    n: usize,
    r: f64,
    clients: usize,
    db: Option<String>,
    worklist: Worklist,
    /// Count commands as `alur serve` does (`Engine::with_metrics`).
    metrics: bool,
}

fn args() -> Args {
    let mut a =
        Args { store: "mem".into(), n: 10_000, r: 0.2, clients: 1, db: None, worklist: Worklist::Own, metrics: false };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--store" => a.store = value,
            "-n" => a.n = value.parse().unwrap_or(a.n),
            "-r" => a.r = value.parse().unwrap_or(a.r),
            "--clients" => a.clients = value.parse().unwrap_or(1).max(1),
            "--db" => a.db = Some(value),
            "--metrics" => a.metrics = value == "on",
            "--worklist" => match value.as_str() {
                "own" => a.worklist = Worklist::Own,
                "shared" => a.worklist = Worklist::Shared,
                other => eprintln!("ignored worklist `{other}` (own or shared)"),
            },
            other => eprintln!("ignored argument {other}"),
        }
    }
    a
}

fn open_store(a: &Args) -> Result<Arc<dyn Store>, Box<dyn std::error::Error>> {
    match a.store.as_str() {
        "mem" => Ok(Arc::new(MemoryStore::new())),
        "sqlite" => {
            let path = a.db.clone().unwrap_or_else(|| "target/bench/bench-engine.db".into());
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
            if let Some(parent) = Path::new(&path).parent() {
                std::fs::create_dir_all(parent)?;
            }
            Ok(Arc::new(alur::runtime::store::SqliteStore::open(Path::new(&path))?))
        }
        other => Err(format!("unknown store `{other}`").into()),
    }
}

/// What one worklist client keeps.
#[derive(Default)]
struct Client {
    /// One signed-in user per role, as a worklist client has.
    callers: HashMap<&'static str, Caller>,
    latencies: Vec<u64>,
    done: usize,
}

/// The outcome a task is completed with: at `verifikasi`, a case still to be returned is
/// returned (once), every other case accepted.
fn outcome(to_reject: &mut HashSet<CaseId>, task: &OpenTask) -> Option<String> {
    (&*task.step == "verifikasi").then(|| if to_reject.remove(&task.case) { "ditolak" } else { "diterima" }.to_string())
}

impl Client {
    /// Completes the tasks, in the order given.
    async fn work(&mut self, engine: &Engine, tasks: Vec<(Option<String>, OpenTask)>) {
        for (outcome, task) in tasks {
            let role = task.actors.first().map(|a| a.as_str()).unwrap_or_default();
            let caller = self
                .callers
                .entry(role)
                .or_insert_with(|| Caller::with_roles(format!("petugas-{role}"), vec![role.to_string()]));
            let t = Instant::now();
            let result =
                engine.complete(task.case, task.task, caller, Completion { outcome, ..Completion::default() }).await;
            self.latencies.push(t.elapsed().as_micros() as u64);
            if result.is_ok() {
                self.done += 1;
            }
        }
    }
}

/// How the clients find their tasks.
#[derive(Clone, Copy, PartialEq)]
enum Worklist {
    /// Each client reads the inbox of its own share of the cases, again and again.
    Own,
    /// A dispatcher reads the whole inbox once a round and hands each client its share's
    /// tasks; the next round starts when every client is done.
    Shared,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let start = chrono_tz::Asia::Makassar.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).single().ok_or("start")?;
    let clock = Arc::new(ManualClock::new(start.with_timezone(&chrono::Utc)));
    let mut engine = Engine::new(open_store(&a)?, clock).await?;
    if a.metrics {
        let registry = prometheus::Registry::new();
        engine = engine.with_metrics(Arc::new(alur::runtime::metrics::EngineMetrics::register(&registry)?));
    }
    let engine = Arc::new(engine);
    engine.deploy_file(&root.join("sop/lks-lksa.sop"), &root.join("sop/calendars")).await?;
    // Exactly floor(n*r) cases, evenly spread, are returned once (as the peers do).
    let rejected: HashSet<usize> =
        (0..a.n).filter(|i| ((i + 1) as f64 * a.r) as usize > (*i as f64 * a.r) as usize).collect();
    let began = Instant::now();
    // The applicants submit at once, as many at a time as there are clients; case i is the
    // i-th of the list either way.
    let mut starters = Vec::with_capacity(a.clients);
    for client in 0..a.clients {
        let engine = engine.clone();
        let (clients, n) = (a.clients, a.n);
        starters.push(tokio::spawn(async move {
            let mut started = Vec::new();
            for i in (client..n).step_by(clients) {
                started.push((i, engine.start_case("lks_lksa", "pemohon", Default::default(), None).await?));
            }
            Ok::<_, alur::runtime::RuntimeError>(started)
        }));
    }
    let mut cases = vec![CaseId::default(); a.n];
    for starter in starters {
        for (i, case) in starter.await?? {
            cases[i] = case;
        }
    }
    let completing = Instant::now();
    // The cases to return once at `verifikasi`, by case id.
    let to_reject: HashSet<_> =
        cases.iter().enumerate().filter(|(i, _)| rejected.contains(i)).map(|(_, c)| *c).collect();
    let clients = match a.worklist {
        // Each client works its own share of the cases, as workers splitting an office's
        // cases would: it reads its inbox (its partition's open tasks, in due order),
        // completes what it finds, and reads again until its inbox is empty. The clients share
        // nothing but the engine.
        Worklist::Own => {
            let mut handles = Vec::with_capacity(a.clients);
            for index in 0..a.clients {
                let partition = Partition::new(index as u32, a.clients as u32).ok_or("partition")?;
                let mut client = Client::default();
                let mut to_reject: HashSet<_> = to_reject.iter().copied().filter(|c| partition.holds(*c)).collect();
                let engine = engine.clone();
                handles.push(tokio::spawn(async move {
                    loop {
                        let inbox = engine.inbox_of(&[], partition).await?;
                        if inbox.is_empty() {
                            return Ok::<_, alur::runtime::RuntimeError>(client);
                        }
                        let tasks = inbox.into_iter().map(|task| (outcome(&mut to_reject, &task), task)).collect();
                        client.work(&engine, tasks).await;
                    }
                }));
            }
            let mut clients = Vec::with_capacity(a.clients);
            for h in handles {
                clients.push(h.await??);
            }
            clients
        }
        // A dispatcher reads the whole inbox once a round, decides each task's outcome, and
        // hands each client an equal run of it; the next round starts when all are done.
        Worklist::Shared => {
            let mut to_reject = to_reject;
            let mut clients: Vec<Client> = (0..a.clients).map(|_| Client::default()).collect();
            loop {
                let inbox = engine.inbox(&[]).await?;
                if inbox.is_empty() {
                    break clients;
                }
                let per_client = inbox.len().div_ceil(a.clients);
                let mut tasks = inbox.into_iter().map(|task| (outcome(&mut to_reject, &task), task));
                let mut handles = Vec::with_capacity(a.clients);
                for mut client in clients.drain(..) {
                    let run: Vec<_> = tasks.by_ref().take(per_client).collect();
                    let engine = engine.clone();
                    handles.push(tokio::spawn(async move {
                        client.work(&engine, run).await;
                        client
                    }));
                }
                for h in handles {
                    clients.push(h.await?);
                }
            }
        }
    };
    let secs = began.elapsed().as_secs_f64();
    let completing_secs = completing.elapsed().as_secs_f64();
    let mut lat: Vec<u64> = clients.iter().flat_map(|c| c.latencies.iter().copied()).collect();
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0);
    let tasks: usize = clients.iter().map(|c| c.done).sum();
    println!(
        "RESULT alur {}-{}{}{} {} {:.3} {:.1} {:.1} {} {} {:.1} {:.1}",
        a.store,
        a.clients,
        if a.worklist == Worklist::Shared { "-shared" } else { "" },
        if a.metrics { "-metrics" } else { "" },
        a.n,
        secs,
        a.n as f64 / secs,
        tasks as f64 / secs,
        pct(0.5),
        pct(0.99),
        (a.n + tasks) as f64 / secs,
        tasks as f64 / completing_secs
    );
    Ok(())
}
