use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{sop_files, EXIT_ERRORS, EXIT_USAGE};
use crate::diagnostic::{self, Lang};
use crate::syntax::{self, SourceMap};

pub fn run(paths: &[PathBuf], check: bool, lang: Lang) -> ExitCode {
    let files = match sop_files(paths) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("alur: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut status = ExitCode::SUCCESS;
    for path in &files {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                eprintln!("alur: {}: {error}", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        };
        let mut sources = SourceMap::new();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let file = sources.add(path.display().to_string(), Some(path), text);
        let (cst, diagnostics) = match syntax::parse_bytes(file, &bytes) {
            Ok(()) => syntax::parse(file, sources.text(file)),
            Err(d) => (Default::default(), vec![d]),
        };
        if !diagnostics.is_empty() {
            // Formatting a file that does not parse could lose text: report and leave it alone.
            diagnostic::render(&sources, &diagnostics, lang, std::io::stderr().is_terminal());
            status = ExitCode::from(EXIT_ERRORS);
            continue;
        }
        let source = sources.text(file);
        let formatted = crate::format::format(&cst, source);
        if formatted == source {
            continue;
        }
        if check {
            match lang {
                Lang::Id => eprintln!("{}: belum berformat (jalankan `alur fmt`)", path.display()),
                Lang::En => eprintln!("{}: not formatted (run `alur fmt`)", path.display()),
            }
            status = ExitCode::from(EXIT_ERRORS);
        } else if let Err(error) = write_atomically(path, &formatted) {
            eprintln!("alur: {}: {error}", path.display());
            return ExitCode::from(EXIT_USAGE);
        }
    }
    status
}

/// Writes through a temporary file and a rename, so an interrupted run never leaves half a file.
fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".alur-fmt.tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}
