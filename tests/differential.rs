//! One meaning of a flow, proven by running it three ways: on generated SOPs (decisions,
//! recorded decisions, conditional routes and steps, parallel blocks, alternatives, returns with
//! limits and clock policies, deadline actions and routes, sub-procedure calls, steps the system
//! does at once) and on every shipped SOP, the tasks the runtime opens (in-memory store, manual
//! clock, each task completed the moment it falls due), the case `alur time` traces for the same
//! outcomes, and the one case the simulator runs with zero variability and those outcomes forced
//! are the same, at the same instants. A call's task is completed when due with one of the called
//! SOP's ends, standing in for the child case (the trace counts the step by its own Waktu).

use std::collections::BTreeMap;
use std::sync::Arc;

use alur::compile::Options;
use alur::interpret::trace::{trace, Choices, Fields};
use alur::interpret::{route_name, Interpreter, Trace};
use alur::model::{Node, NodeIndex, Sop, Value};
use alur::runtime::{Caller, CaseStatus, Completion, Engine, Event, ManualClock, MemoryStore, RuntimeError};
use alur::time::Calendar;
use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn calendar_sources() -> Vec<(String, String)> {
    let dir = root().join("sop/calendars");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sop"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    out
}

fn calendar(name: &str) -> Calendar {
    let mut sources = alur::syntax::SourceMap::new();
    let (set, diagnostics) = alur::compile::calendar::load_dir(&root().join("sop/calendars"), &mut sources);
    assert!(diagnostics.iter().all(|d| !d.is_error()));
    set.calendar(name).unwrap()
}

// ---------------------------------------------------------------- generated SOPs

#[derive(Clone, Debug)]
enum Kind {
    Plain,
    /// Outcomes: (goes on, ends refused, returns to an earlier top-level step); recorded or not.
    Decision {
        outcomes: Vec<Out>,
        record: bool,
    },
    /// `jika flagN`.
    Guarded(usize),
    /// `lanjut ke ditolak jika COND` (on a recorded decision when there is one, else a flag).
    Routes(usize),
    /// `panggil "sub.sop"`: the sub-procedure's ends are the step's outcomes.
    Call,
}

/// The sub-procedure generated SOPs call: two steps, two ends.
const SUB_SOP: &str = "sop sub \"Rekomendasi teknis\" {
    kalender wita_kantor
    pelaksana {
        teknis \"Tim Teknis\" staf
    }
    selesai {
        layak \"Layak\"
        tidak_layak \"Tidak layak\"
    }
    langkah 1 periksa oleh teknis {
        kegiatan \"Memeriksa\"
        waktu 1 jam
        keputusan {
            layak -> lanjut
            tidak_layak -> tidak_layak
        }
    }
    langkah 2 tulis oleh teknis {
        kegiatan \"Menulis rekomendasi\"
        waktu 30 menit
    }
}
";

/// Serves `sub.sop` to the compiler.
struct SubLoader;

impl alur::compile::Loader for SubLoader {
    fn load(
        &self,
        _from: Option<&std::path::Path>,
        path: &str,
    ) -> Result<(std::path::PathBuf, Vec<u8>), alur::diagnostic::Text> {
        match path {
            "sub.sop" => Ok((std::path::PathBuf::from("sub.sop"), SUB_SOP.as_bytes().to_vec())),
            other => Err(alur::diagnostic::Text::new(format!("{other}: tidak ada"), format!("{other}: not found"))),
        }
    }
}

#[derive(Clone, Debug)]
enum Out {
    Next,
    End,
    Back { offset: usize, max: u32, clock: usize },
}

#[derive(Clone, Debug)]
struct GStep {
    actor: usize,
    minutes: u32,
    hours: u32,
    days: u32,
    next_workday: bool,
    kind: Kind,
    deadline: usize,
    /// `waktu ..., lalu hari_berikutnya N jam` (0: one part only).
    then_hours: u32,
    /// `penangguhan maks 3 hari -> ditolak`: a hold's way out, which no run takes (nothing is
    /// held) and which must not change where the case goes.
    hold: bool,
    /// A hand-off chain: the desks after the first, each (actor, share in minutes).
    chain: Vec<(usize, u32)>,
}

#[derive(Clone, Debug)]
enum Elem {
    Step(GStep),
    Parallel(Vec<Vec<GStep>>),
    Alternatives(Vec<GStep>),
}

const ACTORS: [&str; 5] = ["pemohon", "loket", "teknis", "kabid", "sistem"];

fn plain_step() -> impl Strategy<Value = GStep> {
    (
        0usize..5,
        0u32..90,
        0u32..3,
        0u32..3,
        proptest::bool::weighted(0.15),
        0usize..4,
        (prop::option::weighted(0.15, 1u32..9), proptest::bool::weighted(0.15)),
        prop::option::weighted(0.2, prop::collection::vec((0usize..5, 0u32..60), 1..3)),
    )
        .prop_map(|(actor, minutes, hours, days, next_workday, deadline, (then, hold), chain)| GStep {
            actor,
            minutes: if minutes < 10 { 0 } else { minutes },
            hours,
            days: if days == 2 { 0 } else { days },
            next_workday,
            kind: Kind::Plain,
            deadline,
            then_hours: then.unwrap_or(0),
            // Only the office's staff hold a task (E215).
            hold: hold && (1..=3).contains(&actor),
            chain: chain.unwrap_or_default(),
        })
}

fn out_strategy() -> impl Strategy<Value = Out> {
    prop_oneof![
        3 => Just(Out::Next),
        1 => Just(Out::End),
        2 => (1usize..4, 1u32..3, 0usize..3).prop_map(|(offset, max, clock)| Out::Back { offset, max, clock }),
    ]
}

fn top_step() -> impl Strategy<Value = GStep> {
    let kind = prop_oneof![
        4 => Just(Kind::Plain),
        3 => (prop::collection::vec(out_strategy(), 1..3), any::<bool>()).prop_map(|(rest, record)| {
            // The first outcome goes on, so a return past its limit has a way out.
            let mut outcomes = vec![Out::Next];
            outcomes.extend(rest);
            Kind::Decision { outcomes, record }
        }),
        2 => (0usize..2).prop_map(Kind::Guarded),
        2 => (0usize..8).prop_map(Kind::Routes),
        1 => Just(Kind::Call),
    ];
    (plain_step(), kind).prop_map(|(mut s, kind)| {
        // A step the system does alone takes no decision (it would wait for one); a chain decides
        // at its last desk.
        if matches!(kind, Kind::Decision { .. } | Kind::Call) {
            match s.chain.last_mut() {
                Some((actor, _)) if *actor == 4 => *actor = 2,
                None if s.actor == 4 => s.actor = 2,
                _ => {}
            }
        }
        s.kind = kind;
        s
    })
}

fn branch_step() -> impl Strategy<Value = GStep> {
    (plain_step(), prop::option::of(0usize..2)).prop_map(|(mut s, guard)| {
        // No route leaves a parallel branch (E207), a deadline route neither.
        if s.deadline == 3 {
            s.deadline = 0;
        }
        s.hold = false;
        if let Some(flag) = guard {
            s.kind = Kind::Guarded(flag);
        }
        s
    })
}

fn elem() -> impl Strategy<Value = Elem> {
    prop_oneof![
        6 => top_step().prop_map(Elem::Step),
        1 => prop::collection::vec(prop::collection::vec(branch_step(), 1..3), 2..4).prop_map(Elem::Parallel),
        1 => prop::collection::vec(plain_step(), 2..4).prop_map(Elem::Alternatives),
    ]
}

fn sop_strategy() -> impl Strategy<Value = Vec<Elem>> {
    // The first element is a plain step, so every return has somewhere to go back to.
    (plain_step(), prop::collection::vec(elem(), 1..7)).prop_map(|(first, mut rest)| {
        rest.insert(0, Elem::Step(first));
        rest
    })
}

/// Writes the generated structure as a `.sop` file.
fn write_sop(elems: &[Elem]) -> String {
    let mut body = String::new();
    let mut number = 0usize;
    let mut top_ids: Vec<String> = Vec::new();
    let mut records: Vec<(String, Vec<String>)> = Vec::new();
    let mut alternatives = 0;
    let step_text = |s: &GStep, number: usize, id: &str, indent: &str, extra: &str| -> String {
        // A hand-off chain: `oleh a -> b -> c`.
        let by: Vec<&str> =
            std::iter::once(s.actor).chain(s.chain.iter().map(|(a, _)| *a)).map(|a| ACTORS[a]).collect();
        let mut out = format!("{indent}langkah {number} {id} oleh {} {{\n", by.join(" -> "));
        out.push_str(&format!("{indent}    kegiatan \"Langkah {number}\"\n"));
        let mut waktu = Vec::new();
        if s.days > 0 {
            waktu.push(format!("{} hari", s.days));
        }
        if s.hours > 0 {
            waktu.push(format!("{} jam", s.hours));
        }
        if s.minutes > 0 || waktu.is_empty() {
            waktu.push(format!("{} menit", s.minutes));
        }
        let then =
            if s.then_hours > 0 { format!(", lalu hari_berikutnya {} jam", s.then_hours) } else { String::new() };
        if s.chain.is_empty() {
            out.push_str(&format!("{indent}    waktu {}{then}\n", waktu.join(" ")));
        } else if s.days == 0 {
            // The row's time, split evenly over the desks.
            let minutes = s.hours * 60 + s.minutes + s.chain.iter().map(|(_, m)| m).sum::<u32>();
            out.push_str(&format!("{indent}    waktu {minutes} menit\n"));
        } else {
            // Each desk's share.
            let shares: Vec<String> = s.chain.iter().map(|(_, m)| format!("{m} menit")).collect();
            out.push_str(&format!("{indent}    waktu {} -> {}\n", waktu.join(" "), shares.join(" -> ")));
        }
        if s.next_workday {
            out.push_str(&format!("{indent}    mulai hari_berikutnya\n"));
        }
        match s.deadline {
            1 => out.push_str(&format!("{indent}    terlambat eskalasi ke kabid\n")),
            2 => out.push_str(&format!("{indent}    terlambat beritahu kabid\n")),
            3 => out.push_str(&format!("{indent}    terlambat lanjut ke ditolak\n")),
            _ => {}
        }
        if s.hold {
            out.push_str(&format!("{indent}    penangguhan maks 3 hari -> ditolak\n"));
        }
        out.push_str(extra);
        out.push_str(&format!("{indent}}}\n"));
        out
    };
    for e in elems {
        match e {
            Elem::Step(s) => {
                number += 1;
                let id = format!("s{number}");
                let mut extra = String::new();
                match &s.kind {
                    Kind::Plain => {}
                    Kind::Call => extra.push_str(
                        "        panggil \"sub.sop\"\n        keputusan {\n            layak -> lanjut\n            tidak_layak -> ditolak\n        }\n",
                    ),
                    Kind::Guarded(flag) => extra.push_str(&format!("        jika flag{flag}\n")),
                    Kind::Routes(pick) => {
                        let condition = match records.get(pick % records.len().max(1)) {
                            Some((field, values)) if pick % 3 != 0 => {
                                format!("{field} == {}", values[pick % values.len()])
                            }
                            _ => format!("flag{}", pick % 2),
                        };
                        extra.push_str(&format!("        lanjut ke ditolak jika {condition}\n"));
                    }
                    Kind::Decision { outcomes, record } => {
                        let names: Vec<String> = (0..outcomes.len()).map(|i| format!("h{number}o{i}")).collect();
                        let field = format!("hasil{number}");
                        extra.push_str(&format!(
                            "        keputusan{} {{\n",
                            if *record { format!(" catat {field}") } else { String::new() }
                        ));
                        for (name, out) in names.iter().zip(outcomes) {
                            let target = match out {
                                Out::Next => "lanjut".to_string(),
                                Out::End => "ditolak".to_string(),
                                Out::Back { offset, max, clock } => {
                                    let back = &top_ids[top_ids.len().saturating_sub(*offset).min(top_ids.len() - 1)];
                                    let clock = ["jam berhenti", "jam diulang", "jam berjalan"][*clock];
                                    format!("kembali ke {back}, {clock}, maks {max} kali")
                                }
                            };
                            extra.push_str(&format!("            {name} -> {target}\n"));
                        }
                        extra.push_str("        }\n");
                        if *record {
                            records.push((field, names));
                        }
                    }
                }
                body.push_str(&step_text(s, number, &id, "    ", &extra));
                top_ids.push(id);
            }
            Elem::Parallel(branches) => {
                body.push_str("    paralel {\n");
                for branch in branches {
                    body.push_str("        cabang {\n");
                    for s in branch {
                        number += 1;
                        let extra = match s.kind {
                            Kind::Guarded(flag) => format!("                jika flag{flag}\n"),
                            _ => String::new(),
                        };
                        body.push_str(&step_text(s, number, &format!("s{number}"), "            ", &extra));
                    }
                    body.push_str("        }\n");
                }
                body.push_str("    }\n");
            }
            Elem::Alternatives(branches) => {
                alternatives += 1;
                body.push_str(&format!("    alternatif alt{alternatives} {{\n"));
                for s in branches {
                    number += 1;
                    body.push_str(&step_text(s, number, &format!("s{number}"), "        ", ""));
                }
                body.push_str("    }\n");
            }
        }
    }
    let mut fields = String::from("    data {\n        flag0 ya_tidak\n        flag1 ya_tidak\n");
    for (field, values) in &records {
        fields.push_str(&format!("        {field} pilihan({})\n", values.join(", ")));
    }
    fields.push_str("    }\n");
    format!(
        "sop gen \"Generated\" {{\n    kalender wita_kantor\n    pelaksana {{\n        pemohon \"Pemohon\" pemohon\n        loket \"Loket\" staf\n        teknis \"Tim Teknis\" staf\n        kabid \"Kabid\" staf\n        sistem \"Sistem\" sistem\n    }}\n{fields}    selesai {{\n        terbit \"Terbit\"\n        ditolak \"Ditolak\"\n    }}\n{body}}}\n"
    )
}

// ---------------------------------------------------------------- choices

/// The outcomes and data of one case: a pseudo-random pick per (step, visit), or per step only
/// (`constant`: what a simulator scenario can force).
#[derive(Clone, Debug, Default)]
struct Picks {
    seed: u64,
    constant: bool,
    flags: [bool; 2],
    /// Per alternatives block: the branch taken.
    alternative: u64,
    /// Given outright (the shipped SOPs' enumeration): each decision's outcome, the data, the
    /// entry.
    outcomes: Option<BTreeMap<usize, String>>,
    data: Option<Fields>,
    entry: Option<String>,
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Picks {
    fn outcome(&self, sop: &Sop, step: usize, visit: u32) -> Option<String> {
        let decision = sop.steps.get(step)?.decision.as_ref()?;
        if let Some(given) = &self.outcomes {
            // A return without a limit is taken once (taken every time, the case never ends).
            let unlimited = |name: &String| {
                decision
                    .outcomes
                    .iter()
                    .any(|o| o.name.name == *name && o.rework.as_ref().is_some_and(|r| r.max_rounds.is_none()))
            };
            return given.get(&step).filter(|o| visit == 1 || !unlimited(o)).cloned();
        }
        let visit = if self.constant { 0 } else { u64::from(visit) };
        let h = mix(self.seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ visit.wrapping_mul(0xD6E8_FEB8));
        Some(decision.outcomes[(h % decision.outcomes.len() as u64) as usize].name.name.clone())
    }

    fn fields(&self, sop: &Sop) -> Fields {
        if let Some(data) = &self.data {
            return data.clone();
        }
        let mut fields = Fields::new();
        for (i, flag) in self.flags.iter().enumerate() {
            let name = format!("flag{i}");
            if sop.field(&name).is_some() {
                fields.insert(name, Value::Bool(*flag));
            }
        }
        fields
    }

    /// The first step of the branch each alternatives block takes (the runtime's `entry`).
    fn entry(&self, sop: &Sop, interpreter: &Interpreter) -> Option<String> {
        if self.outcomes.is_some() {
            return self.entry.clone();
        }
        let choice = sop
            .flow
            .graph
            .node_indices()
            .find(|n| matches!(sop.flow.graph.node_weight(*n), Some(Node::Choice { .. })))?;
        let firsts: Vec<NodeIndex> = interpreter.routes(sop, choice).map(|(t, _)| t).collect();
        let target = firsts[(self.alternative % firsts.len() as u64) as usize];
        alur::interpret::first_step_of(sop, target).map(|s| sop.steps[s].id.name.clone())
    }
}

struct TraceChoices<'p> {
    picks: &'p Picks,
    entry: Option<String>,
}

impl Choices for TraceChoices<'_> {
    fn outcome(&mut self, sop: &Sop, step: usize, visit: u32) -> Option<String> {
        self.picks.outcome(sop, step, visit)
    }

    // As the runtime: a condition on a field with no value counts as false.
    fn undecided(&mut self, _sop: &Sop, _gate: NodeIndex, known: &[Option<bool>]) -> Option<usize> {
        known.iter().position(|k| *k == Some(true))
    }

    fn alternative(&mut self, sop: &Sop, _choice: NodeIndex, first_steps: &[Option<usize>]) -> usize {
        first_steps
            .iter()
            .position(|s| s.is_some_and(|s| Some(&sop.steps[s].id.name) == self.entry.as_ref()))
            .unwrap_or(0)
    }
}

// ---------------------------------------------------------------- the three runs

/// What a case did: each task as (step id, opened, due: none for a step without a stated
/// time) in the order it opened, the steps skipped and the end.
#[derive(Clone, Debug, PartialEq)]
struct Run {
    tasks: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)>,
    skipped: Vec<String>,
    end: Option<String>,
}

fn traced(sop: &Sop, calendar: &Calendar, start: DateTime<Utc>, picks: &Picks) -> (Run, Trace<DateTime<Utc>>) {
    let interpreter = Interpreter::new(sop);
    let mut choices = TraceChoices { picks, entry: picks.entry(sop, &interpreter) };
    let t = trace(&interpreter, sop, calendar, start, picks.fields(sop), &mut choices);
    let run = Run {
        tasks: t
            .tasks
            .iter()
            .map(|x| (sop.steps[x.step].id.name.clone(), x.opened, x.timed.then_some(x.due)))
            .collect(),
        skipped: t.skipped.iter().map(|&s| sop.steps[s].id.name.clone()).collect(),
        end: t.end.map(|e| sop.ends[e].id.name.clone()),
    };
    (run, t)
}

/// The runtime on the same case: every open task is completed when it falls due (the earliest
/// first), with the same outcomes; a return past its limit is refused, and the main outcome
/// taken instead, as `alur time` does.
/// What the runtime deploys: a generated text, or shipped files (the SOP with the procedures
/// it calls).
enum Deploy {
    Text(Vec<(String, String)>),
    Files(Vec<std::path::PathBuf>),
}

async fn runtime_run(deploy: &Deploy, sop: &Sop, start: DateTime<Utc>, picks: &Picks) -> Run {
    let clock = Arc::new(ManualClock::new(start));
    let engine = Engine::new(Arc::new(MemoryStore::new()), clock.clone()).await.unwrap();
    let id = sop.id.name.clone();
    match deploy {
        Deploy::Text(sources) => {
            // The procedure it calls first, as `alur serve` deploys the folder.
            engine.deploy_sources("sub", vec![("sub.sop".into(), SUB_SOP.into())], calendar_sources()).await.unwrap();
            let mut sources = sources.clone();
            sources.push(("sub.sop".into(), SUB_SOP.into()));
            engine.deploy_sources(&id, sources, calendar_sources()).await.unwrap();
        }
        Deploy::Files(files) => {
            for file in files {
                engine.deploy_file(file, &root().join("sop/calendars")).await.unwrap();
            }
        }
    }
    let interpreter = Interpreter::new(sop);
    let case =
        engine.start_case(&id, "pemohon", picks.fields(sop), picks.entry(sop, &interpreter).as_deref()).await.unwrap();
    let mut visits: BTreeMap<String, u32> = BTreeMap::new();
    for _ in 0..2_000 {
        let state = engine.load(case).await.unwrap();
        if state.status != CaseStatus::Active {
            break;
        }
        // A task without a due date (no time stated) is done when its clock starts, as traced.
        let calendar = &engine.deployment(&id, None).unwrap().calendar;
        let done_at = |t: &alur::runtime::case::Task| {
            t.due.unwrap_or_else(|| {
                let step = sop.step(&t.step).unwrap();
                alur::time::step_window(calendar, step.time(), t.opened).0
            })
        };
        let Some(task) = state.open_tasks().min_by_key(|t| (done_at(t), t.no)) else { break };
        let (no, step, due) = (task.no, task.step.to_string(), done_at(task));
        clock.set(due.max(clock_now(&clock)));
        let index = sop.step_index(&step).unwrap();
        let visit = visits.entry(step.clone()).or_insert(0);
        *visit += 1;
        let outcome =
            picks.outcome(sop, index, *visit).or_else(|| interpreter.main_outcome(sop, index).map(str::to_string));
        let completion = Completion { outcome: outcome.clone(), ..Completion::default() };
        match engine.complete(case, no, &Caller::system(), completion).await {
            Ok(()) => {}
            Err(RuntimeError::RoundLimit { .. }) => {
                let main = interpreter.main_outcome(sop, index).map(str::to_string);
                engine
                    .complete(case, no, &Caller::system(), Completion { outcome: main, ..Completion::default() })
                    .await
                    .unwrap();
            }
            Err(other) => panic!("completing {step}: {other}"),
        }
    }
    let mut run = Run { tasks: Vec::new(), skipped: Vec::new(), end: None };
    for recorded in engine.history(case).await.unwrap() {
        match recorded.event {
            Event::TaskOpened { step, due, .. } => run.tasks.push((step.to_string(), recorded.at, due)),
            Event::StepSkipped { step } => run.skipped.push(step),
            Event::CaseEnded { end } => run.end = Some(end),
            _ => {}
        }
    }
    run
}

fn clock_now(clock: &ManualClock) -> DateTime<Utc> {
    use alur::runtime::Clock;
    clock.now()
}

/// The simulator on one case with every duration fixed, unlimited desks and each branching
/// point forced to what the case takes; returns each step as (step, opened, done) in working
/// minutes from the start, sorted, and the end.
fn simulated(
    sop: &Sop,
    calendar: &Calendar,
    start: DateTime<Utc>,
    picks: &Picks,
) -> (Vec<(String, i64, i64)>, Option<String>) {
    let interpreter = Interpreter::new(sop);
    let zone = calendar.time_zone();
    let mut scenario = format!(
        "start = \"{}\"\ncases = 1\n[arrivals]\npattern = \"regular\"\nper_day = 1\n",
        start.with_timezone(&zone).to_rfc3339()
    );
    let fields = picks.fields(sop);
    let entry = picks.entry(sop, &interpreter);
    let mut forced: BTreeMap<String, String> = BTreeMap::new();
    for node in sop.flow.graph.node_indices() {
        match sop.flow.graph.node_weight(node) {
            Some(Node::Decision { step }) => {
                if let Some(o) = picks.outcome(sop, *step, 1) {
                    forced.insert(sop.steps[*step].row_id().name.clone(), o);
                }
            }
            Some(Node::Gate { step, guards_step }) => {
                // Gates on data the case was given: forced to the route the data decides.
                let conditions: Vec<_> = interpreter.gate_conditions(sop, node).collect();
                if let alur::interpret::GateRoute::Taken(i) =
                    alur::interpret::gate_route(conditions.into_iter(), &fields)
                {
                    let (target, edge) = interpreter.routes(sop, node).nth(i).unwrap();
                    forced.insert(sop.steps[*step].row_id().name.clone(), route_name(sop, edge, target, *guards_step));
                }
            }
            Some(Node::Choice { name: Some(name) }) => {
                let names: Vec<String> =
                    interpreter.routes(sop, node).map(|(t, e)| route_name(sop, e, t, false)).collect();
                if let Some(entry) = entry.as_ref().filter(|e| names.contains(e)) {
                    forced.insert(name.clone(), entry.clone());
                }
            }
            _ => {}
        }
    }
    for (point, name) in &forced {
        scenario.push_str(&format!("[outcomes.{point}]\n{name} = 1.0\n"));
    }
    let parsed = alur::simulate::Scenario::parse(&scenario).unwrap();
    let (program, problems) = alur::simulate::lower(sop, calendar, &parsed, &alur::simulate::Overrides::default());
    let mut program = program.unwrap_or_else(|| panic!("scenario refused: {problems:?}\n{scenario}"));
    program.log_steps = true;
    let raw = alur::simulate::engine::run(&program, calendar, &mut |_| {});
    let mut log: Vec<(String, i64, i64)> = raw
        .log
        .iter()
        .map(|(s, a, b)| (sop.steps[*s as usize].id.name.clone(), a.round() as i64, b.round() as i64))
        .collect();
    log.sort_by(|x, y| (x.2, x.1, &x.0).cmp(&(y.2, y.1, &y.0)));
    let end = raw.ends.iter().position(|n| *n > 0).and_then(|e| sop.ends.get(e)).map(|e| e.id.name.clone());
    (log, end)
}

/// The trace's tasks in working minutes from the start, as the simulator keeps them.
fn traced_minutes(
    sop: &Sop,
    calendar: &Calendar,
    start: DateTime<Utc>,
    t: &Trace<DateTime<Utc>>,
) -> Vec<(String, i64, i64)> {
    let origin = calendar.position(start).0;
    let minute = |at: DateTime<Utc>| (calendar.position(at).0 - origin) / 60;
    let mut out: Vec<(String, i64, i64)> =
        t.tasks.iter().map(|x| (sop.steps[x.step].id.name.clone(), minute(x.opened), minute(x.done))).collect();
    out.sort_by(|x, y| (x.2, x.1, &x.0).cmp(&(y.2, y.1, &y.0)));
    out
}

fn compile(text: &str) -> Sop {
    let options = Options::default();
    let compiled = alur::compile::compile_bytes(
        alur::syntax::SourceMap::new(),
        "gen.sop",
        None,
        text.as_bytes(),
        &SubLoader,
        &options,
    );
    let errors: Vec<_> = compiled.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.en.clone()).collect();
    assert!(errors.is_empty(), "generated SOP does not compile: {errors:?}\n{text}");
    compiled.sop.unwrap()
}

/// Runs one case three ways and says where they part.
fn agree(
    rt: &tokio::runtime::Runtime,
    deploy: &Deploy,
    sop: &Sop,
    calendar: &Calendar,
    start: DateTime<Utc>,
    picks: &Picks,
) -> Result<(), String> {
    let (expected, t) = traced(sop, calendar, start, picks);
    if t.stuck {
        return Err("the trace went round a loop it never left".into());
    }
    let runtime = rt.block_on(runtime_run(deploy, sop, start, picks));
    if runtime != expected {
        return Err(format!("runtime and trace differ\nruntime: {runtime:#?}\ntrace:   {expected:#?}"));
    }
    if picks.constant {
        let (sim, end) = simulated(sop, calendar, start, picks);
        let minutes = traced_minutes(sop, calendar, start, &t);
        if sim != minutes || end != expected.end {
            return Err(format!(
                "simulator and trace differ\nsimulator: {sim:?} {end:?}\ntrace:     {minutes:?} {:?}",
                expected.end
            ));
        }
    }
    Ok(())
}

fn starts() -> impl Strategy<Value = DateTime<Utc>> {
    // Any working instant of 2026 (holidays, Fridays and closing times included).
    (0i64..360, 0i64..(24 * 60)).prop_map(|(day, minute)| {
        let base =
            chrono_tz::Asia::Makassar.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).single().unwrap().with_timezone(&Utc);
        base + ChronoDuration::days(day) + ChronoDuration::minutes(minute)
    })
}

fn picks(constant: bool) -> impl Strategy<Value = Picks> {
    (any::<u64>(), any::<[bool; 2]>(), any::<u64>()).prop_map(move |(seed, flags, alternative)| Picks {
        seed,
        constant,
        flags,
        alternative,
        ..Picks::default()
    })
}

fn cases() -> u32 {
    std::env::var("ALUR_DIFFERENTIAL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000)
}

#[test]
fn runtime_time_and_simulator_agree_on_generated_sops() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let calendar = calendar("wita_kantor");
    let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
    let strategy = (sop_strategy(), starts(), any::<bool>().prop_flat_map(picks));
    let result = runner.run(&strategy, |(elems, start, picks)| {
        let text = write_sop(&elems);
        let sop = compile(&text);
        let start = calendar.next_opening(start);
        agree(&rt, &Deploy::Text(vec![("gen.sop".into(), text.clone())]), &sop, &calendar, start, &picks)
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- SOP ---\n{text}")))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The values a field is tried with: both of a yes/no, each choice, a number on either side of
/// the thresholds the shipped SOPs test.
fn field_values(ty: &alur::model::FieldType) -> Vec<Value> {
    use alur::model::FieldType;
    match ty {
        FieldType::Bool => vec![Value::Bool(false), Value::Bool(true)],
        FieldType::Number => vec![Value::Number(100.0), Value::Number(10_000.0)],
        FieldType::Choice(choices) => choices.iter().map(|c| Value::Choice(c.clone())).collect(),
        FieldType::Text => vec![Value::Text("x".into())],
        FieldType::Date => vec![Value::Date(chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap())],
    }
}

/// Every combination of each decision's outcome (the same each time it is taken), each field's
/// value and each entry, up to `bound` of them spread evenly over all.
fn combinations(sop: &Sop, interpreter: &Interpreter, bound: usize) -> Vec<Picks> {
    let decisions: Vec<(usize, Vec<String>)> = sop
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, s.decision.as_ref()?.outcomes.iter().map(|o| o.name.name.clone()).collect())))
        .collect();
    let recorded: Vec<&str> =
        sop.steps.iter().filter_map(|s| s.decision.as_ref()?.record.as_ref().map(|r| r.as_str())).collect();
    let fields: Vec<(String, Vec<Value>)> = sop
        .fields
        .iter()
        .filter(|f| !recorded.contains(&f.id.as_str()))
        .map(|f| (f.id.name.clone(), field_values(&f.ty)))
        .collect();
    let mut entries: Vec<Option<String>> = vec![None];
    for node in sop.flow.graph.node_indices() {
        if matches!(sop.flow.graph.node_weight(node), Some(Node::Choice { .. })) {
            entries = interpreter
                .routes(sop, node)
                .filter_map(|(t, _)| alur::interpret::first_step_of(sop, t))
                .map(|s| Some(sop.steps[s].id.name.clone()))
                .collect();
            break;
        }
    }
    let radices: Vec<usize> = decisions
        .iter()
        .map(|(_, o)| o.len())
        .chain(fields.iter().map(|(_, v)| v.len()))
        .chain(std::iter::once(entries.len()))
        .collect();
    let total: usize = radices.iter().product();
    let stride = total.div_ceil(bound).max(1);
    (0..total)
        .step_by(stride)
        .map(|mut n| {
            let mut digits = Vec::new();
            for r in &radices {
                digits.push(n % r);
                n /= r;
            }
            let outcomes = decisions.iter().zip(&digits).map(|((s, o), d)| (*s, o[*d].clone())).collect();
            let data =
                fields.iter().zip(&digits[decisions.len()..]).map(|((f, v), d)| (f.clone(), v[*d].clone())).collect();
            let entry = entries[digits[radices.len() - 1]].clone();
            // A simulator scenario can force an outcome every time, not once: a return
            // without a limit is compared between the runtime and the trace only.
            let outcomes: BTreeMap<usize, String> = outcomes;
            let constant = !outcomes.iter().any(|(s, o)| {
                sop.steps[*s].decision.as_ref().is_some_and(|d| {
                    d.outcomes
                        .iter()
                        .any(|x| x.name.name == *o && x.rework.as_ref().is_some_and(|r| r.max_rounds.is_none()))
                })
            });
            Picks { constant, outcomes: Some(outcomes), data: Some(data), entry, ..Picks::default() }
        })
        .collect()
}

#[test]
fn every_shipped_sop_agrees_under_every_outcome_combination() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = root().join("sop");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sop"))
        .collect();
    files.sort();
    let mut checked = 0;
    for file in &files {
        let compiled = alur::compile::compile_path(file, &Options::default());
        let sop = compiled.sop.unwrap();
        let calendar = calendar(sop.header.calendar.as_ref().map_or("wita_kantor", |c| c.as_str()));
        // The procedures it calls are deployed first, as `alur serve` deploys the folder.
        let mut deploy: Vec<std::path::PathBuf> =
            sop.steps.iter().filter_map(|s| s.call.as_ref()).map(|c| file.parent().unwrap().join(&c.path)).collect();
        deploy.push(file.clone());
        let deploy = Deploy::Files(deploy);
        let interpreter = Interpreter::new(&sop);
        for (i, picks) in combinations(&sop, &interpreter, 96).iter().enumerate() {
            // Starts across the year: Mondays, Fridays, the hour before closing, holidays.
            let start = calendar.next_opening(
                chrono_tz::Asia::Makassar.with_ymd_and_hms(2026, 1, 5, 7, 30, 0).single().unwrap().with_timezone(&Utc)
                    + ChronoDuration::hours(i as i64 * 53),
            );
            if let Err(e) = agree(&rt, &deploy, &sop, &calendar, start, picks) {
                panic!("{}: {picks:?} from {start}: {e}", file.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 4 * 8, "only {checked} combinations checked");
}
