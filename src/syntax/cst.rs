//! The concrete syntax tree: lines of tokens and nested blocks, with comments kept so that
//! `alur fmt` can reprint a file without losing them. It knows nothing of keywords; the
//! compiler gives the lines their meaning.

use serde::Serialize;

use super::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TokenKind {
    Word,
    Number,
    Date,
    Clock,
    String,
    UnclosedString,
    Arrow,
    Compare,
    Punct,
    Bad,
}

#[derive(Clone, Debug, Serialize)]
pub struct Token {
    pub kind: TokenKind,
    /// The token exactly as written (strings with their quotes).
    pub text: String,
    pub span: Span,
}

impl Token {
    pub fn is_word(&self, word: &str) -> bool {
        self.kind == TokenKind::Word && self.text == word
    }

    pub fn is_punct(&self, punct: &str) -> bool {
        matches!(self.kind, TokenKind::Punct | TokenKind::Arrow | TokenKind::Compare) && self.text == punct
    }

    /// The value of a string token: escapes resolved, and each line break with the indentation
    /// around it read as one space, so long texts can be wrapped over several lines.
    pub fn string_value(&self) -> String {
        let inner = self.text.strip_prefix('"').unwrap_or(&self.text);
        let inner = inner.strip_suffix('"').unwrap_or(inner);
        if !inner.bytes().any(|b| matches!(b, b'\\' | b'\r' | b'\n')) {
            return inner.to_string();
        }
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(other) => out.push(other),
                    None => {}
                },
                '\r' => {}
                '\n' => {
                    while out.ends_with([' ', '\t']) {
                        out.pop();
                    }
                    while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                        chars.next();
                    }
                    out.push(' ');
                }
                c => out.push(c),
            }
        }
        out
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Comment {
    /// The comment text including its `//`.
    pub text: String,
    pub span: Span,
    /// Whether an empty line stands before it.
    pub blank_before: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub tokens: Vec<Token>,
    pub block: Option<Block>,
    pub span: Span,
    /// Comments on their own lines just before the item.
    pub leading: Vec<Comment>,
    /// A comment at the end of the item's line.
    pub trailing: Option<Comment>,
    /// Whether an empty line stands right before the item's own line (after its comments).
    pub blank_before: bool,
    /// Whether the line holds a token that was already reported as broken (an unexpected
    /// character or an unclosed string); such lines are not interpreted further.
    pub broken: bool,
}

impl Item {
    /// The span of the tokens before the block (the "head" of the item).
    pub fn head_span(&self) -> Span {
        match (self.tokens.first(), self.tokens.last()) {
            (Some(first), Some(last)) => first.span.to(last.span),
            _ => self.block.as_ref().map(|b| b.open).unwrap_or(self.span),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Block {
    pub open: Span,
    pub items: Vec<Item>,
    /// Comments after the last item, before the closing brace.
    pub trailing: Vec<Comment>,
    /// The closing brace; `None` when it is missing (already reported).
    pub close: Option<Span>,
}

/// A parsed file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Cst {
    pub items: Vec<Item>,
    /// Comments after the last item of the file.
    pub trailing: Vec<Comment>,
}
