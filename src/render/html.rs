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
use super::routes::Dest;
use super::text::{esc, Labels};
use crate::diagnostic::Lang;
use crate::model::{ArtifactUse, Sop};

/// Printable area of an A4 landscape page with 10 mm margins.
const PAGE_W: f64 = 277.0;
const PAGE_H: f64 = 190.0;
const HEAD_H: f64 = 8.0;
const THEAD_H: f64 = 17.0;
const TOTAL_H: f64 = 7.0;
const NO_W: f64 = 8.0;
const ACTIVITY_W: f64 = 50.0;
const REQ_W: f64 = 30.0;
const TIME_W: f64 = 16.0;
const OUTPUT_W: f64 = 30.0;
const NOTES_W: f64 = 34.0;
/// One CSS pixel in millimetres: the table's 1px borders.
const PX: f64 = 0.2646;
/// Text of the table: 7pt, with a generous average character width so text never overflows.
const CHAR_W: f64 = 1.38;
const LINE_H: f64 = 3.2;
const PAD: f64 = 2.4;

fn text_columns() -> f64 {
    NO_W + ACTIVITY_W + REQ_W + TIME_W + OUTPUT_W + NOTES_W
}

fn lines(text: &str, width_mm: f64) -> usize {
    let chars = ((width_mm - 2.0) / CHAR_W).floor().max(4.0) as usize;
    text.split('\n').map(|para| super::svg::wrap(para, chars).len()).sum()
}

fn uses_text(sop: &Sop, uses: &[ArtifactUse]) -> String {
    uses.iter()
        .map(|u| {
            if u.text.is_empty() {
                sop.artifact(u.artifact.as_str()).map(|a| a.label.clone()).unwrap_or_else(|| u.artifact.name.clone())
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
    Cells {
        number: s.number.clone(),
        activity: s.activity.clone(),
        requirements: uses_text(sop, &s.inputs),
        time: s.duration.as_ref().map(|d| d.cell(labels.lang)).unwrap_or_default(),
        output: uses_text(sop, &s.outputs),
        notes,
    }
}

fn row_height(c: &Cells, shape: Shape) -> f64 {
    let n = [
        lines(&c.activity, ACTIVITY_W),
        lines(&c.requirements, REQ_W),
        lines(&c.time, TIME_W),
        lines(&c.output, OUTPUT_W),
        lines(&c.notes, NOTES_W),
    ]
    .into_iter()
    .max()
    .unwrap_or(1);
    let min = if shape == Shape::Decision { 16.0 } else { 13.0 };
    (n as f64 * LINE_H + PAD).max(min).ceil()
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
table.sop { width: 277mm; }
table.sop th { background: #d9d9d9; font-weight: bold; text-align: center; vertical-align: middle; padding: 0.6mm; font-size: 7pt; }
table.sop tr.h1 th { height: 6mm; }
table.sop tr.h2 th { height: 11mm; font-size: 6.5pt; }
table.sop td { padding: 0; }
table.sop td .c { overflow: hidden; padding: 1.1mm 1mm; line-height: 3.2mm; white-space: pre-line; }
table.sop td.no .c { text-align: center; }
table.sop td.time .c { text-align: center; }
table.sop td.flow { vertical-align: top; padding: 0; border: 1px solid #000; }
table.sop td.flow svg { display: block; }
table.sop tr.total td { background: #f2f2f2; font-weight: bold; height: 7mm; vertical-align: middle; padding: 0 1mm; }
table.sop tr.total td.label { text-align: center; }
.ident { width: 277mm; margin-bottom: 3mm; }
.ident td, .ident th { padding: 1.6mm 2mm; font-size: 9pt; text-align: left; vertical-align: middle; }
.ident th { width: 42mm; font-weight: bold; background: #f2f2f2; }
.ident td.agency { width: 120mm; text-align: center; font-weight: bold; font-size: 12pt; line-height: 1.5; }
.ident td.agency .seal { width: 22mm; height: 22mm; border: 0.6mm double #000; border-radius: 50%; margin: 0 auto 3mm auto; display: flex; align-items: center; justify-content: center; font-size: 7pt; font-weight: normal; color: #555; }
.ident td.agency .kind { font-size: 11pt; letter-spacing: 0.3mm; }
.ident td.sign { height: 36mm; vertical-align: top; }
.ident td.sign .space { height: 13mm; }
.ident td.name { font-weight: bold; font-size: 10pt; }
.ident2 { width: 277mm; }
.ident2 th { background: #d9d9d9; font-size: 9pt; padding: 1.2mm 2mm; text-align: left; width: 50%; }
.ident2 td { font-size: 8.5pt; padding: 1.2mm 2mm 1.2mm 2mm; height: 15mm; }
.ident2 ol { margin: 0; padding-left: 5mm; }
.legend { margin-top: 3mm; font-size: 8pt; display: flex; gap: 6mm; align-items: center; }
.legend span { display: inline-flex; align-items: center; gap: 1.5mm; }
.empty { color: #666; }
.standards { margin-top: 2mm; font-size: 7.5pt; }
"#;

pub fn render(sop: &Sop, labels: &Labels) -> String {
    let plan = Plan::new(sop, labels);
    let n = sop.actors.len().max(1);
    let col_w = ((PAGE_W - text_columns()) / n as f64).max(9.0);
    let all_cells: Vec<Cells> = (0..sop.steps.len()).map(|i| cells(sop, i, labels)).collect();
    let heights: Vec<f64> = all_cells.iter().zip(&plan.shapes).map(|(c, s)| row_height(c, *s)).collect();

    // Pages of rows.
    let avail = PAGE_H - HEAD_H - THEAD_H - 2.0;
    let mut pages: Vec<Vec<usize>> = vec![Vec::new()];
    let mut used = 0.0;
    for (i, h) in heights.iter().enumerate() {
        let last = i + 1 == heights.len();
        let need = h + if last { TOTAL_H } else { BAND };
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
    let mut page_of = vec![0; sop.steps.len()];
    for (p, steps) in pages.iter().enumerate() {
        for &s in steps {
            page_of[s] = p;
        }
    }
    // Letters for the routes that cross a page break.
    let mut letters: Vec<Option<String>> = Vec::new();
    let mut next_letter = 0;
    for route in &plan.routes {
        let crosses = match route.to {
            Dest::Step(t) => page_of[t] != page_of[route.from],
            Dest::End(_) => false,
        };
        if crosses {
            letters.push(Some(connector_letter(next_letter)));
            next_letter += 1;
        } else {
            letters.push(None);
        }
    }

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
    let total_pages = pages.len() + 1;
    identity(&mut out, sop, labels, total_pages);
    for (p, steps) in pages.iter().enumerate() {
        let top_band = p > 0;
        let bottom_band = p + 1 < pages.len();
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
        let sheet = Sheet {
            plan: &plan,
            x0: 0.0,
            col_w,
            rows,
            grid_top: 0.0,
            top_band: top_band.then_some(0.0),
            bottom_band: bottom_band.then_some(bottom_top),
            height: y,
            page_of: page_of.clone(),
            page: p,
            id: format!("p{}", p + 1),
        };
        let _ = write!(
            out,
            "<section class=\"sheet flow-page\" data-page=\"{}\">\n<div class=\"page-head\"><span class=\"t\">{}</span><span>{} {} {} {}</span></div>\n",
            p + 2,
            esc(&sop.title),
            esc(labels.page),
            p + 2,
            esc(labels.of),
            total_pages
        );
        out.push_str("<table class=\"sop\">\n<colgroup>");
        let _ = write!(out, "<col style=\"width:{NO_W}mm\"/><col style=\"width:{ACTIVITY_W}mm\"/>");
        for _ in 0..n {
            let _ = write!(out, "<col style=\"width:{col_w:.3}mm\"/>");
        }
        let _ = writeln!(
            out,
            "<col style=\"width:{REQ_W}mm\"/><col style=\"width:{TIME_W}mm\"/><col style=\"width:{OUTPUT_W}mm\"/><col style=\"width:{NOTES_W}mm\"/></colgroup>"
        );
        let _ = write!(
            out,
            "<thead>\n<tr class=\"h1\"><th rowspan=\"2\">{}</th><th rowspan=\"2\">{}</th><th colspan=\"{n}\">{}</th><th colspan=\"3\">{}</th><th rowspan=\"2\">{}</th></tr>\n<tr class=\"h2\">",
            esc(labels.no),
            esc(labels.activity),
            esc(labels.performers),
            esc(labels.quality),
            esc(labels.notes)
        );
        for actor in &sop.actors {
            let _ =
                write!(out, "<th class=\"actor\" data-actor=\"{}\">{}</th>", esc(&actor.id.name), esc(&actor.label));
        }
        let _ = write!(
            out,
            "<th>{}</th><th>{}</th><th>{}</th></tr>\n</thead>\n<tbody>\n",
            esc(labels.requirements),
            esc(labels.time),
            esc(labels.output)
        );
        let span_rows = steps.len() + usize::from(top_band) + usize::from(bottom_band);
        let mut svg = String::new();
        let _ = write!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sop-flowchart\" data-page=\"{}\" width=\"{w:.3}mm\" height=\"{h}mm\" viewBox=\"0 0 {w:.3} {h}\" font-family=\"Arial, Helvetica, sans-serif\">",
            p + 2,
            w = col_w * n as f64,
            h = sheet.height
        );
        sheet.draw(&mut svg, &letters);
        svg.push_str("</svg>");
        let flow_cell = format!("<td class=\"flow\" colspan=\"{n}\" rowspan=\"{span_rows}\">{svg}</td>");
        let mut flow_pending = true;
        let cell = |h: f64, class: &str, text: &str| -> String {
            format!("<td class=\"{class}\"><div class=\"c\" style=\"height:{:.3}mm\">{}</div></td>", h - PX, esc(text))
        };
        if top_band {
            let _ = writeln!(
                out,
                "<tr class=\"band\">{}{}{flow_cell}<td colspan=\"4\"><div class=\"c\" style=\"height:{:.3}mm\"></div></td></tr>",
                cell(BAND, "no", ""),
                cell(BAND, "activity", ""),
                BAND - PX
            );
            flow_pending = false;
        }
        for &s in steps {
            let c = &all_cells[s];
            let h = heights[s];
            let _ = write!(
                out,
                "<tr class=\"step\" data-step=\"{}\">{}{}",
                esc(&sop.steps[s].id.name),
                cell(h, "no", &c.number),
                cell(h, "activity", &c.activity)
            );
            if flow_pending {
                out.push_str(&flow_cell);
                flow_pending = false;
            }
            let _ = writeln!(
                out,
                "{}{}{}{}</tr>",
                cell(h, "requirements", &c.requirements),
                cell(h, "time", &c.time),
                cell(h, "output", &c.output),
                cell(h, "notes", &c.notes)
            );
        }
        if bottom_band {
            let _ = writeln!(
                out,
                "<tr class=\"band\">{}{}<td colspan=\"4\"><div class=\"c\" style=\"height:{:.3}mm\"></div></td></tr>",
                cell(BAND, "no", ""),
                cell(BAND, "activity", ""),
                BAND - PX
            );
        } else {
            let _ = writeln!(
                out,
                "<tr class=\"total\"><td class=\"label\" colspan=\"{}\">{}</td><td class=\"total-time\" colspan=\"2\">{}</td><td></td></tr>",
                n + 3,
                esc(labels.total),
                esc(&total_text(sop, labels.lang))
            );
        }
        out.push_str("</tbody>\n</table>\n");
        if !bottom_band && !sop.header.service_standards.is_empty() {
            let _ = write!(out, "<div class=\"standards\"><b>{}:</b> ", esc(labels.service_standard));
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
            out.push_str(&esc(&items.join("; ")));
            out.push_str("</div>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
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
    let mut rows = rows;
    if let Some(version) = &h.version {
        rows.push((labels.version, version.clone()));
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
