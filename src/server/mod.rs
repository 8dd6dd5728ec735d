//! Stage 5: `alur serve`. The engine behind an HTTP JSON API (`api`) and server-rendered web
//! pages (`web`) for office staff, applicants, analysts and admins, with sign-in and roles
//! (`accounts`, `auth`). Nothing here knows any one SOP: pages and endpoints are built from
//! the deployed models.

pub mod accounts;
pub mod api;
pub mod app;
pub mod auth;
pub mod catalog;
pub mod errors;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod settings;
pub mod throttle;
pub mod web;

use axum::Router;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::Lang;
use crate::runtime::store::{Change, PostgresStore, StoreError};
use crate::runtime::{Clock, Engine, SqliteStore, Store, SystemClock};
use accounts::{Accounts, Role, User};
use catalog::Catalog;
pub use settings::LogFormat;

/// Everything a request handler needs.
pub struct AppState {
    pub engine: Arc<Engine>,
    pub accounts: Arc<Accounts>,
    pub catalog: Catalog,
    /// Set the `Secure` flag on the session cookie (serve behind HTTPS).
    pub secure_cookies: bool,
    /// Failed sign-ins per user name and address (`Default` is the server's policy).
    pub throttle: throttle::Throttle,
    /// What `/metrics` serves; the engine counts into `metrics.engine()` when it was made with it.
    pub metrics: Arc<metrics::Metrics>,
}

pub type State = Arc<AppState>;

/// Sent with every response: no scripts at all (the pages have none), styles from this site
/// and inline (the pages and rendered documents carry their own CSS), images from this site,
/// forms posted only here, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The whole application: API and web pages; every error a problem detail (API) or a page
/// (web) in the reader's language, server errors logged under the request id that is sent back
/// in `x-request-id`; security headers on every response.
pub fn router(state: State) -> Router {
    use axum::http::{header, HeaderName, HeaderValue};
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
    use tower_http::set_header::SetResponseHeaderLayer;
    let request_id = HeaderName::from_static(errors::REQUEST_ID);
    let always = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    let metrics = state.metrics.clone();
    Router::new()
        .merge(api::routes())
        .merge(web::routes())
        .layer(axum::middleware::from_fn(errors::finish))
        // Outside `finish`: the 503 of `/readyz` is its answer, not a server error to hide.
        .merge(operations())
        .with_state(state)
        .layer(always(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .layer(always(header::X_FRAME_OPTIONS, "DENY"))
        .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(always(header::REFERRER_POLICY, "same-origin"))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(trace_layer())
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(axum::middleware::from_fn(errors::keep_request_id))
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
}

type HttpRequest = axum::http::Request<axum::body::Body>;
type HttpResponse = axum::http::Response<axum::body::Body>;
/// The trace layer with the request span and the response line below (and nothing else).
type Traced = tower_http::trace::TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    fn(&HttpRequest) -> tracing::Span,
    (),
    fn(&HttpResponse, std::time::Duration, &tracing::Span),
    (),
    (),
    (),
>;

/// A span per request (`request`, with the request id, method, route template and path),
/// which the spans of its commands and every log line on its way nest in, and one `info`
/// line per response with its status and latency. Server errors are logged by
/// `errors::finish`, with their cause.
fn trace_layer() -> Traced {
    use tower_http::trace::TraceLayer;
    fn answered(response: &HttpResponse, latency: std::time::Duration, _: &tracing::Span) {
        // Whole microseconds, so the milliseconds print with three decimals at most.
        let latency_ms = latency.as_micros() as f64 / 1000.0;
        // A target of its own, so `RUST_LOG=info,alur::access=off` drops the line per request.
        tracing::info!(target: "alur::access", status = response.status().as_u16(), latency_ms, "answered");
    }
    fn span(request: &HttpRequest) -> tracing::Span {
        let id = request.headers().get(errors::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
        let route = request.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", |p| p.as_str());
        tracing::info_span!(
            "request",
            request_id = id,
            method = %request.method(),
            route,
            path = request.uri().path(),
        )
    }
    TraceLayer::new_for_http()
        .make_span_with(span as fn(&HttpRequest) -> tracing::Span)
        .on_request(())
        .on_response(answered as fn(&HttpResponse, std::time::Duration, &tracing::Span))
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

/// What an office's monitoring asks, without a session: alive, ready, metrics.
fn operations() -> Router<State> {
    use axum::routing::get;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::scrape))
}

/// Logs to stderr in `format`, filtered by `RUST_LOG` (default: `info`). Once per process:
/// the CLI calls it before [`serve`] (a library function does not set the process's logger).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.with_ansi(colour).try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).try_init(),
    };
}

pub struct ServeOptions {
    pub addr: SocketAddr,
    /// The database: an SQLite file, or a `postgres://` URL (several nodes may serve one).
    pub db: PathBuf,
    pub sop_dir: PathBuf,
    pub demo: bool,
    pub secure_cookies: bool,
    pub lang: Lang,
    /// The office calendars (`None`: `calendars` in the SOP folder).
    pub calendars_dir: Option<PathBuf>,
    /// How long the requests under way may take once the server is asked to stop.
    pub drain: std::time::Duration,
    /// Ended cases move to the SQLite file's archive this many days after they end (0: never).
    pub archive_after_days: u64,
    /// The bearer token `/metrics` asks for (`None`: open).
    pub metrics_token: Option<String>,
    /// The first admin's password (`None`: made and printed, to be changed at first sign-in).
    pub admin_password: Option<String>,
    pub throttle: throttle::ThrottlePolicy,
    /// How long a sign-in lasts.
    pub session_lifetime: chrono::Duration,
}

impl Default for ServeOptions {
    /// The defaults of `alur serve` without a configuration file or environment.
    fn default() -> ServeOptions {
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db: PathBuf::from("alur.db"),
            sop_dir: PathBuf::from("sop"),
            demo: false,
            secure_cookies: false,
            lang: Lang::default(),
            calendars_dir: None,
            drain: std::time::Duration::from_secs(30),
            archive_after_days: 0,
            metrics_token: None,
            admin_password: None,
            throttle: throttle::ThrottlePolicy::default(),
            session_lifetime: accounts::TOKEN_LIFETIME,
        }
    }
}

impl ServeOptions {
    /// The options the resolved settings give (`demo` is a flag only).
    pub fn from_settings(settings: &crate::server::settings::Settings, demo: bool, lang: Lang) -> ServeOptions {
        ServeOptions {
            addr: settings.addr.value,
            db: settings.database.value.clone(),
            sop_dir: settings.sop_dir.value.clone(),
            demo,
            secure_cookies: settings.secure_cookies.value,
            lang,
            calendars_dir: Some(settings.calendars_dir.value.clone()),
            drain: std::time::Duration::from_secs(settings.drain_seconds.value),
            archive_after_days: settings.archive_after_days.value,
            metrics_token: settings.metrics_token.value.clone(),
            admin_password: settings.admin_password.value.clone(),
            throttle: settings.throttle_policy(),
            session_lifetime: settings.session_lifetime(),
        }
    }
}

/// Opens the database, deploys the SOPs, makes the first admin if there is none, starts the
/// timer service, and serves until Ctrl-C or SIGTERM; then lets the requests under way finish,
/// stops the timers, writes out the audit log and checkpoints the SQLite file.
pub async fn serve(options: ServeOptions) -> Result<(), String> {
    let lang = options.lang;
    let say = |id: &str, en: &str| problem::say(lang, id, en);
    if !options.sop_dir.is_dir() {
        let dir = options.sop_dir.display();
        return Err(say(
            &format!("folder SOP `{dir}` tidak ada; jalankan dari folder proyek atau pakai --sop-dir FOLDER"),
            &format!("the SOP folder `{dir}` does not exist; run from the project folder or use --sop-dir DIR"),
        ));
    }
    let (store, accounts) = open_database(&options.db, lang).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics =
        Arc::new(metrics::Metrics::new(options.metrics_token.as_deref()).map_err(|e| format!("metrics: {e}"))?);
    let engine =
        Arc::new(Engine::new(store, clock.clone()).await.map_err(|e| e.to_string())?.with_metrics(metrics.engine()));
    // Listening before deploying, so a version another node deploys meanwhile is not missed.
    let deployments = tokio::spawn(follow_deployments(engine.clone(), lang));
    engine.recover().await.map_err(|e| e.to_string())?;
    tokio::spawn(warm_running_cases(engine.clone()));
    let accounts = Arc::new(accounts.with_session_lifetime(options.session_lifetime));
    let catalog = match &options.calendars_dir {
        Some(dir) => Catalog::new(&options.sop_dir).with_calendars_dir(dir),
        None => Catalog::new(&options.sop_dir),
    };
    let state = Arc::new(AppState {
        engine: engine.clone(),
        accounts: accounts.clone(),
        catalog,
        secure_cookies: options.secure_cookies,
        throttle: throttle::Throttle::new(options.throttle.clone()),
        metrics,
    });
    let report = state.catalog.reload(&engine).await;
    for line in report.lines(lang) {
        println!("{line}");
    }
    let password = options.admin_password.clone();
    let made = first_admin(&accounts, password.as_deref()).await.map_err(|e| e.to_string())?;
    if let Some(given) = made {
        println!("{}", first_admin_line(lang, &given));
    }
    if options.demo {
        for line in seed_demo_users(&state).await? {
            println!("{line}");
        }
    }
    let archiving = match options.archive_after_days {
        0 => None,
        days => Some(tokio::spawn(archive_daily(engine.store().clone(), clock.clone(), days))),
    };
    let (stop_timers, stop) = tokio::sync::watch::channel(false);
    let timers = tokio::spawn(crate::runtime::timer::run(engine.clone(), clock, stop, |error| {
        tracing::error!(%error, "timer service");
    }));
    let listener = tokio::net::TcpListener::bind(options.addr).await.map_err(|e| format!("{}: {e}", options.addr))?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    println!(
        "{}",
        say(
            &format!("alur berjalan di {url}  (Ctrl-C untuk berhenti)"),
            &format!("alur is serving on {url}  (Ctrl-C to stop)")
        )
    );
    // With each connection's address: sign-ins are throttled per client address too. On
    // SIGTERM or Ctrl-C the listener closes and the requests under way finish, for at most
    // the drain time: one client that never finishes its request must not keep the server
    // from stopping (systemd and Docker kill it soon after).
    let (signalled, mut stopping) = tokio::sync::watch::channel(false);
    let serving = axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            stop_signal().await;
            let _ = signalled.send(true);
        });
    let drain = options.drain;
    let cut_off = async move {
        let _ = stopping.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(drain).await;
    };
    tokio::select! {
        served = serving => served.map_err(|e| e.to_string())?,
        () = cut_off => eprintln!(
            "{}",
            say(
                &format!("alur: permintaan yang belum selesai setelah {} detik diputus", drain.as_secs()),
                &format!("alur: requests still running after {} s are cut off", drain.as_secs())
            )
        ),
    }
    println!(
        "{}",
        say(
            "alur berhenti: menyelesaikan timer, log audit dan basis data",
            "alur stopping: timers, audit log and database"
        )
    );
    // No deadline fires any more, every audit entry is written, and the WAL goes into the file.
    let _ = stop_timers.send(true);
    let _ = timers.await;
    if let Some(archiving) = archiving {
        // A move is two commits each round; one cut off here is finished by the next run.
        archiving.abort();
    }
    deployments.abort();
    accounts.close().await;
    let spec = options.db.to_string_lossy();
    if !is_postgres(&spec) {
        let db = options.db.clone();
        let checkpointed =
            tokio::task::spawn_blocking(move || crate::runtime::store::sqlite_file::checkpoint(&db)).await;
        match checkpointed {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("alur: {error}"),
            Err(error) => eprintln!("alur: checkpoint: {error}"),
        }
    }
    println!("{}", say("alur berhenti", "alur stopped"));
    Ok(())
}

/// How the first admin's password was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FirstPassword {
    /// Made by alur: printed once, and to be changed at the first sign-in.
    Printed(String),
    /// `ALUR_ADMIN_PASSWORD`, chosen by whoever started the server: not printed.
    FromEnvironment,
}

/// Makes the first admin (`admin`) when there is no user, and says how its password was
/// given: with `ALUR_ADMIN_PASSWORD` that one, else a random one the admin must change at
/// their first sign-in (every page and API call but the change answers so until then).
/// `None` when there are users already, or another node made the admin at the same time.
/// `password` is `ALUR_ADMIN_PASSWORD` as the resolved settings have it.
pub async fn first_admin(
    accounts: &Accounts,
    password: Option<&str>,
) -> Result<Option<FirstPassword>, accounts::AccountError> {
    if accounts.user_count().await? > 0 {
        return Ok(None);
    }
    let admin = User { name: "admin".into(), display: "Administrator".into(), roles: vec![Role::Admin, Role::Analyst] };
    let (password, given) = match password {
        Some(password) if !password.is_empty() => (password.to_string(), FirstPassword::FromEnvironment),
        _ => {
            let password = accounts::random_password();
            (password.clone(), FirstPassword::Printed(password))
        }
    };
    let must_change = matches!(given, FirstPassword::Printed(_));
    match accounts.create_account(&admin, &password, must_change).await {
        Ok(()) => Ok(Some(given)),
        // Another node starting at the same time made it.
        Err(accounts::AccountError::Exists(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The start-up line that says how to sign in as the first admin.
pub fn first_admin_line(lang: Lang, given: &FirstPassword) -> String {
    match given {
        FirstPassword::Printed(password) => problem::say(
            lang,
            &format!(
                "Admin pertama dibuat: masuk sebagai `admin` dengan kata sandi `{password}`; kata sandi ini harus \
                 diganti saat pertama masuk."
            ),
            &format!(
                "First admin created: sign in as `admin` with password `{password}`; it must be changed at the \
                 first sign-in."
            ),
        ),
        FirstPassword::FromEnvironment => problem::say(
            lang,
            "Admin pertama dibuat: masuk sebagai `admin` dengan kata sandi dari ALUR_ADMIN_PASSWORD.",
            "First admin created: sign in as `admin` with the password in ALUR_ADMIN_PASSWORD.",
        ),
    }
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM (what `kill`, systemd and Docker send).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Reads every running case into the engine's cache, in the background after start: the first
/// report or dashboard would otherwise fold them all while its user waits (0.5 s at 10,000
/// running cases).
async fn warm_running_cases(engine: Arc<Engine>) {
    use crate::runtime::store::summary::SummaryFilter;
    let running = SummaryFilter {
        status: Some(crate::runtime::CaseStatus::Active.word().to_string()),
        limit: usize::MAX,
        ..SummaryFilter::default()
    };
    let ids: Vec<_> = match engine.store().case_summaries(&running).await {
        Ok(running) => running.iter().map(|s| s.case).collect(),
        Err(error) => return tracing::warn!(%error, "reading the running cases after start"),
    };
    if let Err(error) = engine.load_each(&ids).await {
        tracing::warn!(%error, "reading the running cases after start");
    }
}

/// When the first daily archiving runs: past the start-up's own work.
const ARCHIVE_FIRST_RUN: std::time::Duration = std::time::Duration::from_secs(5);

/// Moves the cases that ended more than `days` ago into the store's archive: soon after start,
/// then once a day. A failure is logged and tried again the next day. Several nodes may run it
/// at once: each takes cases no other holds.
async fn archive_daily(store: Arc<dyn Store>, clock: Arc<dyn Clock>, days: u64) {
    let mut wait = ARCHIVE_FIRST_RUN;
    loop {
        tokio::time::sleep(wait).await;
        wait = std::time::Duration::from_secs(24 * 3600);
        let now = clock.now();
        let before = now - chrono::Duration::days(i64::try_from(days).unwrap_or(i64::MAX / 86_400_000));
        match store.archive_ended(before, now).await {
            Ok(done) => {
                tracing::info!(cases = done.cases, events = done.events, kept = done.kept, "archived ended cases")
            }
            Err(error) => tracing::error!(%error, "archiving ended cases"),
        }
    }
}

/// Whether a `--db` value names a PostgreSQL database rather than an SQLite file.
pub fn is_postgres(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// The event store and the accounts of a `--db` value: both in the SQLite file, or both in
/// the PostgreSQL database (and schema), where every node sees the same users and sign-ins.
async fn open_database(db: &Path, lang: Lang) -> Result<(Arc<dyn Store>, Accounts), String> {
    let spec = db.to_string_lossy();
    if is_postgres(&spec) {
        // The URL may hold a password: errors name the database without it.
        let store = PostgresStore::open(&spec).await.map_err(|e| e.to_string())?;
        let accounts = Accounts::open_postgres(store.pool().clone()).await.map_err(|e| e.to_string())?;
        Ok((Arc::new(store), accounts))
    } else {
        let path = db.to_path_buf();
        let store = tokio::task::spawn_blocking(move || SqliteStore::open(path))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| match e {
                StoreError::Damaged { path, cause } => problem::say(
                    lang,
                    &format!(
                        "berkas basis data `{path}` rusak ({cause}); alur tidak dapat memakainya. Simpan \
                         salinan berkas yang rusak, lalu pulihkan cadangan terakhir di tempatnya (tanpa \
                         berkas `-wal` dan `-shm` di sebelahnya) dan jalankan alur lagi"
                    ),
                    &format!(
                        "the database file `{path}` is damaged ({cause}); alur cannot use it. Keep a copy of \
                         the damaged file, then restore the latest backup in its place (with no `-wal` or \
                         `-shm` file beside it) and start alur again"
                    ),
                ),
                e => format!("{}: {e}", db.display()),
            })?;
        let path = db.to_path_buf();
        let accounts = tokio::task::spawn_blocking(move || Accounts::open(Some(&path)))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        Ok((Arc::new(store), accounts))
    }
}

/// Loads the SOP versions other nodes deploy: on `Change::Deployed` from the store's change
/// feed, and on `Resync` or a lagging feed (changes may have been missed). A store without a
/// feed (SQLite: one node) ends this at once.
async fn follow_deployments(engine: Arc<Engine>, lang: Lang) {
    use tokio::sync::broadcast::error::RecvError;
    let mut changes = engine.store().changes();
    loop {
        let refresh = match changes.recv().await {
            // This node's own deployment is announced as soon as it is committed, before the
            // engine holds it: that one is not loaded again.
            Ok(Change::Deployed { sop, version }) => {
                !engine.is_deploying(&sop, version) && engine.deployment(&sop, Some(version)).is_err()
            }
            Ok(Change::Resync) | Err(RecvError::Lagged(_)) => true,
            Ok(Change::Appended { .. }) => false,
            Err(RecvError::Closed) => return,
        };
        if refresh {
            match engine.refresh_deployments().await {
                Ok(loaded) => {
                    for (sop, version) in loaded {
                        println!(
                            "{}",
                            problem::say(
                                lang,
                                &format!("SOP {sop} v{version} (di-deploy node lain)"),
                                &format!("SOP {sop} v{version} (deployed by another node)"),
                            )
                        );
                    }
                }
                Err(error) => eprintln!("alur: loading deployments: {error}"),
            }
        }
    }
}

/// The demo password of every demo user.
pub const DEMO_PASSWORD: &str = "demo";

/// One user per actor of the deployed SOPs (named after the actor id), an applicant and an
/// analyst, all with the password `demo`. Users that exist already are left alone.
pub async fn seed_demo_users(state: &AppState) -> Result<Vec<String>, String> {
    let mut users: Vec<User> = vec![
        User { name: "pemohon".into(), display: "Pemohon Demo".into(), roles: vec![Role::Applicant] },
        User { name: "analis".into(), display: "Analis Demo".into(), roles: vec![Role::Analyst] },
    ];
    let mut actors: std::collections::BTreeMap<String, String> = Default::default();
    for d in state.engine.deployments() {
        for actor in &d.sop.actors {
            if matches!(actor.kind, crate::model::ActorKind::Staff | crate::model::ActorKind::External) {
                actors.entry(actor.id.name.clone()).or_insert_with(|| actor.label.clone());
            }
        }
    }
    for (id, label) in actors {
        // A desk whose id is a fixed or reserved user name (an SOP's `admin` desk) gets `<id>_staf`.
        let name = if matches!(id.as_str(), "admin" | "pemohon" | "analis") || accounts::is_reserved(&id) {
            format!("{id}_staf")
        } else {
            id.clone()
        };
        users.push(User { name, display: label, roles: vec![Role::Actor(id)] });
    }
    let mut lines = Vec::new();
    for user in users {
        match state.accounts.create_user(&user, DEMO_PASSWORD).await {
            Ok(()) => lines.push(format!(
                "demo: {} ({}) / {DEMO_PASSWORD}",
                user.name,
                user.roles.iter().map(Role::label).collect::<Vec<_>>().join(", ")
            )),
            Err(accounts::AccountError::Exists(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(lines)
}
