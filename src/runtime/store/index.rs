//! The inbox and timer indexes, derived from events by [`index_changes`](super::index_changes):
//! each case's open tasks and the deadlines in due order. The in-memory store keeps one per
//! shard of cases; the SQLite store keeps one for its file, rebuilt from the event log when the
//! file is opened and brought up to date with what other processes append to it. (PostgreSQL,
//! with several nodes on one database, keeps its indexes in tables instead.)

use crate::runtime::name::Name;
use chrono::{DateTime, Utc};
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashMap};

use super::{due_order, for_each_index_change, from_due_order, IndexChange, OpenTask, Timer};
use crate::runtime::event::Recorded;
use crate::runtime::{CaseId, TaskNo};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A deadline's packed key (see `due_order`).
type TimerKey = (u128, u128);

/// The bucket of due time a deadline falls in: 64 seconds (the high 64 bits of the key are the
/// due seconds, ordered).
fn bucket_of(key: &TimerKey) -> u64 {
    ((key.0 >> 64) as u64) >> 6
}

/// Held in the map itself: a case mostly has one open task and one or two deadlines, so a
/// command on it reads them where it finds the case, not behind one more pointer (with many
/// cases running, each pointer followed was a miss in the cache), and reading the inbox walks
/// the map's table.
/// `X` is what else the store keeps per case beside its index entry, so one look-up finds
/// both (the in-memory store keeps the case's event stream there; SQLite nothing).
struct CaseEntry<X> {
    /// The case's open tasks (a handful at most).
    open: SmallVec<[OpenTask; 1]>,
    /// The due instants of its deadlines still to fire, by task.
    timers: SmallVec<[(TaskNo, DateTime<Utc>); 2]>,
    extra: X,
}

impl<X> CaseEntry<X> {
    fn new(extra: X) -> CaseEntry<X> {
        CaseEntry { open: SmallVec::new(), timers: SmallVec::new(), extra }
    }
}

pub(crate) struct Index<X = ()> {
    /// Per case with open tasks or deadlines, those and the store's `X`: one look-up serves
    /// every change an append makes to its case (see `apply_events`).
    cases: FastMap<CaseId, CaseEntry<X>>,
    /// The deadlines in due order, for the timer service.
    timers: Deadlines,
}

impl<X> Default for Index<X> {
    fn default() -> Self {
        Index { cases: FastMap::default(), timers: Deadlines::default() }
    }
}

/// Deadlines as packed keys (see `due_order`) in buckets of due time, in due order; unordered
/// within a bucket, and sorted when read (reading the next deadlines sorts only the buckets it
/// reaches). Setting a deadline appends its key to its bucket; clearing one (every task sets
/// and clears one) only counts it out of its bucket: the case's entry says which deadlines are
/// live, and a key that is not is skipped when read. A bucket goes once none of its deadlines
/// is live. Its tasks open within about a minute of each other, so it fills once and then
/// drains; one that keeps taking deadlines while gathering dead keys is tidied.
#[derive(Default)]
struct Deadlines {
    buckets: BTreeMap<u64, Bucket>,
    /// Buckets with twice as many dead keys as live ones, to tidy after the change.
    untidy: Vec<u64>,
}

#[derive(Default)]
struct Bucket {
    keys: Vec<TimerKey>,
    /// How many distinct keys in `keys` are live deadlines.
    live: usize,
}

impl Deadlines {
    /// Adds a deadline to its bucket. A bucket that keeps taking deadlines while most of its
    /// keys are dead is tidied (after as many adds again as it has live keys, so tidying costs
    /// a constant per add). One that only drains is not: it goes whole once its last deadline
    /// does, and tidying it on the way would read every key again and again.
    fn add(&mut self, key: TimerKey) {
        let at = bucket_of(&key);
        let bucket = self.buckets.entry(at).or_default();
        bucket.keys.push(key);
        bucket.live += 1;
        if bucket.keys.len() > 2 * bucket.live + 64 && !self.untidy.contains(&at) {
            self.untidy.push(at);
        }
    }

    /// Counts a live deadline out of its bucket.
    fn remove(&mut self, key: TimerKey) {
        let at = bucket_of(&key);
        let Some(bucket) = self.buckets.get_mut(&at) else { return };
        bucket.live = bucket.live.saturating_sub(1);
        if bucket.live == 0 {
            self.buckets.remove(&at);
        }
    }

    /// Drops the dead keys of the untidy buckets.
    fn tidy<X>(&mut self, cases: &FastMap<CaseId, CaseEntry<X>>) {
        for at in std::mem::take(&mut self.untidy) {
            if let Some(bucket) = self.buckets.get_mut(&at) {
                bucket.keys.retain(|key| is_live(cases, *key));
                bucket.keys.sort_unstable();
                bucket.keys.dedup();
                bucket.live = bucket.keys.len();
                if bucket.live == 0 {
                    self.buckets.remove(&at);
                }
            }
        }
    }
}

/// Whether a key is a live deadline: its case's entry has it.
fn is_live<X>(cases: &FastMap<CaseId, CaseEntry<X>>, key: TimerKey) -> bool {
    from_due_order(key).is_some_and(|t| {
        cases.get(&t.case).is_some_and(|entry| entry.timers.iter().any(|(task, due)| *task == t.task && *due == t.due))
    })
}

/// A bucket's live keys, sorted.
fn live_keys<X>(cases: &FastMap<CaseId, CaseEntry<X>>, bucket: &Bucket) -> Vec<TimerKey> {
    let mut keys: Vec<TimerKey> = bucket.keys.iter().copied().filter(|key| is_live(cases, *key)).collect();
    keys.sort_unstable();
    // A deadline cleared and set again at the same instant has its key in twice.
    keys.dedup();
    keys
}

impl IndexChange {
    fn case(&self) -> CaseId {
        match self {
            IndexChange::OpenTask(task) => task.case,
            IndexChange::SetTimer(timer) => timer.case,
            IndexChange::Claim { case, .. }
            | IndexChange::AddActor { case, .. }
            | IndexChange::CloseTask { case, .. }
            | IndexChange::CloseCase { case }
            | IndexChange::ClearTimer { case, .. } => *case,
        }
    }
}

impl Index<()> {
    /// Applies one change. `timer_went` hears of every deadline set anew or cleared (a claim on
    /// it, where the store keeps claims, ends there).
    pub fn apply(&mut self, change: IndexChange, timer_went: &mut impl FnMut(CaseId, TaskNo)) {
        let case = change.case();
        let Index { cases, timers } = self;
        let entry = match change {
            IndexChange::OpenTask(_) | IndexChange::SetTimer(_) => {
                cases.entry(case).or_insert_with(|| CaseEntry::new(()))
            }
            _ => match cases.get_mut(&case) {
                Some(entry) => entry,
                None => {
                    if let IndexChange::ClearTimer { task, .. } = change {
                        timer_went(case, task);
                    }
                    return;
                }
            },
        };
        if apply_to(entry, timers, case, change, timer_went) {
            cases.remove(&case);
        }
        if !timers.untidy.is_empty() {
            timers.tidy(cases);
        }
    }
}

impl<X> Index<X> {
    /// The store's `X` of a case with an index entry.
    pub fn extra(&self, case: CaseId) -> Option<&X> {
        self.cases.get(&case).map(|entry| &entry.extra)
    }

    pub fn extra_mut(&mut self, case: CaseId) -> Option<&mut X> {
        self.cases.get_mut(&case).map(|entry| &mut entry.extra)
    }

    /// Gives a case with no entry one, holding `extra`.
    pub fn insert(&mut self, case: CaseId, extra: X) {
        self.cases.entry(case).or_insert_with(|| CaseEntry::new(extra));
    }

    /// Applies the index changes of events appended to `case`, which has an entry (see
    /// [`Index::insert`]); all the events are that case's. An entry left with no open task and
    /// no deadline goes, and `gone` takes its `X`.
    pub fn apply_events(
        &mut self,
        case: CaseId,
        sop: &Name,
        events: &[Recorded],
        timer_went: &mut impl FnMut(CaseId, TaskNo),
        gone: impl FnOnce(X),
    ) {
        let Index { cases, timers } = self;
        let Some(entry) = cases.get_mut(&case) else { return };
        let mut closed = false;
        for_each_index_change(sop, events, |change| closed |= apply_to(entry, timers, case, change, timer_went));
        if closed || (entry.open.is_empty() && entry.timers.is_empty()) {
            if let Some(entry) = cases.remove(&case) {
                gone(entry.extra);
            }
        }
        if !timers.untidy.is_empty() {
            timers.tidy(cases);
        }
    }

    /// Open tasks any of whose actors is in `actors` (all of them when empty), in no order.
    pub fn open_tasks<'a>(&'a self, actors: &'a [String]) -> impl Iterator<Item = &'a OpenTask> + 'a {
        self.cases
            .values()
            .flat_map(|entry| &entry.open)
            .filter(move |t| actors.is_empty() || t.actors.iter().any(|a| actors.iter().any(|b| **a == **b)))
    }

    /// How many cases have open tasks (or had, and are still active).
    pub fn cases_with_open_tasks(&self) -> usize {
        self.cases.len()
    }

    /// The SOP of a case with an open task (the SQLite store asks, for a task opening in a
    /// case it did not start itself).
    pub fn sop_of(&self, case: CaseId) -> Option<&Name> {
        self.cases.get(&case)?.open.first().map(|t| &t.sop)
    }

    /// A case's open tasks (for a checkpoint of the index).
    pub fn open_of(&self, case: CaseId) -> &[OpenTask] {
        self.cases.get(&case).map_or(&[], |entry| &entry.open[..])
    }

    /// A case's deadlines still to fire, by task (for a checkpoint of the index).
    pub fn timers_of(&self, case: CaseId) -> &[(TaskNo, DateTime<Utc>)] {
        self.cases.get(&case).map_or(&[], |entry| &entry.timers[..])
    }

    /// Deadlines in due order (then case, then task).
    pub fn timers(&self) -> impl Iterator<Item = Timer> + '_ {
        self.timers
            .buckets
            .values()
            .flat_map(|bucket| live_keys(&self.cases, bucket).into_iter().filter_map(from_due_order))
    }

    /// Deadlines due at or before `until`, earliest first.
    pub fn due(&self, until: DateTime<Utc>) -> impl Iterator<Item = Timer> + '_ {
        self.timers().take_while(move |t| t.due <= until)
    }

    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        // The first bucket has a live deadline (an empty one goes).
        let bucket = self.timers.buckets.values().next()?;
        let first = bucket.keys.iter().copied().filter(|key| is_live(&self.cases, *key)).min()?;
        from_due_order(first).map(|t| t.due)
    }

    /// The due instant of a deadline still to fire.
    pub fn timer(&self, case: CaseId, task: TaskNo) -> Option<DateTime<Utc>> {
        self.cases.get(&case)?.timers.iter().find(|(t, _)| *t == task).map(|(_, due)| *due)
    }
}

/// Applies one change to its case's entry and the deadline buckets; true when the case closed
/// (its entry is to go).
fn apply_to<X>(
    entry: &mut CaseEntry<X>,
    timers: &mut Deadlines,
    case: CaseId,
    change: IndexChange,
    timer_went: &mut impl FnMut(CaseId, TaskNo),
) -> bool {
    match change {
        IndexChange::OpenTask(task) => {
            entry.open.retain(|t| t.task != task.task);
            entry.open.push(task);
        }
        IndexChange::Claim { task, user, .. } => {
            if let Some(t) = entry.open.iter_mut().find(|t| t.task == task) {
                t.claimed_by = user;
            }
        }
        IndexChange::AddActor { task, actor, .. } => {
            if let Some(t) = entry.open.iter_mut().find(|t| t.task == task) {
                if !t.actors.iter().any(|a| **a == *actor) {
                    t.actors = t.actors.iter().cloned().chain([actor.into()]).collect();
                }
            }
        }
        // The case's entry stays (its next task usually opens in the same append); it goes
        // when the case closes.
        IndexChange::CloseTask { task, .. } => entry.open.retain(|t| t.task != task),
        IndexChange::CloseCase { .. } => {
            for open in std::mem::take(&mut entry.open) {
                timer_went(case, open.task);
            }
            for (task, due) in std::mem::take(&mut entry.timers) {
                timer_went(case, task);
                timers.remove(due_order(due, case, task));
            }
            return true;
        }
        IndexChange::SetTimer(timer) => {
            timer_went(case, timer.task);
            match entry.timers.iter_mut().find(|(t, _)| *t == timer.task) {
                Some(slot) => {
                    let old = std::mem::replace(&mut slot.1, timer.due);
                    timers.remove(due_order(old, case, timer.task));
                }
                None => entry.timers.push((timer.task, timer.due)),
            }
            timers.add(due_order(timer.due, case, timer.task));
        }
        IndexChange::ClearTimer { task, .. } => {
            timer_went(case, task);
            if let Some(at) = entry.timers.iter().position(|(t, _)| *t == task) {
                let (_, due) = entry.timers.swap_remove(at);
                timers.remove(due_order(due, case, task));
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_come_in_due_order_across_and_within_buckets() {
        let case = |n: u128| CaseId(uuid::Uuid::from_u128(n));
        let at = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or_default();
        let mut index = Index::default();
        let mut went = |_: CaseId, _: TaskNo| {};
        // Same instant, same 64-second bucket, other buckets, before the epoch.
        let set = [(3, 1, 1_000), (1, 2, 1_000), (1, 1, 1_000), (2, 1, 1_010), (9, 1, 5_000), (4, 4, -70)];
        for (c, task, secs) in set {
            index.apply(IndexChange::SetTimer(Timer { case: case(c), task, due: at(secs) }), &mut went);
        }
        // Moved to a later bucket, then one cleared.
        index.apply(IndexChange::SetTimer(Timer { case: case(3), task: 1, due: at(4_000) }), &mut went);
        index.apply(IndexChange::ClearTimer { case: case(2), task: 1 }, &mut went);
        let order: Vec<_> = index.timers().map(|t| (t.case, t.task, t.due)).collect();
        let expected = vec![
            (case(4), 4, at(-70)),
            (case(1), 1, at(1_000)),
            (case(1), 2, at(1_000)),
            (case(3), 1, at(4_000)),
            (case(9), 1, at(5_000)),
        ];
        assert_eq!(order, expected);
        assert_eq!(index.next_due(), Some(at(-70)));
        assert_eq!(index.due(at(1_000)).count(), 3);
        assert_eq!(index.timer(case(3), 1), Some(at(4_000)));
        assert_eq!(index.timer(case(2), 1), None);
    }

    #[test]
    fn cleared_deadlines_are_skipped_and_tidied_away() {
        let case = |n: u128| CaseId(uuid::Uuid::from_u128(n));
        let at = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or_default();
        let mut index = Index::default();
        let mut went = |_: CaseId, _: TaskNo| {};
        let set = |c, task, secs| IndexChange::SetTimer(Timer { case: case(c), task, due: at(secs) });
        // Cleared and set again at the same instant: its key is in its bucket twice, read once.
        index.apply(set(1, 1, 1_000), &mut went);
        index.apply(IndexChange::ClearTimer { case: case(1), task: 1 }, &mut went);
        index.apply(set(1, 1, 1_000), &mut went);
        index.apply(set(2, 1, 1_001), &mut went);
        assert_eq!(index.timers().count(), 2);
        // Hundreds set and cleared in the bucket of one live deadline: the bucket is tidied,
        // and the live one stays.
        for c in 10..400 {
            index.apply(set(c, 1, 1_002), &mut went);
            index.apply(IndexChange::ClearTimer { case: case(c), task: 1 }, &mut went);
        }
        let bucket = index.timers.buckets.get(&(bucket_of(&due_order(at(1_000), case(1), 1)))).map(|b| b.keys.len());
        assert!(bucket.is_some_and(|len| len <= 2 * 2 + 64), "{bucket:?}");
        let order: Vec<_> = index.timers().map(|t| (t.case, t.due)).collect();
        assert_eq!(order, vec![(case(1), at(1_000)), (case(2), at(1_001))]);
        // A bucket that only drains is left as it is (it goes whole with its last deadline).
        for c in 1_000..1_200 {
            index.apply(set(c, 1, 9_000), &mut went);
        }
        for c in 1_000..1_199 {
            index.apply(IndexChange::ClearTimer { case: case(c), task: 1 }, &mut went);
        }
        let draining = index.timers.buckets.get(&bucket_of(&due_order(at(9_000), case(1_199), 1)));
        assert_eq!(draining.map(|b| (b.keys.len(), b.live)), Some((200, 1)));
        assert_eq!(index.due(at(9_000)).filter(|t| t.due == at(9_000)).count(), 1);
        index.apply(IndexChange::ClearTimer { case: case(1_199), task: 1 }, &mut went);
        // A case that closes takes its deadlines along; an emptied bucket goes.
        index.apply(IndexChange::CloseCase { case: case(1) }, &mut went);
        index.apply(IndexChange::ClearTimer { case: case(2), task: 1 }, &mut went);
        assert_eq!(index.timers().count(), 0);
        assert!(index.timers.buckets.is_empty());
        assert_eq!(index.next_due(), None);
    }
}
