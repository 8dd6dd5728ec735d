//! The JSON API of `alur serve`, through the router: who may see and do what (one table),
//! problem details for bad input, and that a refused request changes nothing.

use alur::runtime::store::CaseArchive;
use alur::runtime::{Engine, ManualClock, MemoryStore};
use alur::server::accounts::{Accounts, Role, User};
use alur::server::catalog::Catalog;
use alur::server::metrics::Metrics;
use alur::server::{router, AppState};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The roles of the matrix: one user each (the owner of the case and another applicant,
/// two desks of the LKS SOP, a desk of another SOP only, an analyst, an admin).
const ROLES: [&str; 8] = ["anon", "owner", "stranger", "fo", "bo", "dishub", "analyst", "admin"];

struct Users {
    accounts: Arc<Accounts>,
    tokens: std::collections::HashMap<&'static str, String>,
}

/// Users are made once: argon2 is slow on purpose. On a thread and runtime of their own: the
/// accounts are async, and the first test to ask is itself on a runtime (which cannot be
/// blocked on from inside).
fn users() -> &'static Users {
    static USERS: OnceLock<Users> = OnceLock::new();
    USERS.get_or_init(|| std::thread::spawn(make_users).join().unwrap())
}

fn make_users() -> Users {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let accounts = Arc::new(Accounts::open(None).unwrap());
        let spec: [(&str, &str, Vec<Role>); 8] = [
            ("owner", "warga1", vec![Role::Applicant]),
            ("stranger", "warga2", vec![Role::Applicant]),
            ("fo", "fo1", vec![Role::Actor("front_office".into())]),
            ("bo", "bo1", vec![Role::Actor("back_office".into())]),
            ("dishub", "dishub1", vec![Role::Actor("dishub".into())]),
            ("analyst", "analis1", vec![Role::Analyst]),
            ("admin", "admin1", vec![Role::Admin]),
            ("spare", "spare1", vec![Role::Applicant]),
        ];
        let mut tokens = std::collections::HashMap::new();
        for (key, name, roles) in spec {
            accounts.create_user(&User { name: name.into(), display: name.into(), roles }, "rahasia").await.unwrap();
            let (token, _) = accounts.sign_in(name, "rahasia").await.unwrap().unwrap();
            tokens.insert(key, token);
        }
        Users { accounts, tokens }
    })
}

struct App {
    state: Arc<AppState>,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
    case: String,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A fresh engine on a copy of `sop/`, with one LKS case of `warga1` waiting at verification
/// (task 2, front office) and one document attached.
async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("sop"), &dir.path().join("sop"));
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()));
    let metrics = Arc::new(Metrics::new(None).unwrap());
    let engine = Engine::new(Arc::new(MemoryStore::new()), clock.clone()).await.unwrap();
    let engine = Arc::new(engine.with_metrics(metrics.engine()));
    let catalog = Catalog::new(&dir.path().join("sop"));
    let report = catalog.reload(&engine).await;
    assert!(report.files.iter().all(|f| f.refused.is_none()), "the shipped SOPs deploy");
    let state = Arc::new(AppState {
        engine,
        accounts: users().accounts.clone(),
        catalog,
        secure_cookies: false,
        throttle: Default::default(),
        metrics,
    });
    let mut app = App { state, clock, _dir: dir, case: String::new() };
    app.case = app.new_case().await;
    app
}

impl App {
    /// A new LKS case of `warga1` at verification, with one document attached.
    async fn new_case(&self) -> String {
        let (status, body) = self.call("owner", Method::POST, "/api/cases", Some(json!({"sop": "lks_lksa"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let case = body["id"].as_str().unwrap().to_string();
        let path = format!("/api/cases/{case}/tasks/1/complete");
        let (status, body) = self.call("owner", Method::POST, &path, Some(json!({}))).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, _) = self.upload("owner", &case, "persyaratan", b"%PDF-1.4 akta").await;
        assert_eq!(status, StatusCode::CREATED);
        case
    }

    async fn request(&self, request: Request<Body>) -> (StatusCode, Value, String) {
        let response = router(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let content_type =
            response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value, content_type)
    }

    async fn call(&self, who: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = users().tokens.get(who) {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .unwrap();
        let (status, value, content_type) = self.request(request).await;
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(
                content_type,
                "application/problem+json",
                "{method_path} answers problem details",
                method_path = path
            );
            assert_eq!(value["status"].as_u64(), Some(status.as_u16() as u64));
            assert!(value["code"].is_string() && value["detail"].is_string(), "{value}");
        }
        (status, value)
    }

    async fn upload(&self, who: &str, case: &str, artifact: &str, bytes: &[u8]) -> (StatusCode, Value) {
        let boundary = "XyZbOuNdArY";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"artifact\"\r\n\r\n{artifact}\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"akta.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/cases/{case}/artifacts"))
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"));
        if let Some(token) = users().tokens.get(who) {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let (status, value, _) = self.request(builder.body(Body::from(body)).unwrap()).await;
        (status, value)
    }

    /// The number of events of the case: a refused request must not change it.
    async fn events(&self) -> usize {
        self.events_of(&self.case).await
    }

    async fn events_of(&self, case: &str) -> usize {
        self.state.engine.history(case.parse().unwrap()).await.unwrap().len()
    }
}

/// Every endpoint for every role. Each cell runs on a case of its own, so a cell that
/// changes something cannot hide what the next one may do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix() {
    // Expected statuses in the order of ROLES:
    //      anon owner stranger fo   bo   dishub analyst admin
    type Row = (&'static str, Method, &'static str, Option<Value>, [u16; 8]);
    let rows: Vec<Row> = vec![
        ("me", Method::GET, "/api/me", None, [401, 200, 200, 200, 200, 200, 200, 200]),
        ("sop list", Method::GET, "/api/sops", None, [401, 200, 200, 200, 200, 200, 200, 200]),
        ("sop detail", Method::GET, "/api/sops/lks_lksa", None, [401, 403, 403, 200, 200, 200, 200, 200]),
        ("sop document", Method::GET, "/api/sops/lks_lksa/render/html", None, [401, 403, 403, 200, 200, 200, 200, 200]),
        (
            "deploy",
            Method::POST,
            "/api/sops",
            Some(
                json!({"file": "baru.sop", "source": include_str!("../sop/izin-reklame.sop").replace("sop izin_reklame", "sop izin_baru")}),
            ),
            [401, 403, 403, 403, 403, 403, 403, 201],
        ),
        ("reload", Method::POST, "/api/sops/reload", None, [401, 403, 403, 403, 403, 403, 403, 200]),
        ("case list", Method::GET, "/api/cases", None, [401, 200, 200, 200, 200, 200, 200, 200]),
        ("case", Method::GET, "/api/cases/{case}", None, [401, 200, 404, 200, 200, 404, 200, 200]),
        (
            "start",
            Method::POST,
            "/api/cases",
            Some(json!({"sop": "lks_lksa", "applicant": "warga1"})),
            [401, 201, 403, 201, 201, 403, 403, 403],
        ),
        ("inbox", Method::GET, "/api/tasks", None, [401, 200, 200, 200, 200, 200, 200, 200]),
        ("claim", Method::POST, "/api/cases/{case}/tasks/2/claim", None, [401, 403, 404, 204, 403, 404, 403, 403]),
        ("release", Method::POST, "/api/cases/{case}/tasks/2/release", None, [401, 403, 404, 204, 403, 404, 403, 403]),
        (
            "complete",
            Method::POST,
            "/api/cases/{case}/tasks/2/complete",
            Some(json!({"outcome": "diterima", "note": "lengkap"})),
            [401, 403, 404, 204, 403, 404, 403, 403],
        ),
        ("withdraw", Method::POST, "/api/cases/{case}/withdraw", None, [401, 204, 404, 403, 403, 404, 403, 403]),
        ("cancel", Method::POST, "/api/cases/{case}/cancel", None, [401, 403, 403, 403, 403, 403, 403, 204]),
        ("download", Method::GET, "/api/cases/{case}/artifacts/0", None, [401, 200, 404, 200, 200, 404, 200, 200]),
        ("report steps", Method::GET, "/api/reports/steps", None, [401, 403, 403, 403, 403, 403, 200, 200]),
        ("report actors", Method::GET, "/api/reports/actors", None, [401, 403, 403, 403, 403, 403, 200, 200]),
        ("users", Method::GET, "/api/users", None, [401, 403, 403, 403, 403, 403, 403, 200]),
        (
            "user update",
            Method::PUT,
            "/api/users/spare1",
            Some(json!({"name": "spare1", "roles": ["applicant"]})),
            [401, 403, 403, 403, 403, 403, 403, 200],
        ),
        ("user delete", Method::DELETE, "/api/users/nobody", None, [401, 403, 403, 403, 403, 403, 403, 404]),
        ("audit", Method::GET, "/api/audit", None, [401, 403, 403, 403, 403, 403, 403, 200]),
        ("my sessions", Method::GET, "/api/me/sessions", None, [401, 200, 200, 200, 200, 200, 200, 200]),
        (
            "end my session",
            Method::DELETE,
            "/api/me/sessions/0123456789abcdef",
            None,
            [401, 404, 404, 404, 404, 404, 404, 404],
        ),
        (
            "own password",
            Method::POST,
            "/api/me/password",
            Some(json!({"old_password": "not it", "new_password": "kopi hitam tanpa gula"})),
            [401, 422, 422, 422, 422, 422, 422, 422],
        ),
        ("user sessions", Method::GET, "/api/users/spare1/sessions", None, [401, 403, 403, 403, 403, 403, 403, 200]),
        (
            "end a user's session",
            Method::DELETE,
            "/api/users/spare1/sessions/0123456789abcdef",
            None,
            [401, 403, 403, 403, 403, 403, 403, 404],
        ),
        ("user disable", Method::POST, "/api/users/nobody/disable", None, [401, 403, 403, 403, 403, 403, 403, 404]),
        ("user enable", Method::POST, "/api/users/nobody/enable", None, [401, 403, 403, 403, 403, 403, 403, 404]),
        (
            "password reset",
            Method::POST,
            "/api/users/nobody/password",
            Some(json!({})),
            [401, 403, 403, 403, 403, 403, 403, 404],
        ),
        ("openapi", Method::GET, "/api/openapi.json", None, [200, 200, 200, 200, 200, 200, 200, 200]),
    ];
    let mut failures = Vec::new();
    let app = app().await;
    for (name, method, path, body, expected) in &rows {
        for (role, want) in ROLES.iter().zip(expected) {
            let case = app.new_case().await;
            let before = app.events_of(&case).await;
            let path = path.replace("{case}", &case);
            let (status, answer) = app.call(role, method.clone(), &path, body.clone()).await;
            if status.as_u16() != *want {
                failures.push(format!("{name} as {role}: {status} (expected {want}) {answer}"));
            }
            if !status.is_success() && app.events_of(&case).await != before {
                failures.push(format!("{name} as {role}: refused with {status} but the case changed"));
            }
        }
    }
    // Uploads (multipart) the same way.
    let upload_expected = [401, 201, 404, 201, 201, 404, 403, 403];
    for (role, want) in ROLES.iter().zip(upload_expected) {
        let case = app.new_case().await;
        let (status, answer) = app.upload(role, &case, "persyaratan", b"%PDF-1.4 isi").await;
        if status.as_u16() != want {
            failures.push(format!("upload as {role}: {status} (expected {want}) {answer}"));
        }
    }
    assert!(failures.is_empty(), "authorization matrix:\n{}", failures.join("\n"));
}

/// What a list shows depends on who asks: nobody sees a case that is not theirs to see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_show_only_what_a_role_may_see() {
    let app = app().await;
    let expected = [("owner", 1), ("stranger", 0), ("fo", 1), ("bo", 1), ("dishub", 0), ("analyst", 1), ("admin", 1)];
    for (role, n) in expected {
        let (status, cases) = app.call(role, Method::GET, "/api/cases", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(cases.as_array().unwrap().len(), n, "cases seen by {role}");
    }
    let inbox = [("owner", 0), ("stranger", 0), ("fo", 1), ("bo", 0), ("analyst", 0)];
    for (role, n) in inbox {
        let (_, tasks) = app.call(role, Method::GET, "/api/tasks", None).await;
        assert_eq!(tasks.as_array().unwrap().len(), n, "inbox of {role}: {tasks}");
    }
    let (_, tasks) = app.call("fo", Method::GET, "/api/tasks", None).await;
    let task = &tasks[0];
    assert_eq!(task["step"], "verifikasi");
    assert_eq!(task["outcomes"], json!(["diterima", "ditolak"]));
    assert!(task["working_minutes_left"].as_i64().unwrap() <= 10);
}

/// The LKS SOP worked through the API alone, with one return to the applicant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lks_case_through_the_api() {
    let app = app().await;
    let case = app.case.clone();
    let complete = |who: &'static str, task: u32, outcome: Option<&'static str>| {
        let path = format!("/api/cases/{case}/tasks/{task}/complete");
        let body = json!({"outcome": outcome, "note": "ok"});
        let app = &app;
        async move {
            let (status, answer) = app.call(who, Method::POST, &path, Some(body)).await;
            assert_eq!(status, StatusCode::NO_CONTENT, "task {task} by {who}: {answer}");
        }
    };
    complete("fo", 2, Some("ditolak")).await;
    // Back with the applicant: the tracker says so.
    let (_, seen) = app.call("owner", Method::GET, &format!("/api/cases/{case}"), None).await;
    assert_eq!(seen["desks"][0]["actor"], "pemohon", "{seen}");
    let (_, inbox) = app.call("owner", Method::GET, "/api/tasks", None).await;
    assert_eq!(inbox[0]["step"], "ajukan");
    complete("owner", 3, None).await;
    complete("fo", 4, Some("diterima")).await;
    let (_, seen) = app.call("owner", Method::GET, &format!("/api/cases/{case}"), None).await;
    assert_eq!(seen["desks"][0]["label"], "Back Office");
    let kinds: Vec<&str> = seen["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"rework_started"), "{kinds:?}");
    assert!(seen["promised"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_problem_details_and_changes_nothing() {
    let app = app().await;
    let case = app.case.clone();
    let before = app.events().await;
    let raw = |method: Method, path: String, content_type: &str, body: Vec<u8>| {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", users().tokens["fo"]))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let complete = format!("/api/cases/{case}/tasks/2/complete");
    // Malformed JSON.
    let (status, problem, _) =
        app.request(raw(Method::POST, complete.clone(), "application/json", b"{\"outcome\":".to_vec())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    // Wrong types.
    let (status, problem, _) =
        app.request(raw(Method::POST, complete.clone(), "application/json", br#"{"outcome": 5}"#.to_vec())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "invalid_input");
    // Oversized body.
    let huge = format!(r#"{{"note": "{}"}}"#, "x".repeat(alur::server::api::JSON_LIMIT + 10));
    let (status, problem, _) =
        app.request(raw(Method::POST, complete.clone(), "application/json", huge.into_bytes())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    // Not JSON at all.
    let (status, _, _) = app.request(raw(Method::POST, complete.clone(), "text/plain", b"diterima".to_vec())).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // An outcome the step does not have, a field the SOP does not have, a wrong field type.
    let (status, problem) = app.call("fo", Method::POST, &complete, Some(json!({"outcome": "mungkin"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem["detail"].as_str().unwrap().contains("diterima, ditolak"), "{problem}");
    let (status, _) =
        app.call("fo", Method::POST, &complete, Some(json!({"outcome": "diterima", "fields": {"tidak_ada": 1}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A decision without its outcome.
    let (status, _) = app.call("fo", Method::POST, &complete, Some(json!({}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Unknown ids.
    for path in [
        "/api/cases/not-a-case".to_string(),
        format!("/api/cases/{}", uuid::Uuid::now_v7()),
        format!("/api/cases/{case}/tasks/99/complete"),
        "/api/sops/tidak_ada".to_string(),
        "/api/tidak/ada".to_string(),
    ] {
        let method = if path.ends_with("complete") { Method::POST } else { Method::GET };
        let body = if method == Method::POST { Some(json!({})) } else { None };
        let (status, problem) = app.call("fo", method, &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {problem}");
    }
    // A forged token and no token at all.
    let forged = Request::builder()
        .uri("/api/tasks")
        .header(header::AUTHORIZATION, "Bearer alur_0000000000000000000000000000000000000000000000000000000000000000")
        .body(Body::empty())
        .unwrap();
    let (status, problem, _) = app.request(forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem["code"], "unauthenticated");
    assert_eq!(app.events().await, before, "nothing changed");
    // Completing a task twice: the second gets a conflict and the history has one completion.
    let (status, _) = app.call("fo", Method::POST, &complete, Some(json!({"outcome": "diterima"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let after = app.events().await;
    let (status, problem) = app.call("fo", Method::POST, &complete, Some(json!({"outcome": "diterima"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(app.events().await, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_completions_race_and_exactly_one_wins() {
    let app = app().await;
    let path = format!("/api/cases/{}/tasks/2/complete", app.case);
    let body = Some(json!({"outcome": "diterima"}));
    let (a, b) = tokio::join!(
        app.call("fo", Method::POST, &path, body.clone()),
        app.call("fo", Method::POST, &path, body.clone())
    );
    let mut statuses = [a.0.as_u16(), b.0.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [204, 409]);
    let history = app.state.engine.history(app.case.parse().unwrap()).await.unwrap();
    let completions =
        history.iter().filter(|r| matches!(r.event, alur::runtime::Event::TaskCompleted { task: 2, .. })).count();
    assert_eq!(completions, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_signed_out_token_is_refused() {
    let accounts = Accounts::open(None).unwrap();
    accounts
        .create_user(&User { name: "sesaat".into(), display: "S".into(), roles: vec![Role::Analyst] }, "rahasia")
        .await
        .unwrap();
    assert!(accounts.sign_in("sesaat", "salah").await.unwrap().is_none(), "a wrong password gives no token");
    let (token, expires) = accounts.sign_in("sesaat", "rahasia").await.unwrap().unwrap();
    assert!(expires > Utc::now());
    assert!(accounts.authenticate(&token).await.unwrap().is_some());
    accounts.sign_out(&token).await.unwrap();
    assert!(accounts.authenticate(&token).await.unwrap().is_none(), "signed out");
    // Sign-in through the API, then sign-out through the API.
    let app = app().await;
    let login = Request::builder()
        .method(Method::POST)
        .uri("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"user": "spare1", "password": "rahasia"}).to_string()))
        .unwrap();
    let (status, answer, _) = app.request(login).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let token = answer["token"].as_str().unwrap().to_string();
    let with = |method: Method, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(app.request(with(Method::GET, "/api/me")).await.0, StatusCode::OK);
    assert_eq!(app.request(with(Method::POST, "/api/logout")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.request(with(Method::GET, "/api/me")).await.0, StatusCode::UNAUTHORIZED);
    // A wrong password through the API: 401, and the audit log has it.
    let bad = Request::builder()
        .method(Method::POST)
        .uri("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"user": "spare1", "password": "x"}).to_string()))
        .unwrap();
    assert_eq!(app.request(bad).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_is_in_the_audit_log_with_its_user() {
    let app = app().await;
    let path = format!("/api/cases/{}/tasks/2/complete", app.case);
    app.call("fo", Method::POST, &path, Some(json!({"outcome": "diterima"}))).await;
    app.call("bo", Method::POST, &format!("/api/cases/{}/tasks/3/claim", app.case), None).await;
    let (status, entries) = app.call("admin", Method::GET, "/api/audit?limit=50", None).await;
    assert_eq!(status, StatusCode::OK);
    let entries = entries.as_array().unwrap();
    let has = |user: &str, action: &str, status: u64| {
        entries.iter().any(|e| e["user"] == user && e["action"] == action && e["status"] == status)
    };
    assert!(has("fo1", "complete", 204), "{entries:?}");
    assert!(has("bo1", "claim", 204));
    assert!(has("warga1", "start", 201));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_sop_with_errors_is_refused_and_the_old_version_keeps_serving() {
    let app = app().await;
    let broken = "sop lks_lksa \"rusak\" {\n    langkah 1 a oleh tidak_ada {\n        waktu 5 menit\n    }\n}\n";
    let (status, report) =
        app.call("admin", Method::POST, "/api/sops", Some(json!({"file": "lks-lksa.sop", "source": broken}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    assert!(report["report"]["errors"].as_u64().unwrap() >= 1);
    assert!(report["report"]["rendered_en"].as_str().unwrap().contains("tidak_ada"), "{report}");
    let on_disk = std::fs::read_to_string(app.state.catalog.sop_dir().join("lks-lksa.sop")).unwrap();
    assert!(on_disk.contains("Kepala Dinas"), "the file on disk is untouched");
    let (_, sop) = app.call("analyst", Method::GET, "/api/sops/lks_lksa", None).await;
    assert_eq!(sop["version"], 1);
    assert_eq!(sop["timing"]["steps"].as_array().unwrap().len(), 9);
    // A name that tries to leave the folder.
    let (status, _) =
        app.call("admin", Method::POST, "/api/sops", Some(json!({"file": "../etc.sop", "source": broken}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_sop_reports_its_warnings_beside_its_errors() {
    let app = app().await;
    // `kabid` does no step (W005) and step 1's actor is not declared (E103).
    let broken = "sop lks_lksa \"rusak\" {\n    pelaksana {\n        kabid \"Kabid\"\n    }\n    langkah 1 a oleh tidak_ada {\n        waktu 5 menit\n    }\n}\n";
    let (status, report) =
        app.call("admin", Method::POST, "/api/sops", Some(json!({"file": "lks-lksa.sop", "source": broken}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    assert_eq!(report["report"]["errors"], 1, "{report}");
    assert_eq!(report["report"]["warnings"], 1, "{report}");
    assert!(report["report"]["rendered_en"].as_str().unwrap().contains("warning[W005]"), "{report}");
    let codes: Vec<&str> =
        report["report"]["diagnostics"].as_array().unwrap().iter().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(codes, ["W005", "E103"], "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_endpoint() {
    let app = app().await;
    let (status, doc) = app.call("anon", Method::GET, "/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/login",
        "/api/sops",
        "/api/sops/{sop}",
        "/api/sops/{sop}/render/{format}",
        "/api/cases",
        "/api/cases/{case}",
        "/api/tasks",
        "/api/cases/{case}/tasks/{task}/complete",
        "/api/cases/{case}/artifacts",
        "/api/reports/steps",
        "/api/reports/actors",
        "/api/users",
        "/api/audit",
        "/api/me/password",
        "/api/me/sessions",
        "/api/me/sessions/{id}",
        "/api/users/{name}/disable",
        "/api/users/{name}/enable",
        "/api/users/{name}/password",
        "/api/users/{name}/sessions",
        "/api/users/{name}/sessions/{id}",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_follow_the_readers_language() {
    let app = app().await;
    let path = format!("/api/cases/{}/tasks/2/complete", app.case);
    let ask = |lang: &str| {
        Request::builder()
            .method(Method::POST)
            .uri(path.clone())
            .header(header::AUTHORIZATION, format!("Bearer {}", users().tokens["fo"]))
            .header(header::ACCEPT_LANGUAGE, lang)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"outcome": "mungkin"}).to_string()))
            .unwrap()
    };
    let (_, id, _) = app.request(ask("id-ID")).await;
    let (_, en, _) = app.request(ask("en-US,en;q=0.9")).await;
    assert!(id["detail"].as_str().unwrap().starts_with("Langkah `verifikasi` tidak punya keputusan"), "{id}");
    assert!(en["detail"].as_str().unwrap().starts_with("step `verifikasi` has no outcome"), "{en}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_sop_renders_as_its_official_document_and_diagrams() {
    let app = app().await;
    for (format, content_type, needle) in [
        ("html", "text/html; charset=utf-8", "Kepala Dinas"),
        ("svg", "image/svg+xml", "<svg"),
        ("bpmn", "application/xml", "bpmn:process"),
        ("mermaid", "text/plain; charset=utf-8", "flowchart"),
    ] {
        let request = Request::builder()
            .uri(format!("/api/sops/lks_lksa/render/{format}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", users().tokens["analyst"]))
            .body(Body::empty())
            .unwrap();
        let response = router(app.state.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{format}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], content_type);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains(needle), "{format} has {needle}");
    }
    let (status, _) = app.call("analyst", Method::GET, "/api/sops/lks_lksa/render/pdf", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// An SOP may call a desk `admin` (rekomendasi-dinas-teknis.sop does): it is a desk role
/// written `actor:admin`, never the admin role, and its demo user is `admin_staf`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_called_admin_is_not_the_admin_role() {
    assert_eq!(Role::parse("admin"), Ok(Role::Admin));
    assert_eq!(Role::parse("actor:admin"), Ok(Role::Actor("admin".into())));
    assert_eq!(Role::Actor("admin".into()).label(), "actor:admin");
    assert_eq!(Role::parse(&Role::Actor("admin".into()).label()), Ok(Role::Actor("admin".into())));
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("sop"), &dir.path().join("sop"));
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()));
    let engine = Arc::new(Engine::new(Arc::new(MemoryStore::new()), clock).await.unwrap());
    let catalog = Catalog::new(&dir.path().join("sop"));
    catalog.reload(&engine).await;
    let accounts = Arc::new(Accounts::open(None).unwrap());
    let state = AppState {
        engine,
        accounts: accounts.clone(),
        catalog,
        secure_cookies: false,
        throttle: Default::default(),
        metrics: Arc::new(Metrics::new(None).unwrap()),
    };
    alur::server::seed_demo_users(&state).await.unwrap();
    let desk = accounts.user("admin_staf").await.unwrap().expect("the admin desk's demo user");
    assert_eq!(desk.roles, vec![Role::Actor("admin".into())]);
    assert!(!desk.is_admin());
}

/// A request to `/api/login` from an address (what `ConnectInfo` gives a served request).
fn login_request(user: &str, password: &str, from: Option<&str>, lang: &str) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, lang)
        .body(Body::from(json!({"user": user, "password": password}).to_string()))
        .unwrap();
    if let Some(from) = from {
        let addr: std::net::SocketAddr = from.parse().unwrap();
        request.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    }
    request
}

async fn login_reply(app: &App, request: Request<Body>) -> (StatusCode, Option<u64>, Value) {
    let response = router(app.state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let retry = response.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().parse().unwrap());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, retry, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Issue 23: 25 wrong passwords in under a second, then the right one worked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_throttled_per_user_with_backoff() {
    let app = app().await;
    let mut refused = 0;
    for _ in 0..25 {
        let (status, retry, problem) = login_reply(&app, login_request("spare1", "salah", None, "id")).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
            assert!(retry.is_some_and(|s| s >= 1), "429 says when to retry");
            assert_eq!(problem["code"], "too_many_requests", "{problem}");
            assert!(problem["detail"].as_str().unwrap().contains("Terlalu banyak"), "{problem}");
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
    }
    assert!(refused >= 15, "only {refused} of 25 wrong sign-ins were throttled");
    // The right password waits too, and says so in English when asked.
    let (status, retry, problem) = login_reply(&app, login_request("spare1", "rahasia", None, "en")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("Too many"), "{problem}");
    let wait = retry.unwrap();
    // Another user is not held up.
    let (status, _, _) = login_reply(&app, login_request("warga2", "rahasia", None, "id")).await;
    assert_eq!(status, StatusCode::OK);
    // Once the wait is over the right password works, and a wrong one waits longer.
    app.clock.advance(chrono::Duration::seconds(wait as i64 + 1));
    let (status, _, _) = login_reply(&app, login_request("spare1", "salah", None, "id")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, again, _) = login_reply(&app, login_request("spare1", "rahasia", None, "id")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(again.unwrap() > wait, "backoff grows: {again:?} after {wait}");
    app.clock.advance(chrono::Duration::seconds(again.unwrap() as i64 + 1));
    let (status, _, problem) = login_reply(&app, login_request("spare1", "rahasia", None, "id")).await;
    assert_eq!(status, StatusCode::OK, "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_throttled_per_address() {
    let app = app().await;
    // One address trying many user names.
    let mut refused = 0;
    for n in 0..60 {
        let (status, _, _) =
            login_reply(&app, login_request(&format!("tebakan{n}"), "salah", Some("10.0.0.9:4000"), "id")).await;
        refused += usize::from(status == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(refused >= 20, "only {refused} of 60 guesses from one address were throttled");
    let (status, retry, _) = login_reply(&app, login_request("warga2", "rahasia", Some("10.0.0.9:4001"), "id")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.is_some());
    // Another address is not held up.
    let (status, _, _) = login_reply(&app, login_request("warga2", "rahasia", Some("10.0.0.10:4000"), "id")).await;
    assert_eq!(status, StatusCode::OK);
}

/// Issue 23: bad path or query values gave plain-text English 400s, a 405 had no body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_a_problem_detail_in_the_readers_language() {
    let app = app().await;
    let case = app.case.clone();
    let ask = |method: Method, path: String, lang: &str| {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", users().tokens["admin"]))
            .header(header::ACCEPT_LANGUAGE, lang)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap()
    };
    for (method, path, status, id, en) in [
        (Method::POST, format!("/api/cases/{case}/tasks/abc/claim"), 404, "`abc`", "`abc`"),
        (Method::GET, format!("/api/cases/{case}/artifacts/-3"), 404, "`-3`", "`-3`"),
        (Method::GET, "/api/cases?limit=-1".to_string(), 400, "`limit`", "`limit`"),
        (Method::GET, "/api/cases?overdue=mungkin".to_string(), 400, "`overdue`", "`overdue`"),
        (Method::GET, "/api/audit?limit=banyak".to_string(), 400, "`banyak`", "`banyak`"),
        (Method::GET, "/api/sops/lks_lksa?start=kemarin".to_string(), 400, "`start`", "`start`"),
        (Method::DELETE, "/api/sops".to_string(), 405, "tidak menerima", "does not accept"),
        (Method::PATCH, format!("/api/cases/{case}"), 405, "tidak menerima", "does not accept"),
        (Method::GET, "/api/tidak/ada".to_string(), 404, "tidak ditemukan", "was not found"),
    ] {
        for (lang, needle) in [("id", id), ("en", en)] {
            let (got, problem, content_type) = app.request(ask(method.clone(), path.clone(), lang)).await;
            assert_eq!(got.as_u16(), status, "{method} {path}: {problem}");
            assert_eq!(content_type, "application/problem+json", "{method} {path}");
            assert_eq!(problem["status"], status, "{problem}");
            let detail = problem["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(needle), "{method} {path} in {lang}: {problem}");
            assert!(!detail.contains("Failed to") && !detail.contains("Cannot parse"), "{problem}");
        }
    }
    // A 405 still says which methods are allowed.
    let response = router(app.state.clone()).oneshot(ask(Method::DELETE, "/api/sops".into(), "id")).await.unwrap();
    let allow = response.headers()[header::ALLOW].to_str().unwrap().to_string();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    // A JSON body of the wrong shape is explained in the reader's language too.
    let complete = format!("/api/cases/{case}/tasks/2/complete");
    for (body, id, en) in [
        (r#"{"outcome": 5}"#, "Isian `outcome`", "The field `outcome`"),
        (r#"{"outcome":"#, "bukan JSON", "not valid JSON"),
        (r#"[1]"#, "objek JSON", "JSON object"),
    ] {
        for (lang, needle) in [("id", id), ("en", en)] {
            let request = Request::builder()
                .method(Method::POST)
                .uri(&complete)
                .header(header::AUTHORIZATION, format!("Bearer {}", users().tokens["fo"]))
                .header(header::ACCEPT_LANGUAGE, lang)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap();
            let (status, problem, _) = app.request(request).await;
            assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
            assert!(problem["detail"].as_str().unwrap().contains(needle), "{body} in {lang}: {problem}");
        }
    }
}

/// Issue 23: internal errors sent the backend's text to the client and logged nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_error_is_generic_and_carries_a_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alur.db");
    let accounts = Arc::new(Accounts::open(Some(&db)).unwrap());
    // The accounts' tables are gone underneath the server: every sign-in check fails.
    rusqlite::Connection::open(&db).unwrap().execute_batch("DROP TABLE tokens").unwrap();
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()));
    let engine = Arc::new(Engine::new(Arc::new(MemoryStore::new()), clock).await.unwrap());
    let catalog = Catalog::new(&dir.path().join("sop"));
    let state = Arc::new(AppState {
        engine,
        accounts,
        catalog,
        secure_cookies: false,
        throttle: Default::default(),
        metrics: Arc::new(Metrics::new(None).unwrap()),
    });
    for (path, auth) in [("/api/me", "Bearer alur_00"), ("/inbox", "")] {
        let mut request = Request::builder().uri(path).header(header::ACCEPT_LANGUAGE, "en");
        request = if auth.is_empty() {
            request.header(header::COOKIE, "alur_session=alur_00; alur_lang=en")
        } else {
            request.header(header::AUTHORIZATION, auth)
        };
        let response = router(state.clone()).oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        let id = response.headers().get("x-request-id").expect("a request id").to_str().unwrap().to_string();
        assert!(id.len() >= 16, "{id}");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = String::from_utf8_lossy(&bytes);
        assert!(!body.contains("tokens") && !body.contains("no such table"), "{path} leaks: {body}");
        assert!(body.contains(&id), "{path} names its request id: {body}");
        assert!(!body.contains("Terjadi"), "{path} answers in the reader's language: {body}");
        if path.starts_with("/api") {
            let problem: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(problem["code"], "internal");
            assert_eq!(problem["request_id"], id.as_str());
            let detail = problem["detail"].as_str().unwrap();
            assert!(detail.starts_with("Something went wrong") && detail.contains(&id), "{detail}");
        }
    }
}

/// A multipart upload of `bytes` declared as `media_type`, as `who`, in `lang`.
fn upload_request(who: &str, case: &str, media_type: &str, bytes: &[u8], lang: &str) -> Request<Body> {
    let boundary = "XyZbOuNdArY";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"artifact\"\r\n\r\npersyaratan\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"berkas\"\r\nContent-Type: {media_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::post(format!("/api/cases/{case}/artifacts?lang={lang}"))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", users().tokens[who]))
        .body(Body::from(body))
        .unwrap()
}

/// Issue 23 item 5: an upload whose type is not taken, or whose content is not what its type
/// says, is a 422 in the reader's language naming the types taken; nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_not_taken_are_refused_in_both_languages() {
    let app = app().await;
    let case = app.case.clone();
    let before = app.events_of(&case).await;
    let cases = [
        ("text/html", &b"<script>alert(1)</script>"[..], "id", "tidak diterima"),
        ("text/html", b"<script>alert(1)</script>", "en", "are not taken"),
        ("application/pdf", b"<html>bukan pdf</html>", "id", "Isi berkas tidak sesuai"),
        ("application/pdf", b"<html>not a pdf</html>", "en", "content is not what its type"),
    ];
    for (media_type, bytes, lang, says) in cases {
        let (status, problem, _) = app.request(upload_request("owner", &case, media_type, bytes, lang)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{media_type} {lang}: {problem}");
        assert_eq!(problem["code"], "invalid_input");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(says) && detail.contains("PDF, PNG, JPEG"), "{lang}: {detail}");
        assert!(problem["allowed_types"].as_array().unwrap().contains(&json!("application/pdf")));
    }
    assert_eq!(app.events_of(&case).await, before, "a refused upload changed the case");
}

/// A download is served with its stored type only when that type is allowed and the bytes
/// match it; otherwise (a document stored before the allow-list) as an opaque attachment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_keep_their_type_only_when_allowed_and_matching() {
    use alur::runtime::event::{Artifact, Storage};
    use alur::runtime::{Event, Recorded};
    use base64::Engine as _;
    let app = app().await;
    let case = app.case.clone();
    let id: alur::runtime::CaseId = case.parse().unwrap();
    // Stored inline by an older alur, with a type it would refuse today.
    let store = app.state.engine.store().clone();
    let seq = store.events(id).await.unwrap().len() as u64;
    let page = b"<html><script>alert(1)</script></html>";
    let old = Event::ArtifactAttached(Box::new(Artifact {
        task: None,
        artifact: "persyaratan".into(),
        name: "halaman.html".into(),
        media_type: "text/html".into(),
        size: page.len() as u64,
        sha256: alur::runtime::media::sha256_hex(page),
        storage: Storage::Inline { base64: base64::engine::general_purpose::STANDARD.encode(page) },
    }));
    let recorded = Recorded { case: id, seq: seq + 1, at: Utc::now(), by: "lama".into(), event: old };
    store.append(id, seq, &[recorded]).await.unwrap();
    for (index, body, content_type) in
        [(0, &b"%PDF-1.4 akta"[..], "application/pdf"), (1, page, "application/octet-stream")]
    {
        let request = Request::get(format!("/api/cases/{case}/artifacts/{index}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", users().tokens["owner"]))
            .body(Body::empty())
            .unwrap();
        let response = router(app.state.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers[header::CONTENT_TYPE], content_type, "document {index}");
        assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment;"));
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(&axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap()[..], body);
    }
}

/// Issue 23: no CSP, frame, nosniff or referrer headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let app = app().await;
    for (path, who) in [
        ("/api/me", "admin"),
        ("/api/me", "anon"),
        ("/api/nope", "anon"),
        ("/login", "anon"),
        ("/inbox", "anon"),
        ("/lang?to=en&back=/", "anon"),
        ("/no/such/page", "anon"),
        ("/api/sops/lks_lksa/render/html", "analyst"),
    ] {
        let mut request = Request::builder().uri(path);
        if let Some(token) = users().tokens.get(who) {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = router(app.state.clone()).oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let headers = response.headers();
        let csp = headers.get(header::CONTENT_SECURITY_POLICY).map(|v| v.to_str().unwrap()).unwrap_or_default();
        assert!(csp.contains("default-src 'none'"), "{path}: CSP `{csp}`");
        assert!(csp.contains("style-src 'self' 'unsafe-inline'"), "{path}: CSP `{csp}`");
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("script-src"), "{path}: CSP `{csp}`");
        assert_eq!(headers.get(header::X_FRAME_OPTIONS).map(|v| v.to_str().unwrap()), Some("DENY"), "{path}");
        assert_eq!(headers.get(header::X_CONTENT_TYPE_OPTIONS).map(|v| v.to_str().unwrap()), Some("nosniff"));
        assert_eq!(headers.get(header::REFERRER_POLICY).map(|v| v.to_str().unwrap()), Some("same-origin"));
    }
}

/// Issue 23: the OpenAPI document failed `openapi-spec-validator` (query parameters declared
/// `in: path`). Runs the real validator; skips visibly outside CI when it is not installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_passes_openapi_spec_validator() {
    let app = app().await;
    let (status, doc) = app.call("anon", Method::GET, "/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                if parameter["in"] == "path" {
                    assert!(path.contains(&format!("{{{name}}}")), "{method} {path}: `{name}` is not in the path");
                }
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let must = std::env::var("ALUR_CI").is_ok_and(|v| v == "1");
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys; from openapi_spec_validator import validate_spec; \
                from openapi_spec_validator.readers import read_from_filename; \
                validate_spec(read_from_filename(sys.argv[1])[0]); print('valid')",
        ])
        .arg(&file)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            assert!(!must, "python3 is required under ALUR_CI=1: {error}");
            eprintln!("SKIPPED the_openapi_document_passes_openapi_spec_validator: python3 not runnable ({error})");
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("ModuleNotFoundError") {
        assert!(!must, "openapi-spec-validator is required under ALUR_CI=1: {stderr}");
        eprintln!(
            "SKIPPED the_openapi_document_passes_openapi_spec_validator: install with \
             `python3 -m pip install openapi-spec-validator`"
        );
        return;
    }
    assert!(output.status.success(), "openapi-spec-validator refuses /api/openapi.json:\n{stderr}");
}

/// Issue 23: a truncated database failed start-up with "Invalid column type Null".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_database_is_named_as_such_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alur.db");
    {
        let store = alur::runtime::SqliteStore::open(&db).unwrap();
        let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()));
        let engine = Engine::new(Arc::new(store), clock).await.unwrap();
        let catalog = Catalog::new(&root().join("sop"));
        catalog.reload(&engine).await;
    }
    // Everything in the main file (no WAL left once the store has let go of it).
    let mut mode = String::new();
    for _ in 0..100 {
        let conn = rusqlite::Connection::open(&db).unwrap();
        // Busy while the store's threads still hold the file.
        mode = conn.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0)).unwrap_or_default();
        if mode == "delete" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(mode, "delete");
    let length = std::fs::metadata(&db).unwrap().len();
    assert!(length >= 8 * 4096, "{length}");
    // Cut in the middle of a page, then at a page boundary.
    for (cut, lang, needles) in [
        (length / 2 + 100, alur::diagnostic::Lang::Id, ["rusak", "cadangan"]),
        (length / 4096 / 2 * 4096, alur::diagnostic::Lang::En, ["damaged", "backup"]),
    ] {
        std::fs::OpenOptions::new().write(true).open(&db).unwrap().set_len(cut).unwrap();
        let options = alur::server::ServeOptions {
            addr: "127.0.0.1:0".parse().unwrap(),
            db: db.clone(),
            sop_dir: root().join("sop"),
            demo: false,
            secure_cookies: false,
            lang,
            ..Default::default()
        };
        let result = tokio::time::timeout(std::time::Duration::from_secs(30), alur::server::serve(options))
            .await
            .expect("start-up fails, not serves");
        let message = result.expect_err("a damaged database does not start");
        for needle in needles {
            assert!(message.contains(needle), "{message}");
        }
    }
}

/// An uploaded SOP may import only files of the SOP folder: a file outside it (the
/// environment, `/etc/passwd`, a secret beside the folder) is refused and not shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_sop_cannot_read_files_outside_the_sop_folder() {
    let app = app().await;
    let secret = app._dir.path().join("rahasia.sop");
    std::fs::write(&secret, "DATABASE_URL=postgres://alur:bocor123@db {\n").unwrap();
    for import in ["../rahasia.sop", secret.to_str().unwrap(), "/etc/passwd", "/proc/self/environ", "/dev/zero"] {
        let source = format!("impor \"{import}\"\nsop lain \"Lain\" {{\n    pelaksana {{ fo \"FO\" }}\n    langkah 1 a oleh fo {{ waktu 5 menit }}\n}}\n");
        let (status, report) =
            app.call("admin", Method::POST, "/api/sops", Some(json!({"file": "lain.sop", "source": source}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{import}: {report}");
        let text = report.to_string();
        assert!(text.contains("E015"), "{import}: {report}");
        assert!(
            !text.contains("bocor123") && !text.contains("root:x") && !text.contains("PATH="),
            "{import}: {report}"
        );
    }
    assert!(!app.state.catalog.sop_dir().join("lain.sop").exists());
}

/// An entry that is not the first step of a branch of the SOP's `alternatif` block is refused
/// (422, naming the entries), by the engine as well, and no case starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_entry_is_refused_naming_the_entries() {
    let app = app().await;
    let count =
        || async { app.call("admin", Method::GET, "/api/cases?limit=1000", None).await.1.as_array().unwrap().len() };
    let before = count().await;
    let start = json!({"sop": "izin_reklame", "entry": "daftar_lewat_pos"});
    let (status, problem) = app.call("owner", Method::POST, "/api/cases", Some(start)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["entries"], json!(["daftar_loket", "daftar_online"]), "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("daftar_lewat_pos") && detail.contains("daftar_online"), "{detail}");
    // An SOP with one way in takes no entry.
    let start = json!({"sop": "lks_lksa", "entry": "verifikasi"});
    let (status, problem) = app.call("owner", Method::POST, "/api/cases", Some(start)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(count().await, before, "no case started");
    let refused = app.state.engine.start_case("izin_reklame", "warga1", Default::default(), Some("arsip")).await;
    assert!(matches!(refused, Err(alur::runtime::RuntimeError::UnknownEntry { .. })), "{refused:?}");
    let (status, _) = app
        .call("owner", Method::POST, "/api/cases", Some(json!({"sop": "izin_reklame", "entry": "daftar_online"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

/// An SOP with service variants starts a case of one of them: without one (or with one it does
/// not have) the API answers 422 naming them, and the case names its variant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_of_an_sop_with_variants_names_its_variant() {
    let app = app().await;
    let sop = r#"sop izin_varian "Izin Uji" {
    kalender wita_kantor

    varian {
        baru         "Izin baru"
        perpanjangan "Perpanjangan izin"
    }

    pelaksana {
        pemohon      "Pemohon"      pemohon
        front_office "Front Office" staf
    }

    langkah 1 ajukan oleh pemohon {
        kegiatan "Mengajukan permohonan"
        waktu    15 menit
    }

    langkah 2 survei oleh front_office {
        untuk    baru
        kegiatan "Survei"
        waktu    1 hari
    }

    langkah 3 terbitkan oleh front_office {
        kegiatan "Menerbitkan izin"
        waktu    1 jam
    }
}
"#;
    std::fs::write(app.state.catalog.sop_dir().join("izin-varian.sop"), sop).unwrap();
    let report = app.state.catalog.reload(&app.state.engine).await;
    assert!(report.files.iter().all(|f| f.refused.is_none()), "the SOP with variants deploys");
    let (status, problem) = app.call("owner", Method::POST, "/api/cases", Some(json!({"sop": "izin_varian"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["variants"], json!(["baru", "perpanjangan"]), "{problem}");
    let start = json!({"sop": "izin_varian", "variant": "cabut"});
    let (status, problem) = app.call("owner", Method::POST, "/api/cases", Some(start)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    let start = json!({"sop": "izin_varian", "variant": "perpanjangan"});
    let (status, body) = app.call("owner", Method::POST, "/api/cases", Some(start)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let case = body["id"].as_str().unwrap().to_string();
    let path = format!("/api/cases/{case}/tasks/1/complete");
    let (status, body) = app.call("owner", Method::POST, &path, Some(json!({}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.call("owner", Method::GET, &format!("/api/cases/{case}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["variant"], "perpanjangan");
    assert_eq!(body["sop_title"], "Izin Uji (Perpanjangan izin)");
    // The renewal is not surveyed: after the application the file is at issuing.
    let open = body["view"]["open_tasks"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{body}");
    assert_eq!(open[0]["step"], "terbitkan", "{body}");
}

/// A password a person sets, creating a user or changing one, follows the policy: at least 10
/// characters, not the user name, not a common password (Indonesian ones included), in the
/// reader's language; nothing changes when it is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_follow_the_policy_on_create_and_update() {
    let app = app().await;
    let update = |password: &str| json!({"name": "spare1", "roles": ["applicant"], "password": password});
    for password in ["", "abcd", "rahasia"] {
        let (status, problem) = app.call("admin", Method::PUT, "/api/users/spare1", Some(update(password))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{password:?}: {problem}");
    }
    assert!(users().accounts.sign_in("spare1", "rahasia").await.unwrap().is_some(), "the old password still works");
    let create = |name: &str, password: &str| json!({"name": name, "roles": ["analyst"], "password": password});
    for (name, password) in [
        ("pejabat", "abcd"),
        ("pejabat.baru", "pejabat.baru"),
        ("pejabat", "pejabat-2026!"),
        ("pejabat", "bismillah123"),
        ("pejabat", "Indonesia2026"),
        ("pejabat", "sayangkamu99"),
        ("pejabat", "1234567890"),
    ] {
        let (status, problem) = app.call("admin", Method::POST, "/api/users", Some(create(name, password))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{password:?}: {problem}");
        assert!(users().accounts.user(name).await.unwrap().is_none());
    }
    let ask = Request::builder()
        .method(Method::POST)
        .uri("/api/users?lang=id")
        .header(header::AUTHORIZATION, format!("Bearer {}", users().tokens["admin"]))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(create("pejabat", "rahasia").to_string()))
        .unwrap();
    let (status, problem, _) = app.request(ask).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem["detail"].as_str().unwrap().contains("kata sandi minimal 10 karakter"), "{problem}");
    let (status, problem) =
        app.call("admin", Method::POST, "/api/users", Some(create("pejabat", "kopi hitam tanpa gula"))).await;
    assert_eq!(status, StatusCode::CREATED, "{problem}");
    let (status, _) = app.call("admin", Method::DELETE, "/api/users/pejabat", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

/// A failed sign-in with a huge user name is in the audit log, cut to a bounded length that
/// still says how long it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_fields_are_bounded() {
    let app = app().await;
    let name = "x".repeat(200_000);
    let login = Request::builder()
        .method(Method::POST)
        .uri("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"user": name, "password": "salah"}).to_string()))
        .unwrap();
    assert_eq!(app.request(login).await.0, StatusCode::UNAUTHORIZED);
    let entries = users().accounts.audit_entries(10_000).await.unwrap();
    let entry = entries.iter().find(|e| e.action == "login" && e.user.starts_with("xxxx")).expect("the sign-in");
    assert!(entry.user.chars().count() <= 300, "{} characters stored", entry.user.len());
    assert!(entry.user.contains('…') && entry.user.contains("200000"), "{}", &entry.user[entry.user.len() - 30..]);
}

/// Fresh accounts with one admin, for tests that change who is admin (the shared ones must not).
async fn with_one_admin() -> (App, String) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("sop"), &dir.path().join("sop"));
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()));
    let engine = Arc::new(Engine::new(Arc::new(MemoryStore::new()), clock.clone()).await.unwrap());
    let catalog = Catalog::new(&dir.path().join("sop"));
    catalog.reload(&engine).await;
    let accounts = Arc::new(Accounts::open(None).unwrap());
    let admin = User { name: "kepala".into(), display: "Kepala".into(), roles: vec![Role::Admin] };
    accounts.create_user(&admin, "rahasia").await.unwrap();
    let (token, _) = accounts.sign_in("kepala", "rahasia").await.unwrap().unwrap();
    let state = Arc::new(AppState {
        engine,
        accounts,
        catalog,
        secure_cookies: false,
        throttle: Default::default(),
        metrics: Arc::new(Metrics::new(None).unwrap()),
    });
    (App { state, clock, _dir: dir, case: String::new() }, token)
}

async fn as_user(app: &App, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json");
    let body = body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty);
    let (status, value, _) = app.request(builder.body(body).unwrap()).await;
    (status, value)
}

/// The last admin keeps the admin role: taking it away or deleting the user is refused (409)
/// until another user is an admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_admin_keeps_the_admin_role() {
    let (app, kepala) = with_one_admin().await;
    let demote = json!({"name": "kepala", "roles": ["analyst"]});
    let (status, problem) = as_user(&app, &kepala, Method::PUT, "/api/users/kepala", Some(demote.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("kepala"), "{problem}");
    let accounts = &app.state.accounts;
    assert!(accounts.user("kepala").await.unwrap().unwrap().is_admin(), "still an admin");
    assert!(matches!(accounts.delete_user("kepala").await, Err(alur::server::accounts::AccountError::LastAdmin(_))));
    // With a second admin, the first may step down; then the second is the last.
    let wakil = json!({"name": "wakil", "roles": ["admin"], "password": "kopi hitam tanpa gula"});
    let (status, problem) = as_user(&app, &kepala, Method::POST, "/api/users", Some(wakil)).await;
    assert_eq!(status, StatusCode::CREATED, "{problem}");
    let (status, problem) = as_user(&app, &kepala, Method::PUT, "/api/users/kepala", Some(demote)).await;
    assert_eq!(status, StatusCode::OK, "{problem}");
    let (wakil, _) = accounts.sign_in("wakil", "kopi hitam tanpa gula").await.unwrap().unwrap();
    let (status, problem) =
        as_user(&app, &wakil, Method::PUT, "/api/users/wakil", Some(json!({"name": "wakil", "roles": ["applicant"]})))
            .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(matches!(accounts.delete_user("wakil").await, Err(alur::server::accounts::AccountError::LastAdmin(_))));
    accounts.delete_user("kepala").await.unwrap();
}

/// Signs in through the API with this `User-Agent`: the status and the answer.
async fn api_login(app: &App, user: &str, password: &str, agent: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, agent)
        .header(header::ACCEPT_LANGUAGE, "en")
        .body(Body::from(json!({"user": user, "password": password}).to_string()))
        .unwrap();
    let (status, value, _) = app.request(request).await;
    (status, value)
}

/// The token of a sign-in that must succeed.
async fn token_of(app: &App, user: &str, password: &str, agent: &str) -> String {
    let (status, answer) = api_login(app, user, password, agent).await;
    assert_eq!(status, StatusCode::OK, "{user}: {answer}");
    answer["token"].as_str().unwrap().to_string()
}

const ANI: &str = "kopi hitam tanpa gula";

/// `with_one_admin` and a user `ani` (an applicant) made through the API.
async fn with_ani() -> (App, String) {
    let (app, kepala) = with_one_admin().await;
    let ani = json!({"name": "ani", "roles": ["applicant"], "password": ANI});
    let (status, problem) = as_user(&app, &kepala, Method::POST, "/api/users", Some(ani)).await;
    assert_eq!(status, StatusCode::CREATED, "{problem}");
    (app, kepala)
}

async fn audited(app: &App, user: &str, action: &str, target: &str, status: u16) -> bool {
    // The in-memory accounts write the audit log at once.
    let entries = app.state.accounts.audit_entries(1000).await.unwrap();
    entries.iter().any(|e| e.user == user && e.action == action && e.target == target && e.status == status)
}

/// A disabled user's sign-ins stop working at once, they cannot sign in again (told so only
/// with the right password), and enabled again they can; an admin does not disable
/// themselves, nor the last admin who can sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_users_session_stops_working_and_they_cannot_sign_in() {
    let (app, kepala) = with_ani().await;
    let ani = token_of(&app, "ani", ANI, "Firefox").await;
    assert_eq!(as_user(&app, &ani, Method::GET, "/api/me", None).await.0, StatusCode::OK);

    let (status, problem) = as_user(&app, &ani, Method::POST, "/api/users/ani/disable", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not an admin: {problem}");
    assert_eq!(as_user(&app, &kepala, Method::POST, "/api/users/ani/disable", None).await.0, StatusCode::NO_CONTENT);
    let (status, problem) = as_user(&app, &ani, Method::GET, "/api/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the disabled user's session stopped: {problem}");
    let (status, problem) = api_login(&app, "ani", ANI, "Firefox").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["code"], "account_disabled");
    assert!(problem["detail"].as_str().unwrap().contains("disabled"), "{problem}");
    let (status, problem) = api_login(&app, "ani", "wrong password here", "Firefox").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a wrong password says nothing of the account: {problem}");
    let (_, users) = as_user(&app, &kepala, Method::GET, "/api/users", None).await;
    let listed = users.as_array().unwrap().iter().find(|u| u["name"] == "ani").unwrap().clone();
    assert_eq!((listed["disabled"].clone(), listed["must_change_password"].clone()), (json!(true), json!(false)));
    assert!(audited(&app, "kepala", "user_disable", "ani", 204).await);
    assert!(audited(&app, "ani", "login", "", 403).await);

    assert_eq!(as_user(&app, &kepala, Method::POST, "/api/users/ani/enable", None).await.0, StatusCode::NO_CONTENT);
    let again = token_of(&app, "ani", ANI, "Firefox").await;
    assert_eq!(as_user(&app, &again, Method::GET, "/api/me", None).await.0, StatusCode::OK);
    assert!(audited(&app, "kepala", "user_enable", "ani", 204).await);

    // Not oneself; and a disabled admin does not count as the other admin.
    let (status, problem) = as_user(&app, &kepala, Method::POST, "/api/users/kepala/disable", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let wakil = json!({"name": "wakil", "roles": ["admin"], "password": "teh manis dingin sekali"});
    assert_eq!(as_user(&app, &kepala, Method::POST, "/api/users", Some(wakil)).await.0, StatusCode::CREATED);
    assert_eq!(as_user(&app, &kepala, Method::POST, "/api/users/wakil/disable", None).await.0, StatusCode::NO_CONTENT);
    let demote = json!({"name": "kepala", "roles": ["analyst"]});
    let (status, problem) = as_user(&app, &kepala, Method::PUT, "/api/users/kepala", Some(demote)).await;
    assert_eq!(status, StatusCode::CONFLICT, "the other admin is disabled: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("`kepala`"), "{problem}");
    let (status, problem) = as_user(&app, &kepala, Method::POST, "/api/users/nobody/disable", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
}

/// An admin's reset ends the user's sign-ins and forces a change: with the temporary
/// password every call but the change (and sign-out) is a 403 saying so; the change needs the
/// current password and a new one the policy accepts; then everything works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_password_forces_a_change_at_the_next_sign_in() {
    let (app, kepala) = with_ani().await;
    let before = token_of(&app, "ani", ANI, "Firefox").await;
    let weak = json!({"password": "rahasia"});
    let (status, problem) = as_user(&app, &kepala, Method::POST, "/api/users/ani/password", Some(weak)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the policy applies to a reset: {problem}");
    let (status, reset) = as_user(&app, &kepala, Method::POST, "/api/users/ani/password", Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    let temporary = reset["password"].as_str().expect("a password is made").to_string();
    assert_eq!(reset["must_change_password"], true);
    assert!(audited(&app, "kepala", "password_reset", "ani", 200).await);
    assert_eq!(as_user(&app, &before, Method::GET, "/api/me", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api_login(&app, "ani", ANI, "Firefox").await.0, StatusCode::UNAUTHORIZED, "the old one is gone");

    let (status, answer) = api_login(&app, "ani", &temporary, "Firefox").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["must_change_password"], true);
    let ani = answer["token"].as_str().unwrap().to_string();
    for (method, path) in [(Method::GET, "/api/me"), (Method::GET, "/api/cases"), (Method::GET, "/api/me/sessions")] {
        let (status, problem) = as_user(&app, &ani, method, path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {problem}");
        assert_eq!(problem["code"], "password_change_required", "{path}");
        assert!(problem["detail"].as_str().unwrap().contains("/api/me/password"), "{problem}");
    }
    let change = |old: &str, new: &str| json!({"old_password": old, "new_password": new});
    let (status, problem) =
        as_user(&app, &ani, Method::POST, "/api/me/password", Some(change("not the password", "sepeda biru pagi")))
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "old_password");
    let (status, problem) =
        as_user(&app, &ani, Method::POST, "/api/me/password", Some(change(&temporary, "ani"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "new_password");
    let (status, problem) =
        as_user(&app, &ani, Method::POST, "/api/me/password", Some(change(&temporary, &temporary))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the same one again: {problem}");
    let (status, problem) =
        as_user(&app, &ani, Method::POST, "/api/me/password", Some(change(&temporary, "sepeda biru pagi"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{problem}");
    let (status, me) = as_user(&app, &ani, Method::GET, "/api/me", None).await;
    assert_eq!((status, me["name"].clone()), (StatusCode::OK, json!("ani")), "the same sign-in goes on");
    assert_eq!(api_login(&app, "ani", &temporary, "Firefox").await.0, StatusCode::UNAUTHORIZED);
    let (_, answer) = api_login(&app, "ani", "sepeda biru pagi", "Firefox").await;
    assert_eq!(answer["must_change_password"], false);
    assert!(audited(&app, "ani", "password_change", "ani", 204).await);
    assert!(audited(&app, "ani", "password_change", "ani", 422).await);

    // A password an admin sets through an edit is a reset too; one the admin gives is kept.
    let edit = json!({"name": "ani", "roles": ["applicant"], "password": "jalan pelan pelan saja"});
    assert_eq!(as_user(&app, &kepala, Method::PUT, "/api/users/ani", Some(edit)).await.0, StatusCode::OK);
    let (_, answer) = api_login(&app, "ani", "jalan pelan pelan saja", "Firefox").await;
    assert_eq!(answer["must_change_password"], true);
    let given = json!({"password": "lampu merah di simpang"});
    let (status, reset) = as_user(&app, &kepala, Method::POST, "/api/users/ani/password", Some(given)).await;
    assert_eq!((status, reset["password"].clone()), (StatusCode::OK, Value::Null), "{reset}");
}

/// A user sees their sign-ins (where from, which is this one) and ends any of them; an admin
/// sees and ends anyone's; an ended sign-in is refused at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_are_listed_and_an_ended_one_is_refused() {
    let (app, kepala) = with_ani().await;
    let laptop = token_of(&app, "ani", ANI, "Firefox/128 (laptop)").await;
    let phone = token_of(&app, "ani", ANI, "Chrome/126 (phone)").await;
    let (status, sessions) = as_user(&app, &laptop, Method::GET, "/api/me/sessions", None).await;
    assert_eq!(status, StatusCode::OK);
    let sessions = sessions.as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let this = sessions.iter().find(|s| s["current"] == true).expect("this sign-in is marked");
    assert_eq!(this["agent"], "Firefox/128 (laptop)");
    let other = sessions.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["agent"], "Chrome/126 (phone)");
    let text = serde_json::to_string(&sessions).unwrap();
    assert!(!text.contains(&laptop) && !text.contains(&phone), "no token is shown");

    let path = format!("/api/me/sessions/{}", other["id"].as_str().unwrap());
    assert_eq!(as_user(&app, &laptop, Method::DELETE, &path, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(as_user(&app, &phone, Method::GET, "/api/me", None).await.0, StatusCode::UNAUTHORIZED, "ended");
    assert_eq!(as_user(&app, &laptop, Method::GET, "/api/me", None).await.0, StatusCode::OK);
    let (status, problem) = as_user(&app, &laptop, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");

    // The admin's view of ani's sign-ins, and ending one.
    let (status, problem) = as_user(&app, &laptop, Method::GET, "/api/users/kepala/sessions", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, sessions) = as_user(&app, &kepala, Method::GET, "/api/users/ani/sessions", None).await;
    assert_eq!(status, StatusCode::OK);
    let sessions = sessions.as_array().unwrap().clone();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["current"], false, "not the admin's own");
    let path = format!("/api/users/ani/sessions/{}", sessions[0]["id"].as_str().unwrap());
    assert_eq!(as_user(&app, &kepala, Method::DELETE, &path, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(as_user(&app, &laptop, Method::GET, "/api/me", None).await.0, StatusCode::UNAUTHORIZED);
    assert!(audited(&app, "kepala", "session_end", "ani", 204).await);
    let (status, problem) = as_user(&app, &kepala, Method::GET, "/api/users/nobody/sessions", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
}

/// `system` is the engine's own name: no user may take it (nor `sistem`), and a caller named so
/// by a front end has no privilege in the engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_name_is_reserved_and_gives_no_privilege() {
    let app = app().await;
    for name in ["system", "sistem", "SYSTEM", "Sistem"] {
        let user = json!({"name": name, "roles": ["front_office"], "password": "kopi hitam tanpa gula"});
        let (status, problem) = app.call("admin", Method::POST, "/api/users", Some(user)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {problem}");
        assert!(users().accounts.user(name).await.unwrap().is_none());
    }
    let case = app.case.parse().unwrap();
    let completion = alur::runtime::Completion { outcome: Some("diterima".into()), ..Default::default() };
    let named_system = alur::runtime::Caller::new("system", &[]);
    let refused = app.state.engine.complete(case, 2, &named_system, completion.clone()).await;
    assert!(matches!(refused, Err(alur::runtime::RuntimeError::WrongActor { .. })), "{refused:?}");
    app.state.engine.complete(case, 2, &alur::runtime::Caller::system(), completion).await.unwrap();
}

/// Two files with one SOP id: the one deployed first keeps serving it, the other is refused
/// with a diagnostic naming both files, at every reload and on upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_file_with_the_same_sop_id_is_refused() {
    let app = app().await;
    let sop_dir = app.state.catalog.sop_dir().to_path_buf();
    let original = std::fs::read_to_string(sop_dir.join("lks-lksa.sop")).unwrap();
    let copy = original.replace("Memverifikasi berkas permohonan", "Memverifikasi berkas permohonan (salinan)");
    assert!(copy != original);
    // Named so that it comes first: name order alone must not decide.
    std::fs::write(sop_dir.join("a-salinan.sop"), &copy).unwrap();
    for _ in 0..3 {
        let (status, files) = app.call("admin", Method::POST, "/api/sops/reload", None).await;
        assert_eq!(status, StatusCode::OK);
        let report = files.as_array().unwrap().iter().find(|f| f["file"].as_str().unwrap().ends_with("a-salinan.sop"));
        let report = report.expect("the copy is reported");
        assert!(report["refused"].is_string(), "{report}");
        let text = report["rendered_en"].as_str().unwrap();
        assert!(text.contains("E101") && text.contains("lks-lksa.sop") && text.contains("a-salinan.sop"), "{text}");
        let (_, sop) = app.call("analyst", Method::GET, "/api/sops/lks_lksa", None).await;
        assert_eq!(sop["version"], 1, "the first file keeps serving");
    }
    let source = copy.clone();
    let (status, problem) =
        app.call("admin", Method::POST, "/api/sops", Some(json!({"file": "b-salinan.sop", "source": source}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("lks-lksa.sop"), "{problem}");
    assert!(!sop_dir.join("b-salinan.sop").exists());
    // The file itself may still be replaced.
    let (status, problem) =
        app.call("admin", Method::POST, "/api/sops", Some(json!({"file": "lks-lksa.sop", "source": copy}))).await;
    assert_eq!(status, StatusCode::CREATED, "{problem}");
    assert_eq!(problem["version"], 2);
}

/// GET `path` with these headers: the status and the body as text.
async fn get_text(app: &App, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String, axum::http::HeaderMap) {
    let mut builder = Request::builder().uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = router(app.state.clone()).oneshot(builder.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap(), headers)
}

/// The value of the sample of metric `name` with (at least) these labels, 0 when there is none;
/// fails if several samples match.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            let wanted = labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            (metric == name && wanted).then(|| value.parse().unwrap())
        })
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matches {} samples", found.len());
    found.first().copied().unwrap_or(0.0)
}

/// Every sample of `name`, summed.
fn total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name} ")) || line.starts_with(&format!("{name}{{")))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_without_a_session() {
    let app = app().await;
    let (status, body, _) = get_text(&app, "/healthz", &[]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_ready_on_a_store_that_answers() {
    let app = app().await;
    let (status, body, _) = get_text(&app, "/readyz", &[]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready\n"));
}

/// An SQLite file whose schema is behind (as if its migrations had not run): 503 with a
/// problem detail in the reader's language, and ready again once it is current.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_when_the_schema_is_not_current() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alur.db");
    let store = Arc::new(alur::runtime::SqliteStore::open(&db).unwrap());
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()));
    let engine = Arc::new(Engine::new(store, clock.clone()).await.unwrap());
    let catalog = Catalog::new(&root().join("sop"));
    let state = Arc::new(AppState {
        engine,
        accounts: users().accounts.clone(),
        catalog,
        secure_cookies: false,
        throttle: Default::default(),
        metrics: Arc::new(Metrics::new(None).unwrap()),
    });
    let app = App { state, clock, _dir: dir, case: String::new() };
    assert_eq!(get_text(&app, "/readyz", &[]).await.0, StatusCode::OK);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let latest: i64 = conn.query_row("SELECT MAX(version) FROM schema_version", [], |row| row.get(0)).unwrap();
    conn.execute("DELETE FROM schema_version WHERE version = ?1", [latest]).unwrap();
    let (status, body, headers) = get_text(&app, "/readyz?lang=id", &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["code"], "not_ready");
    assert_eq!(problem["status"], 503);
    assert!(problem["detail"].as_str().unwrap().starts_with("Basis data belum siap"), "{problem}");
    let (_, body, _) = get_text(&app, "/readyz?lang=en", &[]).await;
    assert!(body.contains("The database is not ready"), "{body}");

    conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?1, 'again')", [latest]).unwrap();
    assert_eq!(get_text(&app, "/readyz", &[]).await.0, StatusCode::OK);
}

/// Requests and commands driven through the router are what `/metrics` then counts: requests
/// by route template (never the case's id) and status class, commands by kind and result,
/// timer firings, open and overdue tasks per SOP and step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_was_done() {
    // `app()` started a case, completed its task 1 and attached a document, through the API.
    let app = app().await;
    let case = app.case.clone();
    let task = |t: u32, verb: &str| format!("/api/cases/{case}/tasks/{t}/{verb}");
    assert_eq!(app.call("fo", Method::POST, &task(2, "claim"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call("bo", Method::POST, &task(2, "claim"), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.call("fo", Method::POST, &task(2, "release"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call("fo", Method::POST, &task(9, "claim"), None).await.0, StatusCode::NOT_FOUND);
    for _ in 0..3 {
        assert_eq!(app.call("owner", Method::GET, &format!("/api/cases/{case}"), None).await.0, StatusCode::OK);
    }
    assert_eq!(app.call("owner", Method::GET, "/api/nothing/here", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get_text(&app, "/no/such/page", &[]).await.0, StatusCode::NOT_FOUND);

    // Open and overdue tasks: task 2 of the case is open, and overdue once its due instant passed.
    let open = app.state.engine.inbox(&[]).await.unwrap();
    assert_eq!(open.len(), 1);
    let step = open[0].step.as_str();
    let (_, text, _) = get_text(&app, "/metrics", &[]).await;
    assert_eq!(sample(&text, "alur_open_tasks", &[("sop", "lks_lksa"), ("step", step)]), 1.0);
    assert_eq!(sample(&text, "alur_overdue_tasks", &[("sop", "lks_lksa"), ("step", step)]), 0.0);
    assert_eq!(total(&text, "alur_open_tasks"), 1.0);
    app.clock.set(open[0].due.unwrap() + chrono::Duration::minutes(5));
    let (_, text, _) = get_text(&app, "/metrics", &[]).await;
    assert_eq!(sample(&text, "alur_overdue_tasks", &[("sop", "lks_lksa"), ("step", step)]), 1.0);
    assert_eq!(total(&text, "alur_overdue_tasks"), 1.0);

    // The timer fires the deadline, 5 minutes late.
    let fired = app.state.engine.fire_due(app.state.engine.now()).await.unwrap();
    assert_eq!(fired, 1);
    assert_eq!(
        app.call("admin", Method::POST, &format!("/api/cases/{case}/cancel"), Some(json!({}))).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call("admin", Method::POST, &format!("/api/cases/{case}/cancel"), Some(json!({}))).await.0,
        StatusCode::CONFLICT
    );

    let (status, text, headers) = get_text(&app, "/metrics", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let commands =
        |command: &str, result: &str| sample(&text, "alur_commands_total", &[("command", command), ("result", result)]);
    assert_eq!(commands("start", "ok"), 1.0);
    assert_eq!(commands("complete", "ok"), 1.0);
    assert_eq!(commands("attach", "ok"), 1.0);
    assert_eq!(commands("claim", "ok"), 1.0);
    assert_eq!(commands("claim", "refused"), 2.0, "another desk's task, a task that does not exist");
    assert_eq!(commands("release", "ok"), 1.0);
    assert_eq!(commands("fire", "ok"), 1.0);
    assert_eq!(commands("cancel", "ok"), 1.0);
    assert_eq!(commands("cancel", "refused"), 1.0);
    assert_eq!(total(&text, "alur_commands_total"), 10.0, "nothing else counted");
    assert_eq!(sample(&text, "alur_timer_firings_total", &[]), 1.0);
    assert_eq!(sample(&text, "alur_timer_lag_seconds_sum", &[]), 300.0);
    assert_eq!(sample(&text, "alur_timer_lag_seconds_count", &[]), 1.0);
    assert_eq!(total(&text, "alur_open_tasks"), 0.0, "the case is cancelled");

    let requests = |method: &str, route: &str, status: &str| {
        sample(&text, "alur_http_requests_total", &[("method", method), ("route", route), ("status", status)])
    };
    assert_eq!(requests("POST", "/api/cases", "2xx"), 1.0);
    assert_eq!(requests("POST", "/api/cases/{case}/tasks/{task}/complete", "2xx"), 1.0);
    assert_eq!(requests("POST", "/api/cases/{case}/artifacts", "2xx"), 1.0);
    assert_eq!(requests("POST", "/api/cases/{case}/tasks/{task}/claim", "2xx"), 1.0);
    assert_eq!(requests("POST", "/api/cases/{case}/tasks/{task}/claim", "4xx"), 2.0);
    assert_eq!(requests("POST", "/api/cases/{case}/tasks/{task}/release", "2xx"), 1.0);
    assert_eq!(requests("GET", "/api/cases/{case}", "2xx"), 3.0);
    assert_eq!(requests("POST", "/api/cases/{case}/cancel", "2xx"), 1.0);
    assert_eq!(requests("POST", "/api/cases/{case}/cancel", "4xx"), 1.0);
    assert_eq!(requests("GET", "/api/{*rest}", "4xx"), 1.0);
    assert_eq!(requests("GET", "unmatched", "4xx"), 1.0, "a path no route matches");
    assert_eq!(requests("GET", "/metrics", "2xx"), 2.0, "the scrapes before this one");
    assert!(!text.contains(&case), "no case id in a label");
    assert_eq!(total(&text, "alur_http_requests_total"), 16.0, "nothing else counted");
    assert_eq!(
        sample(
            &text,
            "alur_http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/api/cases/{case}"), ("status", "2xx")]
        ),
        3.0
    );
    assert_eq!(
        sample(
            &text,
            "alur_http_request_duration_seconds_count",
            &[("method", "POST"), ("route", "/api/cases/{case}/tasks/{task}/claim"), ("status", "4xx")]
        ),
        2.0,
        "latency by status too"
    );
}

/// On the SQLite store, `/metrics` counts the commits (one per command here: nothing runs at
/// once), how long each took and how long its COMMIT (the fsync) took.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_commits_and_their_fsync_time() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("sop"), &dir.path().join("sop"));
    let store = Arc::new(alur::runtime::SqliteStore::open(dir.path().join("alur.db")).unwrap());
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()));
    let metrics = Arc::new(Metrics::new(None).unwrap());
    let engine = Arc::new(Engine::new(store.clone(), clock.clone()).await.unwrap().with_metrics(metrics.engine()));
    let catalog = Catalog::new(&dir.path().join("sop"));
    catalog.reload(&engine).await;
    let state = Arc::new(AppState {
        engine,
        accounts: users().accounts.clone(),
        catalog,
        secure_cookies: false,
        throttle: Default::default(),
        metrics,
    });
    let app = App { state, clock, _dir: dir, case: String::new() };
    let commits =
        |text: &str, result: &str| sample(text, "alur_store_commits_total", &[("store", "sqlite"), ("result", result)]);
    let (_, before, _) = get_text(&app, "/metrics", &[]).await;
    let stats = store.commit_stats();
    assert_eq!(commits(&before, "ok") as u64, stats.commits, "the deployments' commits");
    let case = app.new_case().await; // a start, a completion, an attachment
    let path = format!("/api/cases/{case}/tasks/2/claim");
    assert_eq!(app.call("fo", Method::POST, &path, None).await.0, StatusCode::NO_CONTENT);
    let (_, after, _) = get_text(&app, "/metrics", &[]).await;
    assert_eq!(commits(&after, "ok") - commits(&before, "ok"), 4.0, "{after}");
    assert_eq!(commits(&after, "error"), 0.0);
    assert_eq!(store.commit_stats().commits - stats.commits, 4);
    for histogram in
        ["alur_store_commit_duration_seconds", "alur_store_fsync_duration_seconds", "alur_store_commit_requests"]
    {
        let count = |text: &str| sample(text, &format!("{histogram}_count"), &[("store", "sqlite")]);
        assert_eq!(count(&after) - count(&before), 4.0, "{histogram}");
    }
    let sum = |name: &str| sample(&after, &format!("{name}_sum"), &[("store", "sqlite")]);
    assert!(sum("alur_store_fsync_duration_seconds") > 0.0);
    assert!(sum("alur_store_fsync_duration_seconds") <= sum("alur_store_commit_duration_seconds"));
    assert_eq!(
        sample(&after, "alur_store_commit_requests_sum", &[("store", "sqlite")]),
        commits(&after, "ok"),
        "one request a commit"
    );
}

/// A request id the client (or its proxy) sends is kept when it is short and plain, and
/// answered in `x-request-id`; any other is replaced by one the server makes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_client_request_id_is_kept_and_any_other_replaced() {
    let app = app().await;
    let long = "a".repeat(65);
    for (sent, kept) in [
        ("proxy-7f3a.21:9", true),
        ("0123456789abcdef0123456789abcdef", true),
        (long.as_str(), false),
        ("a<b>c", false),
    ] {
        let (status, _, headers) = get_text(&app, "/healthz", &[("x-request-id", sent)]).await;
        assert_eq!(status, StatusCode::OK);
        let answered = headers["x-request-id"].to_str().unwrap();
        assert_eq!(answered == sent, kept, "{sent} -> {answered}");
        assert!(answered.len() <= 64 && !answered.is_empty());
    }
    let (_, _, headers) = get_text(&app, "/healthz", &[("x-request-id", "one"), ("x-request-id", "two")]).await;
    let answered: Vec<_> = headers.get_all("x-request-id").iter().collect();
    assert_eq!(answered.len(), 1);
    assert!(answered[0] != "one" && answered[0] != "two", "two ids are replaced by one: {answered:?}");
}

/// With `ALUR_METRICS_TOKEN` set, a scrape without the token (or with another) is a 401
/// problem detail; with it, the metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_ask_for_the_token_when_one_is_set() {
    let mut app = app().await;
    let state = Arc::get_mut(&mut app.state).unwrap();
    state.metrics = Arc::new(Metrics::new(Some("s3cret-scrape")).unwrap());
    let (status, body, headers) = get_text(&app, "/metrics", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    assert!(body.contains("\"code\":\"unauthenticated\""), "{body}");
    let (status, _, _) = get_text(&app, "/metrics", &[("authorization", "Bearer s3cret-scrapf")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let user = format!("Bearer {}", users().tokens["admin"]);
    assert_eq!(
        get_text(&app, "/metrics", &[("authorization", &user)]).await.0,
        StatusCode::UNAUTHORIZED,
        "a session is not the token"
    );
    let (status, text, _) = get_text(&app, "/metrics", &[("authorization", "Bearer s3cret-scrape")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("alur_http_requests_total"), "{text}");
}

/// `penangguhan` through the API: the front office puts its task on hold with a reason (an
/// empty one is refused), the case shows `on_hold` and leaves the inbox, completing it is a
/// conflict until it resumes; a step without a hold refuses one; the OpenAPI lists both paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_is_put_on_hold_and_resumed_through_the_api() {
    let app = app().await;
    let source = r#"sop tangguh_api "Uji penangguhan" {
    kalender wita_kantor
    standar_pelayanan 1 hari

    pelaksana {
        pemohon      "Pemohon"      pemohon
        front_office "Front Office" staf
    }

    selesai {
        terbit "Izin terbit"
        gugur  "Permohonan gugur"
    }

    langkah 1 ajukan oleh pemohon {
        kegiatan "Mengajukan permohonan"
        waktu    10 menit
    }

    langkah 2 verifikasi oleh front_office {
        kegiatan    "Memverifikasi berkas"
        waktu       1 jam
        penangguhan maks 14 hari -> gugur
        lanjut ke terbit
    }
}
"#;
    let (status, body) =
        app.call("admin", Method::POST, "/api/sops", Some(json!({"file": "tangguh.sop", "source": source}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.call("owner", Method::POST, "/api/cases", Some(json!({"sop": "tangguh_api"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let case = body["id"].as_str().unwrap().to_string();
    let (status, _) =
        app.call("owner", Method::POST, &format!("/api/cases/{case}/tasks/1/hold"), Some(json!({"reason": "x"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the applicant's step has no hold");
    let (status, _) =
        app.call("owner", Method::POST, &format!("/api/cases/{case}/tasks/1/complete"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let hold = format!("/api/cases/{case}/tasks/2/hold");
    let (status, body) = app.call("fo", Method::POST, &hold, Some(json!({"reason": "  "}))).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")));
    let (status, _) = app.call("bo", Method::POST, &hold, Some(json!({"reason": "menunggu"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a desk the SOP does not name does not even see the case");
    let (status, body) =
        app.call("fo", Method::POST, &hold, Some(json!({"reason": "menunggu surat dinas teknis"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = app.call("fo", Method::POST, &hold, Some(json!({"reason": "lagi"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "already on hold");
    let (_, seen) = app.call("fo", Method::GET, &format!("/api/cases/{case}"), None).await;
    assert_eq!(seen["on_hold"]["reason"], "menunggu surat dinas teknis", "{seen}");
    assert_eq!(seen["on_hold"]["task"], 2);
    assert!(seen["on_hold"]["until"].is_string());
    let kinds: Vec<&str> = seen["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"task_held"), "{kinds:?}");
    let (_, inbox) = app.call("fo", Method::GET, "/api/tasks", None).await;
    assert!(!inbox.as_array().unwrap().iter().any(|t| t["case"] == case), "a held task leaves the inbox: {inbox}");
    let (status, _) =
        app.call("fo", Method::POST, &format!("/api/cases/{case}/tasks/2/complete"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "resume first");
    app.clock.advance(chrono::Duration::hours(2));
    let (status, body) = app.call("fo", Method::POST, &format!("/api/cases/{case}/tasks/2/resume"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = app.call("fo", Method::POST, &format!("/api/cases/{case}/tasks/2/resume"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "not on hold");
    let (_, seen) = app.call("fo", Method::GET, &format!("/api/cases/{case}"), None).await;
    assert!(seen["on_hold"].is_null(), "{seen}");
    assert!(seen["view"]["case_due"]["paused_minutes"].as_u64().unwrap() > 0, "{seen}");
    let (_, inbox) = app.call("fo", Method::GET, "/api/tasks", None).await;
    assert!(inbox.as_array().unwrap().iter().any(|t| t["case"] == case), "back in the inbox: {inbox}");
    let (_, doc) = app.call("anon", Method::GET, "/api/openapi.json", None).await;
    for path in ["/api/cases/{case}/tasks/{task}/hold", "/api/cases/{case}/tasks/{task}/resume"] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
}

/// An archived case (`alur archive`) reads the same through the API, and the case list still
/// finds it: its status filter too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_case_reads_the_same_through_the_api_and_is_still_listed() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("sop"), &dir.path().join("sop"));
    let db = dir.path().join("alur.db");
    let store = Arc::new(alur::runtime::SqliteStore::open(&db).unwrap());
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()));
    let engine = Arc::new(Engine::new(store.clone(), clock.clone()).await.unwrap());
    let catalog = Catalog::new(&dir.path().join("sop"));
    catalog.reload(&engine).await;
    let state = Arc::new(AppState {
        engine,
        accounts: users().accounts.clone(),
        catalog,
        secure_cookies: false,
        throttle: Default::default(),
        metrics: Arc::new(Metrics::new(None).unwrap()),
    });
    let mut app = App { state, clock, _dir: dir, case: String::new() };
    app.case = app.new_case().await;
    let withdrawn = app.new_case().await;
    let path = format!("/api/cases/{withdrawn}/withdraw");
    assert_eq!(app.call("owner", Method::POST, &path, None).await.0, StatusCode::NO_CONTENT);
    app.new_case().await;
    let read = |who: &'static str, path: String| {
        let app = &app;
        async move {
            let (status, body) = app.call(who, Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let case_before = read("owner", format!("/api/cases/{withdrawn}")).await;
    let ids = |list: &Value| -> Vec<String> {
        list.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
    };
    let listed_before = ids(&read("admin", "/api/cases?status=withdrawn".into()).await);
    assert_eq!(listed_before, std::slice::from_ref(&withdrawn));

    let moved = store.archive_ended(Utc::now() + chrono::Duration::days(1), Utc::now()).await.unwrap();
    assert_eq!(moved.cases, 1, "{moved:?}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let live: i64 =
        conn.query_row("SELECT COUNT(*) FROM events WHERE case_id = ?1", [&withdrawn], |r| r.get(0)).unwrap();
    assert_eq!(live, 0, "the case left the live file");

    assert_eq!(read("owner", format!("/api/cases/{withdrawn}")).await, case_before);
    assert_eq!(ids(&read("admin", "/api/cases?status=withdrawn".into()).await), listed_before);
    assert_eq!(ids(&read("admin", "/api/cases".into()).await).len(), 3, "every case is listed");
}

/// The SOP list says which alur compiled each version and whether this one compiles it into
/// the same model (issue 27 item 3).
#[tokio::test]
async fn the_sop_list_says_which_alur_compiled_each_version() {
    let app = app().await;
    let (status, sops) = app.call("admin", Method::GET, "/api/sops", None).await;
    assert_eq!(status, StatusCode::OK, "{sops}");
    let sops = sops.as_array().unwrap();
    assert!(!sops.is_empty());
    for sop in sops {
        assert_eq!(sop["compiled_by"], json!(alur::runtime::deploy::COMPILER), "{sop}");
        assert_eq!(sop["compile"], json!("same"), "{sop}");
    }
}
