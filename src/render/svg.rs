//! The flowchart alone as one SVG: the actor columns of the official table with every step's
//! symbol in its row, the step numbers on the left and the actors' names on top.

use std::fmt::Write;

use super::flowchart::{Plan, Row, Shape, Sheet};
use super::text::{esc, Labels};
use crate::model::Sop;

const NUMBER_W: f64 = 10.0;
const HEADER_H: f64 = 14.0;
const TITLE_H: f64 = 9.0;
const COL_W: f64 = 26.0;

/// Splits text into lines of at most `width` characters, at spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

pub fn render(sop: &Sop, labels: &Labels) -> String {
    let plan = Plan::new(sop, labels);
    let n = sop.actors.len().max(1);
    let mut rows = Vec::new();
    let mut y = TITLE_H + HEADER_H;
    for (i, _) in sop.steps.iter().enumerate() {
        let height = if plan.shapes[i] == Shape::Decision { 18.0 } else { 15.0 };
        rows.push(Row { step: i, top: y, height });
        y += height;
    }
    let height = y;
    let width = NUMBER_W + COL_W * n as f64;
    let sheet = Sheet {
        plan: &plan,
        x0: NUMBER_W,
        col_w: COL_W,
        rows,
        grid_top: TITLE_H + HEADER_H,
        top_band: None,
        bottom_band: None,
        height,
        page_of: vec![0; sop.steps.len()],
        page: 0,
        id: "flow".into(),
    };
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
    let _ = write!(
        out,
        "<text class=\"title\" x=\"1\" y=\"6\" font-size=\"4\" font-weight=\"bold\">{}</text>",
        esc(&sop.title)
    );
    // Header: No and the actors.
    let _ = write!(
        out,
        "<rect x=\"0\" y=\"{TITLE_H}\" width=\"{NUMBER_W}\" height=\"{HEADER_H}\" fill=\"#e8e8e8\" stroke=\"#000\" stroke-width=\"0.2\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"2.8\" font-weight=\"bold\">{}</text>",
        NUMBER_W / 2.0,
        TITLE_H + HEADER_H / 2.0 + 1.0,
        esc(labels.no)
    );
    for (c, actor) in sop.actors.iter().enumerate() {
        let x = NUMBER_W + c as f64 * COL_W;
        let _ = write!(
            out,
            "<rect class=\"actor-header\" data-actor=\"{}\" x=\"{x}\" y=\"{TITLE_H}\" width=\"{COL_W}\" height=\"{HEADER_H}\" fill=\"#e8e8e8\" stroke=\"#000\" stroke-width=\"0.2\"/>",
            esc(&actor.id.name)
        );
        let lines = wrap(&actor.label, 16);
        let top = TITLE_H + HEADER_H / 2.0 - (lines.len() as f64 - 1.0) * 1.6 + 1.0;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{top}\" text-anchor=\"middle\" font-size=\"2.6\" font-weight=\"bold\">",
            x + COL_W / 2.0
        );
        for (i, line) in lines.iter().enumerate() {
            let _ = write!(
                out,
                "<tspan x=\"{}\" dy=\"{}\">{}</tspan>",
                x + COL_W / 2.0,
                if i == 0 { 0.0 } else { 3.2 },
                esc(line)
            );
        }
        out.push_str("</text>");
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
    sheet.draw(&mut out, &[]);
    out.push_str("</svg>\n");
    out
}
