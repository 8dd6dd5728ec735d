//! The database's schema: the numbered migrations, applied under an advisory lock.

use super::*;

/// The schema, one step per entry. Steps 1 and 2 are numbered as the SQLite store's (the same
/// number means the same features). A database at schema version n (the highest row of `schema_version`) gets
/// steps n+1.. applied, each in its own transaction with its `schema_version` row, under an
/// advisory lock so nodes starting at once migrate one at a time. Steps are never edited once
/// shipped, only added.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: events, cases, deployments and the inbox and timer indexes.
    r#"
    CREATE TABLE deployments (
        pos BIGSERIAL NOT NULL UNIQUE,
        sop TEXT NOT NULL,
        version BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        deployed_at TEXT COLLATE "C" NOT NULL,
        -- The whole Deployment (sources and calendars included) as JSON.
        body TEXT NOT NULL,
        PRIMARY KEY (sop, version)
    );
    -- `pos` is the order cases started in, which `case_ids` returns; `version` is the seq of
    -- the case's last event, the row every append to the case changes conditionally.
    CREATE TABLE cases (
        case_id UUID NOT NULL PRIMARY KEY,
        pos BIGSERIAL NOT NULL UNIQUE,
        sop TEXT NOT NULL,
        version BIGINT NOT NULL
    );
    CREATE TABLE events (
        case_id UUID NOT NULL,
        seq BIGINT NOT NULL,
        at TEXT COLLATE "C" NOT NULL,
        "by" TEXT NOT NULL,
        -- The Event as JSON (tagged by `type`).
        body TEXT NOT NULL,
        PRIMARY KEY (case_id, seq)
    );
    -- The actors of an open task as an array, in the order they were added; the GIN index
    -- serves the inbox query by role (`actors && $1`).
    CREATE TABLE open_tasks (
        case_id UUID NOT NULL,
        task BIGINT NOT NULL,
        sop TEXT NOT NULL,
        step TEXT NOT NULL,
        due TEXT COLLATE "C" NOT NULL,
        claimed_by TEXT,
        actors TEXT[] NOT NULL,
        PRIMARY KEY (case_id, task)
    );
    CREATE INDEX open_tasks_by_actor ON open_tasks USING GIN (actors);
    CREATE TABLE timers (
        case_id UUID NOT NULL,
        task BIGINT NOT NULL,
        due TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (case_id, task)
    );
    CREATE INDEX timers_by_due ON timers (due, case_id, task);
    "#,
    // 2: claims on timers (a node fires a deadline under a lease).
    r#"
    ALTER TABLE timers ADD COLUMN claimed_by TEXT;
    ALTER TABLE timers ADD COLUMN lease_until TEXT COLLATE "C";
    CREATE INDEX timers_leased ON timers (lease_until) WHERE lease_until IS NOT NULL;
    "#,
    // 3: a task of a step whose SOP states no time has no due date. (The SQLite store's third
    // step moved its indexes into memory, so the numbers no longer match feature for feature.)
    r#"
    ALTER TABLE open_tasks ALTER COLUMN due DROP NOT NULL;
    "#,
    // 4: documents out of the event log (as the SQLite store's fourth step): a blob table by
    // SHA-256, and every document stored inline (base64 in its event) moved into it, its event
    // rewritten to name it by the hash and size of those bytes. One transaction: an
    // interrupted step leaves nothing half-moved. An inline body that is not base64 is left in
    // its event (its download reports it, as before).
    r#"
    CREATE TABLE blobs (
        sha256 TEXT NOT NULL PRIMARY KEY,
        size BIGINT NOT NULL,
        bytes BYTEA NOT NULL
    );
    CREATE TEMPORARY TABLE inline_documents ON COMMIT DROP AS
        SELECT case_id, seq, encode(sha256(bytes), 'hex') AS sha256, bytes
        FROM (SELECT case_id, seq, decode(body::jsonb #>> '{storage,base64}', 'base64') AS bytes
              FROM events
              WHERE body LIKE '%"kind":"inline"%'
                AND body::jsonb ->> 'type' = 'artifact_attached'
                AND body::jsonb #>> '{storage,kind}' = 'inline'
                AND body::jsonb #>> '{storage,base64}' ~ '^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$'
             ) inline;
    INSERT INTO blobs (sha256, size, bytes)
        SELECT DISTINCT ON (sha256) sha256, length(bytes), bytes FROM inline_documents
        ON CONFLICT (sha256) DO NOTHING;
    UPDATE events e
        SET body = (e.body::jsonb || jsonb_build_object(
            'sha256', d.sha256, 'size', length(d.bytes), 'storage', jsonb_build_object('kind', 'blob')))::text
        FROM inline_documents d
        WHERE e.case_id = d.case_id AND e.seq = d.seq;
    "#,
    // 5: case summaries and report tallies (see `postgres/summary.rs`).
    super::summary::MIGRATION,
    // 6: the archive of ended cases (see `postgres/archive.rs`).
    super::archive::MIGRATION,
    // 7: registration numbers (see `store/registry.rs`; the SQLite store's seventh step): each
    // sequence's last number, and which case holds each number.
    r#"
    CREATE TABLE registration_sequences (
        sequence TEXT NOT NULL PRIMARY KEY,
        last BIGINT NOT NULL
    );
    CREATE TABLE registrations (
        number TEXT NOT NULL PRIMARY KEY,
        case_id UUID NOT NULL UNIQUE
    );
    "#,
];

/// Serializes migrations of every alur schema in the database (an arbitrary constant).
pub(super) const MIGRATION_LOCK: i64 = 0x616c_7572_0001;

/// Brings a numbered list of schema steps up to date, each step in its own transaction
/// together with its row in `version_table`, under the advisory lock `lock`, so that of
/// several nodes starting at once each step is applied by one. A database at a higher version
/// than `steps` knows is refused. The error says what was being done and why, for the caller
/// to prefix with what it migrates.
pub(crate) async fn run_migrations(
    client: &mut deadpool_postgres::Object,
    steps: &[&str],
    version_table: &str,
    lock: i64,
) -> Result<(), String> {
    fn failed(doing: &'static str) -> impl Fn(tokio_postgres::Error) -> String {
        move |e| format!("{doing}: {}", detail(&e))
    }
    let known = steps.len() as i64;
    for (index, step) in steps.iter().enumerate() {
        let target = index as i64 + 1;
        let tx = client.transaction().await.map_err(failed("starting a migration"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock])
            .await
            .map_err(failed("waiting for other nodes' migrations"))?;
        tx.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {version_table} (
                 version BIGINT NOT NULL PRIMARY KEY,
                 applied_at TEXT NOT NULL)"
        ))
        .await
        .map_err(failed("creating the schema version table"))?;
        let version: i64 = tx
            .query_one(&format!("SELECT COALESCE(MAX(version), 0)::BIGINT FROM {version_table}"), &[])
            .await
            .map_err(failed("reading the schema version"))?
            .get(0);
        if version > known {
            return Err(format!("the schema version is {version}, newer than this alur knows ({known})"));
        }
        if version < target {
            tx.batch_execute(step).await.map_err(failed("migrating the schema"))?;
            tx.execute(
                &format!("INSERT INTO {version_table} (version, applied_at) VALUES ($1, $2)"),
                &[&target, &time_text(Utc::now())],
            )
            .await
            .map_err(failed("recording the schema version"))?;
        }
        tx.commit().await.map_err(failed("committing a migration"))?;
    }
    Ok(())
}
