//! An SOP and a scenario lowered into what the event loop walks: a compact array of operations
//! (one per flow node) with successor tables, a desk per actor, and a pre-built duration sampler
//! per step, all in working minutes.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Triangular, Uniform};

use super::scenario::{parse_duration_minutes, Amount, DistSpec, Num, Problem, Scenario, StaffCount};
use crate::diagnostic::did_you_mean;
use crate::interpret::{route_alias, route_name, Interpreter};
use crate::model::{ClockPoint, ClockPolicy, Edge, Node, NodeIndex, Sop};
use crate::t;
use crate::time::{Calendar, Duration};

/// A duration sampler in working minutes.
#[derive(Clone, Debug)]
pub enum Sampler {
    Fixed(f64),
    Triangular(Triangular<f64>),
    Uniform(Uniform<f64>),
    LogNormal(LogNormal<f64>),
    Exponential(Exp<f64>),
}

impl Sampler {
    #[inline]
    pub fn sample<R: Rng>(&self, rng: &mut R) -> f64 {
        match self {
            Sampler::Fixed(v) => *v,
            Sampler::Triangular(d) => d.sample(rng),
            Sampler::Uniform(d) => d.sample(rng),
            Sampler::LogNormal(d) => d.sample(rng),
            Sampler::Exponential(d) => d.sample(rng),
        }
    }

    pub fn is_fixed(&self) -> bool {
        matches!(self, Sampler::Fixed(_))
    }
}

/// One way out of a branching point.
#[derive(Clone, Debug)]
pub struct Choice {
    /// Cumulative probability up to and including this choice.
    pub cumulative: f64,
    pub target: u32,
    /// Index into `Program::loops` when the choice sends the file back.
    pub rework: Option<u32>,
    /// The decision records its outcome: (index into `Program::records`, value index).
    pub record: Option<(u16, u16)>,
}

/// A gate that reads recorded decisions: its routes' conditions in written order, and whether
/// they read nothing else.
#[derive(Clone, Debug)]
pub struct GateConditions {
    pub conditions: Vec<Option<crate::model::Expr>>,
    pub records_only: bool,
}

/// A case field a decision records its outcome in (`keputusan catat FIELD`): the only case
/// data a simulated case has, which later gates read.
#[derive(Clone, Debug)]
pub struct RecordField {
    pub name: String,
    /// The values it can take: the outcomes recorded in it.
    pub values: Vec<crate::model::Value>,
}

#[derive(Clone, Debug)]
pub struct ReworkLoop {
    pub max_rounds: Option<u32>,
    pub clock: ClockPolicy,
}

/// Where a step's start or end moves a service clock.
#[derive(Clone, Copy, Debug)]
pub struct ClockHook {
    pub clock: u16,
    /// At the step's start (else its end).
    pub at_start: bool,
    /// Starts the clock (else stops it).
    pub starts: bool,
    /// A step the clock does not count: it stands still from the step's start to its end
    /// (`starts` is then unused).
    pub excludes: bool,
}

#[derive(Clone, Debug)]
pub enum Op {
    Goto(u32),
    Step {
        step: u32,
        desk: u32,
        next: u32,
        /// Calendar days of the standard (counted on the calendar, not sampled).
        calendar_days: u32,
        starts_next_workday: bool,
        /// Range into `Program::hooks`.
        hooks: (u32, u32),
        /// Done the moment it opens (the system does it alone): no desk, no time.
        at_once: bool,
    },
    /// A decision, a gate on case data or a choice between alternatives.
    Branch {
        /// For a gate whose conditions read recorded decisions: index into `Program::gates`;
        /// the recorded values decide it, and only where they cannot is it drawn at random.
        gate: Option<u32>,
        /// Range into `Program::choices`, and the fallback range without rework choices (for
        /// when a loop has used all its rounds).
        choices: (u32, u32),
        fallback: (u32, u32),
    },
    Split {
        /// Range into `Program::branches`.
        branches: (u32, u32),
        join: u32,
    },
    Join {
        slot: u32,
        next: u32,
    },
    End {
        end: Option<u32>,
    },
}

#[derive(Clone, Debug)]
pub struct Desk {
    pub actor: String,
    pub label: String,
    /// `None` is unlimited.
    pub staff: Option<u32>,
}

/// A step's hold in the simulation: a `share` of its tasks stand on hold for `length` working
/// minutes, the service clocks paused; a hold longer than `max` ends there and the case goes
/// to the op `expire` (the SOP's `penangguhan maks … -> TARGET`).
#[derive(Clone, Copy, Debug)]
pub struct HoldDraw {
    pub share: f64,
    pub length: f64,
    pub max: f64,
    pub expire: u32,
}

/// A service clock: from where to where it runs.
#[derive(Clone, Debug)]
pub struct Clock {
    pub from: Option<ClockPoint>,
    pub until: Option<ClockPoint>,
    /// Steps the clock does not count (`kecuali`): it stands still while one is open.
    pub excluded: Vec<String>,
}

/// A promise a case is measured against.
#[derive(Clone, Debug)]
pub struct Target {
    pub kind: TargetKind,
    pub label: String,
    pub clock: u16,
    pub limit_minutes: f64,
    pub duration: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// The stated total as written ("4 Hari 1 Jam 18 Menit").
    StatedTotal,
    /// Its rounding to whole days ("(5 Hari)").
    StatedRounded,
    /// A `standar_pelayanan`.
    ServiceStandard,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalPattern {
    Poisson,
    Regular,
}

#[derive(Clone, Debug)]
pub struct Program {
    pub ops: Vec<Op>,
    /// The fields decisions record, and per gate that reads them, its routes' conditions.
    pub records: Vec<RecordField>,
    pub gates: Vec<GateConditions>,
    pub entry: u32,
    pub choices: Vec<Choice>,
    pub branches: Vec<u32>,
    pub loops: Vec<ReworkLoop>,
    pub hooks: Vec<ClockHook>,
    pub joins: u32,
    pub desks: Vec<Desk>,
    /// Per step: its desk's sampler.
    pub samplers: Vec<Sampler>,
    /// Per step: its standard, when the scenario leaves it so and it counts days or has two
    /// parts (counted on the calendar instead of sampled).
    pub exact: Vec<Option<crate::time::StepTime>>,
    /// Per step with two parts: the first part's share of the whole, where the next working
    /// day comes between them.
    pub split: Vec<Option<f64>>,
    pub resubmit: Sampler,
    /// Per step: the scenario's holds of its task (`[tangguh.STEP]`), if any.
    pub holds: Vec<Option<HoldDraw>>,
    pub clocks: Vec<Clock>,
    pub targets: Vec<Target>,
    pub day_length_minutes: u32,
    /// Mean arrivals per working minute.
    pub arrival_rate: f64,
    pub arrivals_per_day: f64,
    pub pattern: ArrivalPattern,
    pub cases: u64,
    pub warmup: u64,
    pub seed: u64,
    /// When the first working minute of the simulation is.
    pub start: DateTime<Utc>,
    /// The main-path total in working minutes (`timing::totals`).
    pub main_path_minutes: f64,
    /// Whether every step is fixed, every desk unlimited and no branch random.
    pub deterministic: bool,
    /// Keep every step's times in `Raw::log` (for tests that follow one case).
    pub log_steps: bool,
}

/// What the command line adds to or overrides in the scenario.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub cases: Option<u64>,
    pub seed: Option<u64>,
    /// Whether names the SOP does not have are only warnings (for `--compare`).
    pub lenient_names: bool,
}

pub const DEFAULT_CASES: u64 = 10_000;
pub const DEFAULT_PER_DAY: f64 = 20.0;

struct Lowering<'a> {
    scenario: &'a Scenario,
    day: u32,
    problems: Vec<Problem>,
    lenient: bool,
}

impl Lowering<'_> {
    fn unknown(&mut self, span: std::ops::Range<usize>, what: &str, name: &str, known: Vec<&str>) {
        let message = match what {
            "step" => t!("langkah `{name}` tidak ada di SOP ini", "the SOP has no step `{name}`"),
            "actor" => t!("pelaksana `{name}` tidak ada di SOP ini", "the SOP has no actor `{name}`"),
            "point" => t!(
                "`{name}` bukan keputusan, langkah bersyarat atau alternatif di SOP ini",
                "`{name}` is not a decision, a conditional step or a set of alternatives in the SOP"
            ),
            _ => t!("pilihan `{name}` tidak ada di sini", "there is no outcome `{name}` here"),
        };
        let help = match did_you_mean(name, known.iter().copied()) {
            Some(s) => Some(t!("maksudnya `{s}`?", "did you mean `{s}`?")),
            None if !known.is_empty() => {
                let list = known.join(", ");
                Some(t!("yang dikenal: {list}", "known names: {list}"))
            }
            None => None,
        };
        let mut p = Problem::error(Some(span), message);
        p.help = help;
        p.warning = self.lenient;
        self.problems.push(p);
    }

    fn amount(&mut self, a: &toml::Spanned<Amount>, standard: Option<f64>, key: &str) -> Option<f64> {
        let span = a.span();
        match a.get_ref() {
            Amount::Factor(f) if f.is_finite() && *f >= 0.0 => Some(match standard {
                Some(s) => f * s,
                None => f * f64::from(self.day),
            }),
            Amount::Factor(f) => {
                self.problems.push(Problem::error(
                    Some(span),
                    t!("`{key}` = {f} tidak boleh negatif", "`{key}` = {f} must not be negative"),
                ));
                None
            }
            Amount::Text(text) => match parse_duration_minutes(text, self.day) {
                Some(m) => Some(m),
                None => {
                    self.problems.push(
                        Problem::error(
                            Some(span),
                            t!("`{text}` bukan lama waktu yang dikenal", "`{text}` is not a duration alur knows"),
                        )
                        .with_help(t!(
                            "tulis misalnya \"30 menit\", \"2 jam\" atau \"1.5 hari\" (hari = hari kerja)",
                            "write for example \"30 menit\", \"2 hours\" or \"1.5 days\" (days are working days)"
                        )),
                    );
                    None
                }
            },
        }
    }

    /// Builds a sampler around `standard` working minutes (None: resubmission, no standard).
    /// A step whose SOP states no time: the scenario gives it one, as a time ("2 jam"), not as a
    /// factor of a standard it does not have.
    fn untimed(&mut self, step: &crate::model::Step, spec: Option<&DistSpec>) {
        let id = step.id.as_str();
        let Some(spec) = spec else {
            self.problems.push(
                Problem::error(
                    None,
                    t!(
                        "langkah `{id}` tidak punya waktu di SOP (`waktu -`), jadi simulasi tidak tahu berapa lama langkah itu",
                        "step `{id}` has no time in the SOP (`takes -`), so the simulation cannot tell how long it takes"
                    ),
                )
                .with_help(t!(
                    "beri waktunya dalam skenario: [waktu.{id}] rerata = \"2 jam\"",
                    "give it a time in the scenario: [durations.{id}] mean = \"2 hours\""
                )),
            );
            return;
        };
        for amount in [&spec.mean, &spec.min, &spec.mode, &spec.max].into_iter().flatten() {
            if let Amount::Factor(f) = amount.get_ref() {
                self.problems.push(
                    Problem::error(
                        Some(amount.span()),
                        t!(
                            "{f} adalah faktor dari waktu langkah, tetapi langkah `{id}` tidak punya waktu di SOP",
                            "{f} is a factor of the step's time, but step `{id}` has no time in the SOP"
                        ),
                    )
                    .with_help(t!(
                        "tulis waktunya, misalnya \"45 menit\" atau \"1.5 hari\", di [waktu.{id}]",
                        "write a time such as \"45 minutes\" or \"1.5 days\" in [durations.{id}]"
                    )),
                );
            }
        }
    }

    fn sampler(&mut self, spec: Option<&DistSpec>, standard: Option<f64>) -> Sampler {
        let base = standard.unwrap_or(0.0);
        let Some(spec) = spec else { return Sampler::Fixed(base) };
        let kind = spec.distribution.as_ref().map(|d| (d.get_ref().to_lowercase(), d.span()));
        let mean = spec.mean.as_ref().and_then(|a| self.amount(a, standard, "mean")).unwrap_or(base);
        let (kind_name, kind_span) = match kind {
            Some((k, s)) => (k, Some(s)),
            None => ("fixed".to_string(), None),
        };
        match kind_name.as_str() {
            "fixed" | "tetap" => Sampler::Fixed(mean),
            "exponential" | "eksponensial" => match Exp::new(1.0 / mean.max(1e-9)) {
                Ok(d) if mean > 0.0 => Sampler::Exponential(d),
                _ => Sampler::Fixed(0.0),
            },
            "lognormal" => {
                let cv = spec.cv.as_ref().map_or(0.5, |c| c.get_ref().0);
                if !(cv.is_finite() && cv >= 0.0) {
                    let span = spec.cv.as_ref().map(|c| c.span());
                    self.problems.push(Problem::error(
                        span,
                        t!("`cv` harus angka 0 atau lebih", "`cv` must be a number of 0 or more"),
                    ));
                    return Sampler::Fixed(mean);
                }
                if cv == 0.0 || mean <= 0.0 {
                    return Sampler::Fixed(mean);
                }
                let sigma2 = (1.0 + cv * cv).ln();
                match LogNormal::new(mean.ln() - sigma2 / 2.0, sigma2.sqrt()) {
                    Ok(d) => Sampler::LogNormal(d),
                    Err(_) => Sampler::Fixed(mean),
                }
            }
            "triangular" | "segitiga" | "uniform" | "seragam" => {
                let triangular = matches!(kind_name.as_str(), "triangular" | "segitiga");
                let min = spec.min.as_ref().and_then(|a| self.amount(a, standard, "min"));
                let max = spec.max.as_ref().and_then(|a| self.amount(a, standard, "max"));
                let mode = spec.mode.as_ref().and_then(|a| self.amount(a, standard, "mode")).unwrap_or(base);
                let (Some(min), Some(max)) = (min, max) else {
                    self.problems.push(
                        Problem::error(
                            kind_span,
                            t!(
                                "distribusi `{kind_name}` butuh `min` dan `max`",
                                "a `{kind_name}` needs `min` and `max`"
                            ),
                        )
                        .with_help(t!(
                            "misalnya min = 0.5, modus = 1, max = 2 (kali waktu standar langkah)",
                            "for example min = 0.5, mode = 1, max = 2 (times the step's standard)"
                        )),
                    );
                    return Sampler::Fixed(base);
                };
                let ordered = if triangular { min <= mode && mode <= max } else { min <= max };
                if !ordered {
                    self.problems.push(Problem::error(
                        kind_span,
                        t!(
                            "harus min ≤ modus ≤ max (di sini {min:.1} / {mode:.1} / {max:.1} menit)",
                            "must be min ≤ mode ≤ max (here {min:.1} / {mode:.1} / {max:.1} minutes)"
                        ),
                    ));
                    return Sampler::Fixed(base);
                }
                if max - min < 1e-12 {
                    return Sampler::Fixed(min);
                }
                if triangular {
                    Triangular::new(min, max, mode).map(Sampler::Triangular).unwrap_or(Sampler::Fixed(mode))
                } else {
                    Sampler::Uniform(Uniform::new_inclusive(min, max))
                }
            }
            other => {
                self.problems.push(
                    Problem::error(
                        kind_span,
                        t!("distribusi `{other}` tidak dikenal", "unknown distribution `{other}`"),
                    )
                    .with_help(t!(
                        "pilih tetap, segitiga, seragam, lognormal atau eksponensial",
                        "use fixed, triangular, uniform, lognormal or exponential"
                    )),
                );
                Sampler::Fixed(base)
            }
        }
    }
}

/// Lowers an SOP for a scenario. Errors (and, with lenient names, warnings) come back with the
/// byte range in the scenario text they are about.
pub fn lower(
    sop: &Sop,
    calendar: &Calendar,
    scenario: &Scenario,
    overrides: &Overrides,
) -> (Option<Program>, Vec<Problem>) {
    if sop.needs_variant() {
        let list = sop.variant_list();
        let problem = Problem::error(
            None,
            t!(
                "SOP ini memiliki varian ({list}); simulasikan satu: `varian = \"…\"` di skenario",
                "this SOP has variants ({list}); simulate one: `variant = \"…\"` in the scenario"
            ),
        );
        return (None, vec![problem]);
    }
    let day = calendar.day_length_minutes().max(1);
    let mut l = Lowering { scenario, day, problems: Vec::new(), lenient: overrides.lenient_names };
    let desks = l.desks(sop);
    // The last desk: the one with no limit, for steps done at once and steps of no actor.
    let unlimited_desk = (desks.len() - 1) as u32;
    let (samplers, exact, split) = l.step_times(sop);
    let resubmit = l.resubmit();

    // What follows each node is the interpreter's answer; the program only stores it.
    let interpreter = Interpreter::new(sop);

    let holds = l.holds(sop, &interpreter);
    l.weighed_points(sop, &interpreter);
    let (clocks, targets) = clocks_and_targets(sop, day);
    let records = recorded_fields(sop);
    let Operations { ops, choices, branches, loops, hooks, join_slots, random, gates } =
        l.operations(sop, &interpreter, &clocks, &records, unlimited_desk);
    let (arrivals_per_day, pattern) = l.arrivals();
    let (cases, warmup, seed, start) = l.size_and_start(overrides, calendar, arrivals_per_day);

    let totals = crate::timing::totals(sop, day);
    let main_path_minutes = totals.main_path.duration.working_minutes(day) as f64;
    let deterministic = !random
        && samplers.iter().all(Sampler::is_fixed)
        && desks.iter().all(|d| d.staff.is_none())
        && resubmit.is_fixed()
        && holds.iter().all(Option::is_none);

    let has_errors = l.problems.iter().any(|p| !p.warning);
    let program = (!has_errors).then(|| Program {
        entry: sop.flow.start.index() as u32,
        ops,
        records,
        gates,
        choices,
        branches,
        loops,
        hooks,
        joins: join_slots.len() as u32,
        desks,
        samplers,
        exact,
        split,
        resubmit,
        holds,
        clocks,
        targets,
        day_length_minutes: day,
        arrival_rate: arrivals_per_day / f64::from(day),
        arrivals_per_day,
        pattern,
        cases,
        warmup: warmup.min(cases.saturating_sub(1)),
        seed,
        start,
        main_path_minutes,
        deterministic,
        log_steps: false,
    });
    (program, l.problems)
}

/// What [`Lowering::operations`] gives: one operation per flow node, and what they index.
struct Operations {
    ops: Vec<Op>,
    choices: Vec<Choice>,
    branches: Vec<u32>,
    loops: Vec<ReworkLoop>,
    hooks: Vec<ClockHook>,
    join_slots: BTreeMap<usize, u32>,
    /// Whether a choice is drawn at random.
    random: bool,
    gates: Vec<GateConditions>,
}

impl Lowering<'_> {
    /// Desks: one per actor, staffed as the scenario says, then one with no limit.
    fn desks(&mut self, sop: &Sop) -> Vec<Desk> {
        let actor_names: Vec<&str> = sop.actors.iter().map(|a| a.id.as_str()).collect();
        let mut desks: Vec<Desk> =
            sop.actors.iter().map(|a| Desk { actor: a.id.name.clone(), label: a.label.clone(), staff: None }).collect();
        for (name, count) in &self.scenario.staff {
            let Some(index) = sop.actors.iter().position(|a| a.id.name == *name.get_ref()) else {
                if sop.left_out_actors.iter().any(|a| a.name == *name.get_ref()) {
                    continue; // a desk of another variant
                }
                self.unknown(name.span(), "actor", name.get_ref(), actor_names.clone());
                continue;
            };
            match count.get_ref() {
                StaffCount::Count(n) if *n >= 1 && *n <= 1_000_000 => desks[index].staff = Some(*n as u32),
                StaffCount::Unlimited => desks[index].staff = None,
                _ => self.problems.push(
                    Problem::error(
                        Some(count.span()),
                        t!(
                            "jumlah petugas harus bilangan bulat 1 atau lebih",
                            "the staff count must be a whole number of 1 or more"
                        ),
                    )
                    .with_help(t!(
                        "tulis misalnya `front_office = 2`, atau \"tak_terbatas\"",
                        "write for example `front_office = 2`, or \"unlimited\""
                    )),
                ),
            }
        }
        desks.push(Desk { actor: "-".into(), label: "-".into(), staff: None });
        desks
    }

    /// Per step: how its time is drawn, whether it is counted exactly on the calendar, and the
    /// share of a two-part step before the next working day.
    fn step_times(&mut self, sop: &Sop) -> (Vec<Sampler>, Vec<Option<crate::time::StepTime>>, Vec<Option<f64>>) {
        let (day, step_names) = (self.day, sop.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>());
        let default_spec = self
            .scenario
            .durations
            .iter()
            .find(|(k, _)| matches!(k.get_ref().as_str(), "default" | "semua" | "bawaan"))
            .map(|(_, v)| v);
        for name in self.scenario.durations.keys() {
            let n = name.get_ref().as_str();
            let other_variant = sop.left_out.iter().any(|s| s.name == n);
            if !matches!(n, "default" | "semua" | "bawaan") && sop.step(n).is_none() && !other_variant {
                let mut known = step_names.clone();
                known.push("default");
                self.unknown(name.span(), "step", n, known);
            }
        }
        let mut samplers = Vec::with_capacity(sop.steps.len());
        let mut exact = Vec::with_capacity(sop.steps.len());
        let mut split = Vec::with_capacity(sop.steps.len());
        for step in &sop.steps {
            let stated = step.stated_duration();
            // A desk of a hand-off chain: its own entry (`[waktu."ketik.2"]`), else its row's, which
            // every desk of the row takes.
            let spec_of = |id: &str| self.scenario.durations.iter().find(|(k, _)| k.get_ref() == id).map(|(_, v)| v);
            let spec = spec_of(step.id.as_str()).or_else(|| spec_of(step.row_id().as_str())).or(default_spec);
            if step.time_not_stated() {
                // No standard to scale: the scenario must say how long the step takes, in time.
                self.untimed(step, spec);
            }
            let standard = stated.map(|d| d.working_minutes(day) as f64);
            // A step the scenario leaves at its standard, counted in days or in two parts with the
            // next working day between them, is counted on the calendar as the runtime counts it
            // (whole days land at the same time of day).
            let time = crate::time::StepTime { starts_next_workday: false, ..step.time() };
            let on_calendar =
                stated.is_some_and(|d| d.workdays > 0 || d.calendar_days > 0) || time.then_next_workday.is_some();
            exact.push((on_calendar && spec.is_none()).then_some(time));
            // Sampled, a two-part step still waits for the next working day after its first share.
            split.push(time.then_next_workday.map(|(first, _)| {
                let whole = stated.unwrap_or_default().working_minutes(day) as f64;
                if whole > 0.0 {
                    first.working_minutes(day) as f64 / whole
                } else {
                    0.0
                }
            }));
            let sampler = self.sampler(spec, standard.or(Some(0.0)));
            samplers.push(sampler);
        }
        (samplers, exact, split)
    }

    /// How long an applicant takes to resubmit a returned file.
    fn resubmit(&mut self) -> Sampler {
        match &self.scenario.resubmit {
            Some(spec) => {
                if spec.mean.is_none()
                    && spec.distribution.as_ref().is_some_and(|d| {
                        !matches!(d.get_ref().as_str(), "triangular" | "segitiga" | "uniform" | "seragam")
                    })
                {
                    self.problems.push(Problem::error(
                        spec.distribution.as_ref().map(|d| d.span()),
                        t!(
                            "`[perbaikan]` butuh `rerata`, misalnya rerata = \"2 hari\"",
                            "`[resubmit]` needs a `mean`, for example mean = \"2 hari\""
                        ),
                    ));
                }
                self.sampler(Some(spec), None)
            }
            None => Sampler::Fixed(0.0),
        }
    }

    // Holds: only where the SOP allows one; the maximum in working minutes (calendar days as
    // five working days a week: the simulator's axis is working time).
    fn holds(&mut self, sop: &Sop, interpreter: &Interpreter) -> Vec<Option<HoldDraw>> {
        let day = self.day;
        let mut holds: Vec<Option<HoldDraw>> = vec![None; sop.steps.len()];
        for (name, spec) in &self.scenario.holds {
            let n = name.get_ref().as_str();
            let Some(index) = sop.step_index(n) else {
                let known: Vec<&str> = sop.steps.iter().filter(|s| s.hold.is_some()).map(|s| s.id.as_str()).collect();
                self.unknown(name.span(), "step", n, known);
                continue;
            };
            let Some(rule) = &sop.steps[index].hold else {
                self.problems.push(
                    Problem::error(
                        Some(name.span()),
                        t!(
                            "langkah `{n}` tidak dapat ditangguhkan di SOP ini",
                            "step `{n}` may not be put on hold in the SOP"
                        ),
                    )
                    .with_help(t!(
                        "tulis `penangguhan maks … -> …` pada langkah itu di SOP, atau hapus `[tangguh.{n}]`",
                        "write `hold max … -> …` on that step in the SOP, or remove `[holds.{n}]`"
                    )),
                );
                continue;
            };
            let share = spec.share.as_ref().map_or(f64::NAN, |s| s.get_ref().0);
            let length = spec.length.as_ref().and_then(|t| super::scenario::parse_duration_minutes(t.get_ref(), day));
            match (share, length) {
                (share, Some(length)) if (0.0..=1.0).contains(&share) => {
                    let max = rule.max.working_minutes(day) as f64
                        + f64::from(rule.max.calendar_days) * f64::from(day) * 5.0 / 7.0;
                    let expire = interpreter.after_hold(sop, index).map_or(u32::MAX, |t| t.index() as u32);
                    holds[index] = Some(HoldDraw { share, length, max, expire });
                }
                _ => self.problems.push(
                    Problem::error(
                        Some(name.span()),
                        t!(
                            "`[tangguh.{n}]` butuh `peluang` antara 0 dan 1 dan `lama` seperti \"3 hari\"",
                            "`[holds.{n}]` needs a `share` between 0 and 1 and a `length` such as \"3 days\""
                        ),
                    )
                    .with_help(t!(
                        "misalnya: peluang = 0.1, lama = \"3 hari\"",
                        "for example: share = 0.1, length = \"3 days\""
                    )),
                ),
            }
        }
        holds
    }

    // Branching points that the scenario may weigh, by the name of the row they are on (a
    // hand-off chain decides at its last desk).
    /// Checks the scenario's weights of them.
    fn weighed_points(&mut self, sop: &Sop, interpreter: &Interpreter) {
        let graph = &sop.flow.graph;
        let mut points: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for node in graph.node_indices() {
            let (key, guard) = match graph.node_weight(node) {
                Some(Node::Decision { step }) => (sop.steps.get(*step).map(|s| s.row_id().name.clone()), false),
                Some(Node::Gate { step, guards_step }) => {
                    (sop.steps.get(*step).map(|s| s.row_id().name.clone()), *guards_step)
                }
                Some(Node::Choice { name }) => (name.clone(), false),
                _ => (None, false),
            };
            let Some(key) = key else { continue };
            let entry = points.entry(key).or_default();
            for (target, edge) in interpreter.routes(sop, node) {
                entry.push(route_name(sop, edge, target, guard));
            }
        }
        for (point, outcomes) in &self.scenario.outcomes {
            let Some(known) = points.get(point.get_ref()).cloned() else {
                if sop.left_out.iter().any(|s| s.name == *point.get_ref()) {
                    continue; // a decision of another variant
                }
                self.unknown(point.span(), "point", point.get_ref(), points.keys().map(String::as_str).collect());
                continue;
            };
            let mut sum = 0.0;
            for (name, p) in outcomes {
                if !known.iter().any(|k| k == route_alias(name.get_ref())) {
                    self.unknown(name.span(), "outcome", name.get_ref(), known.iter().map(String::as_str).collect());
                }
                let Num(v) = *p.get_ref();
                if !(0.0..=1.0).contains(&v) {
                    self.problems.push(
                        Problem::error(
                            Some(p.span()),
                            t!("peluang {v} harus di antara 0 dan 1", "the probability {v} must be between 0 and 1"),
                        )
                        .with_help(t!("20% ditulis 0.2", "write 20% as 0.2")),
                    );
                }
                sum += v;
            }
            if sum > 1.0 + 1e-9 {
                let name = point.get_ref();
                let sum = (sum * 1e6).round() / 1e6;
                self.problems.push(Problem::error(
                    Some(point.span()),
                    t!(
                        "peluang pilihan `{name}` berjumlah {sum}, lebih dari 1",
                        "the probabilities of `{name}` add up to {sum}, more than 1"
                    ),
                ));
            }
        }
    }

    /// The operations, one per flow node.
    fn operations(
        &mut self,
        sop: &Sop,
        interpreter: &Interpreter,
        clocks: &[Clock],
        records: &[RecordField],
        unlimited_desk: u32,
    ) -> Operations {
        let l = self;
        let graph = &sop.flow.graph;
        let mut ops: Vec<Op> = Vec::with_capacity(graph.node_count());
        let mut choices: Vec<Choice> = Vec::new();
        let mut branches: Vec<u32> = Vec::new();
        let mut loops: Vec<ReworkLoop> = Vec::new();
        let mut hooks: Vec<ClockHook> = Vec::new();
        let mut join_slots: BTreeMap<usize, u32> = BTreeMap::new();
        let mut random = false;
        let next_of = |node: NodeIndex| -> Option<u32> {
            let next = match graph.node_weight(node) {
                Some(Node::Step { step }) => interpreter.exit(sop, *step),
                _ => interpreter.routes(sop, node).find(|(_, e)| !e.on_time_out()).map(|(t, _)| t),
            };
            next.map(|t| t.index() as u32)
        };
        let record_of = |step: usize, outcome: &str| -> Option<(u16, u16)> {
            let field = sop.steps.get(step)?.decision.as_ref()?.record.as_ref()?;
            let slot = records.iter().position(|r| r.name == field.name)?;
            let value = records[slot]
                .values
                .iter()
                .position(|v| matches!(v, crate::model::Value::Choice(c) if c == outcome))?;
            Some((slot as u16, value as u16))
        };
        let mut gates: Vec<GateConditions> = Vec::new();

        for node in graph.node_indices() {
            let op = match graph.node_weight(node) {
                None => Op::End { end: None },
                Some(Node::Start) => next_of(node).map_or(Op::End { end: None }, Op::Goto),
                Some(Node::End { end }) => Op::End { end: Some(*end as u32) },
                Some(Node::Step { step }) => {
                    let s = &sop.steps[*step];
                    let desk = s
                        .actor_ids()
                        .next()
                        .and_then(|a| sop.actors.iter().position(|x| x.id.name == a))
                        .map_or(unlimited_desk, |i| i as u32);
                    let first = hooks.len() as u32;
                    for (i, clock) in clocks.iter().enumerate().skip(1) {
                        for (point, starts) in [(&clock.from, true), (&clock.until, false)] {
                            match point {
                                Some(ClockPoint::StartOf(n)) if n.name == s.id.name => {
                                    hooks.push(ClockHook { clock: i as u16, at_start: true, starts, excludes: false })
                                }
                                Some(ClockPoint::EndOf(n)) if n.name == s.id.name => {
                                    hooks.push(ClockHook { clock: i as u16, at_start: false, starts, excludes: false })
                                }
                                _ => {}
                            }
                        }
                        if clock.excluded.contains(&s.id.name) {
                            for at_start in [true, false] {
                                hooks.push(ClockHook { clock: i as u16, at_start, starts: false, excludes: true });
                            }
                        }
                    }
                    let at_once = interpreter.done_at_once(*step);
                    match next_of(node) {
                        Some(next) => Op::Step {
                            step: *step as u32,
                            desk: if at_once { unlimited_desk } else { desk },
                            at_once,
                            next,
                            calendar_days: s.stated_duration().map_or(0, |d| d.calendar_days),
                            starts_next_workday: s.starts_next_workday,
                            hooks: (first, hooks.len() as u32),
                        },
                        None => Op::End { end: None },
                    }
                }
                Some(Node::Split { .. }) => {
                    let first = branches.len() as u32;
                    branches.extend(interpreter.routes(sop, node).map(|(t, _)| t.index() as u32));
                    let join = interpreter.join_of(sop, node).unwrap_or(NodeIndex::new(node.index() + 1));
                    let slot = join_slots.len() as u32;
                    join_slots.insert(join.index(), slot);
                    Op::Split { branches: (first, branches.len() as u32), join: slot }
                }
                Some(Node::Join { .. }) => Op::Join { slot: u32::MAX, next: next_of(node).unwrap_or(u32::MAX) },
                Some(w @ (Node::Decision { .. } | Node::Gate { .. } | Node::Choice { .. })) => {
                    let (key, guard) = match w {
                        Node::Decision { step } | Node::Gate { step, guards_step: false } => {
                            (sop.steps.get(*step).map(|s| s.row_id().name.clone()), false)
                        }
                        Node::Gate { step, guards_step: true } => {
                            (sop.steps.get(*step).map(|s| s.row_id().name.clone()), true)
                        }
                        Node::Choice { name } => (name.clone(), false),
                        _ => (None, false),
                    };
                    let weights: Option<&BTreeMap<toml::Spanned<String>, toml::Spanned<Num>>> = key
                        .as_ref()
                        .and_then(|k| l.scenario.outcomes.iter().find(|(p, _)| p.get_ref() == k).map(|(_, v)| v));
                    let edges: Vec<(NodeIndex, &Edge)> = interpreter.routes(sop, node).collect();
                    let decision_step = match w {
                        Node::Decision { step } => Some(*step),
                        _ => None,
                    };
                    let record = |e: &Edge| match (decision_step, e) {
                        (Some(step), Edge::Outcome { name, .. }) => record_of(step, name),
                        _ => None,
                    };
                    // A gate that reads recorded decisions is decided by them.
                    let gate = match w {
                        Node::Gate { .. } => {
                            let conditions: Vec<Option<crate::model::Expr>> =
                                interpreter.gate_conditions(sop, node).map(|c| c.cloned()).collect();
                            let reads_records = conditions
                                .iter()
                                .flatten()
                                .any(|c| c.fields().iter().any(|f| records.iter().any(|r| r.name == *f)));
                            // Only recorded decisions read: a field nobody recorded on the case's way
                            // counts as false, as in the runtime; anything else read is drawn.
                            let records_only = conditions
                                .iter()
                                .flatten()
                                .all(|c| c.fields().iter().all(|f| records.iter().any(|r| r.name == *f)));
                            reads_records.then(|| {
                                gates.push(GateConditions { conditions, records_only });
                                (gates.len() - 1) as u32
                            })
                        }
                        _ => None,
                    };
                    // Probabilities: as written; the rest goes to the main-path choice (the first
                    // accepting outcome, as `timing::totals` takes it).
                    let names: Vec<String> = edges.iter().map(|(t, e)| route_name(sop, e, *t, guard)).collect();
                    let mut probs: Vec<Option<f64>> = names
                        .iter()
                        .map(|n| {
                            weights.and_then(|w| {
                                w.iter().find(|(k, _)| route_alias(k.get_ref()) == n).map(|(_, v)| v.get_ref().0)
                            })
                        })
                        .collect();
                    let written: f64 = probs.iter().flatten().sum();
                    let main = edges
                        .iter()
                        .position(|(_, e)| matches!(e, Edge::Outcome { rework: None, .. }))
                        .filter(|_| matches!(w, Node::Decision { .. }))
                        .unwrap_or(0);
                    let main = if probs.get(main).is_some_and(Option::is_none) {
                        main
                    } else {
                        probs.iter().position(Option::is_none).unwrap_or(main)
                    };
                    if let Some(p) = probs.get_mut(main) {
                        if p.is_none() {
                            *p = Some((1.0 - written).max(0.0));
                        }
                    }
                    let total: f64 = probs.iter().flatten().sum();
                    if (total - 1.0).abs() > 1e-9 && total > 0.0 && written <= 1.0 + 1e-9 {
                        if let Some((point, _)) =
                            key.as_ref().and_then(|k| l.scenario.outcomes.iter().find(|(p, _)| p.get_ref() == k))
                        {
                            let k = point.get_ref();
                            let total = (total * 1e6).round() / 1e6;
                            l.problems.push(
                                Problem::error(
                                    Some(point.span()),
                                    t!(
                                        "peluang pilihan `{k}` berjumlah {total}, bukan 1",
                                        "the probabilities of `{k}` add up to {total}, not 1"
                                    ),
                                )
                                .with_help(t!(
                                    "biarkan satu pilihan tidak ditulis agar menerima sisanya",
                                    "leave one outcome out to give it the rest"
                                )),
                            );
                        }
                    }
                    let first = choices.len() as u32;
                    let mut cumulative = 0.0;
                    let mut rework_ids = Vec::new();
                    for (e, p) in edges.iter().zip(&probs) {
                        let p = p.unwrap_or(0.0);
                        if p > 0.0 && p < 1.0 {
                            random = true;
                        }
                        cumulative += p;
                        let rework = match e.1 {
                            Edge::Outcome { rework: Some(r), .. } => {
                                loops.push(ReworkLoop { max_rounds: r.max_rounds, clock: r.clock });
                                Some((loops.len() - 1) as u32)
                            }
                            _ => None,
                        };
                        rework_ids.push(rework);
                        choices.push(Choice { cumulative, target: e.0.index() as u32, rework, record: record(e.1) });
                    }
                    let end = choices.len() as u32;
                    let endless = edges.iter().zip(&probs).any(|((_, e), p)| {
                        matches!(e, Edge::Outcome { rework: Some(r), .. } if r.max_rounds.is_none())
                            && p.unwrap_or(0.0) >= 1.0 - 1e-12
                    });
                    if endless {
                        let point = key
                            .as_ref()
                            .and_then(|k| l.scenario.outcomes.iter().find(|(p, _)| p.get_ref() == k))
                            .map(|(p, _)| p.span());
                        let k = key.clone().unwrap_or_default();
                        l.problems.push(
                            Problem::error(
                                point,
                                t!(
                                    "di `{k}` setiap berkas dikembalikan dan putarannya tidak dibatasi: tidak ada kasus yang selesai",
                                    "at `{k}` every file is returned and the rounds are not limited: no case would ever end"
                                ),
                            )
                            .with_help(t!(
                                "beri pengembalian peluang di bawah 1, atau batasi putarannya di SOP (`maks 3 kali`)",
                                "give the return a probability below 1, or limit its rounds in the SOP (`maks 3 kali`)"
                            )),
                        );
                    }
                    // The fallback: the same choices without rework, renormalised.
                    let fb_first = choices.len() as u32;
                    let kept: f64 = edges
                        .iter()
                        .zip(&probs)
                        .zip(&rework_ids)
                        .filter(|(_, r)| r.is_none())
                        .map(|((_, p), _)| p.unwrap_or(0.0))
                        .sum();
                    let mut c = 0.0;
                    let mut any = false;
                    for ((e, p), r) in edges.iter().zip(&probs).zip(&rework_ids) {
                        if r.is_some() {
                            continue;
                        }
                        let share = if kept > 0.0 {
                            p.unwrap_or(0.0) / kept
                        } else if !any {
                            1.0
                        } else {
                            0.0
                        };
                        any = true;
                        c += share;
                        choices.push(Choice {
                            cumulative: c,
                            target: e.0.index() as u32,
                            rework: None,
                            record: record(e.1),
                        });
                    }
                    Op::Branch { gate, choices: (first, end), fallback: (fb_first, choices.len() as u32) }
                }
            };
            ops.push(op);
        }
        for (join, slot) in &join_slots {
            if let Some(Op::Join { slot: s, .. }) = ops.get_mut(*join) {
                *s = *slot;
            }
        }
        Operations { ops, choices, branches, loops, hooks, join_slots, random, gates }
    }

    /// The arrivals a day, and their pattern.
    fn arrivals(&mut self) -> (f64, ArrivalPattern) {
        let l = self;
        let day = l.day;
        let arrivals = l.scenario.arrivals.clone().unwrap_or_default();
        let per_day = match (&arrivals.per_day, &arrivals.per_hour) {
            (Some(d), _) => Some((d.get_ref().0, d.span())),
            (None, Some(h)) => Some((h.get_ref().0 * f64::from(day) / 60.0, h.span())),
            (None, None) => None,
        };
        let arrivals_per_day = match per_day {
            Some((v, _)) if v.is_finite() && v > 0.0 => v,
            Some((_, span)) => {
                l.problems.push(Problem::error(
                    Some(span),
                    t!("jumlah kedatangan harus lebih dari 0", "the arrival rate must be more than 0"),
                ));
                DEFAULT_PER_DAY
            }
            None => DEFAULT_PER_DAY,
        };
        let pattern = match arrivals.pattern.as_ref().map(|p| (p.get_ref().as_str(), p.span())) {
            None | Some(("poisson" | "acak" | "random", _)) => ArrivalPattern::Poisson,
            Some(("regular" | "teratur", _)) => ArrivalPattern::Regular,
            Some((other, span)) => {
                l.problems.push(
                    Problem::error(
                        Some(span),
                        t!("pola kedatangan `{other}` tidak dikenal", "unknown arrival pattern `{other}`"),
                    )
                    .with_help(t!("pilih poisson atau teratur", "use poisson or regular")),
                );
                ArrivalPattern::Poisson
            }
        };
        (arrivals_per_day, pattern)
    }

    /// How many cases (or days), the warm-up, the seed and the start.
    fn size_and_start(
        &mut self,
        overrides: &Overrides,
        calendar: &Calendar,
        arrivals_per_day: f64,
    ) -> (u64, u64, u64, DateTime<Utc>) {
        let scenario = self.scenario;
        let l = self;
        let positive = |l: &mut Lowering, v: &Option<toml::Spanned<i64>>, zero_ok: bool| -> Option<u64> {
            let v = v.as_ref()?;
            let n = *v.get_ref();
            if n < i64::from(!zero_ok) || n > 1_000_000_000 {
                l.problems.push(Problem::error(
                    Some(v.span()),
                    t!("{n} di luar batas (1 sampai 1.000.000.000)", "{n} is out of range (1 to 1,000,000,000)"),
                ));
                return None;
            }
            Some(n as u64)
        };
        let cases_written = positive(l, &scenario.cases, false);
        let days_written = positive(l, &scenario.days, false);
        let warmup = positive(l, &scenario.warmup, true).unwrap_or(0);
        let cases = overrides
            .cases
            .or(cases_written)
            .or(days_written.map(|d| ((d as f64) * arrivals_per_day).round().max(1.0) as u64))
            .unwrap_or(DEFAULT_CASES);
        let seed = overrides.seed.or(l.scenario.seed).unwrap_or(1);
        let start = match &l.scenario.start {
            None => calendar.next_opening(
                calendar
                    .time_zone()
                    .from_local_datetime(
                        &NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default().and_time(chrono::NaiveTime::MIN),
                    )
                    .earliest()
                    .map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc)),
            ),
            Some(text) => match parse_start(text.get_ref(), calendar) {
                Some(t) => calendar.next_opening(t),
                None => {
                    let shown = text.get_ref();
                    l.problems.push(
                        Problem::error(
                            Some(text.span()),
                            t!("waktu mulai `{shown}` tidak dimengerti", "cannot read the start `{shown}`"),
                        )
                        .with_help(t!("tulis misalnya \"2026-01-05 07:30\"", "write for example \"2026-01-05 07:30\"")),
                    );
                    DateTime::<Utc>::MIN_UTC
                }
            },
        };
        (cases, warmup, seed, start)
    }
}

/// Clocks: 0 is the whole case; then one per service standard. And the targets each is held to.
fn clocks_and_targets(sop: &Sop, day: u32) -> (Vec<Clock>, Vec<Target>) {
    let mut clocks = vec![Clock { from: None, until: None, excluded: Vec::new() }];
    let mut targets = Vec::new();
    if let Some(stated) = &sop.header.stated_total {
        targets.push(Target {
            kind: TargetKind::StatedTotal,
            label: stated.duration.display(crate::diagnostic::Lang::Id),
            clock: 0,
            limit_minutes: stated.duration.working_minutes(day) as f64,
            duration: stated.duration,
        });
        if let Some(days) = stated.rounded_workdays {
            let duration = Duration::workdays(days);
            targets.push(Target {
                kind: TargetKind::StatedRounded,
                label: format!("{days} Hari"),
                clock: 0,
                limit_minutes: f64::from(days) * f64::from(day),
                duration,
            });
        }
    }
    for standard in &sop.header.service_standards {
        let until = sop.promise_until(standard);
        let clock = if standard.from.is_none() && until.is_none() && standard.excluded.is_empty() {
            0
        } else {
            clocks.push(Clock {
                from: standard.from.clone(),
                until,
                excluded: standard.excluded.iter().map(|n| n.name.clone()).collect(),
            });
            (clocks.len() - 1) as u16
        };
        targets.push(Target {
            kind: TargetKind::ServiceStandard,
            label: standard.label.clone().unwrap_or_else(|| standard.duration.display(crate::diagnostic::Lang::Id)),
            clock,
            limit_minutes: standard.duration.working_minutes(day) as f64,
            duration: standard.duration,
        });
    }
    (clocks, targets)
}

/// The fields decisions record their outcome in, with the values each may take.
fn recorded_fields(sop: &Sop) -> Vec<RecordField> {
    let mut records: Vec<RecordField> = Vec::new();
    for step in &sop.steps {
        let Some(decision) = &step.decision else { continue };
        let Some(field) = &decision.record else { continue };
        let slot = match records.iter().position(|r| r.name == field.name) {
            Some(slot) => slot,
            None => {
                records.push(RecordField { name: field.name.clone(), values: Vec::new() });
                records.len() - 1
            }
        };
        for o in &decision.outcomes {
            let value = crate::model::Value::Choice(o.name.name.clone());
            if !records[slot].values.contains(&value) {
                records[slot].values.push(value);
            }
        }
    }
    records
}

/// "2026-01-05 07:30" (or a date) in the calendar's zone, or RFC 3339 with an offset.
pub fn parse_start(text: &str, calendar: &Calendar) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(|d| d.and_time(chrono::NaiveTime::MIN)))?;
    calendar.time_zone().from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
}
