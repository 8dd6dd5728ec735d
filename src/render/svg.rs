//! The flowchart alone as one SVG: the actor columns of the official table with every step's
//! symbol in its row, the step numbers on the left and the actors' names on top.

use std::fmt::Write;

use super::flowchart::{Plan, Row, Shape, Sheet};
use super::metrics::{self, ASCENT, DESCENT};
use super::text::{esc, Labels};
use crate::model::Sop;

const NUMBER_W: f64 = 10.0;
const HEADER_H: f64 = 14.0;
const TITLE_H: f64 = 9.0;
const COL_W: f64 = 26.0;

/// The actor headings: bold, 2.6 mm, on lines 3.2 mm apart, in the column less 0.8 mm each side.
const HEADING_SIZE: f64 = 2.6;
const HEADING_LINE: f64 = 3.2;
const HEADING_PAD: f64 = 0.8;
/// The title: bold, 4 mm, on lines 5 mm apart.
const TITLE_SIZE: f64 = 4.0;
const TITLE_LINE: f64 = 5.0;
/// Rows are made higher by this much each time a label found no room in them.
const GROW_STEP: f64 = 2.5;
const GROW_ROUNDS: usize = 24;

/// Lines of text, one `<tspan>` each, the first baseline at `y`.
fn lines_text(out: &mut String, class: &str, x: f64, y: f64, attrs: &str, lines: &[String], line_h: f64) {
    let _ = write!(out, "<text class=\"{class}\" x=\"{x:.2}\" y=\"{y:.2}\" {attrs}>");
    for (i, line) in lines.iter().enumerate() {
        let _ = write!(out, "<tspan x=\"{x:.2}\" y=\"{:.2}\">{}</tspan>", y + i as f64 * line_h, esc(line));
    }
    out.push_str("</text>");
}

pub fn render(sop: &Sop, labels: &Labels) -> String {
    let plan = Plan::new(sop, labels);
    let n = sop.actors.len().max(1);
    let width = NUMBER_W + COL_W * n as f64;
    let title = metrics::wrap(&sop.title, width - 2.0, TITLE_SIZE, true);
    let title_h = (title.len() as f64 * TITLE_LINE + 4.0).max(TITLE_H);
    let headings: Vec<Vec<String>> =
        sop.actors.iter().map(|a| metrics::wrap(&a.label, COL_W - 2.0 * HEADING_PAD, HEADING_SIZE, true)).collect();
    let most = headings.iter().map(Vec::len).max().unwrap_or(1) as f64;
    let header_h = (most * HEADING_LINE + 3.0).max(HEADER_H);
    let grid_top = title_h + header_h;
    let mut heights: Vec<f64> = plan.shapes.iter().map(|s| if *s == Shape::Decision { 18.0 } else { 15.0 }).collect();
    let mut round = 0;
    let (sheet, drawing) = loop {
        let mut rows = Vec::new();
        let mut y = grid_top;
        for (i, h) in heights.iter().enumerate() {
            rows.push(Row { step: i, top: y, height: *h });
            y += h;
        }
        let sheet = Sheet {
            plan: &plan,
            x0: NUMBER_W,
            col_w: COL_W,
            rows,
            grid_top,
            top_band: None,
            bottom_band: None,
            height: y,
            page_of: vec![0; sop.steps.len()],
            page: 0,
            id: "flow".into(),
        };
        let mut drawing = String::new();
        let crowded = sheet.draw(&mut drawing, &[]);
        round += 1;
        if crowded.is_empty() || round >= GROW_ROUNDS {
            break (sheet, drawing);
        }
        for s in crowded {
            heights[s] += GROW_STEP;
        }
    };
    let height = sheet.height;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sop-flowchart\" data-sop=\"{}\" width=\"{w}mm\" height=\"{h}mm\" viewBox=\"-0.5 -0.5 {w} {h}\" font-family=\"Arial, Helvetica, sans-serif\">",
        esc(&sop.id.name),
        w = width + 1.0,
        h = height + 1.0
    );
    let _ = write!(out, "<title>{}</title>", esc(&sop.title));
    let _ = write!(out, "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>");
    lines_text(&mut out, "title", 1.0, 6.0, "font-size=\"4\" font-weight=\"bold\"", &title, TITLE_LINE);
    // Header: No and the actors.
    let _ = write!(
        out,
        "<rect x=\"0\" y=\"{title_h}\" width=\"{NUMBER_W}\" height=\"{header_h}\" fill=\"#e8e8e8\" stroke=\"#000\" stroke-width=\"0.2\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"2.8\" font-weight=\"bold\">{}</text>",
        NUMBER_W / 2.0,
        title_h + header_h / 2.0 + 1.0,
        esc(labels.no)
    );
    for (c, (actor, lines)) in sop.actors.iter().zip(&headings).enumerate() {
        let x = NUMBER_W + c as f64 * COL_W;
        let _ = write!(
            out,
            "<rect class=\"actor-header\" data-actor=\"{}\" x=\"{x}\" y=\"{title_h}\" width=\"{COL_W}\" height=\"{header_h}\" fill=\"#e8e8e8\" stroke=\"#000\" stroke-width=\"0.2\"/>",
            esc(&actor.id.name)
        );
        // Centred: the block of lines in the middle of the header.
        let block = (lines.len() as f64 - 1.0) * HEADING_LINE + (ASCENT + DESCENT) * HEADING_SIZE;
        let first = title_h + (header_h - block) / 2.0 + ASCENT * HEADING_SIZE;
        lines_text(
            &mut out,
            "actor-heading",
            x + COL_W / 2.0,
            first,
            "text-anchor=\"middle\" font-size=\"2.6\" font-weight=\"bold\"",
            lines,
            HEADING_LINE,
        );
    }
    for row in &sheet.rows {
        let _ = write!(
            out,
            "<rect x=\"0\" y=\"{}\" width=\"{NUMBER_W}\" height=\"{}\" fill=\"none\" stroke=\"#000\" stroke-width=\"0.2\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"2.8\">{}</text>",
            row.top,
            row.height,
            NUMBER_W / 2.0,
            row.top + row.height / 2.0 + 1.0,
            esc(&sop.steps[row.step].number)
        );
    }
    out.push_str(&drawing);
    out.push_str("</svg>\n");
    out
}
