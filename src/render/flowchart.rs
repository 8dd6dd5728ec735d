//! The flowchart of the official table, drawn on its grid: one row per step, one column per
//! actor, with the five symbols of Permenpan-RB 35/2012 (capsule, rectangle, diamond, arrow,
//! pentagon off-page connector). Used for the standalone SVG and for each page of the HTML
//! document; no general graph layout is needed because the table fixes every position.

use std::fmt::Write;

use super::routes::{Dest, StepRoute};
use super::text::{esc, Labels};
use crate::model::Sop;

/// The symbol a step is drawn with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Capsule (terminator): the first and last activities.
    Terminator,
    Process,
    Decision,
}

impl Shape {
    pub fn class(self) -> &'static str {
        match self {
            Shape::Terminator => "terminator",
            Shape::Process => "process",
            Shape::Decision => "decision",
        }
    }
}

/// What the whole procedure looks like on the grid, page independent.
pub struct Plan<'a> {
    pub sop: &'a Sop,
    pub routes: Vec<StepRoute>,
    pub shapes: Vec<Shape>,
    /// The actor columns of each step; the first holds its symbol.
    pub columns: Vec<Vec<usize>>,
    pub labels: &'a Labels,
}

impl<'a> Plan<'a> {
    pub fn new(sop: &'a Sop, labels: &'a Labels) -> Plan<'a> {
        let routes = super::routes::step_routes(sop, labels);
        let entries = super::routes::entry_steps(sop);
        let shapes = sop
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                if step.decision.is_some() {
                    return Shape::Decision;
                }
                let out: Vec<&StepRoute> = routes.iter().filter(|r| r.from == i && !r.deadline).collect();
                let ends_here = !out.is_empty() && out.iter().all(|r| matches!(r.to, Dest::End(_)));
                if entries.contains(&i) || ends_here {
                    Shape::Terminator
                } else {
                    Shape::Process
                }
            })
            .collect();
        let columns = sop
            .steps
            .iter()
            .map(|step| {
                let cols: Vec<usize> =
                    step.actor_ids().filter_map(|a| sop.actors.iter().position(|x| x.id.name == a)).collect();
                if cols.is_empty() {
                    vec![0]
                } else {
                    cols
                }
            })
            .collect();
        Plan { sop, routes, shapes, columns, labels }
    }

    /// The symbol size in a column of the given width.
    pub fn shape_size(&self, shape: Shape, col_w: f64) -> (f64, f64) {
        match shape {
            Shape::Decision => ((col_w - 5.0).clamp(6.0, 14.0), 8.0),
            Shape::Terminator | Shape::Process => ((col_w - 6.0).clamp(5.0, 17.0), 6.5),
        }
    }
}

/// One row on a sheet.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    pub step: usize,
    pub top: f64,
    pub height: f64,
}

/// Height of the bands that hold off-page connectors.
pub const BAND: f64 = 8.0;

/// One sheet of the flowchart: a page of the document or the whole standalone SVG.
pub struct Sheet<'p, 'a> {
    pub plan: &'p Plan<'a>,
    pub x0: f64,
    pub col_w: f64,
    pub rows: Vec<Row>,
    /// Where the actor columns start (below a title or header drawn around the sheet).
    pub grid_top: f64,
    /// Top of the band above the rows, when this page continues from another one.
    pub top_band: Option<f64>,
    /// Top of the band below the rows, when the table continues on another page.
    pub bottom_band: Option<f64>,
    pub height: f64,
    /// The page each step is on, and this sheet's page.
    pub page_of: Vec<usize>,
    pub page: usize,
    /// Distinguishes marker ids when several sheets share one HTML page.
    pub id: String,
}

type Pt = (f64, f64);

struct Placed {
    cx: f64,
    cy: f64,
    w: f64,
    h: f64,
}

impl Placed {
    fn top(&self) -> f64 {
        self.cy - self.h / 2.0
    }
    fn bottom(&self) -> f64 {
        self.cy + self.h / 2.0
    }
    fn left(&self) -> f64 {
        self.cx - self.w / 2.0
    }
    fn right(&self) -> f64 {
        self.cx + self.w / 2.0
    }
}

fn num(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

fn points(pts: &[Pt]) -> String {
    pts.iter().map(|(x, y)| format!("{},{}", num(*x), num(*y))).collect::<Vec<_>>().join(" ")
}

/// Drops repeated points and the middle of straight runs.
fn simplify(pts: Vec<Pt>) -> Vec<Pt> {
    let mut out: Vec<Pt> = Vec::new();
    for p in pts {
        if out.last().is_some_and(|q| (q.0 - p.0).abs() < 0.01 && (q.1 - p.1).abs() < 0.01) {
            continue;
        }
        if out.len() >= 2 {
            let (a, b) = (out[out.len() - 2], out[out.len() - 1]);
            let straight = ((a.0 - b.0).abs() < 0.01 && (b.0 - p.0).abs() < 0.01)
                || ((a.1 - b.1).abs() < 0.01 && (b.1 - p.1).abs() < 0.01);
            if straight {
                out.pop();
            }
        }
        out.push(p);
    }
    out
}

/// A letter for the n-th off-page connector: A, B, ..., Z, AA, AB...
pub fn connector_letter(n: usize) -> String {
    let mut n = n;
    let mut s = String::new();
    loop {
        s.insert(0, char::from(b'A' + (n % 26) as u8));
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    s
}

impl Sheet<'_, '_> {
    fn col_left(&self, c: usize) -> f64 {
        self.x0 + c as f64 * self.col_w
    }

    /// Where the n-th connector in one band of a column goes: centred, then alternately left and
    /// right, kept inside the actor columns.
    fn slot_x(&self, x: f64, slot: usize) -> f64 {
        let step = 5.5 * slot.div_ceil(2) as f64;
        let x = if slot % 2 == 1 { x - step } else { x + step };
        x.clamp(self.x0 + 2.8, self.x0 + self.col_w * self.n_cols() as f64 - 2.8)
    }

    fn col_center(&self, c: usize) -> f64 {
        self.col_left(c) + self.col_w / 2.0
    }

    fn n_cols(&self) -> usize {
        self.plan.sop.actors.len().max(1)
    }

    fn row_of(&self, step: usize) -> Option<usize> {
        self.rows.iter().position(|r| r.step == step)
    }

    fn placed(&self, i: usize) -> Placed {
        let row = self.rows[i];
        let shape = self.plan.shapes[row.step];
        let (w, h) = self.plan.shape_size(shape, self.col_w);
        let col = self.plan.columns[row.step][0];
        Placed { cx: self.col_center(col), cy: row.top + row.height / 2.0, w, h }
    }

    /// The y of the free band just above the symbol of row `i` (`rows.len()` = the bottom band).
    fn band(&self, i: usize) -> f64 {
        if i >= self.rows.len() {
            return self.bottom_band.unwrap_or(self.height - BAND) + 1.0;
        }
        let row = self.rows[i];
        let p = self.placed(i);
        row.top + (p.top() - row.top) / 2.0
    }

    /// The y where an arrow into row `i` ends (its symbol's top; the pentagon in the bottom band).
    fn entry_top(&self, i: usize) -> f64 {
        if i >= self.rows.len() {
            return self.bottom_band.unwrap_or(self.height - BAND) + 2.0;
        }
        self.placed(i).top()
    }

    /// An arrow going down the table from (x, y) below row `from` (None: the top band) into row `to`.
    #[expect(clippy::too_many_arguments, reason = "a point, two rows, a point and a channel: each one a plain number")]
    fn down(&self, x: f64, y: f64, from: Option<usize>, to: usize, tx: f64, tcol: usize, k: usize) -> Vec<Pt> {
        let first = from.map_or(0, |f| f + 1);
        let ty = self.entry_top(to);
        let blocked = (first..to.min(self.rows.len())).any(|i| {
            let c = self.plan.columns[self.rows[i].step][0];
            (self.col_left(c)..self.col_left(c) + self.col_w).contains(&x)
        });
        if first == to || ((x - tx).abs() < 0.01 && !blocked) {
            let b = self.band(to);
            return simplify(vec![(x, y), (x, b), (tx, b), (tx, ty)]);
        }
        let b1 = self.band(first);
        let chan = self.col_left(tcol) + 0.9 + (k % 3) as f64 * 0.6;
        let bt = self.band(to);
        simplify(vec![(x, y), (x, b1), (chan, b1), (chan, bt), (tx, bt), (tx, ty)])
    }

    fn arrow(&self, out: &mut String, pts: &[Pt], dashed: bool) {
        let dash = if dashed { " stroke-dasharray=\"1.2 0.8\"" } else { "" };
        let _ = write!(
            out,
            "<polyline class=\"arrow\" points=\"{}\" fill=\"none\" stroke=\"#000\" stroke-width=\"0.3\"{dash} marker-end=\"url(#ah-{})\"/>",
            points(pts),
            self.id
        );
    }

    /// A route's label, cut to about two columns (the whole text stays in its tooltip).
    fn label(&self, out: &mut String, x: f64, y: f64, anchor: &str, text: &str) {
        let max = ((self.col_w * 1.8 / 1.15) as usize).max(8);
        let shown = if text.chars().count() > max {
            let cut: String = text.chars().take(max - 1).collect();
            format!("{}\u{2026}", cut.trim_end())
        } else {
            text.to_string()
        };
        let _ = write!(
            out,
            "<text class=\"route-label\" x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"2.3\" font-style=\"italic\"><title>{}</title>{}</text>",
            num(x),
            num(y),
            esc(text),
            esc(&shown)
        );
    }

    fn pentagon(&self, out: &mut String, x: f64, y: f64, letter: &str, direction: &str) {
        let pts = [(x - 2.5, y), (x + 2.5, y), (x + 2.5, y + 3.2), (x, y + 5.0), (x - 2.5, y + 3.2)];
        let _ = write!(
            out,
            "<g class=\"connector\" data-letter=\"{}\" data-direction=\"{direction}\"><polygon points=\"{}\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"0.3\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"2.4\" font-weight=\"bold\">{}</text></g>",
            esc(letter),
            points(&pts),
            num(x),
            num(y + 2.6),
            esc(letter)
        );
    }

    /// Draws the grid lines, the symbols and the arrows. `letters` names the off-page connector
    /// of each route that crosses pages.
    pub fn draw(&self, out: &mut String, letters: &[Option<String>]) {
        let sop = self.plan.sop;
        let n = self.n_cols();
        let _ = write!(
            out,
            "<defs><marker id=\"ah-{}\" viewBox=\"0 0 6 6\" refX=\"6\" refY=\"3\" markerWidth=\"2\" markerHeight=\"2\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L6,3 L0,6 z\" fill=\"#000\"/></marker></defs>",
            self.id
        );
        for c in 0..n {
            let actor = sop.actors.get(c).map(|a| a.id.name.as_str()).unwrap_or("");
            let _ = write!(
                out,
                "<rect class=\"lane\" data-actor=\"{}\" data-col=\"{c}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#000\" stroke-width=\"0.2\"/>",
                esc(actor),
                num(self.col_left(c)),
                num(self.grid_top),
                num(self.col_w),
                num(self.height - self.grid_top)
            );
        }
        for row in &self.rows {
            let step = &sop.steps[row.step];
            let _ = write!(
                out,
                "<rect class=\"row\" data-step=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#000\" stroke-width=\"0.2\"/>",
                esc(&step.id.name),
                num(self.x0),
                num(row.top),
                num(self.col_w * n as f64),
                num(row.height)
            );
        }
        // Joint or alternative performers: a small mark in each further column, tied to the symbol.
        for (i, row) in self.rows.iter().enumerate() {
            let cols = &self.plan.columns[row.step];
            if cols.len() < 2 {
                continue;
            }
            let p = self.placed(i);
            let either = sop.steps[row.step]
                .performers
                .as_ref()
                .is_some_and(|perf| perf.mode == crate::model::PerformerMode::Either);
            let dash = if either { " stroke-dasharray=\"1 0.6\"" } else { "" };
            for &c in &cols[1..] {
                let x = self.col_center(c);
                let w = (p.w * 0.7).min(self.col_w - 3.0);
                let _ = write!(
                    out,
                    "<line class=\"tie\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#000\" stroke-width=\"0.25\"{dash}/><rect class=\"also\" data-step=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"0.3\"{dash}/>",
                    num(p.cx),
                    num(p.cy),
                    num(x),
                    num(p.cy),
                    esc(&sop.steps[row.step].id.name),
                    num(x - w / 2.0),
                    num(p.cy - p.h * 0.35),
                    num(w),
                    num(p.h * 0.7)
                );
            }
        }
        self.draw_routes(out, letters);
        for (i, row) in self.rows.iter().enumerate() {
            let step = &sop.steps[row.step];
            let shape = self.plan.shapes[row.step];
            let p = self.placed(i);
            let col = self.plan.columns[row.step][0];
            let _ = write!(
                out,
                "<g class=\"symbol {}\" data-step=\"{}\" data-number=\"{}\" data-col=\"{col}\" data-actor=\"{}\"><title>{}. {}</title>",
                shape.class(),
                esc(&step.id.name),
                esc(&step.number),
                esc(sop.actors.get(col).map(|a| a.id.name.as_str()).unwrap_or("")),
                esc(&step.number),
                esc(&step.activity)
            );
            match shape {
                Shape::Terminator => {
                    let _ = write!(
                        out,
                        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" ry=\"{}\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"0.35\"/>",
                        num(p.left()),
                        num(p.top()),
                        num(p.w),
                        num(p.h),
                        num(p.h / 2.0),
                        num(p.h / 2.0)
                    );
                }
                Shape::Process => {
                    let _ = write!(
                        out,
                        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"0.35\"/>",
                        num(p.left()),
                        num(p.top()),
                        num(p.w),
                        num(p.h)
                    );
                }
                Shape::Decision => {
                    let pts = [(p.cx, p.top()), (p.right(), p.cy), (p.cx, p.bottom()), (p.left(), p.cy)];
                    let _ = write!(
                        out,
                        "<polygon points=\"{}\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"0.35\"/>",
                        points(&pts)
                    );
                }
            }
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"2.4\">{}</text></g>",
                num(p.cx),
                num(p.cy + 0.85),
                esc(&step.number)
            );
        }
    }

    fn draw_routes(&self, out: &mut String, letters: &[Option<String>]) {
        let sop = self.plan.sop;
        let mut channel_uses = vec![0usize; self.n_cols()];
        let mut bottom_slots = vec![0usize; self.n_cols()];
        let mut top_slots = vec![0usize; self.n_cols()];
        let mut right_exits = vec![0usize; sop.steps.len()];
        for (ri, route) in self.plan.routes.iter().enumerate() {
            let from_row = self.row_of(route.from);
            let (to_step, end) = match route.to {
                Dest::Step(s) => (Some(s), None),
                Dest::End(e) => (None, Some(e)),
            };
            let to_row = to_step.and_then(|s| self.row_of(s));
            let fcol = self.plan.columns[route.from][0];
            let tcol = to_step.map(|s| self.plan.columns[s][0]);
            let letter = letters.get(ri).cloned().flatten().unwrap_or_default();
            let from_name = &sop.steps[route.from].id.name;
            let to_name = match route.to {
                Dest::Step(s) => sop.steps[s].id.name.clone(),
                Dest::End(e) => sop.ends.get(e).map(|x| x.id.name.clone()).unwrap_or_default(),
            };
            let _ = write!(
                out,
                "<g class=\"route{}{}\" data-from=\"{}\" data-to=\"{}\" data-label=\"{}\">",
                if route.rework { " rework" } else { "" },
                if route.deadline { " deadline" } else { "" },
                esc(from_name),
                esc(&to_name),
                esc(route.label.as_deref().unwrap_or(""))
            );
            let dashed = route.deadline;
            match (from_row, to_row) {
                (Some(fi), Some(ti)) => {
                    let s = self.placed(fi);
                    let t = self.placed(ti);
                    let tcol = tcol.unwrap_or(0);
                    if ti > fi {
                        let forward = |r: &StepRoute| match r.to {
                            Dest::Step(t) => self.plan.sop.steps.get(t).is_some() && t > r.from,
                            Dest::End(_) => false,
                        };
                        // The first route down leaves from the bottom, any further one from the side.
                        let secondary =
                            self.plan.routes[..ri].iter().any(|r| r.from == route.from && !r.deadline && forward(r));
                        if secondary || route.deadline {
                            let k = right_exits[route.from];
                            right_exits[route.from] += 1;
                            let chan = self.col_left(fcol) + self.col_w - 0.9 - (k % 3) as f64 * 0.6;
                            let y = s.cy;
                            let bt = self.band(ti);
                            let pts =
                                simplify(vec![(s.right(), y), (chan, y), (chan, bt), (t.cx, bt), (t.cx, t.top())]);
                            self.arrow(out, &pts, dashed);
                            if let Some(l) = &route.label {
                                self.label(out, s.right() + 0.4, s.cy - 0.8 + k as f64 * 3.2, "start", l);
                            }
                        } else {
                            let k = channel_uses[tcol];
                            channel_uses[tcol] += 1;
                            let pts = self.down(s.cx, s.bottom(), Some(fi), ti, t.cx, tcol, k);
                            self.arrow(out, &pts, dashed);
                            if let Some(l) = &route.label {
                                self.label(out, s.cx + 0.8, s.bottom() + 2.4, "start", l);
                            }
                        }
                    } else {
                        let col = fcol.min(tcol);
                        let k = channel_uses[col];
                        channel_uses[col] += 1;
                        let chan = self.col_left(col) + 0.8 + (k % 3) as f64 * 0.5;
                        let pts = simplify(vec![(s.left(), s.cy), (chan, s.cy), (chan, t.cy), (t.left(), t.cy)]);
                        self.arrow(out, &pts, dashed);
                        if let Some(l) = &route.label {
                            self.label(out, s.left() - 0.4, s.cy - 0.8, "end", l);
                        }
                    }
                }
                (Some(fi), None) if end.is_some() && self.plan.shapes[route.from] != Shape::Terminator => {
                    // A short arrow out of the symbol, named after the end it reaches: the
                    // first to the right, the next down, the next to the left.
                    let s = self.placed(fi);
                    let j = self.plan.routes[..ri]
                        .iter()
                        .filter(|r| r.from == route.from && matches!(r.to, Dest::End(_)))
                        .count();
                    let end_name = end.and_then(|e| sop.ends.get(e)).map(|e| e.id.name.as_str()).unwrap_or("");
                    let end_text = super::text::outcome_text(end_name);
                    let text = match &route.label {
                        Some(l) if *l == end_text => l.clone(),
                        Some(l) => format!("{l} \u{2192} {end_text}"),
                        None => format!("\u{2192} {end_text}"),
                    };
                    match j % 3 {
                        0 => {
                            let x2 = (s.right() + 3.5).min(self.col_left(fcol) + self.col_w - 0.3).max(s.right() + 1.5);
                            self.arrow(out, &[(s.right(), s.cy), (x2, s.cy)], dashed);
                            self.label(out, s.right() + 0.3, s.cy - 0.8, "start", &text);
                        }
                        1 => {
                            self.arrow(out, &[(s.cx, s.bottom()), (s.cx, s.bottom() + 2.6)], dashed);
                            self.label(out, s.cx + 0.8, s.bottom() + 2.4, "start", &text);
                        }
                        _ => {
                            let x2 = (s.left() - 3.5).max(self.col_left(fcol) + 0.3).min(s.left() - 1.5);
                            self.arrow(out, &[(s.left(), s.cy), (x2, s.cy)], dashed);
                            self.label(out, s.left() - 0.3, s.cy - 0.8, "end", &text);
                        }
                    }
                }
                // The capsule that ends the procedure is its own end.
                (Some(_), None) if end.is_some() => {}
                (Some(fi), None) => {
                    // Leaves this page: to an off-page connector.
                    let s = self.placed(fi);
                    let later = to_step.is_some_and(|t| self.page_of[t] > self.page);
                    let side_exit = route.deadline
                        || (route.from_decision
                            && self.plan.routes[..ri].iter().any(|r| r.from == route.from && !r.deadline));
                    if later {
                        let slot = bottom_slots[fcol];
                        bottom_slots[fcol] += 1;
                        let px = self.slot_x(s.cx, slot);
                        let y = self.bottom_band.unwrap_or(self.height - BAND) + 2.0;
                        let pts = if side_exit {
                            let chan = self.col_left(fcol) + self.col_w - 0.9;
                            simplify(vec![(s.right(), s.cy), (chan, s.cy), (chan, y - 1.0), (px, y - 1.0), (px, y)])
                        } else {
                            let k = channel_uses[fcol];
                            channel_uses[fcol] += 1;
                            self.down(s.cx, s.bottom(), Some(fi), self.rows.len(), px, fcol, k)
                        };
                        self.arrow(out, &pts, dashed);
                        self.pentagon(out, px, y, &letter, "out");
                        if side_exit {
                            if let Some(l) = &route.label {
                                self.label(out, s.right() + 0.4, s.cy - 0.8, "start", l);
                            }
                            out.push_str("</g>");
                            continue;
                        }
                    } else {
                        let slot = top_slots[fcol];
                        top_slots[fcol] += 1;
                        let px = self.slot_x(s.cx + 4.0, slot);
                        let y = self.top_band.unwrap_or(0.0) + 1.0;
                        let chan = self.col_left(fcol) + 0.8;
                        let pts = simplify(vec![
                            (s.left(), s.cy),
                            (chan, s.cy),
                            (chan, y + 6.5),
                            (px, y + 6.5),
                            (px, y + 5.0),
                        ]);
                        self.arrow(out, &pts, dashed);
                        self.pentagon(out, px, y, &letter, "out");
                    }
                    if let Some(l) = &route.label {
                        self.label(out, s.cx + 0.8, s.bottom() + 2.4, "start", l);
                    }
                }
                (None, Some(ti)) => {
                    // Arrives from another page: from an off-page connector.
                    let t = self.placed(ti);
                    let tcol = tcol.unwrap_or(0);
                    let earlier = self.page_of[route.from] < self.page;
                    if earlier {
                        let slot = top_slots[tcol];
                        top_slots[tcol] += 1;
                        let px = self.slot_x(t.cx, slot);
                        let y = self.top_band.unwrap_or(0.0) + 1.0;
                        self.pentagon(out, px, y, &letter, "in");
                        let k = channel_uses[tcol];
                        channel_uses[tcol] += 1;
                        let pts = self.down(px, y + 5.0, None, ti, t.cx, tcol, k);
                        self.arrow(out, &pts, dashed);
                    } else {
                        let slot = bottom_slots[tcol];
                        bottom_slots[tcol] += 1;
                        let px = self.slot_x(t.cx - 4.0, slot);
                        let y = self.bottom_band.unwrap_or(self.height - BAND) + 2.0;
                        self.pentagon(out, px, y, &letter, "in");
                        let chan = self.col_left(tcol) + 0.8;
                        let pts =
                            simplify(vec![(px, y), (px, y - 1.0), (chan, y - 1.0), (chan, t.cy), (t.left(), t.cy)]);
                        self.arrow(out, &pts, dashed);
                    }
                    if let Some(l) = &route.label {
                        self.label(out, t.cx + 0.8, t.top() - 0.6, "start", l);
                    }
                }
                _ => {}
            }
            out.push_str("</g>");
        }
    }
}
