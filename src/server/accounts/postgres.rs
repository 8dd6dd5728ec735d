//! The accounts' PostgreSQL backend: the same tables as the SQLite one (`users`, `tokens`,
//! `audit`), in the events' database and schema, so every node of `alur serve` on that
//! database shares users, sign-ins and the audit log.
//!
//! The tables are created by migrations of their own (numbered in `accounts_schema_version`,
//! applied under an advisory lock so nodes starting at once migrate one at a time). Instants
//! are fixed-width RFC 3339 text in UTC (`COLLATE "C"`), as in the event store, so they
//! compare as text in time order.

use chrono::{DateTime, SecondsFormat, Utc};
use deadpool_postgres::Pool;
use tokio::sync::mpsc;

use super::{AccountError, AuditEntry};

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
];

/// Serializes the accounts' migrations in the database (an arbitrary constant, not the event
/// store's).
const MIGRATION_LOCK: i64 = 0x616c_7572_0002;

fn db(doing: &'static str) -> impl Fn(tokio_postgres::Error) -> AccountError {
    move |e| {
        AccountError::Backend(format!("postgres accounts: {doing}: {}", crate::runtime::store::postgres_detail(&e)))
    }
}

pub(super) fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, AccountError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| AccountError::Backend(format!("postgres accounts: bad timestamp `{text}`: {e}")))
}

/// A user row: name, display name, roles (JSON).
pub(super) type UserRow = (String, String, String);

pub(super) struct PgAccounts {
    pool: Pool,
    audit: mpsc::UnboundedSender<AuditEntry>,
    /// The runtime the accounts were opened on.
    runtime: tokio::runtime::Handle,
}

impl PgAccounts {
    /// The accounts on `pool` (whose connections work in the store's schema): migrates, and
    /// starts the audit writer (a task that writes entries in batches).
    pub(super) async fn open(pool: Pool) -> Result<PgAccounts, AccountError> {
        migrate(&pool).await?;
        let (audit, receiver) = mpsc::unbounded_channel();
        tokio::spawn(audit_writer(pool.clone(), receiver));
        Ok(PgAccounts { pool, audit, runtime: tokio::runtime::Handle::current() })
    }

    pub(super) fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, AccountError> {
        self.pool.get().await.map_err(|e| AccountError::Backend(format!("postgres accounts: connecting: {e}")))
    }

    pub(super) async fn user_count(&self) -> Result<usize, AccountError> {
        let client = self.client().await?;
        let row = client.query_one("SELECT COUNT(*) FROM users", &[]).await.map_err(db("counting users"))?;
        Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    /// False when the name is taken.
    pub(super) async fn insert_user(
        &self,
        name: &str,
        display: &str,
        roles: &str,
        hash: &str,
    ) -> Result<bool, AccountError> {
        let client = self.client().await?;
        let inserted = client
            .execute(
                "INSERT INTO users (name, display, roles, password, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &display, &roles, &hash, &time_text(Utc::now())],
            )
            .await
            .map_err(db("creating a user"))?;
        Ok(inserted > 0)
    }

    /// Changes a user and ends their sign-ins, in one transaction. False when there is no such user.
    pub(super) async fn update_user(
        &self,
        name: &str,
        display: &str,
        roles: &str,
        hash: Option<&str>,
        demotes: bool,
    ) -> Result<bool, AccountError> {
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
            tx.execute("UPDATE users SET password = $2 WHERE name = $1", &[&name, &hash])
                .await
                .map_err(db("changing a password"))?;
        }
        tx.execute(r#"DELETE FROM tokens WHERE "user" = $1"#, &[&name]).await.map_err(db("ending sign-ins"))?;
        tx.commit().await.map_err(db("updating a user"))?;
        Ok(true)
    }

    /// Deletes a user and their sign-ins. False when there is no such user.
    pub(super) async fn delete_user(&self, name: &str) -> Result<bool, AccountError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db("deleting a user"))?;
        super::keeps_an_admin(&locked_roles(&tx).await?, name)?;
        let deleted = tx.execute("DELETE FROM users WHERE name = $1", &[&name]).await.map_err(db("deleting a user"))?;
        tx.execute(r#"DELETE FROM tokens WHERE "user" = $1"#, &[&name]).await.map_err(db("ending sign-ins"))?;
        tx.commit().await.map_err(db("deleting a user"))?;
        Ok(deleted > 0)
    }

    pub(super) async fn user(&self, name: &str) -> Result<Option<UserRow>, AccountError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT name, display, roles FROM users WHERE name = $1", &[&name])
            .await
            .map_err(db("reading a user"))?;
        Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
    }

    pub(super) async fn users(&self) -> Result<Vec<UserRow>, AccountError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT name, display, roles FROM users ORDER BY name", &[])
            .await
            .map_err(db("reading users"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    /// The user and their password hash.
    pub(super) async fn user_with_password(&self, name: &str) -> Result<Option<(UserRow, String)>, AccountError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT name, display, roles, password FROM users WHERE name = $1", &[&name])
            .await
            .map_err(db("reading a user"))?;
        Ok(row.map(|r| ((r.get(0), r.get(1), r.get(2)), r.get(3))))
    }

    /// Stores a token's hash, and drops expired ones.
    pub(super) async fn insert_token(
        &self,
        key: &[u8],
        user: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        let client = self.client().await?;
        client
            .execute(
                r#"INSERT INTO tokens (hash, "user", expires_at) VALUES ($1, $2, $3)"#,
                &[&key, &user, &time_text(expires)],
            )
            .await
            .map_err(db("storing a sign-in"))?;
        client
            .execute("DELETE FROM tokens WHERE expires_at < $1", &[&time_text(Utc::now())])
            .await
            .map_err(db("dropping expired sign-ins"))?;
        Ok(())
    }

    /// The user a token hash belongs to (with the user's row, so the check is one query), and
    /// when it expires.
    pub(super) async fn token(&self, key: &[u8]) -> Result<Option<(UserRow, DateTime<Utc>)>, AccountError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                r#"SELECT u.name, u.display, u.roles, t.expires_at FROM tokens t JOIN users u ON u.name = t."user"
                   WHERE t.hash = $1"#,
                &[&key],
            )
            .await
            .map_err(db("checking a sign-in"))?;
        row.map(|r| Ok(((r.get(0), r.get(1), r.get(2)), parse_time(r.get(3))?))).transpose()
    }

    pub(super) async fn delete_token(&self, key: &[u8]) -> Result<(), AccountError> {
        let client = self.client().await?;
        client.execute("DELETE FROM tokens WHERE hash = $1", &[&key]).await.map_err(db("signing out"))?;
        Ok(())
    }

    pub(super) fn audit(&self, entry: AuditEntry) {
        let _ = self.audit.send(entry);
    }

    pub(super) async fn audit_entries(&self, limit: usize) -> Result<Vec<AuditEntry>, AccountError> {
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
}

async fn migrate(pool: &Pool) -> Result<(), AccountError> {
    let mut client =
        pool.get().await.map_err(|e| AccountError::Backend(format!("postgres accounts: connecting: {e}")))?;
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
    let client = pool.get().await.map_err(|e| AccountError::Backend(format!("postgres accounts: connecting: {e}")))?;
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

/// Every user's name and roles, locked for the rest of the transaction: two admins demoting
/// each other at once on two nodes cannot both see the other one still an admin.
async fn locked_roles(tx: &tokio_postgres::Transaction<'_>) -> Result<Vec<(String, String)>, AccountError> {
    let rows = tx.query("SELECT name, roles FROM users FOR UPDATE", &[]).await.map_err(db("reading the admins"))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
