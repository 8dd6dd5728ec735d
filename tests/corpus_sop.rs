//! The corpus of real SOPs and service standards in `sop/contoh/` (issue 22): at least 15 files
//! from at least 10 offices, each declaring its office (`instansi`), citing the public address it
//! was transcribed from (the same address as its research note in `docs/research/sop-corpus/`),
//! and each simulating to the end with its scenario in `sop/contoh/skenario/`. That every file
//! checks clean and is `alur fmt`-stable is `tests/sops.rs`; that it renders cleanly is
//! `tests/layout.rs`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use alur::compile::{compile_path, Options};
use alur::simulate::{self, Overrides, Scenario};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const CALENDARS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sop/calendars");

/// The `.sop` files directly under `sop/contoh/`.
fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(ROOT).join("sop/contoh");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sop"))
        .collect();
    out.sort();
    out
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// The comment lines at the top of a file, without their `//`.
fn header_comment(text: &str) -> Vec<&str> {
    text.lines().map_while(|l| l.strip_prefix("//")).map(str::trim).collect()
}

#[test]
fn the_corpus_has_at_least_fifteen_files_from_at_least_ten_offices() {
    let files = corpus();
    assert!(files.len() >= 15, "sop/contoh/ has {} SOPs, at least 15 are wanted", files.len());
    let mut offices = BTreeSet::new();
    for file in &files {
        let compiled = compile_path(file, &Options::default());
        let sop = compiled.sop.unwrap_or_else(|| panic!("{} does not compile", file.display()));
        let agency = sop.header.agency.unwrap_or_default();
        assert!(!agency.trim().is_empty(), "{} declares no `instansi`", file.display());
        offices.insert(agency);
    }
    assert!(
        offices.len() >= 10,
        "the corpus comes from {} offices, at least 10 are wanted: {offices:#?}",
        offices.len()
    );
}

#[test]
fn every_corpus_file_cites_its_source_as_its_research_note_does() {
    for file in corpus() {
        let text = std::fs::read_to_string(&file).unwrap();
        let header = header_comment(&text);
        let name = file.display();
        assert!(!header.is_empty(), "{name} does not start with a comment");
        let source = header
            .iter()
            .find_map(|l| l.strip_prefix("Sumber / source: "))
            .unwrap_or_else(|| panic!("{name}: no `// Sumber / source: ADDRESS` line in the opening comment"));
        assert!(
            source.starts_with("http://") || source.starts_with("https://"),
            "{name}: `{source}` is not an address"
        );
        let note = header
            .iter()
            .find_map(|l| l.strip_prefix("Transkripsi: "))
            .map(|l| l.split_whitespace().next().unwrap_or_default())
            .unwrap_or_else(|| panic!("{name}: no `// Transkripsi: docs/research/sop-corpus/…` line"));
        let note_text = std::fs::read_to_string(Path::new(ROOT).join(note))
            .unwrap_or_else(|e| panic!("{name}: research note {note}: {e}"));
        assert!(note_text.contains(source), "{name}: the address `{source}` is not the one in {note}");
        // Shapes the language cannot say yet are named in both languages.
        let opening = header.join(" ").to_lowercase();
        assert_eq!(
            opening.contains("belum dapat ditulis"),
            opening.contains("not expressible yet"),
            "{name}: say \"belum dapat ditulis / not expressible yet: shape N\" in both languages"
        );
    }
}

#[test]
fn every_corpus_file_simulates_to_the_end_with_its_scenario() {
    for file in corpus() {
        let scenario_path = Path::new(ROOT).join("sop/contoh/skenario").join(format!("{}.toml", stem(&file)));
        let name = file.display();
        let text = std::fs::read_to_string(&scenario_path)
            .unwrap_or_else(|e| panic!("{name}: no scenario {}: {e}", scenario_path.display()));
        let first_comment: String = text.lines().take_while(|l| l.starts_with('#')).collect::<Vec<_>>().join("\n");
        assert!(
            first_comment.contains("ASUMSI") || first_comment.contains("faktor"),
            "{}: say in the opening comment that the times are assumptions, not the source's",
            scenario_path.display()
        );
        let (written, calendar) = simulate::load(&file, Path::new(CALENDARS)).unwrap();
        let scenario = Scenario::parse(&text).unwrap_or_else(|e| panic!("{}: {e:?}", scenario_path.display()));
        let overrides = Overrides { cases: Some(400), seed: Some(3), ..Overrides::default() };
        // A file with variants: every variant, on the one scenario.
        let flows = alur::compile::variant_flows(&written, None).unwrap();
        for sop in &flows {
            let name = format!("{name} ({})", sop.title);
            let (program, problems) = simulate::lower(sop, &calendar, &scenario, &overrides);
            assert!(problems.is_empty(), "{name} with {}: {problems:?}", scenario_path.display());
            let report = simulate::simulate(sop, &calendar, &program.unwrap(), &mut |_| {});
            assert_eq!(report.counted, 400, "{name}");
            assert_eq!(report.stuck, 0, "{name}: cases that never reached an end");
            assert_eq!(report.ends.iter().map(|(_, n)| n).sum::<u64>(), 400, "{name}: {:?}", report.ends);
            assert!(report.lead_time_minutes.min > 0.0, "{name}");
            for target in &report.targets {
                assert!(target.measured > 0, "{name}: the promise `{}` was never measured", target.label);
            }
        }
    }
}

#[test]
fn every_scenario_belongs_to_a_corpus_file() {
    let dir = Path::new(ROOT).join("sop/contoh/skenario");
    let files: BTreeSet<String> = corpus().iter().map(|p| stem(p)).collect();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        assert!(path.extension().is_some_and(|e| e == "toml"), "{}: not a scenario", path.display());
        assert!(files.contains(&stem(&path)), "{}: no sop/contoh/{}.sop", path.display(), stem(&path));
    }
}
