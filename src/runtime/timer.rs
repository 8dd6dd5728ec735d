//! The timer service: fires SLA deadlines and deadline actions on time. Deadlines are data in
//! the store (an index of open tasks' due instants), so they survive restarts, and each fires
//! once: firing is an event appended at the case's version.

use std::sync::Arc;
use tokio::sync::watch;

use super::clock::Clock;
use super::engine::Engine;
use super::RuntimeError;

/// How long the service sleeps at most before looking again (another node may have added a
/// deadline that falls earlier).
const POLL: chrono::Duration = chrono::Duration::seconds(30);

/// Runs until `stop` turns true. Errors are reported to `on_error` and the loop goes on.
pub async fn run(
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
    on_error: impl Fn(RuntimeError) + Send,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        if let Err(error) = engine.fire_due(clock.now()).await {
            on_error(error);
        }
        let next = match engine.store().next_timer().await {
            Ok(Some(at)) => at.min(clock.now() + POLL),
            _ => clock.now() + POLL,
        };
        tokio::select! {
            _ = clock.sleep_until(next) => {}
            _ = stop.changed() => {}
        }
    }
}
