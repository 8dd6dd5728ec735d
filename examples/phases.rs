//! Times the stages of `alur check` on one file: parse, then the whole compile and check.
//! Usage: `cargo run --release --example phases -- FILE`
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: phases FILE");
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let t = Instant::now();
    let (cst, _) = alur::syntax::parse(alur::syntax::FileId(0), &text);
    let parse = t.elapsed();
    drop(cst);
    let t = Instant::now();
    let compiled = alur::compile::compile_source("f.sop", &text, &alur::compile::Options::default());
    let total = t.elapsed();
    println!(
        "{} bytes: parse {:.1} ms, parse+compile+check {:.1} ms, {} diagnostics",
        text.len(),
        parse.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        compiled.diagnostics.len()
    );
}
