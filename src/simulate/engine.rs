//! The discrete-event loop, in working-minute space: minute 0 is the scenario's start on the
//! calendar, and every duration is added on one monotone axis of working time, so office hours,
//! breaks and holidays cost nothing during the run. Calendar instants are computed only for
//! reporting (and for the rare step counted in calendar days or starting the next working day).
//!
//! A case walks the lowered program directly through steps whose desk has unlimited staff (they
//! cannot interact), and enters the event queue only at a desk with limited staff. Events are
//! ordered by time, then by the order they were made, so a seed always gives the same run.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp1};
use rand_pcg::Pcg64Mcg;

use super::program::{ArrivalPattern, ClockHook, Op, Program};
use crate::interpret::{gate_route, GateRoute};
use crate::model::{ClockPolicy, FieldValues, Value};
use crate::time::{next_workday_opening, step_window};
use crate::time::{Calendar, Duration, WorkPosition};

/// A case that walks more operations than this is stuck in a loop (a return taken with
/// probability 1 and no round limit); it is ended and counted as stuck.
const MAX_OPS_PER_CASE: u32 = 100_000;

/// What a run measured, before it is summarised.
#[derive(Clone, Debug, Default)]
pub struct Raw {
    /// Lead time of each counted case, in working minutes (arrival to end).
    pub lead: Vec<f64>,
    /// The same in calendar days.
    pub lead_days: Vec<f64>,
    /// Per target: cases measured, within by the service clock, within by plain lead time.
    pub target_measured: Vec<u64>,
    pub target_within: Vec<u64>,
    pub target_within_raw: Vec<u64>,
    pub target_clock_sum: Vec<f64>,
    /// Per desk.
    pub desk_served: Vec<u64>,
    pub desk_wait_sum: Vec<f64>,
    pub desk_wait_max: Vec<f64>,
    pub desk_waits: Vec<Vec<f32>>,
    pub desk_busy: Vec<f64>,
    /// Per step: how often it was done in counted cases.
    pub step_runs: Vec<u64>,
    pub returned_cases: u64,
    pub rounds: u64,
    /// Per end of the SOP, then cases that ran into a step without a way on.
    pub ends: Vec<u64>,
    pub stuck: u64,
    pub counted: u64,
    pub arrived: u64,
    pub last_arrival: f64,
    pub last_event: f64,
    /// With `Program::log_steps`: every step done at a desk without a queue, as (step, the
    /// working minute it opened, the working minute it was done), in the order done.
    pub log: Vec<(u32, f64, f64)>,
}

#[derive(Clone, Copy, Debug)]
struct CaseRec {
    arrival: f64,
    index: u64,
    /// The return not yet answered by a resubmission, and its clock policy.
    pending_from: f64,
    pending_policy: ClockPolicy,
    ops: u32,
    rounds: u32,
    alive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    time: u64,
    seq: u64,
    case: u32,
    op: u32,
    finish: bool,
    /// The case's arrival number: a slot reused by a later case does not take its events.
    id: u64,
}

#[derive(Clone, Debug, Default)]
struct DeskState {
    staff: u32,
    limited: bool,
    busy: u32,
    queue: VecDeque<(u32, u32, f64, u64)>,
}

/// The working-minute axis turned back into instants, one table entry per working day, built
/// as far as the run reaches: a binary search and a walk over the day's periods, instead of the
/// calendar's general search, for the two instants of every case.
struct DayMap {
    zone: chrono_tz::Tz,
    next_date: chrono::NaiveDate,
    /// Working minutes (from the origin) at the start of the next date to add.
    next_start: f64,
    starts: Vec<f64>,
    ends: Vec<f64>,
    midnights: Vec<i64>,
    periods: Vec<(u32, u32)>,
    spans: Vec<(i64, i64)>,
}

impl DayMap {
    fn new(calendar: &Calendar, origin: i64, start: DateTime<Utc>) -> DayMap {
        let zone = calendar.time_zone();
        let date = calendar.local_date(start);
        let mut map = DayMap {
            zone,
            next_date: date,
            next_start: 0.0,
            starts: Vec::new(),
            ends: Vec::new(),
            midnights: Vec::new(),
            periods: Vec::new(),
            spans: Vec::new(),
        };
        let midnight = map.midnight(date);
        let before = calendar.position(DateTime::from_timestamp(midnight, 0).unwrap_or(start)).0;
        map.next_start = (before - origin) as f64 / 60.0;
        map
    }

    fn midnight(&self, date: chrono::NaiveDate) -> i64 {
        use chrono::TimeZone;
        self.zone.from_local_datetime(&date.and_time(chrono::NaiveTime::MIN)).earliest().map_or(0, |t| t.timestamp())
    }

    /// Adds dates until the table reaches `t`; false when the calendar has no working time
    /// for ten years (the caller falls back to the calendar).
    fn extend(&mut self, calendar: &Calendar, t: f64) -> bool {
        let mut empty = 0;
        while self.ends.last().is_none_or(|end| *end < t) {
            let date = self.next_date;
            let periods = calendar.periods_on(date);
            let length: i64 = periods.iter().map(|p| i64::from(p.end) - i64::from(p.start)).sum::<i64>() * 60;
            if length > 0 {
                let first = self.spans.len() as u32;
                self.spans.extend(periods.iter().map(|p| (i64::from(p.start) * 60, i64::from(p.end) * 60)));
                self.periods.push((first, self.spans.len() as u32));
                self.starts.push(self.next_start);
                self.ends.push(self.next_start + length as f64 / 60.0);
                self.midnights.push(self.midnight(date));
                self.next_start += length as f64 / 60.0;
                empty = 0;
            } else {
                empty += 1;
                if empty > 3660 {
                    return false;
                }
            }
            match date.succ_opt() {
                Some(next) => self.next_date = next,
                None => return false,
            }
        }
        true
    }

    /// Seconds since the epoch of the earliest instant at working minute `t` (`t` ≥ 0).
    fn seconds(&mut self, calendar: &Calendar, t: f64) -> Option<i64> {
        if self.ends.last().is_none_or(|end| *end < t) && !self.extend(calendar, t) {
            return None;
        }
        let i = self.ends.partition_point(|end| *end < t);
        let (first, last) = *self.periods.get(i)?;
        let mut rest = ((t - self.starts[i]) * 60.0).round() as i64;
        let spans = self.spans.get(first as usize..last as usize)?;
        for (a, b) in spans {
            if rest <= b - a {
                return Some(self.midnights[i] + a + rest);
            }
            rest -= b - a;
        }
        spans.last().map(|(_, b)| self.midnights[i] + b)
    }
}

/// Per clock and case: start, first start, stop, paused, and when an excluded step began.
const CLOCK_SLOTS: usize = 5;

struct Engine<'a> {
    p: &'a Program,
    days: DayMap,
    calendar: &'a Calendar,
    origin: i64,
    now: f64,
    seq: u64,
    heap: BinaryHeap<Reverse<Event>>,
    desks: Vec<DeskState>,
    cases: Vec<CaseRec>,
    free: Vec<u32>,
    clock_data: Vec<f64>,
    loop_rounds: Vec<u32>,
    join_count: Vec<u32>,
    join_time: Vec<f64>,
    join_opening: Vec<bool>,
    /// Per case and recorded field: 0 when not recorded yet, else the value's index + 1.
    recorded: Vec<u16>,
    durations_rng: Pcg64Mcg,
    branch_rng: Pcg64Mcg,
    resubmit_rng: Pcg64Mcg,
    hold_rng: Pcg64Mcg,
    raw: Raw,
}

/// An independent random stream per purpose, so that two SOP versions run on the same scenario
/// see the same arrivals (common random numbers).
fn stream(seed: u64, purpose: u64) -> Pcg64Mcg {
    let mut z = seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Pcg64Mcg::seed_from_u64(z ^ (z >> 31))
}

/// Runs the program: `progress` hears how many cases have arrived, now and then.
pub fn run(p: &Program, calendar: &Calendar, progress: &mut dyn FnMut(u64)) -> Raw {
    let targets = p.targets.len();
    let desks = p.desks.len();
    let origin = calendar.position(p.start).0;
    let mut e = Engine {
        p,
        days: DayMap::new(calendar, origin, p.start),
        calendar,
        origin,
        now: 0.0,
        seq: 0,
        heap: BinaryHeap::new(),
        desks: p
            .desks
            .iter()
            .map(|d| DeskState { staff: d.staff.unwrap_or(0), limited: d.staff.is_some(), ..DeskState::default() })
            .collect(),
        cases: Vec::new(),
        free: Vec::new(),
        clock_data: Vec::new(),
        loop_rounds: Vec::new(),
        join_count: Vec::new(),
        join_time: Vec::new(),
        join_opening: Vec::new(),
        recorded: Vec::new(),
        durations_rng: stream(p.seed, 1),
        branch_rng: stream(p.seed, 2),
        resubmit_rng: stream(p.seed, 3),
        hold_rng: stream(p.seed, 4),
        raw: Raw {
            lead: Vec::with_capacity(p.cases.min(50_000_000) as usize),
            lead_days: Vec::with_capacity(p.cases.min(50_000_000) as usize),
            target_measured: vec![0; targets],
            target_within: vec![0; targets],
            target_within_raw: vec![0; targets],
            target_clock_sum: vec![0.0; targets],
            desk_served: vec![0; desks],
            desk_wait_sum: vec![0.0; desks],
            desk_wait_max: vec![0.0; desks],
            desk_waits: vec![Vec::new(); desks],
            desk_busy: vec![0.0; desks],
            step_runs: vec![0; p.samplers.len()],
            ..Raw::default()
        },
    };
    // Ends by their index in the SOP; the last slot counts ends without one.
    let end_slots = p
        .ops
        .iter()
        .filter_map(|o| if let Op::End { end: Some(x) } = o { Some(*x as usize + 1) } else { None })
        .max()
        .unwrap_or(0);
    e.raw.ends = vec![0; end_slots + 1];
    let mut arrivals = stream(p.seed, 0);
    let mut next_arrival = match p.pattern {
        ArrivalPattern::Poisson => {
            let u: f64 = Exp1.sample(&mut arrivals);
            u / p.arrival_rate
        }
        ArrivalPattern::Regular => 0.0,
    };
    let mut made: u64 = 0;
    loop {
        let more = made < p.cases;
        let take_event = match e.heap.peek() {
            Some(Reverse(ev)) => !more || f64::from_bits(ev.time) <= next_arrival,
            None => false,
        };
        if take_event {
            let Some(Reverse(ev)) = e.heap.pop() else { break };
            e.now = f64::from_bits(ev.time);
            e.event(ev);
            continue;
        }
        if !more {
            break;
        }
        e.now = next_arrival;
        e.raw.last_arrival = next_arrival;
        let case = e.new_case(next_arrival, made);
        // A file arrives during working time: at a day's boundary, at the opening.
        e.walk(case, p.entry, next_arrival, true);
        made += 1;
        if made & 0xFFFF == 0 {
            progress(made);
        }
        next_arrival = match p.pattern {
            ArrivalPattern::Poisson => {
                let u: f64 = Exp1.sample(&mut arrivals);
                next_arrival + u / p.arrival_rate
            }
            ArrivalPattern::Regular => made as f64 / p.arrival_rate,
        };
    }
    progress(made);
    e.raw.arrived = made;
    e.raw
}

impl Engine<'_> {
    fn instant(&self, t: f64) -> DateTime<Utc> {
        self.calendar.instant_at(WorkPosition(self.origin + (t * 60.0).round() as i64))
    }

    /// The instant of working minute `t` on the side of a boundary the case is on: one
    /// working minute is both a closing (16:00) and the next opening (07:30 the next day), and
    /// which one matters to a step that starts the next working day or counts calendar days.
    /// `opening` is true when the case got there at an opening (it arrived, or a step waited
    /// for one) and nothing has taken time since.
    fn instant_on(&self, t: f64, opening: bool) -> DateTime<Utc> {
        let closing = self.instant(t);
        if opening {
            self.calendar.next_opening(closing)
        } else {
            closing
        }
    }

    /// Seconds since the epoch at working minute `t`, through the per-day table.
    fn seconds(&mut self, t: f64) -> i64 {
        match self.days.seconds(self.calendar, t) {
            Some(s) => s,
            None => self.instant(t).timestamp(),
        }
    }

    fn minute(&self, at: DateTime<Utc>) -> f64 {
        (self.calendar.position(at).0 - self.origin) as f64 / 60.0
    }

    fn new_case(&mut self, arrival: f64, index: u64) -> u32 {
        let rec = CaseRec {
            arrival,
            index,
            pending_from: f64::NAN,
            pending_policy: ClockPolicy::Run,
            ops: 0,
            rounds: 0,
            alive: true,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.cases[slot as usize] = rec;
                slot
            }
            None => {
                self.cases.push(rec);
                let stride = self.p.clocks.len() * CLOCK_SLOTS;
                self.clock_data.resize(self.cases.len() * stride, 0.0);
                self.loop_rounds.resize(self.cases.len() * self.p.loops.len(), 0);
                self.join_count.resize(self.cases.len() * self.p.joins as usize, 0);
                self.join_time.resize(self.cases.len() * self.p.joins as usize, 0.0);
                self.join_opening.resize(self.cases.len() * self.p.joins as usize, false);
                self.recorded.resize(self.cases.len() * self.p.records.len(), 0);
                (self.cases.len() - 1) as u32
            }
        };
        let stride = self.p.clocks.len() * CLOCK_SLOTS;
        let base = slot as usize * stride;
        for (k, clock) in self.p.clocks.iter().enumerate() {
            let s = base + k * CLOCK_SLOTS;
            let start = if clock.from.is_none() { arrival } else { f64::NAN };
            self.clock_data[s] = start;
            self.clock_data[s + 1] = start;
            self.clock_data[s + 2] = f64::NAN;
            self.clock_data[s + 3] = 0.0;
            self.clock_data[s + 4] = f64::NAN;
        }
        let loops = self.p.loops.len();
        self.loop_rounds[slot as usize * loops..(slot as usize + 1) * loops].fill(0);
        let records = self.p.records.len();
        self.recorded[slot as usize * records..(slot as usize + 1) * records].fill(0);
        slot
    }

    fn counted(&self, case: u32) -> bool {
        self.cases[case as usize].index >= self.p.warmup
    }

    fn hooks(&mut self, case: u32, range: (u32, u32), at_start: bool, t: f64) {
        if range.0 == range.1 {
            return;
        }
        let stride = self.p.clocks.len() * CLOCK_SLOTS;
        for i in range.0..range.1 {
            let ClockHook { clock, at_start: when, starts, excludes } = self.p.hooks[i as usize];
            if when != at_start {
                continue;
            }
            let s = case as usize * stride + clock as usize * CLOCK_SLOTS;
            if excludes {
                // The time of an excluded step, while the clock runs, is paused time.
                if at_start {
                    self.clock_data[s + 4] = t;
                } else if !self.clock_data[s + 4].is_nan() && !self.clock_data[s].is_nan() {
                    let from = self.clock_data[s + 4].max(self.clock_data[s]);
                    let to = if self.clock_data[s + 2].is_nan() { t } else { t.min(self.clock_data[s + 2]) };
                    self.clock_data[s + 3] += (to - from).max(0.0);
                    self.clock_data[s + 4] = f64::NAN;
                }
            } else if starts {
                if self.clock_data[s + 1].is_nan() {
                    self.clock_data[s] = t;
                    self.clock_data[s + 1] = t;
                }
            } else if self.clock_data[s + 2].is_nan() {
                self.clock_data[s + 2] = t;
            }
        }
    }

    /// Every running service clock of a case stands still for `minutes` (a hold).
    fn pause_clocks(&mut self, case: u32, minutes: f64) {
        let stride = self.p.clocks.len() * CLOCK_SLOTS;
        for k in 0..self.p.clocks.len() {
            let s = case as usize * stride + k * CLOCK_SLOTS;
            if !self.clock_data[s].is_nan() && self.clock_data[s + 2].is_nan() {
                self.clock_data[s + 3] += minutes;
            }
        }
    }

    /// A step has ended at `t`: clock points, and the resubmission that answers a return.
    fn step_done(&mut self, case: u32, step: u32, hooks: (u32, u32), t: f64) {
        self.hooks(case, hooks, false, t);
        if self.counted(case) {
            self.raw.step_runs[step as usize] += 1;
        }
        let rec = self.cases[case as usize];
        if !rec.pending_from.is_nan() {
            let stride = self.p.clocks.len() * CLOCK_SLOTS;
            for k in 0..self.p.clocks.len() {
                let s = case as usize * stride + k * CLOCK_SLOTS;
                let start = self.clock_data[s];
                if start.is_nan() || rec.pending_from < start {
                    continue;
                }
                match rec.pending_policy {
                    ClockPolicy::Pause => self.clock_data[s + 3] += t - rec.pending_from,
                    ClockPolicy::Restart => {
                        self.clock_data[s] = t;
                        self.clock_data[s + 3] = 0.0;
                    }
                    ClockPolicy::Run => {}
                }
            }
            self.cases[case as usize].pending_from = f64::NAN;
        }
    }

    /// How long a step opened at `t` takes, and whether it ends at an opening (see
    /// [`Engine::instant_on`]).
    fn duration(&mut self, step: u32, calendar_days: u32, t: f64, opening: bool) -> (f64, bool) {
        if let Some(Some(standard)) = self.p.exact.get(step as usize) {
            // Measured from the start's whole second, so a fractional arrival minute keeps
            // its fraction and the step takes exactly its working time.
            let start = self.instant_on(t, opening);
            // `exact` holds only steps with a stated time, which always fall due.
            let due = step_window(self.calendar, *standard, start).1.map_or(start, |d| d.at);
            let seconds = self.calendar.position(due).0 - self.calendar.position(start).0;
            let length = (seconds as f64 / 60.0).max(0.0);
            return (length, due != self.instant(t + length));
        }
        let sampled = self.p.samplers[step as usize].sample(&mut self.durations_rng).max(0.0);
        if let Some(Some(share)) = self.p.split.get(step as usize) {
            let first = sampled * share;
            let middle = self.instant_on(t + first, opening && first <= 0.0);
            let next = self.minute(next_workday_opening(self.calendar, middle)).max(t + first);
            let second = sampled - first;
            return (next - t + second, second <= 0.0);
        }
        if calendar_days == 0 {
            return (sampled, opening && sampled <= 0.0);
        }
        let due = self.calendar.due(self.instant_on(t, opening), Duration::calendar_days(calendar_days));
        let end = self.minute(due.at);
        ((end - t).max(0.0) + sampled, sampled <= 0.0 && due.at != self.instant(end))
    }

    fn walk(&mut self, case: u32, mut op: u32, mut t: f64, mut opening: bool) {
        let p = self.p;
        loop {
            if !self.cases[case as usize].alive {
                return;
            }
            self.cases[case as usize].ops += 1;
            if self.cases[case as usize].ops > MAX_OPS_PER_CASE {
                self.raw.stuck += 1;
                self.cases[case as usize].alive = false;
                self.free.push(case);
                return;
            }
            match &p.ops[op as usize] {
                Op::Goto(next) => op = *next,
                Op::Step { step, next, hooks, at_once: true, .. } => {
                    if p.log_steps {
                        self.raw.log.push((*step, t, t));
                    }
                    self.hooks(case, *hooks, true, t);
                    self.step_done(case, *step, *hooks, t);
                    op = *next;
                }
                Op::Step { step, desk, next, calendar_days, starts_next_workday, hooks, .. } => {
                    let opened = t;
                    if *starts_next_workday {
                        let next = next_workday_opening(self.calendar, self.instant_on(t, opening));
                        t = self.minute(next).max(t);
                        opening = true;
                    }
                    self.hooks(case, *hooks, true, t);
                    // A hold (`penangguhan`): the task waits before anyone works it; the time
                    // counts in the lead time, not on the service clocks. Past the SOP's
                    // maximum the case goes where the SOP says.
                    if let Some(Some(h)) = p.holds.get(*step as usize) {
                        if self.hold_rng.gen::<f64>() < h.share {
                            let held = h.length.min(h.max);
                            self.pause_clocks(case, held);
                            t += held;
                            opening = false;
                            if h.length > h.max {
                                if h.expire == u32::MAX {
                                    self.finish(case, None, t);
                                    return;
                                }
                                op = h.expire;
                                continue;
                            }
                        }
                    }
                    let d = *desk as usize;
                    if self.desks[d].limited {
                        if t <= self.now {
                            self.desk_arrive(case, op, t);
                        } else {
                            self.push(t, case, op, false);
                        }
                        return;
                    }
                    let (duration, ends_at_opening) = self.duration(*step, *calendar_days, t, opening);
                    opening = ends_at_opening;
                    self.raw.desk_busy[d] += duration;
                    if self.counted(case) {
                        self.raw.desk_served[d] += 1;
                    }
                    if p.log_steps {
                        self.raw.log.push((*step, opened, t + duration));
                    }
                    t += duration;
                    self.step_done(case, *step, *hooks, t);
                    op = *next;
                }
                Op::Branch { gate, choices, fallback } => {
                    // A gate its recorded decisions decide takes that route; only the rest is drawn.
                    if let Some(taken) = gate.and_then(|g| self.decided(case, g)) {
                        match p
                            .choices
                            .get(choices.0 as usize + taken)
                            .filter(|_| (taken as u32) < choices.1 - choices.0)
                        {
                            Some(choice) => op = choice.target,
                            None => {
                                self.finish(case, None, t);
                                return;
                            }
                        }
                        continue;
                    }
                    let u: f64 = self.branch_rng.gen();
                    let pick = |range: (u32, u32)| {
                        let slice = &p.choices[range.0 as usize..range.1 as usize];
                        slice.iter().find(|c| u < c.cumulative).or(slice.last())
                    };
                    let Some(mut choice) = pick(*choices) else {
                        self.finish(case, None, t);
                        return;
                    };
                    if let Some(l) = choice.rework {
                        let slot = case as usize * p.loops.len() + l as usize;
                        let used = self.loop_rounds[slot];
                        let rework = &p.loops[l as usize];
                        if rework.max_rounds.is_some_and(|max| used >= max) {
                            let u: f64 = self.branch_rng.gen();
                            let slice = &p.choices[fallback.0 as usize..fallback.1 as usize];
                            match slice.iter().find(|c| u < c.cumulative).or(slice.last()) {
                                Some(c) => choice = c,
                                None => {
                                    self.finish(case, None, t);
                                    return;
                                }
                            }
                        } else {
                            self.loop_rounds[slot] = used + 1;
                            let rec = &mut self.cases[case as usize];
                            rec.rounds += 1;
                            rec.pending_from = t;
                            rec.pending_policy = rework.clock;
                            t += p.resubmit.sample(&mut self.resubmit_rng).max(0.0);
                        }
                    }
                    if let Some((field, value)) = choice.record {
                        self.recorded[case as usize * p.records.len() + field as usize] = value + 1;
                    }
                    op = choice.target;
                }
                Op::Split { branches, join } => {
                    let slot = case as usize * p.joins as usize + *join as usize;
                    self.join_count[slot] = branches.1 - branches.0;
                    self.join_time[slot] = t;
                    self.join_opening[slot] = opening;
                    for b in branches.0..branches.1 {
                        let target = p.branches[b as usize];
                        self.walk(case, target, t, opening);
                    }
                    return;
                }
                Op::Join { slot, next } => {
                    let slot = case as usize * p.joins as usize + *slot as usize;
                    let Some(count) = self.join_count.get_mut(slot) else {
                        op = *next;
                        continue;
                    };
                    *count = count.saturating_sub(1);
                    // The join passes with the last branch: the latest, and at an opening when
                    // any branch that got there last did.
                    if t > self.join_time[slot] {
                        self.join_time[slot] = t;
                        self.join_opening[slot] = opening;
                    } else if t == self.join_time[slot] {
                        self.join_opening[slot] |= opening;
                    }
                    if self.join_count[slot] > 0 {
                        return;
                    }
                    t = self.join_time[slot];
                    opening = self.join_opening[slot];
                    op = *next;
                }
                Op::End { end } => {
                    self.finish(case, *end, t);
                    return;
                }
            }
        }
    }

    /// The route of gate `g` that the case's recorded decisions decide (by the interpreter's
    /// rule of gates), or `None` when they cannot.
    fn decided(&self, case: u32, g: u32) -> Option<usize> {
        let gate = self.p.gates.get(g as usize)?;
        let n = self.p.records.len();
        let fields =
            Recorded { program: self.p, values: self.recorded.get(case as usize * n..(case as usize + 1) * n)? };
        match gate_route(gate.conditions.iter().map(Option::as_ref), &fields) {
            GateRoute::Taken(i) => Some(i),
            // Only recorded decisions read: one nobody recorded on the case's way counts as
            // false, as in the runtime. A gate that also reads entered data is drawn.
            GateRoute::Unknown(known) if gate.records_only => known.iter().position(|k| *k == Some(true)),
            GateRoute::Unknown(_) => None,
        }
    }

    fn push(&mut self, t: f64, case: u32, op: u32, finish: bool) {
        self.seq += 1;
        let id = self.cases[case as usize].index;
        self.heap.push(Reverse(Event { time: t.max(0.0).to_bits(), seq: self.seq, case, op, finish, id }));
    }

    /// Whether the case in `slot` is still the one numbered `id` (a parallel branch that ended
    /// the case leaves its other branches' events behind).
    fn live(&self, slot: u32, id: u64) -> bool {
        let rec = &self.cases[slot as usize];
        rec.alive && rec.index == id
    }

    fn desk_of(&self, op: u32) -> (u32, u32, u32, (u32, u32), u32) {
        match &self.p.ops[op as usize] {
            Op::Step { desk, step, next, hooks, calendar_days, .. } => (*desk, *step, *next, *hooks, *calendar_days),
            _ => (0, 0, op, (0, 0), 0),
        }
    }

    fn desk_arrive(&mut self, case: u32, op: u32, t: f64) {
        let (desk, ..) = self.desk_of(op);
        let d = &mut self.desks[desk as usize];
        if d.busy < d.staff {
            d.busy += 1;
            self.start_service(case, op, t);
        } else {
            let id = self.cases[case as usize].index;
            self.desks[desk as usize].queue.push_back((case, op, t, id));
        }
    }

    fn start_service(&mut self, case: u32, op: u32, arrived: f64) {
        let (desk, step, _, _, calendar_days) = self.desk_of(op);
        let wait = (self.now - arrived).max(0.0);
        if self.counted(case) {
            let d = desk as usize;
            self.raw.desk_served[d] += 1;
            self.raw.desk_wait_sum[d] += wait;
            self.raw.desk_wait_max[d] = self.raw.desk_wait_max[d].max(wait);
            self.raw.desk_waits[d].push(wait as f32);
        }
        let (duration, _) = self.duration(step, calendar_days, self.now, false);
        self.raw.desk_busy[desk as usize] += duration;
        let at = self.now + duration;
        self.push(at, case, op, true);
    }

    fn event(&mut self, ev: Event) {
        if !ev.finish {
            if self.live(ev.case, ev.id) {
                self.desk_arrive(ev.case, ev.op, self.now);
            }
            return;
        }
        let (desk, step, next, hooks, _) = self.desk_of(ev.op);
        let d = &mut self.desks[desk as usize];
        d.busy = d.busy.saturating_sub(1);
        while let Some((case, op, arrived, id)) = self.desks[desk as usize].queue.pop_front() {
            if self.live(case, id) {
                self.desks[desk as usize].busy += 1;
                self.start_service(case, op, arrived);
                break;
            }
        }
        self.raw.last_event = self.now;
        if !self.live(ev.case, ev.id) {
            return;
        }
        self.step_done(ev.case, step, hooks, self.now);
        self.walk(ev.case, next, self.now, false);
    }

    fn finish(&mut self, case: u32, end: Option<u32>, t: f64) {
        let rec = self.cases[case as usize];
        self.cases[case as usize].alive = false;
        self.free.push(case);
        self.raw.last_event = self.raw.last_event.max(t);
        if rec.index < self.p.warmup {
            return;
        }
        self.raw.counted += 1;
        let slot = end.map_or(self.raw.ends.len() - 1, |e| e as usize);
        if let Some(n) = self.raw.ends.get_mut(slot) {
            *n += 1;
        }
        if rec.rounds > 0 {
            self.raw.returned_cases += 1;
            self.raw.rounds += u64::from(rec.rounds);
        }
        let lead = t - rec.arrival;
        self.raw.lead.push(lead);
        let days = (self.seconds(t) - self.seconds(rec.arrival)) as f64 / 86_400.0;
        self.raw.lead_days.push(days);
        let stride = self.p.clocks.len() * CLOCK_SLOTS;
        for (i, target) in self.p.targets.iter().enumerate() {
            let s = case as usize * stride + target.clock as usize * CLOCK_SLOTS;
            let (start, first, mut stop, paused) =
                (self.clock_data[s], self.clock_data[s + 1], self.clock_data[s + 2], self.clock_data[s + 3]);
            if stop.is_nan() && self.p.clocks[target.clock as usize].until.is_none() {
                stop = t;
            }
            if start.is_nan() || stop.is_nan() {
                continue;
            }
            let clock = (stop - start - paused).max(0.0);
            let plain = (stop - first).max(0.0);
            self.raw.target_measured[i] += 1;
            self.raw.target_clock_sum[i] += clock;
            // A promise in calendar days has its own length in working time for each start.
            let limit_from = |e: &Self, from: f64| {
                if target.duration.calendar_days == 0 {
                    return target.limit_minutes;
                }
                let due = e.calendar.due(e.instant(from), target.duration).at;
                e.minute(due) - from
            };
            let limit = limit_from(self, start) + 1e-6;
            let limit_plain = if first == start { limit } else { limit_from(self, first) + 1e-6 };
            self.raw.target_within[i] += u64::from(clock <= limit);
            self.raw.target_within_raw[i] += u64::from(plain <= limit_plain);
        }
    }
}

/// A simulated case's recorded decisions as the field values conditions read.
struct Recorded<'a> {
    program: &'a Program,
    values: &'a [u16],
}

impl FieldValues for Recorded<'_> {
    fn field(&self, name: &str) -> Option<&Value> {
        let slot = self.program.records.iter().position(|r| r.name == name)?;
        let value = self.values.get(slot)?.checked_sub(1)?;
        self.program.records[slot].values.get(value as usize)
    }
}

/// A random number for tests of the streams.
#[cfg(test)]
fn first(seed: u64, purpose: u64) -> u64 {
    stream(seed, purpose).gen()
}

#[cfg(test)]
mod tests {
    #[test]
    fn streams_differ_by_purpose_and_repeat_by_seed() {
        assert_ne!(super::first(1, 0), super::first(1, 1));
        assert_eq!(super::first(7, 2), super::first(7, 2));
    }
}
