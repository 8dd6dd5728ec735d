//! The OpenAPI document, generated from the handlers' annotations (utoipa), at
//! `/api/openapi.json`.

use axum::Json;
use utoipa::OpenApi;

use super::{accounts, api, catalog, problem, users};

#[derive(OpenApi)]
#[openapi(
    info(title = "alur", description = "SOP perizinan: perkara, tugas, laporan / licensing SOPs: cases, tasks, reports"),
    paths(
        api::login, api::logout, api::me,
        api::list_sops, api::get_sop, api::render_sop, api::deploy_sop, api::reload_sops,
        api::list_cases, api::start_case, api::get_case, api::withdraw_case, api::cancel_case,
        api::upload_artifact, api::download_artifact,
        api::inbox, api::claim_task, api::release_task, api::hold_task, api::resume_task, api::complete_task,
        api::report_steps, api::report_actors,
        api::list_users, api::create_user, api::update_user, api::delete_user, api::audit_log,
        users::change_password, users::my_sessions, users::end_my_session,
        users::disable_user, users::enable_user, users::reset_password, users::user_sessions, users::end_user_session,
    ),
    components(schemas(
        problem::Problem, accounts::User, accounts::Account, accounts::Role, accounts::AuditEntry,
        accounts::SessionInfo, catalog::FileReport, users::PasswordChange, users::PasswordReset,
        users::PasswordResetDone,
        api::LoginRequest, api::LoginResponse, api::SopSummary, api::ActorSummary, api::SopDetail,
        api::DeployRequest, api::StartRequest, api::Started, api::CaseRow, api::CaseOut, api::Desk,
        api::TimelineEntry, api::AttachmentOut, api::ReasonRequest, api::InboxItem, api::CompleteRequest, api::HoldRequest,
        api::ReportRow, api::UserRequest,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
