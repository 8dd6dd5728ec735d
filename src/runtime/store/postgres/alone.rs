//! The append in a transaction of its own, one NOTIFY per append: a registered start (it
//! takes its registration number in the same transaction, see `Registry`), and every append
//! under `ALUR_PG_GROUP_COMMIT=off` (read when the store opens), so a benchmark can measure both
//! in one run and one build, as `ALUR_CHECKPOINT=off` does for the SQLite store. Its version
//! check is the group commit's (`cases.version`), so both kinds of append interleave safely.

use super::*;
use crate::runtime::store::summary::summary_change;

impl PostgresStore {
    pub(super) async fn append_alone(
        &self,
        case: CaseId,
        expected: u64,
        events: &[Recorded],
    ) -> Result<(), StoreError> {
        self.append_numbered(case, expected, events, None).await.map(|_| ())
    }

    /// An append; with `numbering`, a new case's registered start (see `Registry`).
    pub(super) async fn append_numbered(
        &self,
        case: CaseId,
        expected: u64,
        events: &[Recorded],
        numbering: Option<&crate::model::Numbering>,
    ) -> Result<Option<crate::runtime::event::Registration>, StoreError> {
        let expected_i = to_i64(expected, "expected version")?;
        let version = to_i64(expected + events.len() as u64, "version")?;
        let EventRows { seqs, ats, bys, mut bodies, started, misnumbered } = EventRows::of(case, expected, events)?;
        let change = serde_json::to_string(&Change::Appended { case, version: expected + events.len() as u64 })
            .map_err(backend("serializing a change"))?;

        let mut client = self.client().await?;
        let span = tracing::info_span!("commit", store = "postgres", requests = 1);
        let registered = async {
            let began = std::time::Instant::now();
            let tx = client.transaction().await.map_err(db("starting a transaction"))?;
            // The conditional step: the case row moves from `expected` to the new version, or the
            // append is refused. A concurrent append to the same case waits on the row lock, then
            // finds the version changed.
            let sop: String = if let (0, Some(sop)) = (expected, &started) {
                let stmt = tx
                    .prepare_cached(
                        "INSERT INTO cases (case_id, sop, version) VALUES ($1, $2, $3) ON CONFLICT (case_id) DO NOTHING",
                    )
                    .await
                    .map_err(db("recording a new case"))?;
                let inserted = tx.execute(&stmt, &[&case.0, sop, &version]).await.map_err(db("recording a new case"))?;
                if inserted == 0 {
                    return Err(StoreError::Conflict(case));
                }
                sop.clone()
            } else {
                let stmt = tx
                    .prepare_cached("UPDATE cases SET version = $3 WHERE case_id = $1 AND version = $2 RETURNING sop")
                    .await
                    .map_err(db("advancing a case's version"))?;
                match tx
                    .query_opt(&stmt, &[&case.0, &expected_i, &version])
                    .await
                    .map_err(db("advancing a case's version"))?
                {
                    Some(row) => row.get(0),
                    None => return Err(StoreError::Conflict(case)),
                }
            };
            if let Some(error) = misnumbered {
                return Err(error);
            }
            // A registered start takes its number here: the sequence's row stays locked until
            // the commit, so a start on another node waits and takes the next one, and a start
            // that fails gives its number back with the rollback.
            let registered = match (numbering, expected) {
                (Some(numbering), 0) => {
                    let first = crate::runtime::store::registry::requested(events).map(|_| &events[0])?;
                    let stmt = tx
                        .prepare_cached(
                            "INSERT INTO registration_sequences (sequence, last) VALUES ($1, 1) \
                             ON CONFLICT (sequence) DO UPDATE SET last = registration_sequences.last + 1 RETURNING last",
                        )
                        .await
                        .map_err(db("taking a registration number"))?;
                    let n: i64 = tx
                        .query_one(&stmt, &[&numbering.sequence()])
                        .await
                        .map_err(db("taking a registration number"))?
                        .get(0);
                    let n = u64::try_from(n)
                        .map_err(|_| StoreError::Corrupt(format!("a registration sequence is at {n}")))?;
                    let (first, registration) = crate::runtime::store::registry::numbered(first, numbering, n)?;
                    bodies[0] = serde_json::to_string(&first.event).map_err(backend("serializing an event"))?;
                    let stmt = tx
                        .prepare_cached("INSERT INTO registrations (number, case_id) VALUES ($1, $2)")
                        .await
                        .map_err(db("recording a registration number"))?;
                    if let Err(e) = tx.execute(&stmt, &[&registration.number, &case.0]).await {
                        return Err(if is_unique_violation(&e) {
                            crate::runtime::store::registry::taken(&registration.number)
                        } else {
                            db("recording a registration number")(e)
                        });
                    }
                    Some(registration)
                }
                (Some(_), _) => return Err(StoreError::Refused("only a new case takes a registration number".into())),
                (None, _) => None,
            };
            let mut statements = vec![statement(
                r#"INSERT INTO events (case_id, seq, at, "by", body)
                   SELECT $1, * FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[])"#,
                vec![Box::new(case.0), Box::new(seqs), Box::new(ats), Box::new(bys), Box::new(bodies)],
            )];
            for change in index_changes(&sop, events) {
                index_statements(change, &mut statements);
            }
            summary_statements(case, events, &mut statements)?;
            pipeline(&tx, &statements).await?;
            let committing = std::time::Instant::now();
            let committed = tx.commit().await;
            if let Some(metrics) = self.metrics.get() {
                metrics.committed(committed.is_ok(), 1, began.elapsed(), Some(committing.elapsed()));
            }
            committed.map_err(|e| {
                // Cannot happen with the version check above; kept as a conflict for safety.
                if is_unique_violation(&e) {
                    StoreError::Conflict(case)
                } else {
                    db("committing")(e)
                }
            })?;
            Ok::<_, StoreError>(registered)
        }
        .instrument(span)
        .await?;
        announce(&client, &self.channel, &change).await;
        Ok(registered)
    }
}

/// Announces a committed change on the feed, right after its commit. Not in the append's
/// transaction: a transaction that NOTIFYs holds a database-wide lock from before its
/// commit until after it, which would serialize every append's fsync and undo PostgreSQL's
/// group commit. The announcement's own transaction has nothing to make durable, so it
/// commits without waiting for the disk and holds that lock only for a moment. A failed
/// announcement does not fail the append (the change is committed; readers see it).
async fn announce(client: &tokio_postgres::Client, channel: &str, payload: &str) {
    let sql = format!(
        "BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_notify({}, {}); COMMIT",
        quote_literal(channel),
        quote_literal(payload)
    );
    if client.batch_execute(&sql).await.is_err() {
        let _ = client.batch_execute("ROLLBACK").await;
    }
}

/// The statements that bring the indexes in step with one change.
fn index_statements(change: IndexChange, out: &mut Vec<Statement>) {
    match change {
        IndexChange::OpenTask(t) => out.push(statement(
            "INSERT INTO open_tasks (case_id, task, sop, step, due, claimed_by, actors)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (case_id, task) DO UPDATE SET sop = EXCLUDED.sop, step = EXCLUDED.step,
                 due = EXCLUDED.due, claimed_by = EXCLUDED.claimed_by, actors = EXCLUDED.actors",
            vec![
                Box::new(t.case.0),
                Box::new(i64::from(t.task)),
                Box::new(t.sop.to_string()),
                Box::new(t.step.to_string()),
                Box::new(t.due.map(time_text)),
                Box::new(t.claimed_by),
                Box::new(t.actors.iter().map(|a| a.to_string()).collect::<Vec<String>>()),
            ],
        )),
        IndexChange::Claim { case, task, user } => out.push(statement(
            "UPDATE open_tasks SET claimed_by = $3 WHERE case_id = $1 AND task = $2",
            vec![Box::new(case.0), Box::new(i64::from(task)), Box::new(user)],
        )),
        IndexChange::AddActor { case, task, actor } => out.push(statement(
            // Only to a task still open, and only once (as the fold does).
            "UPDATE open_tasks SET actors = array_append(actors, $3::TEXT)
             WHERE case_id = $1 AND task = $2 AND NOT ($3::TEXT = ANY (actors))",
            vec![Box::new(case.0), Box::new(i64::from(task)), Box::new(actor)],
        )),
        IndexChange::CloseTask { case, task } => out.push(statement(
            "DELETE FROM open_tasks WHERE case_id = $1 AND task = $2",
            vec![Box::new(case.0), Box::new(i64::from(task))],
        )),
        IndexChange::CloseCase { case } => {
            // The open tasks go, and with them every deadline of the case (a task on hold has
            // its timer but is not in `open_tasks`).
            out.push(statement("DELETE FROM timers WHERE case_id = $1", vec![Box::new(case.0)]));
            out.push(statement("DELETE FROM open_tasks WHERE case_id = $1", vec![Box::new(case.0)]));
        }
        IndexChange::SetTimer(t) => out.push(statement(
            // A new deadline: nobody holds it yet.
            "INSERT INTO timers (case_id, task, due, claimed_by, lease_until) VALUES ($1, $2, $3, NULL, NULL)
             ON CONFLICT (case_id, task) DO UPDATE SET due = EXCLUDED.due, claimed_by = NULL, lease_until = NULL",
            vec![Box::new(t.case.0), Box::new(i64::from(t.task)), Box::new(time_text(t.due))],
        )),
        IndexChange::ClearTimer { case, task } => out.push(statement(
            "DELETE FROM timers WHERE case_id = $1 AND task = $2",
            vec![Box::new(case.0), Box::new(i64::from(task))],
        )),
    }
}

/// The statements of an append's summary change (none for most appends).
fn summary_statements(case: CaseId, events: &[Recorded], out: &mut Vec<Statement>) -> Result<(), StoreError> {
    let change = summary_change(events);
    if let Some(s) = &change.started {
        out.push(statement(
            "INSERT INTO case_summaries (case_id, sop, version, applicant, status, started)
             VALUES ($1, $2, $3, $4, 'active', $5)",
            vec![
                Box::new(case.0),
                Box::new(s.sop.to_string()),
                Box::new(i64::from(s.version)),
                Box::new(s.applicant.to_string()),
                Box::new(time_text(s.at)),
            ],
        ));
    }
    if let Some((status, at, end)) = change.closed {
        out.push(statement(
            "UPDATE case_summaries SET status = $2, closed = $3, outcome = $4 WHERE case_id = $1",
            vec![Box::new(case.0), Box::new(status), Box::new(time_text(at)), Box::new(end.map(str::to_string))],
        ));
    }
    if let Some((first, last)) = change.pending {
        out.push(statement(
            "UPDATE case_summaries SET pending_first = COALESCE(pending_first, $2), pending_last = $3
             WHERE case_id = $1",
            vec![Box::new(case.0), Box::new(to_i64(first, "seq")?), Box::new(to_i64(last, "seq")?)],
        ));
    }
    Ok(())
}

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}
