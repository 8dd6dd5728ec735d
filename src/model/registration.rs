//! The registration number a case gets when it starts, in the office's own format
//! (`nomor_pendaftaran "503/{nomor:4}/DPMPTSP/{bulan:romawi}/{tahun}"` gives
//! `503/0042/DPMPTSP/XII/2026`). The pattern is read and checked here; the store hands out the
//! running number, gapless per sequence, in the transaction that starts the case.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::syntax::Span;

/// The longest pattern alur takes: a registration number goes on one line of a receipt.
pub const MAX_PATTERN_CHARS: usize = 80;

/// A pattern as written, read into its parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegistrationPattern {
    pub written: String,
    pub parts: Vec<NumberPart>,
    pub span: Span,
}

/// One part of a pattern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NumberPart {
    /// Written as is (`503/`, `/DPMPTSP/`).
    Text { text: String },
    /// `{nomor}` / `{number}`, `{nomor:4}` padded with zeros to four digits: the running number.
    Running { width: u8 },
    /// `{bulan}` (`12`) or `{bulan:romawi}` (`XII`).
    Month { roman: bool },
    /// `{tahun}` (`2026`) or `{tahun:2}` (`26`).
    Year { digits: u8 },
    /// `{tanggal}` / `{day}` (`07`).
    Day,
}

/// What is wrong with a pattern, for the check's diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternError {
    /// A `{...}` alur does not know, or an option it does not take (`{nomor:x}`).
    UnknownPart(String),
    /// No running number, or more than one.
    RunningNumbers(usize),
    /// A `{` without its `}` or a `}` without its `{`.
    Brace,
    /// Empty, too long, or holding a line break or another control character.
    Shape,
}

const ROMAN: [&str; 12] = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"];

impl RegistrationPattern {
    /// Reads a pattern. Placeholders take either language's word.
    pub fn parse(written: &str, span: Span) -> Result<RegistrationPattern, PatternError> {
        if written.trim().is_empty()
            || written.chars().count() > MAX_PATTERN_CHARS
            || written.chars().any(char::is_control)
        {
            return Err(PatternError::Shape);
        }
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = written;
        while let Some(c) = rest.chars().next() {
            match c {
                '{' => {
                    let Some(close) = rest.find('}') else { return Err(PatternError::Brace) };
                    let inner = &rest[1..close];
                    if inner.contains('{') {
                        return Err(PatternError::Brace);
                    }
                    if !text.is_empty() {
                        parts.push(NumberPart::Text { text: std::mem::take(&mut text) });
                    }
                    parts.push(placeholder(inner)?);
                    rest = &rest[close + 1..];
                }
                '}' => return Err(PatternError::Brace),
                _ => {
                    text.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        if !text.is_empty() {
            parts.push(NumberPart::Text { text });
        }
        let running = parts.iter().filter(|p| matches!(p, NumberPart::Running { .. })).count();
        if running != 1 {
            return Err(PatternError::RunningNumbers(running));
        }
        Ok(RegistrationPattern { written: written.to_string(), parts, span })
    }

    /// The sequence a case started on `date` (the office's local date) takes its number from:
    /// the pattern with everything but the running number filled in.
    pub fn numbering_on(&self, date: NaiveDate) -> Numbering {
        let (mut before, mut after, mut width, mut seen) = (String::new(), String::new(), 0, false);
        for part in &self.parts {
            let out = if seen { &mut after } else { &mut before };
            match part {
                NumberPart::Text { text } => out.push_str(text),
                NumberPart::Running { width: w } => {
                    width = *w;
                    seen = true;
                }
                NumberPart::Month { roman: true } => out.push_str(ROMAN[date.month0() as usize]),
                NumberPart::Month { roman: false } => out.push_str(&format!("{:02}", date.month())),
                NumberPart::Year { digits: 2 } => out.push_str(&format!("{:02}", date.year().rem_euclid(100))),
                NumberPart::Year { .. } => out.push_str(&format!("{:04}", date.year())),
                NumberPart::Day => out.push_str(&format!("{:02}", date.day())),
            }
        }
        Numbering { before, width, after }
    }
}

fn placeholder(inner: &str) -> Result<NumberPart, PatternError> {
    let unknown = || PatternError::UnknownPart(inner.to_string());
    let (word, option) = match inner.split_once(':') {
        Some((word, option)) => (word.trim(), Some(option.trim())),
        None => (inner.trim(), None),
    };
    match (word, option) {
        ("nomor" | "number", None) => Ok(NumberPart::Running { width: 0 }),
        ("nomor" | "number", Some(width)) => match width.parse::<u8>() {
            Ok(w @ 1..=9) => Ok(NumberPart::Running { width: w }),
            _ => Err(unknown()),
        },
        ("bulan" | "month", None) => Ok(NumberPart::Month { roman: false }),
        ("bulan" | "month", Some("romawi" | "roman")) => Ok(NumberPart::Month { roman: true }),
        ("tahun" | "year", None | Some("4")) => Ok(NumberPart::Year { digits: 4 }),
        ("tahun" | "year", Some("2")) => Ok(NumberPart::Year { digits: 2 }),
        ("tanggal" | "day", None) => Ok(NumberPart::Day),
        _ => Err(unknown()),
    }
}

/// One sequence of a pattern: what stands before and after the running number. Two cases whose
/// numbering has the same [`Numbering::sequence`] share one counter (per year, per month, as the
/// pattern's date parts make it); so do two SOPs that write the same pattern, which keeps every
/// number unique.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Numbering {
    pub before: String,
    pub width: u8,
    pub after: String,
}

impl Numbering {
    /// The counter's key: the number with its running part left out.
    pub fn sequence(&self) -> String {
        format!("{}{{nomor}}{}", self.before, self.after)
    }

    /// The `n`th number of the sequence.
    pub fn number(&self, n: u64) -> String {
        format!("{}{:0width$}{}", self.before, n, self.after, width = self.width as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RegistrationPattern, PatternError> {
        RegistrationPattern::parse(text, Span::default())
    }

    #[test]
    fn the_office_format_reads_and_numbers() {
        let p = parse("503/{nomor:4}/DPMPTSP/{bulan:romawi}/{tahun}").unwrap();
        let numbering = p.numbering_on(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        assert_eq!(numbering.number(42), "503/0042/DPMPTSP/XII/2026");
        assert_eq!(numbering.sequence(), "503/{nomor}/DPMPTSP/XII/2026");
        assert_eq!(numbering.number(123456), "503/123456/DPMPTSP/XII/2026");
        let en = parse("REG-{year:2}{month}{day}-{number}").unwrap();
        let numbering = en.numbering_on(NaiveDate::from_ymd_opt(2027, 1, 5).unwrap());
        assert_eq!(numbering.number(7), "REG-270105-7");
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        assert_eq!(parse("503/{nomer:4}/{tahun}"), Err(PatternError::UnknownPart("nomer:4".into())));
        assert_eq!(parse("503/{nomor:0}"), Err(PatternError::UnknownPart("nomor:0".into())));
        assert_eq!(parse("503/{nomor:12}"), Err(PatternError::UnknownPart("nomor:12".into())));
        assert_eq!(parse("503/{bulan}/{tahun}"), Err(PatternError::RunningNumbers(0)));
        assert_eq!(parse("{nomor}/{nomor}"), Err(PatternError::RunningNumbers(2)));
        assert_eq!(parse("503/{nomor"), Err(PatternError::Brace));
        assert_eq!(parse("503/nomor}"), Err(PatternError::Brace));
        assert_eq!(parse("{ {nomor}"), Err(PatternError::Brace));
        assert_eq!(parse("  "), Err(PatternError::Shape));
        assert_eq!(parse("a\n{nomor}"), Err(PatternError::Shape));
        assert_eq!(parse(&format!("{}{{nomor}}", "x".repeat(80))), Err(PatternError::Shape));
    }
}
