//! Service variants (baru / perpanjangan / perubahan / pencabutan) in one file.
//!
//! A file with a `varian` block holds the steps, times, totals and requirements of every variant
//! together. [`for_variant`] makes the flow of one of them: an ordinary SOP that the checks, the
//! interpreter, the runtime, `alur time`, the simulator and the document all take as they take
//! any other. So a variant is one rule, here, and nothing downstream knows about it.

use std::collections::HashMap;

use super::graph;
use crate::check;
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::{ClockPoint, DeadlineAction, Element, Name, Options, Sop, Target};
use crate::t;

/// Whether the file declares variants or limits a line to some (`untuk`).
pub fn written(sop: &Sop) -> bool {
    let header = &sop.header;
    !sop.variants.is_empty()
        || sop.steps.iter().any(|s| !s.variants.is_empty() || !s.variant_durations.is_empty())
        || !header.variant_totals.is_empty()
        || header.service_standards.iter().any(|s| !s.variants.is_empty())
        || !header.service.variant_requirements.is_empty()
}

/// Whether a line limited to `variants` (empty: every variant) is of `variant`.
fn of(variants: &[Name], variant: &str) -> bool {
    variants.is_empty() || variants.iter().any(|v| v.name == variant)
}

/// The flow of one variant: the steps of the others left out, each step's Waktu, the total,
/// the promises and the requirements those of the variant. `None` when the file declares no
/// such variant.
pub fn for_variant(sop: &Sop, variant: &str) -> Option<Sop> {
    let declared = sop.declared_variant(variant)?;
    let mut out = sop.clone();
    out.variant = Some(declared.id.clone());
    // What the document, `alur time` and the case pages head it with.
    out.title = format!("{} ({})", sop.title, declared.label);
    let kept: Vec<bool> = sop.steps.iter().map(|s| of(&s.variants, variant)).collect();
    let mut new_index = vec![usize::MAX; sop.steps.len()];
    out.steps.clear();
    for (i, step) in sop.steps.iter().enumerate() {
        if !kept[i] {
            out.left_out.push(step.id.clone());
            continue;
        }
        new_index[i] = out.steps.len();
        let mut step = step.clone();
        if let Some((_, duration)) = step.variant_durations.iter().find(|(vs, _)| of(vs, variant)) {
            step.duration = Some(duration.clone());
        }
        out.steps.push(step);
    }
    out.body = keep_elements(&sop.body, &new_index);
    // The actor columns of this variant's table: those its steps name. An actor no step of the
    // file names stays, so every variant still reports it as unused (W005).
    let named_by = |steps: &[crate::model::Step], actor: &str| steps.iter().any(|s| s.names_actor(actor));
    let kept_steps = std::mem::take(&mut out.steps);
    let (kept_actors, left_out): (Vec<_>, Vec<_>) = std::mem::take(&mut out.actors)
        .into_iter()
        .partition(|a| named_by(&kept_steps, &a.id.name) || !named_by(&sop.steps, &a.id.name));
    out.actors = kept_actors;
    out.left_out_actors = left_out.into_iter().map(|a| a.id).collect();
    out.steps = kept_steps;
    let header = &mut out.header;
    if let Some(total) = header.variant_totals.iter().find(|t| of(&t.variants, variant)) {
        header.stated_total = Some(total.clone());
    }
    header.service_standards.retain(|s| of(&s.variants, variant));
    for (variants, items) in &sop.header.service.variant_requirements {
        if of(variants, variant) {
            header.service.requirements.extend(items.iter().cloned());
        }
    }
    out.flow = graph::build(&out);
    Some(out)
}

/// The written structure without the left-out steps (`new_index` is `usize::MAX` for them). A
/// parallel block or alternative left with one branch is that branch; with none, nothing.
fn keep_elements(elements: &[Element], new_index: &[usize]) -> Vec<Element> {
    let mut out = Vec::new();
    for element in elements {
        match element {
            Element::Step { step } => {
                if let Some(&i) = new_index.get(*step).filter(|&&i| i != usize::MAX) {
                    out.push(Element::Step { step: i });
                }
            }
            Element::Parallel { name, branches, span } | Element::Alternatives { name, branches, span } => {
                let mut kept: Vec<Vec<Element>> =
                    branches.iter().map(|b| keep_elements(b, new_index)).filter(|b| !b.is_empty()).collect();
                match kept.len() {
                    0 => {}
                    1 => out.append(&mut kept[0]),
                    _ => out.push(match element {
                        Element::Parallel { .. } => {
                            Element::Parallel { name: name.clone(), branches: kept, span: *span }
                        }
                        _ => Element::Alternatives { name: name.clone(), branches: kept, span: *span },
                    }),
                }
            }
        }
    }
    out
}

/// The checks of a file with variants: its variant names first, then every check on the flow
/// of each variant. A finding of several variants is reported once, saying which when not all;
/// "never used" findings only when they hold in every variant (a document one variant needs is
/// used).
pub fn check(sop: &Sop, options: &Options) -> Vec<Diagnostic> {
    let mut out = references(sop);
    if out.iter().any(Diagnostic::is_error) {
        // The flows cannot be made faithfully: the checks run on the file as written instead.
        out.extend(check::check(sop, options));
        return out;
    }
    let unused_kind = |d: &Diagnostic| matches!(d.code, Code::OutputUnused | Code::UnusedActor);
    // Each finding with the variants it holds in, in the order first found.
    let mut found: Vec<(Diagnostic, Vec<&Name>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for variant in &sop.variants {
        let Some(flow) = for_variant(sop, &variant.id.name) else { continue };
        for diagnostic in check::check(&flow, options) {
            let key = format!("{:?}{:?}{}", diagnostic.code, diagnostic.primary_span(), diagnostic.message.en);
            match index.get(&key) {
                Some(&i) => found[i].1.push(&variant.id),
                None => {
                    index.insert(key, found.len());
                    found.push((diagnostic, vec![&variant.id]));
                }
            }
        }
    }
    let all = sop.variants.len();
    for (mut diagnostic, variants) in found {
        if variants.len() < all {
            if unused_kind(&diagnostic) {
                continue;
            }
            let names = variants.iter().map(|v| format!("`{}`", v.name)).collect::<Vec<_>>().join(", ");
            diagnostic.notes.push(t!("pada varian {names}", "in variant {names}"));
        }
        out.push(diagnostic);
    }
    out
}

/// Variant names that are not declared (E110), and lines of a variant that lead to, time or
/// measure a step the variant leaves out (E216).
fn references(sop: &Sop) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let declared: Vec<&str> = sop.variants.iter().map(|v| v.id.name.as_str()).collect();
    let mut names: Vec<&Name> = Vec::new();
    for step in &sop.steps {
        names.extend(&step.variants);
        names.extend(step.variant_durations.iter().flat_map(|(vs, _)| vs));
    }
    let header = &sop.header;
    names.extend(header.variant_totals.iter().flat_map(|t| &t.variants));
    names.extend(header.service_standards.iter().flat_map(|s| &s.variants));
    names.extend(header.service.variant_requirements.iter().flat_map(|(vs, _)| vs));
    for name in names.into_iter().filter(|n| !declared.contains(&n.name.as_str())) {
        let what = &name.name;
        let mut d = Diagnostic::new(
            Code::UnknownVariant,
            t!("varian `{what}` tidak dideklarasikan", "variant `{what}` is not declared"),
            name.span,
            t!("varian yang tidak dikenal", "unknown variant"),
        );
        d = match did_you_mean(what, declared.iter().copied()) {
            Some(close) => d.with_help(t!("maksud Anda `{close}`?", "did you mean `{close}`?")),
            None if declared.is_empty() => d.with_help(t!(
                "nyatakan varian layanan dalam blok `varian {{ baru \"Izin baru\" ... }}`",
                "declare the service variants in a `variants {{ new \"New permit\" ... }}` block"
            )),
            None => {
                let list = declared.join(", ");
                d.with_help(t!("varian yang ada: {list}", "the variants are: {list}"))
            }
        };
        out.push(d);
    }
    if !out.is_empty() {
        return out;
    }
    let step_of = |id: &str| sop.step(id);
    for variant in &sop.variants {
        let v = variant.id.name.as_str();
        let left_out = |id: &Name| step_of(&id.name).is_some_and(|s| !of(&s.variants, v));
        let mut refer = |id: &Name, span, what: crate::diagnostic::Text| {
            if left_out(id) {
                let step = &id.name;
                out.push(
                    Diagnostic::new(
                        Code::VariantLeavesOutStep,
                        {
                            let (what_id, what_en) = (&what.id, &what.en);
                            t!(
                                "{what_id} menuju langkah `{step}`, yang tidak dilakukan pada varian `{v}`",
                                "{what_en} leads to step `{step}`, which variant `{v}` does not do"
                            )
                        },
                        span,
                        t!("pada varian `{v}`", "in variant `{v}`"),
                    )
                    .with_help(t!(
                        "tambahkan `{v}` pada baris `untuk` langkah `{step}`, atau batasi langkah ini dengan `untuk` pada varian yang melakukannya",
                        "add `{v}` to step `{step}`'s `for` line, or limit this step with `for` to the variants that do it"
                    )),
                );
            }
        };
        for step in sop.steps.iter().filter(|s| of(&s.variants, v)) {
            for outcome in step.decision.iter().flat_map(|d| &d.outcomes) {
                if let Target::Named(to) = &outcome.target {
                    refer(to, outcome.span, t!("hasil ini", "this outcome"));
                }
            }
            for route in &step.routes {
                if let Target::Named(to) = &route.target {
                    refer(to, route.span, t!("rute ini", "this route"));
                }
            }
            for action in &step.deadline_actions {
                if let DeadlineAction::Route { target: Target::Named(to), span } = action {
                    refer(to, *span, t!("tindakan terlambat ini", "this deadline action"));
                }
            }
        }
        for standard in header.service_standards.iter().filter(|s| of(&s.variants, v)) {
            let points = [&standard.from, &standard.until];
            for point in points.into_iter().flatten() {
                let (ClockPoint::StartOf(id) | ClockPoint::EndOf(id)) = point;
                refer(id, standard.span, t!("standar pelayanan ini", "this service standard"));
            }
            for id in &standard.excluded {
                refer(id, standard.span, t!("standar pelayanan ini", "this service standard"));
            }
        }
    }
    // `waktu … untuk v` on a step that variant `v` does not do.
    for step in &sop.steps {
        for (variants, duration) in &step.variant_durations {
            for name in variants.iter().filter(|n| !of(&step.variants, &n.name)) {
                let (v, id) = (&name.name, &step.id.name);
                out.push(
                    Diagnostic::new(
                        Code::VariantLeavesOutStep,
                        t!(
                            "waktu untuk varian `{v}` pada langkah `{id}`, yang tidak dilakukan pada varian itu",
                            "a time for variant `{v}` on step `{id}`, which that variant does not do"
                        ),
                        name.span,
                        t!("varian ini", "this variant"),
                    )
                    .with_label(duration.span, t!("waktu ini tidak pernah dipakai", "this time is never used"))
                    .with_help(t!(
                        "hapus baris waktu ini, atau tambahkan `{v}` pada baris `untuk` langkah ini",
                        "remove this time line, or add `{v}` to the step's `for` line"
                    )),
                );
            }
        }
    }
    out
}

/// Why a variant cannot be chosen, in both languages: the file has none, or not this one.
pub fn unknown_variant(sop: &Sop, asked: &str) -> crate::diagnostic::Text {
    let id = &sop.id.name;
    if sop.variants.is_empty() {
        return t!(
            "SOP `{id}` tidak memiliki varian; hapus pilihan varian `{asked}`",
            "SOP `{id}` has no variants; leave out the variant `{asked}`"
        );
    }
    let list = sop.variant_list();
    match did_you_mean(asked, sop.variants.iter().map(|v| v.id.name.as_str())) {
        Some(close) => t!(
            "SOP `{id}` tidak memiliki varian `{asked}`; maksud Anda `{close}`? (varian: {list})",
            "SOP `{id}` has no variant `{asked}`; did you mean `{close}`? (variants: {list})"
        ),
        None => t!(
            "SOP `{id}` tidak memiliki varian `{asked}` (varian: {list})",
            "SOP `{id}` has no variant `{asked}` (variants: {list})"
        ),
    }
}

/// The flows to work on: the variant asked for, else every variant of a file that has them,
/// else the SOP as written.
pub fn flows(sop: &Sop, asked: Option<&str>) -> Result<Vec<Sop>, crate::diagnostic::Text> {
    match asked {
        Some(asked) => for_variant(sop, asked).map(|flow| vec![flow]).ok_or_else(|| unknown_variant(sop, asked)),
        None if sop.variants.is_empty() => Ok(vec![sop.clone()]),
        None => Ok(sop.variants.iter().filter_map(|v| for_variant(sop, &v.id.name)).collect()),
    }
}
