//! Users, their roles, sign-in tokens and the audit log, kept beside the events: in the
//! SQLite file, or in PostgreSQL (`postgres`) where several `alur serve` nodes share them.
//!
//! Passwords are hashed with argon2. A sign-in gives a random token; only its SHA-256 is
//! stored, and valid tokens are cached in memory so checking one costs a hash lookup, not a
//! database read (a token from another node, or from before a restart, is looked up in the
//! database once). Audit entries go through a writer in batches, so a case command waits for
//! its own event (the durable record of who did what to a case) and not for its audit line
//! as well.
//!
//! A user may be disabled (no sign-in; their sign-ins end) or have to change their password
//! (after an admin's reset, or the first admin's printed one): the front ends then refuse
//! everything but the change. Each sign-in has an id of its own (never the token's hash), when
//! and from where it was made, so its user and the admins can list and end it.
//!
//! The methods are synchronous (as the SQLite backend is); the server calls them through
//! [`Accounts::blocking`], on tokio's blocking threads, since argon2 and the database calls
//! would otherwise hold up an async worker (only [`Accounts::cached_session`], a map look-up,
//! runs on the worker). The PostgreSQL backend runs its queries on the server's runtime with
//! `tokio::task::block_in_place`: it needs the multi-thread runtime `alur serve` runs on, and
//! says so (an error, not a panic) on any other.

pub mod policy;
mod postgres;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, RwLock};

use crate::diagnostic::Text;
use crate::t;

/// What a user may do. Actor roles are the ids of the SOPs' pelaksana (`front_office`,
/// `kabid_perizinan`...); the others are the same for every SOP.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages users and deploys SOPs.
    Admin,
    /// Reads SOPs, every case and the reports.
    Analyst,
    /// Submits applications and sees only their own cases.
    Applicant,
    /// Works the tasks of one actor of the SOPs.
    Actor(String),
}

impl Role {
    /// `admin`, `analyst`, `applicant`, or an actor id.
    pub fn parse(text: &str) -> Result<Role, String> {
        let text = text.trim();
        // `actor:admin` names the desk of an SOP whose actor id is a reserved word.
        if let Some(actor) = text.strip_prefix("actor:") {
            return match Role::parse(actor)? {
                Role::Actor(a) => Ok(Role::Actor(a)),
                _ => Ok(Role::Actor(actor.to_string())),
            };
        }
        match text {
            "admin" => Ok(Role::Admin),
            "analyst" | "analis" => Ok(Role::Analyst),
            "applicant" | "pemohon_umum" => Ok(Role::Applicant),
            "" => Err("empty role".into()),
            actor if actor.chars().all(|c| c.is_alphanumeric() || c == '_') => Ok(Role::Actor(actor.to_string())),
            other => Err(format!("`{other}` is not a role: use admin, analyst, applicant or an actor id")),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Role::Admin => "admin".into(),
            Role::Analyst => "analyst".into(),
            Role::Applicant => "applicant".into(),
            Role::Actor(a) if matches!(a.as_str(), "admin" | "analyst" | "analis" | "applicant" | "pemohon_umum") => {
                format!("actor:{a}")
            }
            Role::Actor(a) => a.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    /// The sign-in name.
    pub name: String,
    pub display: String,
    pub roles: Vec<Role>,
}

impl User {
    pub fn has(&self, role: &Role) -> bool {
        self.roles.contains(role)
    }
    pub fn is_admin(&self) -> bool {
        self.has(&Role::Admin)
    }
    pub fn is_analyst(&self) -> bool {
        self.has(&Role::Analyst) || self.is_admin()
    }
    pub fn is_applicant(&self) -> bool {
        self.has(&Role::Applicant)
    }
    /// The actor ids this user works as.
    pub fn actors(&self) -> Vec<String> {
        self.roles
            .iter()
            .filter_map(|r| match r {
                Role::Actor(a) => Some(a.clone()),
                _ => None,
            })
            .collect()
    }
    pub fn is_staff(&self) -> bool {
        self.roles.iter().any(|r| matches!(r, Role::Actor(_)))
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub user: String,
    pub action: String,
    pub target: String,
    /// The HTTP status the action ended with.
    pub status: u16,
}

/// A user and the state of their account, as admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Account {
    #[serde(flatten)]
    pub user: User,
    /// A disabled user cannot sign in; their sign-ins ended when they were disabled.
    pub disabled: bool,
    /// Their password was set by an admin (a reset) or printed at start-up: until they change
    /// it, they can do nothing else.
    pub must_change_password: bool,
}

/// A valid sign-in: whose it is, its id (to list and end it), and whether its user has to
/// change their password before anything else.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: Arc<User>,
    pub id: String,
    pub must_change_password: bool,
}

/// What a sign-in attempt gave.
#[derive(Debug)]
pub enum SignIn {
    Granted {
        token: String,
        expires: DateTime<Utc>,
        session: Session,
    },
    /// A wrong user name or password (which of the two is not said).
    Refused,
    /// The right password of a disabled user.
    Disabled,
}

/// Where a sign-in comes from, kept with it so that its user can tell their sign-ins apart.
#[derive(Clone, Debug, Default)]
pub struct Client {
    pub address: Option<String>,
    /// The `User-Agent` (at most [`AUDIT_FIELD_CHARS`] characters are kept).
    pub agent: Option<String>,
}

/// A sign-in as its user and the admins see it: never its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// Names the sign-in to end it (`DELETE /api/me/sessions/{id}`).
    pub id: String,
    /// When it was made (unknown for sign-ins made before alur recorded it).
    pub created_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// The client's address as the server saw it (a proxy's, behind one).
    pub address: Option<String>,
    /// The client's `User-Agent`.
    pub agent: Option<String>,
    /// The sign-in this request was made with.
    pub current: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("user `{0}` exists already")]
    Exists(String),
    #[error("user `{0}` does not exist")]
    Unknown(String),
    /// A user name or password that is not accepted: why, in both languages.
    #[error("{}", .0.en)]
    Invalid(Text),
    /// The change would leave no user with the admin role who can sign in.
    #[error("`{0}` is the last admin: give another user the admin role first")]
    LastAdmin(String),
    /// Changing one's own password: the current password given is not it.
    #[error("the current password is wrong")]
    WrongPassword,
    /// `(user, id)`: the user has no sign-in with this id (ended, expired, or never theirs).
    #[error("`{0}` has no sign-in `{1}`")]
    UnknownSession(String, String),
    #[error("account store: {0}")]
    Backend(String),
}

fn backend(e: impl std::fmt::Display) -> AccountError {
    AccountError::Backend(e.to_string())
}

/// How long a sign-in lasts.
pub const TOKEN_LIFETIME: Duration = Duration::hours(12);

/// With several nodes, how long a cached token is trusted before it is checked against the
/// database again: a sign-out, a changed password or roles, a disabled or deleted user, or an
/// ended sign-in on one node take effect on the others within this bound. (One node alone
/// forgets at once.)
pub const SHARED_TOKEN_RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

struct Cached {
    user: Arc<User>,
    id: String,
    must_change: bool,
    expires: DateTime<Utc>,
    /// When the database last confirmed the token.
    checked: std::time::Instant,
}

impl Cached {
    fn session(&self) -> Session {
        Session { user: self.user.clone(), id: self.id.clone(), must_change_password: self.must_change }
    }
}

/// A user as stored: roles as JSON.
pub(super) struct Stored {
    pub name: String,
    pub display: String,
    pub roles: String,
    pub disabled: bool,
    pub must_change: bool,
}

impl Stored {
    fn user(&self) -> Result<User, AccountError> {
        let roles = serde_json::from_str(&self.roles).map_err(backend)?;
        Ok(User { name: self.name.clone(), display: self.display.clone(), roles })
    }

    fn account(&self) -> Result<Account, AccountError> {
        Ok(Account { user: self.user()?, disabled: self.disabled, must_change_password: self.must_change })
    }
}

/// A stored sign-in, found by its token's hash: its user, when it expires, its id.
pub(super) struct StoredToken {
    pub user: Stored,
    pub expires: DateTime<Utc>,
    pub id: String,
}

pub struct Accounts {
    backend: Backend,
    tokens: RwLock<HashMap<[u8; 32], Cached>>,
    /// How long a sign-in lasts ([`TOKEN_LIFETIME`] unless the settings say otherwise).
    lifetime: Duration,
}

enum Backend {
    Sqlite { db: Mutex<Connection>, audit: AuditSink },
    Postgres(postgres::PgAccounts),
}

enum AuditSink {
    /// A writer thread on the audit file (its own file: a second writer on the events'
    /// file would make the event store's commits wait for the audit log's).
    Writer {
        /// Taken by [`Accounts::close`]: the thread then writes what is queued and ends.
        sender: Mutex<Option<mpsc::Sender<AuditEntry>>>,
        thread: Mutex<Option<std::thread::JoinHandle<()>>>,
        path: std::path::PathBuf,
    },
    Inline,
}

/// The audit log beside the database: `alur.db` keeps it in `alur-audit.db`.
pub fn audit_path(db: &Path) -> std::path::PathBuf {
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

fn connect(path: Option<&Path>) -> Result<Connection, AccountError> {
    let conn = match path {
        Some(path) => Connection::open(path).map_err(backend)?,
        None => Connection::open_in_memory().map_err(backend)?,
    };
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(backend)?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;").map_err(backend)?;
    Ok(conn)
}

/// The accounts' connection, its tables brought up to date.
fn open_connection(path: Option<&Path>) -> Result<Connection, AccountError> {
    let mut conn = connect(path)?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn open_audit(path: &Path) -> Result<Connection, AccountError> {
    let conn = connect(Some(path))?;
    conn.execute_batch(AUDIT_SCHEMA).map_err(backend)?;
    Ok(conn)
}

/// Applies the migrations the file has not had, each in a transaction taken for writing at
/// once (another process opening the file meanwhile waits, then sees the version reached).
fn migrate(conn: &mut Connection) -> Result<(), AccountError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS accounts_schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(backend)?;
    let known = MIGRATIONS.len() as i64;
    for (index, step) in MIGRATIONS.iter().enumerate() {
        let target = index as i64 + 1;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
        let version: i64 = tx
            .query_row("SELECT COALESCE(MAX(version), 0) FROM accounts_schema_version", [], |r| r.get(0))
            .map_err(backend)?;
        if version > known {
            return Err(AccountError::Backend(format!(
                "the accounts' tables have schema version {version}, newer than this alur knows ({known})"
            )));
        }
        if version < target {
            tx.execute_batch(step).map_err(|e| AccountError::Backend(format!("migrating the accounts: {e}")))?;
            tx.execute(
                "INSERT INTO accounts_schema_version (version, applied_at) VALUES (?1, ?2)",
                params![target, Utc::now().to_rfc3339()],
            )
            .map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
    }
    Ok(())
}

fn stored_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored { name: r.get(0)?, display: r.get(1)?, roles: r.get(2)?, disabled: r.get(3)?, must_change: r.get(4)? })
}

const USER_COLUMNS: &str = "name, display, roles, disabled, must_change";

impl Accounts {
    /// The same accounts, with sign-ins lasting `lifetime`.
    pub fn with_session_lifetime(mut self, lifetime: Duration) -> Accounts {
        self.lifetime = lifetime;
        self
    }

    /// How long a sign-in lasts.
    pub fn session_lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Accounts in the SQLite file `path` (the events' database), or in memory for tests.
    pub fn open(path: Option<&Path>) -> Result<Accounts, AccountError> {
        let conn = open_connection(path)?;
        let audit = match path {
            // A file: a writer thread with its own connection writes entries in batches.
            Some(path) => {
                let writer = open_audit(&audit_path(path))?;
                let (sender, receiver) = mpsc::channel::<AuditEntry>();
                let thread = std::thread::Builder::new()
                    .name("alur-audit".into())
                    .spawn(move || audit_writer(writer, receiver))
                    .map_err(backend)?;
                AuditSink::Writer {
                    sender: Mutex::new(Some(sender)),
                    thread: Mutex::new(Some(thread)),
                    path: audit_path(path),
                }
            }
            // In memory (tests): a second in-memory connection would be another database.
            None => AuditSink::Inline,
        };
        Ok(Accounts {
            backend: Backend::Sqlite { db: Mutex::new(conn), audit },
            tokens: RwLock::new(HashMap::new()),
            lifetime: TOKEN_LIFETIME,
        })
    }

    /// Accounts in PostgreSQL, on the event store's pool (`PostgresStore::pool`): the tables
    /// are created or brought up to date in the store's schema.
    pub async fn open_postgres(pool: deadpool_postgres::Pool) -> Result<Accounts, AccountError> {
        let backend = Backend::Postgres(postgres::PgAccounts::open(pool).await?);
        Ok(Accounts { backend, tokens: RwLock::new(HashMap::new()), lifetime: TOKEN_LIFETIME })
    }

    /// Runs `work` on a thread of tokio's blocking pool, so that password hashing (argon2 is
    /// slow on purpose) and database calls do not hold up an async worker.
    pub async fn blocking<T, F>(self: &Arc<Self>, work: F) -> Result<T, AccountError>
    where
        T: Send + 'static,
        F: FnOnce(&Accounts) -> Result<T, AccountError> + Send + 'static,
    {
        let accounts = self.clone();
        tokio::task::spawn_blocking(move || work(&accounts))
            .await
            .map_err(|e| AccountError::Backend(format!("account work on a blocking thread: {e}")))?
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, AccountError> {
        match &self.backend {
            Backend::Sqlite { db, .. } => {
                db.lock().map_err(|_| AccountError::Backend("account database lock poisoned".into()))
            }
            Backend::Postgres(_) => Err(AccountError::Backend("no SQLite account database".into())),
        }
    }

    /// The PostgreSQL backend, if that is the one.
    fn pg(&self) -> Option<&postgres::PgAccounts> {
        match &self.backend {
            Backend::Postgres(pg) => Some(pg),
            Backend::Sqlite { .. } => None,
        }
    }

    pub fn user_count(&self) -> Result<usize, AccountError> {
        if let Some(pg) = self.pg() {
            return block(pg, pg.user_count())?;
        }
        let conn = self.conn()?;
        conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get::<_, i64>(0)).map(|n| n as usize).map_err(backend)
    }

    pub fn create_user(&self, user: &User, password: &str) -> Result<(), AccountError> {
        self.create_account(user, password, false)
    }

    /// Creates a user; with `must_change`, they must change the password at their first sign-in
    /// before they can do anything else.
    pub fn create_account(&self, user: &User, password: &str, must_change: bool) -> Result<(), AccountError> {
        validate_name(&user.name)?;
        too_short(password)?;
        let hash = hash_password(password)?;
        let roles = serde_json::to_string(&user.roles).map_err(backend)?;
        if let Some(pg) = self.pg() {
            if !block(pg, pg.insert_user(&user.name, &user.display, &roles, &hash, must_change))?? {
                return Err(AccountError::Exists(user.name.clone()));
            }
            return Ok(());
        }
        let conn = self.conn()?;
        let inserted = conn
            .execute(
                "INSERT OR IGNORE INTO users (name, display, roles, password, created_at, must_change)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![user.name, user.display, roles, hash, Utc::now().to_rfc3339(), must_change],
            )
            .map_err(backend)?;
        if inserted == 0 {
            return Err(AccountError::Exists(user.name.clone()));
        }
        Ok(())
    }

    /// Changes a user's display name, roles and (when given) password. Their sign-ins end. A
    /// password given here is one an admin sets (a reset): the user must change it at their
    /// next sign-in. Taking the admin role from the last admin who can sign in is refused
    /// ([`AccountError::LastAdmin`]).
    pub fn update_user(&self, user: &User, password: Option<&str>) -> Result<(), AccountError> {
        if let Some(password) = password {
            too_short(password)?;
        }
        let roles = serde_json::to_string(&user.roles).map_err(backend)?;
        let demotes = !user.is_admin();
        let hash = password.map(hash_password).transpose()?;
        if let Some(pg) = self.pg() {
            if !block(pg, pg.update_user(&user.name, &user.display, &roles, hash.as_deref(), demotes))?? {
                return Err(AccountError::Unknown(user.name.clone()));
            }
            self.forget_user(&user.name, None);
            return Ok(());
        }
        let mut conn = self.conn()?;
        // One transaction, taken for writing at once: two admins demoting each other from two
        // processes cannot both see the other one still an admin.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
        if demotes {
            keeps_an_admin(&sqlite_roles(&tx)?, &user.name)?;
        }
        let changed = tx
            .execute(
                "UPDATE users SET display = ?2, roles = ?3 WHERE name = ?1",
                params![user.name, user.display, roles],
            )
            .map_err(backend)?;
        if changed == 0 {
            return Err(AccountError::Unknown(user.name.clone()));
        }
        if let Some(hash) = hash {
            tx.execute("UPDATE users SET password = ?2, must_change = 1 WHERE name = ?1", params![user.name, hash])
                .map_err(backend)?;
        }
        tx.execute("DELETE FROM tokens WHERE user = ?1", params![user.name]).map_err(backend)?;
        tx.commit().map_err(backend)?;
        drop(conn);
        self.forget_user(&user.name, None);
        Ok(())
    }

    /// Deletes a user and ends their sign-ins; the last admin is not deleted.
    pub fn delete_user(&self, name: &str) -> Result<(), AccountError> {
        if let Some(pg) = self.pg() {
            if !block(pg, pg.delete_user(name))?? {
                return Err(AccountError::Unknown(name.to_string()));
            }
            self.forget_user(name, None);
            return Ok(());
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
        keeps_an_admin(&sqlite_roles(&tx)?, name)?;
        let deleted = tx.execute("DELETE FROM users WHERE name = ?1", params![name]).map_err(backend)?;
        if deleted == 0 {
            return Err(AccountError::Unknown(name.to_string()));
        }
        tx.execute("DELETE FROM tokens WHERE user = ?1", params![name]).map_err(backend)?;
        tx.commit().map_err(backend)?;
        drop(conn);
        self.forget_user(name, None);
        Ok(())
    }

    /// Disables a user (they cannot sign in, and their sign-ins end) or enables them again.
    /// Disabling the last admin who can sign in is refused ([`AccountError::LastAdmin`]).
    pub fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), AccountError> {
        if let Some(pg) = self.pg() {
            if !block(pg, pg.set_disabled(name, disabled))?? {
                return Err(AccountError::Unknown(name.to_string()));
            }
        } else {
            let mut conn = self.conn()?;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
            if disabled {
                keeps_an_admin(&sqlite_roles(&tx)?, name)?;
            }
            let changed = tx
                .execute("UPDATE users SET disabled = ?2 WHERE name = ?1", params![name, disabled])
                .map_err(backend)?;
            if changed == 0 {
                return Err(AccountError::Unknown(name.to_string()));
            }
            if disabled {
                tx.execute("DELETE FROM tokens WHERE user = ?1", params![name]).map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
        }
        if disabled {
            self.forget_user(name, None);
        }
        Ok(())
    }

    /// An admin's reset: `password` becomes the user's, who must change it at their next
    /// sign-in; their sign-ins end.
    pub fn reset_password(&self, name: &str, password: &str) -> Result<(), AccountError> {
        too_short(password)?;
        let hash = hash_password(password)?;
        self.set_password(name, &hash, true, None)
    }

    /// A user changes their own password: `old` must be the current one and `new` another.
    /// Their other sign-ins end; the one made with `current` (the token of the request) goes
    /// on, and no longer has to change the password. The front ends apply the password
    /// policy ([`policy::weak_password`]) first.
    pub fn change_password(&self, name: &str, old: &str, new: &str, current: &str) -> Result<(), AccountError> {
        too_short(new)?;
        let found = self.stored_with_password(name)?;
        let Some((_, hash)) = found else { return Err(AccountError::Unknown(name.to_string())) };
        if !verify_password(old, &hash) {
            return Err(AccountError::WrongPassword);
        }
        if old == new {
            return Err(AccountError::Invalid(t!(
                "kata sandi baru harus berbeda dari yang sekarang",
                "the new password must differ from the current one"
            )));
        }
        let hash = hash_password(new)?;
        self.set_password(name, &hash, false, Some(token_key(current)))
    }

    /// Stores a password hash, ending every sign-in of the user but `keep`.
    fn set_password(
        &self,
        name: &str,
        hash: &str,
        must_change: bool,
        keep: Option<[u8; 32]>,
    ) -> Result<(), AccountError> {
        let keep_bytes: Vec<u8> = keep.map(|k| k.to_vec()).unwrap_or_default();
        if let Some(pg) = self.pg() {
            if !block(pg, pg.set_password(name, hash, must_change, &keep_bytes))?? {
                return Err(AccountError::Unknown(name.to_string()));
            }
        } else {
            let mut conn = self.conn()?;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
            let changed = tx
                .execute(
                    "UPDATE users SET password = ?2, must_change = ?3 WHERE name = ?1",
                    params![name, hash, must_change],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(AccountError::Unknown(name.to_string()));
            }
            tx.execute("DELETE FROM tokens WHERE user = ?1 AND hash <> ?2", params![name, keep_bytes])
                .map_err(backend)?;
            tx.commit().map_err(backend)?;
        }
        self.forget_user(name, keep);
        if let (Some(keep), Ok(mut tokens)) = (keep, self.tokens.write()) {
            if let Some(cached) = tokens.get_mut(&keep) {
                cached.must_change = must_change;
            }
        }
        Ok(())
    }

    /// Drops the cached sign-ins of a user, but `keep`.
    fn forget_user(&self, name: &str, keep: Option<[u8; 32]>) {
        if let Ok(mut tokens) = self.tokens.write() {
            tokens.retain(|key, c| c.user.name != name || Some(*key) == keep);
        }
    }

    pub fn user(&self, name: &str) -> Result<Option<User>, AccountError> {
        self.account(name).map(|a| a.map(|a| a.user))
    }

    pub fn users(&self) -> Result<Vec<User>, AccountError> {
        Ok(self.accounts()?.into_iter().map(|a| a.user).collect())
    }

    /// A user with the state of their account.
    pub fn account(&self, name: &str) -> Result<Option<Account>, AccountError> {
        let found = if let Some(pg) = self.pg() {
            block(pg, pg.user(name))??
        } else {
            let conn = self.conn()?;
            conn.query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"), params![name], stored_user)
                .optional()
                .map_err(backend)?
        };
        found.map(|s| s.account()).transpose()
    }

    /// Every user with the state of their account, by name.
    pub fn accounts(&self) -> Result<Vec<Account>, AccountError> {
        let stored = if let Some(pg) = self.pg() {
            block(pg, pg.users())??
        } else {
            let conn = self.conn()?;
            let mut statement =
                conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name")).map_err(backend)?;
            let rows = statement.query_map([], stored_user).map_err(backend)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend)?
        };
        stored.iter().map(Stored::account).collect()
    }

    fn stored_with_password(&self, name: &str) -> Result<Option<(Stored, String)>, AccountError> {
        if let Some(pg) = self.pg() {
            return block(pg, pg.user_with_password(name))?;
        }
        let conn = self.conn()?;
        conn.query_row(&format!("SELECT {USER_COLUMNS}, password FROM users WHERE name = ?1"), params![name], |r| {
            Ok((stored_user(r)?, r.get(5)?))
        })
        .optional()
        .map_err(backend)
    }

    /// Checks a password and gives a new token, or `None` when the name or password is wrong
    /// (which of the two is not said) or the user is disabled.
    pub fn sign_in(&self, name: &str, password: &str) -> Result<Option<(String, DateTime<Utc>)>, AccountError> {
        match self.sign_in_from(name, password, &Client::default())? {
            SignIn::Granted { token, expires, .. } => Ok(Some((token, expires))),
            SignIn::Refused | SignIn::Disabled => Ok(None),
        }
    }

    /// Checks a password and, for a user who is not disabled, makes a sign-in from `client`.
    pub fn sign_in_from(&self, name: &str, password: &str, client: &Client) -> Result<SignIn, AccountError> {
        let Some((stored, hash)) = self.stored_with_password(name)? else {
            // Spend the same time as a real check, so a wrong name is not faster than a wrong password.
            let _ = hash_password(password);
            return Ok(SignIn::Refused);
        };
        if !verify_password(password, &hash) {
            return Ok(SignIn::Refused);
        }
        if stored.disabled {
            return Ok(SignIn::Disabled);
        }
        let user = Arc::new(stored.user()?);
        let mut raw = [0u8; 32];
        rand::Rng::fill(&mut rand::thread_rng(), &mut raw[..]);
        let token = format!("alur_{}", hex(&raw));
        let key = token_key(&token);
        let id = new_session_id();
        let now = Utc::now();
        let expires = now + self.lifetime;
        let address = client.address.as_deref().map(bounded);
        let agent = client.agent.as_deref().map(bounded);
        if let Some(pg) = self.pg() {
            let made = postgres::NewToken {
                key: &key,
                user: &user.name,
                expires,
                id: &id,
                created: now,
                address: address.as_deref(),
                agent: agent.as_deref(),
            };
            block(pg, pg.insert_token(made))??;
        } else {
            let conn = self.conn()?;
            conn.execute(
                "INSERT INTO tokens (hash, user, expires_at, id, created_at, address, agent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![&key[..], user.name, expires.to_rfc3339(), id, now.to_rfc3339(), address, agent],
            )
            .map_err(backend)?;
            conn.execute("DELETE FROM tokens WHERE expires_at < ?1", params![now.to_rfc3339()]).map_err(backend)?;
        }
        let cached = Cached { user, id, must_change: stored.must_change, expires, checked: std::time::Instant::now() };
        let session = cached.session();
        if let Ok(mut tokens) = self.tokens.write() {
            tokens.insert(key, cached);
        }
        Ok(SignIn::Granted { token, expires, session })
    }

    /// The user a token belongs to, if it is valid and not expired.
    pub fn authenticate(&self, token: &str) -> Result<Option<Arc<User>>, AccountError> {
        Ok(self.session(token)?.map(|s| s.user))
    }

    /// What the cache alone says of a token: `Some(answer)` when it knows the token and may
    /// still trust what it knows, `None` when the database must be asked ([`Accounts::session`]).
    /// Costs a hash and a map look-up, so an async handler may call it on its worker.
    pub fn cached_session(&self, token: &str) -> Option<Option<Session>> {
        let key = token_key(token);
        let shared = self.pg().is_some();
        let tokens = self.tokens.read().ok()?;
        let cached = tokens.get(&key)?;
        if shared && cached.checked.elapsed() >= SHARED_TOKEN_RECHECK {
            return None;
        }
        Some((cached.expires > Utc::now()).then(|| cached.session()))
    }

    /// The sign-in a token is, if it is valid and not expired (its user not disabled).
    pub fn session(&self, token: &str) -> Result<Option<Session>, AccountError> {
        if let Some(known) = self.cached_session(token) {
            return Ok(known);
        }
        // Not cached (issued by another node or process, or before a restart), or due for a
        // check against the database.
        let key = token_key(token);
        let found = if let Some(pg) = self.pg() {
            block(pg, pg.token(&key))??
        } else {
            let conn = self.conn()?;
            let row = conn
                .query_row(
                    "SELECT u.name, u.display, u.roles, u.disabled, u.must_change, t.expires_at, t.id
                     FROM tokens t JOIN users u ON u.name = t.user WHERE t.hash = ?1",
                    params![&key[..]],
                    |r| Ok((stored_user(r)?, r.get::<_, String>(5)?, r.get::<_, Option<String>>(6)?)),
                )
                .optional()
                .map_err(backend)?;
            match row {
                None => None,
                Some((user, expires, id)) => {
                    let expires = DateTime::parse_from_rfc3339(&expires).map_err(backend)?.with_timezone(&Utc);
                    Some(StoredToken { user, expires, id: id.unwrap_or_default() })
                }
            }
        };
        let Some(found) = found.filter(|t| t.expires > Utc::now() && !t.user.disabled) else {
            if let Ok(mut tokens) = self.tokens.write() {
                tokens.remove(&key);
            }
            return Ok(None);
        };
        let cached = Cached {
            user: Arc::new(found.user.user()?),
            id: found.id,
            must_change: found.user.must_change,
            expires: found.expires,
            checked: std::time::Instant::now(),
        };
        let session = cached.session();
        if let Ok(mut tokens) = self.tokens.write() {
            tokens.insert(key, cached);
        }
        Ok(Some(session))
    }

    pub fn sign_out(&self, token: &str) -> Result<(), AccountError> {
        let key = token_key(token);
        if let Ok(mut tokens) = self.tokens.write() {
            tokens.remove(&key);
        }
        if let Some(pg) = self.pg() {
            return block(pg, pg.delete_token(&key))?;
        }
        let conn = self.conn()?;
        conn.execute("DELETE FROM tokens WHERE hash = ?1", params![&key[..]]).map_err(backend)?;
        Ok(())
    }

    /// A user's sign-ins that have not expired, newest first (`current` is false in each: the
    /// caller knows which is its own).
    pub fn sessions(&self, name: &str) -> Result<Vec<SessionInfo>, AccountError> {
        let mut sessions = if let Some(pg) = self.pg() {
            block(pg, pg.sessions(name))??
        } else {
            let conn = self.conn()?;
            let mut statement = conn
                .prepare("SELECT id, created_at, expires_at, address, agent FROM tokens WHERE user = ?1")
                .map_err(backend)?;
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
                .map_err(backend)?;
            let parse = |text: &str| DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc));
            let mut sessions = Vec::new();
            for row in rows {
                let (id, created, expires, address, agent) = row.map_err(backend)?;
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
            sessions
        };
        let now = Utc::now();
        sessions.retain(|s| s.expires_at > now);
        sessions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(sessions)
    }

    /// Ends one sign-in of a user, named by its id ([`AccountError::UnknownSession`] when the
    /// user has none by that id).
    pub fn revoke_session(&self, name: &str, id: &str) -> Result<(), AccountError> {
        let deleted = if let Some(pg) = self.pg() {
            block(pg, pg.delete_session(name, id))??
        } else {
            let conn = self.conn()?;
            conn.execute("DELETE FROM tokens WHERE user = ?1 AND id = ?2", params![name, id]).map_err(backend)? > 0
        };
        if !deleted {
            return Err(AccountError::UnknownSession(name.to_string(), bounded_to(id, 64)));
        }
        if let Ok(mut tokens) = self.tokens.write() {
            tokens.retain(|_, c| !(c.user.name == name && c.id == id));
        }
        Ok(())
    }

    /// Records an action. Written in the background within milliseconds.
    pub fn audit(&self, user: &str, action: &str, target: &str, status: u16) {
        let entry = AuditEntry {
            at: Utc::now(),
            user: bounded(user),
            action: bounded(action),
            target: bounded(target),
            status,
        };
        let audit = match &self.backend {
            Backend::Postgres(pg) => return pg.audit(entry),
            Backend::Sqlite { audit, .. } => audit,
        };
        match audit {
            AuditSink::Writer { sender, .. } => match sender.lock().as_deref() {
                Ok(Some(sender)) => {
                    let _ = sender.send(entry);
                }
                // After `close` (the server is stopping): nothing more is written.
                _ => eprintln!("alur: audit log closed: {} {} {}", entry.user, entry.action, entry.target),
            },
            AuditSink::Inline => {
                if let Ok(mut conn) = self.conn() {
                    if let Err(error) = write_audit(&mut conn, &[entry]) {
                        eprintln!("alur: audit log: {error}");
                    }
                }
            }
        }
    }

    /// Writes every audit entry queued so far and closes the audit file (its WAL copied into
    /// it), waiting for the writer thread: the last thing a stopping server does with the
    /// accounts. Entries recorded afterwards are not written.
    pub fn close(&self) {
        let Backend::Sqlite { audit: AuditSink::Writer { sender, thread, .. }, .. } = &self.backend else { return };
        if let Ok(mut sender) = sender.lock() {
            sender.take();
        }
        let thread = thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            if thread.join().is_err() {
                eprintln!("alur: audit log: the writer thread failed");
            }
        }
    }

    /// The latest audit entries, newest first.
    pub fn audit_entries(&self, limit: usize) -> Result<Vec<AuditEntry>, AccountError> {
        let audit = match &self.backend {
            Backend::Postgres(pg) => return block(pg, pg.audit_entries(limit))?,
            Backend::Sqlite { audit, .. } => audit,
        };
        let own;
        let shared;
        let conn: &Connection = match audit {
            AuditSink::Writer { path, .. } => {
                own = open_audit(path)?;
                &own
            }
            AuditSink::Inline => {
                shared = self.conn()?;
                &shared
            }
        };
        let mut statement = conn
            .prepare("SELECT at, user, action, target, status FROM audit ORDER BY id DESC LIMIT ?1")
            .map_err(backend)?;
        let rows = statement
            .query_map(params![limit as i64], |r| {
                let at: String = r.get(0)?;
                Ok(AuditEntry {
                    at: DateTime::parse_from_rfc3339(&at).map(|t| t.with_timezone(&Utc)).unwrap_or_default(),
                    user: r.get(1)?,
                    action: r.get(2)?,
                    target: r.get(3)?,
                    status: r.get(4)?,
                })
            })
            .map_err(backend)?;
        rows.map(|r| r.map_err(backend)).collect()
    }
}

/// A new sign-in's id: 64 random bits in hex.
fn new_session_id() -> String {
    let mut raw = [0u8; 8];
    rand::Rng::fill(&mut rand::thread_rng(), &mut raw[..]);
    hex(&raw)
}

fn write_audit(conn: &mut Connection, entries: &[AuditEntry]) -> Result<(), AccountError> {
    if entries.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction().map_err(backend)?;
    {
        let mut insert = tx
            .prepare_cached("INSERT INTO audit (at, user, action, target, status) VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(backend)?;
        for e in entries {
            insert.execute(params![e.at.to_rfc3339(), e.user, e.action, e.target, e.status]).map_err(backend)?;
        }
    }
    tx.commit().map_err(backend)
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

/// Runs a query of the PostgreSQL backend to its end from synchronous code: on a worker of
/// the multi-thread runtime, in `block_in_place` (the worker's other tasks move elsewhere
/// meanwhile); outside any runtime, on the runtime the accounts were opened on (whose tasks
/// drive the pool's connections). The current-thread runtime cannot do either without
/// stalling, so there it is an error.
fn block<F: std::future::Future>(pg: &postgres::PgAccounts, query: F) -> Result<F::Output, AccountError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::CurrentThread => {
            Err(AccountError::Backend("the PostgreSQL account store needs the multi-thread tokio runtime".into()))
        }
        Ok(handle) => Ok(tokio::task::block_in_place(|| handle.block_on(query))),
        Err(_) => Ok(pg.runtime().block_on(query)),
    }
}

/// User names no account may take: the name the engine's own commands are recorded under
/// (`runtime::SYSTEM_USER`), in both languages.
pub const RESERVED_NAMES: &[&str] = &[crate::runtime::SYSTEM_USER, "sistem"];

/// Whether no account may be called `name` (in any case).
pub fn is_reserved(name: &str) -> bool {
    RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name.trim()))
}

fn validate_name(name: &str) -> Result<(), AccountError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if !ok {
        let shown = bounded_to(name, 64);
        return Err(AccountError::Invalid(t!(
            "`{shown}` bukan nama pengguna yang sah: pakai 1 sampai 64 huruf, angka, `_`, `-`, `.` atau `@`",
            "`{shown}` is not a valid user name: use 1 to 64 letters, digits, `_`, `-`, `.` or `@`"
        )));
    }
    if is_reserved(name) {
        return Err(AccountError::Invalid(t!(
            "nama `{name}` dipakai oleh alur sendiri (untuk tindakan sistem): pilih nama lain",
            "the name `{name}` is alur's own (for what the system does): choose another"
        )));
    }
    Ok(())
}

/// The floor every stored password meets, whoever sets it (the policy the front ends apply
/// is [`policy::weak_password`]).
fn too_short(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < 4 {
        return Err(AccountError::Invalid(t!(
            "kata sandi minimal 4 karakter",
            "the password needs at least 4 characters"
        )));
    }
    Ok(())
}

/// Every user's name, roles (as stored) and whether they are disabled, read inside a transaction.
fn sqlite_roles(conn: &Connection) -> Result<Vec<(String, String, bool)>, AccountError> {
    let mut statement = conn.prepare("SELECT name, roles, disabled FROM users").map_err(backend)?;
    let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(backend)?;
    rows.map(|r| r.map_err(backend)).collect()
}

/// Refuses a change that takes the admin role from `name` (demotion, deletion, disabling)
/// when `name` is an admin who can sign in and no other user is: `users` are every user's
/// name, roles (as stored) and whether they are disabled. A disabled admin is no admin here:
/// nobody could sign in to undo the change.
fn keeps_an_admin(users: &[(String, String, bool)], name: &str) -> Result<(), AccountError> {
    let admin = |roles: &str, disabled: bool| {
        !disabled && serde_json::from_str::<Vec<Role>>(roles).is_ok_and(|r| r.contains(&Role::Admin))
    };
    let is_admin = users.iter().any(|(n, r, d)| n == name && admin(r, *d));
    let others = users.iter().any(|(n, r, d)| n != name && admin(r, *d));
    if is_admin && !others {
        return Err(AccountError::LastAdmin(name.to_string()));
    }
    Ok(())
}

/// The most characters an audit field keeps.
pub const AUDIT_FIELD_CHARS: usize = 200;

/// An audit field as stored: at most [`AUDIT_FIELD_CHARS`] characters, a longer one cut with
/// an ellipsis and its length (`aaaa… [200000]`), so a 200,000-character user name typed at the
/// sign-in does not fill the log.
fn bounded(text: &str) -> String {
    bounded_to(text, AUDIT_FIELD_CHARS)
}

fn bounded_to(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… [{}]", &text[..cut], text.chars().count()),
    }
}

/// Argon2 work at once, at most one per core: each hash takes 19 MiB and a core for a while,
/// so a burst of sign-ins waits its turn instead of growing the server by 19 MiB per sign-in
/// (50 sign-ins at once grew it by 480 MB in the soak, `examples/soak_serve.rs`).
struct HashingSlots {
    busy: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

static HASHING: HashingSlots = HashingSlots { busy: std::sync::Mutex::new(0), freed: std::sync::Condvar::new() };

struct HashingSlot;

impl HashingSlots {
    fn take(&'static self) -> HashingSlot {
        static SLOTS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        let slots = *SLOTS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        if let Ok(mut busy) = self.busy.lock() {
            while *busy >= slots {
                match self.freed.wait(busy) {
                    Ok(again) => busy = again,
                    // A poisoned count only ever loses the limit, never a sign-in.
                    Err(_) => return HashingSlot,
                }
            }
            *busy += 1;
        }
        HashingSlot
    }
}

impl Drop for HashingSlot {
    fn drop(&mut self) {
        if let Ok(mut busy) = HASHING.busy.lock() {
            *busy = busy.saturating_sub(1);
        }
        HASHING.freed.notify_one();
    }
}

fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let _slot = HASHING.take();
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(backend)
}

fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let _slot = HASHING.take();
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random password (for the first admin, or an admin's reset) that meets the policy.
pub fn random_password() -> String {
    loop {
        let mut raw = [0u8; 9];
        rand::Rng::fill(&mut rand::thread_rng(), &mut raw[..]);
        let password = hex(&raw);
        if policy::weak_password("", &password).is_none() {
            return password;
        }
    }
}
