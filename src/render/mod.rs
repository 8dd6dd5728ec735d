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

/// Renders a compiled SOP; page labels and headings in `lang`.
pub fn render(sop: &Sop, format: Format, lang: Lang) -> String {
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
