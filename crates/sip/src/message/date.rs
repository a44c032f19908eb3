//! The Date header value (RFC 3261 §20.17): only the RFC 1123 form in GMT.
//!
//! ```text
//! rfc1123-date = wkday "," SP date1 SP time SP "GMT"
//! date1        = 2DIGIT SP month SP 4DIGIT
//! time         = 2DIGIT ":" 2DIGIT ":" 2DIGIT
//! ```

use std::time::Duration;

use rustls_pki_types::UnixTime;

const WKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses an rfc1123-date. The weekday must be one of the seven names but is not checked
/// against the date (RFC 3261 does not ask receivers to).
pub(crate) fn parse(value: &str) -> Result<UnixTime, &'static str> {
    let parts: Vec<&str> = value.split(' ').collect();
    let [wkday, day, month, year, time, zone] = parts[..] else {
        return Err("not wkday, dd mon yyyy hh:mm:ss GMT");
    };
    if !wkday.strip_suffix(',').is_some_and(|w| WKDAYS.contains(&w)) {
        return Err("bad weekday");
    }
    if zone != "GMT" {
        return Err("not GMT");
    }
    let day = digits(day, 2)
        .filter(|d| (1..=31).contains(d))
        .ok_or("bad day")?;
    let month = MONTHS.iter().position(|m| *m == month).ok_or("bad month")? as u64 + 1;
    let year = digits(year, 4).filter(|y| *y >= 1970).ok_or("bad year")?;
    let hms: Vec<&str> = time.split(':').collect();
    let [h, m, s] = hms[..] else {
        return Err("bad time");
    };
    let (h, m, s) = (
        digits(h, 2).filter(|h| *h < 24).ok_or("bad time")?,
        digits(m, 2).filter(|m| *m < 60).ok_or("bad time")?,
        // 60 allows a leap second.
        digits(s, 2).filter(|s| *s <= 60).ok_or("bad time")?,
    );
    if day > days_in_month(year, month) {
        return Err("bad day");
    }
    let days = days_from_civil(year, month, day);
    Ok(UnixTime::since_unix_epoch(Duration::from_secs(
        days * 86_400 + h * 3_600 + m * 60 + s,
    )))
}

fn digits(s: &str, n: usize) -> Option<u64> {
    (s.len() == n && s.bytes().all(|c| c.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`),
/// for years from 1970 on.
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(v: &str) -> u64 {
        parse(v).unwrap().as_secs()
    }

    #[test]
    fn known_dates() {
        assert_eq!(secs("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
        // RFC 3261 §20.17's example.
        assert_eq!(secs("Sat, 13 Nov 2010 23:29:00 GMT"), 1_289_690_940);
        assert_eq!(secs("Tue, 29 Feb 2000 12:00:00 GMT"), 951_825_600);
        assert_eq!(secs("Fri, 27 Nov 2026 10:00:00 GMT"), 1_795_773_600);
    }

    #[test]
    fn malformed() {
        assert_eq!(parse("Sat, 13 Nov 2010 23:29:00 EST"), Err("not GMT"));
        assert_eq!(parse("Sat 13 Nov 2010 23:29:00 GMT"), Err("bad weekday"));
        assert_eq!(parse("Sat, 13 Nov 2010 23:29 GMT"), Err("bad time"));
        assert_eq!(parse("Sat, 13 Foo 2010 23:29:00 GMT"), Err("bad month"));
        assert_eq!(parse("Sat, 29 Feb 2010 23:29:00 GMT"), Err("bad day"));
        assert_eq!(parse("Sat, 3 Nov 2010 23:29:00 GMT"), Err("bad day"));
        assert_eq!(parse("Sat, 13 Nov 1969 23:29:00 GMT"), Err("bad year"));
        assert_eq!(parse("Sat, 13 Nov 2010 24:00:00 GMT"), Err("bad time"));
        assert_eq!(
            parse("Sat,  13 Nov 2010 23:29:00 GMT"),
            Err("not wkday, dd mon yyyy hh:mm:ss GMT")
        );
    }
}
