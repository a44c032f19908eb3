//! When to refresh: pure functions of the last success and the objects' own times.

use std::time::Duration;

use passport::UnixTime;

use super::error::TrustListError;
use crate::sti_pa::StiPaError;

/// How long before the CA list's `exp` a refresh is due at the latest.
pub const CA_LIST_EXP_MARGIN: Duration = Duration::from_secs(3600);

/// Shortest time between two scheduled refreshes of one object, so a `nextUpdate` or `exp`
/// already in the past does not make the scheduler spin.
pub const MIN_REFRESH_GAP: Duration = Duration::from_secs(60);

/// When to refresh a CA list fetched at `fetched_at` that expires at `exp`: after `interval`
/// or [`CA_LIST_EXP_MARGIN`] before `exp`, whichever is first, but not sooner than
/// [`MIN_REFRESH_GAP`] after the fetch.
pub fn ca_list_refresh_at(fetched_at: UnixTime, exp: u64, interval: Duration) -> UnixTime {
    let by_interval = fetched_at.as_secs().saturating_add(interval.as_secs());
    let by_exp = exp.saturating_sub(CA_LIST_EXP_MARGIN.as_secs());
    at_least_gap(fetched_at, by_interval.min(by_exp))
}

/// When to refresh a CRL fetched at `fetched_at`: at its `nextUpdate` or after
/// `max_interval` (12 h by default), whichever is first (§3.5), but not sooner than
/// [`MIN_REFRESH_GAP`] after the fetch.
pub fn crl_refresh_at(
    fetched_at: UnixTime,
    next_update: Option<UnixTime>,
    max_interval: Duration,
) -> UnixTime {
    let by_interval = fetched_at.as_secs().saturating_add(max_interval.as_secs());
    let due = match next_update {
        Some(next) => by_interval.min(next.as_secs()),
        None => by_interval,
    };
    at_least_gap(fetched_at, due)
}

/// How long to wait after the `failures`-th consecutive failure (1 for the first).
///
/// Credentials the STI-PA refused (401, 403) are not retried soon: the same password would be
/// refused again and repeated failures can lock the API user, so the wait is `patient` (the
/// normal refresh interval). Other failures back off exponentially from `min` to `max`; the
/// wait is drawn from its upper half with `jitter` (any random number), so many instances do
/// not retry in step.
pub fn retry_delay(
    error: &TrustListError,
    failures: u32,
    min: Duration,
    max: Duration,
    patient: Duration,
    jitter: u64,
) -> Duration {
    if matches!(
        error,
        TrustListError::StiPa(StiPaError::Unauthorized | StiPaError::Forbidden)
    ) {
        return patient;
    }
    let doublings = failures.saturating_sub(1).min(30);
    let base = min.saturating_mul(1 << doublings).min(max).max(min);
    let half = base / 2;
    let spread = half.as_millis().max(1) as u64;
    half + Duration::from_millis(jitter % spread)
}

fn at_least_gap(fetched_at: UnixTime, due: u64) -> UnixTime {
    let earliest = fetched_at
        .as_secs()
        .saturating_add(MIN_REFRESH_GAP.as_secs());
    UnixTime::since_unix_epoch(Duration::from_secs(due.max(earliest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3600;
    const T: u64 = 1_748_736_000;

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    #[test]
    fn crl_next_update_sooner_than_twelve_hours_wins() {
        let due = crl_refresh_at(at(T), Some(at(T + 2 * H)), Duration::from_secs(12 * H));
        assert_eq!(due.as_secs(), T + 2 * H);
    }

    #[test]
    fn crl_twelve_hours_win_over_a_later_next_update() {
        let due = crl_refresh_at(at(T), Some(at(T + 7 * 24 * H)), Duration::from_secs(12 * H));
        assert_eq!(due.as_secs(), T + 12 * H);
        let due = crl_refresh_at(at(T), None, Duration::from_secs(12 * H));
        assert_eq!(due.as_secs(), T + 12 * H);
    }

    #[test]
    fn crl_next_update_in_the_past_does_not_spin() {
        let due = crl_refresh_at(at(T), Some(at(T - H)), Duration::from_secs(12 * H));
        assert_eq!(due.as_secs(), T + MIN_REFRESH_GAP.as_secs());
    }

    #[test]
    fn ca_list_refreshes_before_exp() {
        let day = Duration::from_secs(24 * H);
        assert_eq!(
            ca_list_refresh_at(at(T), T + 30 * 24 * H, day).as_secs(),
            T + 24 * H
        );
        assert_eq!(
            ca_list_refresh_at(at(T), T + 5 * H, day).as_secs(),
            T + 4 * H
        );
        assert_eq!(
            ca_list_refresh_at(at(T), T + 10, day).as_secs(),
            T + MIN_REFRESH_GAP.as_secs()
        );
    }

    #[test]
    fn unauthorized_waits_the_patient_interval() {
        let patient = Duration::from_secs(24 * H);
        for failures in [1, 2, 10] {
            for error in [StiPaError::Unauthorized, StiPaError::Forbidden] {
                let delay = retry_delay(
                    &TrustListError::StiPa(error),
                    failures,
                    Duration::from_secs(60),
                    Duration::from_secs(H),
                    patient,
                    12345,
                );
                assert_eq!(delay, patient);
            }
        }
    }

    #[test]
    fn other_failures_back_off_with_jitter_within_bounds() {
        let error = TrustListError::StiPa(StiPaError::Status { status: 503 });
        let (min, max) = (Duration::from_secs(60), Duration::from_secs(H));
        let delay = |failures, jitter| {
            retry_delay(
                &error,
                failures,
                min,
                max,
                Duration::from_secs(24 * H),
                jitter,
            )
        };
        assert_eq!(delay(1, 0), Duration::from_secs(30));
        assert_eq!(delay(2, 0), Duration::from_secs(60));
        assert_eq!(delay(3, 0), Duration::from_secs(120));
        assert_eq!(delay(40, 0), Duration::from_secs(H / 2));
        assert!(delay(1, u64::MAX) < Duration::from_secs(60));
        assert_ne!(delay(5, 1), delay(5, 7777));
        for jitter in [0, 1, 999_999, u64::MAX] {
            let d = delay(40, jitter);
            assert!(d >= Duration::from_secs(H / 2) && d < max, "{d:?}");
        }
    }
}
