//! Deployments: the SOP versions the store holds, each saved once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// A compiled SOP as deployed: the source is kept, so a deployment never depends on the file
/// it came from still being there.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Deployment {
    pub sop: String,
    pub version: u32,
    /// SHA-256 of the sources and calendars: deploying the same text again is not a new version.
    pub sha256: String,
    /// The SOP file first, then every file it imports or calls: (path, text).
    pub sources: Vec<(String, String)>,
    /// The calendar files the SOP was checked and scheduled with: (name, text).
    pub calendars: Vec<(String, String)>,
    pub deployed_at: DateTime<Utc>,
}

#[async_trait]
pub trait DeploymentStore: Send + Sync {
    /// Saves a deployment unless the same SOP version exists already.
    async fn save_deployment(&self, deployment: &Deployment) -> Result<(), StoreError>;
    /// Every deployment, in the order they were saved.
    async fn deployments(&self) -> Result<Vec<Deployment>, StoreError>;
}
