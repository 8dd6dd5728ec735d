//! The layout of the official document (`alur render --to html`) and of the flowchart alone
//! (`--to svg`) is clean, measured from the output: every text's box (with the font's advance
//! widths, `alur::render::metrics`, an upper bound that the Chromium test below checks against
//! what Chromium draws) and every line. No two labels overlap, no label lies on a symbol, a
//! connector or a line, no text leaves its cell, the table fits the printable width of an A4
//! landscape page with its right border, every page fits its height, and everything drawn lies
//! inside its SVG's viewBox.
//!
//! It runs on every SOP in `sop/`, in `sop/contoh/` (if there is one) and in `tests/layout/`
//! (large SOPs made to stress the layout), in both page languages.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use alur::compile::{compile_path, Options};
use alur::diagnostic::Lang;
use alur::render::metrics::{self, ASCENT, DESCENT};
use alur::render::{render, Format};

use crate::render::{alur, chromium, must_not_skip, parse_xml, El, ROOT};

/// A4 landscape, 297 x 210 mm, less the 10 mm margins of the document's `@page` rule.
const PRINTABLE_W: f64 = 277.0;
const PRINTABLE_H: f64 = 190.0;
/// One CSS pixel (the table's borders) in millimetres.
const PX: f64 = 25.4 / 96.0;
/// The table's text (the CSS below is checked to say so): 7 pt on 3.2 mm lines, cells padded
/// 1.1 mm above and below and 1 mm left and right.
const BODY_SIZE_PT: f64 = 7.0;
const BODY_LINE: f64 = 3.2;
const CELL_PAD_V: f64 = 1.1;
const CELL_PAD_H: f64 = 1.0;
/// Headings: padded 0.5 mm left and right (top and bottom when set sideways), lines 1.2 times
/// the font size.
const HEAD_PAD_H: f64 = 0.5;
const SIDEWAYS_PAD: f64 = 0.5;
const HEAD_LINE: f64 = 1.2;
/// Labels are kept this far from each other and from symbols and lines.
const CLEARANCE: f64 = 0.2;
/// Two labels are at least this far apart, so that they never read as one.
const LABEL_SPACING: f64 = 1.0;
/// Tolerance of the comparisons (the renderer writes numbers to 0.01 mm).
const EPS: f64 = 0.011;

/// Every SOP the layout must hold for: `sop/*.sop`, `sop/contoh/**/*.sop`, `tests/layout/*.sop`.
pub(crate) fn layout_sops() -> Vec<PathBuf> {
    fn sop_files(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() && recursive {
                sop_files(&path, true, out);
            } else if path.extension().is_some_and(|e| e == "sop") {
                out.push(path);
            }
        }
    }
    let root = Path::new(ROOT);
    let mut out = Vec::new();
    sop_files(&root.join("sop"), false, &mut out);
    sop_files(&root.join("sop/contoh"), true, &mut out);
    sop_files(&root.join("tests/layout"), false, &mut out);
    out.sort();
    assert!(out.iter().any(|p| p.starts_with(root.join("tests/layout"))), "the layout fixtures are there");
    out
}

/// The SOP of a file, or `None` for a file of fragments or a calendar (nothing to render).
fn compile(path: &Path) -> Option<alur::model::Sop> {
    let compiled = compile_path(path, &Options::default());
    assert!(!compiled.has_errors(), "{} has errors", path.display());
    compiled.sop
}

// ---- boxes ----

#[derive(Clone, Copy, Debug, PartialEq)]
struct Box2 {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Box2 {
    fn new(x0: f64, y0: f64, x1: f64, y1: f64) -> Box2 {
        Box2 { x0: x0.min(x1), y0: y0.min(y1), x1: x0.max(x1), y1: y0.max(y1) }
    }
    fn grow(self, d: f64) -> Box2 {
        Box2 { x0: self.x0 - d, y0: self.y0 - d, x1: self.x1 + d, y1: self.y1 + d }
    }
    /// Overlap with a positive area (touching is not overlapping).
    fn overlaps(&self, o: &Box2) -> bool {
        self.x0 < o.x1 - EPS && o.x0 < self.x1 - EPS && self.y0 < o.y1 - EPS && o.y0 < self.y1 - EPS
    }
    fn inside(&self, o: &Box2) -> bool {
        self.x0 >= o.x0 - EPS && self.y0 >= o.y0 - EPS && self.x1 <= o.x1 + EPS && self.y1 <= o.y1 + EPS
    }
    fn union(self, o: Box2) -> Box2 {
        Box2 { x0: self.x0.min(o.x0), y0: self.y0.min(o.y0), x1: self.x1.max(o.x1), y1: self.y1.max(o.y1) }
    }
}

fn num(e: &El, key: &str) -> f64 {
    e.num(key)
}

fn rect_box(e: &El) -> Box2 {
    Box2::new(num(e, "x"), num(e, "y"), num(e, "x") + num(e, "width"), num(e, "y") + num(e, "height"))
}

fn points(e: &El) -> Vec<(f64, f64)> {
    e.attr("points")
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

fn points_box(pts: &[(f64, f64)]) -> Box2 {
    pts.iter().fold(Box2::new(pts[0].0, pts[0].1, pts[0].0, pts[0].1), |b, p| b.union(Box2::new(p.0, p.1, p.0, p.1)))
}

/// A `<text>`'s lines (its `<tspan>`s, or its own text) and their boxes: each line from its
/// baseline up by the font's ascent and down by its descent, as wide as the metrics say.
fn text_boxes(text: &El) -> Vec<(String, Box2)> {
    let size = num(text, "font-size");
    let bold = text.attr("font-weight") == Some("bold");
    let anchor = text.attr("text-anchor").unwrap_or("start");
    let lines: Vec<(String, f64, f64)> = if text.children.iter().any(|c| c.name == "tspan") {
        text.children.iter().filter(|c| c.name == "tspan").map(|t| (t.all_text(), num(t, "x"), num(t, "y"))).collect()
    } else {
        vec![(text.text.clone(), num(text, "x"), num(text, "y"))]
    };
    lines
        .into_iter()
        .map(|(line, x, y)| {
            let w = metrics::width(&line, size, bold);
            let x0 = match anchor {
                "middle" => x - w / 2.0,
                "end" => x - w,
                _ => x,
            };
            (line, Box2::new(x0, y - ASCENT * size, x0 + w, y + DESCENT * size))
        })
        .collect()
}

fn text_box(text: &El) -> Box2 {
    let boxes = text_boxes(text);
    boxes.iter().skip(1).fold(boxes[0].1, |b, (_, l)| b.union(*l))
}

/// A segment of a line, as the box its stroke covers.
fn segment_box(a: (f64, f64), b: (f64, f64), half_width: f64) -> Box2 {
    Box2::new(a.0, a.1, b.0, b.1).grow(half_width)
}

fn view_box(svg: &El) -> Box2 {
    let v: Vec<f64> = svg.attr("viewBox").unwrap().split_whitespace().map(|x| x.parse().unwrap()).collect();
    Box2::new(v[0], v[1], v[0] + v[2], v[1] + v[3])
}

/// What one flowchart sheet was measured to hold, for the report.
#[derive(Default)]
struct Counted {
    labels: usize,
    texts: usize,
    segments: usize,
}

/// Checks one flowchart sheet (a page of the document, or the whole `--to svg`).
fn check_sheet(what: &str, svg: &El) -> Counted {
    let view = view_box(svg);
    let mut counted = Counted::default();
    let rows: HashMap<String, Box2> = svg
        .find_all(|e| e.name == "rect" && e.has_class("row"))
        .into_iter()
        .map(|e| (e.attr("data-step").unwrap().to_string(), rect_box(e)))
        .collect();
    // Symbols, with their step numbers inside them.
    let mut solids: Vec<(String, Box2)> = Vec::new();
    for g in svg.find_all(|e| e.name == "g" && e.has_class("symbol")) {
        let step = g.attr("data-step").unwrap();
        let shape = g.children.iter().find(|c| c.name == "rect" || c.name == "polygon").unwrap();
        let symbol = if shape.name == "rect" { rect_box(shape) } else { points_box(&points(shape)) };
        assert!(symbol.inside(&view), "{what}: the symbol of {step} is inside the drawing");
        let number = g.children.iter().find(|c| c.name == "text").unwrap();
        let n = text_box(number);
        counted.texts += 1;
        if shape.name == "polygon" {
            // Inside a diamond: a box's corner (dx, dy) from the centre lies inside when
            // dx / (w/2) + dy / (h/2) <= 1.
            let (cx, cy) = ((symbol.x0 + symbol.x1) / 2.0, (symbol.y0 + symbol.y1) / 2.0);
            let (hw, hh) = ((symbol.x1 - symbol.x0) / 2.0, (symbol.y1 - symbol.y0) / 2.0);
            let dx = (n.x0 - cx).abs().max((n.x1 - cx).abs());
            let dy = (n.y0 - cy).abs().max((n.y1 - cy).abs());
            assert!(dx / hw + dy / hh <= 1.0 + EPS, "{what}: the number of {step} is inside its diamond");
        } else {
            assert!(n.inside(&symbol), "{what}: the number of {step} ({n:?}) is inside its symbol ({symbol:?})");
        }
        solids.push((format!("symbol {step}"), symbol));
    }
    for e in svg.find_all(|e| e.name == "rect" && e.has_class("also")) {
        let b = rect_box(e);
        assert!(b.inside(&view), "{what}: a joint performer's box is inside the drawing");
        solids.push(("joint box".into(), b));
    }
    // Off-page connectors: inside the drawing, apart from each other and the symbols.
    let mut connectors: Vec<Box2> = Vec::new();
    for g in svg.find_all(|e| e.name == "g" && e.has_class("connector")) {
        let shape = points_box(&points(g.children.iter().find(|c| c.name == "polygon").unwrap()));
        assert!(shape.inside(&view), "{what}: connector {:?} is inside the drawing", g.attr("data-letter"));
        let letter = text_box(g.children.iter().find(|c| c.name == "text").unwrap());
        counted.texts += 1;
        assert!(letter.inside(&shape), "{what}: the letter of connector {:?} is inside it", g.attr("data-letter"));
        for other in &connectors {
            assert!(!shape.overlaps(other), "{what}: two off-page connectors overlap");
        }
        for (name, s) in &solids {
            assert!(!shape.overlaps(s), "{what}: connector {:?} lies on the {name}", g.attr("data-letter"));
        }
        connectors.push(shape);
    }
    solids.extend(connectors.iter().map(|c| ("off-page connector".to_string(), *c)));
    // Lines: arrows (with their heads) and the ties of joint performers.
    let mut lines: Vec<(String, Box2)> = Vec::new();
    for route in svg.find_all(|e| e.name == "g" && e.has_class("route")) {
        let name = format!("arrow {} -> {}", route.attr("data-from").unwrap(), route.attr("data-to").unwrap());
        for arrow in route.find_all(|e| e.name == "polyline") {
            let pts = points(arrow);
            for w in pts.windows(2) {
                let seg = segment_box(w[0], w[1], 0.15);
                assert!(seg.inside(&view), "{what}: {name} stays inside the drawing ({seg:?} in {view:?})");
                lines.push((name.clone(), seg));
                counted.segments += 1;
            }
            // The arrowhead: 2 mm long and wide, ending on the last point.
            let (a, b) = (pts[pts.len() - 2], pts[pts.len() - 1]);
            let head = Box2::new(b.0, b.1, b.0, b.1).grow(1.0);
            let head = if (a.0 - b.0).abs() < EPS {
                Box2 { y0: b.1.min(a.1.max(b.1 - 2.0)), y1: b.1.max(a.1.min(b.1 + 2.0)), ..head }
            } else {
                Box2 { x0: b.0.min(a.0.max(b.0 - 2.0)), x1: b.0.max(a.0.min(b.0 + 2.0)), ..head }
            };
            assert!(head.inside(&view.grow(0.3)), "{what}: the head of {name} is inside the drawing");
            lines.push((format!("head of {name}"), head));
        }
    }
    for tie in svg.find_all(|e| e.name == "line") {
        let seg = segment_box((num(tie, "x1"), num(tie, "y1")), (num(tie, "x2"), num(tie, "y2")), 0.15);
        assert!(seg.inside(&view), "{what}: a line stays inside the drawing");
        lines.push(("tie line".into(), seg));
        counted.segments += 1;
    }
    // Route labels: whole (never cut), inside the row they belong to, apart from each other and
    // from every symbol, connector and line.
    let mut labels: Vec<(String, Box2)> = Vec::new();
    for route in svg.find_all(|e| e.name == "g" && e.has_class("route")) {
        let (from, to) = (route.attr("data-from").unwrap(), route.attr("data-to").unwrap());
        for text in route.find_all(|e| e.name == "text" && e.has_class("route-label")) {
            let b = text_box(text);
            counted.labels += 1;
            counted.texts += 1;
            let shown: Vec<String> = text_boxes(text).into_iter().map(|(l, _)| l).collect();
            let name = format!("label `{}` of {from} -> {to}", shown.join(" "));
            assert!(!shown.concat().contains('\u{2026}'), "{what}: {name} is cut");
            assert!(b.inside(&view), "{what}: {name} is inside the drawing ({b:?} in {view:?})");
            let row = rows.get(from).or_else(|| rows.get(to)).unwrap();
            assert!(b.inside(row), "{what}: {name} ({b:?}) is inside its row ({row:?})");
            let b_clear = b.grow(CLEARANCE - EPS);
            for (other, o) in solids.iter().chain(&lines) {
                assert!(!b_clear.overlaps(o), "{what}: {name} ({b:?}) lies on the {other} ({o:?})");
            }
            let b_apart = b.grow(LABEL_SPACING - EPS);
            for (other, o) in &labels {
                assert!(
                    !b_apart.overlaps(o),
                    "{what}: {name} ({b:?}) is not {LABEL_SPACING} mm from the {other} ({o:?})"
                );
            }
            labels.push((name, b));
        }
    }
    counted
}

/// The style attribute's `name:VALUEmm`.
fn style_mm(e: &El, name: &str) -> f64 {
    let style = e.attr("style").unwrap_or_else(|| panic!("<{}> has no style", e.name));
    style
        .split(';')
        .find_map(|d| d.trim().strip_prefix(name).and_then(|v| v.strip_prefix(':')))
        .and_then(|v| v.trim().strip_suffix("mm"))
        .unwrap_or_else(|| panic!("<{}> style `{style}` has no {name} in mm", e.name))
        .parse()
        .unwrap()
}

/// The widths of a table's columns, in order.
fn column_widths(table: &El) -> Vec<f64> {
    table.find_all(|e| e.name == "col").into_iter().map(|c| style_mm(c, "width")).collect()
}

/// Checks one page of the table: its width, its height, every heading and cell, its flowchart.
/// Returns the flowchart's counts and the page's height.
fn check_table_page(what: &str, page: &El) -> (Counted, f64) {
    let table = page.find_all(|e| e.name == "table" && e.has_class("sop"))[0];
    let widths = column_widths(table);
    let table_w: f64 = widths.iter().sum();
    assert!((style_mm(table, "width") - table_w).abs() < EPS, "{what}: the table is as wide as its columns");
    // The outer border is drawn half outside the table's box.
    assert!(
        table_w + PX <= PRINTABLE_W,
        "{what}: the table ({table_w:.2} mm and its border) fits the printable width ({PRINTABLE_W} mm)"
    );
    let mut height = 8.0; // the page head
    for tr in table.find_all(|e| e.name == "tr") {
        // Which columns each cell covers: rows with a spanning cell (the flowchart, and the
        // headings of the first row) are read through their `data-col` attributes.
        let mut row_h: f64 = 0.0;
        for cell in tr.children.iter().filter(|c| c.name == "td" || c.name == "th") {
            let Some(div) = cell.children.iter().find(|c| c.name == "div") else { continue };
            let first: usize =
                cell.attr("data-col").unwrap_or_else(|| panic!("{what}: a cell has no data-col")).parse().unwrap();
            let span: usize = cell.attr("colspan").map_or(1, |s| s.parse().unwrap());
            let rowspan: usize = cell.attr("rowspan").map_or(1, |s| s.parse().unwrap());
            let cell_w: f64 = widths[first..first + span].iter().sum();
            let h = style_mm(div, "height");
            if rowspan == 1 {
                row_h = row_h.max(h + PX);
            }
            let text = div.all_text();
            if cell.name == "th" {
                let size = style_mm(div, "font-size");
                let lines: Vec<String> =
                    div.children.iter().filter(|c| c.name == "span").map(|s| s.all_text()).collect();
                assert_eq!(
                    lines.join(" ").split_whitespace().collect::<Vec<_>>().concat(),
                    text.split_whitespace().collect::<Vec<_>>().concat()
                );
                // Across the column, or sideways (read from the bottom up): then a line is as
                // long as the cell is high, and the lines stack across the column.
                let sideways = div.has_class("sideways");
                let (length, across) =
                    if sideways { (h - 2.0 * SIDEWAYS_PAD, cell_w - PX) } else { (cell_w - PX - 2.0 * HEAD_PAD_H, h) };
                for line in &lines {
                    let w = metrics::width(line, size, true);
                    assert!(
                        w <= length + EPS,
                        "{what}: heading line `{line}` ({w:.2} mm) fits its cell ({length:.2} mm)"
                    );
                }
                let need = lines.len() as f64 * size * HEAD_LINE;
                assert!(
                    need <= across + EPS,
                    "{what}: heading `{text}` ({} lines, {need:.2} mm) fits its cell ({across:.2} mm)",
                    lines.len()
                );
                assert!(size >= metrics::pt(5.0) - EPS, "{what}: heading `{text}` is at least 5 pt");
            } else {
                let bold = tr.has_class("total");
                let inner = cell_w - PX - 2.0 * CELL_PAD_H;
                let lines = metrics::wrap(&text, inner, metrics::pt(BODY_SIZE_PT), bold);
                let need = lines.len() as f64 * BODY_LINE + 2.0 * CELL_PAD_V;
                assert!(
                    text.is_empty() || need <= h + EPS,
                    "{what}: `{text}` needs {} lines ({need:.2} mm) in a cell {h:.2} mm high",
                    lines.len()
                );
            }
        }
        height += row_h;
    }
    if let Some(standards) = page.find_all(|e| e.has_class("standards")).first() {
        let h = style_mm(standards, "height");
        let lines = metrics::wrap(&standards.all_text(), table_w, metrics::pt(7.5), true);
        assert!(lines.len() as f64 * 3.6 <= h + EPS, "{what}: the service standards fit their box");
        height += h + 2.0;
    }
    assert!(
        height <= PRINTABLE_H + EPS,
        "{what}: the page ({height:.2} mm) fits the printable height ({PRINTABLE_H} mm)"
    );
    // The flowchart: as high as the rows it spans, as wide as the actor columns.
    let svg = page.find_all(|e| e.name == "svg" && e.has_class("sop-flowchart"))[0];
    let flow = table.find_all(|e| e.name == "td" && e.has_class("flow"))[0];
    let first: usize = flow.attr("data-col").unwrap().parse().unwrap();
    let span: usize = flow.attr("colspan").unwrap().parse().unwrap();
    let actors_w: f64 = widths[first..first + span].iter().sum();
    assert!((style_mm(svg, "width") - actors_w).abs() < 0.01, "{what}: the flowchart fills the actor columns");
    let body_rows: f64 = table
        .find_all(|e| e.name == "tr" && (e.has_class("step") || e.has_class("band")))
        .iter()
        .map(|tr| {
            tr.find_all(|e| e.name == "div" && e.has_class("c"))
                .iter()
                .map(|d| style_mm(d, "height"))
                .fold(0.0, f64::max)
                + PX
        })
        .sum();
    assert!((style_mm(svg, "height") - body_rows).abs() < 0.02, "{what}: the flowchart is as high as its rows");
    (check_sheet(what, svg), height)
}

#[test]
fn the_document_css_is_what_the_layout_checks_assume() {
    let path = Path::new(ROOT).join("sop/lks-lksa.sop");
    let html = render(&compile(&path).unwrap(), Format::Html, Lang::Id);
    for rule in [
        "@page { size: A4 landscape; margin: 10mm; }",
        "font-size: 7pt;",
        "line-height: 3.2mm;",
        "padding: 1.1mm 1mm;",
        "padding: 0 0.5mm;",
        "line-height: 1.2;",
        "overflow-wrap: anywhere;",
        "writing-mode: vertical-rl; transform: rotate(180deg); padding: 0.5mm 0;",
    ] {
        assert!(html.contains(rule), "the CSS has `{rule}`");
    }
}

#[test]
fn every_page_of_every_sop_is_laid_out_clean() {
    let mut report = Vec::new();
    for path in layout_sops() {
        let Some(sop) = compile(&path) else { continue };
        for lang in [Lang::Id, Lang::En] {
            let name = format!("{} ({lang:?})", path.strip_prefix(ROOT).unwrap_or(&path).display());
            let doc = parse_xml(&render(&sop, Format::Html, lang));
            let pages = doc.find_all(|e| e.name == "section" && e.has_class("flow-page"));
            let mut labels = 0;
            let mut texts = 0;
            let mut segments = 0;
            for (i, page) in pages.iter().enumerate() {
                let (counted, _) = check_table_page(&format!("{name} page {}", i + 2), page);
                labels += counted.labels;
                texts += counted.texts;
                segments += counted.segments;
            }
            let svg = parse_xml(&render(&sop, Format::Svg, lang));
            let svg = svg.children.iter().find(|e| e.name == "svg").unwrap();
            check_sheet(&format!("{name} --to svg"), svg);
            check_svg_header(&format!("{name} --to svg"), svg);
            report.push(format!(
                "{name}: {} actors, {} table pages, {labels} route labels, {texts} texts, {segments} line segments",
                sop.actors.len(),
                pages.len()
            ));
        }
    }
    println!("{}", report.join("\n"));
}

/// The standalone SVG's title and actor headings stay inside their boxes.
fn check_svg_header(what: &str, svg: &El) {
    let view = view_box(svg);
    let headers: Vec<Box2> =
        svg.find_all(|e| e.name == "rect" && e.has_class("actor-header")).into_iter().map(rect_box).collect();
    for text in svg.find_all(|e| e.name == "text" && e.has_class("actor-heading")) {
        let b = text_box(text);
        assert!(headers.iter().any(|h| b.inside(h)), "{what}: heading `{}` ({b:?}) is inside its box", text.all_text());
    }
    for text in svg.find_all(|e| e.name == "text" && e.has_class("title")) {
        assert!(text_box(text).inside(&view), "{what}: the title is inside the drawing");
    }
}

/// The large fixture shows each defect the layout had: this is what the test above catches.
#[test]
fn the_large_fixture_is_large() {
    let sop = compile(&Path::new(ROOT).join("tests/layout/pbg-14-pelaksana.sop")).unwrap();
    assert!(sop.actors.len() >= 14);
    assert!(sop.actors.iter().any(|a| a.label == "Kepala Bidang Pelayanan Perizinan dan Non Perizinan"));
    let doc = parse_xml(&render(&sop, Format::Html, Lang::Id));
    assert!(doc.find_all(|e| e.name == "section" && e.has_class("flow-page")).len() >= 2, "several table pages");
    assert!(doc.find_all(|e| e.has_class("connector")).len() >= 2, "off-page connectors");
    assert!(doc.find_all(|e| e.has_class("rework")).len() >= 2, "return routes");
}

// ---- Chromium: the printed pages ----

/// A PGM (P5) image: width, height, 8-bit grey pixels.
struct Grey {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Grey {
    fn read(path: &Path) -> Grey {
        let bytes = std::fs::read(path).unwrap();
        // Header: "P5\n<w> <h>\n255\n" (pdftoppm writes no comments).
        let mut fields = Vec::new();
        let mut pos = 0;
        while fields.len() < 4 {
            while bytes[pos].is_ascii_whitespace() {
                pos += 1;
            }
            let start = pos;
            while !bytes[pos].is_ascii_whitespace() {
                pos += 1;
            }
            fields.push(String::from_utf8(bytes[start..pos].to_vec()).unwrap());
        }
        assert_eq!(fields[0], "P5");
        let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        let px = bytes[pos + 1..].to_vec();
        assert_eq!(px.len(), w * h);
        Grey { w, h, px }
    }
    fn ink(&self, x: usize, y: usize) -> bool {
        self.px[y * self.w + x] < 160
    }
}

/// Prints every SOP with Chromium and looks at the pages: as many as the layout made, A4
/// landscape, no ink in the margins (nothing pushed off the printable area), the table's right
/// and bottom borders drawn where the layout put them; then measures the document in Chromium
/// itself: no cell or page overflows, and every text of the flowcharts lies inside the box the
/// layout test measured for it.
#[test]
fn chromium_prints_every_sop_on_the_pages_laid_out_with_nothing_clipped() {
    let Some(chromium) = chromium() else {
        assert!(!must_not_skip(), "Chromium is not installed (apt-get install -y chromium)");
        println!("SKIPPED: Chromium is not installed (apt-get install -y chromium)");
        return;
    };
    if Process::new("pdftoppm").arg("-v").output().is_err() {
        assert!(!must_not_skip(), "pdftoppm is not installed (apt-get install -y poppler-utils)");
        println!("SKIPPED: pdftoppm is not installed (apt-get install -y poppler-utils)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile");
    let mut report = Vec::new();
    for path in layout_sops() {
        if compile(&path).is_none() {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let html_path = dir.path().join(format!("{stem}.html"));
        let pdf = dir.path().join(format!("{stem}.pdf"));
        let out = alur().args(["render", "--to", "html", "-o"]).arg(&html_path).arg(&path).output().unwrap();
        assert!(out.status.success(), "{stem}: {}", String::from_utf8_lossy(&out.stderr));
        let html = std::fs::read_to_string(&html_path).unwrap();
        let doc = parse_xml(&html);
        let sheets = doc.find_all(|e| e.name == "section" && e.has_class("sheet"));
        let out = Process::new(chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-pdf-header-footer"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(format!("file://{}", html_path.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let pdf_text = String::from_utf8_lossy(&std::fs::read(&pdf).unwrap()).to_string();
        assert!(pdf_text.contains("/MediaBox [0 0 841.91998 594.95996]"), "{stem}: A4 landscape");
        assert!(pdf_text.contains(&format!("/Count {}\n", sheets.len())), "{stem}: printed on {} pages", sheets.len());
        // 100 dpi, grey: 1169 x 827 pixels a page, a pixel is 0.254 mm.
        const DPI: f64 = 100.0;
        let mm = |v: f64| v / 25.4 * DPI;
        let prefix = dir.path().join(&stem);
        let out = Process::new("pdftoppm").args(["-r", "100", "-gray"]).arg(&pdf).arg(&prefix).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        for (i, sheet) in sheets.iter().enumerate() {
            let image = Grey::read(&dir.path().join(format!("{stem}-{}.pgm", i + 1)));
            let page = format!("{stem} page {}", i + 1);
            // No ink in the outer 9 mm of the page (the margin is 10 mm).
            let margin = mm(9.0) as usize;
            for y in 0..image.h {
                for x in 0..image.w {
                    let in_margin = x < margin || y < margin || x >= image.w - margin || y >= image.h - margin;
                    assert!(!(in_margin && image.ink(x, y)), "{page}: ink at ({x}, {y}) px, in the margin");
                }
            }
            if !sheet.has_class("flow-page") {
                continue;
            }
            // The table's right border: a dark column of pixels where the layout puts it, from the
            // table's top to its bottom; its bottom border likewise.
            let table = sheet.find_all(|e| e.name == "table" && e.has_class("sop"))[0];
            let table_w: f64 = column_widths(table).iter().sum();
            let (_, page_h) = check_table_page(&page, sheet);
            let standards =
                sheet.find_all(|e| e.has_class("standards")).first().map_or(0.0, |s| style_mm(s, "height") + 2.0);
            let (top, bottom) = (mm(10.0 + 8.0), mm(10.0 + page_h - standards));
            let right = mm(10.0 + table_w);
            assert!(
                (bottom as usize) + 3 < image.h && (right as usize) + 3 < image.w,
                "{page}: the table ({right:.0} x {bottom:.0} px) ends on the page ({} x {} px)",
                image.w,
                image.h
            );
            let column_drawn = |x: usize| {
                let inked = (top as usize + 3..bottom as usize - 3).filter(|&y| image.ink(x, y)).count();
                inked as f64 >= 0.97 * (bottom - top - 6.0)
            };
            let near = |v: f64| (v.round() as usize).saturating_sub(2)..=(v.round() as usize + 2);
            assert!(near(right).any(column_drawn), "{page}: the table's right border is drawn at {right:.0} px");
            let row_drawn = |y: usize| {
                let inked = (mm(12.0) as usize..right as usize - 3).filter(|&x| image.ink(x, y)).count();
                inked as f64 >= 0.97 * (right - mm(12.0) - 3.0)
            };
            assert!(near(bottom).any(row_drawn), "{page}: the table's bottom border is drawn at {bottom:.0} px");
        }
        // In Chromium itself: nothing overflows its cell or page, and every flowchart text is
        // drawn inside the box the layout measured.
        let measured = measure_in_chromium(chromium, &html, dir.path());
        let failures = measured["overflow"].as_array().unwrap();
        assert!(failures.is_empty(), "{stem}: overflowing in Chromium: {failures:?}");
        let drawn = measured["texts"].as_array().unwrap();
        let expected: Vec<Box2> = doc
            .find_all(|e| e.name == "svg" && e.has_class("sop-flowchart"))
            .into_iter()
            .flat_map(|svg| svg.find_all(|e| e.name == "text"))
            .map(text_box)
            .collect();
        assert_eq!(drawn.len(), expected.len(), "{stem}: every text measured");
        for (real, bound) in drawn.iter().zip(&expected) {
            let r = |k: &str| real[k].as_f64().unwrap();
            let real_box = Box2::new(r("x"), r("y"), r("x") + r("w"), r("y") + r("h"));
            // getBBox's height is the font's line box (ascent + descent + line gap); only the
            // horizontal extent is the glyphs' (an italic glyph may lean 0.1 mm past its start,
            // less than the 0.2 mm every label keeps clear).
            assert!(
                real_box.x0 >= bound.x0 - 0.1 && real_box.x1 <= bound.x1 + 0.1,
                "{stem}: `{}` is drawn from {:.2} to {:.2} mm, outside its measured {:.2} to {:.2} mm",
                real["text"],
                real_box.x0,
                real_box.x1,
                bound.x0,
                bound.x1
            );
        }
        report.push(format!("{stem}: {} pages printed, {} texts measured in Chromium", sheets.len(), drawn.len()));
    }
    println!("{}", report.join("\n"));
}

/// Loads the document in Chromium with a script that reports every element that overflows
/// (cells, headings, pages) and the box of every text in the flowcharts, in SVG units.
fn measure_in_chromium(chromium: &str, html: &str, dir: &Path) -> serde_json::Value {
    const SCRIPT: &str = r#"<script>
window.addEventListener('load', () => {
  const overflow = [];
  for (const el of document.querySelectorAll('.sheet, td .c, th .hc')) {
    if (el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1)
      overflow.push({ cls: el.className, text: el.textContent.slice(0, 60), sh: el.scrollHeight, ch: el.clientHeight, sw: el.scrollWidth, cw: el.clientWidth });
  }
  const texts = [];
  for (const t of document.querySelectorAll('svg.sop-flowchart text')) {
    const b = t.getBBox();
    texts.push({ text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height });
  }
  document.getElementById('alur-result').textContent = 'RESULT ' + JSON.stringify({ overflow, texts });
});
</script><pre id="alur-result">PENDING</pre>"#;
    let page = dir.join("measure.html");
    std::fs::write(&page, html.replace("</body>", &format!("{SCRIPT}</body>"))).unwrap();
    let out = Process::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--virtual-time-budget=5000"])
        // At 8 device pixels to the CSS pixel glyph advances are not rounded to whole screen
        // pixels (which widens small text on a screen by up to half a pixel a glyph), as in print.
        .arg("--force-device-scale-factor=8")
        .arg(format!("--user-data-dir={}", dir.join("profile-measure").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = dom
        .split("<pre id=\"alur-result\">RESULT ")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("no result from the page"));
    let json = json.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}
