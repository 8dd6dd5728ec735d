//! What is derived from the log in memory: each case's version and event positions, the inbox
//! and timer indexes, caught up with other processes' appends.

use super::*;

/// The inbox and timer indexes of the file, derived from its events, and how far into the
/// event log (by `pos`) they are. Every commit of this store applies its own appends before
/// it replies; whatever another process (or another store on the same file) appended is read
/// from the log and applied first, before each batch and each read of the indexes. The log
/// only grows and `pos` is assigned under the file's write lock, so any snapshot of it is a
/// prefix in `pos` order and every event is applied exactly once, in order.
pub(super) struct Projection {
    pub(super) state: Mutex<Derived>,
    /// Whether checkpoints are loaded and written (`ALUR_CHECKPOINT=off`: every open replays
    /// the whole log and none is written, as before there were checkpoints; for comparing).
    pub(super) checkpoints: bool,
}

pub(super) struct Derived {
    pub(super) index: Index,
    /// The events of the cases held here: their positions in the log, in the case's order (so
    /// the case's version is their number). Every running case is here; a case that ended only
    /// until the next checkpoint has written it to `ended_cases` (see `checkpoint.rs`), or
    /// while an append to it needs it.
    pub(super) streams: HashMap<CaseId, Stream, foldhash::fast::RandomState>,
    /// The `pos` of the last event applied.
    pub(super) applied: i64,
    /// Whether `streams` holds every case of the log (the whole log was replayed since the last
    /// checkpoint was written): a case not there then has no events, and `ended_cases` is not
    /// asked.
    pub(super) whole: bool,
    /// The `pos` of the checkpoint loaded or last written (0: none).
    pub(super) checkpointed: i64,
}

impl Default for Derived {
    fn default() -> Self {
        Derived { index: Index::default(), streams: HashMap::default(), applied: 0, whole: true, checkpointed: 0 }
    }
}

/// A case's events held in memory.
#[derive(Default)]
pub(super) struct Stream {
    pub(super) positions: Vec<i64>,
    /// The case ended (ended, withdrawn, cancelled): the next checkpoint moves it out.
    pub(super) ended: bool,
    /// Changed since it was last written to `ended_cases`.
    pub(super) dirty: bool,
}

impl Derived {
    /// A case's stream, read from `ended_cases` into memory when it is not here (an append to a
    /// case that ended, or a catch-up reading another process's). `None` when the case has no
    /// events.
    pub(super) fn stream(&mut self, conn: &Connection, case: CaseId) -> Result<Option<&mut Stream>, StoreError> {
        if !self.streams.contains_key(&case) {
            if self.whole {
                return Ok(None);
            }
            let Some(positions) = checkpoint::ended_positions(conn, case)? else { return Ok(None) };
            self.streams.insert(case, Stream { positions, ended: true, dirty: false });
        }
        Ok(self.streams.get_mut(&case))
    }

    pub(super) fn version(&mut self, conn: &Connection, case: CaseId) -> Result<u64, StoreError> {
        Ok(self.stream(conn, case)?.map_or(0, |s| s.positions.len() as u64))
    }
}

/// The positions in the log of a case's events after the first `after`: from memory, or for a
/// case that ended before the last checkpoint from `ended_cases` (without keeping them).
/// `None` when the log holds no event of the case (it never was, or it was archived).
pub(super) fn positions(
    conn: &Connection,
    projection: &Projection,
    case: CaseId,
    after: u64,
) -> Result<Option<Vec<i64>>, StoreError> {
    let from = |at: &[i64]| at[usize::try_from(after).unwrap_or(usize::MAX).min(at.len())..].to_vec();
    {
        let derived = projection.lock();
        match derived.streams.get(&case) {
            Some(stream) => return Ok(Some(from(&stream.positions))),
            None if derived.whole => return Ok(None),
            None => {}
        }
    }
    // Written to `ended_cases` before it left memory, so a case missing there is in the table.
    Ok(checkpoint::ended_positions(conn, case)?.map(|at| from(&at)))
}

impl Projection {
    /// The derived indexes. A panic while they were being changed (a bug) may have left them
    /// half-changed: they are then dropped and rebuilt from the log by the next catch-up.
    pub(super) fn lock(&self) -> MutexGuard<'_, Derived> {
        self.state.lock().unwrap_or_else(|poisoned| {
            let mut derived = poisoned.into_inner();
            *derived = Derived::default();
            self.state.clear_poison();
            derived
        })
    }
}

/// Events read from the log per round of a catch-up (bounds the memory a replay of a large
/// file takes).
pub(super) const CATCH_UP_CHUNK: i64 = 4096;

/// Applies to the projection every event in the log past what it holds, in log order. The SOP
/// of a case (which an opening task's inbox entry carries) comes from its first event when that
/// is among those read, else from the case's open tasks, else from the `cases` table.
pub(super) fn catch_up(conn: &Connection, projection: &Projection) -> Result<(), StoreError> {
    // Most of the time there is nothing to read: asked without a parameter, since a statement
    // whose range parameter changes value is compiled again on every run.
    if log_end(conn)? <= projection.lock().applied {
        return Ok(());
    }
    loop {
        let from = projection.lock().applied;
        let rows = {
            let mut stmt = conn
                .prepare_cached(
                    r#"SELECT pos, case_id, seq, at, "by", body FROM events WHERE pos > ?1 ORDER BY pos LIMIT ?2"#,
                )
                .map_err(backend("reading the event log"))?;
            stmt.query_map(params![from, CATCH_UP_CHUNK], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(backend("reading the event log"))?
        };
        let Some(last) = rows.last().map(|r| r.0) else { return Ok(()) };
        let mut events = Vec::with_capacity(rows.len());
        for (pos, case, seq, at, by, body) in rows {
            events.push((pos, decode_event(parse_case(&case)?, seq, &at, by, &body)?));
        }
        let mut started: HashMap<CaseId, Name> = HashMap::new();
        let mut derived = projection.lock();
        for (pos, recorded) in &events {
            if *pos <= derived.applied {
                // Applied meanwhile (by this store's own commit, or a read that caught up first).
                continue;
            }
            // The case's stream: a new case's, or the one held (in memory, or in `ended_cases`
            // for a case that ended before the checkpoint). Written there by a checkpoint past
            // this event (another process's, later than what this one loaded), it holds this
            // event already.
            let seq = recorded.seq;
            let ended = matches!(
                recorded.event,
                Event::CaseEnded { .. } | Event::CaseWithdrawn { .. } | Event::CaseCancelled { .. }
            );
            let stream = match derived.stream(conn, recorded.case)? {
                Some(stream) => Some(stream),
                None if seq == 1 => Some(derived.streams.entry(recorded.case).or_default()),
                None => None,
            };
            let fits = match stream {
                Some(stream) if stream.positions.len() as u64 + 1 == seq => {
                    stream.positions.push(*pos);
                    stream.ended |= ended;
                    stream.dirty = true;
                    true
                }
                Some(stream) => stream.positions.get((seq as usize).wrapping_sub(1)) == Some(pos),
                None => false,
            };
            if !fits && derived.whole {
                // The log itself skips a number (it was not written by this store): kept as
                // it is, as before there were checkpoints.
                derived.streams.entry(recorded.case).or_default().positions.push(*pos);
            } else if !fits {
                // The checkpoint does not agree with the log (a case it should hold is not there):
                // nothing it says can be trusted, and the whole log is replayed instead.
                tracing::warn!(
                    case = %recorded.case,
                    seq,
                    pos,
                    "sqlite store: the checkpoint disagrees with the event log; replaying the whole log \
                     (titik simpan tidak cocok dengan log peristiwa; seluruh log dibaca ulang)"
                );
                *derived = Derived::default();
                drop(derived);
                return catch_up(conn, projection);
            }
            let sop = match &recorded.event {
                Event::CaseStarted { sop, .. } => {
                    let sop: Name = sop.as_str().into();
                    started.insert(recorded.case, sop);
                    sop
                }
                Event::TaskOpened { .. } | Event::TaskResumed { .. } => match started.get(&recorded.case) {
                    Some(sop) => *sop,
                    None => match derived.index.sop_of(recorded.case) {
                        Some(sop) => *sop,
                        None => case_sop(conn, recorded.case)?.into(),
                    },
                },
                // Only an opening (or resuming) task needs it.
                _ => "".into(),
            };
            let index = &mut derived.index;
            for_each_index_change(&sop, std::slice::from_ref(recorded), |change| index.apply(change, &mut |_, _| {}));
            derived.applied = *pos;
        }
        derived.applied = derived.applied.max(last);
        if (events.len() as i64) < CATCH_UP_CHUNK {
            return Ok(());
        }
    }
}

pub(super) fn case_sop(conn: &Connection, case: CaseId) -> Result<String, StoreError> {
    conn.prepare_cached("SELECT sop FROM cases WHERE case_id = ?1")
        .and_then(|mut s| s.query_row([case.to_string()], |row| row.get(0)))
        .map_err(backend("reading a case's SOP"))
}

/// An event as the log holds it.
pub(super) fn decode_event(case: CaseId, seq: i64, at: &str, by: String, body: &str) -> Result<Recorded, StoreError> {
    Ok(Recorded {
        case,
        seq: u64::try_from(seq).map_err(corrupt("reading a seq"))?,
        at: parse_time(at)?,
        by: by.into(),
        event: serde_json::from_str(body).map_err(corrupt("decoding an event"))?,
    })
}

/// Writes a checkpoint when the projection is `behind` events or more past the last one. Only
/// how long the next open takes depends on it: a failure is logged, nothing else.
pub(super) fn checkpoint_if_behind(conn: &Connection, projection: &Projection, behind: i64) {
    let due = projection.checkpoints && {
        let derived = projection.lock();
        derived.applied - derived.checkpointed >= behind.max(1)
    };
    if due {
        if let Err(error) = checkpoint::write(conn, projection) {
            tracing::warn!(%error, "sqlite store: writing a checkpoint (menulis titik simpan)");
        }
    }
}
