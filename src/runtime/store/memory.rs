//! The in-memory store: for tests and simulation. Same contract as the durable stores.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use super::{index_changes, Change, Deployment, IndexChange, OpenTask, Store, StoreError, Timer, CHANGE_FEED_CAPACITY};
use crate::runtime::event::{Event, Recorded};
use crate::runtime::{CaseId, TaskNo};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Events are kept in one log in commit order, in fixed-size chunks (growing it never moves
/// what is already there); each case keeps the positions of its own events.
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
    /// Positions in the log, in the case's order.
    at: Vec<usize>,
}

#[derive(Default)]
struct Inner {
    deployments: Vec<Deployment>,
    log: Log,
    streams: FastMap<CaseId, Stream>,
    order: Vec<CaseId>,
    /// The inbox index: each case's open tasks (a case has a handful at most).
    open: FastMap<CaseId, Vec<OpenTask>>,
    /// Deadlines in due order; the case id as a number, which compares cheaply.
    timers: BTreeSet<(DateTime<Utc>, u128, TaskNo)>,
    timer_of: FastMap<(CaseId, TaskNo), DateTime<Utc>>,
    /// Claims on timers: the node and the end of its lease.
    leases: FastMap<(CaseId, TaskNo), (String, DateTime<Utc>)>,
}

impl Inner {
    fn events(&self, case: CaseId, after: u64) -> Vec<Recorded> {
        let Some(stream) = self.streams.get(&case) else { return Vec::new() };
        let from = usize::try_from(after).unwrap_or(usize::MAX).min(stream.at.len());
        stream.at[from..].iter().filter_map(|at| self.log.get(*at)).cloned().collect()
    }
}

pub struct MemoryStore {
    inner: Mutex<Inner>,
    feed: tokio::sync::broadcast::Sender<Change>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore { inner: Mutex::default(), feed: tokio::sync::broadcast::channel(CHANGE_FEED_CAPACITY).0 }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        self.inner.lock().map_err(|_| StoreError::Backend("the in-memory store was poisoned".into()))
    }
}

fn case_id(number: u128) -> CaseId {
    CaseId(uuid::Uuid::from_u128(number))
}

impl Inner {
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
                self.leases.remove(&(timer.case, timer.task));
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

    fn clear_timer(&mut self, case: CaseId, task: TaskNo) {
        self.leases.remove(&(case, task));
        if let Some(due) = self.timer_of.remove(&(case, task)) {
            self.timers.remove(&(due, case.0.as_u128(), task));
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn save_deployment(&self, deployment: &Deployment) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if !inner.deployments.iter().any(|d| d.sop == deployment.sop && d.version == deployment.version) {
            inner.deployments.push(deployment.clone());
            // Nobody listening is fine.
            let _ = self.feed.send(Change::Deployed { sop: deployment.sop.clone(), version: deployment.version });
        }
        Ok(())
    }

    async fn deployments(&self) -> Result<Vec<Deployment>, StoreError> {
        Ok(self.lock()?.deployments.clone())
    }

    async fn append(&self, case: CaseId, expected: u64, events: &[Recorded]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let inner = &mut *inner;
        let current = inner.streams.get(&case).map(|s| s.at.len() as u64).unwrap_or(0);
        if current != expected {
            return Err(StoreError::Conflict(case));
        }
        let sop = match inner.streams.get(&case) {
            Some(stream) => stream.sop.clone(),
            None => {
                let sop: std::sync::Arc<str> = match events.first().map(|e| &e.event) {
                    Some(Event::CaseStarted { sop, .. }) => sop.as_str().into(),
                    _ => return Err(StoreError::Backend("a case must start with CaseStarted".into())),
                };
                inner.streams.insert(case, Stream { sop: sop.clone(), at: Vec::new() });
                inner.order.push(case);
                sop
            }
        };
        for change in index_changes(&sop, events) {
            inner.apply(change);
        }
        let positions: Vec<usize> = events.iter().map(|e| inner.log.push(e.clone())).collect();
        if let Some(stream) = inner.streams.get_mut(&case) {
            stream.at.extend(positions);
        }
        let _ = self.feed.send(Change::Appended { case, version: expected + events.len() as u64 });
        Ok(())
    }

    async fn events(&self, case: CaseId) -> Result<Vec<Recorded>, StoreError> {
        Ok(self.lock()?.events(case, 0))
    }

    async fn events_after(&self, case: CaseId, seq: u64) -> Result<Vec<Recorded>, StoreError> {
        Ok(self.lock()?.events(case, seq))
    }

    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        Ok(self.lock()?.order.clone())
    }

    async fn open_tasks(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError> {
        let inner = self.lock()?;
        let mut tasks: Vec<OpenTask> = inner
            .open
            .values()
            .flatten()
            .filter(|t| actors.is_empty() || t.actors.iter().any(|a| actors.contains(a)))
            .cloned()
            .collect();
        tasks.sort_unstable_by_key(|t| (t.case, t.task));
        Ok(tasks)
    }

    async fn due_timers(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .timers
            .iter()
            .take_while(|(due, _, _)| *due <= until)
            .take(limit)
            .map(|(due, case, task)| Timer { case: case_id(*case), task: *task, due: *due })
            .collect())
    }

    async fn next_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.lock()?.timers.iter().next().map(|(due, _, _)| *due))
    }

    async fn claim_due_timers(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<Timer>, StoreError> {
        let mut inner = self.lock()?;
        let claimable: Vec<Timer> = inner
            .timers
            .iter()
            .take_while(|(due, _, _)| *due <= now)
            .filter(|(_, case, task)| inner.leases.get(&(case_id(*case), *task)).is_none_or(|(_, until)| *until <= now))
            .take(limit)
            .map(|(due, case, task)| Timer { case: case_id(*case), task: *task, due: *due })
            .collect();
        for timer in &claimable {
            inner.leases.insert((timer.case, timer.task), (node.to_string(), now + lease));
        }
        Ok(claimable)
    }

    async fn release_timer(&self, node: &str, case: CaseId, task: TaskNo) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if inner.leases.get(&(case, task)).is_some_and(|(holder, _)| holder == node) {
            inner.leases.remove(&(case, task));
        }
        Ok(())
    }

    async fn next_claimable_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let inner = self.lock()?;
        // In due order: a later due instant cannot beat what was found.
        let mut best: Option<DateTime<Utc>> = None;
        for (due, case, task) in &inner.timers {
            if best.is_some_and(|b| *due >= b) {
                break;
            }
            let at = match inner.leases.get(&(case_id(*case), *task)) {
                Some((_, until)) => (*until).max(*due),
                None => *due,
            };
            best = Some(best.map_or(at, |b| b.min(at)));
        }
        Ok(best)
    }

    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.feed.subscribe()
    }
}
