//! Hand-off chains inside one row (`oleh kabid -> kasi -> back_office`): a row of the table
//! whose desks do the work one after the other. The compiler writes such a row as one step per
//! desk, in order, before the flow graph is built; so the interpreter, the runtime (a task per
//! desk in its actor's inbox), `alur time` and the simulator (each desk charged to its actor)
//! follow the desks without knowing chains. The document folds them back into one row
//! (`render::table`).
//!
//! What a desk takes from the row: the first desk needs the row's documents, carries its
//! condition and its start rule, and keeps the row's id, so a route to the row reaches it; the
//! last desk gives the outputs and takes the decision, the routes, the deadline actions, the call,
//! the completion date and `dilayani`. A clock point at the end of the row (`setelah`, `sampai`)
//! is moved to the last desk and a promise that leaves the row out (`kecuali`) leaves out every
//! desk.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{ActorKind, Desk, Element, Name, PerformerMode, Performers, Sop, Step, StepDuration};
use crate::t;
use crate::time::Duration;

/// Expands every hand-off chain of `sop` into its desks; reports shares that do not fit.
pub fn expand(sop: &mut Sop, diagnostics: &mut Vec<Diagnostic>) {
    let chained = |s: &Step| {
        s.performers.as_ref().is_some_and(|p| p.mode == PerformerMode::Chain)
            || s.duration.as_ref().is_some_and(|d| !d.shares.is_empty())
    };
    if !sop.steps.iter().any(chained) {
        return;
    }
    // For each written step, the steps it becomes.
    let mut becomes: Vec<std::ops::Range<usize>> = Vec::with_capacity(sop.steps.len());
    let mut steps = Vec::with_capacity(sop.steps.len() + 4);
    // For each chain's row id, its last desk's id (where `setelah`/`sampai` now point) and
    // every desk's id (what `kecuali` leaves out).
    let mut rows: Vec<(String, Name, Vec<Name>)> = Vec::new();
    for step in std::mem::take(&mut sop.steps) {
        let from = steps.len();
        let is_chain = step.performers.as_ref().is_some_and(|p| p.mode == PerformerMode::Chain);
        if is_chain {
            let mut desks = desks(step, diagnostics);
            // A hold is the office's: the desks of the applicant or a system cannot hold the file
            // (kept on the first desk when no desk is the office's, so E215 says so).
            let office = |d: &Step| {
                d.actor_ids()
                    .all(|a| sop.actor(a).is_none_or(|x| matches!(x.kind, ActorKind::Staff | ActorKind::External)))
            };
            if desks.iter().any(office) {
                for desk in desks.iter_mut().filter(|d| !office(d)) {
                    desk.hold = None;
                }
            } else {
                for desk in desks.iter_mut().skip(1) {
                    desk.hold = None;
                }
            }
            if let (Some(first), Some(last)) = (desks.first(), desks.last()) {
                let ids = desks.iter().map(|d| d.id.clone()).collect();
                rows.push((first.id.name.clone(), last.id.clone(), ids));
            }
            steps.extend(desks);
        } else {
            steps.push(single(step, diagnostics));
        }
        becomes.push(from..steps.len());
    }
    sop.steps = steps;
    sop.body = std::mem::take(&mut sop.body).into_iter().flat_map(|e| remap(e, &becomes)).collect();
    for standard in &mut sop.header.service_standards {
        if let Some(crate::model::ClockPoint::EndOf(name)) = &mut standard.until {
            move_to_last(name, &rows);
        }
        if let Some(crate::model::ClockPoint::EndOf(name)) = &mut standard.from {
            move_to_last(name, &rows);
        }
        let mut excluded = Vec::with_capacity(standard.excluded.len());
        for name in std::mem::take(&mut standard.excluded) {
            match rows.iter().find(|(row, _, _)| *row == name.name) {
                // Each desk's id, at the place the row was written (errors point there).
                Some((_, _, ids)) => excluded.extend(ids.iter().map(|id| Name::new(id.name.clone(), name.span))),
                None => excluded.push(name),
            }
        }
        standard.excluded = excluded;
    }
}

/// A clock point at the end of a chain's row is the end of its last desk.
fn move_to_last(name: &mut Name, rows: &[(String, Name, Vec<Name>)]) {
    if let Some((_, last, _)) = rows.iter().find(|(row, _, _)| *row == name.name) {
        name.name = last.name.clone();
    }
}

fn remap(element: Element, becomes: &[std::ops::Range<usize>]) -> Vec<Element> {
    match element {
        Element::Step { step } => match becomes.get(step) {
            Some(range) => range.clone().map(|step| Element::Step { step }).collect(),
            None => vec![Element::Step { step }],
        },
        Element::Parallel { name, branches, span } => {
            let branches =
                branches.into_iter().map(|b| b.into_iter().flat_map(|e| remap(e, becomes)).collect()).collect();
            vec![Element::Parallel { name, branches, span }]
        }
        Element::Alternatives { name, branches, span } => {
            let branches =
                branches.into_iter().map(|b| b.into_iter().flat_map(|e| remap(e, becomes)).collect()).collect();
            vec![Element::Alternatives { name, branches, span }]
        }
    }
}

/// A step that is not a chain: shares written for it are an error (it has one desk).
fn single(mut step: Step, diagnostics: &mut Vec<Diagnostic>) -> Step {
    if let Some(duration) = &mut step.duration {
        if !duration.shares.is_empty() {
            diagnostics.push(shares_mismatch(duration, 1));
            duration.shares.clear();
        }
    }
    step
}

fn shares_mismatch(duration: &StepDuration, desks: usize) -> Diagnostic {
    let written = duration.shares.len();
    Diagnostic::new(
        Code::ChainSharesMismatch,
        t!(
            "waktu ditulis untuk {written} meja, tetapi langkah ini punya {desks} meja",
            "the time is written for {written} desks but this step has {desks}"
        ),
        duration.span,
        t!("{written} bagian waktu", "{written} time shares"),
    )
    .with_help(if desks == 1 {
        t!(
            "`->` di `waktu` membagi waktu antar meja rantai `oleh a -> b`; untuk satu pelaksana tulis satu waktu",
            "`->` in `takes` shares the time over the desks of a chain `by a -> b`; with one actor write one time"
        )
    } else {
        t!(
            "tulis satu bagian waktu per meja (`waktu 10 menit -> 1 jam`), atau satu waktu untuk seluruh baris",
            "write one share per desk (`takes 10 minutes -> 1 hour`), or one time for the whole row"
        )
    })
}

/// The desks of a chain's row, each a step of its own.
fn desks(row: Step, diagnostics: &mut Vec<Diagnostic>) -> Vec<Step> {
    let actors: Vec<Name> = row.performers.as_ref().map(|p| p.actors.clone()).unwrap_or_default();
    let count = actors.len().max(1);
    // `waktu 1 hari untuk perpanjangan` on a chain: that variant's time is shared the same way.
    let variant_shares: Vec<(Vec<Name>, StepDuration, Vec<Duration>)> =
        row.variant_durations.iter().map(|(vs, d)| (vs.clone(), d.clone(), shares(d, count, diagnostics))).collect();
    let shares = row.duration.as_ref().map(|d| shares(d, count, diagnostics));
    let cell = row.duration.clone();
    let last = count - 1;
    actors
        .iter()
        .enumerate()
        .map(|(index, actor)| {
            let mut desk = row.clone();
            if index > 0 {
                // An id no one can write (`.` is not part of a name), so it never clashes.
                desk.id = Name::new(format!("{}.{}", row.id.name, index + 1), row.id.span);
                desk.inputs.clear();
                desk.condition = None;
                desk.starts_next_workday = false;
            }
            if index < last {
                desk.outputs.clear();
                desk.decision = None;
                desk.routes.clear();
                desk.deadline_actions.clear();
                desk.call = None;
                desk.completion_date = None;
                desk.serves = false;
            }
            desk.performers = Some(Performers { actors: vec![actor.clone()], mode: PerformerMode::Single });
            let share_of = |d: &StepDuration, shares: &[Duration]| StepDuration {
                value: d.value.map(|_| shares.get(index).copied().unwrap_or(Duration::ZERO)),
                text: match d.value {
                    Some(_) => shares.get(index).map(|s| s.to_string()).unwrap_or_default(),
                    None => d.text.clone(),
                },
                span: d.span,
                then_next_workday: None,
                shares: Vec::new(),
            };
            desk.duration = match (&row.duration, &shares) {
                (Some(d), Some(shares)) => Some(share_of(d, shares)),
                _ => None,
            };
            desk.variant_durations =
                variant_shares.iter().map(|(vs, d, shares)| (vs.clone(), share_of(d, shares))).collect();
            desk.desk = Some(Desk { row: row.id.clone(), index, count, cell: cell.clone(), actors: actors.clone() });
            desk
        })
        .collect()
}

/// Each desk's share of the row's time: as written, or the row's time split evenly (counted in
/// minutes, the remainder to the last desk; days must divide evenly, since how many minutes a
/// day has is the calendar's).
fn shares(duration: &StepDuration, desks: usize, diagnostics: &mut Vec<Diagnostic>) -> Vec<Duration> {
    let Some(total) = duration.value else { return vec![Duration::ZERO; desks] };
    if duration.then_next_workday.is_some() {
        diagnostics.push(
            Diagnostic::new(
                Code::InvalidValue,
                t!(
                    "waktu dua bagian (`lalu hari_berikutnya`) tidak bisa dibagi ke meja-meja rantai",
                    "a two-part time (`then next_workday`) cannot be shared over the desks of a chain"
                ),
                duration.span,
                t!("waktu dua bagian", "a two-part time"),
            )
            .with_help(t!(
                "tulis bagian tiap meja (`waktu 1 jam -> 1 hari`), atau pecah baris menjadi beberapa langkah",
                "write each desk's share (`takes 1 hour -> 1 workday`), or split the row into steps"
            )),
        );
        return even_or_last(total, desks);
    }
    if !duration.shares.is_empty() {
        if duration.shares.len() != desks {
            diagnostics.push(shares_mismatch(duration, desks));
            return even_or_last(total, desks);
        }
        return duration.shares.clone();
    }
    match split_evenly(total, desks) {
        Some(shares) => shares,
        None => {
            let (row_id, row_en) =
                (total.display(crate::diagnostic::Lang::Id), total.display(crate::diagnostic::Lang::En));
            diagnostics.push(
                Diagnostic::new(
                    Code::ChainTimeUneven,
                    t!(
                        "hari dalam waktu {row_id} tidak terbagi rata ke {desks} meja",
                        "the days of {row_en} do not divide evenly over {desks} desks"
                    ),
                    duration.span,
                    t!("waktu seluruh baris", "the whole row's time"),
                )
                .with_help(t!(
                    "tulis bagian tiap meja, misalnya `waktu 1 hari -> 1 hari -> 2 jam`",
                    "write each desk's share, such as `takes 1 workday -> 1 workday -> 2 hours`"
                )),
            );
            even_or_last(total, desks)
        }
    }
}

/// The row's time split evenly over `desks`: days (working or calendar) when they divide
/// evenly, hours and minutes counted in minutes with the remainder going to the last desk.
pub fn split_evenly(total: Duration, desks: usize) -> Option<Vec<Duration>> {
    let n = u32::try_from(desks).ok().filter(|n| *n > 0)?;
    if total.workdays % n != 0 || total.calendar_days % n != 0 {
        return None;
    }
    let minutes = total.hours * 60 + total.minutes;
    let (each, rest) = (minutes / n, minutes % n);
    Some(
        (0..n)
            .map(|i| {
                let minutes = if i + 1 == n { each + rest } else { each };
                Duration {
                    workdays: total.workdays / n,
                    calendar_days: total.calendar_days / n,
                    ..Duration::minutes(minutes)
                }
                .normalised()
            })
            .collect(),
    )
}

/// After an error: the even split where it exists, else the whole time at the last desk, so the
/// totals still read as written.
fn even_or_last(total: Duration, desks: usize) -> Vec<Duration> {
    split_evenly(total, desks).unwrap_or_else(|| {
        let mut shares = vec![Duration::ZERO; desks];
        if let Some(last) = shares.last_mut() {
            *last = total;
        }
        shares
    })
}

/// The SOP as its table prints it: each hand-off chain folded back into one row, with every
/// desk's actor in order (`PerformerMode::Chain`), the row's Waktu cell as written, the first
/// desk's documents needed and condition and the last desk's outputs, decision and routes; the
/// flow graph built again over the rows. The SOP itself when it has no chain.
pub fn fold(sop: &Sop) -> std::borrow::Cow<'_, Sop> {
    if !sop.steps.iter().any(|s| s.desk.is_some()) {
        return std::borrow::Cow::Borrowed(sop);
    }
    // For each step, the row it is folded into.
    let mut row_of = Vec::with_capacity(sop.steps.len());
    let mut steps: Vec<Step> = Vec::with_capacity(sop.steps.len());
    for step in &sop.steps {
        match (&step.desk, steps.last_mut()) {
            (Some(desk), Some(row)) if !desk.is_first() => {
                // The later desks carry what happens at the end of the row.
                if desk.is_last() {
                    row.outputs.clone_from(&step.outputs);
                    row.decision.clone_from(&step.decision);
                    row.routes.clone_from(&step.routes);
                    row.deadline_actions.clone_from(&step.deadline_actions);
                    row.call.clone_from(&step.call);
                    row.completion_date.clone_from(&step.completion_date);
                    row.serves = step.serves;
                }
            }
            _ => {
                let mut row = step.clone();
                if let Some(desk) = row.desk.take() {
                    row.performers = Some(Performers { actors: desk.actors, mode: PerformerMode::Chain });
                    row.duration = desk.cell;
                }
                steps.push(row);
            }
        }
        row_of.push(steps.len().saturating_sub(1));
    }
    let mut table = Sop { steps, body: Vec::new(), flow: Default::default(), ..sop.clone() };
    table.body = sop.body.iter().filter_map(|e| unmap(e, sop, &row_of)).collect();
    let row_name = |name: &mut Name| {
        if let Some(row) = sop.step(name.as_str()).and_then(|s| s.desk.as_ref()) {
            name.name.clone_from(&row.row.name);
        }
    };
    for standard in &mut table.header.service_standards {
        for point in [&mut standard.from, &mut standard.until].into_iter().flatten() {
            *point = point.as_written(sop);
        }
        standard.excluded.iter_mut().for_each(row_name);
        standard.excluded.dedup_by(|a, b| a.name == b.name);
    }
    table.flow = super::graph::build(&table);
    std::borrow::Cow::Owned(table)
}

fn unmap(element: &Element, sop: &Sop, row_of: &[usize]) -> Option<Element> {
    match element {
        Element::Step { step } => {
            let continues = sop.steps.get(*step).is_some_and(Step::continues_row);
            (!continues).then(|| Element::Step { step: row_of.get(*step).copied().unwrap_or(*step) })
        }
        Element::Parallel { name, branches, span } => Some(Element::Parallel {
            name: name.clone(),
            branches: branches.iter().map(|b| b.iter().filter_map(|e| unmap(e, sop, row_of)).collect()).collect(),
            span: *span,
        }),
        Element::Alternatives { name, branches, span } => Some(Element::Alternatives {
            name: name.clone(),
            branches: branches.iter().map(|b| b.iter().filter_map(|e| unmap(e, sop, row_of)).collect()).collect(),
            span: *span,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_split_with_the_rest_to_the_last_desk() {
        let shares = split_evenly(Duration::minutes(31), 3).unwrap_or_default();
        assert_eq!(shares, vec![Duration::minutes(10), Duration::minutes(10), Duration::minutes(11)]);
        let shares = split_evenly(Duration::new(2, 1, 0), 2).unwrap_or_default();
        assert_eq!(shares, vec![Duration::new(1, 0, 30), Duration::new(1, 0, 30)]);
    }

    #[test]
    fn days_that_do_not_divide_are_refused() {
        assert_eq!(split_evenly(Duration::workdays(2), 3), None);
        assert_eq!(split_evenly(Duration::calendar_days(5), 2), None);
        assert_eq!(split_evenly(Duration::minutes(5), 0), None);
    }
}
