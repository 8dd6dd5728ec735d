//! The stages of `src/` depend only on earlier ones: no module imports a later stage, so there
//! are no import circles between them (ARCHITECTURE.md, "Stages"). A unit-test module at the
//! end of a file may use a later stage to build its input, as a dev-dependency would.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The modules of `src/`, each after every module it may use.
const LAYERS: &[&str] = &[
    "source",
    "diagnostic",
    "syntax",
    "time",
    "model",
    "interpret",
    "timing",
    "check",
    "compile",
    "format",
    "lsp",
    "import",
    "render",
    "simulate",
    "runtime",
    "server",
    "cli",
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for entry in entries {
            rust_files(&entry, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// Whether the item after an attribute (past blank lines and further attributes) is a module.
fn opens_a_module(rest: &[&str]) -> bool {
    let item = rest.iter().map(|l| l.trim_start()).find(|l| !l.is_empty() && !l.starts_with("#["));
    item.is_some_and(|l| l.starts_with("mod ") || l.starts_with("pub mod ") || l.starts_with("pub(crate) mod "))
}

/// The top-level modules a file's code (not its comments, not its test module) names.
fn modules_used(text: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let lines: Vec<&str> = text.lines().collect();
    for (at, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        // The test module ends the code that counts; a test-only helper before it does not.
        if code.starts_with("#[cfg(test)]") && opens_a_module(&lines[at + 1..]) {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        let code = code.split(" //").next().unwrap_or(code);
        for (at, _) in code.match_indices("crate::") {
            let name: String =
                code[at + "crate::".len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                used.insert(name);
            }
        }
    }
    used
}

#[test]
fn no_stage_imports_a_later_one() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rank = |module: &str| LAYERS.iter().position(|m| *m == module);
    let mut upward = Vec::new();
    let mut unranked = BTreeSet::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_string_lossy().to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = rank(&module) else {
            unranked.insert(module);
            continue;
        };
        let mut files = Vec::new();
        rust_files(&path, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for used in modules_used(&text) {
                // `crate::t!` is the root's text macro.
                if used == "t" || used == module {
                    continue;
                }
                match rank(&used) {
                    Some(theirs) if theirs > own => {
                        upward.push(format!("{} uses crate::{used}", file.strip_prefix(&src).unwrap().display()))
                    }
                    Some(_) => {}
                    None => {
                        unranked.insert(used);
                    }
                }
            }
        }
    }
    assert!(unranked.is_empty(), "modules missing from LAYERS (put each after what it uses): {unranked:?}");
    assert!(upward.is_empty(), "a stage imports a later one:\n{}", upward.join("\n"));
}

#[test]
fn a_test_only_helper_does_not_end_the_scan() {
    let text =
        "#[cfg(test)]\nfn helper() {}\nuse crate::cli::Args;\n#[cfg(test)]\nmod tests {\n    use crate::server;\n}\n";
    let used: Vec<String> = modules_used(text).into_iter().collect();
    assert_eq!(used, ["cli"]);
}

#[test]
fn the_scan_sees_imports_and_skips_comments_and_tests() {
    let text = "use crate::model::Sop;\n// crate::server in a comment\nlet x = crate::time::f(); // crate::cli\n#[cfg(test)]\nmod tests { use crate::compile; }\n";
    let used: Vec<String> = modules_used(text).into_iter().collect();
    assert_eq!(used, ["model", "time"]);
}
