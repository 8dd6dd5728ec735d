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

mod infer;
mod standard;
mod table;
mod text;

use std::collections::HashMap;
use std::path::Path;

use crate::compile::{compile_source, Options};
use crate::diagnostic::{self, Code, Diagnostic};
use crate::model::ActorKind;
use crate::syntax::{self, FileId, SourceMap, Span};
use crate::t;

use infer::{NoteRoute, RouteTarget};
use table::{Col, Layout, Row};
use text::{comment_text, norm, promise_duration, quote, Ids, PromiseProblem};

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

/// A step as the table gives it, after joining rows broken across pages.
#[derive(Clone, Debug)]
struct StepRow {
    lines: Vec<usize>,
    span: Span,
    /// Where the number and the Waktu are written (the row when that is not known).
    number_span: Span,
    time_span: Span,
    number: String,
    activity: String,
    /// Actor columns with a mark.
    marks: Vec<usize>,
    /// Actor cells holding text other than a mark: (actor, text).
    mark_texts: Vec<(usize, String)>,
    /// Actor cells that could not be matched to a column.
    unplaced: Vec<String>,
    /// The Pelaksana cell, in a table with one column of actors' names.
    performer: String,
    /// The Pelaksana cell when it names several desks in sequence ("Kabid -> Kasi") that could
    /// not be written as a chain (its time in days does not divide over the desks).
    chain: Option<String>,
    /// The step's actors (`marks`) are the desks of a hand-off chain, in order.
    chained: bool,
    needs: String,
    time: String,
    output: String,
    notes: String,
}

/// How a step's actor was found.
#[derive(Clone, Debug)]
enum Who {
    Marked(Vec<usize>),
    /// Inferred from the text; `from` is the number of the step before when the guess rests
    /// on its text (its Keterangan or its activity).
    Inferred {
        guess: infer::Guess,
        from: Option<String>,
    },
    Unknown,
}

impl Who {
    fn actors(&self) -> Vec<usize> {
        match self {
            Who::Marked(a) => a.clone(),
            Who::Inferred { guess, .. } => vec![guess.clue.actor],
            Who::Unknown => Vec::new(),
        }
    }
}

/// One outcome of a decision read from Keterangan.
struct OutcomeLine {
    name: String,
    /// Index of the target step; `None` is the next element (`lanjut`).
    target: Option<usize>,
    back: bool,
}

struct TotalRow {
    span: Span,
    line: usize,
    /// The total as written ("4 Hari 1 Jam 18 Menit (5 Hari)").
    text: String,
    /// Other cells of the row, kept as comments.
    rest: Vec<String>,
}

/// A generated line and, when it holds a cell, where that cell came from.
struct Origin {
    span: Span,
    line: usize,
    what: String,
    cell: String,
    total: bool,
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

    /// Reads a Standar Pelayanan table: the procedure's items become steps (time not stated,
    /// actors from the sentences), the time a `standar_pelayanan`, the other components the
    /// language declares (persyaratan, biaya, produk, pengaduan, dasar hukum, sarana, ...) their
    /// lists; a component alur does not know is kept as a comment.
    fn run_standard(mut self, rows: &[Row], shape: standard::Shape) -> Option<String> {
        let start = shape.header.unwrap_or(shape.body);
        let (title, top_comments) = self.preamble(&rows[..start]);
        let components = standard::read(rows, shape);
        let where_span = shape.header.map_or_else(|| rows[shape.body].span, |h| rows[h].span);
        let where_line = shape.header.map_or_else(|| rows[shape.body].line, |h| rows[h].line);
        let mut header_lines = Vec::new();
        let mut steps: Vec<StepRow> = Vec::new();
        let mut read_as: Vec<String> = Vec::new();
        let mut kept: Vec<String> = Vec::new();
        for component in &components {
            let (preface, items) = text::list_items(&component.text);
            let label = component.label.clone();
            let comment = |lines: &mut Vec<String>| {
                lines.push(format!("// {label}: {}", comment_text(&component.text)));
            };
            match component.kind {
                standard::Component::Procedure => {
                    if !preface.is_empty() {
                        header_lines.push(format!("// {label}: {}", comment_text(&preface)));
                    }
                    let numbers: Vec<Option<String>> =
                        items.iter().map(|(n, _)| n.as_deref().and_then(table::step_number)).collect();
                    // The printed enumerators are the step numbers when each item has one and
                    // none repeats (a second procedure list starts again at 1: counted on).
                    let distinct: std::collections::HashSet<&Option<String>> = numbers.iter().collect();
                    let printed =
                        numbers.iter().all(Option::is_some) && distinct.len() == numbers.len() && steps.is_empty();
                    // One item per row (a PDF extraction): each step is reported at its own row.
                    let one_per_row = component.rows.len() == items.len();
                    for (index, ((_, item), number)) in items.iter().zip(&numbers).enumerate() {
                        let number = match number {
                            Some(n) if printed => n.clone(),
                            _ => (steps.len() + 1).to_string(),
                        };
                        let (line, span) = match component.rows.get(index) {
                            Some(row) if one_per_row => *row,
                            _ => (component.line, component.span),
                        };
                        steps.push(StepRow {
                            lines: vec![line],
                            span,
                            number_span: span,
                            time_span: span,
                            number,
                            activity: item.clone(),
                            marks: Vec::new(),
                            mark_texts: Vec::new(),
                            unplaced: Vec::new(),
                            performer: String::new(),
                            chain: None,
                            chained: false,
                            needs: String::new(),
                            time: String::new(),
                            output: String::new(),
                            notes: String::new(),
                        });
                    }
                    read_as.push(format!("{label} \u{2192} langkah"));
                }
                standard::Component::Time => match promise_duration(&component.text) {
                    Ok(duration) => {
                        if norm(&duration) != norm(&component.text) {
                            header_lines.push(format!("// {label}: {}", comment_text(&component.text)));
                        }
                        header_lines.push(format!("standar_pelayanan {duration}"));
                        read_as.push(format!("{label} \u{2192} standar_pelayanan"));
                    }
                    Err(problem) => {
                        comment(&mut header_lines);
                        kept.push(label.clone());
                        self.promise_not_read(component, &problem);
                    }
                },
                standard::Component::List(keyword) => {
                    if !preface.is_empty() {
                        header_lines.push(format!("{keyword} {}", quote(&preface)));
                    }
                    for (_, item) in &items {
                        header_lines.push(format!("{keyword} {}", quote(item)));
                    }
                    read_as.push(format!("{label} \u{2192} {keyword}"));
                }
                standard::Component::Other => {
                    comment(&mut header_lines);
                    kept.push(label.clone());
                }
            }
        }
        if steps.is_empty() {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::ImportNoHeader,
                    t!(
                        "baris {where_line}: Standar Pelayanan ini tidak memuat prosedur (Sistem, Mekanisme dan Prosedur) yang dapat dibaca sebagai langkah",
                        "line {where_line}: this Standar Pelayanan has no procedure (Sistem, Mekanisme dan Prosedur) that reads as steps"
                    ),
                    where_span,
                    t!("tabel Standar Pelayanan", "the Standar Pelayanan table"),
                )
                .with_help(t!(
                    "sebuah SOP butuh langkah: tambahkan baris `Sistem, Mekanisme dan Prosedur` dengan langkah bernomor (`1.`, `a.`), atau impor tabel SOP-nya",
                    "an SOP needs steps: add a `Sistem, Mekanisme dan Prosedur` row with numbered steps (`1.`, `a.`), or import its SOP table"
                )),
            );
            return None;
        }
        let (read_list, kept_list) = (read_as.join("; "), kept.join(", "));
        let count = steps.len();
        let mut recognised = Diagnostic::new(
            Code::ImportServiceStandard,
            t!(
                "baris {where_line}: tabel dibaca sebagai Standar Pelayanan (Komponen | Uraian): {count} langkah tanpa waktu tertulis",
                "line {where_line}: the table is read as a Standar Pelayanan (Komponen | Uraian): {count} steps without a stated time"
            ),
            where_span,
            t!("tabel Standar Pelayanan", "the Standar Pelayanan table"),
        )
        .with_note(t!("dibaca: {read_list}", "read: {read_list}"))
        .with_help(t!(
            "pelaksana langkah disimpulkan dari kalimatnya: periksa `oleh`, dan isi `waktu` bila diketahui; komponen yang disimpan sebagai komentar belum punya baris dalam bahasa `.sop`",
            "the steps' actors are inferred from their sentences: review `oleh`, and fill in `waktu` where known; the components kept as comments have no line in the `.sop` language yet"
        ));
        if !kept.is_empty() {
            recognised =
                recognised.with_note(t!("disimpan sebagai komentar: {kept_list}", "kept as comments: {kept_list}"));
        }
        self.diagnostics.push(recognised);
        let activities: Vec<&str> = steps.iter().map(|s| s.activity.as_str()).collect();
        let layout = Layout::named(infer::named_actors(&activities));
        let who = self.actors(&layout, &steps, where_span);
        let decisions = self.decisions(&layout, &steps, &who);
        let document = Document { layout: &layout, steps: &steps, who: &who, decisions: &decisions, header_lines };
        let title = title.unwrap_or_else(|| self.stem());
        self.write(&document, &title, &top_comments, None, &[])
    }

    /// Reports a Jangka Waktu that is not written as `standar_pelayanan`, and why.
    fn promise_not_read(&mut self, component: &standard::ComponentRow, problem: &PromiseProblem) {
        let (line, cell) = (component.line, comment_text(&component.text));
        let why = match problem {
            PromiseProblem::NoDuration => t!("tidak memuat lama waktu", "it holds no duration"),
            PromiseProblem::Several => t!("memuat beberapa lama waktu", "it holds several durations"),
            PromiseProblem::StartPoint(word) => {
                t!("titik mulainya (`{word} …`) tidak menyebut langkah", "its start (`{word} …`) names no step")
            }
            PromiseProblem::Hedged(word) => {
                t!("lama waktunya tidak pasti (`{word}`)", "its duration is not exact (`{word}`)")
            }
        };
        let (why_id, why_en) = (why.id, why.en);
        self.diagnostics.push(
            Diagnostic::new(
                Code::ImportServiceStandard,
                t!(
                    "baris {line}: jangka waktu `{cell}` tidak ditulis sebagai `standar_pelayanan`: {why_id}; disimpan sebagai komentar",
                    "line {line}: the jangka waktu `{cell}` is not written as `standar_pelayanan`: {why_en}; kept as a comment"
                ),
                component.span,
                t!("komponen jangka waktu", "the jangka waktu component"),
            )
            .with_help(t!(
                "tulis janjinya sendiri, mis. `standar_pelayanan 14 hari setelah verifikasi` (langkah tempat jamnya mulai)",
                "write the promise yourself, e.g. `standar_pelayanan 14 hari setelah verifikasi` (the step its clock starts at)"
            )),
        );
    }

    /// Classifies the rows below the header.
    fn read_body(&mut self, layout: &Layout, rows: &[Row]) -> (Vec<StepRow>, Option<TotalRow>, Vec<String>) {
        let mut steps: Vec<StepRow> = Vec::new();
        let mut total: Option<TotalRow> = None;
        let mut trailing = Vec::new();
        let mut page_break = false;
        let mut remembered = Vec::new();
        let no = layout.position(Col::No).unwrap_or(0);
        for (index, row) in rows.iter().enumerate() {
            if row.cells.iter().all(|c| c.is_empty()) {
                continue;
            }
            // "JUMLAH WAKTU PELAYANAN" alone, its value on the line below (a merged cell the
            // extraction split): the first line after the total row with a number completes it.
            if let Some(open) = total.as_mut().filter(|t| t.text.is_empty() && trailing.is_empty()) {
                if let Some(index) = row.cells.iter().position(|c| starts_with_digit(c)) {
                    open.text = row.cells[index].clone();
                    open.span = row.cell_span(index);
                    open.rest.extend(
                        row.cells
                            .iter()
                            .enumerate()
                            .filter(|(i, c)| *i != index && !c.is_empty())
                            .map(|(_, c)| c.clone()),
                    );
                    continue;
                }
            }
            if total.is_some() {
                trailing.push(row_text(row));
                self.warn_comment(row, t!("teks sesudah baris jumlah waktu", "text after the total row"));
                continue;
            }
            if table::is_page_number(row) && !starts_a_broken_step(layout, &steps, row, &rows[index + 1..]) {
                page_break = true;
                let text = row_text(row);
                let line = row.line;
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportPageNumber,
                        t!(
                            "baris {line} `{text}` dibaca sebagai nomor halaman dan dilewati",
                            "line {line} `{text}` is read as a page number and left out"
                        ),
                        row.span,
                        t!("nomor halaman", "page number"),
                    )
                    .with_help(t!(
                        "jika ini sebuah langkah, lengkapi kolom Kegiatan dan Waktu-nya",
                        "if this is a step, fill in its Kegiatan and Waktu"
                    )),
                );
                continue;
            }
            if table::is_column_numbers(row) || layout.repeats_header(row) {
                page_break = true;
                continue;
            }
            if table::is_total(row) {
                total = Some(self.total(layout, row));
                continue;
            }
            let aligned = layout.align(row, &mut remembered);
            for (index, text) in &aligned.extra {
                let (line, column) = (row.line, index + 1);
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportExtraCell,
                        t!(
                            "baris {line}: sel ke-{column} `{text}` berada di luar kolom tabel",
                            "line {line}: cell {column} `{text}` lies outside the table's columns"
                        ),
                        row.cell_span(*index),
                        t!("kolom ini tidak punya judul", "this column has no heading"),
                    )
                    .with_help(t!(
                        "pindahkan isinya ke kolom yang benar, atau beri kolom itu judul di baris judul",
                        "move it into the right column, or give the column a heading in the header row"
                    )),
                );
            }
            let cells = &aligned.cells;
            let number_cell = cells[no].clone();
            let cell_span =
                |col: Option<usize>| col.and_then(|c| aligned.source[c]).map_or(row.span, |i| row.cell_span(i));
            let number_span = cell_span(Some(no));
            let continues = |steps: &[StepRow], page_break: bool| match steps.last() {
                Some(last) => {
                    number_cell.is_empty()
                        || (page_break && table::step_number(&number_cell).as_deref() == Some(last.number.as_str()))
                }
                None => false,
            };
            if continues(&steps, page_break) {
                if let Some(last) = steps.last_mut() {
                    self.join(last, layout, row, &aligned);
                }
                page_break = false;
                continue;
            }
            page_break = false;
            let line = row.line;
            let Some(number) = table::step_number(&number_cell) else {
                let help = if number_cell.is_empty() {
                    t!(
                        "beri baris ini nomor langkah, atau hapus baris ini jika kosong",
                        "give this row a step number, or delete it if it is empty"
                    )
                } else {
                    t!(
                        "nomor langkah ditulis `1`, `4.1`, `7a`, `3.1.a`, `a`, `c1` atau `IV`; judul bagian (`A.`) tidak didukung: hapus baris itu",
                        "step numbers are written `1`, `4.1`, `7a`, `3.1.a`, `a`, `c1` or `IV`; section headings (`A.`) are not supported: delete the row"
                    )
                };
                let message = if number_cell.is_empty() {
                    t!(
                        "baris {line}: baris tanpa nomor sebelum langkah pertama",
                        "line {line}: a row without a number before the first step"
                    )
                } else {
                    t!(
                        "baris {line}: `{number_cell}` bukan nomor langkah",
                        "line {line}: `{number_cell}` is not a step number"
                    )
                };
                self.diagnostics.push(
                    Diagnostic::new(Code::ImportBadRow, message, number_span, t!("kolom No", "the No column"))
                        .with_help(help),
                );
                continue;
            };
            if let Some(first) = steps.iter().find(|s| s.number == number) {
                let earlier = first.lines[0];
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportBadRow,
                        t!(
                            "baris {line}: nomor langkah `{number}` sudah dipakai di baris {earlier}",
                            "line {line}: step number `{number}` is already used on line {earlier}"
                        ),
                        number_span,
                        t!("nomor kedua", "second number"),
                    )
                    .with_label(first.number_span, t!("nomor pertama", "first number"))
                    .with_help(t!("nomori ulang langkah ini", "renumber this step")),
                );
                continue;
            }
            let mut step = StepRow {
                lines: vec![row.line],
                span: row.span,
                number_span,
                time_span: cell_span(layout.position(Col::Time)),
                number,
                activity: String::new(),
                marks: Vec::new(),
                mark_texts: Vec::new(),
                unplaced: Vec::new(),
                performer: String::new(),
                chain: None,
                chained: false,
                needs: String::new(),
                time: String::new(),
                output: String::new(),
                notes: String::new(),
            };
            self.fill(&mut step, layout, row, &aligned);
            steps.push(step);
        }
        (steps, total, trailing)
    }

    fn join(&mut self, step: &mut StepRow, layout: &Layout, row: &Row, aligned: &table::Aligned) {
        step.lines.push(row.line);
        self.fill(step, layout, row, aligned);
    }

    /// Adds a row's cells to a step (a new step, or one continued from the page before).
    /// Text in an actor cell that is not a mark counts as a mark; text that cannot be placed
    /// in a column is kept as a comment. Both are reported.
    fn fill(&mut self, step: &mut StepRow, layout: &Layout, row: &Row, aligned: &table::Aligned) {
        let mut odd = Vec::new();
        for (col, cell) in layout.cols.iter().zip(&aligned.cells) {
            if cell.is_empty() {
                continue;
            }
            let target = match col {
                Col::No => continue,
                Col::Activity => &mut step.activity,
                Col::Needs => &mut step.needs,
                Col::Time => &mut step.time,
                Col::Output => &mut step.output,
                Col::Notes => &mut step.notes,
                Col::Performer => &mut step.performer,
                Col::Actor(i) => {
                    if !infer::is_mark(cell) {
                        step.mark_texts.push((*i, cell.clone()));
                        // A flowchart's MULAI/SELESAI stands in the actor's column: a mark.
                        if !infer::is_terminator(cell) {
                            odd.push(format!("{}: {cell}", layout.actors[*i]));
                        }
                    }
                    if !step.marks.contains(i) {
                        step.marks.push(*i);
                    }
                    continue;
                }
                Col::Unknown => {
                    step.unplaced.push(cell.clone());
                    odd.push(cell.clone());
                    continue;
                }
            };
            // A dash in Kelengkapan, Output or Keterangan says "none" (a dash in Waktu is kept:
            // it says the time is not stated).
            if is_dash(cell) && !matches!(col, Col::Time | Col::Activity | Col::Performer) {
                continue;
            }
            if !target.is_empty() {
                target.push(' ');
            }
            target.push_str(cell);
        }
        step.unplaced.extend(aligned.ambiguous_actor_cells.iter().cloned());
        odd.extend(aligned.ambiguous_actor_cells.iter().cloned());
        if !odd.is_empty() {
            let (line, list) = (row.line, odd.join("`, `"));
            self.diagnostics.push(
                Diagnostic::new(
                    Code::ImportKeptAsComment,
                    t!(
                        "baris {line}: isi sel `{list}` bukan tanda pelaksana atau tidak dapat dicocokkan dengan kolomnya: disimpan sebagai komentar",
                        "line {line}: the cells `{list}` are no actor marks or cannot be matched to their columns: kept as a comment"
                    ),
                    row.span,
                    t!("sel pelaksana", "actor cells"),
                )
                .with_help(t!(
                    "tandai pelaksana dengan `X`, `v` atau `√`; bila baris ini kehilangan sel (ekstraksi PDF), lengkapi selnya",
                    "mark actors with `X`, `v` or `√`; if the row lost cells (PDF extraction), restore them"
                )),
            );
        }
    }

    fn total(&mut self, layout: &Layout, row: &Row) -> TotalRow {
        let time = layout.position(Col::Time);
        // The label ("Jumlah Waktu") is the first cell with text, wherever it stands.
        let label = row.cells.iter().position(|c| !c.is_empty()).unwrap_or(0);
        let cells: Vec<(usize, &String)> =
            row.cells.iter().enumerate().skip(label + 1).filter(|(_, c)| !c.is_empty()).collect();
        let from_time = time.filter(|t| row.cells.get(*t).is_some_and(|c| starts_with_digit(c)));
        let index = from_time.or_else(|| cells.iter().map(|(i, _)| *i).find(|i| starts_with_digit(&row.cells[*i])));
        let chosen = index.map(|i| row.cells[i].clone()).unwrap_or_default();
        let span = index.map_or(row.span, |i| row.cell_span(i));
        let rest: Vec<String> = cells.iter().map(|(_, c)| (*c).clone()).filter(|c| *c != chosen).collect();
        if !rest.is_empty() {
            self.warn_comment(row, t!("sel lain di baris jumlah waktu", "other cells of the total row"));
        }
        TotalRow { span, line: row.line, text: chosen, rest }
    }

    /// Reads the Pelaksana cells of a table with one column of actors' names: each name is an
    /// actor (declared in the order met), and the step's actor. A cell naming several desks in
    /// sequence is a hand-off chain (`oleh kabid -> kasi`), unless its time in days does not
    /// divide over the desks (the language would ask for each desk's share, which the table does
    /// not give): that step gets the first desk, the chain kept for a comment and reported.
    fn performers(&mut self, layout: &mut Layout, steps: &mut [StepRow]) {
        for step in steps.iter_mut() {
            let desks = infer::split_chain(&step.performer);
            let Some(first) = desks.first().cloned() else { continue };
            let days = days_in(&waktu_text(&step.time));
            let chained = desks.len() > 1 && days % desks.len() as u32 == 0;
            let written = if chained { desks.clone() } else { vec![first.clone()] };
            step.marks = written
                .iter()
                .map(|desk| match layout.actors.iter().position(|a| norm(a) == norm(desk)) {
                    Some(index) => index,
                    None => {
                        layout.actors.push(desk.clone());
                        layout.actors.len() - 1
                    }
                })
                .collect();
            step.chained = chained;
            if desks.len() > 1 && !chained {
                step.chain = Some(step.performer.clone());
                let (line, number, cell) = (step.lines[0], step.number.clone(), step.performer.clone());
                let n = desks.len();
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportHandOffChain,
                        t!(
                            "baris {line}: Pelaksana langkah {number} `{cell}` menyebut {n} meja berurutan, tetapi {days} hari tidak terbagi rata ke {n} meja: langkah diberi meja pertama ({first}), urutannya disimpan sebagai komentar",
                            "line {line}: the Pelaksana of step {number} `{cell}` names {n} desks in sequence, but {days} days do not divide evenly over {n} desks: the step is given the first desk ({first}), the sequence is kept as a comment"
                        ),
                        step.span,
                        t!("sel Pelaksana", "the Pelaksana cell"),
                    )
                    .with_help(t!(
                        "tulis rantainya dengan bagian waktu tiap meja: `oleh a -> b` dan `waktu 1 hari -> 2 jam`",
                        "write the chain with each desk's share of the time: `by a -> b` and `takes 1 workday -> 2 hours`"
                    )),
                );
            }
        }
    }

    /// Finds each step's actor: the marks (or the Pelaksana cell), else the hints the text
    /// gives (the route written in the row before, the activity, the row before's hand-over),
    /// else the marker. A guess the text does not back firmly is reported as weak.
    fn actors(&mut self, layout: &Layout, steps: &[StepRow], header_span: Span) -> Vec<Who> {
        let mut out = Vec::new();
        let mut inferred = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let marked: Vec<usize> = step.marks.clone();
            if !marked.is_empty() {
                out.push(Who::Marked(marked));
                continue;
            }
            let previous = i.checked_sub(1).map(|p| &steps[p]);
            let mut clues = Vec::new();
            let note_route = previous.and_then(|prev| {
                infer::note_routes(&prev.notes, &layout.actors)
                    .into_iter()
                    .find(|r: &NoteRoute| r.outcome.as_deref().is_none_or(|o| !infer::is_negative(o)))
            });
            if let (Some(route), Some(prev)) = (note_route, previous) {
                if let infer::RouteTarget::Actor(actor) = route.target {
                    clues.push(infer::Clue {
                        actor,
                        basis: infer::Basis::Note,
                        phrase: prev.notes.clone(),
                        weak: false,
                    });
                }
            }
            clues.extend(infer::clues(&step.activity, previous.map(|p| p.activity.as_str()), &layout.actors));
            let Some(guess) = infer::choose(&clues) else {
                let (line, number) = (step.lines[0], step.number.clone());
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportActorUnknown,
                        t!("baris {line}: pelaksana langkah {number} tidak terbaca", "line {line}: the actor of step {number} cannot be read"),
                        step.span,
                        t!("tidak ada tanda di kolom pelaksana", "no mark in the actor columns"),
                    )
                    .with_help(t!(
                        "ganti `oleh {UNKNOWN_ACTOR}` di berkas `.sop` dengan pelaksana yang benar, atau beri tanda `X` di kolom pelaksananya lalu impor lagi",
                        "replace `oleh {UNKNOWN_ACTOR}` in the `.sop` file with the right actor, or put an `X` in its actor column and import again"
                    )),
                );
                out.push(Who::Unknown);
                continue;
            };
            inferred.push(step.number.clone());
            if guess.weak {
                let (line, number, label) =
                    (step.lines[0], step.number.clone(), layout.actors[guess.clue.actor].clone());
                let why = weak_reason(layout, &guess);
                let (why_id, why_en) = (why.id, why.en);
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportActorGuessWeak,
                        t!(
                            "baris {line}: pelaksana langkah {number} ({label}) hanya dugaan lemah: {why_id}",
                            "line {line}: the actor of step {number} ({label}) is a weak guess: {why_en}"
                        ),
                        step.span,
                        t!("langkah ini", "this step"),
                    )
                    .with_help(t!(
                        "periksa `oleh` langkah ini; untuk kepastian beri tanda `X` di kolom pelaksananya lalu impor lagi",
                        "check this step's `oleh`; to be sure, put an `X` in its actor column and import again"
                    )),
                );
            }
            let from = match guess.clue.basis {
                infer::Basis::Note | infer::Basis::HandOver => previous.map(|p| p.number.clone()),
                _ => None,
            };
            out.push(Who::Inferred { guess, from });
        }
        if !inferred.is_empty() {
            let list = inferred.join(", ");
            let columns = layout.cols.iter().any(|c| matches!(c, Col::Actor(_)));
            let (message_id, message_en) = if layout.position(Col::Performer).is_some() {
                (
                    format!("kolom Pelaksana kosong di langkah {list}: pelaksananya disimpulkan dari teks tabel"),
                    format!("the Pelaksana column is empty for steps {list}: their actors are inferred from the table's text"),
                )
            } else if !columns {
                (
                    format!("tabel tidak punya kolom pelaksana: pelaksana langkah {list} disimpulkan dari kalimat yang menyebutnya"),
                    format!("the table has no actor column: the actors of steps {list} are inferred from the sentences that name them"),
                )
            } else {
                (
                    format!("kolom pelaksana tidak bertanda: pelaksana langkah {list} disimpulkan dari teks tabel"),
                    format!("the actor columns have no marks: the actors of steps {list} are inferred from the table's text"),
                )
            };
            self.diagnostics.push(
                Diagnostic::new(
                    Code::ImportActorsInferred,
                    t!("{message_id}", "{message_en}"),
                    header_span,
                    t!("kolom pelaksana", "actor columns"),
                )
                .with_help(t!(
                    "periksa baris `oleh` langkah-langkah itu; komentar di atas tiap langkah menyebut dasar kesimpulannya",
                    "review the `oleh` of those steps; a comment above each step says what the inference rests on"
                )),
            );
        }
        out
    }

    /// Decisions from routes written in Keterangan with a condition ("apabila diterima").
    fn decisions(&mut self, layout: &Layout, steps: &[StepRow], who: &[Who]) -> Vec<Vec<OutcomeLine>> {
        let mut out = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let mut routes: Vec<NoteRoute> =
                infer::note_routes(&step.notes, &layout.actors).into_iter().filter(|r| r.outcome.is_some()).collect();
            // Without a route in Keterangan, a return written in the activity ("apabila tidak
            // lengkap dikembalikan kepada pemohon", as Standar Pelayanan prose puts it); the
            // way on is the written order.
            let from_activity = routes.is_empty();
            // The activity's own name for the way on ("apabila sudah lengkap … diteruskan").
            let mut written_forward = None;
            if from_activity {
                let (back, on): (Vec<NoteRoute>, Vec<NoteRoute>) = infer::note_routes(&step.activity, &layout.actors)
                    .into_iter()
                    .filter(|r| r.outcome.is_some())
                    .partition(|r| r.outcome.as_deref().is_some_and(infer::is_negative));
                routes = back;
                if let [one] = on.as_slice() {
                    written_forward = one.outcome.clone();
                }
            }
            if routes.is_empty() {
                out.push(Vec::new());
                continue;
            }
            let (column_id, column_en) =
                if from_activity { ("kegiatan", "kegiatan") } else { ("keterangan", "keterangan") };
            let mut lines = Vec::new();
            let mut problem = None;
            for route in &routes {
                let outcome = route.outcome.clone().unwrap_or_default();
                let negative = infer::is_negative(&outcome);
                let by = |j: usize| match route.target {
                    RouteTarget::Actor(actor) => who[j].actors().contains(&actor),
                    RouteTarget::Applicant => {
                        who[j].actors().iter().any(|a| infer::actor_kind(&layout.actors[*a]) == ActorKind::Applicant)
                    }
                };
                let actor = match route.target {
                    RouteTarget::Actor(actor) => layout.actors[actor].clone(),
                    RouteTarget::Applicant => "pemohon".to_string(),
                };
                if negative && route.target == RouteTarget::Applicant {
                    // Back to the applicant: their latest step before this one, or nowhere (a
                    // step the table does not have is not made up).
                    match (0..i).rev().find(|&j| by(j)) {
                        Some(j) => lines.push(OutcomeLine { name: outcome, target: Some(j), back: true }),
                        None => {
                            problem = Some(t!(
                                "`{outcome}` kembali ke pemohon, tetapi tidak ada langkah pemohon sebelum langkah ini, jadi rute itu tidak dapat ditempatkan",
                                "`{outcome}` goes back to the applicant, but no step of the applicant comes before this one, so the route could not be placed"
                            ))
                        }
                    }
                } else if !negative {
                    if i + 1 < steps.len() && by(i + 1) {
                        lines.push(OutcomeLine { name: outcome, target: Some(i + 1), back: false });
                    } else {
                        problem = Some(t!(
                            "`{outcome}` menuju {actor}, padahal langkah berikutnya bukan dikerjakan {actor}",
                            "`{outcome}` goes to {actor}, but the next step is not done by {actor}"
                        ));
                    }
                } else if let Some(j) = (0..i).rev().find(|&j| by(j)) {
                    lines.push(OutcomeLine { name: outcome, target: Some(j), back: true });
                } else if let Some(j) = (i + 1..steps.len()).find(|&j| by(j)) {
                    lines.push(OutcomeLine { name: outcome, target: Some(j), back: false });
                } else {
                    problem = Some(t!("tidak ada langkah yang dikerjakan {actor}", "no step is done by {actor}"));
                }
            }
            if problem.is_none() && lines.len() == 1 && lines[0].back && written_forward.is_some() {
                let name = written_forward.unwrap_or_default();
                let target = (i + 1 < steps.len()).then_some(i + 1);
                lines.insert(0, OutcomeLine { name, target, back: false });
            } else if problem.is_none() && lines.len() == 1 && lines[0].back {
                let name = infer::opposite(&lines[0].name);
                let target = (i + 1 < steps.len()).then_some(i + 1);
                lines.insert(0, OutcomeLine { name: name.clone(), target, back: false });
                let (line, number) = (step.lines[0], step.number.clone());
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportRouteGuessed,
                        t!(
                            "baris {line}: {column_id} langkah {number} hanya menyebut satu hasil; hasil `{name}` (lanjut ke langkah berikutnya) ditambahkan",
                            "line {line}: the {column_en} of step {number} names one outcome; the outcome `{name}` (on to the next step) was added"
                        ),
                        step.span,
                        t!("kolom {column_id}", "the {column_en} column"),
                    )
                    .with_help(t!("periksa blok `keputusan` langkah ini", "review this step's `keputusan` block")),
                );
            } else if problem.is_none() && lines.len() == 1 {
                // One forward outcome is the written order itself: no decision is needed.
                lines.clear();
            }
            let mut names: Vec<String> = lines.iter().map(|l| outcome_id(&l.name)).collect();
            names.sort();
            names.dedup();
            if problem.is_none() && names.len() != lines.len() {
                problem = Some(t!("dua hasil bernama sama", "two outcomes have the same name"));
            }
            if let Some(why) = problem {
                let (line, number) = (step.lines[0], step.number.clone());
                let (why_id, why_en) = (why.id, why.en);
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportRouteGuessed,
                        t!(
                            "baris {line}: rute di {column_id} langkah {number} tidak dijadikan keputusan: {why_id}",
                            "line {line}: the route in the {column_en} of step {number} was not made a decision: {why_en}"
                        ),
                        step.span,
                        t!("kolom {column_id}", "the {column_en} column"),
                    )
                    .with_help(t!(
                        "teks {column_id} tetap disalin; tulis blok `keputusan` sendiri bila langkah ini memutuskan",
                        "the {column_en} text is kept; write a `keputusan` block yourself if this step decides"
                    )),
                );
                lines.clear();
            }
            out.push(lines);
        }
        out
    }

    fn write(
        &mut self,
        doc: &Document<'_>,
        title: &str,
        top: &[String],
        total: Option<TotalRow>,
        trailing: &[String],
    ) -> Option<String> {
        let mut demote_total = false;
        loop {
            let (text, origins) = self.render(doc, title, top, total.as_ref(), trailing, demote_total);
            let compiled = compile_source("import.sop", &text, &Options::default());
            let errors: Vec<&Diagnostic> = compiled.diagnostics.iter().filter(|d| d.is_error()).collect();
            if errors.is_empty() {
                let (cst, syntax_errors) = syntax::parse(compiled.file, &text);
                if !syntax_errors.is_empty() {
                    return Some(text);
                }
                return Some(crate::format::format(&cst, &text));
            }
            let origin_of = |d: &Diagnostic| {
                let span = d.primary_span()?;
                if span.file != compiled.file {
                    return None;
                }
                let (line, _) = compiled.sources.line_col(compiled.file, span.start);
                origins.get(&(line - 1))
            };
            if !demote_total && errors.iter().any(|d| origin_of(d).is_some_and(|o| o.total)) {
                demote_total = true;
                if let Some(total) = &total {
                    let why: Vec<String> = errors
                        .iter()
                        .filter(|d| origin_of(d).is_some_and(|o| o.total))
                        .map(|d| format!("{}: {}", d.code, d.message.id))
                        .collect();
                    let why_en: Vec<String> = errors
                        .iter()
                        .filter(|d| origin_of(d).is_some_and(|o| o.total))
                        .map(|d| format!("{}: {}", d.code, d.message.en))
                        .collect();
                    let cell = total.text.clone();
                    let (why, why_en) = (why.join("; "), why_en.join("; "));
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::ImportKeptAsComment,
                            t!("jumlah waktu `{cell}` tidak cocok dengan langkah-langkahnya: disimpan sebagai komentar", "the total `{cell}` does not match the steps: kept as a comment"),
                            total.span,
                            t!("baris jumlah waktu", "the total row"),
                        )
                        .with_note(t!("{why}", "{why_en}"))
                        .with_help(t!(
                            "perbaiki jumlah waktu atau waktu langkah, lalu ganti komentar itu dengan baris `total`",
                            "fix the total or the steps' times, then turn the comment back into a `total` line"
                        )),
                    );
                }
                continue;
            }
            for d in errors {
                let (code, message_id, message_en) = (d.code, d.message.id.clone(), d.message.en.clone());
                match origin_of(d) {
                    Some(origin) => {
                        let (what, cell, line) = (origin.what.clone(), origin.cell.clone(), origin.line);
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::ImportBadCell,
                                t!(
                                    "baris {line}: sel {what} `{cell}` tidak dapat dibaca",
                                    "line {line}: the {what} cell `{cell}` cannot be read"
                                ),
                                origin.span,
                                t!("sel ini", "this cell"),
                            )
                            .with_note(t!("{code}: {message_id}", "{code}: {message_en}"))
                            .with_help(cell_help(&what)),
                        );
                    }
                    None => self.diagnostics.push(
                        Diagnostic::new(
                            Code::ImportBadCell,
                            t!(
                                "berkas hasil impor tidak lolos `alur check`",
                                "the imported file does not pass `alur check`"
                            ),
                            Span::new(self.file, 0, 0),
                            t!("tabel ini", "this table"),
                        )
                        .with_note(t!("{code}: {message_id}", "{code}: {message_en}")),
                    ),
                }
            }
            return None;
        }
    }

    /// Writes the `.sop` text, with the origin of each line that holds a cell (by line index).
    fn render(
        &self,
        doc: &Document<'_>,
        title: &str,
        top: &[String],
        total: Option<&TotalRow>,
        trailing: &[String],
        demote_total: bool,
    ) -> (String, HashMap<usize, Origin>) {
        let mut w = Writer::default();
        let layout = doc.layout;
        let steps = doc.steps;
        let mut ids = Ids::default();
        w.line(
            format!(
                "// Diimpor dari {} dengan `alur import`: setiap sel tabel disalin apa adanya.",
                comment_text(&self.source_name)
            ),
            None,
        );
        for c in top {
            w.line(format!("// {}", comment_text(c)), None);
        }
        let sop_id = match &self.options.sop_id {
            Some(id) => ids.claim(id.clone()),
            None => ids.make(without_sop_word(title), 5, "sop", false),
        };
        w.line(format!("sop {sop_id} {} {{", quote(title)), None);
        if let Some(calendar) = &self.options.calendar {
            w.line(format!("    kalender {calendar}"), None);
        }
        if let Some(total) = total {
            let cell = total.text.as_str();
            let origin = Origin {
                span: total.span,
                line: total.line,
                what: "Jumlah Waktu".into(),
                cell: cell.into(),
                total: true,
            };
            let plain = text::without_spelled_numbers(cell);
            if demote_total || cell.is_empty() {
                w.line(format!("    // total tertulis di tabel: {}", comment_text(cell)), None);
            } else if plain != cell {
                // "5 (lima) hari kerja": the number spelled out again is left out of the line.
                w.line(format!("    // total tertulis di tabel: {}", comment_text(cell)), None);
                w.line(format!("    total {plain}"), Some(origin));
            } else {
                w.line(format!("    total {cell}"), Some(origin));
            }
            for rest in &total.rest {
                w.line(format!("    // baris jumlah waktu: {}", comment_text(rest)), None);
            }
        }
        for line in &doc.header_lines {
            w.line(format!("    {line}"), None);
        }
        // Actors.
        w.blank();
        w.line("    pelaksana {".into(), None);
        let mut actor_ids = Vec::new();
        for label in &layout.actors {
            let id = ids.make(label, 4, "pelaksana", true);
            let kind = match infer::actor_kind(label) {
                ActorKind::Applicant => "pemohon",
                ActorKind::Staff => "staf",
                ActorKind::External => "instansi_luar",
                ActorKind::System => "sistem",
            };
            w.line(format!("        {id} {} {kind}", quote(label)), None);
            actor_ids.push(id);
        }
        let unknown = doc.who.iter().any(|w| matches!(w, Who::Unknown));
        let unknown_id = if unknown { ids.claim(UNKNOWN_ACTOR.to_string()) } else { String::new() };
        if unknown {
            w.line(format!("        {unknown_id} \"PERIKSA: pelaksana belum ditentukan\" staf"), None);
        }
        w.line("    }".into(), None);
        // Step ids, outputs, and what each Kelengkapan refers to.
        let step_ids: Vec<String> = steps.iter().map(|s| ids.make(&s.activity, 3, "tahap", false)).collect();
        let mut output_ids: Vec<Option<String>> = Vec::new();
        let mut needs_ids: Vec<Option<String>> = Vec::new();
        let mut external: Vec<(String, String)> = Vec::new();
        // The latest output, and the outside document, of each (normalised) text.
        let mut given: HashMap<String, String> = HashMap::new();
        let mut brought: HashMap<String, String> = HashMap::new();
        for (i, step) in steps.iter().enumerate() {
            let needs = norm(&step.needs);
            let need = if step.needs.is_empty() {
                None
            } else if let Some(id) = given.get(&needs) {
                Some(id.clone())
            } else if let Some(Some(prev)) = i.checked_sub(1).map(|p| output_ids[p].clone()) {
                Some(prev)
            } else if let Some(id) = brought.get(&needs) {
                Some(id.clone())
            } else {
                let id = ids.make(&step.needs, 3, "dok", false);
                external.push((id.clone(), step.needs.clone()));
                brought.insert(needs, id.clone());
                Some(id)
            };
            needs_ids.push(need);
            let output = (!step.output.is_empty()).then(|| ids.make(&step.output, 3, "dok", false));
            if let Some(id) = &output {
                given.insert(norm(&step.output), id.clone());
            }
            output_ids.push(output);
        }
        if !external.is_empty() {
            w.blank();
            w.line("    dokumen {".into(), None);
            for (id, label) in &external {
                w.line(format!("        {id} {}", quote(label)), None);
            }
            w.line("    }".into(), None);
        }
        for (i, step) in steps.iter().enumerate() {
            w.blank();
            let origin = |what: &str, cell: &str| {
                Some(Origin {
                    span: if what == "Waktu" { step.time_span } else { step.span },
                    line: step.lines[0],
                    what: what.into(),
                    cell: cell.into(),
                    total: false,
                })
            };
            if step.lines.len() > 1 {
                let lines: Vec<String> = step.lines.iter().map(usize::to_string).collect();
                w.line(format!("    // baris {} digabung: baris tabel yang terpotong halaman", lines.join(", ")), None);
            }
            match &doc.who[i] {
                Who::Marked(actors) if actors.len() > 1 && !step.chained => {
                    w.line(
                        "    // beberapa kolom pelaksana bertanda: dibaca sebagai dikerjakan bersama (`dan`)".into(),
                        None,
                    );
                }
                Who::Inferred { guess, from } => {
                    let phrase = comment_text(&guess.clue.phrase);
                    let line = match (guess.clue.basis, from) {
                        (infer::Basis::Note, Some(from)) => {
                            format!("    // pelaksana disimpulkan dari keterangan langkah {from}: \"{phrase}\"")
                        }
                        (infer::Basis::HandOver, Some(from)) => {
                            format!("    // pelaksana disimpulkan dari kegiatan langkah {from}: \"{phrase}\"")
                        }
                        _ => format!("    // pelaksana disimpulkan dari kegiatan (\"{phrase}\")"),
                    };
                    w.line(line, None);
                    if guess.weak {
                        let others: Vec<String> =
                            guess.conflicts.iter().map(|a| comment_text(&layout.actors[*a])).collect();
                        let why = if others.is_empty() {
                            "teks menyebut apa yang dikerjakan, bukan siapa".to_string()
                        } else {
                            format!("teks juga menunjuk {}", others.join(", "))
                        };
                        w.line(format!("    // PERIKSA: dugaan lemah ({why})"), None);
                    }
                }
                Who::Unknown => {
                    w.line("    // PERIKSA: pelaksana tidak terbaca dari tabel: ganti `belum_ditentukan`".into(), None);
                }
                Who::Marked(_) => {}
            }
            if step.chained {
                // The cell as printed, since `oleh` holds only the actors' ids.
                w.line(
                    format!(
                        "    // pelaksana tertulis \"{}\": rantai serah terima, dikerjakan meja demi meja",
                        comment_text(&step.performer)
                    ),
                    None,
                );
            }
            if let Some(chain) = &step.chain {
                w.line(
                    format!(
                        "    // PERIKSA: pelaksana tertulis \"{}\": beberapa meja berurutan, tetapi waktunya dalam hari tidak terbagi rata ke meja-mejanya; langkah ini diberi meja pertama (tulis rantainya dengan bagian waktu tiap meja)",
                        comment_text(chain)
                    ),
                    None,
                );
            }
            for (actor, text) in &step.mark_texts {
                w.line(
                    format!("    // isi kolom {}: {}", comment_text(&layout.actors[*actor]), comment_text(text)),
                    None,
                );
            }
            for text in &step.unplaced {
                w.line(
                    format!(
                        "    // isi kolom pelaksana yang tidak dapat dicocokkan dengan kolomnya: {}",
                        comment_text(text)
                    ),
                    None,
                );
            }
            // The desks of a hand-off chain one after the other; several marks together.
            let join = if step.chained { " -> " } else { " dan " };
            let by = match &doc.who[i] {
                Who::Unknown => unknown_id.clone(),
                who => who.actors().iter().map(|a| actor_ids[*a].clone()).collect::<Vec<_>>().join(join),
            };
            w.line(format!("    langkah {} {} oleh {by} {{", step.number, step_ids[i]), origin("No", &step.number));
            w.line(format!("        kegiatan {}", quote(&step.activity)), origin("Kegiatan", &step.activity));
            if let Some(id) = &needs_ids[i] {
                w.line(format!("        kelengkapan {id} {}", quote(&step.needs)), origin("Kelengkapan", &step.needs));
            }
            let time = waktu_text(&step.time);
            if time != step.time && step.time.chars().any(|c| c.is_ascii_digit()) {
                w.line(format!("        // waktu tertulis di tabel: {}", comment_text(&step.time)), None);
            }
            w.line(format!("        waktu {time}"), origin("Waktu", &step.time));
            if let Some(id) = &output_ids[i] {
                w.line(format!("        output {id} {}", quote(&step.output)), origin("Output", &step.output));
            }
            if !step.notes.is_empty() {
                w.line(format!("        keterangan {}", quote(&step.notes)), origin("Keterangan", &step.notes));
            }
            let decision = &doc.decisions[i];
            if !decision.is_empty() {
                w.line("        keputusan {".into(), origin("Keterangan", &step.notes));
                for outcome in decision {
                    let target = outcome.target.map_or("lanjut".to_string(), |j| step_ids[j].clone());
                    let name = outcome_id(&outcome.name);
                    let line = if outcome.back {
                        format!("            {name} -> kembali ke {target}, jam berhenti")
                    } else {
                        format!("            {name} -> {target}")
                    };
                    w.line(line, origin("Keterangan", &step.notes));
                }
                w.line("        }".into(), None);
            }
            w.line("    }".into(), None);
        }
        w.line("}".into(), None);
        for c in trailing {
            w.line(format!("// {}", comment_text(c)), None);
        }
        (w.text, w.origins)
    }
}

struct Document<'a> {
    layout: &'a Layout,
    steps: &'a [StepRow],
    who: &'a [Who],
    decisions: &'a [Vec<OutcomeLine>],
    /// Header lines read from a Standar Pelayanan (`persyaratan "…"`, `standar_pelayanan 5
    /// hari`, comments), written after the total.
    header_lines: Vec<String>,
}

#[derive(Default)]
struct Writer {
    text: String,
    line: usize,
    origins: HashMap<usize, Origin>,
}

impl Writer {
    fn line(&mut self, text: String, origin: Option<Origin>) {
        if let Some(origin) = origin {
            self.origins.insert(self.line, origin);
        }
        self.line += 1;
        self.text.push_str(&text);
        self.text.push('\n');
    }

    fn blank(&mut self) {
        self.line += 1;
        self.text.push('\n');
    }
}

fn outcome_id(outcome: &str) -> String {
    let mut ids = Ids::default();
    ids.make(outcome, 4, "hasil", false)
}

/// Whether a lone number is not a page number but the number of the next step, whose cells an
/// extraction put on the following unnumbered row(s): it is the number after the last step's,
/// stands in the No column, and the next row with text has no number.
fn starts_a_broken_step(layout: &Layout, steps: &[StepRow], row: &Row, rest: &[Row]) -> bool {
    let no = layout.position(Col::No).unwrap_or(0);
    let Some(number) = row.cells.get(no).and_then(|c| table::step_number(c)) else { return false };
    let expected = match steps.last() {
        None => 1,
        Some(last) => match last.number.parse::<u32>() {
            Ok(n) => n + 1,
            Err(_) => return false,
        },
    };
    let next = rest.iter().find(|r| r.cells.iter().any(|c| !c.is_empty()));
    number == expected.to_string() && next.is_some_and(|r| r.cells.get(no).is_none_or(|c| c.is_empty()))
}

/// A title without its leading word "SOP", for the SOP's id.
fn without_sop_word(title: &str) -> &str {
    let trimmed = title.trim_start();
    match trimmed.get(..3) {
        Some(first) if first.eq_ignore_ascii_case("sop") && !trimmed[3..].starts_with(char::is_alphanumeric) => {
            &trimmed[3..]
        }
        _ => trimmed,
    }
}

fn row_text(row: &Row) -> String {
    row.cells.iter().filter(|c| !c.is_empty()).cloned().collect::<Vec<_>>().join(" | ")
}

fn starts_with_digit(cell: &str) -> bool {
    cell.trim_start().starts_with(|c: char| c.is_ascii_digit())
}

/// The `waktu` line's value for a Waktu cell: the cell as written when it is a duration or
/// looks like one (a number: the compiler reads it or says why not), `-` as printed, and for an
/// empty cell or words without a number ("Sesuai jadwal") the time not stated, with the words.
/// A duration written with words around it ("paling lambat 5 (lima) hari kerja") is written as
/// the duration, the cell kept in a comment above; a range or an approximation is left for the
/// compiler to refuse.
fn waktu_text(cell: &str) -> String {
    if cell.is_empty() {
        "tidak_tertulis".to_string()
    } else if cell == "-" {
        "-".to_string()
    } else if !cell.chars().any(|c| c.is_ascii_digit()) {
        format!("tidak_tertulis {}", quote(cell))
    } else if text::looks_like_duration(cell) {
        cell.to_string()
    } else {
        promise_duration(cell).unwrap_or_else(|_| cell.to_string())
    }
}

/// The whole days (working or calendar) in a Waktu as written in the `.sop` file: what a
/// hand-off chain must split evenly over its desks.
fn days_in(waktu: &str) -> u32 {
    let words: Vec<String> = waktu.split_whitespace().map(str::to_lowercase).collect();
    words
        .windows(2)
        .filter(|w| ["hari", "workday", "workdays", "day", "days", "calendar", "working"].contains(&w[1].as_str()))
        .filter_map(|w| w[0].parse::<u32>().ok())
        .fold(0u32, u32::saturating_add)
}

/// A cell holding only a dash: "none" in a printed table.
fn is_dash(cell: &str) -> bool {
    !cell.is_empty() && cell.chars().all(|c| matches!(c, '-' | '\u{2013}' | '\u{2014}'))
}

/// Why a guessed actor is weak, for the warning.
fn weak_reason(layout: &Layout, guess: &infer::Guess) -> crate::diagnostic::Text {
    if guess.conflicts.is_empty() {
        return t!(
            "teks menyebut apa yang dikerjakan, bukan siapa yang mengerjakannya",
            "the text says what is done, not who does it"
        );
    }
    let others: Vec<&str> = guess.conflicts.iter().map(|a| layout.actors[*a].as_str()).collect();
    let others = others.join(", ");
    t!("teks juga menunjuk {others}", "the text also points at {others}")
}

fn cell_help(what: &str) -> crate::diagnostic::Text {
    match what {
        "Waktu" => t!(
            "tulis waktu sebagai angka dan satuan: `30 Menit`, `1 Jam`, `4 Hari`, `14 Hari Kalender`",
            "write the time as numbers and units: `30 Menit`, `1 Jam`, `4 Hari`, `14 Hari Kalender`"
        ),
        _ => t!("perbaiki isi sel ini di tabel lalu impor lagi", "fix this cell in the table and import again"),
    }
}
