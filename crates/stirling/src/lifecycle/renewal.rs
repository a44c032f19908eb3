//! When a certificate is renewed and how failed attempts back off (pure functions).
//!
//! Renewing at half the lifetime of a 7-day certificate leaves 3.5 days to recover from an
//! STI-PA or STI-CA outage before the active certificate expires; DESIGN.md "Certificate
//! lifecycle".

use std::time::Duration;

use passport::UnixTime;

/// When to renew, and how to retry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenewalPolicy {
    /// Share of the validity period after which renewal starts (0 < x < 1). Default 0.5.
    pub renew_after_fraction: f64,
    /// First retry delay after a failure. Default 1 minute.
    pub retry_base: Duration,
    /// Longest retry delay. Default 1 hour.
    pub retry_max: Duration,
}

impl Default for RenewalPolicy {
    fn default() -> Self {
        Self {
            renew_after_fraction: 0.5,
            retry_base: Duration::from_secs(60),
            retry_max: Duration::from_secs(3_600),
        }
    }
}

impl RenewalPolicy {
    /// The moment renewal of a certificate valid from `not_before` to `not_after` starts.
    pub fn renew_at(&self, not_before: UnixTime, not_after: UnixTime) -> UnixTime {
        let start = not_before.as_secs();
        let lifetime = not_after.as_secs().saturating_sub(start);
        let fraction = self.renew_after_fraction.clamp(0.0, 1.0);
        // Lifetimes are far below 2^52 s, so the f64 round trip is exact enough.
        let offset = (lifetime as f64 * fraction) as u64;
        UnixTime::since_unix_epoch(Duration::from_secs(start + offset))
    }

    /// Whether an entry whose active certificate is `active` (validity bounds) needs a new
    /// one at `now`; an entry without one always does.
    pub fn due(&self, active: Option<(UnixTime, UnixTime)>, now: UnixTime) -> bool {
        match active {
            None => true,
            Some((not_before, not_after)) => {
                now.as_secs() >= self.renew_at(not_before, not_after).as_secs()
            }
        }
    }

    /// Delay before retry number `failures` (1 after the first failure): exponential from
    /// `retry_base`, capped at `retry_max`, with "full jitter" drawn from `random` in [0, 1)
    /// so several nodes and entries do not retry in step.
    pub fn retry_delay(&self, failures: u32, random: f64) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        let ceiling = self
            .retry_base
            .saturating_mul(1u32 << exponent)
            .min(self.retry_max);
        // Never retry sooner than half the ceiling: a storm of immediate retries is what a
        // PA or CA under trouble least needs.
        let half = ceiling / 2;
        half + half.mul_f64(random.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    #[test]
    fn renews_at_half_life_by_default() {
        let policy = RenewalPolicy::default();
        let week = 7 * 86_400;
        assert_eq!(
            policy.renew_at(t(1_000), t(1_000 + week)),
            t(1_000 + week / 2)
        );
        assert!(!policy.due(Some((t(1_000), t(1_000 + week))), t(1_000 + week / 2 - 1)));
        assert!(policy.due(Some((t(1_000), t(1_000 + week))), t(1_000 + week / 2)));
        assert!(policy.due(None, t(0)));
        let late = RenewalPolicy {
            renew_after_fraction: 0.75,
            ..policy
        };
        assert_eq!(late.renew_at(t(0), t(400)), t(300));
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter_and_a_cap() {
        let policy = RenewalPolicy::default();
        assert_eq!(policy.retry_delay(1, 0.0), Duration::from_secs(30));
        assert_eq!(policy.retry_delay(1, 1.0), Duration::from_secs(60));
        assert_eq!(policy.retry_delay(2, 1.0), Duration::from_secs(120));
        assert_eq!(policy.retry_delay(3, 0.5), Duration::from_secs(180));
        assert_eq!(policy.retry_delay(50, 1.0), Duration::from_secs(3_600));
        assert_eq!(policy.retry_delay(50, 0.0), Duration::from_secs(1_800));
    }
}
