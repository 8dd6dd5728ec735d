//! Documents' bytes, addressed by their SHA-256.

use async_trait::async_trait;

use super::StoreError;

/// Documents' bytes, addressed by their SHA-256 (lowercase hex): the events of a case name a
/// document by hash, size and type, so folding a case's history never reads its files. Every
/// store keeps its own (memory: a map; SQLite: files beside the database; PostgreSQL: a table).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` and returns their SHA-256. The same content is stored once (a second put
    /// is a no-op). Durable before it returns: an event naming the hash may be appended after.
    async fn put_blob(&self, bytes: Vec<u8>) -> Result<String, StoreError>;
    /// The bytes stored under `sha256`, checked against it on the way out: `None` when nothing
    /// is stored there, `BlobDamaged` when what is stored no longer hashes to it.
    async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Whether something is stored under `sha256` (without reading or checking it).
    async fn has_blob(&self, sha256: &str) -> Result<bool, StoreError>;
}

/// `Ok(bytes)` when `bytes` hash to `sha256`, else `BlobDamaged` saying what they hash to.
pub(crate) fn verified(sha256: &str, bytes: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    let actual = crate::runtime::media::sha256_hex(&bytes);
    if actual == sha256 {
        Ok(bytes)
    } else {
        Err(StoreError::BlobDamaged {
            sha256: sha256.to_string(),
            cause: format!("its {} bytes hash to {actual}", bytes.len()),
        })
    }
}
