//! `alur import`: turns an SOP table in the Permenpan-RB 35/2012 shape (No, Kegiatan, one
//! column per actor, Kelengkapan, Waktu, Output, Keterangan, the total row), as the tab- or
//! comma-separated text a document or spreadsheet gives, into a `.sop` file.
//!
//! Every cell lands in the file or is reported: cells become step lines, actor marks become
//! `oleh`, text outside the columns becomes a comment with a warning. Where a row has no marks
//! the actor is inferred (from the route written in the row before, or from the activity) and
//! the inference is written next to the step; where it cannot be, a marker actor stands in with
//! a warning. The result is printed by [`crate::format`] and compiled before it is returned.
//! See `docs/import.md`.

mod actors;
mod body;
mod decisions;
mod from_standard;
mod infer;
mod standard;
mod table;
mod text;
mod write;

use std::path::Path;

use crate::diagnostic::{self, Code, Diagnostic};
use crate::syntax::{FileId, SourceMap, Span};
use crate::t;

use table::{Col, Layout, Row};
use write::Document;

/// Settings from the command line.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The column separator; detected when `None`.
    pub delimiter: Option<u8>,
    /// The SOP's id; from the title when `None`.
    pub sop_id: Option<String>,
    /// A `kalender` line to write.
    pub calendar: Option<String>,
}

/// The result of an import: the `.sop` text when there were no errors, and every diagnostic,
/// with spans in `sources` (the input table).
#[derive(Debug)]
pub struct Imported {
    pub sources: SourceMap,
    pub file: FileId,
    pub text: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Imported {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The name the marker actor gets when a step's actor cannot be read.
pub const UNKNOWN_ACTOR: &str = "belum_ditentukan";

/// Imports a table. `name` is how messages name the input.
pub fn import(name: &str, path: Option<&Path>, bytes: &[u8], options: &ImportOptions) -> Imported {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut sources = SourceMap::new();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(error) => {
            let at = error.valid_up_to();
            let file = sources.add(name, path, String::from_utf8_lossy(bytes).into_owned());
            let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
            let d = Diagnostic::new(
                Code::ImportUnreadable,
                t!("tabel bukan teks UTF-8 (baris {line})", "the table is not UTF-8 text (line {line})"),
                Span::new(file, at.min(sources.text(file).len()), at.min(sources.text(file).len())),
                t!("bita pertama yang bukan UTF-8", "first byte that is not UTF-8"),
            )
            .with_help(t!(
                "simpan tabel sebagai teks UTF-8 (LibreOffice: Simpan sebagai → CSV, set karakter UTF-8)",
                "save the table as UTF-8 text (LibreOffice: Save as → CSV, character set UTF-8)"
            ));
            return Imported { sources, file, text: None, diagnostics: vec![d] };
        }
    };
    let file = sources.add(name, path, text);
    let mut diagnostics = Vec::new();
    let source_name = path.and_then(|p| p.file_name()).map_or(name.to_string(), |n| n.to_string_lossy().into_owned());
    let out = match table::read_rows(file, sources.text(file), options.delimiter) {
        Ok(rows) => Importer::new(file, &source_name, options, &mut diagnostics).run(&rows),
        Err(d) => {
            diagnostics.push(d);
            None
        }
    };
    diagnostic::sort(&mut diagnostics);
    // Two errors of the compiled file in one cell are one problem of the table.
    diagnostics.dedup_by(|a, b| a.code == b.code && a.message == b.message && a.primary_span() == b.primary_span());
    let text = out.filter(|_| !diagnostics.iter().any(Diagnostic::is_error));
    Imported { sources, file, text, diagnostics }
}

struct Importer<'a> {
    file: FileId,
    source_name: String,
    options: &'a ImportOptions,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl<'a> Importer<'a> {
    fn new(file: FileId, source_name: &str, options: &'a ImportOptions, diagnostics: &'a mut Vec<Diagnostic>) -> Self {
        Importer { file, source_name: source_name.to_string(), options, diagnostics }
    }

    fn warn_comment(&mut self, row: &Row, what: crate::diagnostic::Text) {
        let line = row.line;
        self.diagnostics.push(
            Diagnostic::new(
                Code::ImportKeptAsComment,
                t!("baris {line} berada di luar tabel: disimpan sebagai komentar", "line {line} lies outside the table: kept as a comment"),
                row.span,
                what,
            )
            .with_help(t!(
                "pindahkan isinya ke baris yang sesuai di berkas `.sop` (mis. `instansi`, `nomor`) atau hapus komentarnya",
                "move its content to the right line of the `.sop` file (e.g. `instansi`, `nomor`) or delete the comment"
            )),
        );
    }

    fn run(mut self, rows: &[Row]) -> Option<String> {
        if let Some(shape) = standard::recognise(rows) {
            return self.run_standard(rows, shape);
        }
        let Some(header) = rows.iter().position(table::is_header) else {
            let span = Span::new(self.file, 0, 0);
            self.diagnostics.push(
                Diagnostic::new(
                    Code::ImportNoHeader,
                    t!("tabel tidak punya baris judul kolom dengan `Kegiatan`", "the table has no header row with `Kegiatan`"),
                    span,
                    t!("judul kolom tidak ditemukan", "no header found"),
                )
                .with_help(t!(
                    "tabel SOP dimulai dengan baris `No | Kegiatan | <pelaksana ...> | Kelengkapan | Waktu | Output | Keterangan`",
                    "an SOP table starts with the row `No | Kegiatan | <actors ...> | Kelengkapan | Waktu | Output | Keterangan`"
                )),
            );
            return None;
        };
        let (title, top_comments) = self.preamble(&rows[..header]);
        let (mut layout, two_rows) = Layout::read(&rows[header], rows.get(header + 1));
        let mut missing = Vec::new();
        for (col, name) in [(Col::No, "No"), (Col::Time, "Waktu")] {
            if layout.position(col).is_none() {
                missing.push(name);
            }
        }
        if !missing.is_empty() {
            let (list, line) = (missing.join("`, `"), rows[header].line);
            self.diagnostics.push(
                Diagnostic::new(
                    Code::ImportNoHeader,
                    t!(
                        "baris {line}: judul kolom tidak memuat `{list}`",
                        "line {line}: the header has no `{list}` column"
                    ),
                    rows[header].span,
                    t!("baris judul kolom", "the header row"),
                )
                .with_help(t!(
                    "beri kolom itu judul `{list}` di baris judul",
                    "give that column the heading `{list}` in the header row"
                )),
            );
            return None;
        }
        let body_start = header + if two_rows { 2 } else { 1 };
        let (mut steps, total, trailing) = self.read_body(&layout, &rows[body_start..]);
        if steps.is_empty() {
            let line = rows[header].line;
            self.diagnostics.push(
                Diagnostic::new(
                    Code::ImportNoHeader,
                    t!(
                        "baris {line}: tabel ini tidak memuat satu langkah pun",
                        "line {line}: this table holds no step"
                    ),
                    rows[header].span,
                    t!("tidak ada baris bernomor di bawah judul ini", "no numbered row below this header"),
                )
                .with_help(t!(
                    "langkah adalah baris bernomor (`1`, `4.1`, `7a`, `a`, `IV`) di bawah baris judul kolom",
                    "steps are numbered rows (`1`, `4.1`, `7a`, `a`, `IV`) below the header row"
                )),
            );
            return None;
        }
        for step in &steps {
            if step.activity.is_empty() {
                let (line, number) = (step.lines[0], step.number.clone());
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportBadRow,
                        t!(
                            "baris {line}: langkah {number} tidak punya Kegiatan",
                            "line {line}: step {number} has no Kegiatan"
                        ),
                        step.number_span,
                        t!("langkah ini: kolom Kegiatan kosong", "this step: its Kegiatan is empty"),
                    )
                    .with_help(t!("isi kolom Kegiatan langkah ini", "fill in the step's Kegiatan")),
                );
            }
        }
        if layout.position(Col::Performer).is_some() {
            self.performers(&mut layout, &mut steps);
            // Rows whose Pelaksana is empty: the actors their sentences name, too.
            let unnamed: Vec<&str> =
                steps.iter().filter(|s| s.performer.is_empty()).map(|s| s.activity.as_str()).collect();
            for name in infer::named_actors(&unnamed) {
                if infer::actor_in_phrase(&infer::words(&name), &layout.actors).is_none() {
                    layout.actors.push(name);
                }
            }
        } else if layout.actors.is_empty() {
            // No actor columns at all: the actors the activities name ("Petugas Loket menerima").
            let activities: Vec<&str> = steps.iter().map(|s| s.activity.as_str()).collect();
            layout.actors = infer::named_actors(&activities);
        }
        // Rows in error are left out; the rest is still written and compiled, so problems in
        // cells (a Waktu that cannot be read) are reported in the same run.
        let who = self.actors(&layout, &steps, rows[header].span);
        let decisions = self.decisions(&layout, &steps, &who);
        let document =
            Document { layout: &layout, steps: &steps, who: &who, decisions: &decisions, header_lines: Vec::new() };
        let title = title.unwrap_or_else(|| self.stem());
        self.write(&document, &title, &top_comments, total, &trailing)
    }

    /// The input's file name without its extension: the title when the table has none.
    fn stem(&self) -> String {
        self.source_name.rsplit_once('.').map_or(self.source_name.as_str(), |(stem, _)| stem).to_string()
    }

    /// Text before the table: the title (the first line starting with "SOP", else the first
    /// line), and the other lines kept as comments, each reported.
    fn preamble(&mut self, rows: &[Row]) -> (Option<String>, Vec<String>) {
        let preamble: Vec<&Row> = rows.iter().filter(|r| r.cells.iter().any(|c| !c.is_empty())).collect();
        let title_row = preamble
            .iter()
            .position(|r| {
                let text = row_text(r).to_lowercase();
                text.starts_with("sop") || text.starts_with("standar pelayanan")
            })
            .or(if preamble.is_empty() { None } else { Some(0) });
        let title = title_row.map(|i| row_text(preamble[i]));
        let mut comments = Vec::new();
        for (i, row) in preamble.iter().enumerate() {
            if Some(i) != title_row {
                comments.push(row_text(row));
                self.warn_comment(row, t!("teks sebelum tabel", "text before the table"));
            }
        }
        (title, comments)
    }
}

fn row_text(row: &Row) -> String {
    row.cells.iter().filter(|c| !c.is_empty()).cloned().collect::<Vec<_>>().join(" | ")
}
