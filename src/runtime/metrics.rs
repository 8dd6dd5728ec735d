//! What the engine counts for `/metrics`: commands by kind and result, timer firings and how
//! late they fire. Every counter is made and labelled once, when the metrics are registered, so
//! counting a command is one atomic add (no label look-up). An engine without metrics
//! ([`Engine::with_metrics`](super::Engine::with_metrics) never called: tests, benchmarks, the
//! CLI) counts nothing.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};

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
    /// The timer service firing one deadline.
    Fire,
}

impl Command {
    pub const ALL: [Command; 8] = [
        Command::Start,
        Command::Claim,
        Command::Release,
        Command::Complete,
        Command::Attach,
        Command::Withdraw,
        Command::Cancel,
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
            Err(RuntimeError::Store(_) | RuntimeError::InvalidSop(_) | RuntimeError::Calendar(_)) => Outcome::Error,
            Err(_) => Outcome::Refused,
        }
    }
}

/// The engine's counters, registered in a Prometheus registry.
pub struct EngineMetrics {
    /// `[command][outcome]`, in the order of `Command::ALL` and `Outcome::ALL`.
    commands: [[IntCounter; 4]; 8],
    firings: IntCounter,
    lag: Histogram,
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
        Ok(EngineMetrics { commands, firings, lag })
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
