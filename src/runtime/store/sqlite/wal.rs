//! WAL upkeep: the checkpoint thread that keeps the WAL small.

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

/// What the checkpoint thread asks of the committer, which does it between two batches under
/// the write lock.
///
/// Zeros were once written past the end of the WAL ahead of its frames, so that commits
/// overwrite blocks the file has instead of growing it (an fdatasync that also records a new
/// length took 2 to 4 times as long on one ext4 machine). That relied on SQLite reading a WAL
/// only up to its first frame without a valid checksum. Measured side by side on 2026-12-07
/// (`scripts/bench-wal-ahead.sh` at commit 99f1c5d; docs/performance.md), with them against
/// without: 0.95x at one client and 1.01x at 64 clients (medians of 9 pairs each, which ranged
/// from 0.52x to 1.50x): no gain worth the coupling, so they are gone.
pub(super) struct WalUpkeep {
    /// Set when the WAL is long and nearly all copied: the committer copies the rest, so that
    /// the WAL starts over (see `checkpoint_loop`).
    pub(super) restart_due: AtomicBool,
}

impl WalUpkeep {
    pub(super) fn new() -> WalUpkeep {
        WalUpkeep { restart_due: AtomicBool::new(false) }
    }
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
