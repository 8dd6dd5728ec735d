//! `/healthz` and `/readyz`, for a load balancer or an orchestrator, without sign-in.
//! `/healthz` says the process answers (it reads nothing); `/readyz` says it can serve: the
//! store answers a trivial read within `READY_TIMEOUT` and its schema is the one this alur
//! migrates to. A store that is not ready is a 503 problem detail; why is logged, not sent
//! (the cause may name the database's host).

use std::time::Duration;

use axum::extract::State as AxumState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::Language;
use super::problem::{say, Problem};
use super::State;

/// How long `/readyz` waits for the store.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: 200 while the process lives.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: 200 when the store is ready, 503 with a problem detail when it is not.
pub async fn readyz(AxumState(state): AxumState<State>, Language(lang): Language) -> Response {
    let cause = match tokio::time::timeout(READY_TIMEOUT, state.engine.store().ready()).await {
        Ok(Ok(())) => return "ready\n".into_response(),
        Ok(Err(error)) => error.to_string(),
        Err(_) => format!("the store did not answer within {} s", READY_TIMEOUT.as_secs()),
    };
    tracing::warn!(%cause, "not ready");
    let problem = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        say(
            lang,
            "Basis data belum siap: tidak menjawab, atau skemanya tidak sesuai versi alur ini. Lihat log server.",
            "The database is not ready: it does not answer, or its schema does not match this alur. See the server's log.",
        ),
    );
    // Built here, not by `Problem::into_response`: a 503 from here is the answer, not a
    // server error whose detail is hidden.
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(problem)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response
}
