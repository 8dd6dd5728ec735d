//! The worker of the crash test (tests/crash.rs): many concurrent commands on one SQLite
//! store, each acknowledged on stdout only after the store said it is durable. The test kills
//! this process at random moments and checks that every acknowledged command survived.
//!
//! Usage: crash_worker DB [TASKS]
//! Prints `ready` once deployed, then one line per acknowledged command:
//!   ack start <case> <applicant>
//!   ack complete <case> <task> <user>
//! The applicant and user are unique per command, so the test can tell which event it caused.

use alur::runtime::{Caller, Completion, Engine, RuntimeError, SqliteStore, SystemClock};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Open tasks above which workers stop starting cases and only complete (keeps the inbox
/// query, which reads every open task, small).
const MAX_OPEN: usize = 150;

/// A small xorshift generator: the choices only need to vary, not to be good random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One line to stdout, flushed at once: the test reads it even if we are killed right after.
/// Nobody reading any more means the test is over: stop.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
        std::process::exit(0);
    }
}

/// Failures a racing command expects: someone else got there first.
fn expected(error: &RuntimeError) -> bool {
    matches!(error, RuntimeError::Conflict(_) | RuntimeError::TaskNotOpen { .. } | RuntimeError::CaseClosed { .. })
}

async fn work(engine: Arc<Engine>, worker: usize, run: u64, counter: Arc<AtomicU64>) {
    let mut rng = Rng(run ^ (worker as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    loop {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let id = format!("r{run}-w{worker}-{n}");
        let inbox = match engine.inbox(&[]).await {
            Ok(inbox) => inbox,
            Err(error) => {
                eprintln!("unexpected inbox error: {error}");
                continue;
            }
        };
        let start = inbox.is_empty() || (inbox.len() < MAX_OPEN && rng.below(10) < 3);
        if start {
            match engine.start_case("lks_lksa", &id, Default::default(), None).await {
                Ok(case) => say(&format!("ack start {case} {id}")),
                Err(error) => eprintln!("unexpected start error: {error}"),
            }
        } else {
            let task = &inbox[rng.below(inbox.len())];
            let role = task.actors.first().map(|a| a.to_string()).unwrap_or_default();
            let caller = Caller::with_roles(id.as_str(), vec![role]);
            let outcome = (&*task.step == "verifikasi").then(|| "diterima".to_string());
            let completion = Completion { outcome, ..Completion::default() };
            match engine.complete(task.case, task.task, &caller, completion).await {
                Ok(()) => say(&format!("ack complete {} {} {id}", task.case, task.task)),
                Err(error) if expected(&error) => {}
                Err(error) => eprintln!("unexpected complete error: {error}"),
            }
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let Some(db) = args.next() else {
        eprintln!("usage: crash_worker DB [TASKS]");
        std::process::exit(2);
    };
    let tasks: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(16);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let store = match SqliteStore::open(&db) {
        Ok(store) => Arc::new(store),
        Err(error) => {
            eprintln!("unexpected open error: {error}");
            std::process::exit(1);
        }
    };
    let engine = match Engine::new(store, Arc::new(SystemClock)).await {
        Ok(engine) => Arc::new(engine),
        Err(error) => {
            eprintln!("unexpected engine error: {error}");
            std::process::exit(1);
        }
    };
    if let Err(error) = engine.deploy_file(&root.join("sop/lks-lksa.sop"), &root.join("sop/calendars")).await {
        eprintln!("unexpected deploy error: {error}");
        std::process::exit(1);
    }
    say("ready");
    // Unique ids across restarts: the run number is the time this process started.
    let run =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
            | 1;
    let counter = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..tasks).map(|w| tokio::spawn(work(engine.clone(), w, run, counter.clone()))).collect();
    for handle in handles {
        let _ = handle.await;
    }
}
