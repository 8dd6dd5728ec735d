//! The rows below an SOP table's header read as steps: rows broken across pages joined,
//! page numbers and repeated headers skipped, the total row and the text after the table kept.

use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::Span;
use crate::t;

use super::infer;
use super::table::{self, Col, Layout, Row};
use super::{row_text, Importer};

/// A step as the table gives it, after joining rows broken across pages.
#[derive(Clone, Debug)]
pub(super) struct StepRow {
    pub(super) lines: Vec<usize>,
    pub(super) span: Span,
    /// Where the number and the Waktu are written (the row when that is not known).
    pub(super) number_span: Span,
    pub(super) time_span: Span,
    pub(super) number: String,
    pub(super) activity: String,
    /// Actor columns with a mark.
    pub(super) marks: Vec<usize>,
    /// Actor cells holding text other than a mark: (actor, text).
    pub(super) mark_texts: Vec<(usize, String)>,
    /// Actor cells that could not be matched to a column.
    pub(super) unplaced: Vec<String>,
    /// The Pelaksana cell, in a table with one column of actors' names.
    pub(super) performer: String,
    /// The Pelaksana cell when it names several desks in sequence ("Kabid -> Kasi") that could
    /// not be written as a chain (its time in days does not divide over the desks).
    pub(super) chain: Option<String>,
    /// The step's actors (`marks`) are the desks of a hand-off chain, in order.
    pub(super) chained: bool,
    pub(super) needs: String,
    pub(super) time: String,
    pub(super) output: String,
    pub(super) notes: String,
}

pub(super) struct TotalRow {
    pub(super) span: Span,
    pub(super) line: usize,
    /// The total as written ("4 Hari 1 Jam 18 Menit (5 Hari)").
    pub(super) text: String,
    /// Other cells of the row, kept as comments.
    pub(super) rest: Vec<String>,
}

impl Importer<'_> {
    /// Classifies the rows below the header.
    pub(super) fn read_body(&mut self, layout: &Layout, rows: &[Row]) -> (Vec<StepRow>, Option<TotalRow>, Vec<String>) {
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

    pub(super) fn join(&mut self, step: &mut StepRow, layout: &Layout, row: &Row, aligned: &table::Aligned) {
        step.lines.push(row.line);
        self.fill(step, layout, row, aligned);
    }

    /// Adds a row's cells to a step (a new step, or one continued from the page before).
    /// Text in an actor cell that is not a mark counts as a mark; text that cannot be placed
    /// in a column is kept as a comment. Both are reported.
    pub(super) fn fill(&mut self, step: &mut StepRow, layout: &Layout, row: &Row, aligned: &table::Aligned) {
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

    pub(super) fn total(&mut self, layout: &Layout, row: &Row) -> TotalRow {
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
}

/// Whether a lone number is not a page number but the number of the next step, whose cells an
/// extraction put on the following unnumbered row(s): it is the number after the last step's,
/// stands in the No column, and the next row with text has no number.
pub(super) fn starts_a_broken_step(layout: &Layout, steps: &[StepRow], row: &Row, rest: &[Row]) -> bool {
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

pub(super) fn starts_with_digit(cell: &str) -> bool {
    cell.trim_start().starts_with(|c: char| c.is_ascii_digit())
}

/// A cell holding only a dash: "none" in a printed table.
pub(super) fn is_dash(cell: &str) -> bool {
    !cell.is_empty() && cell.chars().all(|c| matches!(c, '-' | '\u{2013}' | '\u{2014}'))
}
