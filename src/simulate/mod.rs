//! `alur simulate`: a discrete-event Monte Carlo simulation of an SOP on its working calendar.
//!
//! A [`Scenario`] (docs/simulate.md) says how many applications arrive, how many people work
//! each desk, how long steps take around their standard, how often each decision outcome is
//! taken and how long applicants take to resubmit. [`program::lower`] turns the SOP's flow graph
//! into a compact program, [`engine::run`] runs the cases in working-minute space, and
//! [`Report`] summarises: lead-time percentiles, the share of cases that keep each promise,
//! waiting and utilisation per desk, the bottleneck, and a histogram.
//!
//! Language side: no tokio here.

pub mod engine;
pub mod program;
pub mod render;
pub mod scenario;

pub use program::{lower, Overrides, Program, TargetKind};
pub use scenario::{Problem, Scenario};

use serde::Serialize;

use crate::model::{ClockPoint, Sop};
use crate::time::Calendar;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of values sorted ascending.
    fn of_sorted(v: &[f64]) -> Percentiles {
        if v.is_empty() {
            return Percentiles { p50: 0.0, p90: 0.0, p95: 0.0, p99: 0.0, mean: 0.0, min: 0.0, max: 0.0 };
        }
        let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Percentiles {
            p50: at(0.50),
            p90: at(0.90),
            p95: at(0.95),
            p99: at(0.99),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TargetReport {
    pub kind: TargetKind,
    pub label: String,
    pub limit_minutes: f64,
    /// Calendar days in the promise: its length in working time then depends on the start, and
    /// `limit_minutes` holds only the working-time part.
    pub calendar_days: u32,
    /// Cases whose clock could be measured (the clock points were reached).
    pub measured: u64,
    /// Share within the limit by the service clock (paused or restarted as the SOP declares).
    pub within: f64,
    /// Share within the limit by plain elapsed working time (what the applicant waits).
    pub within_elapsed: f64,
    /// Share of the counted cases whose lead time (what the histogram shows: application to
    /// end, elapsed) is within the limit: the bars left of the promise's line. `None` for a
    /// promise in calendar days, whose length in working time depends on the start.
    pub within_lead: Option<f64>,
    /// Where a service standard's clock starts and stops (`None`: the start, the end).
    pub from: Option<ClockPoint>,
    pub until: Option<ClockPoint>,
    pub mean_clock_minutes: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DeskReport {
    pub actor: String,
    pub label: String,
    /// `None`: unlimited.
    pub staff: Option<u32>,
    pub served: u64,
    pub mean_wait_minutes: f64,
    pub p90_wait_minutes: f64,
    pub max_wait_minutes: f64,
    /// Busy time over staff × the arrival period (limited desks).
    pub utilisation: Option<f64>,
    /// Mean number of people busy at once (the staff a desk needs, for unlimited ones).
    pub mean_busy: f64,
}

/// Why a desk is the bottleneck.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BottleneckBasis {
    /// Files wait longest there in total (mean wait × cases served).
    Waiting,
    /// No file waits at a staffed desk: the one with the highest utilisation.
    Utilisation,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Histogram {
    /// Lower bound of the first bin and the width of each, in working minutes.
    pub start_minutes: f64,
    pub bin_minutes: f64,
    pub counts: Vec<u64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepReport {
    pub step: String,
    pub number: String,
    /// How many times per case the step was done.
    pub per_case: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub sop: String,
    pub title: String,
    pub scenario: Option<String>,
    pub calendar: String,
    pub time_zone: String,
    pub start: String,
    pub seed: u64,
    pub arrivals_per_day: f64,
    pub cases: u64,
    pub warmup: u64,
    pub counted: u64,
    pub stuck: u64,
    pub day_length_minutes: u32,
    /// The main-path total of `alur time`, in working minutes.
    pub main_path_minutes: f64,
    pub lead_time_minutes: Percentiles,
    pub lead_time_calendar_days: Percentiles,
    pub targets: Vec<TargetReport>,
    pub desks: Vec<DeskReport>,
    /// The staffed desk where files wait longest in total; when nothing waits, the busiest one.
    pub bottleneck: Option<String>,
    pub bottleneck_basis: Option<BottleneckBasis>,
    pub returned_share: f64,
    pub mean_rounds: f64,
    pub steps: Vec<StepReport>,
    /// Cases per end of the SOP.
    pub ends: Vec<(String, u64)>,
    /// Working days simulated (first arrival to last event).
    pub simulated_working_days: f64,
    pub histogram: Histogram,
}

/// Runs a lowered program and summarises it.
pub fn simulate(sop: &Sop, calendar: &Calendar, program: &Program, progress: &mut dyn FnMut(u64)) -> Report {
    let raw = engine::run(program, calendar, progress);
    summarise(sop, calendar, program, raw)
}

fn nice_bin(range: f64, day: f64) -> f64 {
    let candidates = [
        1.0,
        2.0,
        5.0,
        10.0,
        15.0,
        30.0,
        60.0,
        120.0,
        day / 4.0,
        day / 2.0,
        day,
        2.0 * day,
        5.0 * day,
        10.0 * day,
        20.0 * day,
        50.0 * day,
        100.0 * day,
    ];
    candidates.into_iter().find(|w| range / w <= 40.0).unwrap_or(range / 40.0).max(1e-9)
}

/// The histogram's first bin, bin width and number of bins for lead times from `min` to `max`.
/// Lead times that all lie within a minute of each other (no variability: every case takes the
/// same path; they differ only by rounding) fill one bin, as wide as the smallest nice width
/// whose ends read apart in working days to two decimals, so it is not split in two at a
/// boundary the rounding happens to straddle.
fn bins(min: f64, max: f64, day: f64) -> (f64, f64, usize) {
    if max - min < 1.0 {
        let bin = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0].into_iter().find(|w| w * 100.0 >= day).unwrap_or(60.0);
        let middle = ((min + max) / 2.0 * 1e6).round() / 1e6;
        return ((middle / bin).floor() * bin, bin, 1);
    }
    let bin = nice_bin(max - min, day);
    let start = (min / bin).floor() * bin;
    (start, bin, (((max - start) / bin).floor() as usize + 1).min(400))
}

pub fn summarise(sop: &Sop, calendar: &Calendar, p: &Program, mut raw: engine::Raw) -> Report {
    let day = f64::from(p.day_length_minutes);
    raw.lead.sort_unstable_by(f64::total_cmp);
    raw.lead_days.sort_unstable_by(f64::total_cmp);
    let lead = Percentiles::of_sorted(&raw.lead);
    let lead_days = Percentiles::of_sorted(&raw.lead_days);
    let mut standards = sop.header.service_standards.iter();
    let targets = p
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let measured = raw.target_measured[i];
            let share = |n: u64| if measured == 0 { 0.0 } else { n as f64 / measured as f64 };
            // Service standards come in the SOP's order (program::lower).
            let standard = if t.kind == TargetKind::ServiceStandard { standards.next() } else { None };
            let within_lead = (t.duration.calendar_days == 0).then(|| {
                let within = raw.lead.partition_point(|v| *v <= t.limit_minutes + 1e-6);
                if raw.lead.is_empty() {
                    0.0
                } else {
                    within as f64 / raw.lead.len() as f64
                }
            });
            TargetReport {
                kind: t.kind,
                label: t.label.clone(),
                limit_minutes: t.limit_minutes,
                calendar_days: t.duration.calendar_days,
                measured,
                within: share(raw.target_within[i]),
                within_elapsed: share(raw.target_within_raw[i]),
                within_lead,
                from: standard.and_then(|s| s.from.as_ref()).map(|p| p.as_written(sop)),
                until: standard.and_then(|s| s.until.as_ref()).map(|p| p.as_written(sop)),
                mean_clock_minutes: if measured == 0 { 0.0 } else { raw.target_clock_sum[i] / measured as f64 },
            }
        })
        .collect();
    let window = if raw.last_arrival > 0.0 { raw.last_arrival } else { raw.last_event.max(1.0) };
    let mut desks: Vec<DeskReport> = Vec::new();
    for (i, d) in p.desks.iter().enumerate() {
        if i == p.desks.len() - 1 && raw.desk_served[i] == 0 {
            continue; // the stand-in desk of steps without an actor
        }
        if raw.desk_busy[i] == 0.0 && raw.desk_served[i] == 0 {
            continue;
        }
        let waits = &mut raw.desk_waits[i];
        waits.sort_unstable_by(f32::total_cmp);
        let p90 = if waits.is_empty() {
            0.0
        } else {
            f64::from(waits[((0.9 * waits.len() as f64).ceil() as usize).clamp(1, waits.len()) - 1])
        };
        let served = raw.desk_served[i];
        desks.push(DeskReport {
            actor: d.actor.clone(),
            label: d.label.clone(),
            staff: d.staff,
            served,
            mean_wait_minutes: if served == 0 { 0.0 } else { raw.desk_wait_sum[i] / served as f64 },
            p90_wait_minutes: p90,
            max_wait_minutes: raw.desk_wait_max[i],
            utilisation: d.staff.map(|s| raw.desk_busy[i] / (f64::from(s) * window)),
            mean_busy: raw.desk_busy[i] / window,
        });
    }
    // The bottleneck: the desk where files wait longest in total; without waiting, the busiest
    // limited desk.
    let bottleneck = desks
        .iter()
        .filter(|d| d.staff.is_some() && d.mean_wait_minutes * d.served as f64 > 0.5)
        .max_by(|a, b| (a.mean_wait_minutes * a.served as f64).total_cmp(&(b.mean_wait_minutes * b.served as f64)))
        .map(|d| (d, BottleneckBasis::Waiting))
        .or_else(|| {
            desks
                .iter()
                .filter(|d| d.utilisation.is_some())
                .max_by(|a, b| a.utilisation.unwrap_or(0.0).total_cmp(&b.utilisation.unwrap_or(0.0)))
                .map(|d| (d, BottleneckBasis::Utilisation))
        });
    let (bottleneck, bottleneck_basis) = match bottleneck {
        Some((d, basis)) => (Some(d.actor.clone()), Some(basis)),
        None => (None, None),
    };
    let counted = raw.counted.max(1) as f64;
    let steps = sop
        .steps
        .iter()
        .zip(&raw.step_runs)
        .map(|(s, n)| StepReport { step: s.id.name.clone(), number: s.number.clone(), per_case: *n as f64 / counted })
        .collect();
    let mut ends: Vec<(String, u64)> = sop.ends.iter().zip(&raw.ends).map(|(e, n)| (e.id.name.clone(), *n)).collect();
    if let Some(n) = raw.ends.last().filter(|n| **n > 0 && raw.ends.len() > sop.ends.len()) {
        ends.push(("-".into(), *n));
    }
    let (start, bin, bins) = bins(lead.min, lead.max, day);
    let mut counts = vec![0u64; bins];
    for v in &raw.lead {
        let i = (((v - start) / bin).floor().max(0.0) as usize).min(bins - 1);
        counts[i] += 1;
    }
    let zone = calendar.time_zone();
    Report {
        sop: sop.id.name.clone(),
        title: sop.title.clone(),
        scenario: None,
        calendar: calendar.name().to_string(),
        time_zone: zone.name().to_string(),
        start: p.start.with_timezone(&zone).to_rfc3339(),
        seed: p.seed,
        arrivals_per_day: p.arrivals_per_day,
        cases: raw.arrived,
        warmup: p.warmup,
        counted: raw.counted,
        stuck: raw.stuck,
        day_length_minutes: p.day_length_minutes,
        main_path_minutes: p.main_path_minutes,
        lead_time_minutes: lead,
        lead_time_calendar_days: lead_days,
        targets,
        desks,
        bottleneck,
        bottleneck_basis,
        returned_share: raw.returned_cases as f64 / counted,
        mean_rounds: raw.rounds as f64 / counted,
        steps,
        ends,
        simulated_working_days: raw.last_event.max(raw.last_arrival) / day,
        histogram: Histogram { start_minutes: start, bin_minutes: bin, counts },
    }
}

/// Compiles an SOP file with the calendars of `calendars_dir` and compiles its calendar: for
/// programs and tests that simulate without the command line. Problems come back rendered.
pub fn load(path: &std::path::Path, calendars_dir: &std::path::Path) -> Result<(Sop, Calendar), String> {
    use crate::diagnostic::{render_all, Lang};
    let mut sources = crate::syntax::SourceMap::new();
    let (set, diagnostics) = crate::compile::calendar::load_dir(calendars_dir, &mut sources);
    if diagnostics.iter().any(crate::diagnostic::Diagnostic::is_error) {
        return Err(render_all(&sources, &diagnostics, Lang::En));
    }
    let set = std::sync::Arc::new(set);
    let names: Vec<String> = set.names().map(str::to_string).collect();
    let options =
        crate::compile::Options { calendars: Some(names), calendar_set: Some(set.clone()), ..Default::default() };
    let compiled = crate::compile::compile_path(path, &options);
    let errors: Vec<_> = compiled.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    let Some(sop) = compiled.sop.filter(|_| errors.is_empty()) else {
        return Err(render_all(&compiled.sources, &errors, Lang::En));
    };
    let name = sop.header.calendar.as_ref().map_or("wita_kantor".to_string(), |c| c.name.clone());
    let calendar = set.calendar(&name).map_err(|ds| render_all(&sources, &ds, Lang::En))?;
    Ok((sop, calendar))
}
