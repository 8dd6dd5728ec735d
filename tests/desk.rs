//! The public service desk (issue 24, docs/desk.md): registration numbers in the office's
//! format, the receipt, public tracking. The store side of numbering (gapless, unique across
//! nodes) is in `store_conformance::*::registry`.

use alur::compile::{compile_source, Options};
use alur::diagnostic::Code;
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The LKS SOP with a registration number and a desk contact, written into `dir`: its path and
/// the calendars' folder.
pub fn numbered_sop(dir: &Path) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(root().join("sop/lks-lksa.sop")).unwrap();
    let text = text.replacen(
        "    kalender wita_kantor\n",
        "    kalender wita_kantor\n    nomor_pendaftaran \"503/{nomor:4}/DPMPTSP/{bulan:romawi}/{tahun}\"\n    \
         kontak_loket \"Loket DPMPTSP, Jl. Pangeran Suriansyah No. 5, telp. (0511) 4772500\"\n",
        1,
    );
    assert!(text.contains("nomor_pendaftaran"), "the LKS SOP's header changed: put the line elsewhere");
    let path = dir.join("lks-lksa.sop");
    std::fs::write(&path, text).unwrap();
    (path, root().join("sop/calendars"))
}

fn header(line: &str) -> String {
    format!(
        "sop t \"Uji\" {{\n    {line}\n    pelaksana {{\n        pemohon \"Pemohon\" pemohon\n    }}\n    \
         langkah 1 ajukan oleh pemohon {{\n        kegiatan \"Mengajukan\"\n        waktu 1 hari\n    }}\n}}\n"
    )
}

fn codes(text: &str) -> Vec<Code> {
    compile_source("test.sop", text, &Options::default()).diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn the_registration_pattern_is_read_in_either_language() {
    for line in [
        r#"nomor_pendaftaran "503/{nomor:4}/DPMPTSP/{bulan:romawi}/{tahun}""#,
        r#"registration_number "503/{number:4}/DPMPTSP/{month:roman}/{year}""#,
    ] {
        let compiled = compile_source("test.sop", &header(line), &Options::default());
        assert!(compiled.diagnostics.is_empty(), "{line}: {:?}", compiled.diagnostics);
        let sop = compiled.sop.unwrap();
        let pattern = sop.header.registration.expect("a pattern");
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(pattern.numbering_on(date).number(42), "503/0042/DPMPTSP/XII/2026", "{line}");
    }
    let sop =
        compile_source("t.sop", &header(r#"kontak_loket "Loket 1", "WA 0812""#), &Options::default()).sop.unwrap();
    assert_eq!(sop.header.desk_contact, ["Loket 1", "WA 0812"]);
}

#[test]
fn bad_registration_patterns_are_refused_at_check() {
    let cases = [
        (r#"nomor_pendaftaran "503/{nomer:4}/{tahun}""#, Code::RegistrationUnknownPart),
        (r#"nomor_pendaftaran "503/{nomor:0}""#, Code::RegistrationUnknownPart),
        (r#"nomor_pendaftaran "503/{bulan}/{tahun}""#, Code::RegistrationRunningNumber),
        (r#"nomor_pendaftaran "{nomor}-{nomor}""#, Code::RegistrationRunningNumber),
        (r#"nomor_pendaftaran "503/{nomor:4""#, Code::RegistrationBrace),
        (r#"nomor_pendaftaran " ""#, Code::RegistrationShape),
    ];
    for (line, code) in cases {
        assert_eq!(codes(&header(line)), vec![code], "{line}");
    }
    let twice = header("nomor_pendaftaran \"A{nomor}\"\n    nomor_pendaftaran \"B{nomor}\"");
    assert_eq!(codes(&twice), vec![Code::DuplicateSetting]);
}
