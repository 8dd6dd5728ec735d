//! The PostgreSQL store's case summaries and report tallies (see `store::summary`).

use async_trait::async_trait;

use super::{corrupt, db, parse_time, to_i64, PostgresStore};
use crate::runtime::store::summary::{CaseSummaries, CaseSummary, SummaryFilter, Tally, Unsettled};
use crate::runtime::store::StoreError;
use crate::runtime::CaseId;

/// Migration 5: the tables, and every case already in the log summarized from its first and
/// closing events. Every case starts unsettled (first 1, last 0: no append matches it), so the
/// first `Engine::recover` after the migration re-runs its follow-ups and counts the closed
/// cases into the tallies, once.
pub(super) const MIGRATION: &str = r#"
    CREATE TABLE case_summaries (
        case_id UUID NOT NULL PRIMARY KEY,
        sop TEXT NOT NULL,
        version BIGINT NOT NULL,
        applicant TEXT NOT NULL,
        status TEXT NOT NULL,
        started TEXT COLLATE "C" NOT NULL,
        closed TEXT COLLATE "C",
        -- The end a case that ended reached.
        outcome TEXT,
        -- The first and last seq of the events whose follow-up is not settled (NULL: none).
        pending_first BIGINT,
        pending_last BIGINT
    );
    CREATE INDEX case_summaries_by_status ON case_summaries (status, case_id);
    CREATE INDEX case_summaries_by_sop ON case_summaries (sop, case_id);
    CREATE INDEX case_summaries_counts ON case_summaries (sop, status);
    CREATE INDEX case_summaries_by_applicant ON case_summaries (applicant, case_id);
    CREATE INDEX case_summaries_unsettled ON case_summaries (pending_first) WHERE pending_first IS NOT NULL;
    CREATE TABLE report_tallies (
        sop TEXT NOT NULL,
        by_actor BOOLEAN NOT NULL,
        key TEXT NOT NULL,
        open BIGINT NOT NULL,
        completed BIGINT NOT NULL,
        overdue BIGINT NOT NULL,
        minutes BIGINT NOT NULL,
        standard BIGINT NOT NULL,
        standard_count BIGINT NOT NULL,
        PRIMARY KEY (sop, by_actor, key)
    );
    INSERT INTO case_summaries (case_id, sop, version, applicant, status, started, pending_first, pending_last)
        SELECT case_id, body::jsonb ->> 'sop', (body::jsonb ->> 'version')::BIGINT, body::jsonb ->> 'applicant',
               'active', at, 1, 0
        FROM events WHERE seq = 1 AND body LIKE '{"type":"case_started"%';
    UPDATE case_summaries s SET status = closing.status, closed = closing.at, outcome = closing.outcome
        FROM (SELECT case_id, at, body::jsonb ->> 'end' AS outcome,
                     CASE WHEN body LIKE '{"type":"case_ended"%' THEN 'ended'
                          WHEN body LIKE '{"type":"case_withdrawn"%' THEN 'withdrawn'
                          ELSE 'cancelled' END AS status
              FROM events
              WHERE body LIKE '{"type":"case_ended"%' OR body LIKE '{"type":"case_withdrawn"%'
                 OR body LIKE '{"type":"case_cancelled"%') AS closing
        WHERE closing.case_id = s.case_id;
"#;

fn count(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(corrupt("reading a count"))
}

#[async_trait]
impl CaseSummaries for PostgresStore {
    async fn case_summaries(&self, filter: &SummaryFilter) -> Result<Vec<CaseSummary>, StoreError> {
        let client = self.client().await?;
        // NULL parameters match everything: one statement for every filter.
        let stmt = client
            .prepare_cached(
                "SELECT case_id, sop, version, applicant, status, started, closed, outcome FROM case_summaries
                 WHERE ($1::TEXT IS NULL OR sop = $1) AND ($2::TEXT IS NULL OR status = $2)
                   AND ($3::TEXT IS NULL OR applicant = $3) AND ($4::UUID IS NULL OR case_id < $4)
                 ORDER BY case_id DESC LIMIT $5",
            )
            .await
            .map_err(db("listing cases"))?;
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let before = filter.before.map(|b| b.0);
        let rows = client
            .query(&stmt, &[&filter.sop, &filter.status, &filter.applicant, &before, &limit])
            .await
            .map_err(db("listing cases"))?;
        rows.iter()
            .map(|row| {
                Ok(CaseSummary {
                    case: CaseId(row.get(0)),
                    sop: row.get(1),
                    version: u32::try_from(row.get::<_, i64>(2)).map_err(corrupt("reading a case's version"))?,
                    applicant: row.get(3),
                    status: row.get(4),
                    started: parse_time(row.get(5))?,
                    closed: row.get::<_, Option<&str>>(6).map(parse_time).transpose()?,
                    end: row.get(7),
                })
            })
            .collect()
    }

    async fn unsettled(&self) -> Result<Vec<Unsettled>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT case_id, pending_first, pending_last FROM case_summaries
                 WHERE pending_first IS NOT NULL ORDER BY case_id",
            )
            .await
            .map_err(db("listing unsettled cases"))?;
        let rows = client.query(&stmt, &[]).await.map_err(db("listing unsettled cases"))?;
        rows.iter()
            .map(|row| Ok(Unsettled { case: CaseId(row.get(0)), first: count(row.get(1))?, last: count(row.get(2))? }))
            .collect()
    }

    async fn settle(&self, u: Unsettled, tallies: &[Tally]) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db("starting a transaction"))?;
        let clear = tx
            .prepare_cached(
                "UPDATE case_summaries SET pending_first = NULL, pending_last = NULL
                 WHERE case_id = $1 AND pending_first = $2 AND pending_last = $3",
            )
            .await
            .map_err(db("settling a case"))?;
        let cleared = tx
            .execute(&clear, &[&u.case.0, &to_i64(u.first, "seq")?, &to_i64(u.last, "seq")?])
            .await
            .map_err(db("settling a case"))?;
        if cleared == 0 {
            return Ok(false);
        }
        let add = tx
            .prepare_cached(
                "INSERT INTO report_tallies (sop, by_actor, key, open, completed, overdue, minutes, standard, standard_count)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (sop, by_actor, key) DO UPDATE SET open = report_tallies.open + EXCLUDED.open,
                 completed = report_tallies.completed + EXCLUDED.completed,
                 overdue = report_tallies.overdue + EXCLUDED.overdue,
                 minutes = report_tallies.minutes + EXCLUDED.minutes,
                 standard = report_tallies.standard + EXCLUDED.standard,
                 standard_count = report_tallies.standard_count + EXCLUDED.standard_count",
            )
            .await
            .map_err(db("preparing the tallies"))?;
        for t in tallies {
            tx.execute(
                &add,
                &[
                    &t.sop,
                    &t.by_actor,
                    &t.key,
                    &to_i64(t.open, "count")?,
                    &to_i64(t.completed, "count")?,
                    &to_i64(t.overdue, "count")?,
                    &to_i64(t.minutes, "minutes")?,
                    &to_i64(t.standard, "minutes")?,
                    &to_i64(t.standard_count, "count")?,
                ],
            )
            .await
            .map_err(db("adding to the tallies"))?;
        }
        tx.commit().await.map_err(db("settling a case"))?;
        Ok(true)
    }

    async fn case_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT sop, status, COUNT(*) FROM case_summaries GROUP BY sop, status ORDER BY sop, status",
            )
            .await
            .map_err(db("counting cases"))?;
        let rows = client.query(&stmt, &[]).await.map_err(db("counting cases"))?;
        rows.iter().map(|row| Ok((row.get(0), row.get(1), count(row.get(2))?))).collect()
    }

    async fn tallies(&self, sop: Option<&str>) -> Result<Vec<Tally>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT sop, by_actor, key, open, completed, overdue, minutes, standard, standard_count
                 FROM report_tallies WHERE $1::TEXT IS NULL OR sop = $1",
            )
            .await
            .map_err(db("reading the tallies"))?;
        let rows = client.query(&stmt, &[&sop]).await.map_err(db("reading the tallies"))?;
        rows.iter()
            .map(|row| {
                Ok(Tally {
                    sop: row.get(0),
                    by_actor: row.get(1),
                    key: row.get(2),
                    open: count(row.get(3))?,
                    completed: count(row.get(4))?,
                    overdue: count(row.get(5))?,
                    minutes: count(row.get(6))?,
                    standard: count(row.get(7))?,
                    standard_count: count(row.get(8))?,
                })
            })
            .collect()
    }
}
