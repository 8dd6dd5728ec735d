//! Every SOP shipped in `sop/` (the corpus of real SOPs in `sop/contoh/` included) checks clean
//! and is a fixed point of `alur fmt`.

use alur::compile::{compile_path, Options};
use alur::diagnostic::{render_all, Lang};
use std::path::{Path, PathBuf};

fn shipped_sops() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "sop") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sop"), &mut out);
    out.sort();
    out
}

#[test]
fn every_shipped_sop_checks_clean() {
    let files = shipped_sops();
    assert!(!files.is_empty(), "no .sop files found under sop/");
    for file in files {
        let mut compiled = compile_path(&file, &Options::default());
        // N402 says a total is incomplete because the SOP states no time for some steps: what
        // the corpus of real SOPs (sop/contoh/) is like, not something to fix.
        compiled.diagnostics.retain(|d| d.code != alur::diagnostic::Code::TotalIncomplete);
        assert!(
            compiled.diagnostics.is_empty(),
            "{} is not clean:\n{}",
            file.display(),
            render_all(&compiled.sources, &compiled.diagnostics, Lang::En)
        );
    }
}

#[test]
fn every_shipped_sop_is_a_fixed_point_of_fmt() {
    for file in shipped_sops() {
        let text = std::fs::read_to_string(&file).unwrap();
        let (cst, diagnostics) = alur::syntax::parse(alur::syntax::FileId(0), &text);
        assert!(diagnostics.is_empty(), "{} has syntax errors", file.display());
        let formatted = alur::format::format(&cst, &text);
        assert_eq!(formatted, text, "{} is not formatted (run `alur fmt`)", file.display());
    }
}

#[test]
fn lks_sop_carries_the_seed_and_its_stated_total() {
    let compiled = compile_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sop/lks-lksa.sop"), &Options::default());
    let sop = compiled.sop.expect("the LKS SOP compiles");
    assert_eq!(sop.steps.len(), 9);
    assert_eq!(sop.actors.len(), 7);
    let actors: Vec<&str> = sop.steps.iter().map(|s| s.actor_ids().next().unwrap()).collect();
    assert_eq!(
        actors,
        [
            "pemohon",
            "front_office",
            "back_office",
            "dinas_teknis",
            "back_office",
            "kabid",
            "sekretaris",
            "kepala_dinas",
            "pemohon"
        ]
    );
    let stated = sop.header.stated_total.as_ref().expect("stated total");
    assert_eq!(stated.duration.display(Lang::Id), "4 Hari 1 Jam 18 Menit");
    assert_eq!(stated.rounded_workdays, Some(5));
    let totals = alur::timing::totals(&sop, 450);
    assert_eq!(totals.main_path.duration, stated.duration);
    assert_eq!(totals.main_path.rounded_workdays, 5);
    assert_eq!(totals.main_path.steps, (0..9).collect::<Vec<_>>());
    // Step 2 routes `diterima` on and `ditolak` back to the applicant.
    let verify = sop.step("verifikasi").unwrap();
    let decision = verify.decision.as_ref().unwrap();
    let outcomes: Vec<&str> = decision.outcomes.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(outcomes, ["diterima", "ditolak"]);
    assert!(decision.outcomes[1].rework.is_some());
    // One rework loop: resubmission and re-verification cost 40 minutes a round.
    assert_eq!(totals.rework_loops.len(), 1);
    assert_eq!(totals.rework_loops[0].round.display(Lang::Id), "40 Menit");
    // Cells are verbatim, including the seed's own spelling and case.
    assert_eq!(sop.steps[4].duration.as_ref().unwrap().text, "10 menit");
    assert_eq!(sop.steps[8].outputs[0].text, "Mengisi buku register pengambilan izin");
}
