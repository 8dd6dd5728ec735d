//! Events: every change to a case is one append-only fact (who, when, what). A case's state is
//! the fold of its events (see `case.rs`); nothing else is stored about it.

use crate::runtime::name::{Name, Names};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::Value;

/// A case: one application going through one SOP version. Time-ordered (UUID v7), so ids
/// sort by creation and can be made on any node without coordination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseId(pub uuid::Uuid);

impl CaseId {
    pub fn new() -> CaseId {
        CaseId(uuid::Uuid::now_v7())
    }
}

impl Default for CaseId {
    fn default() -> Self {
        CaseId::new()
    }
}

impl std::fmt::Display for CaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for CaseId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<CaseId, uuid::Error> {
        s.parse().map(CaseId)
    }
}

/// A task within its case: tasks are numbered 1, 2, 3... in the order they open.
pub type TaskNo = u32;

/// Case field values as given by people (a decision's recorded outcome among them).
pub type Fields = BTreeMap<String, Value>;

/// An event as stored: its place in the case's stream, when, and who caused it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    pub case: CaseId,
    /// 1 for the first event of a case, then 2, 3...: the optimistic-concurrency version.
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The user (or `system` for timers) that caused it. Shared: every event of a command, and
    /// the task it completes, hold the one name.
    pub by: Arc<str>,
    pub event: Event,
}

/// Where a document's bytes are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Storage {
    /// In the store's blob store under the artifact's `sha256`: the event holds only the hash,
    /// size and type, so a case's history never carries its files. Every new upload.
    Blob,
    /// The bytes, base64, in the event itself: how uploads were stored before the blob store.
    /// Still read; the SQLite and PostgreSQL stores move them into blobs when they migrate.
    Inline { base64: String },
    /// Somewhere else (a document store, a URL).
    Reference { uri: String },
}

/// A case's registration number and the secret that, with it, opens the public tracking page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// As the office writes it: `503/0042/DPMPTSP/XII/2026`.
    pub number: String,
    /// The counter it was taken from (`Numbering::sequence`) and its place in it (1, 2, ...).
    pub sequence: String,
    pub n: u64,
    /// Printed on the receipt; compared in constant time (`runtime::registration`).
    pub secret: String,
}

/// A document attached to a case (a step's output): serialized with the event's other fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    pub task: Option<TaskNo>,
    /// The document id in the SOP (`output` or `dokumen`).
    pub artifact: String,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
    pub storage: Storage,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    CaseStarted {
        sop: String,
        version: u32,
        applicant: String,
        fields: Fields,
        /// The parent case and task, when this case is a sub-procedure.
        parent: Option<(CaseId, TaskNo)>,
        /// The entry chosen where the SOP offers alternatives (at the counter or online): the
        /// first step of the branch every `alternatif` block of the case takes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<String>,
        /// The service variant of an SOP that has them (baru, perpanjangan): the case runs on
        /// that variant's flow.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        variant: Option<String>,
        /// The registration number, for an SOP that numbers its cases (`nomor_pendaftaran`):
        /// filled in by the store in the transaction that appends this event.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        registration: Option<Registration>,
    },
    TaskOpened {
        task: TaskNo,
        /// An interned name, as the deployment, the case's task and the inbox hold it (serialized as a string).
        step: Name,
        /// Actor ids that may work it (interned like `step`; serialized as a list of strings).
        actors: Names,
        /// When the step falls due; none when the SOP states no time for it (`waktu -`): the
        /// case's promise still runs, the step has no deadline of its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<DateTime<Utc>>,
        /// The due date lies past the calendar's known dates.
        uncertain: bool,
    },
    /// A conditional step whose condition was false.
    StepSkipped {
        step: String,
    },
    TaskClaimed {
        task: TaskNo,
        user: String,
    },
    TaskReleased {
        task: TaskNo,
        user: String,
    },
    TaskCompleted {
        task: TaskNo,
        outcome: Option<String>,
        fields: Fields,
        note: Option<String>,
    },
    /// A return for completion: the file goes back and the service clock does as the SOP says.
    ReworkStarted {
        task: TaskNo,
        outcome: String,
        round: u32,
        clock: crate::model::ClockPolicy,
    },
    /// Boxed: documents are rare, and every other event would otherwise be as large as this.
    ArtifactAttached(Box<Artifact>),
    /// A parallel branch reached its join; `passed` when it was the last one and the flow goes on.
    BranchJoined {
        join: u32,
        passed: bool,
    },
    /// A sub-procedure started as a child case.
    ChildStarted {
        task: TaskNo,
        child: CaseId,
    },
    /// The task's time ran out; its deadline actions follow as events.
    DeadlinePassed {
        task: TaskNo,
    },
    TaskEscalated {
        task: TaskNo,
        to: String,
    },
    Notified {
        task: TaskNo,
        to: String,
    },
    /// A deadline routed the case on without the task (OSS "fiktif positif").
    TaskExpired {
        task: TaskNo,
    },
    /// The task is put on hold (`penangguhan`): the office waits for what `reason` says; its
    /// deadline and the service clock stand still until it resumes, at the latest until `until`
    /// (the step's maximum hold), when the case goes where the SOP says.
    TaskHeld {
        task: TaskNo,
        reason: String,
        until: DateTime<Utc>,
    },
    /// The task is open again with the time it had left: `due` is its deadline moved by the
    /// working time it stood on hold. It carries what the inbox needs to list the task again
    /// (the indexes are derived from events alone).
    TaskResumed {
        task: TaskNo,
        step: Name,
        actors: Names,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<DateTime<Utc>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        claimed_by: Option<String>,
        /// The deadline had already passed before the hold: its actions happened, no timer.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        overdue: bool,
    },
    /// The task stood on hold for the step's maximum; `TaskExpired` and the route follow.
    HoldExpired {
        task: TaskNo,
    },
    CaseEnded {
        end: String,
    },
    CaseWithdrawn {
        reason: Option<String>,
    },
    CaseCancelled {
        reason: Option<String>,
    },
}
