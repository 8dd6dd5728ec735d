//! A case's state: the fold of its events. Commands read it; nothing else is stored.

use crate::runtime::name::{Name, Names};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

use super::event::{Artifact, Event, Fields, Recorded};
use super::{CaseId, TaskNo};
use crate::model::ClockPolicy;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Active,
    Ended,
    Withdrawn,
    Cancelled,
}

impl CaseStatus {
    pub fn word(self) -> &'static str {
        match self {
            CaseStatus::Active => "active",
            CaseStatus::Ended => "ended",
            CaseStatus::Withdrawn => "withdrawn",
            CaseStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Completed,
    Expired,
    Cancelled,
}

impl TaskStatus {
    pub fn word(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Completed => "completed",
            TaskStatus::Expired => "expired",
            TaskStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Task {
    pub no: TaskNo,
    pub step: Name,
    pub actors: Names,
    pub opened: DateTime<Utc>,
    /// None when the SOP states no time for the step.
    pub due: Option<DateTime<Utc>>,
    pub uncertain: bool,
    pub status: TaskStatus,
    /// Shared with the claim's event; the outcome is one of the step's (interned, as its
    /// names are); the note is boxed. A task is kept for every step a case went through, so
    /// its size is most of a running case's memory.
    pub claimed_by: Option<Arc<str>>,
    pub closed: Option<DateTime<Utc>>,
    pub outcome: Option<Name>,
    pub completed_by: Option<Arc<str>>,
    pub note: Option<Box<str>>,
    pub deadline_passed: bool,
    pub child: Option<CaseId>,
    /// The hold the task stands on now (`penangguhan`); boxed, as holds are rare.
    pub hold: Option<Box<Hold>>,
}

/// A task's stretch on hold: since when, until when at the latest (the step's maximum), what
/// the office waits for, and when it ended (resumed, or expired at its maximum).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hold {
    pub task: TaskNo,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub reason: String,
    pub by: String,
    pub ended: Option<DateTime<Utc>>,
}

/// A case's tasks by number. Tasks are numbered 1, 2, 3... in the order they open, so a list
/// in that order is the map (found by binary search, added at the end); serialized as a map
/// from number to task.
#[derive(Clone, Debug, Default)]
pub struct Tasks(Vec<Task>);

impl Tasks {
    /// Where task `no` is: at `no - 1` when the numbers have no gaps (they have none when
    /// folded from events), else found by binary search.
    fn position(&self, no: TaskNo) -> Option<usize> {
        let guess = (no as usize).wrapping_sub(1);
        if self.0.get(guess).is_some_and(|t| t.no == no) {
            return Some(guess);
        }
        self.0.binary_search_by_key(&no, |t| t.no).ok()
    }

    pub fn get(&self, no: &TaskNo) -> Option<&Task> {
        self.position(*no).map(|at| &self.0[at])
    }

    pub fn get_mut(&mut self, no: &TaskNo) -> Option<&mut Task> {
        self.position(*no).map(|at| &mut self.0[at])
    }

    /// Adds a task, or replaces the one of its number.
    pub fn insert(&mut self, task: Task) {
        // A full list grows by an eighth (at least two: a round of rework is a return and a
        // resubmission), not by doubling: it was sized for the SOP's steps (see
        // `reserve_total`), so doubling would leave most of the new room unused.
        if self.0.len() == self.0.capacity() && !self.0.is_empty() {
            self.0.reserve_exact((self.0.len() / 8).max(2));
        }
        if self.0.last().is_none_or(|last| last.no < task.no) {
            self.0.push(task);
            return;
        }
        match self.0.binary_search_by_key(&task.no, |t| t.no) {
            Ok(at) => self.0[at] = task,
            Err(at) => self.0.insert(at, task),
        }
    }

    /// Makes room for `total` tasks in all.
    pub fn reserve_total(&mut self, total: usize) {
        self.0.reserve(total.saturating_sub(self.0.len()));
    }

    /// The tasks in number order.
    pub fn values(&self) -> std::slice::Iter<'_, Task> {
        self.0.iter()
    }

    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, Task> {
        self.0.iter_mut()
    }

    pub fn last_no(&self) -> Option<TaskNo> {
        self.0.last().map(|t| t.no)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Tasks {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|t| (t.no, t)))
    }
}

impl Task {
    /// A task as it opens: nobody has claimed or finished it.
    pub fn opened(
        no: TaskNo,
        step: Name,
        actors: Names,
        opened: DateTime<Utc>,
        due: Option<DateTime<Utc>>,
        uncertain: bool,
    ) -> Task {
        Task {
            no,
            step,
            actors,
            opened,
            due,
            uncertain,
            status: TaskStatus::Open,
            claimed_by: None,
            closed: None,
            outcome: None,
            completed_by: None,
            note: None,
            deadline_passed: false,
            child: None,
            hold: None,
        }
    }
}

/// A document attached to a case: the event's description of it, and when and by whom.
#[derive(Clone, Debug, Serialize)]
pub struct Attachment {
    #[serde(flatten)]
    pub file: Artifact,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// A stretch of time the service clock treats specially after a return for completion.
#[derive(Clone, Debug, Serialize)]
pub struct ReworkRound {
    pub task: TaskNo,
    pub outcome: String,
    pub round: u32,
    pub clock: ClockPolicy,
    pub from: DateTime<Utc>,
    /// When the file came back (the resubmission was completed).
    pub until: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseState {
    pub id: CaseId,
    pub sop: String,
    pub version: u32,
    pub applicant: String,
    pub started: DateTime<Utc>,
    pub status: CaseStatus,
    pub end: Option<String>,
    pub closed: Option<DateTime<Utc>>,
    pub fields: Fields,
    pub tasks: Tasks,
    pub skipped: Vec<String>,
    pub attachments: Vec<Attachment>,
    pub rework: Vec<ReworkRound>,
    /// Every hold of the case's tasks, in order: the service clock stands still during each.
    pub holds: Vec<Hold>,
    /// Rounds taken per rework outcome, keyed `step/outcome`.
    pub rounds: HashMap<String, u32>,
    /// Branches arrived at each join (by join node index) and not yet passed.
    pub joined: HashMap<u32, u32>,
    pub parent: Option<(CaseId, TaskNo)>,
    /// The entry chosen at the start (the first step of the branch alternatives take).
    pub entry: Option<String>,
    /// The service variant chosen at the start, for an SOP that has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The registration number (`503/0042/DPMPTSP/XII/2026`), for an SOP that numbers its cases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The number with its tracking secret: never serialized with the state (the secret is
    /// printed on the receipt only).
    #[serde(skip)]
    pub registration: Option<super::event::Registration>,
    /// The number of events folded: the version for optimistic concurrency.
    pub seq: u64,
    /// The deployment the case runs on, kept with the engine's cached fold once looked up, so
    /// a command finds it without the engine's shared table (not part of the fold).
    #[serde(skip)]
    pub(crate) deployed: Option<DeployedRef>,
}

/// A handle on a deployment, carried by a cached case state.
#[derive(Clone)]
pub(crate) struct DeployedRef(pub(crate) Arc<super::deploy::Deployed>);

impl std::fmt::Debug for DeployedRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{}", self.0.deployment.sop, self.0.deployment.version)
    }
}

impl CaseState {
    /// Folds a case's events. `None` when the stream does not start with `CaseStarted`.
    pub fn fold(events: &[Recorded]) -> Option<CaseState> {
        let first = events.first()?;
        let Event::CaseStarted { sop, version, applicant, fields, parent, entry, variant, registration } = &first.event
        else {
            return None;
        };
        let mut state = CaseState {
            id: first.case,
            sop: sop.clone(),
            version: *version,
            applicant: applicant.clone(),
            started: first.at,
            status: CaseStatus::Active,
            end: None,
            closed: None,
            fields: fields.clone(),
            tasks: Tasks::default(),
            skipped: Vec::new(),
            attachments: Vec::new(),
            rework: Vec::new(),
            holds: Vec::new(),
            rounds: HashMap::new(),
            joined: HashMap::new(),
            parent: *parent,
            entry: entry.clone(),
            variant: variant.clone(),
            number: registration.as_ref().map(|r| r.number.clone()),
            registration: registration.clone(),
            seq: first.seq,
            deployed: None,
        };
        for event in &events[1..] {
            state.apply(event);
        }
        Some(state)
    }

    pub fn apply(&mut self, recorded: &Recorded) {
        let at = recorded.at;
        self.seq = recorded.seq;
        match &recorded.event {
            Event::CaseStarted { .. } => {}
            Event::TaskOpened { task, step, actors, due, uncertain } => {
                self.tasks.insert(Task::opened(*task, *step, *actors, at, *due, *uncertain));
            }
            Event::StepSkipped { step } => self.skipped.push(step.clone()),
            Event::TaskClaimed { task, user } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    t.claimed_by = Some(Arc::from(user.as_str()));
                }
            }
            Event::TaskReleased { task, .. } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    t.claimed_by = None;
                }
            }
            Event::TaskCompleted { task, outcome, fields, note } => {
                for (k, v) in fields {
                    self.fields.insert(k.clone(), v.clone());
                }
                if let Some(t) = self.tasks.get_mut(task) {
                    t.status = TaskStatus::Completed;
                    t.closed = Some(at);
                    t.outcome = outcome.as_deref().map(Name::new);
                    t.note = note.as_deref().map(Box::from);
                    t.completed_by = Some(recorded.by.clone());
                }
                // The first task finished after a return (the resubmission) brings the file back.
                if let Some(round) = self.rework.iter_mut().rev().find(|r| r.until.is_none()) {
                    if *task > round.task {
                        round.until = Some(at);
                    }
                }
            }
            Event::ReworkStarted { task, outcome, round, clock } => {
                let step = self.tasks.get(task).map(|t| &*t.step).unwrap_or_default();
                *self.rounds.entry(format!("{step}/{outcome}")).or_default() = *round;
                self.rework.push(ReworkRound {
                    task: *task,
                    outcome: outcome.clone(),
                    round: *round,
                    clock: *clock,
                    from: at,
                    until: None,
                });
            }
            Event::ArtifactAttached(attached) => {
                self.attachments.push(Attachment { file: Artifact::clone(attached), at, by: recorded.by.to_string() });
            }
            Event::BranchJoined { join, passed } => {
                if *passed {
                    self.joined.remove(join);
                } else {
                    *self.joined.entry(*join).or_default() += 1;
                }
            }
            Event::ChildStarted { task, child } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    t.child = Some(*child);
                }
            }
            Event::DeadlinePassed { task } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    t.deadline_passed = true;
                }
            }
            Event::TaskEscalated { task, to } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    if !t.actors.iter().any(|a| **a == **to) {
                        t.actors = t.actors.iter().cloned().chain([to.as_str().into()]).collect();
                    }
                }
            }
            Event::Notified { .. } => {}
            Event::TaskExpired { task } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    t.status = TaskStatus::Expired;
                    t.closed = Some(at);
                }
            }
            Event::TaskHeld { task, reason, until } => {
                let hold = Hold {
                    task: *task,
                    since: at,
                    until: *until,
                    reason: reason.clone(),
                    by: recorded.by.to_string(),
                    ended: None,
                };
                if let Some(t) = self.tasks.get_mut(task) {
                    t.hold = Some(Box::new(hold.clone()));
                }
                self.holds.push(hold);
            }
            Event::TaskResumed { task, due, .. } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    t.hold = None;
                    t.due = *due;
                }
                self.end_hold(*task, at);
            }
            Event::HoldExpired { task } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    t.hold = None;
                }
                self.end_hold(*task, at);
            }
            Event::CaseEnded { end } => self.close(CaseStatus::Ended, Some(end.clone()), at),
            Event::CaseWithdrawn { .. } => self.close(CaseStatus::Withdrawn, None, at),
            Event::CaseCancelled { .. } => self.close(CaseStatus::Cancelled, None, at),
        }
    }

    fn end_hold(&mut self, task: TaskNo, at: DateTime<Utc>) {
        if let Some(hold) = self.holds.iter_mut().rev().find(|h| h.task == task && h.ended.is_none()) {
            hold.ended = Some(at);
        }
    }

    /// The first task standing on hold now, if any.
    pub fn on_hold(&self) -> Option<&Hold> {
        self.open_tasks().find_map(|t| t.hold.as_deref())
    }

    fn close(&mut self, status: CaseStatus, end: Option<String>, at: DateTime<Utc>) {
        // A hold ends with its case.
        for hold in self.holds.iter_mut().filter(|h| h.ended.is_none()) {
            hold.ended = Some(at);
        }
        self.status = status;
        self.end = end;
        self.closed = Some(at);
        for task in self.tasks.values_mut().filter(|t| t.status == TaskStatus::Open) {
            task.status = TaskStatus::Cancelled;
            task.closed = Some(at);
        }
    }

    pub fn open_tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.values().filter(|t| t.status == TaskStatus::Open)
    }

    pub fn next_task_no(&self) -> TaskNo {
        self.tasks.last_no().map(|n| n + 1).unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(no: TaskNo) -> Task {
        Task::opened(no, "s".into(), Names::default(), DateTime::default(), Some(DateTime::default()), false)
    }

    #[test]
    fn tasks_are_found_by_number_with_or_without_gaps() {
        let mut tasks = Tasks::default();
        for no in [1, 2, 5, 3] {
            tasks.insert(task(no));
        }
        let numbers: Vec<_> = tasks.values().map(|t| t.no).collect();
        assert_eq!(numbers, vec![1, 2, 3, 5]);
        assert!([1, 2, 3, 5].iter().all(|no| tasks.get(no).is_some_and(|t| t.no == *no)));
        assert!(tasks.get(&4).is_none() && tasks.get(&0).is_none() && tasks.get(&9).is_none());
        let mut again = task(2);
        again.note = Some("replaced".into());
        tasks.insert(again);
        assert_eq!((tasks.len(), tasks.get(&2).and_then(|t| t.note.as_deref())), (4, Some("replaced")));
        assert_eq!(tasks.last_no(), Some(5));
        let json = serde_json::to_value(&tasks).unwrap_or_default();
        assert_eq!(
            json.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["1".into(), "2".into(), "3".into(), "5".into()])
        );
    }
}
