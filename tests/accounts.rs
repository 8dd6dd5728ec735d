//! Accounts on each backend (the SQLite file here, PostgreSQL in `store_conformance`): disabled
//! users, reset and changed passwords, sign-ins listed and ended, the last admin who can sign
//! in, an SQLite file of the previous schema brought up to date, sign-ins that leave the async
//! workers free, and a locked database answered 503.

use alur::server::accounts::{AccountError, Accounts, Client, Role, SignIn, User};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn user(name: &str, roles: Vec<Role>) -> User {
    User { name: name.into(), display: name.into(), roles }
}

fn from(address: &str, agent: &str) -> Client {
    Client { address: Some(address.into()), agent: Some(agent.into()) }
}

/// Signs in and gives the token and the session's id; fails unless granted.
async fn signed(accounts: &Accounts, name: &str, password: &str, client: &Client) -> (String, String, bool) {
    match accounts.sign_in_from(name, password, client).await.unwrap() {
        SignIn::Granted { token, session, .. } => (token, session.id, session.must_change_password),
        other => panic!("{name} was not signed in: {other:?}"),
    }
}

/// The whole behaviour, on accounts with no users yet.
pub async fn disable_reset_change_and_revoke(accounts: &Accounts) {
    const FIRST: &str = "kopi hitam tanpa gula";
    accounts.create_user(&user("kepala", vec![Role::Admin]), FIRST).await.unwrap();
    accounts.create_user(&user("ani", vec![Role::Applicant]), FIRST).await.unwrap();

    // Two sign-ins from two places, listed with where they came from; one ended by its id.
    let (one, one_id, must) = signed(accounts, "ani", FIRST, &from("10.0.0.7", "Firefox/128")).await;
    assert!(!must);
    let (two, two_id, _) = signed(accounts, "ani", FIRST, &from("10.0.0.8", "Chrome/126")).await;
    let sessions = accounts.sessions("ani").await.unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let listed = sessions.iter().find(|s| s.id == one_id).expect("the first sign-in is listed");
    assert_eq!(listed.address.as_deref(), Some("10.0.0.7"));
    assert_eq!(listed.agent.as_deref(), Some("Firefox/128"));
    assert!(listed.created_at.is_some() && listed.expires_at > chrono::Utc::now());
    assert!(!sessions.iter().any(|s| s.id.contains(&one) || one.contains(&s.id)), "no token in the list");
    accounts.revoke_session("ani", &one_id).await.unwrap();
    assert!(accounts.session(&one).await.unwrap().is_none(), "an ended sign-in is refused");
    assert_eq!(accounts.session(&two).await.unwrap().unwrap().id, two_id, "the other goes on");
    assert!(matches!(accounts.revoke_session("ani", &one_id).await, Err(AccountError::UnknownSession(..))));
    assert!(matches!(accounts.revoke_session("kepala", &two_id).await, Err(AccountError::UnknownSession(..))));
    assert!(accounts.session(&two).await.unwrap().is_some(), "another user's id ends nothing");

    // Disabled: the sign-ins end, the right password is told apart from a wrong one, nothing
    // is granted; enabled again, signing in works.
    accounts.set_disabled("ani", true).await.unwrap();
    assert!(accounts.session(&two).await.unwrap().is_none(), "a disabled user's sign-in ends");
    assert!(accounts.sessions("ani").await.unwrap().is_empty());
    assert!(matches!(accounts.sign_in_from("ani", FIRST, &Client::default()).await.unwrap(), SignIn::Disabled));
    assert!(matches!(
        accounts.sign_in_from("ani", "salah sekali ya", &Client::default()).await.unwrap(),
        SignIn::Refused
    ));
    assert!(accounts.sign_in("ani", FIRST).await.unwrap().is_none());
    assert!(accounts.account("ani").await.unwrap().unwrap().disabled);
    accounts.set_disabled("ani", false).await.unwrap();
    let (before_reset, _, _) = signed(accounts, "ani", FIRST, &Client::default()).await;

    // An admin's reset: the sign-ins end, the old password is gone, the new one must be changed.
    const RESET: &str = "teh manis dingin sekali";
    accounts.reset_password("ani", RESET).await.unwrap();
    assert!(accounts.session(&before_reset).await.unwrap().is_none(), "a reset ends the sign-ins");
    assert!(accounts.sign_in("ani", FIRST).await.unwrap().is_none());
    let (after_reset, _, must) = signed(accounts, "ani", RESET, &Client::default()).await;
    assert!(must, "a reset password must be changed");
    assert!(accounts.session(&after_reset).await.unwrap().unwrap().must_change_password);
    assert!(accounts.account("ani").await.unwrap().unwrap().must_change_password);
    let (elsewhere, _, _) = signed(accounts, "ani", RESET, &Client::default()).await;

    // The user changes it: the old one is needed and the new one must differ; the sign-in it
    // was changed from goes on without the restriction, the others end.
    const MINE: &str = "sepeda biru di pagi hari";
    assert!(matches!(
        accounts.change_password("ani", "bukan yang ini", MINE, &after_reset).await,
        Err(AccountError::WrongPassword)
    ));
    assert!(matches!(accounts.change_password("ani", RESET, RESET, &after_reset).await, Err(AccountError::Invalid(_))));
    accounts.change_password("ani", RESET, MINE, &after_reset).await.unwrap();
    let session = accounts.session(&after_reset).await.unwrap().expect("the changing sign-in goes on");
    assert!(!session.must_change_password);
    assert!(accounts.session(&elsewhere).await.unwrap().is_none(), "the other sign-ins end");
    assert!(!accounts.account("ani").await.unwrap().unwrap().must_change_password);
    let (_, _, must) = signed(accounts, "ani", MINE, &Client::default()).await;
    assert!(!must);

    // A password set through an edit is an admin's reset too.
    accounts.update_user(&user("ani", vec![Role::Applicant]), Some(RESET)).await.unwrap();
    let (_, _, must) = signed(accounts, "ani", RESET, &Client::default()).await;
    assert!(must);

    // The last admin who can sign in is not disabled, nor demoted while the other is disabled.
    assert!(matches!(accounts.set_disabled("kepala", true).await, Err(AccountError::LastAdmin(_))));
    accounts.create_user(&user("wakil", vec![Role::Admin]), FIRST).await.unwrap();
    accounts.set_disabled("wakil", true).await.unwrap();
    assert!(matches!(accounts.set_disabled("kepala", true).await, Err(AccountError::LastAdmin(_))));
    assert!(matches!(
        accounts.update_user(&user("kepala", vec![Role::Analyst]), None).await,
        Err(AccountError::LastAdmin(_))
    ));
    assert!(matches!(accounts.delete_user("kepala").await, Err(AccountError::LastAdmin(_))));
    accounts.set_disabled("wakil", false).await.unwrap();
    accounts.set_disabled("kepala", true).await.unwrap();
    assert!(matches!(accounts.sign_in_from("kepala", FIRST, &Client::default()).await.unwrap(), SignIn::Disabled));
    assert!(matches!(accounts.set_disabled("nobody", true).await, Err(AccountError::Unknown(_))));
    assert!(matches!(accounts.reset_password("nobody", RESET).await, Err(AccountError::Unknown(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_accounts_disable_reset_change_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::open(Some(&dir.path().join("alur.db"))).unwrap();
    disable_reset_change_and_revoke(&accounts).await;
    accounts.close().await;
}

/// A file from before the accounts recorded their schema version: its users and sign-ins
/// carry on, and the sign-ins get ids to be listed and ended by.
#[tokio::test]
async fn an_sqlite_file_of_the_first_schema_is_brought_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alur.db");
    let token = {
        let accounts = Accounts::open(Some(&db)).unwrap();
        accounts.create_user(&user("lama", vec![Role::Analyst]), "kopi hitam tanpa gula").await.unwrap();
        let (token, _) = accounts.sign_in("lama", "kopi hitam tanpa gula").await.unwrap().unwrap();
        accounts.close().await;
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
    let session = accounts.session(&token).await.unwrap().expect("the old sign-in is still valid");
    assert_eq!(session.user.name, "lama");
    assert_eq!(session.id.len(), 16, "{}", session.id);
    let sessions = accounts.sessions("lama").await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].id, session.id);
    assert_eq!(sessions[0].created_at, None, "not recorded then");
    let account = accounts.account("lama").await.unwrap().unwrap();
    assert!(!account.disabled && !account.must_change_password);
    accounts.revoke_session("lama", &session.id).await.unwrap();
    assert!(accounts.session(&token).await.unwrap().is_none());
    accounts.close().await;
    let versions: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT MAX(version) FROM accounts_schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(versions, 2);
}

/// Many sign-ins at once, with a task beside them that only ticks: the longest gap between
/// two of its ticks (it sleeps 5 ms each time), and how long the sign-ins took. Argon2 and the
/// database run off the async workers, so the ticker is never held up for long, however few
/// workers the runtime has.
pub async fn sign_ins_beside_a_ticker(accounts: Arc<Accounts>, sign_ins: usize) -> (Duration, Duration) {
    const PASSWORD: &str = "kopi hitam tanpa gula";
    accounts.create_user(&user("ramai", vec![Role::Applicant]), PASSWORD).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut longest = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                let before = Instant::now();
                tokio::time::sleep(Duration::from_millis(5)).await;
                longest = longest.max(before.elapsed());
            }
            longest
        }
    });
    // The ticker is running before the first sign-in.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let mut attempts = tokio::task::JoinSet::new();
    for n in 0..sign_ins {
        let accounts = accounts.clone();
        attempts.spawn(async move {
            // Every fourth one wrong: a refused sign-in hashes as long as a granted one.
            let password = if n % 4 == 3 { "salah sekali ya" } else { PASSWORD };
            let granted = accounts.sign_in("ramai", password).await.unwrap();
            assert_eq!(granted.is_some(), n % 4 != 3, "sign-in {n}");
            if let Some((token, _)) = granted {
                assert!(accounts.session(&token).await.unwrap().is_some());
            }
        });
    }
    while let Some(done) = attempts.join_next().await {
        done.unwrap();
    }
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    (ticker.await.unwrap(), took)
}

/// The bound on the ticker's longest gap: generous (the machine may be busy with other work),
/// and far below what a hash on the worker would cost (each sign-in is one argon2 hash, the
/// whole burst many of them one after another on the machine's cores).
pub fn assert_the_ticker_kept_going(longest: Duration, took: Duration) {
    assert!(longest < Duration::from_millis(750), "the ticker stalled for {longest:?} (the sign-ins took {took:?})");
}

/// Issue 23, item 7: sign-ins hashed on the async workers held every other request up. On a
/// runtime of two workers, 48 sign-ins at once do not stall a task that only ticks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sign_ins_leave_two_workers_free() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = Arc::new(Accounts::open(Some(&dir.path().join("alur.db"))).unwrap());
    let (longest, took) = sign_ins_beside_a_ticker(accounts.clone(), 48).await;
    assert_the_ticker_kept_going(longest, took);
    accounts.close().await;
}

/// The same on the current-thread runtime: its one thread is never given a hash or a query.
#[tokio::test]
async fn sqlite_sign_ins_leave_the_one_thread_of_a_current_thread_runtime_free() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = Arc::new(Accounts::open(Some(&dir.path().join("alur.db"))).unwrap());
    let (longest, took) = sign_ins_beside_a_ticker(accounts.clone(), 24).await;
    assert_the_ticker_kept_going(longest, took);
    accounts.close().await;
}

/// Another process holding the SQLite file's write lock past the busy timeout (10 s): a
/// sign-in is answered 503 with `Retry-After`, in the reader's language, without the cause
/// (which is logged), as the event store's transient errors are; it works once the lock is gone.
/// (On `main` it was a 500.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_locked_account_database_is_503_with_retry_after() {
    use alur::runtime::{Engine, ManualClock, MemoryStore};
    use alur::server::{catalog::Catalog, metrics::Metrics, router, AppState};
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use chrono::TimeZone;
    use tower::ServiceExt;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alur.db");
    let accounts = Arc::new(Accounts::open(Some(&db)).unwrap());
    accounts.create_user(&user("ani", vec![Role::Applicant]), "kopi hitam tanpa gula").await.unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()));
    let state = Arc::new(AppState {
        engine: Arc::new(Engine::new(Arc::new(MemoryStore::new()), clock).await.unwrap()),
        accounts: accounts.clone(),
        catalog: Catalog::new(&dir.path().join("sop")),
        secure_cookies: false,
        throttle: Default::default(),
        metrics: Arc::new(Metrics::new(None).unwrap()),
    });
    let login = |lang: &str| {
        Request::post("/api/login")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT_LANGUAGE, lang)
            .body(Body::from(r#"{"user":"ani","password":"kopi hitam tanpa gula"}"#))
            .unwrap()
    };
    let other = rusqlite::Connection::open(&db).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let response = router(state.clone()).oneshot(login("id")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap()), Some("1"));
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    // As docs/operations.md promises (the last-word middleware made it a generic `internal`).
    assert_eq!(problem["code"], "unavailable", "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("Basis data sedang sibuk"), "in the reader's language: {detail}");
    assert!(!detail.contains("sqlite") && !detail.contains("locked"), "the cause is logged, not sent: {detail}");
    other.execute_batch("ROLLBACK").unwrap();
    let response = router(state).oneshot(login("en")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "once the lock is gone");
    accounts.close().await;
}
