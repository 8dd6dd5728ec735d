use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{OutputFormat, EXIT_ERRORS, EXIT_USAGE};
use crate::diagnostic::{self, Lang, Severity};
use crate::import::{import, ImportOptions};

pub struct ImportArgs {
    pub table: PathBuf,
    pub output: Option<PathBuf>,
    pub force: bool,
    pub delimiter: Option<String>,
    pub id: Option<String>,
    pub calendar: Option<String>,
    pub format: OutputFormat,
}

pub fn run(args: ImportArgs, lang: Lang) -> ExitCode {
    let bytes = match std::fs::read(&args.table) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("alur: {}: {error}", args.table.display());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let delimiter = match args.delimiter.as_deref() {
        None => None,
        Some("tab" | "\\t" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 && d.is_ascii() => d.bytes().next(),
        Some(d) => {
            match lang {
                Lang::Id => eprintln!("alur: pemisah kolom `{d}` harus `tab` atau satu karakter ASCII (`,`, `;`)"),
                Lang::En => {
                    eprintln!("alur: the column separator `{d}` must be `tab` or one ASCII character (`,`, `;`)")
                }
            }
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Some(id) = &args.id {
        let mut chars = id.chars();
        let valid = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_');
        if !valid {
            match lang {
                Lang::Id => eprintln!("alur: `{id}` bukan id: pakai huruf, angka dan `_`, tidak diawali angka"),
                Lang::En => eprintln!("alur: `{id}` is no id: use letters, digits and `_`, not starting with a digit"),
            }
            return ExitCode::from(EXIT_USAGE);
        }
    }
    if let Some(output) = &args.output {
        if output.exists() && !args.force {
            match lang {
                Lang::Id => eprintln!("alur: {} sudah ada (pakai --force untuk menimpanya)", output.display()),
                Lang::En => eprintln!("alur: {} already exists (use --force to overwrite it)", output.display()),
            }
            return ExitCode::from(EXIT_USAGE);
        }
    }
    let options = ImportOptions { delimiter, sop_id: args.id, calendar: args.calendar };
    let name = args.table.display().to_string();
    let imported = import(&name, Some(&args.table), &bytes, &options);
    let errors = imported.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = imported.diagnostics.len() - errors;
    match args.format {
        OutputFormat::Human => {
            diagnostic::render(&imported.sources, &imported.diagnostics, lang, std::io::stderr().is_terminal())
        }
        OutputFormat::Json => {
            let out = serde_json::json!({
                "file": name,
                "diagnostics": diagnostic::to_json(&imported.sources, &imported.diagnostics, lang),
                "errors": errors,
                "warnings": warnings,
            });
            eprintln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
    }
    let Some(text) = imported.text else {
        match lang {
            Lang::Id => eprintln!("{name}: tidak diimpor: {errors} kesalahan, {warnings} peringatan"),
            Lang::En => eprintln!("{name}: not imported: {errors} error(s), {warnings} warning(s)"),
        }
        return ExitCode::from(EXIT_ERRORS);
    };
    match &args.output {
        Some(output) => {
            if let Err(error) = write_atomically(output, &text) {
                eprintln!("alur: {}: {error}", output.display());
                return ExitCode::from(EXIT_USAGE);
            }
            let shown = output.display();
            match lang {
                Lang::Id => {
                    eprintln!("{name} diimpor ke {shown}: {warnings} peringatan (periksa dengan `alur check {shown}`)")
                }
                Lang::En => eprintln!(
                    "{name} imported into {shown}: {warnings} warning(s) (check it with `alur check {shown}`)"
                ),
            }
        }
        None => outln!("{}", text.trim_end()),
    }
    ExitCode::SUCCESS
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".alur-import.tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}
