//! Benchmark of `alur simulate` on the LKS SOP. Run with `scripts/bench-simulate.sh`.
//!
//! 1. Unlimited staff (triangular step times, 20% returned at verification, applicants taking
//!    about two days to resubmit): simulated cases per second on one core. Target ≥ 1,000,000.
//! 2. The shipped scenario `sop/skenario/lks-40-per-hari.toml` (40 a working day, staffed desks)
//!    over a simulated year. Target < 1 second.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use alur::simulate::{self, Overrides, Scenario};

const UNLIMITED: &str = r#"
[arrivals]
per_day = 40
[durations.default]
distribution = "triangular"
min = 0.5
mode = 1.0
max = 2.0
[outcomes.verifikasi]
ditolak = 0.2
[resubmit]
distribution = "lognormal"
mean = "2 hari"
cv = 0.5
"#;

/// Nanoseconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`): on a shared
/// machine the wall clock also counts time spent waiting for a core.
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Wall seconds and CPU seconds (CPU falls back to wall where schedstat is missing).
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (cpu0, started) = (cpu_ns(), Instant::now());
    let out = f();
    let wall = started.elapsed().as_secs_f64();
    let cpu = match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => wall,
    };
    (out, wall, cpu)
}

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (sop, calendar) = match simulate::load(&root.join("sop/lks-lksa.sop"), &root.join("sop/calendars")) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let cases: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2_000_000);

    // 1. Unlimited staff.
    let Ok(scenario) = Scenario::parse(UNLIMITED) else { return ExitCode::FAILURE };
    let (Some(program), _) =
        simulate::lower(&sop, &calendar, &scenario, &Overrides { cases: Some(cases), ..Overrides::default() })
    else {
        return ExitCode::FAILURE;
    };
    let (mut best_wall, mut best_cpu) = (f64::MAX, f64::MAX);
    let mut report = None;
    for _ in 0..3 {
        let (r, wall, cpu) = timed(|| simulate::simulate(&sop, &calendar, &program, &mut |_| {}));
        best_wall = best_wall.min(wall);
        best_cpu = best_cpu.min(cpu);
        report = Some(r);
    }
    let Some(report) = report else { return ExitCode::FAILURE };
    let rate = cases as f64 / best_cpu;
    println!(
        "unlimited staff: {cases} LKS cases in {best_cpu:.3} s on one core ({best_wall:.3} s wall), best of 3 = {rate:.0} cases/s per core  [target >= 1,000,000: {}]",
        if rate >= 1_000_000.0 { "met" } else { "NOT met" }
    );
    println!(
        "  p50 {:.2} / p99 {:.2} working days; {:.1}% returned",
        report.lead_time_minutes.p50 / 450.0,
        report.lead_time_minutes.p99 / 450.0,
        report.returned_share * 100.0
    );

    // 2. The 40-a-day scenario over a simulated year.
    let text = match std::fs::read_to_string(root.join("sop/skenario/lks-40-per-hari.toml")) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let Ok(scenario) = Scenario::parse(&text) else { return ExitCode::FAILURE };
    let (Some(program), _) = simulate::lower(&sop, &calendar, &scenario, &Overrides::default()) else {
        return ExitCode::FAILURE;
    };
    let (mut best_wall, mut best_cpu) = (f64::MAX, f64::MAX);
    let mut report = None;
    for _ in 0..5 {
        let (r, wall, cpu) = timed(|| simulate::simulate(&sop, &calendar, &program, &mut |_| {}));
        best_wall = best_wall.min(wall);
        best_cpu = best_cpu.min(cpu);
        report = Some(r);
    }
    let Some(report) = report else { return ExitCode::FAILURE };
    println!(
        "40 per working day, one simulated year: {} cases over {:.0} working days in {best_wall:.4} s wall ({best_cpu:.4} s CPU), best of 5  [target < 1 s: {}]",
        report.cases,
        report.simulated_working_days,
        if best_wall < 1.0 { "met" } else { "NOT met" }
    );
    ExitCode::SUCCESS
}
