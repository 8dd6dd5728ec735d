//! The timer index: the deadlines still to fire, and the claims on them that hand each due
//! deadline to one node under a lease.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::runtime::{CaseId, TaskNo};

/// A deadline still to fire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub case: CaseId,
    pub task: TaskNo,
    pub due: DateTime<Utc>,
}

/// Every store implements the claims itself, as real claims among every process it is shared
/// by ([`super::EventLog::sharing`]): a store that fell back to `due_timers` would fire each
/// deadline on every node.
#[async_trait]
pub trait TimerIndex: Send + Sync {
    /// Deadlines due at or before `until`, earliest first.
    async fn due_timers(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError>;
    /// The earliest deadline still to fire.
    async fn next_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Claims, for `node`, up to `limit` deadlines due at or before `now` that no node holds a
    /// live lease on, earliest first; each claim's lease runs until `now + lease`. Of several
    /// nodes claiming at once, each deadline goes to exactly one; a lease that ran out (its
    /// node died or hung) can be claimed by any node. A claim ends when the deadline's timer
    /// goes (the firing append clears it), when released, or when its lease runs out.
    async fn claim_due_timers(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<Timer>, StoreError>;

    /// Gives up `node`'s claim on a deadline, so it can be claimed again at once (after firing
    /// it failed). A claim `node` does not hold is left alone.
    async fn release_timer(&self, node: &str, case: CaseId, task: TaskNo) -> Result<(), StoreError>;

    /// When a deadline can next be claimed: the earliest over the timers of the later of the
    /// due instant and the end of a lease on it. A timer service sleeps until then (not until
    /// `next_timer`, which may be a deadline another node is firing right now).
    async fn next_claimable_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// (due, case, task) packed into two numbers that compare in that order: cheaper to compare
/// than the tuple (in sorts and in the timer index's B-tree) and half its size. The seconds
/// (with the sign bit flipped, so they compare as unsigned in time order) and nanoseconds,
/// then the 128 bits of the case id and the task number: 64 + 32 + 128 + 32 bits.
pub(crate) fn due_order(due: DateTime<Utc>, case: CaseId, task: TaskNo) -> (u128, u128) {
    let secs = (due.timestamp() as u64) ^ (1 << 63);
    let case = case.0.as_u128();
    let high = (u128::from(secs) << 64) | (u128::from(due.timestamp_subsec_nanos()) << 32) | (case >> 96);
    (high, (case << 32) | u128::from(task))
}

/// The deadline a [`due_order`] key was made of.
pub(crate) fn from_due_order((high, low): (u128, u128)) -> Option<Timer> {
    let secs = (((high >> 64) as u64) ^ (1 << 63)) as i64;
    let due = DateTime::from_timestamp(secs, (high >> 32) as u32)?;
    let case = ((high & 0xffff_ffff) << 96) | (low >> 32);
    Some(Timer { case: CaseId(uuid::Uuid::from_u128(case)), task: low as u32, due })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_order_sorts_as_the_tuple_and_comes_back() {
        let case = |n: u128| CaseId(uuid::Uuid::from_u128(n));
        let at = |secs: i64, nanos: u32| DateTime::from_timestamp(secs, nanos).unwrap_or_default();
        let mut timers = vec![
            Timer { case: case(u128::MAX), task: 1, due: at(-5, 0) },
            Timer { case: case(1), task: 2, due: at(0, 0) },
            Timer { case: case(1), task: 1, due: at(0, 0) },
            Timer { case: case(1 << 100), task: 0, due: at(0, 0) },
            Timer { case: case(0), task: u32::MAX, due: at(0, 999_999_999) },
            Timer { case: case(7), task: 3, due: at(1_800_000_000, 5) },
            Timer { case: case(7), task: 3, due: at(-1_800_000_000, 5) },
        ];
        let mut packed: Vec<_> = timers.iter().map(|t| due_order(t.due, t.case, t.task)).collect();
        packed.sort_unstable();
        timers.sort_unstable_by_key(|t| (t.due, t.case, t.task));
        let back: Vec<_> = packed.into_iter().filter_map(from_due_order).collect();
        assert_eq!(back, timers);
    }
}
