//! Stage 1: text to concrete syntax tree with the pest grammar. Spans and the source map live
//! in the leaf module `crate::source`, which diagnostics use too.

pub mod cst;
mod parser;

pub use crate::source::{FileId, SourceFile, SourceMap, Span};
pub use cst::{Block, Comment, Cst, Item, Token, TokenKind};
pub use parser::{parse, parse_bytes, too_large, MAX_FILE_BYTES, MAX_NESTING};
#[doc(hidden)]
pub use parser::{parse_with_split, split_point};

/// For measuring the second threads against the real workload (issue 27): the size from which
/// a second thread is used, `shipped` unless `ALUR_TWO_THREADS` is `off` (never) or `always`.
#[doc(hidden)]
pub fn two_threads_from(shipped: usize) -> usize {
    static MODE: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    let mode = MODE.get_or_init(|| match std::env::var("ALUR_TWO_THREADS").as_deref() {
        Ok("off") => Some(usize::MAX),
        Ok("always") => Some(0),
        _ => None,
    });
    mode.unwrap_or(shipped)
}
