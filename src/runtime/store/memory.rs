//! The in-memory store: for tests and simulation. Same contract as the durable stores.

use crate::runtime::name::{Name, Names};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

mod summary;

use super::index::Index;
use super::{
    check_numbering, sort_by_case, sort_by_due, verified, Archived, BlobStore, CaseArchive, Change, ChangeFeed,
    Deployment, DeploymentStore, EventLog, InboxIndex, OpenTask, Partition, StoreError, Timer, TimerIndex,
    CHANGE_FEED_CAPACITY,
};
use crate::runtime::event::{Event, Fields, Recorded};
use crate::runtime::{CaseId, TaskNo};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Each shard keeps its events in one log in commit order, in fixed-size chunks (growing it
/// never moves what is already there); each case keeps the positions of its own events.
const LOG_CHUNK: usize = 8192;

#[derive(Default)]
struct Log {
    chunks: Vec<Vec<Kept>>,
    len: usize,
}

impl Log {
    fn push(&mut self, event: Kept) -> usize {
        if self.len % LOG_CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(LOG_CHUNK));
        }
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push(event);
        }
        self.len += 1;
        self.len - 1
    }

    /// The places the next `n` events will take.
    fn places(&self, n: usize) -> Result<std::ops::Range<u32>, StoreError> {
        let full = || StoreError::Backend("the in-memory store's shard is full (2^32 events)".into());
        let first = u32::try_from(self.len).map_err(|_| full())?;
        let end = u32::try_from(self.len + n).map_err(|_| full())?;
        Ok(first..end)
    }

    fn get(&self, at: usize) -> Option<&Kept> {
        self.chunks.get(at / LOG_CHUNK)?.get(at % LOG_CHUNK)
    }
}

/// An event as the log keeps it: 72 bytes, where a [`Recorded`] is 160. Its case and its
/// place in the stream are the stream's, and the two events a case is mostly made of (a task
/// opened, a task completed with no fields or note) are kept without the room the rarer ones
/// need; the rest are boxed. The log is most of the store's memory: writing it to fresh pages
/// was two fifths of the page faults of a 5,000-case run.
struct Kept {
    at: DateTime<Utc>,
    by: Arc<str>,
    what: KeptEvent,
}

enum KeptEvent {
    Opened { task: TaskNo, step: Name, actors: Names, due: Option<DateTime<Utc>>, uncertain: bool },
    Completed { task: TaskNo, outcome: Option<String> },
    Other(Box<Event>),
}

impl Kept {
    fn from(recorded: Recorded) -> Kept {
        let Recorded { at, by, event, .. } = recorded;
        let what = match event {
            Event::TaskOpened { task, step, actors, due, uncertain } => {
                KeptEvent::Opened { task, step, actors, due, uncertain }
            }
            Event::TaskCompleted { task, outcome, fields, note: None } if fields.is_empty() => {
                KeptEvent::Completed { task, outcome }
            }
            other => KeptEvent::Other(Box::new(other)),
        };
        Kept { at, by, what }
    }

    /// The event as recorded: the `seq`-th of `case`.
    fn recorded(&self, case: CaseId, seq: u64) -> Recorded {
        let event = match &self.what {
            KeptEvent::Opened { task, step, actors, due, uncertain } => {
                Event::TaskOpened { task: *task, step: *step, actors: *actors, due: *due, uncertain: *uncertain }
            }
            KeptEvent::Completed { task, outcome } => {
                Event::TaskCompleted { task: *task, outcome: outcome.clone(), fields: Fields::new(), note: None }
            }
            KeptEvent::Other(event) => Event::clone(event),
        };
        Recorded { case, seq, at: self.at, by: self.by.clone(), event }
    }
}

struct Stream {
    sop: Name,
    /// Positions in the shard's log, in the case's order (a shard's log holds fewer than
    /// 2^32 events: at 72 bytes each that would be 288 GiB).
    at: Vec<u32>,
}

/// The cases whose ids fall in one shard: their events and index entries. Commands on cases in
/// different shards never wait for each other.
#[derive(Default)]
struct Shard {
    log: Log,
    /// A case with open tasks or deadlines keeps its stream in its index entry, so an append
    /// finds both with one look-up (with many cases running, each look-up of a case was a miss
    /// in the cache); the others' streams are in `idle`.
    index: Index<Stream>,
    idle: FastMap<CaseId, Stream>,
    /// Claims on timers: the node and the end of its lease.
    leases: Leases,
    summaries: summary::Summaries,
    /// Ended cases moved out of `idle` by `archive_ended`, with their events as read.
    archived: FastMap<CaseId, Vec<Recorded>>,
}

type Leases = FastMap<(CaseId, TaskNo), (String, DateTime<Utc>)>;

impl Shard {
    fn stream(&self, case: CaseId) -> Option<&Stream> {
        self.index.extra(case).or_else(|| self.idle.get(&case))
    }

    fn events(&self, case: CaseId, after: u64) -> Vec<Recorded> {
        let Some(stream) = self.stream(case) else {
            let archived = self.archived.get(&case).map(Vec::as_slice).unwrap_or_default();
            return archived.iter().filter(|r| r.seq > after).cloned().collect();
        };
        let from = usize::try_from(after).unwrap_or(usize::MAX).min(stream.at.len());
        (from..stream.at.len())
            .filter_map(|i| Some(self.log.get(stream.at[i] as usize)?.recorded(case, i as u64 + 1)))
            .collect()
    }

    /// Whether a deadline can be claimed at `now` (nobody holds a live lease on it).
    fn claimable(&self, case: CaseId, task: TaskNo, now: DateTime<Utc>) -> bool {
        self.leases.get(&(case, task)).is_none_or(|(_, until)| *until <= now)
    }
}

/// Applies the index changes of an append to a shard's index; a timer that goes takes its
/// lease with it. `gone` takes the case's stream if its entry goes.
fn apply_events(
    index: &mut Index<Stream>,
    leases: &mut Leases,
    case: CaseId,
    sop: &Name,
    events: &[Recorded],
    gone: impl FnOnce(Stream),
) {
    // Leases exist only where several nodes fire deadlines: most of the time there is none
    // to look up.
    let mut timer_went = |case, task| {
        if !leases.is_empty() {
            leases.remove(&(case, task));
        }
    };
    index.apply_events(case, sop, events, &mut timer_went, gone);
}

/// The events must continue the stream exactly (see `check_numbering`: the log keeps no seq of
/// its own, an event's place in its stream is its number) and all be the case's (the log keeps
/// no case either).
fn misnumbered(case: CaseId, expected: u64, events: &[Recorded]) -> Result<(), StoreError> {
    check_numbering(case, expected, events)?;
    match events.iter().position(|r| r.case != case) {
        Some(i) => {
            Err(StoreError::Refused(format!("event {} appended to case {case} is of case {}", i + 1, events[i].case)))
        }
        None => Ok(()),
    }
}

/// Enough shards that two cores rarely meet on one; a power of two, picked by the low bits of
/// the case id (random in a UUID v7).
const SHARDS: usize = 16;

pub struct MemoryStore {
    shards: Box<[crossbeam_utils::CachePadded<Mutex<Shard>>]>,
    deployments: Mutex<Vec<Deployment>>,
    /// Case ids in the order the cases started.
    order: Mutex<Vec<CaseId>>,
    feed: tokio::sync::broadcast::Sender<Change>,
    /// Set (before subscribing) once anyone asks for the feed. Until then an append announces
    /// nothing: the feed's one lock would be the only one every append on every shard takes,
    /// and a subscriber only ever hears of changes committed after it subscribed.
    feed_wanted: AtomicBool,
    /// Documents by SHA-256.
    blobs: Mutex<FastMap<String, Arc<[u8]>>>,
    /// How many times a blob's bytes were read: lets a test show that reading a case's
    /// history never reads its documents.
    blob_reads: AtomicU64,
    tallies: Mutex<summary::Tallies>,
    numbers: Mutex<Numbers>,
}

impl MemoryStore {
    /// The append, without waiting on anything: the registry calls it under its own lock.
    fn append_now(&self, case: CaseId, expected: u64, events: Vec<Recorded>) -> Result<(), StoreError> {
        let mut shard = self.shard(case)?;
        let Shard { log, index, idle, leases, summaries, .. } = &mut *shard;
        // One look-up of the case for the check, the index and the append (more for a case
        // with nothing open, whose stream is idle).
        let sop = match index.extra_mut(case) {
            Some(stream) => {
                if stream.at.len() as u64 != expected {
                    return Err(StoreError::Conflict(case));
                }
                misnumbered(case, expected, &events)?;
                // The events take the next places in the log (the shard is locked).
                let places = log.places(events.len())?;
                stream.at.extend(places);
                stream.sop
            }
            None => {
                let version = idle.get(&case).map_or(0, |stream| stream.at.len() as u64);
                if version != expected {
                    return Err(StoreError::Conflict(case));
                }
                misnumbered(case, expected, &events)?;
                // Found before anything changes, so a full log refuses the append whole.
                let places = log.places(events.len())?;
                let mut stream = match idle.remove(&case) {
                    Some(stream) => stream,
                    None => {
                        let sop: Name = match events.first().map(|e| &e.event) {
                            Some(Event::CaseStarted { sop, .. }) => sop.as_str().into(),
                            _ => return Err(StoreError::Refused("a case must start with CaseStarted".into())),
                        };
                        // Under the shard's lock, so the case is listed before anyone can
                        // append to it.
                        self.order.lock().map_err(poisoned)?.push(case);
                        Stream { sop, at: Vec::with_capacity(events.len()) }
                    }
                };
                stream.at.extend(places);
                let sop = stream.sop;
                // Into an index entry for the index changes; back out if the case has nothing
                // open after them.
                index.insert(case, stream);
                sop
            }
        };
        apply_events(index, leases, case, &sop, &events, |stream| {
            idle.insert(case, stream);
        });
        summary::apply(summaries, case, &events);
        let version = expected + events.len() as u64;
        for event in events {
            log.push(Kept::from(event));
        }
        // Still under the shard's lock, so one case's versions are announced in order. Checked
        // after the commit: a subscriber that comes after the check subscribed after the commit.
        if self.feed_wanted.load(Ordering::SeqCst) {
            let _ = self.feed.send(Change::Appended { case, version });
        }
        Ok(())
    }
}

/// Registration numbers: each sequence's last number and which case holds each number.
#[derive(Default)]
struct Numbers {
    last: FastMap<String, u64>,
    holders: FastMap<String, CaseId>,
}

#[async_trait]
impl super::Registry for MemoryStore {
    async fn append_registered(
        &self,
        case: CaseId,
        mut events: Vec<Recorded>,
        numbering: &crate::model::Numbering,
    ) -> Result<crate::runtime::event::Registration, StoreError> {
        super::registry::requested(&events)?;
        // The registry's lock is held over the append: the number counts only once the case
        // is in, and no other start takes it meanwhile.
        let mut numbers = self.numbers.lock().map_err(poisoned)?;
        let sequence = numbering.sequence();
        let n = numbers.last.get(&sequence).copied().unwrap_or(0) + 1;
        let (first, registration) = super::registry::numbered(&events[0], numbering, n)?;
        if numbers.holders.contains_key(&registration.number) {
            return Err(super::registry::taken(&registration.number));
        }
        events[0] = first;
        self.append_now(case, 0, events)?;
        numbers.last.insert(sequence, n);
        numbers.holders.insert(registration.number.clone(), case);
        Ok(registration)
    }

    async fn case_by_number(&self, number: &str) -> Result<Option<CaseId>, StoreError> {
        Ok(self.numbers.lock().map_err(poisoned)?.holders.get(number).copied())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Default::default()).collect(),
            deployments: Mutex::default(),
            order: Mutex::default(),
            feed: tokio::sync::broadcast::channel(CHANGE_FEED_CAPACITY).0,
            feed_wanted: AtomicBool::new(false),
            numbers: Mutex::default(),
            blobs: Mutex::default(),
            blob_reads: AtomicU64::new(0),
            tallies: Mutex::default(),
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

    fn unsorted_open_tasks(&self, actors: &[String], partition: Partition) -> Result<Vec<OpenTask>, StoreError> {
        // A partition count that divides the shard count takes whole shards: the other
        // shards hold none of its cases, and its own hold nothing else.
        let whole_shards = SHARDS % partition.count() as usize == 0;
        let shards = || {
            self.shards
                .iter()
                .enumerate()
                .filter(move |(at, _)| !whole_shards || *at % partition.count() as usize == partition.index() as usize)
                .map(|(_, s)| s.lock().map_err(poisoned))
        };
        // Sized first (a case has about one open task), so the list is not copied as it grows.
        let mut expected = 0;
        for shard in shards() {
            expected += shard?.index.cases_with_open_tasks();
        }
        let mut tasks = Vec::with_capacity(expected);
        for shard in shards() {
            let shard = shard?;
            let open = shard.index.open_tasks(actors);
            if whole_shards {
                tasks.extend(open.cloned());
            } else {
                tasks.extend(open.filter(|t| partition.holds(t.case)).cloned());
            }
        }
        Ok(tasks)
    }

    fn each_shard(&self) -> impl Iterator<Item = Result<MutexGuard<'_, Shard>, StoreError>> {
        self.shards.iter().map(|s| s.lock().map_err(poisoned))
    }
}

impl MemoryStore {
    /// How many times a document's bytes were read (`BlobStore::blob`) since the store was made.
    pub fn blob_reads(&self) -> u64 {
        self.blob_reads.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl BlobStore for MemoryStore {
    async fn put_blob(&self, bytes: Vec<u8>) -> Result<String, StoreError> {
        let sha256 = crate::runtime::media::sha256_hex(&bytes);
        self.blobs.lock().map_err(poisoned)?.entry(sha256.clone()).or_insert_with(|| bytes.into());
        Ok(sha256)
    }

    async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.blob_reads.fetch_add(1, Ordering::Relaxed);
        let bytes = self.blobs.lock().map_err(poisoned)?.get(sha256).cloned();
        bytes.map(|b| verified(sha256, b.to_vec())).transpose()
    }

    async fn has_blob(&self, sha256: &str) -> Result<bool, StoreError> {
        Ok(self.blobs.lock().map_err(poisoned)?.contains_key(sha256))
    }
}

#[async_trait]
impl EventLog for MemoryStore {
    /// Always: it has no schema, and answers as long as the process lives.
    async fn ready(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn sharing(&self) -> super::Sharing {
        super::Sharing::OneProcess
    }

    async fn append(&self, case: CaseId, expected: u64, events: &[Recorded]) -> Result<(), StoreError> {
        self.append_owned(case, expected, events.to_vec()).await
    }

    async fn append_owned(&self, case: CaseId, expected: u64, events: Vec<Recorded>) -> Result<(), StoreError> {
        self.append_now(case, expected, events)
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
}

#[async_trait]
impl InboxIndex for MemoryStore {
    async fn open_tasks(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError> {
        let mut tasks = self.unsorted_open_tasks(actors, Partition::all())?;
        sort_by_case(&mut tasks);
        Ok(tasks)
    }

    async fn inbox(&self, actors: &[String]) -> Result<Vec<OpenTask>, StoreError> {
        self.inbox_of(actors, Partition::all()).await
    }

    async fn inbox_of(&self, actors: &[String], partition: Partition) -> Result<Vec<OpenTask>, StoreError> {
        let mut tasks = self.unsorted_open_tasks(actors, partition)?;
        sort_by_due(&mut tasks);
        Ok(tasks)
    }
}

#[async_trait]
impl TimerIndex for MemoryStore {
    async fn due_timers(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let mut due = Vec::new();
        for shard in self.each_shard() {
            due.extend(shard?.index.due(until).take(limit));
        }
        due.sort_unstable_by_key(|t| (t.due, t.case, t.task));
        due.truncate(limit);
        Ok(due)
    }

    async fn next_timer(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut next: Option<DateTime<Utc>> = None;
        for shard in self.each_shard() {
            if let Some(due) = shard?.index.next_due() {
                next = Some(next.map_or(due, |n| n.min(due)));
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
            candidates.extend(shard.index.due(now).filter(|t| shard.claimable(t.case, t.task, now)).take(limit));
        }
        candidates.sort_unstable_by_key(|t| (t.due, t.case, t.task));
        candidates.truncate(limit);
        let mut claimed = Vec::with_capacity(candidates.len());
        for Timer { case, task, due } in candidates {
            let mut shard = self.shard(case)?;
            if shard.index.timer(case, task) == Some(due) && shard.claimable(case, task, now) {
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
            for Timer { case, task, due } in shard.index.timers() {
                if best.is_some_and(|b| due >= b) {
                    break;
                }
                let at = match shard.leases.get(&(case, task)) {
                    Some((_, until)) => (*until).max(due),
                    None => due,
                };
                best = Some(best.map_or(at, |b| b.min(at)));
            }
        }
        Ok(best)
    }
}

#[async_trait]
impl DeploymentStore for MemoryStore {
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
}

impl ChangeFeed for MemoryStore {
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.feed_wanted.store(true, Ordering::SeqCst);
        self.feed.subscribe()
    }

    fn feed_reach(&self) -> super::FeedReach {
        super::FeedReach::ThisInstance
    }

    /// Nothing to count: the in-memory store has no commits of its own.
    fn observe(&self, _metrics: Arc<crate::runtime::metrics::StoreMetrics>) {}
}

#[async_trait]
impl CaseArchive for MemoryStore {
    async fn archive_ended(&self, before: DateTime<Utc>, _now: DateTime<Utc>) -> Result<Archived, StoreError> {
        let mut done = Archived::default();
        for shard in self.each_shard() {
            let mut shard = shard?;
            let ended: Vec<(CaseId, bool)> = shard
                .summaries
                .iter()
                .filter(|(case, (s, _))| s.status != "active" && !shard.archived.contains_key(case))
                .map(|(case, (s, pending))| {
                    let movable = pending.is_none()
                        && s.closed.is_some_and(|closed| closed < before)
                        && shard.idle.contains_key(case);
                    (*case, movable)
                })
                .collect();
            for (case, movable) in ended {
                if !movable {
                    done.kept += 1;
                    continue;
                }
                let events = shard.events(case, 0);
                shard.idle.remove(&case);
                done.cases += 1;
                done.events += events.len() as u64;
                shard.archived.insert(case, events);
            }
        }
        Ok(done)
    }

    fn archive_place(&self) -> String {
        "memory".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log's entry is most of the store's memory per case (see `Kept`).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_kept_event_takes_72_bytes() {
        assert_eq!(std::mem::size_of::<Kept>(), 72);
    }

    #[tokio::test]
    async fn an_event_of_another_case_is_refused() {
        let store = MemoryStore::new();
        let (case, other) = (CaseId::new(), CaseId::new());
        let started = crate::runtime::store::started_event;
        let refused = store.append(case, 0, &[started(other)]).await;
        assert!(matches!(&refused, Err(StoreError::Refused(m)) if m.contains("is of case")), "{refused:?}");
        assert!(store.case_ids().await.is_ok_and(|ids| ids.is_empty()));
        assert!(store.append(case, 0, &[started(case)]).await.is_ok());
        assert!(store.events(case).await.is_ok_and(|events| events == [started(case)]));
    }
}
