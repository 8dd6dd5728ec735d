//! For admins: the users and their roles, a new user, and reloading the SOP folder.

use axum::extract::{Form, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use std::collections::BTreeSet;

use super::analyst::{check_summary, rendered};
use super::staff::form_value;
use super::{audit, error_box, flash, html_page, layout, problem_page, require, see_other, t, Msg, Page};
use crate::server::accounts::policy::MIN_PASSWORD_CHARS;
use crate::server::accounts::{Role, User};
use crate::server::problem::{say, Problem};
use crate::server::State;

fn admin_only(page: &Page) -> Result<(), Response> {
    require(page, page.user.is_admin(), "Hanya admin yang boleh melakukan ini.", "Only an admin may do this.")
}

/// The desk roles of every deployed SOP (as `Role::label` writes them, so an actor called
/// `admin` is `actor:admin`), with their labels.
fn actor_roles(state: &State) -> Vec<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for d in crate::server::api::latest_deployments(state) {
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
    users_page(&state, &page, &[], None, msg.msg.as_deref())
}

fn users_page(
    state: &State,
    page: &Page,
    values: &[(String, String)],
    error: Option<&Problem>,
    msg: Option<&str>,
) -> Response {
    let lang = page.lang;
    let users = match state.accounts.users() {
        Ok(users) => users,
        Err(e) => return problem_page(&page.viewer(), &Problem::account(&e, lang)),
    };
    let checked: Vec<&str> = values.iter().filter(|(k, _)| k == "role").map(|(_, v)| v.as_str()).collect();
    let fixed = [
        ("applicant", t(lang, "Pemohon", "Applicant")),
        ("analyst", t(lang, "Analis", "Analyst")),
        ("admin", t(lang, "Admin", "Admin")),
    ];
    let title = t(lang, "Pengguna", "Users");
    let body = html! {
        h1 { (title) }
        (flash(lang, msg))
        table {
            thead { tr {
                th { (t(lang, "Nama pengguna", "User name")) }
                th { (t(lang, "Nama tampilan", "Display name")) }
                th { (t(lang, "Peran", "Roles")) }
            } }
            tbody {
                @for u in &users {
                    tr {
                        td { (u.name) }
                        td { (u.display) }
                        td { (u.roles.iter().map(Role::label).collect::<Vec<_>>().join(", ")) }
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
            fieldset {
                legend { (t(lang, "Peran", "Roles")) }
                @for (value, text) in fixed {
                    div {
                        input type="checkbox" name="role" id=(format!("role-{value}")) value=(value) checked[checked.contains(&value)];
                        " " label for=(format!("role-{value}")) { (text) }
                    }
                }
                @for (id, label) in actor_roles(state) {
                    div {
                        input type="checkbox" name="role" id=(format!("role-{id}")) value=(id) checked[checked.contains(&id.as_str())];
                        " " label for=(format!("role-{id}")) { (t(lang, "Meja: ", "Desk: ")) (label) " " small.muted { "(" (id) ")" } }
                    }
                }
            }
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
    let result = (|| {
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            return Err(Problem::invalid(say(
                lang,
                "Nama pengguna: huruf, angka, `_`, `-` atau `.`, tanpa spasi.",
                "User name: letters, digits, `_`, `-` or `.`, no spaces.",
            )));
        }
        let mut roles = Vec::new();
        for (k, v) in &values {
            if k == "role" {
                roles.push(Role::parse(v).map_err(Problem::invalid)?);
            }
        }
        if roles.is_empty() {
            return Err(Problem::invalid(say(lang, "Pilih setidaknya satu peran.", "Choose at least one role.")));
        }
        let password = form_value(&values, "password").unwrap_or("");
        crate::server::api::check_password(&name, password, lang)?;
        let display = form_value(&values, "display").map(str::trim).filter(|d| !d.is_empty()).unwrap_or(&name);
        let user = User { name: name.clone(), display: display.to_string(), roles };
        state.accounts.create_user(&user, password).map_err(|e| Problem::account(&e, lang))
    })();
    match result {
        Ok(()) => {
            audit(&state, &page.user, "user_create", &name, StatusCode::CREATED);
            see_other("/admin/users?msg=created")
        }
        Err(problem) => {
            audit(&state, &page.user, "user_create", &name, problem.status());
            users_page(&state, &page, &values, Some(&problem), None)
        }
    }
}

pub async fn reload(AxumState(state): AxumState<State>, page: Page) -> Response {
    if let Err(response) = admin_only(&page) {
        return response;
    }
    let lang = page.lang;
    let report = state.catalog.reload(&state.engine).await;
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
                @for f in &report.files {
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
        @for f in report.files.iter().filter(|f| f.errors + f.warnings > 0) {
            h3 { (f.file) }
            pre.diag { (rendered(lang, f)) }
        }
        p { a href="/sops" { (t(lang, "Ke daftar SOP", "To the SOP list")) " →" } }
    };
    html_page(StatusCode::OK, layout(&page.viewer(), title, body))
}
