//! One's own account: changing the password (the only page a user whose password was given by
//! an admin, or printed at start-up, may open until they change it) and the sign-ins, each
//! of which can be ended.

use axum::extract::{Form, Query, State as AxumState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use chrono_tz::Tz;
use maud::{html, Markup};

use super::staff::form_value;
use super::{
    audit, error_box, flash, html_page, layout, problem_page, see_other, session_cookie, t, when, Msg, Page, PagePath,
};
use crate::diagnostic::Lang;
use crate::server::accounts::policy::MIN_PASSWORD_CHARS;
use crate::server::accounts::{Role, SessionInfo};
use crate::server::app::accounts;
use crate::server::auth::ClientAddr;
use crate::server::problem::{say, Problem};
use crate::server::State;

/// The page that changes one's own password.
pub const CHANGE_PASSWORD: &str = "/account/password";

/// The time zone sign-ins are shown in: the first deployed SOP's calendar's, else WIB.
pub fn office_zone(state: &State) -> Tz {
    crate::server::app::queries::latest_deployments(state)
        .first()
        .map(|d| d.calendar.time_zone())
        .unwrap_or(chrono_tz::Asia::Jakarta)
}

/// A table of sign-ins with a button that ends each, posting to `{action}/{id}/end`.
pub fn sessions_table(lang: Lang, zone: Tz, sessions: &[SessionInfo], action: &str) -> Markup {
    html! {
        @if sessions.is_empty() {
            p.muted { (t(lang, "Tidak ada sesi masuk yang aktif.", "No active sign-ins.")) }
        } @else {
            table {
                thead { tr {
                    th { (t(lang, "Masuk pada", "Signed in")) }
                    th { (t(lang, "Berakhir", "Expires")) }
                    th { (t(lang, "Dari", "From")) }
                    th { (t(lang, "Peramban", "Browser")) }
                    th { span.muted { (t(lang, "Tindakan", "Action")) } }
                } }
                tbody {
                    @for s in sessions {
                        tr {
                            td {
                                (s.created_at.map(|at| when(lang, zone, at)).unwrap_or_else(|| "—".into()))
                                @if s.current { " " strong { (t(lang, "(sesi ini)", "(this one)")) } }
                            }
                            td { (when(lang, zone, s.expires_at)) }
                            td { (s.address.clone().unwrap_or_else(|| "—".into())) }
                            td { small { (s.agent.clone().unwrap_or_else(|| "—".into())) } }
                            td {
                                form method="post" action=(format!("{action}/{}/end", s.id)) {
                                    button.danger type="submit" { (t(lang, "Akhiri", "End")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The fields of a new password (with its repetition) and the policy's hint.
pub fn new_password_fields(lang: Lang, label: &str) -> Markup {
    html! {
        label for="new_password" { (label) }
        input #new_password type="password" name="new_password" required minlength=(MIN_PASSWORD_CHARS)
            autocomplete="new-password" aria-describedby="password-hint";
        small.muted #password-hint {
            (say(
                lang,
                &format!("Minimal {MIN_PASSWORD_CHARS} karakter, bukan nama pengguna, bukan kata sandi yang umum (beberapa kata acak mudah diingat)."),
                &format!("At least {MIN_PASSWORD_CHARS} characters, not the user name, not a common password (a few random words are easy to remember)."),
            ))
        }
        label for="repeat" { (t(lang, "Ulangi kata sandi baru", "Repeat the new password")) }
        input #repeat type="password" name="repeat" required autocomplete="new-password";
    }
}

fn password_form(page: &Page) -> Markup {
    let lang = page.lang;
    html! {
        form.stack method="post" action=(CHANGE_PASSWORD) {
            label for="old_password" { (t(lang, "Kata sandi saat ini", "Current password")) }
            input #old_password type="password" name="old_password" required autocomplete="current-password";
            (new_password_fields(lang, t(lang, "Kata sandi baru", "New password")))
            div.actions { button.primary type="submit" { (t(lang, "Ganti kata sandi", "Change the password")) } }
        }
    }
}

/// `GET /account`: who one is, the password form, the sign-ins.
pub async fn account(AxumState(state): AxumState<State>, page: Page, Query(msg): Query<Msg>) -> Response {
    account_page(&state, &page, None, msg.msg.as_deref()).await
}

async fn account_page(state: &State, page: &Page, error: Option<&Problem>, msg: Option<&str>) -> Response {
    let lang = page.lang;
    let sessions = match accounts::sessions(&page.ctx(state), &page.user.name, &page.session).await {
        Ok(sessions) => sessions,
        Err(problem) => return problem_page(&page.viewer(), &problem),
    };
    let title = t(lang, "Akun saya", "My account");
    let body = html! {
        h1 { (title) }
        (flash(lang, msg))
        dl.facts {
            dt { (t(lang, "Nama pengguna", "User name")) } dd { (page.user.name) }
            dt { (t(lang, "Nama tampilan", "Display name")) } dd { (page.user.display) }
            dt { (t(lang, "Peran", "Roles")) } dd { (page.user.roles.iter().map(Role::label).collect::<Vec<_>>().join(", ")) }
        }
        h2 #password { (t(lang, "Ganti kata sandi", "Change the password")) }
        @if let Some(problem) = error { (error_box(problem)) }
        p.muted { (t(lang, "Sesi masuk Anda yang lain akan berakhir.", "Your other sign-ins will end.")) }
        (password_form(page))
        h2 #sessions { (t(lang, "Sesi masuk", "Sign-ins")) }
        p.muted { (t(lang, "Tempat Anda sedang masuk. Akhiri yang tidak Anda kenali, lalu ganti kata sandi.", "Where you are signed in. End any you do not recognise, then change your password.")) }
        (sessions_table(lang, office_zone(state), &sessions, "/account/sessions"))
    };
    let status = error.map(|p| p.status()).unwrap_or(StatusCode::OK);
    html_page(status, layout(&page.viewer(), title, body))
}

/// `GET /account/password`: the password form alone; the one page open while the password
/// must be changed.
pub async fn password(page: Page) -> Response {
    password_page(&page, None)
}

fn password_page(page: &Page, error: Option<&Problem>) -> Response {
    let lang = page.lang;
    let title = t(lang, "Ganti kata sandi", "Change the password");
    let body = html! {
        section.narrow {
            h1 { (title) }
            @if page.must_change_password {
                div.notice.info role="status" { p { (t(lang,
                    "Kata sandi Anda diberikan oleh admin (atau dicetak saat server dimulai). Gantilah sekarang dengan kata sandi yang hanya Anda ketahui; setelah itu semua halaman terbuka lagi.",
                    "Your password was given by an admin (or printed when the server started). Change it now to one only you know; then every page opens again.")) } }
            }
            @if let Some(problem) = error { (error_box(problem)) }
            (password_form(page))
        }
    };
    let status = error.map(|p| p.status()).unwrap_or(StatusCode::OK);
    html_page(status, layout(&page.viewer(), title, body))
}

/// `POST /account/password`: the current password, the new one twice.
pub async fn change_password(
    AxumState(state): AxumState<State>,
    page: Page,
    ClientAddr(addr): ClientAddr,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    let lang = page.lang;
    let name = page.user.name.clone();
    let old = form_value(&values, "old_password").unwrap_or("").to_string();
    let new = form_value(&values, "new_password").unwrap_or("").to_string();
    let result = async {
        if form_value(&values, "repeat").unwrap_or("") != new {
            return Err(Problem::invalid(say(
                lang,
                "Kedua isian kata sandi baru tidak sama: ketik kata sandi baru yang sama dua kali.",
                "The two new passwords differ: type the same new password twice.",
            )));
        }
        accounts::change_own_password(&page.ctx(&state), addr, &page.token, &old, &new).await.map_err(|problem| {
            // The API's text names its JSON field; the form's reader knows the field by its label.
            if problem.extensions.get("field").and_then(serde_json::Value::as_str) == Some("old_password") {
                Problem::invalid(say(lang, "Kata sandi saat ini salah.", "The current password is wrong."))
            } else {
                problem
            }
        })
    }
    .await;
    match result {
        Ok(()) => {
            audit(&state, &page.user, "password_change", &name, StatusCode::SEE_OTHER);
            see_other("/account?msg=password_changed")
        }
        Err(problem) => {
            audit(&state, &page.user, "password_change", &name, problem.status());
            let mut response = password_page(&page, Some(&problem));
            if let Some(seconds) = problem.extensions.get("retry_after").and_then(serde_json::Value::as_u64) {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
    }
}

/// `POST /account/sessions/{id}/end`: ends one of one's own sign-ins; the current one signs out.
pub async fn end_session(AxumState(state): AxumState<State>, page: Page, PagePath(id): PagePath<String>) -> Response {
    let name = page.user.name.clone();
    let current = id == page.session;
    let ended = accounts::end_session(&page.ctx(&state), &name, &id).await;
    match ended {
        Ok(()) if current => {
            audit(&state, &page.user, "session_end", &page.user.name, StatusCode::SEE_OTHER);
            let mut response = see_other("/login");
            if let Ok(value) = HeaderValue::from_str(&session_cookie(&state, "", 0)) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Ok(()) => {
            audit(&state, &page.user, "session_end", &page.user.name, StatusCode::SEE_OTHER);
            see_other("/account?msg=session_ended#sessions")
        }
        Err(problem) => {
            audit(&state, &page.user, "session_end", &page.user.name, problem.status());
            problem_page(&page.viewer(), &problem)
        }
    }
}
