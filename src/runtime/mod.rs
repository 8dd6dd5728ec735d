//! Stage 4: the generic runtime. It executes any compiled SOP with no code that knows about
//! any one of them: commands become append-only events in a store, a case's state is the fold
//! of its events, and deadlines fire from a timer service on the working-time calendar.

pub mod case;
pub mod clock;
pub mod deploy;
pub mod engine;
mod error;
pub mod event;
pub mod fields;
pub mod media;
pub mod metrics;
pub mod name;
pub mod node;
pub mod registration;
pub mod report;
pub mod store;
pub mod timer;
pub mod view;

pub use case::{CaseState, CaseStatus, Task, TaskStatus};
pub use clock::{Clock, ManualClock, SystemClock};
pub use engine::{Attachment, Caller, CaseIdentity, Completion, DeployResult, Engine, SYSTEM_USER};
pub use error::RuntimeError;
pub use event::{CaseId, Event, Fields, Recorded, TaskNo};
pub use name::{Name, Names};
pub use store::{BlobStore, MemoryStore, SqliteStore, Store};
