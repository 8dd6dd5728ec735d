//! Server-rendered web pages for office staff, applicants, analysts and admins.
//!
//! Every core flow works without JavaScript: plain links and forms, and `303 See Other` after
//! each successful POST. Pages call the same read models and commands as the JSON API
//! (`super::api`), so they show exactly what the API returns and obey the same authorization.
//! A page request without a valid session is sent to `/login`; refusals are friendly HTML
//! pages in the reader's language, never raw JSON. The session cookie is `SameSite=Strict`,
//! which is what keeps another site from posting these forms.

mod account;
mod admin;
mod analyst;
mod applicant;
mod desk;
mod layout;
mod staff;

use axum::extract::{DefaultBodyLimit, Form, FromRequestParts, Query, State as AxumState};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

use super::accounts::SignIn;
use super::accounts::User;
use super::app::Ctx;
use super::auth::{client_of, cookie, session_of, user_of, ClientAddr, LANG_COOKIE, SESSION_COOKIE};
use super::extract::UPLOAD_LIMIT;
use super::problem::Problem;
use super::throttle::Wait;
use super::State;
use crate::diagnostic::Lang;
use crate::runtime::CaseId;

pub use layout::{layout, t, when};

pub fn routes() -> Router<State> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/lang", get(set_lang))
        .route("/inbox", get(staff::inbox))
        .route("/cases", get(staff::case_list))
        .route("/cases/{case}", get(applicant::case_page))
        .route("/cases/{case}/withdraw", post(applicant::withdraw))
        .route("/cases/{case}/receipt", get(desk::receipt))
        .route("/lacak", get(desk::lacak_get).post(desk::lacak_post))
        .route("/cases/{case}/documents", post(applicant::upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/cases/{case}/tasks/{task}", get(staff::task_page))
        .route("/cases/{case}/tasks/{task}/claim", post(staff::claim))
        .route("/cases/{case}/tasks/{task}/release", post(staff::release))
        .route("/cases/{case}/tasks/{task}/hold", post(staff::hold))
        .route("/cases/{case}/tasks/{task}/resume", post(staff::resume))
        .route("/cases/{case}/tasks/{task}/complete", post(staff::complete))
        .route("/apply", get(applicant::choose))
        .route("/apply/{sop}", get(applicant::form).post(applicant::submit))
        .route("/applications", get(applicant::mine))
        .route("/sops", get(analyst::sop_list))
        .route("/sops/{sop}", get(analyst::sop_page))
        .route("/dashboard", get(analyst::dashboard))
        .route("/account", get(account::account))
        .route(account::CHANGE_PASSWORD, get(account::password).post(account::change_password))
        .route("/account/sessions/{id}/end", post(account::end_session))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/users/{name}", get(admin::user_page).post(admin::update_user))
        .route("/admin/users/{name}/disable", post(admin::disable))
        .route("/admin/users/{name}/enable", post(admin::enable))
        .route("/admin/users/{name}/password", post(admin::reset_password))
        .route("/admin/users/{name}/sessions/{id}/end", post(admin::end_session))
        .route("/admin/reload", post(admin::reload))
        .fallback(not_found)
}

/// The pages a user who must change their password may still open.
const WHILE_PASSWORD_MUST_CHANGE: &[&str] = &[account::CHANGE_PASSWORD, "/logout"];

/// The language of a page: `?lang=`, then the `alur_lang` cookie, else Bahasa Indonesia.
pub fn page_lang(parts: &Parts) -> Lang {
    if let Some(query) = parts.uri.query() {
        for pair in query.split('&') {
            if let Some(value) = pair.strip_prefix("lang=") {
                return Lang::from_locale(value);
            }
        }
    }
    cookie(parts, LANG_COOKIE).map(|v| Lang::from_locale(&v)).unwrap_or(Lang::Id)
}

/// Who reads the page, in which language, and where they are (for the language switch).
pub struct Viewer {
    pub lang: Lang,
    pub user: Option<Arc<User>>,
    /// The path and query of this page.
    pub here: String,
}

/// A signed-in reader of a page. Without a session: a redirect to `/login`.
pub struct Page {
    pub user: Arc<User>,
    pub lang: Lang,
    pub token: String,
    /// The id of the sign-in (`SessionInfo::id`).
    pub session: String,
    /// The user must change their password (only `/account/password` and sign-out open).
    pub must_change_password: bool,
    pub here: String,
}

impl Page {
    /// The application layer's context of this page's request.
    pub fn ctx<'a>(&'a self, state: &'a State) -> Ctx<'a> {
        Ctx::new(state, &self.user, self.lang)
    }

    pub fn viewer(&self) -> Viewer {
        Viewer { lang: self.lang, user: Some(self.user.clone()), here: self.here.clone() }
    }

    pub fn say(&self, id: &str, en: &str) -> String {
        super::problem::say(self.lang, id, en)
    }
}

fn here_of(parts: &Parts) -> String {
    parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into())
}

impl FromRequestParts<State> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Self::Rejection> {
        let lang = page_lang(parts);
        let here = here_of(parts);
        match session_of(parts, state).await {
            // Until the password is changed, every page leads to the form that changes it.
            Ok(Some((session, _)))
                if session.must_change_password && !WHILE_PASSWORD_MUST_CHANGE.contains(&parts.uri.path()) =>
            {
                Err(see_other(account::CHANGE_PASSWORD))
            }
            Ok(Some((session, token))) => Ok(Page {
                user: session.user,
                lang,
                token,
                session: session.id,
                must_change_password: session.must_change_password,
                here,
            }),
            Ok(None) => {
                let next = if parts.method == axum::http::Method::GET { here } else { "/".to_string() };
                Err(see_other(&format!("/login?next={}", encode(&next))))
            }
            Err(problem) => Err(problem_page(&Viewer { lang, user: None, here }, &problem)),
        }
    }
}

/// `Path<T>` for pages: a value that does not parse is a friendly 404 page.
pub struct PagePath<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<State> for PagePath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PagePath(value)),
            Err(rejection) => {
                let lang = page_lang(parts);
                let problem = super::extract::path_problem(&rejection, parts, lang);
                let user = user_of(parts, state).await.ok().flatten().map(|(user, _)| user);
                Err(problem_page(&Viewer { lang, user, here: here_of(parts) }, &problem))
            }
        }
    }
}

/// The reader of a page that needs no sign-in.
pub struct Anyone(pub Viewer);

impl FromRequestParts<State> for Anyone {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Self::Rejection> {
        let user = user_of(parts, state).await.ok().flatten().map(|(user, _)| user);
        Ok(Anyone(Viewer { lang: page_lang(parts), user, here: here_of(parts) }))
    }
}

/// `303 See Other` to a path of this site.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    // A path that is not plain ASCII goes through percent-encoding first.
    let value = HeaderValue::from_str(location)
        .or_else(|_| HeaderValue::from_str(&encode(location)))
        .unwrap_or(HeaderValue::from_static("/"));
    response.headers_mut().insert(header::LOCATION, value);
    response
}

/// A page with its status.
pub fn html_page(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A refusal or failure as a page: the status of the problem, its detail in the reader's language.
pub fn problem_page(viewer: &Viewer, problem: &Problem) -> Response {
    let lang = viewer.lang;
    let title = match problem.status {
        401 => t(lang, "Silakan masuk", "Please sign in"),
        403 => t(lang, "Tidak diizinkan", "Not allowed"),
        404 => t(lang, "Tidak ditemukan", "Not found"),
        409 => t(lang, "Tidak dapat dilakukan sekarang", "Cannot be done now"),
        405 => t(lang, "Tidak dapat dilakukan di sini", "Not possible here"),
        413 => t(lang, "Berkas terlalu besar", "File too large"),
        429 => t(lang, "Tunggu sebentar", "Please wait"),
        422 | 400 => t(lang, "Isian belum benar", "Something in the form is not right"),
        _ => t(lang, "Terjadi kesalahan", "Something went wrong"),
    };
    // The final page of `errors::finish` carries the request id.
    let server_error = problem.hides_detail();
    // A server error's cause is logged, never shown (`errors::finish` names the request id).
    let detail = if server_error { super::problem::INTERNAL_DETAIL } else { problem.detail.as_str() };
    let body = html! {
        h1 { (title) }
        div.notice.error role="alert" { p { (detail) } }
        p {
            a href="/" { (t(lang, "Kembali ke halaman utama", "Back to the start page")) }
        }
    };
    let mut response = html_page(problem.status(), layout(viewer, title, body));
    if server_error {
        response.extensions_mut().insert(super::problem::InternalError(problem.detail.clone()));
    }
    response
}

/// A problem that is shown on the page the form came from.
pub fn error_box(problem: &Problem) -> Markup {
    html! { div.notice.error role="alert" { p { (problem.detail) } } }
}

/// A short confirmation after a redirect (`?msg=`), from a fixed list so nothing is echoed.
pub fn flash(lang: Lang, msg: Option<&str>) -> Markup {
    let text = match msg {
        Some("done") => t(lang, "Tugas selesai dicatat.", "The task is recorded as done."),
        Some("claimed") => t(lang, "Tugas sudah Anda ambil.", "You have taken the task."),
        Some("released") => {
            t(lang, "Tugas dilepas; petugas lain dapat mengambilnya.", "Task released; others can take it.")
        }
        Some("held") => t(
            lang,
            "Tugas ditangguhkan: batas waktunya dan janji layanan berhenti sampai dilanjutkan.",
            "The task is on hold: its deadline and the service promise stand still until it resumes.",
        ),
        Some("resumed") => {
            t(lang, "Tugas dilanjutkan dengan sisa waktunya.", "The task resumed with the time it had left.")
        }
        Some("started") => t(lang, "Permohonan terkirim.", "The application was submitted."),
        Some("attached") => t(lang, "Dokumen dilampirkan.", "The document was attached."),
        Some("withdrawn") => t(lang, "Permohonan ditarik.", "The application was withdrawn."),
        Some("created") => t(lang, "Pengguna dibuat.", "The user was created."),
        Some("updated") => {
            t(lang, "Pengguna diubah; sesi masuknya berakhir.", "The user was changed; their sign-ins ended.")
        }
        Some("disabled") => t(
            lang,
            "Pengguna dinonaktifkan: tidak dapat masuk, dan sesi masuknya berakhir.",
            "The user was disabled: they cannot sign in, and their sign-ins ended.",
        ),
        Some("enabled") => t(lang, "Pengguna diaktifkan kembali.", "The user was enabled again."),
        Some("reset") => t(
            lang,
            "Kata sandi diatur ulang: pengguna harus menggantinya saat masuk berikutnya.",
            "The password was reset: the user must change it at their next sign-in.",
        ),
        Some("password_changed") => t(
            lang,
            "Kata sandi Anda diganti; sesi masuk Anda yang lain berakhir.",
            "Your password was changed; your other sign-ins ended.",
        ),
        Some("session_ended") => t(lang, "Sesi masuk diakhiri.", "The sign-in was ended."),
        _ => return html! {},
    };
    html! { div.notice.ok role="status" { p { (text) } } }
}

#[derive(Deserialize, Default)]
pub struct Msg {
    pub msg: Option<String>,
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A path of this site to go to after sign-in or a language switch; anything else becomes `/`.
///
/// Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
/// `/<tab>/evil.example` or `/\\evil.example` would leave the site: a target is kept only when it
/// has no control or whitespace character and no backslash, and parses as a path (and query)
/// alone, starting with one `/`, without a scheme or host.
pub fn local_path(next: Option<&str>) -> String {
    let Some(next) = next else { return "/".to_string() };
    let plain = !next.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    let local = next.starts_with('/') && !next.starts_with("//");
    let parsed = next.parse::<axum::http::Uri>().ok();
    let only_path = parsed.is_some_and(|uri| {
        uri.scheme().is_none()
            && uri.authority().is_none()
            && uri.path().starts_with('/')
            && !uri.path().starts_with("//")
    });
    if plain && local && only_path {
        next.to_string()
    } else {
        "/".to_string()
    }
}

pub fn parse_case(text: &str, lang: Lang) -> Result<CaseId, Problem> {
    text.parse().map_err(|_| {
        Problem::not_found(lang, &super::problem::say(lang, &format!("Perkara `{text}`"), &format!("Case `{text}`")))
    })
}

/// Writes the action to the audit log, as the API does.
pub fn audit(state: &State, user: &User, action: &str, target: &str, status: StatusCode) {
    state.accounts.audit(&user.name, action, target, status.as_u16());
}

async fn home(page: Result<Page, Response>) -> Response {
    let page = match page {
        Ok(page) => page,
        // Sent to change the password first.
        Err(response) if response.headers().get(header::LOCATION).is_some_and(|l| l == account::CHANGE_PASSWORD) => {
            return response
        }
        Err(_) => return see_other("/login"),
    };
    let user = &page.user;
    let to = if user.is_staff() {
        "/inbox"
    } else if user.is_applicant() {
        "/applications"
    } else if user.is_analyst() {
        "/dashboard"
    } else {
        "/login"
    };
    see_other(to)
}

#[derive(Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(Anyone(viewer): Anyone, Query(query): Query<NextQuery>) -> Response {
    let next = local_path(query.next.as_deref());
    html_page(StatusCode::OK, login_form(&viewer, &next, "", None))
}

fn login_form(viewer: &Viewer, next: &str, user: &str, error: Option<&Problem>) -> Markup {
    let lang = viewer.lang;
    let viewer = Viewer { lang, user: None, here: viewer.here.clone() };
    let body = html! {
        section.narrow {
            h1 { (t(lang, "Masuk", "Sign in")) }
            p.muted { (t(lang, "Masuk dengan akun yang diberikan kantor Anda.", "Sign in with the account your office gave you.")) }
            @if let Some(problem) = error { (error_box(problem)) }
            form.stack method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                label for="user" { (t(lang, "Nama pengguna", "User name")) }
                input #user type="text" name="user" value=(user) autocomplete="username" required autofocus;
                label for="password" { (t(lang, "Kata sandi", "Password")) }
                input #password type="password" name="password" autocomplete="current-password" required;
                button.primary type="submit" { (t(lang, "Masuk", "Sign in")) }
            }
        }
    };
    layout(&viewer, t(lang, "Masuk", "Sign in"), body)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub(crate) fn session_cookie(state: &State, value: &str, max_age: i64) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// Signs in from the form; throttled as the API's sign-in is (a 429 is the form again, saying
/// how long to wait).
async fn login(
    AxumState(state): AxumState<State>,
    Anyone(viewer): Anyone,
    ClientAddr(addr): ClientAddr,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = viewer.lang;
    let next = local_path(form.next.as_deref());
    let now = state.engine.now();
    if let Err(Wait(seconds)) = state.throttle.check(form.user.trim(), addr, now) {
        state.accounts.audit(form.user.trim(), "login", "web", StatusCode::TOO_MANY_REQUESTS.as_u16());
        let problem = Problem::too_many_sign_ins(lang, seconds);
        let mut response =
            html_page(StatusCode::TOO_MANY_REQUESTS, login_form(&viewer, &next, form.user.trim(), Some(&problem)));
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    let client = client_of(addr, &headers);
    let (name, password) = (form.user.trim().to_string(), form.password.clone());
    let signed = match state.accounts.sign_in_from(&name, &password, &client).await {
        Ok(signed) => signed,
        Err(e) => return problem_page(&viewer, &Problem::account(&e, lang)),
    };
    let (token, session) = match signed {
        SignIn::Granted { token, session, .. } => (token, session),
        SignIn::Disabled => {
            state.accounts.audit(form.user.trim(), "login", "web", StatusCode::FORBIDDEN.as_u16());
            let problem = Problem::account_disabled(lang);
            return html_page(StatusCode::FORBIDDEN, login_form(&viewer, &next, form.user.trim(), Some(&problem)));
        }
        SignIn::Refused => {
            state.throttle.failed(form.user.trim(), addr, now);
            state.accounts.audit(form.user.trim(), "login", "web", StatusCode::UNAUTHORIZED.as_u16());
            let problem = Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                super::problem::say(lang, "Nama pengguna atau kata sandi salah.", "Wrong user name or password."),
            );
            return html_page(StatusCode::UNAUTHORIZED, login_form(&viewer, &next, form.user.trim(), Some(&problem)));
        }
    };
    state.throttle.succeeded(form.user.trim());
    state.accounts.audit(form.user.trim(), "login", "web", StatusCode::OK.as_u16());
    let max_age = state.accounts.session_lifetime().num_seconds();
    // A password given by an admin is changed first.
    let mut response = see_other(if session.must_change_password { account::CHANGE_PASSWORD } else { &next });
    if let Ok(value) = HeaderValue::from_str(&session_cookie(&state, &token, max_age)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn logout(AxumState(state): AxumState<State>, page: Result<Page, Response>) -> Response {
    if let Ok(page) = &page {
        let token = page.token.clone();
        let _ = state.accounts.sign_out(&token).await;
        audit(&state, &page.user, "logout", "web", StatusCode::SEE_OTHER);
    }
    let mut response = see_other("/login");
    if let Ok(value) = HeaderValue::from_str(&session_cookie(&state, "", 0)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct LangQuery {
    to: Option<String>,
    back: Option<String>,
}

async fn set_lang(Query(query): Query<LangQuery>) -> Response {
    let lang = match query.to.as_deref() {
        Some("en") => "en",
        _ => "id",
    };
    let mut response = see_other(&local_path(query.back.as_deref()));
    let value = format!("{LANG_COOKIE}={lang}; Path=/; SameSite=Lax; Max-Age=31536000");
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn not_found(Anyone(viewer): Anyone) -> Response {
    let lang = viewer.lang;
    problem_page(&viewer, &Problem::not_found(lang, t(lang, "Halaman ini", "This page")))
}

/// 403 unless the check holds.
/// A rule of the application layer's policy (`app::policy`), refused as a page.
pub fn require(page: &Page, rule: Result<(), Problem>) -> Result<(), Response> {
    rule.map_err(|problem| problem_page(&page.viewer(), &problem))
}
