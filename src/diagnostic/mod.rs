//! One diagnostic type for every stage: a stable code, a severity, a one-sentence message,
//! labelled spans and a help line, each text in Bahasa Indonesia and English.
//!
//! Message style (after cedar's guide): one lowercase sentence without a trailing period, user
//! input in backticks, language concepts rather than Rust types, details in labels and help.

mod code;
mod render;

pub use code::Code;
pub use render::{render, render_all, to_json};

use serde::{Deserialize, Serialize};

use crate::source::Span;

/// The language people read alur's messages in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Bahasa Indonesia.
    #[default]
    Id,
    /// English.
    En,
}

impl Lang {
    /// Reads the preferred language from a locale string such as `LANG=en_US.UTF-8`:
    /// English for `en*`, Bahasa Indonesia otherwise (the users of alur are Indonesian offices).
    pub fn from_locale(locale: &str) -> Lang {
        if locale.to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Id
        }
    }

    /// The language from `LC_ALL`, `LC_MESSAGES` or `LANG`, in that order.
    pub fn from_env() -> Lang {
        for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Ok(value) = std::env::var(var) {
                if !value.is_empty() && value != "C" && value != "POSIX" {
                    return Lang::from_locale(&value);
                }
            }
        }
        Lang::Id
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Lang, String> {
        match s {
            "id" => Ok(Lang::Id),
            "en" => Ok(Lang::En),
            other => Err(format!("unknown language `{other}` (use `id` or `en`)")),
        }
    }
}

/// A text in both languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub id: String,
    pub en: String,
}

impl Text {
    pub fn new(id: impl Into<String>, en: impl Into<String>) -> Text {
        Text { id: id.into(), en: en.into() }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Id => &self.id,
            Lang::En => &self.en,
        }
    }
}

/// Builds a [`Text`] from two format strings: `t!("berkas {x}", "file {x}")`.
#[macro_export]
macro_rules! t {
    ($id:expr, $en:expr $(,)?) => {
        $crate::diagnostic::Text::new(format!($id), format!($en))
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Says what was not checked, and why: never a problem of its own, always beside errors.
    Note,
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub span: Span,
    pub message: Text,
    pub primary: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: Text,
    pub labels: Vec<Label>,
    pub help: Option<Text>,
    pub notes: Vec<Text>,
}

impl Diagnostic {
    /// A diagnostic with the code's own severity and a primary label.
    pub fn new(code: Code, message: Text, span: Span, label: Text) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message,
            labels: vec![Label { span, message: label, primary: true }],
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn with_label(mut self, span: Span, message: Text) -> Diagnostic {
        self.labels.push(Label { span, message, primary: false });
        self
    }

    pub fn with_help(mut self, help: Text) -> Diagnostic {
        self.help = Some(help);
        self
    }

    pub fn with_note(mut self, note: Text) -> Diagnostic {
        self.notes.push(note);
        self
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.iter().find(|l| l.primary).map(|l| l.span)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Orders diagnostics by file and position, so output is stable and reads top to bottom.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| {
        let span = d.primary_span().unwrap_or_default();
        (span.file, span.start, span.end, d.code)
    });
}

/// The closest candidate to `name` by edit distance, for "did you mean" help.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name_lower = name.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::damerau_levenshtein(&name_lower, &c.to_lowercase()), c))
        .filter(|(distance, c)| {
            let longest = name.chars().count().max(c.chars().count());
            *distance <= (longest / 3).max(1)
        })
        .min_by_key(|(distance, c)| (*distance, c.len()))
        .map(|(_, c)| c)
}
