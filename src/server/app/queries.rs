//! Lists, the inbox and reports, filtered by what the user may see.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::super::accounts::User;
use super::super::problem::Problem;
use super::super::State;
use super::policy::can_see;
use super::read::{first_line, sla_word, CaseRow, InboxItem, ReportRow};
use crate::diagnostic::Lang;
use crate::model::ActorKind;
use crate::runtime::deploy::Deployed;
use crate::runtime::view::{view, Sla};
use crate::runtime::TaskStatus;

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
