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

/// A site whose LKS SOP numbers its cases (deployed over the shipped one as its next version).
async fn numbered_site() -> (crate::web::Site, tempfile::TempDir) {
    let site = crate::web::Site::new(false).await;
    let dir = tempfile::tempdir().unwrap();
    let (sop, calendars) = numbered_sop(dir.path());
    site.state.engine.deploy_file(&sop, &calendars).await.unwrap();
    (site, dir)
}

fn between<'a>(text: &'a str, before: &str, after: &str) -> &'a str {
    let start = text.find(before).unwrap_or_else(|| panic!("`{before}` not in:\n{text}")) + before.len();
    let end = text[start..].find(after).unwrap() + start;
    &text[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receipt_and_public_tracking_show_the_number_and_nothing_internal() {
    use axum::http::StatusCode;
    let (site, _dir) = numbered_site().await;
    let applicant = site.cookie("pemohon").await;
    let case = site.apply_lks(&applicant).await;
    let number = "503/0001/DPMPTSP/XII/2026";
    let page = site.get(Some(&applicant), &format!("/cases/{case}")).await;
    assert!(page.body.contains(number), "{}", page.body);
    assert!(page.body.contains(&format!("/cases/{case}/receipt")));
    let state = site.state.engine.load(case.parse().unwrap()).await.unwrap();
    let secret = state.registration.unwrap().secret;

    // The receipt: number, service, applicant, desk contact, the secret and a QR code (SVG)
    // to the tracking page; the case's other applicant may not see it.
    let receipt = site.get(Some(&applicant), &format!("/cases/{case}/receipt")).await;
    assert_eq!(receipt.status, StatusCode::OK, "{}", receipt.body);
    for part in [
        number,
        secret.as_str(),
        "Tanda Terima Pendaftaran",
        "Loket DPMPTSP",
        "<svg",
        "@page { size: A4",
        "http://localhost/lacak",
    ] {
        assert!(receipt.body.contains(part), "`{part}` missing from the receipt:\n{}", receipt.body);
    }
    let neighbour = site.cookie("tetangga").await;
    let refused = site.get(Some(&neighbour), &format!("/cases/{case}/receipt")).await;
    assert_ne!(refused.status, StatusCode::OK);
    assert!(!refused.body.contains(&secret));

    // Tracking without an account: the form, then the answer in plain words.
    let form = site.get(None, "/lacak").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"form method="post" action="/lacak""#), "{}", form.body);
    let found = site.post(None, "/lacak", &[("nomor", number), ("kode", &secret.to_lowercase())]).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(found.body.contains("Menunggu Anda"), "{}", found.body);
    assert!(found.body.contains("Dijanjikan selesai"));
    assert_eq!(found.headers.get("cache-control").unwrap(), "no-store");
    for hidden in [case.as_str(), "<demo>", secret.as_str()] {
        assert!(!found.body.contains(hidden), "`{hidden}` shown on the public page");
    }
    let by_qr = site.get(None, &format!("/lacak?nomor=503%2F0001%2FDPMPTSP%2FXII%2F2026&kode={secret}")).await;
    assert_eq!(by_qr.status, StatusCode::OK);
    assert!(by_qr.body.contains("Menunggu Anda"));

    // A wrong code and a wrong number give the same answer.
    let wrong_code = site.post(None, "/lacak", &[("nomor", number), ("kode", "AAAAAAAA")]).await;
    let other = "503/0099/DPMPTSP/XII/2026";
    let wrong_number = site.post(None, "/lacak", &[("nomor", other), ("kode", &secret)]).await;
    assert_eq!(wrong_code.status, StatusCode::NOT_FOUND);
    assert_eq!(wrong_number.status, wrong_code.status);
    assert_eq!(wrong_number.body.replace(other, number), wrong_code.body);
    assert!(wrong_code.body.contains("tidak cocok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tracking_codes_are_rate_limited() {
    use axum::http::StatusCode;
    let (site, _dir) = numbered_site().await;
    let applicant = site.cookie("pemohon").await;
    let case = site.apply_lks(&applicant).await;
    let secret = site.state.engine.load(case.parse().unwrap()).await.unwrap().registration.unwrap().secret;
    let number = "503/0001/DPMPTSP/XII/2026";
    for _ in 0..5 {
        let reply = site.post(None, "/lacak", &[("nomor", number), ("kode", "ZZZZZZZZ")]).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    }
    // Past the free failures the number waits, even with the right code.
    let waiting = site.post(None, "/lacak", &[("nomor", number), ("kode", &secret)]).await;
    assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS, "{}", waiting.body);
    assert!(waiting.headers.get("retry-after").is_some());
    assert!(between(&waiting.body, "role=\"alert\">", "<").contains("Terlalu banyak"));
    site.clock.advance(chrono::Duration::seconds(2));
    let later = site.post(None, "/lacak", &[("nomor", number), ("kode", &secret)]).await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.body);
}
