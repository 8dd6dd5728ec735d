//! The JSON API under `/api`: handlers per resource (`auth`, `sops`, `cases`, `tasks`,
//! `reports`, `users`, `me`), each extracting the request, calling the application layer
//! (`super::app`) and answering JSON or a problem detail. Every command's result goes to the
//! audit log.

pub mod auth;
pub mod cases;
pub mod me;
pub mod reports;
pub mod sops;
pub mod tasks;
pub mod users;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::app::Ctx;
use super::auth::{Auth, Language};
pub use super::extract::{ApiJson, ApiPath, ApiQuery, UPLOAD_LIMIT};
use super::problem::{say, Problem};
use super::State;
use auth::{login, logout, me};
use cases::{cancel_case, download_artifact, get_case, list_cases, start_case, upload_artifact, withdraw_case};
use me::{change_password, end_my_session, my_sessions};
use reports::{report_actors, report_steps};
use sops::{deploy_sop, get_sop, list_sops, reload_sops, render_sop};
use tasks::{claim_task, complete_task, hold_task, inbox, release_task, resume_task};
use users::{
    audit_log, create_user, delete_user, disable_user, enable_user, end_user_session, list_users, reset_password,
    update_user, user_sessions,
};

/// JSON bodies up to this size; artifact uploads have their own limit.
pub const JSON_LIMIT: usize = 256 * 1024;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/me/password", post(change_password))
        .route("/api/me/sessions", get(my_sessions))
        .route("/api/me/sessions/{id}", axum::routing::delete(end_my_session))
        .route("/api/sops", get(list_sops).post(deploy_sop))
        .route("/api/sops/reload", post(reload_sops))
        .route("/api/sops/{sop}", get(get_sop))
        .route("/api/sops/{sop}/render/{format}", get(render_sop))
        .route("/api/cases", get(list_cases).post(start_case))
        .route("/api/cases/{case}", get(get_case))
        .route("/api/cases/{case}/withdraw", post(withdraw_case))
        .route("/api/cases/{case}/cancel", post(cancel_case))
        .route("/api/cases/{case}/artifacts", post(upload_artifact).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/api/cases/{case}/artifacts/{index}", get(download_artifact))
        .route("/api/tasks", get(inbox))
        .route("/api/cases/{case}/tasks/{task}/claim", post(claim_task))
        .route("/api/cases/{case}/tasks/{task}/release", post(release_task))
        .route("/api/cases/{case}/tasks/{task}/hold", post(hold_task))
        .route("/api/cases/{case}/tasks/{task}/resume", post(resume_task))
        .route("/api/cases/{case}/tasks/{task}/complete", post(complete_task))
        .route("/api/reports/steps", get(report_steps))
        .route("/api/reports/actors", get(report_actors))
        .route("/api/users", get(list_users).post(create_user))
        .route("/api/users/{name}", axum::routing::put(update_user).delete(delete_user))
        .route("/api/users/{name}/disable", post(disable_user))
        .route("/api/users/{name}/enable", post(enable_user))
        .route("/api/users/{name}/password", post(reset_password))
        .route("/api/users/{name}/sessions", get(user_sessions))
        .route("/api/users/{name}/sessions/{id}", axum::routing::delete(end_user_session))
        .route("/api/audit", get(audit_log))
        .route("/api/openapi.json", get(super::openapi::document))
        .route("/api", get(not_found_api))
        .route("/api/{*rest}", axum::routing::any(not_found_api))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
}

async fn not_found_api(Language(lang): Language) -> Problem {
    Problem::not_found(lang, &say(lang, "Alamat API ini", "This API path"))
}

/// The application layer's context of a signed-in API request.
fn ctx<'a>(state: &'a State, auth: &'a Auth) -> Ctx<'a> {
    Ctx::new(state, &auth.user, auth.lang)
}

fn audit(state: &State, user: &str, action: &str, target: &str, status: StatusCode) {
    state.accounts.audit(user, action, target, status.as_u16());
}

/// Records the action and its result in the audit log, and answers: the one way a JSON
/// handler audits.
pub(crate) fn audited<T: IntoResponse>(
    state: &State,
    auth: &Auth,
    action: &str,
    target: &str,
    result: Result<T, Problem>,
) -> Response {
    let response = result.into_response();
    audit(state, &auth.user.name, action, target, response.status());
    response
}
