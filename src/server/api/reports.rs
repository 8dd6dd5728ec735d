//! Reports per step and per actor.

use axum::Json;
use serde::Deserialize;

use super::super::app::queries::report;
use super::super::app::read::ReportRow;
use super::super::auth::Auth;
use super::super::problem::Problem;
use super::super::State;
use super::{ctx, ApiQuery};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    pub sop: Option<String>,
}

#[utoipa::path(get, path = "/api/reports/steps", tag = "api", params(ReportQuery),
    responses((status = 200, body = Vec<ReportRow>), (status = 403, body = Problem)))]
pub async fn report_steps(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Json<Vec<ReportRow>>, Problem> {
    report(&ctx(&state, &auth), query.sop.as_deref(), false).await.map(Json)
}

#[utoipa::path(get, path = "/api/reports/actors", tag = "api", params(ReportQuery),
    responses((status = 200, body = Vec<ReportRow>), (status = 403, body = Problem)))]
pub async fn report_actors(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Json<Vec<ReportRow>>, Problem> {
    report(&ctx(&state, &auth), query.sop.as_deref(), true).await.map(Json)
}
