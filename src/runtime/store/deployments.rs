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
    /// The alur that compiled it at deployment (`alur 0.1.0`); `None` for a deployment made
    /// before deployments recorded it. A JSON field with a default: no migration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiler: Option<String>,
    /// SHA-256 of the compiled model at deployment (`deploy::model_sha256`): a later alur
    /// that compiles the same sources into another model says so when it loads this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_sha256: Option<String>,
}

#[async_trait]
pub trait DeploymentStore: Send + Sync {
    /// Saves a deployment unless the same SOP version exists already.
    async fn save_deployment(&self, deployment: &Deployment) -> Result<(), StoreError>;
    /// Every deployment, in the order they were saved.
    async fn deployments(&self) -> Result<Vec<Deployment>, StoreError>;
}
