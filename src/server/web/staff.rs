//! The inbox, the task page (what the step asks, the case, its documents, the decision), and
//! the case list with filters.

use axum::extract::{Form, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{countdown, humanize, sla_badge, status_badge, when, when_due};
use super::{audit, error_box, flash, html_page, layout, parse_case, problem_page, see_other, t, Msg, Page, PagePath};
use crate::diagnostic::Lang;
use crate::model::{FieldType, PerformerMode, Sop, Step, Target};
use crate::runtime::deploy::Deployed;
use crate::runtime::{CaseState, TaskNo, TaskStatus};
use crate::server::app::commands::{self, CompleteRequest};
use crate::server::app::queries::{self, CaseFilter};
use crate::server::app::{policy, read};
use crate::server::problem::Problem;
use crate::server::State;

/// The actors of a step as the SOP names them ("Front Office atau Back Office").
pub fn performers(sop: &Sop, step: &Step, lang: Lang) -> String {
    let Some(p) = &step.performers else { return String::new() };
    let labels: Vec<String> =
        p.actors.iter().map(|a| sop.actor(a.as_str()).map(|x| x.label.clone()).unwrap_or(a.name.clone())).collect();
    let join = match p.mode {
        PerformerMode::Jointly => t(lang, " dan ", " and "),
        _ => t(lang, " atau ", " or "),
    };
    labels.join(join)
}

pub fn actor_labels(d: &Deployed, actors: &[impl AsRef<str>]) -> String {
    actors
        .iter()
        .map(|a| d.sop.actor(a.as_ref()).map(|x| x.label.clone()).unwrap_or(a.as_ref().to_string()))
        .collect::<Vec<_>>()
        .join(" / ")
}

pub async fn inbox(AxumState(state): AxumState<State>, page: Page, Query(msg): Query<Msg>) -> Response {
    let lang = page.lang;
    let items = match queries::inbox_for(&page.ctx(&state)).await {
        Ok(items) => items,
        Err(problem) => return problem_page(&page.viewer(), &problem),
    };
    let title = t(lang, "Tugas saya", "My tasks");
    let body = html! {
        h1 { (title) }
        (flash(lang, msg.msg.as_deref()))
        p.muted { (t(lang,
            "Sisa waktu dihitung dalam jam kerja kalender SOP (hari libur dan di luar jam kantor tidak dihitung).",
            "Time left is counted in the SOP calendar's working time (holidays and after-hours do not count)."
        )) }
        @if items.is_empty() {
            div.card { p { (t(lang, "Tidak ada tugas yang menunggu Anda.", "No tasks are waiting for you.")) } }
        } @else {
            table {
                thead { tr {
                    th { (t(lang, "Langkah", "Step")) }
                    th { "SOP" }
                    th { (t(lang, "Pemohon", "Applicant")) }
                    th { (t(lang, "Meja", "Desk")) }
                    th { (t(lang, "Batas waktu", "Due")) }
                    th { (t(lang, "Sisa waktu", "Time left")) }
                    th { (t(lang, "Status", "Status")) }
                } }
                tbody {
                    @for item in &items {
                        @let d = state.engine.deployment(&item.sop, None).ok();
                        @let day = d.as_ref().map(|d| d.calendar.day_length_minutes()).unwrap_or(480);
                        @let zone = d.as_ref().map(|d| d.calendar.time_zone()).unwrap_or(chrono_tz::Asia::Jakarta);
                        tr class=(item.sla) {
                            td {
                                a href=(format!("/cases/{}/tasks/{}", item.case, item.task)) {
                                    (item.number) ". " (read::first_line(&item.activity))
                                }
                            }
                            td { (item.sop_title) }
                            td { (item.applicant) }
                            td { (d.as_ref().map(|d| actor_labels(d, &item.actors)).unwrap_or(item.actors.join(" / "))) }
                            td { (when_due(lang, zone, item.due)) }
                            td class=(match item.sla.as_str() { "overdue" => "late", "due_soon" => "soon", _ => "" }) {
                                (countdown(lang, item.working_minutes_left, day))
                            }
                            td {
                                (sla_badge(lang, &item.sla))
                                @if let Some(by) = &item.claimed_by {
                                    br;
                                    @if by == &page.user.name {
                                        small { (t(lang, "Anda kerjakan", "Taken by you")) }
                                    } @else {
                                        small { (t(lang, "Dikerjakan oleh ", "Taken by ")) (by) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html_page(StatusCode::OK, super::layout::layout_refreshing(&page.viewer(), title, body, Some(60)))
}

/// Loads a case and one of its tasks that the reader may work: 404 when the case is not
/// theirs to see, 403 when the task belongs to a desk they do not hold.
async fn load_task(
    state: &State,
    page: &Page,
    case: &str,
    task: TaskNo,
) -> Result<(CaseState, std::sync::Arc<Deployed>), Response> {
    let lang = page.lang;
    let id = parse_case(case, lang).map_err(|p| problem_page(&page.viewer(), &p))?;
    let (loaded, d) = policy::visible_case(&page.ctx(state), id).await.map_err(|p| problem_page(&page.viewer(), &p))?;
    let Some(t) = loaded.tasks.get(&task) else {
        return Err(problem_page(&page.viewer(), &Problem::not_found(lang, &page.say("Tugas ini", "This task"))));
    };
    let caller = policy::caller_for(&page.user, &loaded, &d);
    if !t.actors.iter().any(|a| caller.holds(a)) {
        let desk = actor_labels(&d, &t.actors);
        return Err(problem_page(
            &page.viewer(),
            &Problem::forbidden(
                lang,
                &format!("Tugas ini milik meja {desk}; Anda tidak memegang peran itu."),
                &format!("This task belongs to the {desk} desk; you do not hold that role."),
            ),
        ));
    }
    Ok((loaded, d))
}

pub async fn task_page(
    AxumState(state): AxumState<State>,
    page: Page,
    PagePath((case, task)): PagePath<(String, TaskNo)>,
    Query(msg): Query<Msg>,
) -> Response {
    match load_task(&state, &page, &case, task).await {
        Ok((loaded, d)) => render_task(&state, &page, &loaded, &d, task, None, msg.msg.as_deref()).await,
        Err(response) => response,
    }
}

/// The fields a person may fill in at a step: every case field except those a decision
/// records (they are set by choosing the outcome, at their own step).
pub fn editable_fields(sop: &Sop) -> Vec<&crate::model::Field> {
    let recorded: Vec<&str> = sop
        .steps
        .iter()
        .filter_map(|s| s.decision.as_ref().and_then(|d| d.record.as_ref()))
        .map(|r| r.name.as_str())
        .collect();
    sop.fields.iter().filter(|f| !recorded.contains(&f.id.name.as_str())).collect()
}

/// An input for a typed case field, named `f_<id>`.
pub fn field_input(lang: Lang, field: &crate::model::Field, current: Option<&str>) -> Markup {
    let name = format!("f_{}", field.id.name);
    let id = format!("field-{}", field.id.name);
    let current = current.unwrap_or("");
    html! {
        label for=(id) {
            (field.label.clone().unwrap_or_else(|| humanize(&field.id.name)))
            " " small.muted { "(" (field.id.name) ")" }
        }
        @match &field.ty {
            FieldType::Text => { input id=(id) type="text" name=(name) value=(current); }
            FieldType::Number => { input id=(id) type="number" step="any" name=(name) value=(current); }
            FieldType::Date => { input id=(id) type="date" name=(name) value=(current); }
            FieldType::Bool => {
                select id=(id) name=(name) {
                    option value="" selected[current.is_empty()] { "—" }
                    option value="ya" selected[current == "ya"] { (t(lang, "Ya", "Yes")) }
                    option value="tidak" selected[current == "tidak"] { (t(lang, "Tidak", "No")) }
                }
            }
            FieldType::Choice(choices) => {
                select id=(id) name=(name) {
                    option value="" selected[current.is_empty()] { "—" }
                    @for c in choices {
                        option value=(c) selected[current == c] { (humanize(c)) }
                    }
                }
            }
        }
    }
}

/// Typed values from `f_<id>` form entries (empty ones are left out), as the API's JSON.
pub fn fields_from_form(
    sop: &Sop,
    form: &[(String, String)],
    lang: Lang,
) -> Result<serde_json::Map<String, serde_json::Value>, Problem> {
    let mut out = serde_json::Map::new();
    for (key, raw) in form {
        let Some(name) = key.strip_prefix("f_") else { continue };
        if raw.trim().is_empty() {
            continue;
        }
        let raw =
            if matches!(sop.field(name).map(|f| &f.ty), Some(FieldType::Text)) { raw.as_str() } else { raw.trim() };
        let value = crate::runtime::fields::from_text(sop, name, raw).map_err(|e| Problem::runtime(&e, lang))?;
        out.insert(name.to_string(), crate::runtime::fields::to_json(&value));
    }
    Ok(out)
}

pub fn form_value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Where an outcome sends the file, for the hint under its button.
fn target_text(d: &Deployed, target: &Target, lang: Lang) -> String {
    match target {
        Target::Next => t(lang, "langkah berikutnya", "next step").to_string(),
        Target::Named(name) => {
            if let Some(step) = d.sop.step(&name.name) {
                format!("{} {}", t(lang, "ke langkah", "to step"), step.number)
            } else if let Some(end) = d.sop.end(&name.name) {
                format!("{}: {}", t(lang, "selesai", "end"), end.label)
            } else {
                name.name.clone()
            }
        }
    }
}

pub async fn render_task(
    state: &State,
    page: &Page,
    loaded: &CaseState,
    d: &Deployed,
    task_no: TaskNo,
    error: Option<&Problem>,
    msg: Option<&str>,
) -> Response {
    let lang = page.lang;
    let Some(task) = loaded.tasks.get(&task_no) else {
        return problem_page(&page.viewer(), &Problem::not_found(lang, &page.say("Tugas ini", "This task")));
    };
    let sop = &d.sop;
    let step = sop.step(&task.step);
    let zone = d.calendar.time_zone();
    let day = d.calendar.day_length_minutes();
    let now = state.engine.now();
    let open = task.status == TaskStatus::Open && loaded.status == crate::runtime::CaseStatus::Active;
    let left = task.due.map(|due| {
        if now <= due {
            d.calendar.working_minutes_between(now, due) as i64
        } else {
            -(d.calendar.working_minutes_between(due, now) as i64)
        }
    });
    let sla = crate::runtime::view::view(loaded, d, now)
        .open_tasks
        .iter()
        .find(|x| x.task == task_no)
        .map(|x| x.sla.map_or("no_deadline", read::sla_word))
        .unwrap_or("");
    let case_id = loaded.id.to_string();
    let base = format!("/cases/{case_id}/tasks/{task_no}");
    let number = step.map(|s| s.number.clone()).unwrap_or_default();
    let title = format!(
        "{} {}: {}",
        t(lang, "Langkah", "Step"),
        number,
        step.map(|s| read::first_line(&s.activity)).unwrap_or(task.step.to_string())
    );
    let fields: Vec<(String, String)> =
        loaded.fields.iter().map(|(k, v)| (k.clone(), crate::runtime::fields::to_text(v))).collect();
    let claimed_by_me = task.claimed_by.as_deref() == Some(page.user.name.as_str());
    let applicant_step =
        task.actors.iter().all(|a| sop.actor(a).is_some_and(|x| x.kind == crate::model::ActorKind::Applicant));
    let body = html! {
        p.muted { a href=(format!("/cases/{case_id}")) { (sop.title) " · " (t(lang, "perkara", "case")) " " (case_id) } }
        h1 { (title) }
        (flash(lang, msg))
        @if let Some(problem) = error { (error_box(problem)) }
        @if !open {
            div.notice.info { p {
                @if task.status == TaskStatus::Completed {
                    (t(lang, "Tugas ini sudah selesai", "This task is done"))
                    @if let Some(by) = &task.completed_by { " (" (by) ")" }
                    @if let Some(o) = &task.outcome { ": " strong { (humanize(o)) } }
                    "."
                } @else {
                    (t(lang, "Tugas ini tidak terbuka lagi.", "This task is no longer open."))
                }
            } }
        }
        div.grid2 {
            div.card {
                h2 { (t(lang, "Yang diminta SOP", "What the SOP asks")) }
                @if let Some(step) = step {
                    dl.facts {
                        dt { (t(lang, "No", "No")) } dd { (step.numbered()) }
                        dt { (t(lang, "Kegiatan", "Activity")) } dd { (step.activity) }
                        dt { (t(lang, "Pelaksana", "Performed by")) } dd { (performers(sop, step, lang)) }
                        dt { (t(lang, "Kelengkapan", "Inputs")) }
                        dd {
                            @if step.inputs.is_empty() { "—" }
                            @for u in &step.inputs { div { (u.text) } }
                        }
                        dt { (t(lang, "Waktu", "Time")) }
                        dd { (step.duration.as_ref().map(|x| x.text.clone()).unwrap_or("—".into())) }
                        dt { (t(lang, "Output", "Output")) }
                        dd {
                            @if step.outputs.is_empty() { "—" }
                            @for u in &step.outputs { div { (u.text) } }
                        }
                        @if let Some(notes) = &step.notes {
                            dt { (t(lang, "Keterangan", "Notes")) } dd { (notes) }
                        }
                    }
                }
            }
            div.card {
                h2 { (t(lang, "Waktu", "Time")) }
                dl.facts {
                    dt { (t(lang, "Dibuka", "Opened")) } dd { (when(lang, zone, task.opened)) }
                    dt { (t(lang, "Batas waktu", "Due")) } dd { (when_due(lang, zone, task.due)) }
                    @if open {
                        dt { (t(lang, "Sisa waktu", "Time left")) }
                        dd class=(match sla { "overdue" => "late", "due_soon" => "soon", _ => "" }) {
                            (countdown(lang, left, day)) " " (sla_badge(lang, sla))
                        }
                    }
                    dt { (t(lang, "Pemohon", "Applicant")) } dd { (loaded.applicant) }
                    @if !applicant_step {
                        dt { (t(lang, "Dikerjakan oleh", "Taken by")) }
                        dd { (task.claimed_by.as_deref().unwrap_or(t(lang, "belum diambil", "not taken yet"))) }
                    }
                }
                // A hold (`penangguhan`): the office waits; the task's deadline stands still.
                @if let (true, Some(hold)) = (open, task.hold.as_deref()) {
                    div.notice.info { p {
                        strong { (t(lang, "Ditangguhkan", "On hold")) } " "
                        (t(lang, "sejak", "since")) " " (when(lang, zone, hold.since)) ", "
                        (t(lang, "paling lama sampai", "at most until")) " " (when(lang, zone, hold.until)) ": "
                        (hold.reason)
                    } }
                    @if !applicant_step {
                        form method="post" action=(format!("{base}/resume")) {
                            button type="submit" { (t(lang, "Lanjutkan (akhiri penangguhan)", "Resume (end the hold)")) }
                        }
                    }
                } @else if let (true, false, Some(rule)) = (open, applicant_step, step.and_then(|s| s.hold.as_ref())) {
                    form.stack method="post" action=(format!("{base}/hold") ) {
                        label {
                            (t(lang, "Tangguhkan: apa yang ditunggu?", "Put on hold: what does the office wait for?"))
                            input type="text" name="reason" required;
                        }
                        p.muted {
                            (t(lang, "Batas waktu dan janji layanan berhenti; paling lama", "The deadline and the service promise stand still; at most"))
                            " " (rule.max.display(lang))
                        }
                        button type="submit" { (t(lang, "Tangguhkan", "Put on hold")) }
                    }
                }
                // Taking a task tells colleagues at the same desk; an applicant's own step needs no such thing.
                @if open && !applicant_step {
                    div.actions {
                        @if task.claimed_by.is_none() {
                            form method="post" action=(format!("{base}/claim")) {
                                button type="submit" { (t(lang, "Ambil tugas ini", "Take this task")) }
                            }
                        }
                        @if claimed_by_me {
                            form method="post" action=(format!("{base}/release")) {
                                button type="submit" { (t(lang, "Lepaskan", "Release")) }
                            }
                        }
                    }
                }
            }
        }
        h2 { (t(lang, "Data perkara", "Case data")) }
        @if fields.is_empty() {
            p.muted { (t(lang, "SOP ini tidak mencatat data perkara.", "This SOP records no case data.")) }
        } @else {
            table { tbody {
                @for (k, v) in &fields {
                    tr {
                        th scope="row" { (sop.field(k).and_then(|f| f.label.clone()).unwrap_or(humanize(k))) }
                        td { (v) }
                    }
                }
            } }
        }
        (documents(lang, loaded, d, Some(task_no), open))
        @if open && task.hold.is_none() {
            h2 { (t(lang, "Selesaikan langkah", "Complete the step")) }
            form.stack method="post" action=(format!("{base}/complete")) {
                @let editable = editable_fields(sop);
                @if !editable.is_empty() {
                    fieldset {
                        legend { (t(lang, "Data perkara (boleh dikosongkan)", "Case data (may be left empty)")) }
                        @for f in editable {
                            @let current = fields.iter().find(|(k, _)| k == &f.id.name).map(|(_, v)| v.as_str());
                            (field_input(lang, f, current))
                        }
                    }
                }
                label for="note" { (t(lang, "Catatan (tampil di riwayat perkara)", "Note (shown in the case history)")) }
                textarea #note name="note" {}
                div.actions {
                    @match step.and_then(|s| s.decision.as_ref()) {
                        Some(decision) => {
                            @for o in &decision.outcomes {
                                div {
                                    button class=(if o.rework.is_some() { "danger" } else { "primary" })
                                        type="submit" name="outcome" value=(o.name.name) {
                                        (humanize(&o.name.name))
                                    }
                                    br;
                                    small.muted {
                                        @if o.rework.is_some() {
                                            (t(lang, "dikembalikan ", "returned ")) (target_text(d, &o.target, lang))
                                        } @else {
                                            (target_text(d, &o.target, lang))
                                        }
                                    }
                                }
                            }
                        }
                        None => {
                            button.primary type="submit" { (t(lang, "Selesai", "Done")) }
                        }
                    }
                }
            }
        }
    };
    let status = error.map(|p| p.status()).unwrap_or(StatusCode::OK);
    html_page(status, layout(&page.viewer(), &title, body))
}

/// The case's documents with download links, and an upload form while the case is active.
pub fn documents(lang: Lang, loaded: &CaseState, d: &Deployed, task: Option<TaskNo>, can_upload: bool) -> Markup {
    let zone = d.calendar.time_zone();
    let case_id = loaded.id.to_string();
    // The step's own documents first, then the rest of the SOP's.
    let step = task.and_then(|n| loaded.tasks.get(&n)).and_then(|t| d.sop.step(&t.step));
    let mut choices: Vec<(String, String)> = Vec::new();
    if let Some(step) = step {
        for u in step.outputs.iter().chain(step.inputs.iter()) {
            if !choices.iter().any(|(id, _)| id == &u.artifact.name) {
                choices.push((u.artifact.name.clone(), u.text.clone()));
            }
        }
    }
    for a in &d.sop.artifacts {
        if !choices.iter().any(|(id, _)| id == &a.id.name) {
            choices.push((a.id.name.clone(), a.label.clone()));
        }
    }
    html! {
        h2 { (t(lang, "Dokumen", "Documents")) }
        @if loaded.attachments.is_empty() {
            p.muted { (t(lang, "Belum ada dokumen dilampirkan.", "No documents attached yet.")) }
        } @else {
            table {
                thead { tr {
                    th { (t(lang, "Dokumen", "Document")) }
                    th { (t(lang, "Berkas", "File")) }
                    th.num { (t(lang, "Ukuran", "Size")) }
                    th { (t(lang, "Oleh", "By")) }
                    th { (t(lang, "Waktu", "When")) }
                } }
                tbody {
                    @for (i, a) in loaded.attachments.iter().enumerate() {
                        tr {
                            td { (d.sop.artifact(&a.file.artifact).map(|x| x.label.clone()).unwrap_or(a.file.artifact.clone())) }
                            td { a href=(format!("/api/cases/{case_id}/artifacts/{i}")) download { (a.file.name) } }
                            td.num { (size_text(a.file.size)) }
                            td { (a.by) }
                            td { (when(lang, zone, a.at)) }
                        }
                    }
                }
            }
        }
        @if can_upload && !choices.is_empty() {
            form.stack.no-print method="post" action=(format!("/cases/{case_id}/documents")) enctype="multipart/form-data" {
                @if let Some(task) = task { input type="hidden" name="task" value=(task); }
                label for="artifact" { (t(lang, "Lampirkan dokumen", "Attach a document")) }
                select #artifact name="artifact" {
                    @for (id, label) in &choices { option value=(id) { (label) } }
                }
                @let kinds = crate::runtime::media::allowed_labels();
                label for="file" {
                    (crate::server::problem::say(
                        lang,
                        &format!("Berkas ({kinds}; paling besar 10 MiB)"),
                        &format!("File ({kinds}; at most 10 MiB)"),
                    ))
                }
                input #file type="file" name="file" required accept=(crate::runtime::media::allowed_types().join(","));
                div.actions { button type="submit" { (t(lang, "Unggah", "Upload")) } }
            }
        }
    }
}

fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

async fn task_command(state: &State, page: &Page, case: &str, task: TaskNo, claim: bool) -> Response {
    let (loaded, d) = match load_task(state, page, case, task).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    let result = if claim {
        commands::claim(&page.ctx(state), loaded.id, task).await
    } else {
        commands::release(&page.ctx(state), loaded.id, task).await
    };
    let action = if claim { "claim" } else { "release" };
    let target = format!("{case}/{task}");
    match result {
        Ok(()) => {
            audit(state, &page.user, action, &target, StatusCode::NO_CONTENT);
            let msg = if claim { "claimed" } else { "released" };
            see_other(&format!("/cases/{}/tasks/{task}?msg={msg}", loaded.id))
        }
        Err(problem) => {
            audit(state, &page.user, action, &target, problem.status());
            render_task(state, page, &loaded, &d, task, Some(&problem), None).await
        }
    }
}

pub async fn claim(
    AxumState(state): AxumState<State>,
    page: Page,
    PagePath((case, task)): PagePath<(String, TaskNo)>,
) -> Response {
    task_command(&state, &page, &case, task, true).await
}

pub async fn release(
    AxumState(state): AxumState<State>,
    page: Page,
    PagePath((case, task)): PagePath<(String, TaskNo)>,
) -> Response {
    task_command(&state, &page, &case, task, false).await
}

pub async fn hold(
    AxumState(state): AxumState<State>,
    page: Page,
    PagePath((case, task)): PagePath<(String, TaskNo)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let (loaded, d) = match load_task(&state, &page, &case, task).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    let reason = form_value(&form, "reason").unwrap_or_default();
    let result = commands::hold(&page.ctx(&state), loaded.id, task, reason).await;
    hold_answer(&state, &page, &loaded, &d, task, "hold", result).await
}

pub async fn resume(
    AxumState(state): AxumState<State>,
    page: Page,
    PagePath((case, task)): PagePath<(String, TaskNo)>,
) -> Response {
    let (loaded, d) = match load_task(&state, &page, &case, task).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    let result = commands::resume(&page.ctx(&state), loaded.id, task).await;
    hold_answer(&state, &page, &loaded, &d, task, "resume", result).await
}

/// The page after a hold or a resume: the task again, with a confirmation or the refusal.
async fn hold_answer(
    state: &State,
    page: &Page,
    loaded: &CaseState,
    d: &Deployed,
    task: TaskNo,
    action: &str,
    result: Result<(), Problem>,
) -> Response {
    let target = format!("{}/{task}", loaded.id);
    match result {
        Ok(()) => {
            audit(state, &page.user, action, &target, StatusCode::NO_CONTENT);
            let msg = if action == "hold" { "held" } else { "resumed" };
            see_other(&format!("/cases/{}/tasks/{task}?msg={msg}", loaded.id))
        }
        Err(problem) => {
            audit(state, &page.user, action, &target, problem.status());
            render_task(state, page, loaded, d, task, Some(&problem), None).await
        }
    }
}

pub async fn complete(
    AxumState(state): AxumState<State>,
    page: Page,
    PagePath((case, task)): PagePath<(String, TaskNo)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let lang = page.lang;
    let (loaded, d) = match load_task(&state, &page, &case, task).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    let target = format!("{case}/{task}");
    let result = match fields_from_form(&d.sop, &form, lang) {
        Err(problem) => Err(problem),
        Ok(fields) => {
            let request = CompleteRequest {
                outcome: form_value(&form, "outcome").map(str::to_string),
                fields,
                note: form_value(&form, "note").map(str::to_string),
            };
            commands::complete(&page.ctx(&state), loaded.id, task, request).await
        }
    };
    match result {
        Ok(()) => {
            audit(&state, &page.user, "complete", &target, StatusCode::NO_CONTENT);
            see_other("/inbox?msg=done")
        }
        Err(problem) => {
            audit(&state, &page.user, "complete", &target, problem.status());
            // Show the case as it is now (another desk may have moved it meanwhile).
            let (loaded, d) = match policy::visible_case(&page.ctx(&state), loaded.id).await {
                Ok(x) => x,
                Err(_) => (loaded, d),
            };
            render_task(&state, &page, &loaded, &d, task, Some(&problem), None).await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    sop: Option<String>,
    status: Option<String>,
    applicant: Option<String>,
    overdue: Option<String>,
}

pub async fn case_list(AxumState(state): AxumState<State>, page: Page, Query(query): Query<ListQuery>) -> Response {
    let lang = page.lang;
    let nonempty = |x: &Option<String>| x.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let filter = CaseFilter {
        sop: nonempty(&query.sop),
        status: nonempty(&query.status),
        applicant: nonempty(&query.applicant),
        overdue: query.overdue.as_deref().map(|v| !v.is_empty() && v != "0" && v != "false"),
        limit: Some(500),
    };
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
    let title = t(lang, "Semua perkara", "All cases");
    let statuses = [
        ("active", t(lang, "Sedang diproses", "In progress")),
        ("ended", t(lang, "Selesai", "Finished")),
        ("withdrawn", t(lang, "Ditarik", "Withdrawn")),
        ("cancelled", t(lang, "Dibatalkan", "Cancelled")),
    ];
    let body = html! {
        h1 { (title) }
        form.filters.no-print method="get" action="/cases" {
            label { "SOP"
                select name="sop" {
                    option value="" { (t(lang, "Semua", "All")) }
                    @for d in &sops {
                        option value=(d.deployment.sop) selected[filter.sop.as_deref() == Some(d.deployment.sop.as_str())] { (d.sop.title) }
                    }
                }
            }
            label { (t(lang, "Status", "Status"))
                select name="status" {
                    option value="" { (t(lang, "Semua", "All")) }
                    @for (word, text) in statuses {
                        option value=(word) selected[filter.status.as_deref() == Some(word)] { (text) }
                    }
                }
            }
            label { (t(lang, "Pemohon", "Applicant"))
                input type="text" name="applicant" value=(filter.applicant.clone().unwrap_or_default());
            }
            label { (t(lang, "Hanya yang terlambat", "Overdue only"))
                input type="checkbox" name="overdue" value="1" checked[filter.overdue == Some(true)];
            }
            button.primary type="submit" { (t(lang, "Saring", "Filter")) }
        }
        p.muted { (rows.len()) " " (t(lang, "perkara", "case(s)")) }
        table {
            thead { tr {
                th { (t(lang, "Perkara", "Case")) }
                th { "SOP" }
                th { (t(lang, "Pemohon", "Applicant")) }
                th { (t(lang, "Status", "Status")) }
                th { (t(lang, "Posisi berkas", "Where the file is")) }
                th { (t(lang, "Diajukan", "Submitted")) }
                th { (t(lang, "Dijanjikan", "Promised")) }
            } }
            tbody {
                @for r in &rows {
                    tr class=(if r.overdue { "overdue" } else { "" }) {
                        td.nowrap { a href=(format!("/cases/{}", r.id)) { (short_id(&r.id)) } }
                        td { (r.sop_title) }
                        td { (r.applicant) }
                        td {
                            (status_badge(lang, &r.status)) @if r.overdue { " " (sla_badge(lang, "overdue")) }
                            @if r.on_hold { " " span.badge { (t(lang, "ditangguhkan", "on hold")) } }
                        }
                        td { @if r.desks.is_empty() { "—" } @else { (r.desks.join(", ")) } }
                        td { (when(lang, zone_of(&r.sop), r.started)) }
                        td { @if let Some(p) = r.promised { (when(lang, zone_of(&r.sop), p)) } @else { "—" } }
                    }
                }
            }
        }
    };
    html_page(StatusCode::OK, layout(&page.viewer(), title, body))
}

/// The last eight characters of a case id (the random part of a UUID v7), enough to tell
/// cases apart on a list.
pub fn short_id(id: &str) -> String {
    let tail: String = id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
    format!("…{tail}")
}
