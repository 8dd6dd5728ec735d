//! The memory store's case summaries and report tallies (see `store::summary`).

use async_trait::async_trait;

use super::{poisoned, FastMap, MemoryStore};
use crate::runtime::event::Recorded;
use crate::runtime::store::summary::{summary_change, CaseSummaries, CaseSummary, SummaryFilter, Tally, Unsettled};
use crate::runtime::store::StoreError;
use crate::runtime::CaseId;

/// A case's summary and the seqs of its first and last unsettled events.
pub(super) type Summaries = FastMap<CaseId, (CaseSummary, Option<(u64, u64)>)>;

/// The report tallies by (SOP, per actor, key).
pub(super) type Tallies = FastMap<(String, bool, String), Tally>;

/// The summary change of an append, under its shard's lock.
pub(super) fn apply(summaries: &mut Summaries, case: CaseId, events: &[Recorded]) {
    let change = summary_change(events);
    if change.is_empty() {
        return;
    }
    if let Some(s) = change.started {
        let summary = CaseSummary {
            case,
            sop: s.sop.to_string(),
            version: s.version,
            applicant: s.applicant.to_string(),
            status: "active".into(),
            started: s.at,
            closed: None,
            end: None,
        };
        summaries.insert(case, (summary, None));
    }
    if let Some((summary, pending)) = summaries.get_mut(&case) {
        if let Some((status, at, end)) = change.closed {
            summary.status = status.into();
            summary.closed = Some(at);
            summary.end = end.map(str::to_string);
        }
        if let Some((first, last)) = change.pending {
            *pending = Some((pending.map_or(first, |(kept, _)| kept), last));
        }
    }
}

#[async_trait]
impl CaseSummaries for MemoryStore {
    async fn case_summaries(&self, filter: &SummaryFilter) -> Result<Vec<CaseSummary>, StoreError> {
        let mut out = Vec::new();
        for shard in self.each_shard() {
            out.extend(shard?.summaries.values().filter(|(s, _)| filter.holds(s)).map(|(s, _)| s.clone()));
        }
        out.sort_unstable_by_key(|s| std::cmp::Reverse(s.case));
        out.truncate(filter.limit);
        Ok(out)
    }

    async fn unsettled(&self) -> Result<Vec<Unsettled>, StoreError> {
        let mut out = Vec::new();
        for shard in self.each_shard() {
            out.extend(shard?.summaries.iter().filter_map(|(case, (_, pending))| {
                let (first, last) = (*pending)?;
                Some(Unsettled { case: *case, first, last })
            }));
        }
        out.sort_unstable_by_key(|u| u.case);
        Ok(out)
    }

    async fn settle(&self, u: Unsettled, tallies: &[Tally]) -> Result<bool, StoreError> {
        let mut shard = self.shard(u.case)?;
        let Some((_, pending)) = shard.summaries.get_mut(&u.case) else { return Ok(false) };
        if *pending != Some((u.first, u.last)) {
            return Ok(false);
        }
        // Under the shard's lock: no append to the case comes between the check and the tallies.
        let mut kept = self.tallies.lock().map_err(poisoned)?;
        *pending = None;
        for t in tallies {
            kept.entry((t.sop.clone(), t.by_actor, t.key.clone()))
                .or_insert_with(|| Tally {
                    sop: t.sop.clone(),
                    by_actor: t.by_actor,
                    key: t.key.clone(),
                    ..Tally::default()
                })
                .add(t);
        }
        Ok(true)
    }

    async fn case_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let mut counts: std::collections::BTreeMap<(String, String), u64> = Default::default();
        for shard in self.each_shard() {
            for (s, _) in shard?.summaries.values() {
                *counts.entry((s.sop.clone(), s.status.clone())).or_default() += 1;
            }
        }
        Ok(counts.into_iter().map(|((sop, status), n)| (sop, status, n)).collect())
    }

    async fn tallies(&self, sop: Option<&str>) -> Result<Vec<Tally>, StoreError> {
        let kept = self.tallies.lock().map_err(poisoned)?;
        Ok(kept.values().filter(|t| sop.is_none_or(|s| s == t.sop)).cloned().collect())
    }
}
