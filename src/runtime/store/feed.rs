//! The change feed: every commit announced, for the nodes that show or act on it.

use serde::{Deserialize, Serialize};

use crate::runtime::CaseId;

/// A change committed to the store, as the change feed announces it to every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// Events were appended to a case, which is now at `version` (the seq of its last event).
    Appended { case: CaseId, version: u64 },
    /// A new SOP version was deployed.
    Deployed { sop: String, version: u32 },
    /// Changes may have been missed (the feed lost its database connection and is back):
    /// re-read whatever is shown.
    Resync,
}

/// Whose commits a store's change feed announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedReach {
    /// Only this store instance's own commits: another process on the same data is not heard
    /// (poll to see its changes).
    ThisInstance,
    /// Every commit of every node on the store.
    AllNodes,
}

/// How many changes a subscriber may fall behind before it gets `RecvError::Lagged` (which,
/// like `Change::Resync`, means: re-read).
pub const CHANGE_FEED_CAPACITY: usize = 4096;

pub trait ChangeFeed: Send + Sync {
    /// The change feed: every append and deployment committed from now on, by this instance
    /// or by every node, as [`ChangeFeed::feed_reach`] says.
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change>;
    /// Whose commits `changes` announces.
    fn feed_reach(&self) -> FeedReach;
    /// Counts this store's commits in `metrics` from now on (`/metrics`); a store that has no
    /// commits of its own (the in-memory one) says so by ignoring it.
    fn observe(&self, metrics: std::sync::Arc<crate::runtime::metrics::StoreMetrics>);
}
