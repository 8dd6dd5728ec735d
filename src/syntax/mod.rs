//! Stage 1: text to concrete syntax tree with the pest grammar. Spans and the source map live
//! in the leaf module `crate::source`, which diagnostics use too.

pub mod cst;
mod parser;

pub use crate::source::{FileId, SourceFile, SourceMap, Span};
pub use cst::{Block, Comment, Cst, Item, Token, TokenKind};
pub use parser::{parse, parse_bytes, too_large, MAX_FILE_BYTES, MAX_NESTING};
