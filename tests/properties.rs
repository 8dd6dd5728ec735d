//! Properties over generated inputs: formatting never changes meaning, and no input, however
//! broken, makes the compiler panic.

use alur::compile::{compile_bytes, compile_source, NoLoader, Options};
use alur::diagnostic::{render_all, Lang};
use alur::syntax::{FileId, SourceMap};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct GenStep {
    minutes: u32,
    days: u32,
    actor: usize,
    /// Return to an earlier step (by offset back) on a second outcome.
    returns_to: Option<usize>,
    comment: bool,
    notes: bool,
    /// A hand-off chain: the second desk's actor.
    chain: Option<usize>,
}

fn step_strategy() -> impl Strategy<Value = GenStep> {
    (
        0u32..120,
        0u32..3,
        0usize..3,
        proptest::option::of(0usize..4),
        any::<bool>(),
        any::<bool>(),
        proptest::option::weighted(0.25, 0usize..3),
    )
        .prop_map(|(minutes, days, actor, returns_to, comment, notes, chain)| GenStep {
            minutes,
            days,
            actor,
            returns_to,
            comment,
            notes,
            chain,
        })
}

/// Writes a valid SOP in either language, with irregular spacing for `fmt` to normalise.
fn write_sop(steps: &[GenStep], english: bool, messy: bool) -> String {
    let kw = |id: &'static str, en: &'static str| if english { en } else { id };
    let pad = if messy { "   " } else { "" };
    let mut out = String::new();
    out.push_str("// generated\n");
    out.push_str(&format!("sop gen \"Generated {}\" {{\n", steps.len()));
    out.push_str(&format!("  {} \"Kantor\"\n", kw("instansi", "agency")));
    out.push_str(&format!("{pad}{} {{\n", kw("pelaksana", "actors")));
    for (i, name) in ["pemohon", "fo", "bo"].iter().enumerate() {
        let kind = if i == 0 { kw("pemohon", "applicant") } else { kw("staf", "staff") };
        out.push_str(&format!("    {name} \"{name} label\"{pad} {kind}\n"));
    }
    out.push_str("}\n\n");
    for (i, step) in steps.iter().enumerate() {
        if step.comment {
            out.push_str(&format!("// step {i}\n"));
        }
        let mut actor = ["pemohon", "fo", "bo"][step.actor].to_string();
        if let Some(second) = step.chain {
            // `fo->bo` written together when messy; `fmt` spaces it.
            let arrow = if english {
                " → "
            } else if messy {
                "->"
            } else {
                " -> "
            };
            actor = format!("{actor}{arrow}{}", ["pemohon", "fo", "bo"][second]);
        }
        out.push_str(&format!("{} {} s{i} {} {actor} {{\n", kw("langkah", "step"), i + 1, kw("oleh", "by")));
        out.push_str(&format!("{pad}  {} \"Kegiatan {i}\"\n", kw("kegiatan", "activity")));
        let mut waktu = String::new();
        if step.days > 0 {
            waktu.push_str(&format!("{} {} ", step.days, kw("hari", "workdays")));
        }
        waktu.push_str(&format!("{} {}", step.minutes, kw("menit", "minutes")));
        if step.chain.is_some() && step.days % 2 == 1 {
            // A day does not split over two desks: each desk's share.
            waktu.push_str(&format!(" -> 5 {}", kw("menit", "minutes")));
        }
        out.push_str(&format!("        {} {waktu}\n", kw("waktu", "takes")));
        if step.notes {
            out.push_str(&format!("        {} \"catatan\n            {i}\"\n", kw("keterangan", "notes")));
        }
        if let Some(back) = step.returns_to {
            let target = i.saturating_sub(back);
            out.push_str(&format!("        {} {{\n", kw("keputusan", "decide")));
            out.push_str(&format!("            ok -> {}\n", kw("lanjut", "next")));
            out.push_str(&format!(
                "            no ->{pad} {} {} s{target}, {} {}\n",
                kw("kembali", "return"),
                kw("ke", "to"),
                kw("jam", "clock"),
                kw("berhenti", "pauses")
            ));
            out.push_str("        }\n");
        }
        out.push_str("}\n");
    }
    out.push_str("}\n");
    out
}

fn format_text(text: &str) -> String {
    let (cst, diagnostics) = alur::syntax::parse(FileId(0), text);
    assert!(diagnostics.is_empty());
    alur::format::format(&cst, text)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn fmt_keeps_the_model_and_is_idempotent(
        steps in proptest::collection::vec(step_strategy(), 1..8),
        english in any::<bool>(),
        messy in any::<bool>(),
    ) {
        let text = write_sop(&steps, english, messy);
        let before = compile_source("gen.sop", &text, &Options::default());
        let rendered = render_all(&before.sources, &before.diagnostics, Lang::En);
        prop_assert!(!before.has_errors(), "generated SOP has errors:\n{}\n{}", text, rendered);
        let formatted = format_text(&text);
        let after = compile_source("gen.sop", &formatted, &Options::default());
        prop_assert_eq!(&before.sop, &after.sop, "fmt changed the model:\n{}", formatted);
        prop_assert_eq!(format_text(&formatted), formatted.clone(), "fmt is not idempotent");
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = compile_bytes(SourceMap::new(), "random.sop", None, &bytes, &NoLoader, &Options::default());
    }

    #[test]
    fn random_mutations_of_a_valid_file_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, prop::sample::select(vec![
            "{", "}", "\"", "->", "(", ")", ",", "langkah", "keputusan {", "jika", "dan", "0", "999999999999",
            "\n", "//", "@", "é", "paralel {", "kembali ke", "hari", ";",
        ])), 1..12),
    ) {
        let text =
            mutate(std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sop/lks-lksa.sop")).unwrap(), edits);
        let compiled = compile_source("mutated.sop", &text, &Options::default());
        // Whatever happened, rendering the diagnostics must work too.
        let _ = render_all(&compiled.sources, &compiled.diagnostics, Lang::Id);
    }
}

#[test]
fn deep_nesting_is_one_clean_error() {
    let text = "sop a \"A\" ".to_string() + &"x {".repeat(100_000);
    let compiled = compile_source("deep.sop", &text, &Options::default());
    assert_eq!(compiled.diagnostics.len(), 1);
    assert_eq!(compiled.diagnostics[0].code, alur::diagnostic::Code::NestingTooDeep);
}

#[test]
fn deeply_nested_conditions_are_refused_not_overflowed() {
    let condition = "(".repeat(50_000) + "x" + &")".repeat(50_000);
    let text = format!("sop a \"A\" {{\n pelaksana {{ fo \"FO\" }}\n langkah 1 a oleh fo {{\n waktu 1 menit\n jika {condition}\n }}\n}}\n");
    let compiled = compile_source("deep.sop", &text, &Options::default());
    assert!(compiled.diagnostics.iter().any(|d| d.code == alur::diagnostic::Code::NestingTooDeep));
}

#[test]
fn a_huge_file_is_one_clean_error() {
    let bytes = vec![b' '; alur::syntax::MAX_FILE_BYTES + 1];
    let compiled = compile_bytes(SourceMap::new(), "huge.sop", None, &bytes, &NoLoader, &Options::default());
    assert_eq!(compiled.diagnostics.len(), 1);
    assert_eq!(compiled.diagnostics[0].code, alur::diagnostic::Code::InputTooLarge);
}

#[test]
fn garbage_gets_diagnostics_not_a_panic() {
    let garbage = "}}}{{{ \"\"\" ->->-> ((( langkah langkah 1 1 1 @@@ \u{0}\u{7f} ;;;; sop sop sop".repeat(200);
    let compiled = compile_source("garbage.sop", &garbage, &Options::default());
    assert!(compiled.has_errors());
}

// A large file is parsed in two halves on two threads (src/syntax/parser.rs). The halves must
// give exactly what one pass gives: the tree with every span, and the diagnostics in order.
// `parse_with_split` takes the size from which a file is cut, so these tests cut small files.

/// Parses `text` in one pass and cut in two; asserts they agree, and that a text the scan
/// finds a cut in was read in two halves (nothing fell back to one pass). Returns where it was
/// cut.
fn split_agrees(text: &str) -> Result<Option<usize>, TestCaseError> {
    let (cst, diagnostics, cut) = alur::syntax::parse_with_split(FileId(3), text, usize::MAX);
    prop_assert_eq!(cut, None);
    let (split_cst, split_diagnostics, cut) = alur::syntax::parse_with_split(FileId(3), text, 0);
    // Debug, not ==: span equality ignores the location, and the locations must agree too.
    prop_assert_eq!(format!("{cst:#?}"), format!("{split_cst:#?}"), "tree differs; cut at {:?} in:\n{:?}", cut, text);
    prop_assert_eq!(
        format!("{diagnostics:#?}"),
        format!("{split_diagnostics:#?}"),
        "diagnostics differ; cut at {:?} in:\n{:?}",
        cut,
        text
    );
    prop_assert_eq!(cut, alur::syntax::split_point(text), "fell back to one pass: {:?}", text);
    Ok(cut)
}

/// Text made of the pieces the grammar and the cut care about.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "{",
        "}",
        "\"",
        "\\",
        "\\\"",
        "//",
        "/",
        ";",
        "\n",
        "\n",
        "\n",
        "\r\n",
        "\r",
        " ",
        "  ",
        "\t",
        "\u{A0}",
        "\u{FEFF}",
        "é",
        "x",
        "langkah 1 a oleh b {",
        "keputusan {",
        "kegiatan \"a\nb\"",
        "ok -> lanjut",
        "@",
        "1",
        "2026-12-25",
        "07:30",
        "4.1",
        "6a",
        "->",
        "==",
        "(",
        ")",
        ",",
        "// c\n",
        "sop a \"A\" {\n",
        "\u{201C}",
        "\0",
    ])
}

/// Applies random edits to a text at character boundaries: insert a piece, delete as many
/// bytes as it has, or insert it between spaces. Shared with the render tests.
pub(crate) fn mutate(mut text: String, edits: Vec<(prop::sample::Index, usize, &'static str)>) -> String {
    for (at, op, piece) in edits {
        let mut index = at.index(text.len() + 1);
        while !text.is_char_boundary(index) {
            index -= 1;
        }
        match op {
            0 => text.insert_str(index, piece),
            1 => {
                let mut end = (index + piece.len()).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(index..end, "");
            }
            _ => text.insert_str(index, &format!(" {piece} ")),
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_split_parse_of_a_valid_sop_is_the_one_pass_parse(
        steps in proptest::collection::vec(step_strategy(), 1..24),
        english in any::<bool>(),
        messy in any::<bool>(),
    ) {
        let text = write_sop(&steps, english, messy);
        prop_assert!(split_agrees(&text)?.is_some(), "no cut in a valid SOP:\n{}", text);
    }

    #[test]
    fn a_split_parse_of_a_mutated_sop_is_the_one_pass_parse(
        steps in proptest::collection::vec(step_strategy(), 1..16),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, piece()), 1..12),
    ) {
        split_agrees(&mutate(write_sop(&steps, false, true), edits))?;
    }

    #[test]
    fn a_split_parse_of_a_mutated_lks_sop_is_the_one_pass_parse(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, piece()), 1..12),
    ) {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sop/lks-lksa.sop")).unwrap();
        split_agrees(&mutate(text, edits))?;
    }

    #[test]
    fn a_split_parse_of_random_pieces_is_the_one_pass_parse(
        open in any::<bool>(),
        pieces in proptest::collection::vec(piece(), 0..200),
    ) {
        let text = if open { "sop a {\n".to_string() } else { String::new() } + &pieces.concat();
        split_agrees(&text)?;
    }

    #[test]
    fn a_split_parse_of_random_text_is_the_one_pass_parse(text in "(?s).{0,400}") {
        split_agrees(&text)?;
        split_agrees(&format!("sop a {{\n{text}"))?;
    }
}

#[test]
fn a_large_generated_sop_is_cut_in_two_and_parsed_as_in_one_pass() {
    let steps: Vec<GenStep> = (0..300)
        .map(|i| GenStep {
            minutes: i % 97,
            days: i % 3,
            actor: (i % 3) as usize,
            returns_to: (i % 5 == 0).then_some(2),
            comment: i % 7 == 0,
            notes: i % 4 == 0,
            chain: (i % 6 == 0).then_some(((i + 1) % 3) as usize),
        })
        .collect();
    let text = write_sop(&steps, false, true);
    let cut = split_agrees(&text).unwrap().expect("a valid SOP is cut");
    assert!(cut >= text.len() / 2 && cut < text.len() / 2 + 200, "cut at {cut} of {}", text.len());
    // `parse` itself cuts only large files.
    let (_, _, cut) = alur::syntax::parse_with_split(FileId(0), &text, 256 * 1024);
    assert_eq!(cut, None);
}

#[test]
fn split_parses_of_edge_cases_are_the_one_pass_parse() {
    let deep = |levels: usize| "x {\n".repeat(levels) + &"}\n".repeat(levels);
    let cases = [
        // The top-level block never closed; closed, then more items, stray braces and a
        // comment on the closing brace's line; two top-level blocks; no block at all.
        "sop a {\n  a b\n  c d\n  e f\n  g h\n".to_string(),
        "sop a {\n  a b\n  c d\n  e f\n  g h\n} // end\nx y\n}\n}\nz {\n}\n".to_string(),
        "sop a {\n  a\n}\nsop b {\n  b 1\n  b 2\n  b 3\n  b 4\n}\n".to_string(),
        "a b\nc d\ne f\n".to_string(),
        "}\n}\nsop a {\n  a b\n  c d\n  e f\n} {\n".to_string(),
        // Comments, blank lines and `;` around the middle; strings over lines; CRLF.
        "sop a {\r\n  a\r\n\r\n  // c\r\n  b \"x\r\ny\"\r\n  c;\r\n  d\r\n  e // f\r\n\r\n  g\r\n}\r\n".to_string(),
        // The deepest nesting there may be, in the second half (read on the other thread).
        format!("sop a {{\n{}{}}}\n", "  a b c\n".repeat(100), deep(alur::syntax::MAX_NESTING - 1)),
        // Too deep: one clean error either way.
        format!("sop a {{\n{}{}}}\n", "  a b c\n".repeat(100), deep(alur::syntax::MAX_NESTING)),
        // An unclosed string before the middle: every later quote is unclosed too.
        "sop a {\n  \"a\n  b \"c\"\n  d\n  e\n  f \"g\"\n}\n".to_string(),
    ];
    let mut cuts = 0;
    for text in &cases {
        if split_agrees(text).unwrap().is_some() {
            cuts += 1;
        }
    }
    assert!(cuts >= 6, "only {cuts} of the cases were cut");
}
