//! The file's schema: the numbered migrations and how a file is brought up to date.

use super::*;

/// The schema, one step per entry: a database at schema version n (the highest row of its
/// `schema_version` table) gets steps n+1.. applied, each in its own transaction together with
/// its `schema_version` row, so an interrupted upgrade leaves a database at a known version.
/// Steps are never edited once shipped, only added. (Databases made before the table existed
/// kept their version in `PRAGMA user_version`; it is carried over.)
/// The schema version this build brings a file to (`alur restore` refuses a newer one).
pub(in crate::runtime::store) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// One step of the schema: SQL, or code for what SQL alone cannot do (files beside the
/// database). Either runs inside the step's transaction.
pub(super) enum Migration {
    Sql(&'static str),
    Code(fn(&Connection, &BlobDir) -> Result<(), StoreError>),
}

pub(super) const MIGRATIONS: &[Migration] = &[
    // 1: events, cases, deployments and the inbox and timer indexes.
    Migration::Sql(
        r#"
    CREATE TABLE deployments (
        sop TEXT NOT NULL,
        version INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        deployed_at TEXT NOT NULL,
        -- The whole Deployment (sources and calendars included) as JSON.
        body TEXT NOT NULL,
        PRIMARY KEY (sop, version)
    );
    -- Rowid order is the order cases started in, which `case_ids` returns.
    CREATE TABLE cases (
        case_id TEXT NOT NULL PRIMARY KEY,
        sop TEXT NOT NULL
    );
    CREATE TABLE events (
        case_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        "by" TEXT NOT NULL,
        -- The Event as JSON (tagged by `type`).
        body TEXT NOT NULL,
        PRIMARY KEY (case_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE open_tasks (
        case_id TEXT NOT NULL,
        task INTEGER NOT NULL,
        sop TEXT NOT NULL,
        step TEXT NOT NULL,
        due TEXT NOT NULL,
        claimed_by TEXT,
        PRIMARY KEY (case_id, task)
    ) WITHOUT ROWID;
    -- One row per actor of an open task, so an inbox query by role uses an index.
    CREATE TABLE task_actors (
        case_id TEXT NOT NULL,
        task INTEGER NOT NULL,
        pos INTEGER NOT NULL,
        actor TEXT NOT NULL,
        PRIMARY KEY (case_id, task, pos)
    ) WITHOUT ROWID;
    CREATE INDEX task_actors_by_actor ON task_actors (actor, case_id, task);
    CREATE TABLE timers (
        case_id TEXT NOT NULL,
        task INTEGER NOT NULL,
        due TEXT NOT NULL,
        PRIMARY KEY (case_id, task)
    ) WITHOUT ROWID;
    CREATE INDEX timers_by_due ON timers (due, case_id, task);
    "#,
    ),
    // 2: claims on timers (a node fires a deadline under a lease).
    Migration::Sql(
        r#"
    ALTER TABLE timers ADD COLUMN claimed_by TEXT;
    ALTER TABLE timers ADD COLUMN lease_until TEXT;
    CREATE INDEX timers_leased ON timers (lease_until) WHERE lease_until IS NOT NULL;
    "#,
    ),
    // 3: the events as one log in commit order (`pos`); what is derived from them (versions,
    // each case's events, the inbox and timer indexes) moves into memory, and the claims on
    // deadlines get a table of their own. The old events keep their order within each case,
    // the cases the order they started in.
    Migration::Sql(
        r#"
    CREATE TABLE event_log (
        pos INTEGER PRIMARY KEY,
        case_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        "by" TEXT NOT NULL,
        -- The Event as JSON (tagged by `type`).
        body TEXT NOT NULL
    );
    INSERT INTO event_log (case_id, seq, at, "by", body)
        SELECT e.case_id, e.seq, e.at, e."by", e.body
        FROM events e LEFT JOIN cases c ON c.case_id = e.case_id
        ORDER BY c.rowid, e.case_id, e.seq;
    DROP TABLE events;
    ALTER TABLE event_log RENAME TO events;
    CREATE TABLE timer_claims (
        case_id TEXT NOT NULL,
        task INTEGER NOT NULL,
        claimed_by TEXT NOT NULL,
        lease_until TEXT NOT NULL,
        PRIMARY KEY (case_id, task)
    ) WITHOUT ROWID;
    INSERT INTO timer_claims (case_id, task, claimed_by, lease_until)
        SELECT case_id, task, claimed_by, lease_until FROM timers
        WHERE claimed_by IS NOT NULL AND lease_until IS NOT NULL;
    DROP TABLE timers;
    DROP TABLE task_actors;
    DROP TABLE open_tasks;
    "#,
    ),
    // 4: documents out of the event log: every document stored inline (base64 in its event)
    // moves into a blob file, and its event names it by hash instead.
    Migration::Code(move_inline_documents),
    // 5: the derived state at a known log position (see `checkpoint.rs`): the running cases'
    // event positions, the inbox and the deadlines in one row, and the event positions of every
    // case that ended before it, read when asked for. An open loads them and replays only the
    // log after the position.
    Migration::Sql(
        r#"
    CREATE TABLE checkpoint (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        -- The last event of the log the state includes.
        pos INTEGER NOT NULL,
        format INTEGER NOT NULL,
        -- SHA-256 of `body`: a damaged row is told from a good one.
        sha256 TEXT NOT NULL,
        written_at TEXT NOT NULL,
        body BLOB NOT NULL
    );
    CREATE TABLE ended_cases (
        case_id TEXT NOT NULL PRIMARY KEY,
        -- The positions of the case's events in the log, 8 bytes each (little-endian).
        positions BLOB NOT NULL
    ) WITHOUT ROWID;
    "#,
    ),
    // 6: case summaries and report tallies (see `summary.rs`).
    Migration::Sql(super::summary::MIGRATION),
    // 7: registration numbers (see `store/registry.rs`): each sequence's last number, and which
    // case holds each number (unique, so no number is ever given twice).
    Migration::Sql(
        r#"
    CREATE TABLE registration_sequences (
        sequence TEXT NOT NULL PRIMARY KEY,
        last INTEGER NOT NULL
    );
    CREATE TABLE registrations (
        number TEXT NOT NULL PRIMARY KEY,
        case_id TEXT NOT NULL UNIQUE
    );
    "#,
    ),
];

/// Events rewritten per round of migration 4 (bounds the documents held in memory at once).
pub(super) const MOVE_CHUNK: i64 = 64;

/// Migration 4: each `ArtifactAttached` event holding its bytes inline gets them written to a
/// blob file (durably, before the rewritten event commits) and is rewritten to name the blob by
/// the hash and size of those bytes. Safe if interrupted: the transaction rolls back, the blobs
/// already written stay (content-addressed, so the next attempt finds them), and the step runs
/// again. An inline body that is not valid base64 is left as it is, and said in the log: its
/// download reports it, as before.
pub(super) fn move_inline_documents(conn: &Connection, blobs: &BlobDir) -> Result<(), StoreError> {
    use crate::runtime::event::Storage;
    use base64::Engine as _;
    let mut after = 0_i64;
    loop {
        let rows: Vec<(i64, String)> = conn
            .prepare(
                "SELECT pos, body FROM events WHERE pos > ?1 AND body LIKE '%\"kind\":\"inline\"%' \
                 ORDER BY pos LIMIT ?2",
            )
            .and_then(|mut q| q.query_map(params![after, MOVE_CHUNK], |row| Ok((row.get(0)?, row.get(1)?)))?.collect())
            .map_err(backend("reading inline documents"))?;
        let Some(&(last, _)) = rows.last() else { return Ok(()) };
        after = last;
        for (pos, body) in rows {
            let Ok(Event::ArtifactAttached(mut file)) = serde_json::from_str::<Event>(&body) else { continue };
            let Storage::Inline { base64 } = &file.storage else { continue };
            let bytes = match base64::engine::general_purpose::STANDARD.decode(base64) {
                Ok(bytes) => bytes,
                Err(error) => {
                    tracing::warn!(pos, %error, "an inline document is not valid base64; left in its event");
                    continue;
                }
            };
            file.sha256 = blobs.put(&bytes)?;
            file.size = bytes.len() as u64;
            file.storage = Storage::Blob;
            let body =
                serde_json::to_string(&Event::ArtifactAttached(file)).map_err(backend("serializing an event"))?;
            conn.execute("UPDATE events SET body = ?1 WHERE pos = ?2", params![body, pos])
                .map_err(backend("rewriting an event"))?;
        }
    }
}

/// The schema version recorded in the database (inside a write transaction).
pub(super) fn schema_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(backend("creating the schema_version table"))?;
    let recorded: i64 = conn
        .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |row| row.get(0))
        .map_err(backend("reading the schema version"))?;
    if recorded > 0 {
        return Ok(recorded);
    }
    // A database from before the table: its version is in the header.
    let legacy: i64 =
        conn.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(backend("reading the schema version"))?;
    let now = time_text(Utc::now());
    for version in 1..=legacy.min(MIGRATIONS.len() as i64) {
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)", params![version, now])
            .map_err(backend("recording the schema version"))?;
    }
    Ok(legacy)
}

pub(super) fn migrate(conn: &mut Connection, blobs: &BlobDir) -> Result<(), StoreError> {
    let mode: String =
        conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(backend("switching to WAL mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Config(format!("sqlite store: the database refused WAL mode (it is in {mode})")));
    }
    let known = MIGRATIONS.len() as i64;
    for (index, step) in MIGRATIONS.iter().enumerate() {
        let target = index as i64 + 1;
        // IMMEDIATE: another process opening the same file at once waits here, then sees the
        // version this one reached.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend("starting a migration"))?;
        let version = schema_version(&tx)?;
        if version > known {
            return Err(StoreError::Schema(format!(
                "sqlite store: the database has schema version {version}, newer than this alur knows ({known})"
            )));
        }
        if version < target {
            match step {
                Migration::Sql(sql) => tx.execute_batch(sql).map_err(backend("migrating the schema"))?,
                Migration::Code(run) => run(&tx, blobs)?,
            }
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
                params![target, time_text(Utc::now())],
            )
            .map_err(backend("recording the schema version"))?;
            // Kept in step for tools that read the header.
            tx.pragma_update(None, "user_version", target).map_err(backend("setting the schema version"))?;
        }
        tx.commit().map_err(backend("committing a migration"))?;
    }
    Ok(())
}
