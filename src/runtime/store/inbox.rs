//! The inbox index: the open tasks, derived from the events in the same transaction as the
//! append, and the partitions workers split them by.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{due_order, StoreError};
use crate::runtime::name::{Name, Names};
use crate::runtime::{CaseId, TaskNo};

/// An open task in the inbox index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenTask {
    pub case: CaseId,
    pub task: TaskNo,
    /// Interned names, the same the events and the deployment hold (serialized as strings).
    pub sop: Name,
    pub step: Name,
    pub actors: Names,
    /// None for a step whose SOP states no time: it sorts after every task with a due date.
    pub due: Option<DateTime<Utc>>,
    pub claimed_by: Option<String>,
}

#[async_trait]
pub trait InboxIndex: Send + Sync {
    /// Open tasks any of whose actors is in `actors` (all open tasks when empty), by case then task.
    async fn open_tasks(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError>;
    /// `open_tasks` in inbox order: by due instant, then case, then task.
    async fn inbox(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError> {
        let mut tasks = self.open_tasks(actors).await?;
        sort_by_due(&mut tasks);
        Ok(tasks)
    }
    /// `inbox` for the cases of one partition.
    async fn inbox_of(&self, actors: &[String], partition: Partition) -> Result<Vec<OpenTask>, StoreError> {
        let mut tasks = self.inbox(actors).await?;
        tasks.retain(|t| partition.holds(t.case));
        Ok(tasks)
    }
}

/// Sorts open tasks by due instant (tasks without one last), then case, then task. The keys are
/// unique, so an unstable sort gives the one order; the keys are taken out first, so the
/// (large) tasks move only once.
pub(crate) fn sort_by_due(tasks: &mut [OpenTask]) {
    tasks.sort_by_cached_key(inbox_order);
}

/// An open task's place in the inbox: [`due_order`], tasks without a due date after all others.
fn inbox_order(task: &OpenTask) -> (u128, u128) {
    match task.due {
        Some(due) => due_order(due, task.case, task.task),
        None => (u128::MAX, (task.case.0.as_u128() << 32) | u128::from(task.task)),
    }
}

/// Sorts open tasks by case, then task (the order `InboxIndex::open_tasks` returns).
pub(crate) fn sort_by_case(tasks: &mut [OpenTask]) {
    tasks.sort_by_cached_key(|t| (t.case.0.as_u128(), t.task));
}

/// A share of the cases, for workers that split the work between them: case ids are spread
/// over `count` partitions by their low 64 bits (random in a UUID v7), and a worker that takes
/// only the tasks of its partition never races another worker for a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    index: u32,
    count: u32,
}

impl Default for Partition {
    fn default() -> Self {
        Partition::all()
    }
}

impl Partition {
    /// Partition `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u32, count: u32) -> Option<Partition> {
        (index < count).then_some(Partition { index, count })
    }

    /// The whole: one partition holding every case.
    pub fn all() -> Partition {
        Partition { index: 0, count: 1 }
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// The partition of `count` that holds `case` (`count` 0 counts as 1).
    pub fn of(case: CaseId, count: u32) -> Partition {
        let count = count.max(1);
        Partition { index: index_in(case, count), count }
    }

    pub fn holds(&self, case: CaseId) -> bool {
        index_in(case, self.count) == self.index
    }
}

/// Which of `count` partitions a case falls in: by the low 64 bits of its id (random in a UUID
/// v7, and the bits the memory store picks its shards by). A 64-bit remainder is one division,
/// where a 128-bit one is a library call.
fn index_in(case: CaseId, count: u32) -> u32 {
    ((case.0.as_u128() as u64) % u64::from(count.max(1))) as u32
}
