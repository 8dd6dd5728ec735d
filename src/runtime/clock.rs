//! Time as the engine sees it: the system clock in production, a manual clock in tests so a
//! five-working-day SOP runs in milliseconds.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::sync::Notify;

#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Returns at `at` (or at once if it has passed), or earlier when the clock is moved.
    async fn sleep_until(&self, at: DateTime<Utc>);
}

pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
    }
}

/// A clock that moves only when told to. Read by every command (from every core): kept in one
/// atomic (nanoseconds since 1970, which covers 1677 to 2262), so reading it takes no lock.
pub struct ManualClock {
    nanos: AtomicI64,
    moved: Notify,
}

fn nanos_of(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 { i64::MIN } else { i64::MAX })
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock { nanos: AtomicI64::new(nanos_of(start)), moved: Notify::new() }
    }

    pub fn set(&self, at: DateTime<Utc>) {
        self.nanos.store(nanos_of(at), Ordering::SeqCst);
        self.moved.notify_waiters();
    }

    pub fn advance(&self, by: Duration) {
        let by = by.num_nanoseconds().unwrap_or(if by < Duration::zero() { i64::MIN } else { i64::MAX });
        // One update even when two tasks advance the clock at once.
        let _ = self.nanos.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_add(by)));
        self.moved.notify_waiters();
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.nanos.load(Ordering::SeqCst))
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        loop {
            let moved = self.moved.notified();
            tokio::pin!(moved);
            // Registered before the check, so a move in between is not missed.
            moved.as_mut().enable();
            if self.now() >= at {
                return;
            }
            moved.await;
        }
    }
}
