//! Text to concrete syntax tree, through the pest grammar in `grammar/sop.pest`.
//!
//! The grammar accepts any sequence of lines and blocks, so the only pest failures left are
//! resource limits; everything else becomes a diagnostic with the exact span, and the lines
//! around a bad one still parse.

use pest::iterators::Pair;
use pest::Parser as _;
use std::num::NonZeroUsize;

use super::cst::{Block, Comment, Cst, Item, Token, TokenKind};
use super::{FileId, Span};
use crate::diagnostic::{Code, Diagnostic};
use crate::t;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/sop.pest"]
struct SopGrammar;

/// Files beyond this size are refused with one clear error instead of being read.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// Deeper nesting than this is refused before pest recurses into it.
pub const MAX_NESTING: usize = 32;
/// Bounds pest's work on pathological inputs.
const CALL_LIMIT: usize = 200_000_000;

/// E002 for a file of `bytes` bytes, over [`MAX_FILE_BYTES`].
pub fn too_large(file: FileId, bytes: u64) -> Diagnostic {
    // Rounded up: a file just over the limit must not read as "16 MiB, over the 16 MiB limit".
    let mib = bytes.div_ceil(1024 * 1024);
    let limit = MAX_FILE_BYTES / (1024 * 1024);
    Diagnostic::new(
        Code::InputTooLarge,
        t!("berkas ini {mib} MiB, melebihi batas {limit} MiB", "this file is {mib} MiB, over the {limit} MiB limit"),
        Span::new(file, 0, 0),
        t!("berkas terlalu besar", "file too large"),
    )
    .with_help(t!(
        "pecah SOP menjadi beberapa berkas dan gabungkan dengan `impor`",
        "split the SOP into several files and combine them with `import`"
    ))
}

/// Parses bytes read from a file: checks the size and the encoding first.
pub fn parse_bytes(file: FileId, bytes: &[u8]) -> Result<(), Diagnostic> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large(file, bytes.len() as u64));
    }
    if let Err(error) = std::str::from_utf8(bytes) {
        let at = error.valid_up_to();
        return Err(Diagnostic::new(
            Code::InputNotUtf8,
            t!("berkas ini bukan teks UTF-8 (byte ke-{at})", "this file is not UTF-8 text (at byte {at})"),
            Span::new(file, at, at),
            t!("byte bukan UTF-8 di sini", "non-UTF-8 byte here"),
        )
        .with_help(t!(
            "simpan berkas sebagai UTF-8 di penyunting teks",
            "save the file as UTF-8 in your text editor"
        )));
    }
    Ok(())
}

/// Parses source text into a syntax tree and the diagnostics found on the way.
pub fn parse(file: FileId, text: &str) -> (Cst, Vec<Diagnostic>) {
    if text.len() > MAX_FILE_BYTES {
        return (Cst::default(), vec![too_large(file, text.len() as u64)]);
    }
    if let Some(offset) = too_deep(text) {
        let diagnostic = Diagnostic::new(
            Code::NestingTooDeep,
            t!(
                "blok bersarang lebih dari {MAX_NESTING} tingkat",
                "blocks are nested more than {MAX_NESTING} levels deep"
            ),
            Span::new(file, offset, offset + 1),
            {
                let level = MAX_NESTING + 1;
                t!("tingkat ke-{level} dimulai di sini", "level {level} starts here")
            },
        )
        .with_help(t!(
            "SOP tidak memerlukan sarang sedalam ini; periksa kurung kurawal yang tidak ditutup",
            "no SOP needs nesting this deep; look for braces that are never closed"
        ));
        return (Cst::default(), vec![diagnostic]);
    }
    pest::set_call_limit(NonZeroUsize::new(CALL_LIMIT));
    parse_whole(file, text)
}

/// The whole text in one pass.
fn parse_whole(file: FileId, text: &str) -> (Cst, Vec<Diagnostic>) {
    let mut cst = Cst::default();
    let pair = match SopGrammar::parse(Rule::file, text) {
        Ok(mut pairs) => pairs.next(),
        Err(error) => return (cst, vec![limit_error(file, &error)]),
    };
    let mut builder = Builder::new(file, text);
    if let Some(pair) = pair {
        builder.file(pair, &mut cst, &mut LineState::start());
    }
    (cst, builder.diagnostics)
}

/// pest fails only on its call limit: the grammar accepts any text.
fn limit_error(file: FileId, error: &pest::error::Error<Rule>) -> Diagnostic {
    let (start, end) = match error.location {
        pest::error::InputLocation::Pos(p) => (p, p),
        pest::error::InputLocation::Span((s, e)) => (s, e),
    };
    Diagnostic::new(
        Code::ParserLimit,
        t!(
            "pengurai berhenti: masukan ini terlalu rumit untuk dibaca",
            "the parser stopped: this input is too complex to read"
        ),
        Span::new(file, start, end),
        t!("berhenti di sini", "stopped here"),
    )
}

fn unclosed_block(open: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnclosedBlock,
        t!("blok ini tidak pernah ditutup", "this block is never closed"),
        open,
        t!("`{{` ini tidak punya `}}` pasangannya", "this `{{` has no matching `}}`"),
    )
    .with_help(t!("tambahkan `}}` di akhir blok", "add a `}}` where the block ends"))
}

/// The first `{` beyond the nesting limit, reading the braces of the text and skipping strings
/// and comments exactly as the grammar reads them: pest is built without its native stack probe
/// (see Cargo.toml), so this check is what bounds its recursion; blocks are the grammar's only
/// nesting.
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    // Once a string has no closing quote, no later one has either (see `string_end`).
    let mut unclosed = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => match (!unclosed).then(|| string_end(bytes, i)).flatten() {
                Some(end) => i = end,
                None => {
                    // An unclosed string runs to the end of its line.
                    unclosed = true;
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
            },
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b'}' => depth = depth.saturating_sub(1),
            // Any other byte, and a run of those that are part of a token at once.
            _ => {
                i += 1;
                while i < bytes.len() && TOKEN_BYTES[usize::from(bytes[i])] {
                    i += 1;
                }
                continue;
            }
        }
        i += 1;
    }
    None
}

/// The bytes that [`too_deep`] only reads as part of a run: all but those it matches itself.
static TOKEN_BYTES: [bool; 256] = {
    let mut table = [true; 256];
    table[b'"' as usize] = false;
    table[b'/' as usize] = false;
    table[b'{' as usize] = false;
    table[b'}' as usize] = false;
    table
};

/// The closing quote of the string that opens at `start`, as the grammar's `string` rule reads
/// it: the next `"` not escaped by `\`, on any line. `None` when there is none. The reading from
/// any later quote is a suffix of this one (that quote is escaped in it), so when one string
/// is unclosed, every later one is too.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some(i),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// Where we are relative to line ends, to attach comments and blank lines.
struct LineState {
    newlines: usize,
    pending: Vec<Comment>,
}

impl LineState {
    fn start() -> Self {
        LineState { newlines: 1, pending: Vec::new() }
    }
}

/// The line breaks (`\n`, `\r\n` or `;`) in the text between two pairs of an `items` pair,
/// which holds nothing else there but whitespace.
fn line_breaks(gap: &str) -> usize {
    gap.bytes().filter(|b| matches!(b, b'\n' | b';')).count()
}

struct Builder<'t> {
    file: FileId,
    /// The text pest read.
    text: &'t str,
    diagnostics: Vec<Diagnostic>,
}

impl<'t> Builder<'t> {
    fn new(file: FileId, text: &'t str) -> Self {
        Builder { file, text, diagnostics: Vec::new() }
    }
}

impl Builder<'_> {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    /// A `file` pair: items, and stray closing braces in order.
    fn file(&mut self, pair: Pair<'_, Rule>, cst: &mut Cst, state: &mut LineState) {
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::items => self.items(child, &mut cst.items, &mut cst.trailing, state),
                Rule::stray_close => {
                    let span = self.span(&child);
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::UnmatchedClose,
                            t!("`}}` ini tidak menutup blok apa pun", "this `}}` closes no block"),
                            span,
                            t!("tidak ada `{{` yang cocok", "no matching `{{`"),
                        )
                        .with_help(t!(
                            "hapus `}}` ini, atau tambahkan `{{` yang hilang",
                            "remove this `}}`, or add the missing `{{`"
                        )),
                    );
                }
                _ => {}
            }
        }
    }

    /// The heads, blocks and comments of one `items` pair. A block right after a head on the
    /// same line is that head's block (`langkah 1 ajukan oleh pemohon {`); any other block is an
    /// item of its own.
    fn items(&mut self, pair: Pair<'_, Rule>, out: &mut Vec<Item>, trailing: &mut Vec<Comment>, state: &mut LineState) {
        let mut gap_start = pair.as_span().start();
        let end = pair.as_span().end();
        // Whether the last item is a head that a block may still follow.
        let mut after_head = false;
        for child in pair.into_inner() {
            let (start, child_end) = (child.as_span().start(), child.as_span().end());
            state.newlines += line_breaks(self.text.get(gap_start..start).unwrap_or(""));
            gap_start = child_end;
            match child.as_rule() {
                Rule::comment => {
                    let comment = Comment {
                        text: child.as_str().trim_end().to_string(),
                        span: self.span(&child),
                        blank_before: state.newlines >= 2,
                    };
                    match out.last_mut() {
                        Some(last) if state.newlines == 0 && last.trailing.is_none() && state.pending.is_empty() => {
                            last.trailing = Some(comment)
                        }
                        _ => state.pending.push(comment),
                    }
                    state.newlines = 0;
                    after_head = false;
                }
                Rule::head => {
                    let mut item = self.head(child);
                    item.blank_before = state.newlines >= 2;
                    item.leading = std::mem::take(&mut state.pending);
                    state.newlines = 0;
                    out.push(item);
                    after_head = true;
                }
                Rule::block => {
                    let block = self.block(child);
                    // The block pair starts after its `{`.
                    let whole = Span::new(self.file, start.saturating_sub(1), child_end);
                    match out.last_mut() {
                        Some(last) if after_head && state.newlines == 0 => {
                            last.span = last.span.to(whole);
                            last.block = Some(block);
                        }
                        _ => {
                            out.push(Item {
                                tokens: Vec::new(),
                                block: Some(block),
                                span: whole,
                                leading: std::mem::take(&mut state.pending),
                                trailing: None,
                                blank_before: state.newlines >= 2,
                                broken: false,
                            });
                        }
                    }
                    state.newlines = 0;
                    after_head = false;
                }
                _ => {}
            }
        }
        state.newlines += line_breaks(self.text.get(gap_start..end).unwrap_or(""));
        trailing.append(&mut state.pending);
    }

    /// An item from the tokens of a head; its block, if any, is added by [`Builder::items`].
    fn head(&mut self, pair: Pair<'_, Rule>) -> Item {
        let span = self.span(&pair);
        let mut item = Item {
            tokens: Vec::new(),
            block: None,
            span,
            leading: Vec::new(),
            trailing: None,
            blank_before: false,
            broken: false,
        };
        let tokens = pair.into_inner();
        item.tokens.reserve_exact(tokens.len());
        for token in tokens {
            let token = self.token(token);
            if matches!(token.kind, TokenKind::Bad | TokenKind::UnclosedString) {
                item.broken = true;
            }
            item.tokens.push(token);
        }
        item
    }

    fn block(&mut self, pair: Pair<'_, Rule>) -> Block {
        // The `{` is just before the block pair.
        let start = pair.as_span().start().saturating_sub(1);
        let open = Span::new(self.file, start, start + 1);
        let mut block = Block { open, items: Vec::new(), trailing: Vec::new(), close: None };
        let mut state = LineState::start();
        state.newlines = 0;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::items => self.items(child, &mut block.items, &mut block.trailing, &mut state),
                Rule::close => block.close = Some(self.span(&child)),
                _ => {}
            }
        }
        if block.close.is_none() {
            self.diagnostics.push(unclosed_block(open));
        }
        block
    }

    fn token(&mut self, pair: Pair<'_, Rule>) -> Token {
        let span = self.span(&pair);
        let text = pair.as_str().to_string();
        let kind = match pair.as_rule() {
            Rule::string => TokenKind::String,
            Rule::unclosed_string => TokenKind::UnclosedString,
            Rule::date => TokenKind::Date,
            Rule::clock => TokenKind::Clock,
            Rule::number => TokenKind::Number,
            Rule::word => TokenKind::Word,
            Rule::arrow => TokenKind::Arrow,
            Rule::compare => TokenKind::Compare,
            Rule::punct => TokenKind::Punct,
            _ => TokenKind::Bad,
        };
        match kind {
            TokenKind::Bad => {
                // Quotes pasted from a word processor are typographic; the language needs `"`.
                let help = if matches!(text.as_str(), "\u{201C}" | "\u{201D}" | "\u{201E}" | "\u{2018}" | "\u{2019}") {
                    t!(
                        "ganti tanda kutip miring `{text}` dengan tanda kutip lurus `\"`",
                        "replace the typographic quote `{text}` with a straight `\"`"
                    )
                } else {
                    t!(
                        "teks bebas ditulis di antara tanda kutip, misalnya \"{text}\"",
                        "free text goes in double quotes, for example \"{text}\""
                    )
                };
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::UnexpectedCharacter,
                        t!("karakter `{text}` tidak dikenal di sini", "unexpected character `{text}`"),
                        span,
                        t!("karakter tak terduga", "unexpected character"),
                    )
                    .with_help(help),
                )
            }
            TokenKind::UnclosedString => self.diagnostics.push(
                Diagnostic::new(
                    Code::UnclosedString,
                    t!("teks dalam tanda kutip tidak ditutup", "a text in quotes is not closed"),
                    Span::new(self.file, span.start as usize, span.start as usize + 1),
                    t!("tanda kutip pembuka ini tidak punya pasangan", "this opening quote has no closing quote"),
                )
                .with_help(t!("tambahkan `\"` di akhir teks", "add a `\"` where the text ends")),
            ),
            _ => {}
        }
        Token { kind, text, span }
    }
}
