//! `alur import`: SOP tables (TSV/CSV text from a document or spreadsheet) become `.sop` files
//! that `alur check` accepts, that `alur fmt` leaves alone, and that keep every cell.

use alur::compile::{compile_path, compile_source, Options};
use alur::diagnostic::{render_all, Code, Diagnostic, Lang, Severity};
use alur::import::{import, ImportOptions, Imported};
use alur::model::{Sop, Target};
use assert_cmd::Command;
use std::path::Path;

const SEED: &str = "/work/shared/seed/000_19110aeaa1fd540c.txt";

fn fixture(name: &str) -> String {
    format!("{}/tests/import/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The seed table, kept byte for byte with the tests (CI has no `/work/shared`).
fn seed_path() -> String {
    fixture("seed-lks-lksa.tsv")
}

#[test]
fn the_seed_copy_is_the_seed() {
    if let Ok(shared) = std::fs::read(SEED) {
        assert_eq!(std::fs::read(seed_path()).unwrap(), shared);
    }
}

fn import_file(path: &str) -> Imported {
    let bytes = std::fs::read(path).unwrap();
    import(path, Some(Path::new(path)), &bytes, &ImportOptions::default())
}

fn import_text(name: &str, text: &str) -> Imported {
    import(name, None, text.as_bytes(), &ImportOptions::default())
}

fn codes(imported: &Imported) -> Vec<Code> {
    imported.diagnostics.iter().map(|d| d.code).collect()
}

/// The input line of a diagnostic's primary label.
fn line_of(imported: &Imported, d: &Diagnostic) -> usize {
    let span = d.primary_span().unwrap();
    imported.sources.line_col(span.file, span.start).0
}

/// Imports without errors, and checks what every import must give: a file that compiles and
/// checks without errors, and that `alur fmt` leaves as it is.
fn import_ok(imported: &Imported) -> (String, Sop) {
    assert!(
        !imported.has_errors(),
        "import failed:\n{}",
        render_all(&imported.sources, &imported.diagnostics, Lang::En)
    );
    let text = imported.text.clone().unwrap();
    let compiled = compile_source("imported.sop", &text, &Options::default());
    let errors: Vec<_> = compiled.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    assert!(errors.is_empty(), "{text}\n{}", render_all(&compiled.sources, &errors, Lang::En));
    let (cst, syntax) = alur::syntax::parse(alur::syntax::FileId(0), &text);
    assert!(syntax.is_empty());
    assert_eq!(alur::format::format(&cst, &text), text, "the imported file is not `alur fmt`-stable");
    (text, compiled.sop.unwrap())
}

/// Whether the text has a line with these words (the formatter aligns columns).
fn has_line(text: &str, words: &str) -> bool {
    let wanted: Vec<&str> = words.split_whitespace().collect();
    text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == wanted)
}

/// Each step's number and its actors' labels.
fn actors_by_step(sop: &Sop) -> Vec<(String, Vec<String>)> {
    sop.steps
        .iter()
        .map(|s| {
            let labels = s.actor_ids().map(|a| sop.actor(a).unwrap().label.clone()).collect();
            (s.number.clone(), labels)
        })
        .collect()
}

/// The codes of the diagnostics and their input lines.
fn found(imported: &Imported) -> Vec<(Code, usize)> {
    imported.diagnostics.iter().map(|d| (d.code, line_of(imported, d))).collect()
}

/// What an SOP says, independent of the ids chosen for it: per step its number, activity,
/// actors (by column heading and kind), waktu (text and value), kelengkapan (text, and which
/// step's output or which outside document it is), output texts, keterangan, decision
/// outcomes and routes (targets as step numbers), and the stated total.
fn meaning(sop: &Sop) -> Vec<String> {
    let step_of = |target: &Target, after: usize| -> String {
        match target {
            Target::Next => sop.steps.get(after + 1).map_or("end".into(), |s| format!("step {}", s.number)),
            Target::Named(name) => sop.step(name.as_str()).map_or("end".into(), |s| format!("step {}", s.number)),
        }
    };
    let mut out = Vec::new();
    let total = sop.header.stated_total.as_ref().map(|t| (t.duration, t.rounded_workdays));
    out.push(format!("total {total:?}"));
    let mut actors: Vec<String> = sop.actors.iter().map(|a| format!("actor {:?} {:?}", a.label, a.kind)).collect();
    actors.sort();
    out.extend(actors);
    for (i, step) in sop.steps.iter().enumerate() {
        let performers = step.performers.as_ref().map(|p| {
            let labels: Vec<&str> = p.actors.iter().map(|a| sop.actor(a.as_str()).unwrap().label.as_str()).collect();
            format!("{labels:?} {:?}", p.mode)
        });
        let inputs: Vec<String> = step
            .inputs
            .iter()
            .map(|input| {
                let id = input.artifact.as_str();
                let source = (0..i)
                    .rev()
                    .find(|&j| sop.steps[j].outputs.iter().any(|o| o.artifact.as_str() == id))
                    .map(|j| format!("output of step {}", sop.steps[j].number))
                    .unwrap_or_else(|| format!("document {:?}", sop.artifact(id).unwrap().label));
                format!("{:?} <- {source}", input.text)
            })
            .collect();
        let outputs: Vec<&str> = step.outputs.iter().map(|o| o.text.as_str()).collect();
        let duration = step.duration.as_ref().map(|d| (d.text.clone(), d.value));
        let decision: Vec<String> = step
            .decision
            .iter()
            .flat_map(|d| &d.outcomes)
            .map(|o| {
                let rework = o.rework.as_ref().map(|r| (r.clock, r.max_rounds));
                format!("{} -> {} {rework:?}", o.name, step_of(&o.target, i))
            })
            .collect();
        let routes: Vec<String> =
            step.routes.iter().map(|r| format!("{} if {:?}", step_of(&r.target, i), r.condition)).collect();
        out.push(format!(
            "step {} | {:?} | by {performers:?} | waktu {duration:?} | needs {inputs:?} | gives {outputs:?} | notes {:?} | decide {decision:?} | routes {routes:?}",
            step.number, step.activity, step.notes
        ));
    }
    out
}

/// The seed SOP table imports to a file equivalent to `sop/lks-lksa.sop`: same steps, numbers,
/// texts, waktu, documents, outputs, routes and total. The seed has no actor marks, so every
/// actor is inferred; this test holds the inference to the actors the hand-written file names.
#[test]
fn seed_table_imports_to_the_lks_lksa_sop() {
    let imported = import_file(&seed_path());
    let (text, sop) = import_ok(&imported);
    let expected = compile_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sop/lks-lksa.sop"), &Options::default());
    assert_eq!(meaning(&sop), meaning(expected.sop.as_ref().unwrap()), "\n{text}");
    // Inferred, not read: said once for the table and next to each step.
    assert_eq!(codes(&imported), vec![Code::ImportActorsInferred, Code::ImportPageNumber]);
    assert_eq!(text.matches("// pelaksana disimpulkan").count(), 9);
    let page = &imported.diagnostics[1];
    assert_eq!(line_of(&imported, page), 16, "the page number `1` is on line 16 of the seed");
}

#[test]
fn marks_x_v_and_check_name_the_actors() {
    let imported = import_file(&fixture("tanda.tsv"));
    let (text, sop) = import_ok(&imported);
    let by = |n: &str| {
        let step = sop.steps.iter().find(|s| s.number == n).unwrap();
        let p = step.performers.as_ref().unwrap();
        (p.actors.iter().map(|a| sop.actor(a.as_str()).unwrap().label.clone()).collect::<Vec<_>>(), p.mode)
    };
    use alur::model::PerformerMode::*;
    assert_eq!(by("1"), (vec!["Pemohon".to_string()], Single)); // X
    assert_eq!(by("2"), (vec!["Petugas Loket".to_string()], Single)); // v
    assert_eq!(by("3"), (vec!["Petugas Loket".to_string(), "Verifikator".to_string()], Jointly)); // √ √
    assert_eq!(by("4"), (vec!["Kepala Dinas".to_string()], Single));
    assert!(!text.contains("disimpulkan"), "marked actors are read, not inferred:\n{text}");
    assert!(!codes(&imported).contains(&Code::ImportActorsInferred));
    // A keterangan naming one outcome: the return, and the outcome that goes on, added with a warning.
    let decision = sop.steps[1].decision.as_ref().unwrap();
    let outcomes: Vec<(&str, bool)> = decision.outcomes.iter().map(|o| (o.name.as_str(), o.rework.is_some())).collect();
    assert_eq!(outcomes, vec![("lengkap", false), ("tidak_lengkap", true)]);
    assert_eq!(codes(&imported), vec![Code::ImportRouteGuessed]);
    assert_eq!(sop.header.stated_total.as_ref().unwrap().rounded_workdays, Some(2));
}

#[test]
fn step_numbers_printed_as_letters_roman_numerals_or_nested_are_kept() {
    let (_, sop) = import_ok(&import_file(&fixture("nomor-huruf.tsv")));
    let numbers: Vec<&str> = sop.steps.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(numbers, ["a", "b", "III", "3.1.a"]);
}

#[test]
fn page_breaks_are_skipped_and_broken_rows_joined() {
    let imported = import_file(&fixture("halaman.csv"));
    let (text, sop) = import_ok(&imported);
    let numbers: Vec<&str> = sop.steps.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(numbers, ["1", "2", "3", "4"], "the repeated header and the column numbers are no steps");
    // Row 3 starts on line 8 (its Kegiatan has a line break inside quotes) and goes on, after
    // the page footer and the repeated two-row header, on line 13.
    let step3 = &sop.steps[2];
    assert_eq!(step3.activity, "Menandatangani surat izin reklame dan menyerahkannya ke loket");
    assert_eq!(step3.outputs[0].text, "Surat izin yang sudah diberi nomor");
    assert!(text.contains("// baris 8, 13 digabung"), "{text}");
    // A quoted CSV cell keeps its comma.
    assert_eq!(sop.steps[0].activity, "Mengajukan permohonan, melampirkan persyaratan");
    assert_eq!(sop.steps[0].inputs[0].text, "KTP, NPWP");
    // The title line is the title; the other lines outside the table are comments, reported.
    assert_eq!(sop.title, "SOP Izin Reklame");
    assert!(text.contains("// PEMERINTAH KOTA CONTOH") && text.contains("// Disahkan oleh Kepala Dinas"));
    let found: Vec<(Code, usize)> = imported.diagnostics.iter().map(|d| (d.code, line_of(&imported, d))).collect();
    assert_eq!(
        found,
        vec![
            (Code::ImportKeptAsComment, 1),
            (Code::ImportActorsInferred, 3),
            (Code::ImportPageNumber, 10),
            (Code::ImportActorUnknown, 14),
            (Code::ImportKeptAsComment, 16),
        ]
    );
    // Keterangan with both outcomes: on to the head, back to the applicant.
    let decision = sop.steps[1].decision.as_ref().unwrap();
    assert_eq!(decision.outcomes[0].target, Target::Named(sop.steps[2].id.clone()));
    assert_eq!(decision.outcomes[1].target, Target::Named(sop.steps[0].id.clone()));
    assert!(decision.outcomes[1].rework.is_some());
}

#[test]
fn an_actor_that_cannot_be_inferred_gets_a_marker_and_a_warning() {
    let imported = import_file(&fixture("halaman.csv"));
    let (text, sop) = import_ok(&imported);
    let step4 = &sop.steps[3];
    assert_eq!(step4.actor_ids().collect::<Vec<_>>(), ["belum_ditentukan"]);
    assert!(text.contains("// PERIKSA: pelaksana tidak terbaca"), "{text}");
    let warning = imported.diagnostics.iter().find(|d| d.code == Code::ImportActorUnknown).unwrap();
    assert_eq!(warning.severity, Severity::Warning);
    assert!(warning.message.id.contains("baris 14") && warning.message.en.contains("line 14"));
}

/// Every cell of a table lands in the `.sop` file, except the headings (which become the actor
/// declarations and the line keywords), the marks (which become `oleh`), the total's label, and
/// what a diagnostic names (the page number).
#[test]
fn every_cell_lands_in_the_output_or_is_reported() {
    for name in [
        "tanda.tsv",
        "halaman.csv",
        "kolom-tanpa-tanda.tsv",
        "kolom-pelaksana.tsv",
        "waktu-strip.tsv",
        "keterangan-kembali.tsv",
    ] {
        let path = fixture(name);
        let imported = import_file(&path);
        let (text, _) = import_ok(&imported);
        let bytes = std::fs::read(&path).unwrap();
        let delimiter = if name.ends_with(".tsv") { b'\t' } else { b',' };
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(&bytes[..]);
        let structural = [
            "No",
            "Kegiatan",
            "Pelaksana",
            "Mutu Baku",
            "Kelengkapan",
            "Waktu",
            "Output",
            "Keterangan",
            "Jumlah",
            "Jumlah Waktu Keseluruhan",
            "JUMLAH WAKTU PELAYANAN",
            "No.",
            "Ket",
            "Persyaratan/Kelengkapan",
            "X",
            "v",
            "√",
        ];
        let reported: Vec<String> = imported.diagnostics.iter().map(|d| d.message.en.clone()).collect();
        for record in reader.records() {
            for cell in record.unwrap().iter() {
                let cell = cell.split_whitespace().collect::<Vec<_>>().join(" ");
                let step_number = format!("langkah {} ", cell.trim_end_matches('.'));
                if cell.is_empty()
                    || structural.contains(&cell.as_str())
                    || cell.parse::<u32>().is_ok()
                    || text.contains(&step_number)
                {
                    continue;
                }
                assert!(
                    text.contains(&cell) || reported.iter().any(|m| m.contains(&cell)),
                    "{name}: the cell `{cell}` is neither in the output nor reported:\n{text}"
                );
            }
        }
    }
}

#[test]
fn bad_rows_are_errors_with_their_input_lines_in_both_languages() {
    let imported = import_file(&fixture("rusak.tsv"));
    assert!(imported.text.is_none(), "nothing is written when a row is in error");
    let found: Vec<(Code, usize)> = imported.diagnostics.iter().map(|d| (d.code, line_of(&imported, d))).collect();
    assert_eq!(
        found,
        vec![
            (Code::ImportBadRow, 3),    // `A.` is no step number
            (Code::ImportBadCell, 4),   // waktu `1-2 Hari`
            (Code::ImportBadRow, 5),    // step number 2 twice
            (Code::ImportBadRow, 6),    // step 3 without Kegiatan
            (Code::ImportExtraCell, 7), // a cell right of Keterangan
        ]
    );
    for d in &imported.diagnostics {
        let line = line_of(&imported, d);
        assert!(d.message.id.starts_with(&format!("baris {line}:")), "{}", d.message.id);
        assert!(d.message.en.starts_with(&format!("line {line}:")), "{}", d.message.en);
        assert!(d.help.is_some(), "every error says how to fix it: {}", d.message.en);
    }
    let en = render_all(&imported.sources, &imported.diagnostics, Lang::En);
    assert!(en.contains("`1-2 Hari` cannot be read") && en.contains("`catatan liar`"), "{en}");
    let id = render_all(&imported.sources, &imported.diagnostics, Lang::Id);
    assert!(id.contains("`A.` bukan nomor langkah") && id.contains("bantuan:"), "{id}");
}

#[test]
fn a_total_that_does_not_match_the_steps_is_kept_as_a_comment() {
    let table = "No\tKegiatan\tPetugas\tKelengkapan\tWaktu\tOutput\tKeterangan\n\
                 1\tMenerima berkas\tX\t\t10 Menit\tBerkas\t\n\
                 2\tMemproses berkas\tX\tBerkas\t20 Menit\tDraft\t\n\
                 Jumlah Waktu\t\t\t\t1 Jam (1 Hari)\t\t\n";
    let imported = import_text("total.tsv", table);
    let (text, sop) = import_ok(&imported);
    assert!(sop.header.stated_total.is_none());
    assert!(text.contains("// total tertulis di tabel: 1 Jam (1 Hari)"), "{text}");
    let d = imported.diagnostics.iter().find(|d| d.code == Code::ImportKeptAsComment).unwrap();
    assert_eq!(line_of(&imported, d), 4);
    assert!(d.notes[0].en.contains("E401"), "the note says why: {:?}", d.notes);
}

#[test]
fn semicolon_csv_with_a_bom_and_an_empty_waktu() {
    let table = "\u{feff}No;Kegiatan;Pemohon;Petugas;Kelengkapan;Waktu;Output;Keterangan\n\
                 1;Mengajukan permohonan;X;;Formulir;30 Menit;Berkas;\n\
                 2;Memeriksa berkas;;X;Berkas;;Berkas diperiksa;\n";
    let imported = import_text("titik-koma.csv", table);
    let (text, sop) = import_ok(&imported);
    assert_eq!(sop.steps.len(), 2);
    assert_eq!(sop.steps[0].inputs[0].text, "Formulir");
    // An empty Waktu is a time the table does not state, not an error and not zero.
    assert!(has_line(&text, "waktu tidak_tertulis"), "{text}");
    assert!(codes(&imported).is_empty(), "{:?}", codes(&imported));
}

#[test]
fn tables_without_a_header_and_bytes_that_are_not_text_are_refused() {
    let no_header = import_text("x.csv", "1,Mengajukan,30 Menit\n");
    assert_eq!(codes(&no_header), vec![Code::ImportNoHeader]);
    let latin1 = import("x.csv", None, b"No,Kegiatan,Waktu\n1,Menerima \xe9,5 Menit\n", &ImportOptions::default());
    assert_eq!(codes(&latin1), vec![Code::ImportUnreadable]);
    assert!(latin1.diagnostics[0].message.en.contains("line 2"));
    let no_waktu = import_text("x.csv", "No,Kegiatan,Output\n1,Menerima,Berkas\n");
    assert_eq!(codes(&no_waktu), vec![Code::ImportNoHeader]);
    assert!(import_text("x.csv", "").has_errors());
}

#[test]
fn quotes_and_backslashes_in_cells_survive() {
    let table = "No\tKegiatan\tPetugas\tWaktu\tOutput\n1\tMencetak \"Surat\" C:\\izin\tX\t5 Menit\tSurat\n";
    let (_, sop) = import_ok(&import_text("kutip.tsv", table));
    assert_eq!(sop.steps[0].activity, "Mencetak \"Surat\" C:\\izin");
}

fn alur() -> Command {
    let mut cmd = Command::cargo_bin("alur").unwrap();
    cmd.env("LANG", "id_ID.UTF-8").env_remove("LC_ALL").env_remove("LC_MESSAGES");
    cmd
}

#[test]
fn cli_writes_a_file_that_alur_check_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lks.sop");
    let run = alur().args(["import", &seed_path(), "-o"]).arg(&out).output().unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("W605"));
    let check = alur().arg("check").arg(&out).output().unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
    assert_eq!(alur().args(["fmt", "--check"]).arg(&out).output().unwrap().status.code(), Some(0));
    // An existing file is not overwritten unless asked.
    let again = alur().args(["import", &seed_path(), "-o"]).arg(&out).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    let forced = alur().args(["import", &seed_path(), "--force", "--id", "lks_lksa", "-o"]).arg(&out).output().unwrap();
    assert_eq!(forced.status.code(), Some(0));
    assert!(std::fs::read_to_string(&out).unwrap().contains("sop lks_lksa "));
    let bad_id = alur().args(["import", &seed_path(), "--id", "1 lks"]).output().unwrap();
    assert_eq!(bad_id.status.code(), Some(2));
}

#[test]
fn cli_bad_table_exits_one_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rusak.sop");
    let run = alur().args(["--lang", "en", "import", &fixture("rusak.tsv"), "-o"]).arg(&out).output().unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("E603") && stderr.contains("rusak.tsv:3:1"), "{stderr}");
    assert!(!out.exists());
    let stdout = alur().args(["import", &fixture("tanda.tsv")]).output().unwrap();
    assert_eq!(stdout.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&stdout.stdout).starts_with("// Diimpor dari tanda.tsv"));
}

mod generated {
    //! Generated tables: whatever cells a table holds, the importer never panics, and when it
    //! gives a file, that file compiles without errors and is `alur fmt`-stable.

    use super::*;
    use proptest::prelude::*;

    /// Cell texts that stress the importer: keywords, marks, numbers, durations, routes, quotes.
    const WORDS: &[&str] = &[
        "",
        "",
        "",
        "X",
        "v",
        "√",
        "Ya",
        "1",
        "2",
        "2a",
        "4.1",
        "A.",
        "30 Menit",
        "1 Jam",
        "4 Hari",
        "1-2 Hari",
        "0 menit",
        "14 Hari Kalender",
        "Pemohon",
        "Kepala Dinas",
        "sistem",
        "data",
        "selesai",
        "lanjut",
        "langkah",
        "Mengajukan permohonan",
        "Memverifikasi berkas",
        "Tanda tangan izin",
        "Draft SK",
        "Berkas \"lengkap\"",
        "dirouting ke Kepala Dinas",
        "ke Pemohon apabila ditolak",
        "ke Kepala Dinas apabila diterima dan ke Pemohon apabila ditolak",
        "Jumlah",
        "Halaman 2",
        "Kegiatan",
        "No",
        "Waktu",
        "\\",
        "{",
        "}",
        "//",
        "é",
    ];

    fn pick(words: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
        proptest::sample::select(words)
    }

    /// A row: mostly a step with plausible cells, sometimes a continuation, a page number, a
    /// repeated header, the total, or random cells.
    fn row() -> impl Strategy<Value = (u8, Vec<&'static str>)> {
        let marks = &["", "", "", "X", "v", "√", "Ya"];
        let times = &["30 Menit", "1 Jam", "4 Hari", "10 menit", "14 Hari Kalender", "0 menit", "1-2 Hari", ""];
        let acts = &[
            "Mengajukan permohonan",
            "Memverifikasi berkas",
            "Tanda tangan izin",
            "Memberikan paraf",
            "data",
            "lanjut",
        ];
        let docs = &["", "Draft SK", "Berkas \"lengkap\"", "Surat Izin", "selesai", "{", "é"];
        let notes = &[
            "",
            "",
            "dirouting ke Kepala Dinas",
            "Apabila tidak lengkap dikembalikan ke Pemohon",
            "ke Kepala Dinas apabila diterima dan ke Pemohon apabila ditolak",
            "ke Sistem apabila lengkap",
            "\\ // }",
        ];
        let cells =
            (pick(acts), pick(marks), pick(marks), pick(marks), pick(docs), pick(times), pick(docs), pick(notes));
        (0u8..10, cells, proptest::collection::vec(pick(WORDS), 0..11)).prop_map(|(kind, c, random)| {
            let (act, m1, m2, m3, needs, time, output, note) = c;
            let cells = match kind {
                0 => random,
                1 => vec!["", act, m1, "", "", "", "", output, note],
                2 => vec!["Halaman 2"],
                3 => vec!["Jumlah", "", "", "", "", "", "1 Jam (1 Hari)"],
                _ => vec!["#", act, m1, m2, m3, needs, time, output, note],
            };
            (kind, cells)
        })
    }

    fn table() -> impl Strategy<Value = String> {
        proptest::collection::vec(row(), 0..12).prop_map(|rows| {
            let mut out =
                "No\tKegiatan\tPemohon\tSistem\tKepala Dinas\tKelengkapan\tWaktu\tOutput\tKeterangan".to_string();
            for (i, (_, cells)) in rows.iter().enumerate() {
                out.push('\n');
                let number = (i + 1).to_string();
                let cells: Vec<&str> = cells.iter().map(|c| if *c == "#" { number.as_str() } else { c }).collect();
                out.push_str(&cells.join("\t"));
            }
            out.push('\n');
            out
        })
    }

    /// A table of the other offices' shapes: a Pelaksana column of names and chains, times not
    /// stated, or a Standar Pelayanan (Komponen | Uraian) with lists in its cells.
    fn other_table() -> impl Strategy<Value = String> {
        let names =
            &["", "Pemohon", "Front Office", "Kabid -> Kasi -> Back Office", "Kasi - Kabid", "Kasi/Sekcam", "X", "-"];
        let times = &["", "-", "Sesuai jadwal", "30 Menit", "paling lambat 5 (lima) hari kerja", "1-2 Hari", "1 Hari"];
        let acts = &[
            "Pemohon mengajukan permohonan",
            "Petugas Loket menerima berkas, jika tidak lengkap dikembalikan kepada pemohon",
            "Berkas diverifikasi oleh Kabid",
            "Penyerahan izin kepada pemohon",
            "Setelah penandatanganan oleh kepala direkap pada Front Office",
        ];
        let notes = &[
            "",
            "Jika tidak lengkap dikembalikan ke pemohon",
            "berkas yang tidak lengkap dikembalikan kepada pemohon",
            "-",
        ];
        let numbers = &["1", "a.", "b)", "1. 1.", "IV", "", "Jumlah", "JUMLAH WAKTU PELAYANAN"];
        let components = &[
            "Persyaratan",
            "Sistem, Mekanisme dan Prosedur",
            "Jangka Waktu",
            "Biaya",
            "Dasar Hukum",
            "Sarana",
            "Kompetensi Pelaksana",
            "",
            "Lain",
        ];
        let texts = &[
            "",
            "a. Pemohon mengajukan b. Petugas menerima",
            "1. 1. KTP 2. 2. NPWP",
            "5 (lima) hari kerja",
            "14 hari sejak berkas lengkap",
            "Gratis",
            "- Komputer\n- Printer",
            "\"",
        ];
        let pelaksana =
            proptest::collection::vec((pick(numbers), pick(acts), pick(names), pick(times), pick(notes)), 0..10)
                .prop_map(|rows| {
                    let mut out = "No\tKegiatan\tPelaksana\tKelengkapan\tWaktu\tOutput\tKeterangan\n".to_string();
                    for (number, act, name, time, note) in rows {
                        out.push_str(&format!("{number}\t{act}\t{name}\t\t{time}\tBerkas\t{note}\n"));
                    }
                    out
                });
        let standard = proptest::collection::vec((pick(components), pick(texts)), 0..10).prop_map(|rows| {
            let mut out = "Standar Pelayanan Contoh\nNo\tKomponen\tUraian\n".to_string();
            for (i, (component, text)) in rows.iter().enumerate() {
                out.push_str(&format!("{}\t{component}\t{text}\n", i + 1));
            }
            out
        });
        prop_oneof![pelaksana, standard]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn other_offices_tables_check_clean_or_are_refused_with_errors(text in other_table()) {
            let imported = import_text("gen.tsv", &text);
            match &imported.text {
                Some(_) => {
                    import_ok(&imported);
                }
                None => prop_assert!(imported.has_errors(), "no file and no error"),
            }
        }

        #[test]
        fn imports_check_clean_or_are_refused_with_errors(text in table()) {
            let imported = import_text("gen.tsv", &text);
            match &imported.text {
                Some(_) => {
                    import_ok(&imported);
                }
                None => prop_assert!(imported.has_errors(), "no file and no error"),
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let imported = import("gen.csv", None, &bytes, &ImportOptions::default());
            prop_assert!(imported.text.is_some() || imported.has_errors());
        }
    }
}

#[test]
fn actor_cells_that_are_no_marks_or_cannot_be_placed_are_kept_and_reported() {
    // Row 2 lost two actor cells (as the seed's second page does) and still has a mark: which
    // column it belongs to cannot be known. Row 3 has a word in an actor column.
    let table = "No\tKegiatan\tPemohon\tFront Office\tKepala Dinas\tKelengkapan\tWaktu\tOutput\tKeterangan\n\
                 1\tMengajukan permohonan\tX\t\t\tFormulir\t30 Menit\tBerkas\t\n\
                 2\tMemverifikasi berkas\tX\tBerkas\t10 Menit\tBerkas diperiksa\t\n\
                 3\tMenandatangani izin\t\t\tYa\tBerkas diperiksa\t5 Menit\tIzin\t\n";
    let imported = import_text("sel.tsv", table);
    let (text, sop) = import_ok(&imported);
    let found: Vec<(Code, usize)> = imported.diagnostics.iter().map(|d| (d.code, line_of(&imported, d))).collect();
    assert_eq!(
        found,
        vec![(Code::ImportActorsInferred, 1), (Code::ImportKeptAsComment, 3), (Code::ImportKeptAsComment, 4)]
    );
    assert!(text.contains("// isi kolom pelaksana yang tidak dapat dicocokkan dengan kolomnya: X"), "{text}");
    assert!(text.contains("// isi kolom Kepala Dinas: Ya"), "{text}");
    // The unplaced mark is no actor: step 2's actor is inferred; `Ya` counts as a mark.
    assert_eq!(sop.steps[1].actor_ids().collect::<Vec<_>>(), ["front_office"]);
    assert_eq!(sop.steps[2].actor_ids().collect::<Vec<_>>(), ["kepala_dinas"]);
    assert_eq!(sop.steps[1].duration.as_ref().unwrap().text, "10 Menit");
}

#[test]
fn a_lone_next_number_starts_a_step_and_heading_words_in_cells_are_kept() {
    // Line 4: step 2's number alone, its cells on line 5 (an extraction split the row). Line 6
    // continues step 2 with a cell that mentions "Persyaratan" (no heading: it is kept). Line 7
    // is a page number: `3` is the next step number, but the next row with text has its own.
    let table = "No\tKegiatan\tPemohon\tPetugas\tKelengkapan\tWaktu\tOutput\tKeterangan\n\
                 1\tMengajukan permohonan\tX\t\tFormulir\t30 Menit\tBerkas\t\n\
                 \n\
                 2\n\
                 \tMemeriksa berkas\t\tX\tBerkas\t10 Menit\tBerkas diperiksa\t\n\
                 \t\t\t\tPersyaratan teknis\t\t\t\n\
                 3\n\
                 3\tMenyerahkan izin\tX\t\tBerkas diperiksa\t5 Menit\tIzin\t\n";
    let imported = import_text("pecah.tsv", table);
    let (text, sop) = import_ok(&imported);
    let numbers: Vec<&str> = sop.steps.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(numbers, ["1", "2", "3"]);
    assert_eq!(sop.steps[1].activity, "Memeriksa berkas");
    assert_eq!(sop.steps[1].inputs[0].text, "Berkas Persyaratan teknis");
    assert!(text.contains("// baris 4, 5, 6 digabung"), "{text}");
    let found: Vec<(Code, usize)> = imported.diagnostics.iter().map(|d| (d.code, line_of(&imported, d))).collect();
    assert_eq!(found, vec![(Code::ImportPageNumber, 7)]);
}

/// The seed saved from a spreadsheet as CSV (cells with commas quoted) reads as the TSV does.
#[test]
fn the_seed_as_csv_reads_as_the_seed_as_tsv() {
    let tsv = std::fs::read(seed_path()).unwrap();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(b'\t').from_reader(&tsv[..]);
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    for record in reader.records() {
        writer.write_record(&record.unwrap()).unwrap();
    }
    let csv_text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    assert!(csv_text.contains("\"BAPL, Rekomendasi secara elektronik\""), "the CSV quotes cells with commas");
    let (_, from_csv) = import_ok(&import_text("seed.csv", &csv_text));
    let (_, from_tsv) = import_ok(&import_file(&seed_path()));
    assert_eq!(meaning(&from_csv), meaning(&from_tsv));
}

/// What an analyst reads: the imported seed, and the errors of a broken table.
#[test]
fn snapshots_of_the_imported_seed_and_of_bad_rows() {
    let (text, _) = import_ok(&import_file(&seed_path()));
    insta::assert_snapshot!("import-seed-lks-lksa.sop", text);
    let bad = import_file(&fixture("rusak.tsv"));
    let rendered = render_all(&bad.sources, &bad.diagnostics, Lang::En).replace(env!("CARGO_MANIFEST_DIR"), "");
    insta::assert_snapshot!("import-rusak.en", rendered);
    let rendered = render_all(&bad.sources, &bad.diagnostics, Lang::Id).replace(env!("CARGO_MANIFEST_DIR"), "");
    insta::assert_snapshot!("import-rusak.id", rendered);
}

#[test]
fn cli_delimiter_option() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("pipa.txt");
    std::fs::write(&table, "No|Kegiatan|Petugas|Waktu|Output/Hasil\n1|Menerima berkas|X|10 Menit|Berkas, lengkap\n")
        .unwrap();
    let run = alur().args(["import", "--delimiter", "|"]).arg(&table).output().unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stdout).contains("sop pipa \"pipa\""));
    assert!(String::from_utf8_lossy(&run.stdout).contains("berkas_lengkap \"Berkas, lengkap\""));
    let tab = alur().args(["import", "--delimiter", "tab", &fixture("tanda.tsv")]).output().unwrap();
    assert_eq!(tab.status.code(), Some(0));
    let bad = alur().args(["import", "--delimiter", "ab"]).arg(&table).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// Issue 22's tables from other offices (docs/research/sop-corpus): each shape they come in.
mod other_offices {
    use super::*;

    /// A single Pelaksana column holding the actors' names, as a kecamatan's table has it
    /// (Standar Pelayanan Surat Keterangan, Pemerintah Kota Palembang,
    /// https://sippn.menpan.go.id/pelayanan-publik/8234935/pemerintah-kota-palembang/surat-keterangan,
    /// corpus file 12; its procedure in the Permenpan-RB table form, no Waktu printed).
    #[test]
    fn a_pelaksana_column_names_the_actors_and_a_chain_is_written_as_one_row() {
        let imported = import_file(&fixture("kolom-pelaksana.tsv"));
        let (text, sop) = import_ok(&imported);
        let actors: Vec<(&str, alur::model::ActorKind)> =
            sop.actors.iter().map(|a| (a.label.as_str(), a.kind)).collect();
        use alur::model::ActorKind::*;
        assert_eq!(
            actors,
            [
                ("Pemohon", Applicant),
                ("Petugas Loket", Staff),
                ("Kasubag. Umum dan Kepegawaian", Staff),
                ("Sekcam", Staff),
                ("Camat", Staff),
                ("petugas kecamatan", Staff),
                ("PERIKSA: pelaksana belum ditentukan", Staff),
            ]
        );
        // Row 4 "Kasubag. Umum dan Kepegawaian -> Sekcam" is a hand-off chain: one row of the
        // table, compiled into a step per desk; nothing is reported.
        assert!(
            has_line(&text, "langkah 4 kasubag_umum_kepegawaian_3 oleh kasubag_umum_kepegawaian -> sekcam {"),
            "{text}"
        );
        let by: Vec<(String, Vec<String>)> = actors_by_step(&sop);
        assert_eq!(by[3], ("4".to_string(), vec!["Kasubag. Umum dan Kepegawaian".to_string()]));
        assert_eq!(by[4], ("4".to_string(), vec!["Sekcam".to_string()]));
        assert_eq!(sop.steps[4].desk.as_ref().map(|d| (d.index, d.count)), Some((1, 2)));
        assert_eq!(by[6].1, ["PERIKSA: pelaksana belum ditentukan"], "row 6 has no Pelaksana and no name in its text");
        assert!(!imported.diagnostics.iter().any(|d| d.code == Code::ImportHandOffChain));
        // No time is printed: none is made up (the chain's desks share `tidak_tertulis`), and the
        // stated total stays (checked in part).
        assert_eq!(text.matches("tidak_tertulis").count(), 7, "{text}");
        assert!(sop.steps.iter().all(|s| s.time_not_stated()));
        assert!(has_line(&text, "total 30 Menit"), "{text}");
        // "jika berkas tidak lengkap maka berkas akan dikembalikan kepada pemohon" in the activity.
        let decision = sop.steps[1].decision.as_ref().unwrap();
        assert_eq!(decision.outcomes[1].name.as_str(), "tidak_lengkap");
        assert_eq!(decision.outcomes[1].target, Target::Named(sop.steps[0].id.clone()));
        assert!(decision.outcomes[1].rework.is_some());
    }

    /// A chain written with arrows, dashes or "dan" between titles; a Pelaksana column after
    /// the Mutu Baku columns. A chain is written as one (`oleh kasi -> kabid`) with its time
    /// split over the desks; one whose days do not divide over its desks ("1 Hari" over three)
    /// would need each desk's share, which the table does not give: it gets its first desk and
    /// is reported.
    #[test]
    fn chains_in_a_pelaksana_column_anywhere_in_the_table() {
        let table = "No\tKegiatan\tWaktu\tPelaksana\n\
                     1\tMenerima berkas\t10 Menit\tFront Office\n\
                     2\tMemeriksa dan memaraf konsep izin\t1 Hari\tKabid -> Kasi -> Back Office\n\
                     3\tMemaraf\t1 Jam\tKasi - Kabid\n\
                     4\tMenandatangani izin\t1 Jam\tSekretaris dan Kepala Dinas\n";
        let imported = import_text("rantai.tsv", table);
        let (text, sop) = import_ok(&imported);
        let by: Vec<Vec<String>> = actors_by_step(&sop).into_iter().map(|(_, a)| a).collect();
        assert_eq!(
            by,
            [
                vec!["Front Office"],
                vec!["Kabid"],
                vec!["Kasi"],
                vec!["Kabid"],
                vec!["Sekretaris"],
                vec!["Kepala Dinas"]
            ]
        );
        assert_eq!(found(&imported), [(Code::ImportHandOffChain, 3)]);
        assert!(text.contains("\"Kabid -> Kasi -> Back Office\""), "{text}");
        assert!(has_line(&text, "langkah 3 memaraf oleh kasi -> kabid {"), "{text}");
        assert!(has_line(&text, "langkah 4 menandatangani_izin oleh sekretaris -> kepala_dinas {"), "{text}");
        // "1 Jam" over two desks: 30 minutes each.
        let shares: Vec<Option<alur::time::Duration>> = sop.steps[2..4].iter().map(|s| s.stated_duration()).collect();
        assert_eq!(shares, [Some(alur::time::Duration::minutes(30)); 2]);
    }

    /// Actor columns whose flowchart marks were lost in the PDF extraction (SOP Izin Praktek
    /// Dokter Hewan, DPMPT Kabupaten Kulon Progo,
    /// https://id.scribd.com/document/421676925/SIP-Dokter-Hewan-1-pdf, corpus file 01; only
    /// the flowchart's `MULAI` survived, in the Pemohon column). The actors are read from the
    /// sentences: who they start with, to whom the row before hands the file, what is done;
    /// and where the text points at several actors, or says only what is done, the guess is
    /// reported as weak.
    #[test]
    fn actor_columns_without_marks_are_read_from_the_text_and_weak_guesses_said() {
        let imported = import_file(&fixture("kolom-tanpa-tanda.tsv"));
        let (text, sop) = import_ok(&imported);
        let by: Vec<Vec<String>> = actors_by_step(&sop).into_iter().map(|(_, a)| a).collect();
        assert_eq!(
            by,
            [
                vec!["Pemohon"],         // MULAI in its column
                vec!["Front Office"],    // step 1 hands the file "kepada petugas Front Office (FO)"
                vec!["Seksi Survei"],    // "Seksi. Survei melakukan cek lokasi …"
                vec!["Seksi Perizinan"], // "Seksi. Perizinan membuat konsep …"
                vec!["Ka.Bid. Yandu."],  // "Ka. Bid. Pelayanan dan Pengaduan memverifikasi …"
                vec!["Kepala"],          // step 5 hands it "kepada Kepala Dinas"; signing
                vec!["Seksi Perizinan"], // "… direkap pada Seksi Perizinan …": weak
                vec!["Front Office"],    // "… diserahkan kepada pemohon": weak
            ]
        );
        let weak: Vec<usize> = imported
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::ImportActorGuessWeak)
            .map(|d| line_of(&imported, d))
            .collect();
        assert_eq!(weak, [10, 11]);
        assert!(text.contains("// PERIKSA: dugaan lemah (teks juga menunjuk Front Office, Kepala)"), "{text}");
        assert!(!codes(&imported).contains(&Code::ImportActorUnknown));
        assert!(!codes(&imported).contains(&Code::ImportKeptAsComment), "MULAI is a flowchart mark");
        // "Berkas permohonan yang belum lengkap dikembalikan kepada pemohon": back to step 1.
        let decision = sop.steps[1].decision.as_ref().unwrap();
        assert_eq!(decision.outcomes[1].name.as_str(), "belum_lengkap");
        assert_eq!(decision.outcomes[1].target, Target::Named(sop.steps[0].id.clone()));
        insta::assert_snapshot!("import-kolom-tanpa-tanda.sop", text);
    }

    /// Times the table does not state: a dash, an empty cell, words without a number. Lettered
    /// numbers with a dot; the total row "Jumlah" (Standar Pelayanan Surat Izin Praktek Bidan,
    /// DPM-PTSP Kabupaten Kolaka, https://dpmptsp.kolakakab.go.id/main/tampil_syarat/16, corpus
    /// file 08, its procedure as a table; the source states no step's time, printed here `-`).
    #[test]
    fn dashes_empty_cells_and_words_are_times_not_stated() {
        let imported = import_file(&fixture("waktu-strip.tsv"));
        let (text, sop) = import_ok(&imported);
        let numbers: Vec<&str> = sop.steps.iter().map(|s| s.number.as_str()).collect();
        assert_eq!(numbers, ["a", "b", "c", "d", "e", "f", "g", "h", "i"]);
        assert_eq!(text.matches("waktu       -\n").count() + text.matches("waktu    -\n").count(), 9, "{text}");
        assert!(sop.steps.iter().all(|s| s.time_not_stated() && s.duration.as_ref().is_some_and(|d| d.text == "-")));
        assert_eq!(sop.header.stated_total.as_ref().and_then(|t| t.rounded_workdays), None);
        assert!(has_line(&text, "total 12 Hari"), "the `Jumlah` row is the stated total:\n{text}");
        let table = "No\tKegiatan\tPetugas\tWaktu\n\
                     1\tMenerima berkas\tX\t\n\
                     2\tRapat koordinasi\tX\tSesuai jadwal\n\
                     3\tMenandatangani\tX\t10 Menit\n";
        let (text, sop) = import_ok(&import_text("waktu.tsv", table));
        assert!(has_line(&text, "waktu tidak_tertulis"), "{text}");
        assert!(has_line(&text, "waktu tidak_tertulis \"Sesuai jadwal\""), "{text}");
        assert_eq!(sop.steps[1].duration.as_ref().unwrap().text, "Sesuai jadwal");
        // A duration with words around it (Tanggamus's UKL-UPL standard, corpus file 17) is the
        // duration, the cell kept above it.
        let table_g = "No\tKegiatan\tPetugas\tWaktu\n\
                       g.\tPelaku usaha wajib menyampaikan perbaikan formulir UKL-UPL\tX\tpaling lambat 5 (lima) hari kerja\n";
        let (text, _) = import_ok(&import_text("waktu.tsv", table_g));
        assert!(has_line(&text, "waktu 5 hari kerja"), "{text}");
        assert!(text.contains("// waktu tertulis di tabel: paling lambat 5 (lima) hari kerja"), "{text}");
        // A cell with a number that is not a duration is still an error to fix in the table.
        let range = import_text("waktu.tsv", &table.replace("10 Menit", "1-2 Hari"));
        assert_eq!(found(&range), [(Code::ImportBadCell, 4)]);
    }

    /// The total row as offices label it, its value on the row or (a merged cell split by the
    /// extraction) on the line below, the number also spelled out.
    #[test]
    fn total_rows_as_offices_write_them() {
        let steps = "No\tKegiatan\tPetugas\tWaktu\n1\tMenerima berkas\tX\t3 Hari\n2\tMenandatangani\tX\t2 Hari\n";
        for total in [
            "Jumlah\t\t\t5 Hari",
            "Total Waktu\t\t\t5 Hari",
            "JUMLAH WAKTU PELAYANAN\t\t\t5 Hari",
            "\tJumlah Waktu Penyelesaian\t\t5 (lima) hari kerja",
            "JUMLAH WAKTU PELAYANAN\n\t\t\t5 Hari",
        ] {
            let imported = import_text("jumlah.tsv", &format!("{steps}{total}\n"));
            let (text, sop) = import_ok(&imported);
            assert!(sop.header.stated_total.is_some(), "{total:?} is the stated total:\n{text}");
            assert!(!codes(&imported).contains(&Code::ImportKeptAsComment), "{total:?}: {:?}", codes(&imported));
        }
    }

    /// A return written in Keterangan with no Pemohon column (SIUP usaha mikro, Kabupaten
    /// Pekalongan, https://sippn.menpan.go.id/pelayanan-publik/8061169/pemerintah-kab-pekalongan/surat-ijin-usaha-perdagangan-siup,
    /// corpus file 21; the return the source puts in parentheses here in Keterangan): back to
    /// the applicant's latest step, the clock stopped.
    #[test]
    fn a_return_to_the_applicant_goes_to_the_applicants_step() {
        let imported = import_file(&fixture("keterangan-kembali.tsv"));
        let (_, sop) = import_ok(&imported);
        let decision = sop.steps[3].decision.as_ref().unwrap();
        let outcomes: Vec<(&str, Target, bool)> =
            decision.outcomes.iter().map(|o| (o.name.as_str(), o.target.clone(), o.rework.is_some())).collect();
        assert_eq!(
            outcomes,
            [
                ("lengkap", Target::Named(sop.steps[4].id.clone()), false),
                ("tidak_lengkap", Target::Named(sop.steps[2].id.clone()), true),
            ]
        );
        assert!(found(&imported).contains(&(Code::ImportRouteGuessed, 6)));
        // The same Keterangan in a table where no step is the applicant's: nothing is made up.
        let table = "No\tKegiatan\tFront Office\tBack Office\tWaktu\tKeterangan\n\
                     1\tMemeriksa berkas\tX\t\t10 Menit\tJika tidak lengkap dikembalikan ke pemohon\n\
                     2\tMemproses izin\t\tX\t1 Hari\t\n";
        let imported = import_text("tanpa-pemohon.tsv", table);
        let (_, sop) = import_ok(&imported);
        assert!(sop.steps[0].decision.is_none());
        let warning = imported.diagnostics.iter().find(|d| d.code == Code::ImportRouteGuessed).unwrap();
        assert_eq!(line_of(&imported, warning), 2);
        assert!(warning.message.en.contains("could not be placed"), "{}", warning.message.en);
    }

    /// A Standar Pelayanan (Permenpan-RB 15/2014) as a Komponen | Uraian table, its lists in
    /// quoted multi-line cells (Surat Izin Praktek Bidan, DPM-PTSP Kabupaten Kolaka,
    /// https://dpmptsp.kolakakab.go.id/main/tampil_syarat/16, corpus file 08).
    #[test]
    fn a_standar_pelayanan_table_becomes_steps_and_declarations() {
        let imported = import_file(&fixture("standar-pelayanan.csv"));
        let (text, sop) = import_ok(&imported);
        let recognised = imported.diagnostics.iter().find(|d| d.code == Code::ImportServiceStandard).unwrap();
        assert_eq!(line_of(&imported, recognised), 3);
        let notes: Vec<&str> = recognised.notes.iter().map(|n| n.en.as_str()).collect();
        assert_eq!(notes.len(), 1, "every component has a line, none is kept as a comment: {notes:?}");
        assert!(notes[0].contains("Biaya/tarif pelayanan \u{2192} biaya"), "{notes:?}");
        assert_eq!(sop.header.legal_basis, ["Peraturan Menteri Kesehatan Nomor 28 tahun 2017"]);
        assert!(has_line(&text, "standar_pelayanan 12 Hari"), "{text}");
        let service = &sop.header.service;
        assert_eq!(service.requirements.len(), 7);
        assert_eq!(service.requirements[1], "Foto copy STRB yang masih berlaku .");
        assert_eq!(service.fees, ["Gratis"]);
        assert_eq!(service.products, ["Surat Izin Praktek Bidan"]);
        assert_eq!(service.complaints.len(), 3);
        assert_eq!(service.facilities, ["Counter layanan dan gedung yang representatif"]);
        assert!(sop.artifacts.is_empty(), "requirements are the service's, not documents a step is said to need");
        let numbers: Vec<&str> = sop.steps.iter().map(|s| s.number.as_str()).collect();
        assert_eq!(numbers, ["a", "b", "c", "d", "e", "f", "g", "h", "i"]);
        assert_eq!(sop.steps[0].activity, "Pemohon mengajukan permohonan ke DPM-PTSP");
        let by: Vec<Vec<String>> = actors_by_step(&sop).into_iter().map(|(_, a)| a).collect();
        assert_eq!(by[1], ["Petugas frontoffice (FO) DPM-PTSP"]);
        assert_eq!(by[5], ["Kabid perizinan"], "\"… divalidasi oleh Kabid perizinan\"");
        assert_eq!(by[8], ["Petugas frontoffice (FO) DPM-PTSP"], "\"… oleh petugas Frontoffice (FO)\"");
    }

    /// The same form extracted from a PDF: one item per row, the Komponen cell empty on the
    /// rows that continue it, and a Jangka Waktu counted from a point that names no step
    /// (Standar Pelayanan Rekomendasi SIOP LKS/Orsos, Dinas Sosial Kabupaten Agam,
    /// https://sippn.menpan.go.id/pelayanan-publik/8274482/pemerintah-kab-agam/standar-pelayanan-rekomendasi-surat-izin-operasional-siop-lksorganisasi-sosial,
    /// corpus file 10).
    #[test]
    fn a_standar_pelayanan_in_rows_and_a_promise_with_a_start_point() {
        let imported = import_file(&fixture("standar-pelayanan-baris.tsv"));
        let (text, sop) = import_ok(&imported);
        assert_eq!(sop.header.service.requirements.len(), 17);
        assert_eq!(sop.header.service.fees, ["Tidak dipungut biaya"]);
        assert_eq!(sop.steps.len(), 6);
        assert_eq!(sop.steps[2].activity, "Bidang Pemberdayaan Sosial memeriksa kelengkapan persyaratan, jika lengkap ditindaklanjuti dengan peninjauan lapangan pada hari berikutnya");
        assert!(sop.header.service_standards.is_empty(), "the clock's start names no step: nothing is made up");
        assert!(
            text.contains("// Jangka Waktu Pelayanan: 5 (lima) hari kerja sejak dokumen persyaratan lengkap"),
            "{text}"
        );
        let promise = imported
            .diagnostics
            .iter()
            .find(|d| d.code == Code::ImportServiceStandard && d.message.en.contains("jangka waktu"))
            .unwrap();
        assert_eq!(line_of(&imported, promise), 26);
        assert!(promise.message.en.contains("its start (`sejak …`) names no step"), "{}", promise.message.en);
        let by: Vec<Vec<String>> = actors_by_step(&sop).into_iter().map(|(_, a)| a).collect();
        assert_eq!(by[0], ["DPMPTSP"]);
        assert_eq!(by[1], ["Kepala Dinas Sosial"]);
        // "Surat Rekomendasi … dikirimkan ke …" names no doer: reported at its own row.
        let unknown: Vec<usize> = imported
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::ImportActorUnknown)
            .map(|d| line_of(&imported, d))
            .collect();
        assert_eq!(unknown, [25]);
    }

    #[test]
    fn a_standar_pelayanan_without_a_procedure_is_refused() {
        let table = "No\tKomponen\tUraian\n1\tPersyaratan\tSurat Permohonan\n2\tJangka Waktu\t5 (lima) hari kerja\n3\tBiaya\tGratis\n";
        let imported = import_text("tanpa-prosedur.tsv", table);
        assert!(imported.text.is_none());
        assert_eq!(codes(&imported), [Code::ImportNoHeader]);
        let d = &imported.diagnostics[0];
        assert!(d.message.en.contains("no procedure") && d.help.is_some(), "{}", d.message.en);
    }
}
