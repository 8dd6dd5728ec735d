//! Benchmark: due dates of the 9 LKS steps chained one after another, for every start minute
//! of 2026 (525,600 starts) on `wita_kantor`. Run with `scripts/bench-deadlines.sh`.

use std::path::Path;
use std::time::Instant;

use alur::diagnostic::{render_all, Lang};
use alur::syntax::SourceMap;
use alur::time::Duration;
use chrono::{NaiveDate, TimeZone, Utc};

/// The seed SOP's steps in order: 30, 10 and 10 minutes, 4 days, then 10, 5, 5, 5 and 3 minutes.
const LKS_STEPS: [(u32, u32); 9] = [(0, 30), (0, 10), (0, 10), (4, 0), (0, 10), (0, 5), (0, 5), (0, 5), (0, 3)];
const MINUTES_IN_2026: i64 = 365 * 24 * 60;

fn main() -> std::process::ExitCode {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sop/calendars");
    let mut sources = SourceMap::new();
    let (set, diagnostics) = alur::compile::calendar::load_dir(&dir, &mut sources);
    if !diagnostics.is_empty() {
        eprintln!("{}", render_all(&sources, &diagnostics, Lang::En));
        return std::process::ExitCode::FAILURE;
    }
    let calendar = match set.calendar("wita_kantor") {
        Ok(c) => c,
        Err(ds) => {
            eprintln!("{}", render_all(&sources, &ds, Lang::En));
            return std::process::ExitCode::FAILURE;
        }
    };
    let steps = LKS_STEPS.map(|(days, minutes)| Duration::new(days, 0, minutes));
    let Some(new_year) = NaiveDate::from_ymd_opt(2026, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)) else {
        return std::process::ExitCode::FAILURE;
    };
    let Some(first) = calendar.time_zone().from_local_datetime(&new_year).single() else {
        return std::process::ExitCode::FAILURE;
    };
    let first = first.with_timezone(&Utc);

    let started = Instant::now();
    let mut checksum: i64 = 0;
    let mut uncertain = 0u64;
    for minute in 0..MINUTES_IN_2026 {
        let mut at = first + chrono::Duration::minutes(minute);
        for step in &steps {
            let due = calendar.due(at, *step);
            at = due.at;
            uncertain += u64::from(due.uncertain);
        }
        checksum = checksum.wrapping_add(at.timestamp());
    }
    let elapsed = started.elapsed();
    let computed = MINUTES_IN_2026 as f64 * steps.len() as f64;
    println!(
        "{} starts x {} steps = {} due dates in {:.3} s ({:.1} ns per due date); uncertain step results: {}; checksum {}",
        MINUTES_IN_2026,
        steps.len(),
        computed,
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e9 / computed,
        uncertain,
        checksum
    );
    std::process::ExitCode::SUCCESS
}
