//! The read models: what people see of a SOP, a case (as a parcel tracker: where the file is,
//! since when, what happened), an inbox item, a row of a case list or a report. The JSON API
//! serializes them and the web pages show them, so both show the same.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

use super::super::catalog::FileReport;
use super::super::problem::{say, Problem};
use super::super::State;
use super::Ctx;
use crate::diagnostic::Lang;
use crate::runtime::deploy::Deployed;
use crate::runtime::view::{view, Sla};
use crate::runtime::{CaseState, CaseStatus, Event, TaskNo, TaskStatus};

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
    /// The alur that compiled this version when it was deployed (absent for a version deployed
    /// before that was recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compiled_by: Option<String>,
    /// `same`: this alur compiles the version into the model it was deployed with; `differs`:
    /// into another, on which its cases now run (accepted with `ALUR_ACCEPT_RECOMPILED=1`);
    /// `unrecorded`: deployed before the model's hash was recorded.
    pub compile: &'static str,
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
        compiled_by: d.deployment.compiler.clone(),
        compile: d.recompiled.word(),
    }
}

/// The steps a case may start at, when there is a choice: the first steps of the branches of
/// the SOP's `alternatif` blocks (what `entry` may name).
pub fn entry_steps(d: &Deployed) -> Vec<String> {
    d.interpreter.entries(&d.sop).into_iter().map(|s| d.sop.steps[s].id.name.clone()).collect()
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
    /// The registration number, for an SOP that numbers its cases (`nomor_pendaftaran`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
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

/// A case as its parcel tracker: where the file is, since when, the promised date, what
/// happened (in the reader's language), its documents. `case` is one the user may see.
pub async fn case_out(ctx: &Ctx<'_>, case: &CaseState, d: &Deployed) -> Result<CaseOut, Problem> {
    let (state, lang) = (ctx.state, ctx.lang);
    let now = state.engine.now();
    let v = view(case, d, now);
    let history = state.engine.history(case.id).await.map_err(|e| Problem::runtime(&e, lang))?;
    let label = |actor: &str| d.sop.actor(actor).map(|a| a.label.clone()).unwrap_or_else(|| actor.to_string());
    let mut step_of: BTreeMap<TaskNo, String> = BTreeMap::new();
    let mut timeline = Vec::new();
    for r in &history {
        let (kind, task, step, desk, outcome, note, text) = describe(&r.event, &mut step_of, d, lang);
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
        number: case.number.clone(),
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
