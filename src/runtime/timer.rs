//! The timer service: fires SLA deadlines and deadline actions on time. Deadlines are data in
//! the store (an index of open tasks' due instants), so they survive restarts, and each fires
//! once: firing is an event appended at the case's version. With several engine processes
//! ("nodes") on one store, each deadline is claimed by one node under a lease (`LEASE`), and a
//! node that dies leaves its claims to the others once their leases run out.

use std::sync::Arc;
use tokio::sync::watch;

use super::clock::Clock;
use super::engine::Engine;
use super::RuntimeError;

/// How long the service sleeps at most before looking again (another node may have added a
/// deadline that falls earlier; the change feed wakes it sooner when the store has one).
const POLL: chrono::Duration = chrono::Duration::seconds(30);

/// How long the service lets changes gather after a change woke it, before it looks at the
/// timer index again (a deadline is due minutes after it is set, so this costs no precision).
const SETTLE: std::time::Duration = std::time::Duration::from_millis(100);

pub use super::node::{default_node, LEASE};

/// Runs until `stop` turns true. Errors are reported to `on_error` and the loop goes on.
pub async fn run(
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
    on_error: impl Fn(RuntimeError) + Send,
) {
    let mut changes = engine.store().changes();
    loop {
        if *stop.borrow() {
            return;
        }
        // Claiming is a write: only when something can be claimed (a wake-up by a change
        // usually finds nothing due).
        let now = clock.now();
        let claimable = engine.store().next_claimable_timer().await;
        if !matches!(claimable, Ok(None)) && !matches!(claimable, Ok(Some(at)) if at > now) {
            if let Err(error) = engine.fire_due(now).await {
                on_error(error);
            }
        }
        let next = match engine.store().next_claimable_timer().await {
            Ok(Some(at)) => at.min(clock.now() + POLL),
            _ => clock.now() + POLL,
        };
        tokio::select! {
            _ = clock.sleep_until(next) => {}
            _ = stop.changed() => {}
            // A change on any node may have added an earlier deadline: look again.
            Ok(_) = changes.recv() => {
                // A burst of changes is one look, at most every `SETTLE`: on a busy store every
                // node hears every append of every node, and would otherwise query the timer
                // index after each of them.
                tokio::select! {
                    _ = tokio::time::sleep(SETTLE) => {}
                    _ = stop.changed() => {}
                }
                while changes.try_recv().is_ok() {}
            }
        }
    }
}
