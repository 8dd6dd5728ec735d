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
//! [`Accounts`] is what is common to every database: the token cache, the password floor,
//! argon2 on tokio's blocking threads (at most one hash per core), reserved names, bounded
//! audit fields. The database is behind the async traits of `store` (users, sign-ins, the
//! audit log), implemented by `sqlite` (rusqlite on blocking threads) and `postgres`
//! (tokio-postgres, natively async). Its methods are async and never block the worker they
//! run on, on either runtime flavour; only [`Accounts::cached_session`] (a map look-up) and
//! [`Accounts::audit`] (a queued entry) are synchronous.

pub mod policy;
mod postgres;
mod sqlite;
mod store;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

pub use sqlite::audit_path;
use store::{AccountStore, NewToken, NewUser, UserChange};

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
    /// The database is busy (another process holds its lock past the wait) or cannot be
    /// reached right now: nothing changed, and the same request may be tried again. The API
    /// answers 503 with `Retry-After`, as for the event store's transient errors.
    #[error("the account store is busy or unreachable ({doing}), try again: {cause}")]
    Unavailable {
        /// What was being done.
        doing: &'static str,
        /// The database's own words, for the log.
        cause: String,
    },
    #[error("account store: {0}")]
    Backend(String),
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
        let roles = serde_json::from_str(&self.roles)
            .map_err(|e| AccountError::Backend(format!("the roles of `{}` as stored: {e}", self.name)))?;
        Ok(User { name: self.name.clone(), display: self.display.clone(), roles })
    }

    fn account(&self) -> Result<Account, AccountError> {
        Ok(Account { user: self.user()?, disabled: self.disabled, must_change_password: self.must_change })
    }
}

pub struct Accounts {
    store: Box<dyn AccountStore>,
    tokens: RwLock<HashMap<[u8; 32], Cached>>,
    /// How long a sign-in lasts ([`TOKEN_LIFETIME`] unless the settings say otherwise).
    lifetime: Duration,
}

impl Accounts {
    fn on(store: impl AccountStore + 'static) -> Accounts {
        Accounts { store: Box::new(store), tokens: RwLock::new(HashMap::new()), lifetime: TOKEN_LIFETIME }
    }

    /// The same accounts, with sign-ins lasting `lifetime`.
    pub fn with_session_lifetime(mut self, lifetime: Duration) -> Accounts {
        self.lifetime = lifetime;
        self
    }

    /// How long a sign-in lasts.
    pub fn session_lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Accounts in the SQLite file `path` (the events' database), or in memory for tests: the
    /// tables are created or brought up to date. Blocks on the file (the server calls it on a
    /// blocking thread); every later call runs on tokio's blocking threads.
    pub fn open(path: Option<&Path>) -> Result<Accounts, AccountError> {
        Ok(Accounts::on(sqlite::SqliteAccounts::open(path)?))
    }

    /// Accounts in PostgreSQL, on the event store's pool (`PostgresStore::pool`): the tables
    /// are created or brought up to date in the store's schema.
    pub async fn open_postgres(pool: deadpool_postgres::Pool) -> Result<Accounts, AccountError> {
        Ok(Accounts::on(postgres::PgAccounts::open(pool).await?))
    }

    pub async fn user_count(&self) -> Result<usize, AccountError> {
        self.store.user_count().await
    }

    pub async fn create_user(&self, user: &User, password: &str) -> Result<(), AccountError> {
        self.create_account(user, password, false).await
    }

    /// Creates a user; with `must_change`, they must change the password at their first sign-in
    /// before they can do anything else.
    pub async fn create_account(&self, user: &User, password: &str, must_change: bool) -> Result<(), AccountError> {
        validate_name(&user.name)?;
        too_short(password)?;
        let roles = roles_json(&user.roles)?;
        let hash = hash_password(password).await?;
        let made = NewUser { name: user.name.clone(), display: user.display.clone(), roles, hash, must_change };
        if !self.store.insert_user(made).await? {
            return Err(AccountError::Exists(user.name.clone()));
        }
        Ok(())
    }

    /// Changes a user's display name, roles and (when given) password. Their sign-ins end. A
    /// password given here is one an admin sets (a reset): the user must change it at their
    /// next sign-in. Taking the admin role from the last admin who can sign in is refused
    /// ([`AccountError::LastAdmin`]).
    pub async fn update_user(&self, user: &User, password: Option<&str>) -> Result<(), AccountError> {
        if let Some(password) = password {
            too_short(password)?;
        }
        let roles = roles_json(&user.roles)?;
        let hash = match password {
            Some(password) => Some(hash_password(password).await?),
            None => None,
        };
        let change = UserChange {
            name: &user.name,
            display: &user.display,
            roles: &roles,
            hash: hash.as_deref(),
            demotes: !user.is_admin(),
        };
        if !self.store.update_user(change).await? {
            return Err(AccountError::Unknown(user.name.clone()));
        }
        self.forget_user(&user.name, None);
        Ok(())
    }

    /// Deletes a user and ends their sign-ins; the last admin is not deleted.
    pub async fn delete_user(&self, name: &str) -> Result<(), AccountError> {
        if !self.store.delete_user(name).await? {
            return Err(AccountError::Unknown(name.to_string()));
        }
        self.forget_user(name, None);
        Ok(())
    }

    /// Disables a user (they cannot sign in, and their sign-ins end) or enables them again.
    /// Disabling the last admin who can sign in is refused ([`AccountError::LastAdmin`]).
    pub async fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), AccountError> {
        if !self.store.set_disabled(name, disabled).await? {
            return Err(AccountError::Unknown(name.to_string()));
        }
        if disabled {
            self.forget_user(name, None);
        }
        Ok(())
    }

    /// An admin's reset: `password` becomes the user's, who must change it at their next
    /// sign-in; their sign-ins end.
    pub async fn reset_password(&self, name: &str, password: &str) -> Result<(), AccountError> {
        too_short(password)?;
        let hash = hash_password(password).await?;
        self.set_password(name, &hash, true, None).await
    }

    /// A user changes their own password: `old` must be the current one and `new` another.
    /// Their other sign-ins end; the one made with `current` (the token of the request) goes
    /// on, and no longer has to change the password. The front ends apply the password
    /// policy ([`policy::weak_password`]) first.
    pub async fn change_password(&self, name: &str, old: &str, new: &str, current: &str) -> Result<(), AccountError> {
        too_short(new)?;
        let found = self.store.user_with_password(name).await?;
        let Some((_, hash)) = found else { return Err(AccountError::Unknown(name.to_string())) };
        if !verify_password(old, hash).await? {
            return Err(AccountError::WrongPassword);
        }
        if old == new {
            return Err(AccountError::Invalid(t!(
                "kata sandi baru harus berbeda dari yang sekarang",
                "the new password must differ from the current one"
            )));
        }
        let hash = hash_password(new).await?;
        self.set_password(name, &hash, false, Some(token_key(current))).await
    }

    /// Stores a password hash, ending every sign-in of the user but `keep`.
    async fn set_password(
        &self,
        name: &str,
        hash: &str,
        must_change: bool,
        keep: Option<[u8; 32]>,
    ) -> Result<(), AccountError> {
        let keep_bytes: &[u8] = keep.as_ref().map_or(&[], |k| &k[..]);
        if !self.store.set_password(name, hash, must_change, keep_bytes).await? {
            return Err(AccountError::Unknown(name.to_string()));
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

    pub async fn user(&self, name: &str) -> Result<Option<User>, AccountError> {
        Ok(self.account(name).await?.map(|a| a.user))
    }

    pub async fn users(&self) -> Result<Vec<User>, AccountError> {
        Ok(self.accounts().await?.into_iter().map(|a| a.user).collect())
    }

    /// A user with the state of their account.
    pub async fn account(&self, name: &str) -> Result<Option<Account>, AccountError> {
        self.store.user(name).await?.map(|s| s.account()).transpose()
    }

    /// Every user with the state of their account, by name.
    pub async fn accounts(&self) -> Result<Vec<Account>, AccountError> {
        self.store.users().await?.iter().map(Stored::account).collect()
    }

    /// Checks a password and gives a new token, or `None` when the name or password is wrong
    /// (which of the two is not said) or the user is disabled.
    pub async fn sign_in(&self, name: &str, password: &str) -> Result<Option<(String, DateTime<Utc>)>, AccountError> {
        match self.sign_in_from(name, password, &Client::default()).await? {
            SignIn::Granted { token, expires, .. } => Ok(Some((token, expires))),
            SignIn::Refused | SignIn::Disabled => Ok(None),
        }
    }

    /// Checks a password and, for a user who is not disabled, makes a sign-in from `client`.
    pub async fn sign_in_from(&self, name: &str, password: &str, client: &Client) -> Result<SignIn, AccountError> {
        let Some((stored, hash)) = self.store.user_with_password(name).await? else {
            // Spend the same time as a real check, so a wrong name is not faster than a wrong password.
            let _ = hash_password(password).await;
            return Ok(SignIn::Refused);
        };
        if !verify_password(password, hash).await? {
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
        let made = NewToken {
            key,
            user: user.name.clone(),
            expires,
            id: id.clone(),
            created: now,
            address: client.address.as_deref().map(bounded),
            agent: client.agent.as_deref().map(bounded),
        };
        self.store.insert_token(made).await?;
        let cached = Cached { user, id, must_change: stored.must_change, expires, checked: std::time::Instant::now() };
        let session = cached.session();
        if let Ok(mut tokens) = self.tokens.write() {
            tokens.insert(key, cached);
        }
        Ok(SignIn::Granted { token, expires, session })
    }

    /// The user a token belongs to, if it is valid and not expired.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Arc<User>>, AccountError> {
        Ok(self.session(token).await?.map(|s| s.user))
    }

    /// What the cache alone says of a token: `Some(answer)` when it knows the token and may
    /// still trust what it knows, `None` when the database must be asked ([`Accounts::session`]).
    /// Costs a hash and a map look-up, so it never waits.
    pub fn cached_session(&self, token: &str) -> Option<Option<Session>> {
        let key = token_key(token);
        let shared = self.store.shared();
        let tokens = self.tokens.read().ok()?;
        let cached = tokens.get(&key)?;
        if shared && cached.checked.elapsed() >= SHARED_TOKEN_RECHECK {
            return None;
        }
        Some((cached.expires > Utc::now()).then(|| cached.session()))
    }

    /// The sign-in a token is, if it is valid and not expired (its user not disabled).
    pub async fn session(&self, token: &str) -> Result<Option<Session>, AccountError> {
        if let Some(known) = self.cached_session(token) {
            return Ok(known);
        }
        // Not cached (issued by another node or process, or before a restart), or due for a
        // check against the database.
        let key = token_key(token);
        let found = self.store.token(&key).await?;
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

    pub async fn sign_out(&self, token: &str) -> Result<(), AccountError> {
        let key = token_key(token);
        if let Ok(mut tokens) = self.tokens.write() {
            tokens.remove(&key);
        }
        self.store.delete_token(&key).await
    }

    /// A user's sign-ins that have not expired, newest first (`current` is false in each: the
    /// caller knows which is its own).
    pub async fn sessions(&self, name: &str) -> Result<Vec<SessionInfo>, AccountError> {
        let mut sessions = self.store.sessions(name).await?;
        let now = Utc::now();
        sessions.retain(|s| s.expires_at > now);
        sessions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(sessions)
    }

    /// Ends one sign-in of a user, named by its id ([`AccountError::UnknownSession`] when the
    /// user has none by that id).
    pub async fn revoke_session(&self, name: &str, id: &str) -> Result<(), AccountError> {
        if !self.store.delete_session(name, id).await? {
            return Err(AccountError::UnknownSession(name.to_string(), bounded_to(id, 64)));
        }
        if let Ok(mut tokens) = self.tokens.write() {
            tokens.retain(|_, c| !(c.user.name == name && c.id == id));
        }
        Ok(())
    }

    /// Records an action. Written in the background within milliseconds; never waits.
    pub fn audit(&self, user: &str, action: &str, target: &str, status: u16) {
        self.store.audit(AuditEntry {
            at: Utc::now(),
            user: bounded(user),
            action: bounded(action),
            target: bounded(target),
            status,
        });
    }

    /// Writes every audit entry queued so far and stops the audit writer (the SQLite audit
    /// file's WAL copied into it): the last thing a stopping server does with the accounts.
    /// Entries recorded afterwards are not written.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// The latest audit entries, newest first.
    pub async fn audit_entries(&self, limit: usize) -> Result<Vec<AuditEntry>, AccountError> {
        self.store.audit_entries(limit).await
    }
}

fn roles_json(roles: &[Role]) -> Result<String, AccountError> {
    serde_json::to_string(roles).map_err(|e| AccountError::Backend(format!("roles as JSON: {e}")))
}

/// A new sign-in's id: 64 random bits in hex.
fn new_session_id() -> String {
    let mut raw = [0u8; 8];
    rand::Rng::fill(&mut rand::thread_rng(), &mut raw[..]);
    hex(&raw)
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
/// so a burst of sign-ins waits its turn (as a task, holding no thread) instead of growing the
/// server by 19 MiB per sign-in (50 sign-ins at once grew it by 480 MB in the soak,
/// `examples/soak_serve.rs`).
struct HashingSlots;

impl HashingSlots {
    fn semaphore() -> Arc<tokio::sync::Semaphore> {
        static SLOTS: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
        SLOTS
            .get_or_init(|| {
                let slots = std::thread::available_parallelism().map_or(1, |n| n.get());
                Arc::new(tokio::sync::Semaphore::new(slots))
            })
            .clone()
    }

    /// Runs `work` on a blocking thread once a slot is free. The slot goes with the work, so
    /// a request that is dropped while its hash runs does not free the slot early.
    async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, AccountError> {
        let slot = HashingSlots::semaphore()
            .acquire_owned()
            .await
            .map_err(|e| AccountError::Backend(format!("password hashing: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|e| AccountError::Backend(format!("password hashing on a blocking thread: {e}")))
    }
}

async fn hash_password(password: &str) -> Result<String, AccountError> {
    let password = password.to_string();
    HashingSlots::run(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await?
    .map_err(|e| AccountError::Backend(format!("password hashing: {e}")))
}

/// Whether `password` is the one `hash` was made of (a hash that cannot be read matches nothing).
async fn verify_password(password: &str, hash: String) -> Result<bool, AccountError> {
    let password = password.to_string();
    HashingSlots::run(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else { return false };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
    })
    .await
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
