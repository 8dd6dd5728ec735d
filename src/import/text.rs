//! Small text helpers: cleaning cells, comparing headings, making ids, quoting texts.

use std::collections::HashSet;

use crate::compile::keyword::Kw;

/// A cell as the `.sop` file keeps it: trimmed, each run of whitespace (line breaks inside a
/// spreadsheet cell included) one space, as a wrapped `.sop` text reads anyway.
pub fn collapse(cell: &str) -> String {
    cell.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lower case with whitespace collapsed, for comparing headings and phrases.
pub fn norm(text: &str) -> String {
    collapse(text).to_lowercase()
}

/// Whether a cell reads as a duration: `30 Menit`, `4 Hari 1 Jam`, `14 hari kalender`.
pub fn looks_like_duration(cell: &str) -> bool {
    let n = norm(cell);
    let mut words = n.split(' ').filter(|w| !w.is_empty()).peekable();
    let mut any = false;
    while let Some(number) = words.next() {
        if !number.chars().all(|c| c.is_ascii_digit()) || number.is_empty() {
            return false;
        }
        match words.next() {
            Some(
                "menit" | "mnt" | "jam" | "minute" | "minutes" | "min" | "hour" | "hours" | "workday" | "workdays",
            ) => {}
            Some("hari") => {
                if words.peek().is_some_and(|w| *w == "kerja" || *w == "kalender") {
                    words.next();
                }
            }
            _ => return false,
        }
        any = true;
    }
    any
}

/// Words too common to make a readable id.
const STOP_WORDS: &[&str] = &[
    "yang",
    "dan",
    "di",
    "ke",
    "untuk",
    "secara",
    "telah",
    "sdh",
    "sudah",
    "oleh",
    "dari",
    "dengan",
    "pada",
    "selanjutnya",
    "akan",
    "atau",
    "serta",
    "dalam",
    "the",
    "of",
    "and",
    "to",
    "a",
    "an",
];

/// Makes ids from texts, each one new.
#[derive(Default)]
pub struct Ids {
    used: HashSet<String>,
}

impl Ids {
    /// An id from the first `words` significant words of `text`: `Berkas yang sdh diperiksa`
    /// gives `berkas_diperiksa`. `fallback` is used when the text has no letters; a number is
    /// appended when the id is taken.
    pub fn make(&mut self, text: &str, words: usize, fallback: &str, allow_keyword: bool) -> String {
        let lower = text.to_lowercase();
        let parts: Vec<String> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty() && !STOP_WORDS.contains(w))
            .take(words)
            .map(str::to_string)
            .collect();
        let mut base = parts.join("_");
        if base.is_empty() {
            base = fallback.to_string();
        }
        if base.starts_with(|c: char| c.is_ascii_digit()) {
            base = format!("{fallback}_{base}");
        }
        if !allow_keyword && Kw::of_word(&base).is_some() {
            base = format!("{base}_{fallback}");
        }
        self.claim(base)
    }

    /// Claims `base`, or `base_2`, `base_3`, ... when it is taken.
    pub fn claim(&mut self, base: String) -> String {
        if self.used.insert(base.clone()) {
            return base;
        }
        let mut n = 2;
        loop {
            let candidate = format!("{base}_{n}");
            if self.used.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

/// A text in double quotes, with `"` and `\` escaped.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Text for a `//` comment: one line.
pub fn comment_text(text: &str) -> String {
    collapse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_recognised() {
        assert!(looks_like_duration("30 Menit"));
        assert!(looks_like_duration("4 Hari 1 Jam 18 Menit"));
        assert!(looks_like_duration("14 hari kalender"));
        assert!(!looks_like_duration("Draft SK"));
        assert!(!looks_like_duration("1-2 Hari"));
        assert!(!looks_like_duration(""));
    }

    #[test]
    fn ids_are_readable_and_unique() {
        let mut ids = Ids::default();
        assert_eq!(ids.make("Berkas yang sdh diperiksa", 3, "dok", false), "berkas_diperiksa");
        assert_eq!(ids.make("Berkas yang sdh diperiksa", 3, "dok", false), "berkas_diperiksa_2");
        assert_eq!(ids.make("12 hal", 3, "dok", false), "dok_12_hal");
        assert_eq!(ids.make("Data", 3, "dok", false), "data_dok");
        assert_eq!(ids.make("--", 3, "dok", false), "dok");
    }
}
