use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use super::{OutputFormat, EXIT_ERRORS};
use crate::compile::{compile_path, Options};
use crate::diagnostic::{self, Lang};
use crate::model::{DeadlineAction, Sop, Target};
use crate::render::routes::{entry_steps, step_routes, Dest};
use crate::render::text::{condition_text, Labels};

pub fn run(file: &Path, format: OutputFormat, lang: Lang) -> ExitCode {
    let compiled = compile_path(file, &Options::default());
    diagnostic::render(&compiled.sources, &compiled.diagnostics, lang, std::io::stderr().is_terminal());
    let Some(sop) = &compiled.sop else { return ExitCode::from(EXIT_ERRORS) };
    match format {
        OutputFormat::Json => match serde_json::to_string_pretty(sop) {
            Ok(text) => outln!("{text}"),
            Err(error) => {
                eprintln!("alur: {error}");
                return ExitCode::from(EXIT_ERRORS);
            }
        },
        OutputFormat::Human => print_human(sop, lang),
    }
    if compiled.has_errors() {
        ExitCode::from(EXIT_ERRORS)
    } else {
        ExitCode::SUCCESS
    }
}

/// The steps with who does them and their time, and under each what the flow does next: the
/// routes as the interpreter reads them (outcomes, conditions, returns, deadline routes), the
/// condition a step runs on, the field a decision records and the deadline actions.
fn print_human(sop: &Sop, lang: Lang) {
    let labels = Labels::new(lang);
    let t = |id: &str, en: &str| match lang {
        Lang::Id => id.to_string(),
        Lang::En => en.to_string(),
    };
    let dest = |d: &Dest| match d {
        Dest::Step(s) => format!("{} {}", sop.steps[*s].numbered(), sop.steps[*s].id),
        Dest::End(e) => format!("{} ({})", t("selesai", "end"), sop.ends[*e].id),
    };
    outln!("{} \"{}\"", sop.id, sop.title);
    let entries: Vec<String> = entry_steps(sop).iter().map(|s| dest(&Dest::Step(*s))).collect();
    outln!("{}: {}", t("mulai", "starts"), entries.join(&t(" atau ", " or ")));
    let routes = step_routes(sop, &labels);
    for (index, step) in sop.steps.iter().enumerate() {
        let actors: Vec<&str> = step.actor_ids().collect();
        let waktu = step.duration.as_ref().map(|d| d.cell(lang)).unwrap_or_default();
        outln!("{:>4}  {:<24} {:<28} {}", step.numbered(), step.id.name, actors.join(", "), waktu);
        if let Some(desk) = step.desk.as_ref().filter(|d| d.is_first()) {
            let chain: Vec<&str> = desk.actors.iter().map(|a| a.as_str()).collect();
            let cell = desk.cell.as_ref().map(|d| d.cell(lang)).unwrap_or_default();
            outln!(
                "        {}: {} ({} {cell})",
                t("rantai serah-terima dalam satu baris", "hand-off chain in one row"),
                chain.join(" → "),
                t("waktu baris", "row time")
            );
        }
        if let Some(condition) = &step.condition {
            outln!("        {} {}", t("hanya jika", "only if"), condition_text(condition, sop, &labels));
        }
        if let Some(field) = step.decision.as_ref().and_then(|d| d.record.as_ref()) {
            outln!("        {} {field}", t("keputusan dicatat di", "decision recorded in"));
        }
        for route in routes.iter().filter(|r| r.from == index) {
            let mut how = route.label.clone().map(|l| format!(" [{l}]")).unwrap_or_default();
            if route.rework {
                how.push_str(&t(" (dikembalikan)", " (returned)"));
            }
            let arrow = if route.deadline { "⏱→" } else { "→" };
            outln!("        {arrow} {}{how}", dest(&route.to));
        }
        for action in &step.deadline_actions {
            match action {
                DeadlineAction::Escalate { actor, .. } => {
                    outln!("        ⏱ {} {actor}", t("terlambat: eskalasi ke", "overdue: escalate to"))
                }
                DeadlineAction::Notify { actor, .. } => {
                    outln!("        ⏱ {} {actor}", t("terlambat: beritahu", "overdue: notify"))
                }
                DeadlineAction::Route { target: Target::Named(_) | Target::Next, .. } => {}
            }
        }
        if let Some(hold) = &step.hold {
            // Its way out is among the ⏱→ arrows above, labelled.
            outln!(
                "        ⏸ {} {}",
                t("dapat ditangguhkan paling lama", "may stand on hold for at most"),
                hold.max.display(lang)
            );
        }
    }
}
