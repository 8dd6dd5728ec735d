//! The OpenAPI document, generated from the handlers' annotations (utoipa), at
//! `/api/openapi.json`.

use axum::Json;
use utoipa::OpenApi;

use super::app::{commands, read};
use super::{accounts, api, catalog, problem};

#[derive(OpenApi)]
#[openapi(
    info(title = "alur", description = "SOP perizinan: perkara, tugas, laporan / licensing SOPs: cases, tasks, reports"),
    paths(
        api::auth::login, api::auth::logout, api::auth::me,
        api::sops::list_sops, api::sops::get_sop, api::sops::render_sop, api::sops::deploy_sop, api::sops::reload_sops,
        api::cases::list_cases, api::cases::start_case, api::cases::get_case, api::cases::withdraw_case,
        api::cases::cancel_case, api::cases::upload_artifact, api::cases::download_artifact,
        api::tasks::inbox, api::tasks::claim_task, api::tasks::release_task, api::tasks::hold_task,
        api::tasks::resume_task, api::tasks::complete_task,
        api::reports::report_steps, api::reports::report_actors,
        api::users::list_users, api::users::create_user, api::users::update_user, api::users::delete_user,
        api::users::audit_log,
        api::me::change_password, api::me::my_sessions, api::me::end_my_session,
        api::users::disable_user, api::users::enable_user, api::users::reset_password, api::users::user_sessions, api::users::end_user_session,
    ),
    components(schemas(
        problem::Problem, accounts::User, accounts::Account, accounts::Role, accounts::AuditEntry,
        accounts::SessionInfo, catalog::FileReport, api::me::PasswordChange, api::users::PasswordReset,
        api::users::PasswordResetDone,
        api::auth::LoginRequest, api::auth::LoginResponse, read::SopSummary, read::ActorSummary, read::SopDetail,
        commands::DeployRequest, commands::StartRequest, api::cases::Started, read::CaseRow, read::CaseOut, read::Desk,
        read::TimelineEntry, read::AttachmentOut, api::cases::ReasonRequest, read::InboxItem, commands::CompleteRequest,
        api::tasks::HoldRequest, read::ReportRow, api::users::UserRequest,
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
