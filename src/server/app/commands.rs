//! The commands people give: start a case, work a task (claim, release, hold, resume,
//! complete), withdraw or cancel a case, attach a document, deploy or reload SOPs. Each checks
//! the policy (`super::policy`), asks the engine, and answers a value or a [`Problem`]; the
//! front ends record the answer in the audit log.

use serde::Deserialize;

use super::super::catalog::FileReport;
use super::super::problem::{say, Problem};
use super::policy::{self, caller_on, visible_case};
use super::Ctx;
use crate::diagnostic::Lang;
use crate::runtime::{Attachment, Caller, CaseId, Completion, TaskNo};

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

/// Starts a case: in the applicant's own name, or at the counter for a named applicant.
pub async fn start(ctx: &Ctx<'_>, request: StartRequest) -> Result<CaseId, Problem> {
    let (state, lang) = (ctx.state, ctx.lang);
    let d = state.engine.deployment(&request.sop, None).map_err(|e| Problem::runtime(&e, lang))?;
    let applicant = policy::applicant_for(ctx.user, &d.sop, request.applicant.as_deref(), lang)?;
    let fields = crate::runtime::fields::from_json(&d.sop, &request.fields).map_err(|e| Problem::runtime(&e, lang))?;
    state
        .engine
        .start_case_of(&request.sop, request.variant.as_deref(), &applicant, fields, request.entry.as_deref())
        .await
        .map_err(|e| Problem::runtime(&e, lang))
}

/// Takes a task (it is the caller's until released or completed).
pub async fn claim(ctx: &Ctx<'_>, case: CaseId, task: TaskNo) -> Result<(), Problem> {
    let (caller, _) = caller_on(ctx, case).await?;
    ctx.state.engine.claim(case, task, &caller).await.map_err(|e| Problem::runtime(&e, ctx.lang))
}

/// Gives a taken task back to its desk.
pub async fn release(ctx: &Ctx<'_>, case: CaseId, task: TaskNo) -> Result<(), Problem> {
    let (caller, _) = caller_on(ctx, case).await?;
    ctx.state.engine.release(case, task, &caller).await.map_err(|e| Problem::runtime(&e, ctx.lang))
}

/// Puts a task on hold (`penangguhan`): a reason is required.
pub async fn hold(ctx: &Ctx<'_>, case: CaseId, task: TaskNo, reason: &str) -> Result<(), Problem> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Problem::invalid(say(
            ctx.lang,
            "Tuliskan alasan penangguhan: apa yang ditunggu (dokumen pemohon, jawaban instansi lain).",
            "Give the reason for the hold: what the office waits for (the applicant's document, another agency's answer).",
        ))
        .with("field", "reason".into()));
    }
    let (caller, _) = caller_on(ctx, case).await?;
    ctx.state.engine.hold(case, task, &caller, reason).await.map_err(|e| Problem::runtime(&e, ctx.lang))
}

/// Takes a task off hold: it is open again with the time it had left.
pub async fn resume(ctx: &Ctx<'_>, case: CaseId, task: TaskNo) -> Result<(), Problem> {
    let (caller, _) = caller_on(ctx, case).await?;
    ctx.state.engine.resume(case, task, &caller).await.map_err(|e| Problem::runtime(&e, ctx.lang))
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

/// Completes a task with its decision, fields and note.
pub async fn complete(ctx: &Ctx<'_>, case: CaseId, task: TaskNo, request: CompleteRequest) -> Result<(), Problem> {
    let lang = ctx.lang;
    let (caller, d) = caller_on(ctx, case).await?;
    let fields = crate::runtime::fields::from_json(&d.sop, &request.fields).map_err(|e| Problem::runtime(&e, lang))?;
    let note = request.note.filter(|n| !n.trim().is_empty());
    let outcome = request.outcome.filter(|o| !o.trim().is_empty());
    ctx.state
        .engine
        .complete(case, task, &caller, Completion { outcome, fields, note })
        .await
        .map_err(|e| Problem::runtime(&e, lang))
}

/// The applicant withdraws their own application; a blank reason is none.
pub async fn withdraw(ctx: &Ctx<'_>, case: CaseId, reason: Option<String>) -> Result<(), Problem> {
    let (loaded, _) = visible_case(ctx, case).await?;
    policy::require_withdraw(ctx.user, &loaded.applicant, ctx.lang)?;
    let reason = reason.filter(|r| !r.trim().is_empty());
    ctx.state
        .engine
        .withdraw(case, &Caller::new(ctx.user.name.clone(), &[]), reason)
        .await
        .map_err(|e| Problem::runtime(&e, ctx.lang))
}

/// An admin cancels a case; a blank reason is none.
pub async fn cancel(ctx: &Ctx<'_>, case: CaseId, reason: Option<String>) -> Result<(), Problem> {
    policy::require_admin(ctx.user, ctx.lang)?;
    let reason = reason.filter(|r| !r.trim().is_empty());
    ctx.state
        .engine
        .cancel(case, &Caller::new(ctx.user.name.clone(), &[]), reason)
        .await
        .map_err(|e| Problem::runtime(&e, ctx.lang))
}

/// A document to attach, as a front end read it (`extract::read_upload`).
pub struct Upload {
    pub artifact: String,
    pub task: Option<TaskNo>,
    pub name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// Attaches a document to a case the user works (its applicant or its staff).
pub async fn attach(ctx: &Ctx<'_>, case: CaseId, upload: Upload) -> Result<(), Problem> {
    let (loaded, d) = visible_case(ctx, case).await?;
    let caller = policy::caller_for(ctx.user, &loaded, &d);
    policy::require_attach(&caller, ctx.lang)?;
    ctx.state
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
        .map_err(|e| Problem::runtime(&e, ctx.lang))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeployRequest {
    /// The file name under the SOP folder, e.g. `izin-reklame.sop`.
    pub file: String,
    /// The `.sop` text.
    pub source: String,
}

/// An admin's upload of one SOP file: checked like `alur check`, written to the SOP folder and
/// deployed only when clean; else 422 with the checker's report.
pub async fn deploy(ctx: &Ctx<'_>, request: DeployRequest) -> Result<FileReport, Problem> {
    policy::require_admin(ctx.user, ctx.lang)?;
    let name = request.file.trim();
    let valid = name.ends_with(".sop")
        && !name.starts_with('.')
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid || name.contains("..") {
        return Err(Problem::invalid(say(
            ctx.lang,
            "Nama berkas harus seperti `izin-reklame.sop`: huruf, angka, `-`, `_`, tanpa folder.",
            "The file name must look like `izin-reklame.sop`: letters, digits, `-`, `_`, no folders.",
        )));
    }
    let path = ctx.state.catalog.sop_dir().join(name);
    let mut calendars = crate::compile::folders::Calendars::new(None);
    let report =
        ctx.state.catalog.deploy_text(&ctx.state.engine, &mut calendars, &path, request.source.as_bytes(), true).await;
    match report {
        None => Err(Problem::invalid(say(
            ctx.lang,
            "Berkas ini tidak berisi `sop` (pustaka potongan di-deploy bersama SOP yang memakainya).",
            "This file holds no `sop` (fragment libraries are deployed with the SOPs that use them).",
        ))),
        Some(report) if report.refused.is_some() => {
            let rendered = match ctx.lang {
                Lang::Id => &report.rendered_id,
                Lang::En => &report.rendered_en,
            };
            let detail = match &report.refused {
                Some(why) if report.errors == 0 => why.clone(),
                _ => rendered.clone(),
            };
            Err(Problem::invalid(detail).with("report", serde_json::to_value(&report).unwrap_or_default()))
        }
        Some(report) => Ok(report),
    }
}

/// An admin's reload of the SOP folder: every file checked, the clean ones deployed.
pub async fn reload(ctx: &Ctx<'_>) -> Result<Vec<FileReport>, Problem> {
    policy::require_admin(ctx.user, ctx.lang)?;
    Ok(ctx.state.catalog.reload(&ctx.state.engine).await.files)
}

/// The password policy ([`crate::server::accounts::policy`]) on a password a person sets for `name`.
pub fn check_password(name: &str, password: &str, lang: Lang) -> Result<(), Problem> {
    match super::super::accounts::policy::weak_password(name, password) {
        None => Ok(()),
        Some(why) => Err(Problem::invalid(why.get(lang).to_string())),
    }
}
