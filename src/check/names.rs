//! Every name is declared once and every reference points at something that exists.

use foldhash::{HashMap, HashMapExt, HashSet};

use super::unknown;
use crate::diagnostic::{Code, Diagnostic, Text};
use crate::model::Options;
use crate::model::{ActorKind, DeadlineAction, Decision, FieldType, Sop, Step, Target};
use crate::syntax::Span;
use crate::t;

fn duplicates<'a>(kind: Text, items: impl Iterator<Item = (&'a str, Span)>, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let (kind_id, kind_en) = (&kind.id, &kind.en);
    for (name, span) in items {
        if let Some(first) = seen.get(name) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateId,
                    t!("{kind_id} `{name}` ditulis dua kali", "{kind_en} `{name}` is declared twice"),
                    span,
                    t!("ditulis lagi di sini", "declared again here"),
                )
                .with_label(*first, t!("pertama kali di sini", "first declared here"))
                .with_help(t!("beri id yang berbeda", "give it a different id")),
            );
        } else {
            seen.insert(name, span);
        }
    }
}

pub fn check(sop: &Sop, options: &Options, out: &mut Vec<Diagnostic>) {
    served_once(sop, out);
    declared_once(sop, out);
    numbered_once(sop, out);
    let known = Known::new(sop);
    calendar_exists(sop, options, out);
    promise_points_exist(sop, &known, out);
    for step in &sop.steps {
        has_actor_and_time(sop, step, &known, out);
        hold_has_staff(sop, step, out);
        documents_exist(step, &known, out);
        if let Some(decision) = &step.decision {
            decision_is_sound(sop, step, decision, &known, out);
        }
        routes_are_taken(step, &known, out);
        overdue_and_hold_targets_exist(step, &known, out);
        called_ends_are_handled(step, out);
    }
    unused_actors(sop, out);
}

/// Every id is declared once; steps and ends share one namespace (both are route targets).
fn declared_once(sop: &Sop, out: &mut Vec<Diagnostic>) {
    duplicates(
        t!("langkah atau akhir", "step or end"),
        sop.steps.iter().map(|s| (s.id.as_str(), s.id.span)).chain(sop.ends.iter().map(|e| (e.id.as_str(), e.id.span))),
        out,
    );
    duplicates(t!("pelaksana", "actor"), sop.actors.iter().map(|a| (a.id.as_str(), a.id.span)), out);
    duplicates(
        t!("dokumen", "document"),
        sop.artifacts.iter().filter(|a| a.external).map(|a| (a.id.as_str(), a.id.span)),
        out,
    );
    duplicates(t!("data", "field"), sop.fields.iter().map(|f| (f.id.as_str(), f.id.span)), out);
}

/// Every step number is written once.
fn numbered_once(sop: &Sop, out: &mut Vec<Diagnostic>) {
    let mut numbers: HashMap<&str, Span> = HashMap::new();
    // The desks of a hand-off chain after the first share its row's number.
    for step in sop.steps.iter().filter(|s| !s.continues_row()) {
        let number = step.number.as_str();
        if let Some(first) = numbers.get(number) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateStepNumber,
                    t!("nomor langkah {number} dipakai dua kali", "step number {number} is used twice"),
                    step.span,
                    t!("nomor yang sama di sini", "same number here"),
                )
                .with_label(*first, t!("pertama kali di sini", "first used here"))
                .with_help(t!("nomor boleh melompat, tetapi tidak boleh sama", "numbers may skip but must not repeat")),
            );
        } else {
            numbers.insert(number, step.span);
        }
    }
}

/// What a reference may name: the lists for "did you mean", the sets for membership (large
/// SOPs), and how to declare a missing actor or target.
struct Known<'a> {
    actors: Vec<&'a str>,
    targets: Vec<&'a str>,
    steps: Vec<&'a str>,
    artifacts: Vec<&'a str>,
    fields: Vec<&'a str>,
    actor_set: HashSet<&'a str>,
    target_set: HashSet<&'a str>,
    step_set: HashSet<&'a str>,
    artifact_set: HashSet<&'a str>,
    declare_actor: Text,
    declare_target: Text,
}

impl<'a> Known<'a> {
    fn new(sop: &'a Sop) -> Known<'a> {
        let actors: Vec<&str> = sop.actors.iter().map(|a| a.id.as_str()).collect();
        // A later desk's id (`row.2`) cannot be written, so it is never suggested.
        let written = || sop.steps.iter().filter(|s| !s.continues_row()).map(|s| s.id.as_str());
        let targets: Vec<&str> = written().chain(sop.ends.iter().map(|e| e.id.as_str())).collect();
        let steps: Vec<&str> = written().collect();
        let artifacts: Vec<&str> = sop.artifacts.iter().map(|a| a.id.as_str()).collect();
        let fields: Vec<&str> = sop.fields.iter().map(|f| f.id.as_str()).collect();
        // Sets for membership (large SOPs), the lists above for "did you mean".
        let (actor_set, target_set, step_set, artifact_set): (
            HashSet<&str>,
            HashSet<&str>,
            HashSet<&str>,
            HashSet<&str>,
        ) = (
            actors.iter().copied().collect(),
            // Every step's id: a clock point or `kecuali` on a chain's row names its desks (compile::chain).
            targets.iter().copied().chain(sop.steps.iter().map(|s| s.id.as_str())).collect(),
            sop.steps.iter().map(|s| s.id.as_str()).collect(),
            artifacts.iter().copied().collect(),
        );
        let declare_actor = t!(
            "tambahkan di blok `pelaksana`, misalnya `kabid \"Kabid Perizinan\"`",
            "add it to the `actors` block, for example `head \"Head of Licensing\"`"
        );
        let declare_target = t!(
            "tulis langkah dengan id ini, atau tambahkan di blok `selesai`",
            "write a step with this id, or add it to the `ends` block"
        );
        Known {
            actors,
            targets,
            steps,
            artifacts,
            fields,
            actor_set,
            target_set,
            step_set,
            artifact_set,
            declare_actor,
            declare_target,
        }
    }

    /// Reports `name` unless it is a declared actor.
    fn actor(&self, name: &str, span: Span, out: &mut Vec<Diagnostic>) {
        if !self.actor_set.contains(name) {
            out.push(unknown(
                Code::UnknownActor,
                t!("pelaksana", "actor"),
                name,
                span,
                &self.actors,
                self.declare_actor.clone(),
            ));
        }
    }

    /// Reports a named target that is no step or end.
    fn target(&self, target: &Target, out: &mut Vec<Diagnostic>) {
        if let Target::Named(n) = target {
            if !self.target_set.contains(n.as_str()) {
                out.push(unknown(
                    Code::UnknownStep,
                    t!("langkah atau akhir", "step or end"),
                    n.as_str(),
                    n.span,
                    &self.targets,
                    self.declare_target.clone(),
                ));
            }
        }
    }
}

/// The SOP's calendar is one of those that exist.
fn calendar_exists(sop: &Sop, options: &Options, out: &mut Vec<Diagnostic>) {
    if let (Some(calendar), Some(known)) = (&sop.header.calendar, &options.calendars) {
        if !known.iter().any(|k| k == calendar.as_str()) {
            let names: Vec<&str> = known.iter().map(String::as_str).collect();
            let list = names.join(", ");
            out.push(unknown(
                Code::UnknownCalendar,
                t!("kalender", "calendar"),
                calendar.as_str(),
                calendar.span,
                &names,
                t!("kalender yang ada: {list}", "known calendars: {list}"),
            ));
        }
    }
}

/// The steps a promise starts at, stops at or leaves out exist.
fn promise_points_exist(sop: &Sop, known: &Known<'_>, out: &mut Vec<Diagnostic>) {
    for standard in &sop.header.service_standards {
        let points = [&standard.from, &standard.until].into_iter().flatten().map(|p| p.step());
        for name in points.chain(&standard.excluded) {
            if !known.step_set.contains(name.as_str()) {
                out.push(unknown(
                    Code::UnknownStep,
                    t!("langkah", "step"),
                    name.as_str(),
                    name.span,
                    &known.steps,
                    known.declare_target.clone(),
                ));
            }
        }
    }
}

/// A step has an actor and a time, and what it promises to tell or do when overdue can be counted.
fn has_actor_and_time(sop: &Sop, step: &Step, known: &Known<'_>, out: &mut Vec<Diagnostic>) {
    match &step.performers {
        None => {
            let id = step.id.as_str();
            out.push(
                Diagnostic::new(
                    Code::MissingActor,
                    t!("langkah `{id}` tidak punya pelaksana", "step `{id}` has no actor"),
                    step.span,
                    t!("siapa yang mengerjakan langkah ini?", "who does this step?"),
                )
                .with_help(t!("tulis `oleh PELAKSANA` setelah id langkah", "write `by ACTOR` after the step id")),
            );
        }
        Some(p) => {
            for actor in &p.actors {
                known.actor(actor.as_str(), actor.span, out);
            }
        }
    }
    // A row's missing `waktu` is reported once, at its first desk.
    if step.duration.is_none() && !step.continues_row() {
        let id = step.id.as_str();
        out.push(
            Diagnostic::new(
                Code::MissingDuration,
                t!("langkah `{id}` tidak punya waktu", "step `{id}` has no duration"),
                step.span,
                t!("berapa lama langkah ini?", "how long does this step take?"),
            )
            .with_help(t!(
                "tambahkan `waktu 10 menit` (boleh `waktu 0 menit`); bila SOP tidak menyebut waktunya, tulis `waktu -`",
                "add `takes 10 minutes` (`takes 0 minutes` is allowed); if the SOP states no time, write `takes -`"
            )),
        );
    }
    if let Some(told) = step.completion_date.as_ref().filter(|c| c.duration.is_none() && sop.promise().is_none()) {
        let id = step.id.as_str();
        out.push(
            Diagnostic::new(
                Code::CompletionDateWithoutTime,
                t!(
                    "langkah `{id}` memberitahukan tanggal selesai, tetapi SOP ini tidak menjanjikan waktu untuk menghitungnya",
                    "step `{id}` tells the completion date, but this SOP promises no time to count it from"
                ),
                told.span,
                t!("berapa lama sejak langkah ini?", "how long after this step?"),
            )
            .with_help(t!(
                "tulis waktunya (`tanggal_selesai 12 hari`), atau `standar_pelayanan` / `total` SOP ini",
                "write the time (`completion_date 12 workdays`), or this SOP's `service_standard` / `total`"
            )),
        );
    }
    if let (true, Some(first)) = (step.time_not_stated(), step.deadline_actions.first()) {
        let id = step.id.as_str();
        let mut d = Diagnostic::new(
            Code::DeadlineWithoutTime,
            t!(
                "langkah `{id}` punya tindakan `terlambat`, tetapi waktunya tidak tertulis: tenggatnya tidak pernah tiba",
                "step `{id}` has an `overdue` action, but its time is not stated: it never falls due"
            ),
            first.span(),
            t!("tidak akan pernah terjadi", "can never happen"),
        )
        .with_help(t!(
            "tulis waktu langkah ini di `waktu`, atau hapus baris `terlambat`",
            "give the step a time in its `takes` line, or remove the `overdue` line"
        ));
        if let Some(duration) = &step.duration {
            d = d.with_label(duration.span, t!("waktu tidak tertulis", "no time stated"));
        }
        out.push(d);
    }
}

// A hold is put on and lifted by the office's staff: a step only the applicant or the
// system performs has nobody who could.
fn hold_has_staff(sop: &Sop, step: &Step, out: &mut Vec<Diagnostic>) {
    if let (Some(hold), Some(performers)) = (&step.hold, &step.performers) {
        let staffed = performers.actors.iter().any(|a| {
            sop.actor(a.as_str()).is_none_or(|actor| matches!(actor.kind, ActorKind::Staff | ActorKind::External))
        });
        if !staffed {
            let id = step.id.as_str();
            out.push(
                Diagnostic::new(
                    Code::HoldWithoutStaff,
                    t!(
                        "langkah `{id}` dapat ditangguhkan, tetapi tidak dikerjakan petugas kantor yang dapat menangguhkannya",
                        "step `{id}` may be put on hold, but no office staff performs it who could do so"
                    ),
                    hold.span,
                    t!("penangguhan", "hold"),
                )
                .with_label(performers.actors[0].span, t!("pemohon atau sistem", "the applicant or the system"))
                .with_help(t!(
                    "tulis `penangguhan` pada langkah petugas yang menunggu (misalnya verifikasi), atau hapus baris ini",
                    "write `hold` on the staff step that waits (such as the verification), or remove the line"
                )),
            );
        }
    }
}

/// The documents a step takes and gives are declared or given by a step.
fn documents_exist(step: &Step, known: &Known<'_>, out: &mut Vec<Diagnostic>) {
    for input in step.inputs.iter().chain(&step.outputs) {
        let name = input.artifact.as_str();
        if !known.artifact_set.contains(name) {
            out.push(unknown(
                Code::UnknownArtifact,
                t!("dokumen", "document"),
                name,
                input.artifact.span,
                &known.artifacts,
                t!(
                    "dokumen harus dihasilkan (`output`) oleh suatu langkah atau ditulis di blok `dokumen`",
                    "a document must be given (`gives`) by a step or declared in the `documents` block"
                ),
            ));
        }
    }
}

/// A decision's outcomes are distinct and lead somewhere, there are two or more, the field it
/// records them in can hold them, and the step has no `lanjut` besides.
fn decision_is_sound(sop: &Sop, step: &Step, decision: &Decision, known: &Known<'_>, out: &mut Vec<Diagnostic>) {
    duplicates(t!("hasil keputusan", "outcome"), decision.outcomes.iter().map(|o| (o.name.as_str(), o.name.span)), out);
    for outcome in &decision.outcomes {
        known.target(&outcome.target, out);
    }
    if decision.outcomes.len() == 1 && step.call.is_none() {
        out.push(
            Diagnostic::new(
                Code::SingleOutcome,
                t!("keputusan ini hanya punya satu hasil", "this decision has only one outcome"),
                decision.span,
                t!("keputusan dengan satu hasil bukan keputusan", "a decision with one outcome decides nothing"),
            )
            .with_help(t!(
                "tambahkan hasil lain (misalnya `ditolak -> kembali ke ...`), atau ganti dengan `lanjut ke`",
                "add another outcome (for example `rejected -> return to ...`), or use `next` instead"
            )),
        );
    }
    recorded_in_a_choice(sop, decision, known, out);
    if !step.routes.is_empty() {
        out.push(
            Diagnostic::new(
                Code::InvalidValue,
                t!(
                    "langkah dengan keputusan diarahkan oleh hasil-hasilnya",
                    "a step with a decision is routed by its outcomes"
                ),
                step.routes[0].span,
                t!("`lanjut` tidak berlaku di sini", "`next` has no effect here"),
            )
            .with_help(t!(
                "pindahkan tujuan ini ke salah satu hasil keputusan",
                "move this target into one of the outcomes"
            )),
        );
    }
}

/// The field a decision records its outcome in (`catat`) is a choice with every outcome.
fn recorded_in_a_choice(sop: &Sop, decision: &Decision, known: &Known<'_>, out: &mut Vec<Diagnostic>) {
    let Some(record) = &decision.record else { return };
    match sop.field(record.as_str()) {
        None => out.push(unknown(
            Code::UnknownField,
            t!("data", "field"),
            record.as_str(),
            record.span,
            &known.fields,
            t!("tambahkan di blok `data` sebagai `pilihan(...)`", "add it to the `fields` block as a `choice(...)`"),
        )),
        Some(field) => match &field.ty {
            FieldType::Choice(choices) => {
                for outcome in &decision.outcomes {
                    let name = outcome.name.as_str();
                    if !choices.iter().any(|c| c == name) {
                        let field_name = record.as_str();
                        let list = choices.join(", ");
                        out.push(
                            Diagnostic::new(
                                Code::UnknownOutcome,
                                t!(
                                    "hasil `{name}` bukan pilihan data `{field_name}`",
                                    "outcome `{name}` is not a choice of field `{field_name}`"
                                ),
                                outcome.name.span,
                                t!("tidak bisa dicatat", "cannot be recorded"),
                            )
                            .with_label(field.id.span, t!("pilihannya: {list}", "its choices: {list}"))
                            .with_help(t!(
                                "tambahkan `{name}` ke pilihan data itu",
                                "add `{name}` to the field's choices"
                            )),
                        );
                    }
                }
            }
            _ => {
                let field_name = record.as_str();
                out.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        t!(
                            "hasil keputusan hanya dapat dicatat di data `pilihan`",
                            "an outcome can only be recorded in a `choice` field"
                        ),
                        record.span,
                        t!("`{field_name}` bukan pilihan", "`{field_name}` is not a choice"),
                    )
                    .with_label(field.id.span, t!("dideklarasikan di sini", "declared here")),
                );
            }
        },
    }
}

/// A step's routes lead somewhere, and none is written after one that always applies.
fn routes_are_taken(step: &Step, known: &Known<'_>, out: &mut Vec<Diagnostic>) {
    for route in &step.routes {
        known.target(&route.target, out);
    }
    // Routes are tried in order and the first one without `jika` always applies: any
    // route written after it would be silently ignored.
    if let Some(otherwise) = step.routes.iter().position(|r| r.condition.is_none()) {
        for dead in step.routes.iter().skip(otherwise + 1) {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    t!("rute ini tidak pernah dipakai", "this route is never taken"),
                    dead.span,
                    t!("tidak pernah dipakai", "never taken"),
                )
                .with_label(
                    step.routes[otherwise].span,
                    t!("rute tanpa `jika` ini selalu berlaku", "this route without `if` always applies"),
                )
                .with_help(t!(
                    "beri rute sebelumnya syarat `jika ...`, atau hapus salah satunya",
                    "give the earlier route an `if ...` condition, or remove one of them"
                )),
            );
        }
    }
}

/// The actors and targets of a step's `terlambat` lines and its hold exist.
fn overdue_and_hold_targets_exist(step: &Step, known: &Known<'_>, out: &mut Vec<Diagnostic>) {
    for action in &step.deadline_actions {
        match action {
            DeadlineAction::Escalate { actor, .. } | DeadlineAction::Notify { actor, .. } => {
                known.actor(actor.as_str(), actor.span, out)
            }
            DeadlineAction::Route { target, .. } => known.target(target, out),
        }
    }
    if let Some(hold) = &step.hold {
        known.target(&hold.target, out);
    }
}

/// A step calling a procedure decides on exactly the ends that procedure has.
fn called_ends_are_handled(step: &Step, out: &mut Vec<Diagnostic>) {
    if let (Some(call), Some(decision)) = (&step.call, &step.decision) {
        if call.sop.is_some() {
            let ends: Vec<&str> = call.ends.iter().map(String::as_str).collect();
            for outcome in &decision.outcomes {
                let name = outcome.name.as_str();
                if !ends.contains(&name) {
                    let path = &call.path;
                    let list = ends.join(", ");
                    out.push(unknown(
                        Code::UnknownOutcome,
                        t!("hasil", "outcome"),
                        name,
                        outcome.name.span,
                        &ends,
                        t!("`{path}` berakhir dengan: {list}", "`{path}` ends with: {list}"),
                    ));
                }
            }
            let handled: Vec<&str> = decision.outcomes.iter().map(|o| o.name.as_str()).collect();
            let missing: Vec<&str> = ends.iter().copied().filter(|e| !handled.contains(e)).collect();
            if !missing.is_empty() {
                let list = missing.join(", ");
                let path = &call.path;
                out.push(
                    Diagnostic::new(
                        Code::SubprocedureOutcomes,
                        t!(
                            "akhir `{list}` dari `{path}` tidak ditangani",
                            "end(s) `{list}` of `{path}` are not handled"
                        ),
                        decision.span,
                        t!("keputusan ini", "this decision"),
                    )
                    .with_label(call.span, t!("prosedur yang dipanggil", "the called procedure"))
                    .with_help(t!(
                        "tambahkan hasil untuk setiap akhir prosedur itu",
                        "add an outcome for every end of that procedure"
                    )),
                );
            }
        }
    }
}

/// Every declared actor does a step.
fn unused_actors(sop: &Sop, out: &mut Vec<Diagnostic>) {
    for actor in &sop.actors {
        let used = sop.steps.iter().any(|s| s.names_actor(&actor.id.name));
        if !used {
            let name = actor.id.as_str();
            out.push(
                Diagnostic::new(
                    Code::UnusedActor,
                    t!("pelaksana `{name}` tidak mengerjakan langkah apa pun", "actor `{name}` does no step"),
                    actor.id.span,
                    t!("tidak dipakai", "unused"),
                )
                .with_help(t!(
                    "hapus, atau tetapkan sebagai pelaksana suatu langkah",
                    "remove it, or make it the actor of a step"
                )),
            );
        }
    }
}

/// The applicant is served once (`dilayani`): a second step that says so leaves the promises
/// without one place to stop (each variant's flow is checked on its own, so two variants may
/// each serve at a step of their own).
fn served_once(sop: &Sop, out: &mut Vec<Diagnostic>) {
    let mut served = sop.steps.iter().filter(|s| s.serves);
    let Some(first) = served.next() else { return };
    for again in served {
        let (one, other) = (&first.id.name, &again.id.name);
        out.push(
            Diagnostic::new(
                Code::DuplicateSetting,
                t!(
                    "pemohon dilayani di dua langkah: `{one}` dan `{other}`",
                    "the applicant is served at two steps: `{one}` and `{other}`"
                ),
                again.span,
                t!("`dilayani` lagi di sini", "`served` again here"),
            )
            .with_label(first.span, t!("pertama kali di sini", "first here"))
            .with_help(t!(
                "tulis `dilayani` hanya pada langkah yang menyerahkan hasil kepada pemohon",
                "write `served` only on the step that hands the result to the applicant"
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::{compile_source, Options};
    use crate::diagnostic::Code;

    fn codes(source: &str) -> Vec<Code> {
        compile_source("test.sop", source, &Options::default()).diagnostics.iter().map(|d| d.code).collect()
    }

    const STEPS: &str = r#"
    langkah 2 u oleh a { kegiatan "u"; waktu 1 menit }
    langkah 3 v oleh a { kegiatan "v"; waktu 1 menit }
}
"#;

    #[test]
    fn a_route_after_an_unconditional_route_is_reported() {
        let source = format!(
            "sop t \"T\" {{\n    pelaksana {{ a \"A\" }}\n    langkah 1 s oleh a {{ kegiatan \"s\"; waktu 1 menit; lanjut ke u; lanjut ke v }}{STEPS}"
        );
        assert!(codes(&source).contains(&Code::InvalidValue));
    }

    #[test]
    fn conditional_routes_then_one_otherwise_are_fine() {
        let source = format!(
            "sop t \"T\" {{\n    pelaksana {{ a \"A\" }}\n    data {{ x ya_tidak }}\n    langkah 1 s oleh a {{ kegiatan \"s\"; waktu 1 menit; lanjut ke v jika x; lanjut ke u }}{STEPS}"
        );
        assert!(!codes(&source).contains(&Code::InvalidValue));
    }
}
