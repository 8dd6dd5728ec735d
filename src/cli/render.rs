//! `alur render FILE --to html|svg|mermaid|dot|bpmn|md [-o OUT]`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{EXIT_ERRORS, EXIT_USAGE};
use crate::compile::{compile_path, Options};
use crate::diagnostic::{self, Lang};
use crate::render::{self, Format};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RenderFormat {
    /// The official SOP document (print it as A4 landscape).
    Html,
    /// The flowchart of the table alone.
    Svg,
    /// The state graph as a Mermaid flowchart.
    Mermaid,
    /// The state graph as Graphviz DOT.
    Dot,
    /// BPMN 2.0 XML with diagram interchange.
    Bpmn,
    /// The document as Markdown.
    Md,
}

impl From<RenderFormat> for Format {
    fn from(f: RenderFormat) -> Format {
        match f {
            RenderFormat::Html => Format::Html,
            RenderFormat::Svg => Format::Svg,
            RenderFormat::Mermaid => Format::Mermaid,
            RenderFormat::Dot => Format::Dot,
            RenderFormat::Bpmn => Format::Bpmn,
            RenderFormat::Md => Format::Md,
        }
    }
}

pub fn run(file: &Path, to: RenderFormat, output: Option<PathBuf>, variant: Option<&str>, lang: Lang) -> ExitCode {
    if !file.exists() {
        eprintln!(
            "alur: {}",
            match lang {
                Lang::Id => format!("{}: berkas tidak ada", file.display()),
                Lang::En => format!("{}: no such file", file.display()),
            }
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let compiled = compile_path(file, &Options::default());
    if compiled.has_errors() {
        diagnostic::render(&compiled.sources, &compiled.diagnostics, lang, std::io::stderr().is_terminal());
        eprintln!(
            "alur: {}",
            match lang {
                Lang::Id => "SOP ini berisi kesalahan; perbaiki dulu (lihat `alur check`) lalu render lagi",
                Lang::En => "this SOP has errors; fix them first (see `alur check`), then render again",
            }
        );
        return ExitCode::from(EXIT_ERRORS);
    }
    let Some(sop) = &compiled.sop else {
        eprintln!(
            "alur: {}: {}",
            file.display(),
            match lang {
                Lang::Id => "berkas ini tidak berisi SOP (hanya kalender atau potongan); render berkas `sop ... { }`",
                Lang::En => "this file holds no SOP (only calendars or fragments); render a file with `sop ... { }`",
            }
        );
        return ExitCode::from(EXIT_ERRORS);
    };
    let format: render::Format = to.into();
    let flows = match crate::compile::variant_flows(sop, variant) {
        Ok(flows) => flows,
        Err(why) => {
            eprintln!("alur: {}", why.get(lang));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let text = match render::render_all(&flows, format, lang) {
        Some(text) => text,
        None => {
            let list = sop.variant_list();
            eprintln!(
                "alur: {}",
                match lang {
                    Lang::Id => format!("SOP ini memiliki beberapa varian ({list}); pilih satu dengan --varian"),
                    Lang::En => format!("this SOP has several variants ({list}); choose one with --variant"),
                }
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match output {
        Some(path) => {
            if let Err(error) = std::fs::write(&path, text) {
                eprintln!("alur: {}: {error}", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        }
        None => super::print_out(&text),
    }
    ExitCode::SUCCESS
}
