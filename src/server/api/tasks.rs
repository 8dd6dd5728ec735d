//! Tasks: the inbox and the commands on a task.

use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use super::super::app::commands::{self, CompleteRequest};
use super::super::app::parse_case;
use super::super::app::queries::inbox_for;
use super::super::app::read::InboxItem;
use super::super::auth::Auth;
use super::super::problem::Problem;
use super::super::State;
use super::{audited, ctx, ApiJson, ApiPath};
use crate::runtime::TaskNo;

#[utoipa::path(get, path = "/api/tasks", tag = "api", responses((status = 200, body = Vec<InboxItem>), (status = 401, body = Problem)))]
pub async fn inbox(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
) -> Result<Json<Vec<InboxItem>>, Problem> {
    inbox_for(&ctx(&state, &auth)).await.map(Json)
}

#[utoipa::path(post, path = "/api/cases/{case}/tasks/{task}/claim", tag = "api", params(("case" = String, Path), ("task" = u32, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn claim_task(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((case, task)): ApiPath<(String, TaskNo)>,
) -> Response {
    let result = async { commands::claim(&ctx(&state, &auth), parse_case(&case, auth.lang)?, task).await }.await;
    audited(&state, &auth, "claim", &format!("{case}/{task}"), result.map(|()| StatusCode::NO_CONTENT))
}

#[utoipa::path(post, path = "/api/cases/{case}/tasks/{task}/release", tag = "api", params(("case" = String, Path), ("task" = u32, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn release_task(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((case, task)): ApiPath<(String, TaskNo)>,
) -> Response {
    let result = async { commands::release(&ctx(&state, &auth), parse_case(&case, auth.lang)?, task).await }.await;
    audited(&state, &auth, "release", &format!("{case}/{task}"), result.map(|()| StatusCode::NO_CONTENT))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct HoldRequest {
    /// What the office waits for (the applicant's missing document, another agency's answer).
    pub reason: String,
}

#[utoipa::path(post, path = "/api/cases/{case}/tasks/{task}/hold", tag = "api", params(("case" = String, Path), ("task" = u32, Path)),
    request_body = HoldRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
/// Puts a task on hold (`penangguhan`): its deadline and the service clock stand still, at most
/// as long as the step allows; then the case goes where the SOP says.
pub async fn hold_task(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((case, task)): ApiPath<(String, TaskNo)>,
    ApiJson(request): ApiJson<HoldRequest>,
) -> Response {
    let result =
        async { commands::hold(&ctx(&state, &auth), parse_case(&case, auth.lang)?, task, &request.reason).await }
            .await
            .map(|()| StatusCode::NO_CONTENT);
    audited(&state, &auth, "hold", &format!("{case}/{task}"), result)
}

#[utoipa::path(post, path = "/api/cases/{case}/tasks/{task}/resume", tag = "api", params(("case" = String, Path), ("task" = u32, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
/// Takes a task off hold: it is open again with the time it had left.
pub async fn resume_task(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((case, task)): ApiPath<(String, TaskNo)>,
) -> Response {
    let result = async { commands::resume(&ctx(&state, &auth), parse_case(&case, auth.lang)?, task).await }.await;
    audited(&state, &auth, "resume", &format!("{case}/{task}"), result.map(|()| StatusCode::NO_CONTENT))
}

#[utoipa::path(post, path = "/api/cases/{case}/tasks/{task}/complete", tag = "api", params(("case" = String, Path), ("task" = u32, Path)),
    request_body = CompleteRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn complete_task(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((case, task)): ApiPath<(String, TaskNo)>,
    ApiJson(request): ApiJson<CompleteRequest>,
) -> Response {
    let result = async { commands::complete(&ctx(&state, &auth), parse_case(&case, auth.lang)?, task, request).await }
        .await
        .map(|()| StatusCode::NO_CONTENT);
    audited(&state, &auth, "complete", &format!("{case}/{task}"), result)
}
