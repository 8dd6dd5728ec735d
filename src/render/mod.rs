//! `alur render`: an SOP as the documents and diagrams people look at.
//!
//! - [`Format::Html`]: the official SOP document (Permenpan-RB 35/2012 layout) with print CSS,
//!   the flowchart drawn in the actor columns of the table ([`flowchart`]).
//! - [`Format::Svg`]: that flowchart alone.
//! - [`Format::Mermaid`], [`Format::Dot`]: the state graph with a lane per actor.
//! - [`Format::Bpmn`]: BPMN 2.0 XML with lanes, gateways, conditions and diagram interchange.
//! - [`Format::Md`]: the document as Markdown.
//!
//! Everything here reads the compiled model only; nothing depends on the runtime.

pub mod bpmn;
pub mod flowchart;
pub mod graph;
pub mod html;
pub mod md;
pub mod metrics;
pub mod routes;
pub mod svg;
pub mod text;

use crate::diagnostic::Lang;
use crate::model::Sop;

pub use text::Labels;

/// What to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Svg,
    Mermaid,
    Dot,
    Bpmn,
    Md,
}

impl Format {
    pub const ALL: [Format; 6] = [Format::Html, Format::Svg, Format::Mermaid, Format::Dot, Format::Bpmn, Format::Md];

    pub fn name(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Svg => "svg",
            Format::Mermaid => "mermaid",
            Format::Dot => "dot",
            Format::Bpmn => "bpmn",
            Format::Md => "md",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown format `{s}` (html, svg, mermaid, dot, bpmn, md)"))
    }
}

/// Renders the flows of an SOP's variants (or the one flow of an SOP without), one document
/// after another: html and md only (`None` for a picture of several flows, which must be
/// drawn one at a time).
pub fn render_all(flows: &[Sop], format: Format, lang: Lang) -> Option<String> {
    let [first, rest @ ..] = flows else { return Some(String::new()) };
    if rest.is_empty() {
        return Some(render_flow(first, format, lang));
    }
    match format {
        Format::Html => {
            let documents: Vec<String> = flows.iter().map(|f| render_flow(f, format, lang)).collect();
            // One page: the head of the first document, then every document's body in turn.
            // The page's title is the SOP's, not the first variant's.
            let mut out = String::new();
            let written_title = first
                .variant
                .as_ref()
                .and_then(|v| first.declared_variant(&v.name))
                .and_then(|v| first.title.strip_suffix(&format!(" ({})", v.label)))
                .unwrap_or(&first.title);
            let documents: Vec<String> = match documents.split_first() {
                Some((head, rest)) => {
                    let title = |t: &str| format!(" - {}</title>", text::esc(t));
                    std::iter::once(head.replacen(&title(&first.title), &title(written_title), 1))
                        .chain(rest.iter().cloned())
                        .collect()
                }
                None => documents,
            };
            for (i, document) in documents.iter().enumerate() {
                let start = if i == 0 { 0 } else { document.find("<body>\n").map_or(0, |b| b + "<body>\n".len()) };
                let end = document.rfind("</body>").unwrap_or(document.len());
                out.push_str(&document[start..end]);
            }
            out.push_str("</body>\n</html>\n");
            Some(out)
        }
        Format::Md => Some(flows.iter().map(|f| render_flow(f, format, lang)).collect::<Vec<_>>().join("\n---\n\n")),
        _ => None,
    }
}

/// Renders a compiled SOP; page labels and headings in `lang`. A file with service variants
/// gives every variant's document (html, md) or the first variant's picture (the others with
/// [`crate::compile::for_variant`] first).
pub fn render(sop: &Sop, format: Format, lang: Lang) -> String {
    if sop.needs_variant() {
        let flows = crate::compile::variant_flows(sop, None).unwrap_or_default();
        if let Some(text) = render_all(&flows, format, lang) {
            return text;
        }
        if let Some(first) = flows.first() {
            return render_flow(first, format, lang);
        }
    }
    render_flow(sop, format, lang)
}

/// Renders one flow (an SOP, or one variant of it).
fn render_flow(sop: &Sop, format: Format, lang: Lang) -> String {
    let labels = Labels::new(lang);
    // The table (document, flowchart, Markdown) prints a hand-off chain as the one row it is
    // written as; BPMN and the graphs show each desk as the task it is in the runtime.
    let table = crate::compile::chain::fold(sop);
    match format {
        Format::Html => html::render(&table, &labels),
        Format::Svg => svg::render(&table, &labels),
        Format::Mermaid => graph::mermaid(sop, &labels),
        Format::Dot => graph::dot(sop, &labels),
        Format::Bpmn => bpmn::render(sop, &labels),
        Format::Md => md::render(&table, &labels),
    }
}
