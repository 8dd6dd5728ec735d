//! The inbox and timer indexes, derived from events by [`index_changes`](super::index_changes):
//! each case's open tasks and the deadlines in due order. The in-memory store keeps one per
//! shard of cases; the SQLite store keeps one for its file, rebuilt from the event log when the
//! file is opened and brought up to date with what other processes append to it. (PostgreSQL,
//! with several nodes on one database, keeps its indexes in tables instead.)

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use super::{due_order, from_due_order, IndexChange, OpenTask, Timer};
use crate::runtime::{CaseId, TaskNo};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// A deadline's packed key (see `due_order`).
type TimerKey = (u128, u128);

/// The bucket of due time a deadline falls in: 64 seconds (the high 64 bits of the key are the
/// due seconds, ordered).
fn bucket_of(key: &TimerKey) -> u64 {
    ((key.0 >> 64) as u64) >> 6
}

#[derive(Default)]
pub(crate) struct Index {
    /// Each case's open tasks (a case has a handful at most).
    open: FastMap<CaseId, Vec<OpenTask>>,
    /// Deadlines as packed keys (see `due_order`), in buckets of due time in due order;
    /// unordered within a bucket, and sorted when read. Setting or clearing a deadline (every
    /// task does both) is then a hash-set insert or remove instead of a B-tree's, and reading
    /// the next deadlines sorts only the buckets it reaches.
    timers: BTreeMap<u64, FastSet<TimerKey>>,
    timer_of: FastMap<(CaseId, TaskNo), DateTime<Utc>>,
}

impl Index {
    /// Applies one change. `timer_went` hears of every deadline set anew or cleared (a claim on
    /// it, where the store keeps claims, ends there).
    pub fn apply(&mut self, change: IndexChange, timer_went: &mut impl FnMut(CaseId, TaskNo)) {
        match change {
            IndexChange::OpenTask(task) => {
                let tasks = self.open.entry(task.case).or_default();
                tasks.retain(|t| t.task != task.task);
                tasks.push(task);
            }
            IndexChange::Claim { case, task, user } => {
                if let Some(t) = self.open_task(case, task) {
                    t.claimed_by = user;
                }
            }
            IndexChange::AddActor { case, task, actor } => {
                if let Some(t) = self.open_task(case, task) {
                    if !t.actors.iter().any(|a| **a == *actor) {
                        t.actors = t.actors.iter().cloned().chain([actor.into()]).collect();
                    }
                }
            }
            IndexChange::CloseTask { case, task } => {
                // The case's entry stays (its next task usually opens in the same append); it
                // goes when the case closes.
                if let Some(tasks) = self.open.get_mut(&case) {
                    tasks.retain(|t| t.task != task);
                }
            }
            IndexChange::CloseCase { case } => {
                for open in self.open.remove(&case).unwrap_or_default() {
                    self.clear_timer(case, open.task, timer_went);
                }
            }
            IndexChange::SetTimer(timer) => {
                timer_went(timer.case, timer.task);
                if let Some(old) = self.timer_of.insert((timer.case, timer.task), timer.due) {
                    self.remove_timer(due_order(old, timer.case, timer.task));
                }
                let key = due_order(timer.due, timer.case, timer.task);
                self.timers.entry(bucket_of(&key)).or_default().insert(key);
            }
            IndexChange::ClearTimer { case, task } => self.clear_timer(case, task, timer_went),
        }
    }

    fn open_task(&mut self, case: CaseId, task: TaskNo) -> Option<&mut OpenTask> {
        self.open.get_mut(&case)?.iter_mut().find(|t| t.task == task)
    }

    fn clear_timer(&mut self, case: CaseId, task: TaskNo, timer_went: &mut impl FnMut(CaseId, TaskNo)) {
        timer_went(case, task);
        if let Some(due) = self.timer_of.remove(&(case, task)) {
            self.remove_timer(due_order(due, case, task));
        }
    }

    fn remove_timer(&mut self, key: TimerKey) {
        let bucket = bucket_of(&key);
        if let Some(keys) = self.timers.get_mut(&bucket) {
            keys.remove(&key);
            if keys.is_empty() {
                self.timers.remove(&bucket);
            }
        }
    }

    /// Open tasks any of whose actors is in `actors` (all of them when empty), in no order.
    pub fn open_tasks<'a>(&'a self, actors: &'a [String]) -> impl Iterator<Item = &'a OpenTask> + 'a {
        self.open
            .values()
            .flatten()
            .filter(move |t| actors.is_empty() || t.actors.iter().any(|a| actors.iter().any(|b| **a == **b)))
    }

    /// How many cases have open tasks (or had, and are still active).
    pub fn cases_with_open_tasks(&self) -> usize {
        self.open.len()
    }

    /// The SOP of a case with an open task (the SQLite store asks, for a task opening in a
    /// case it did not start itself).
    pub fn sop_of(&self, case: CaseId) -> Option<&Arc<str>> {
        self.open.get(&case)?.first().map(|t| &t.sop)
    }

    /// Deadlines in due order (then case, then task).
    pub fn timers(&self) -> impl Iterator<Item = Timer> + '_ {
        self.timers.values().flat_map(|bucket| {
            let mut keys: Vec<TimerKey> = bucket.iter().copied().collect();
            keys.sort_unstable();
            keys.into_iter().filter_map(from_due_order)
        })
    }

    /// Deadlines due at or before `until`, earliest first.
    pub fn due(&self, until: DateTime<Utc>) -> impl Iterator<Item = Timer> + '_ {
        self.timers().take_while(move |t| t.due <= until)
    }

    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        let first = self.timers.values().next()?.iter().min()?;
        from_due_order(*first).map(|t| t.due)
    }

    /// The due instant of a deadline still to fire.
    pub fn timer(&self, case: CaseId, task: TaskNo) -> Option<DateTime<Utc>> {
        self.timer_of.get(&(case, task)).copied()
    }
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
}
