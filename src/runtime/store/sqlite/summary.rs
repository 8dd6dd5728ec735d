//! The SQLite store's case summaries and report tallies (see `store::summary`): tables written
//! in the append's transaction, and settles committed with the appends' batches (no commit of
//! their own).

use async_trait::async_trait;
use rusqlite::{params, Connection};

use super::{backend, corrupt, parse_case, parse_time, time_text, to_i64, Request, SqliteStore};
use crate::runtime::event::Recorded;
use crate::runtime::store::summary::{summary_change, CaseSummaries, CaseSummary, SummaryFilter, Tally, Unsettled};
use crate::runtime::store::StoreError;

/// Migration 6: the tables, and every case already in the log summarized from its first and
/// closing events. Every case starts unsettled (first 1, last 0: no append matches it), so the
/// first `Engine::recover` after the migration re-runs its follow-ups and counts the closed
/// cases into the tallies, once.
pub(super) const MIGRATION: &str = r#"
    CREATE TABLE case_summaries (
        case_id TEXT NOT NULL PRIMARY KEY,
        sop TEXT NOT NULL,
        version INTEGER NOT NULL,
        applicant TEXT NOT NULL,
        status TEXT NOT NULL,
        started TEXT NOT NULL,
        closed TEXT,
        -- The end a case that ended reached.
        outcome TEXT,
        -- The first and last seq of the events whose follow-up is not settled (NULL: none).
        pending_first INTEGER,
        pending_last INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX case_summaries_by_status ON case_summaries (status, case_id);
    CREATE INDEX case_summaries_by_sop ON case_summaries (sop, case_id);
    CREATE INDEX case_summaries_counts ON case_summaries (sop, status);
    CREATE INDEX case_summaries_by_applicant ON case_summaries (applicant, case_id);
    CREATE INDEX case_summaries_unsettled ON case_summaries (pending_first) WHERE pending_first IS NOT NULL;
    CREATE TABLE report_tallies (
        sop TEXT NOT NULL,
        by_actor INTEGER NOT NULL,
        key TEXT NOT NULL,
        open INTEGER NOT NULL,
        completed INTEGER NOT NULL,
        overdue INTEGER NOT NULL,
        minutes INTEGER NOT NULL,
        standard INTEGER NOT NULL,
        standard_count INTEGER NOT NULL,
        PRIMARY KEY (sop, by_actor, key)
    ) WITHOUT ROWID;
    INSERT INTO case_summaries (case_id, sop, version, applicant, status, started, pending_first, pending_last)
        SELECT case_id, json_extract(body, '$.sop'), json_extract(body, '$.version'),
               json_extract(body, '$.applicant'), 'active', at, 1, 0
        FROM events WHERE seq = 1 AND body LIKE '{"type":"case_started"%';
    UPDATE case_summaries SET status = closing.status, closed = closing.at, outcome = closing.outcome
        FROM (SELECT case_id, at, json_extract(body, '$.end') AS outcome,
                     CASE WHEN body LIKE '{"type":"case_ended"%' THEN 'ended'
                          WHEN body LIKE '{"type":"case_withdrawn"%' THEN 'withdrawn'
                          ELSE 'cancelled' END AS status
              FROM events
              WHERE body LIKE '{"type":"case_ended"%' OR body LIKE '{"type":"case_withdrawn"%'
                 OR body LIKE '{"type":"case_cancelled"%') AS closing
        WHERE closing.case_id = case_summaries.case_id;
"#;

/// The summary change of an append, in its transaction (nothing for most appends).
pub(super) fn write(conn: &Connection, id: &str, events: &[Recorded]) -> Result<(), StoreError> {
    let change = summary_change(events);
    if let Some(s) = &change.started {
        conn.prepare_cached(
            "INSERT INTO case_summaries (case_id, sop, version, applicant, status, started) \
             VALUES (?1, ?2, ?3, ?4, 'active', ?5)",
        )
        .and_then(|mut st| st.execute(params![id, s.sop, s.version, s.applicant, time_text(s.at)]))
        .map_err(backend("summarizing a new case"))?;
    }
    if let Some((status, at, end)) = change.closed {
        conn.prepare_cached("UPDATE case_summaries SET status = ?2, closed = ?3, outcome = ?4 WHERE case_id = ?1")
            .and_then(|mut st| st.execute(params![id, status, time_text(at), end]))
            .map_err(backend("summarizing a closed case"))?;
    }
    if let Some((first, last)) = change.pending {
        let (first, last) = (to_i64(first, "seq")?, to_i64(last, "seq")?);
        conn.prepare_cached(
            "UPDATE case_summaries SET pending_first = COALESCE(pending_first, ?2), pending_last = ?3 \
             WHERE case_id = ?1",
        )
        .and_then(|mut st| st.execute(params![id, first, last]))
        .map_err(backend("marking a case unsettled"))?;
    }
    Ok(())
}

/// The tallies of a batch's settles, summed: written once per key before the batch commits
/// (cases of one SOP share their keys, so a batch of many closes writes each row once, where a
/// write per case and key was as many rows again as the cases' events).
#[derive(Default)]
pub(super) struct BatchTallies(std::collections::BTreeMap<(String, bool, String), Tally>);

impl BatchTallies {
    fn add(&mut self, tallies: &[Tally]) {
        for t in tallies {
            self.0
                .entry((t.sop.clone(), t.by_actor, t.key.clone()))
                .or_insert_with(|| Tally {
                    sop: t.sop.clone(),
                    by_actor: t.by_actor,
                    key: t.key.clone(),
                    ..Tally::default()
                })
                .add(t);
        }
    }

    /// Adds the sums to the stored tallies, in the batch's transaction.
    pub(super) fn write(&mut self, conn: &Connection) -> Result<(), StoreError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut add = conn
            .prepare_cached(
                "INSERT INTO report_tallies (sop, by_actor, key, open, completed, overdue, minutes, standard, standard_count) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (sop, by_actor, key) DO UPDATE SET open = open + excluded.open, \
                 completed = completed + excluded.completed, overdue = overdue + excluded.overdue, \
                 minutes = minutes + excluded.minutes, standard = standard + excluded.standard, \
                 standard_count = standard_count + excluded.standard_count",
            )
            .map_err(backend("preparing the tallies"))?;
        for t in std::mem::take(&mut self.0).into_values() {
            add.execute(params![
                t.sop,
                t.by_actor,
                t.key,
                to_i64(t.open, "count")?,
                to_i64(t.completed, "count")?,
                to_i64(t.overdue, "count")?,
                to_i64(t.minutes, "minutes")?,
                to_i64(t.standard, "minutes")?,
                to_i64(t.standard_count, "count")?
            ])
            .map_err(backend("adding to the tallies"))?;
        }
        Ok(())
    }
}

/// A settle, in the batch's transaction: the case's marker cleared now, its tallies added to
/// the batch's sums (written before the commit, see [`BatchTallies`]).
pub(super) fn settle(
    conn: &Connection,
    u: &Unsettled,
    tallies: &[Tally],
    batch: &mut BatchTallies,
) -> Result<bool, StoreError> {
    let (first, last) = (to_i64(u.first, "seq")?, to_i64(u.last, "seq")?);
    let cleared = conn
        .prepare_cached(
            "UPDATE case_summaries SET pending_first = NULL, pending_last = NULL \
             WHERE case_id = ?1 AND pending_first = ?2 AND pending_last = ?3",
        )
        .and_then(|mut st| st.execute(params![u.case.to_string(), first, last]))
        .map_err(backend("settling a case"))?;
    if cleared == 0 {
        return Ok(false);
    }
    batch.add(tallies);
    Ok(true)
}

type SummaryRow = (String, String, i64, String, String, String, Option<String>, Option<String>);

fn summary_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<SummaryRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?))
}

fn count(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(corrupt("reading a tally"))
}

#[async_trait]
impl CaseSummaries for SqliteStore {
    async fn case_summaries(&self, filter: &SummaryFilter) -> Result<Vec<CaseSummary>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| {
            // One statement per set of filters, so each is prepared once and uses its index.
            let mut sql = String::from(
                "SELECT case_id, sop, version, applicant, status, started, closed, outcome FROM case_summaries WHERE 1",
            );
            let mut args: Vec<String> = Vec::new();
            for (column, value) in [
                ("sop", &filter.sop),
                ("status", &filter.status),
                ("applicant", &filter.applicant),
                ("case_id <", &filter.before.map(|b| b.to_string())),
            ] {
                if let Some(value) = value {
                    args.push(value.clone());
                    let op = if column.ends_with('<') { "" } else { " =" };
                    sql.push_str(&format!(" AND {column}{op} ?{}", args.len()));
                }
            }
            sql.push_str(" ORDER BY case_id DESC LIMIT ?");
            sql.push_str(&(args.len() + 1).to_string());
            let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
            let mut stmt = conn.prepare_cached(&sql).map_err(backend("listing cases"))?;
            let mut bound: Vec<&dyn rusqlite::ToSql> = args.iter().map(|a| a as &dyn rusqlite::ToSql).collect();
            bound.push(&limit);
            let rows = stmt
                .query_map(bound.as_slice(), summary_of)
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(backend("listing cases"))?;
            rows.into_iter()
                .map(|(case, sop, version, applicant, status, started, closed, end)| {
                    Ok(CaseSummary {
                        case: parse_case(&case)?,
                        sop,
                        version: u32::try_from(version).map_err(corrupt("reading a case's version"))?,
                        applicant,
                        status,
                        started: parse_time(&started)?,
                        closed: closed.as_deref().map(parse_time).transpose()?,
                        end,
                    })
                })
                .collect()
        })
        .await
    }

    async fn unsettled(&self) -> Result<Vec<Unsettled>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT case_id, pending_first, pending_last FROM case_summaries \
                     WHERE pending_first IS NOT NULL ORDER BY case_id",
                )
                .map_err(backend("listing unsettled cases"))?;
            let rows = stmt
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?)))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(backend("listing unsettled cases"))?;
            rows.into_iter()
                .map(|(case, first, last)| {
                    Ok(Unsettled { case: parse_case(&case)?, first: count(first)?, last: count(last)? })
                })
                .collect()
        })
        .await
    }

    async fn settle(&self, u: Unsettled, tallies: &[Tally]) -> Result<bool, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.write(Request::Settle { unsettled: u, tallies: tallies.to_vec(), reply }, answer).await
    }

    async fn case_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT sop, status, COUNT(*) FROM case_summaries GROUP BY sop, status ORDER BY sop, status",
                )
                .map_err(backend("counting cases"))?;
            let rows = stmt
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?)))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(backend("counting cases"))?;
            rows.into_iter().map(|(sop, status, n)| Ok((sop, status, count(n)?))).collect()
        })
        .await
    }

    async fn tallies(&self, sop: Option<&str>) -> Result<Vec<Tally>, StoreError> {
        let sop = sop.map(str::to_string);
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT sop, by_actor, key, open, completed, overdue, minutes, standard, standard_count \
                     FROM report_tallies WHERE ?1 IS NULL OR sop = ?1",
                )
                .map_err(backend("reading the tallies"))?;
            let rows = stmt
                .query_map(params![sop], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, bool>(1)?,
                        row.get::<_, String>(2)?,
                        [row.get::<_, i64>(3)?, row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?, row.get(8)?],
                    ))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(backend("reading the tallies"))?;
            rows.into_iter()
                .map(|(sop, by_actor, key, n)| {
                    Ok(Tally {
                        sop,
                        by_actor,
                        key,
                        open: count(n[0])?,
                        completed: count(n[1])?,
                        overdue: count(n[2])?,
                        minutes: count(n[3])?,
                        standard: count(n[4])?,
                        standard_count: count(n[5])?,
                    })
                })
                .collect()
        })
        .await
    }
}
