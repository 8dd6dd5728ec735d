//! `alur simulate`: what-if simulation of lead times against the promised total.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{OutputFormat, EXIT_ERRORS, EXIT_USAGE};
use crate::compile::compile_path;
use crate::compile::folders::Calendars;
use crate::diagnostic::{self, Lang};
use crate::model::Sop;
use crate::simulate::{self, render, Overrides, Problem, Report, Scenario};
use crate::time::Calendar;

pub struct SimulateArgs {
    pub files: Vec<PathBuf>,
    pub scenario: Option<PathBuf>,
    pub compare: bool,
    pub cases: Option<u64>,
    pub seed: Option<u64>,
    pub svg: Option<PathBuf>,
    pub calendars: Option<PathBuf>,
    pub format: OutputFormat,
    pub variant: Option<String>,
}

fn usage(message: String) -> ExitCode {
    eprintln!("alur: {message}");
    ExitCode::from(EXIT_USAGE)
}

fn say(lang: Lang, id: &str, en: &str) -> String {
    match lang {
        Lang::Id => id.to_string(),
        Lang::En => en.to_string(),
    }
}

/// Compiles one SOP and finds its calendar; problems are printed and end the command.
fn load(file: &Path, calendars: &mut Calendars, lang: Lang) -> Result<(Sop, Calendar), ExitCode> {
    let Some(folder) = calendars.folder_for(file) else {
        return Err(usage(say(
            lang,
            "folder kalender tidak ditemukan; pakai --calendars FOLDER",
            "no calendar folder found; use --calendars DIR",
        )));
    };
    if !file.exists() {
        let shown = file.display();
        return Err(usage(match lang {
            Lang::Id => format!("{shown}: berkas tidak ada"),
            Lang::En => format!("{shown}: no such file"),
        }));
    }
    let (context, _) = calendars.load(&folder);
    let compiled = compile_path(file, &context.options);
    let color = std::io::stderr().is_terminal();
    let errors: Vec<_> =
        compiled.diagnostics.iter().filter(|d| d.severity == diagnostic::Severity::Error).cloned().collect();
    diagnostic::render(&compiled.sources, &errors, lang, color);
    let Some(sop) = compiled.sop.clone().filter(|_| !compiled.has_errors()) else {
        return Err(ExitCode::from(EXIT_ERRORS));
    };
    let Some(name) = sop.header.calendar.as_ref().map(|c| c.name.clone()) else {
        return Err(usage(say(lang, "SOP ini tidak menyebut kalender", "this SOP names no calendar")));
    };
    match context.set.calendar(&name) {
        Ok(calendar) => Ok((sop, calendar)),
        Err(diagnostics) => {
            diagnostic::render(&context.sources, &diagnostics, lang, color);
            Err(usage(match lang {
                Lang::Id => format!("kalender `{name}` tidak dapat dipakai"),
                Lang::En => format!("calendar `{name}` cannot be used"),
            }))
        }
    }
}

fn report_problems(problems: &[Problem], file: &str, text: &str, lang: Lang) {
    for p in problems {
        eprintln!("{}", p.render(file, text, lang));
    }
}

/// Runs one SOP on the scenario, with a progress bar on a terminal for long runs.
fn run_one(sop: &Sop, calendar: &Calendar, program: &simulate::Program, lang: Lang) -> Report {
    let show = std::io::stderr().is_terminal() && program.cases >= 200_000;
    let bar = if show {
        let bar = indicatif::ProgressBar::new(program.cases);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(say(lang, "simulasi", "simulating"));
        Some(bar)
    } else {
        None
    };
    let mut progress = |n: u64| {
        if let Some(bar) = &bar {
            bar.set_position(n);
        }
    };
    let report = simulate::simulate(sop, calendar, program, &mut progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    report
}

pub fn run(args: SimulateArgs, lang: Lang) -> ExitCode {
    let expected = if args.compare { 2 } else { 1 };
    if args.files.len() != expected {
        return usage(if args.compare {
            say(lang, "--compare butuh dua berkas SOP: A.sop B.sop", "--compare needs two SOP files: A.sop B.sop")
        } else {
            say(
                lang,
                "beri satu berkas SOP (atau --compare A.sop B.sop)",
                "give one SOP file (or --compare A.sop B.sop)",
            )
        });
    }
    let (scenario_text, scenario_name) = match &args.scenario {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => (text, path.display().to_string()),
            Err(error) => {
                let shown = path.display();
                return usage(match lang {
                    Lang::Id => format!("skenario {shown} tidak bisa dibaca: {error}"),
                    Lang::En => format!("cannot read the scenario {shown}: {error}"),
                });
            }
        },
        None => (String::new(), "-".to_string()),
    };
    let scenario = match Scenario::parse(&scenario_text) {
        Ok(s) => s,
        Err(problem) => {
            report_problems(&[problem], &scenario_name, &scenario_text, lang);
            return ExitCode::from(EXIT_ERRORS);
        }
    };
    let mut calendars = Calendars::new(args.calendars.clone());
    let overrides = Overrides { cases: args.cases, seed: args.seed, lenient_names: args.compare };
    let mut loaded = Vec::new();
    for file in &args.files {
        match load(file, &mut calendars, lang) {
            Ok(x) => loaded.push(x),
            Err(code) => return code,
        }
    }
    // A file with service variants simulates one of them: --varian, else the scenario's `varian`.
    let variant = args.variant.clone().or_else(|| scenario.variant.clone());
    for (sop, _) in &mut loaded {
        if !sop.needs_variant() && variant.is_none() {
            continue;
        }
        let flows = match (variant.as_deref(), sop.needs_variant()) {
            (None, _) => {
                let list = sop.variant_list();
                return usage(match lang {
                    Lang::Id => format!(
                        "SOP `{}` memiliki varian ({list}): pilih satu dengan --varian atau `varian = \"…\"` di skenario",
                        sop.id.name
                    ),
                    Lang::En => format!(
                        "SOP `{}` has variants ({list}): choose one with --variant or `variant = \"…\"` in the scenario",
                        sop.id.name
                    ),
                });
            }
            // Under --compare a version without variants runs as it is.
            (Some(_), false) if args.compare => continue,
            (Some(v), _) => crate::compile::variant_flows(sop, Some(v)),
        };
        match flows.map(|mut f| f.pop()) {
            Ok(Some(flow)) => *sop = flow,
            Ok(None) => {}
            Err(why) => return usage(why.get(lang).to_string()),
        }
    }
    let mut programs = Vec::new();
    let mut failed = false;
    for (sop, calendar) in &loaded {
        let (program, problems) = simulate::lower(sop, calendar, &scenario, &overrides);
        // Names only one version has are warnings under --compare, checked together below.
        let problems: Vec<Problem> = problems.into_iter().filter(|p| !p.warning).collect();
        report_problems(&problems, &scenario_name, &scenario_text, lang);
        match program {
            Some(p) => programs.push(p),
            None => failed = true,
        }
    }
    if failed {
        return ExitCode::from(EXIT_ERRORS);
    }
    if args.compare {
        // A name only one version has is fine; a name neither has is a mistake.
        let unknown_everywhere = scenario_unknown_in_all(&loaded, &scenario, &overrides);
        if !unknown_everywhere.is_empty() {
            for mut p in unknown_everywhere {
                p.warning = false;
                eprintln!("{}", p.render(&scenario_name, &scenario_text, lang));
            }
            return ExitCode::from(EXIT_ERRORS);
        }
    }
    let mut reports: Vec<Report> = loaded
        .iter()
        .zip(&programs)
        .map(|((sop, calendar), program)| {
            let mut r = run_one(sop, calendar, program, lang);
            r.scenario = scenario.name.clone().or_else(|| args.scenario.as_ref().map(|p| p.display().to_string()));
            r
        })
        .collect();
    if let Some(path) = &args.svg {
        let svg = match (&reports[..], args.compare) {
            ([a, b], true) => render::svg_compare(
                a,
                b,
                (&args.files[0].display().to_string(), &args.files[1].display().to_string()),
                lang,
            ),
            _ => render::svg(&reports[0], lang),
        };
        if let Err(error) = std::fs::write(path, svg) {
            let shown = path.display();
            return usage(match lang {
                Lang::Id => format!("{shown} tidak bisa ditulis: {error}"),
                Lang::En => format!("cannot write {shown}: {error}"),
            });
        }
    }
    match (args.format, args.compare) {
        (OutputFormat::Json, false) => {
            outln!("{}", serde_json::to_string_pretty(&reports[0]).unwrap_or_default());
        }
        (OutputFormat::Json, true) => {
            let b = reports.pop();
            let a = reports.pop();
            outln!("{}", serde_json::to_string_pretty(&serde_json::json!({ "a": a, "b": b })).unwrap_or_default());
        }
        (OutputFormat::Human, false) => {
            super::print_out(&render::text(&reports[0], lang, 40));
        }
        (OutputFormat::Human, true) => {
            let names = (args.files[0].display().to_string(), args.files[1].display().to_string());
            super::print_out(&render::compare_text(&reports[0], &reports[1], (&names.0, &names.1), lang));
        }
    }
    ExitCode::SUCCESS
}

/// Problems about names that no version of the SOP has.
fn scenario_unknown_in_all(loaded: &[(Sop, Calendar)], scenario: &Scenario, overrides: &Overrides) -> Vec<Problem> {
    let mut per_sop: Vec<Vec<Problem>> = loaded
        .iter()
        .map(|(sop, calendar)| {
            simulate::lower(sop, calendar, scenario, overrides).1.into_iter().filter(|p| p.warning).collect()
        })
        .collect();
    let Some(first) = per_sop.pop() else { return Vec::new() };
    first.into_iter().filter(|p| per_sop.iter().all(|other| other.iter().any(|q| q.span == p.span))).collect()
}
