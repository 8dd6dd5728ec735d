//! A Standar Pelayanan table (read by `standard.rs`) turned into steps and header lines:
//! the procedure's items become steps, the other components their `.sop` lines or comments.

use crate::diagnostic::{Code, Diagnostic};
use crate::t;

use super::body::StepRow;
use super::infer;
use super::standard;
use super::table::{self, Layout, Row};
use super::text::{self, comment_text, norm, promise_duration, quote, PromiseProblem};
use super::write::Document;
use super::Importer;

impl Importer<'_> {
    /// Reads a Standar Pelayanan table: the procedure's items become steps (time not stated,
    /// actors from the sentences), the time a `standar_pelayanan`, the other components the
    /// language declares (persyaratan, biaya, produk, pengaduan, dasar hukum, sarana, ...) their
    /// lists; a component alur does not know is kept as a comment.
    pub(super) fn run_standard(mut self, rows: &[Row], shape: standard::Shape) -> Option<String> {
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
    pub(super) fn promise_not_read(&mut self, component: &standard::ComponentRow, problem: &PromiseProblem) {
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
}
