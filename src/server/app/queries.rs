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
use crate::runtime::engine::Engine;
use crate::runtime::report::case_tallies;
use crate::runtime::store::summary::{projections_off, SummaryFilter, Tally};
use crate::runtime::store::StoreError;
use crate::runtime::view::{view, Sla};
use crate::runtime::{CaseId, CaseState, CaseStatus, RuntimeError, TaskStatus};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

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
    let user = ctx.user;
    let visible = |case: &CaseState, d: &Deployed| can_see(user, case, d);
    let rows = if projections_off() {
        case_rows_full(&ctx.state.engine, filter, visible).await
    } else {
        case_rows(&ctx.state.engine, filter, visible).await
    };
    rows.map_err(|e| Problem::runtime(&e, ctx.lang))
}

/// The cases `visible` lets through that pass the filter, newest first: the store's case
/// summaries, a page at a time, so only the cases listed are read. `overdue` needs the
/// deadline view, so it lists running cases only (an ended case is never overdue here).
pub async fn case_rows(
    engine: &Engine,
    filter: &CaseFilter,
    visible: impl Fn(&CaseState, &Deployed) -> bool,
) -> Result<Vec<CaseRow>, RuntimeError> {
    let now = engine.now();
    let limit = filter.limit.unwrap_or(200).min(5000);
    let overdue_only = filter.overdue == Some(true);
    if overdue_only && filter.status.as_deref().is_some_and(|s| s != CaseStatus::Active.word()) {
        return Ok(Vec::new());
    }
    let mut query = SummaryFilter {
        sop: filter.sop.clone(),
        status: if overdue_only { Some(CaseStatus::Active.word().to_string()) } else { filter.status.clone() },
        applicant: filter.applicant.clone(),
        before: None,
        limit: limit.clamp(20, 500),
    };
    let mut rows = Vec::new();
    while rows.len() < limit {
        let page = engine.store().case_summaries(&query).await.map_err(|e| RuntimeError::Store(e.to_string()))?;
        let full = page.len() == query.limit;
        let ids: Vec<CaseId> = page.iter().map(|summary| summary.case).collect();
        query.before = ids.last().copied();
        for case in engine.load_each(&ids).await? {
            if rows.len() >= limit {
                break;
            }
            let Ok(d) = engine.case_deployment(&case) else { continue };
            if !visible(&case, &d) {
                continue;
            }
            let row = case_row(&case, &d, now);
            if overdue_only && !row.overdue {
                continue;
            }
            rows.push(row);
        }
        if !full {
            break;
        }
    }
    Ok(rows)
}

/// A case as the case list shows it.
fn case_row(case: &CaseState, d: &Deployed, now: DateTime<Utc>) -> CaseRow {
    let v = view(case, d, now);
    let overdue = v.open_tasks.iter().any(|t| t.sla == Some(Sla::Overdue))
        || v.case_due.as_ref().and_then(|c| c.sla).is_some_and(|s| matches!(s, Sla::Overdue | Sla::Missed));
    CaseRow {
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
    }
}

/// [`case_rows`] as it was before the case summaries: every case read, newest first. Kept as
/// the oracle the tests compare the summaries with.
#[doc(hidden)]
pub async fn case_rows_full(
    engine: &Engine,
    filter: &CaseFilter,
    visible: impl Fn(&CaseState, &Deployed) -> bool,
) -> Result<Vec<CaseRow>, RuntimeError> {
    let now = engine.now();
    let mut ids = engine.store().case_ids().await.map_err(|e| RuntimeError::Store(e.to_string()))?;
    // UUID v7: newest last.
    ids.sort();
    ids.reverse();
    let limit = filter.limit.unwrap_or(200).min(5000);
    let mut rows = Vec::new();
    for id in ids {
        if rows.len() >= limit {
            break;
        }
        let Ok(case) = engine.load(id).await else { continue };
        if filter.sop.as_ref().is_some_and(|s| s != &case.sop)
            || filter.status.as_ref().is_some_and(|s| s != case.status.word())
            || filter.applicant.as_ref().is_some_and(|a| a != &case.applicant)
        {
            continue;
        }
        let Ok(d) = engine.case_deployment(&case) else { continue };
        if !visible(&case, &d) {
            continue;
        }
        let row = case_row(&case, &d, now);
        if filter.overdue == Some(true) && !row.overdue {
            continue;
        }
        rows.push(row);
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
    let mut ids: Vec<CaseId> = tasks.iter().map(|t| t.case).collect();
    ids.sort_unstable();
    ids.dedup();
    let cases: BTreeMap<CaseId, CaseState> = state
        .engine
        .load_each(&ids)
        .await
        .map_err(|e| Problem::runtime(&e, lang))?
        .into_iter()
        .map(|case| (case.id, case))
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        let Some(case) = cases.get(&t.case) else { continue };
        let staff_match = t.actors.iter().any(|a| user.actors().iter().any(|r| **r == **a));
        if !staff_match && case.applicant != user.name {
            continue;
        }
        let Ok(d) = state.engine.case_deployment(case) else { continue };
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
        let sla = crate::runtime::view::view(case, &d, now)
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
    let rows = if projections_off() {
        report_rows_full(&ctx.state.engine, sop, by_actor).await
    } else {
        report_rows(&ctx.state.engine, sop, by_actor).await
    };
    rows.map_err(|e| Problem::runtime(&e, ctx.lang))
}

/// The report rows: the store's tallies of the closed cases, and the running cases (and any
/// closed case not yet counted) tallied now. Reads the running cases only.
pub async fn report_rows(engine: &Engine, sop: Option<&str>, by_actor: bool) -> Result<Vec<ReportRow>, RuntimeError> {
    let now = engine.now();
    let store = engine.store();
    let failed = |e: StoreError| RuntimeError::Store(e.to_string());
    let running = SummaryFilter {
        sop: sop.map(str::to_string),
        status: Some(CaseStatus::Active.word().to_string()),
        limit: usize::MAX,
        ..SummaryFilter::default()
    };
    let mut live: BTreeSet<CaseId> =
        store.case_summaries(&running).await.map_err(failed)?.iter().map(|s| s.case).collect();
    live.extend(store.unsettled().await.map_err(failed)?.iter().map(|u| u.case));
    let mut tallies: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut add = |t: &Tally| {
        if t.by_actor == by_actor {
            tallies
                .entry((t.sop.clone(), t.key.clone()))
                .or_insert_with(|| Tally { sop: t.sop.clone(), by_actor, key: t.key.clone(), ..Tally::default() })
                .add(t);
        }
    };
    for t in store.tallies(sop).await.map_err(failed)? {
        add(&t);
    }
    let live: Vec<CaseId> = live.into_iter().collect();
    for case in engine.load_each(&live).await? {
        if sop.is_some_and(|s| s != case.sop) {
            continue;
        }
        let Ok(d) = engine.case_deployment(&case) else { continue };
        for t in case_tallies(&case, &d, now) {
            add(&t);
        }
    }
    let deployments = engine.deployments();
    Ok(tallies
        .into_values()
        .map(|t| {
            // The label of the newest version that has the step (or actor).
            let label = deployments
                .iter()
                .rev()
                .filter(|d| d.deployment.sop == t.sop)
                .find_map(|d| {
                    if by_actor {
                        d.sop.actor(&t.key).map(|x| x.label.clone())
                    } else {
                        d.sop.step(&t.key).map(|s| format!("{} {}", s.numbered(), first_line(&s.activity)))
                    }
                })
                .unwrap_or_else(|| t.key.clone());
            let mut row = ReportRow {
                sop: t.sop,
                key: t.key,
                label,
                open: t.open,
                completed: t.completed,
                overdue: t.overdue,
                ..Default::default()
            };
            if t.completed > 0 {
                row.mean_minutes = t.minutes as f64 / t.completed as f64;
            }
            if t.standard_count > 0 {
                row.standard_minutes = t.standard as f64 / t.standard_count as f64;
            }
            row
        })
        .collect())
}

/// [`report_rows`] as it was before the tallies: every case read. Kept as the oracle the tests
/// compare the tallies with.
#[doc(hidden)]
pub async fn report_rows_full(
    engine: &Engine,
    sop: Option<&str>,
    by_actor: bool,
) -> Result<Vec<ReportRow>, RuntimeError> {
    let now = engine.now();
    let ids = engine.store().case_ids().await.map_err(|e| RuntimeError::Store(e.to_string()))?;
    // (sop, key) -> (row, total minutes, total standard, standard count)
    let mut rows: BTreeMap<(String, String), (ReportRow, u64, u64, u64)> = BTreeMap::new();
    for id in ids {
        let Ok(case) = engine.load(id).await else { continue };
        if sop.is_some_and(|s| s != case.sop) {
            continue;
        }
        let Ok(d) = engine.case_deployment(&case) else { continue };
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
