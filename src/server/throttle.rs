//! Sign-in throttling: failed sign-ins are counted per user name and per client address; past
//! a few free failures each further one makes that key wait, twice as long each time (up to a
//! cap), and while a key waits every sign-in with it is refused with 429 and `Retry-After`
//! before the password is even checked. A success clears the user name's count, not the
//! address's. Counts are forgotten after a quiet spell.
//!
//! In memory, for one node: several nodes each count their own attempts. The tables are
//! bounded: when one is full, forgotten keys go first, then the key idle longest.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// How many failures are free and how long the waits are; `Default` is the server's policy.
#[derive(Clone, Debug)]
pub struct ThrottlePolicy {
    /// Failures of one user name before the first wait.
    pub free_per_user: u32,
    /// Failures from one address before the first wait (an office behind one address signs in
    /// many people).
    pub free_per_address: u32,
    /// The first wait; each failure after it doubles the wait.
    pub first_wait: Duration,
    pub max_wait: Duration,
    /// A key with no failure for this long starts over.
    pub forget_after: Duration,
    /// Keys kept per table.
    pub capacity: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> ThrottlePolicy {
        ThrottlePolicy {
            free_per_user: 5,
            free_per_address: 20,
            first_wait: Duration::seconds(1),
            max_wait: Duration::minutes(15),
            forget_after: Duration::hours(1),
            capacity: 10_000,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: DateTime<Utc>,
    /// No sign-in before this.
    until: Option<DateTime<Utc>>,
}

/// The longest a user name is kept as a key (longer names are cut: they are all wrong anyway).
const MAX_NAME: usize = 128;

struct Table<K> {
    keys: HashMap<K, Failures>,
}

impl<K> Default for Table<K> {
    fn default() -> Table<K> {
        Table { keys: HashMap::new() }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Table<K> {
    fn wait(&self, key: &K, now: DateTime<Utc>) -> Option<Duration> {
        let until = self.keys.get(key)?.until?;
        (until > now).then(|| until - now)
    }

    fn fail(&mut self, key: K, now: DateTime<Utc>, free: u32, policy: &ThrottlePolicy) {
        if !self.keys.contains_key(&key) && self.keys.len() >= policy.capacity {
            self.keys.retain(|_, f| now - f.last < policy.forget_after);
            if self.keys.len() >= policy.capacity {
                let idle = self.keys.iter().min_by_key(|(_, f)| f.last).map(|(k, _)| k.clone());
                if let Some(idle) = idle {
                    self.keys.remove(&idle);
                }
            }
        }
        let entry = self.keys.entry(key).or_insert(Failures { count: 0, last: now, until: None });
        if now - entry.last >= policy.forget_after {
            *entry = Failures { count: 0, last: now, until: None };
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        if entry.count >= free {
            let doublings = (entry.count - free).min(30);
            let wait = policy.first_wait.checked_mul(1 << doublings).unwrap_or(policy.max_wait).min(policy.max_wait);
            entry.until = Some(now + wait);
        }
    }
}

/// The failed sign-ins this server has seen.
pub struct Throttle {
    policy: ThrottlePolicy,
    state: Mutex<(Table<String>, Table<IpAddr>)>,
    /// Failed public tracking lookups (`/lacak`), per registration number and per address:
    /// the same rule as sign-ins, counted apart from them.
    tracking: Mutex<(Table<String>, Table<IpAddr>)>,
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle::new(ThrottlePolicy::default())
    }
}

/// Refused for now: try again after this many seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait(pub u64);

fn name_key(user: &str) -> String {
    let user = user.trim().to_lowercase();
    match user.char_indices().nth(MAX_NAME) {
        Some((cut, _)) => user[..cut].to_string(),
        None => user,
    }
}

impl Throttle {
    pub fn new(policy: ThrottlePolicy) -> Throttle {
        Throttle {
            policy,
            state: Mutex::new((Table::default(), Table::default())),
            tracking: Mutex::new((Table::default(), Table::default())),
        }
    }

    /// Whether a tracking lookup of `number` from `addr` may be checked now.
    pub fn check_tracking(&self, number: &str, addr: Option<IpAddr>, now: DateTime<Utc>) -> Result<(), Wait> {
        let Ok(state) = self.tracking.lock() else { return Ok(()) };
        let by_number = state.0.wait(&name_key(number), now);
        let by_addr = addr.and_then(|a| state.1.wait(&a, now));
        match by_number.max(by_addr) {
            Some(wait) => Err(Wait(((wait.num_milliseconds() + 999) / 1000).max(1) as u64)),
            None => Ok(()),
        }
    }

    /// A lookup with a wrong number or a wrong secret (counted alike).
    pub fn failed_tracking(&self, number: &str, addr: Option<IpAddr>, now: DateTime<Utc>) {
        let Ok(mut state) = self.tracking.lock() else { return };
        let policy = &self.policy;
        state.0.fail(name_key(number), now, policy.free_per_user, policy);
        if let Some(addr) = addr {
            state.1.fail(addr, now, policy.free_per_address, policy);
        }
    }

    /// Whether a sign-in of `user` from `addr` may be checked now.
    pub fn check(&self, user: &str, addr: Option<IpAddr>, now: DateTime<Utc>) -> Result<(), Wait> {
        let Ok(state) = self.state.lock() else { return Ok(()) };
        let by_user = state.0.wait(&name_key(user), now);
        let by_addr = addr.and_then(|a| state.1.wait(&a, now));
        match by_user.max(by_addr) {
            // Whole seconds, rounded up: a client that waits this long is let in.
            Some(wait) => Err(Wait(((wait.num_milliseconds() + 999) / 1000).max(1) as u64)),
            None => Ok(()),
        }
    }

    /// A wrong user name or password.
    pub fn failed(&self, user: &str, addr: Option<IpAddr>, now: DateTime<Utc>) {
        let Ok(mut state) = self.state.lock() else { return };
        let policy = &self.policy;
        state.0.fail(name_key(user), now, policy.free_per_user, policy);
        if let Some(addr) = addr {
            state.1.fail(addr, now, policy.free_per_address, policy);
        }
    }

    /// A successful sign-in: the user name starts over (the address keeps its count, so one
    /// account of one's own does not reset guessing at others).
    pub fn succeeded(&self, user: &str) {
        if let Ok(mut state) = self.state.lock() {
            state.0.keys.remove(&name_key(user));
        }
    }

    /// Keys held (user names, addresses).
    pub fn len(&self) -> (usize, usize) {
        self.state.lock().map(|s| (s.0.keys.len(), s.1.keys.len())).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn free_failures_then_doubling_waits() {
        let throttle = Throttle::default();
        for _ in 0..4 {
            throttle.failed("Ani", None, at(0));
            assert_eq!(throttle.check("ani", None, at(0)), Ok(()));
        }
        throttle.failed("ani", None, at(0));
        assert_eq!(throttle.check("ANI ", None, at(0)), Err(Wait(1)));
        assert_eq!(throttle.check("ani", None, at(1)), Ok(()));
        throttle.failed("ani", None, at(1));
        assert_eq!(throttle.check("ani", None, at(1)), Err(Wait(2)));
        throttle.succeeded("ani");
        assert_eq!(throttle.check("ani", None, at(1)), Ok(()));
    }

    #[test]
    fn the_wait_is_capped_and_forgotten() {
        let throttle = Throttle::default();
        for n in 0..100 {
            throttle.failed("budi", None, at(n));
        }
        assert_eq!(throttle.check("budi", None, at(100)), Err(Wait(15 * 60 - 1)));
        throttle.failed("budi", None, at(100 + 3600));
        assert_eq!(throttle.check("budi", None, at(100 + 3600)), Ok(()));
    }

    #[test]
    fn the_tables_stay_bounded() {
        let policy = ThrottlePolicy { capacity: 100, ..ThrottlePolicy::default() };
        let throttle = Throttle::new(policy);
        for n in 0..1000 {
            let addr = IpAddr::from([10, 0, (n / 256) as u8, (n % 256) as u8]);
            throttle.failed(&format!("{n}{}", "x".repeat(1000)), Some(addr), at(n));
        }
        assert_eq!(throttle.len(), (100, 100));
    }
}
