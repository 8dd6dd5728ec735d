//! The JSON API under `/api`. Every handler checks the caller's roles against the table in
//! ARCHITECTURE.md (and the authorization-matrix test), asks the engine, and answers JSON or a
//! problem-details error. Shared read models (a case as people see it, the inbox, reports)
//! live here too, so the web pages show exactly what the API returns.

use axum::extract::{DefaultBodyLimit, Multipart, Path};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::accounts::{Account, Role, SignIn, User};
use super::auth::{client_of, Auth, ClientAddr, Language};
use super::catalog::FileReport;
pub use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::problem::{say, Problem};
use super::throttle::Wait;
use super::State;
use crate::diagnostic::Lang;
use crate::model::ActorKind;
use crate::runtime::deploy::Deployed;
use crate::runtime::view::{view, Sla};
use crate::runtime::{
    Attachment, Caller, CaseId, CaseState, CaseStatus, Completion, Event, RuntimeError, TaskNo, TaskStatus,
};

/// JSON bodies up to this size; artifact uploads have their own limit.
pub const JSON_LIMIT: usize = 256 * 1024;
pub const UPLOAD_LIMIT: usize = 10 * 1024 * 1024;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/sops", get(list_sops).post(deploy_sop))
        .route("/api/sops/reload", post(reload_sops))
        .route("/api/sops/{sop}", get(get_sop))
        .route("/api/sops/{sop}/render/{format}", get(render_sop))
        .route("/api/cases", get(list_cases).post(start_case))
        .route("/api/cases/{case}", get(get_case))
        .route("/api/cases/{case}/withdraw", post(withdraw_case))
        .route("/api/cases/{case}/cancel", post(cancel_case))
        .route("/api/cases/{case}/artifacts", post(upload_artifact).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/api/cases/{case}/artifacts/{index}", get(download_artifact))
        .route("/api/tasks", get(inbox))
        .route("/api/cases/{case}/tasks/{task}/claim", post(claim_task))
        .route("/api/cases/{case}/tasks/{task}/release", post(release_task))
        .route("/api/cases/{case}/tasks/{task}/hold", post(hold_task))
        .route("/api/cases/{case}/tasks/{task}/resume", post(resume_task))
        .route("/api/cases/{case}/tasks/{task}/complete", post(complete_task))
        .route("/api/reports/steps", get(report_steps))
        .route("/api/reports/actors", get(report_actors))
        .route("/api/users", get(list_users).post(create_user))
        .route("/api/users/{name}", axum::routing::put(update_user).delete(delete_user))
        .route("/api/audit", get(audit_log))
        .route("/api/openapi.json", get(super::openapi::document))
        .route("/api", get(not_found_api))
        .route("/api/{*rest}", axum::routing::any(not_found_api))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
}

async fn not_found_api(Language(lang): Language) -> Problem {
    Problem::not_found(lang, &say(lang, "Alamat API ini", "This API path"))
}

fn audit(state: &State, user: &str, action: &str, target: &str, status: StatusCode) {
    state.accounts.audit(user, action, target, status.as_u16());
}

/// Records the action and its result in the audit log.
fn audited<T: IntoResponse>(
    state: &State,
    auth: &Auth,
    action: &str,
    target: &str,
    result: Result<T, Problem>,
) -> Response {
    let response = result.into_response();
    audit(state, &auth.user.name, action, target, response.status());
    response
}

fn parse_case(text: &str, lang: Lang) -> Result<CaseId, Problem> {
    text.parse().map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            say(lang, &format!("`{text}` bukan nomor perkara."), &format!("`{text}` is not a case id.")),
        )
    })
}

// ---------------------------------------------------------------- sign-in

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
#[utoipa::path(post, path = "/api/login", request_body = LoginRequest,
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

#[utoipa::path(post, path = "/api/logout", responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
) -> Result<StatusCode, Problem> {
    let token = auth.token.clone();
    state.accounts.sign_out(&token).await.map_err(|e| Problem::account(&e, auth.lang))?;
    audit(&state, &auth.user.name, "logout", "", StatusCode::NO_CONTENT);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/me", responses((status = 200, body = User), (status = 401, body = Problem)))]
pub async fn me(auth: Auth) -> Json<User> {
    Json((*auth.user).clone())
}

// ---------------------------------------------------------------- SOPs

#[derive(Serialize, utoipa::ToSchema)]
pub struct SopSummary {
    pub id: String,
    pub title: String,
    pub version: u32,
    pub agency: Option<String>,
    pub steps: usize,
    /// The case fields an application fills in.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    /// Entry steps where the SOP offers alternatives (at the counter or online).
    pub entries: Vec<String>,
    pub actors: Vec<ActorSummary>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ActorSummary {
    pub id: String,
    pub label: String,
    pub kind: String,
}

pub fn sop_summary(d: &Deployed) -> SopSummary {
    let sop = &d.sop;
    SopSummary {
        id: sop.id.name.clone(),
        title: sop.title.clone(),
        version: d.deployment.version,
        agency: sop.header.agency.clone(),
        steps: sop.steps.len(),
        fields: serde_json::to_value(&sop.fields).unwrap_or_default(),
        entries: entry_steps(d),
        actors: sop
            .actors
            .iter()
            .map(|a| ActorSummary {
                id: a.id.name.clone(),
                label: a.label.clone(),
                kind: format!("{:?}", a.kind).to_lowercase(),
            })
            .collect(),
    }
}

/// The steps a case may start at, when there is a choice: the first steps of the branches of
/// the SOP's `alternatif` blocks (what `entry` may name).
pub fn entry_steps(d: &Deployed) -> Vec<String> {
    d.interpreter.entries(&d.sop).into_iter().map(|s| d.sop.steps[s].id.name.clone()).collect()
}

#[utoipa::path(get, path = "/api/sops", responses((status = 200, body = Vec<SopSummary>), (status = 401, body = Problem)))]
pub async fn list_sops(axum::extract::State(state): axum::extract::State<State>, _auth: Auth) -> Json<Vec<SopSummary>> {
    Json(latest_deployments(&state).iter().map(|d| sop_summary(d)).collect())
}

pub fn latest_deployments(state: &State) -> Vec<Arc<Deployed>> {
    let mut latest: BTreeMap<String, Arc<Deployed>> = BTreeMap::new();
    for d in state.engine.deployments() {
        latest.insert(d.deployment.sop.clone(), d);
    }
    latest.into_values().collect()
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SopDetail {
    #[serde(flatten)]
    pub summary: SopSummary,
    pub calendar: String,
    /// The compiled model with its state graph, as `alur inspect` prints it.
    #[schema(value_type = Object)]
    pub model: serde_json::Value,
    /// Each step on the main path with its due date from `start`, and the totals.
    #[schema(value_type = Object)]
    pub timing: serde_json::Value,
    /// What the checker said about the file that is serving.
    pub diagnostics: Option<FileReport>,
    pub versions: Vec<u32>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimingQuery {
    /// When the case would start (RFC 3339); default now.
    pub start: Option<DateTime<Utc>>,
    pub version: Option<u32>,
}

fn can_read_sops(user: &User) -> bool {
    user.is_analyst() || user.is_staff()
}

#[utoipa::path(get, path = "/api/sops/{sop}", params(("sop" = String, Path), TimingQuery),
    responses((status = 200, body = SopDetail), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_sop(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(sop): Path<String>,
    ApiQuery(query): ApiQuery<TimingQuery>,
) -> Result<Json<SopDetail>, Problem> {
    if !can_read_sops(&auth.user) {
        return Err(Problem::forbidden(
            auth.lang,
            "Hanya analis, admin dan petugas yang membaca rincian SOP.",
            "Only analysts, admins and staff read SOP details.",
        ));
    }
    let d = state.engine.deployment(&sop, query.version).map_err(|e| Problem::runtime(&e, auth.lang))?;
    let start = query.start.unwrap_or_else(|| state.engine.now());
    Ok(Json(sop_detail(&state, &d, start, auth.lang)))
}

pub fn sop_detail(state: &State, d: &Deployed, start: DateTime<Utc>, lang: Lang) -> SopDetail {
    let versions = state
        .engine
        .deployments()
        .iter()
        .filter(|x| x.deployment.sop == d.deployment.sop)
        .map(|x| x.deployment.version)
        .collect();
    SopDetail {
        summary: sop_summary(d),
        calendar: d.calendar.name().to_string(),
        model: serde_json::to_value(&d.sop).unwrap_or_default(),
        timing: crate::timing::timing_json(&d.sop, &d.calendar, start, lang),
        diagnostics: state.catalog.report_for(&d.deployment.sop),
        versions,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RenderQuery {
    pub version: Option<u32>,
}

/// The SOP as its official document (`html`, print it A4 landscape), the flowchart (`svg`),
/// the state graph (`mermaid`, `dot`), BPMN 2.0 (`bpmn`) or Markdown (`md`).
#[utoipa::path(get, path = "/api/sops/{sop}/render/{format}",
    params(("sop" = String, Path), ("format" = String, Path, description = "html, svg, mermaid, dot, bpmn or md"), RenderQuery),
    responses((status = 200, description = "The rendered SOP"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn render_sop(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((sop, format)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<RenderQuery>,
) -> Result<Response, Problem> {
    if !can_read_sops(&auth.user) {
        return Err(Problem::forbidden(
            auth.lang,
            "Hanya analis, admin dan petugas yang membaca rincian SOP.",
            "Only analysts, admins and staff read SOP details.",
        ));
    }
    let format: crate::render::Format =
        format.parse().map_err(|_| Problem::not_found(auth.lang, &format!("`{format}`")))?;
    let d = state.engine.deployment(&sop, query.version).map_err(|e| Problem::runtime(&e, auth.lang))?;
    let body = crate::render::render(&d.sop, format, auth.lang);
    let content_type = match format {
        crate::render::Format::Html => "text/html; charset=utf-8",
        crate::render::Format::Svg => "image/svg+xml",
        crate::render::Format::Bpmn => "application/xml",
        crate::render::Format::Md => "text/markdown; charset=utf-8",
        crate::render::Format::Mermaid | crate::render::Format::Dot => "text/plain; charset=utf-8",
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeployRequest {
    /// The file name under the SOP folder, e.g. `izin-reklame.sop`.
    pub file: String,
    /// The `.sop` text.
    pub source: String,
}

fn require_admin(auth: &Auth) -> Result<(), Problem> {
    if auth.user.is_admin() {
        Ok(())
    } else {
        Err(Problem::forbidden(auth.lang, "Hanya admin yang boleh melakukan ini.", "Only an admin may do this."))
    }
}

#[utoipa::path(post, path = "/api/sops", request_body = DeployRequest,
    responses((status = 201, body = FileReport), (status = 422, body = Problem, description = "The checker's report is in `report`"), (status = 403, body = Problem)))]
pub async fn deploy_sop(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiJson(request): ApiJson<DeployRequest>,
) -> Response {
    let target = request.file.clone();
    let result = deploy_upload(&state, &auth, request).await;
    audited(&state, &auth, "deploy", &target, result)
}

async fn deploy_upload(state: &State, auth: &Auth, request: DeployRequest) -> Result<Response, Problem> {
    require_admin(auth)?;
    let name = request.file.trim();
    let valid = name.ends_with(".sop")
        && !name.starts_with('.')
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid || name.contains("..") {
        return Err(Problem::invalid(say(
            auth.lang,
            "Nama berkas harus seperti `izin-reklame.sop`: huruf, angka, `-`, `_`, tanpa folder.",
            "The file name must look like `izin-reklame.sop`: letters, digits, `-`, `_`, no folders.",
        )));
    }
    let path = state.catalog.sop_dir().join(name);
    let mut calendars = crate::compile::folders::Calendars::new(None);
    let report = state.catalog.deploy_text(&state.engine, &mut calendars, &path, request.source.as_bytes(), true).await;
    match report {
        None => Err(Problem::invalid(say(
            auth.lang,
            "Berkas ini tidak berisi `sop` (pustaka potongan di-deploy bersama SOP yang memakainya).",
            "This file holds no `sop` (fragment libraries are deployed with the SOPs that use them).",
        ))),
        Some(report) if report.refused.is_some() => {
            let rendered = match auth.lang {
                Lang::Id => &report.rendered_id,
                Lang::En => &report.rendered_en,
            };
            let detail = match &report.refused {
                Some(why) if report.errors == 0 => why.clone(),
                _ => rendered.clone(),
            };
            Err(Problem::invalid(detail).with("report", serde_json::to_value(&report).unwrap_or_default()))
        }
        Some(report) => Ok((StatusCode::CREATED, Json(report)).into_response()),
    }
}

#[utoipa::path(post, path = "/api/sops/reload", responses((status = 200, body = Vec<FileReport>), (status = 403, body = Problem)))]
pub async fn reload_sops(axum::extract::State(state): axum::extract::State<State>, auth: Auth) -> Response {
    let result = match require_admin(&auth) {
        Err(p) => Err(p),
        Ok(()) => Ok(Json(state.catalog.reload(&state.engine).await.files)),
    };
    audited(&state, &auth, "reload", "", result)
}

// ---------------------------------------------------------------- cases

/// May this user see this case? Admins and analysts see every case; an applicant their own;
/// staff the cases of SOPs they hold an actor role in.
pub fn can_see(user: &User, state: &CaseState, d: &Deployed) -> bool {
    may_see(user, &state.applicant, d)
}

/// Whether `user` may see a case of `applicant` on SOP `d` (the rule of [`can_see`]).
fn may_see(user: &User, applicant: &str, d: &Deployed) -> bool {
    if user.is_analyst() || (user.is_applicant() && applicant == user.name) {
        return true;
    }
    let actors = user.actors();
    d.sop.actors.iter().any(|a| actors.contains(&a.id.name))
}

/// The actor roles a user works a case as: their staff roles, and the SOP's applicant actors
/// when the case is their own application.
pub fn caller_for(user: &User, state: &CaseState, d: &Deployed) -> Caller {
    roles_on(user, &state.applicant, d)
}

fn roles_on(user: &User, applicant: &str, d: &Deployed) -> Caller {
    let mut roles = user.actors();
    if user.is_applicant() && applicant == user.name {
        roles.extend(d.sop.actors.iter().filter(|a| a.kind == ActorKind::Applicant).map(|a| a.id.name.clone()));
    }
    Caller::with_roles(user.name.as_str(), roles)
}

/// The actor roles a user works a case as, for a command on it, and the case's deployment;
/// the case must be visible to them (404 otherwise). Reads no events: who may act depends
/// only on the case's identity.
pub async fn caller_on(
    state: &State,
    user: &User,
    case: CaseId,
    lang: Lang,
) -> Result<(Caller, Arc<Deployed>), Problem> {
    let identity = state.engine.identity(case).await.map_err(|e| Problem::runtime(&e, lang))?;
    let d = state
        .engine
        .deployment(&identity.sop, Some(identity.version))
        .and_then(|d| {
            d.variant(identity.variant.as_deref()).ok_or_else(|| crate::runtime::RuntimeError::UnknownVariant {
                sop: identity.sop.clone(),
                variant: identity.variant.clone(),
                allowed: Vec::new(),
            })
        })
        .map_err(|e| Problem::runtime(&e, lang))?;
    if !may_see(user, &identity.applicant, &d) {
        return Err(Problem::runtime(&RuntimeError::UnknownCase(case), lang));
    }
    Ok((roles_on(user, &identity.applicant, &d), d))
}

/// Loads a case the user may see (404 otherwise: not even its existence is told).
pub async fn visible_case(
    state: &State,
    user: &User,
    case: CaseId,
    lang: Lang,
) -> Result<(CaseState, Arc<Deployed>), Problem> {
    let loaded = state.engine.load(case).await.map_err(|e| Problem::runtime(&e, lang))?;
    let d = state.engine.case_deployment(&loaded).map_err(|e| Problem::runtime(&e, lang))?;
    if !can_see(user, &loaded, &d) {
        return Err(Problem::runtime(&RuntimeError::UnknownCase(case), lang));
    }
    Ok((loaded, d))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub by: String,
    /// The event type: `task_opened`, `task_completed`, `rework_started`...
    pub kind: String,
    pub task: Option<u32>,
    pub step: Option<String>,
    /// The actor (desk) that holds the file after this event, when it moved.
    pub desk: Option<String>,
    pub outcome: Option<String>,
    pub note: Option<String>,
    /// One line for people, in the requested language.
    pub text: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseOut {
    pub id: String,
    pub sop: String,
    pub sop_title: String,
    pub version: u32,
    /// The service variant, for an SOP that has them (`sop_title` names it too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub applicant: String,
    pub status: String,
    pub end: Option<String>,
    pub started: DateTime<Utc>,
    pub closed: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    /// Open tasks, due instants, the service clock(s) and their SLA state, time per step.
    #[schema(value_type = Object)]
    pub view: serde_json::Value,
    /// Where the file is now: the desks of the open tasks, and since when.
    pub desks: Vec<Desk>,
    /// The promised date (the service standard, or the stated total).
    pub promised: Option<DateTime<Utc>>,
    /// The completion date the applicant was told at intake (`tanggal_selesai` in the SOP).
    pub completion_date: Option<DateTime<Utc>>,
    /// When the applicant was served (`dilayani` in the SOP), while the office may still be
    /// archiving.
    pub served: Option<DateTime<Utc>>,
    pub sla: Option<String>,
    /// The task the case waits on (`penangguhan`): since when, until when at the latest (the
    /// step's maximum hold) and what the office waits for.
    #[schema(value_type = Option<Object>)]
    pub on_hold: Option<crate::runtime::view::HoldView>,
    pub timeline: Vec<TimelineEntry>,
    pub attachments: Vec<AttachmentOut>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Desk {
    pub actor: String,
    pub label: String,
    pub step: String,
    pub task: u32,
    pub since: DateTime<Utc>,
    /// None when the SOP states no time for the step.
    pub due: Option<DateTime<Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AttachmentOut {
    pub index: usize,
    pub artifact: String,
    pub label: String,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
    pub task: Option<u32>,
    pub at: DateTime<Utc>,
    pub by: String,
}

pub fn sla_word(sla: Sla) -> &'static str {
    match sla {
        Sla::OnTime => "on_time",
        Sla::DueSoon => "due_soon",
        Sla::Overdue => "overdue",
        Sla::Met => "met",
        Sla::Missed => "missed",
    }
}

pub fn status_word(status: CaseStatus) -> &'static str {
    status.word()
}

pub async fn case_out(state: &State, case: &CaseState, d: &Deployed, lang: Lang) -> Result<CaseOut, Problem> {
    let now = state.engine.now();
    let v = view(case, d, now);
    let history = state.engine.history(case.id).await.map_err(|e| Problem::runtime(&e, lang))?;
    let label = |actor: &str| d.sop.actor(actor).map(|a| a.label.clone()).unwrap_or_else(|| actor.to_string());
    let mut step_of: BTreeMap<TaskNo, String> = BTreeMap::new();
    let mut timeline = Vec::new();
    for r in &history {
        let (kind, task, step, desk, outcome, note, text) = describe(&r.event, &mut step_of, d, lang);
        let _ = &label;
        timeline.push(TimelineEntry {
            at: r.at,
            by: r.by.to_string(),
            kind: kind.to_string(),
            task,
            step,
            desk,
            outcome,
            note,
            text,
        });
    }
    let desks = case
        .tasks
        .values()
        .filter(|t| t.status == TaskStatus::Open)
        .flat_map(|t| {
            t.actors.iter().map(|a| Desk {
                actor: a.to_string(),
                label: label(a),
                step: t.step.to_string(),
                task: t.no,
                since: t.opened,
                due: t.due,
            })
        })
        .collect();
    let attachments = case
        .attachments
        .iter()
        .enumerate()
        .map(|(index, a)| AttachmentOut {
            index,
            artifact: a.file.artifact.clone(),
            label: d.sop.artifact(&a.file.artifact).map(|x| x.label.clone()).unwrap_or_default(),
            name: a.file.name.clone(),
            media_type: a.file.media_type.clone(),
            size: a.file.size,
            sha256: a.file.sha256.clone(),
            task: a.file.task,
            at: a.at,
            by: a.by.clone(),
        })
        .collect();
    let fields: serde_json::Map<String, serde_json::Value> =
        case.fields.iter().map(|(k, v)| (k.clone(), crate::runtime::fields::to_json(v))).collect();
    Ok(CaseOut {
        id: case.id.to_string(),
        sop: case.sop.clone(),
        sop_title: d.sop.title.clone(),
        version: case.version,
        variant: case.variant.clone(),
        applicant: case.applicant.clone(),
        status: status_word(case.status).to_string(),
        end: case.end.clone(),
        started: case.started,
        closed: case.closed,
        fields: serde_json::Value::Object(fields),
        promised: v.case_due.as_ref().and_then(|c| c.due),
        completion_date: v.completion_date,
        served: v.served,
        sla: v.case_due.as_ref().and_then(|c| c.sla).map(|s| sla_word(s).to_string()),
        on_hold: v.on_hold.clone(),
        view: serde_json::to_value(&v).unwrap_or_default(),
        desks,
        timeline,
        attachments,
    })
}

type Described = (&'static str, Option<u32>, Option<String>, Option<String>, Option<String>, Option<String>, String);

/// One event as a line of the parcel-tracker timeline.
fn describe(event: &Event, step_of: &mut BTreeMap<TaskNo, String>, d: &Deployed, lang: Lang) -> Described {
    let step_text = |step: &str| {
        d.sop
            .step(step)
            .map(|s| format!("{} {}", s.numbered(), first_line(&s.activity)))
            .unwrap_or_else(|| step.to_string())
    };
    let label = |actor: &str| d.sop.actor(actor).map(|a| a.label.clone()).unwrap_or_else(|| actor.to_string());
    match event {
        Event::CaseStarted { applicant, .. } => (
            "case_started",
            None,
            None,
            None,
            None,
            None,
            say(
                lang,
                &format!("Permohonan diajukan oleh {applicant}"),
                &format!("Application submitted by {applicant}"),
            ),
        ),
        Event::TaskOpened { task, step, actors, .. } => {
            step_of.insert(*task, step.to_string());
            let desks = actors.iter().map(|a| label(a)).collect::<Vec<_>>().join(" / ");
            (
                "task_opened",
                Some(*task),
                Some(step.to_string()),
                Some(actors.join(",")),
                None,
                None,
                say(
                    lang,
                    &format!("Berkas di {desks}: {}", step_text(step)),
                    &format!("File at {desks}: {}", step_text(step)),
                ),
            )
        }
        Event::StepSkipped { step } => (
            "step_skipped",
            None,
            Some(step.clone()),
            None,
            None,
            None,
            say(lang, &format!("Dilewati: {}", step_text(step)), &format!("Skipped: {}", step_text(step))),
        ),
        Event::TaskClaimed { task, user } => (
            "task_claimed",
            Some(*task),
            step_of.get(task).cloned(),
            None,
            None,
            None,
            say(lang, &format!("Diambil oleh {user}"), &format!("Taken by {user}")),
        ),
        Event::TaskReleased { task, user } => (
            "task_released",
            Some(*task),
            step_of.get(task).cloned(),
            None,
            None,
            None,
            say(lang, &format!("Dilepas oleh {user}"), &format!("Released by {user}")),
        ),
        Event::TaskCompleted { task, outcome, note, .. } => {
            let step = step_of.get(task).cloned();
            let what = step.as_deref().map(step_text).unwrap_or_default();
            let outcome_text = outcome.as_deref().map(|o| format!(": {o}")).unwrap_or_default();
            (
                "task_completed",
                Some(*task),
                step,
                None,
                outcome.clone(),
                note.clone(),
                say(lang, &format!("Selesai {what}{outcome_text}"), &format!("Done {what}{outcome_text}")),
            )
        }
        Event::ReworkStarted { task, outcome, round, .. } => (
            "rework_started",
            Some(*task),
            step_of.get(task).cloned(),
            None,
            Some(outcome.clone()),
            None,
            say(
                lang,
                &format!("Dikembalikan ke pemohon untuk dilengkapi (putaran {round})"),
                &format!("Returned to the applicant for completion (round {round})"),
            ),
        ),
        Event::ArtifactAttached(attached) => (
            "artifact_attached",
            None,
            None,
            None,
            None,
            None,
            say(
                lang,
                &format!("Dokumen dilampirkan: {} ({})", attached.artifact, attached.name),
                &format!("Document attached: {} ({})", attached.artifact, attached.name),
            ),
        ),
        Event::DeadlinePassed { task } => (
            "deadline_passed",
            Some(*task),
            step_of.get(task).cloned(),
            None,
            None,
            None,
            say(lang, "Batas waktu langkah terlewati", "The step's time ran out"),
        ),
        Event::TaskEscalated { task, to } => (
            "task_escalated",
            Some(*task),
            step_of.get(task).cloned(),
            Some(to.clone()),
            None,
            None,
            say(lang, &format!("Dieskalasi ke {}", label(to)), &format!("Escalated to {}", label(to))),
        ),
        Event::TaskHeld { task, reason, until } => {
            let until = until.with_timezone(&d.calendar.time_zone()).format("%Y-%m-%d %H:%M");
            (
                "task_held",
                Some(*task),
                step_of.get(task).cloned(),
                None,
                None,
                Some(reason.clone()),
                say(
                    lang,
                    &format!("Ditangguhkan (paling lama sampai {until}): {reason}"),
                    &format!("On hold (at most until {until}): {reason}"),
                ),
            )
        }
        Event::TaskResumed { task, .. } => (
            "task_resumed",
            Some(*task),
            step_of.get(task).cloned(),
            None,
            None,
            None,
            say(lang, "Dilanjutkan setelah penangguhan", "Resumed after the hold"),
        ),
        Event::HoldExpired { task } => (
            "hold_expired",
            Some(*task),
            step_of.get(task).cloned(),
            None,
            None,
            None,
            say(lang, "Penangguhan melewati batas waktunya", "The hold lasted longer than allowed"),
        ),
        Event::CaseEnded { end } => ("case_ended", None, None, None, Some(end.clone()), None, {
            let label = d.sop.end(end).map(|e| e.label.clone()).unwrap_or_else(|| end.clone());
            say(lang, &format!("Selesai: {label}"), &format!("Finished: {label}"))
        }),
        Event::CaseWithdrawn { reason } => (
            "case_withdrawn",
            None,
            None,
            None,
            None,
            reason.clone(),
            say(lang, "Permohonan ditarik", "Application withdrawn"),
        ),
        Event::CaseCancelled { reason } => (
            "case_cancelled",
            None,
            None,
            None,
            None,
            reason.clone(),
            say(lang, "Permohonan dibatalkan", "Application cancelled"),
        ),
        other => {
            let kind = serde_json::to_value(other)
                .ok()
                .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
                .unwrap_or_default();
            ("other", None, None, None, None, None, kind)
        }
    }
}

pub fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() > 90 {
        format!("{}…", line.chars().take(89).collect::<String>())
    } else {
        line.to_string()
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StartRequest {
    pub sop: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// The entry step, where the SOP offers a choice (counter or online).
    pub entry: Option<String>,
    /// The service variant, for an SOP that has them (`variants` of the SOP: baru, perpanjangan).
    #[serde(default)]
    pub variant: Option<String>,
    /// Staff starting a case at the counter name the applicant; applicants apply for themselves.
    pub applicant: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Started {
    pub id: String,
}

#[utoipa::path(post, path = "/api/cases", request_body = StartRequest,
    responses((status = 201, body = Started), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn start_case(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiJson(request): ApiJson<StartRequest>,
) -> Response {
    let target = request.sop.clone();
    let result = start(&state, &auth.user, request, auth.lang)
        .await
        .map(|id| (StatusCode::CREATED, Json(Started { id: id.to_string() })));
    audited(&state, &auth, "start", &target, result)
}

pub async fn start(state: &State, user: &User, request: StartRequest, lang: Lang) -> Result<CaseId, Problem> {
    let d = state.engine.deployment(&request.sop, None).map_err(|e| Problem::runtime(&e, lang))?;
    let applicant = if user.is_applicant() {
        match &request.applicant {
            Some(other) if other != &user.name && !user.is_staff() => {
                return Err(Problem::forbidden(
                    lang,
                    "Pemohon hanya dapat mengajukan atas namanya sendiri.",
                    "An applicant applies only in their own name.",
                ))
            }
            Some(other) => other.clone(),
            None => user.name.clone(),
        }
    } else if user.is_staff() && d.sop.actors.iter().any(|a| user.actors().contains(&a.id.name)) {
        match &request.applicant {
            Some(name) if !name.trim().is_empty() => name.trim().to_string(),
            _ => {
                return Err(Problem::invalid(say(
                    lang,
                    "Sebutkan nama pemohon (`applicant`) untuk permohonan di loket.",
                    "Name the applicant (`applicant`) for an application at the counter.",
                )))
            }
        }
    } else {
        return Err(Problem::forbidden(
            lang,
            "Hanya pemohon dan petugas SOP ini yang dapat memulai permohonan.",
            "Only applicants and this SOP's staff can start an application.",
        ));
    };
    let fields = crate::runtime::fields::from_json(&d.sop, &request.fields).map_err(|e| Problem::runtime(&e, lang))?;
    state
        .engine
        .start_case_of(&request.sop, request.variant.as_deref(), &applicant, fields, request.entry.as_deref())
        .await
        .map_err(|e| Problem::runtime(&e, lang))
}

#[derive(Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    pub sop: Option<String>,
    /// `active`, `ended`, `withdrawn`, `cancelled`.
    pub status: Option<String>,
    pub applicant: Option<String>,
    /// Only cases with an overdue task or an overdue service clock.
    pub overdue: Option<bool>,
    /// At most this many (newest first); default 200.
    pub limit: Option<usize>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseRow {
    pub id: String,
    pub sop: String,
    pub sop_title: String,
    pub applicant: String,
    pub status: String,
    pub started: DateTime<Utc>,
    pub desks: Vec<String>,
    pub promised: Option<DateTime<Utc>>,
    pub sla: Option<String>,
    pub overdue: bool,
    /// A task of the case stands on hold (`penangguhan`): the office waits.
    pub on_hold: bool,
}

#[utoipa::path(get, path = "/api/cases", params(CaseFilter),
    responses((status = 200, body = Vec<CaseRow>), (status = 401, body = Problem)))]
pub async fn list_cases(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiQuery(filter): ApiQuery<CaseFilter>,
) -> Result<Json<Vec<CaseRow>>, Problem> {
    cases_for(&state, &auth.user, &filter, auth.lang).await.map(Json)
}

pub async fn cases_for(state: &State, user: &User, filter: &CaseFilter, lang: Lang) -> Result<Vec<CaseRow>, Problem> {
    let now = state.engine.now();
    let mut ids = state.engine.store().case_ids().await.map_err(Problem::internal)?;
    // UUID v7: newest last.
    ids.sort();
    ids.reverse();
    let limit = filter.limit.unwrap_or(200).min(5000);
    let mut rows = Vec::new();
    for id in ids {
        if rows.len() >= limit {
            break;
        }
        let Ok(case) = state.engine.load(id).await else { continue };
        if filter.sop.as_ref().is_some_and(|s| s != &case.sop)
            || filter.status.as_ref().is_some_and(|s| s != case.status.word())
            || filter.applicant.as_ref().is_some_and(|a| a != &case.applicant)
        {
            continue;
        }
        let Ok(d) = state.engine.case_deployment(&case) else { continue };
        if !can_see(user, &case, &d) {
            continue;
        }
        let v = view(&case, &d, now);
        let overdue = v.open_tasks.iter().any(|t| t.sla == Some(Sla::Overdue))
            || v.case_due.as_ref().and_then(|c| c.sla).is_some_and(|s| matches!(s, Sla::Overdue | Sla::Missed));
        if filter.overdue == Some(true) && !overdue {
            continue;
        }
        let _ = lang;
        rows.push(CaseRow {
            id: case.id.to_string(),
            sop: case.sop.clone(),
            sop_title: d.sop.title.clone(),
            applicant: case.applicant.clone(),
            status: case.status.word().to_string(),
            started: case.started,
            desks: v
                .open_tasks
                .iter()
                .flat_map(|t| t.actors.iter().map(|a| d.sop.actor(a).map(|x| x.label.clone()).unwrap_or(a.clone())))
                .collect(),
            promised: v.case_due.as_ref().and_then(|c| c.due),
            sla: v.case_due.as_ref().and_then(|c| c.sla).map(|s| sla_word(s).to_string()),
            overdue,
            on_hold: v.on_hold.is_some(),
        });
    }
    Ok(rows)
}

#[utoipa::path(get, path = "/api/cases/{case}", params(("case" = String, Path)),
    responses((status = 200, body = CaseOut), (status = 404, body = Problem)))]
pub async fn get_case(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(case): Path<String>,
) -> Result<Json<CaseOut>, Problem> {
    let case = parse_case(&case, auth.lang)?;
    let (loaded, d) = visible_case(&state, &auth.user, case, auth.lang).await?;
    case_out(&state, &loaded, &d, auth.lang).await.map(Json)
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct ReasonRequest {
    pub reason: Option<String>,
}

/// An optional JSON body `{"reason": "..."}`.
fn reason_of(body: &[u8]) -> Result<Option<String>, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice::<ReasonRequest>(body)
        .map(|r| r.reason.filter(|r| !r.trim().is_empty()))
        .map_err(|e| Problem::bad_request(e.to_string()))
}

#[utoipa::path(post, path = "/api/cases/{case}/withdraw", params(("case" = String, Path)), request_body = ReasonRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn withdraw_case(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(case): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let target = case.clone();
    let result = async {
        let case = parse_case(&case, auth.lang)?;
        let (loaded, _) = visible_case(&state, &auth.user, case, auth.lang).await?;
        if !(auth.user.is_applicant() && loaded.applicant == auth.user.name) {
            return Err(Problem::forbidden(
                auth.lang,
                "Hanya pemohonnya yang dapat menarik permohonan.",
                "Only its applicant can withdraw an application.",
            ));
        }
        let reason = reason_of(&body)?;
        state
            .engine
            .withdraw(case, &Caller::new(auth.user.name.clone(), &[]), reason)
            .await
            .map_err(|e| Problem::runtime(&e, auth.lang))?;
        Ok(StatusCode::NO_CONTENT)
    }
    .await;
    audited(&state, &auth, "withdraw", &target, result)
}

#[utoipa::path(post, path = "/api/cases/{case}/cancel", params(("case" = String, Path)), request_body = ReasonRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel_case(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(case): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let target = case.clone();
    let result = async {
        require_admin(&auth)?;
        let case = parse_case(&case, auth.lang)?;
        let reason = reason_of(&body)?;
        state
            .engine
            .cancel(case, &Caller::new(auth.user.name.clone(), &[]), reason)
            .await
            .map_err(|e| Problem::runtime(&e, auth.lang))?;
        Ok(StatusCode::NO_CONTENT)
    }
    .await;
    audited(&state, &auth, "cancel", &target, result)
}

#[utoipa::path(post, path = "/api/cases/{case}/artifacts", params(("case" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "`artifact` (the document id), optional `task`, and `file`: a PDF, PNG, JPEG, docx, xlsx or plain text file whose content matches its declared type (else 422, with `allowed_types`)"),
    responses((status = 201), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload_artifact(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(case): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let target = case.clone();
    let result = async {
        let case = parse_case(&case, auth.lang)?;
        let multipart = multipart.map_err(|e| Problem::bad_request(e.body_text()))?;
        let upload = read_upload(multipart, auth.lang).await?;
        attach_upload(&state, &auth.user, case, upload, auth.lang).await?;
        Ok(StatusCode::CREATED)
    }
    .await;
    audited(&state, &auth, "attach", &target, result)
}

pub struct Upload {
    pub artifact: String,
    pub task: Option<TaskNo>,
    pub name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

pub async fn read_upload(mut multipart: Multipart, lang: Lang) -> Result<Upload, Problem> {
    let mut artifact = None;
    let mut task = None;
    let mut file = None;
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                say(lang, "Berkas lebih besar dari 10 MiB.", "The file is larger than 10 MiB."),
            )
        } else {
            Problem::bad_request(e.body_text())
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        match field.name().unwrap_or("") {
            "artifact" => artifact = Some(field.text().await.map_err(too_large)?),
            "task" => {
                let text = field.text().await.map_err(too_large)?;
                if !text.trim().is_empty() {
                    task = Some(text.trim().parse::<TaskNo>().map_err(|_| {
                        Problem::invalid(say(lang, "`task` harus nomor tugas.", "`task` must be a task number."))
                    })?);
                }
            }
            "file" => {
                let name = field.file_name().unwrap_or("dokumen").to_string();
                let media_type = field.content_type().unwrap_or("application/octet-stream").to_string();
                let bytes = field.bytes().await.map_err(too_large)?;
                file = Some((name, media_type, bytes.to_vec()));
            }
            _ => {}
        }
    }
    let Some(artifact) = artifact.filter(|a| !a.trim().is_empty()) else {
        return Err(Problem::invalid(say(lang, "Pilih dokumennya (`artifact`).", "Choose the document (`artifact`).")));
    };
    let Some((name, media_type, bytes)) = file.filter(|f| !f.2.is_empty()) else {
        return Err(Problem::invalid(say(lang, "Lampirkan berkasnya (`file`).", "Attach the file (`file`).")));
    };
    Ok(Upload { artifact: artifact.trim().to_string(), task, name, media_type, bytes })
}

pub async fn attach_upload(
    state: &State,
    user: &User,
    case: CaseId,
    upload: Upload,
    lang: Lang,
) -> Result<(), Problem> {
    let (loaded, d) = visible_case(state, user, case, lang).await?;
    let caller = caller_for(user, &loaded, &d);
    if caller.roles.is_empty() {
        return Err(Problem::forbidden(
            lang,
            "Hanya pemohonnya dan petugas yang dapat melampirkan dokumen.",
            "Only its applicant and staff can attach documents.",
        ));
    }
    state
        .engine
        .attach(
            case,
            upload.task,
            &caller,
            &upload.artifact,
            &upload.name,
            &upload.media_type,
            Attachment::Bytes(upload.bytes),
        )
        .await
        .map_err(|e| Problem::runtime(&e, lang))
}

#[utoipa::path(get, path = "/api/cases/{case}/artifacts/{index}", params(("case" = String, Path), ("index" = usize, Path)),
    responses((status = 200, description = "The document's bytes, checked against their hash, as an attachment: with the stored type when it is allowed and the bytes match it, else `application/octet-stream`"), (status = 404, body = Problem)))]
pub async fn download_artifact(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((case, index)): ApiPath<(String, usize)>,
) -> Result<Response, Problem> {
    let case = parse_case(&case, auth.lang)?;
    let (loaded, _) = visible_case(&state, &auth.user, case, auth.lang).await?;
    let Some(a) = loaded.attachments.get(index) else {
        return Err(Problem::not_found(auth.lang, &say(auth.lang, "Dokumen", "The document")));
    };
    if let crate::runtime::event::Storage::Reference { uri } = &a.file.storage {
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, uri.clone())]).into_response());
    }
    let bytes = state.engine.document(&a.file).await.map_err(|e| Problem::runtime(&e, auth.lang))?;
    // Its stored type only when allowed and its bytes match it; always as a download.
    let served = crate::runtime::media::served_type(&a.file.media_type, &bytes);
    let disposition = format!("attachment; filename=\"{}\"", a.file.name.replace(['"', '\\', '\r', '\n'], "_"));
    Ok(([(header::CONTENT_TYPE, served.to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}

// ---------------------------------------------------------------- tasks

#[derive(Serialize, utoipa::ToSchema)]
pub struct InboxItem {
    pub case: String,
    pub task: u32,
    pub sop: String,
    pub sop_title: String,
    pub step: String,
    pub number: String,
    pub activity: String,
    pub actors: Vec<String>,
    pub applicant: String,
    pub opened: DateTime<Utc>,
    /// None when the SOP states no time for the step (its `sla` is `no_deadline`).
    pub due: Option<DateTime<Utc>>,
    /// Working minutes until due; negative when overdue; none without a due date.
    pub working_minutes_left: Option<i64>,
    pub sla: String,
    pub claimed_by: Option<String>,
    pub outcomes: Vec<String>,
}

#[utoipa::path(get, path = "/api/tasks", responses((status = 200, body = Vec<InboxItem>), (status = 401, body = Problem)))]
pub async fn inbox(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
) -> Result<Json<Vec<InboxItem>>, Problem> {
    inbox_for(&state, &auth.user, auth.lang).await.map(Json)
}

/// The open tasks of the user's actor roles, and of their own applications' applicant steps.
pub async fn inbox_for(state: &State, user: &User, lang: Lang) -> Result<Vec<InboxItem>, Problem> {
    let now = state.engine.now();
    let mut roles = user.actors();
    let applicant_roles: Vec<String> = if user.is_applicant() {
        state
            .engine
            .deployments()
            .iter()
            .flat_map(|d| d.sop.actors.iter().filter(|a| a.kind == ActorKind::Applicant).map(|a| a.id.name.clone()))
            .collect()
    } else {
        Vec::new()
    };
    roles.extend(applicant_roles.iter().cloned());
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        return Ok(Vec::new());
    }
    let tasks = state.engine.inbox(&roles).await.map_err(|e| Problem::runtime(&e, lang))?;
    let mut out = Vec::new();
    for t in tasks {
        let Ok(case) = state.engine.load(t.case).await else { continue };
        let staff_match = t.actors.iter().any(|a| user.actors().iter().any(|r| **r == **a));
        if !staff_match && case.applicant != user.name {
            continue;
        }
        let Ok(d) = state.engine.case_deployment(&case) else { continue };
        let step = d.sop.step(&t.step);
        let cal = &d.calendar;
        let left = t.due.map(|due| {
            if now <= due {
                cal.working_minutes_between(now, due) as i64
            } else {
                -(cal.working_minutes_between(due, now) as i64)
            }
        });
        let opened = case.tasks.get(&t.task).map(|x| x.opened).unwrap_or(now);
        let sla = crate::runtime::view::view(&case, &d, now)
            .open_tasks
            .iter()
            .find(|x| x.task == t.task)
            .map(|x| x.sla.map_or("no_deadline", sla_word))
            .unwrap_or("on_time");
        out.push(InboxItem {
            case: t.case.to_string(),
            task: t.task,
            sop: case.sop.clone(),
            sop_title: d.sop.title.clone(),
            step: t.step.to_string(),
            number: step.map(|s| s.numbered()).unwrap_or_default(),
            activity: step.map(|s| s.activity.clone()).unwrap_or_default(),
            actors: t.actors.iter().map(|a| a.to_string()).collect(),
            applicant: case.applicant.clone(),
            opened,
            due: t.due,
            working_minutes_left: left,
            sla: sla.to_string(),
            claimed_by: t.claimed_by.clone(),
            outcomes: step
                .and_then(|s| s.decision.as_ref())
                .map(|dec| dec.outcomes.iter().map(|o| o.name.name.clone()).collect())
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

async fn task_command(
    state: &State,
    auth: &Auth,
    case: &str,
    run: impl AsyncFnOnce(CaseId, Caller) -> Result<(), RuntimeError>,
) -> Result<StatusCode, Problem> {
    let case = parse_case(case, auth.lang)?;
    let (caller, _) = caller_on(state, &auth.user, case, auth.lang).await?;
    run(case, caller).await.map_err(|e| Problem::runtime(&e, auth.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/cases/{case}/tasks/{task}/claim", params(("case" = String, Path), ("task" = u32, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn claim_task(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((case, task)): ApiPath<(String, TaskNo)>,
) -> Response {
    let engine = state.engine.clone();
    let result = task_command(&state, &auth, &case, async |c, caller| engine.claim(c, task, &caller).await).await;
    audited(&state, &auth, "claim", &format!("{case}/{task}"), result)
}

#[utoipa::path(post, path = "/api/cases/{case}/tasks/{task}/release", params(("case" = String, Path), ("task" = u32, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn release_task(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((case, task)): ApiPath<(String, TaskNo)>,
) -> Response {
    let engine = state.engine.clone();
    let result = task_command(&state, &auth, &case, async |c, caller| engine.release(c, task, &caller).await).await;
    audited(&state, &auth, "release", &format!("{case}/{task}"), result)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct HoldRequest {
    /// What the office waits for (the applicant's missing document, another agency's answer).
    pub reason: String,
}

#[utoipa::path(post, path = "/api/cases/{case}/tasks/{task}/hold", params(("case" = String, Path), ("task" = u32, Path)),
    request_body = HoldRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
/// Puts a task on hold (`penangguhan`): its deadline and the service clock stand still, at most
/// as long as the step allows; then the case goes where the SOP says.
pub async fn hold_task(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((case, task)): ApiPath<(String, TaskNo)>,
    ApiJson(request): ApiJson<HoldRequest>,
) -> Response {
    let result =
        hold(&state, &auth.user, &case, task, &request.reason, auth.lang).await.map(|()| StatusCode::NO_CONTENT);
    audited(&state, &auth, "hold", &format!("{case}/{task}"), result)
}

/// Puts a task on hold for the API and the web page: a reason is required.
pub async fn hold(
    state: &State,
    user: &User,
    case: &str,
    task: TaskNo,
    reason: &str,
    lang: Lang,
) -> Result<(), Problem> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Problem::invalid(say(
            lang,
            "Tuliskan alasan penangguhan: apa yang ditunggu (dokumen pemohon, jawaban instansi lain).",
            "Give the reason for the hold: what the office waits for (the applicant's document, another agency's answer).",
        ))
        .with("field", "reason".into()));
    }
    let case = parse_case(case, lang)?;
    let (caller, _) = caller_on(state, user, case, lang).await?;
    state.engine.hold(case, task, &caller, reason).await.map_err(|e| Problem::runtime(&e, lang))
}

#[utoipa::path(post, path = "/api/cases/{case}/tasks/{task}/resume", params(("case" = String, Path), ("task" = u32, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
/// Takes a task off hold: it is open again with the time it had left.
pub async fn resume_task(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((case, task)): ApiPath<(String, TaskNo)>,
) -> Response {
    let engine = state.engine.clone();
    let result = task_command(&state, &auth, &case, async |c, caller| engine.resume(c, task, &caller).await).await;
    audited(&state, &auth, "resume", &format!("{case}/{task}"), result)
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct CompleteRequest {
    /// The decision's outcome, for a step that decides (`diterima`, `ditolak`...).
    pub outcome: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/cases/{case}/tasks/{task}/complete", params(("case" = String, Path), ("task" = u32, Path)),
    request_body = CompleteRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn complete_task(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiPath((case, task)): ApiPath<(String, TaskNo)>,
    ApiJson(request): ApiJson<CompleteRequest>,
) -> Response {
    let result = complete(&state, &auth.user, &case, task, request, auth.lang).await.map(|()| StatusCode::NO_CONTENT);
    audited(&state, &auth, "complete", &format!("{case}/{task}"), result)
}

pub async fn complete(
    state: &State,
    user: &User,
    case: &str,
    task: TaskNo,
    request: CompleteRequest,
    lang: Lang,
) -> Result<(), Problem> {
    let case = parse_case(case, lang)?;
    let (caller, d) = caller_on(state, user, case, lang).await?;
    let fields = crate::runtime::fields::from_json(&d.sop, &request.fields).map_err(|e| Problem::runtime(&e, lang))?;
    let note = request.note.filter(|n| !n.trim().is_empty());
    let outcome = request.outcome.filter(|o| !o.trim().is_empty());
    state
        .engine
        .complete(case, task, &caller, Completion { outcome, fields, note })
        .await
        .map_err(|e| Problem::runtime(&e, lang))
}

// ---------------------------------------------------------------- reports

#[derive(Serialize, utoipa::ToSchema, Default, Clone)]
pub struct ReportRow {
    pub sop: String,
    /// The step id (per-step report) or the actor id (per-actor report).
    pub key: String,
    pub label: String,
    pub open: u64,
    pub completed: u64,
    /// Tasks past their due instant: open ones now overdue and completed ones finished late.
    pub overdue: u64,
    /// Mean working minutes from opening to completion (completed tasks).
    pub mean_minutes: f64,
    /// The step's standard (per-step report; for actors the mean standard of their tasks).
    pub standard_minutes: f64,
}

fn require_analyst(auth: &Auth) -> Result<(), Problem> {
    if auth.user.is_analyst() {
        Ok(())
    } else {
        Err(Problem::forbidden(
            auth.lang,
            "Hanya analis dan admin yang membaca laporan.",
            "Only analysts and admins read reports.",
        ))
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    pub sop: Option<String>,
}

#[utoipa::path(get, path = "/api/reports/steps", params(ReportQuery),
    responses((status = 200, body = Vec<ReportRow>), (status = 403, body = Problem)))]
pub async fn report_steps(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Json<Vec<ReportRow>>, Problem> {
    require_analyst(&auth)?;
    report(&state, query.sop.as_deref(), false).await.map(Json)
}

#[utoipa::path(get, path = "/api/reports/actors", params(ReportQuery),
    responses((status = 200, body = Vec<ReportRow>), (status = 403, body = Problem)))]
pub async fn report_actors(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Json<Vec<ReportRow>>, Problem> {
    require_analyst(&auth)?;
    report(&state, query.sop.as_deref(), true).await.map(Json)
}

/// Counts and working time per step (or per actor) over every case.
pub async fn report(state: &State, sop: Option<&str>, by_actor: bool) -> Result<Vec<ReportRow>, Problem> {
    let now = state.engine.now();
    let ids = state.engine.store().case_ids().await.map_err(Problem::internal)?;
    // (sop, key) -> (row, total minutes, total standard, standard count)
    let mut rows: BTreeMap<(String, String), (ReportRow, u64, u64, u64)> = BTreeMap::new();
    for id in ids {
        let Ok(case) = state.engine.load(id).await else { continue };
        if sop.is_some_and(|s| s != case.sop) {
            continue;
        }
        let Ok(d) = state.engine.case_deployment(&case) else { continue };
        let cal = &d.calendar;
        for t in case.tasks.values() {
            let step = d.sop.step(&t.step);
            // A step whose SOP states no time has no standard to average in.
            let standard = step.and_then(|s| s.stated_duration()).map(|x| x.working_minutes(cal.day_length_minutes()));
            let keys: Vec<(String, String)> = if by_actor {
                t.actors
                    .iter()
                    .map(|a| (a.to_string(), d.sop.actor(a).map(|x| x.label.clone()).unwrap_or(a.to_string())))
                    .collect()
            } else {
                vec![(
                    t.step.to_string(),
                    step.map(|s| format!("{} {}", s.numbered(), first_line(&s.activity))).unwrap_or(t.step.to_string()),
                )]
            };
            for (key, label) in keys {
                let entry = rows.entry((case.sop.clone(), key.clone())).or_insert_with(|| {
                    (ReportRow { sop: case.sop.clone(), key, label, ..Default::default() }, 0, 0, 0)
                });
                if let Some(standard) = standard {
                    entry.2 += standard;
                    entry.3 += 1;
                }
                match t.status {
                    TaskStatus::Open => {
                        entry.0.open += 1;
                        if t.due.is_some_and(|due| now > due) {
                            entry.0.overdue += 1;
                        }
                    }
                    TaskStatus::Completed => {
                        entry.0.completed += 1;
                        let closed = t.closed.unwrap_or(now);
                        entry.1 += cal.working_minutes_between(t.opened, closed);
                        if t.due.is_some_and(|due| closed > due) {
                            entry.0.overdue += 1;
                        }
                    }
                    TaskStatus::Expired | TaskStatus::Cancelled => {}
                }
            }
        }
    }
    Ok(rows
        .into_values()
        .map(|(mut row, minutes, standard, count)| {
            if row.completed > 0 {
                row.mean_minutes = minutes as f64 / row.completed as f64;
            }
            if count > 0 {
                row.standard_minutes = standard as f64 / count as f64;
            }
            row
        })
        .collect())
}

// ---------------------------------------------------------------- users and audit

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserRequest {
    pub name: String,
    pub display: Option<String>,
    /// `admin`, `analyst`, `applicant`, or an actor id of the SOPs (`front_office`...).
    pub roles: Vec<String>,
    /// Required when creating; when updating, an admin's reset: the user must change it at
    /// their next sign-in.
    pub password: Option<String>,
    /// When creating: the user must change the password at their first sign-in (default false).
    pub must_change_password: Option<bool>,
}

fn parse_roles(roles: &[String], lang: Lang) -> Result<Vec<Role>, Problem> {
    let mut out = Vec::new();
    for role in roles {
        out.push(Role::parse(role).map_err(|e| Problem::invalid(say(lang, &format!("Peran tidak dikenal: {e}"), &e)))?);
    }
    if out.is_empty() {
        return Err(Problem::invalid(say(lang, "Berikan setidaknya satu peran.", "Give at least one role.")));
    }
    Ok(out)
}

/// The password policy ([`super::accounts::policy`]) on a password a person sets for `name`.
pub fn check_password(name: &str, password: &str, lang: Lang) -> Result<(), Problem> {
    match super::accounts::policy::weak_password(name, password) {
        None => Ok(()),
        Some(why) => Err(Problem::invalid(why.get(lang).to_string())),
    }
}

#[utoipa::path(get, path = "/api/users", responses((status = 200, body = Vec<Account>), (status = 403, body = Problem)))]
pub async fn list_users(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
) -> Result<Json<Vec<Account>>, Problem> {
    require_admin(&auth)?;
    state.accounts.accounts().await.map(Json).map_err(|e| Problem::account(&e, auth.lang))
}

#[utoipa::path(post, path = "/api/users", request_body = UserRequest,
    responses((status = 201, body = User), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiJson(request): ApiJson<UserRequest>,
) -> Response {
    let target = request.name.clone();
    let result = async {
        require_admin(&auth)?;
        let roles = parse_roles(&request.roles, auth.lang)?;
        let Some(password) = request.password.clone() else {
            return Err(Problem::invalid(say(auth.lang, "Kata sandi wajib diisi.", "A password is required.")));
        };
        check_password(&request.name, &password, auth.lang)?;
        let user = User {
            display: request.display.clone().unwrap_or(request.name.clone()),
            name: request.name.clone(),
            roles,
        };
        let must_change = request.must_change_password.unwrap_or(false);
        let made = user.clone();
        state
            .accounts
            .create_account(&made, &password, must_change)
            .await
            .map_err(|e| Problem::account(&e, auth.lang))?;
        Ok((StatusCode::CREATED, Json(user)))
    }
    .await;
    audited(&state, &auth, "user_create", &target, result)
}

#[utoipa::path(put, path = "/api/users/{name}", params(("name" = String, Path)), request_body = UserRequest,
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "The last admin would lose the admin role"), (status = 422, body = Problem)))]
pub async fn update_user(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<UserRequest>,
) -> Response {
    let result = async {
        require_admin(&auth)?;
        let roles = parse_roles(&request.roles, auth.lang)?;
        if let Some(password) = request.password.as_deref() {
            check_password(&name, password, auth.lang)?;
        }
        let user = User { display: request.display.clone().unwrap_or(name.clone()), name: name.clone(), roles };
        let (changed, password) = (user.clone(), request.password.clone());
        state.accounts.update_user(&changed, password.as_deref()).await.map_err(|e| Problem::account(&e, auth.lang))?;
        Ok(Json(user))
    }
    .await;
    audited(&state, &auth, "user_update", &name, result)
}

#[utoipa::path(delete, path = "/api/users/{name}", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "Oneself, or the last admin")))]
pub async fn delete_user(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    Path(name): Path<String>,
) -> Response {
    let result = async {
        require_admin(&auth)?;
        if name == auth.user.name {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                say(auth.lang, "Admin tidak dapat menghapus dirinya sendiri.", "An admin cannot delete themselves."),
            ));
        }
        let deleted = name.clone();
        state.accounts.delete_user(&deleted).await.map_err(|e| Problem::account(&e, auth.lang))?;
        Ok(StatusCode::NO_CONTENT)
    }
    .await;
    audited(&state, &auth, "user_delete", &name, result)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/audit", params(AuditQuery),
    responses((status = 200, body = Vec<super::accounts::AuditEntry>), (status = 403, body = Problem)))]
pub async fn audit_log(
    axum::extract::State(state): axum::extract::State<State>,
    auth: Auth,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<super::accounts::AuditEntry>>, Problem> {
    require_admin(&auth)?;
    state
        .accounts
        .audit_entries(query.limit.unwrap_or(200).min(10_000))
        .await
        .map(Json)
        .map_err(|e| Problem::account(&e, auth.lang))
}
