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
