//! How long a fetched x5u chain is cached (`reference/standards.md` §3.6, ATIS-1000074):
//! per `Cache-Control: max-age`, but never less than 24 h and never past the leaf's notAfter.

use std::time::Duration;

use passport::UnixTime;

/// The shortest time a successfully fetched chain is cached, whatever `max-age` says
/// (ATIS-1000074: absent directives, or if they are shorter, cache for 24 hours).
pub const X5U_MIN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// RFC 9111 §1.2.2: a delta-seconds value too large to represent is taken as 2^31.
const DELTA_SECONDS_MAX: u64 = 1 << 31;

/// The `max-age` of one or more `Cache-Control` header values, if any states one.
///
/// Parsing follows RFC 9111 §5.2: comma-separated directives, case-insensitive names, an
/// optional quoted value. The first `max-age` wins; an unparsable one is ignored.
pub(crate) fn max_age<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Option<Duration> {
    values
        .into_iter()
        .flat_map(|value| value.split(|&b| b == b','))
        .find_map(|directive| {
            let directive = directive.trim_ascii();
            let (name, value) = directive.split_at_checked(8)?;
            if !name.eq_ignore_ascii_case(b"max-age=") {
                return None;
            }
            let value = value.trim_ascii();
            let value = value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(value);
            delta_seconds(value)
        })
        .map(Duration::from_secs)
}

fn delta_seconds(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        n = n.saturating_mul(10).saturating_add(u64::from(d - b'0'));
    }
    Some(n.min(DELTA_SECONDS_MAX))
}

/// When a chain fetched at `now` stops being served from the cache.
pub(crate) fn expires_at(
    now: UnixTime,
    max_age: Option<Duration>,
    not_after: UnixTime,
) -> UnixTime {
    let ttl = max_age.map_or(X5U_MIN_TTL, |age| age.max(X5U_MIN_TTL));
    let by_ttl = now.as_secs().saturating_add(ttl.as_secs());
    UnixTime::since_unix_epoch(Duration::from_secs(by_ttl.min(not_after.as_secs())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    fn age(header: &str) -> Option<Duration> {
        max_age([header.as_bytes()])
    }

    #[test]
    fn parses_max_age() {
        assert_eq!(age("max-age=86400"), Some(Duration::from_secs(DAY)));
        assert_eq!(
            age("public, Max-Age=172800"),
            Some(Duration::from_secs(2 * DAY))
        );
        assert_eq!(age("max-age=\"60\""), Some(Duration::from_secs(60)));
        assert_eq!(age("no-cache"), None);
        assert_eq!(age("max-age=-5"), None);
        assert_eq!(age("max-age="), None);
        assert_eq!(age("s-maxage=100"), None);
        assert_eq!(
            age("max-age=99999999999999999999999"),
            Some(Duration::from_secs(1 << 31))
        );
        assert_eq!(
            max_age([&b"public"[..], b"max-age=7"]),
            Some(Duration::from_secs(7))
        );
    }

    proptest::proptest! {
        #[test]
        fn max_age_round_trips(n in 0u64..=(1 << 31), other in "[a-z-]{0,12}") {
            let header = format!("{other}, max-age={n}");
            proptest::prop_assert_eq!(age(&header), Some(Duration::from_secs(n)));
        }

        #[test]
        fn arbitrary_headers_do_not_panic(bytes: Vec<u8>) {
            let _ = max_age([bytes.as_slice()]);
        }

        #[test]
        fn expiry_is_within_bounds(now in 0u64..u64::MAX / 2, age: Option<u32>, life: u64) {
            let not_after = now.saturating_add(life);
            let got = expires_at(at(now), age.map(|a| Duration::from_secs(a.into())), at(not_after));
            proptest::prop_assert!(got.as_secs() <= not_after);
            proptest::prop_assert!(got.as_secs() >= now.saturating_add(DAY).min(not_after));
        }
    }

    #[test]
    fn floor_is_24_hours() {
        let now = 1_800_000_000;
        let far = at(now + 365 * DAY);
        assert_eq!(expires_at(at(now), None, far), at(now + DAY));
        assert_eq!(
            expires_at(at(now), Some(Duration::from_secs(60)), far),
            at(now + DAY)
        );
        assert_eq!(
            expires_at(at(now), Some(Duration::from_secs(3 * DAY)), far),
            at(now + 3 * DAY)
        );
    }

    #[test]
    fn never_past_not_after() {
        let now = 1_800_000_000;
        assert_eq!(expires_at(at(now), None, at(now + 3600)), at(now + 3600));
        assert_eq!(
            expires_at(
                at(now),
                Some(Duration::from_secs(10 * DAY)),
                at(now + 2 * DAY)
            ),
            at(now + 2 * DAY)
        );
        assert_eq!(
            expires_at(at(u64::MAX - 1), None, at(u64::MAX)),
            at(u64::MAX)
        );
    }
}
