//! Applying (choose an SOP, fill in its fields, choose where to enter), my applications, and
//! the case page: a parcel tracker saying which desk has the file, since when, and the
//! promised date.

use axum::extract::{Form, Multipart, Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::layout::{humanize, sla_badge, status_badge, when, when_due};
use super::staff::{documents, editable_fields, field_input, fields_from_form, form_value, performers, short_id};
use super::{audit, error_box, flash, html_page, layout, parse_case, problem_page, see_other, t, Msg, Page};
use crate::model::ActorKind;
use crate::runtime::deploy::Deployed;
use crate::runtime::{CaseStatus, TaskStatus};
use crate::server::app::commands::{self, StartRequest};
use crate::server::app::queries::{self, CaseFilter};
use crate::server::app::{policy, read};
use crate::server::problem::Problem;
use crate::server::State;

pub async fn choose(AxumState(state): AxumState<State>, page: Page) -> Response {
    let lang = page.lang;
    let sops: Vec<_> =
        queries::latest_deployments(&state).into_iter().filter(|d| policy::may_start(&page.user, &d.sop)).collect();
    let title = t(lang, "Ajukan permohonan", "Apply");
    let body = html! {
        h1 { (title) }
        @if sops.is_empty() {
            div.card { p { (t(lang, "Tidak ada layanan yang dapat Anda ajukan.", "There is no service you can apply for.")) } }
        }
        @for d in &sops {
            div.card {
                h2 { (d.sop.title) }
                dl.facts {
                    @if let Some(agency) = &d.sop.header.agency {
                        dt { (t(lang, "Instansi", "Agency")) } dd { (agency) }
                    }
                    @if let Some(total) = &d.sop.header.stated_total {
                        dt { (t(lang, "Waktu penyelesaian", "Time to complete")) } dd { (total.duration.display(lang)) }
                    }
                    dt { (t(lang, "Persyaratan", "Requirements")) }
                    dd {
                        @for a in d.sop.artifacts.iter().filter(|a| a.external) { div { (a.label) } }
                    }
                }
                a href=(format!("/apply/{}", d.deployment.sop)) { strong { (t(lang, "Isi formulir permohonan", "Fill in the application form")) " →" } }
            }
        }
    };
    html_page(StatusCode::OK, layout(&page.viewer(), title, body))
}

fn application_form(page: &Page, d: &Deployed, values: &[(String, String)], error: Option<&Problem>) -> Response {
    let lang = page.lang;
    let sop = &d.sop;
    let entries = read::entry_steps(d);
    let counter = !page.user.is_applicant();
    // The entry of the reader's own desk is the default: online for applicants, the counter for staff.
    let own_entry = entries
        .iter()
        .find(|id| {
            sop.step(id).is_some_and(|step| {
                step.actor_ids().any(|a| {
                    let applicant = sop.actor(a).is_some_and(|x| x.kind == ActorKind::Applicant);
                    if counter {
                        page.user.actors().iter().any(|mine| mine == a)
                    } else {
                        applicant
                    }
                })
            })
        })
        .or(entries.first())
        .cloned();
    let chosen_entry = form_value(values, "entry").map(str::to_string).or(own_entry);
    // Fields a decision records are the office's to set, not the application's.
    let fields = editable_fields(sop);
    let title = format!("{}: {}", t(lang, "Permohonan", "Application"), sop.title);
    let body = html! {
        h1 { (title) }
        @if let Some(problem) = error { (error_box(problem)) }
        form.stack method="post" action=(format!("/apply/{}", d.deployment.sop)) {
            @if counter {
                label for="applicant" { (t(lang, "Nama pengguna pemohon (permohonan di loket)", "The applicant's user name (application at the counter)")) }
                input #applicant type="text" name="applicant" required value=(form_value(values, "applicant").unwrap_or(""));
            }
            @if !sop.variants.is_empty() {
                fieldset {
                    legend { (t(lang, "Jenis permohonan", "Kind of application")) }
                    @let chosen = form_value(values, "variant");
                    @for (i, v) in sop.variants.iter().enumerate() {
                        @let id = &v.id.name;
                        @let checked = chosen.map_or(i == 0, |c| c == id);
                        div {
                            input type="radio" name="variant" id=(format!("variant-{id}")) value=(id) required checked[checked];
                            " "
                            label for=(format!("variant-{id}")) { (v.label) }
                        }
                    }
                }
            }
            @if !entries.is_empty() {
                fieldset {
                    legend { (t(lang, "Jalur pengajuan", "How you apply")) }
                    @for id in &entries {
                        @if let Some(step) = sop.step(id) {
                            @let checked = chosen_entry.as_deref() == Some(id.as_str());
                            div {
                                input type="radio" name="entry" id=(format!("entry-{id}")) value=(id) checked[checked];
                                " "
                                label for=(format!("entry-{id}")) {
                                    (step.number) ". " (read::first_line(&step.activity))
                                    " (" (performers(sop, step, lang)) ")"
                                }
                            }
                        }
                    }
                }
            }
            @if !fields.is_empty() {
                fieldset {
                    legend { (t(lang, "Data permohonan", "Application data")) }
                    @for f in &fields {
                        (field_input(lang, f, form_value(values, &format!("f_{}", f.id.name))))
                    }
                }
            }
            div.actions { button.primary type="submit" { (t(lang, "Kirim permohonan", "Submit the application")) } }
        }
    };
    let status = error.map(|p| p.status()).unwrap_or(StatusCode::OK);
    html_page(status, layout(&page.viewer(), &title, body))
}

async fn startable(state: &State, page: &Page, sop: &str) -> Result<std::sync::Arc<Deployed>, Response> {
    let d = state
        .engine
        .deployment(sop, None)
        .map_err(|e| problem_page(&page.viewer(), &Problem::runtime(&e, page.lang)))?;
    policy::require_start(&page.user, &d.sop, page.lang).map_err(|p| problem_page(&page.viewer(), &p))?;
    Ok(d)
}

pub async fn form(AxumState(state): AxumState<State>, page: Page, Path(sop): Path<String>) -> Response {
    match startable(&state, &page, &sop).await {
        Ok(d) => application_form(&page, &d, &[], None),
        Err(response) => response,
    }
}

pub async fn submit(
    AxumState(state): AxumState<State>,
    page: Page,
    Path(sop): Path<String>,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    let lang = page.lang;
    let d = match startable(&state, &page, &sop).await {
        Ok(d) => d,
        Err(response) => return response,
    };
    let result = match fields_from_form(&d.sop, &values, lang) {
        Err(problem) => Err(problem),
        Ok(fields) => {
            let request = StartRequest {
                sop: sop.clone(),
                fields,
                entry: form_value(&values, "entry").filter(|e| !e.is_empty()).map(str::to_string),
                variant: form_value(&values, "variant").filter(|v| !v.is_empty()).map(str::to_string),
                applicant: form_value(&values, "applicant").filter(|a| !a.trim().is_empty()).map(str::to_string),
            };
            commands::start(&page.ctx(&state), request).await
        }
    };
    match result {
        Ok(id) => {
            audit(&state, &page.user, "start", &sop, StatusCode::CREATED);
            see_other(&format!("/cases/{id}?msg=started"))
        }
        Err(problem) => {
            audit(&state, &page.user, "start", &sop, problem.status());
            application_form(&page, &d, &values, Some(&problem))
        }
    }
}

pub async fn mine(AxumState(state): AxumState<State>, page: Page) -> Response {
    let lang = page.lang;
    let filter = CaseFilter { applicant: Some(page.user.name.clone()), limit: Some(500), ..Default::default() };
    let rows = match queries::cases_for(&page.ctx(&state), &filter).await {
        Ok(rows) => rows,
        Err(problem) => return problem_page(&page.viewer(), &problem),
    };
    let sops = queries::latest_deployments(&state);
    let zone_of = |sop: &str| {
        sops.iter()
            .find(|d| d.deployment.sop == sop)
            .map(|d| d.calendar.time_zone())
            .unwrap_or(chrono_tz::Asia::Jakarta)
    };
    let title = t(lang, "Permohonan saya", "My applications");
    let body = html! {
        h1 { (title) }
        @if page.user.is_applicant() {
            p.no-print { a href="/apply" { (t(lang, "Ajukan permohonan baru", "Submit a new application")) " →" } }
        }
        @if rows.is_empty() {
            div.card { p { (t(lang, "Anda belum mengajukan permohonan.", "You have not applied for anything yet.")) } }
        } @else {
            table {
                thead { tr {
                    th { (t(lang, "Layanan", "Service")) }
                    th { (t(lang, "Diajukan", "Submitted")) }
                    th { (t(lang, "Status", "Status")) }
                    th { (t(lang, "Posisi berkas", "Where the file is")) }
                    th { (t(lang, "Dijanjikan selesai", "Promised by")) }
                } }
                tbody {
                    @for r in &rows {
                        tr class=(if r.overdue { "overdue" } else { "" }) {
                            td { a href=(format!("/cases/{}", r.id)) { (r.sop_title) } br; small.muted { (short_id(&r.id)) } }
                            td { (when(lang, zone_of(&r.sop), r.started)) }
                            td { (status_badge(lang, &r.status)) }
                            td { @if r.desks.is_empty() { "—" } @else { (r.desks.join(", ")) } }
                            td {
                                @if let Some(p) = r.promised { (when(lang, zone_of(&r.sop), p)) " " }
                                @if let Some(s) = &r.sla { (sla_badge(lang, s)) }
                            }
                        }
                    }
                }
            }
        }
    };
    html_page(StatusCode::OK, layout(&page.viewer(), title, body))
}

pub async fn case_page(
    AxumState(state): AxumState<State>,
    page: Page,
    Path(case): Path<String>,
    Query(msg): Query<Msg>,
) -> Response {
    let lang = page.lang;
    let id = match parse_case(&case, lang) {
        Ok(id) => id,
        Err(problem) => return problem_page(&page.viewer(), &problem),
    };
    let (loaded, d) = match policy::visible_case(&page.ctx(&state), id).await {
        Ok(x) => x,
        Err(problem) => return problem_page(&page.viewer(), &problem),
    };
    let out = match read::case_out(&page.ctx(&state), &loaded, &d).await {
        Ok(out) => out,
        Err(problem) => return problem_page(&page.viewer(), &problem),
    };
    let sop = &d.sop;
    let zone = d.calendar.time_zone();
    let caller = policy::caller_for(&page.user, &loaded, &d);
    let active = loaded.status == CaseStatus::Active;
    let mine: Vec<_> = loaded
        .tasks
        .values()
        .filter(|t| t.status == TaskStatus::Open && t.actors.iter().any(|a| caller.holds(a)))
        .collect();
    let is_applicant = page.user.is_applicant() && loaded.applicant == page.user.name;
    let applicant_desk = |actor: &str| sop.actor(actor).is_some_and(|a| a.kind == ActorKind::Applicant);
    let title = format!("{} · {}", sop.title, short_id(&out.id));
    let body = html! {
        p.muted { (t(lang, "Perkara", "Case")) " " (out.id) }
        h1 { (sop.title) }
        (flash(lang, msg.msg.as_deref()))
        div.card {
            p.where {
                @match loaded.status {
                    CaseStatus::Active => {
                        @if out.desks.is_empty() {
                            (t(lang, "Berkas sedang diproses sistem.", "The file is being processed by the system."))
                        }
                        @for desk in &out.desks {
                            div {
                                @if applicant_desk(&desk.actor) {
                                    (t(lang, "Berkas ada di ", "The file is with ")) strong { (desk.label) }
                                    @if is_applicant { " " (t(lang, "(menunggu Anda)", "(waiting for you)")) }
                                } @else {
                                    (t(lang, "Berkas ada di meja ", "The file is at the desk of ")) strong { (desk.label) }
                                }
                                br;
                                small.muted {
                                    (t(lang, "sejak ", "since ")) (when(lang, zone, desk.since))
                                    " · " (t(lang, "batas langkah ", "step due ")) (when_due(lang, zone, desk.due))
                                }
                            }
                        }
                    }
                    _ => {
                        (status_badge(lang, &out.status))
                        @if let Some(end) = &out.end {
                            " " strong { (sop.end(end).map(|e| e.label.clone()).unwrap_or(end.clone())) }
                        }
                        @if let Some(closed) = out.closed { br; small.muted { (when(lang, zone, closed)) } }
                    }
                }
            }
            dl.facts {
                @if let Some(number) = &out.number {
                    dt { (t(lang, "Nomor pendaftaran", "Registration number")) }
                    dd.number { (number) " " a.no-print href=(format!("/cases/{}/receipt", out.id)) { (t(lang, "Tanda terima", "Receipt")) } }
                }
                dt { (t(lang, "Status", "Status")) } dd { (status_badge(lang, &out.status)) }
                dt { (t(lang, "Pemohon", "Applicant")) } dd { (out.applicant) }
                dt { (t(lang, "Diajukan", "Submitted")) } dd { (when(lang, zone, out.started)) }
                dt { (t(lang, "Dijanjikan selesai", "Promised by")) }
                dd {
                    @if let Some(p) = out.promised { (when(lang, zone, p)) " " } @else { "—" " " }
                    @if let Some(s) = &out.sla { (sla_badge(lang, s)) }
                }
                @if let Some(served) = out.served {
                    dt { (t(lang, "Sudah diterima pemohon", "Handed to the applicant")) }
                    dd.served { (when(lang, zone, served)) }
                }
                @if let Some(date) = out.completion_date {
                    dt { (t(lang, "Tanggal selesai (diberitahukan saat penerimaan)", "Completion date (told at intake)")) }
                    dd.completion-date { (when(lang, zone, date)) }
                }
            }
            @if !mine.is_empty() {
                div.actions.no-print {
                    @for task in &mine {
                        @let step = sop.step(&task.step);
                        a href=(format!("/cases/{}/tasks/{}", out.id, task.no)) {
                            strong { (t(lang, "Kerjakan: ", "Work on: ")) }
                            (step.map(|s| format!("{}. {}", s.numbered(), read::first_line(&s.activity))).unwrap_or(task.step.to_string()))
                        }
                    }
                }
            }
        }
        div.grid2 {
            div {
                h2 { (t(lang, "Tahapan", "Stages")) }
                ol.track {
                    @for step in &sop.steps {
                        @let tasks: Vec<_> = loaded.tasks.values().filter(|t| *t.step == *step.id.name).collect();
                        @let current = tasks.iter().any(|t| t.status == TaskStatus::Open);
                        @let done = tasks.iter().any(|t| t.status == TaskStatus::Completed);
                        @let skipped = loaded.skipped.contains(&step.id.name);
                        li class=(if current { "current" } else if done { "done" } else if skipped { "skipped" } else { "" }) {
                            (step.number) ". " (read::first_line(&step.activity))
                            br;
                            small.muted { (performers(sop, step, lang)) }
                        }
                    }
                }
            }
            div {
                h2 { (t(lang, "Riwayat", "History")) }
                ul.timeline {
                    @for e in out.timeline.iter().rev() {
                        li {
                            time datetime=(e.at.to_rfc3339()) { (when(lang, zone, e.at)) }
                            " " (e.text)
                            @if let Some(note) = &e.note { br; small { "“" (note) "”" } }
                        }
                    }
                }
            }
        }
        @let fields = out.fields.as_object().cloned().unwrap_or_default();
        @if !fields.is_empty() {
            h2 { (t(lang, "Data permohonan", "Application data")) }
            table { tbody {
                @for (k, v) in &fields {
                    tr {
                        th scope="row" { (sop.field(k).and_then(|f| f.label.clone()).unwrap_or(humanize(k))) }
                        td { (match v { serde_json::Value::String(s) => s.clone(), serde_json::Value::Bool(true) => t(lang, "ya", "yes").into(), serde_json::Value::Bool(false) => t(lang, "tidak", "no").into(), other => other.to_string() }) }
                    }
                }
            } }
        }
        (documents(lang, &loaded, &d, None, active && !caller.roles.is_empty()))
        @if active && is_applicant {
            h2.no-print { (t(lang, "Tarik permohonan", "Withdraw the application")) }
            form.stack.no-print method="post" action=(format!("/cases/{}/withdraw", out.id)) {
                label for="reason" { (t(lang, "Alasan (boleh dikosongkan)", "Reason (optional)")) }
                input #reason type="text" name="reason";
                div.actions { button.danger type="submit" { (t(lang, "Tarik permohonan", "Withdraw")) } }
            }
        }
    };
    html_page(StatusCode::OK, layout(&page.viewer(), &title, body))
}

pub async fn upload(
    AxumState(state): AxumState<State>,
    page: Page,
    Path(case): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let lang = page.lang;
    let result = async {
        let id = parse_case(&case, lang)?;
        let multipart = multipart.map_err(|e| Problem::bad_request(e.body_text()))?;
        let upload = crate::server::extract::read_upload(multipart, lang).await?;
        let task = upload.task;
        commands::attach(&page.ctx(&state), id, upload).await?;
        Ok::<_, Problem>((id, task))
    }
    .await;
    match result {
        Ok((id, task)) => {
            audit(&state, &page.user, "attach", &case, StatusCode::CREATED);
            match task {
                Some(task) => see_other(&format!("/cases/{id}/tasks/{task}?msg=attached")),
                None => see_other(&format!("/cases/{id}?msg=attached")),
            }
        }
        Err(problem) => {
            audit(&state, &page.user, "attach", &case, problem.status());
            problem_page(&page.viewer(), &problem)
        }
    }
}

#[derive(serde::Deserialize)]
pub struct WithdrawForm {
    reason: Option<String>,
}

pub async fn withdraw(
    AxumState(state): AxumState<State>,
    page: Page,
    Path(case): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> Response {
    let lang = page.lang;
    let result = async {
        let id = parse_case(&case, lang)?;
        commands::withdraw(&page.ctx(&state), id, form.reason).await?;
        Ok::<_, Problem>(id)
    }
    .await;
    match result {
        Ok(id) => {
            audit(&state, &page.user, "withdraw", &case, StatusCode::NO_CONTENT);
            see_other(&format!("/cases/{id}?msg=withdrawn"))
        }
        Err(problem) => {
            audit(&state, &page.user, "withdraw", &case, problem.status());
            problem_page(&page.viewer(), &problem)
        }
    }
}
