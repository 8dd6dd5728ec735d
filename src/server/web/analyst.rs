//! For analysts: the SOPs (steps table as the official document prints it, timing totals,
//! what the checker said) and the SLA dashboard.

use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use std::collections::BTreeMap;

use super::layout::{humanize, when, working_span};
use super::staff::performers;
use super::{html_page, layout, problem_page, require, t, Page};
use crate::diagnostic::Lang;
use crate::model::Target;
use crate::runtime::deploy::Deployed;
use crate::runtime::store::summary::SummaryFilter;
use crate::runtime::view::Sla;
use crate::runtime::CaseStatus;
use crate::server::app::read::ReportRow;
use crate::server::app::{policy, queries};
use crate::server::catalog::FileReport;
use crate::server::State;

fn can_read_sops(page: &Page) -> Result<(), Response> {
    require(page, policy::require_sop_reader(&page.user, page.lang))
}

pub async fn sop_list(AxumState(state): AxumState<State>, page: Page) -> Response {
    if let Err(response) = can_read_sops(&page) {
        return response;
    }
    let lang = page.lang;
    let sops = queries::latest_deployments(&state);
    let reports = state.catalog.reports();
    let refused: Vec<&FileReport> = reports.iter().filter(|r| r.refused.is_some()).collect();
    let title = t(lang, "SOP yang berlaku", "SOPs in service");
    let body = html! {
        h1 { (title) }
        table {
            thead { tr {
                th { "SOP" }
                th { (t(lang, "Versi", "Version")) }
                th.num { (t(lang, "Langkah", "Steps")) }
                th { (t(lang, "Total tertulis", "Stated total")) }
                th { (t(lang, "Pemeriksaan", "Checker")) }
            } }
            tbody {
                @for d in &sops {
                    @let report = state.catalog.report_for(&d.deployment.sop);
                    tr {
                        td { a href=(format!("/sops/{}", d.deployment.sop)) { (d.sop.title) } br; small.muted { (d.deployment.sop) } }
                        td { (d.deployment.version) }
                        td.num { (d.sop.steps.len()) }
                        td { (d.sop.header.stated_total.as_ref().map(|s| s.duration.display(lang)).unwrap_or("—".into())) }
                        td { @if let Some(r) = report { (check_summary(lang, &r)) } @else { "—" } }
                    }
                }
            }
        }
        @if !refused.is_empty() {
            h2 { (t(lang, "Berkas yang TIDAK di-deploy", "Files NOT deployed")) }
            @for r in refused {
                div.card {
                    h3 { (r.file) }
                    p.late { (check_summary(lang, r)) }
                    pre.diag { (rendered(lang, r)) }
                }
            }
        }
        @if page.user.is_admin() {
            form.no-print method="post" action="/admin/reload" {
                button type="submit" { (t(lang, "Muat ulang folder SOP", "Reload the SOP folder")) }
            }
        }
    };
    html_page(StatusCode::OK, layout(&page.viewer(), title, body))
}

pub fn check_summary(lang: Lang, r: &FileReport) -> String {
    match lang {
        Lang::Id => format!("{} kesalahan, {} peringatan", r.errors, r.warnings),
        Lang::En => format!("{} error(s), {} warning(s)", r.errors, r.warnings),
    }
}

pub fn rendered(lang: Lang, r: &FileReport) -> String {
    match lang {
        Lang::Id => r.rendered_id.clone(),
        Lang::En => r.rendered_en.clone(),
    }
}

fn keterangan(d: &Deployed, step: &crate::model::Step, lang: Lang) -> Markup {
    html! {
        @if let Some(notes) = &step.notes { div { (notes) } }
        @if let Some(decision) = &step.decision {
            @for o in &decision.outcomes {
                div.muted {
                    (humanize(&o.name.name)) " → "
                    @match &o.target {
                        Target::Next => { (t(lang, "langkah berikutnya", "next step")) }
                        Target::Named(n) => {
                            @if let Some(s) = d.sop.step(&n.name) {
                                (t(lang, "langkah ", "step ")) (s.number)
                            } @else if let Some(e) = d.sop.end(&n.name) {
                                (e.label)
                            } @else { (n.name) }
                        }
                    }
                    @if let Some(r) = &o.rework {
                        @if let Some(max) = r.max_rounds { " (" (t(lang, "paling banyak ", "at most ")) (max) "×)" }
                    }
                }
            }
        }
    }
}

pub async fn sop_page(AxumState(state): AxumState<State>, page: Page, Path(sop): Path<String>) -> Response {
    if let Err(response) = can_read_sops(&page) {
        return response;
    }
    let lang = page.lang;
    let d = match state.engine.deployment(&sop, None) {
        Ok(d) => d,
        Err(e) => return problem_page(&page.viewer(), &crate::server::problem::Problem::runtime(&e, lang)),
    };
    let s = &d.sop;
    let day = d.calendar.day_length_minutes();
    let totals = crate::timing::totals(s, day);
    let report = state.catalog.report_for(&sop);
    let header = &s.header;
    let path_steps = |steps: &[usize]| {
        steps.iter().filter_map(|i| s.steps.get(*i)).map(|x| x.numbered()).collect::<Vec<_>>().join(" → ")
    };
    let body = html! {
        h1 { (s.title) }
        dl.facts {
            @if let Some(a) = &header.agency { dt { (t(lang, "Instansi", "Agency")) } dd { (a) } }
            @if let Some(n) = &header.number { dt { (t(lang, "Nomor SOP", "SOP number")) } dd { (n) } }
            dt { (t(lang, "Versi yang berjalan", "Version in service")) } dd { (d.deployment.version) @if let Some(v) = &header.version { " (" (t(lang, "versi dokumen ", "document version ")) (v) ")" } }
            @if let Some(e) = header.effective { dt { (t(lang, "Tanggal efektif", "Effective")) } dd { (e) } }
            @if let Some(a) = &header.approved_by { dt { (t(lang, "Disahkan oleh", "Approved by")) } dd { (a.name) @if let Some(p) = &a.position { ", " (p) } } }
            dt { (t(lang, "Kalender", "Calendar")) } dd { (d.calendar.name()) " (" (t(lang, "1 hari kerja = ", "1 working day = ")) (working_span(lang, u64::from(day), u32::MAX)) ")" }
        }
        h2 { (t(lang, "Langkah", "Steps")) }
        table {
            thead { tr {
                th { (t(lang, "No", "No")) }
                th { (t(lang, "Kegiatan", "Activity")) }
                th { (t(lang, "Pelaksana", "Performed by")) }
                th { (t(lang, "Kelengkapan", "Inputs")) }
                th { (t(lang, "Waktu", "Time")) }
                th { (t(lang, "Output", "Output")) }
                th { (t(lang, "Keterangan", "Notes")) }
            } }
            tbody {
                @for step in &s.steps {
                    tr {
                        td { (step.numbered()) }
                        td { (step.activity) }
                        td { (performers(s, step, lang)) }
                        td { @for u in &step.inputs { div { (u.text) } } }
                        td { (step.duration.as_ref().map(|x| x.text.clone()).unwrap_or_default()) }
                        td { @for u in &step.outputs { div { (u.text) } } }
                        td { (keterangan(&d, step, lang)) }
                    }
                }
            }
        }
        h2 { (t(lang, "Waktu", "Timing")) }
        table {
            thead { tr {
                th { (t(lang, "Jalur", "Path")) }
                th { (t(lang, "Waktu", "Time")) }
                th.num { (t(lang, "Hari kerja (dibulatkan)", "Working days (rounded)")) }
                th { (t(lang, "Langkah", "Steps")) }
            } }
            tbody {
                tr { th scope="row" { (t(lang, "Jalur utama", "Main path")) } td { (path_time(lang, &totals.main_path)) } td.num { (totals.main_path.rounded_workdays) } td { (path_steps(&totals.main_path.steps)) } }
                tr { th scope="row" { (t(lang, "Tercepat", "Best")) } td { (path_time(lang, &totals.best)) } td.num { (totals.best.rounded_workdays) } td { (path_steps(&totals.best.steps)) } }
                tr { th scope="row" { (t(lang, "Terlama (tanpa putaran)", "Worst (no loops)")) } td { (path_time(lang, &totals.worst)) } td.num { (totals.worst.rounded_workdays) } td { (path_steps(&totals.worst.steps)) } }
                tr {
                    th scope="row" { (t(lang, "Total tertulis di SOP", "Total stated in the SOP")) }
                    @if let Some(st) = &header.stated_total {
                        td { (st.duration.display(lang)) }
                        td.num { (st.rounded_workdays.map(|x| x.to_string()).unwrap_or("—".into())) }
                        td {
                            @if !totals.main_path.untimed.is_empty() {
                                (t(lang, "belum dapat dipastikan: ada langkah tanpa waktu", "cannot be told: steps without time"))
                            } @else if st.duration.working_minutes(day) == totals.main_path.duration.working_minutes(day) {
                                (t(lang, "sama dengan jalur utama", "equals the main path"))
                            } @else {
                                span.late { (t(lang, "BERBEDA dari jalur utama", "DIFFERS from the main path")) }
                            }
                        }
                    } @else {
                        td colspan="3" { (t(lang, "tidak dinyatakan", "not stated")) }
                    }
                }
            }
        }
        @if !totals.rework_loops.is_empty() {
            h3 { (t(lang, "Putaran pengembalian", "Return loops")) }
            ul {
                @for l in &totals.rework_loops {
                    li {
                        (humanize(&l.outcome)) " " (t(lang, "di langkah", "at step")) " " (s.steps.get(l.decision_step).map(|x| x.number.clone()).unwrap_or_default())
                        ": " (t(lang, "satu putaran", "one round")) " " (l.round.display(lang))
                        @if let Some(max) = l.max_rounds { "; " (t(lang, "paling banyak", "at most")) " " (max) "×" }
                        @if let Some(w) = &l.worst_with_rounds { "; " (t(lang, "terlama dengan semua putaran", "worst with every round")) " " (w.display(lang)) }
                    }
                }
            }
        }
        div.grid2 {
            div {
                h3 { (t(lang, "Per pelaksana", "Per actor")) }
                table {
                    thead { tr { th { (t(lang, "Pelaksana", "Actor")) } th.num { (t(lang, "Langkah", "Steps")) } th { (t(lang, "Waktu", "Time")) } } }
                    tbody {
                        @for a in &totals.per_actor {
                            tr { td { (s.actor(&a.actor).map(|x| x.label.clone()).unwrap_or(a.actor.clone())) } td.num { (a.steps) } td { (a.duration.display(lang)) } }
                        }
                    }
                }
            }
            @if !totals.service_standards.is_empty() {
                div {
                    h3 { (t(lang, "Standar pelayanan", "Service standards")) }
                    table {
                        thead { tr { th { (t(lang, "Janji", "Promise")) } th { (t(lang, "Terukur di jalur utama", "Measured on the main path")) } th { "" } } }
                        tbody {
                            @for c in &totals.service_standards {
                                tr {
                                    td { (c.label.clone().unwrap_or_default()) " " (c.promised.display(lang)) }
                                    td { (c.measured.display(lang)) }
                                    td { @match c.within { Some(true) => span.badge.met { (t(lang, "terpenuhi", "kept")) }, Some(false) => span.badge.missed { (t(lang, "terlampaui", "exceeded")) }, None => span.badge { (t(lang, "belum pasti: langkah tanpa waktu", "open: steps without time")) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (t(lang, "Hasil pemeriksaan", "Checker diagnostics")) }
        @match &report {
            Some(r) => {
                p { (r.file) ": " (check_summary(lang, r)) }
                @let text = rendered(lang, r);
                @if text.trim().is_empty() {
                    p.muted { (t(lang, "Tidak ada catatan dari pemeriksa.", "The checker has nothing to say.")) }
                } @else {
                    pre.diag { (text) }
                }
            }
            None => { p.muted { (t(lang, "Tidak ada laporan pemeriksaan untuk SOP ini.", "No checker report for this SOP.")) } }
        }
        @let version = d.deployment.version;
        @let lang_code = match lang { Lang::Id => "id", Lang::En => "en" };
        @let rendered_url = |format: &str| format!("/api/sops/{sop}/render/{format}?version={version}&lang={lang_code}");
        h2 #official-document { (t(lang, "Dokumen SOP resmi", "Official SOP document")) }
        p {
            a href=(rendered_url("html")) target="_blank" {
                (t(lang, "Buka dokumen SOP resmi untuk dicetak (A4 lanskap)", "Open the official SOP document to print (A4 landscape)"))
            }
            " · "
            a href=(rendered_url("bpmn")) download=(format!("{sop}.bpmn")) { "BPMN 2.0" }
            " · "
            a href=(rendered_url("mermaid")) { "Mermaid" }
            " · "
            a href=(rendered_url("dot")) { "Graphviz DOT" }
            " · "
            a href=(rendered_url("md")) { "Markdown" }
        }
        h2 { (t(lang, "Diagram alur", "Flow diagram")) }
        figure #diagram {
            img src=(rendered_url("svg")) alt=(t(lang, "Diagram alur SOP di dalam kolom pelaksana", "The SOP flowchart in the actor columns")) style="max-width:100%;height:auto;background:#fff";
        }
    };
    html_page(StatusCode::OK, layout(&page.viewer(), &s.title, body))
}

#[derive(Default)]
struct Counts {
    active: u64,
    overdue: u64,
    due_soon: u64,
    ended: u64,
    other: u64,
}

pub async fn dashboard(AxumState(state): AxumState<State>, page: Page) -> Response {
    if let Err(response) = require(&page, policy::require_analyst(&page.user, page.lang)) {
        return response;
    }
    let lang = page.lang;
    let now = state.engine.now();
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    // Ended and other cases counted by the store; only the running ones are read (for their
    // deadlines).
    let store = state.engine.store();
    let running =
        SummaryFilter { status: Some(CaseStatus::Active.word().to_string()), limit: usize::MAX, ..Default::default() };
    let (totals, running) = match (store.case_counts().await, store.case_summaries(&running).await) {
        (Ok(totals), Ok(running)) => (totals, running),
        (Err(e), _) | (_, Err(e)) => {
            return problem_page(&page.viewer(), &crate::server::problem::Problem::internal(e))
        }
    };
    for (sop, status, n) in totals {
        let c = counts.entry(sop).or_default();
        match status.as_str() {
            "active" => {}
            "ended" => c.ended += n,
            _ => c.other += n,
        }
    }
    let running: Vec<crate::runtime::CaseId> = running.iter().map(|summary| summary.case).collect();
    let running = match state.engine.load_each(&running).await {
        Ok(running) => running,
        Err(e) => return problem_page(&page.viewer(), &crate::server::problem::Problem::internal(e)),
    };
    for case in running {
        let Ok(d) = state.engine.case_deployment(&case) else { continue };
        let c = counts.entry(case.sop.clone()).or_default();
        // Only the running ones: a case closed since it was listed is in the counts above.
        if case.status == CaseStatus::Active {
            c.active += 1;
            let v = crate::runtime::view::view(&case, &d, now);
            let clock = v.case_due.as_ref().and_then(|x| x.sla);
            if v.open_tasks.iter().any(|t| t.sla == Some(Sla::Overdue)) || clock == Some(Sla::Overdue) {
                c.overdue += 1;
            } else if v.open_tasks.iter().any(|t| t.sla == Some(Sla::DueSoon)) || clock == Some(Sla::DueSoon) {
                c.due_soon += 1;
            }
        }
    }
    let mut steps = queries::report(&page.ctx(&state), None, false).await.unwrap_or_default();
    // Steps in the SOP's written order, not by id.
    steps.sort_by_key(|r| {
        let order =
            state.engine.deployment(&r.sop, None).ok().and_then(|d| d.sop.step_index(&r.key)).unwrap_or(usize::MAX);
        (r.sop.clone(), order)
    });
    let actors = queries::report(&page.ctx(&state), None, true).await.unwrap_or_default();
    let sops = queries::latest_deployments(&state);
    let title_of = |sop: &str| {
        sops.iter().find(|d| d.deployment.sop == sop).map(|d| d.sop.title.clone()).unwrap_or(sop.to_string())
    };
    let day_of = |sop: &str| {
        sops.iter().find(|d| d.deployment.sop == sop).map(|d| d.calendar.day_length_minutes()).unwrap_or(480)
    };
    let zone = sops.first().map(|d| d.calendar.time_zone()).unwrap_or(chrono_tz::Asia::Jakarta);
    let title = t(lang, "Dasbor SLA", "SLA dashboard");
    let report_table = |rows: &[ReportRow], key_title: &str| -> Markup {
        html! {
            table {
                thead { tr {
                    th { (key_title) }
                    th.num { (t(lang, "Terbuka", "Open")) }
                    th.num { (t(lang, "Selesai", "Done")) }
                    th.num { (t(lang, "Terlambat", "Late")) }
                    th { (t(lang, "Rata-rata waktu kerja", "Mean working time")) }
                    th { (t(lang, "Standar", "Standard")) }
                } }
                tbody {
                    @for r in rows {
                        @let day = day_of(&r.sop);
                        tr class=(if r.overdue > 0 { "overdue" } else { "" }) {
                            td { (r.label) }
                            td.num { (r.open) }
                            td.num { (r.completed) }
                            td.num { (r.overdue) }
                            td { @if r.completed > 0 { (working_span(lang, r.mean_minutes.round() as u64, day)) } @else { "—" } }
                            td { (working_span(lang, r.standard_minutes.round() as u64, day)) }
                        }
                    }
                }
            }
        }
    };
    // One table per SOP, in the order of the SOP list.
    let per_sop = |rows: &[ReportRow], key_title: &str| -> Markup {
        html! {
            @if rows.is_empty() { p.muted { (t(lang, "Belum ada perkara.", "No cases yet.")) } }
            @for d in &sops {
                @let mine: Vec<ReportRow> = rows.iter().filter(|r| r.sop == d.deployment.sop).cloned().collect();
                @if !mine.is_empty() {
                    h3 { (d.sop.title) }
                    (report_table(&mine, key_title))
                }
            }
        }
    };
    let body = html! {
        h1 { (title) }
        p.muted { (t(lang, "Keadaan pada ", "As of ")) (when(lang, zone, now)) ". "
            (t(lang, "Waktu dihitung dalam jam kerja.", "Times are in working time.")) }
        table {
            thead { tr {
                th { "SOP" }
                th.num { (t(lang, "Aktif", "Active")) }
                th.num { (t(lang, "Terlambat", "Overdue")) }
                th.num { (t(lang, "Segera jatuh tempo", "Due soon")) }
                th.num { (t(lang, "Selesai", "Finished")) }
                th.num { (t(lang, "Ditarik/dibatalkan", "Withdrawn/cancelled")) }
            } }
            tbody {
                @for d in &sops {
                    @let c = counts.get(&d.deployment.sop);
                    tr class=(if c.is_some_and(|c| c.overdue > 0) { "overdue" } else if c.is_some_and(|c| c.due_soon > 0) { "due_soon" } else { "" }) {
                        td { a href=(format!("/cases?sop={}", d.deployment.sop)) { (title_of(&d.deployment.sop)) } }
                        td.num { (c.map(|c| c.active).unwrap_or(0)) }
                        td.num { a href=(format!("/cases?sop={}&overdue=1", d.deployment.sop)) { (c.map(|c| c.overdue).unwrap_or(0)) } }
                        td.num { (c.map(|c| c.due_soon).unwrap_or(0)) }
                        td.num { (c.map(|c| c.ended).unwrap_or(0)) }
                        td.num { (c.map(|c| c.other).unwrap_or(0)) }
                    }
                }
            }
        }
        h2 { (t(lang, "Per langkah", "Per step")) }
        (per_sop(&steps, t(lang, "Langkah", "Step")))
        h2 { (t(lang, "Per pelaksana", "Per actor")) }
        (per_sop(&actors, t(lang, "Pelaksana", "Actor")))
    };
    html_page(StatusCode::OK, layout(&page.viewer(), title, body))
}

/// A path's summed time, with "+ ?" and a count when steps on it have no stated time.
fn path_time(lang: Lang, path: &crate::timing::PathTotal) -> String {
    match path.untimed.len() {
        0 => path.duration.display(lang),
        n => match lang {
            Lang::Id => format!("{} + ? ({n} langkah tanpa waktu)", path.duration.display(lang)),
            Lang::En => format!("{} + ? ({n} steps without time)", path.duration.display(lang)),
        },
    }
}
