//! Header names: canonical and compact forms, compared case-insensitively.
//!
//! RFC 3261 §7.3.1: field names are case-insensitive. §7.3.3 and later RFCs define one-letter
//! compact forms; both spellings name the same header.

/// A header this crate knows by name. Any other header stays reachable by its spelling through
/// [`Headers::get_named`](crate::Headers::get_named).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderName {
    /// `Accept`
    Accept,
    /// `Allow`
    Allow,
    /// `Call-ID` (compact `i`)
    CallId,
    /// `Contact` (compact `m`)
    Contact,
    /// `Content-Encoding` (compact `e`)
    ContentEncoding,
    /// `Content-Length` (compact `l`)
    ContentLength,
    /// `Content-Type` (compact `c`)
    ContentType,
    /// `CSeq`
    CSeq,
    /// `Date`
    Date,
    /// `Event` (compact `o`, RFC 6665)
    Event,
    /// `From` (compact `f`)
    From,
    /// `Identity` (compact `y`, RFC 8224)
    Identity,
    /// `Max-Forwards`
    MaxForwards,
    /// `P-Asserted-Identity` (RFC 3325)
    PAssertedIdentity,
    /// `Reason` (RFC 3326)
    Reason,
    /// `Record-Route`
    RecordRoute,
    /// `Refer-To` (compact `r`, RFC 3515)
    ReferTo,
    /// `Require`
    Require,
    /// `Retry-After`
    RetryAfter,
    /// `Route`
    Route,
    /// `Session-Expires` (compact `x`, RFC 4028)
    SessionExpires,
    /// `Subject` (compact `s`)
    Subject,
    /// `Supported` (compact `k`)
    Supported,
    /// `To` (compact `t`)
    To,
    /// `User-Agent`
    UserAgent,
    /// `Via` (compact `v`)
    Via,
    /// `Warning`
    Warning,
}

/// (name, canonical spelling, compact letter)
const TABLE: &[(HeaderName, &str, Option<u8>)] = &[
    (HeaderName::Accept, "Accept", None),
    (HeaderName::Allow, "Allow", None),
    (HeaderName::CallId, "Call-ID", Some(b'i')),
    (HeaderName::Contact, "Contact", Some(b'm')),
    (HeaderName::ContentEncoding, "Content-Encoding", Some(b'e')),
    (HeaderName::ContentLength, "Content-Length", Some(b'l')),
    (HeaderName::ContentType, "Content-Type", Some(b'c')),
    (HeaderName::CSeq, "CSeq", None),
    (HeaderName::Date, "Date", None),
    (HeaderName::Event, "Event", Some(b'o')),
    (HeaderName::From, "From", Some(b'f')),
    (HeaderName::Identity, "Identity", Some(b'y')),
    (HeaderName::MaxForwards, "Max-Forwards", None),
    (HeaderName::PAssertedIdentity, "P-Asserted-Identity", None),
    (HeaderName::Reason, "Reason", None),
    (HeaderName::RecordRoute, "Record-Route", None),
    (HeaderName::ReferTo, "Refer-To", Some(b'r')),
    (HeaderName::Require, "Require", None),
    (HeaderName::RetryAfter, "Retry-After", None),
    (HeaderName::Route, "Route", None),
    (HeaderName::SessionExpires, "Session-Expires", Some(b'x')),
    (HeaderName::Subject, "Subject", Some(b's')),
    (HeaderName::Supported, "Supported", Some(b'k')),
    (HeaderName::To, "To", Some(b't')),
    (HeaderName::UserAgent, "User-Agent", None),
    (HeaderName::Via, "Via", Some(b'v')),
    (HeaderName::Warning, "Warning", None),
];

impl HeaderName {
    /// The known header spelled `name` (canonical or compact, any case), if any.
    pub fn from_bytes(name: &[u8]) -> Option<Self> {
        if let [c] = name {
            let c = c.to_ascii_lowercase();
            return TABLE
                .iter()
                .find(|(_, _, compact)| *compact == Some(c))
                .map(|(n, _, _)| *n);
        }
        TABLE
            .iter()
            .find(|(_, canonical, _)| canonical.as_bytes().eq_ignore_ascii_case(name))
            .map(|(n, _, _)| *n)
    }

    /// The canonical spelling, as printed in responses and errors.
    pub fn as_str(self) -> &'static str {
        TABLE
            .iter()
            .find(|(n, _, _)| *n == self)
            .map_or("", |(_, canonical, _)| canonical)
    }
}

impl std::fmt::Display for HeaderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_compact_and_case() {
        for (name, canonical, compact) in TABLE {
            assert_eq!(HeaderName::from_bytes(canonical.as_bytes()), Some(*name));
            assert_eq!(
                HeaderName::from_bytes(canonical.to_ascii_uppercase().as_bytes()),
                Some(*name)
            );
            if let Some(c) = compact {
                assert_eq!(HeaderName::from_bytes(&[*c]), Some(*name));
                assert_eq!(
                    HeaderName::from_bytes(&[c.to_ascii_uppercase()]),
                    Some(*name)
                );
            }
            assert_eq!(name.as_str(), *canonical);
        }
        assert_eq!(HeaderName::from_bytes(b"X-Custom"), None);
        assert_eq!(HeaderName::from_bytes(b"q"), None);
    }
}
