//! Lists, the inbox and reports, filtered by what the user may see.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::super::problem::Problem;
use super::super::State;
use super::policy::{self, can_see};
use super::read::{first_line, sla_word, CaseRow, InboxItem, ReportRow};
use super::read::{sop_detail, SopDetail};
use super::Ctx;
use crate::model::ActorKind;
use crate::runtime::deploy::Deployed;
use crate::runtime::view::{view, Sla};
use crate::runtime::TaskStatus;
use chrono::{DateTime, Utc};

/// The newest version of every deployed SOP, by id.
pub fn latest_deployments(state: &State) -> Vec<Arc<Deployed>> {
    let mut latest: BTreeMap<String, Arc<Deployed>> = BTreeMap::new();
    for d in state.engine.deployments() {
        latest.insert(d.deployment.sop.clone(), d);
    }
    latest.into_values().collect()
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

/// The cases the user may see that pass the filter, newest first.
pub async fn cases_for(ctx: &Ctx<'_>, filter: &CaseFilter) -> Result<Vec<CaseRow>, Problem> {
    let (state, user) = (ctx.state, ctx.user);
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

/// The open tasks of the user's actor roles, and of their own applications' applicant steps.
pub async fn inbox_for(ctx: &Ctx<'_>) -> Result<Vec<InboxItem>, Problem> {
    let (state, user, lang) = (ctx.state, ctx.user, ctx.lang);
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

/// Counts and working time per step (or per actor) over every case, for analysts and admins.
pub async fn report(ctx: &Ctx<'_>, sop: Option<&str>, by_actor: bool) -> Result<Vec<ReportRow>, Problem> {
    policy::require_analyst(ctx.user, ctx.lang)?;
    let state = ctx.state;
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

/// One SOP's details (a version, or the newest) with its timing from `start`, for those who
/// read SOP details.
pub async fn sop(
    ctx: &Ctx<'_>,
    sop: &str,
    version: Option<u32>,
    start: Option<DateTime<Utc>>,
) -> Result<SopDetail, Problem> {
    policy::require_sop_reader(ctx.user, ctx.lang)?;
    let d = ctx.state.engine.deployment(sop, version).map_err(|e| Problem::runtime(&e, ctx.lang))?;
    let start = start.unwrap_or_else(|| ctx.state.engine.now());
    Ok(sop_detail(ctx.state, &d, start, ctx.lang))
}

/// One SOP rendered as `format` (`html`, `svg`, `mermaid`, `dot`, `bpmn`, `md`; else 404), for
/// those who read SOP details.
pub async fn rendered(
    ctx: &Ctx<'_>,
    sop: &str,
    format: &str,
    version: Option<u32>,
) -> Result<(crate::render::Format, String), Problem> {
    policy::require_sop_reader(ctx.user, ctx.lang)?;
    let format: crate::render::Format =
        format.parse().map_err(|_| Problem::not_found(ctx.lang, &format!("`{format}`")))?;
    let d = ctx.state.engine.deployment(sop, version).map_err(|e| Problem::runtime(&e, ctx.lang))?;
    Ok((format, crate::render::render(&d.sop, format, ctx.lang)))
}
