//! The inbox and timer indexes, derived from events by [`index_changes`](super::index_changes):
//! each case's open tasks and the deadlines in due order. The in-memory store keeps one per
//! shard of cases; the SQLite store keeps one for its file, rebuilt from the event log when the
//! file is opened and brought up to date with what other processes append to it. (PostgreSQL,
//! with several nodes on one database, keeps its indexes in tables instead.)

use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};

use super::{due_order, from_due_order, IndexChange, OpenTask, Timer};
use crate::runtime::{CaseId, TaskNo};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Default)]
pub(crate) struct Index {
    /// Each case's open tasks (a case has a handful at most).
    open: FastMap<CaseId, Vec<OpenTask>>,
    /// Deadlines in due order, then case, then task, as packed keys (see `due_order`).
    timers: BTreeSet<(u128, u128)>,
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
                    self.timers.remove(&due_order(old, timer.case, timer.task));
                }
                self.timers.insert(due_order(timer.due, timer.case, timer.task));
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
            self.timers.remove(&due_order(due, case, task));
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

    /// The SOP of a case with an open task.
    // Not called by the in-memory store; kept for the SQLite store, which shares this index.
    #[allow(dead_code)]
    pub fn sop_of(&self, case: CaseId) -> Option<&str> {
        self.open.get(&case)?.first().map(|t| &*t.sop)
    }

    /// Deadlines in due order (then case, then task).
    pub fn timers(&self) -> impl Iterator<Item = Timer> + '_ {
        self.timers.iter().filter_map(|key| from_due_order(*key))
    }

    /// Deadlines due at or before `until`, earliest first.
    pub fn due(&self, until: DateTime<Utc>) -> impl Iterator<Item = Timer> + '_ {
        self.timers().take_while(move |t| t.due <= until)
    }

    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.timers.first().and_then(|key| from_due_order(*key)).map(|t| t.due)
    }

    /// The due instant of a deadline still to fire.
    pub fn timer(&self, case: CaseId, task: TaskNo) -> Option<DateTime<Utc>> {
        self.timer_of.get(&(case, task)).copied()
    }
}
