//! The official document as Markdown: the identity block as a list and the table with each
//! step's symbol marked in its actor column (▭ process, ◇ decision, ⬭ start or end), for
//! review in a pull request or a wiki.

use std::fmt::Write;

use super::flowchart::{Plan, Shape};
use super::routes::Dest;
use super::text::{outcome_text, Labels};
use crate::model::Sop;

/// A table cell: pipes escaped, line breaks flattened, HTML-sensitive characters escaped.
fn cell(text: &str) -> String {
    let escaped = super::text::esc(text).replace('|', "\\|");
    escaped.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn render(sop: &Sop, labels: &Labels) -> String {
    let plan = Plan::new(sop, labels);
    let h = &sop.header;
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", cell(&sop.title));
    let mut ident: Vec<(&str, String)> = Vec::new();
    if let Some(a) = &h.agency {
        ident.push((labels.agency, a.clone()));
    }
    if let Some(n) = &h.number {
        ident.push((labels.number, n.clone()));
    }
    if let Some(v) = &h.version {
        ident.push((labels.version, v.clone()));
    }
    for (label, date) in [(labels.created, h.created), (labels.revised, h.revised), (labels.effective, h.effective)] {
        if let Some(d) = date {
            ident.push((label, d.to_string()));
        }
    }
    if let Some(a) = &h.approved_by {
        let mut s = a.name.clone();
        if let Some(nip) = &a.nip {
            s.push_str(&format!(", {} {nip}", labels.nip));
        }
        if let Some(p) = &a.position {
            s.push_str(&format!(" ({p})"));
        }
        ident.push((labels.approved_by, s));
    }
    for (label, value) in ident {
        let _ = writeln!(out, "- **{}**: {}", label, cell(&value));
    }
    for (label, items) in [
        (labels.legal_basis, &h.legal_basis),
        (labels.related, &h.related),
        (labels.warnings, &h.warnings),
        (labels.qualifications, &h.qualifications),
        (labels.equipment, &h.equipment),
        (labels.records, &h.records),
    ] {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "- **{label}**:");
        for item in items {
            let _ = writeln!(out, "  - {}", cell(item));
        }
    }
    for (label, value) in &h.extra_identity {
        let _ = writeln!(out, "- **{}**: {}", cell(label), cell(value));
    }
    if !h.service.is_empty() {
        let _ = writeln!(out, "\n**{}**\n", crate::render::text::service_label("title", labels.lang));
        for (key, items) in h.service.items() {
            if items.is_empty() {
                continue;
            }
            let _ = writeln!(out, "- **{}**:", crate::render::text::service_label(key, labels.lang));
            for item in items {
                let _ = writeln!(out, "  - {}", cell(item));
            }
        }
    }
    out.push('\n');
    let _ = write!(out, "| {} | {} |", labels.no, labels.activity);
    for actor in &sop.actors {
        let _ = write!(out, " {} |", cell(&actor.label));
    }
    let _ = writeln!(out, " {} | {} | {} | {} |", labels.requirements, labels.time, labels.output, labels.notes);
    out.push_str("|---|---|");
    for _ in &sop.actors {
        out.push_str(":---:|");
    }
    out.push_str("---|---|---|---|\n");
    for (i, step) in sop.steps.iter().enumerate() {
        let _ = write!(out, "| {} | {} |", cell(&step.number), cell(&step.activity));
        let symbol = |shape: Shape| match shape {
            Shape::Terminator => "⬭",
            Shape::Process => "▭",
            Shape::Decision => "◇",
        };
        for c in 0..sop.actors.len() {
            if plan.desk_shapes[i].len() > 1 {
                // A hand-off chain: each desk's symbol with its place in the chain.
                let marks: Vec<String> = (0..plan.desk_shapes[i].len())
                    .filter(|&k| plan.columns[i].get(k) == Some(&c))
                    .map(|k| format!("{} {}", symbol(plan.desk_shapes[i][k]), k + 1))
                    .collect();
                let _ = write!(out, " {} |", marks.join(", "));
                continue;
            }
            let mark = if plan.columns[i][0] == c {
                match plan.shapes[i] {
                    Shape::Terminator => "⬭",
                    Shape::Process => "▭",
                    Shape::Decision => "◇",
                }
            } else if plan.columns[i].contains(&c) {
                "▫"
            } else {
                ""
            };
            let _ = write!(out, " {mark} |");
        }
        let uses = |u: &[crate::model::ArtifactUse]| u.iter().map(|a| a.text.clone()).collect::<Vec<_>>().join("; ");
        let mut notes =
            super::text::with_note(step.notes.clone().unwrap_or_default(), super::text::hold_note(step, labels.lang));
        let routes: Vec<String> = plan
            .routes
            .iter()
            .filter(|r| r.from == i && r.label.is_some())
            .map(|r| {
                let to = match r.to {
                    Dest::Step(s) => sop.steps[s].number.clone(),
                    Dest::End(e) => sop.ends.get(e).map(|e| outcome_text(&e.id.name)).unwrap_or_default(),
                };
                format!("{} → {to}", r.label.clone().unwrap_or_default())
            })
            .collect();
        if !routes.is_empty() {
            if !notes.is_empty() {
                notes.push(' ');
            }
            notes.push_str(&format!("[{}]", routes.join("; ")));
        }
        let _ = writeln!(
            out,
            " {} | {} | {} | {} |",
            cell(&uses(&step.inputs)),
            cell(&step.duration.as_ref().map(|d| d.cell(labels.lang)).unwrap_or_default()),
            cell(&crate::render::html::output_text(sop, step)),
            cell(&notes)
        );
    }
    let _ = write!(out, "| | **{}** |", labels.total);
    for _ in &sop.actors {
        out.push_str(" |");
    }
    let _ = writeln!(out, " | **{}** | | |", cell(&super::html::total_text(sop, labels.lang)));
    out
}
