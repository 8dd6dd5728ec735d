//! The archive of ended cases: a second SQLite file beside the database (`<db>.archive`) that
//! takes the events of cases that ended before a date, so the live file holds the running work
//! and the recent past. An archived case reads as before: the store answers its events from the
//! archive when the live log has none (`events_after`), so the case page, the API and `alur case
//! show` see the same case. Documents stay where they are (files named by their hash); the audit
//! log (its own file) is not touched.
//!
//! A move is two commits, the archive's first: a crash between them leaves the case in both
//! files, where the live one is read, and the next move finishes it (the archive's rows are
//! inserted only if missing, and must equal the live ones). Only cases whose positions a
//! checkpoint has written to `ended_cases` and that this store does not hold in memory are
//! moved, under the write lock, so no append or checkpoint of this store runs beside it; a
//! store in another process that still holds such a case finds its rows gone and reads the
//! archive instead.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{backend, checkpoint, connect, decode_event, parse_case, parse_time, time_text, Projection};
use crate::runtime::event::{Event, Recorded};
use crate::runtime::store::{Archived, StoreError};
use crate::runtime::CaseId;

/// Cases moved per round: the write lock is let go between rounds, so commands wait at most
/// one round.
const ROUND: usize = 256;

const SCHEMA: &str = r#"
    CREATE TABLE IF NOT EXISTS archived_cases (
        case_id TEXT NOT NULL PRIMARY KEY,
        sop TEXT NOT NULL,
        ended_at TEXT NOT NULL,
        archived_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS archived_events (
        case_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        "by" TEXT NOT NULL,
        -- The Event as JSON, as the live log held it.
        body TEXT NOT NULL,
        PRIMARY KEY (case_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS archived_cases_by_end ON archived_cases (ended_at);
"#;

/// The archive file of the database at `db`.
pub fn archive_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".archive");
    PathBuf::from(name)
}

/// The archive, opened when first needed (a database that was never archived has no file).
pub(super) struct Archive {
    path: PathBuf,
    conn: std::sync::Mutex<Option<Connection>>,
}

impl Archive {
    pub(super) fn beside(db: &Path) -> Archive {
        Archive { path: archive_path(db), conn: std::sync::Mutex::new(None) }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `read` on the archive's connection, opened when first needed; `None` when there
    /// is no archive file (yet: another process may write one later).
    fn reading<T>(&self, read: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<Option<T>, StoreError> {
        let mut held = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if held.is_none() {
            if !self.path.exists() {
                return Ok(None);
            }
            *held = Some(open(&self.path)?);
        }
        held.as_ref().map(read).transpose()
    }

    /// The events of an archived case after its first `after` (none when it is not archived).
    pub(super) fn events_after(&self, case: CaseId, after: u64) -> Result<Vec<Recorded>, StoreError> {
        Ok(self.reading(|conn| read_case(conn, case, after))?.unwrap_or_default())
    }
}

impl Archive {
    /// Every archived case, oldest end first.
    pub(super) fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        let ids = self.reading(|conn| {
            let ids: Vec<String> = conn
                .prepare_cached("SELECT case_id FROM archived_cases ORDER BY ended_at, case_id")
                .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
                .map_err(backend("reading the archived cases"))?;
            ids.iter().map(|id| parse_case(id)).collect()
        })?;
        Ok(ids.unwrap_or_default())
    }
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = connect(path)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(backend("setting the archive's journal mode"))?;
    conn.execute_batch(SCHEMA).map_err(backend("creating the archive's tables"))?;
    Ok(conn)
}

fn read_case(conn: &Connection, case: CaseId, after: u64) -> Result<Vec<Recorded>, StoreError> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached(
            r#"SELECT seq, at, "by", body FROM archived_events WHERE case_id = ?1 AND seq > ?2 ORDER BY seq"#,
        )
        .map_err(backend("reading the archive"))?;
    let rows = stmt
        .query_map(params![case.to_string(), after], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, String>(3)?))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(backend("reading the archive"))?;
    rows.into_iter().map(|(seq, at, by, body)| decode_event(case, seq, &at, by, &body)).collect()
}

/// One case to move: its rows as the live log holds them.
struct Moving {
    case: CaseId,
    sop: String,
    ended_at: String,
    positions: Vec<i64>,
    rows: Vec<super::EventRow>,
}

/// Moves the cases that ended before `before` from the live file (`live`, the write
/// connection, held) into the archive at `path`, one round of at most [`ROUND`] cases; answers
/// what the round moved and the last case id looked at (`None`: nothing left to look at).
pub(super) fn move_round(
    live: &Connection,
    projection: &Projection,
    path: &Path,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
    from: &str,
) -> Result<(Archived, Option<String>), StoreError> {
    super::catch_up(live, projection)?;
    let candidates: Vec<(String, Vec<u8>)> = live
        .prepare_cached("SELECT case_id, positions FROM ended_cases WHERE case_id > ?1 ORDER BY case_id LIMIT ?2")
        .and_then(|mut s| {
            s.query_map(params![from, ROUND as i64], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<_, _>>()
        })
        .map_err(backend("reading the ended cases"))?;
    let Some(last) = candidates.last().map(|(id, _)| id.clone()) else { return Ok((Archived::default(), None)) };
    let mut done = Archived::default();
    let mut moving = Vec::new();
    // The log's last row stays: a new event's `pos` follows the largest one left, and every
    // store reading the log relies on never seeing a `pos` it has passed.
    let end = super::log_end(live)?;
    {
        let derived = projection.lock();
        for (id, bytes) in candidates {
            let case = parse_case(&id)?;
            if derived.streams.contains_key(&case) {
                done.kept += 1;
                continue;
            }
            let positions = checkpoint::decode_positions(case, &bytes)?;
            if positions.contains(&end) {
                done.kept += 1;
                continue;
            }
            match read_live(live, case, &positions)? {
                Some(found) if found.ended_at.as_str() < time_text(before).as_str() => moving.push(found),
                _ => done.kept += 1,
            }
        }
    }
    if moving.is_empty() {
        return Ok((done, Some(last)));
    }
    // The archive first, durably: a crash after it leaves the cases in both files.
    let mut archive = open(path)?;
    let tx = archive.transaction().map_err(backend("starting to write the archive"))?;
    for m in &moving {
        write_archived(&tx, m, now)?;
    }
    tx.commit().map_err(backend("committing the archive"))?;
    drop(archive);
    live.execute_batch("BEGIN IMMEDIATE").map_err(backend("starting to remove archived cases"))?;
    let removed = remove_live(live, &moving);
    let ended = match removed {
        Ok(()) => live.execute_batch("COMMIT").map_err(backend("removing archived cases")),
        Err(e) => {
            let _ = live.execute_batch("ROLLBACK");
            Err(e)
        }
    };
    ended?;
    for m in &moving {
        done.cases += 1;
        done.events += m.rows.len() as u64;
    }
    Ok((done, Some(last)))
}

/// A case's rows from the live log, if its last event ends it.
fn read_live(live: &Connection, case: CaseId, positions: &[i64]) -> Result<Option<Moving>, StoreError> {
    // Gone: archived meanwhile by another process.
    let Some(rows) = super::rows_at(live, case, positions)? else { return Ok(None) };
    let Some(last) = rows.last() else { return Ok(None) };
    let at = last.at.clone();
    let last = decode_event(case, last.seq, &last.at, last.by.clone(), &last.body)?;
    if !matches!(last.event, Event::CaseEnded { .. } | Event::CaseWithdrawn { .. } | Event::CaseCancelled { .. }) {
        return Ok(None);
    }
    parse_time(&at)?;
    let sop: String = live
        .prepare_cached("SELECT sop FROM cases WHERE case_id = ?1")
        .and_then(|mut s| s.query_row([case.to_string()], |row| row.get(0)).optional())
        .map_err(backend("reading a case's SOP"))?
        .unwrap_or_default();
    Ok(Some(Moving { case, sop, ended_at: at, positions: positions.to_vec(), rows }))
}

fn write_archived(tx: &Connection, m: &Moving, now: DateTime<Utc>) -> Result<(), StoreError> {
    let id = m.case.to_string();
    let mut insert = tx
        .prepare_cached(
            r#"INSERT INTO archived_events (case_id, seq, at, "by", body) VALUES (?1, ?2, ?3, ?4, ?5)
               ON CONFLICT (case_id, seq) DO NOTHING"#,
        )
        .map_err(backend("writing the archive"))?;
    let mut same = tx
        .prepare_cached(r#"SELECT at, "by", body FROM archived_events WHERE case_id = ?1 AND seq = ?2"#)
        .map_err(backend("writing the archive"))?;
    for super::EventRow { seq, at, by, body } in &m.rows {
        if insert.execute(params![id, seq, at, by, body]).map_err(backend("writing the archive"))? == 0 {
            // There from an earlier move cut short: it must be the same event.
            let held: (String, String, String) = same
                .query_row(params![id, seq], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .map_err(backend("reading the archive"))?;
            if (&held.0, &held.1, &held.2) != (at, by, body) {
                return Err(StoreError::Corrupt(format!(
                    "sqlite store: event {seq} of case {id} differs between the database and its archive; \
                     compare them before archiving again"
                )));
            }
        }
    }
    tx.prepare_cached(
        "INSERT INTO archived_cases (case_id, sop, ended_at, archived_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (case_id) DO NOTHING",
    )
    .and_then(|mut s| s.execute(params![id, m.sop, m.ended_at, time_text(now)]))
    .map_err(backend("writing the archive"))?;
    Ok(())
}

fn remove_live(live: &Connection, moving: &[Moving]) -> Result<(), StoreError> {
    let mut event = live.prepare_cached("DELETE FROM events WHERE pos = ?1").map_err(backend("removing events"))?;
    let mut ended =
        live.prepare_cached("DELETE FROM ended_cases WHERE case_id = ?1").map_err(backend("removing a case"))?;
    let mut case = live.prepare_cached("DELETE FROM cases WHERE case_id = ?1").map_err(backend("removing a case"))?;
    for m in moving {
        for pos in &m.positions {
            event.execute([pos]).map_err(backend("removing events"))?;
        }
        let id = m.case.to_string();
        ended.execute([&id]).map_err(backend("removing a case"))?;
        case.execute([&id]).map_err(backend("removing a case"))?;
    }
    Ok(())
}
