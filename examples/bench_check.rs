//! The language server's workload: one SOP re-checked after every edit, as `alur check` reads
//! it (parse, lower, check, with its folder's calendars and imports), the text held in memory.
//! Each round changes one activity's text (as a keystroke does), then times the compile; prints
//! p50, p95 and the mean. Then the engine's name interner (`runtime::name`): how many names it
//! holds after those checks, and after deploying the same text again and edited texts.
//!
//! Usage: `cargo run --release --example bench_check -- [ROUNDS] [FILE]`
//! (defaults 2000 and `sop/lks-lksa.sop`). `scripts/bench-check.sh` runs it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use alur::compile::folders::{sop_root, Calendars};
use alur::compile::{compile_bytes, FsLoader};
use alur::runtime::{name, Engine, ManualClock, MemoryStore};
use alur::syntax::SourceMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let path = PathBuf::from(std::env::args().nth(2).unwrap_or_else(|| "sop/lks-lksa.sop".into()));
    let text = std::fs::read_to_string(&path)?;
    // The edited line: the first activity; each round writes a different text into it.
    let at = text
        .match_indices("kegiatan")
        .map(|(i, _)| i)
        .find(|&i| text[..i].rsplit('\n').next().is_some_and(|indent| indent.trim().is_empty()))
        .and_then(|i| text[i..].find('"').map(|quote| i + quote + 1))
        .ok_or("the SOP has no `kegiatan` line to edit")?;
    let root = sop_root(&path);
    let mut calendars = Calendars::new(None);
    let options = match calendars.folder_for(&path) {
        Some(folder) => calendars.load(&folder).0.options.clone(),
        None => Default::default(),
    };
    let loader = FsLoader::within(&root);
    let before = name::interned_count();
    let mut samples = Vec::with_capacity(rounds);
    let mut findings = 0;
    for round in 0..rounds.max(1) {
        let edited = format!("{}{round} {}", &text[..at], &text[at..]);
        let start = Instant::now();
        let compiled = compile_bytes(
            SourceMap::new(),
            &path.display().to_string(),
            Some(&path),
            edited.as_bytes(),
            &loader,
            &options,
        );
        samples.push(start.elapsed().as_secs_f64() * 1e6);
        findings += compiled.diagnostics.iter().filter(|d| d.is_error()).count();
    }
    if findings > 0 {
        return Err(format!("{} does not check clean after the edit", path.display()).into());
    }
    samples.sort_by(f64::total_cmp);
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    println!(
        "re-check {} after an edit, {} rounds: p50 {:.1} µs, p95 {:.1} µs, mean {:.1} µs",
        path.display(),
        samples.len(),
        pick(0.5),
        pick(0.95),
        mean
    );
    println!("interned names: {before} before the re-checks, {} after", name::interned_count());
    deploys(&path, &text, &root)
}

/// Deploys the SOP 100 times unchanged, then 100 times with one step renamed each time (a new
/// name per deployment, the worst an edit can do), counting the interned names.
fn deploys(path: &Path, text: &str, root: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let clock = std::sync::Arc::new(ManualClock::new(chrono::Utc::now()));
        let engine = Engine::new(std::sync::Arc::new(MemoryStore::new()), clock).await?;
        let calendars = root.join("calendars");
        let calendar_files: Vec<(String, String)> = match std::fs::read_dir(&calendars) {
            Ok(entries) => {
                let mut files = Vec::new();
                for entry in entries.flatten() {
                    let p = entry.path();
                    if p.extension().is_some_and(|e| e == "sop") {
                        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                        files.push((name, std::fs::read_to_string(&p)?));
                    }
                }
                files
            }
            Err(_) => Vec::new(),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let id = sop_id(text).ok_or("no `sop` line")?;
        engine.deploy_sources(&id, vec![(name.clone(), text.to_string())], calendar_files.clone()).await?;
        let first = name::interned_count();
        for _ in 0..100 {
            engine.deploy_sources(&id, vec![(name.clone(), text.to_string())], calendar_files.clone()).await?;
        }
        let same = name::interned_count();
        // The first step's id, renamed in its line and wherever it is named.
        let step = step_id(text).ok_or("no `langkah` line")?;
        for round in 0..100 {
            let renamed = rename_word(text, &step, &format!("{step}_{round}"));
            engine.deploy_sources(&id, vec![(name.clone(), renamed)], calendar_files.clone()).await?;
        }
        let edited = name::interned_count();
        println!(
            "interned names after deploying: once {first}, the same text 100 times more {same}, \
             100 texts each renaming step `{step}` {edited}"
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

fn sop_id(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix("sop "))
        .and_then(|r| r.split_whitespace().next())
        .map(String::from)
}

fn step_id(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix("langkah "))
        .and_then(|r| r.split_whitespace().nth(1))
        .map(String::from)
}

/// `text` with every whole-word `word` replaced by `by`.
fn rename_word(text: &str, word: &str, by: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(word) {
        let after = i + word.len();
        if !text[..i].chars().next_back().is_some_and(is_word) && !text[after..].chars().next().is_some_and(is_word) {
            out.push_str(&text[last..i]);
            out.push_str(by);
            last = after;
        }
    }
    out.push_str(&text[last..]);
    out
}
