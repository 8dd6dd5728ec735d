//! WAL upkeep: the checkpoint thread that keeps the WAL small, and the zeros written ahead of
//! its frames.

use super::*;

/// How often the checkpoint thread copies the WAL into the database.
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// WAL frames past which the WAL is made to start over (about 8 MB).
pub(super) const RESTART_FRAMES: i64 = 2000;

/// Copies the WAL into the database in the background and keeps the WAL small.
///
/// A PASSIVE checkpoint never blocks a commit, but it only copies the frames that were there
/// when it began, and SQLite starts the WAL over (writing it in place from its beginning again)
/// only once every frame is copied. Under a steady stream of commits that never happened: the
/// WAL grew to 400 MB in a 4-second benchmark, and each fdatasync then had a grown file size to
/// write too. So when the WAL passes [`RESTART_FRAMES`] this thread copies pass after pass until
/// a pass finds few new frames, and tells the committer, which copies the rest between two
/// batches (no commit comes in between there, 1 to 5 ms at 32 busy clients): the next commit
/// starts the WAL over. Under a load that never lets the passes catch up the WAL grows until
/// one does. (A RESTART checkpoint from this thread would wait for the write lock, which a busy
/// committer never lets go of long enough; checkpointing on the committing thread, SQLite's
/// default, stalled every command of the batch that triggered it: 32 HTTP clients went from
/// 8,300 to 5,500 completions/s.)
pub(super) fn checkpoint_loop(conn: &Connection, upkeep: &WalUpkeep, closed: &std::sync::mpsc::Receiver<()>) {
    loop {
        let last = match closed.recv_timeout(CHECKPOINT_EVERY) {
            Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => false,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => true,
        };
        if let Some((mut log, _)) = passive_checkpoint(conn) {
            upkeep.watch_length(log);
            if log >= RESTART_FRAMES {
                // Each pass copies what came in during the one before; when that is little,
                // the committer's copy of the rest is short.
                for _ in 0..4 {
                    let Some((next, _)) = passive_checkpoint(conn) else { break };
                    let added = next - log;
                    log = next;
                    if added < RESTART_FRAMES / 20 {
                        upkeep.restart_due.store(true, Ordering::Relaxed);
                        break;
                    }
                }
            }
        }
        if last {
            return;
        }
    }
}

/// Frames the WAL file is kept ahead of the frames written (4 MB of 4 KiB pages).
pub(super) const WAL_AHEAD_FRAMES: u64 = 1024;

/// The WAL file is extended ahead of its writes only up to this length (64 MiB): past it the
/// checkpoints are not keeping up, and the file grows with its writes as SQLite grows it.
pub(super) const WAL_AHEAD_LIMIT: u64 = 64 << 20;

/// Bytes of the WAL file's header, before its first frame.
pub(super) const WAL_HEADER: u64 = 32;

/// What the checkpoint thread asks of the committer, which does it between two batches under
/// the write lock.
///
/// A commit that makes the WAL file longer waits for the file system to record its new
/// length as well as for the data: on this project's ext4 machine such an fdatasync took 2 to
/// 4 times as long as one that overwrites blocks the file already has, and a fresh WAL grows
/// with every commit until its first restart, and again whenever a cycle runs longer than
/// the ones before (the one-client benchmark: 4% of its commits, 8 to 10% of its time; 64
/// clients, whose batches outrun the checkpoints: half of the commits). So, as PostgreSQL
/// fills its WAL segments with zeros before writing them, the committer writes zeros past the
/// end of the WAL ahead of the frames: the commits then overwrite blocks the file has. The
/// first extension (to about 8 MB) comes with the first batch after the first pass, 100 ms
/// after the store opened: a process that commits sooner and ends (a CLI command) writes
/// none. SQLite reads a WAL only up to its first frame that does not carry the header's salt
/// and a valid checksum, so zeros past the last frame are as good as no bytes (and after a
/// restart old frames are ignored the same way); it never truncates the WAL (no
/// `journal_size_limit`, no TRUNCATE checkpoint here), and deletes it when the last
/// connection closes.
pub(super) struct WalUpkeep {
    /// Set when the WAL is long and nearly all copied: the committer copies the rest, so that
    /// the WAL starts over (see `checkpoint_loop`).
    pub(super) restart_due: AtomicBool,
    /// The length the WAL file should be extended to (0: none).
    pub(super) extend_to: AtomicU64,
    pub(super) wal: PathBuf,
    /// Bytes of one WAL frame: a 24-byte header and a page.
    pub(super) frame: u64,
    /// Whether zeros are written ahead of the frames (`ALUR_WAL_AHEAD=off`: not, to measure
    /// what they bring).
    ahead: bool,
}

impl WalUpkeep {
    pub(super) fn new(database: &Path, conn: &Connection) -> Result<WalUpkeep, StoreError> {
        let page: i64 =
            conn.query_row("PRAGMA page_size", [], |row| row.get(0)).map_err(backend("reading the page size"))?;
        let page = u64::try_from(page).unwrap_or(4096);
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        Ok(WalUpkeep {
            restart_due: AtomicBool::new(false),
            extend_to: AtomicU64::new(0),
            wal: PathBuf::from(wal),
            frame: page + 24,
            ahead: std::env::var("ALUR_WAL_AHEAD").map_or(true, |v| v != "off"),
        })
    }

    /// Told the frames the WAL holds (after a checkpoint pass): asks for an extension when
    /// the file is less than [`WAL_AHEAD_FRAMES`] ahead of them.
    pub(super) fn watch_length(&self, frames: i64) {
        if !self.ahead {
            return;
        }
        let frames = u64::try_from(frames).unwrap_or(0);
        let written = WAL_HEADER + frames * self.frame;
        let Ok(length) = std::fs::metadata(&self.wal).map(|m| m.len()) else { return };
        if length < written + WAL_AHEAD_FRAMES * self.frame && length < WAL_AHEAD_LIMIT {
            let wanted = (written + 2 * WAL_AHEAD_FRAMES * self.frame).min(WAL_AHEAD_LIMIT);
            self.extend_to.store(wanted, Ordering::Relaxed);
        }
    }
}

/// Writes zeros from the end of the WAL file to `length` and syncs them, holding the write
/// lock (`BEGIN IMMEDIATE`) so that no writer, in this process or another, appends a frame
/// meanwhile. Only bytes past the file's end are written: no frame is ever there.
pub(super) fn extend_wal(conn: &Connection, wal: &Path, length: u64) -> Result<(), StoreError> {
    use std::os::unix::fs::FileExt;
    exec_cached(conn, "BEGIN IMMEDIATE").map_err(backend("starting a transaction"))?;
    let extended = (|| -> std::io::Result<()> {
        // Opened after the lock is held; a WAL that is not there (yet) is left to SQLite.
        let file = match std::fs::OpenOptions::new().write(true).open(wal) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        let mut at = file.metadata()?.len();
        if at >= length {
            return Ok(());
        }
        let zeros = vec![0u8; 1 << 20];
        while at < length {
            let n = (length - at).min(zeros.len() as u64) as usize;
            file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        file.sync_data()
    })();
    // Nothing was written through SQLite: ending the transaction releases the lock.
    exec_cached(conn, "ROLLBACK").map_err(backend("ending a transaction"))?;
    extended.map_err(|e| StoreError::Backend(format!("sqlite store: extending {}: {e}", wal.display())))
}

/// A PASSIVE checkpoint: the frames in the WAL and how many of them are copied.
pub(super) fn passive_checkpoint(conn: &Connection) -> Option<(i64, i64)> {
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(1)?, row.get(2)?))) {
        Ok(frames) => Some(frames),
        Err(error) => {
            eprintln!("alur: sqlite checkpoint: {error}");
            None
        }
    }
}
