//! What a case is (SOP, version, applicant, status, when it started and closed) and what the
//! reports count, kept by every store so lists, reports and start-up cost the open work, not the
//! whole history (issue 28).
//!
//! A case's summary row is written in the same transaction as the append that changes it (its
//! start, its close). The same append marks the case *unsettled* when it holds an event whose
//! follow-up the engine still owes: a sub-procedure to start or a parent to complete (see
//! `Engine::effects`), or a close whose tasks the reports have yet to count. The engine settles
//! the case once that is done ([`CaseSummaries::settle`]): in one transaction the marker goes and
//! a closed case's tallies are added, so each case is counted exactly once. A crash in between
//! leaves the marker, and `Engine::recover` visits only the marked cases.
//!
//! The tallies need the SOP's calendar (working minutes), which a store does not read: the
//! engine computes them (`runtime::report::case_tally`) and hands them to `settle`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::runtime::event::{Event, Recorded};
use crate::runtime::CaseId;

/// One case as the case list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub case: CaseId,
    pub sop: String,
    pub version: u32,
    pub applicant: String,
    /// `active`, `ended`, `withdrawn` or `cancelled` (`CaseStatus::word`).
    pub status: String,
    pub started: DateTime<Utc>,
    pub closed: Option<DateTime<Utc>>,
    /// The end a case that ended reached (`CaseEnded`).
    pub end: Option<String>,
}

/// Which cases [`CaseSummaries::case_summaries`] returns: every given field must match; newest
/// first (case ids are UUID v7), ids below `before` only, at most `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SummaryFilter {
    pub sop: Option<String>,
    pub status: Option<String>,
    pub applicant: Option<String>,
    /// Only cases older than this one (the last of the previous page).
    pub before: Option<CaseId>,
    pub limit: usize,
}

impl SummaryFilter {
    pub fn holds(&self, s: &CaseSummary) -> bool {
        self.sop.as_ref().is_none_or(|x| *x == s.sop)
            && self.status.as_ref().is_none_or(|x| *x == s.status)
            && self.applicant.as_ref().is_none_or(|x| *x == s.applicant)
            && self.before.is_none_or(|b| s.case < b)
    }
}

/// A case the engine still owes a follow-up: the seqs of the first and the last of its events
/// not settled. A settle applies only if they are still those (an append that unsettles the
/// case again moves `last`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsettled {
    pub case: CaseId,
    pub first: u64,
    pub last: u64,
}

/// Counts of one report row (per step, or per actor) over the tasks of closed cases; the
/// report adds the running cases' tasks at query time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub sop: String,
    pub by_actor: bool,
    /// The step id, or the actor id.
    pub key: String,
    pub open: u64,
    pub completed: u64,
    pub overdue: u64,
    /// Working minutes from opening to completion, summed over the completed tasks.
    pub minutes: u64,
    /// The stated standard, summed over the tasks whose step states one, and their number.
    pub standard: u64,
    pub standard_count: u64,
}

impl Tally {
    /// Adds `other`'s counts (same row).
    pub fn add(&mut self, other: &Tally) {
        self.open += other.open;
        self.completed += other.completed;
        self.overdue += other.overdue;
        self.minutes += other.minutes;
        self.standard += other.standard;
        self.standard_count += other.standard_count;
    }
}

/// The case summaries, the settle markers and the report tallies (see the module).
#[async_trait]
pub trait CaseSummaries: Send + Sync {
    /// The cases the filter passes, newest first.
    async fn case_summaries(&self, filter: &SummaryFilter) -> Result<Vec<CaseSummary>, StoreError>;
    /// The cases with a follow-up not settled yet.
    async fn unsettled(&self) -> Result<Vec<Unsettled>, StoreError>;
    /// Clears the marker of `u.case` and adds `tallies`, in one transaction, if the marker is
    /// still `u`; otherwise changes nothing. Returns whether it settled.
    async fn settle(&self, u: Unsettled, tallies: &[Tally]) -> Result<bool, StoreError>;
    /// How many cases each SOP has in each status: (SOP, status, count).
    async fn case_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError>;
    /// The tallies of the closed, settled cases (of one SOP, or all).
    async fn tallies(&self, sop: Option<&str>) -> Result<Vec<Tally>, StoreError>;
}

/// `ALUR_PROJECTIONS=off`: start-up recovery reads every case and the case list and reports
/// read every case, as before the summaries (for `scripts/bench-years.sh`'s side-by-side
/// `before`; the summaries are still written).
pub fn projections_off() -> bool {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OFF.get_or_init(|| std::env::var("ALUR_PROJECTIONS").is_ok_and(|v| v == "off"))
}

/// Whether the engine owes something after this event: a child case to start, a parent to
/// complete, or a closed case to count.
pub fn unsettles(event: &Event) -> bool {
    matches!(
        event,
        Event::ChildStarted { .. }
            | Event::CaseEnded { .. }
            | Event::CaseWithdrawn { .. }
            | Event::CaseCancelled { .. }
    )
}

/// A new case's summary facts.
pub struct Started<'a> {
    pub sop: &'a str,
    pub version: u32,
    pub applicant: &'a str,
    pub at: DateTime<Utc>,
}

/// How an append changes its case's summary: every store applies it in the append's
/// transaction.
#[derive(Default)]
pub struct SummaryChange<'a> {
    pub started: Option<Started<'a>>,
    /// The status word, the instant the case closed and the end it reached (if it ended).
    pub closed: Option<(&'static str, DateTime<Utc>, Option<&'a str>)>,
    /// The seqs of the first and last events that unsettle the case (the marker keeps an
    /// earlier first).
    pub pending: Option<(u64, u64)>,
}

impl SummaryChange<'_> {
    pub fn is_empty(&self) -> bool {
        self.started.is_none() && self.closed.is_none() && self.pending.is_none()
    }
}

/// The summary change a batch of events implies.
pub fn summary_change(events: &[Recorded]) -> SummaryChange<'_> {
    let mut change = SummaryChange::default();
    for r in events {
        match &r.event {
            Event::CaseStarted { sop, version, applicant, .. } => {
                change.started = Some(Started { sop, version: *version, applicant, at: r.at })
            }
            Event::CaseEnded { end } => change.closed = Some(("ended", r.at, Some(end))),
            Event::CaseWithdrawn { .. } => change.closed = Some(("withdrawn", r.at, None)),
            Event::CaseCancelled { .. } => change.closed = Some(("cancelled", r.at, None)),
            _ => {}
        }
        if unsettles(&r.event) {
            change.pending = Some((change.pending.map_or(r.seq, |(first, _)| first), r.seq));
        }
    }
    change
}
