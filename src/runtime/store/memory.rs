//! The in-memory store: for tests and simulation. Same contract as the durable stores.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{index_changes, Change, Deployment, IndexChange, OpenTask, Store, StoreError, Timer, CHANGE_FEED_CAPACITY};
use crate::runtime::event::{Event, Recorded};
use crate::runtime::{CaseId, TaskNo};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Each shard keeps its events in one log in commit order, in fixed-size chunks (growing it
/// never moves what is already there); each case keeps the positions of its own events.
const LOG_CHUNK: usize = 8192;

#[derive(Default)]
struct Log {
    chunks: Vec<Vec<Recorded>>,
    len: usize,
}

impl Log {
    fn push(&mut self, event: Recorded) -> usize {
        if self.len % LOG_CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(LOG_CHUNK));
        }
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push(event);
        }
        self.len += 1;
        self.len - 1
    }

    fn get(&self, at: usize) -> Option<&Recorded> {
        self.chunks.get(at / LOG_CHUNK)?.get(at % LOG_CHUNK)
    }
}

struct Stream {
    sop: std::sync::Arc<str>,
    /// Positions in the shard's log, in the case's order.
    at: Vec<usize>,
}

/// The cases whose ids fall in one shard: their events and index entries. Commands on cases in
/// different shards never wait for each other.
#[derive(Default)]
struct Shard {
    log: Log,
    streams: FastMap<CaseId, Stream>,
    /// The inbox index: each case's open tasks (a case has a handful at most).
    open: FastMap<CaseId, Vec<OpenTask>>,
    /// Deadlines in due order; the case id as a number, which compares cheaply.
    timers: BTreeSet<(DateTime<Utc>, u128, TaskNo)>,
    timer_of: FastMap<(CaseId, TaskNo), DateTime<Utc>>,
    /// Claims on timers: the node and the end of its lease.
    leases: FastMap<(CaseId, TaskNo), (String, DateTime<Utc>)>,
}

impl Shard {
    fn events(&self, case: CaseId, after: u64) -> Vec<Recorded> {
        let Some(stream) = self.streams.get(&case) else { return Vec::new() };
        let from = usize::try_from(after).unwrap_or(usize::MAX).min(stream.at.len());
        stream.at[from..].iter().filter_map(|at| self.log.get(*at)).cloned().collect()
    }

    /// Whether a deadline can be claimed at `now` (nobody holds a live lease on it).
    fn claimable(&self, case: CaseId, task: TaskNo, now: DateTime<Utc>) -> bool {
        self.leases.get(&(case, task)).is_none_or(|(_, until)| *until <= now)
    }
}

/// Enough shards that two cores rarely meet on one; a power of two, picked by the low bits of
/// the case id (random in a UUID v7).
const SHARDS: usize = 16;

pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    deployments: Mutex<Vec<Deployment>>,
    /// Case ids in the order the cases started.
    order: Mutex<Vec<CaseId>>,
    feed: tokio::sync::broadcast::Sender<Change>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            deployments: Mutex::default(),
            order: Mutex::default(),
            feed: tokio::sync::broadcast::channel(CHANGE_FEED_CAPACITY).0,
        }
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Backend("the in-memory store was poisoned".into())
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn shard(&self, case: CaseId) -> Result<MutexGuard<'_, Shard>, StoreError> {
        let index = case.0.as_u128() as usize % SHARDS;
        self.shards[index].lock().map_err(poisoned)
    }

    fn each_shard(&self) -> impl Iterator<Item = Result<MutexGuard<'_, Shard>, StoreError>> {
        self.shards.iter().map(|s| s.lock().map_err(poisoned))
    }
}

fn case_id(number: u128) -> CaseId {
    CaseId(uuid::Uuid::from_u128(number))
}

impl Shard {
    fn apply(&mut self, change: IndexChange) {
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
                    if !t.actors.contains(&actor) {
                        t.actors.push(actor);
                    }
                }
            }
            IndexChange::CloseTask { case, task } => {
                if let Some(tasks) = self.open.get_mut(&case) {
                    tasks.retain(|t| t.task != task);
                    if tasks.is_empty() {
                        self.open.remove(&case);
                    }
                }
            }
            IndexChange::CloseCase { case } => {
                for open in self.open.remove(&case).unwrap_or_default() {
                    self.clear_timer(case, open.task);
                }
            }
            IndexChange::SetTimer(timer) => {
                self.drop_lease(timer.case, timer.task);
                if let Some(old) = self.timer_of.insert((timer.case, timer.task), timer.due) {
                    self.timers.remove(&(old, timer.case.0.as_u128(), timer.task));
                }
                self.timers.insert((timer.due, timer.case.0.as_u128(), timer.task));
            }
            IndexChange::ClearTimer { case, task } => self.clear_timer(case, task),
        }
    }

    fn open_task(&mut self, case: CaseId, task: TaskNo) -> Option<&mut OpenTask> {
        self.open.get_mut(&case)?.iter_mut().find(|t| t.task == task)
    }

    /// Leases exist only where several nodes fire deadlines: most of the time there is none to
    /// look up.
    fn drop_lease(&mut self, case: CaseId, task: TaskNo) {
        if !self.leases.is_empty() {
            self.leases.remove(&(case, task));
        }
    }

    fn clear_timer(&mut self, case: CaseId, task: TaskNo) {
        self.drop_lease(case, task);
        if let Some(due) = self.timer_of.remove(&(case, task)) {
            self.timers.remove(&(due, case.0.as_u128(), task));
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn save_deployment(&self, deployment: &Deployment) -> Result<(), StoreError> {
        let mut deployments = self.deployments.lock().map_err(poisoned)?;
        if !deployments.iter().any(|d| d.sop == deployment.sop && d.version == deployment.version) {
            deployments.push(deployment.clone());
            // Nobody listening is fine.
            let _ = self.feed.send(Change::Deployed { sop: deployment.sop.clone(), version: deployment.version });
        }
        Ok(())
    }

    async fn deployments(&self) -> Result<Vec<Deployment>, StoreError> {
        Ok(self.deployments.lock().map_err(poisoned)?.clone())
    }

    async fn append(&self, case: CaseId, expected: u64, events: &[Recorded]) -> Result<(), StoreError> {
        self.append_owned(case, expected, events.to_vec()).await
    }

    async fn append_owned(&self, case: CaseId, expected: u64, events: Vec<Recorded>) -> Result<(), StoreError> {
        let mut shard = self.shard(case)?;
        let shard = &mut *shard;
        let current = shard.streams.get(&case).map(|s| s.at.len() as u64).unwrap_or(0);
        if current != expected {
            return Err(StoreError::Conflict(case));
        }
        let sop = match shard.streams.get(&case) {
            Some(stream) => stream.sop.clone(),
            None => {
                let sop: std::sync::Arc<str> = match events.first().map(|e| &e.event) {
                    Some(Event::CaseStarted { sop, .. }) => sop.as_str().into(),
                    _ => return Err(StoreError::Backend("a case must start with CaseStarted".into())),
                };
                // Under the shard's lock, so the case is listed before anyone can append to it.
                self.order.lock().map_err(poisoned)?.push(case);
                shard.streams.insert(case, Stream { sop: sop.clone(), at: Vec::new() });
                sop
            }
        };
        for change in index_changes(&sop, &events) {
            shard.apply(change);
        }
        let version = expected + events.len() as u64;
        let Shard { log, streams, .. } = shard;
        if let Some(stream) = streams.get_mut(&case) {
            stream.at.extend(events.into_iter().map(|e| log.push(e)));
        }
        // Still under the shard's lock, so one case's versions are announced in order.
        let _ = self.feed.send(Change::Appended { case, version });
        Ok(())
    }

    async fn events(&self, case: CaseId) -> Result<Vec<Recorded>, StoreError> {
        Ok(self.shard(case)?.events(case, 0))
    }

    async fn events_after(&self, case: CaseId, seq: u64) -> Result<Vec<Recorded>, StoreError> {
        Ok(self.shard(case)?.events(case, seq))
    }

    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        Ok(self.order.lock().map_err(poisoned)?.clone())
    }

    async fn open_tasks(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError> {
        let mut tasks = Vec::new();
        for shard in self.each_shard() {
            tasks.extend(
                shard?
                    .open
                    .values()
                    .flatten()
                    .filter(|t| actors.is_empty() || t.actors.iter().any(|a| actors.contains(a)))
                    .cloned(),
            );
        }
        tasks.sort_unstable_by_key(|t| (t.case, t.task));
        Ok(tasks)
    }

    async fn due_timers(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let mut due = Vec::new();
        for shard in self.each_shard() {
            due.extend(shard?.timers.iter().take_while(|(at, _, _)| *at <= until).take(limit).copied());
        }
        due.sort_unstable();
        due.truncate(limit);
        Ok(due.into_iter().map(|(due, case, task)| Timer { case: case_id(case), task, due }).collect())
    }

    async fn next_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut next: Option<DateTime<Utc>> = None;
        for shard in self.each_shard() {
            if let Some((due, _, _)) = shard?.timers.iter().next() {
                next = Some(next.map_or(*due, |n| n.min(*due)));
            }
        }
        Ok(next)
    }

    async fn claim_due_timers(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<Timer>, StoreError> {
        // First the earliest claimable deadlines over all shards, then each claimed under its
        // shard's lock, checked again (another node may have claimed it in between).
        let mut candidates = Vec::new();
        for shard in self.each_shard() {
            let shard = shard?;
            candidates.extend(
                shard
                    .timers
                    .iter()
                    .take_while(|(due, _, _)| *due <= now)
                    .filter(|(_, case, task)| shard.claimable(case_id(*case), *task, now))
                    .take(limit)
                    .copied(),
            );
        }
        candidates.sort_unstable();
        candidates.truncate(limit);
        let mut claimed = Vec::with_capacity(candidates.len());
        for (due, case, task) in candidates {
            let case = case_id(case);
            let mut shard = self.shard(case)?;
            if shard.timer_of.get(&(case, task)) == Some(&due) && shard.claimable(case, task, now) {
                shard.leases.insert((case, task), (node.to_string(), now + lease));
                claimed.push(Timer { case, task, due });
            }
        }
        Ok(claimed)
    }

    async fn release_timer(&self, node: &str, case: CaseId, task: TaskNo) -> Result<(), StoreError> {
        let mut shard = self.shard(case)?;
        if shard.leases.get(&(case, task)).is_some_and(|(holder, _)| holder == node) {
            shard.leases.remove(&(case, task));
        }
        Ok(())
    }

    async fn next_claimable_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut best: Option<DateTime<Utc>> = None;
        for shard in self.each_shard() {
            let shard = shard?;
            // In due order: a later due instant cannot beat what was found.
            for (due, case, task) in &shard.timers {
                if best.is_some_and(|b| *due >= b) {
                    break;
                }
                let at = match shard.leases.get(&(case_id(*case), *task)) {
                    Some((_, until)) => (*until).max(*due),
                    None => *due,
                };
                best = Some(best.map_or(at, |b| b.min(at)));
            }
        }
        Ok(best)
    }

    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.feed.subscribe()
    }
}
