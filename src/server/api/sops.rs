//! SOPs: the list, one SOP's details and renderings, deploying an uploaded file, reloading the
//! folder.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::super::app::commands::{self, DeployRequest};
use super::super::app::queries::{self, latest_deployments};
use super::super::app::read::{sop_summary, SopDetail, SopSummary};
use super::super::auth::Auth;
use super::super::catalog::FileReport;
use super::super::problem::Problem;
use super::super::State;
use super::{audited, ctx, ApiJson, ApiPath, ApiQuery};

#[utoipa::path(get, path = "/api/sops", tag = "api", responses((status = 200, body = Vec<SopSummary>), (status = 401, body = Problem)))]
pub async fn list_sops(axum::extract::State(state): axum::extract::State<State>, _auth: Auth) -> Json<Vec<SopSummary>> {
    Json(latest_deployments(&state).iter().map(|d| sop_summary(d)).collect())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimingQuery {
    /// When the case would start (RFC 3339); default now.
    pub start: Option<DateTime<Utc>>,
    pub version: Option<u32>,
}

#[utoipa::path(get, path = "/api/sops/{sop}", tag = "api", params(("sop" = String, Path), TimingQuery),
    responses((status = 200, body = SopDetail), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_sop(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(sop): Path<String>,
    ApiQuery(query): ApiQuery<TimingQuery>,
) -> Result<Json<SopDetail>, Problem> {
    queries::sop(&ctx(&state, &auth), &sop, query.version, query.start).await.map(Json)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RenderQuery {
    pub version: Option<u32>,
}

/// The SOP as its official document (`html`, print it A4 landscape), the flowchart (`svg`),
/// the state graph (`mermaid`, `dot`), BPMN 2.0 (`bpmn`) or Markdown (`md`).
#[utoipa::path(get, path = "/api/sops/{sop}/render/{format}", tag = "api",
    params(("sop" = String, Path), ("format" = String, Path, description = "html, svg, mermaid, dot, bpmn or md"), RenderQuery),
    responses((status = 200, description = "The rendered SOP"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn render_sop(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((sop, format)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<RenderQuery>,
) -> Result<Response, Problem> {
    let (format, body) = queries::rendered(&ctx(&state, &auth), &sop, &format, query.version).await?;
    let content_type = match format {
        crate::render::Format::Html => "text/html; charset=utf-8",
        crate::render::Format::Svg => "image/svg+xml",
        crate::render::Format::Bpmn => "application/xml",
        crate::render::Format::Md => "text/markdown; charset=utf-8",
        crate::render::Format::Mermaid | crate::render::Format::Dot => "text/plain; charset=utf-8",
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

#[utoipa::path(post, path = "/api/sops", tag = "api", request_body = DeployRequest,
    responses((status = 201, body = FileReport), (status = 422, body = Problem, description = "The checker's report is in `report`"), (status = 403, body = Problem)))]
pub async fn deploy_sop(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiJson(request): ApiJson<DeployRequest>,
) -> Response {
    let target = request.file.clone();
    let result = commands::deploy(&ctx(&state, &auth), request).await.map(|report| (StatusCode::CREATED, Json(report)));
    audited(&state, &auth, "deploy", &target, result)
}

#[utoipa::path(post, path = "/api/sops/reload", tag = "api", responses((status = 200, body = Vec<FileReport>), (status = 403, body = Problem)))]
pub async fn reload_sops(axum::extract::State(state): axum::extract::State<State>, auth: Auth) -> Response {
    let result = commands::reload(&ctx(&state, &auth)).await.map(Json);
    audited(&state, &auth, "reload", "", result)
}
