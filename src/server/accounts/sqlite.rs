//! The accounts' SQLite implementation: the tables in the events' file (or in memory for
//! tests), one connection behind a mutex, every call run on tokio's blocking threads (waiting
//! for the mutex or for another process's lock included), so an async worker never waits on
//! the file. The audit log goes to its own file, `alur-audit.db`, written in batches by a
//! thread of its own.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use super::store::{AuditLog, NewToken, NewUser, SessionStore, StoredToken, UserChange, UserStore};
use super::{AccountError, AuditEntry, SessionInfo, Stored};

/// The audit log beside the database: `alur.db` keeps it in `alur-audit.db`.
pub fn audit_path(db: &Path) -> PathBuf {
    let stem = db.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "alur".into());
    db.with_file_name(format!("{stem}-audit.db"))
}

/// The accounts' tables in the SQLite file, one step per entry, numbered in
/// `accounts_schema_version` (as the PostgreSQL backend's); never edited once shipped, only
/// added.
const MIGRATIONS: &[&str] = &[
    // 1: users, sign-in tokens (their SHA-256) and the audit log, as they were before their
    // version was recorded (`IF NOT EXISTS`: a file of that time has them already).
    "
    CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY,
        display TEXT NOT NULL,
        roles TEXT NOT NULL,
        password TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS tokens (
        hash BLOB PRIMARY KEY,
        user TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        user TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        status INTEGER NOT NULL
    );
    ",
    // 2: disabled users, passwords that must be changed, and sign-ins their users can see and
    // end: an id of their own (never the token's hash), when and from where they were made.
    "
    ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tokens ADD COLUMN id TEXT;
    ALTER TABLE tokens ADD COLUMN created_at TEXT;
    ALTER TABLE tokens ADD COLUMN address TEXT;
    ALTER TABLE tokens ADD COLUMN agent TEXT;
    UPDATE tokens SET id = lower(hex(randomblob(8))) WHERE id IS NULL;
    CREATE UNIQUE INDEX tokens_by_id ON tokens (id);
    CREATE INDEX tokens_by_user ON tokens (user);
    ",
];

/// The audit file holds the audit table only.
const AUDIT_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    status INTEGER NOT NULL
);
";

const USER_COLUMNS: &str = "name, display, roles, disabled, must_change";

/// Maps an SQLite error to an account error that says what was being done: the file locked
/// by another process past the busy timeout is [`AccountError::Unavailable`] (try again).
fn sql(doing: &'static str) -> impl Fn(rusqlite::Error) -> AccountError {
    move |e| {
        if crate::runtime::store::sqlite_busy(&e) {
            AccountError::Unavailable { doing, cause: format!("sqlite accounts: {e}") }
        } else {
            AccountError::Backend(format!("sqlite accounts: {doing}: {e}"))
        }
    }
}

fn connect(path: Option<&Path>) -> Result<Connection, AccountError> {
    let conn = match path {
        Some(path) => Connection::open(path).map_err(sql("opening the database"))?,
        None => Connection::open_in_memory().map_err(sql("opening the database"))?,
    };
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(sql("opening the database"))?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;").map_err(sql("opening the database"))?;
    Ok(conn)
}

fn open_audit(path: &Path) -> Result<Connection, AccountError> {
    let conn = connect(Some(path))?;
    conn.execute_batch(AUDIT_SCHEMA).map_err(sql("opening the audit log"))?;
    Ok(conn)
}

/// Applies the migrations the file has not had, each in a transaction taken for writing at
/// once (another process opening the file meanwhile waits, then sees the version reached).
fn migrate(conn: &mut Connection) -> Result<(), AccountError> {
    let migrating = sql("migrating the accounts");
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS accounts_schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(&migrating)?;
    let known = MIGRATIONS.len() as i64;
    for (index, step) in MIGRATIONS.iter().enumerate() {
        let target = index as i64 + 1;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(&migrating)?;
        let version: i64 = tx
            .query_row("SELECT COALESCE(MAX(version), 0) FROM accounts_schema_version", [], |r| r.get(0))
            .map_err(&migrating)?;
        if version > known {
            return Err(AccountError::Backend(format!(
                "the accounts' tables have schema version {version}, newer than this alur knows ({known})"
            )));
        }
        if version < target {
            tx.execute_batch(step).map_err(&migrating)?;
            tx.execute(
                "INSERT INTO accounts_schema_version (version, applied_at) VALUES (?1, ?2)",
                params![target, Utc::now().to_rfc3339()],
            )
            .map_err(&migrating)?;
        }
        tx.commit().map_err(&migrating)?;
    }
    Ok(())
}

fn stored_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored { name: r.get(0)?, display: r.get(1)?, roles: r.get(2)?, disabled: r.get(3)?, must_change: r.get(4)? })
}

/// Every user's name, roles (as stored) and whether they are disabled, read inside a transaction.
fn roles(conn: &Connection) -> Result<Vec<(String, String, bool)>, AccountError> {
    let reading = sql("reading the admins");
    let mut statement = conn.prepare("SELECT name, roles, disabled FROM users").map_err(&reading)?;
    let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(&reading)?;
    rows.map(|r| r.map_err(&reading)).collect()
}

fn write_audit(conn: &mut Connection, entries: &[AuditEntry]) -> Result<(), AccountError> {
    if entries.is_empty() {
        return Ok(());
    }
    let writing = sql("writing the audit log");
    let tx = conn.transaction().map_err(&writing)?;
    {
        let mut insert = tx
            .prepare_cached("INSERT INTO audit (at, user, action, target, status) VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(&writing)?;
        for e in entries {
            insert.execute(params![e.at.to_rfc3339(), e.user, e.action, e.target, e.status]).map_err(&writing)?;
        }
    }
    tx.commit().map_err(&writing)
}

/// The latest `limit` audit entries, newest first.
fn read_audit(conn: &Connection, limit: i64) -> Result<Vec<AuditEntry>, AccountError> {
    let reading = sql("reading the audit log");
    let mut statement = conn
        .prepare("SELECT at, user, action, target, status FROM audit ORDER BY id DESC LIMIT ?1")
        .map_err(&reading)?;
    let rows = statement
        .query_map(params![limit], |r| {
            let at: String = r.get(0)?;
            Ok(AuditEntry {
                at: DateTime::parse_from_rfc3339(&at).map(|t| t.with_timezone(&Utc)).unwrap_or_default(),
                user: r.get(1)?,
                action: r.get(2)?,
                target: r.get(3)?,
                status: r.get(4)?,
            })
        })
        .map_err(&reading)?;
    rows.map(|r| r.map_err(&reading)).collect()
}

/// Writes audit entries in batches until every sender is gone.
fn audit_writer(mut conn: Connection, receiver: mpsc::Receiver<AuditEntry>) {
    // Batches, and no fsync per batch (WAL with synchronous=NORMAL is durable at the next
    // checkpoint): the durable record of case commands is the event log itself.
    let _ = conn.execute_batch("PRAGMA synchronous=NORMAL;");
    while let Ok(first) = receiver.recv() {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut batch = vec![first];
        batch.extend(receiver.try_iter());
        if let Err(error) = write_audit(&mut conn, &batch) {
            eprintln!("alur: audit log: {error}");
        }
    }
    // Every sender is gone (the server stopped): the entries written only to the WAL, with
    // no fsync, go into the file itself.
    if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
        eprintln!("alur: audit log: checkpoint: {error}");
    }
}

enum AuditSink {
    /// A writer thread on the audit file (its own file: a second writer on the events'
    /// file would make the event store's commits wait for the audit log's).
    Writer {
        /// Taken by `close`: the thread then writes what is queued and ends.
        sender: Mutex<Option<mpsc::Sender<AuditEntry>>>,
        thread: Mutex<Option<std::thread::JoinHandle<()>>>,
        path: PathBuf,
    },
    /// In memory (tests): a second in-memory connection would be another database, so
    /// entries are written at once on the accounts' connection (a write to memory).
    Inline,
}

pub(super) struct SqliteAccounts {
    db: Arc<Mutex<Connection>>,
    audit: AuditSink,
}

impl SqliteAccounts {
    /// Opens (and migrates) the accounts in the file `path`, or in memory. Blocks on the file.
    pub(super) fn open(path: Option<&Path>) -> Result<SqliteAccounts, AccountError> {
        let mut conn = connect(path)?;
        migrate(&mut conn)?;
        let audit = match path {
            // A file: a writer thread with its own connection writes entries in batches.
            Some(path) => {
                let writer = open_audit(&audit_path(path))?;
                let (sender, receiver) = mpsc::channel::<AuditEntry>();
                let thread = std::thread::Builder::new()
                    .name("alur-audit".into())
                    .spawn(move || audit_writer(writer, receiver))
                    .map_err(|e| AccountError::Backend(format!("sqlite accounts: starting the audit writer: {e}")))?;
                AuditSink::Writer {
                    sender: Mutex::new(Some(sender)),
                    thread: Mutex::new(Some(thread)),
                    path: audit_path(path),
                }
            }
            None => AuditSink::Inline,
        };
        Ok(SqliteAccounts { db: Arc::new(Mutex::new(conn)), audit })
    }

    /// Runs `work` on the connection, on a blocking thread.
    async fn run<T, F>(&self, work: F) -> Result<T, AccountError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, AccountError> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db
                .lock()
                .map_err(|_| AccountError::Backend("sqlite accounts: the connection's lock is poisoned".into()))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| AccountError::Backend(format!("sqlite accounts: the blocking call failed: {e}")))?
    }
}

/// A write transaction taken at once: two admins demoting each other from two processes
/// cannot both see the other one still an admin.
fn immediate<'c>(conn: &'c mut Connection, doing: &'static str) -> Result<rusqlite::Transaction<'c>, AccountError> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sql(doing))
}

#[async_trait]
impl UserStore for SqliteAccounts {
    async fn user_count(&self) -> Result<usize, AccountError> {
        self.run(|conn| {
            let n: i64 =
                conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).map_err(sql("counting users"))?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn insert_user(&self, user: NewUser) -> Result<bool, AccountError> {
        self.run(move |conn| {
            let inserted = conn
                .execute(
                    "INSERT OR IGNORE INTO users (name, display, roles, password, created_at, must_change)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![user.name, user.display, user.roles, user.hash, Utc::now().to_rfc3339(), user.must_change],
                )
                .map_err(sql("creating a user"))?;
            Ok(inserted > 0)
        })
        .await
    }

    async fn update_user(&self, change: UserChange<'_>) -> Result<bool, AccountError> {
        let (name, display, roles) = (change.name.to_string(), change.display.to_string(), change.roles.to_string());
        let (hash, demotes) = (change.hash.map(str::to_string), change.demotes);
        self.run(move |conn| {
            let doing = "updating a user";
            let tx = immediate(conn, doing)?;
            if demotes {
                super::keeps_an_admin(&self::roles(&tx)?, &name)?;
            }
            let changed = tx
                .execute("UPDATE users SET display = ?2, roles = ?3 WHERE name = ?1", params![name, display, roles])
                .map_err(sql(doing))?;
            if changed == 0 {
                return Ok(false);
            }
            if let Some(hash) = hash {
                tx.execute("UPDATE users SET password = ?2, must_change = 1 WHERE name = ?1", params![name, hash])
                    .map_err(sql(doing))?;
            }
            tx.execute("DELETE FROM tokens WHERE user = ?1", params![name]).map_err(sql(doing))?;
            tx.commit().map_err(sql(doing))?;
            Ok(true)
        })
        .await
    }

    async fn delete_user(&self, name: &str) -> Result<bool, AccountError> {
        let name = name.to_string();
        self.run(move |conn| {
            let doing = "deleting a user";
            let tx = immediate(conn, doing)?;
            super::keeps_an_admin(&roles(&tx)?, &name)?;
            let deleted = tx.execute("DELETE FROM users WHERE name = ?1", params![name]).map_err(sql(doing))?;
            if deleted == 0 {
                return Ok(false);
            }
            tx.execute("DELETE FROM tokens WHERE user = ?1", params![name]).map_err(sql(doing))?;
            tx.commit().map_err(sql(doing))?;
            Ok(true)
        })
        .await
    }

    async fn set_disabled(&self, name: &str, disabled: bool) -> Result<bool, AccountError> {
        let name = name.to_string();
        self.run(move |conn| {
            let doing = "disabling a user";
            let tx = immediate(conn, doing)?;
            if disabled {
                super::keeps_an_admin(&roles(&tx)?, &name)?;
            }
            let changed = tx
                .execute("UPDATE users SET disabled = ?2 WHERE name = ?1", params![name, disabled])
                .map_err(sql(doing))?;
            if changed == 0 {
                return Ok(false);
            }
            if disabled {
                tx.execute("DELETE FROM tokens WHERE user = ?1", params![name]).map_err(sql(doing))?;
            }
            tx.commit().map_err(sql(doing))?;
            Ok(true)
        })
        .await
    }

    async fn set_password(&self, name: &str, hash: &str, must_change: bool, keep: &[u8]) -> Result<bool, AccountError> {
        let (name, hash, keep) = (name.to_string(), hash.to_string(), keep.to_vec());
        self.run(move |conn| {
            let doing = "changing a password";
            let tx = immediate(conn, doing)?;
            let changed = tx
                .execute(
                    "UPDATE users SET password = ?2, must_change = ?3 WHERE name = ?1",
                    params![name, hash, must_change],
                )
                .map_err(sql(doing))?;
            if changed == 0 {
                return Ok(false);
            }
            tx.execute("DELETE FROM tokens WHERE user = ?1 AND hash <> ?2", params![name, keep]).map_err(sql(doing))?;
            tx.commit().map_err(sql(doing))?;
            Ok(true)
        })
        .await
    }

    async fn user(&self, name: &str) -> Result<Option<Stored>, AccountError> {
        let name = name.to_string();
        self.run(move |conn| {
            conn.query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"), params![name], stored_user)
                .optional()
                .map_err(sql("reading a user"))
        })
        .await
    }

    async fn users(&self) -> Result<Vec<Stored>, AccountError> {
        self.run(|conn| {
            let reading = sql("reading users");
            let mut statement =
                conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name")).map_err(&reading)?;
            let rows = statement.query_map([], stored_user).map_err(&reading)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(&reading)
        })
        .await
    }

    async fn user_with_password(&self, name: &str) -> Result<Option<(Stored, String)>, AccountError> {
        let name = name.to_string();
        self.run(move |conn| {
            conn.query_row(&format!("SELECT {USER_COLUMNS}, password FROM users WHERE name = ?1"), params![name], |r| {
                Ok((stored_user(r)?, r.get(5)?))
            })
            .optional()
            .map_err(sql("reading a user"))
        })
        .await
    }
}

#[async_trait]
impl SessionStore for SqliteAccounts {
    fn shared(&self) -> bool {
        false
    }

    async fn insert_token(&self, token: NewToken) -> Result<(), AccountError> {
        self.run(move |conn| {
            let doing = sql("storing a sign-in");
            conn.execute(
                "INSERT INTO tokens (hash, user, expires_at, id, created_at, address, agent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    &token.key[..],
                    token.user,
                    token.expires.to_rfc3339(),
                    token.id,
                    token.created.to_rfc3339(),
                    token.address,
                    token.agent
                ],
            )
            .map_err(&doing)?;
            conn.execute("DELETE FROM tokens WHERE expires_at < ?1", params![token.created.to_rfc3339()])
                .map_err(&doing)?;
            Ok(())
        })
        .await
    }

    async fn token(&self, key: &[u8; 32]) -> Result<Option<StoredToken>, AccountError> {
        let key = *key;
        self.run(move |conn| {
            let row = conn
                .query_row(
                    "SELECT u.name, u.display, u.roles, u.disabled, u.must_change, t.expires_at, t.id
                     FROM tokens t JOIN users u ON u.name = t.user WHERE t.hash = ?1",
                    params![&key[..]],
                    |r| Ok((stored_user(r)?, r.get::<_, String>(5)?, r.get::<_, Option<String>>(6)?)),
                )
                .optional()
                .map_err(sql("checking a sign-in"))?;
            let Some((user, expires, id)) = row else { return Ok(None) };
            let expires = DateTime::parse_from_rfc3339(&expires)
                .map_err(|e| AccountError::Backend(format!("sqlite accounts: bad timestamp `{expires}`: {e}")))?
                .with_timezone(&Utc);
            Ok(Some(StoredToken { user, expires, id: id.unwrap_or_default() }))
        })
        .await
    }

    async fn sessions(&self, name: &str) -> Result<Vec<SessionInfo>, AccountError> {
        let name = name.to_string();
        self.run(move |conn| {
            let reading = sql("reading sign-ins");
            let mut statement = conn
                .prepare("SELECT id, created_at, expires_at, address, agent FROM tokens WHERE user = ?1")
                .map_err(&reading)?;
            let rows = statement
                .query_map(params![name], |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                })
                .map_err(&reading)?;
            let parse = |text: &str| DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc));
            let mut sessions = Vec::new();
            for row in rows {
                let (id, created, expires, address, agent) = row.map_err(&reading)?;
                let Some(expires_at) = parse(&expires) else { continue };
                sessions.push(SessionInfo {
                    id: id.unwrap_or_default(),
                    created_at: created.as_deref().and_then(parse),
                    expires_at,
                    address,
                    agent,
                    current: false,
                });
            }
            Ok(sessions)
        })
        .await
    }

    async fn delete_session(&self, name: &str, id: &str) -> Result<bool, AccountError> {
        let (name, id) = (name.to_string(), id.to_string());
        self.run(move |conn| {
            let deleted = conn
                .execute("DELETE FROM tokens WHERE user = ?1 AND id = ?2", params![name, id])
                .map_err(sql("ending a sign-in"))?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn delete_token(&self, key: &[u8; 32]) -> Result<(), AccountError> {
        let key = *key;
        self.run(move |conn| {
            conn.execute("DELETE FROM tokens WHERE hash = ?1", params![&key[..]]).map_err(sql("signing out"))?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl AuditLog for SqliteAccounts {
    fn audit(&self, entry: AuditEntry) {
        match &self.audit {
            AuditSink::Writer { sender, .. } => match sender.lock().as_deref() {
                Ok(Some(sender)) => {
                    let _ = sender.send(entry);
                }
                // After `close` (the server is stopping): nothing more is written.
                _ => eprintln!("alur: audit log closed: {} {} {}", entry.user, entry.action, entry.target),
            },
            AuditSink::Inline => {
                if let Ok(mut conn) = self.db.lock() {
                    if let Err(error) = write_audit(&mut conn, &[entry]) {
                        eprintln!("alur: audit log: {error}");
                    }
                }
            }
        }
    }

    async fn audit_entries(&self, limit: usize) -> Result<Vec<AuditEntry>, AccountError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        match &self.audit {
            // The audit file is read on a connection of its own (the writer thread has the
            // other), without the accounts' connection.
            AuditSink::Writer { path, .. } => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || read_audit(&open_audit(&path)?, limit))
                    .await
                    .map_err(|e| AccountError::Backend(format!("sqlite accounts: the blocking call failed: {e}")))?
            }
            AuditSink::Inline => self.run(move |conn| read_audit(conn, limit)).await,
        }
    }

    async fn close(&self) {
        let AuditSink::Writer { sender, thread, .. } = &self.audit else { return };
        if let Ok(mut sender) = sender.lock() {
            sender.take();
        }
        let thread = thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            // The writer finishes its last batch and checkpoints: waited for on a blocking thread.
            let joined = tokio::task::spawn_blocking(move || thread.join().is_ok()).await;
            if !matches!(joined, Ok(true)) {
                eprintln!("alur: audit log: the writer thread failed");
            }
        }
    }
}
