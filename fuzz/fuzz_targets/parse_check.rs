//! Any bytes: parse, compile and check must return diagnostics, never panic or hang; and a file
//! that parses cleanly must format to a fixed point with the same meaning.
#![no_main]

use alur::compile::{compile_bytes, compile_source, NoLoader, Options};
use alur::syntax::{FileId, SourceMap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let compiled = compile_bytes(SourceMap::new(), "fuzz.sop", None, data, &NoLoader, &Options::default());
    let _ = alur::diagnostic::render_all(&compiled.sources, &compiled.diagnostics, alur::diagnostic::Lang::En);
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (cst, diagnostics) = alur::syntax::parse(FileId(0), text);
    if !diagnostics.is_empty() {
        return;
    }
    let formatted = alur::format::format(&cst, text);
    let (again, _) = alur::syntax::parse(FileId(0), &formatted);
    assert_eq!(alur::format::format(&again, &formatted), formatted, "fmt is not idempotent");
    let reformatted = compile_source("fuzz.sop", &formatted, &Options::default());
    assert_eq!(compiled.sop, reformatted.sop, "fmt changed the meaning");
});
