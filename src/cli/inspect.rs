use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use super::{OutputFormat, EXIT_ERRORS};
use crate::compile::{compile_path, Options};
use crate::diagnostic::{self, Lang};

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
        OutputFormat::Human => {
            outln!("{} \"{}\"", sop.id, sop.title);
            for step in &sop.steps {
                let actors: Vec<&str> = step.actor_ids().collect();
                let waktu = step.duration.as_ref().map(|d| d.value.display(lang)).unwrap_or_default();
                outln!("{:>4}  {:<24} {:<28} {}", step.number, step.id.name, actors.join(", "), waktu);
            }
        }
    }
    if compiled.has_errors() {
        ExitCode::from(EXIT_ERRORS)
    } else {
        ExitCode::SUCCESS
    }
}
