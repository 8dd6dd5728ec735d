//! The commands people give: start a case, work a task (claim, release, hold, resume,
//! complete), withdraw or cancel a case, attach a document, deploy or reload SOPs. Each checks
//! the policy, asks the engine, and answers a value or a [`Problem`].

use serde::Deserialize;

use super::super::accounts::User;
use super::super::auth::Auth;
use super::super::catalog::FileReport;
use super::super::problem::{say, Problem};
use super::super::State;
use super::parse_case;
use super::policy::{caller_for, caller_on, require_admin, visible_case};
use crate::diagnostic::Lang;
use crate::runtime::{Attachment, CaseId, Completion, TaskNo};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeployRequest {
    /// The file name under the SOP folder, e.g. `izin-reklame.sop`.
    pub file: String,
    /// The `.sop` text.
    pub source: String,
}

pub async fn deploy_upload(state: &State, auth: &Auth, request: DeployRequest) -> Result<FileReport, Problem> {
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
        Some(report) => Ok(report),
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

pub struct Upload {
    pub artifact: String,
    pub task: Option<TaskNo>,
    pub name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
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

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct CompleteRequest {
    /// The decision's outcome, for a step that decides (`diterima`, `ditolak`...).
    pub outcome: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub note: Option<String>,
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

/// The password policy ([`crate::server::accounts::policy`]) on a password a person sets for `name`.
pub fn check_password(name: &str, password: &str, lang: Lang) -> Result<(), Problem> {
    match super::super::accounts::policy::weak_password(name, password) {
        None => Ok(()),
        Some(why) => Err(Problem::invalid(why.get(lang).to_string())),
    }
}
