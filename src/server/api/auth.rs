//! Signing in and out, and who one is.

use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::super::accounts::{SignIn, User};
use super::super::auth::{client_of, Auth, ClientAddr, Language};
use super::super::problem::{say, Problem};
use super::super::throttle::Wait;
use super::super::State;
use super::{audit, ApiJson};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
    /// The password was given by an admin (or printed at start-up): every call but
    /// `POST /api/me/password` and `POST /api/logout` answers 403 `password_change_required`
    /// until it is changed.
    pub must_change_password: bool,
}

/// Signs in. Failed sign-ins are throttled per user name and per client address: past a few,
/// each further one waits longer, answered 429 with `Retry-After` (`super::throttle`).
#[utoipa::path(post, path = "/api/login", tag = "api", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "The account is disabled (`account_disabled`)"),
        (status = 429, body = Problem, description = "Too many failed sign-ins; see Retry-After")))]
pub async fn login(
    axum::extract::State(state): axum::extract::State<State>,
    Language(lang): Language,
    ClientAddr(addr): ClientAddr,
    headers: axum::http::HeaderMap,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, Problem> {
    let now = state.engine.now();
    if let Err(Wait(seconds)) = state.throttle.check(&request.user, addr, now) {
        audit(&state, &request.user, "login", "", StatusCode::TOO_MANY_REQUESTS);
        return Err(Problem::too_many_sign_ins(lang, seconds));
    }
    let client = client_of(addr, &headers);
    let (name, password) = (request.user.clone(), request.password);
    let signed =
        state.accounts.sign_in_from(&name, &password, &client).await.map_err(|e| Problem::account(&e, lang))?;
    match signed {
        SignIn::Granted { token, expires, session } => {
            state.throttle.succeeded(&request.user);
            audit(&state, &session.user.name, "login", "", StatusCode::OK);
            Ok(Json(LoginResponse {
                token,
                expires_at: expires,
                user: (*session.user).clone(),
                must_change_password: session.must_change_password,
            }))
        }
        SignIn::Disabled => {
            audit(&state, &request.user, "login", "", StatusCode::FORBIDDEN);
            Err(Problem::account_disabled(lang))
        }
        SignIn::Refused => {
            state.throttle.failed(&request.user, addr, now);
            audit(&state, &request.user, "login", "", StatusCode::UNAUTHORIZED);
            Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                say(lang, "Nama pengguna atau kata sandi salah.", "Wrong user name or password."),
            ))
        }
    }
}

#[utoipa::path(post, path = "/api/logout", tag = "api", responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
) -> Result<StatusCode, Problem> {
    let token = auth.token.clone();
    state.accounts.sign_out(&token).await.map_err(|e| Problem::account(&e, auth.lang))?;
    audit(&state, &auth.user.name, "logout", "", StatusCode::NO_CONTENT);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/me", tag = "api", responses((status = 200, body = User), (status = 401, body = Problem)))]
pub async fn me(auth: Auth) -> Json<User> {
    Json((*auth.user).clone())
}
