//! Stage 1: text to concrete syntax tree. Spans, the source map, the pest grammar.

pub mod cst;
mod parser;
mod source;

pub use cst::{Block, Comment, Cst, Item, Token, TokenKind};
pub use parser::{parse, parse_bytes, too_large, MAX_FILE_BYTES, MAX_NESTING};
#[doc(hidden)]
pub use parser::{parse_with_split, split_point};
pub use source::{FileId, SourceFile, SourceMap, Span};
