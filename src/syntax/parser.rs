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
///
/// A large file is read in two halves on two threads (see [`parse_with_split`]); the result is
/// exactly the one a single pass gives.
pub fn parse(file: FileId, text: &str) -> (Cst, Vec<Diagnostic>) {
    let (cst, diagnostics, _) = parse_with_split(file, text, super::two_threads_from(SPLIT_MIN_BYTES));
    (cst, diagnostics)
}

/// Inputs of this size or more are parsed in two halves on two threads: pest's matching is
/// most of the time `alur check` spends on a large file, and a thread costs about as much as
/// parsing a few kilobytes.
const SPLIT_MIN_BYTES: usize = 256 * 1024;

/// Inputs beyond this size are parsed in one pass, so that [`CALL_LIMIT`] means what it means
/// for one pass: each half is held to the limit on its own, and a split parse could differ
/// only if one pass over the whole file reached the limit. For that, pest would have to spend
/// more than `CALL_LIMIT / SPLIT_MAX_BYTES` (95) calls per byte; the worst text measured costs
/// 28 (`}1-` repeated; `parser::tests::calls_per_byte`). (So a file of 7 MiB or more can reach
/// the limit in one pass.)
const SPLIT_MAX_BYTES: usize = 2 * 1024 * 1024;

/// [`parse`], with the size from which a file is cut in two as a parameter (tests cut small
/// files). Also returns where the text was cut, if it was.
///
/// The cut is at the start of a line inside the top-level block (`sop ... {`), at or after the
/// middle of the file (see [`scan`]). pest reads the first half as a `file` whose top-level block
/// is left open at the cut, and, on a second thread, the second half as the `items` of that
/// block, which stop at its closing `}`; what follows that brace is read as a `file` again,
/// which is how the grammar reads it after the block. The halves' trees are built on their
/// threads and joined: the second half's items go into the open block. The cut is where the
/// builder's line state is known without the first half (one line break since the last item,
/// no comments waiting), so both halves build exactly what one pass builds. Anything
/// unexpected (a half that pest refuses, a second half ending elsewhere than the scan said)
/// falls back to one pass.
#[doc(hidden)]
pub fn parse_with_split(file: FileId, text: &str, min_split_bytes: usize) -> (Cst, Vec<Diagnostic>, Option<usize>) {
    let mut diagnostics = Vec::new();
    if text.len() > MAX_FILE_BYTES {
        if let Err(d) = parse_bytes(file, text.as_bytes()) {
            diagnostics.push(d);
        }
        return (Cst::default(), diagnostics, None);
    }
    let split = text.len() >= min_split_bytes && text.len() <= SPLIT_MAX_BYTES;
    let scan = scan(text, split);
    if let Some(offset) = scan.too_deep {
        diagnostics.push(
            Diagnostic::new(
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
            )),
        );
        return (Cst::default(), diagnostics, None);
    }
    pest::set_call_limit(NonZeroUsize::new(CALL_LIMIT));
    if let Some(cut) = scan.cut {
        if let Some((cst, diagnostics)) = parse_halves(file, text, cut) {
            return (cst, diagnostics, Some(cut.at));
        }
    }
    let (cst, diagnostics) = parse_whole(file, text);
    (cst, diagnostics, None)
}

/// For tests: where [`parse`] would cut `text` if it were large enough.
#[doc(hidden)]
pub fn split_point(text: &str) -> Option<usize> {
    scan(text, true).cut.map(|cut| cut.at)
}

/// The whole text in one pass.
fn parse_whole(file: FileId, text: &str) -> (Cst, Vec<Diagnostic>) {
    let mut cst = Cst::default();
    let pair = match SopGrammar::parse(Rule::file, text) {
        Ok(mut pairs) => pairs.next(),
        Err(error) => return (cst, vec![limit_error(file, &error)]),
    };
    let mut builder = Builder::new(file, text, 0);
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

/// The text in two halves on two threads (see [`parse_with_split`]); `None` when it must be
/// read in one pass after all.
fn parse_halves(file: FileId, text: &str, cut: Cut) -> Option<(Cst, Vec<Diagnostic>)> {
    let (first, second) = text.split_at(cut.at);
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("alur-parse".into())
            .spawn_scoped(scope, move || second_half(file, second, cut.at))
            .ok()?;
        let first = first_half(file, first, text, cut);
        let second = match handle.join() {
            Ok(second) => second,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let (mut cst, seam, mut diagnostics, rest_diagnostics) = first?;
        let second = second?;
        if cut.at + second.end != cut.close {
            return None;
        }
        // The block left open at the cut: its items go on with the second half's.
        let item = cst.items.get_mut(seam)?;
        let block = item.block.as_mut()?;
        block.items.extend(second.items);
        block.trailing.extend(second.trailing);
        diagnostics.extend(second.diagnostics);
        let end = if cut.close < text.len() {
            block.close = Some(Span::new(file, cut.close, cut.close + 1));
            cut.close + 1
        } else {
            diagnostics.push(unclosed_block(block.open));
            cut.close
        };
        item.span = item.span.to(Span::new(file, end, end));
        diagnostics.extend(rest_diagnostics);
        Some((cst, diagnostics))
    })
}

/// What the first half gives: the tree up to the cut and after the open block's close, the
/// index of the item whose block is open at the cut, and the diagnostics before the cut and
/// after the close.
type FirstHalf = (Cst, usize, Vec<Diagnostic>, Vec<Diagnostic>);

/// The text before the cut, and after the close of the block open at the cut.
fn first_half(file: FileId, first: &str, text: &str, cut: Cut) -> Option<FirstHalf> {
    let pair = SopGrammar::parse(Rule::file, first).ok()?.next()?;
    let mut builder = Builder::new(file, first, 0);
    builder.cut_at_end = true;
    let mut cst = Cst::default();
    let mut state = LineState::start();
    builder.file(pair, &mut cst, &mut state);
    // Exactly one block reaches the cut: the top-level one, in the last item.
    if builder.cut_blocks != 1 {
        return None;
    }
    let seam = cst.items.len().checked_sub(1)?;
    if cst.items[seam].block.as_ref().is_none_or(|b| b.close.is_some()) {
        return None;
    }
    let mut rest_diagnostics = Vec::new();
    if cut.close < text.len() {
        // The second half stops at this `}` (it is nothing else: `items` stops only there).
        if text.as_bytes().get(cut.close) != Some(&b'}') {
            return None;
        }
        // After the block, the top level goes on as a `file` would: more items, stray closing
        // braces. The line state carries over (no line break since the block, no comments
        // waiting); the last item is the one with the block, for a comment after its `}`.
        let rest = text.get(cut.close + 1..)?;
        let pair = SopGrammar::parse(Rule::file, rest).ok()?.next()?;
        let mut builder_rest = Builder::new(file, rest, cut.close + 1);
        builder_rest.file(pair, &mut cst, &mut state);
        rest_diagnostics = builder_rest.diagnostics;
    }
    Some((cst, seam, builder.diagnostics, rest_diagnostics))
}

/// The items of the second half, up to the `}` that closes the block open at the cut.
struct SecondHalf {
    items: Vec<Item>,
    trailing: Vec<Comment>,
    diagnostics: Vec<Diagnostic>,
    /// Where pest stopped, in the second half.
    end: usize,
}

fn second_half(file: FileId, second: &str, offset: usize) -> Option<SecondHalf> {
    let pair = SopGrammar::parse(Rule::items, second).ok()?.next()?;
    let end = pair.as_span().end();
    let mut builder = Builder::new(file, second, offset);
    let (mut items, mut trailing) = (Vec::new(), Vec::new());
    // At the cut: one line break since the last item, no comments waiting (see `scan`).
    let mut state = LineState { newlines: 1, pending: Vec::new() };
    builder.items(pair, &mut items, &mut trailing, &mut state);
    Some(SecondHalf { items, trailing, diagnostics: builder.diagnostics, end })
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

/// Where a text may be cut for a split parse (see [`parse_with_split`]).
#[derive(Clone, Copy, Debug)]
struct Cut {
    /// The start of a line inside a top-level block.
    at: usize,
    /// The `}` that closes that block; the text's length when nothing does.
    close: usize,
}

/// What one pass over the text finds before pest runs.
struct Scan {
    /// The first `{` beyond the nesting limit.
    too_deep: Option<usize>,
    /// Where the text may be cut, when asked for.
    cut: Option<Cut>,
}

/// Reads the braces of the text, skipping strings and comments exactly as the grammar reads
/// them, for two things.
///
/// The first `{` beyond the nesting limit: pest is built without its native stack probe (see
/// Cargo.toml), so this check is what bounds its recursion; blocks are the grammar's only
/// nesting.
///
/// With `cut`, the first line start at or after the middle of the text where a parse can be cut
/// in two: inside a top-level block (depth 1), and after a line whose last item is a head or a
/// brace, so that the builder's state there is known (one line break since that item, no
/// comments waiting). Not after a comment (it may wait for the next item), an empty line (a
/// blank line before the next item), a `;` (a second line break), or a line holding only
/// non-ASCII bytes (they may be whitespace: U+00A0, U+FEFF). Then the `}` that closes that
/// block.
fn scan(text: &str, cut: bool) -> Scan {
    let bytes = text.as_bytes();
    let middle = if cut { bytes.len() / 2 } else { usize::MAX };
    let mut depth = 0usize;
    // Once a string has no closing quote, no later one has either (see `string_end`).
    let mut unclosed = false;
    // Whether the last item on this line so far is a head's token or a brace.
    let mut item = false;
    let mut at = None;
    let mut close = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                item = true;
                match (!unclosed).then(|| string_end(bytes, i)).flatten() {
                    Some(end) => i = end,
                    None => {
                        // An unclosed string runs to the end of its line.
                        unclosed = true;
                        while i < bytes.len() && bytes[i] != b'\n' {
                            i += 1;
                        }
                        continue;
                    }
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                item = false;
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'{' => {
                item = true;
                depth += 1;
                if depth > MAX_NESTING {
                    return Scan { too_deep: Some(i), cut: None };
                }
            }
            b'}' => {
                item = true;
                if depth == 1 && at.is_some() && close.is_none() {
                    close = Some(i);
                }
                depth = depth.saturating_sub(1);
            }
            b'\n' => {
                if item && depth == 1 && at.is_none() && i + 1 >= middle && i + 1 < bytes.len() {
                    at = Some(i + 1);
                }
                item = false;
            }
            b';' => item = false,
            // Whitespace, and the bytes of non-ASCII characters (see above); a run of them at once.
            b' ' | b'\t' | b'\r' | 0x80.. => {
                i += 1;
                while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\r' | 0x80..) {
                    i += 1;
                }
                continue;
            }
            // Any other byte is part of a token; a run of them at once.
            _ => {
                item = true;
                i += 1;
                while i < bytes.len() && TOKEN_BYTES[usize::from(bytes[i])] {
                    i += 1;
                }
                continue;
            }
        }
        i += 1;
    }
    Scan { too_deep: None, cut: at.map(|at| Cut { at, close: close.unwrap_or(bytes.len()) }) }
}

/// The bytes that [`scan`] only reads as part of a token: all but those it matches itself.
static TOKEN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x80 {
        table[b] = !matches!(b as u8, b'"' | b'/' | b'{' | b'}' | b'\n' | b';' | b' ' | b'\t' | b'\r');
        b += 1;
    }
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
    /// The text pest read: the whole file, or a part of it for a split parse.
    text: &'t str,
    /// Where `text` starts in the file: added to every position pest gives.
    offset: usize,
    /// In the first half of a split parse: the block still open where the text was cut is not
    /// unclosed (the second half closes it).
    cut_at_end: bool,
    /// How many open blocks reached the cut.
    cut_blocks: usize,
    diagnostics: Vec<Diagnostic>,
}

impl<'t> Builder<'t> {
    fn new(file: FileId, text: &'t str, offset: usize) -> Self {
        Builder { file, text, offset, cut_at_end: false, cut_blocks: 0, diagnostics: Vec::new() }
    }
}

impl Builder<'_> {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start() + self.offset, s.end() + self.offset)
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
                    let whole = Span::new(self.file, start.saturating_sub(1) + self.offset, child_end + self.offset);
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
        let start = pair.as_span().start().saturating_sub(1) + self.offset;
        let reaches_end = pair.as_span().end() == self.text.len();
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
            if self.cut_at_end && reaches_end {
                self.cut_blocks += 1;
            } else {
                self.diagnostics.push(unclosed_block(open));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The number of calls pest's call limit counts for one pass over `text`, found by bisecting
    /// the limit.
    fn calls(text: &str) -> usize {
        let (mut low, mut high) = (1usize, 64 * text.len() + 1000);
        while low < high {
            let mid = low + (high - low) / 2;
            pest::set_call_limit(NonZeroUsize::new(mid));
            if SopGrammar::parse(Rule::file, text).is_ok() {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        pest::set_call_limit(NonZeroUsize::new(CALL_LIMIT));
        low
    }

    /// What [`SPLIT_MAX_BYTES`] rests on: no text costs pest anywhere near
    /// `CALL_LIMIT / SPLIT_MAX_BYTES` calls per byte. It sets pest's process-wide call limit, so
    /// it runs alone: `cargo test --release --lib calls_per_byte -- --ignored --nocapture`.
    #[test]
    #[ignore = "sets pest's process-wide call limit; run alone"]
    fn calls_per_byte() {
        let budget = CALL_LIMIT / SPLIT_MAX_BYTES;
        let pieces = [
            "a",
            "1",
            "-",
            "@",
            "é",
            "\u{A0}",
            "\u{FEFF}",
            "{",
            "}",
            "\"",
            "\\",
            "/",
            "//",
            ";",
            "\n",
            "\r\n",
            " ",
            "\t",
            "->",
            "→",
            "==",
            "<",
            "=",
            "(",
            ",",
            ":",
            ".",
            "1.",
            "1a",
            "1-",
            "1:",
            "2026-",
            "07:3",
            "0000-00-0",
            "x_1",
            "\u{201C}",
            "\u{0}",
        ];
        let mut worst = (0.0f64, String::new());
        let mut measure = |unit: String| {
            let text = unit.repeat(4 * 1024 / unit.len().max(1) + 1);
            // Nesting beyond the limit never reaches pest.
            if scan(&text, false).too_deep.is_some() {
                return;
            }
            let per_byte = calls(&text) as f64 / text.len() as f64;
            if per_byte > worst.0 {
                worst = (per_byte, unit);
            }
        };
        for a in pieces {
            measure(a.to_string());
            for b in pieces {
                measure(format!("{a}{b}"));
                measure(format!("{a} {b}"));
            }
        }
        // Inside blocks, nested and not.
        for a in pieces {
            measure(format!("x {{ {a} }}"));
            measure(format!("x {{\n{a}\n"));
        }
        let (per_byte, unit) = worst;
        println!("worst: {per_byte:.1} calls per byte, for {unit:?} repeated (budget {budget})");
        assert!(per_byte * 2.0 < budget as f64, "{per_byte:.1} calls per byte for {unit:?}");
    }
}
