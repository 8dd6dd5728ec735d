//! The scenario file of `alur simulate` (TOML, keys in English or Bahasa Indonesia): how many
//! applications arrive, how many people work each desk, how long steps take around their
//! standard, how often each decision outcome is taken, and how long applicants take to
//! resubmit. docs/simulate.md describes every key.
//!
//! Reading a file gives a [`Scenario`] whose values still carry their byte ranges, so that the
//! checks against an SOP (unknown step, probabilities that do not add up) point at a line.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{Lang, Text};
use crate::t;

/// A problem in a scenario file: where (a byte range, when known), what, and how to fix it.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub span: Option<Range<usize>>,
    pub message: Text,
    pub help: Option<Text>,
    /// A warning does not stop the run (used by `--compare` for names only one SOP has).
    pub warning: bool,
}

impl Problem {
    pub fn error(span: Option<Range<usize>>, message: Text) -> Problem {
        Problem { span, message, help: None, warning: false }
    }

    pub fn with_help(mut self, help: Text) -> Problem {
        self.help = Some(help);
        self
    }

    /// `FILE:LINE:COL: error: message` and an indented help line, in one language.
    pub fn render(&self, file: &str, text: &str, lang: Lang) -> String {
        let place = match &self.span {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                format!("{file}:{line}:{column}")
            }
            None => file.to_string(),
        };
        let kind = match (self.warning, lang) {
            (false, Lang::Id) => "galat",
            (false, Lang::En) => "error",
            (true, Lang::Id) => "peringatan",
            (true, Lang::En) => "warning",
        };
        let mut out = format!("{place}: {kind}: {}", self.message.get(lang));
        if let Some(span) = &self.span {
            let (line, column) = line_column(text, span.start);
            if let Some(source) = text.lines().nth(line.saturating_sub(1)) {
                let width = text.get(span.clone()).map_or(1, |s| s.lines().next().unwrap_or("").chars().count().max(1));
                out.push_str(&format!(
                    "\n{line:>4} | {source}\n     | {}{}",
                    " ".repeat(column.saturating_sub(1)),
                    "^".repeat(width)
                ));
            }
        }
        if let Some(help) = &self.help {
            let word = match lang {
                Lang::Id => "saran",
                Lang::En => "help",
            };
            out.push_str(&format!("\n     = {word}: {}", help.get(lang)));
        }
        out
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A number written as an integer or a float.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Num(pub f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A number (a factor of the step's standard time) or a duration text such as `"2 hari"`.
#[derive(Clone, Debug, PartialEq)]
pub enum Amount {
    Factor(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a duration such as \"30 menit\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                Ok(Amount::Factor(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount::Factor(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                Ok(Amount::Factor(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
                Ok(Amount::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// How many people work a desk: a count, or `"unlimited"` / `"tak_terbatas"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffCount {
    Count(i64),
    Unlimited,
    Unknown,
}

impl<'de> Deserialize<'de> for StaffCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StaffCount, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StaffCount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of staff or \"unlimited\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StaffCount, E> {
                Ok(StaffCount::Count(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StaffCount, E> {
                Ok(StaffCount::Count(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StaffCount, E> {
                Ok(match v {
                    "unlimited" | "tak_terbatas" | "tak terbatas" => StaffCount::Unlimited,
                    _ => StaffCount::Unknown,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration distribution. For a step, numbers are factors of its standard time (`mean = 1.2`
/// is 20% slower than the SOP says) and texts are absolute (`"45 menit"`); for resubmission,
/// numbers are working days.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DistSpec {
    #[serde(alias = "distribusi")]
    pub distribution: Option<Spanned<String>>,
    #[serde(alias = "rerata", alias = "rata_rata")]
    pub mean: Option<Spanned<Amount>>,
    #[serde(alias = "minimum")]
    pub min: Option<Spanned<Amount>>,
    #[serde(alias = "modus")]
    pub mode: Option<Spanned<Amount>>,
    #[serde(alias = "maksimum")]
    pub max: Option<Spanned<Amount>>,
    /// Coefficient of variation (standard deviation / mean) of a lognormal.
    #[serde(alias = "kv")]
    pub cv: Option<Spanned<Num>>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Arrivals {
    #[serde(alias = "per_hari")]
    pub per_day: Option<Spanned<Num>>,
    #[serde(alias = "per_jam")]
    pub per_hour: Option<Spanned<Num>>,
    /// `poisson` (random, the default) or `regular` / `teratur` (evenly spaced).
    #[serde(alias = "pola")]
    pub pattern: Option<Spanned<String>>,
}

/// A scenario file as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(alias = "nama")]
    pub name: Option<String>,
    /// First arrival: `"2026-01-05 07:30"` in the calendar's zone (default: the first
    /// working instant of 2026).
    #[serde(alias = "mulai")]
    pub start: Option<Spanned<String>>,
    /// How many cases arrive.
    #[serde(alias = "kasus")]
    pub cases: Option<Spanned<i64>>,
    /// Or: for how many working days they arrive.
    #[serde(alias = "hari")]
    pub days: Option<Spanned<i64>>,
    /// The first cases are simulated but not counted (the office starts empty).
    #[serde(alias = "pemanasan")]
    pub warmup: Option<Spanned<i64>>,
    #[serde(alias = "benih")]
    pub seed: Option<u64>,
    /// The service variant to simulate, for an SOP that has them (`varian` of the SOP).
    #[serde(alias = "varian")]
    pub variant: Option<String>,
    #[serde(alias = "kedatangan")]
    pub arrivals: Option<Arrivals>,
    #[serde(alias = "petugas", default)]
    pub staff: BTreeMap<Spanned<String>, Spanned<StaffCount>>,
    #[serde(alias = "waktu", default)]
    pub durations: BTreeMap<Spanned<String>, DistSpec>,
    #[serde(alias = "keputusan", alias = "peluang", default)]
    pub outcomes: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<Num>>>,
    #[serde(alias = "perbaikan")]
    pub resubmit: Option<DistSpec>,
    /// `[tangguh.STEP] peluang = 0.1, lama = "3 hari"`: a share of the step's tasks stands on
    /// hold (`penangguhan`) for that long; past the SOP's maximum the case goes where it says.
    #[serde(alias = "tangguh", default)]
    pub holds: BTreeMap<Spanned<String>, HoldSpec>,
}

/// How often a step's task is put on hold and for how long.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HoldSpec {
    #[serde(alias = "peluang")]
    pub share: Option<Spanned<Num>>,
    #[serde(alias = "lama")]
    pub length: Option<Spanned<String>>,
}

impl Scenario {
    /// Reads a scenario file; a syntax or type error comes back with its place.
    pub fn parse(text: &str) -> Result<Scenario, Problem> {
        toml::from_str::<Scenario>(text).map_err(|error| {
            let message = error.message().trim().to_string();
            Problem::error(
                error.span(),
                t!("skenario tidak bisa dibaca: {message}", "cannot read the scenario: {message}"),
            )
            .with_help(t!(
                "lihat docs/simulate.md untuk kunci yang dikenal dan contohnya",
                "see docs/simulate.md for the known keys and an example"
            ))
        })
    }
}

/// Working minutes of a duration text: `"30 menit"`, `"1.5 jam"`, `"2 hari"`, `"2 days"`.
pub fn parse_duration_minutes(text: &str, day_length_minutes: u32) -> Option<f64> {
    let text = text.trim().to_lowercase();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.replace(',', ".").parse().ok()?;
    let unit = unit.trim();
    let per = match unit {
        "menit" | "minute" | "minutes" | "min" | "m" => 1.0,
        "jam" | "hour" | "hours" | "h" | "j" => 60.0,
        "hari" | "hari kerja" | "day" | "days" | "workday" | "workdays" | "working day" | "working days" => {
            f64::from(day_length_minutes)
        }
        _ => return None,
    };
    (number.is_finite() && number >= 0.0).then_some(number * per)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_both_languages() {
        assert_eq!(parse_duration_minutes("30 menit", 450), Some(30.0));
        assert_eq!(parse_duration_minutes("1,5 jam", 450), Some(90.0));
        assert_eq!(parse_duration_minutes("2 days", 450), Some(900.0));
        assert_eq!(parse_duration_minutes("2 weeks", 450), None);
        assert_eq!(parse_duration_minutes("-1 hari", 450), None);
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_column("a\nbc\nd", 3), (2, 2));
        assert_eq!(line_column("abc", 0), (1, 1));
    }
}
