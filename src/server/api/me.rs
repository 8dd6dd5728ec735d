//! One's own account: changing one's password, and one's sign-ins ("sessions"), listed and
//! ended. The rules are `app::accounts`'; every change is in the audit log.

use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use super::super::accounts::SessionInfo;
use super::super::app::accounts;
use super::super::app::Ctx;
use super::super::auth::{Auth, ClientAddr};
use super::super::problem::Problem;
use super::super::State;
use super::{audited, ApiJson, ApiPath};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    /// The password the user signed in with.
    pub old_password: String,
    /// The new one: the password policy applies (at least 10 characters, not the user name,
    /// not a common password), and it must differ from the old one.
    pub new_password: String,
}

/// Changes the caller's own password. The sign-in this request is made with goes on (and may
/// do everything again if the password had to be changed); every other sign-in of the user
/// ends. A wrong current password counts as a failed sign-in (`429` with `Retry-After` after
/// a few).
#[utoipa::path(post, path = "/api/me/password", tag = "api", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = Problem),
        (status = 422, body = Problem, description = "The current password is wrong (`field`: `old_password`), or the new one breaks the policy"),
        (status = 429, body = Problem, description = "Too many wrong current passwords; see Retry-After")))]
pub async fn change_password(
    AxumState(state): AxumState<State>,
    auth: Auth,
    ClientAddr(addr): ClientAddr,
    ApiJson(request): ApiJson<PasswordChange>,
) -> Response {
    let ctx = Ctx::new(&state, &auth.user, auth.lang);
    let result = accounts::change_own_password(&ctx, addr, &auth.token, &request.old_password, &request.new_password)
        .await
        .map(|()| StatusCode::NO_CONTENT);
    audited(&state, &auth, "password_change", &auth.user.name, result)
}

/// The caller's own sign-ins.
#[utoipa::path(get, path = "/api/me/sessions", tag = "api",
    responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = Problem)))]
pub async fn my_sessions(AxumState(state): AxumState<State>, auth: Auth) -> Result<Json<Vec<SessionInfo>>, Problem> {
    let ctx = Ctx::new(&state, &auth.user, auth.lang);
    accounts::sessions(&ctx, &auth.user.name, &auth.session).await.map(Json)
}

/// Ends one of the caller's own sign-ins (its token stops working at once; on several nodes
/// within `SHARED_TOKEN_RECHECK`). Ending the current one signs out.
#[utoipa::path(delete, path = "/api/me/sessions/{id}", tag = "api", params(("id" = String, Path, description = "A sign-in's `id`")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn end_my_session(AxumState(state): AxumState<State>, auth: Auth, ApiPath(id): ApiPath<String>) -> Response {
    let ctx = Ctx::new(&state, &auth.user, auth.lang);
    let result = accounts::end_session(&ctx, &auth.user.name, &id).await.map(|()| StatusCode::NO_CONTENT);
    audited(&state, &auth, "session_end", &auth.user.name, result)
}
