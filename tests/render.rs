//! `alur render`: the official SOP document, its flowchart, the state graph diagrams and BPMN.
//! The SVG, HTML and BPMN are parsed back as XML and checked for structure: one symbol per step
//! in its actor's column and its own row, every route drawn, every decision outcome labelled.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use alur::compile::{compile_path, Options};
use alur::diagnostic::Lang;
use alur::model::{Node, Sop};
use alur::render::{render, Format};
use assert_cmd::Command;
use petgraph::visit::EdgeRef;
use quick_xml::events::Event;
use quick_xml::Reader;

pub(crate) const ROOT: &str = env!("CARGO_MANIFEST_DIR");

pub(crate) fn alur() -> Command {
    let mut cmd = Command::cargo_bin("alur").unwrap();
    cmd.env("LANG", "id_ID.UTF-8").env_remove("LC_ALL").env_remove("LC_MESSAGES");
    cmd
}

pub(crate) fn sop_path(name: &str) -> PathBuf {
    Path::new(ROOT).join("sop").join(name)
}

pub(crate) fn compile(path: &Path) -> Sop {
    let compiled = compile_path(path, &Options::default());
    assert!(!compiled.has_errors(), "{} has errors", path.display());
    compiled.sop.unwrap()
}

/// The SOPs in `sop/` (not the calendars or the shared fragments).
pub(crate) fn shipped_sops() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("sop"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sop"))
        .collect();
    out.sort();
    assert!(out.len() >= 4);
    out
}

/// Whether a test that needs an installed tool must fail rather than skip.
pub(crate) fn must_not_skip() -> bool {
    std::env::var("ALUR_CI").is_ok_and(|v| v == "1")
}

// ---- a tiny XML tree, read with quick-xml (malformed markup fails the test) ----

#[derive(Clone, Debug, Default)]
pub(crate) struct El {
    pub(crate) name: String,
    pub(crate) attrs: HashMap<String, String>,
    pub(crate) children: Vec<El>,
    pub(crate) text: String,
}

impl El {
    pub(crate) fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).map(String::as_str)
    }

    pub(crate) fn num(&self, key: &str) -> f64 {
        self.attr(key).unwrap_or_else(|| panic!("<{}> has no {key}", self.name)).parse().unwrap()
    }

    pub(crate) fn has_class(&self, class: &str) -> bool {
        self.attr("class").is_some_and(|c| c.split_whitespace().any(|x| x == class))
    }

    pub(crate) fn all(&self) -> Vec<&El> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.all());
        }
        out
    }

    pub(crate) fn find_all(&self, pred: impl Fn(&El) -> bool) -> Vec<&El> {
        self.all().into_iter().filter(|e| pred(e)).collect()
    }

    pub(crate) fn all_text(&self) -> String {
        let mut s = self.text.clone();
        for c in &self.children {
            s.push_str(&c.all_text());
        }
        s
    }
}

pub(crate) fn parse_xml(text: &str) -> El {
    let mut reader = Reader::from_str(text);
    let mut stack = vec![El { name: "#document".into(), ..El::default() }];
    let element = |e: &quick_xml::events::BytesStart| El {
        name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (String::from_utf8(a.key.as_ref().to_vec()).unwrap(), a.unescape_value().unwrap().into_owned())
            })
            .collect(),
        ..El::default()
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => stack.push(element(&e)),
            Ok(Event::Empty(e)) => {
                let el = element(&e);
                stack.last_mut().unwrap().children.push(el);
            }
            Ok(Event::End(_)) => {
                let el = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(el);
            }
            Ok(Event::Text(t)) => stack.last_mut().unwrap().text.push_str(&t.unescape().unwrap()),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at {}: {e}", reader.buffer_position()),
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    stack.pop().unwrap()
}

// ---- geometry of the flowchart ----

#[derive(Clone, Copy, Debug)]
struct Bbox {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Bbox {
    fn center(&self) -> (f64, f64) {
        ((self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0)
    }
    fn contains(&self, (x, y): (f64, f64)) -> bool {
        x >= self.x0 - 0.01 && x <= self.x1 + 0.01 && y >= self.y0 - 0.01 && y <= self.y1 + 0.01
    }
    fn on_edge(&self, p: (f64, f64)) -> bool {
        let near = |a: f64, b: f64| (a - b).abs() < 0.05;
        self.contains(p) && (near(p.0, self.x0) || near(p.0, self.x1) || near(p.1, self.y0) || near(p.1, self.y1))
    }
}

fn rect_box(e: &El) -> Bbox {
    let (x, y) = (e.num("x"), e.num("y"));
    Bbox { x0: x, y0: y, x1: x + e.num("width"), y1: y + e.num("height") }
}

fn points(e: &El) -> Vec<(f64, f64)> {
    e.attr("points")
        .unwrap()
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

/// The bounding box of a symbol's shape (its rect or polygon).
fn symbol_box(g: &El) -> Bbox {
    let shape = g.children.iter().find(|c| c.name == "rect" || c.name == "polygon").unwrap();
    if shape.name == "rect" {
        return rect_box(shape);
    }
    let pts = points(shape);
    Bbox {
        x0: pts.iter().map(|p| p.0).fold(f64::MAX, f64::min),
        y0: pts.iter().map(|p| p.1).fold(f64::MAX, f64::min),
        x1: pts.iter().map(|p| p.0).fold(f64::MIN, f64::max),
        y1: pts.iter().map(|p| p.1).fold(f64::MIN, f64::max),
    }
}

/// Checks one flowchart sheet: each step drawn on it has exactly one symbol, inside the column
/// of its (first) actor and inside its own row. Returns the steps drawn, in order.
fn check_symbols(sop: &Sop, svg: &El) -> Vec<String> {
    let lanes: HashMap<String, Bbox> = svg
        .find_all(|e| e.name == "rect" && e.has_class("lane"))
        .into_iter()
        .map(|e| (e.attr("data-actor").unwrap().to_string(), rect_box(e)))
        .collect();
    assert_eq!(lanes.len(), sop.actors.len(), "one column per actor");
    let rows: Vec<(String, Bbox)> = svg
        .find_all(|e| e.name == "rect" && e.has_class("row"))
        .into_iter()
        .map(|e| (e.attr("data-step").unwrap().to_string(), rect_box(e)))
        .collect();
    let symbols = svg.find_all(|e| e.name == "g" && e.has_class("symbol"));
    assert_eq!(symbols.len(), rows.len(), "one symbol per row");
    for (step_id, row) in &rows {
        let of_step: Vec<&&El> = symbols.iter().filter(|g| g.attr("data-step") == Some(step_id)).collect();
        assert_eq!(of_step.len(), 1, "step {step_id} has one symbol");
        let step = sop.step(step_id).unwrap();
        let actor = step.actor_ids().next().unwrap();
        let center = symbol_box(of_step[0]).center();
        assert!(lanes[actor].contains(center), "step {step_id} is drawn in the column of {actor}");
        assert!(row.contains(center), "step {step_id} is drawn in its own row");
        let expected = if step.decision.is_some() { "decision" } else { "" };
        if !expected.is_empty() {
            assert!(of_step[0].has_class(expected), "step {step_id} with a decision is a diamond");
        }
    }
    rows.into_iter().map(|(s, _)| s).collect()
}

fn svg_of(sop: &Sop, lang: Lang) -> El {
    let text = render(sop, Format::Svg, lang);
    let doc = parse_xml(&text);
    doc.children.into_iter().find(|e| e.name == "svg").unwrap()
}

#[test]
fn flowchart_svg_draws_one_symbol_per_step_in_its_actor_column_and_row() {
    let sop = compile(&sop_path("lks-lksa.sop"));
    let svg = svg_of(&sop, Lang::Id);
    let drawn = check_symbols(&sop, &svg);
    let ids: Vec<&str> = sop.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(drawn, ids, "rows follow the steps in written order");
    let kind = |id: &str| {
        let g = svg.find_all(|e| e.has_class("symbol") && e.attr("data-step") == Some(id))[0].clone();
        ["terminator", "process", "decision"].into_iter().find(|k| g.has_class(k)).unwrap()
    };
    assert_eq!(kind("ajukan"), "terminator", "the first activity is a capsule");
    assert_eq!(kind("terima_izin"), "terminator", "the last activity is a capsule");
    assert_eq!(kind("verifikasi"), "decision");
    for id in ["terima_berkas", "rekomendasi_teknis", "proses_draft", "paraf_kabid", "tanda_tangan"] {
        assert_eq!(kind(id), "process", "{id}");
    }
}

/// Every route between steps in the state graph, folded through decisions, gates, splits and
/// joins: (from, to, outcome names on the way).
fn expected_routes(sop: &Sop) -> Vec<(String, String, Vec<String>)> {
    let graph = &sop.flow.graph;
    let mut out = Vec::new();
    for (i, &node) in sop.flow.step_nodes.iter().enumerate() {
        let mut todo: Vec<(petgraph::graph::NodeIndex, Vec<String>)> = vec![(node, Vec::new())];
        let mut seen = std::collections::HashSet::new();
        while let Some((n, outcomes)) = todo.pop() {
            for e in graph.edges(n) {
                if matches!(e.weight(), alur::model::Edge::Deadline) {
                    continue;
                }
                let mut o = outcomes.clone();
                if let alur::model::Edge::Outcome { name, .. } = e.weight() {
                    o.push(name.replace('_', " "));
                }
                match graph.node_weight(e.target()).unwrap() {
                    Node::Step { step } => {
                        out.push((sop.steps[i].id.name.clone(), sop.steps[*step].id.name.clone(), o))
                    }
                    Node::End { end } => out.push((sop.steps[i].id.name.clone(), sop.ends[*end].id.name.clone(), o)),
                    _ => {
                        if seen.insert(e.target()) {
                            todo.push((e.target(), o));
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_route_is_drawn_from_symbol_to_symbol_and_decision_outcomes_are_labelled() {
    for path in shipped_sops() {
        let sop = compile(&path);
        let svg = svg_of(&sop, Lang::Id);
        let groups = svg.find_all(|e| e.name == "g" && e.has_class("route"));
        let symbol = |id: &str| {
            let g = svg.find_all(|e| e.has_class("symbol") && e.attr("data-step") == Some(id));
            symbol_box(g[0])
        };
        for (from, to, outcomes) in expected_routes(&sop) {
            let group = groups
                .iter()
                .find(|g| g.attr("data-from") == Some(&from) && g.attr("data-to") == Some(&to))
                .unwrap_or_else(|| panic!("{}: no route drawn from {from} to {to}", path.display()));
            let label = group.attr("data-label").unwrap();
            let shown = group.find_all(|e| e.has_class("route-label")).iter().map(|e| e.all_text()).collect::<String>();
            for outcome in &outcomes {
                assert!(label.contains(outcome.as_str()), "{from} -> {to} is labelled `{outcome}`: `{label}`");
                assert!(shown.contains(outcome.as_str()), "{from} -> {to} shows the label `{outcome}`");
            }
            if sop.step(&to).is_none() {
                continue; // to an end: the capsule itself, or a short labelled arrow
            }
            let line = group.find_all(|e| e.name == "polyline" && e.has_class("arrow"));
            assert_eq!(line.len(), 1, "{from} -> {to} is one arrow");
            let pts = points(line[0]);
            assert!(pts.len() >= 2);
            assert!(symbol(&from).on_edge(pts[0]), "{from} -> {to} starts on the symbol of {from}");
            assert!(symbol(&to).on_edge(*pts.last().unwrap()), "{from} -> {to} ends on the symbol of {to}");
            for w in pts.windows(2) {
                let orthogonal = (w[0].0 - w[1].0).abs() < 0.01 || (w[0].1 - w[1].1).abs() < 0.01;
                assert!(orthogonal, "{from} -> {to}: segments run along the grid");
            }
        }
    }
}

#[test]
fn the_return_route_goes_back_up_and_is_labelled() {
    let sop = compile(&sop_path("lks-lksa.sop"));
    let svg = svg_of(&sop, Lang::Id);
    let back = svg.find_all(|e| e.has_class("route") && e.has_class("rework"));
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].attr("data-from"), Some("verifikasi"));
    assert_eq!(back[0].attr("data-to"), Some("ajukan"));
    assert_eq!(back[0].find_all(|e| e.has_class("route-label"))[0].text, "ditolak");
    let pts = points(back[0].find_all(|e| e.name == "polyline")[0]);
    assert!(pts.last().unwrap().1 < pts[0].1, "the return arrow ends above where it starts");
}

/// Issue 22 shape 4: a hand-off chain is one row of the table, a symbol in each desk's actor
/// column joined in order by arrows; routes enter at the first desk and leave from the last,
/// where the decision's diamond is.
#[test]
fn a_hand_off_chain_is_one_row_with_a_symbol_per_desk_joined_by_arrows() {
    let sop = compile(&Path::new(ROOT).join("tests/flow/rantai-meja.sop"));
    let svg = svg_of(&sop, Lang::Id);
    let rows: Vec<&str> =
        svg.find_all(|e| e.name == "rect" && e.has_class("row")).iter().filter_map(|e| e.attr("data-step")).collect();
    assert_eq!(rows, ["ajukan", "disposisi", "paraf"], "one row per row of the table");
    let row = rect_box(svg.find_all(|e| e.has_class("row") && e.attr("data-step") == Some("disposisi"))[0]);
    let lane = |actor: &str| rect_box(svg.find_all(|e| e.has_class("lane") && e.attr("data-actor") == Some(actor))[0]);
    let desks = svg.find_all(|e| e.name == "g" && e.has_class("symbol") && e.attr("data-step") == Some("disposisi"));
    let drawn: Vec<(&str, &str, &str)> = desks
        .iter()
        .map(|g| {
            let kind = ["terminator", "process", "decision"].into_iter().find(|k| g.has_class(k)).unwrap();
            (g.attr("data-desk").unwrap(), g.attr("data-actor").unwrap(), kind)
        })
        .collect();
    assert_eq!(drawn, [("1", "kabid", "process"), ("2", "kasi", "process"), ("3", "back_office", "decision")]);
    for g in &desks {
        let center = symbol_box(g).center();
        assert!(lane(g.attr("data-actor").unwrap()).contains(center) && row.contains(center));
    }
    let desk = |n: &str| symbol_box(desks.iter().find(|g| g.attr("data-desk") == Some(n)).unwrap());
    let hand_offs: Vec<((f64, f64), (f64, f64))> = svg
        .find_all(|e| e.name == "line" && e.has_class("hand-off") && e.attr("data-step") == Some("disposisi"))
        .iter()
        .map(|l| ((l.num("x1"), l.num("y1")), (l.num("x2"), l.num("y2"))))
        .collect();
    assert_eq!(hand_offs.len(), 2);
    assert!(desk("1").on_edge(hand_offs[0].0) && desk("2").on_edge(hand_offs[0].1), "{hand_offs:?}");
    assert!(desk("2").on_edge(hand_offs[1].0) && desk("3").on_edge(hand_offs[1].1), "{hand_offs:?}");
    let route = |from: &str, to: &str| {
        let g = svg
            .find_all(|e| e.has_class("route") && e.attr("data-from") == Some(from) && e.attr("data-to") == Some(to));
        points(g[0].find_all(|e| e.name == "polyline")[0])
    };
    assert!(desk("1").on_edge(*route("ajukan", "disposisi").last().unwrap()), "a route enters the first desk");
    assert!(desk("3").on_edge(route("disposisi", "paraf")[0]), "a route leaves from the last desk");
}

fn html_of(path: &Path, lang: Lang) -> El {
    let sop = compile(path);
    parse_xml(&render(&sop, Format::Html, lang))
}

#[test]
fn html_document_has_the_identity_block_the_table_and_the_total() {
    let doc = html_of(&sop_path("izin-reklame.sop"), Lang::Id);
    let sop = compile(&sop_path("izin-reklame.sop"));
    let text = doc.all_text();
    for label in [
        "Nomor SOP",
        "Tanggal Pembuatan",
        "Tanggal Revisi",
        "Tanggal Efektif",
        "Disahkan oleh",
        "Nama SOP",
        "Dasar Hukum",
        "Keterkaitan",
        "Peringatan",
        "Kualifikasi Pelaksana",
        "Peralatan/Perlengkapan",
        "Pencatatan dan Pendataan",
    ] {
        assert!(text.contains(label), "identity block has `{label}`");
    }
    for value in
        ["800/017/SOP/DPMPTSP/2026", "12 Februari 2024", "5 Januari 2026", "2 Februari 2026", "197001011990031001"]
    {
        assert!(text.contains(value), "identity block shows `{value}`");
    }
    for basis in &sop.header.legal_basis {
        assert!(text.contains(basis.as_str()));
    }
    // The table: headings, one column per actor, one row per step with its cells.
    let tables = doc.find_all(|e| e.name == "table" && e.has_class("sop"));
    assert!(!tables.is_empty());
    for table in &tables {
        let heads: Vec<String> = table.find_all(|e| e.name == "th").iter().map(|e| e.all_text()).collect();
        for h in ["No", "Kegiatan", "Pelaksana", "Mutu Baku", "Kelengkapan", "Waktu", "Output", "Keterangan"] {
            assert!(heads.iter().any(|x| x == h), "table heading `{h}`");
        }
        let actors: Vec<&str> =
            table.find_all(|e| e.has_class("actor")).iter().map(|e| e.attr("data-actor").unwrap()).collect();
        let expected: Vec<&str> = sop.actors.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(actors, expected, "one column per Pelaksana, in declared order");
    }
    let rows: Vec<&El> = doc.find_all(|e| e.name == "tr" && e.has_class("step"));
    assert_eq!(rows.len(), sop.steps.len());
    for (row, step) in rows.iter().zip(&sop.steps) {
        assert_eq!(row.attr("data-step"), Some(step.id.as_str()));
        let cell = |class: &str| row.find_all(|e| e.name == "td" && e.has_class(class))[0].all_text();
        assert_eq!(cell("no"), step.number);
        assert_eq!(cell("activity"), step.activity);
        assert_eq!(cell("time"), step.duration.as_ref().unwrap().cell(Lang::Id));
    }
    let total = doc.find_all(|e| e.has_class("total-time"));
    assert_eq!(total.len(), 1, "one total row");
    assert_eq!(total[0].all_text(), "1 Hari 5 Jam 30 Menit (2 Hari)");
}

#[test]
fn html_flowchart_pages_hold_their_rows_and_connectors_pair_up_across_breaks() {
    for path in shipped_sops() {
        let sop = compile(&path);
        let doc = html_of(&path, Lang::Id);
        let sheets = doc.find_all(|e| e.name == "svg" && e.has_class("sop-flowchart"));
        let mut drawn = Vec::new();
        let mut outs: Vec<String> = Vec::new();
        let mut ins: Vec<String> = Vec::new();
        for svg in &sheets {
            drawn.extend(check_symbols(&sop, svg));
            for c in svg.find_all(|e| e.has_class("connector")) {
                assert_eq!(
                    c.find_all(|e| e.name == "polygon")[0].attr("points").unwrap().split(' ').count(),
                    5,
                    "a pentagon"
                );
                let letter = c.attr("data-letter").unwrap().to_string();
                match c.attr("data-direction") {
                    Some("out") => outs.push(letter),
                    _ => ins.push(letter),
                }
            }
        }
        let ids: Vec<String> = sop.steps.iter().map(|s| s.id.name.clone()).collect();
        assert_eq!(drawn, ids, "{}: every step on exactly one page, in order", path.display());
        outs.sort();
        ins.sort();
        assert_eq!(outs, ins, "{}: each off-page connector has its other half", path.display());
        // The table rows on each page sit beside that page's flowchart.
        let pages = doc.find_all(|e| e.name == "section" && e.has_class("flow-page"));
        assert_eq!(pages.len(), sheets.len());
        if pages.len() > 1 {
            assert!(!outs.is_empty(), "{}: a table over several pages has connectors", path.display());
        }
    }
}

#[test]
fn page_labels_are_in_english_with_lang_en() {
    let doc = html_of(&sop_path("lks-lksa.sop"), Lang::En);
    let text = doc.all_text();
    for label in
        ["SOP number", "Approved by", "Activity", "Performers", "Quality standard", "Requirements", "Total time"]
    {
        assert!(text.contains(label), "`{label}`");
    }
    assert!(!text.contains("Kegiatan"));
    let html = doc.children.iter().find(|e| e.name == "html").unwrap();
    assert_eq!(html.attr("lang"), Some("en"));
    let out = alur().args(["render", "--to", "html", "--lang", "en"]).arg(sop_path("lks-lksa.sop")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Total time"));
    let out = alur().args(["render", "--to", "html"]).arg(sop_path("lks-lksa.sop")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Jumlah Waktu"), "Bahasa Indonesia by default");
}

const TRICKY: &str = r#"sop tricky "Izin <Usaha> & Reklame" {
    instansi "Dinas A & B <Kota>"
    nomor    "1/<2>&3"
    pelaksana {
        pemohon "Pemohon & Kuasa" pemohon
        fo      "Front <Office>" staf
    }
    dokumen {
        berkas "Berkas <asli> & salinan"
    }
    langkah 1 ajukan oleh pemohon {
        kegiatan    "Mengajukan jika nilai < 5 & <script>alert(1)</script>"
        kelengkapan berkas
        waktu       10 menit
        output      data "Data <b>elektronik</b> & 'kutip'"
    }
    langkah 2 periksa oleh fo {
        kegiatan    "Memeriksa a<b & c>d"
        kelengkapan data
        waktu       5 menit
        output      hasil "Hasil"
        keterangan  "Catatan: <i>bukan tag</i> & lainnya"
        keputusan {
            diterima -> lanjut
            ditolak  -> kembali ke ajukan, jam berhenti
        }
    }
}
"#;

#[test]
fn text_with_markup_characters_is_escaped_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tricky.sop");
    std::fs::write(&path, TRICKY).unwrap();
    let sop = compile(&path);
    let activity = "Mengajukan jika nilai < 5 & <script>alert(1)</script>";
    for lang in [Lang::Id, Lang::En] {
        let html = render(&sop, Format::Html, lang);
        assert!(!html.contains("<script>"), "no live markup from the SOP text");
        let doc = parse_xml(&html);
        assert!(doc.find_all(|e| e.name == "script" || e.name == "i").is_empty(), "no element from the SOP text");
        assert!(doc.find_all(|e| e.name == "b" && e.all_text().contains("elektronik")).is_empty());
        let text = doc.all_text();
        for s in [
            activity,
            "Memeriksa a<b & c>d",
            "Izin <Usaha> & Reklame",
            "Front <Office>",
            "Catatan: <i>bukan tag</i> & lainnya",
        ] {
            assert!(text.contains(s), "`{s}` reads back verbatim");
        }
        let svg = parse_xml(&render(&sop, Format::Svg, lang));
        assert!(svg.all_text().contains("Izin <Usaha> & Reklame"));
        let bpmn = parse_xml(&render(&sop, Format::Bpmn, lang));
        let tasks = bpmn.find_all(|e| e.name == "bpmn:userTask");
        assert!(tasks.iter().any(|t| t.attr("name") == Some(&format!("1. {activity}"))));
    }
    let mermaid = render(&sop, Format::Mermaid, Lang::Id);
    assert!(!mermaid.contains("<script>") && mermaid.contains("#lt;script#gt;"));
    let dot = render(&sop, Format::Dot, Lang::Id);
    assert!(dot.contains("Mengajukan jika nilai < 5 & <script>"), "DOT strings are quoted, not HTML labels");
    assert!(!dot.contains("label=<"), "no HTML-like DOT labels");
    let md = render(&sop, Format::Md, Lang::Id);
    assert!(!md.contains("<script>") && md.contains("&lt;script&gt;"));
}

#[test]
fn every_shipped_sop_renders_in_every_format_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    for path in shipped_sops() {
        for format in ["html", "svg", "mermaid", "dot", "bpmn", "md"] {
            let out = alur().args(["render", "--to", format]).arg(&path).output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{} --to {format}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.stdout.len() > 200, "{} --to {format} printed something", path.display());
            let file = dir.path().join(format!("out.{format}"));
            let written = alur().args(["render", "--to", format, "-o"]).arg(&file).arg(&path).output().unwrap();
            assert_eq!(written.status.code(), Some(0));
            assert_eq!(std::fs::read(&file).unwrap(), out.stdout, "-o writes what stdout shows");
            if ["html", "svg", "bpmn"].contains(&format) {
                parse_xml(&String::from_utf8(out.stdout).unwrap());
            }
        }
    }
}

#[test]
fn render_refuses_bad_input_clearly() {
    let out = alur().args(["render", "--to", "html", "/no/such/file.sop"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file.sop"));
    let out = alur().args(["render", "--to", "pdf"]).arg(sop_path("lks-lksa.sop")).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown format is a usage error");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.sop");
    std::fs::write(&bad, "sop a \"A\" {\n pelaksana { fo \"FO\" }\n langkah 1 a oleh fx { waktu 1 menit }\n}\n")
        .unwrap();
    let out = alur().args(["render", "--to", "html"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("E103") && err.contains("alur check"), "{err}");
    assert!(out.stdout.is_empty(), "nothing rendered from a file with errors");
    let out = alur().args(["render", "--to", "html"]).arg(sop_path("calendars/kantor.sop")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tidak berisi SOP"));
}

#[test]
fn mermaid_and_dot_draw_a_lane_per_actor_and_the_return_route_dashed() {
    let sop = compile(&sop_path("lks-lksa.sop"));
    let mermaid = render(&sop, Format::Mermaid, Lang::Id);
    assert!(mermaid.contains("flowchart TD"));
    for actor in &sop.actors {
        assert!(mermaid.contains(&format!("subgraph lane_{}[\"{}\"]", actor.id, actor.label)), "lane {}", actor.id);
    }
    let lane = mermaid.split("subgraph lane_pemohon").nth(1).unwrap().split("\n    end\n").next().unwrap();
    assert!(lane.contains("s_ajukan[") && lane.contains("s_terima_izin["), "the applicant's steps are in its lane");
    assert!(mermaid.contains("d_verifikasi -.->|\"ditolak\"| s_ajukan"), "the return route is dashed and labelled");
    assert!(mermaid.contains("d_verifikasi -->|\"diterima\"| s_terima_berkas"));
    // Every edge of the state graph is drawn.
    let edges = mermaid.lines().filter(|l| l.contains("-->") || l.contains("-.->")).count();
    assert_eq!(edges, sop.flow.graph.edge_count());

    let dot = render(&sop, Format::Dot, Lang::Id);
    assert!(dot.starts_with("digraph \"lks_lksa\" {"));
    for actor in &sop.actors {
        assert!(dot.contains(&format!("subgraph \"cluster_{}\"", actor.id)));
    }
    let back = dot.lines().find(|l| l.contains("\"d_verifikasi\" -> \"s_ajukan\"")).unwrap();
    assert!(back.contains("label=\"ditolak\"") && back.contains("style=dashed"), "{back}");
    assert!(dot.contains("\"d_verifikasi\" [shape=diamond"));
    assert_eq!(dot.matches(" -> ").count(), sop.flow.graph.edge_count());
}

#[test]
fn bpmn_has_lanes_tasks_gateways_conditions_durations_and_diagram_interchange() {
    let sop = compile(&sop_path("lks-lksa.sop"));
    let doc = parse_xml(&render(&sop, Format::Bpmn, Lang::Id));
    let process = doc.find_all(|e| e.name == "bpmn:process")[0].clone();
    assert_eq!(process.attr("id"), Some("lks_lksa"));
    let lanes = process.find_all(|e| e.name == "bpmn:lane");
    assert_eq!(lanes.len(), sop.actors.len(), "one lane per actor");
    let lane_of = |id: &str| -> String {
        lanes
            .iter()
            .find(|l| l.children.iter().any(|r| r.name == "bpmn:flowNodeRef" && r.text == id))
            .map(|l| l.attr("name").unwrap().to_string())
            .unwrap_or_default()
    };
    for step in &sop.steps {
        let task = process.find_all(|e| e.name == "bpmn:userTask" && e.attr("id") == Some(step.id.as_str()));
        assert_eq!(task.len(), 1, "a user task for {}", step.id);
        let actor = sop.actor(step.actor_ids().next().unwrap()).unwrap();
        assert_eq!(lane_of(step.id.as_str()), actor.label, "{} is in its actor's lane", step.id);
        let doc_text = task[0].find_all(|e| e.name == "bpmn:documentation")[0].text.clone();
        let waktu = step.duration.as_ref().unwrap();
        assert!(doc_text.contains(&waktu.cell(Lang::Id)), "{doc_text}");
        let ext = task[0].find_all(|e| e.name == "alur:waktu");
        assert_eq!(ext[0].attr("text"), Some(waktu.text.as_str()));
    }
    let ext = process.find_all(|e| e.name == "alur:waktu" && e.attr("number") == Some("4"))[0].clone();
    assert_eq!(ext.attr("iso"), Some("P4D"));
    assert_eq!(
        process.find_all(|e| e.name == "alur:waktu" && e.attr("number") == Some("1"))[0].attr("iso"),
        Some("PT30M")
    );
    let gateways = process.find_all(|e| e.name == "bpmn:exclusiveGateway");
    assert_eq!(gateways.len(), 1);
    assert_eq!(lane_of(gateways[0].attr("id").unwrap()), "Front Office");
    let flows = process.find_all(|e| e.name == "bpmn:sequenceFlow");
    let back = flows
        .iter()
        .find(|f| f.attr("sourceRef") == gateways[0].attr("id") && f.attr("targetRef") == Some("ajukan"))
        .unwrap();
    assert_eq!(back.attr("name"), Some("ditolak"));
    assert_eq!(back.find_all(|e| e.name == "bpmn:conditionExpression")[0].text, "keputusan_verifikasi == 'ditolak'");
    assert_eq!(process.find_all(|e| e.name == "bpmn:endEvent").len(), sop.ends.len());
    assert_eq!(process.find_all(|e| e.name == "bpmn:startEvent").len(), 1);
    // Diagram interchange: a shape with bounds for every flow node and lane, an edge with
    // waypoints for every sequence flow.
    let shapes = doc.find_all(|e| e.name == "bpmndi:BPMNShape");
    let nodes: Vec<&El> =
        process.children.iter().filter(|e| e.name != "bpmn:laneSet" && e.name != "bpmn:sequenceFlow").collect();
    for n in nodes.iter().map(|n| n.attr("id").unwrap()).chain(lanes.iter().map(|l| l.attr("id").unwrap())) {
        let shape = shapes.iter().find(|s| s.attr("bpmnElement") == Some(n)).unwrap_or_else(|| panic!("shape of {n}"));
        let b = shape.find_all(|e| e.name == "dc:Bounds")[0];
        assert!(b.num("width") > 0.0 && b.num("height") > 0.0);
    }
    let edges = doc.find_all(|e| e.name == "bpmndi:BPMNEdge");
    for f in &flows {
        let edge = edges.iter().find(|e| e.attr("bpmnElement") == f.attr("id")).unwrap();
        assert!(edge.find_all(|e| e.name == "di:waypoint").len() >= 2);
    }
    // Each task shape lies inside its lane's shape.
    for step in &sop.steps {
        let task = shapes.iter().find(|s| s.attr("bpmnElement") == Some(step.id.as_str())).unwrap();
        let lane_id = format!("Lane_{}", step.actor_ids().next().unwrap());
        let lane = shapes.iter().find(|s| s.attr("bpmnElement") == Some(lane_id.as_str())).unwrap();
        let (t, l) = (task.find_all(|e| e.name == "dc:Bounds")[0], lane.find_all(|e| e.name == "dc:Bounds")[0]);
        assert!(t.num("y") >= l.num("y") && t.num("y") + t.num("height") <= l.num("y") + l.num("height"));
    }
}

/// Every flow node of a process, by id, with its element name.
fn bpmn_flow_nodes(process: &El) -> Vec<&El> {
    process
        .children
        .iter()
        .filter(|e| !["bpmn:laneSet", "bpmn:sequenceFlow", "bpmn:documentation"].contains(&e.name.as_str()))
        .collect()
}

#[test]
fn bpmn_every_node_but_the_start_is_reached_by_a_flow_or_attached_to_a_task() {
    // A node nothing flows into is an implicit start to bpmnlint and to any BPMN engine: the
    // target of a deadline route (`terlambat lanjut ke terbit_otomatis`) must be reached from a
    // timer on the late step, as the runtime reaches it.
    for path in shipped_sops() {
        let sop = compile(&path);
        let doc = parse_xml(&render(&sop, Format::Bpmn, Lang::Id));
        let process = doc.find_all(|e| e.name == "bpmn:process")[0].clone();
        let flows = process.find_all(|e| e.name == "bpmn:sequenceFlow");
        for node in bpmn_flow_nodes(&process) {
            let id = node.attr("id").unwrap();
            if node.name == "bpmn:startEvent" {
                continue;
            }
            if node.name == "bpmn:boundaryEvent" {
                let host = node.attr("attachedToRef").unwrap();
                assert!(
                    bpmn_flow_nodes(&process).iter().any(|n| n.attr("id") == Some(host)),
                    "{}: {id} is attached to {host}, a task of the process",
                    path.display()
                );
                continue;
            }
            assert!(
                flows.iter().any(|f| f.attr("targetRef") == Some(id)),
                "{}: nothing flows into {} {id}",
                path.display(),
                node.name
            );
        }
    }
}

#[test]
fn bpmn_deadline_actions_are_boundary_timers_on_the_late_task() {
    let sop = compile(&sop_path("izin-reklame.sop"));
    let doc = parse_xml(&render(&sop, Format::Bpmn, Lang::Id));
    let process = doc.find_all(|e| e.name == "bpmn:process")[0].clone();
    let flows = process.find_all(|e| e.name == "bpmn:sequenceFlow");
    let node = |id: &str| -> El {
        bpmn_flow_nodes(&process).into_iter().find(|n| n.attr("id") == Some(id)).cloned().unwrap_or_else(|| {
            panic!("no flow node {id}");
        })
    };
    let timer_on = |step: &str| -> El {
        let timers: Vec<&El> = process
            .find_all(|e| e.name == "bpmn:boundaryEvent" && e.attr("attachedToRef") == Some(step))
            .into_iter()
            .collect();
        assert_eq!(timers.len(), 1, "one boundary event on {step}");
        let t = timers[0].clone();
        assert_eq!(t.find_all(|e| e.name == "bpmn:timerEventDefinition").len(), 1, "{step}: a timer");
        assert!(!t.attr("name").unwrap_or("").is_empty(), "{step}: the timer is labelled");
        t
    };
    let from = |id: &str| -> Vec<String> {
        flows.iter().filter(|f| f.attr("sourceRef") == Some(id)).map(|f| f.attr("targetRef").unwrap().into()).collect()
    };
    let duration = |t: &El| t.find_all(|e| e.name == "bpmn:timeDuration")[0].text.clone();

    // OSS fiktif positif: when the technical meeting is late, the permit is issued by the
    // system. The timer interrupts the task and flows to the route's target.
    let late = timer_on("kajian_teknis");
    assert_eq!(late.attr("cancelActivity"), Some("true"), "a deadline route interrupts the task");
    assert_eq!(duration(&late), "'PT3H'", "the step's Waktu (3 jam) as an ISO-8601 duration");
    assert_eq!(from(late.attr("id").unwrap()), ["terbit_otomatis"]);

    // An escalation leaves the task open (non-interrupting) and says who takes it over.
    for step in ["verifikasi", "survei_lapangan"] {
        let t = timer_on(step);
        assert_eq!(t.attr("cancelActivity"), Some("false"), "{step}: an escalation does not interrupt");
        let next = from(t.attr("id").unwrap());
        assert_eq!(next.len(), 1, "{step}");
        let told = node(&next[0]);
        assert_eq!(told.name, "bpmn:endEvent", "{step}: the escalation ends its own path");
        assert_eq!(told.find_all(|e| e.name == "bpmn:escalationEventDefinition").len(), 1, "{step}");
        assert!(told.attr("name").unwrap().contains("Kepala Bidang Pelayanan Perizinan"), "{told:?}");
    }
    assert_eq!(duration(&timer_on("verifikasi")), "'PT30M'");
    assert_eq!(duration(&timer_on("survei_lapangan")), "'P1D'");
    // A notification (from the shared signing chain) is a message to the one told.
    let t = timer_on("paraf_kabid");
    assert_eq!(t.attr("cancelActivity"), Some("false"));
    let told = node(&from(t.attr("id").unwrap())[0]);
    assert_eq!(told.find_all(|e| e.name == "bpmn:messageEventDefinition").len(), 1);
    assert!(told.attr("name").unwrap().contains("Sekretaris"), "{told:?}");
    let lanes = process.find_all(|e| e.name == "bpmn:lane");
    let lane_of = |id: &str| {
        lanes
            .iter()
            .find(|l| l.children.iter().any(|r| r.name == "bpmn:flowNodeRef" && r.text == id))
            .map(|l| l.attr("id").unwrap().to_string())
    };
    assert_eq!(lane_of(told.attr("id").unwrap()).as_deref(), Some("Lane_sekretaris"), "in the lane of the one told");

    // The diagram draws every boundary event on the border of its task, and every flow.
    let shapes = doc.find_all(|e| e.name == "bpmndi:BPMNShape");
    let bounds = |id: &str| {
        let s = shapes.iter().find(|s| s.attr("bpmnElement") == Some(id)).unwrap_or_else(|| panic!("shape of {id}"));
        let b = s.find_all(|e| e.name == "dc:Bounds")[0];
        Bbox { x0: b.num("x"), y0: b.num("y"), x1: b.num("x") + b.num("width"), y1: b.num("y") + b.num("height") }
    };
    for t in process.find_all(|e| e.name == "bpmn:boundaryEvent") {
        let (b, task) = (bounds(t.attr("id").unwrap()), bounds(t.attr("attachedToRef").unwrap()));
        assert!(task.on_edge(b.center()), "{:?} sits on the border of its task", t.attr("id"));
    }
    let edges = doc.find_all(|e| e.name == "bpmndi:BPMNEdge");
    for f in &flows {
        assert!(edges.iter().any(|e| e.attr("bpmnElement") == f.attr("id")), "an edge for {:?}", f.attr("id"));
    }
    // The SOP's escalations and messages are declared once, at the top.
    let escalations = doc.find_all(|e| e.name == "bpmn:escalation");
    assert_eq!(escalations.len(), 1, "one escalation: to kabid");
    assert_eq!(escalations[0].attr("escalationCode"), Some("kabid"));
    assert_eq!(doc.find_all(|e| e.name == "bpmn:message").len(), 1, "one message: to sekretaris");
}

#[test]
fn bpmnlint_recommended_rules_find_no_error_in_any_export() {
    let tools = Path::new(ROOT).join("tests/tools");
    let cli = tools.join("node_modules/bpmnlint/bin/bpmnlint.js");
    let node_ok = Process::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !node_ok || !cli.exists() {
        assert!(!must_not_skip(), "needs node and bpmnlint (cd tests/tools && npm ci)");
        println!("SKIPPED: needs node and bpmnlint (cd tests/tools && npm ci)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for path in shipped_sops() {
        let sop = compile(&path);
        let file = dir.path().join(format!("{}.bpmn", path.file_stem().unwrap().to_string_lossy()));
        std::fs::write(&file, render(&sop, Format::Bpmn, Lang::Id)).unwrap();
        files.push(file);
    }
    // tests/tools/.bpmnlintrc extends bpmnlint:recommended; warnings are allowed, errors not.
    let out = Process::new("node")
        .arg(&cli)
        .arg("--config")
        .arg(tools.join(".bpmnlintrc"))
        .args(&files)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "bpmnlint reports errors:\n{report}");
    assert!(!report.contains(" error "), "bpmnlint reports errors:\n{report}");
}

// ---- real tools: SpiffWorkflow runs the BPMN, Chromium prints the document ----

fn spiff_available() -> bool {
    Process::new("python3").args(["-c", "import SpiffWorkflow"]).output().is_ok_and(|o| o.status.success())
}

fn run_on_spiff(sop_file: &str, plan: serde_json::Value) -> Option<serde_json::Value> {
    if !spiff_available() {
        assert!(!must_not_skip(), "SpiffWorkflow is not installed (python3 -m pip install SpiffWorkflow==3.2.0)");
        println!("SKIPPED: SpiffWorkflow is not installed (python3 -m pip install SpiffWorkflow==3.2.0)");
        return None;
    }
    let sop = compile(&sop_path(sop_file));
    let dir = tempfile::tempdir().unwrap();
    let bpmn = dir.path().join("process.bpmn");
    std::fs::write(&bpmn, render(&sop, Format::Bpmn, Lang::Id)).unwrap();
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let out = Process::new("python3")
        .arg(Path::new(ROOT).join("tests/tools/spiff_run.py"))
        .arg(&bpmn)
        .arg(sop.id.as_str())
        .arg(&plan_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "SpiffWorkflow failed:\n{}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn trace(result: &serde_json::Value) -> Vec<(String, String)> {
    result["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t[0].as_str().unwrap().to_string(), t[1].as_str().unwrap_or("").to_string()))
        .collect()
}

#[test]
fn spiffworkflow_runs_the_exported_lks_process_to_its_end_taking_the_rejection_route_once() {
    let plan = serde_json::json!({
        "answers": {"verifikasi": {"keputusan_verifikasi": "diterima"}},
        "once": {"verifikasi": {"keputusan_verifikasi": "ditolak"}},
    });
    let Some(result) = run_on_spiff("lks-lksa.sop", plan) else { return };
    assert_eq!(result["completed"], true, "{result}");
    assert_eq!(result["ends"], serde_json::json!(["End_izin_diterima"]));
    let sop = compile(&sop_path("lks-lksa.sop"));
    let role = |id: &str| sop.actor(sop.step(id).unwrap().actor_ids().next().unwrap()).unwrap().label.clone();
    let mut expected: Vec<&str> = vec!["ajukan", "verifikasi"];
    expected.extend(sop.steps.iter().map(|s| s.id.as_str()));
    let expected: Vec<(String, String)> = expected.into_iter().map(|id| (id.to_string(), role(id))).collect();
    assert_eq!(trace(&result), expected, "each task once, ajukan and verifikasi twice, in their lanes");
}

#[test]
fn spiffworkflow_runs_the_other_sops_through_alternatives_conditions_and_parallel_branches() {
    let plan = serde_json::json!({
        "data": {"perlu_survei": true, "alternatif_pendaftaran": "daftar_online"},
        "answers": {"verifikasi": {"keputusan_verifikasi": "lengkap"}, "kajian_teknis": {"hasil": "ditolak"}},
        "once": {"verifikasi": {"keputusan_verifikasi": "tidak_lengkap"}},
    });
    let Some(result) = run_on_spiff("izin-reklame.sop", plan) else { return };
    assert_eq!(result["completed"], true, "{result}");
    assert_eq!(result["ends"], serde_json::json!(["End_ditolak"]), "the refusal end, chosen by the recorded decision");
    let ids: Vec<String> = trace(&result).into_iter().map(|t| t.0).collect();
    assert_eq!(&ids[..5], ["daftar_online", "verifikasi", "daftar_online", "verifikasi", "survei_lapangan"]);
    assert!(!ids.contains(&"daftar_loket".to_string()) && !ids.contains(&"terbit_otomatis".to_string()));

    let plan = serde_json::json!({
        "data": {"perlu_perbaikan": false, "luas_bangunan": 100},
        "answers": {
            "verifikasi": {"keputusan_verifikasi": "lengkap"},
            "rekomendasi_lingkungan": {"rekomendasi_dlh": "layak"},
            "rekomendasi_tata_ruang": {"tata_ruang": "sesuai"},
            "rekomendasi_andalalin": {"andalalin": "disetujui"},
        },
    });
    let Some(result) = run_on_spiff("persetujuan-lingkungan.sop", plan) else { return };
    assert_eq!(result["completed"], true, "{result}");
    assert_eq!(result["ends"], serde_json::json!(["End_persetujuan_terbit"]));
    let ids: Vec<String> = trace(&result).into_iter().map(|t| t.0).collect();
    assert!(!ids.contains(&"perbaikan".to_string()), "the conditional step is skipped");
    for parallel in ["rekomendasi_lingkungan", "telaah_kkpr", "rekomendasi_tata_ruang", "rekomendasi_andalalin"] {
        assert_eq!(ids.iter().filter(|i| *i == parallel).count(), 1, "{parallel} once");
    }
    assert!(ids.iter().position(|i| i == "telaah") > ids.iter().position(|i| i == "rekomendasi_andalalin"), "joined");
}

#[test]
fn spiffworkflow_takes_the_deadline_routes_when_a_step_is_late() {
    // The verification is late: its timer escalates to the Kabid beside the open task, which is
    // then done. The technical meeting is late: its timer interrupts it and the permit is issued
    // by the system (fiktif positif), as the runtime's timer service does.
    let plan = serde_json::json!({
        "data": {"perlu_survei": false, "alternatif_pendaftaran": "daftar_online"},
        "answers": {"verifikasi": {"keputusan_verifikasi": "lengkap"}},
        "late": ["verifikasi", "kajian_teknis"],
    });
    let Some(result) = run_on_spiff("izin-reklame.sop", plan) else { return };
    assert_eq!(result["completed"], true, "{result}");
    assert_eq!(result["ends"], serde_json::json!(["End_terbit", "Late_verifikasi_1"]), "{result}");
    let ids: Vec<String> = trace(&result).into_iter().map(|t| t.0).collect();
    assert_eq!(ids, ["daftar_online", "verifikasi", "terbit_otomatis"], "kajian_teknis was cut short by its timer");
}

#[test]
fn chromium_prints_the_lks_document_and_the_screenshot_is_saved() {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Process::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    let Some(chromium) = chromium else {
        assert!(!must_not_skip(), "Chromium is not installed (apt-get install -y chromium)");
        println!("SKIPPED: Chromium is not installed (apt-get install -y chromium)");
        return;
    };
    let shots = Path::new(ROOT).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let html = shots.join("lks-lksa-sop.html");
    let png = shots.join("lks-lksa-sop.png");
    let pdf = shots.join("lks-lksa-sop.pdf");
    let _ = std::fs::remove_file(&png);
    let _ = std::fs::remove_file(&pdf);
    let out = alur().args(["render", "--to", "html", "-o"]).arg(&html).arg(sop_path("lks-lksa.sop")).output().unwrap();
    assert!(out.status.success());
    let profile = tempfile::tempdir().unwrap();
    let base = |p: &mut Process| {
        p.args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
            .arg(format!("--user-data-dir={}", profile.path().display()));
    };
    let mut shot = Process::new(chromium);
    base(&mut shot);
    shot.arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,1700")
        .arg(format!("file://{}", html.display()));
    let out = shot.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 1700));
    assert!(bytes.len() > 40_000, "the page is not blank ({} bytes)", bytes.len());
    // Printed, every shipped SOP is A4 landscape with exactly the pages laid out (the identity
    // page and the table's pages): no row spills over a page the flowchart did not plan for.
    for path in shipped_sops() {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let html = shots.join(format!("{name}.html"));
        let pdf = shots.join(format!("{name}.pdf"));
        let _ = std::fs::remove_file(&pdf);
        let out = alur().args(["render", "--to", "html", "-o"]).arg(&html).arg(&path).output().unwrap();
        assert!(out.status.success());
        let sheets = std::fs::read_to_string(&html).unwrap().matches("<section class=\"sheet ").count();
        let mut print = Process::new(chromium);
        base(&mut print);
        print
            .arg("--no-pdf-header-footer")
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(format!("file://{}", html.display()));
        let out = print.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let pdf_text = String::from_utf8_lossy(&std::fs::read(&pdf).unwrap()).to_string();
        assert!(pdf_text.contains("/MediaBox [0 0 841.91998 594.95996]"), "{name}: A4 landscape");
        assert!(pdf_text.contains(&format!("/Count {sheets}\n")), "{name}: printed on {sheets} pages");
    }
    println!("screenshot: {}", png.display());
}

pub(crate) fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Process::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// A JavaScript tool from `tests/tools/node_modules` (installed by `npm ci` there), with
/// Chromium to run it in; `None` (after printing SKIPPED) when either is missing outside CI.
fn js_tool(script: &str) -> Option<(&'static str, PathBuf)> {
    let path = Path::new(ROOT).join("tests/tools/node_modules").join(script);
    match (chromium(), path.exists()) {
        (Some(chromium), true) => Some((chromium, path)),
        _ => {
            assert!(!must_not_skip(), "needs Chromium and {script} (cd tests/tools && npm ci)");
            println!("SKIPPED: needs Chromium and {script} (cd tests/tools && npm ci)");
            None
        }
    }
}

/// Loads `script`, then runs `code` in headless Chromium with `INPUT` set to `input`; the code
/// reports by setting `#log` to `RESULT <json>`.
fn run_in_chromium(chromium: &str, script: &Path, input: &str, code: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.html");
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"/><script src=\"file://{}\"></script></head><body><div id=\"c\" style=\"width:1600px;height:900px\"></div><pre id=\"log\">PENDING</pre><script>const INPUT = {};\nconst report = v => {{ document.getElementById('log').textContent = 'RESULT ' + JSON.stringify(v); }};\n{code}</script></body></html>",
        script.display(),
        serde_json::to_string(input).unwrap().replace("</", "<\\/")
    );
    std::fs::write(&page, html).unwrap();
    let out = Process::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--virtual-time-budget=10000"])
        .arg("--allow-file-access-from-files")
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = dom
        .split("<pre id=\"log\">RESULT ")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("no result from the page:\n{dom}"));
    let json = json.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

#[test]
fn bpmn_js_opens_every_export_laid_out_without_warnings() {
    let Some((chromium, viewer)) = js_tool("bpmn-js/dist/bpmn-viewer.production.min.js") else { return };
    let code = r#"
const viewer = new BpmnJS({ container: '#c' });
viewer.importXML(INPUT).then(r => {
  const all = viewer.get('elementRegistry').getAll();
  report({ warnings: r.warnings.map(w => w.message),
           shapes: all.filter(e => !e.waypoints && e.type !== 'bpmn:Collaboration').length,
           edges: all.filter(e => e.waypoints).length });
}).catch(e => report({ error: String(e.message || e) }));
"#;
    for path in shipped_sops() {
        let sop = compile(&path);
        let xml = render(&sop, Format::Bpmn, Lang::Id);
        let result = run_in_chromium(chromium, &viewer, &xml, code);
        assert!(result.get("error").is_none(), "{}: bpmn-js refused the file: {result}", path.display());
        assert_eq!(result["warnings"], serde_json::json!([]), "{}", path.display());
        let doc = parse_xml(&xml);
        let di_shapes = doc.find_all(|e| e.name == "bpmndi:BPMNShape").len();
        let di_edges = doc.find_all(|e| e.name == "bpmndi:BPMNEdge").len();
        let flows = doc.find_all(|e| e.name == "bpmn:sequenceFlow").len();
        assert_eq!(di_edges, flows);
        // bpmn-js draws every shape and edge of the diagram (plus labels of its own).
        assert!(result["shapes"].as_u64().unwrap() as usize >= di_shapes, "{}: {result}", path.display());
        assert!(result["edges"].as_u64().unwrap() as usize >= flows, "{}: {result}", path.display());
    }
}

#[test]
fn mermaid_parses_and_draws_every_export() {
    let Some((chromium, mermaid)) = js_tool("mermaid/dist/mermaid.min.js") else { return };
    let code = r#"
mermaid.initialize({ startOnLoad: false });
mermaid.render('graph', INPUT).then(r => {
  document.getElementById('c').innerHTML = r.svg;
  report({ nodes: document.querySelectorAll('#c .node').length,
           clusters: document.querySelectorAll('#c .cluster').length });
}).catch(e => report({ error: String(e.message || e) }));
"#;
    let dir = tempfile::tempdir().unwrap();
    let tricky = dir.path().join("tricky.sop");
    std::fs::write(&tricky, TRICKY).unwrap();
    for path in shipped_sops().into_iter().chain([tricky]) {
        let sop = compile(&path);
        let text = render(&sop, Format::Mermaid, Lang::Id);
        let result = run_in_chromium(chromium, &mermaid, &text, code);
        assert!(result.get("error").is_none(), "{}: mermaid refused it: {result}\n{text}", path.display());
        let lanes =
            sop.actors.iter().filter(|a| sop.steps.iter().any(|s| s.actor_ids().next() == Some(a.id.as_str()))).count();
        assert_eq!(result["clusters"].as_u64().unwrap() as usize, lanes, "{}: a lane per actor", path.display());
        assert_eq!(result["nodes"].as_u64().unwrap() as usize, sop.flow.graph.node_count(), "{}", path.display());
    }
}

#[test]
fn graphviz_lays_out_every_dot_export() {
    if Process::new("dot").arg("-V").output().is_err() {
        assert!(!must_not_skip(), "Graphviz is not installed (apt-get install -y graphviz)");
        println!("SKIPPED: Graphviz is not installed (apt-get install -y graphviz)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tricky = dir.path().join("tricky.sop");
    std::fs::write(&tricky, TRICKY).unwrap();
    for path in shipped_sops().into_iter().chain([tricky]) {
        let sop = compile(&path);
        let file = dir.path().join("graph.dot");
        std::fs::write(&file, render(&sop, Format::Dot, Lang::Id)).unwrap();
        let out = Process::new("dot").arg("-Tsvg").arg(&file).output().unwrap();
        assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        assert!(out.stderr.is_empty(), "{}: graphviz warns: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        let svg = parse_xml(&String::from_utf8(out.stdout).unwrap());
        let clusters = svg.find_all(|e| e.name == "g" && e.has_class("cluster")).len();
        let nodes = svg.find_all(|e| e.name == "g" && e.has_class("node")).len();
        let edges = svg.find_all(|e| e.name == "g" && e.has_class("edge")).len();
        let lanes =
            sop.actors.iter().filter(|a| sop.steps.iter().any(|s| s.actor_ids().next() == Some(a.id.as_str()))).count();
        assert_eq!(clusters, lanes, "{}: a cluster per actor", path.display());
        assert_eq!(nodes, sop.flow.graph.node_count());
        assert_eq!(edges, sop.flow.graph.edge_count());
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..proptest::prelude::ProptestConfig::default() })]

    /// Mutated SOPs render in every format without panicking, even with errors in them (an
    /// editor previews files as they are typed), and a clean one always gives well-formed XML.
    #[test]
    fn mutated_sops_render_without_panicking(
        file in proptest::sample::select(vec!["lks-lksa.sop", "izin-reklame.sop", "persetujuan-lingkungan.sop"]),
        edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 0usize..3, proptest::sample::select(vec![
            "}", "\"", "-> lanjut", "paralel {", "alternatif {", "kembali ke ajukan", "jika", "oleh pemohon dan", "langkah 99 x oleh pemohon {",
            "\n", "keputusan {", "selesai", "<&>", "lanjut ke", "panggil \"x.sop\"",
        ])), 1..6),
    ) {
        let text = crate::properties::mutate(std::fs::read_to_string(sop_path(file)).unwrap(), edits);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mutated.sop");
        std::fs::write(&path, &text).unwrap();
        let compiled = compile_path(&path, &Options::default());
        if let Some(sop) = &compiled.sop {
            for format in Format::ALL {
                let out = render(sop, format, Lang::Id);
                if !compiled.has_errors() && matches!(format, Format::Html | Format::Svg | Format::Bpmn) {
                    parse_xml(&out);
                }
            }
        }
    }
}

/// The Standar Pelayanan beside the SOP is printed on a sheet of its own after the identity page,
/// continued on the next sheet when long; extra identity rows join the identity table.
#[test]
fn the_service_standard_gets_its_own_sheet_and_extra_identity_rows_their_row() {
    let long: Vec<String> = (1..=60).map(|i| format!("persyaratan \"Persyaratan nomor {i} yang cukup panjang untuk memenuhi satu baris penuh pada lembar standar pelayanan\"")).collect();
    let text = format!(
        "sop x \"Izin X\" {{\n    identitas \"Pengendalian\" \"Kepala Bidang Perizinan\"\n    biaya \"Rp 0\"\n    produk \"Izin X\"\n    {}\n    pelaksana {{\n        fo \"Front Office\"\n    }}\n    langkah 1 a oleh fo {{\n        waktu -\n    }}\n}}\n",
        long.join("\n    ")
    );
    let compiled = alur::compile::compile_source("x.sop", &text, &alur::compile::Options::default());
    let sop = compiled.sop.expect("compiles");
    assert_eq!(sop.header.service.requirements.len(), 60);
    assert_eq!(sop.header.extra_identity, vec![("Pengendalian".to_string(), "Kepala Bidang Perizinan".to_string())]);
    let html = alur::render::html::render(&sop, &alur::render::text::Labels::new(Lang::Id));
    let sheets: Vec<&str> = html.match_indices("<section class=\"sheet ").map(|(i, _)| &html[i + 22..i + 32]).collect();
    let service = sheets.iter().filter(|s| s.starts_with("service")).count();
    assert!(service >= 2, "60 long requirements take more than one sheet: {sheets:?}");
    assert!(sheets[0].starts_with("identity") && sheets[1..=service].iter().all(|s| s.starts_with("service")));
    assert!(html.contains("Persyaratan (lanjutan)"));
    assert!(html.contains("<ol start=\""));
    assert!(html.contains("<th>Pengendalian</th>") && html.contains("Kepala Bidang Perizinan"));
    assert!(html.contains("Biaya/Tarif") && html.contains("Produk Pelayanan"));
    // Every page says how many there are, the flowchart's page numbers after the service sheets.
    let total = sheets.len();
    assert!(html.contains(&format!("Halaman {total} dari {total}")));
    // The total of steps without a stated time is not 0.
    assert!(!html.contains("0 Menit (0 Hari)"));
}

/// A step that may stand on hold (`penangguhan maks`): the BPMN task carries an interrupting
/// timer of the longest hold flowing to where the case goes past it; the table's Keterangan
/// says so in the document's language and the drawings label the way out.
#[test]
fn a_hold_is_a_boundary_timer_a_keterangan_note_and_a_labelled_arrow() {
    let sop = compile(&Path::new(ROOT).join("sop/contoh/baritotimur-rekomendasi-apotek.sop"));
    let doc = parse_xml(&render(&sop, Format::Bpmn, Lang::Id));
    let process = doc.find_all(|e| e.name == "bpmn:process")[0].clone();
    let timers =
        process.find_all(|e| e.name == "bpmn:boundaryEvent" && e.attr("attachedToRef") == Some("pemeriksaan_lapangan"));
    assert_eq!(timers.len(), 1);
    assert_eq!(timers[0].attr("cancelActivity"), Some("true"));
    assert_eq!(timers[0].find_all(|e| e.name == "bpmn:timeDuration")[0].text, "'P60D'");
    let id = timers[0].attr("id").unwrap();
    let flows = process.find_all(|e| e.name == "bpmn:sequenceFlow" && e.attr("sourceRef") == Some(id));
    assert_eq!(flows.len(), 1);
    let target = flows[0].attr("targetRef").unwrap();
    let end = bpmn_flow_nodes(&process).into_iter().find(|n| n.attr("id") == Some(target)).unwrap().clone();
    assert_eq!(end.name, "bpmn:endEvent");

    let html = render(&sop, Format::Html, Lang::Id);
    assert!(html.contains("Dapat ditangguhkan paling lama 60 Hari Kalender"), "the Keterangan note");
    let markdown = render(&sop, Format::Md, Lang::En);
    assert!(markdown.contains("May be put on hold for at most 60 calendar days"), "{markdown}");
    let mermaid = render(&sop, Format::Mermaid, Lang::Id);
    assert!(mermaid.contains("penangguhan lewat batas"), "{mermaid}");
}

/// A hand-off chain to a desk the SOP does not have (`oleh front_office -> lanjut`, typed half
/// way in an editor) still renders: the unknown desk has no column, and is drawn in the row's
/// first one. Found by `mutated_sops_render_without_panicking`.
#[test]
fn a_chain_to_an_unknown_desk_renders_without_panicking() {
    let text = std::fs::read_to_string(sop_path("lks-lksa.sop")).unwrap().replacen(
        "oleh front_office {",
        "oleh front_office -> lanjut {",
        1,
    );
    let compiled = alur::compile::compile_source("lks.sop", &text, &Options::default());
    assert!(compiled.has_errors(), "`lanjut` is no actor of the SOP");
    let sop = compiled.sop.expect("the file still gives a model");
    for format in Format::ALL {
        assert!(!render(&sop, format, Lang::Id).is_empty());
    }
}
