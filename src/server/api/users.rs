//! Users (create, edit, delete, list) and the audit log, for admins.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use super::super::accounts::{Account, Role, User};
use super::super::app::commands::check_password;
use super::super::app::policy::require_admin;
use super::super::auth::Auth;
use super::super::problem::{say, Problem};
use super::super::State;
use super::{audited, ApiJson, ApiQuery};
use crate::diagnostic::Lang;

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

fn parse_roles(roles: &[String], lang: Lang) -> Result<Vec<Role>, Problem> {
    let mut out = Vec::new();
    for role in roles {
        out.push(Role::parse(role).map_err(|e| Problem::invalid(say(lang, &format!("Peran tidak dikenal: {e}"), &e)))?);
    }
    if out.is_empty() {
        return Err(Problem::invalid(say(lang, "Berikan setidaknya satu peran.", "Give at least one role.")));
    }
    Ok(out)
}

#[utoipa::path(get, path = "/api/users", tag = "api", responses((status = 200, body = Vec<Account>), (status = 403, body = Problem)))]
pub async fn list_users(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
) -> Result<Json<Vec<Account>>, Problem> {
    require_admin(&auth.user, auth.lang)?;
    state.accounts.accounts().await.map(Json).map_err(|e| Problem::account(&e, auth.lang))
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
        require_admin(&auth.user, auth.lang)?;
        let roles = parse_roles(&request.roles, auth.lang)?;
        let Some(password) = request.password.clone() else {
            return Err(Problem::invalid(say(auth.lang, "Kata sandi wajib diisi.", "A password is required.")));
        };
        check_password(&request.name, &password, auth.lang)?;
        let user = User {
            display: request.display.clone().unwrap_or(request.name.clone()),
            name: request.name.clone(),
            roles,
        };
        let must_change = request.must_change_password.unwrap_or(false);
        let made = user.clone();
        state
            .accounts
            .create_account(&made, &password, must_change)
            .await
            .map_err(|e| Problem::account(&e, auth.lang))?;
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
        require_admin(&auth.user, auth.lang)?;
        let roles = parse_roles(&request.roles, auth.lang)?;
        if let Some(password) = request.password.as_deref() {
            check_password(&name, password, auth.lang)?;
        }
        let user = User { display: request.display.clone().unwrap_or(name.clone()), name: name.clone(), roles };
        let (changed, password) = (user.clone(), request.password.clone());
        state.accounts.update_user(&changed, password.as_deref()).await.map_err(|e| Problem::account(&e, auth.lang))?;
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
    let result = async {
        require_admin(&auth.user, auth.lang)?;
        if name == auth.user.name {
            return Err(Problem::conflict(say(
                auth.lang,
                "Admin tidak dapat menghapus dirinya sendiri.",
                "An admin cannot delete themselves.",
            )));
        }
        let deleted = name.clone();
        state.accounts.delete_user(&deleted).await.map_err(|e| Problem::account(&e, auth.lang))?;
        Ok(StatusCode::NO_CONTENT)
    }
    .await;
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
