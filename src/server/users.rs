//! The JSON API of one's own account and of managing users beyond creating, editing and
//! deleting them (`api`): changing one's own password, an admin's reset, disabling and
//! enabling, and the sign-ins ("sessions") of a user, listed and ended. `Accounts`' async
//! methods keep hashing and database calls off the async workers; every change is in the audit log.

use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::accounts::{AccountError, SessionInfo};
use super::api::{audited, JSON_LIMIT};
use super::app::commands::check_password;
use super::auth::{Auth, ClientAddr};
use super::extract::{ApiJson, ApiPath};
use super::problem::{say, Problem};
use super::throttle::Wait;
use super::State;
use crate::diagnostic::Lang;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/me/password", post(change_password))
        .route("/api/me/sessions", get(my_sessions))
        .route("/api/me/sessions/{id}", delete(end_my_session))
        .route("/api/users/{name}/disable", post(disable_user))
        .route("/api/users/{name}/enable", post(enable_user))
        .route("/api/users/{name}/password", post(reset_password))
        .route("/api/users/{name}/sessions", get(user_sessions))
        .route("/api/users/{name}/sessions/{id}", delete(end_user_session))
        .layer(axum::extract::DefaultBodyLimit::max(JSON_LIMIT))
}

/// The admin rule of the application layer, for a request.
fn require_admin(auth: &Auth) -> Result<(), Problem> {
    super::app::policy::require_admin(&auth.user, auth.lang)
}

fn account_problem(lang: Lang) -> impl Fn(AccountError) -> Problem {
    move |e| Problem::account(&e, lang)
}

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
#[utoipa::path(post, path = "/api/me/password", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = Problem),
        (status = 422, body = Problem, description = "The current password is wrong (`field`: `old_password`), or the new one breaks the policy"),
        (status = 429, body = Problem, description = "Too many wrong current passwords; see Retry-After")))]
pub async fn change_password(
    AxumState(state): AxumState<State>,
    auth: Auth,
    ClientAddr(addr): ClientAddr,
    ApiJson(request): ApiJson<PasswordChange>,
) -> Response {
    let name = auth.user.name.clone();
    let lang = auth.lang;
    let result = async {
        let now = state.engine.now();
        if let Err(Wait(seconds)) = state.throttle.check(&name, addr, now) {
            return Err(Problem::too_many_sign_ins(lang, seconds));
        }
        check_password(&name, &request.new_password, lang).map_err(|p| p.with("field", "new_password".into()))?;
        let (user, token) = (name.clone(), auth.token.clone());
        let changed = state.accounts.change_password(&user, &request.old_password, &request.new_password, &token).await;
        match changed {
            Ok(()) => Ok(StatusCode::NO_CONTENT),
            Err(AccountError::WrongPassword) => {
                state.throttle.failed(&name, addr, now);
                Err(Problem::account(&AccountError::WrongPassword, lang))
            }
            Err(e) => Err(Problem::account(&e, lang)),
        }
    }
    .await;
    audited(&state, &auth, "password_change", &name, result)
}

/// The sign-ins of `name` that have not expired, the caller's own marked `current`.
async fn sessions_of(state: &State, auth: &Auth, name: String) -> Result<Json<Vec<SessionInfo>>, Problem> {
    let mut sessions = state.accounts.sessions(&name).await.map_err(account_problem(auth.lang))?;
    for session in &mut sessions {
        session.current = session.id == auth.session;
    }
    Ok(Json(sessions))
}

/// The caller's own sign-ins.
#[utoipa::path(get, path = "/api/me/sessions",
    responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = Problem)))]
pub async fn my_sessions(AxumState(state): AxumState<State>, auth: Auth) -> Result<Json<Vec<SessionInfo>>, Problem> {
    sessions_of(&state, &auth, auth.user.name.clone()).await
}

/// Ends one of the caller's own sign-ins (its token stops working at once; on several nodes
/// within `SHARED_TOKEN_RECHECK`). Ending the current one signs out.
#[utoipa::path(delete, path = "/api/me/sessions/{id}", params(("id" = String, Path, description = "A sign-in's `id`")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn end_my_session(AxumState(state): AxumState<State>, auth: Auth, ApiPath(id): ApiPath<String>) -> Response {
    let name = auth.user.name.clone();
    let result = end_session(&state, &auth, name.clone(), id).await;
    audited(&state, &auth, "session_end", &name, result)
}

async fn end_session(state: &State, auth: &Auth, name: String, id: String) -> Result<StatusCode, Problem> {
    state.accounts.revoke_session(&name, &id).await.map_err(account_problem(auth.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's sign-ins (admins).
#[utoipa::path(get, path = "/api/users/{name}/sessions", params(("name" = String, Path)),
    responses((status = 200, body = Vec<SessionInfo>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn user_sessions(
    AxumState(state): AxumState<State>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<SessionInfo>>, Problem> {
    require_admin(&auth)?;
    known(&state, &name, auth.lang).await?;
    sessions_of(&state, &auth, name).await
}

/// Ends one sign-in of a user (admins).
#[utoipa::path(delete, path = "/api/users/{name}/sessions/{id}",
    params(("name" = String, Path), ("id" = String, Path, description = "A sign-in's `id`")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn end_user_session(
    AxumState(state): AxumState<State>,
    auth: Auth,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> Response {
    let result = async {
        require_admin(&auth)?;
        end_session(&state, &auth, name.clone(), id).await
    }
    .await;
    audited(&state, &auth, "session_end", &name, result)
}

/// 404 unless the user exists.
async fn known(state: &State, name: &str, lang: Lang) -> Result<(), Problem> {
    let asked = name.to_string();
    match state.accounts.account(&asked).await.map_err(account_problem(lang))? {
        Some(_) => Ok(()),
        None => Err(Problem::account(&AccountError::Unknown(name.to_string()), lang)),
    }
}

/// Disables a user: they cannot sign in, and their sign-ins end. Not oneself, and not the
/// last admin who can sign in.
#[utoipa::path(post, path = "/api/users/{name}/disable", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Oneself, or the last admin who can sign in")))]
pub async fn disable_user(AxumState(state): AxumState<State>, auth: Auth, ApiPath(name): ApiPath<String>) -> Response {
    let result = set_disabled(&state, &auth, &name, true).await;
    audited(&state, &auth, "user_disable", &name, result)
}

/// Enables a disabled user again: they may sign in.
#[utoipa::path(post, path = "/api/users/{name}/enable", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn enable_user(AxumState(state): AxumState<State>, auth: Auth, ApiPath(name): ApiPath<String>) -> Response {
    let result = set_disabled(&state, &auth, &name, false).await;
    audited(&state, &auth, "user_enable", &name, result)
}

/// Disables or enables `name`, as `auth` (an admin, not disabling themselves).
pub async fn set_disabled(state: &State, auth: &Auth, name: &str, disabled: bool) -> Result<StatusCode, Problem> {
    require_admin(auth)?;
    if disabled && name == auth.user.name {
        return Err(Problem::conflict(say(
            auth.lang,
            "Admin tidak dapat menonaktifkan dirinya sendiri.",
            "An admin cannot disable themselves.",
        )));
    }
    let changed = name.to_string();
    state.accounts.set_disabled(&changed, disabled).await.map_err(account_problem(auth.lang))?;
    Ok(StatusCode::NO_CONTENT)
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
#[utoipa::path(post, path = "/api/users/{name}/password", params(("name" = String, Path)), request_body = PasswordReset,
    responses((status = 200, body = PasswordResetDone), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "The given password breaks the policy")))]
pub async fn reset_password(
    AxumState(state): AxumState<State>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<PasswordReset>,
) -> Response {
    let result = async {
        require_admin(&auth)?;
        let (password, made) = match request.password {
            Some(password) => {
                check_password(&name, &password, auth.lang).map_err(|p| p.with("field", "password".into()))?;
                (password, false)
            }
            None => (super::accounts::random_password(), true),
        };
        let (user, given) = (name.clone(), password.clone());
        state.accounts.reset_password(&user, &given).await.map_err(account_problem(auth.lang))?;
        Ok(Json(PasswordResetDone { password: made.then_some(password), must_change_password: true }))
    }
    .await;
    audited(&state, &auth, "password_reset", &name, result)
}
