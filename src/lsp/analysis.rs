//! One open file as the server knows it: compiled by the compiler `alur check` runs (no second
//! parser), and what the editor asks of it: the name under the cursor, where it is declared and
//! used, what it means, the steps as an outline, each step's cumulative time.

use std::cell::OnceCell;
use std::path::Path;

use foldhash::{HashMap, HashMapExt};

use crate::compile::keyword::Kw;
use crate::compile::{compile_bytes, Compiled, Loader, Options};
use crate::diagnostic::{Diagnostic, Lang};
use crate::interpret::Interpreter;
use crate::model::{Sop, Step};
use crate::source::{FileId, Span};
use crate::syntax::{self, Item, Token, TokenKind};
use crate::time::Duration;

use super::text::LineIndex;

/// What a declared name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Actor,
    Document,
    Field,
    End,
    Step,
    Variant,
}

impl Kind {
    pub fn word(self, lang: Lang) -> &'static str {
        let (id, en) = match self {
            Kind::Actor => ("pelaksana", "actor"),
            Kind::Document => ("dokumen", "document"),
            Kind::Field => ("data", "field"),
            Kind::End => ("akhir", "end"),
            Kind::Step => ("langkah", "step"),
            Kind::Variant => ("varian", "variant"),
        };
        tr(lang, id, en)
    }
}

/// A declared name: an actor, document, field, end, step or variant of the SOP.
#[derive(Clone, Debug)]
pub struct Symbol {
    pub name: String,
    pub kind: Kind,
    /// Where it is declared (possibly in an imported file).
    pub span: Span,
    /// Its index in the model's list of its kind.
    pub index: usize,
}

pub struct Analysis {
    pub compiled: Compiled,
    pub lines: LineIndex,
    /// The file's language (its keywords), else the server's.
    pub lang: Lang,
    words: OnceCell<Vec<Token>>,
    symbols: OnceCell<Vec<Symbol>>,
    cumulative: OnceCell<HashMap<usize, (Duration, usize)>>,
    day_length: u32,
}

pub fn tr(lang: Lang, id: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Id => id,
        Lang::En => en,
    }
}

impl Analysis {
    /// Compiles a file's text as `alur check` would, with its folder's imports and calendars.
    pub fn new(
        name: &str,
        path: Option<&Path>,
        text: &str,
        loader: &dyn Loader,
        options: &Options,
        lang: Lang,
    ) -> Self {
        let compiled = compile_bytes(Default::default(), name, path, text.as_bytes(), loader, options);
        let lang = compiled.sop.as_ref().map(|s| s.language).unwrap_or_else(|| written_language(text).unwrap_or(lang));
        let day_length =
            options.day_length_for(compiled.sop.as_ref().and_then(|s| s.header.calendar.as_ref()).map(|c| c.as_str()));
        Analysis {
            lines: LineIndex::new(compiled.sources.text(compiled.file)),
            compiled,
            lang,
            words: OnceCell::new(),
            symbols: OnceCell::new(),
            cumulative: OnceCell::new(),
            day_length,
        }
    }

    pub fn text(&self) -> &str {
        self.compiled.sources.text(self.compiled.file)
    }

    pub fn file(&self) -> FileId {
        self.compiled.file
    }

    pub fn sop(&self) -> Option<&Sop> {
        self.compiled.sop.as_ref()
    }

    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.compiled.diagnostics
    }

    /// The word tokens of the file (ids and keywords), in order; a file that does not parse
    /// still has the tokens of its lines that do.
    pub fn words(&self) -> &[Token] {
        self.words.get_or_init(|| {
            let (cst, _) = syntax::parse(self.file(), self.text());
            let mut out = Vec::new();
            collect_words(&cst.items, &mut out);
            out
        })
    }

    /// The word under the cursor (a cursor just past a word still counts).
    pub fn word_at(&self, offset: usize) -> Option<&Token> {
        let words = self.words();
        let at = words.partition_point(|t| (t.span.end as usize) < offset);
        words.get(at).filter(|t| (t.span.start as usize) <= offset)
    }

    pub fn symbols(&self) -> &[Symbol] {
        self.symbols.get_or_init(|| self.sop().map(symbols_of).unwrap_or_default())
    }

    pub fn symbols_named(&self, name: &str) -> Vec<&Symbol> {
        self.symbols().iter().filter(|s| s.name == name).collect()
    }

    /// Every use of a declared name in this file, its declaration included. Ids are words that
    /// no keyword is, so a word token with the name's text is the name.
    pub fn occurrences(&self, name: &str) -> Vec<Span> {
        self.words().iter().filter(|t| t.text == name).map(|t| t.span).collect()
    }

    /// Each step's written time summed along the main path up to and including it, with the
    /// number of steps on the way whose SOP states no time (steps off the path have none).
    pub fn cumulative(&self) -> &HashMap<usize, (Duration, usize)> {
        self.cumulative.get_or_init(|| {
            let mut out = HashMap::new();
            let Some(sop) = self.sop() else { return out };
            let (path, _) = crate::timing::totals::main_path(&Interpreter::new(sop), sop, self.day_length);
            let (mut sum, mut untimed) = (Duration::ZERO, 0);
            for &step in &path.steps {
                match sop.steps.get(step).and_then(Step::stated_duration) {
                    Some(d) => sum += d,
                    None => untimed += 1,
                }
                out.insert(step, (sum, untimed));
            }
            out
        })
    }

    /// Markdown for the word under the cursor: a declared name's meaning, or a keyword's.
    pub fn hover(&self, offset: usize) -> Option<(String, Span)> {
        let token = self.word_at(offset)?;
        let symbols = self.symbols_named(&token.text);
        if !symbols.is_empty() {
            let parts: Vec<String> = symbols.iter().filter_map(|s| self.describe(s)).collect();
            return Some((parts.join("\n\n---\n\n"), token.span));
        }
        let (kw, _) = Kw::of(token)?;
        Some((super::keywords::describe(kw, self.lang), token.span))
    }

    fn describe(&self, symbol: &Symbol) -> Option<String> {
        let sop = self.sop()?;
        let lang = self.lang;
        let name = &symbol.name;
        let mut out = String::new();
        match symbol.kind {
            Kind::Step => {
                let step = sop.steps.get(symbol.index)?;
                out.push_str(&format!("**{} {} · `{name}`**\n\n", tr(lang, "Langkah", "Step"), step.number));
                out.push_str(&format!("{}: {}\n\n", tr(lang, "Kegiatan", "Activity"), step.activity));
                let actors = self.step_actors(sop, step);
                if !actors.is_empty() {
                    out.push_str(&format!("{}: {}\n\n", tr(lang, "Pelaksana", "Actor"), actors.join(", ")));
                }
                let time = match &step.duration {
                    Some(d) => d.cell(lang),
                    None => "-".to_string(),
                };
                out.push_str(&format!("{}: {time}\n\n", tr(lang, "Waktu", "Time")));
                if let Some((sum, untimed)) = self.cumulative().get(&symbol.index) {
                    out.push_str(&format!(
                        "{}: {}",
                        tr(lang, "Waktu kumulatif (jalur utama)", "Cumulative time (main path)"),
                        sum.display(lang)
                    ));
                    if *untimed > 0 {
                        out.push_str(&match lang {
                            Lang::Id => format!(" ({untimed} langkah tanpa waktu tertulis)"),
                            Lang::En => format!(" ({untimed} step(s) without a stated time)"),
                        });
                    }
                    out.push('\n');
                }
            }
            Kind::Actor => {
                let actor = sop.actors.get(symbol.index)?;
                out.push_str(&format!("**{} `{name}`**: {}\n\n", Kind::Actor.word(lang), actor.label));
                let steps: Vec<String> = sop
                    .steps
                    .iter()
                    .filter(|s| s.performers.as_ref().is_some_and(|p| p.actors.iter().any(|a| a.name == *name)))
                    .map(step_line)
                    .collect();
                out.push_str(&list(tr(lang, "Langkahnya", "Its steps"), &steps));
            }
            Kind::Document => {
                let doc = sop.artifacts.get(symbol.index)?;
                out.push_str(&format!("**{} `{name}`**: {}\n\n", Kind::Document.word(lang), doc.label));
                let uses = |outputs: bool| -> Vec<String> {
                    sop.steps
                        .iter()
                        .filter(|s| {
                            let list = if outputs { &s.outputs } else { &s.inputs };
                            list.iter().any(|u| u.artifact.name == *name)
                        })
                        .map(step_line)
                        .collect()
                };
                let producers = uses(true);
                if producers.is_empty() && doc.external {
                    out.push_str(tr(
                        lang,
                        "Dibawa dari luar (`dokumen`).\n\n",
                        "Brought from outside (`documents`).\n\n",
                    ));
                } else {
                    out.push_str(&list(tr(lang, "Dihasilkan oleh", "Produced by"), &producers));
                }
                out.push_str(&list(tr(lang, "Diperlukan oleh", "Needed by"), &uses(false)));
            }
            Kind::Field => {
                let field = sop.fields.get(symbol.index)?;
                let ty = match &field.ty {
                    crate::model::FieldType::Text => tr(lang, "teks", "text").to_string(),
                    crate::model::FieldType::Number => tr(lang, "angka", "number").to_string(),
                    crate::model::FieldType::Bool => tr(lang, "ya/tidak", "yes/no").to_string(),
                    crate::model::FieldType::Date => tr(lang, "tanggal", "date").to_string(),
                    crate::model::FieldType::Choice(words) => {
                        format!("{} ({})", tr(lang, "pilihan", "choice"), words.join(", "))
                    }
                };
                out.push_str(&format!("**{} `{name}`**: {ty}", Kind::Field.word(lang)));
                if let Some(label) = &field.label {
                    out.push_str(&format!("\n\n{label}"));
                }
            }
            Kind::End => {
                let end = sop.ends.get(symbol.index)?;
                out.push_str(&format!("**{} `{name}`**: {}", Kind::End.word(lang), end.label));
            }
            Kind::Variant => {
                let variant = sop.variants.get(symbol.index)?;
                out.push_str(&format!("**{} `{name}`**: {}", Kind::Variant.word(lang), variant.label));
            }
        }
        Some(out)
    }

    fn step_actors(&self, sop: &Sop, step: &Step) -> Vec<String> {
        let names: Vec<&crate::model::Name> = match &step.desk {
            Some(desk) => desk.actors.iter().collect(),
            None => step.performers.iter().flat_map(|p| p.actors.iter()).collect(),
        };
        names
            .into_iter()
            .map(|n| match sop.actor(n.as_str()) {
                Some(actor) => format!("{} (`{}`)", actor.label, n.as_str()),
                None => format!("`{}`", n.as_str()),
            })
            .collect()
    }

    /// Did-you-mean fixes the diagnostics carry: the primary span's word and what to write.
    pub fn fixes(&self) -> Vec<(&Diagnostic, Span, String)> {
        let mut out = Vec::new();
        for d in self.diagnostics() {
            let (Some(span), Some(help)) = (d.primary_span(), &d.help) else { continue };
            if span.file != self.file() {
                continue;
            }
            let Some(better) = help.en.strip_prefix("did you mean `").and_then(|r| r.strip_suffix("`?")) else {
                continue;
            };
            let written = self.text().get(span.range()).unwrap_or("");
            let is_word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
            if is_word(written) && is_word(better) && written != better {
                out.push((d, span, better.to_string()));
            }
        }
        out
    }
}

fn step_line(step: &Step) -> String {
    format!("{} `{}` {}", step.number, step.row_id().as_str(), step.activity)
}

fn list(title: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        return format!("{title}: -\n\n");
    }
    let mut out = format!("{title}:\n");
    for line in lines {
        out.push_str(&format!("- {line}\n"));
    }
    out.push('\n');
    out
}

fn collect_words(items: &[Item], out: &mut Vec<Token>) {
    for item in items {
        out.extend(item.tokens.iter().filter(|t| t.kind == TokenKind::Word).cloned());
        if let Some(block) = &item.block {
            collect_words(&block.items, out);
        }
    }
}

fn symbols_of(sop: &Sop) -> Vec<Symbol> {
    let mut out = Vec::new();
    let mut add = |name: &crate::model::Name, kind: Kind, index: usize| {
        out.push(Symbol { name: name.name.clone(), kind, span: name.span, index });
    };
    for (i, a) in sop.actors.iter().enumerate() {
        add(&a.id, Kind::Actor, i);
    }
    for (i, a) in sop.artifacts.iter().enumerate() {
        add(&a.id, Kind::Document, i);
    }
    for (i, f) in sop.fields.iter().enumerate() {
        add(&f.id, Kind::Field, i);
    }
    for (i, e) in sop.ends.iter().enumerate() {
        add(&e.id, Kind::End, i);
    }
    for (i, v) in sop.variants.iter().enumerate() {
        add(&v.id, Kind::Variant, i);
    }
    for (i, s) in sop.steps.iter().enumerate() {
        // A chain's later desks (`ROW.k`) are no name anyone wrote.
        if s.desk.as_ref().is_none_or(|d| d.is_first()) {
            add(&s.id, Kind::Step, i);
        }
    }
    out
}

/// The language of a file's keywords when it does not compile far enough to say: the first
/// keyword written in one language only.
fn written_language(text: &str) -> Option<Lang> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).find_map(|w| Kw::of_word(w).and_then(|(_, lang)| lang))
}
