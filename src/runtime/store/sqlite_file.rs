//! The SQLite file as a whole: a consistent copy while a server writes to it (SQLite's online
//! backup), the checks a file passes before it is restored, whether another process has it
//! open, and the last checkpoint of a server that stops. `alur backup`, `alur restore` and
//! `alur serve` use these; the messages people read are made by the callers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::sqlite::SCHEMA_VERSION;

/// Why a file cannot be copied, restored or checked.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {cause}")]
    Sqlite { path: String, cause: String },
    /// `PRAGMA quick_check` found damage (or the file is not an SQLite database).
    #[error("{path} is damaged: {cause}")]
    Damaged { path: String, cause: String },
    /// An SQLite file, but not an alur database (no `schema_version`, `events` or `cases`).
    #[error("{path} is not an alur database")]
    NotAlur { path: String },
    /// Made by a newer alur.
    #[error("{path} has schema version {found}, newer than this alur's {known}")]
    Newer { path: String, found: i64, known: i64 },
}

/// What an alur database holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    pub schema_version: i64,
    pub cases: u64,
    pub events: u64,
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> FileError + '_ {
    move |e| FileError::Sqlite { path: path.display().to_string(), cause: e.to_string() }
}

fn open_existing(path: &Path) -> Result<Connection, FileError> {
    // Without CREATE: a missing file is an error, not a new empty database.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite(path))?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(sqlite(path))?;
    Ok(conn)
}

/// Copies the database `from` into a new file `to`, as one consistent snapshot even while
/// another process commits to it: SQLite's online backup in one step, under one read
/// transaction (a step at a time would start over after each commit of a busy server). Written
/// beside `to` first and renamed into place, so `to` is never half a copy.
pub fn backup(from: &Path, to: &Path) -> Result<(), FileError> {
    let partial = copy_beside(from, to)?;
    rename(&partial, to)
}

/// The copy of `from`, written beside `to` under a `.partial` name.
fn copy_beside(from: &Path, to: &Path) -> Result<PathBuf, FileError> {
    let source = open_existing(from)?;
    let partial = partial_path(to);
    let _ = std::fs::remove_file(&partial);
    let copied = (|| {
        let mut target = Connection::open(&partial).map_err(sqlite(&partial))?;
        let copy = rusqlite::backup::Backup::new(&source, &mut target).map_err(sqlite(to))?;
        // All pages in one step (-1); a writer holding a lock makes it wait, 10 s at most.
        let mut waited = 0;
        loop {
            match copy.step(-1).map_err(sqlite(from))? {
                rusqlite::backup::StepResult::Done => break,
                _ if waited < 200 => {
                    waited += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => return Err(FileError::Sqlite { path: from.display().to_string(), cause: "busy".into() }),
            }
        }
        drop(copy);
        // One file, no WAL beside it: the copy can be moved or mailed as it is.
        let _: String =
            target.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0)).map_err(sqlite(&partial))?;
        Ok(())
    })();
    match copied {
        Ok(()) => Ok(partial),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn rename(partial: &Path, to: &Path) -> Result<(), FileError> {
    std::fs::rename(partial, to).map_err(|e| {
        let _ = std::fs::remove_file(partial);
        FileError::Sqlite { path: to.display().to_string(), cause: e.to_string() }
    })
}

fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    to.with_file_name(name)
}

/// `PRAGMA quick_check` on an existing file: `Ok` when SQLite finds nothing wrong.
pub fn check_intact(path: &Path) -> Result<(), FileError> {
    let damaged = |cause: String| FileError::Damaged { path: path.display().to_string(), cause };
    let conn = open_existing(path)?;
    let found: Result<Vec<String>, rusqlite::Error> =
        conn.prepare("PRAGMA quick_check(3)").and_then(|mut check| check.query_map([], |row| row.get(0))?.collect());
    match found {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Ok(()),
        Ok(lines) => Err(damaged(lines.join("; "))),
        Err(e) => Err(damaged(e.to_string())),
    }
}

/// Checks that `path` is an intact alur database this build can open, and counts its cases
/// and events.
pub fn inspect(path: &Path) -> Result<Summary, FileError> {
    check_intact(path)?;
    let conn = open_existing(path)?;
    let not_alur = || FileError::NotAlur { path: path.display().to_string() };
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut q| q.query_map([], |row| row.get(0))?.collect())
        .map_err(sqlite(path))?;
    if !["schema_version", "events", "cases"].iter().all(|t| tables.iter().any(|n| n == t)) {
        return Err(not_alur());
    }
    let version: i64 = conn
        .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |row| row.get(0))
        .map_err(sqlite(path))?;
    if version < 1 {
        return Err(not_alur());
    }
    if version > SCHEMA_VERSION {
        return Err(FileError::Newer { path: path.display().to_string(), found: version, known: SCHEMA_VERSION });
    }
    let count = |table: &str| -> Result<u64, FileError> {
        let n: i64 =
            conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0)).map_err(sqlite(path))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok(Summary { schema_version: version, cases: count("cases")?, events: count("events")? })
}

/// The hashes of the documents the events of the database at `path` keep in its blob store
/// (`Storage::Blob`), each once, sorted: what a backup or restore must carry beside the file.
pub fn document_hashes(path: &Path) -> Result<Vec<String>, FileError> {
    use crate::runtime::event::{Event, Storage};
    let conn = open_existing(path)?;
    let bodies: Vec<String> = conn
        .prepare("SELECT body FROM events WHERE body LIKE '%\"kind\":\"blob\"%'")
        .and_then(|mut q| q.query_map([], |row| row.get(0))?.collect())
        .map_err(sqlite(path))?;
    let mut hashes: Vec<String> = bodies
        .iter()
        .filter_map(|body| match serde_json::from_str::<Event>(body) {
            Ok(Event::ArtifactAttached(file)) if file.storage == Storage::Blob => Some(file.sha256),
            _ => None,
        })
        .collect();
    hashes.sort();
    hashes.dedup();
    Ok(hashes)
}

/// Whether another connection (a running `alur serve`, an `alur case` command) has the file
/// open: in WAL mode each holds a shared lock on it for as long as it is open, so an
/// exclusive lock is refused at once.
pub fn in_use(path: &Path) -> Result<bool, FileError> {
    if !path.exists() {
        return Ok(false);
    }
    let conn = open_existing(path)?;
    conn.busy_timeout(Duration::ZERO).map_err(sqlite(path))?;
    let _: String = conn.query_row("PRAGMA locking_mode = EXCLUSIVE", [], |row| row.get(0)).map_err(sqlite(path))?;
    match conn.execute_batch("BEGIN EXCLUSIVE; SELECT COUNT(*) FROM sqlite_master; COMMIT;") {
        Ok(()) => Ok(false),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ) =>
        {
            Ok(true)
        }
        // A damaged file is what a restore is most often for: nothing can be using it.
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(sqlite(path)(e)),
    }
}

/// Puts the database `from` (checked by the caller) in place of `to`, which nothing has open:
/// copied beside `to`, the old `-wal` and `-shm` files removed (an old WAL would otherwise be
/// read into the restored file), then renamed into place.
pub fn restore(from: &Path, to: &Path) -> Result<(), FileError> {
    let partial = copy_beside(from, to)?;
    for suffix in ["-wal", "-shm"] {
        let mut name = to.as_os_str().to_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
    rename(&partial, to)
}

/// Copies the whole WAL into the database and empties it (a TRUNCATE checkpoint): what a
/// server does last, once nothing writes any more, so the file alone holds everything.
pub fn checkpoint(path: &Path) -> Result<(), FileError> {
    let conn = open_existing(path)?;
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0)).map_err(sqlite(path))?;
    if busy != 0 {
        return Err(FileError::Sqlite { path: path.display().to_string(), cause: "checkpoint busy".into() });
    }
    Ok(())
}
