//! What [`super::Accounts`] asks of the database that keeps the accounts, by concern: users
//! and roles ([`UserStore`]), sign-ins ([`SessionStore`]), the audit log ([`AuditLog`]). Two
//! implementations: `sqlite` (rusqlite calls on tokio's blocking threads, one connection) and
//! `postgres` (tokio-postgres on a deadpool pool, natively async).
//!
//! Everything common to both stays above the trait, in `Accounts`: password hashing, the
//! token cache, the policy, reserved names, bounded audit fields. What must hold in the same
//! transaction as a change (the last-admin guard) is checked by each implementation inside
//! its transaction, with the one rule [`super::keeps_an_admin`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{AccountError, AuditEntry, SessionInfo, Stored};

/// A user to store (the password already hashed, the roles as JSON).
pub(super) struct NewUser {
    pub name: String,
    pub display: String,
    pub roles: String,
    pub hash: String,
    pub must_change: bool,
}

/// A change to a user's display name and roles, and (an admin's reset) their password hash.
pub(super) struct UserChange<'a> {
    pub name: &'a str,
    pub display: &'a str,
    pub roles: &'a str,
    pub hash: Option<&'a str>,
    /// The change takes the admin role away: refused for the last admin who can sign in.
    pub demotes: bool,
}

/// A sign-in to store.
pub(super) struct NewToken {
    pub key: [u8; 32],
    pub user: String,
    pub expires: DateTime<Utc>,
    pub id: String,
    pub created: DateTime<Utc>,
    pub address: Option<String>,
    pub agent: Option<String>,
}

/// A stored sign-in, found by its token's hash: its user, when it expires, its id.
pub(super) struct StoredToken {
    pub user: Stored,
    pub expires: DateTime<Utc>,
    pub id: String,
}

/// Users and their roles. The booleans say whether the user was there (`false`: no such
/// user, or for [`UserStore::insert_user`] the name is taken).
#[async_trait]
pub(super) trait UserStore: Send + Sync {
    async fn user_count(&self) -> Result<usize, AccountError>;
    async fn insert_user(&self, user: NewUser) -> Result<bool, AccountError>;
    /// Changes a user and ends their sign-ins, in one transaction.
    async fn update_user(&self, change: UserChange<'_>) -> Result<bool, AccountError>;
    /// Deletes a user and their sign-ins; the last admin who can sign in is kept.
    async fn delete_user(&self, name: &str) -> Result<bool, AccountError>;
    /// Disabling keeps an admin who can sign in and ends the user's sign-ins.
    async fn set_disabled(&self, name: &str, disabled: bool) -> Result<bool, AccountError>;
    /// Stores a password hash and ends every sign-in of the user but the one whose hash is
    /// `keep` (empty: none).
    async fn set_password(&self, name: &str, hash: &str, must_change: bool, keep: &[u8]) -> Result<bool, AccountError>;
    async fn user(&self, name: &str) -> Result<Option<Stored>, AccountError>;
    /// Every user, by name.
    async fn users(&self) -> Result<Vec<Stored>, AccountError>;
    /// The user and their password hash.
    async fn user_with_password(&self, name: &str) -> Result<Option<(Stored, String)>, AccountError>;
}

/// Sign-ins, by their token's SHA-256.
#[async_trait]
pub(super) trait SessionStore: Send + Sync {
    /// Whether other nodes share these tables: a cached sign-in is then checked against the
    /// database again after [`super::SHARED_TOKEN_RECHECK`].
    fn shared(&self) -> bool;
    /// Stores a sign-in, and drops expired ones.
    async fn insert_token(&self, token: NewToken) -> Result<(), AccountError>;
    /// The sign-in a token hash is, with its user.
    async fn token(&self, key: &[u8; 32]) -> Result<Option<StoredToken>, AccountError>;
    /// A user's sign-ins (expired ones may be among them).
    async fn sessions(&self, name: &str) -> Result<Vec<SessionInfo>, AccountError>;
    /// Ends a user's sign-in by its id: false when the user has none by that id.
    async fn delete_session(&self, name: &str, id: &str) -> Result<bool, AccountError>;
    async fn delete_token(&self, key: &[u8; 32]) -> Result<(), AccountError>;
}

/// The audit log: written in batches in the background, so recording never waits.
#[async_trait]
pub(super) trait AuditLog: Send + Sync {
    fn audit(&self, entry: AuditEntry);
    /// The latest entries, newest first.
    async fn audit_entries(&self, limit: usize) -> Result<Vec<AuditEntry>, AccountError>;
    /// Writes what is queued and stops writing.
    async fn close(&self);
}

/// The whole account store.
pub(super) trait AccountStore: UserStore + SessionStore + AuditLog {}

impl<T: UserStore + SessionStore + AuditLog> AccountStore for T {}
