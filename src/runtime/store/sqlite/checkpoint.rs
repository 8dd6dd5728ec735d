//! The SQLite store's derived state saved at a known position of the event log, so opening the
//! file costs the open work, not the whole history (issue 28).
//!
//! A checkpoint is one row of `checkpoint`: the `pos` of the last event it includes, and for
//! every running case its events' positions, its open tasks and its deadlines. The positions of
//! the cases that ended before it are rows of `ended_cases`, read only when such a case is
//! read or appended to; they never enter memory at open. Opening loads the checkpoint and
//! replays the log after its `pos` (what was committed since, by this process or another, is
//! there, so a crash between a commit and the next checkpoint loses nothing); a checkpoint
//! that is missing, of another format, damaged (its SHA-256 does not match) or ahead of the
//! log is ignored and the whole log replayed, as before there were checkpoints, with a line in
//! the log saying why.
//!
//! Written by the committer, under the file's write lock, between two batches: every
//! [`CHECKPOINT_EVERY`] events, after an open that replayed that many, and when the store is
//! closed. The row and the ended cases' streams are committed together; only then do those
//! streams leave memory, so a read that misses them in memory finds them in the table.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{backend, log_end, time_text, Projection};
use crate::runtime::store::{IndexChange, OpenTask, StoreError, Timer};
use crate::runtime::{CaseId, TaskNo};

/// Events past the last checkpoint after which the committer writes the next one (and an open
/// that replayed as many writes one at once). About a tenth of a second of replay.
pub(super) const CHECKPOINT_EVERY: i64 = 20_000;

/// Events past the last checkpoint after which closing the store writes one.
pub(super) const CHECKPOINT_AT_CLOSE: i64 = 1_000;

/// The layout of `checkpoint.body`; a row of another is ignored (the whole log is replayed and
/// the next checkpoint replaces it).
const FORMAT: i64 = 1;

#[derive(Serialize, Deserialize)]
struct Saved {
    cases: Vec<SavedCase>,
}

/// A running case as the checkpoint holds it.
#[derive(Serialize, Deserialize)]
struct SavedCase {
    case: CaseId,
    positions: Vec<i64>,
    /// Ended, with tasks open again (appended after its end).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    ended: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    open: Vec<OpenTask>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    timers: Vec<(TaskNo, DateTime<Utc>)>,
}

fn encode_positions(positions: &[i64]) -> Vec<u8> {
    positions.iter().flat_map(|p| p.to_le_bytes()).collect()
}

pub(super) fn decode_positions(case: CaseId, bytes: &[u8]) -> Result<Vec<i64>, StoreError> {
    if bytes.len() % 8 != 0 {
        return Err(StoreError::Corrupt(format!(
            "sqlite store: the saved event positions of case {case} are damaged ({} bytes, not a multiple of 8); \
             delete its row of `ended_cases` and the `checkpoint` row to have them rebuilt from the log",
            bytes.len()
        )));
    }
    Ok(bytes.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default())).collect())
}

/// The positions of a case that ended before the last checkpoint, if it did.
pub(super) fn ended_positions(conn: &Connection, case: CaseId) -> Result<Option<Vec<i64>>, StoreError> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT positions FROM ended_cases WHERE case_id = ?1")
        .and_then(|mut s| s.query_row([case.to_string()], |row| row.get(0)).optional())
        .map_err(backend("reading an ended case's events"))?;
    bytes.map(|b| decode_positions(case, &b)).transpose()
}

/// Why a checkpoint row is not used.
fn unusable(pos: i64, format: i64, sha256: &str, body: &[u8], end: i64) -> Option<String> {
    if format != FORMAT {
        return Some(format!("it is of format {format}, this alur reads {FORMAT}"));
    }
    if crate::runtime::media::sha256_hex(body) != sha256 {
        return Some("its contents do not match their SHA-256 (damaged)".into());
    }
    if pos > end {
        return Some(format!("it is at event {pos}, past the end of the log ({end})"));
    }
    None
}

/// What opening made of the checkpoint.
#[derive(Debug, PartialEq)]
pub(super) enum Loaded {
    /// There is none: the whole log is replayed.
    None,
    /// Loaded: the log after it is replayed.
    Used,
    /// Not used, for the reason given (also in the log): the whole log is replayed.
    Ignored(String),
}

/// Loads the checkpoint into an empty projection. Run inside the read transaction the
/// catch-up after it shares, so both see one state of the file.
pub(super) fn load(conn: &Connection, projection: &Projection) -> Result<Loaded, StoreError> {
    let row: Option<(i64, i64, String, Vec<u8>)> = conn
        .query_row("SELECT pos, format, sha256, body FROM checkpoint WHERE id = 1", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()
        .map_err(backend("reading the checkpoint"))?;
    let Some((pos, format, sha256, body)) = row else { return Ok(Loaded::None) };
    let ignored = |why: String| {
        tracing::warn!(
            pos,
            "sqlite store: the checkpoint is not used ({why}); replaying the whole log \
             (titik simpan tidak dipakai; seluruh log dibaca ulang)"
        );
        Ok(Loaded::Ignored(why))
    };
    if let Some(why) = unusable(pos, format, &sha256, &body, log_end(conn)?) {
        return ignored(why);
    }
    let saved: Saved = match serde_json::from_slice(&body) {
        Ok(saved) => saved,
        Err(error) => return ignored(format!("it cannot be read: {error}")),
    };
    if let Some(bad) = saved.cases.iter().find(|c| c.positions.is_empty() || c.positions.iter().any(|p| *p > pos)) {
        return ignored(format!("case {} has events past it", bad.case));
    }
    let mut derived = projection.lock();
    *derived = super::Derived::default();
    for case in saved.cases {
        for task in case.open {
            derived.index.apply(IndexChange::OpenTask(task), &mut |_, _| {});
        }
        for (task, due) in case.timers {
            derived.index.apply(IndexChange::SetTimer(Timer { case: case.case, task, due }), &mut |_, _| {});
        }
        // Dirty: an ended one's row in `ended_cases`, if any, is older.
        let stream = super::Stream { positions: case.positions, ended: case.ended, dirty: true };
        derived.streams.insert(case.case, stream);
    }
    derived.applied = pos;
    derived.checkpointed = pos;
    derived.whole = false;
    Ok(Loaded::Used)
}

/// Writes a checkpoint of the projection, brought up to the end of the log under the write
/// lock, then lets the ended cases it wrote out leave memory. `conn` is the writer's, with no
/// transaction open.
pub(super) fn write(conn: &Connection, projection: &Projection) -> Result<(), StoreError> {
    super::exec_cached(conn, "BEGIN IMMEDIATE").map_err(backend("starting a checkpoint"))?;
    let written = write_in_transaction(conn, projection);
    let written = written.and_then(|out| {
        super::exec_cached(conn, "COMMIT").map_err(backend("committing a checkpoint"))?;
        Ok(out)
    });
    let (pos, out) = match written {
        Ok(done) => done,
        Err(error) => {
            let _ = super::exec_cached(conn, "ROLLBACK");
            return Err(error);
        }
    };
    // Written: the ended cases may leave memory, unless something was appended to one since.
    let mut derived = projection.lock();
    for (case, len) in out {
        let indexed = !derived.index.open_of(case).is_empty() || !derived.index.timers_of(case).is_empty();
        if !indexed && derived.streams.get(&case).is_some_and(|s| s.ended && s.positions.len() == len) {
            derived.streams.remove(&case);
        }
    }
    derived.whole = false;
    derived.checkpointed = derived.checkpointed.max(pos);
    Ok(())
}

/// The ended cases written out, with the number of their events then.
type WrittenOut = Vec<(CaseId, usize)>;

fn write_in_transaction(conn: &Connection, projection: &Projection) -> Result<(i64, WrittenOut), StoreError> {
    super::catch_up(conn, projection)?;
    let (pos, whole, body, ended) = {
        let derived = projection.lock();
        let mut running = Vec::new();
        let mut ended = Vec::new();
        // A stream stays dirty until it leaves memory: a checkpoint that fails to commit has
        // written nothing.
        for (case, stream) in derived.streams.iter() {
            // A case that ended but has tasks open again (appended after its end) stays with
            // the running ones: the checkpoint holds its index entry.
            let indexed = !derived.index.open_of(*case).is_empty() || !derived.index.timers_of(*case).is_empty();
            if stream.ended && !indexed {
                ended.push((*case, stream.dirty.then(|| encode_positions(&stream.positions)), stream.positions.len()));
            } else {
                running.push(*case);
            }
        }
        running.sort_unstable();
        let cases = running
            .into_iter()
            .map(|case| SavedCase {
                case,
                positions: derived.streams.get(&case).map(|s| s.positions.clone()).unwrap_or_default(),
                ended: derived.streams.get(&case).is_some_and(|s| s.ended),
                open: derived.index.open_of(case).to_vec(),
                timers: derived.index.timers_of(case).to_vec(),
            })
            .collect();
        let body = serde_json::to_vec(&Saved { cases }).map_err(backend("serializing the checkpoint"))?;
        (derived.applied, derived.whole, body, ended)
    };
    if whole {
        // Every case is in memory: the table is written anew from it.
        conn.execute("DELETE FROM ended_cases", []).map_err(backend("clearing the ended cases"))?;
    }
    let mut out = Vec::with_capacity(ended.len());
    {
        let mut insert = conn
            .prepare_cached("INSERT OR REPLACE INTO ended_cases (case_id, positions) VALUES (?1, ?2)")
            .map_err(backend("writing an ended case"))?;
        for (case, bytes, len) in ended {
            if let Some(bytes) = bytes {
                insert.execute(params![case.to_string(), bytes]).map_err(backend("writing an ended case"))?;
            }
            out.push((case, len));
        }
    }
    let sha256 = crate::runtime::media::sha256_hex(&body);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO checkpoint (id, pos, format, sha256, written_at, body) VALUES (1, ?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute(params![pos, FORMAT, sha256, time_text(Utc::now()), body]))
    .map_err(backend("writing the checkpoint"))?;
    Ok((pos, out))
}
