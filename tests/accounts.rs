//! Accounts on each backend (the SQLite file here, PostgreSQL in `store_conformance`): disabled
//! users, reset and changed passwords, sign-ins listed and ended, the last admin who can sign
//! in, and an SQLite file of the previous schema brought up to date.

use alur::server::accounts::{AccountError, Accounts, Client, Role, SignIn, User};
use std::sync::Arc;

fn user(name: &str, roles: Vec<Role>) -> User {
    User { name: name.into(), display: name.into(), roles }
}

fn from(address: &str, agent: &str) -> Client {
    Client { address: Some(address.into()), agent: Some(agent.into()) }
}

/// Signs in and gives the token and the session's id; fails unless granted.
fn signed(accounts: &Accounts, name: &str, password: &str, client: &Client) -> (String, String, bool) {
    match accounts.sign_in_from(name, password, client).unwrap() {
        SignIn::Granted { token, session, .. } => (token, session.id, session.must_change_password),
        other => panic!("{name} was not signed in: {other:?}"),
    }
}

/// The whole behaviour, on accounts with no users yet.
pub fn disable_reset_change_and_revoke(accounts: &Accounts) {
    const FIRST: &str = "kopi hitam tanpa gula";
    accounts.create_user(&user("kepala", vec![Role::Admin]), FIRST).unwrap();
    accounts.create_user(&user("ani", vec![Role::Applicant]), FIRST).unwrap();

    // Two sign-ins from two places, listed with where they came from; one ended by its id.
    let (one, one_id, must) = signed(accounts, "ani", FIRST, &from("10.0.0.7", "Firefox/128"));
    assert!(!must);
    let (two, two_id, _) = signed(accounts, "ani", FIRST, &from("10.0.0.8", "Chrome/126"));
    let sessions = accounts.sessions("ani").unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let listed = sessions.iter().find(|s| s.id == one_id).expect("the first sign-in is listed");
    assert_eq!(listed.address.as_deref(), Some("10.0.0.7"));
    assert_eq!(listed.agent.as_deref(), Some("Firefox/128"));
    assert!(listed.created_at.is_some() && listed.expires_at > chrono::Utc::now());
    assert!(!sessions.iter().any(|s| s.id.contains(&one) || one.contains(&s.id)), "no token in the list");
    accounts.revoke_session("ani", &one_id).unwrap();
    assert!(accounts.session(&one).unwrap().is_none(), "an ended sign-in is refused");
    assert_eq!(accounts.session(&two).unwrap().unwrap().id, two_id, "the other goes on");
    assert!(matches!(accounts.revoke_session("ani", &one_id), Err(AccountError::UnknownSession(..))));
    assert!(matches!(accounts.revoke_session("kepala", &two_id), Err(AccountError::UnknownSession(..))));
    assert!(accounts.session(&two).unwrap().is_some(), "another user's id ends nothing");

    // Disabled: the sign-ins end, the right password is told apart from a wrong one, nothing
    // is granted; enabled again, signing in works.
    accounts.set_disabled("ani", true).unwrap();
    assert!(accounts.session(&two).unwrap().is_none(), "a disabled user's sign-in ends");
    assert!(accounts.sessions("ani").unwrap().is_empty());
    assert!(matches!(accounts.sign_in_from("ani", FIRST, &Client::default()).unwrap(), SignIn::Disabled));
    assert!(matches!(accounts.sign_in_from("ani", "salah sekali ya", &Client::default()).unwrap(), SignIn::Refused));
    assert!(accounts.sign_in("ani", FIRST).unwrap().is_none());
    assert!(accounts.account("ani").unwrap().unwrap().disabled);
    accounts.set_disabled("ani", false).unwrap();
    let (before_reset, _, _) = signed(accounts, "ani", FIRST, &Client::default());

    // An admin's reset: the sign-ins end, the old password is gone, the new one must be changed.
    const RESET: &str = "teh manis dingin sekali";
    accounts.reset_password("ani", RESET).unwrap();
    assert!(accounts.session(&before_reset).unwrap().is_none(), "a reset ends the sign-ins");
    assert!(accounts.sign_in("ani", FIRST).unwrap().is_none());
    let (after_reset, _, must) = signed(accounts, "ani", RESET, &Client::default());
    assert!(must, "a reset password must be changed");
    assert!(accounts.session(&after_reset).unwrap().unwrap().must_change_password);
    assert!(accounts.account("ani").unwrap().unwrap().must_change_password);
    let (elsewhere, _, _) = signed(accounts, "ani", RESET, &Client::default());

    // The user changes it: the old one is needed and the new one must differ; the sign-in it
    // was changed from goes on without the restriction, the others end.
    const MINE: &str = "sepeda biru di pagi hari";
    assert!(matches!(
        accounts.change_password("ani", "bukan yang ini", MINE, &after_reset),
        Err(AccountError::WrongPassword)
    ));
    assert!(matches!(accounts.change_password("ani", RESET, RESET, &after_reset), Err(AccountError::Invalid(_))));
    accounts.change_password("ani", RESET, MINE, &after_reset).unwrap();
    let session = accounts.session(&after_reset).unwrap().expect("the changing sign-in goes on");
    assert!(!session.must_change_password);
    assert!(accounts.session(&elsewhere).unwrap().is_none(), "the other sign-ins end");
    assert!(!accounts.account("ani").unwrap().unwrap().must_change_password);
    let (_, _, must) = signed(accounts, "ani", MINE, &Client::default());
    assert!(!must);

    // A password set through an edit is an admin's reset too.
    accounts.update_user(&user("ani", vec![Role::Applicant]), Some(RESET)).unwrap();
    let (_, _, must) = signed(accounts, "ani", RESET, &Client::default());
    assert!(must);

    // The last admin who can sign in is not disabled, nor demoted while the other is disabled.
    assert!(matches!(accounts.set_disabled("kepala", true), Err(AccountError::LastAdmin(_))));
    accounts.create_user(&user("wakil", vec![Role::Admin]), FIRST).unwrap();
    accounts.set_disabled("wakil", true).unwrap();
    assert!(matches!(accounts.set_disabled("kepala", true), Err(AccountError::LastAdmin(_))));
    assert!(matches!(
        accounts.update_user(&user("kepala", vec![Role::Analyst]), None),
        Err(AccountError::LastAdmin(_))
    ));
    assert!(matches!(accounts.delete_user("kepala"), Err(AccountError::LastAdmin(_))));
    accounts.set_disabled("wakil", false).unwrap();
    accounts.set_disabled("kepala", true).unwrap();
    assert!(matches!(accounts.sign_in_from("kepala", FIRST, &Client::default()).unwrap(), SignIn::Disabled));
    assert!(matches!(accounts.set_disabled("nobody", true), Err(AccountError::Unknown(_))));
    assert!(matches!(accounts.reset_password("nobody", RESET), Err(AccountError::Unknown(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_accounts_disable_reset_change_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = Arc::new(Accounts::open(Some(&dir.path().join("alur.db"))).unwrap());
    // Off the async workers, as the server calls them.
    accounts
        .blocking(|accounts| {
            disable_reset_change_and_revoke(accounts);
            Ok(())
        })
        .await
        .unwrap();
    accounts.close();
}

/// A file from before the accounts recorded their schema version: its users and sign-ins
/// carry on, and the sign-ins get ids to be listed and ended by.
#[test]
fn an_sqlite_file_of_the_first_schema_is_brought_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alur.db");
    let token = {
        let accounts = Accounts::open(Some(&db)).unwrap();
        accounts.create_user(&user("lama", vec![Role::Analyst]), "kopi hitam tanpa gula").unwrap();
        let (token, _) = accounts.sign_in("lama", "kopi hitam tanpa gula").unwrap().unwrap();
        accounts.close();
        token
    };
    // Back to the first schema, as an older alur left it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP TABLE accounts_schema_version;
         DROP INDEX tokens_by_id; DROP INDEX tokens_by_user;
         ALTER TABLE users DROP COLUMN disabled; ALTER TABLE users DROP COLUMN must_change;
         ALTER TABLE tokens DROP COLUMN id; ALTER TABLE tokens DROP COLUMN created_at;
         ALTER TABLE tokens DROP COLUMN address; ALTER TABLE tokens DROP COLUMN agent;",
    )
    .unwrap();
    drop(conn);
    let accounts = Accounts::open(Some(&db)).unwrap();
    let session = accounts.session(&token).unwrap().expect("the old sign-in is still valid");
    assert_eq!(session.user.name, "lama");
    assert_eq!(session.id.len(), 16, "{}", session.id);
    let sessions = accounts.sessions("lama").unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].id, session.id);
    assert_eq!(sessions[0].created_at, None, "not recorded then");
    let account = accounts.account("lama").unwrap().unwrap();
    assert!(!account.disabled && !account.must_change_password);
    accounts.revoke_session("lama", &session.id).unwrap();
    assert!(accounts.session(&token).unwrap().is_none());
    accounts.close();
    let versions: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT MAX(version) FROM accounts_schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(versions, 2);
}
