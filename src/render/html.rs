//! The official SOP document (Permenpan-RB 35/2012 layout) as one HTML page with print CSS:
//! the identity page, then the table (No, Kegiatan, one column per Pelaksana, Mutu Baku,
//! Keterangan) on A4 landscape sheets with the flowchart drawn in the actor columns, off-page
//! connectors where the table breaks, and the total row.
//!
//! Every row has a fixed height computed from its text, so the flowchart (one SVG per sheet,
//! spanning the actor columns) lines up with the table rows without measuring anything in the
//! browser.

use std::fmt::Write;

use chrono::{Datelike, NaiveDate};

use super::flowchart::{connector_letter, Plan, Row, Shape, Sheet, BAND};
use super::metrics;
use super::routes::Dest;
use super::text::{esc, Labels};
use crate::diagnostic::Lang;
use crate::model::{ArtifactUse, Sop};

/// Printable area of an A4 landscape page with 10 mm margins.
const PAGE_W: f64 = 277.0;
const PAGE_H: f64 = 190.0;
/// The table is narrower than the printable width: its outer border is drawn half outside its
/// box, and a table exactly as wide as the page lost its right border in print.
const TABLE_W: f64 = PAGE_W - 2.0;
/// Height of the page head (title and page number) and of the first heading row.
const HEAD_H: f64 = 8.0;
const H1_H: f64 = 6.0;
/// The second heading row (actors, Mutu Baku) is at least this high; higher when its headings
/// need more lines.
const H2_MIN: f64 = 11.0;
/// Kept free at the foot of every page, for rounding in the browser.
const PAGE_SLACK: f64 = 1.0;
/// The text columns (No, Kegiatan, Kelengkapan, Waktu, Output, Keterangan): the width they get
/// when the actors leave room, and the least they get with many actors.
const TEXT_WIDE: [f64; 6] = [8.0, 50.0, 30.0, 16.0, 30.0, 34.0];
const TEXT_NARROW: [f64; 6] = [7.0, 36.0, 22.0, 13.0, 22.0, 24.0];
/// An actor column is at least this wide while the text columns can give way.
const ACTOR_MIN: f64 = 11.0;
/// One CSS pixel in millimetres: the table's 1px borders.
const PX: f64 = 25.4 / 96.0;
/// The table's text: 7 pt on 3.2 mm lines, cells padded 1.1 mm above and below, 1 mm at the sides.
const BODY_PT: f64 = 7.0;
const LINE_H: f64 = 3.2;
const PAD_V: f64 = 1.1;
const PAD_H: f64 = 1.0;
/// Headings: bold, 7 pt in the first row and at most 6.5 pt in the second, smaller (not under
/// 5 pt) when a word would not fit its column; lines 1.2 times the size, 0.5 mm side padding.
const HEAD1_PT: f64 = 7.0;
const HEAD2_PT: f64 = 6.5;
const HEAD_MIN_PT: f64 = 5.0;
const HEAD_LINE: f64 = 1.2;
const HEAD_PAD_H: f64 = 0.5;
/// The total row: at least 7 mm.
const TOTAL_H: f64 = 7.0;
/// The service standards under the table: 7.5 pt on 3.6 mm lines, 2 mm below the table.
const STANDARDS_PT: f64 = 7.5;
const STANDARDS_LINE: f64 = 3.6;
const STANDARDS_GAP: f64 = 2.0;

/// The widths of the table's columns, in order: No, Kegiatan, the actors, Kelengkapan, Waktu,
/// Output, Keterangan. They add up to [`TABLE_W`].
struct Columns {
    widths: Vec<f64>,
    actors: usize,
}

impl Columns {
    /// Actors share what the text columns leave at their wide widths; when that is less than
    /// [`ACTOR_MIN`] each, the text columns narrow (each alike, down to its narrow width) to give
    /// the actors up to that.
    fn new(actors: usize) -> Columns {
        let n = actors.max(1) as f64;
        let wide: f64 = TEXT_WIDE.iter().sum();
        let narrow: f64 = TEXT_NARROW.iter().sum();
        let actor_w = ((TABLE_W - wide) / n).max(ACTOR_MIN.min((TABLE_W - narrow) / n));
        let text_w = TABLE_W - actor_w * n;
        let t = ((text_w - narrow) / (wide - narrow)).clamp(0.0, 1.0);
        let text: Vec<f64> = TEXT_NARROW.iter().zip(TEXT_WIDE).map(|(a, b)| a + (b - a) * t).collect();
        let mut widths = vec![text[0], text[1]];
        widths.extend(std::iter::repeat_n(actor_w, actors.max(1)));
        widths.extend_from_slice(&text[2..]);
        Columns { widths, actors: actors.max(1) }
    }
    fn actor_w(&self) -> f64 {
        self.widths[2]
    }
    fn total(&self) -> f64 {
        self.widths.iter().sum()
    }
    /// The width of `span` columns from `first`.
    fn span(&self, first: usize, span: usize) -> f64 {
        self.widths[first..first + span].iter().sum()
    }
    /// The columns of the text cells after the actors: Kelengkapan, Waktu, Output, Keterangan.
    fn after(&self, k: usize) -> usize {
        2 + self.actors + k
    }
}

/// Lines of a body cell's text in `width` mm of column.
fn lines(text: &str, width: f64) -> usize {
    if text.is_empty() {
        return 1;
    }
    metrics::wrap(text, width - PX - 2.0 * PAD_H, metrics::pt(BODY_PT), false).len()
}

/// A heading: its lines and font size (mm), in a cell `width` mm wide.
struct Heading {
    lines: Vec<String>,
    size: f64,
    /// A word had to be broken between characters.
    broken: bool,
    /// Set sideways, read from the bottom up (actor headings in narrow columns).
    sideways: bool,
}

/// The longest a heading set sideways may be: the second heading row is at most this high.
const SIDEWAYS_MAX_H: f64 = 45.0;
/// Sideways headings: at most 6 pt, padded 0.5 mm at the ends of their lines.
const SIDEWAYS_PT: f64 = 6.0;
const SIDEWAYS_PAD: f64 = 0.5;

impl Heading {
    /// The largest size from `max_pt` down to 5 pt at which every word fits the cell whole; at
    /// 5 pt a word still too wide is broken between characters.
    fn fit(text: &str, width: f64, max_pt: f64) -> Heading {
        let inner = width - PX - 2.0 * HEAD_PAD_H;
        let mut pt = max_pt;
        loop {
            let size = metrics::pt(pt);
            let words_fit = text.split_whitespace().all(|w| metrics::width(w, size, true) <= inner);
            if words_fit || pt <= HEAD_MIN_PT {
                let lines = metrics::wrap(text, inner, size, true);
                return Heading { lines, size, broken: !words_fit, sideways: false };
            }
            pt = (pt - 0.25).max(HEAD_MIN_PT);
        }
    }

    /// Sideways in a column `width` mm wide: lines as long as the row is high (`height` mm,
    /// less the padding), as many as fit across the column.
    fn sideways(text: &str, width: f64, height: f64, pt: f64) -> Option<Heading> {
        let size = metrics::pt(pt);
        let length = height - PX - 2.0 * SIDEWAYS_PAD;
        let lines = metrics::wrap(text, length, size, true);
        let across = lines.len() as f64 * size * HEAD_LINE;
        let whole = text.split_whitespace().all(|w| metrics::width(w, size, true) <= length);
        (whole && across <= width - PX).then_some(Heading { lines, size, broken: false, sideways: true })
    }

    fn height(&self) -> f64 {
        self.lines.len() as f64 * self.size * HEAD_LINE
    }

    fn write(&self, out: &mut String, attrs: &str, height: f64) {
        let _ = write!(
            out,
            "<th{attrs}><div class=\"hc{}\" style=\"height:{:.3}mm;font-size:{:.3}mm\">",
            if self.sideways { " sideways" } else { "" },
            height - PX,
            self.size
        );
        for line in &self.lines {
            let _ = write!(out, "<span>{}</span>", esc(line));
        }
        out.push_str("</div></th>");
    }
}

/// The actor headings and the height of the heading row they need: across the column, one size
/// for all (the smallest any of them needs, from 6.5 pt down to 5 pt); or, when a word would not
/// fit the column even at 5 pt, all set sideways in the lowest row they fit (at 6 pt, or down
/// to 5 pt).
fn actor_headings(sop: &Sop, width: f64) -> (Vec<Heading>, f64) {
    let across: Vec<Heading> = sop.actors.iter().map(|a| Heading::fit(&a.label, width, HEAD2_PT)).collect();
    if across.iter().all(|h| !h.broken) {
        let size = across.iter().map(|h| h.size).fold(metrics::pt(HEAD2_PT), f64::min);
        let inner = width - PX - 2.0 * HEAD_PAD_H;
        let headings: Vec<Heading> = sop
            .actors
            .iter()
            .map(|a| Heading {
                lines: metrics::wrap(&a.label, inner, size, true),
                size,
                broken: false,
                sideways: false,
            })
            .collect();
        let h2 = headings.iter().map(|h| h.height() + PX + 1.0).fold(H2_MIN, f64::max).ceil();
        return (headings, h2);
    }
    let mut pt = SIDEWAYS_PT;
    while pt >= HEAD_MIN_PT {
        let mut h2 = H2_MIN;
        while h2 <= SIDEWAYS_MAX_H {
            let headings: Option<Vec<Heading>> =
                sop.actors.iter().map(|a| Heading::sideways(&a.label, width, h2, pt)).collect();
            if let Some(headings) = headings {
                return (headings, h2);
            }
            h2 += 1.0;
        }
        pt -= 0.5;
    }
    // Nothing fits: across the column at 5 pt, words broken.
    let h2 = across.iter().map(|h| h.height() + PX + 1.0).fold(H2_MIN, f64::max).ceil();
    (across, h2)
}

fn uses_text(sop: &Sop, uses: &[ArtifactUse]) -> String {
    uses.iter()
        .map(|u| {
            if u.text.is_empty() {
                let label = sop.artifact(u.artifact.as_str()).map(|a| a.label.clone()).unwrap_or_default();
                if label.is_empty() {
                    u.artifact.name.clone()
                } else {
                    label
                }
            } else {
                u.text.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

struct Cells {
    number: String,
    activity: String,
    requirements: String,
    time: String,
    output: String,
    notes: String,
}

fn cells(sop: &Sop, step: usize, labels: &Labels) -> Cells {
    let s = &sop.steps[step];
    let mut notes = s.notes.clone().unwrap_or_default();
    if let Some(condition) = &s.condition {
        let when = format!("{} {}", labels.when, super::text::condition_text(condition, sop, labels));
        notes = if notes.is_empty() { when } else { format!("{notes} ({when})") };
    }
    let notes = super::text::with_note(notes, super::text::hold_note(s, labels.lang));
    Cells {
        number: s.number.clone(),
        activity: s.activity.clone(),
        requirements: uses_text(sop, &s.inputs),
        time: s.duration.as_ref().map(|d| d.cell(labels.lang)).unwrap_or_default(),
        output: output_text(sop, s),
        notes,
    }
}

/// The Output cell: what the step gives, then what it gives only with one outcome
/// ("Izin (disetujui); Surat penolakan (ditolak)").
pub fn output_text(sop: &Sop, s: &crate::model::Step) -> String {
    let mut parts = vec![uses_text(sop, &s.outputs)];
    for outcome in s.decision.iter().flat_map(|d| &d.outcomes).filter(|o| !o.outputs.is_empty()) {
        parts.push(format!("{} ({})", uses_text(sop, &outcome.outputs), outcome.name.name.replace('_', " ")));
    }
    parts.retain(|p| !p.is_empty());
    parts.join("; ")
}

fn row_height(c: &Cells, shape: Shape, columns: &Columns) -> f64 {
    let w = |k: usize| columns.widths[columns.after(k)];
    let n = [
        lines(&c.number, columns.widths[0]),
        lines(&c.activity, columns.widths[1]),
        lines(&c.requirements, w(0)),
        lines(&c.time, w(1)),
        lines(&c.output, w(2)),
        lines(&c.notes, w(3)),
    ]
    .into_iter()
    .max()
    .unwrap_or(1);
    let min = if shape == Shape::Decision { 16.0 } else { 13.0 };
    (n as f64 * LINE_H + 2.0 * PAD_V + PX).max(min).ceil()
}

fn date_text(date: NaiveDate, lang: Lang) -> String {
    const ID: [&str; 12] = [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = date.month0() as usize;
    let name = match lang {
        Lang::Id => ID[month],
        Lang::En => EN[month],
    };
    format!("{} {} {}", date.day(), name, date.year())
}

/// The total as the SOP states it, or the main path's total when it states none.
pub fn total_text(sop: &Sop, lang: Lang) -> String {
    match &sop.header.stated_total {
        Some(total) => match total.rounded_workdays {
            Some(days) => {
                format!("{} ({})", total.duration.display(lang), crate::time::Duration::workdays(days).display(lang))
            }
            None => total.duration.display(lang),
        },
        None => {
            let totals = crate::timing::totals(sop, crate::time::DEFAULT_DAY_LENGTH_MINUTES);
            let d = totals.main_path.duration;
            // Steps without a stated time: the sum is unknown ("-") or only a part ("+ ?").
            if !totals.main_path.untimed.is_empty() {
                return if d.is_zero() { "-".to_string() } else { format!("{} + ?", d.display(lang)) };
            }
            format!(
                "{} ({})",
                d.display(lang),
                crate::time::Duration::workdays(totals.main_path.rounded_workdays).display(lang)
            )
        }
    }
}

const CSS: &str = r#"
@page { size: A4 landscape; margin: 10mm; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; }
body { font-family: Arial, Helvetica, sans-serif; font-size: 7pt; color: #000; }
.sheet { width: 277mm; height: 190mm; overflow: hidden; position: relative; break-after: page; page-break-after: always; }
.sheet:last-child { break-after: auto; page-break-after: auto; }
@media screen {
  body { background: #7d7d7d; padding: 6mm 0; }
  .sheet { box-sizing: content-box; padding: 10mm; margin: 0 auto 6mm auto; background: #fff; box-shadow: 0 1mm 3mm rgba(0,0,0,.45); }
}
table { border-collapse: collapse; table-layout: fixed; }
td, th { border: 1px solid #000; vertical-align: top; }
.page-head { height: 8mm; display: flex; justify-content: space-between; align-items: flex-start; font-size: 8pt; }
.page-head .t { font-weight: bold; }
table.sop th { background: #d9d9d9; font-weight: bold; text-align: center; vertical-align: middle; padding: 0; }
table.sop th .hc { overflow: hidden; padding: 0 0.5mm; line-height: 1.2; display: flex; flex-direction: column; justify-content: center; align-items: center; }
table.sop th .hc span { display: block; white-space: nowrap; }
table.sop th .hc.sideways { writing-mode: vertical-rl; transform: rotate(180deg); padding: 0.5mm 0; }
table.sop td { padding: 0; }
table.sop td .c { overflow: hidden; padding: 1.1mm 1mm; line-height: 3.2mm; white-space: pre-line; overflow-wrap: anywhere; }
table.sop td.no .c { text-align: center; }
table.sop td.time .c { text-align: center; }
table.sop td.flow { vertical-align: top; padding: 0; border: 1px solid #000; }
table.sop td.flow svg { display: block; }
table.sop tr.total td { background: #f2f2f2; font-weight: bold; vertical-align: middle; }
table.sop tr.total td.label .c { text-align: center; }
.ident { width: 275mm; margin-bottom: 3mm; }
.ident td, .ident th { padding: 1.6mm 2mm; font-size: 9pt; text-align: left; vertical-align: middle; }
.ident th { width: 42mm; font-weight: bold; background: #f2f2f2; }
.ident td.agency { width: 120mm; text-align: center; font-weight: bold; font-size: 12pt; line-height: 1.5; }
.ident td.agency .seal { width: 22mm; height: 22mm; border: 0.6mm double #000; border-radius: 50%; margin: 0 auto 3mm auto; display: flex; align-items: center; justify-content: center; font-size: 7pt; font-weight: normal; color: #555; }
.ident td.agency .kind { font-size: 11pt; letter-spacing: 0.3mm; }
.ident td.sign { height: 36mm; vertical-align: top; }
.ident td.sign .space { height: 13mm; }
.ident td.name { font-weight: bold; font-size: 10pt; }
.ident2 { width: 275mm; }
.ident2 th { background: #d9d9d9; font-size: 9pt; padding: 1.2mm 2mm; text-align: left; width: 50%; }
.ident2 td { font-size: 8.5pt; padding: 1.2mm 2mm 1.2mm 2mm; height: 15mm; }
.ident2 ol { margin: 0; padding-left: 5mm; }
.service-title { font-size: 11pt; margin: 0; height: 10mm; line-height: 8mm; }
table.service { width: 275mm; }
table.service th { width: 60mm; background: #f2f2f2; font-size: 8.5pt; line-height: 1.25; padding: 1.2mm 2mm; text-align: left; overflow-wrap: anywhere; }
table.service td { font-size: 8.5pt; line-height: 1.25; padding: 1.2mm 2mm; overflow-wrap: anywhere; }
table.service ol { margin: 0; padding-left: 5mm; }
.legend { margin-top: 3mm; font-size: 8pt; display: flex; gap: 6mm; align-items: center; }
.legend span { display: inline-flex; align-items: center; gap: 1.5mm; }
.empty { color: #666; }
.standards { margin-top: 2mm; font-size: 7.5pt; line-height: 3.6mm; overflow: hidden; }
"#;

/// The service standards as the line under the table, or `None` when the SOP states none.
fn standards_text(sop: &Sop, labels: &Labels) -> Option<String> {
    if sop.header.service_standards.is_empty() {
        return None;
    }
    let items: Vec<String> = sop
        .header
        .service_standards
        .iter()
        .map(|st| {
            let mut s = String::new();
            if let Some(label) = &st.label {
                s.push_str(&format!("{label}: "));
            }
            s.push_str(&st.duration.display(labels.lang));
            if let Some(from) = &st.from {
                s.push_str(&format!(" {}", clock_point(sop, from, true, labels.lang)));
            }
            if let Some(until) = &st.until {
                s.push_str(&format!(" {}", clock_point(sop, until, false, labels.lang)));
            }
            s
        })
        .collect();
    Some(format!("{}: {}", labels.service_standard, items.join("; ")))
}

/// How the table is laid out: columns, headings, row heights, pages.
struct Layout {
    columns: Columns,
    /// The headings of the second row: the actors, then Kelengkapan, Waktu, Output.
    actor_headings: Vec<Heading>,
    quality_headings: Vec<Heading>,
    /// The headings of the first row: No, Kegiatan, Pelaksana, Mutu Baku, Keterangan.
    first_headings: Vec<Heading>,
    h2: f64,
    total_h: f64,
    standards_h: f64,
}

impl Layout {
    fn new(sop: &Sop, labels: &Labels, total: &str, standards: Option<&str>) -> Layout {
        let columns = Columns::new(sop.actors.len());
        let n = columns.actors;
        let (actor_headings, actors_h2) = actor_headings(sop, columns.actor_w());
        let quality_headings: Vec<Heading> = [labels.requirements, labels.time, labels.output]
            .iter()
            .enumerate()
            .map(|(k, text)| Heading::fit(text, columns.widths[columns.after(k)], HEAD2_PT))
            .collect();
        let first_headings = vec![
            Heading::fit(labels.no, columns.widths[0], HEAD1_PT),
            Heading::fit(labels.activity, columns.widths[1], HEAD1_PT),
            Heading::fit(labels.performers, columns.span(2, n), HEAD1_PT),
            Heading::fit(labels.quality, columns.span(columns.after(0), 3), HEAD1_PT),
            Heading::fit(labels.notes, columns.widths[columns.after(3)], HEAD1_PT),
        ];
        let h2 = quality_headings.iter().map(|h| h.height() + PX + 1.0).fold(actors_h2, f64::max).ceil();
        let total_w = columns.span(columns.after(1), 2);
        let total_lines = metrics::wrap(total, total_w - PX - 2.0 * PAD_H, metrics::pt(BODY_PT), true).len();
        let total_h = (total_lines as f64 * LINE_H + 2.0 * PAD_V + PX).max(TOTAL_H).ceil();
        let standards_h = standards.map_or(0.0, |text| {
            let lines = metrics::wrap(text, columns.total(), metrics::pt(STANDARDS_PT), true).len();
            lines as f64 * STANDARDS_LINE + 0.5 + STANDARDS_GAP
        });
        Layout { columns, actor_headings, quality_headings, first_headings, h2, total_h, standards_h }
    }

    /// The table's rows on each page: a page holds its rows, a band above them when it
    /// continues a page, a band below them when the table goes on, and on the last page the
    /// total row and the service standards.
    fn pages(&self, heights: &[f64]) -> Vec<Vec<usize>> {
        let avail = PAGE_H - HEAD_H - H1_H - self.h2 - PAGE_SLACK;
        let mut pages: Vec<Vec<usize>> = vec![Vec::new()];
        let mut used = 0.0;
        for (i, h) in heights.iter().enumerate() {
            let last = i + 1 == heights.len();
            let need = h + if last { self.total_h + self.standards_h } else { BAND };
            let current_empty = pages.last().is_none_or(|p| p.is_empty());
            if used + need > avail && !current_empty {
                pages.push(Vec::new());
                used = BAND;
            }
            if let Some(page) = pages.last_mut() {
                page.push(i);
            }
            used += h;
        }
        pages
    }
}

/// A flowchart sheet for one page of the table.
fn page_sheet<'p, 'a>(
    plan: &'p Plan<'a>,
    col_w: f64,
    steps: &[usize],
    heights: &[f64],
    pages: usize,
    p: usize,
    page_of: &[usize],
) -> Sheet<'p, 'a> {
    let top_band = p > 0;
    let bottom_band = p + 1 < pages;
    let mut rows = Vec::new();
    let mut y = if top_band { BAND } else { 0.0 };
    for &s in steps {
        rows.push(Row { step: s, top: y, height: heights[s] });
        y += heights[s];
    }
    let bottom_top = y;
    if bottom_band {
        y += BAND;
    }
    Sheet {
        plan,
        x0: 0.0,
        col_w,
        rows,
        grid_top: 0.0,
        top_band: top_band.then_some(0.0),
        bottom_band: bottom_band.then_some(bottom_top),
        height: y,
        page_of: page_of.to_vec(),
        page: p,
        id: format!("p{}", p + 1),
    }
}

/// Rows are made higher by this much each time a label found no room in them.
const GROW_STEP: f64 = 2.5;
/// At most this many rounds of making rows higher.
const GROW_ROUNDS: usize = 24;

pub fn render(sop: &Sop, labels: &Labels) -> String {
    let plan = Plan::new(sop, labels);
    let total = total_text(sop, labels.lang);
    let standards = standards_text(sop, labels);
    let layout = Layout::new(sop, labels, &total, standards.as_deref());
    let columns = &layout.columns;
    let n = columns.actors;
    let col_w = columns.actor_w();
    let all_cells: Vec<Cells> = (0..sop.steps.len()).map(|i| cells(sop, i, labels)).collect();
    let mut heights: Vec<f64> = all_cells.iter().zip(&plan.shapes).map(|(c, s)| row_height(c, *s, columns)).collect();

    // Pages and flowcharts, drawn again with higher rows while a label finds no room.
    let mut round = 0;
    let (pages, page_of, letters, flowcharts) = loop {
        let pages = layout.pages(&heights);
        let mut page_of = vec![0; sop.steps.len()];
        for (p, steps) in pages.iter().enumerate() {
            for &s in steps {
                page_of[s] = p;
            }
        }
        let letters = connector_letters(&plan, &page_of);
        let mut flowcharts = Vec::new();
        let mut crowded = Vec::new();
        for (p, steps) in pages.iter().enumerate() {
            let sheet = page_sheet(&plan, col_w, steps, &heights, pages.len(), p, &page_of);
            let mut svg = String::new();
            let _ = write!(
                svg,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sop-flowchart\" data-page=\"{}\" style=\"width:{w:.3}mm;height:{h:.3}mm\" width=\"{w:.3}mm\" height=\"{h:.3}mm\" viewBox=\"0 0 {w:.3} {h:.3}\" font-family=\"Arial, Helvetica, sans-serif\">",
                p + 2,
                w = col_w * n as f64,
                h = sheet.height
            );
            crowded.extend(sheet.draw(&mut svg, &letters));
            svg.push_str("</svg>");
            flowcharts.push(svg);
        }
        round += 1;
        if crowded.is_empty() || round >= GROW_ROUNDS {
            break (pages, page_of, letters, flowcharts);
        }
        for s in crowded {
            heights[s] += GROW_STEP;
        }
    };
    let _ = (&page_of, &letters);

    let lang_attr = match labels.lang {
        Lang::Id => "id",
        Lang::En => "en",
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang_attr}\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>{} - {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(labels.sop),
        esc(&sop.title)
    );
    let service = service_pages(sop, labels);
    let total_pages = pages.len() + 1 + service.len();
    identity(&mut out, sop, labels, total_pages);
    for (i, rows) in service.iter().enumerate() {
        service_sheet(&mut out, sop, labels, rows, i + 2, total_pages);
    }
    let first_flow_page = 2 + service.len();
    let table_w = columns.total();
    for (p, (steps, svg)) in pages.iter().zip(flowcharts).enumerate() {
        let top_band = p > 0;
        let bottom_band = p + 1 < pages.len();
        let _ = write!(
            out,
            "<section class=\"sheet flow-page\" data-page=\"{}\">\n<div class=\"page-head\"><span class=\"t\">{}</span><span>{} {} {} {}</span></div>\n",
            p + first_flow_page,
            esc(&sop.title),
            esc(labels.page),
            p + first_flow_page,
            esc(labels.of),
            total_pages
        );
        let _ = write!(out, "<table class=\"sop\" style=\"width:{table_w:.3}mm\">\n<colgroup>");
        for w in &columns.widths {
            let _ = write!(out, "<col style=\"width:{w:.3}mm\"/>");
        }
        out.push_str("</colgroup>\n<thead>\n<tr class=\"h1\">");
        let both = H1_H + layout.h2;
        let spans = [(0, 1, 2), (1, 1, 2), (2, n, 1), (columns.after(0), 3, 1), (columns.after(3), 1, 2)];
        for (heading, (first, span, rows)) in layout.first_headings.iter().zip(spans) {
            let mut attrs = format!(" data-col=\"{first}\"");
            if span > 1 {
                let _ = write!(attrs, " colspan=\"{span}\"");
            }
            if rows > 1 {
                let _ = write!(attrs, " rowspan=\"{rows}\"");
            }
            heading.write(&mut out, &attrs, if rows > 1 { both } else { H1_H });
        }
        out.push_str("</tr>\n<tr class=\"h2\">");
        for (c, (actor, heading)) in sop.actors.iter().zip(&layout.actor_headings).enumerate() {
            let attrs = format!(" class=\"actor\" data-actor=\"{}\" data-col=\"{}\"", esc(&actor.id.name), 2 + c);
            heading.write(&mut out, &attrs, layout.h2);
        }
        for (k, heading) in layout.quality_headings.iter().enumerate() {
            heading.write(&mut out, &format!(" data-col=\"{}\"", columns.after(k)), layout.h2);
        }
        out.push_str("</tr>\n</thead>\n<tbody>\n");
        let span_rows = steps.len() + usize::from(top_band) + usize::from(bottom_band);
        let flow_cell = format!("<td class=\"flow\" data-col=\"2\" colspan=\"{n}\" rowspan=\"{span_rows}\">{svg}</td>");
        let mut flow_pending = true;
        let cell = |h: f64, class: &str, col: usize, text: &str| -> String {
            format!(
                "<td class=\"{class}\" data-col=\"{col}\"><div class=\"c\" style=\"height:{:.3}mm\">{}</div></td>",
                h - PX,
                esc(text)
            )
        };
        let band_row = |out: &mut String, flow: &str| {
            let _ = writeln!(
                out,
                "<tr class=\"band\">{}{}{flow}<td data-col=\"{}\" colspan=\"4\"><div class=\"c\" style=\"height:{:.3}mm\"></div></td></tr>",
                cell(BAND, "no", 0, ""),
                cell(BAND, "activity", 1, ""),
                columns.after(0),
                BAND - PX
            );
        };
        if top_band {
            band_row(&mut out, &flow_cell);
            flow_pending = false;
        }
        for &s in steps {
            let c = &all_cells[s];
            let h = heights[s];
            let _ = write!(
                out,
                "<tr class=\"step\" data-step=\"{}\">{}{}",
                esc(&sop.steps[s].id.name),
                cell(h, "no", 0, &c.number),
                cell(h, "activity", 1, &c.activity)
            );
            if flow_pending {
                out.push_str(&flow_cell);
                flow_pending = false;
            }
            let _ = writeln!(
                out,
                "{}{}{}{}</tr>",
                cell(h, "requirements", columns.after(0), &c.requirements),
                cell(h, "time", columns.after(1), &c.time),
                cell(h, "output", columns.after(2), &c.output),
                cell(h, "notes", columns.after(3), &c.notes)
            );
        }
        if bottom_band {
            band_row(&mut out, "");
        } else {
            let h = layout.total_h - PX;
            let _ = writeln!(
                out,
                "<tr class=\"total\"><td class=\"label\" data-col=\"0\" colspan=\"{}\"><div class=\"c\" style=\"height:{h:.3}mm\">{}</div></td><td class=\"total-time\" data-col=\"{}\" colspan=\"2\"><div class=\"c\" style=\"height:{h:.3}mm\">{}</div></td><td data-col=\"{}\"><div class=\"c\" style=\"height:{h:.3}mm\"></div></td></tr>",
                n + 3,
                esc(labels.total),
                columns.after(1),
                esc(&total),
                columns.after(3)
            );
        }
        out.push_str("</tbody>\n</table>\n");
        if let (false, Some(text)) = (bottom_band, &standards) {
            let (label, items) = text.split_once(": ").unwrap_or(("", text));
            let _ = writeln!(
                out,
                "<div class=\"standards\" style=\"width:{table_w:.3}mm;height:{:.3}mm\"><b>{}:</b> {}</div>",
                layout.standards_h - STANDARDS_GAP,
                esc(label),
                esc(items)
            );
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// Letters for the routes that cross a page break, in route order.
fn connector_letters(plan: &Plan<'_>, page_of: &[usize]) -> Vec<Option<String>> {
    let mut next_letter = 0;
    plan.routes
        .iter()
        .map(|route| {
            let crosses = match route.to {
                Dest::Step(t) => page_of[t] != page_of[route.from],
                Dest::End(_) => false,
            };
            crosses.then(|| {
                next_letter += 1;
                connector_letter(next_letter - 1)
            })
        })
        .collect()
}

/// A service standard's clock point in words: "setelah langkah 3 (verifikasi)".
fn clock_point(sop: &Sop, point: &crate::model::ClockPoint, from: bool, lang: Lang) -> String {
    use crate::model::ClockPoint::{EndOf, StartOf};
    let name = point.step().as_str();
    let step = match sop.step(name) {
        Some(step) => format!("{} ({})", step.number, super::text::outcome_text(name)),
        None => name.to_string(),
    };
    match (lang, from, point) {
        (Lang::Id, true, StartOf(_)) => format!("sejak langkah {step} dimulai"),
        (Lang::Id, true, EndOf(_)) => format!("setelah langkah {step}"),
        (Lang::Id, false, StartOf(_)) => format!("sampai langkah {step} dimulai"),
        (Lang::Id, false, EndOf(_)) => format!("sampai langkah {step} selesai"),
        (Lang::En, true, StartOf(_)) => format!("from the start of step {step}"),
        (Lang::En, true, EndOf(_)) => format!("after step {step}"),
        (Lang::En, false, StartOf(_)) => format!("until step {step} starts"),
        (Lang::En, false, EndOf(_)) => format!("until step {step} ends"),
    }
}

fn list(out: &mut String, items: &[String], labels: &Labels) {
    match items.len() {
        0 => {
            let _ = write!(out, "<span class=\"empty\">{}</span>", esc(labels.empty));
        }
        1 => out.push_str(&esc(&items[0])),
        _ => {
            out.push_str("<ol>");
            for item in items {
                let _ = write!(out, "<li>{}</li>", esc(item));
            }
            out.push_str("</ol>");
        }
    }
}

fn identity(out: &mut String, sop: &Sop, labels: &Labels, total_pages: usize) {
    let h = &sop.header;
    let date = |d: Option<NaiveDate>| d.map(|d| date_text(d, labels.lang)).unwrap_or_else(|| labels.empty.into());
    let _ = write!(
        out,
        "<section class=\"sheet identity\" data-page=\"1\">\n<div class=\"page-head\"><span class=\"t\">{}</span><span>{} 1 {} {total_pages}</span></div>\n<table class=\"ident\">\n",
        esc(labels.sop),
        esc(labels.page),
        esc(labels.of)
    );
    let agency = h.agency.clone().unwrap_or_default();
    let rows: Vec<(&str, String)> = vec![
        (labels.number, h.number.clone().unwrap_or_else(|| labels.empty.into())),
        (labels.created, date(h.created)),
        (labels.revised, date(h.revised)),
        (labels.effective, date(h.effective)),
    ];
    let mut rows: Vec<(&str, String)> = rows;
    if let Some(version) = &h.version {
        rows.push((labels.version, version.clone()));
    }
    for (label, value) in &h.extra_identity {
        rows.push((label.as_str(), value.clone()));
    }
    for (i, (label, value)) in rows.iter().enumerate() {
        out.push_str("<tr>");
        if i == 0 {
            let _ = write!(
                out,
                "<td class=\"agency\" rowspan=\"{}\"><div class=\"seal\">LOGO</div><div class=\"kind\">{}</div><div>{}</div></td>",
                rows.len() + 2,
                esc(&labels.sop.to_uppercase()),
                esc(&agency.to_uppercase())
            );
        }
        let _ = writeln!(out, "<th>{}</th><td class=\"ident-{}\">{}</td></tr>", esc(label), i, esc(value));
    }
    let _ = write!(out, "<tr><th>{}</th><td class=\"sign\">", esc(labels.approved_by));
    match &h.approved_by {
        Some(a) => {
            if let Some(position) = &a.position {
                let _ = write!(out, "<div>{}</div>", esc(position));
            }
            let _ =
                write!(out, "<div class=\"space\"></div><div class=\"approver\"><b><u>{}</u></b></div>", esc(&a.name));
            if let Some(nip) = &a.nip {
                let _ = write!(out, "<div>{}. {}</div>", esc(labels.nip), esc(nip));
            }
        }
        None => {
            let _ = write!(out, "<div class=\"space\"></div><span class=\"empty\">{}</span>", esc(labels.empty));
        }
    }
    out.push_str("</td></tr>\n");
    let _ =
        write!(out, "<tr><th>{}</th><td class=\"name\">{}</td></tr>\n</table>\n", esc(labels.name), esc(&sop.title));
    out.push_str("<table class=\"ident2\">\n");
    let pairs: [(&str, &Vec<String>, &str, &Vec<String>); 3] = [
        (labels.legal_basis, &h.legal_basis, labels.qualifications, &h.qualifications),
        (labels.related, &h.related, labels.equipment, &h.equipment),
        (labels.warnings, &h.warnings, labels.records, &h.records),
    ];
    for (l1, v1, l2, v2) in pairs {
        let _ = write!(out, "<tr><th>{}</th><th>{}</th></tr>\n<tr><td>", esc(l1), esc(l2));
        list(out, v1, labels);
        out.push_str("</td><td>");
        list(out, v2, labels);
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n");
    legend(out, labels);
    out.push_str("</section>\n");
}

/// The Standar Pelayanan sheet's printable height for rows (190 mm less the page head and the
/// title), and the widths of its columns.
const SERVICE_BODY_H: f64 = 190.0 - 8.0 - 10.0;
const SERVICE_LABEL_W: f64 = 60.0;
const SERVICE_TEXT_W: f64 = 275.0 - SERVICE_LABEL_W;
/// 8.5 pt text with a 1.25 line height, and a cell's padding and border.
const SERVICE_LINE_H: f64 = 8.5 * 25.4 / 72.0 * 1.25;
const SERVICE_CELL_PAD: f64 = 2.4 + 0.5;

/// One row of a Standar Pelayanan sheet: a component's name (continued from the page before or
/// not) and the items on this page, numbered from `first`.
struct ServiceRow {
    label: &'static str,
    continued: bool,
    items: Vec<String>,
    first: usize,
    numbered: bool,
}

/// The Standar Pelayanan components split into pages: items are measured with the font's widths
/// (an upper bound), so a page never holds more than fits; a long component continues on the
/// next page.
fn service_pages(sop: &Sop, labels: &Labels) -> Vec<Vec<ServiceRow>> {
    let service = &sop.header.service;
    if service.is_empty() {
        return Vec::new();
    }
    let size = crate::render::metrics::pt(8.5);
    // Numbered items are indented 5 mm; a cell has 2 mm padding each side.
    let text_w = SERVICE_TEXT_W - 4.0 - 5.0;
    let mut pages: Vec<Vec<ServiceRow>> = vec![Vec::new()];
    let mut used = 0.0;
    for (key, items) in service.items() {
        if items.is_empty() {
            continue;
        }
        let label = crate::render::text::service_label(key, labels.lang);
        let label_h =
            crate::render::metrics::wrap(label, SERVICE_LABEL_W - 4.0, size, true).len() as f64 * SERVICE_LINE_H;
        let numbered = items.len() > 1;
        let mut row = ServiceRow { label, continued: false, items: Vec::new(), first: 1, numbered };
        let mut row_h = SERVICE_CELL_PAD + label_h;
        for (index, item) in items.iter().enumerate() {
            let item_h = crate::render::metrics::wrap(item, text_w, size, false).len() as f64 * SERVICE_LINE_H;
            let with_item = if row.items.is_empty() { SERVICE_CELL_PAD + item_h.max(label_h) } else { row_h + item_h };
            if used + with_item > SERVICE_BODY_H && (used > 0.0 || !row.items.is_empty()) {
                let continued = !row.items.is_empty() || row.continued;
                if let (false, Some(page)) = (row.items.is_empty(), pages.last_mut()) {
                    page.push(row);
                }
                pages.push(Vec::new());
                used = 0.0;
                row = ServiceRow { label, continued, items: Vec::new(), first: index + 1, numbered };
            }
            row_h = if row.items.is_empty() { SERVICE_CELL_PAD + item_h.max(label_h) } else { row_h + item_h };
            row.items.push(item.clone());
        }
        used += row_h;
        if let Some(page) = pages.last_mut() {
            page.push(row);
        }
    }
    pages
}

fn service_sheet(out: &mut String, sop: &Sop, labels: &Labels, rows: &[ServiceRow], page: usize, total_pages: usize) {
    let heading = crate::render::text::service_label("title", labels.lang);
    let _ = write!(
        out,
        "<section class=\"sheet service\" data-page=\"{page}\">\n<div class=\"page-head\"><span class=\"t\">{}</span><span>{} {page} {} {total_pages}</span></div>\n<h2 class=\"service-title\">{}</h2>\n<table class=\"service\">\n",
        esc(&sop.title),
        esc(labels.page),
        esc(labels.of),
        esc(heading)
    );
    for row in rows {
        let more = if row.continued { crate::render::text::service_label("continued", labels.lang) } else { "" };
        let _ = write!(out, "<tr><th>{}{}</th><td>", esc(row.label), esc(more));
        if row.numbered {
            let _ = write!(out, "<ol start=\"{}\">", row.first);
            for item in &row.items {
                let _ = write!(out, "<li>{}</li>", esc(item));
            }
            out.push_str("</ol>");
        } else {
            out.push_str(&row.items.iter().map(|i| esc(i)).collect::<Vec<_>>().join("<br/>"));
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n</section>\n");
}

fn legend(out: &mut String, labels: &Labels) {
    let _ = write!(out, "<div class=\"legend\"><b>{}:</b>", esc(labels.legend));
    let items: [(&str, &str); 5] = [
        (labels.terminator, "<rect x=\"1\" y=\"1.5\" width=\"12\" height=\"5\" rx=\"2.5\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"0.35\"/>"),
        (labels.process, "<rect x=\"1\" y=\"1.5\" width=\"12\" height=\"5\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"0.35\"/>"),
        (labels.decision, "<polygon points=\"7,0.5 13,4 7,7.5 1,4\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"0.35\"/>"),
        (labels.flow, "<line x1=\"1\" y1=\"4\" x2=\"11\" y2=\"4\" stroke=\"#000\" stroke-width=\"0.35\"/><path d=\"M10,2.5 L13,4 L10,5.5 z\"/>"),
        (labels.connector, "<polygon points=\"4.5,0.5 9.5,0.5 9.5,4.5 7,7.5 4.5,4.5\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"0.35\"/>"),
    ];
    for (label, shape) in items {
        let _ = write!(
            out,
            "<span><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"14mm\" height=\"8mm\" viewBox=\"0 0 14 8\">{shape}</svg>{}</span>",
            esc(label)
        );
    }
    out.push_str("</div>\n");
}
