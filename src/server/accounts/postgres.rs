//! The accounts' PostgreSQL backend: the same tables as the SQLite one (`users`, `tokens`,
//! `audit`), in the events' database and schema, so every node of `alur serve` on that
//! database shares users, sign-ins and the audit log.
//!
//! The tables are created by migrations of their own (numbered in `accounts_schema_version`,
//! applied under an advisory lock so nodes starting at once migrate one at a time). Instants
//! are fixed-width RFC 3339 text in UTC (`COLLATE "C"`), as in the event store, so they
//! compare as text in time order.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use deadpool_postgres::{Pool, PoolError};
use tokio::sync::mpsc;

use super::store::{AuditLog, NewToken, NewUser, SessionStore, StoredToken, UserChange, UserStore};
use super::{AccountError, AuditEntry, SessionInfo, Stored};

/// One step per entry; never edited once shipped, only added.
const MIGRATIONS: &[&str] = &[
    // 1: users, sign-in tokens (their SHA-256) and the audit log.
    r#"
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        display TEXT NOT NULL,
        -- The roles as a JSON array, as in the SQLite backend.
        roles TEXT NOT NULL,
        password TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE tokens (
        hash BYTEA PRIMARY KEY,
        "user" TEXT NOT NULL,
        expires_at TEXT COLLATE "C" NOT NULL
    );
    CREATE INDEX tokens_by_user ON tokens ("user");
    CREATE TABLE audit (
        id BIGSERIAL PRIMARY KEY,
        at TEXT NOT NULL,
        "user" TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        status INTEGER NOT NULL
    );
    "#,
    // 2: disabled users, passwords that must be changed, and sign-ins their users can see and
    // end: an id of their own (never the token's hash), when and from where they were made.
    r#"
    ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
    ALTER TABLE users ADD COLUMN must_change BOOLEAN NOT NULL DEFAULT FALSE;
    ALTER TABLE tokens ADD COLUMN id TEXT;
    ALTER TABLE tokens ADD COLUMN created_at TEXT COLLATE "C";
    ALTER TABLE tokens ADD COLUMN address TEXT;
    ALTER TABLE tokens ADD COLUMN agent TEXT;
    UPDATE tokens SET id = substr(md5(random()::text || encode(hash, 'hex')), 1, 16) WHERE id IS NULL;
    CREATE UNIQUE INDEX tokens_by_id ON tokens (id);
    "#,
];

/// Serializes the accounts' migrations in the database (an arbitrary constant, not the event
/// store's).
const MIGRATION_LOCK: i64 = 0x616c_7572_0002;

/// Maps a database error to an account error that says what was being done: a lost
/// connection, or a transaction the server cancelled for a passing reason (as the event store
/// judges it), is [`AccountError::Unavailable`] (try again).
fn db(doing: &'static str) -> impl Fn(tokio_postgres::Error) -> AccountError {
    move |e| {
        let cause = format!("postgres accounts: {doing}: {}", crate::runtime::store::postgres_detail(&e));
        if crate::runtime::store::postgres_transient(&e) {
            AccountError::Unavailable { doing, cause }
        } else {
            AccountError::Backend(cause)
        }
    }
}

/// A connection from the pool: none to be had (the server unreachable or refusing, the pool
/// exhausted past its wait, or closed) is [`AccountError::Unavailable`]; a refused password or
/// a missing database is the operator's to fix, a backend error.
async fn connection(pool: &Pool) -> Result<deadpool_postgres::Object, AccountError> {
    pool.get().await.map_err(|e| {
        let transient = match &e {
            PoolError::Backend(e) => e.as_db_error().is_none() || crate::runtime::store::postgres_transient(e),
            PoolError::Timeout(_) | PoolError::Closed => true,
            _ => false,
        };
        let cause = match &e {
            PoolError::Backend(e) => crate::runtime::store::postgres_detail(e),
            other => other.to_string(),
        };
        let cause = format!("postgres accounts: connecting: {cause}");
        if transient {
            AccountError::Unavailable { doing: "connecting", cause }
        } else {
            AccountError::Backend(cause)
        }
    })
}

pub(super) fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, AccountError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| AccountError::Backend(format!("postgres accounts: bad timestamp `{text}`: {e}")))
}

const USER_COLUMNS: &str = "name, display, roles, disabled, must_change";

fn stored(r: &tokio_postgres::Row) -> Stored {
    Stored { name: r.get(0), display: r.get(1), roles: r.get(2), disabled: r.get(3), must_change: r.get(4) }
}

pub(super) struct PgAccounts {
    pool: Pool,
    /// Taken by `close`: the writer then writes what is queued and ends.
    audit: std::sync::Mutex<Option<mpsc::UnboundedSender<AuditEntry>>>,
    writer: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl PgAccounts {
    /// The accounts on `pool` (whose connections work in the store's schema): migrates, and
    /// starts the audit writer (a task that writes entries in batches).
    pub(super) async fn open(pool: Pool) -> Result<PgAccounts, AccountError> {
        migrate(&pool).await?;
        let (audit, receiver) = mpsc::unbounded_channel();
        let writer = tokio::spawn(audit_writer(pool.clone(), receiver));
        Ok(PgAccounts {
            pool,
            audit: std::sync::Mutex::new(Some(audit)),
            writer: tokio::sync::Mutex::new(Some(writer)),
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, AccountError> {
        connection(&self.pool).await
    }
}

#[async_trait]
impl UserStore for PgAccounts {
    async fn user_count(&self) -> Result<usize, AccountError> {
        let client = self.client().await?;
        let row = client.query_one("SELECT COUNT(*) FROM users", &[]).await.map_err(db("counting users"))?;
        Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    async fn insert_user(&self, user: NewUser) -> Result<bool, AccountError> {
        let NewUser { name, display, roles, hash, must_change } = user;
        let client = self.client().await?;
        let inserted = client
            .execute(
                "INSERT INTO users (name, display, roles, password, created_at, must_change)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
                &[&name, &display, &roles, &hash, &time_text(Utc::now()), &must_change],
            )
            .await
            .map_err(db("creating a user"))?;
        Ok(inserted > 0)
    }

    async fn update_user(&self, change: UserChange<'_>) -> Result<bool, AccountError> {
        let UserChange { name, display, roles, hash, demotes } = change;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db("updating a user"))?;
        if demotes {
            super::keeps_an_admin(&locked_roles(&tx).await?, name)?;
        }
        let changed = tx
            .execute("UPDATE users SET display = $2, roles = $3 WHERE name = $1", &[&name, &display, &roles])
            .await
            .map_err(db("updating a user"))?;
        if changed == 0 {
            return Ok(false);
        }
        if let Some(hash) = hash {
            tx.execute("UPDATE users SET password = $2, must_change = TRUE WHERE name = $1", &[&name, &hash])
                .await
                .map_err(db("changing a password"))?;
        }
        tx.execute(r#"DELETE FROM tokens WHERE "user" = $1"#, &[&name]).await.map_err(db("ending sign-ins"))?;
        tx.commit().await.map_err(db("updating a user"))?;
        Ok(true)
    }

    async fn delete_user(&self, name: &str) -> Result<bool, AccountError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db("deleting a user"))?;
        super::keeps_an_admin(&locked_roles(&tx).await?, name)?;
        let deleted = tx.execute("DELETE FROM users WHERE name = $1", &[&name]).await.map_err(db("deleting a user"))?;
        tx.execute(r#"DELETE FROM tokens WHERE "user" = $1"#, &[&name]).await.map_err(db("ending sign-ins"))?;
        tx.commit().await.map_err(db("deleting a user"))?;
        Ok(deleted > 0)
    }

    async fn set_disabled(&self, name: &str, disabled: bool) -> Result<bool, AccountError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db("disabling a user"))?;
        if disabled {
            super::keeps_an_admin(&locked_roles(&tx).await?, name)?;
        }
        let changed = tx
            .execute("UPDATE users SET disabled = $2 WHERE name = $1", &[&name, &disabled])
            .await
            .map_err(db("disabling a user"))?;
        if changed == 0 {
            return Ok(false);
        }
        if disabled {
            tx.execute(r#"DELETE FROM tokens WHERE "user" = $1"#, &[&name]).await.map_err(db("ending sign-ins"))?;
        }
        tx.commit().await.map_err(db("disabling a user"))?;
        Ok(true)
    }

    async fn set_password(&self, name: &str, hash: &str, must_change: bool, keep: &[u8]) -> Result<bool, AccountError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db("changing a password"))?;
        let changed = tx
            .execute("UPDATE users SET password = $2, must_change = $3 WHERE name = $1", &[&name, &hash, &must_change])
            .await
            .map_err(db("changing a password"))?;
        if changed == 0 {
            return Ok(false);
        }
        tx.execute(r#"DELETE FROM tokens WHERE "user" = $1 AND hash <> $2"#, &[&name, &keep])
            .await
            .map_err(db("ending sign-ins"))?;
        tx.commit().await.map_err(db("changing a password"))?;
        Ok(true)
    }

    async fn user(&self, name: &str) -> Result<Option<Stored>, AccountError> {
        let client = self.client().await?;
        let row = client
            .query_opt(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1"), &[&name])
            .await
            .map_err(db("reading a user"))?;
        Ok(row.as_ref().map(stored))
    }

    async fn users(&self) -> Result<Vec<Stored>, AccountError> {
        let client = self.client().await?;
        let rows = client
            .query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"), &[])
            .await
            .map_err(db("reading users"))?;
        Ok(rows.iter().map(stored).collect())
    }

    async fn user_with_password(&self, name: &str) -> Result<Option<(Stored, String)>, AccountError> {
        let client = self.client().await?;
        let row = client
            .query_opt(&format!("SELECT {USER_COLUMNS}, password FROM users WHERE name = $1"), &[&name])
            .await
            .map_err(db("reading a user"))?;
        Ok(row.map(|r| (stored(&r), r.get(5))))
    }
}

#[async_trait]
impl SessionStore for PgAccounts {
    /// Every node on the database shares the sign-ins.
    fn shared(&self) -> bool {
        true
    }

    async fn insert_token(&self, token: NewToken) -> Result<(), AccountError> {
        let client = self.client().await?;
        client
            .execute(
                r#"INSERT INTO tokens (hash, "user", expires_at, id, created_at, address, agent)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
                &[
                    &&token.key[..],
                    &token.user,
                    &time_text(token.expires),
                    &token.id,
                    &time_text(token.created),
                    &token.address,
                    &token.agent,
                ],
            )
            .await
            .map_err(db("storing a sign-in"))?;
        client
            .execute("DELETE FROM tokens WHERE expires_at < $1", &[&time_text(Utc::now())])
            .await
            .map_err(db("dropping expired sign-ins"))?;
        Ok(())
    }

    /// One query: the sign-in with its user's row.
    async fn token(&self, key: &[u8; 32]) -> Result<Option<StoredToken>, AccountError> {
        let key = &key[..];
        let client = self.client().await?;
        let row = client
            .query_opt(
                r#"SELECT u.name, u.display, u.roles, u.disabled, u.must_change, t.expires_at, t.id
                   FROM tokens t JOIN users u ON u.name = t."user" WHERE t.hash = $1"#,
                &[&key],
            )
            .await
            .map_err(db("checking a sign-in"))?;
        row.map(|r| {
            Ok(StoredToken {
                user: stored(&r),
                expires: parse_time(r.get(5))?,
                id: r.get::<_, Option<String>>(6).unwrap_or_default(),
            })
        })
        .transpose()
    }

    async fn sessions(&self, name: &str) -> Result<Vec<SessionInfo>, AccountError> {
        let client = self.client().await?;
        let rows = client
            .query(
                r#"SELECT id, created_at, expires_at, address, agent FROM tokens
                   WHERE "user" = $1 AND expires_at > $2"#,
                &[&name, &time_text(Utc::now())],
            )
            .await
            .map_err(db("reading sign-ins"))?;
        rows.iter()
            .map(|r| {
                Ok(SessionInfo {
                    id: r.get::<_, Option<String>>(0).unwrap_or_default(),
                    created_at: r.get::<_, Option<&str>>(1).map(parse_time).transpose()?,
                    expires_at: parse_time(r.get(2))?,
                    address: r.get(3),
                    agent: r.get(4),
                    current: false,
                })
            })
            .collect()
    }

    async fn delete_session(&self, name: &str, id: &str) -> Result<bool, AccountError> {
        let client = self.client().await?;
        let deleted = client
            .execute(r#"DELETE FROM tokens WHERE "user" = $1 AND id = $2"#, &[&name, &id])
            .await
            .map_err(db("ending a sign-in"))?;
        Ok(deleted > 0)
    }

    async fn delete_token(&self, key: &[u8; 32]) -> Result<(), AccountError> {
        let key = &key[..];
        let client = self.client().await?;
        client.execute("DELETE FROM tokens WHERE hash = $1", &[&key]).await.map_err(db("signing out"))?;
        Ok(())
    }
}

#[async_trait]
impl AuditLog for PgAccounts {
    fn audit(&self, entry: AuditEntry) {
        match self.audit.lock().as_deref() {
            Ok(Some(sender)) => {
                let _ = sender.send(entry);
            }
            // After `close` (the server is stopping): nothing more is written.
            _ => eprintln!("alur: audit log closed: {} {} {}", entry.user, entry.action, entry.target),
        }
    }

    async fn audit_entries(&self, limit: usize) -> Result<Vec<AuditEntry>, AccountError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(r#"SELECT at, "user", action, target, status FROM audit ORDER BY id DESC LIMIT $1"#, &[&limit])
            .await
            .map_err(db("reading the audit log"))?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: parse_time(r.get(0))?,
                    user: r.get(1),
                    action: r.get(2),
                    target: r.get(3),
                    status: u16::try_from(r.get::<_, i32>(4)).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn close(&self) {
        if let Ok(mut sender) = self.audit.lock() {
            sender.take();
        }
        // The writer ends once the queue is empty: every entry recorded so far is written.
        if let Some(writer) = self.writer.lock().await.take() {
            if writer.await.is_err() {
                eprintln!("alur: audit log: the writer task failed");
            }
        }
    }
}

async fn migrate(pool: &Pool) -> Result<(), AccountError> {
    let mut client = connection(pool).await?;
    crate::runtime::store::run_postgres_migrations(&mut client, MIGRATIONS, "accounts_schema_version", MIGRATION_LOCK)
        .await
        .map_err(|problem| AccountError::Backend(format!("postgres accounts: {problem}")))
}

/// Writes audit entries in batches (one multi-row insert) until every sender is gone.
async fn audit_writer(pool: Pool, mut receiver: mpsc::UnboundedReceiver<AuditEntry>) {
    while let Some(first) = receiver.recv().await {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let mut batch = vec![first];
        while let Ok(more) = receiver.try_recv() {
            batch.push(more);
        }
        if let Err(error) = write_audit(&pool, &batch).await {
            eprintln!("alur: audit log: {error}");
        }
    }
}

async fn write_audit(pool: &Pool, entries: &[AuditEntry]) -> Result<(), AccountError> {
    let client = connection(pool).await?;
    let ats: Vec<String> = entries.iter().map(|e| time_text(e.at)).collect();
    let users: Vec<&str> = entries.iter().map(|e| e.user.as_str()).collect();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    let targets: Vec<&str> = entries.iter().map(|e| e.target.as_str()).collect();
    let statuses: Vec<i32> = entries.iter().map(|e| i32::from(e.status)).collect();
    client
        .execute(
            r#"INSERT INTO audit (at, "user", action, target, status)
               SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::INTEGER[])"#,
            &[&ats, &users, &actions, &targets, &statuses],
        )
        .await
        .map_err(db("writing the audit log"))?;
    Ok(())
}

/// Every user's name, roles and whether they are disabled, locked for the rest of the
/// transaction: two admins demoting (or disabling) each other at once on two nodes cannot both
/// see the other one still an admin.
async fn locked_roles(tx: &tokio_postgres::Transaction<'_>) -> Result<Vec<(String, String, bool)>, AccountError> {
    let rows =
        tx.query("SELECT name, roles, disabled FROM users FOR UPDATE", &[]).await.map_err(db("reading the admins"))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}
