//! The SQLite store's documents: one file per blob beside the database,
//! `<db file>.blobs/ab/abcdef…` (the first two hex digits of the SHA-256 as a folder, so no
//! folder grows past a few thousand files). A blob is written to a temporary file, fsynced,
//! renamed into place and its folder fsynced before `put` returns, and the engine appends the
//! event naming it only after: a crash can leave a blob no event names (harmless, the next put
//! of that content finds it), never an event naming a missing blob. `alur backup` copies them
//! with the database (`copy_all`).

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{verified, StoreError};
use crate::runtime::media::{is_sha256_hex, sha256_hex};

/// The folder of the blobs of the database at `db`: `<db>.blobs`.
pub fn dir_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".blobs");
    PathBuf::from(name)
}

/// Blob files under one folder.
#[derive(Clone, Debug)]
pub struct BlobDir {
    root: PathBuf,
}

/// Tells apart the temporary files of puts running at once in this process.
static TEMP: AtomicU64 = AtomicU64::new(0);

fn io_error<'a>(doing: &'a str, path: &'a Path) -> impl Fn(std::io::Error) -> StoreError + 'a {
    move |e| StoreError::Backend(format!("blob store: {doing} {}: {e}", path.display()))
}

/// Makes a new directory entry durable: fsyncs the folder that holds it.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_error("syncing the folder", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `dir` if missing, durably (its parent fsynced).
fn ensure_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(io_error("creating", dir))?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

impl BlobDir {
    pub fn new(root: impl Into<PathBuf>) -> BlobDir {
        BlobDir { root: root.into() }
    }

    /// The blobs of the database at `db`.
    pub fn of_database(db: &Path) -> BlobDir {
        BlobDir::new(dir_of(db))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `sha256` (checked to be one) lives.
    fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    /// Stores `bytes` (once) and returns their SHA-256; durable when it returns.
    pub fn put(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let sha256 = sha256_hex(bytes);
        let path = self.path(&sha256);
        // Content-addressed: a file there that hashes right is this content. One that does not
        // (damaged on disk) is replaced, so storing the document again heals it.
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64)
            && std::fs::read(&path).is_ok_and(|stored| sha256_hex(&stored) == sha256)
        {
            return Ok(sha256);
        }
        let folder = self.root.join(&sha256[..2]);
        ensure_dir(&self.root)?;
        ensure_dir(&folder)?;
        let temp =
            folder.join(format!(".{sha256}.{}.{}.tmp", std::process::id(), TEMP.fetch_add(1, Ordering::Relaxed)));
        let written = (|| {
            let mut file = File::create_new(&temp).map_err(io_error("creating", &temp))?;
            file.write_all(bytes).map_err(io_error("writing", &temp))?;
            file.sync_all().map_err(io_error("syncing", &temp))?;
            std::fs::rename(&temp, &path).map_err(io_error("renaming into place", &path))
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written?;
        sync_dir(&folder)?;
        Ok(sha256)
    }

    /// The blob's bytes, checked against its hash; `None` when there is none.
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        let path = self.path(sha256);
        match std::fs::read(&path) {
            Ok(bytes) => verified(sha256, bytes).map(Some).map_err(|e| match e {
                StoreError::BlobDamaged { sha256, cause } => {
                    StoreError::BlobDamaged { sha256, cause: format!("{}: {cause}", path.display()) }
                }
                other => other,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("reading", &path)(e)),
        }
    }

    pub fn has(&self, sha256: &str) -> bool {
        is_sha256_hex(sha256) && self.path(sha256).is_file()
    }

    /// Every blob's hash (files that are not blobs, such as a crashed put's temporary file,
    /// are left out).
    pub fn hashes(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let folders = match std::fs::read_dir(&self.root) {
            Ok(folders) => folders,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io_error("listing", &self.root)(e)),
        };
        for folder in folders {
            let folder = folder.map_err(io_error("listing", &self.root))?.path();
            if !folder.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&folder).map_err(io_error("listing", &folder))? {
                let name = file.map_err(io_error("listing", &folder))?.file_name();
                if let Some(name) = name.to_str().filter(|n| is_sha256_hex(n)) {
                    out.push(name.to_string());
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// What `copy_all` copied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Copied {
    pub blobs: u64,
    pub bytes: u64,
}

/// Copies every blob of `from` into `to` (those `to` has already are kept), each checked
/// against its hash on the way: a damaged blob stops the copy with an error naming it, so a
/// backup never carries a damaged document as if it were sound.
pub fn copy_all(from: &BlobDir, to: &BlobDir) -> Result<Copied, StoreError> {
    let mut copied = Copied::default();
    for sha256 in from.hashes()? {
        let Some(bytes) = from.get(&sha256)? else { continue };
        to.put(&bytes)?;
        copied.blobs += 1;
        copied.bytes += bytes.len() as u64;
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_stored_once_read_back_checked_and_damage_is_said() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobDir::of_database(&dir.path().join("alur.db"));
        let sha = blobs.put(b"%PDF-1.4 isi").expect("put");
        assert_eq!(sha, sha256_hex(b"%PDF-1.4 isi"));
        assert_eq!(blobs.put(b"%PDF-1.4 isi").expect("put again"), sha);
        let file = dir.path().join("alur.db.blobs").join(&sha[..2]).join(&sha);
        assert!(file.is_file());
        assert_eq!(blobs.hashes().expect("list"), vec![sha.clone()]);
        assert_eq!(blobs.get(&sha).expect("get"), Some(b"%PDF-1.4 isi".to_vec()));
        assert_eq!(blobs.get(&"0".repeat(64)).expect("absent"), None);
        assert_eq!(blobs.get("../../etc/passwd").expect("not an address"), None);
        std::fs::write(&file, b"%PDF-1.4 ISI").expect("damage");
        match blobs.get(&sha) {
            Err(StoreError::BlobDamaged { sha256, cause }) => {
                assert_eq!(sha256, sha);
                assert!(cause.contains("alur.db.blobs"), "{cause}");
            }
            other => panic!("expected damage, got {other:?}"),
        }
        let copy = BlobDir::new(dir.path().join("copy"));
        assert!(matches!(copy_all(&blobs, &copy), Err(StoreError::BlobDamaged { .. })));
        // Stored again, the document replaces its damaged file.
        assert_eq!(blobs.put(b"%PDF-1.4 isi").expect("heal"), sha);
        assert_eq!(blobs.get(&sha).expect("healed"), Some(b"%PDF-1.4 isi".to_vec()));
    }
}
