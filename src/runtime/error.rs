//! What can go wrong with a command: typed, so the CLI and the server can say which, and a
//! refused command changes nothing.

use crate::runtime::{CaseId, TaskNo};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuntimeError {
    #[error("case {0} does not exist")]
    UnknownCase(CaseId),
    #[error("case {case} has no task {task}")]
    UnknownTask { case: CaseId, task: TaskNo },
    #[error("SOP `{0}` is not deployed")]
    UnknownSop(String),
    #[error("SOP `{sop}` has no version {version}")]
    UnknownVersion { sop: String, version: u32 },
    #[error("task {task} is not open (it is {state})")]
    TaskNotOpen { task: TaskNo, state: &'static str },
    #[error("case {case} is {state}; nothing more can be done on it")]
    CaseClosed { case: CaseId, state: &'static str },
    #[error("task {task} belongs to {expected}, not to {actor}")]
    WrongActor { task: TaskNo, actor: String, expected: String },
    #[error("task {task} is claimed by {by}")]
    ClaimedByOther { task: TaskNo, by: String },
    #[error("step `{step}` has no outcome `{outcome}` (it has: {allowed})")]
    UnknownOutcome { step: String, outcome: String, allowed: String },
    #[error("step `{step}` needs a decision: one of {allowed}")]
    OutcomeRequired { step: String, allowed: String },
    #[error("step `{step}` takes no decision")]
    NoDecision { step: String },
    #[error("`{outcome}` was already taken {rounds} time(s), the most the SOP allows")]
    RoundLimit { outcome: String, rounds: u32 },
    #[error("step `{step}` may not be put on hold (its SOP states no `penangguhan`)")]
    HoldNotAllowed { step: String },
    #[error("task {task} is already on hold")]
    AlreadyOnHold { task: TaskNo },
    #[error("task {task} is not on hold")]
    NotOnHold { task: TaskNo },
    #[error("task {task} is on hold; resume it first")]
    OnHold { task: TaskNo },
    #[error("field `{field}` does not exist")]
    UnknownField { field: String },
    #[error("field `{field}` takes {expected}, not {got}")]
    FieldType { field: String, expected: String, got: String },
    #[error("`{artifact}` is not a document of this SOP")]
    UnknownArtifact { artifact: String },
    #[error("{}", document_refused(media_type, refusal))]
    DocumentRefused { media_type: String, refusal: crate::runtime::media::Refusal },
    #[error("{}", unknown_entry(entry, allowed))]
    UnknownEntry { entry: String, allowed: Vec<String> },
    #[error("{}", unknown_variant(sop, variant.as_deref(), allowed))]
    UnknownVariant { sop: String, variant: Option<String>, allowed: Vec<String> },
    #[error("the SOP does not compile: {0}")]
    InvalidSop(String),
    /// A stored deployment this alur compiles into another model than the one it was
    /// deployed with: its running cases would change behaviour under them.
    #[error(
        "SOP {sop} v{version} was deployed by {deployed_by}; this alur ({}) compiles its sources into \
         another model, so its running cases would behave differently. Run the alur that deployed it \
         until those cases are done, or start with ALUR_ACCEPT_RECOMPILED=1 to run them on the new \
         compile (reported in the log, /api/sops and /metrics)",
        crate::runtime::deploy::COMPILER
    )]
    Recompiled { sop: String, version: u32, deployed_by: String },
    #[error("the calendar `{0}` cannot be used")]
    Calendar(String),
    #[error("someone else changed case {0} at the same time; load it again and retry")]
    Conflict(CaseId),
    #[error("store: {0}")]
    Store(String),
    /// The store is busy or unreachable for now; nothing changed and the command may be sent
    /// again (the API answers 503 with Retry-After).
    #[error("the database is busy or unreachable; nothing changed, try again: {0}")]
    Unavailable(String),
}

fn unknown_variant(sop: &str, variant: Option<&str>, allowed: &[String]) -> String {
    let list = allowed.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
    match variant {
        None => format!("SOP `{sop}` has service variants: choose one of {list}"),
        Some(v) if allowed.is_empty() => format!("SOP `{sop}` has no variants, so leave out the variant `{v}`"),
        Some(v) => format!("SOP `{sop}` has no variant `{v}` (it has: {list})"),
    }
}

fn document_refused(media_type: &str, refusal: &crate::runtime::media::Refusal) -> String {
    let allowed = crate::runtime::media::allowed_labels();
    match refusal {
        crate::runtime::media::Refusal::NotAllowed => {
            format!("documents of type `{media_type}` are not taken: attach a file of one of these types: {allowed}")
        }
        crate::runtime::media::Refusal::Mismatch => format!(
            "the file's content is not what its type `{media_type}` says: attach the document itself, as one of {allowed}"
        ),
    }
}

fn unknown_entry(entry: &str, allowed: &[String]) -> String {
    if allowed.is_empty() {
        format!("`{entry}` is not an entry step: this SOP has one way in, so leave the entry out")
    } else {
        let allowed = allowed.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ");
        format!("`{entry}` is not an entry step of this SOP (it has: {allowed})")
    }
}
