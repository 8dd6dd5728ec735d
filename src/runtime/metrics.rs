//! What the engine counts for `/metrics`: commands by kind and result, timer firings and how
//! late they fire, and (through the store, [`StoreMetrics`]) commits and their fsync time. Every counter is made and labelled once, when the metrics are registered, so
//! counting a command is one atomic add (no label look-up). An engine without metrics
//! ([`Engine::with_metrics`](super::Engine::with_metrics) never called: tests, benchmarks, the
//! CLI) counts nothing.

use std::sync::Arc;
use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};

use super::RuntimeError;

/// The commands the engine counts, the order of [`Command::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Start,
    Claim,
    Release,
    Complete,
    Attach,
    Withdraw,
    Cancel,
    /// A task put on hold (`penangguhan`), and taken off it.
    Hold,
    Resume,
    /// The timer service firing one deadline.
    Fire,
}

impl Command {
    pub const ALL: [Command; 10] = [
        Command::Start,
        Command::Claim,
        Command::Release,
        Command::Complete,
        Command::Attach,
        Command::Withdraw,
        Command::Cancel,
        Command::Hold,
        Command::Resume,
        Command::Fire,
    ];

    /// The `command` label.
    pub fn word(self) -> &'static str {
        match self {
            Command::Start => "start",
            Command::Claim => "claim",
            Command::Release => "release",
            Command::Complete => "complete",
            Command::Attach => "attach",
            Command::Withdraw => "withdraw",
            Command::Cancel => "cancel",
            Command::Hold => "hold",
            Command::Resume => "resume",
            Command::Fire => "fire",
        }
    }
}

/// How a command ended, the `result` label: done; refused (the case, the caller or the input
/// does not allow it, nothing changed); lost a race to another command (`Conflict`); or failed
/// (the store, a deployment that cannot be used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Refused,
    Conflict,
    Error,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [Outcome::Ok, Outcome::Refused, Outcome::Conflict, Outcome::Error];

    pub fn word(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Conflict => "conflict",
            Outcome::Error => "error",
        }
    }

    pub fn of<T>(result: &Result<T, RuntimeError>) -> Outcome {
        match result {
            Ok(_) => Outcome::Ok,
            Err(RuntimeError::Conflict(_)) => Outcome::Conflict,
            Err(
                RuntimeError::Store(_)
                | RuntimeError::InvalidSop(_)
                | RuntimeError::Recompiled { .. }
                | RuntimeError::Calendar(_),
            ) => Outcome::Error,
            Err(_) => Outcome::Refused,
        }
    }
}

/// The engine's counters, registered in a Prometheus registry.
pub struct EngineMetrics {
    /// `[command][outcome]`, in the order of `Command::ALL` and `Outcome::ALL`.
    commands: [[IntCounter; 4]; Command::ALL.len()],
    firings: IntCounter,
    lag: Histogram,
    store: Arc<StoreMetrics>,
}

impl EngineMetrics {
    /// Makes the counters and registers them in `registry`: `alur_commands_total{command,
    /// result}`, `alur_timer_firings_total`, `alur_timer_lag_seconds`.
    pub fn register(registry: &Registry) -> Result<EngineMetrics, prometheus::Error> {
        let family = IntCounterVec::new(
            Opts::new("alur_commands_total", "Engine commands by kind and result (ok, refused, conflict, error)."),
            &["command", "result"],
        )?;
        let commands = Command::ALL
            .map(|command| Outcome::ALL.map(|outcome| family.with_label_values(&[command.word(), outcome.word()])));
        registry.register(Box::new(family))?;
        let firings = IntCounter::with_opts(Opts::new(
            "alur_timer_firings_total",
            "Deadlines the timer service fired (a task passed its deadline).",
        ))?;
        registry.register(Box::new(firings.clone()))?;
        let lag = Histogram::with_opts(
            HistogramOpts::new("alur_timer_lag_seconds", "How long after its due instant a deadline was fired.")
                .buckets(vec![0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0]),
        )?;
        registry.register(Box::new(lag.clone()))?;
        let store = Arc::new(StoreMetrics::register(registry)?);
        Ok(EngineMetrics { commands, firings, lag, store })
    }

    /// What the engine's store counts into (`Store::observe`).
    pub fn store(&self) -> Arc<StoreMetrics> {
        self.store.clone()
    }

    /// Counts one command that ended with `result`.
    pub fn command<T>(&self, command: Command, result: &Result<T, RuntimeError>) {
        self.commands[command as usize][Outcome::of(result) as usize].inc();
    }

    /// Counts a deadline fired `lag` after it fell due.
    pub fn fired(&self, lag: chrono::Duration) {
        self.firings.inc();
        self.lag.observe(lag.num_milliseconds().max(0) as f64 / 1000.0);
    }
}

/// Seconds, from half a millisecond (an fsync on a fast disk) to 5 s (a stalled one).
const COMMIT_BUCKETS: [f64; 13] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The store's commits, registered in a Prometheus registry: `alur_store_commits_total{store,
/// result}`, `alur_store_commit_duration_seconds{store}` (a transaction from its start to its
/// commit), `alur_store_fsync_duration_seconds{store}` (the `COMMIT` itself: on SQLite the WAL
/// write and its fsync, on PostgreSQL the round trip that waits for the server's WAL flush),
/// `alur_store_commit_requests{store}` (write requests one commit carried: SQLite's group
/// commit). A store takes its labelled counters with [`StoreMetrics::of`].
pub struct StoreMetrics {
    commits: IntCounterVec,
    duration: HistogramVec,
    fsync: HistogramVec,
    requests: HistogramVec,
}

impl StoreMetrics {
    pub fn register(registry: &Registry) -> Result<StoreMetrics, prometheus::Error> {
        let commits = IntCounterVec::new(
            Opts::new("alur_store_commits_total", "Store transactions that wrote, by store and result (ok, error)."),
            &["store", "result"],
        )?;
        registry.register(Box::new(commits.clone()))?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "alur_store_commit_duration_seconds",
                "A writing transaction from its start to its commit, by store.",
            )
            .buckets(COMMIT_BUCKETS.to_vec()),
            &["store"],
        )?;
        registry.register(Box::new(duration.clone()))?;
        let fsync = HistogramVec::new(
            HistogramOpts::new(
                "alur_store_fsync_duration_seconds",
                "The COMMIT of a transaction (SQLite: the WAL write and its fsync; PostgreSQL: waiting for the WAL flush), by store.",
            )
            .buckets(COMMIT_BUCKETS.to_vec()),
            &["store"],
        )?;
        registry.register(Box::new(fsync.clone()))?;
        let requests = HistogramVec::new(
            HistogramOpts::new(
                "alur_store_commit_requests",
                "Write requests one commit carried (group commit), by store.",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
            &["store"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        Ok(StoreMetrics { commits, duration, fsync, requests })
    }

    /// The counters of one store (`sqlite`, `postgres`), labelled once.
    pub fn of(&self, store: &str) -> StoreCounters {
        StoreCounters {
            ok: self.commits.with_label_values(&[store, "ok"]),
            error: self.commits.with_label_values(&[store, "error"]),
            duration: self.duration.with_label_values(&[store]),
            fsync: self.fsync.with_label_values(&[store]),
            requests: self.requests.with_label_values(&[store]),
        }
    }
}

/// One store's commit counters.
pub struct StoreCounters {
    ok: IntCounter,
    error: IntCounter,
    duration: Histogram,
    fsync: Histogram,
    requests: Histogram,
}

impl StoreCounters {
    /// Counts a commit of `requests` write requests that took `duration` in all and `fsync` in
    /// its `COMMIT` (`None`: it failed before).
    pub fn committed(&self, ok: bool, requests: usize, duration: Duration, fsync: Option<Duration>) {
        if ok { &self.ok } else { &self.error }.inc();
        self.duration.observe(duration.as_secs_f64());
        if let Some(fsync) = fsync {
            self.fsync.observe(fsync.as_secs_f64());
        }
        self.requests.observe(requests as f64);
    }
}
