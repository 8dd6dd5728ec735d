//! Reading the table: CSV/TSV records with their input lines, the header (which column is
//! which), and each row classified as a step, a continuation of the step before it (a row
//! broken across pages), a repeated header, a page number, the total, or text around the table.

use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::{FileId, Span};
use crate::t;

use super::text::{collapse, looks_like_duration, norm};

/// One input record: its cells (trimmed, whitespace collapsed), its first input line, and the
/// span of that line in the source map.
#[derive(Clone, Debug)]
pub struct Row {
    pub line: usize,
    pub span: Span,
    pub cells: Vec<String>,
    /// The cells as written, trimmed but with their line breaks: a Standar Pelayanan cell lists
    /// its items one per line.
    pub raw_cells: Vec<String>,
    /// Where each cell is written, when that is known (a record on one line without quotes);
    /// empty otherwise.
    pub cell_spans: Vec<Span>,
}

impl Row {
    /// Where cell `index` is written, else the whole row.
    pub fn cell_span(&self, index: usize) -> Span {
        self.cell_spans.get(index).copied().unwrap_or(self.span)
    }

    fn non_empty(&self) -> impl Iterator<Item = (usize, &str)> {
        self.cells.iter().enumerate().filter(|(_, c)| !c.is_empty()).map(|(i, c)| (i, c.as_str()))
    }

    fn is_blank(&self) -> bool {
        self.non_empty().next().is_none()
    }
}

/// Reads the records of a CSV or TSV text. The delimiter is a tab when the text has one, else
/// whichever of `,` and `;` the header line uses more (spreadsheets in Indonesian locales save
/// CSV with `;`).
pub fn read_rows(file: FileId, text: &str, delimiter: Option<u8>) -> Result<Vec<Row>, Diagnostic> {
    let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(text));
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                // The reader's position may lie before the empty lines it skipped: start at the
                // record's first character, and count lines from there.
                let start = record.position().map_or(0, |p| p.byte() as usize).min(text.len());
                let start = text[start..].find(|c| c != '\n' && c != '\r').map_or(text.len(), |i| start + i);
                let line = text[..start].matches('\n').count() + 1;
                let end = text[start..].find(['\n', '\r']).map_or(text.len(), |i| start + i);
                let cells: Vec<String> = record.iter().map(collapse).collect();
                let raw_cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
                let cell_spans = cell_spans(file, text, start, end, delimiter, cells.len());
                rows.push(Row { line, span: Span::new(file, start, end), cells, raw_cells, cell_spans });
            }
            Err(error) => {
                let (line, start) = error
                    .position()
                    .map(|p| (p.line() as usize, p.byte() as usize))
                    .unwrap_or((rows.last().map_or(1, |r: &Row| r.line + 1), 0));
                let start = start.min(text.len());
                let message = error.to_string();
                return Err(Diagnostic::new(
                    Code::ImportUnreadable,
                    t!(
                        "tabel tidak dapat dibaca di baris {line}: {message}",
                        "the table cannot be read at line {line}: {message}"
                    ),
                    Span::new(file, start, start),
                    t!("di sini", "here"),
                )
                .with_help(t!(
                    "simpan tabel sebagai teks UTF-8 dengan kolom dipisah tab, `,` atau `;`",
                    "save the table as UTF-8 text with columns separated by tabs, `,` or `;`"
                )));
            }
        }
    }
    Ok(rows)
}

/// The spans of the cells of a record written on one line without quotes, trimmed.
fn cell_spans(file: FileId, text: &str, start: usize, end: usize, delimiter: u8, count: usize) -> Vec<Span> {
    let line = &text[start..end];
    if line.contains('"') {
        return Vec::new();
    }
    let mut spans = Vec::new();
    let mut at = start;
    for field in line.split(char::from(delimiter)) {
        let lead = field.len() - field.trim_start().len();
        let inner = field.trim();
        let from = at + lead;
        spans.push(Span::new(file, from, from + inner.len()));
        at += field.len() + 1;
    }
    if spans.len() == count {
        spans
    } else {
        Vec::new()
    }
}

fn detect_delimiter(text: &str) -> u8 {
    if text.contains('\t') {
        return b'\t';
    }
    let header = text
        .lines()
        .find(|l| l.to_lowercase().contains("kegiatan"))
        .unwrap_or_else(|| text.lines().next().unwrap_or(""));
    if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    }
}

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    No,
    Activity,
    Actor(usize),
    Needs,
    Time,
    Output,
    Notes,
    /// A single Pelaksana column holding the actors' names ("Front Office", "Kabid -> Kasi").
    Performer,
    /// A column without a heading alur knows.
    Unknown,
}

/// The header: the role of each column and the actor columns' headings.
#[derive(Clone, Debug)]
pub struct Layout {
    pub cols: Vec<Col>,
    pub actors: Vec<String>,
    /// The header rows, normalised, to recognise them when a page repeats them.
    header_cells: Vec<String>,
}

fn is_activity_heading(cell: &str) -> bool {
    matches!(norm(cell).as_str(), "kegiatan" | "uraian kegiatan" | "aktivitas" | "activity" | "activities" | "uraian")
}

fn is_no_heading(cell: &str) -> bool {
    matches!(norm(cell).trim_end_matches('.').trim(), "no" | "nomor" | "no urut" | "number")
}

/// The Mutu Baku and Keterangan headings. Only short cells are headings: a cell of text that
/// mentions "persyaratan" is no heading.
fn quality_role(cell: &str) -> Option<Col> {
    let n = norm(cell);
    let n = n.trim_end_matches('.');
    if n.split(' ').count() > 3 {
        return None;
    }
    if n.starts_with("kelengkapan") || n.starts_with("persyaratan") || n == "requirements" {
        Some(Col::Needs)
    } else if n == "waktu" || n == "time" || n.starts_with("waktu ") {
        Some(Col::Time)
    } else if ["output", "hasil", "keluaran"].iter().any(|w| n.starts_with(w)) {
        Some(Col::Output)
    } else if n == "keterangan" || n == "ket" || n == "notes" || n == "remarks" {
        Some(Col::Notes)
    } else {
        None
    }
}

/// Group headings over several columns, which name no column of their own.
fn is_group_heading(cell: &str) -> bool {
    matches!(norm(cell).as_str(), "pelaksana" | "mutu baku" | "actors" | "quality standard")
}

/// The heading of a single column holding actors' names. "Pelaksana" is also the group heading
/// over the actor columns: it is this column only when no actor column stands under it.
fn is_performer_heading(cell: &str) -> bool {
    matches!(
        norm(cell).trim_end_matches('.'),
        "pelaksana"
            | "pelaksana kegiatan"
            | "petugas pelaksana"
            | "penanggung jawab"
            | "actor"
            | "actors"
            | "performer"
    )
}

/// Whether a row is a header row (it has a Kegiatan heading).
pub fn is_header(row: &Row) -> bool {
    row.cells.iter().any(|c| is_activity_heading(c))
}

/// Whether a row is the second row of a two-row header (sub-headings under PELAKSANA and
/// MUTU BAKU): it names a quality column and has no step number.
fn is_sub_header(row: &Row) -> bool {
    row.cells.first().is_none_or(|c| c.is_empty() || is_no_heading(c))
        && row.cells.iter().any(|c| quality_role(c).is_some())
        && !row.cells.iter().any(|c| looks_like_duration(c))
}

/// A row numbering the columns (1, 2, 3, ...), printed under the header in many SOPs.
pub fn is_column_numbers(row: &Row) -> bool {
    let cells: Vec<&str> = row.non_empty().map(|(_, c)| c).collect();
    cells.len() >= 4 && cells.iter().enumerate().all(|(i, c)| c.trim_matches(['(', ')']) == (i + 1).to_string())
}

/// A page number or page footer: one cell, `1`, `- 2 -`, `Halaman 3`, `3/4`, `Hal. 2 dari 3`.
pub fn is_page_number(row: &Row) -> bool {
    let cells: Vec<&str> = row.non_empty().map(|(_, c)| c).collect();
    let [cell] = cells.as_slice() else { return false };
    let n = norm(cell);
    let rest =
        n.strip_prefix("halaman").or_else(|| n.strip_prefix("hal.")).or_else(|| n.strip_prefix("page")).unwrap_or(&n);
    let words: Vec<&str> =
        rest.split(|c: char| c.is_whitespace() || c == '-' || c == '/').filter(|w| !w.is_empty()).collect();
    let numeric = |w: &&str| w.chars().all(|c| c.is_ascii_digit());
    match words.as_slice() {
        [n] => numeric(n),
        [a, b] => numeric(a) && numeric(b),
        [a, sep, b] => numeric(a) && (*sep == "dari" || *sep == "of") && numeric(b),
        _ => false,
    }
}

/// The total row: "Jumlah Waktu Keseluruhan", "Total", "Jumlah".
pub fn is_total(row: &Row) -> bool {
    row.non_empty().next().is_some_and(|(_, c)| {
        let n = norm(c);
        ["jumlah", "total", "waktu total", "jangka waktu", "waktu penyelesaian", "lama waktu"]
            .iter()
            .any(|w| n.starts_with(w))
    })
}

impl Layout {
    /// Reads the header from its first row and, when it has one, its second row.
    pub fn read(first: &Row, second: Option<&Row>) -> (Layout, bool) {
        let second =
            second.filter(|r| is_sub_header(r) || (is_group_row(first) && !r.is_blank() && !looks_numbered(r)));
        let width = first.cells.len().max(second.map_or(0, |r| r.cells.len()));
        let mut cols = vec![Col::Unknown; width];
        let mut names = vec![String::new(); width];
        for (i, (col, name)) in cols.iter_mut().zip(names.iter_mut()).enumerate() {
            let top = first.cells.get(i).map(String::as_str).unwrap_or("");
            let sub = second.and_then(|r| r.cells.get(i)).map(String::as_str).unwrap_or("");
            let heads = [sub, top];
            if heads.iter().any(|h| is_no_heading(h)) {
                *col = Col::No;
            } else if heads.iter().any(|h| is_activity_heading(h)) {
                *col = Col::Activity;
            } else if let Some(role) = heads.iter().find_map(|h| quality_role(h)) {
                *col = role;
            } else if let Some(h) = heads.iter().find(|h| !h.is_empty() && !is_group_heading(h)) {
                *name = h.to_string();
            }
        }
        // Columns with a heading between Kegiatan and the first quality column are actors.
        let activity = cols.iter().position(|c| *c == Col::Activity).unwrap_or(0);
        let quality =
            cols.iter().position(|c| matches!(c, Col::Needs | Col::Time | Col::Output | Col::Notes)).unwrap_or(width);
        let mut actors = Vec::new();
        for (i, col) in cols.iter_mut().enumerate() {
            if i > activity && i < quality && *col == Col::Unknown && !names[i].is_empty() {
                *col = Col::Actor(actors.len());
                actors.push(names[i].clone());
            }
        }
        // Without actor columns, a column headed "Pelaksana" (with nothing under it) holds the
        // actors' names, wherever it stands.
        if actors.is_empty() {
            let performer = (0..width).find(|&i| {
                let top = first.cells.get(i).map(String::as_str).unwrap_or("");
                let sub = second.and_then(|r| r.cells.get(i)).map(String::as_str).unwrap_or("");
                let heads = [top, sub];
                cols[i] == Col::Unknown
                    && heads.iter().any(|h| is_performer_heading(h))
                    && heads.iter().all(|h| h.is_empty() || is_performer_heading(h))
            });
            if let Some(i) = performer {
                cols[i] = Col::Performer;
            }
        }
        let header_cells =
            first.cells.iter().chain(second.iter().flat_map(|r| r.cells.iter())).map(|c| norm(c)).collect();
        (Layout { cols, actors, header_cells }, second.is_some())
    }

    /// The layout of a table without actor columns whose actors are named in its text.
    pub fn named(actors: Vec<String>) -> Layout {
        Layout { cols: Vec::new(), actors, header_cells: Vec::new() }
    }

    pub fn position(&self, col: Col) -> Option<usize> {
        self.cols.iter().position(|c| *c == col)
    }

    /// Whether a row repeats one of the header rows (a table continued on the next page).
    /// Whether a row repeats the header (a table continued on the next page): every cell is
    /// a heading, and at least two are. A row with any other text is never left out here.
    pub fn repeats_header(&self, row: &Row) -> bool {
        let cells: Vec<(usize, &str)> = row.non_empty().collect();
        cells.len() >= 2
            && cells.iter().all(|(_, c)| {
                let n = norm(c);
                self.header_cells.contains(&n)
                    || is_activity_heading(c)
                    || is_no_heading(c)
                    || is_group_heading(c)
                    || quality_role(c).is_some()
            })
    }

    /// Places a row's cells in the header's columns. A row with fewer cells than the header
    /// is either missing its trailing cells (a CSV writer dropped them) or missing some actor
    /// cells (a PDF extraction merged empty cells): the alignment that puts a duration in the
    /// Waktu column wins, else the one remembered for rows of that length, else the first.
    pub fn align(&self, row: &Row, remembered: &mut Vec<(usize, bool)>) -> Aligned {
        let n = row.cells.len();
        let width = self.cols.len();
        if n >= width {
            let extra = row.cells[width..]
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.is_empty())
                .map(|(i, c)| (width + i, c.clone()))
                .collect();
            let source = (0..width).map(Some).collect();
            return Aligned { cells: row.cells[..width].to_vec(), source, ambiguous_actor_cells: Vec::new(), extra };
        }
        let missing = width - n;
        let first_actor = self.cols.iter().position(|c| matches!(c, Col::Actor(_)));
        let can_right = first_actor.is_some() && self.actors.len() >= missing;
        let time = self.position(Col::Time);
        let left_time_ok = time.and_then(|t| row.cells.get(t)).is_some_and(|c| looks_like_duration(c));
        let right_time_ok = can_right
            && time
                .and_then(|t| t.checked_sub(missing))
                .and_then(|t| row.cells.get(t))
                .is_some_and(|c| looks_like_duration(c));
        let right = if right_time_ok && !left_time_ok {
            true
        } else if left_time_ok {
            false
        } else {
            can_right && remembered.iter().find(|(len, _)| *len == n).is_some_and(|(_, r)| *r)
        };
        if right_time_ok != left_time_ok && !remembered.iter().any(|(len, _)| *len == n) {
            remembered.push((n, right));
        }
        if !right {
            let mut cells = row.cells.clone();
            cells.resize(width, String::new());
            let source = (0..width).map(|i| (i < n).then_some(i)).collect();
            return Aligned { cells, source, ambiguous_actor_cells: Vec::new(), extra: Vec::new() };
        }
        // Right alignment: the actor cells shrank by `missing`; which actors they belong to is
        // unknown, so their text is kept aside rather than read as marks.
        let start = first_actor.unwrap_or(0);
        let present = self.actors.len() - missing;
        let mut cells = vec![String::new(); width];
        cells[..start].clone_from_slice(&row.cells[..start]);
        let ambiguous = row.cells[start..start + present].iter().filter(|c| !c.is_empty()).cloned().collect();
        let tail = start + self.actors.len();
        cells[tail..].clone_from_slice(&row.cells[start + present..]);
        let source = (0..width)
            .map(|i| {
                if i < start {
                    Some(i)
                } else if i < tail {
                    None
                } else {
                    Some(i - missing)
                }
            })
            .collect();
        Aligned { cells, source, ambiguous_actor_cells: ambiguous, extra: Vec::new() }
    }
}

/// A row whose cells are placed in the header's columns.
pub struct Aligned {
    pub cells: Vec<String>,
    /// For each column, the index of the row's cell placed there.
    pub source: Vec<Option<usize>>,
    /// Text in actor cells that cannot be matched to an actor column.
    pub ambiguous_actor_cells: Vec<String>,
    /// Non-empty cells beyond the last column: (column index, text).
    pub extra: Vec<(usize, String)>,
}

fn is_group_row(row: &Row) -> bool {
    row.cells.iter().any(|c| is_group_heading(c))
}

fn looks_numbered(row: &Row) -> bool {
    row.cells.first().is_some_and(|c| step_number(c).is_some()) || is_column_numbers(row)
}

/// A printed step number: `1`, `1.`, `4.1`, `7a`, `3.1.a`, `a`, `c1`, `IV`, as the language reads
/// them (`compile::is_step_number`). Returns it as the language writes it. A single capital letter
/// (`A.`) heads a section of the table, not a step.
pub fn step_number(cell: &str) -> Option<String> {
    let s = cell.trim();
    // `a)` and `(a)` as lists print them; `1. 1.` as a list pasted into a numbered cell does.
    let s = s.strip_prefix('(').map_or(s, |inner| inner.strip_suffix(')').unwrap_or(s));
    let s = s.strip_suffix(')').unwrap_or(s);
    let parts: Vec<&str> = s.split_whitespace().map(|p| p.trim_end_matches('.')).collect();
    let s = match parts.as_slice() {
        [first, rest @ ..] if !rest.is_empty() && rest.iter().all(|p| p == first) => first,
        _ => s.trim_end_matches('.'),
    };
    let section = s.len() == 1 && s.chars().all(|c| c.is_ascii_uppercase());
    (!section && crate::compile::is_step_number(s)).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_numbers_as_tables_print_them() {
        let number = |cell: &str| step_number(cell);
        assert_eq!(number("1.").as_deref(), Some("1"));
        assert_eq!(number("a.").as_deref(), Some("a"));
        assert_eq!(number("b)").as_deref(), Some("b"));
        assert_eq!(number("(c)").as_deref(), Some("c"));
        assert_eq!(number("1. 1.").as_deref(), Some("1"), "a list number pasted into the No cell");
        assert_eq!(number("3.1.a").as_deref(), Some("3.1.a"));
        assert_eq!(number("IV").as_deref(), Some("IV"));
        assert_eq!(number("11. 9."), None, "two different numbers");
        assert_eq!(number("A."), None, "a section heading");
        assert_eq!(number("Jumlah"), None);
    }
}
