//! Who is asking, and in which language: a bearer token (API) or the session cookie (web).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use std::sync::Arc;

use super::accounts::{Client, Session, User};
use super::problem::Problem;
use super::State;
use crate::diagnostic::Lang;

pub const SESSION_COOKIE: &str = "alur_session";
pub const LANG_COOKIE: &str = "alur_lang";

/// A signed-in user. Rejects with 401 problem details; and with 403 (`password_change_required`)
/// while the user has to change their password, except on the change itself and sign-out.
pub struct Auth {
    pub user: Arc<User>,
    pub lang: Lang,
    pub token: String,
    /// The id of the sign-in (`SessionInfo::id`).
    pub session: String,
}

/// The API calls a user who must change their password may still make.
pub const WHILE_PASSWORD_MUST_CHANGE: &[&str] = &["/api/me/password", "/api/logout"];

/// The language of the answer: `?lang=`, then the language cookie, then `Accept-Language`;
/// Bahasa Indonesia when nothing says otherwise.
pub fn lang_of(parts: &Parts) -> Lang {
    if let Some(query) = parts.uri.query() {
        for pair in query.split('&') {
            if let Some(value) = pair.strip_prefix("lang=") {
                return Lang::from_locale(value);
            }
        }
    }
    if let Some(value) = cookie(parts, LANG_COOKIE) {
        return Lang::from_locale(&value);
    }
    parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| Lang::from_locale(v.trim_start()))
        .unwrap_or(Lang::Id)
}

pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    for header in parts.headers.get_all(header::COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                if k == name {
                    return Some(v.to_string());
                }
            }
        }
    }
    None
}

fn token_of(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if value.len() > 7 && value[..7].eq_ignore_ascii_case("bearer ") {
            return Some(value[7..].trim().to_string());
        }
    }
    cookie(parts, SESSION_COOKIE)
}

/// The sign-in of a request, if any, with its token. The cache answers at once; else the
/// account store is asked (without blocking the worker).
pub async fn session_of(parts: &Parts, state: &State) -> Result<Option<(Session, String)>, Problem> {
    let Some(token) = token_of(parts) else { return Ok(None) };
    let found = match state.accounts.cached_session(&token) {
        Some(known) => known,
        None => {
            let asked = token.clone();
            state.accounts.session(&asked).await.map_err(|e| Problem::account(&e, lang_of(parts)))?
        }
    };
    Ok(found.map(|session| (session, token)))
}

/// The signed-in user of a request, if any.
pub async fn user_of(parts: &Parts, state: &State) -> Result<Option<(Arc<User>, String)>, Problem> {
    Ok(session_of(parts, state).await?.map(|(session, token)| (session.user, token)))
}

impl FromRequestParts<State> for Auth {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Self::Rejection> {
        let lang = lang_of(parts);
        match session_of(parts, state).await? {
            Some((session, _))
                if session.must_change_password && !WHILE_PASSWORD_MUST_CHANGE.contains(&parts.uri.path()) =>
            {
                Err(Problem::password_change_required(lang))
            }
            Some((session, token)) => Ok(Auth { user: session.user, lang, token, session: session.id }),
            None => Err(Problem::unauthenticated(lang)),
        }
    }
}

/// The reader's language, for handlers that need no sign-in.
pub struct Language(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Language(lang_of(parts)))
    }
}

/// Where a sign-in comes from: the client's address and `User-Agent`.
pub fn client_of(addr: Option<std::net::IpAddr>, headers: &axum::http::HeaderMap) -> Client {
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
    Client { address: addr.map(|a| a.to_string()), agent }
}

/// The address of the client, when the server was started with connection info (a request
/// built in a test has none).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let info = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientAddr(info.map(|info| info.0.ip())))
    }
}
