//! For admins: the users and their roles, a new user, and reloading the SOP folder.

use axum::extract::{Form, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use std::collections::BTreeSet;

use super::account::{office_zone, sessions_table};
use super::analyst::{check_summary, rendered};
use super::staff::form_value;
use super::{
    audit, encode, error_box, flash, html_page, layout, problem_page, require, see_other, t, Msg, Page, PagePath,
};
use crate::diagnostic::Lang;
use crate::server::accounts::policy::MIN_PASSWORD_CHARS;
use crate::server::accounts::{Account, Role};
use crate::server::app::accounts::{self, UserInput};
use crate::server::app::{commands, policy};
use crate::server::problem::{say, Problem};
use crate::server::State;

fn admin_only(page: &Page) -> Result<(), Response> {
    require(page, policy::require_admin(&page.user, page.lang))
}

/// The desk roles of every deployed SOP (as `Role::label` writes them, so an actor called
/// `admin` is `actor:admin`), with their labels.
fn actor_roles(state: &State) -> Vec<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for d in crate::server::app::queries::latest_deployments(state) {
        for a in &d.sop.actors {
            if matches!(a.kind, crate::model::ActorKind::Staff | crate::model::ActorKind::External)
                && seen.insert(a.id.name.clone())
            {
                out.push((Role::Actor(a.id.name.clone()).label(), a.label.clone()));
            }
        }
    }
    out.sort();
    out
}

pub async fn users(AxumState(state): AxumState<State>, page: Page, Query(msg): Query<Msg>) -> Response {
    if let Err(response) = admin_only(&page) {
        return response;
    }
    users_page(&state, &page, &[], None, msg.msg.as_deref()).await
}

/// The role checkboxes, `checked` ticked: the fixed roles, the desks of the deployed SOPs, and
/// any other role in `checked` (a desk of an SOP no longer deployed), so saving the form keeps it.
fn roles_fieldset(state: &State, lang: Lang, checked: &[&str]) -> Markup {
    let fixed = [
        ("applicant", t(lang, "Pemohon", "Applicant")),
        ("analyst", t(lang, "Analis", "Analyst")),
        ("admin", t(lang, "Admin", "Admin")),
    ];
    let desks = actor_roles(state);
    let others: Vec<&str> = checked
        .iter()
        .copied()
        .filter(|c| !fixed.iter().any(|(v, _)| v == c) && !desks.iter().any(|(id, _)| id == c))
        .collect();
    html! {
        fieldset {
            legend { (t(lang, "Peran", "Roles")) }
            @for (value, text) in fixed {
                div {
                    input type="checkbox" name="role" id=(format!("role-{value}")) value=(value) checked[checked.contains(&value)];
                    " " label for=(format!("role-{value}")) { (text) }
                }
            }
            @for (id, label) in &desks {
                div {
                    input type="checkbox" name="role" id=(format!("role-{id}")) value=(id) checked[checked.contains(&id.as_str())];
                    " " label for=(format!("role-{id}")) { (t(lang, "Meja: ", "Desk: ")) (label) " " small.muted { "(" (id) ")" } }
                }
            }
            @for id in others {
                div {
                    input type="checkbox" name="role" id=(format!("role-{id}")) value=(id) checked;
                    " " label for=(format!("role-{id}")) { (id) " " small.muted { (t(lang, "(tidak ada di SOP yang di-deploy)", "(in no deployed SOP)")) } }
                }
            }
        }
    }
}

/// What an account's state is, in words.
fn status_text(lang: Lang, account: &Account) -> &'static str {
    if account.disabled {
        t(lang, "nonaktif", "disabled")
    } else if account.must_change_password {
        t(lang, "harus mengganti kata sandi", "must change the password")
    } else {
        t(lang, "aktif", "active")
    }
}

async fn users_page(
    state: &State,
    page: &Page,
    values: &[(String, String)],
    error: Option<&Problem>,
    msg: Option<&str>,
) -> Response {
    let lang = page.lang;
    let users = match accounts::users(&page.ctx(state)).await {
        Ok(users) => users,
        Err(problem) => return problem_page(&page.viewer(), &problem),
    };
    let checked: Vec<&str> = values.iter().filter(|(k, _)| k == "role").map(|(_, v)| v.as_str()).collect();
    let title = t(lang, "Pengguna", "Users");
    let body = html! {
        h1 { (title) }
        (flash(lang, msg))
        table {
            thead { tr {
                th { (t(lang, "Nama pengguna", "User name")) }
                th { (t(lang, "Nama tampilan", "Display name")) }
                th { (t(lang, "Peran", "Roles")) }
                th { (t(lang, "Status", "Status")) }
            } }
            tbody {
                @for u in &users {
                    tr {
                        td { a href=(format!("/admin/users/{}", encode(&u.user.name))) { (u.user.name) } }
                        td { (u.user.display) }
                        td { (u.user.roles.iter().map(Role::label).collect::<Vec<_>>().join(", ")) }
                        td { @if u.disabled { span.late { (status_text(lang, u)) } } @else { (status_text(lang, u)) } }
                    }
                }
            }
        }
        h2 #new { (t(lang, "Pengguna baru", "New user")) }
        @if let Some(problem) = error { (error_box(problem)) }
        form.stack method="post" action="/admin/users" {
            label for="name" { (t(lang, "Nama pengguna", "User name")) }
            input #name type="text" name="name" required value=(form_value(values, "name").unwrap_or(""));
            label for="display" { (t(lang, "Nama tampilan", "Display name")) }
            input #display type="text" name="display" value=(form_value(values, "display").unwrap_or(""));
            label for="password" { (t(lang, "Kata sandi awal", "Initial password")) }
            input #password type="password" name="password" required minlength=(MIN_PASSWORD_CHARS) autocomplete="new-password" aria-describedby="password-hint";
            small.muted #password-hint {
                (say(
                    lang,
                    &format!("Minimal {MIN_PASSWORD_CHARS} karakter, bukan nama pengguna, bukan kata sandi yang umum (beberapa kata acak mudah diingat)."),
                    &format!("At least {MIN_PASSWORD_CHARS} characters, not the user name, not a common password (a few random words are easy to remember)."),
                ))
            }
            div {
                input #must_change type="checkbox" name="must_change" value="1" checked[values.is_empty() || form_value(values, "must_change").is_some()];
                " " label for="must_change" { (t(lang, "Harus diganti saat pertama masuk", "Must be changed at the first sign-in")) }
            }
            (roles_fieldset(state, lang, &checked))
            div.actions { button.primary type="submit" { (t(lang, "Buat pengguna", "Create the user")) } }
        }
        h2 { (t(lang, "SOP", "SOPs")) }
        form.no-print method="post" action="/admin/reload" {
            p.muted { (t(lang, "Periksa dan deploy ulang semua berkas di folder SOP.", "Check and redeploy every file in the SOP folder.")) }
            button type="submit" { (t(lang, "Muat ulang folder SOP", "Reload the SOP folder")) }
        }
    };
    let status = error.map(|p| p.status()).unwrap_or(StatusCode::OK);
    html_page(status, layout(&page.viewer(), title, body))
}

/// The roles ticked in a form, or why they cannot be.
/// The roles ticked on a user's form, as words.
fn form_roles(values: &[(String, String)]) -> Vec<String> {
    values.iter().filter(|(k, _)| k == "role").map(|(_, v)| v.clone()).collect()
}

/// The user a form describes.
fn form_user(values: &[(String, String)], name: &str) -> UserInput {
    UserInput {
        name: name.to_string(),
        display: form_value(values, "display").map(str::to_string),
        roles: form_roles(values),
    }
}

pub async fn create_user(
    AxumState(state): AxumState<State>,
    page: Page,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(response) = admin_only(&page) {
        return response;
    }
    let lang = page.lang;
    let name = form_value(&values, "name").unwrap_or("").trim().to_string();
    let result = async {
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            return Err(Problem::invalid(say(
                lang,
                "Nama pengguna: huruf, angka, `_`, `-` atau `.`, tanpa spasi.",
                "User name: letters, digits, `_`, `-` or `.`, no spaces.",
            )));
        }
        let password = form_value(&values, "password").unwrap_or("");
        let must_change = form_value(&values, "must_change").is_some();
        accounts::create_user(&page.ctx(&state), &form_user(&values, &name), password, must_change).await.map(drop)
    }
    .await;
    match result {
        Ok(()) => {
            audit(&state, &page.user, "user_create", &name, StatusCode::CREATED);
            see_other("/admin/users?msg=created")
        }
        Err(problem) => {
            audit(&state, &page.user, "user_create", &name, problem.status());
            users_page(&state, &page, &values, Some(&problem), None).await
        }
    }
}

/// `GET /admin/users/{name}`: edit a user, disable or enable them, reset their password, end
/// their sign-ins.
pub async fn user_page(
    AxumState(state): AxumState<State>,
    page: Page,
    PagePath(name): PagePath<String>,
    Query(msg): Query<Msg>,
) -> Response {
    if let Err(response) = admin_only(&page) {
        return response;
    }
    edit_page(&state, &page, &name, None, None, msg.msg.as_deref()).await
}

async fn edit_page(
    state: &State,
    page: &Page,
    name: &str,
    error: Option<&Problem>,
    made_password: Option<&str>,
    msg: Option<&str>,
) -> Response {
    let lang = page.lang;
    let ctx = page.ctx(state);
    let found = async { Ok((accounts::user(&ctx, name).await?, accounts::sessions(&ctx, name, &page.session).await?)) };
    let (account, sessions) = match found.await {
        Ok(found) => found,
        Err(problem) => return problem_page(&page.viewer(), &problem),
    };
    let base = format!("/admin/users/{}", encode(&account.user.name));
    let labels: Vec<String> = account.user.roles.iter().map(Role::label).collect();
    let checked: Vec<&str> = labels.iter().map(String::as_str).collect();
    let title = format!("{}: {}", t(lang, "Pengguna", "User"), account.user.name);
    let body = html! {
        p { a href="/admin/users" { "← " (t(lang, "Semua pengguna", "All users")) } }
        h1 { (title) }
        (flash(lang, msg))
        @if let Some(problem) = error { (error_box(problem)) }
        @if let Some(password) = made_password {
            div.notice.ok role="status" {
                p { (t(lang, "Kata sandi sementara (ditampilkan sekali ini saja; berikan kepada pengguna, yang harus menggantinya saat masuk):", "The temporary password (shown this once; give it to the user, who must change it when signing in):")) }
                p { code { (password) } }
            }
        }
        dl.facts {
            dt { (t(lang, "Status", "Status")) } dd { (status_text(lang, &account)) }
        }
        h2 { (t(lang, "Ubah", "Edit")) }
        form.stack method="post" action=(base) {
            label for="display" { (t(lang, "Nama tampilan", "Display name")) }
            input #display type="text" name="display" value=(account.user.display);
            (roles_fieldset(state, lang, &checked))
            p.muted { (t(lang, "Menyimpan mengakhiri sesi masuk pengguna ini.", "Saving ends this user's sign-ins.")) }
            div.actions { button.primary type="submit" { (t(lang, "Simpan", "Save")) } }
        }
        h2 { (t(lang, "Akses", "Access")) }
        div.actions {
            @if account.disabled {
                form method="post" action=(format!("{base}/enable")) {
                    button type="submit" { (t(lang, "Aktifkan kembali", "Enable again")) }
                }
            } @else {
                form method="post" action=(format!("{base}/disable")) {
                    button.danger type="submit" { (t(lang, "Nonaktifkan", "Disable")) }
                }
                span.muted { (t(lang, "Pengguna nonaktif tidak dapat masuk; sesi masuknya berakhir.", "A disabled user cannot sign in; their sign-ins end.")) }
            }
        }
        h2 { (t(lang, "Atur ulang kata sandi", "Reset the password")) }
        form.stack method="post" action=(format!("{base}/password")) {
            label for="password" { (t(lang, "Kata sandi sementara (kosongkan agar dibuatkan)", "Temporary password (leave empty to have one made)")) }
            input #password type="password" name="password" autocomplete="new-password";
            p.muted { (t(lang, "Pengguna harus menggantinya saat masuk berikutnya; sesi masuknya berakhir.", "The user must change it at their next sign-in; their sign-ins end.")) }
            div.actions { button type="submit" { (t(lang, "Atur ulang", "Reset")) } }
        }
        h2 #sessions { (t(lang, "Sesi masuk", "Sign-ins")) }
        (sessions_table(lang, office_zone(state), &sessions, &format!("{base}/sessions")))
    };
    let status = error.map(|p| p.status()).unwrap_or(StatusCode::OK);
    html_page(status, layout(&page.viewer(), &title, body))
}

/// `POST /admin/users/{name}`: the display name and roles.
pub async fn update_user(
    AxumState(state): AxumState<State>,
    page: Page,
    PagePath(name): PagePath<String>,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(response) = admin_only(&page) {
        return response;
    }
    let result = accounts::update_user(&page.ctx(&state), &form_user(&values, &name), None).await.map(drop);
    finish(&state, &page, "user_update", &name, result, "updated").await
}

/// Audits an admin's action on `name` and answers: back to the user's page with `msg`, or the
/// page with the problem.
async fn finish(
    state: &State,
    page: &Page,
    action: &str,
    name: &str,
    result: Result<(), Problem>,
    msg: &str,
) -> Response {
    match result {
        Ok(()) => {
            audit(state, &page.user, action, name, StatusCode::SEE_OTHER);
            see_other(&format!("/admin/users/{}?msg={msg}", encode(name)))
        }
        Err(problem) => {
            audit(state, &page.user, action, name, problem.status());
            edit_page(state, page, name, Some(&problem), None, None).await
        }
    }
}

async fn set_disabled(state: &State, page: &Page, name: &str, disabled: bool) -> Response {
    if let Err(response) = admin_only(page) {
        return response;
    }
    let result = accounts::set_disabled(&page.ctx(state), name, disabled).await;
    let (action, msg) = if disabled { ("user_disable", "disabled") } else { ("user_enable", "enabled") };
    finish(state, page, action, name, result, msg).await
}

pub async fn disable(AxumState(state): AxumState<State>, page: Page, PagePath(name): PagePath<String>) -> Response {
    set_disabled(&state, &page, &name, true).await
}

pub async fn enable(AxumState(state): AxumState<State>, page: Page, PagePath(name): PagePath<String>) -> Response {
    set_disabled(&state, &page, &name, false).await
}

/// `POST /admin/users/{name}/password`: a temporary password, given or made (then shown once).
pub async fn reset_password(
    AxumState(state): AxumState<State>,
    page: Page,
    PagePath(name): PagePath<String>,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(response) = admin_only(&page) {
        return response;
    }
    let given = form_value(&values, "password").filter(|p| !p.is_empty()).map(str::to_string);
    match accounts::reset_password(&page.ctx(&state), &name, given).await {
        Ok(Some(made)) => {
            audit(&state, &page.user, "password_reset", &name, StatusCode::OK);
            edit_page(&state, &page, &name, None, Some(&made), Some("reset")).await
        }
        result => finish(&state, &page, "password_reset", &name, result.map(drop), "reset").await,
    }
}

/// `POST /admin/users/{name}/sessions/{id}/end`.
pub async fn end_session(
    AxumState(state): AxumState<State>,
    page: Page,
    PagePath((name, id)): PagePath<(String, String)>,
) -> Response {
    if let Err(response) = admin_only(&page) {
        return response;
    }
    let result = accounts::end_session(&page.ctx(&state), &name, &id).await;
    finish(&state, &page, "session_end", &name, result, "session_ended").await
}

pub async fn reload(AxumState(state): AxumState<State>, page: Page) -> Response {
    if let Err(response) = admin_only(&page) {
        return response;
    }
    let lang = page.lang;
    let files = match commands::reload(&page.ctx(&state)).await {
        Ok(files) => files,
        Err(problem) => return problem_page(&page.viewer(), &problem),
    };
    audit(&state, &page.user, "reload", "", StatusCode::OK);
    let title = t(lang, "Folder SOP dimuat ulang", "SOP folder reloaded");
    let body = html! {
        h1 { (title) }
        table {
            thead { tr {
                th { (t(lang, "Berkas", "File")) }
                th { "SOP" }
                th { (t(lang, "Versi", "Version")) }
                th { (t(lang, "Hasil", "Result")) }
            } }
            tbody {
                @for f in &files {
                    tr class=(if f.refused.is_some() { "overdue" } else { "" }) {
                        td { (f.file) }
                        td { (f.sop.clone().unwrap_or_default()) }
                        td { (f.version.map(|v| v.to_string()).unwrap_or("—".into())) @if f.new { " " strong { (t(lang, "baru", "new")) } } }
                        td {
                            @if f.refused.is_some() { span.late { (t(lang, "TIDAK di-deploy", "NOT deployed")) } ": " }
                            (check_summary(lang, f))
                        }
                    }
                }
            }
        }
        @for f in files.iter().filter(|f| f.errors + f.warnings > 0) {
            h3 { (f.file) }
            pre.diag { (rendered(lang, f)) }
        }
        p { a href="/sops" { (t(lang, "Ke daftar SOP", "To the SOP list")) " →" } }
    };
    html_page(StatusCode::OK, layout(&page.viewer(), title, body))
}
