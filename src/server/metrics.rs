//! `/metrics`: what an office's monitoring (Prometheus) scrapes, in the Prometheus text format.
//! HTTP requests by method, route template and status class with their latency (the `track`
//! middleware around every route); the engine's commands by kind and result and its timer
//! firings (counted by the engine, `runtime::metrics`); open and overdue tasks per SOP and
//! step, computed from the inbox index when scraped. Without `ALUR_METRICS_TOKEN` anyone who
//! reaches the server may read it (keep it off the public network); with it, a scrape must
//! send `Authorization: Bearer <token>`. docs/operations.md.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State as AxumState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

use super::auth::Language;
use super::problem::{say, Problem};
use super::State;
use crate::runtime::metrics::EngineMetrics;

/// The environment variable that, when set, holds the bearer token `/metrics` asks for.
pub const TOKEN_VAR: &str = crate::server::settings::ENV_METRICS_TOKEN;

/// The server's metrics: a registry of its own (not a global one), so two servers in one
/// process (the tests) count apart.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    engine: Arc<EngineMetrics>,
    /// SHA-256 of the token a scrape must send, when one is set.
    token: Option<[u8; 32]>,
}

impl Metrics {
    /// `token`: the bearer token a scrape must send (`None` or empty: none).
    pub fn new(token: Option<&str>) -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("alur_http_requests_total", "HTTP requests by method, route template and status class."),
            &["method", "route", "status"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "alur_http_request_duration_seconds",
                "HTTP request latency by method, route template and status class.",
            ),
            &["method", "route", "status"],
        )?;
        registry.register(Box::new(latency.clone()))?;
        let engine = Arc::new(EngineMetrics::register(&registry)?);
        let token = token.filter(|t| !t.is_empty()).map(digest);
        Ok(Metrics { registry, requests, latency, engine, token })
    }

    /// What the engine counts into: give it to `Engine::with_metrics`.
    pub fn engine(&self) -> Arc<EngineMetrics> {
        self.engine.clone()
    }

    /// Whether a scrape with these headers may read the metrics.
    fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.token else { return true };
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| digest(t.trim()));
        // Digests compared, so the time taken says nothing about the token.
        sent.is_some_and(|sent| sent == *expected)
    }
}

fn digest(token: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// Counts every request under its route template (`/api/cases/{case}`, not the case's id; a
/// path no route matches is `unmatched`), with its status class and latency. A layer of the
/// whole router: it sees the final status, after `errors::finish`.
pub async fn track(AxumState(metrics): AxumState<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let response = next.run(request).await;
    let route = route.as_deref().unwrap_or("unmatched");
    let class = match response.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    // Only the methods axum routes by: a made-up method is not a label of its own.
    let method = match method.as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS") => m,
        _ => "other",
    };
    metrics.requests.with_label_values(&[method, route, class]).inc();
    metrics.latency.with_label_values(&[method, route, class]).observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: every metric in the Prometheus text format, with the open and overdue tasks
/// per SOP and step counted now (0 for every step of a deployed SOP that has none).
pub async fn scrape(AxumState(state): AxumState<State>, Language(lang): Language, headers: HeaderMap) -> Response {
    let metrics = &state.metrics;
    if !metrics.allows(&headers) {
        let mut response = Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            say(
                lang,
                &format!("/metrics meminta token: kirim `Authorization: Bearer <token>` dengan isi {TOKEN_VAR}"),
                &format!(
                    "/metrics asks for a token: send `Authorization: Bearer <token>` with the value of {TOKEN_VAR}"
                ),
            ),
        )
        .into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let mut families = metrics.registry.gather();
    match tasks(&state).await {
        Ok(more) => families.extend(more),
        Err(error) => tracing::warn!(%error, "metrics: counting open tasks"),
    }
    let mut body = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(error) = encoder.encode(&families, &mut body) {
        tracing::error!(%error, "metrics: encoding");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    ([(header::CONTENT_TYPE, HeaderValue::from_static(prometheus::TEXT_FORMAT))], body).into_response()
}

/// `alur_open_tasks{sop,step}` and `alur_overdue_tasks{sop,step}` from the inbox index, in
/// gauges made for this scrape (two scrapes at once do not share them).
async fn tasks(state: &State) -> Result<Vec<prometheus::proto::MetricFamily>, String> {
    use prometheus::core::Collector as _;
    let open = IntGaugeVec::new(Opts::new("alur_open_tasks", "Open tasks per SOP and step."), &["sop", "step"])
        .map_err(|e| e.to_string())?;
    let overdue = IntGaugeVec::new(
        Opts::new("alur_overdue_tasks", "Open tasks past their due instant per SOP and step."),
        &["sop", "step"],
    )
    .map_err(|e| e.to_string())?;
    for deployed in state.engine.deployments() {
        for step in &deployed.sop.steps {
            let labels = [deployed.sop.id.name.as_str(), step.id.name.as_str()];
            open.with_label_values(&labels).set(0);
            overdue.with_label_values(&labels).set(0);
        }
    }
    let now = state.engine.now();
    for task in state.engine.inbox(&[]).await.map_err(|e| e.to_string())? {
        let labels = [task.sop.as_str(), task.step.as_str()];
        open.with_label_values(&labels).inc();
        if task.due.is_some_and(|due| due < now) {
            overdue.with_label_values(&labels).inc();
        }
    }
    let mut families = open.collect();
    families.extend(overdue.collect());
    families.extend(recompiled(state)?);
    Ok(families)
}

/// `alur_deployment_recompiled{sop,version}`: 1 for each deployed version this alur compiles
/// into another model than it was deployed with (accepted with `ALUR_ACCEPT_RECOMPILED=1`).
fn recompiled(state: &State) -> Result<Vec<prometheus::proto::MetricFamily>, String> {
    use prometheus::core::Collector as _;
    let differs = IntGaugeVec::new(
        Opts::new(
            "alur_deployment_recompiled",
            "Deployed SOP versions this alur compiles into another model than they were deployed with.",
        ),
        &["sop", "version"],
    )
    .map_err(|e| e.to_string())?;
    let mut any = false;
    for deployed in state.engine.deployments() {
        if matches!(deployed.recompiled, crate::runtime::deploy::Recompiled::Differs { .. }) {
            let version = deployed.deployment.version.to_string();
            differs.with_label_values(&[deployed.deployment.sop.as_str(), version.as_str()]).set(1);
            any = true;
        }
    }
    // A family without samples does not encode: none at all when every version compiles the same.
    Ok(if any { differs.collect() } else { Vec::new() })
}
