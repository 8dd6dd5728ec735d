//! The last word on every error answer, a middleware around the whole router:
//!
//! - a server error (5xx) never shows the backend's text: it is logged in full (`tracing`, with
//!   the request's `x-request-id`), and the client gets a generic problem detail (or page) in
//!   its language naming that request id;
//! - a client error that is not yet a problem detail (API) or a page (web), such as axum's
//!   plain-text rejections or the empty body of a 405, becomes one, in the reader's language,
//!   keeping `Allow` and `Retry-After`.

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::lang_of;
use super::problem::{say, InternalError, Problem};
use super::web;
use crate::diagnostic::Lang;

pub const REQUEST_ID: &str = "x-request-id";

/// The longest request id taken from a client (or the proxy in front): 64 characters.
const MAX_REQUEST_ID: usize = 64;

/// Keeps a request id the client (or a proxy in front) sent only when it is 1 to 64 letters,
/// digits, `-`, `_`, `.` or `:`; any other is dropped, and the server makes one. The id goes
/// into the log and into error answers, so it must be short and plain.
pub async fn keep_request_id(mut request: Request, next: Next) -> Response {
    let plain = |id: &str| {
        !id.is_empty()
            && id.len() <= MAX_REQUEST_ID
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    };
    let given: Vec<bool> = request.headers().get_all(REQUEST_ID).iter().map(|v| v.to_str().is_ok_and(plain)).collect();
    // One plain id, or none at all: two ids would be two stories in the log.
    if given.len() > 1 || given.contains(&false) {
        request.headers_mut().remove(REQUEST_ID);
    }
    next.run(request).await
}

pub async fn finish(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let api = path == "/api" || path.starts_with("/api/");
    let lang = if api { lang_of(&parts) } else { web::page_lang(&parts) };
    let here = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let method = parts.method.clone();
    let id = parts.headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let response = next.run(Request::from_parts(parts, body)).await;
    let status = response.status();
    // A busy or unreachable database: the answer says so already, with `Retry-After`
    // (`Problem::hides_detail`).
    let unavailable = status == StatusCode::SERVICE_UNAVAILABLE
        && response.extensions().get::<InternalError>().is_none()
        && finished(response.headers(), api);
    let problem = if unavailable {
        return response;
    } else if status.is_server_error() {
        let cause = response.extensions().get::<InternalError>().map(|e| e.0.as_str()).unwrap_or("(no detail)");
        tracing::error!(request_id = %id, %method, %path, status = status.as_u16(), error = %cause, "request failed");
        Problem::new(
            status,
            "internal",
            say(
                lang,
                &format!("Terjadi kesalahan di server. Sebutkan nomor permintaan `{id}` kepada admin."),
                &format!("Something went wrong on the server. Give the admin the request number `{id}`."),
            ),
        )
        .with("request_id", id.into())
    } else if status.is_client_error() && !finished(response.headers(), api) {
        client_problem(status, &method, response.headers(), lang)
    } else {
        return response;
    };
    let mut answer = if api {
        problem.into_response()
    } else {
        web::problem_page(&web::Viewer { lang, user: None, here }, &problem)
    };
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// Whether an error answer is already in its final form.
fn finished(headers: &HeaderMap, api: bool) -> bool {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if api {
        content_type == "application/problem+json"
    } else {
        content_type.starts_with("text/html")
    }
}

fn client_problem(status: StatusCode, method: &Method, headers: &HeaderMap, lang: Lang) -> Problem {
    let (code, id, en) = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or_default();
            return Problem::new(
                status,
                "method_not_allowed",
                say(
                    lang,
                    &format!("Alamat ini tidak menerima {method}; yang diterima: {allowed}."),
                    &format!("This address does not accept {method}; it accepts {allowed}."),
                ),
            );
        }
        StatusCode::NOT_FOUND => ("not_found", "Alamat ini tidak ditemukan.", "This address was not found."),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("payload_too_large", "Isi permintaan terlalu besar.", "The request is too large.")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Jenis isi permintaan ini tidak diterima di alamat ini.",
            "This address does not accept this kind of request body.",
        ),
        _ => ("bad_request", "Permintaan ini tidak dapat dibaca.", "This request could not be read."),
    };
    Problem::new(status, code, say(lang, id, en))
}
