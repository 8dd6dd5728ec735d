//! Users for admins: create, edit, delete, list, disable, enable, reset a password, their
//! sign-ins; and the audit log. The rules are `app::accounts`'.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::super::accounts::{Account, SessionInfo, User};
use super::super::app::accounts::{self, UserInput};
use super::super::app::policy::require_admin;
use super::super::auth::Auth;
use super::super::problem::Problem;
use super::super::State;
use super::{audited, ctx, ApiJson, ApiPath, ApiQuery};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserRequest {
    pub name: String,
    pub display: Option<String>,
    /// `admin`, `analyst`, `applicant`, or an actor id of the SOPs (`front_office`...).
    pub roles: Vec<String>,
    /// Required when creating; when updating, an admin's reset: the user must change it at
    /// their next sign-in.
    pub password: Option<String>,
    /// When creating: the user must change the password at their first sign-in (default false).
    pub must_change_password: Option<bool>,
}

#[utoipa::path(get, path = "/api/users", tag = "api", responses((status = 200, body = Vec<Account>), (status = 403, body = Problem)))]
pub async fn list_users(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
) -> Result<Json<Vec<Account>>, Problem> {
    accounts::users(&ctx(&state, &auth)).await.map(Json)
}

#[utoipa::path(post, path = "/api/users", tag = "api", request_body = UserRequest,
    responses((status = 201, body = User), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiJson(request): ApiJson<UserRequest>,
) -> Response {
    let target = request.name.clone();
    let result = async {
        let input =
            UserInput { name: request.name.clone(), display: request.display.clone(), roles: request.roles.clone() };
        let password = request.password.as_deref().unwrap_or("");
        let must_change = request.must_change_password.unwrap_or(false);
        let user = accounts::create_user(&ctx(&state, &auth), &input, password, must_change).await?;
        Ok((StatusCode::CREATED, Json(user)))
    }
    .await;
    audited(&state, &auth, "user_create", &target, result)
}

#[utoipa::path(put, path = "/api/users/{name}", tag = "api", params(("name" = String, Path)), request_body = UserRequest,
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "The last admin would lose the admin role"), (status = 422, body = Problem)))]
pub async fn update_user(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<UserRequest>,
) -> Response {
    let result = async {
        let input = UserInput { name: name.clone(), display: request.display.clone(), roles: request.roles.clone() };
        let user = accounts::update_user(&ctx(&state, &auth), &input, request.password.as_deref()).await?;
        Ok(Json(user))
    }
    .await;
    audited(&state, &auth, "user_update", &name, result)
}

#[utoipa::path(delete, path = "/api/users/{name}", tag = "api", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "Oneself, or the last admin")))]
pub async fn delete_user(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(name): Path<String>,
) -> Response {
    let result = accounts::delete_user(&ctx(&state, &auth), &name).await.map(|()| StatusCode::NO_CONTENT);
    audited(&state, &auth, "user_delete", &name, result)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/audit", tag = "api", params(AuditQuery),
    responses((status = 200, body = Vec<super::super::accounts::AuditEntry>), (status = 403, body = Problem)))]
pub async fn audit_log(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<super::super::accounts::AuditEntry>>, Problem> {
    require_admin(&auth.user, auth.lang)?;
    state
        .accounts
        .audit_entries(query.limit.unwrap_or(200).min(10_000))
        .await
        .map(Json)
        .map_err(|e| Problem::account(&e, auth.lang))
}

/// Disables a user: they cannot sign in, and their sign-ins end. Not oneself, and not the
/// last admin who can sign in.
#[utoipa::path(post, path = "/api/users/{name}/disable", tag = "api", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Oneself, or the last admin who can sign in")))]
pub async fn disable_user(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> Response {
    let result = accounts::set_disabled(&ctx(&state, &auth), &name, true).await.map(|()| StatusCode::NO_CONTENT);
    audited(&state, &auth, "user_disable", &name, result)
}

/// Enables a disabled user again: they may sign in.
#[utoipa::path(post, path = "/api/users/{name}/enable", tag = "api", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn enable_user(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> Response {
    let result = accounts::set_disabled(&ctx(&state, &auth), &name, false).await.map(|()| StatusCode::NO_CONTENT);
    audited(&state, &auth, "user_enable", &name, result)
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct PasswordReset {
    /// The temporary password (the password policy applies). Leave it out to have one made.
    pub password: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PasswordResetDone {
    /// The password made for the user, when none was given: shown this once, give it to them.
    pub password: Option<String>,
    /// Always true: the user must change it at their next sign-in.
    pub must_change_password: bool,
}

/// An admin's reset of a user's password: the given (or a made) password becomes theirs, their
/// sign-ins end, and at their next sign-in they must change it before anything else.
#[utoipa::path(post, path = "/api/users/{name}/password", tag = "api", params(("name" = String, Path)), request_body = PasswordReset,
    responses((status = 200, body = PasswordResetDone), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "The given password breaks the policy")))]
pub async fn reset_password(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<PasswordReset>,
) -> Response {
    let result = accounts::reset_password(&ctx(&state, &auth), &name, request.password)
        .await
        .map(|made| Json(PasswordResetDone { password: made, must_change_password: true }));
    audited(&state, &auth, "password_reset", &name, result)
}

/// A user's sign-ins (admins).
#[utoipa::path(get, path = "/api/users/{name}/sessions", tag = "api", params(("name" = String, Path)),
    responses((status = 200, body = Vec<SessionInfo>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn user_sessions(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<SessionInfo>>, Problem> {
    let ctx = ctx(&state, &auth);
    accounts::user(&ctx, &name).await?;
    accounts::sessions(&ctx, &name, &auth.session).await.map(Json)
}

/// Ends one sign-in of a user (admins).
#[utoipa::path(delete, path = "/api/users/{name}/sessions/{id}", tag = "api",
    params(("name" = String, Path), ("id" = String, Path, description = "A sign-in's `id`")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn end_user_session(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> Response {
    let ctx = ctx(&state, &auth);
    let result = async {
        require_admin(&auth.user, auth.lang)?;
        accounts::end_session(&ctx, &name, &id).await
    }
    .await
    .map(|()| StatusCode::NO_CONTENT);
    audited(&state, &auth, "session_end", &name, result)
}
