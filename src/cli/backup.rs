//! `alur backup`, `alur restore` and `alur archive`: the SQLite database, its archive and the
//! audit log beside it, copied
//! with SQLite's online backup (so `alur serve` may keep running during a backup), and the
//! documents' blob files beside it (`<db>.blobs`). A PostgreSQL database, blobs included, is
//! backed up with its own tools (docs/operations.md).

use std::path::Path;
use std::process::ExitCode;

use super::{EXIT_ERRORS, EXIT_USAGE};
use crate::diagnostic::Lang;
use crate::runtime::store::archive_path;
use crate::runtime::store::blob_files::{self, BlobDir};
use crate::runtime::store::sqlite_file::{self, FileError};
use crate::server::accounts::audit_path;
use crate::server::problem::say;

fn fail(lang: Lang, id: &str, en: &str) -> ExitCode {
    eprintln!("alur: {}", say(lang, id, en));
    ExitCode::from(EXIT_ERRORS)
}

fn file_error(error: &FileError, lang: Lang) -> String {
    match error {
        FileError::Sqlite { path, cause } => format!("{path}: {cause}"),
        FileError::Damaged { path, cause } => {
            say(lang, &format!("berkas `{path}` rusak ({cause})"), &format!("the file `{path}` is damaged ({cause})"))
        }
        FileError::NotAlur { path } => say(
            lang,
            &format!("berkas `{path}` bukan basis data alur"),
            &format!("the file `{path}` is not an alur database"),
        ),
        FileError::Newer { path, found, known } => say(
            lang,
            &format!(
                "`{path}` berskema versi {found}, lebih baru dari alur ini (versi {known}); pakai alur yang lebih baru"
            ),
            &format!("`{path}` has schema version {found}, newer than this alur's ({known}); use a newer alur"),
        ),
    }
}

/// Copies the blob files of the database `from_db` to those of `to_db`, each checked against
/// its hash, then checks that every document the database `named_by` names is among them.
/// Blobs are written before the events that name them, so copying them after the database's
/// snapshot finds every blob the snapshot names.
fn copy_documents(from_db: &Path, to_db: &Path, named_by: &Path, lang: Lang) -> Result<(), ExitCode> {
    let (from, to) = (BlobDir::of_database(from_db), BlobDir::of_database(to_db));
    let copied = match blob_files::copy_all(&from, &to) {
        Ok(copied) => copied,
        Err(error) => {
            let cause = error.to_string();
            return Err(fail(
                lang,
                &format!("dokumen tidak dapat disalin dari `{}`: {cause}", from.root().display()),
                &format!("the documents cannot be copied from `{}`: {cause}", from.root().display()),
            ));
        }
    };
    let named = sqlite_file::document_hashes(named_by).map_err(|error| {
        eprintln!("alur: {}", file_error(&error, lang));
        ExitCode::from(EXIT_ERRORS)
    })?;
    let missing: Vec<&String> = named.iter().filter(|sha| !to.has(sha)).collect();
    if let Some(first) = missing.first() {
        let (n, dir) = (missing.len(), from.root().display());
        return Err(fail(
            lang,
            &format!("{n} dokumen yang disebut basis data tidak ada di `{dir}` (misalnya {first}); cadangan ini tidak lengkap"),
            &format!("{n} documents the database names are missing from `{dir}` (such as {first}); this backup is incomplete"),
        ));
    }
    let (blobs, bytes, dir) = (copied.blobs, copied.bytes, to.root().display());
    println!(
        "{}",
        say(
            lang,
            &format!("{} -> {dir} ({blobs} dokumen, {bytes} bita)", from.root().display()),
            &format!("{} -> {dir} ({blobs} documents, {bytes} bytes)", from.root().display()),
        )
    );
    Ok(())
}

/// Refuses a PostgreSQL URL with where to look instead.
fn postgres_refused(db: &Path, lang: Lang) -> Option<ExitCode> {
    if !crate::server::is_postgres(&db.to_string_lossy()) {
        return None;
    }
    eprintln!(
        "alur: {}",
        say(
            lang,
            "basis data PostgreSQL dicadangkan dan dipulihkan dengan alat PostgreSQL sendiri: `pg_dump -Fc` dan \
             `pg_restore` (lihat docs/operations.md, \"Backup and restore\")",
            "a PostgreSQL database is backed up and restored with PostgreSQL's own tools: `pg_dump -Fc` and \
             `pg_restore` (see docs/operations.md, \"Backup and restore\")",
        )
    );
    Some(ExitCode::from(EXIT_USAGE))
}

pub fn run_backup(file: &Path, db: &Path, force: bool, lang: Lang) -> ExitCode {
    if let Some(code) = postgres_refused(db, lang) {
        return code;
    }
    if !db.is_file() {
        let db = db.display();
        return fail(lang, &format!("basis data `{db}` tidak ada"), &format!("the database `{db}` does not exist"));
    }
    let audit_from = audit_path(db);
    let audit_to = audit_path(file);
    let (archive_from, archive_to) = (archive_path(db), archive_path(file));
    // The database before its archive: a case moved between the two copies is then in both
    // (the database's copy is read), never in neither.
    let mut copies: Vec<(&Path, &Path)> = vec![(db, file)];
    if archive_from.is_file() {
        copies.push((&archive_from, &archive_to));
    }
    if audit_from.is_file() {
        copies.push((&audit_from, &audit_to));
    }
    if !force {
        if let Some((_, to)) = copies.iter().find(|(_, to)| to.exists()) {
            let to = to.display();
            return fail(
                lang,
                &format!("`{to}` sudah ada; pakai --force untuk menimpanya"),
                &format!("`{to}` exists already; use --force to overwrite it"),
            );
        }
    }
    for (from, to) in copies {
        if let Err(error) = sqlite_file::backup(from, to) {
            eprintln!("alur: {}", file_error(&error, lang));
            return ExitCode::from(EXIT_ERRORS);
        }
        let size = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
        let (from, to) = (from.display(), to.display());
        println!("{}", say(lang, &format!("{from} -> {to} ({size} bita)"), &format!("{from} -> {to} ({size} bytes)")));
    }
    // After the database's snapshot: every blob it names was written before it.
    if let Err(code) = copy_documents(db, file, file, lang) {
        return code;
    }
    ExitCode::SUCCESS
}

pub fn run_restore(file: &Path, db: &Path, force: bool, lang: Lang) -> ExitCode {
    if let Some(code) = postgres_refused(db, lang) {
        return code;
    }
    let summary = match sqlite_file::inspect(file) {
        Ok(summary) => summary,
        Err(error) => {
            eprintln!("alur: {}", file_error(&error, lang));
            return ExitCode::from(EXIT_ERRORS);
        }
    };
    let audit_from = audit_path(file);
    let audit_to = audit_path(db);
    let with_audit = audit_from.is_file();
    let (archive_from, archive_to) = (archive_path(file), archive_path(db));
    let with_archive = archive_from.is_file();
    for (kept, from) in [(with_audit, &audit_from), (with_archive, &archive_from)] {
        if kept {
            if let Err(error) = sqlite_file::check_intact(from) {
                eprintln!("alur: {}", file_error(&error, lang));
                return ExitCode::from(EXIT_ERRORS);
            }
        }
    }
    for target in [db, audit_to.as_path(), archive_to.as_path()] {
        match sqlite_file::in_use(target) {
            Ok(false) => {}
            Ok(true) => {
                let t = target.display();
                return fail(
                    lang,
                    &format!("`{t}` sedang dipakai (alur serve atau perintah lain masih berjalan); hentikan dulu"),
                    &format!("`{t}` is in use (alur serve or another command is running); stop it first"),
                );
            }
            Err(error) => {
                eprintln!("alur: {}", file_error(&error, lang));
                return ExitCode::from(EXIT_ERRORS);
            }
        }
    }
    if db.exists() && !force {
        let db = db.display();
        return fail(
            lang,
            &format!("`{db}` sudah ada; pakai --force untuk menggantinya dengan cadangan"),
            &format!("`{db}` exists already; use --force to replace it with the backup"),
        );
    }
    // The documents first: a restored database never names a document its folder lacks.
    if let Err(code) = copy_documents(file, db, file, lang) {
        return code;
    }
    if let Err(error) = sqlite_file::restore(file, db) {
        eprintln!("alur: {}", file_error(&error, lang));
        return ExitCode::from(EXIT_ERRORS);
    }
    for (with, from, to) in [(with_audit, &audit_from, &audit_to), (with_archive, &archive_from, &archive_to)] {
        if with {
            if let Err(error) = sqlite_file::restore(from, to) {
                eprintln!("alur: {}", file_error(&error, lang));
                return ExitCode::from(EXIT_ERRORS);
            }
        } else if to.exists() {
            // The old audit log or archive belongs to the replaced database, not to the
            // restored one: kept under another name rather than silently joined to it.
            let mut kept = to.as_os_str().to_os_string();
            kept.push(".old");
            let _ = std::fs::rename(to, kept);
        }
    }
    let (f, d, cases, events) = (file.display(), db.display(), summary.cases, summary.events);
    println!(
        "{}",
        say(
            lang,
            &format!(
                "{f} -> {d}: {cases} kasus, {events} peristiwa dipulihkan (skema versi {})",
                summary.schema_version
            ),
            &format!("{f} -> {d}: {cases} cases, {events} events restored (schema version {})", summary.schema_version),
        )
    );
    if with_audit {
        let (a, t) = (audit_from.display(), audit_to.display());
        println!("{}", say(lang, &format!("{a} -> {t} (log audit)"), &format!("{a} -> {t} (audit log)")));
    }
    if with_archive {
        let (a, t) = (archive_from.display(), archive_to.display());
        println!("{}", say(lang, &format!("{a} -> {t} (arsip)"), &format!("{a} -> {t} (archive)")));
    }
    ExitCode::SUCCESS
}

/// The instant a day starts in the time zone `zone`.
pub fn day_start(day: &str, zone: &str, lang: Lang) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::TimeZone;
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
        say(
            lang,
            &format!("`{day}` bukan tanggal; tulis TTTT-BB-HH, mis. 2026-01-01"),
            &format!("`{day}` is not a date; write YYYY-MM-DD, e.g. 2026-01-01"),
        )
    })?;
    let tz: chrono_tz::Tz = zone.parse().map_err(|_| {
        say(
            lang,
            &format!("`{zone}` bukan zona waktu IANA; mis. Asia/Jakarta, Asia/Makassar, Asia/Jayapura"),
            &format!("`{zone}` is not an IANA time zone; e.g. Asia/Jakarta, Asia/Makassar, Asia/Jayapura"),
        )
    })?;
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| say(lang, &format!("`{day}` tidak ada di {zone}"), &format!("`{day}` does not exist in {zone}")))
}

pub fn run_archive(before: &str, zone: &str, db: &Path, lang: Lang) -> ExitCode {
    let before = match day_start(before, zone, lang) {
        Ok(before) => before,
        Err(message) => {
            eprintln!("alur: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let spec = db.to_string_lossy();
    if !crate::server::is_postgres(&spec) && !db.is_file() {
        let db = db.display();
        return fail(lang, &format!("basis data `{db}` tidak ada"), &format!("the database `{db}` does not exist"));
    }
    let runtime = match super::case::runtime() {
        Ok(runtime) => runtime,
        Err(e) => return fail(lang, &format!("tokio: {e}"), &format!("tokio: {e}")),
    };
    let moved = runtime.block_on(async {
        let store = crate::runtime::store::open(&spec).await?;
        let done = store.archive_ended(before, chrono::Utc::now()).await?;
        Ok::<_, crate::runtime::store::StoreError>((done, store.archive_place()))
    });
    match moved {
        Ok((done, to)) => {
            let (cases, events, kept) = (done.cases, done.events, done.kept);
            println!(
                "{}",
                say(
                    lang,
                    &format!(
                        "{cases} kasus selesai ({events} peristiwa) dipindah ke {to}; {kept} kasus selesai tetap \
                         (selesai sesudah tanggal itu, atau belum siap dipindah: belum tercatat di titik simpan \
                         atau tindak lanjutnya belum tuntas)"
                    ),
                    &format!(
                        "{cases} ended cases ({events} events) moved to {to}; {kept} ended cases stay \
                         (ended on or after the date, or not ready to move: not yet in a checkpoint or a \
                         follow-up not yet settled)"
                    ),
                )
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(lang, &format!("pengarsipan gagal: {e}"), &format!("archiving failed: {e}")),
    }
}
