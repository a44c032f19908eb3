//! Login rate limiting: after [`MAX_FAILURES`] failed logins for one source address and email
//! within [`WINDOW_SECS`], further attempts are refused until the oldest failure leaves the
//! window. Kept in memory per node: a restart forgets, and with several nodes an attacker gets
//! the budget once per node, which still bounds guessing to a handful per minute.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use passport::UnixTime;

/// Failed logins allowed per source address and email within the window.
pub const MAX_FAILURES: usize = 5;
/// The window, in seconds.
pub const WINDOW_SECS: u64 = 300;
/// Keys kept at most; beyond this the oldest-looking entries are dropped so a flood of
/// distinct emails cannot exhaust memory.
const MAX_KEYS: usize = 100_000;

/// Counts failed logins per (source address, email).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<(IpAddr, String), VecDeque<u64>>>,
}

/// A refused attempt: how long until the next one is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl LoginLimiter {
    /// Whether an attempt from `source` for `email` may proceed at `now`.
    pub fn check(&self, source: IpAddr, email: &str, now: UnixTime) -> Result<(), RetryAfter> {
        let now = now.as_secs();
        let mut failures = self.lock();
        let Some(times) = failures.get_mut(&key(source, email)) else {
            return Ok(());
        };
        prune(times, now);
        match times.front() {
            Some(&oldest) if times.len() >= MAX_FAILURES => Err(RetryAfter(
                (oldest + WINDOW_SECS).saturating_sub(now).max(1),
            )),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt.
    pub fn failed(&self, source: IpAddr, email: &str, now: UnixTime) {
        let now = now.as_secs();
        let mut failures = self.lock();
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, times| {
                prune(times, now);
                !times.is_empty()
            });
        }
        if failures.len() >= MAX_KEYS {
            return;
        }
        let times = failures.entry(key(source, email)).or_default();
        prune(times, now);
        times.push_back(now);
    }

    /// Forgets the failures of a pair after a successful login.
    pub fn succeeded(&self, source: IpAddr, email: &str) {
        self.lock().remove(&key(source, email));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(IpAddr, String), VecDeque<u64>>> {
        // A panic while holding the lock leaves only counters behind; keep using them.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn key(source: IpAddr, email: &str) -> (IpAddr, String) {
    (source, email.trim().to_lowercase())
}

fn prune(times: &mut VecDeque<u64>, now: u64) {
    while times.front().is_some_and(|&t| t + WINDOW_SECS <= now) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;

    fn t(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn five_failures_block_the_pair_until_the_window_passes() {
        let limiter = LoginLimiter::default();
        for i in 0..5 {
            assert_eq!(limiter.check(A, "ops@example.com", t(1000 + i)), Ok(()));
            limiter.failed(A, "ops@example.com", t(1000 + i));
        }
        assert_eq!(
            limiter.check(A, "OPS@example.com ", t(1010)),
            Err(RetryAfter(290)),
            "email compared case-insensitively"
        );
        // Other pairs are unaffected.
        assert_eq!(limiter.check(B, "ops@example.com", t(1010)), Ok(()));
        assert_eq!(limiter.check(A, "other@example.com", t(1010)), Ok(()));
        // Once the first failure is older than the window, one more attempt is allowed.
        assert_eq!(
            limiter.check(A, "ops@example.com", t(1299)),
            Err(RetryAfter(1))
        );
        assert_eq!(limiter.check(A, "ops@example.com", t(1300)), Ok(()));
    }

    #[test]
    fn success_clears_the_pair() {
        let limiter = LoginLimiter::default();
        for i in 0..4 {
            limiter.failed(A, "ops@example.com", t(i));
        }
        limiter.succeeded(A, "ops@example.com");
        limiter.failed(A, "ops@example.com", t(5));
        assert_eq!(limiter.check(A, "ops@example.com", t(6)), Ok(()));
    }
}
