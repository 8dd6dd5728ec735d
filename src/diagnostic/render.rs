//! Rendering diagnostics: rustc-like terminal output through codespan-reporting, and JSON.

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term;
use codespan_reporting::term::termcolor::{Buffer, ColorChoice, StandardStream};
use serde::Serialize;
use std::ops::Range;

use super::{Diagnostic, Lang, Severity};
use crate::source::{FileId, SourceMap};

/// Adapts our source map to codespan-reporting without copying sources.
struct Sources<'a>(&'a SourceMap);

impl<'a> Files<'a> for Sources<'a> {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.0.get(id).map(|f| f.name.as_str()).ok_or(FilesError::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.0.get(id).map(|f| f.text.as_str()).ok_or(FilesError::FileMissing)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        let text = self.source(id)?;
        let upto = text.get(..byte_index.min(text.len())).unwrap_or(text);
        Ok(upto.bytes().filter(|b| *b == b'\n').count())
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        let text = self.source(id)?;
        let mut start = 0;
        for (index, line) in text.split_inclusive('\n').enumerate() {
            if index == line_index {
                return Ok(start..start + line.len());
            }
            start += line.len();
        }
        if line_index == text.split_inclusive('\n').count() {
            return Ok(text.len()..text.len());
        }
        Err(FilesError::LineTooLarge { given: line_index, max: text.lines().count() })
    }
}

fn to_codespan(diagnostic: &Diagnostic, lang: Lang) -> cs::Diagnostic<FileId> {
    let severity = match diagnostic.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
        Severity::Note => cs::Severity::Note,
    };
    let labels = diagnostic
        .labels
        .iter()
        .map(|l| {
            let style = if l.primary { cs::LabelStyle::Primary } else { cs::LabelStyle::Secondary };
            cs::Label::new(style, l.span.file, l.span.range()).with_message(l.message.get(lang))
        })
        .collect();
    // codespan already starts every note with `= `: label notes like helps, `note: ...`.
    let note_word = match lang {
        Lang::Id => "catatan",
        Lang::En => "note",
    };
    let mut notes: Vec<String> = diagnostic.notes.iter().map(|n| format!("{note_word}: {}", n.get(lang))).collect();
    if let Some(help) = &diagnostic.help {
        let word = match lang {
            Lang::Id => "bantuan",
            Lang::En => "help",
        };
        notes.push(format!("{word}: {}", help.get(lang)));
    }
    cs::Diagnostic::new(severity)
        .with_code(diagnostic.code.as_str())
        .with_message(diagnostic.message.get(lang))
        .with_labels(labels)
        .with_notes(notes)
}

/// Renders diagnostics as plain text (no colour), for snapshots and files.
pub fn render_all(sources: &SourceMap, diagnostics: &[Diagnostic], lang: Lang) -> String {
    let mut buffer = Buffer::no_color();
    let config = term::Config::default();
    let files = Sources(sources);
    for diagnostic in diagnostics {
        // Writing to an in-memory buffer only fails on a span outside its file; fall back to
        // the bare message rather than lose the diagnostic.
        if term::emit(&mut buffer, &config, &files, &to_codespan(diagnostic, lang)).is_err() {
            let line = format!(
                "{}[{}]: {}\n",
                severity_word(diagnostic.severity),
                diagnostic.code,
                diagnostic.message.get(lang)
            );
            let _ = std::io::Write::write_all(&mut buffer, line.as_bytes());
        }
    }
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// Renders diagnostics to standard error, in colour when it is a terminal.
pub fn render(sources: &SourceMap, diagnostics: &[Diagnostic], lang: Lang, color: bool) {
    let choice = if color { ColorChoice::Auto } else { ColorChoice::Never };
    let mut stream = StandardStream::stderr(choice);
    let config = term::Config::default();
    let files = Sources(sources);
    for diagnostic in diagnostics {
        if term::emit(&mut stream, &config, &files, &to_codespan(diagnostic, lang)).is_err() {
            eprintln!("{}[{}]: {}", severity_word(diagnostic.severity), diagnostic.code, diagnostic.message.get(lang));
        }
    }
}

#[derive(Serialize)]
struct JsonPosition {
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    start: u32,
    end: u32,
    start_position: JsonPosition,
    end_position: JsonPosition,
    text: &'a str,
    message: &'a str,
    primary: bool,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    severity: Severity,
    message: &'a str,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
    notes: Vec<&'a str>,
}

/// Diagnostics as JSON values for editors, CI and the web API, in one language.
pub fn to_json(sources: &SourceMap, diagnostics: &[Diagnostic], lang: Lang) -> serde_json::Value {
    let items: Vec<JsonDiagnostic<'_>> = diagnostics
        .iter()
        .map(|d| JsonDiagnostic {
            code: d.code.as_str(),
            severity: d.severity,
            message: d.message.get(lang),
            labels: d
                .labels
                .iter()
                .map(|l| {
                    let (line, column) = sources.line_col(l.span.file, l.span.start);
                    let (end_line, end_column) = sources.line_col(l.span.file, l.span.end);
                    JsonLabel {
                        file: sources.name(l.span.file),
                        start: l.span.start,
                        end: l.span.end,
                        start_position: JsonPosition { line, column },
                        end_position: JsonPosition { line: end_line, column: end_column },
                        text: sources.slice(l.span),
                        message: l.message.get(lang),
                        primary: l.primary,
                    }
                })
                .collect(),
            help: d.help.as_ref().map(|h| h.get(lang)),
            notes: d.notes.iter().map(|n| n.get(lang)).collect(),
        })
        .collect();
    serde_json::to_value(items).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use crate::compile::{compile_source, Options};
    use crate::diagnostic::Lang;

    #[test]
    fn notes_are_labelled_once() {
        let source = "sop t \"T\" {\n    total 1 jam\n    pelaksana { a \"A\" }\n    langkah 1 s oleh a {\n        kegiatan \"x\"\n        waktu 2 jam\n    }\n}\n";
        let compiled = compile_source("t.sop", source, &Options::default());
        let text = super::render_all(&compiled.sources, &compiled.diagnostics, Lang::En);
        assert!(text.contains("= note: main path"), "{text}");
        assert!(!text.contains("= = "), "{text}");
    }
}
