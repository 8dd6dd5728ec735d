//! The flowchart of the official table, drawn on its grid: one row per step, one column per
//! actor, with the five symbols of Permenpan-RB 35/2012 (capsule, rectangle, diamond, arrow,
//! pentagon off-page connector). Used for the standalone SVG and for each page of the HTML
//! document; no general graph layout is needed because the table fixes every position.

use std::fmt::Write;

use super::metrics::{self, ASCENT, DESCENT};
use super::routes::{Dest, StepRoute};
use super::text::{esc, Labels};
use crate::model::{PerformerMode, Sop};

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
    /// The actor columns of each step; the first holds its symbol. For a hand-off chain, each
    /// desk's column in order, each with a symbol of its own.
    pub columns: Vec<Vec<usize>>,
    /// The symbol of each desk of a step: one for a step, one per desk for a hand-off chain
    /// (the first desk is where the row is entered, the last where it is left: the decision's
    /// diamond and the routes out are there).
    pub desk_shapes: Vec<Vec<Shape>>,
    pub labels: &'a Labels,
}

impl<'a> Plan<'a> {
    pub fn new(sop: &'a Sop, labels: &'a Labels) -> Plan<'a> {
        let routes = super::routes::step_routes(sop, labels);
        let entries = super::routes::entry_steps(sop);
        let shapes: Vec<Shape> = sop
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
        let desk_shapes = sop
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let desks = match &step.performers {
                    Some(p) if p.mode == PerformerMode::Chain => p.actors.len().max(1),
                    _ => 1,
                };
                if desks == 1 {
                    return vec![shapes[i]];
                }
                // A chain is entered at its first desk and left at its last: the capsule of
                // an entry is the first desk, the decision's diamond or the closing capsule
                // the last; the desks between are processes.
                let ends_here = shapes[i] == Shape::Terminator && !entries.contains(&i);
                (0..desks)
                    .map(|k| match shapes[i] {
                        Shape::Decision if k + 1 == desks => Shape::Decision,
                        Shape::Terminator if k == 0 && entries.contains(&i) => Shape::Terminator,
                        Shape::Terminator if k + 1 == desks && ends_here => Shape::Terminator,
                        _ => Shape::Process,
                    })
                    .collect()
            })
            .collect();
        Plan { sop, routes, shapes, columns, desk_shapes, labels }
    }

    /// The symbol's place of the last desk (where a row is left), as an index into `columns`.
    pub fn exit_desk(&self, step: usize) -> usize {
        self.desk_shapes.get(step).map_or(0, |d| d.len().saturating_sub(1))
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

    fn col_center(&self, c: usize) -> f64 {
        self.col_left(c) + self.col_w / 2.0
    }

    fn n_cols(&self) -> usize {
        self.plan.sop.actors.len().max(1)
    }

    fn row_of(&self, step: usize) -> Option<usize> {
        self.rows.iter().position(|r| r.step == step)
    }

    /// The symbol of row `i` where arrows enter it (its first desk).
    fn placed(&self, i: usize) -> Placed {
        self.placed_desk(i, 0)
    }

    /// The symbol of row `i` where arrows leave it (the last desk of a hand-off chain).
    fn placed_exit(&self, i: usize) -> Placed {
        self.placed_desk(i, self.plan.exit_desk(self.rows[i].step))
    }

    fn placed_desk(&self, i: usize, desk: usize) -> Placed {
        let row = self.rows[i];
        let shapes = &self.plan.desk_shapes[row.step];
        let shape = shapes.get(desk).or(shapes.first()).copied().unwrap_or(self.plan.shapes[row.step]);
        let (w, h) = self.plan.shape_size(shape, self.col_w);
        let cols = &self.plan.columns[row.step];
        let col = cols.get(desk).or(cols.first()).copied().unwrap_or(0);
        Placed { cx: self.col_center(col), cy: row.top + row.height / 2.0, w, h }
    }

    /// The desks of row `i` that get a symbol: each desk, except one whose column an earlier
    /// desk of the chain already holds (`kasi -> kabid -> kasi` draws Kasi's symbol once). A
    /// desk without a column (an actor the SOP lacks) stands in the row's first, as in `place`.
    fn drawn_desks(&self, i: usize) -> Vec<usize> {
        let step = self.rows[i].step;
        let cols = &self.plan.columns[step];
        let column = |k: usize| cols.get(k).or(cols.first()).copied();
        (0..self.plan.desk_shapes[step].len()).filter(|&k| !(0..k).any(|j| column(j) == column(k))).collect()
    }

    /// The y of the free band just above the symbol of row `i` (`rows.len()` = the bottom band).
    fn band(&self, i: usize) -> f64 {
        if i >= self.rows.len() {
            return self.bottom_band.unwrap_or(self.height - BAND) + 1.0;
        }
        let row = self.rows[i];
        let top = self.drawn_desks(i).into_iter().map(|k| self.placed_desk(i, k).top()).fold(f64::MAX, f64::min);
        row.top + (top.min(self.placed(i).top()) - row.top) / 2.0
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

    /// The box of a symbol drawn for row `i`.
    fn symbol_box(&self, i: usize, desk: usize) -> Rect {
        let p = self.placed_desk(i, desk);
        Rect { x0: p.left(), y0: p.top(), x1: p.right(), y1: p.bottom() }
    }

    /// The row `i` as a rectangle across the actor columns.
    fn row_rect(&self, i: usize) -> Rect {
        let row = self.rows[i];
        Rect { x0: self.x0, y0: row.top, x1: self.x0 + self.col_w * self.n_cols() as f64, y1: row.top + row.height }
    }

    /// Draws the grid lines, the symbols and the arrows, with every route label placed where it
    /// touches nothing else. `letters` names the off-page connector of each route that crosses
    /// pages. Returns the steps whose row had no room for a label of theirs: the caller makes
    /// those rows higher and draws again (the label is drawn nearby all the same).
    pub fn draw(&self, out: &mut String, letters: &[Option<String>]) -> Vec<usize> {
        let sop = self.plan.sop;
        let n = self.n_cols();
        let mut drawing = Drawing::default();
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
        for i in 0..self.rows.len() {
            for k in self.drawn_desks(i) {
                drawing.obstacles.push(self.symbol_box(i, k));
            }
        }
        // Joint or alternative performers: a small mark in each further column, tied to the symbol.
        for (i, row) in self.rows.iter().enumerate() {
            let cols = &self.plan.columns[row.step];
            if self.plan.desk_shapes[row.step].len() > 1 {
                self.hand_offs(out, &mut drawing, i);
                continue;
            }
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
                let (y0, h) = (p.cy - p.h * 0.35, p.h * 0.7);
                let _ = write!(
                    out,
                    "<line class=\"tie\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#000\" stroke-width=\"0.25\"{dash}/><rect class=\"also\" data-step=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"0.3\"{dash}/>",
                    num(p.cx),
                    num(p.cy),
                    num(x),
                    num(p.cy),
                    esc(&sop.steps[row.step].id.name),
                    num(x - w / 2.0),
                    num(y0),
                    num(w),
                    num(h)
                );
                drawing.segment((p.cx, p.cy), (x, p.cy));
                drawing.obstacles.push(Rect { x0: x - w / 2.0, y0, x1: x + w / 2.0, y1: y0 + h });
            }
        }
        self.route(&mut drawing, letters);
        let crowded = self.place_labels(&mut drawing);
        for route in &drawing.routes {
            out.push_str(&route.open);
            for (pts, dashed) in &route.arrows {
                let dash = if *dashed { " stroke-dasharray=\"1.2 0.8\"" } else { "" };
                let _ = write!(
                    out,
                    "<polyline class=\"arrow\" points=\"{}\" fill=\"none\" stroke=\"#000\" stroke-width=\"0.3\"{dash} marker-end=\"url(#ah-{})\"/>",
                    points(pts),
                    self.id
                );
            }
            out.push_str(&route.connectors);
            if let Some(label) = &route.label {
                write_label(out, label);
            }
            out.push_str("</g>");
        }
        for (i, row) in self.rows.iter().enumerate() {
            for k in self.drawn_desks(i) {
                self.write_symbol(out, i, row, k);
            }
        }
        crowded
    }

    /// The arrows of a hand-off chain inside row `i`, from each desk to the next: straight
    /// across when no other desk of the row stands between, else over the band above them.
    fn hand_offs(&self, out: &mut String, drawing: &mut Drawing, i: usize) {
        let step = self.rows[i].step;
        let cols = &self.plan.columns[step];
        let drawn = self.drawn_desks(i);
        // The desk whose symbol stands for each desk (the first in its column).
        let symbol_of = |k: usize| cols.iter().position(|c| Some(c) == cols.get(k)).unwrap_or(k);
        for k in 1..self.plan.desk_shapes[step].len() {
            let (a, b) = (symbol_of(k - 1), symbol_of(k));
            if a == b {
                continue;
            }
            let (pa, pb) = (self.placed_desk(i, a), self.placed_desk(i, b));
            let (lo, hi) = (pa.cx.min(pb.cx), pa.cx.max(pb.cx));
            let between = drawn.iter().any(|&d| d != a && d != b && (lo..=hi).contains(&self.placed_desk(i, d).cx));
            // Back to a column the chain has been in, or past another of its desks: under the
            // symbols, where only the arrows leaving the row cross (the band above carries the
            // arrows coming in).
            let pts = if between || b < k {
                let y = self.under(i);
                // Into the symbol's lower edge left of its middle: a route leaving the row goes
                // down from the middle, a return from right of it.
                let (x, edge) = self.lower_edge(i, b, -1.0);
                vec![(pa.cx, pa.bottom()), (pa.cx, y), (x, y), (x, edge)]
            } else if pb.cx > pa.cx {
                vec![(pa.right(), pa.cy), (pb.left(), pb.cy)]
            } else {
                vec![(pa.left(), pa.cy), (pb.right(), pb.cy)]
            };
            for (n, w) in pts.windows(2).enumerate() {
                let head =
                    if n + 2 == pts.len() { format!(" marker-end=\"url(#ah-{})\"", self.id) } else { String::new() };
                let _ = write!(
                    out,
                    "<line class=\"hand-off\" data-step=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#000\" stroke-width=\"0.3\"{head}/>",
                    esc(&self.plan.sop.steps[step].id.name),
                    num(w[0].0),
                    num(w[0].1),
                    num(w[1].0),
                    num(w[1].1)
                );
                drawing.segment(w[0], w[1]);
            }
            if let [.., p, q] = pts.as_slice() {
                drawing.obstacles.push(arrowhead(*p, *q));
            }
        }
    }

    /// The y of the free band under the symbols of row `i`.
    fn under(&self, i: usize) -> f64 {
        let row = self.rows[i];
        let bottom = self.drawn_desks(i).into_iter().map(|k| self.placed_desk(i, k).bottom()).fold(f64::MIN, f64::max);
        bottom + (row.top + row.height - bottom) / 2.0
    }

    /// A point on the lower edge of a desk's symbol, a quarter of its width left (`side` -1) or
    /// right (+1) of its middle (nearer the middle on a capsule's round end).
    fn lower_edge(&self, i: usize, desk: usize, side: f64) -> Pt {
        let p = self.placed_desk(i, desk);
        let shapes = &self.plan.desk_shapes[self.rows[i].step];
        match shapes.get(desk).copied().unwrap_or(Shape::Process) {
            Shape::Decision => (p.cx + side * p.w / 4.0, p.cy + p.h / 4.0),
            Shape::Terminator => (p.cx + side * (p.w / 4.0).min((p.w / 2.0 - p.h / 2.0).max(0.0)), p.bottom()),
            Shape::Process => (p.cx + side * p.w / 4.0, p.bottom()),
        }
    }

    /// Whether a symbol of row `i` other than the desk `except` lies across the x range between `x0` and
    /// `x1` (a hand-off chain's other desks, which a route along the row would cross).
    fn desk_between(&self, i: usize, except: usize, x0: f64, x1: f64) -> bool {
        let (lo, hi) = (x0.min(x1), x0.max(x1));
        self.drawn_desks(i).into_iter().filter(|&k| k != except).any(|k| {
            let p = self.placed_desk(i, k);
            p.left() < hi && p.right() > lo
        })
    }

    fn write_symbol(&self, out: &mut String, i: usize, row: &Row, desk: usize) {
        let sop = self.plan.sop;
        let step = &sop.steps[row.step];
        let shapes = &self.plan.desk_shapes[row.step];
        let shape = shapes.get(desk).copied().unwrap_or(self.plan.shapes[row.step]);
        let p = self.placed_desk(i, desk);
        let col = self.plan.columns[row.step].get(desk).copied().unwrap_or(0);
        // A desk of a hand-off chain says which (`data-desk`, from 1).
        let desk_attr = if shapes.len() > 1 { format!(" data-desk=\"{}\"", desk + 1) } else { String::new() };
        let _ = write!(
            out,
            "<g class=\"symbol {}\" data-step=\"{}\"{desk_attr} data-number=\"{}\" data-col=\"{col}\" data-actor=\"{}\"><title>{}. {}</title>",
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
        // The number, as large as fits (2.4 mm at most): inside the rectangle with a margin, or
        // inside the diamond, where a box fits when its half-width over the diamond's plus its
        // half-height over the diamond's is at most 1. The capsule's round ends take the margin.
        let units = metrics::width(&step.number, 1.0, false);
        let tall = ASCENT + DESCENT;
        let size = match shape {
            Shape::Decision => 0.9 / (units / p.w + tall / p.h),
            Shape::Terminator => ((p.w - p.h * 0.6) / units).min((p.h - 0.8) / tall),
            Shape::Process => ((p.w - 0.8) / units).min((p.h - 0.8) / tall),
        }
        .min(NUMBER_SIZE);
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\">{}</text></g>",
            num(p.cx),
            num(p.cy + (ASCENT - DESCENT) * size / 2.0),
            num(size),
            esc(&step.number)
        );
    }

    /// A free spot on the connector band at height `y` for a pentagon wanted at `x`: the nearest
    /// to it that overlaps no other connector, inside the actor columns.
    fn connector_x(&self, taken: &mut Vec<(f64, f64)>, x: f64, y: f64) -> f64 {
        let lo = self.x0 + PENTAGON_HALF + 0.3;
        let hi = self.x0 + self.col_w * self.n_cols() as f64 - PENTAGON_HALF - 0.3;
        let free =
            |c: f64| taken.iter().all(|&(ty, tx)| (ty - y).abs() > 0.01 || (tx - c).abs() >= 2.0 * PENTAGON_HALF + 0.6);
        let wanted = x.clamp(lo, hi);
        let mut best = wanted;
        for k in 0..400usize {
            let d = 0.5 * k.div_ceil(2) as f64;
            let c = if k % 2 == 1 { wanted - d } else { wanted + d };
            if (lo..=hi).contains(&c) && free(c) {
                best = c;
                break;
            }
        }
        taken.push((y, best));
        best
    }

    fn pentagon(&self, drawing: &mut Drawing, into: &mut String, x: f64, y: f64, letter: &str, direction: &str) {
        let h = PENTAGON_HALF;
        let pts = [(x - h, y), (x + h, y), (x + h, y + 3.2), (x, y + 5.0), (x - h, y + 3.2)];
        let _ = write!(
            into,
            "<g class=\"connector\" data-letter=\"{}\" data-direction=\"{direction}\"><polygon points=\"{}\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"0.3\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"2.4\" font-weight=\"bold\">{}</text></g>",
            esc(letter),
            points(&pts),
            num(x),
            num(y + 2.6),
            esc(letter)
        );
        drawing.obstacles.push(Rect { x0: x - h, y0: y, x1: x + h, y1: y + 5.0 });
    }

    /// Routes every arrow along the grid and says where its label should go.
    fn route(&self, drawing: &mut Drawing, letters: &[Option<String>]) {
        let sop = self.plan.sop;
        let mut channel_uses = vec![0usize; self.n_cols()];
        let mut right_exits = vec![0usize; sop.steps.len()];
        let mut connectors: Vec<(f64, f64)> = Vec::new();
        for (ri, route) in self.plan.routes.iter().enumerate() {
            let from_row = self.row_of(route.from);
            let (to_step, end) = match route.to {
                Dest::Step(s) => (Some(s), None),
                Dest::End(e) => (None, Some(e)),
            };
            let to_row = to_step.and_then(|s| self.row_of(s));
            // A route leaves a hand-off chain from its last desk.
            let fcol = self.plan.columns[route.from].get(self.plan.exit_desk(route.from)).copied().unwrap_or(0);
            let tcol = to_step.map(|s| self.plan.columns[s][0]);
            let letter = letters.get(ri).cloned().flatten().unwrap_or_default();
            let from_name = &sop.steps[route.from].id.name;
            let to_name = match route.to {
                Dest::Step(s) => sop.steps[s].id.name.clone(),
                Dest::End(e) => sop.ends.get(e).map(|x| x.id.name.clone()).unwrap_or_default(),
            };
            let mut drawn = RouteDrawing {
                open: format!(
                    "<g class=\"route{}{}\" data-from=\"{}\" data-to=\"{}\" data-label=\"{}\">",
                    if route.rework { " rework" } else { "" },
                    if route.deadline { " deadline" } else { "" },
                    esc(from_name),
                    esc(&to_name),
                    esc(route.label.as_deref().unwrap_or(""))
                ),
                ..RouteDrawing::default()
            };
            let dashed = route.deadline;
            // Where the label goes: the text, the row it stays in, the point it is read from.
            let label_at =
                |row: usize, anchor: Pt, text: &str| Some(LabelRequest { text: text.to_string(), row, anchor });
            let mut label = None;
            match (from_row, to_row) {
                (Some(fi), Some(ti)) => {
                    let s = self.placed_exit(fi);
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
                            drawn.arrows.push((pts, dashed));
                            if let Some(l) = &route.label {
                                label = label_at(fi, (s.right() + 0.5, s.cy), l);
                            }
                        } else {
                            let k = channel_uses[tcol];
                            channel_uses[tcol] += 1;
                            let pts = self.down(s.cx, s.bottom(), Some(fi), ti, t.cx, tcol, k);
                            drawn.arrows.push((pts, dashed));
                            if let Some(l) = &route.label {
                                label = label_at(fi, (s.cx, s.bottom() + 0.5), l);
                            }
                        }
                    } else {
                        let col = fcol.min(tcol);
                        let k = channel_uses[col];
                        channel_uses[col] += 1;
                        let chan = self.col_left(col) + 0.8 + (k % 3) as f64 * 0.5;
                        // Along the rows, unless another desk of a hand-off chain stands in the
                        // way: then out under the row left, and in over the row entered.
                        let exit = self.plan.exit_desk(route.from);
                        let mut pts = Vec::new();
                        let anchor = if self.desk_between(fi, exit, chan, s.left()) {
                            let (x, edge) = self.lower_edge(fi, exit, 1.0);
                            let y = self.under(fi);
                            pts.extend([(x, edge), (x, y), (chan, y)]);
                            (x, edge + 0.5)
                        } else {
                            pts.extend([(s.left(), s.cy), (chan, s.cy)]);
                            (s.left() - 0.5, s.cy)
                        };
                        if self.desk_between(ti, 0, chan, t.left()) {
                            let b = self.band(ti);
                            pts.extend([(chan, b), (t.cx, b), (t.cx, t.top())]);
                        } else {
                            pts.extend([(chan, t.cy), (t.left(), t.cy)]);
                        }
                        drawn.arrows.push((simplify(pts), dashed));
                        if let Some(l) = &route.label {
                            label = label_at(fi, anchor, l);
                        }
                    }
                }
                (Some(fi), None) if end.is_some() && self.plan.shapes[route.from] != Shape::Terminator => {
                    // A short arrow out of the symbol, named after the end it reaches: the
                    // first to the right, the next down, the next to the left.
                    let s = self.placed_exit(fi);
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
                    let tip = match j % 3 {
                        0 => {
                            let x2 = (s.right() + 3.5).min(self.col_left(fcol) + self.col_w - 0.3).max(s.right() + 1.5);
                            drawn.arrows.push((vec![(s.right(), s.cy), (x2, s.cy)], dashed));
                            (x2, s.cy)
                        }
                        1 => {
                            let y2 = s.bottom() + 2.6;
                            drawn.arrows.push((vec![(s.cx, s.bottom()), (s.cx, y2)], dashed));
                            (s.cx, y2)
                        }
                        _ => {
                            let x2 = (s.left() - 3.5).max(self.col_left(fcol) + 0.3).min(s.left() - 1.5);
                            drawn.arrows.push((vec![(s.left(), s.cy), (x2, s.cy)], dashed));
                            (x2, s.cy)
                        }
                    };
                    label = label_at(fi, tip, &text);
                }
                // The capsule that ends the procedure is its own end.
                (Some(_), None) if end.is_some() => {}
                (Some(fi), None) => {
                    // Leaves this page: to an off-page connector.
                    let s = self.placed_exit(fi);
                    let later = to_step.is_some_and(|t| self.page_of[t] > self.page);
                    let side_exit = route.deadline
                        || (route.from_decision
                            && self.plan.routes[..ri].iter().any(|r| r.from == route.from && !r.deadline));
                    if later {
                        let y = self.bottom_band.unwrap_or(self.height - BAND) + 2.0;
                        let px = self.connector_x(&mut connectors, s.cx, y);
                        let pts = if side_exit {
                            let chan = self.col_left(fcol) + self.col_w - 0.9;
                            simplify(vec![(s.right(), s.cy), (chan, s.cy), (chan, y - 1.0), (px, y - 1.0), (px, y)])
                        } else {
                            let k = channel_uses[fcol];
                            channel_uses[fcol] += 1;
                            self.down(s.cx, s.bottom(), Some(fi), self.rows.len(), px, fcol, k)
                        };
                        drawn.arrows.push((pts, dashed));
                        self.pentagon(drawing, &mut drawn.connectors, px, y, &letter, "out");
                        if let Some(l) = &route.label {
                            let anchor = if side_exit { (s.right() + 0.5, s.cy) } else { (s.cx, s.bottom() + 0.5) };
                            label = label_at(fi, anchor, l);
                        }
                    } else {
                        let y = self.top_band.unwrap_or(0.0) + 1.0;
                        let px = self.connector_x(&mut connectors, s.cx + 4.0, y);
                        let chan = self.col_left(fcol) + 0.8;
                        let pts = simplify(vec![
                            (s.left(), s.cy),
                            (chan, s.cy),
                            (chan, y + 6.5),
                            (px, y + 6.5),
                            (px, y + 5.0),
                        ]);
                        drawn.arrows.push((pts, dashed));
                        self.pentagon(drawing, &mut drawn.connectors, px, y, &letter, "out");
                        if let Some(l) = &route.label {
                            label = label_at(fi, (s.left() - 0.5, s.cy), l);
                        }
                    }
                }
                (None, Some(ti)) => {
                    // Arrives from another page: from an off-page connector.
                    let t = self.placed(ti);
                    let tcol = tcol.unwrap_or(0);
                    let earlier = self.page_of[route.from] < self.page;
                    if earlier {
                        let y = self.top_band.unwrap_or(0.0) + 1.0;
                        let px = self.connector_x(&mut connectors, t.cx, y);
                        self.pentagon(drawing, &mut drawn.connectors, px, y, &letter, "in");
                        let k = channel_uses[tcol];
                        channel_uses[tcol] += 1;
                        let pts = self.down(px, y + 5.0, None, ti, t.cx, tcol, k);
                        drawn.arrows.push((pts, dashed));
                    } else {
                        let y = self.bottom_band.unwrap_or(self.height - BAND) + 2.0;
                        let px = self.connector_x(&mut connectors, t.cx - 4.0, y);
                        self.pentagon(drawing, &mut drawn.connectors, px, y, &letter, "in");
                        let chan = self.col_left(tcol) + 0.8;
                        let pts =
                            simplify(vec![(px, y), (px, y - 1.0), (chan, y - 1.0), (chan, t.cy), (t.left(), t.cy)]);
                        drawn.arrows.push((pts, dashed));
                    }
                    if let Some(l) = &route.label {
                        label = label_at(ti, (t.cx, t.top() - 0.5), l);
                    }
                }
                _ => {}
            }
            for (pts, _) in &drawn.arrows {
                for w in pts.windows(2) {
                    drawing.segment(w[0], w[1]);
                }
                if let [.., a, b] = pts.as_slice() {
                    drawing.obstacles.push(arrowhead(*a, *b));
                }
            }
            drawing.requests.push(label);
            drawing.routes.push(drawn);
        }
    }

    /// Places every requested label where it touches nothing drawn and no other label, inside
    /// its row and near the point it is read from; returns the steps whose row had no room.
    fn place_labels(&self, drawing: &mut Drawing) -> Vec<usize> {
        let mut crowded = Vec::new();
        let requests = std::mem::take(&mut drawing.requests);
        for (ri, request) in requests.into_iter().enumerate() {
            let Some(request) = request else { continue };
            let region = self.row_rect(request.row).inset(0.3);
            let label = match best_spot(&request, region, &drawing.obstacles, &drawing.placed) {
                Some(label) => label,
                None => {
                    crowded.push(self.rows[request.row].step);
                    fallback_spot(&request, region)
                }
            };
            drawing.placed.push(label.rect);
            if let Some(route) = drawing.routes.get_mut(ri) {
                route.label = Some(label);
            }
        }
        crowded.sort_unstable();
        crowded.dedup();
        crowded
    }
}

/// The size of the step numbers in the symbols, at most (mm).
const NUMBER_SIZE: f64 = 2.4;
/// Route labels: italic, this size (mm), lines this far apart.
pub const LABEL_SIZE: f64 = 2.2;
const LABEL_LINE: f64 = 2.5;
/// Labels keep this far from everything else (the layout test checks 0.2 mm).
const LABEL_GAP: f64 = 0.3;
/// Two labels keep this far apart (mm).
const LABEL_SPACING: f64 = 1.2;
/// How far a label may be from the point it is read from (mm).
const LABEL_REACH: f64 = 7.0;
/// Half the width of an off-page connector.
const PENTAGON_HALF: f64 = 2.5;

/// An axis-aligned rectangle (mm).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    fn inset(self, d: f64) -> Rect {
        Rect { x0: self.x0 + d, y0: self.y0 + d, x1: self.x1 - d, y1: self.y1 - d }
    }
    fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
    fn inside(&self, o: &Rect) -> bool {
        self.x0 >= o.x0 && self.y0 >= o.y0 && self.x1 <= o.x1 && self.y1 <= o.y1
    }
    /// The distance from a point to the rectangle (0 inside).
    fn distance(&self, (x, y): Pt) -> f64 {
        let dx = (self.x0 - x).max(0.0).max(x - self.x1);
        let dy = (self.y0 - y).max(0.0).max(y - self.y1);
        dx.hypot(dy)
    }
}

/// The area an arrowhead (2 mm long and wide) covers at the end of segment a-b.
fn arrowhead(a: Pt, b: Pt) -> Rect {
    let (dx, dy) = ((b.0 - a.0).signum(), (b.1 - a.1).signum());
    let back = (b.0 - dx * 2.0, b.1 - dy * 2.0);
    Rect { x0: b.0.min(back.0) - 1.0, y0: b.1.min(back.1) - 1.0, x1: b.0.max(back.0) + 1.0, y1: b.1.max(back.1) + 1.0 }
}

#[derive(Default)]
struct Drawing {
    /// Everything a label must not touch: symbols, joint boxes, connectors, lines.
    obstacles: Vec<Rect>,
    /// The labels placed so far: a label keeps further from these, so that two labels never
    /// read as one.
    placed: Vec<Rect>,
    routes: Vec<RouteDrawing>,
    /// The label each route asks for, by route.
    requests: Vec<Option<LabelRequest>>,
}

impl Drawing {
    /// A line of 0.3 mm, as the area it covers.
    fn segment(&mut self, a: Pt, b: Pt) {
        self.obstacles.push(Rect {
            x0: a.0.min(b.0) - 0.15,
            y0: a.1.min(b.1) - 0.15,
            x1: a.0.max(b.0) + 0.15,
            y1: a.1.max(b.1) + 0.15,
        });
    }
}

#[derive(Default)]
struct RouteDrawing {
    open: String,
    arrows: Vec<(Vec<Pt>, bool)>,
    connectors: String,
    label: Option<Label>,
}

struct LabelRequest {
    text: String,
    /// The sheet row the label stays in.
    row: usize,
    /// The point the label is read from (where its arrow leaves or arrives).
    anchor: Pt,
}

/// A placed label: its lines and the box they fill (left edge, first line's top).
struct Label {
    text: String,
    lines: Vec<String>,
    rect: Rect,
}

/// The ways to break a label into lines: one line, then narrower and narrower, ending with
/// words broken between characters (the last resort, tried last).
fn label_shapes(text: &str) -> Vec<(Vec<String>, bool)> {
    let one = metrics::width(text, LABEL_SIZE, false);
    let longest_word = text.split_whitespace().map(|w| metrics::width(w, LABEL_SIZE, false)).fold(0.0, f64::max);
    let mut shapes: Vec<(Vec<String>, bool)> = Vec::new();
    for k in 1..=8 {
        let max = (one / k as f64 * 1.08).max(longest_word);
        let lines = metrics::wrap(text, max, LABEL_SIZE, false);
        if !shapes.iter().any(|(l, _)| *l == lines) {
            shapes.push((lines, false));
        }
    }
    for max in [8.0, 6.0, 4.5] {
        if max < longest_word {
            shapes.push((metrics::wrap(text, max, LABEL_SIZE, false), true));
        }
    }
    shapes
}

fn label_size(lines: &[String]) -> (f64, f64) {
    let w = metrics::widest(lines, LABEL_SIZE, false);
    let h = (lines.len().max(1) - 1) as f64 * LABEL_LINE + (ASCENT + DESCENT) * LABEL_SIZE;
    (w, h)
}

/// The best free spot for a label: inside `region`, clear of every obstacle, within reach of
/// its anchor; nearer is better, and fewer lines, and whole words.
fn best_spot(request: &LabelRequest, region: Rect, obstacles: &[Rect], labels: &[Rect]) -> Option<Label> {
    let spaced = labels.iter().map(|l| l.inset(LABEL_GAP - LABEL_SPACING));
    let near: Vec<Rect> = obstacles.iter().copied().chain(spaced).filter(|o| o.overlaps(&region)).collect();
    let (ax, ay) = request.anchor;
    let mut best: Option<(f64, Label)> = None;
    for (lines, broken) in label_shapes(&request.text) {
        let (w, h) = label_size(&lines);
        if w > region.x1 - region.x0 || h > region.y1 - region.y0 {
            continue;
        }
        let g = LABEL_GAP + 0.05;
        let mut xs = vec![ax + g, ax - g - w, ax - w / 2.0, region.x0, region.x1 - w];
        let mut ys = vec![ay + g, ay - g - h, ay - h / 2.0, region.y0, region.y1 - h];
        for o in &near {
            xs.extend([o.x1 + g, o.x0 - g - w]);
            ys.extend([o.y1 + g, o.y0 - g - h]);
        }
        let penalty = (lines.len() - 1) as f64 * 0.4 + if broken { 6.0 } else { 0.0 };
        for &x in &xs {
            for &y in &ys {
                let rect = Rect { x0: x, y0: y, x1: x + w, y1: y + h };
                if !rect.inside(&region) {
                    continue;
                }
                let distance = rect.distance(request.anchor);
                if distance > LABEL_REACH {
                    continue;
                }
                let score = distance + penalty;
                if best.as_ref().is_some_and(|(s, _)| *s <= score) {
                    continue;
                }
                let clear = rect.inset(-LABEL_GAP);
                if near.iter().any(|o| o.overlaps(&clear)) {
                    continue;
                }
                best = Some((score, Label { text: request.text.clone(), lines: lines.clone(), rect }));
            }
        }
    }
    best.map(|(_, label)| label)
}

/// Where a label goes when its row has no free spot (the row is made higher and the sheet drawn
/// again): below and right of its anchor, kept inside the row.
fn fallback_spot(request: &LabelRequest, region: Rect) -> Label {
    let lines = metrics::wrap(&request.text, (region.x1 - region.x0).min(30.0), LABEL_SIZE, false);
    let (w, h) = label_size(&lines);
    let x = (request.anchor.0 + LABEL_GAP).min(region.x1 - w).max(region.x0);
    let y = (request.anchor.1 + LABEL_GAP).min(region.y1 - h).max(region.y0);
    Label { text: request.text.clone(), lines, rect: Rect { x0: x, y0: y, x1: x + w, y1: y + h } }
}

/// A route label: one `<text>`, a `<tspan>` per line, the whole text as its tooltip; outlined in
/// white, so a grid line under it stops short of its letters.
fn write_label(out: &mut String, label: &Label) {
    let x = label.rect.x0;
    let first = label.rect.y0 + ASCENT * LABEL_SIZE;
    let _ = write!(
        out,
        "<text class=\"route-label\" x=\"{}\" y=\"{}\" text-anchor=\"start\" font-size=\"{}\" font-style=\"italic\" stroke=\"#fff\" stroke-width=\"0.5\" paint-order=\"stroke\"><title>{}</title>",
        num(x),
        num(first),
        num(LABEL_SIZE),
        esc(&label.text)
    );
    if let [line] = label.lines.as_slice() {
        out.push_str(&esc(line));
    } else {
        for (i, line) in label.lines.iter().enumerate() {
            let _ = write!(
                out,
                "<tspan x=\"{}\" y=\"{}\">{}</tspan>",
                num(x),
                num(first + i as f64 * LABEL_LINE),
                esc(line)
            );
        }
    }
    out.push_str("</text>");
}
