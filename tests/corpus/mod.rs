//! The annotated corpus of invalid SOPs in `tests/invalid/*.sop`.
//!
//! Each file starts with comment lines that say what `alur check` must report:
//!
//! - `// expect: E104 E201`: the multiset of codes, in any order (a code listed twice must occur
//!   twice). This is what the checker *should* say.
//! - `// known-bug: E007 W005 E010 -- why`: what the checker says today when that differs from
//!   `expect` because of a bug not fixed yet. The test pins the current codes, and fails once the
//!   bug is fixed so the line is removed.
//! - `// calendars: wita_kantor, wib_kantor`: the calendars that exist (`Options::calendars`).
//!
//! Adding a test is dropping a file in `tests/invalid/` and running the tests with
//! `INSTA_UPDATE=always` (or `cargo insta review`) to write its snapshot, then reading it.
//! Files in subfolders (`tests/invalid/called/`) are the procedures and imports the corpus uses.

use std::path::{Path, PathBuf};

use alur::compile::{compile_bytes, compile_path, Compiled, NoLoader, Options};
use alur::diagnostic::{render_all, Code, Lang};
use alur::syntax::SourceMap;

const CORPUS: &str = "tests/invalid";

/// Files whose Bahasa Indonesia rendering is snapshotted too.
const INDONESIAN_SAMPLE: &[&str] = &[
    "e005-tanda-kutip-miring",
    "e009-waktu-tanpa-nilai",
    "e010-kata-kunci-salah-ketik",
    "e103-pelaksana-salah-ketik",
    "e104-tujuan-salah-ketik",
    "e203-putaran-tanpa-keluar",
    "e207-rute-keluar-cabang",
    "e301-jenis-berbeda",
    "e401-total-berbeda",
    "e402-pembulatan-salah",
    "w002-dokumen-belum-tentu-ada",
    "multi-beberapa-kesalahan",
    "n401-total-tidak-diperiksa",
    "n402-waktu-tidak-tertulis",
];

struct Header {
    expect: Vec<String>,
    known_bug: Option<(Vec<String>, String)>,
    calendars: Option<Vec<String>>,
}

fn codes(list: &str) -> Vec<String> {
    let mut out: Vec<String> = list.split_whitespace().map(str::to_string).collect();
    out.sort();
    out
}

fn header(path: &Path, text: &str) -> Header {
    let mut header = Header { expect: Vec::new(), known_bug: None, calendars: None };
    let mut has_expect = false;
    for line in text.lines().take_while(|l| l.starts_with("//")) {
        let line = line.trim_start_matches('/').trim();
        if let Some(rest) = line.strip_prefix("expect:") {
            header.expect = codes(rest);
            has_expect = true;
        } else if let Some(rest) = line.strip_prefix("known-bug:") {
            let (list, why) = rest.split_once("--").unwrap_or((rest, ""));
            header.known_bug = Some((codes(list), why.trim().to_string()));
        } else if let Some(rest) = line.strip_prefix("calendars:") {
            header.calendars = Some(rest.split(',').map(|c| c.trim().to_string()).collect());
        }
    }
    assert!(has_expect, "{}: the first comment lines must hold `// expect: CODES`", path.display());
    for code in header.expect.iter().chain(header.known_bug.iter().flat_map(|(c, _)| c)) {
        assert!(
            Code::ALL.iter().any(|c| c.as_str() == code),
            "{}: `{code}` in the header is not a diagnostic code",
            path.display()
        );
    }
    header
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .expect("tests/invalid exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sop"))
        .collect();
    files.sort();
    files
}

fn produced(compiled: &Compiled) -> Vec<String> {
    let mut got: Vec<String> = compiled.diagnostics.iter().map(|d| d.code.as_str().to_string()).collect();
    got.sort();
    got
}

/// Rendered diagnostics with the checkout's location taken out, so snapshots are stable.
fn rendered(compiled: &Compiled, lang: Lang) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    render_all(&compiled.sources, &compiled.diagnostics, lang).replace(root, "[ROOT]")
}

#[test]
fn every_file_gives_its_expected_codes() {
    let files = corpus_files();
    assert!(files.len() >= 45, "the corpus should hold at least 45 files, found {}", files.len());
    let mut failures = Vec::new();
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots");
    let _guard = settings.bind_to_scope();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("corpus files are UTF-8");
        let header = header(path, &text);
        let options = Options { calendars: header.calendars.clone(), ..Options::default() };
        let compiled = compile_path(path, &options);
        let got = produced(&compiled);
        let name = path.display();
        match &header.known_bug {
            None if got != header.expect => {
                failures.push(format!("{name}\n    expected: {:?}\n    got:      {:?}", header.expect, got))
            }
            Some((today, why)) if got != *today => {
                let note = if got == header.expect { " (the bug is fixed: remove the `known-bug` line)" } else { "" };
                failures.push(format!(
                    "{name}{note}\n    known bug ({why}): {today:?}\n    expected when fixed: {:?}\n    got: {got:?}",
                    header.expect
                ))
            }
            _ => {}
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let mut description = format!("{name}: expect {}", header.expect.join(" "));
        if let Some((today, _)) = &header.known_bug {
            description.push_str(&format!(" (known bug, today {})", today.join(" ")));
        }
        insta::with_settings!({ description => description.clone(), omit_expression => true }, {
            insta::assert_snapshot!(format!("{stem}.en"), rendered(&compiled, Lang::En));
            if INDONESIAN_SAMPLE.contains(&stem.as_str()) {
                insta::assert_snapshot!(format!("{stem}.id"), rendered(&compiled, Lang::Id));
            }
        });
    }
    assert!(
        failures.is_empty(),
        "{} corpus file(s) do not give their expected codes:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_indonesian_sample_exists() {
    for stem in INDONESIAN_SAMPLE {
        assert!(Path::new(CORPUS).join(format!("{stem}.sop")).exists(), "{stem}.sop is not in the corpus");
    }
}

#[test]
fn every_code_is_covered_by_the_corpus_or_a_test() {
    let mut covered: Vec<String> = Vec::new();
    for path in corpus_files() {
        let text = std::fs::read_to_string(&path).expect("corpus files are UTF-8");
        covered.extend(header(&path, &text).expect);
    }
    // Covered by the tests below (E001, E002, E004), or not producible from a file (see the list).
    covered.extend(["E001", "E002", "E004"].map(String::from));
    // Calendar files have their own table of error cases in tests/calendar_file.rs.
    let calendar_tests = include_str!("../calendar_file.rs");
    covered.extend(
        Code::ALL.iter().filter(|c| calendar_tests.contains(&format!("Code::{c:?}"))).map(|c| c.as_str().to_string()),
    );
    // Table imports have theirs in tests/import.rs.
    let import_tests = include_str!("../import.rs");
    covered.extend(
        Code::ALL.iter().filter(|c| import_tests.contains(&format!("Code::{c:?}"))).map(|c| c.as_str().to_string()),
    );
    let not_producible = [
        // Nothing reports a missing required setting yet: every setting is optional.
        "E013",
    ];
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !covered.iter().any(|k| k == c) && !not_producible.contains(c))
        .collect();
    assert!(missing.is_empty(), "codes no corpus file expects: {missing:?}");
}

fn compile_raw(bytes: &[u8]) -> Compiled {
    compile_bytes(SourceMap::new(), "raw.sop", None, bytes, &NoLoader, &Options::default())
}

#[test]
fn a_file_that_is_not_utf8_gives_one_clean_error() {
    // Saved as Windows-1252 by an office editor: `é` is the single byte 0xE9.
    let compiled = compile_raw(b"sop izin \"Izin caf\xe9 dan restoran\" {\n}\n");
    assert_eq!(produced(&compiled), ["E001"]);
    assert!(compiled.sop.is_none());
    insta::assert_snapshot!("not-utf8.en", rendered(&compiled, Lang::En));
}

#[test]
fn a_file_over_the_size_limit_gives_one_clean_error() {
    let line = "// komentar yang diulang-ulang\n";
    let limit = alur::syntax::MAX_FILE_BYTES;
    let text = line.repeat(limit / line.len() + 1);
    let compiled = compile_raw(text.as_bytes());
    assert_eq!(produced(&compiled), ["E002"]);
    let message = compiled.diagnostics[0].message.get(Lang::En);
    assert_eq!(message, "this file is 17 MiB, over the 16 MiB limit");
}

/// The grammar accepts any input, so pest only stops at its call limit: about 8 MiB of the
/// costliest pattern found (`}1-`, 28 calls a byte) reaches it. One clean error, no hang.
#[test]
fn a_pathological_file_stops_the_parser_with_one_clean_error() {
    let text = "}1-".repeat(8 * 1024 * 1024 / 3);
    let compiled = compile_raw(text.as_bytes());
    assert_eq!(produced(&compiled), ["E004"]);
    assert!(compiled.sop.is_none());
}

#[test]
fn every_code_is_documented_in_the_reference() {
    let reference = include_str!("../../docs/diagnostics.md");
    for code in Code::ALL {
        let heading = format!("## {} — {}", code.as_str(), code.summary());
        assert!(reference.contains(&heading), "docs/diagnostics.md lacks `{heading}`");
    }
}
