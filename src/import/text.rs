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

/// A written promise or total read as a duration: "5 (lima) hari kerja" gives `5 hari kerja`,
/// "Maksimal 14 hari" gives `14 hari`. `Err` says why it cannot be read: no duration, several,
/// a start point ("sejak berkas dinyatakan lengkap", which names no step), or a hedge
/// ("sekitar", "s/d").
pub fn promise_duration(text: &str) -> Result<String, PromiseProblem> {
    let lower = norm(text);
    // "5 (lima) hari": the number spelled out in parentheses repeats the digits.
    let plain = without_spelled_numbers(text);
    let tokens: Vec<&str> = plain.split_whitespace().collect();
    let is_number = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    let mut found: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let mut end = i;
        while end + 1 < tokens.len() && is_number(tokens[end]) && is_unit(tokens[end + 1]) {
            let unit = tokens[end + 1].to_lowercase();
            end += 2;
            if unit == "hari"
                && tokens.get(end).is_some_and(|t| matches!(t.to_lowercase().as_str(), "kerja" | "kalender"))
            {
                end += 1;
            }
        }
        if end > i {
            found.push((i, end - 1));
            i = end;
        } else {
            i += 1;
        }
    }
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric() && c != '/').collect();
    let ranged = lower.contains('\u{b1}')
        || lower.contains("s/d")
        || lower.as_bytes().windows(3).any(|w| w[0].is_ascii_digit() && w[1] == b'-' && w[2].is_ascii_digit());
    if ranged {
        return Err(PromiseProblem::Hedged("s/d".into()));
    }
    let [(start, end)] = found.as_slice() else {
        return Err(if found.is_empty() { PromiseProblem::NoDuration } else { PromiseProblem::Several });
    };
    if let Some(word) = words.iter().find(|w| START_WORDS.contains(w)) {
        return Err(PromiseProblem::StartPoint(word.to_string()));
    }
    if let Some(word) = words.iter().find(|w| HEDGE_WORDS.contains(w)) {
        return Err(PromiseProblem::Hedged(word.to_string()));
    }
    let duration: Vec<&str> = tokens[*start..=*end].iter().map(|t| t.trim_end_matches([',', ';', '.'])).collect();
    Ok(duration.join(" "))
}

fn is_unit(word: &str) -> bool {
    matches!(
        word.to_lowercase().trim_end_matches([',', ';', '.']),
        "menit" | "mnt" | "jam" | "hari" | "minute" | "minutes" | "min" | "hour" | "hours" | "workday" | "workdays"
    )
}

/// A duration with the numbers spelled out in parentheses left out: "5 (lima) hari kerja"
/// gives "5 hari kerja"; a rounding such as "(5 Hari)" is kept.
pub fn without_spelled_numbers(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut spelled = false;
    for token in text.split_whitespace() {
        if spelled {
            spelled = !token.ends_with(')');
            continue;
        }
        let follows_number = out.last().is_some_and(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()));
        if follows_number && token.starts_with('(') && token[1..].starts_with(char::is_alphabetic) {
            spelled = !token.ends_with(')');
            continue;
        }
        out.push(token);
    }
    if out.join(" ") == collapse(text) {
        text.to_string()
    } else {
        out.join(" ")
    }
}

/// Words that state where a promise's clock starts.
const START_WORDS: &[&str] = &["sejak", "setelah", "sesudah", "terhitung", "dihitung", "semenjak"];
/// Words that make a duration approximate or a range.
const HEDGE_WORDS: &[&str] = &["sekitar", "kurang", "rata", "s/d", "hingga", "sampai", "atau"];

/// Why a written promise is not read as a duration.
#[derive(Clone, Debug, PartialEq)]
pub enum PromiseProblem {
    NoDuration,
    Several,
    StartPoint(String),
    Hedged(String),
}

/// An item of a list in one cell: its enumerator as printed (`a`, `3`), if any, and its text.
pub type ListItem = (Option<String>, String);

/// The items of a list written in one cell: "a. KTP b. NPWP", "1. … 2. …" (a sequence of
/// enumerators, the doubled "1. 1." of some exports read once), else one item per line (a
/// leading bullet dropped), else the cell. Returns the text before the first enumerator (a
/// heading such as "Penerbitan PBG :") and the items with their enumerators.
pub fn list_items(raw: &str) -> (String, Vec<ListItem>) {
    let flat = collapse(raw);
    let tokens: Vec<&str> = flat.split(' ').filter(|t| !t.is_empty()).collect();
    if let Some((preface, items)) = enumerated(&tokens) {
        return (preface, items);
    }
    let lines: Vec<String> = raw
        .lines()
        .map(|l| collapse(l.trim().trim_start_matches(['-', '\u{2022}', '*', '\u{b7}', '\u{25cf}'])))
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() > 1 {
        return (String::new(), lines.into_iter().map(|l| (None, l)).collect());
    }
    if flat.is_empty() {
        return (String::new(), Vec::new());
    }
    // One item numbered as the first of a list ("a. Counter layanan"): the number left out.
    match tokens.split_first() {
        Some((first, rest)) if !rest.is_empty() && enumerator(first).is_some_and(|(n, _, _)| n == 1) => {
            let label = first.trim_start_matches('(').trim_end_matches(['.', ')']).to_string();
            (String::new(), vec![(Some(label), rest.join(" "))])
        }
        _ => (String::new(), vec![(None, flat)]),
    }
}

/// An enumerator token: `1.`, `a.`, `2)`, `b)`; its value and whether it is a letter.
fn enumerator(token: &str) -> Option<(u32, bool, char)> {
    let suffix = token.chars().last().filter(|c| *c == '.' || *c == ')')?;
    let body = token[..token.len() - 1].trim_start_matches('(');
    if !body.is_empty() && body.len() <= 2 && body.chars().all(|c| c.is_ascii_digit()) {
        return body.parse().ok().map(|n| (n, false, suffix));
    }
    let mut chars = body.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_lowercase() => Some((u32::from(c) - u32::from('a') + 1, true, suffix)),
        _ => None,
    }
}

fn enumerated(tokens: &[&str]) -> Option<(String, Vec<ListItem>)> {
    let first = tokens.iter().position(|t| enumerator(t).is_some_and(|(n, _, _)| n == 1))?;
    let (_, letter, suffix) = enumerator(tokens[first])?;
    let mut starts = vec![first];
    let mut expected = 2;
    for (i, token) in tokens.iter().enumerate().skip(first + 1) {
        if enumerator(token) == Some((expected, letter, suffix)) {
            starts.push(i);
            expected += 1;
        }
    }
    if starts.len() < 2 {
        return None;
    }
    let mut items = Vec::new();
    for (k, start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(tokens.len());
        let mut body = &tokens[start + 1..end];
        // "1. 1. Surat Permohonan": the number printed twice.
        if body.first() == Some(&tokens[*start]) {
            body = &body[1..];
        }
        let label = tokens[*start].trim_start_matches('(').trim_end_matches(['.', ')']).to_string();
        items.push((Some(label), body.join(" ")));
    }
    Some((tokens[..first].join(" "), items))
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
    fn promises_are_read_where_they_name_one_duration() {
        assert_eq!(promise_duration("5 (lima) hari kerja").as_deref(), Ok("5 hari kerja"));
        assert_eq!(promise_duration("12 Hari").as_deref(), Ok("12 Hari"));
        assert_eq!(promise_duration("15 (Lima Belas) hari kerja").as_deref(), Ok("15 hari kerja"));
        assert_eq!(promise_duration("Maksimal 14 hari").as_deref(), Ok("14 hari"));
        assert_eq!(promise_duration("30 Menit").as_deref(), Ok("30 Menit"));
        assert_eq!(
            promise_duration("Maksimal 14 hari sejak berkas dinyatakan lengkap"),
            Err(PromiseProblem::StartPoint("sejak".into()))
        );
        assert_eq!(promise_duration("sekitar 6 hari kerja"), Err(PromiseProblem::Hedged("sekitar".into())));
        assert_eq!(promise_duration("3-25 hari kerja"), Err(PromiseProblem::Hedged("s/d".into())));
        assert_eq!(
            promise_duration("Paling lambat 1 (satu) hari Penerbitan PBG, Paling Lambat 3 (Tiga) hari Penerbitan SLF"),
            Err(PromiseProblem::Several)
        );
        assert_eq!(promise_duration("Gratis"), Err(PromiseProblem::NoDuration));
    }

    #[test]
    fn lists_in_one_cell_are_split() {
        let (preface, items) = list_items("a. Surat Permohonan b. Foto copy STRB yang masih berlaku . c. Pas foto 4x6");
        assert_eq!(preface, "");
        let texts: Vec<(Option<&str>, &str)> = items.iter().map(|(n, t)| (n.as_deref(), t.as_str())).collect();
        assert_eq!(
            texts,
            [
                (Some("a"), "Surat Permohonan"),
                (Some("b"), "Foto copy STRB yang masih berlaku ."),
                (Some("c"), "Pas foto 4x6")
            ]
        );
        let (_, doubled) = list_items("1. 1. Fotocopy KTP\n2. 2. Fotocopy NPWPD");
        assert_eq!(doubled[1], (Some("2".into()), "Fotocopy NPWPD".into()));
        let (preface, numbered) =
            list_items("Penerbitan PBG : 1. Dinas Teknis menetapkan 2. Operator mengecek Rp. 3 juta");
        assert_eq!(preface, "Penerbitan PBG :");
        assert_eq!(numbered.len(), 2);
        let (_, lines) = list_items("- Surat Permohonan\n- KTP Pemohon");
        assert_eq!(lines, [(None, "Surat Permohonan".to_string()), (None, "KTP Pemohon".to_string())]);
        assert_eq!(list_items("Gratis").1, [(None, "Gratis".to_string())]);
        assert_eq!(list_items("a. Counter layanan").1, [(Some("a".into()), "Counter layanan".to_string())]);
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
