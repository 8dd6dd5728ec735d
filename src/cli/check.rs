use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{sop_files, OutputFormat, EXIT_ERRORS, EXIT_USAGE};
use crate::compile::folders::sop_root;
use crate::compile::folders::Calendars;
use crate::compile::{compile_path_within, duplicate_sop, Options};
use crate::diagnostic::{self, Diagnostic, Lang, Severity};
use crate::syntax::SourceMap;

struct Report {
    format: OutputFormat,
    lang: Lang,
    color: bool,
    errors: usize,
    warnings: usize,
    json: Vec<serde_json::Value>,
}

impl Report {
    fn add(&mut self, name: &str, sources: &SourceMap, diagnostics: &[Diagnostic]) {
        self.errors += diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        self.warnings += diagnostics.iter().filter(|d| d.severity == Severity::Warning).count();
        match self.format {
            OutputFormat::Human => diagnostic::render(sources, diagnostics, self.lang, self.color),
            OutputFormat::Json => self.json.push(serde_json::json!({
                "file": name,
                "diagnostics": diagnostic::to_json(sources, diagnostics, self.lang),
            })),
        }
    }
}

pub fn run(
    paths: &[PathBuf],
    format: OutputFormat,
    deny_warnings: bool,
    calendars: Option<PathBuf>,
    lang: Lang,
) -> ExitCode {
    let files = match sop_files(paths) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("alur: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut calendars = Calendars::new(calendars);
    let mut report =
        Report { format, lang, color: std::io::stderr().is_terminal(), errors: 0, warnings: 0, json: Vec::new() };
    let mut defined: HashMap<String, String> = HashMap::new();
    for file in &files {
        let folder = calendars.folder_for(file);
        let options = match &folder {
            Some(folder) => {
                let (context, fresh) = calendars.load(folder);
                if fresh {
                    let mut diagnostics = context.diagnostics.clone();
                    diagnostic::sort(&mut diagnostics);
                    report.add(&folder.display().to_string(), &context.sources, &diagnostics);
                }
                context.options.clone()
            }
            None => Options::default(),
        };
        let mut compiled = compile_path_within(file, &root_of(file, paths), &options);
        // Two files with one SOP id: the first (in name order) keeps it, as `alur serve` does.
        if let Some(sop) = &compiled.sop {
            match defined.get(&sop.id.name) {
                Some(first) => compiled.diagnostics.push(duplicate_sop(sop, first)),
                None => {
                    defined.insert(sop.id.name.clone(), file.display().to_string());
                }
            }
        }
        if compiled.has_calendars && folder.as_deref() != file.parent() {
            // A calendar file outside the calendar folder: check its own folder's calendars.
            if let Some(parent) = file.parent() {
                let (context, fresh) = calendars.load(parent);
                if fresh {
                    report.add(&parent.display().to_string(), &context.sources, &context.diagnostics.clone());
                }
            }
        }
        report.add(&file.display().to_string(), &compiled.sources, &compiled.diagnostics);
    }
    let (errors, warnings) = (report.errors, report.warnings);
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
            let out = serde_json::json!({ "files": report.json, "errors": errors, "warnings": warnings });
            outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
    }
    if errors > 0 || (deny_warnings && warnings > 0) {
        ExitCode::from(EXIT_ERRORS)
    } else {
        ExitCode::SUCCESS
    }
}

/// The folder a file's imports and calls are read from: its SOP folder ([`sop_root`]), or the
/// folder named on the command line that holds it when that one is larger (`alur check sop/`
/// checks as `alur serve` serves `sop/`).
fn root_of(file: &Path, named: &[PathBuf]) -> PathBuf {
    let own = sop_root(file);
    named
        .iter()
        .filter(|dir| dir.is_dir() && file.starts_with(dir))
        .chain(std::iter::once(&own))
        .min_by_key(|dir| dir.components().count())
        .cloned()
        .unwrap_or(own.clone())
}
