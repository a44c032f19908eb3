//! SIP, SIPS and tel URIs, enough to locate the user part (the telephone number) and host.
//!
//! ```text
//! SIP-URI  = "sip:" [ userinfo ] hostport uri-parameters [ headers ]     ; RFC 3261 §25.1
//! userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
//! tel-URI  = "tel:" telephone-subscriber                                  ; RFC 3966 §3
//! ```

use std::ops::Range;

use super::grammar;

/// A URI scheme this crate understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:`
    Tel,
}

/// Why a URI did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The host part is empty or holds characters a host cannot.
    #[error("bad host")]
    Host,
    /// A parameter is not `token [= value]`.
    #[error("bad parameter")]
    Param,
    /// The port is not a number up to 65535.
    #[error("bad port")]
    Port,
    /// The scheme is not sip, sips or tel.
    #[error("unsupported scheme")]
    Scheme,
    /// The URI contains whitespace or control characters.
    #[error("bad character")]
    Character,
}

/// A parsed URI borrowing the text it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uri<'a> {
    raw: &'a str,
    scheme: Scheme,
    user: Option<&'a str>,
    host: &'a str,
    port: Option<u16>,
    params: &'a str,
    headers: Option<&'a str>,
}

impl<'a> Uri<'a> {
    /// Parses a URI. Scheme names are case-insensitive (RFC 3261 §19.1.4).
    pub fn parse(raw: &'a str) -> Result<Self, UriError> {
        if raw.bytes().any(|c| c <= b' ' || c == 0x7f) {
            return Err(UriError::Character);
        }
        let (scheme, rest) = grammar::split_once(raw, b':').ok_or(UriError::Scheme)?;
        let scheme = if scheme.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if scheme.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else if scheme.eq_ignore_ascii_case("tel") {
            Scheme::Tel
        } else {
            return Err(UriError::Scheme);
        };
        if scheme == Scheme::Tel {
            let (number, params) = grammar::split_once(rest, b';').unwrap_or((rest, ""));
            if number.is_empty() {
                return Err(UriError::Host);
            }
            if !grammar::params_valid(params) {
                return Err(UriError::Param);
            }
            return Ok(Self {
                raw,
                scheme,
                user: Some(number),
                host: "",
                port: None,
                params,
                headers: None,
            });
        }
        // The user part may hold `?` and `;` (RFC 4475 §3.1.1.2), so the last `@` ends it; a
        // header part holding `@` is not supported.
        let (user, hostpart) = match grammar::rsplit_once(rest, b'@') {
            Some((userinfo, hostpart)) => {
                let user = grammar::split_once(userinfo, b':').map_or(userinfo, |(u, _)| u);
                (Some(user), hostpart)
            }
            None => (None, rest),
        };
        let (hostpart, headers) = match grammar::split_once(hostpart, b'?') {
            Some((r, h)) => (r, Some(h)),
            None => (hostpart, None),
        };
        let (hostport, params) = grammar::split_once(hostpart, b';').unwrap_or((hostpart, ""));
        let (host, port) = split_hostport(hostport)?;
        if !grammar::params_valid(params) {
            return Err(UriError::Param);
        }
        Ok(Self {
            raw,
            scheme,
            user,
            host,
            port,
            params,
            headers,
        })
    }

    /// The URI as received.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The user part (for `tel:` the telephone-subscriber without parameters), still escaped.
    pub fn user(&self) -> Option<&'a str> {
        self.user
    }

    /// The host (empty for `tel:`); an IPv6 reference keeps its brackets.
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// The explicit port.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// A URI parameter (`;name[=value]`, case-insensitive name). `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        grammar::param(self.params, name)
    }

    /// The raw header part after `?`, if any.
    pub fn headers(&self) -> Option<&'a str> {
        self.headers
    }
}

/// A [`Uri`] kept as offsets into the text it was parsed from (see `grammar::span`).
#[derive(Clone, Debug)]
pub(crate) struct KeptUri {
    raw: Range<usize>,
    scheme: Scheme,
    user: Option<Range<usize>>,
    host: Range<usize>,
    port: Option<u16>,
    params: Range<usize>,
    headers: Option<Range<usize>>,
}

impl KeptUri {
    /// Keeps `uri`, which borrows from `base`.
    pub(crate) fn new(base: &[u8], uri: &Uri<'_>) -> Self {
        let span = |part: &str| grammar::span(base, part);
        Self {
            raw: span(uri.raw),
            scheme: uri.scheme,
            user: uri.user.map(span),
            host: span(uri.host),
            port: uri.port,
            params: span(uri.params),
            headers: uri.headers.map(span),
        }
    }

    /// The URI's text, over the same `base`.
    pub(crate) fn raw<'a>(&self, base: &'a [u8]) -> &'a str {
        grammar::at(base, &self.raw)
    }

    /// The URI again, over the same `base`.
    pub(crate) fn get<'a>(&self, base: &'a [u8]) -> Uri<'a> {
        let at = |r: &Range<usize>| grammar::at(base, r);
        Uri {
            raw: self.raw(base),
            scheme: self.scheme,
            user: self.user.as_ref().map(at),
            host: at(&self.host),
            port: self.port,
            params: at(&self.params),
            headers: self.headers.as_ref().map(at),
        }
    }
}

impl std::fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.raw)
    }
}

/// `hostport = host [ ":" port ]`, host being a name, IPv4 or `[IPv6]`.
pub(crate) fn split_hostport(hostport: &str) -> Result<(&str, Option<u16>), UriError> {
    let (host, port) = if hostport.starts_with('[') {
        let end = hostport.find(']').ok_or(UriError::Host)?;
        let (h, p) = hostport.split_at(end + 1);
        match p.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if p.is_empty() => (h, None),
            None => return Err(UriError::Host),
        }
    } else {
        match grammar::split_once(hostport, b':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let valid_host = !host.is_empty()
        && host.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'[' | b']' | b':' | b'_')
        });
    if !valid_host {
        return Err(UriError::Host);
    }
    let port = match port {
        Some(p) => Some(
            (!p.is_empty() && p.len() <= 5 && p.bytes().all(|c| c.is_ascii_digit()))
                .then(|| p.parse::<u16>().ok())
                .flatten()
                .ok_or(UriError::Port)?,
        ),
        None => None,
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_uri_parts() {
        let u = Uri::parse(
            "sip:+12155551212;npdi@example.com:5061;user=phone;verstat=TN-Validation-Passed?x=y",
        )
        .unwrap();
        assert_eq!(u.scheme(), Scheme::Sip);
        assert_eq!(u.user(), Some("+12155551212;npdi"));
        assert_eq!(u.host(), "example.com");
        assert_eq!(u.port(), Some(5061));
        assert_eq!(u.param("user"), Some(Some("phone")));
        assert_eq!(u.param("VERSTAT"), Some(Some("TN-Validation-Passed")));
        assert_eq!(u.headers(), Some("x=y"));
        assert_eq!(u.to_string(), u.as_str());
    }

    #[test]
    fn password_ipv6_and_case() {
        let u = Uri::parse("SIPS:alice:secret@[2001:db8::1]:5061").unwrap();
        assert_eq!(u.scheme(), Scheme::Sips);
        assert_eq!(u.user(), Some("alice"));
        assert_eq!(u.host(), "[2001:db8::1]");
        assert_eq!(u.port(), Some(5061));
        let u = Uri::parse("sip:10.0.0.1").unwrap();
        assert_eq!((u.user(), u.host(), u.port()), (None, "10.0.0.1", None));
    }

    #[test]
    fn tel_uri() {
        let u = Uri::parse("tel:+1-201-555-0123;phone-context=example.com").unwrap();
        assert_eq!(u.scheme(), Scheme::Tel);
        assert_eq!(u.user(), Some("+1-201-555-0123"));
        assert_eq!(u.param("phone-context"), Some(Some("example.com")));
    }

    #[test]
    fn rejects() {
        assert_eq!(Uri::parse("http://x"), Err(UriError::Scheme));
        assert_eq!(Uri::parse("nocolon"), Err(UriError::Scheme));
        assert_eq!(Uri::parse("sip:a@"), Err(UriError::Host));
        assert_eq!(Uri::parse("sip:a@h:99999"), Err(UriError::Port));
        assert_eq!(Uri::parse("sip:a@h:"), Err(UriError::Port));
        assert_eq!(Uri::parse("sip:a b@h"), Err(UriError::Character));
        assert_eq!(Uri::parse("sip:h;a b"), Err(UriError::Character));
        assert_eq!(Uri::parse("sip:h;=x"), Err(UriError::Param));
        assert_eq!(Uri::parse("tel:"), Err(UriError::Host));
    }
}
