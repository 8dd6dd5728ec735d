//! The in-memory store: for tests and simulation. Same contract as the durable stores.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use super::{index_changes, Change, Deployment, IndexChange, OpenTask, Store, StoreError, Timer, CHANGE_FEED_CAPACITY};
use crate::runtime::event::{Event, Recorded};
use crate::runtime::{CaseId, TaskNo};

#[derive(Default)]
struct Inner {
    deployments: Vec<Deployment>,
    streams: HashMap<CaseId, Vec<Recorded>>,
    order: Vec<CaseId>,
    sop_of: HashMap<CaseId, String>,
    open: BTreeMap<(CaseId, TaskNo), OpenTask>,
    timers: BTreeSet<(DateTime<Utc>, CaseId, TaskNo)>,
    timer_of: HashMap<(CaseId, TaskNo), DateTime<Utc>>,
    /// Claims on timers: the node and the end of its lease.
    leases: HashMap<(CaseId, TaskNo), (String, DateTime<Utc>)>,
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

impl Inner {
    fn apply(&mut self, change: IndexChange) {
        match change {
            IndexChange::OpenTask(task) => {
                self.open.insert((task.case, task.task), task);
            }
            IndexChange::Claim { case, task, user } => {
                if let Some(t) = self.open.get_mut(&(case, task)) {
                    t.claimed_by = user;
                }
            }
            IndexChange::AddActor { case, task, actor } => {
                if let Some(t) = self.open.get_mut(&(case, task)) {
                    if !t.actors.contains(&actor) {
                        t.actors.push(actor);
                    }
                }
            }
            IndexChange::CloseTask { case, task } => {
                self.open.remove(&(case, task));
            }
            IndexChange::CloseCase { case } => {
                let tasks: Vec<_> = self.open.range((case, 0)..=(case, TaskNo::MAX)).map(|(k, _)| *k).collect();
                for key in tasks {
                    self.open.remove(&key);
                    self.leases.remove(&key);
                    if let Some(due) = self.timer_of.remove(&key) {
                        self.timers.remove(&(due, key.0, key.1));
                    }
                }
            }
            IndexChange::SetTimer(timer) => {
                self.leases.remove(&(timer.case, timer.task));
                if let Some(old) = self.timer_of.insert((timer.case, timer.task), timer.due) {
                    self.timers.remove(&(old, timer.case, timer.task));
                }
                self.timers.insert((timer.due, timer.case, timer.task));
            }
            IndexChange::ClearTimer { case, task } => {
                self.leases.remove(&(case, task));
                if let Some(due) = self.timer_of.remove(&(case, task)) {
                    self.timers.remove(&(due, case, task));
                }
            }
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
        let current = inner.streams.get(&case).map(|s| s.len() as u64).unwrap_or(0);
        if current != expected {
            return Err(StoreError::Conflict(case));
        }
        if current == 0 {
            let sop = match events.first().map(|e| &e.event) {
                Some(Event::CaseStarted { sop, .. }) => sop.clone(),
                _ => return Err(StoreError::Backend("a case must start with CaseStarted".into())),
            };
            inner.sop_of.insert(case, sop);
            inner.order.push(case);
        }
        let sop = inner.sop_of.get(&case).cloned().unwrap_or_default();
        for change in index_changes(&sop, events) {
            inner.apply(change);
        }
        inner.streams.entry(case).or_default().extend_from_slice(events);
        let _ = self.feed.send(Change::Appended { case, version: expected + events.len() as u64 });
        Ok(())
    }

    async fn events(&self, case: CaseId) -> Result<Vec<Recorded>, StoreError> {
        Ok(self.lock()?.streams.get(&case).cloned().unwrap_or_default())
    }

    async fn events_after(&self, case: CaseId, seq: u64) -> Result<Vec<Recorded>, StoreError> {
        let inner = self.lock()?;
        let stream = inner.streams.get(&case).map(Vec::as_slice).unwrap_or(&[]);
        Ok(stream.get(seq as usize..).unwrap_or(&[]).to_vec())
    }

    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        Ok(self.lock()?.order.clone())
    }

    async fn open_tasks(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .open
            .values()
            .filter(|t| actors.is_empty() || t.actors.iter().any(|a| actors.contains(a)))
            .cloned()
            .collect())
    }

    async fn due_timers(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .timers
            .iter()
            .take_while(|(due, _, _)| *due <= until)
            .take(limit)
            .map(|(due, case, task)| Timer { case: *case, task: *task, due: *due })
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
            .filter(|(_, case, task)| inner.leases.get(&(*case, *task)).is_none_or(|(_, until)| *until <= now))
            .take(limit)
            .map(|(due, case, task)| Timer { case: *case, task: *task, due: *due })
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
            let at = match inner.leases.get(&(*case, *task)) {
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
