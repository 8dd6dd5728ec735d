//! The stated total is the sum of the steps, and the service-standard promises hold.

use crate::diagnostic::{Code, Diagnostic, Lang};
use crate::model::Options;
use crate::model::{Sop, StatedTotal, Step};
use crate::t;
use crate::timing::totals;

/// More labels than this would bury the message; the rest go into a note.
const MAX_STEP_LABELS: usize = 24;

/// `flow_broken`: the flow check found a step from which no end can be reached, so the main
/// path may stop short of an end.
pub fn check(sop: &Sop, options: &Options, flow_broken: bool, out: &mut Vec<Diagnostic>) {
    let day = options.day_length_for(sop.header.calendar.as_ref().map(|c| c.as_str()));
    if let Some(stated) = &sop.header.stated_total {
        check_rounding(stated, day, out);
    }
    // The sums are meaningless until every step has a duration (reported elsewhere as errors):
    // say what was not checked rather than leave it out silently.
    let without: Vec<&Step> = sop.steps.iter().filter(|s| s.duration.is_none()).collect();
    if !without.is_empty() {
        let reason = |d: Diagnostic| {
            let mut d = d;
            for step in without.iter().take(MAX_STEP_LABELS) {
                d = d.with_label(step.span, t!("waktunya tidak terbaca", "its duration could not be read"));
            }
            d
        };
        not_checked(sop, out, reason);
        return;
    }
    check_calls(sop, day, out);
    let totals = totals(sop, day);
    if flow_broken && totals.main_path.end.is_none() {
        not_checked(sop, out, |d| {
            d.with_note(t!(
                "jalur utama tidak sampai ke akhir mana pun, jadi jumlah waktunya tidak berarti",
                "the main path reaches no end, so what its steps add up to means nothing"
            ))
        });
        return;
    }
    let computed = totals.main_path.duration;
    let untimed = &totals.main_path.untimed;
    if let Some(stated) = &sop.header.stated_total {
        // Steps without a stated time leave the sum open: only a sum already past the total
        // is wrong; otherwise say how much time is left for them.
        let exceeded = computed.length_key(day) > stated.duration.length_key(day);
        if !untimed.is_empty() && !exceeded {
            out.push(incomplete(sop, untimed, computed, stated.duration, stated.duration_span, false));
        } else if stated.duration != computed {
            let (stated_id, stated_en) = (stated.duration.display(Lang::Id), stated.duration.display(Lang::En));
            let (computed_id, computed_en) = (computed.display(Lang::Id), computed.display(Lang::En));
            let mut d = Diagnostic::new(
                Code::StatedTotalMismatch,
                t!(
                    "total tertulis {stated_id}, tetapi jumlah langkahnya {computed_id}",
                    "the stated total is {stated_en}, but the steps add up to {computed_en}"
                ),
                stated.duration_span,
                t!("tertulis {stated_id}", "stated {stated_en}"),
            );
            let mut listed = 0;
            let mut sum_id = Vec::new();
            let mut sum_en = Vec::new();
            for &index in &totals.main_path.steps {
                let step = &sop.steps[index];
                let Some(duration) = &step.duration else { continue };
                let Some(value) = duration.value else { continue };
                let number = step.numbered();
                let (value_id, value_en) = (value.display(Lang::Id), value.display(Lang::En));
                sum_id.push(format!("{number}: {value_id}"));
                sum_en.push(format!("{number}: {value_en}"));
                // A hand-off chain's row is labelled once, at its last desk, with the row's time.
                let labelled = match &step.desk {
                    Some(desk) if !desk.is_last() => None,
                    Some(desk) => desk.cell.as_ref().and_then(|c| c.value),
                    None => Some(value),
                };
                if let Some(value) = labelled.filter(|_| listed < MAX_STEP_LABELS) {
                    let (value_id, value_en) = (value.display(Lang::Id), value.display(Lang::En));
                    d = d.with_label(duration.span, t!("+ {value_id}", "+ {value_en}"));
                    listed += 1;
                }
            }
            let (sum_id, sum_en) = (sum_id.join(" + "), sum_en.join(" + "));
            d = d.with_note(t!("jalur utama: {sum_id} = {computed_id}", "main path: {sum_en} = {computed_en}"));
            if untimed.is_empty() {
                d = d.with_help(t!(
                    "perbaiki waktu langkah yang salah, atau tulis `total {computed_id}`",
                    "fix the step that is wrong, or write `total {computed_en}`"
                ));
            } else {
                let count = untimed.iter().filter(|&&s| !sop.steps[s].continues_row()).count();
                d = d
                    .with_note(t!(
                        "{count} langkah tanpa waktu tertulis tidak terhitung; yang lain saja sudah melebihi total",
                        "{count} steps without a stated time are not counted; the others alone exceed the total"
                    ))
                    .with_help(t!(
                        "perbaiki waktu langkah yang salah, atau totalnya (lebih dari {computed_id})",
                        "fix the step that is wrong, or the total (more than {computed_en})"
                    ));
            }
            out.push(d);
        }
    }
    for (standard, result) in sop.header.service_standards.iter().zip(&totals.service_standards) {
        if result.within.is_none() {
            out.push(incomplete(sop, &result.untimed, result.measured, result.promised, standard.span, true));
        }
        if result.within == Some(false) {
            let (promised_id, promised_en) = (result.promised.display(Lang::Id), result.promised.display(Lang::En));
            let (measured_id, measured_en) = (result.measured.display(Lang::Id), result.measured.display(Lang::En));
            out.push(
                Diagnostic::new(
                    Code::PromiseExceeded,
                    t!(
                        "standar pelayanan menjanjikan {promised_id}, tetapi langkah-langkahnya memerlukan {measured_id}",
                        "the service standard promises {promised_en}, but the steps take {measured_en}"
                    ),
                    standard.span,
                    t!("janji ini tidak terpenuhi", "this promise cannot be kept"),
                )
                .with_help(t!(
                    "persingkat langkah-langkahnya atau perbaiki janji dalam standar pelayanan",
                    "shorten the steps or correct the promise in the service standard"
                )),
            );
        }
    }
}

/// W007: a step that runs another procedure allows it less time than that procedure promises.
fn check_calls(sop: &Sop, day: u32, out: &mut Vec<Diagnostic>) {
    for step in &sop.steps {
        let (Some(call), Some(allowed)) = (&step.call, step.stated_duration()) else { continue };
        let Some(promise) = call.promise else { continue };
        if promise.length_key(day) <= allowed.length_key(day) {
            continue;
        }
        let (id, path) = (step.id.as_str(), &call.path);
        let (promise_id, promise_en) = (promise.display(Lang::Id), promise.display(Lang::En));
        let (allowed_id, allowed_en) = (allowed.display(Lang::Id), allowed.display(Lang::En));
        let mut d = Diagnostic::new(
            Code::CallOutlastsStep,
            t!(
                "langkah `{id}` memberi {allowed_id}, tetapi prosedur `{path}` yang dipanggilnya menjanjikan {promise_id}",
                "step `{id}` allows {allowed_en}, but the procedure `{path}` it calls promises {promise_en}"
            ),
            call.span,
            t!("menjanjikan {promise_id}", "promises {promise_en}"),
        )
        .with_help(t!(
            "samakan waktu langkah ini dengan janji prosedur itu, atau perbaiki janjinya",
            "make this step's time match that procedure's promise, or correct the promise"
        ));
        if let Some(duration) = &step.duration {
            d = d.with_label(duration.span, t!("waktu langkah {allowed_id}", "the step's time {allowed_en}"));
        }
        out.push(d);
    }
}

/// N402: a total or a promise that steps without a stated time leave open, with what the
/// other steps add up to and what is left for the untimed ones.
fn incomplete(
    sop: &Sop,
    untimed: &[usize],
    known: crate::time::Duration,
    promised: crate::time::Duration,
    span: crate::syntax::Span,
    promise: bool,
) -> Diagnostic {
    // A hand-off chain's row without time is one step of the table, however many desks it has.
    let untimed: Vec<usize> =
        untimed.iter().copied().filter(|&s| sop.steps.get(s).is_some_and(|s| !s.continues_row())).collect();
    let count = untimed.len();
    let (known_id, known_en) = (known.display(Lang::Id), known.display(Lang::En));
    let (promised_id, promised_en) = (promised.display(Lang::Id), promised.display(Lang::En));
    let (what_id, what_en) =
        if promise { ("standar pelayanan", "service standard") } else { ("total tertulis", "stated total") };
    let numbers: Vec<&str> =
        untimed.iter().filter_map(|&s| sop.steps.get(s)).map(|s| s.number.as_str()).take(MAX_STEP_LABELS).collect();
    let numbers = numbers.join(", ");
    let mut d = Diagnostic::new(
        Code::TotalIncomplete,
        t!(
            "{what_id} {promised_id} hanya dapat diperiksa sebagian: {count} langkah tanpa waktu tertulis (langkah {numbers})",
            "the {what_en} of {promised_en} can only be checked in part: {count} step(s) without a stated time (step {numbers})"
        ),
        span,
        t!("tidak lengkap ({count} langkah tanpa waktu)", "incomplete ({count} step(s) without time)"),
    )
    .with_note(t!(
        "langkah yang waktunya tertulis berjumlah {known_id}; sisanya untuk langkah tanpa waktu",
        "the steps with a stated time add up to {known_en}; the rest is left for the steps without one"
    ));
    for &index in untimed.iter().take(MAX_STEP_LABELS) {
        if let Some(duration) = sop.steps.get(index).and_then(|s| s.duration.as_ref()) {
            d = d.with_label(duration.span, t!("waktu tidak tertulis", "no time stated"));
        }
    }
    d.with_help(t!(
        "bila SOP atau standar pelayanan menyebut waktu langkah-langkah ini, tulis di baris `waktu`-nya",
        "if the SOP or its service standard gives these steps a time, write it in their `takes` (`waktu`) line"
    ))
}

/// The rounded days in parentheses agree with the stated total: this needs no step.
fn check_rounding(stated: &StatedTotal, day: u32, out: &mut Vec<Diagnostic>) {
    let (Some(rounded), Some(span)) = (stated.rounded_workdays, stated.rounded_span) else { return };
    let expected = stated.duration.rounded_workdays(day);
    if rounded != expected {
        let hours = f64::from(day) / 60.0;
        out.push(
            Diagnostic::new(
                Code::StatedRoundingMismatch,
                t!(
                    "pembulatan seharusnya ({expected} hari), bukan ({rounded} hari)",
                    "the total rounds up to ({expected} workdays), not ({rounded} workdays)"
                ),
                span,
                t!("seharusnya {expected} hari", "should be {expected} workdays"),
            )
            .with_note(t!(
                "sisa jam dan menit dibulatkan ke atas menjadi hari kerja ({hours} jam sehari menurut kalender)",
                "leftover hours and minutes round up to whole workdays ({hours} hours a day on the calendar)"
            ))
            .with_help(t!("tulis `({expected} hari)`", "write `({expected} workdays)`")),
        );
    }
}

/// A note on the stated total and on each service standard: not checked, with `reason` added
/// (labels on the steps, or a note).
fn not_checked(sop: &Sop, out: &mut Vec<Diagnostic>, reason: impl Fn(Diagnostic) -> Diagnostic) {
    let help = || {
        t!(
            "perbaiki kesalahan pada langkah-langkahnya; waktunya diperiksa setelah itu",
            "fix the errors in the steps; the time is checked once they are fixed"
        )
    };
    if let Some(stated) = &sop.header.stated_total {
        let d = Diagnostic::new(
            Code::TotalNotChecked,
            t!(
                "total tertulis tidak diperiksa karena ada kesalahan pada langkah-langkahnya",
                "the stated total was not checked because of errors in the steps"
            ),
            stated.duration_span,
            t!("belum diperiksa", "not checked"),
        );
        out.push(reason(d).with_help(help()));
    }
    for standard in &sop.header.service_standards {
        let d = Diagnostic::new(
            Code::TotalNotChecked,
            t!(
                "standar pelayanan ini tidak diperiksa karena ada kesalahan pada langkah-langkahnya",
                "this service standard was not checked because of errors in the steps"
            ),
            standard.span,
            t!("belum diperiksa", "not checked"),
        );
        out.push(reason(d).with_help(help()));
    }
}
