//! Reading the tokens of one line. Naming contract (after just's parser): `expect_*` returns
//! the thing or a user-facing diagnostic saying what was expected; `eat_*` consumes a token
//! only when it matches and says whether it did.

use super::keyword::Kw;
use crate::diagnostic::{did_you_mean, Code, Diagnostic, Text};
use crate::syntax::{Span, Token, TokenKind};
use crate::t;
use crate::time::Duration;

pub struct Cursor<'a> {
    tokens: &'a [Token],
    pos: usize,
    /// Where "the end of the line" is, for errors about a missing value.
    end: Span,
}

impl<'a> Cursor<'a> {
    pub fn new(tokens: &'a [Token], line: Span) -> Cursor<'a> {
        let end =
            tokens.last().map(|t| Span::new(t.span.file, t.span.end as usize, t.span.end as usize)).unwrap_or(line);
        Cursor { tokens, pos: 0, end }
    }

    pub fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos)
    }

    /// The token `ahead` places after the next one.
    pub fn peek_at(&self, ahead: usize) -> Option<&'a Token> {
        self.tokens.get(self.pos + ahead)
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    /// Where something missing at the end of the line would go.
    pub fn end(&self) -> Span {
        self.end
    }

    /// The token read last.
    pub fn last_read(&self) -> Option<&'a Token> {
        self.pos.checked_sub(1).and_then(|at| self.tokens.get(at))
    }

    /// A name written as adjacent tokens (`nasional-2026`, `Asia/Makassar`), glued back
    /// together because the grammar splits words at `-` and `/`.
    pub fn eat_joined_name(&mut self) -> Option<(String, Span)> {
        let first = self.peek()?;
        if !matches!(first.kind, TokenKind::Word | TokenKind::Number) {
            return None;
        }
        let mut text = first.text.clone();
        let mut span = first.span;
        self.pos += 1;
        while let Some(token) = self.peek() {
            let adjacent = token.span.start == span.end;
            let joinable = matches!(token.kind, TokenKind::Word | TokenKind::Number)
                || (token.kind == TokenKind::Punct && matches!(token.text.as_str(), "-" | "/"));
            if !adjacent || !joinable {
                break;
            }
            text.push_str(&token.text);
            span = span.to(token.span);
            self.pos += 1;
        }
        Some((text, span))
    }

    pub fn next(&mut self) -> Option<&'a Token> {
        let token = self.tokens.get(self.pos)?;
        self.pos += 1;
        Some(token)
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn rewind(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// The span of the next token, or the end of the line.
    pub fn here(&self) -> Span {
        self.peek().map(|t| t.span).unwrap_or(self.end)
    }

    pub fn eat_kw(&mut self, kw: Kw) -> bool {
        if self.peek().is_some_and(|t| kw.matches(t)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn eat_punct(&mut self, punct: &str) -> Option<&'a Token> {
        if self.peek().is_some_and(|t| t.is_punct(punct)) {
            self.next()
        } else {
            None
        }
    }

    /// An error saying what was expected and what was found instead.
    pub fn expected(&self, what: &Text) -> Diagnostic {
        let (what_id, what_en) = (&what.id, &what.en);
        match self.peek() {
            Some(found) => {
                let found_text = &found.text;
                Diagnostic::new(
                    Code::Expected,
                    t!(
                        "diharapkan {what_id}, tetapi tertulis `{found_text}`",
                        "expected {what_en}, found `{found_text}`"
                    ),
                    found.span,
                    t!("diharapkan {what_id} di sini", "expected {what_en} here"),
                )
            }
            None => Diagnostic::new(
                Code::Expected,
                t!("diharapkan {what_id} di akhir baris", "expected {what_en} at the end of the line"),
                self.end,
                t!("{what_id} belum ditulis", "{what_en} is missing"),
            ),
        }
    }

    pub fn expect_kind(&mut self, kind: TokenKind, what: &Text) -> Result<&'a Token, Diagnostic> {
        match self.peek() {
            Some(t) if t.kind == kind => {
                self.pos += 1;
                Ok(t)
            }
            _ => Err(self.expected(what)),
        }
    }

    /// An identifier: a word that is not one of the reserved structural keywords.
    pub fn expect_name(&mut self, what: &Text) -> Result<&'a Token, Diagnostic> {
        self.expect_kind(TokenKind::Word, what)
    }

    pub fn expect_string(&mut self, what: &Text) -> Result<String, Diagnostic> {
        Ok(self.expect_kind(TokenKind::String, what)?.string_value())
    }

    pub fn expect_kw(&mut self, kw: Kw, what: &Text) -> Result<(), Diagnostic> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    pub fn expect_punct(&mut self, punct: &str, what: &Text) -> Result<&'a Token, Diagnostic> {
        self.eat_punct(punct).ok_or_else(|| self.expected(what))
    }

    pub fn expect_number(&mut self, what: &Text) -> Result<(u32, Span), Diagnostic> {
        match self.peek() {
            Some(t) if t.kind == TokenKind::Number => match t.text.parse::<u32>() {
                Ok(n) => {
                    self.pos += 1;
                    Ok((n, t.span))
                }
                Err(_) => Err(Diagnostic::new(
                    Code::InvalidValue,
                    {
                        let text = &t.text;
                        t!(
                            "`{text}` bukan bilangan bulat yang dapat dipakai di sini",
                            "`{text}` is not a whole number that can be used here"
                        )
                    },
                    t.span,
                    t!("bilangan bulat diharapkan", "whole number expected"),
                )),
            },
            _ => Err(self.expected(what)),
        }
    }

    /// Fails when tokens are left on the line.
    pub fn expect_end(&self) -> Result<(), Diagnostic> {
        match self.peek() {
            None => Ok(()),
            Some(t) => {
                let last = self.tokens.last().map(|l| l.span).unwrap_or(t.span);
                let text = &t.text;
                Err(Diagnostic::new(
                    Code::Expected,
                    t!(
                        "ada sisa `{text}` yang tidak dimengerti di akhir baris",
                        "unexpected `{text}` at the end of the line"
                    ),
                    t.span.to(last),
                    t!("tidak diharapkan di sini", "not expected here"),
                )
                .with_help(t!(
                    "satu baris memuat satu pengaturan; pindahkan ini ke baris sendiri atau hapus",
                    "one line holds one setting; move this to its own line or remove it"
                )))
            }
        }
    }

    /// The span of the tokens from `start` (a position) to the current one.
    pub fn span_from(&self, start: usize) -> Span {
        let first = self.tokens.get(start).map(|t| t.span).unwrap_or(self.end);
        let last = self.tokens.get(self.pos.saturating_sub(1).max(start)).map(|t| t.span).unwrap_or(first);
        first.to(last)
    }

    /// The source text of the tokens from `start` to the current one, one space apart.
    pub fn text_from(&self, start: usize) -> String {
        self.tokens.get(start..self.pos).unwrap_or(&[]).iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join(" ")
    }
}

/// A parsed duration and the warnings it raised (a bare English `day`).
pub struct ParsedDuration {
    pub value: Duration,
    pub text: String,
    pub span: Span,
    pub warnings: Vec<Diagnostic>,
}

enum Unit {
    Minutes,
    Hours,
    Workdays,
    CalendarDays,
}

/// The one-word units, for "did you mean" on a misspelt one (`4 hri`). The bare English
/// `day`/`days` are left out: they are ambiguous (W001), so never suggested. Bahasa Indonesia
/// first: the language server completes the words of a file's language.
pub const UNIT_WORDS: &[&str] =
    &["menit", "mnt", "jam", "hari", "minute", "minutes", "min", "hour", "hours", "workday", "workdays"];

fn what_duration() -> Text {
    t!("lama waktu seperti `30 menit` atau `4 hari`", "a duration such as `30 minutes` or `4 workdays`")
}

/// A word in lower case, copied only when it has upper-case letters.
fn lowercase(text: &str) -> std::borrow::Cow<'_, str> {
    if text.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.to_lowercase())
    }
}

/// Reads `4 hari 1 jam 18 menit`, `2 hari kalender`, `30 minutes`, `1 workday`.
pub fn expect_duration(cursor: &mut Cursor<'_>) -> Result<ParsedDuration, Diagnostic> {
    let start = cursor.position();
    let mut value = Duration::ZERO;
    let mut warnings = Vec::new();
    let mut any = false;
    while cursor.peek().is_some_and(|t| t.kind == TokenKind::Number) {
        let (n, _) = cursor.expect_number(&what_duration())?;
        let unit_token = cursor.peek();
        let unit = match unit_token.map(|t| lowercase(&t.text)) {
            Some(w) if matches!(&*w, "menit" | "mnt" | "minute" | "minutes" | "min") => Unit::Minutes,
            Some(w) if matches!(&*w, "jam" | "hour" | "hours") => Unit::Hours,
            Some(w) if matches!(&*w, "workday" | "workdays") => Unit::Workdays,
            Some(w) if w == "hari" => {
                cursor.next();
                match cursor.peek().map(|t| lowercase(&t.text)) {
                    Some(next) if next == "kerja" => Unit::Workdays,
                    Some(next) if next == "kalender" => Unit::CalendarDays,
                    _ => {
                        cursor.rewind(cursor.position() - 1);
                        Unit::Workdays
                    }
                }
            }
            Some(w) if matches!(&*w, "working" | "calendar") => {
                let calendar = w == "calendar";
                cursor.next();
                match cursor.peek().map(|t| lowercase(&t.text)) {
                    Some(next) if next == "day" || next == "days" => {
                        if calendar {
                            Unit::CalendarDays
                        } else {
                            Unit::Workdays
                        }
                    }
                    _ => {
                        return Err(cursor.expected(&t!("`day` atau `days`", "`day` or `days`")));
                    }
                }
            }
            Some(w) if w == "day" || w == "days" => {
                if let Some(t) = unit_token {
                    let text = &t.text;
                    warnings.push(
                        Diagnostic::new(
                            Code::AmbiguousDay,
                            t!(
                                "`{text}` bisa berarti hari kerja atau hari kalender",
                                "`{text}` may mean a working day or a calendar day"
                            ),
                            t.span,
                            t!("dibaca sebagai hari kerja", "read as working days"),
                        )
                        .with_help(t!(
                            "tulis `workdays` (hari kerja) atau `calendar days` (hari kalender)",
                            "write `workdays` or `calendar days`"
                        )),
                    );
                }
                Unit::Workdays
            }
            _ => {
                let d = cursor.expected(&t!(
                    "satuan waktu (`menit`, `jam`, `hari`, `hari kalender`)",
                    "a unit of time (`minutes`, `hours`, `workdays`, `calendar days`)"
                ));
                let typo = unit_token.filter(|t| t.kind == TokenKind::Word);
                return Err(match typo.and_then(|t| did_you_mean(&t.text, UNIT_WORDS.iter().copied())) {
                    Some(unit) => d.with_help(t!("maksudnya `{unit}`?", "did you mean `{unit}`?")),
                    None => d,
                });
            }
        };
        cursor.next();
        let part = match unit {
            Unit::Minutes => Duration { minutes: n, ..Duration::ZERO },
            Unit::Hours => Duration { hours: n, ..Duration::ZERO },
            Unit::Workdays => Duration { workdays: n, ..Duration::ZERO },
            Unit::CalendarDays => Duration { calendar_days: n, ..Duration::ZERO },
        };
        value = value.checked_add(part).ok_or_else(|| {
            Diagnostic::new(
                Code::InvalidValue,
                t!("lama waktu ini terlalu besar", "this duration is too large"),
                cursor.span_from(start),
                t!("terlalu besar", "too large"),
            )
        })?;
        any = true;
    }
    if !any {
        return Err(cursor.expected(&what_duration()));
    }
    Ok(ParsedDuration { value, text: cursor.text_from(start), span: cursor.span_from(start), warnings })
}
