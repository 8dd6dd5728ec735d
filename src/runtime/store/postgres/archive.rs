//! The PostgreSQL store's archive of ended cases (see `store::archive`): the tables
//! `archived_cases` and `archived_events` of the same schema. A move is one transaction per
//! round: the round's cases are locked in `cases`, their events copied and deleted, their
//! `cases` rows moved, so at any snapshot a case is in exactly one of the two places. Reads
//! take both places in one statement (`events_after`, `case_ids` in `mod.rs`). A node that
//! appends to a case moved meanwhile finds no `cases` row at its version and hears `Conflict`;
//! reading again it finds the case ended. The summaries stay where they are: an archived case is
//! still listed and counted.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{db, time_text, PostgresStore};
use crate::runtime::store::{Archived, CaseArchive, StoreError};

/// Migration 6: the archive's tables. `pos` is the case's place in `cases` (the order
/// `case_ids` answers in), kept.
pub(super) const MIGRATION: &str = r#"
    CREATE TABLE archived_cases (
        case_id UUID NOT NULL PRIMARY KEY,
        pos BIGINT NOT NULL,
        sop TEXT NOT NULL,
        version BIGINT NOT NULL,
        ended_at TEXT COLLATE "C" NOT NULL,
        archived_at TEXT COLLATE "C" NOT NULL
    );
    CREATE INDEX archived_cases_by_pos ON archived_cases (pos);
    CREATE TABLE archived_events (
        case_id UUID NOT NULL,
        seq BIGINT NOT NULL,
        at TEXT COLLATE "C" NOT NULL,
        "by" TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (case_id, seq)
    );
"#;

/// Cases moved per transaction: a round holds their `cases` rows locked.
const ROUND: i64 = 500;

/// The cases of a round: closed before the date, follow-ups settled, not locked by a node
/// appending to them now (they are taken by a later round or run).
const PICK: &str = r#"
    SELECT c.case_id FROM cases c JOIN case_summaries s ON s.case_id = c.case_id
    WHERE s.status <> 'active' AND s.closed < $1 AND s.pending_first IS NULL
    ORDER BY c.pos LIMIT $2
    FOR UPDATE OF c SKIP LOCKED"#;

#[async_trait]
impl CaseArchive for PostgresStore {
    async fn archive_ended(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> Result<Archived, StoreError> {
        let (before, now) = (time_text(before), time_text(now));
        let mut done = Archived::default();
        let mut client = self.client().await?;
        loop {
            let tx = client.transaction().await.map_err(db("archiving: starting"))?;
            let picked = tx.query(PICK, &[&before, &ROUND]).await.map_err(db("archiving: choosing cases"))?;
            let ids: Vec<uuid::Uuid> = picked.iter().map(|row| row.get(0)).collect();
            if ids.is_empty() {
                break;
            }
            tx.execute(
                r#"INSERT INTO archived_cases (case_id, pos, sop, version, ended_at, archived_at)
                   SELECT c.case_id, c.pos, c.sop, c.version, s.closed, $2
                   FROM cases c JOIN case_summaries s ON s.case_id = c.case_id
                   WHERE c.case_id = ANY($1)"#,
                &[&ids, &now],
            )
            .await
            .map_err(db("archiving: writing the cases"))?;
            let events = tx
                .execute(
                    r#"INSERT INTO archived_events (case_id, seq, at, "by", body)
                       SELECT case_id, seq, at, "by", body FROM events WHERE case_id = ANY($1)"#,
                    &[&ids],
                )
                .await
                .map_err(db("archiving: writing the events"))?;
            tx.execute("DELETE FROM events WHERE case_id = ANY($1)", &[&ids])
                .await
                .map_err(db("archiving: removing the events"))?;
            tx.execute("DELETE FROM cases WHERE case_id = ANY($1)", &[&ids])
                .await
                .map_err(db("archiving: removing the cases"))?;
            tx.commit().await.map_err(db("archiving: committing"))?;
            done.cases += ids.len() as u64;
            done.events += events;
        }
        let kept: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM cases c JOIN case_summaries s ON s.case_id = c.case_id WHERE s.status <> 'active'",
                &[],
            )
            .await
            .map_err(db("archiving: counting the cases kept"))?
            .get(0);
        done.kept = u64::try_from(kept).unwrap_or_default();
        Ok(done)
    }

    fn archive_place(&self) -> String {
        format!("{}.archived_cases, {}.archived_events", self.schema, self.schema)
    }
}
