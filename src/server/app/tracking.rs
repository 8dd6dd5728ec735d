//! Public tracking (`/lacak`): a case found by its registration number and the secret printed
//! on its receipt, told in plain words without an account. What it tells is only what the
//! applicant may see: where the file is (the desk, never a user name), the promised date,
//! whether it came back for completion, how it ended. No notes, no files, no field values.

use chrono::{DateTime, Utc};

use super::super::State;
use crate::diagnostic::Lang;
use crate::model::ActorKind;
use crate::runtime::registration::secret_matches;
use crate::runtime::view::view;
use crate::runtime::CaseStatus;

/// A case as the public sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Tracked {
    pub number: String,
    pub service: String,
    pub agency: Option<String>,
    pub submitted: DateTime<Utc>,
    /// The status in plain words, in the reader's language.
    pub status: String,
    /// The desks the file is at (their labels), while it runs.
    pub desks: Vec<String>,
    /// The file waits on the applicant.
    pub waiting_for_applicant: bool,
    pub promised: Option<DateTime<Utc>>,
    /// The file was returned for completion: the outcome's words and when; still open or not.
    pub returned: Option<(String, DateTime<Utc>, bool)>,
    pub closed: Option<DateTime<Utc>>,
    pub desk_contact: Vec<String>,
    pub zone: chrono_tz::Tz,
}

/// Why a lookup found nothing to show: the same for a wrong number and a wrong secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotTracked {
    /// No case has this number with this secret.
    NoMatch,
    /// The store could not be read: try again.
    Unavailable,
}

fn say(lang: Lang, id: &str, en: &str) -> String {
    super::super::problem::say(lang, id, en)
}

/// The case with this number, when `secret` is its tracking secret.
pub async fn track(state: &State, number: &str, secret: &str, lang: Lang) -> Result<Tracked, NotTracked> {
    let number = number.trim();
    let engine = &state.engine;
    let case = match engine.store().case_by_number(number).await {
        Ok(Some(case)) => case,
        Ok(None) => {
            // As long as a wrong secret takes: compared against a secret of the same shape.
            secret_matches("--------", secret);
            return Err(NotTracked::NoMatch);
        }
        Err(_) => return Err(NotTracked::Unavailable),
    };
    let loaded = engine.load(case).await.map_err(|_| NotTracked::Unavailable)?;
    let Some(registration) = loaded.registration.as_ref() else { return Err(NotTracked::NoMatch) };
    if !secret_matches(&registration.secret, secret) {
        return Err(NotTracked::NoMatch);
    }
    let d = engine.case_deployment(&loaded).map_err(|_| NotTracked::Unavailable)?;
    let v = view(&loaded, &d, engine.now());
    let sop = &d.sop;
    let label = |actor: &str| sop.actor(actor).map(|a| a.label.clone()).unwrap_or_else(|| actor.to_string());
    let open: Vec<_> = loaded.open_tasks().collect();
    let mut desks: Vec<String> = open.iter().flat_map(|t| t.actors.iter().map(|a| label(a))).collect();
    desks.dedup();
    let waiting_for_applicant =
        open.iter().any(|t| t.actors.iter().any(|a| sop.actor(a).is_some_and(|x| x.kind == ActorKind::Applicant)));
    // The decision's outcome as the SOP names it (`ditolak`, `berkas_kurang`): the reason the
    // office gave in its own terms; its notes stay internal.
    let returned = loaded.rework.last().map(|r| (r.outcome.replace('_', " "), r.from, r.until.is_none()));
    let on_hold = v.on_hold.is_some();
    let status = match loaded.status {
        CaseStatus::Active if on_hold => {
            say(lang, "Ditangguhkan: kantor menunggu kelengkapan", "On hold: the office waits for something")
        }
        CaseStatus::Active if waiting_for_applicant && returned.as_ref().is_some_and(|r| r.2) => {
            say(lang, "Dikembalikan kepada Anda untuk dilengkapi", "Returned to you for completion")
        }
        CaseStatus::Active if waiting_for_applicant => say(lang, "Menunggu Anda", "Waiting for you"),
        CaseStatus::Active => say(lang, "Sedang diproses", "In progress"),
        CaseStatus::Ended => {
            let end = loaded.end.as_deref().and_then(|e| sop.end(e)).map(|e| e.label.clone()).unwrap_or_default();
            if end.is_empty() {
                say(lang, "Selesai", "Finished")
            } else {
                say(lang, &format!("Selesai: {end}"), &format!("Finished: {end}"))
            }
        }
        CaseStatus::Withdrawn => say(lang, "Dicabut oleh pemohon", "Withdrawn by the applicant"),
        CaseStatus::Cancelled => say(lang, "Dibatalkan oleh kantor", "Cancelled by the office"),
    };
    Ok(Tracked {
        number: registration.number.clone(),
        service: sop.title.clone(),
        agency: sop.header.agency.clone(),
        submitted: loaded.started,
        status,
        desks: if loaded.status == CaseStatus::Active { desks } else { Vec::new() },
        waiting_for_applicant,
        promised: v.completion_date.or(v.case_due.as_ref().and_then(|c| c.due)),
        returned,
        closed: loaded.closed,
        desk_contact: sop.header.desk_contact.clone(),
        zone: d.calendar.time_zone(),
    })
}
