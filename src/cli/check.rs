use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{sop_files, OutputFormat, EXIT_ERRORS, EXIT_USAGE};
use crate::compile::{compile_path, Options};
use crate::diagnostic::{self, Lang, Severity};

pub fn run(paths: &[PathBuf], format: OutputFormat, deny_warnings: bool, lang: Lang) -> ExitCode {
    let files = match sop_files(paths) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("alur: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let options = Options::default();
    let (mut errors, mut warnings) = (0usize, 0usize);
    let mut json = Vec::new();
    let color = std::io::stderr().is_terminal();
    for file in &files {
        let compiled = compile_path(file, &options);
        errors += compiled.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        warnings += compiled.diagnostics.iter().filter(|d| d.severity == Severity::Warning).count();
        match format {
            OutputFormat::Human => diagnostic::render(&compiled.sources, &compiled.diagnostics, lang, color),
            OutputFormat::Json => json.push(serde_json::json!({
                "file": file.display().to_string(),
                "diagnostics": diagnostic::to_json(&compiled.sources, &compiled.diagnostics, lang),
            })),
        }
    }
    match format {
        OutputFormat::Human => {
            let n = files.len();
            let line = match lang {
                Lang::Id => format!("{n} berkas diperiksa: {errors} kesalahan, {warnings} peringatan"),
                Lang::En => format!("{n} file(s) checked: {errors} error(s), {warnings} warning(s)"),
            };
            eprintln!("{line}");
        }
        OutputFormat::Json => {
            let out = serde_json::json!({ "files": json, "errors": errors, "warnings": warnings });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
    }
    if errors > 0 || (deny_warnings && warnings > 0) {
        ExitCode::from(EXIT_ERRORS)
    } else {
        ExitCode::SUCCESS
    }
}
