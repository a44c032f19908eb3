//! The Via header (RFC 3261 §20.42, rport RFC 3581).
//!
//! ```text
//! via-parm    = sent-protocol LWS sent-by *( SEMI via-params )
//! sent-protocol = protocol-name SLASH protocol-version SLASH transport
//! sent-by     = host [ COLON port ]
//! ```

use std::ops::Range;

use super::grammar::{self, trim};
use super::uri::split_hostport;

/// The magic cookie that marks an RFC 3261 branch (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// One via-parm, borrowing the header text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Via<'a> {
    transport: &'a str,
    host: &'a str,
    port: Option<u16>,
    params: &'a str,
    /// Looked up once at parse: every answer and transaction key needs them.
    branch: Option<&'a str>,
    rport: Option<Option<u16>>,
}

impl<'a> Via<'a> {
    /// Parses one via-parm (not a comma-separated list). LWS around `/` is allowed
    /// (RFC 4475 §3.1.1.1).
    pub fn parse(value: &'a str) -> Result<Self, &'static str> {
        let value = trim(value);
        let mut parts = value.splitn(3, '/');
        let name = trim(parts.next().unwrap_or_default());
        let version = trim(parts.next().ok_or("no sent-protocol")?);
        let rest = trim(parts.next().ok_or("no sent-protocol")?);
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err("not SIP/2.0");
        }
        let split = rest.find([' ', '\t']).ok_or("no sent-by")?;
        let transport = &rest[..split];
        if !grammar::is_token(transport.as_bytes()) {
            return Err("bad transport");
        }
        let rest = trim(&rest[split..]);
        let (sent_by, params) = grammar::split_once(rest, b';').unwrap_or((rest, ""));
        let sent_by = trim(sent_by);
        // LWS is allowed around the colon of sent-by.
        let compact: String;
        let sent_by = if sent_by.contains([' ', '\t']) {
            compact = sent_by.split([' ', '\t']).collect();
            compact.as_str()
        } else {
            sent_by
        };
        let (host_len, port) = {
            let (h, p) = split_hostport(sent_by).map_err(|_| "bad sent-by")?;
            (h.len(), p)
        };
        if !grammar::params_valid(params) {
            return Err("bad parameter");
        }
        let host_start = rest.find(&sent_by[..host_len]).ok_or("bad sent-by")?;
        let host = &rest[host_start..host_start + host_len];
        let mut branch = None;
        let mut rport = None;
        for (name, value) in grammar::params(params) {
            if name.eq_ignore_ascii_case("branch") && branch.is_none() {
                branch = Some(value.ok_or("empty branch")?);
            } else if name.eq_ignore_ascii_case("rport") && rport.is_none() {
                rport = Some(match value {
                    Some(r) => Some(r.parse::<u16>().map_err(|_| "bad rport")?),
                    None => None,
                });
            }
        }
        Ok(Self {
            transport,
            host,
            port,
            params,
            branch,
            rport,
        })
    }

    /// The parameters after the sent-by, as received (without the first `;`).
    pub(crate) fn params(&self) -> &'a str {
        self.params
    }

    /// The transport token (`UDP`, `TCP`, `TLS`…), as received.
    pub fn transport(&self) -> &'a str {
        self.transport
    }

    /// The sent-by host.
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// The sent-by port, if given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&'a str> {
        self.branch
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&'a str> {
        self.param("received").flatten()
    }

    /// The `rport` parameter: `Some(None)` when requested without a value (RFC 3581 §3).
    pub fn rport(&self) -> Option<Option<u16>> {
        self.rport
    }

    /// Any parameter by name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        grammar::param(self.params, name)
    }

    /// Whether the branch starts with the RFC 3261 magic cookie.
    pub fn is_rfc3261(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(MAGIC_COOKIE))
    }
}

/// A [`Via`] kept as offsets into the text it was parsed from (see `grammar::span`).
#[derive(Clone, Debug)]
pub(crate) struct KeptVia {
    transport: Range<usize>,
    host: Range<usize>,
    port: Option<u16>,
    params: Range<usize>,
    branch: Option<Range<usize>>,
    rport: Option<Option<u16>>,
    /// Where the via-parm ends in `base` (where a response's added parameters go).
    end: usize,
}

impl KeptVia {
    /// Keeps `via`, parsed from the via-parm `value`; both borrow from `base`.
    pub(crate) fn new(base: &[u8], value: &str, via: &Via<'_>) -> Self {
        let span = |part: &str| grammar::span(base, part);
        Self {
            end: span(trim(value)).end,
            transport: span(via.transport),
            host: span(via.host),
            port: via.port,
            params: span(via.params),
            branch: via.branch.map(span),
            rport: via.rport,
        }
    }

    /// Where the via-parm ends in `base`.
    pub(crate) fn end(&self) -> usize {
        self.end
    }

    /// The Via again, over the same `base`.
    pub(crate) fn get<'a>(&self, base: &'a [u8]) -> Via<'a> {
        let at = |r: &Range<usize>| grammar::at(base, r);
        Via {
            transport: at(&self.transport),
            host: at(&self.host),
            port: self.port,
            params: at(&self.params),
            branch: self.branch.as_ref().map(at),
            rport: self.rport,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_via() {
        let v = Via::parse(
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport;received=10.0.0.1",
        )
        .unwrap();
        assert_eq!(v.transport(), "UDP");
        assert_eq!(v.host(), "192.0.2.1");
        assert_eq!(v.port(), Some(5060));
        assert_eq!(v.branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), Some("10.0.0.1"));
        assert!(v.is_rfc3261());
    }

    #[test]
    fn lws_and_ipv6() {
        let v = Via::parse("SIP / 2.0 / TCP  [2001:db8::9]:5061 ; branch = z9hG4bKx ; rport=5062")
            .unwrap();
        assert_eq!(v.transport(), "TCP");
        assert_eq!(v.host(), "[2001:db8::9]");
        assert_eq!(v.port(), Some(5061));
        assert_eq!(v.branch(), Some("z9hG4bKx"));
        assert_eq!(v.rport(), Some(Some(5062)));
        let v = Via::parse("SIP/2.0/UDP host.example.com ; branch=1").unwrap();
        assert!(!v.is_rfc3261());
        assert_eq!(v.port(), None);
        let v = Via::parse("SIP/2.0/UDP host : 5070;branch=z9hG4bK1").unwrap();
        assert_eq!((v.host(), v.port()), ("host", Some(5070)));
    }

    #[test]
    fn malformed() {
        assert_eq!(Via::parse("SIP/2.0/UDP"), Err("no sent-by"));
        assert_eq!(Via::parse("SIP/3.0/UDP h"), Err("not SIP/2.0"));
        assert_eq!(Via::parse("garbage"), Err("no sent-protocol"));
        assert_eq!(Via::parse("SIP/2.0/UDP h:port"), Err("bad sent-by"));
        assert_eq!(Via::parse("SIP/2.0/UDP h;branch"), Err("empty branch"));
        assert_eq!(Via::parse("SIP/2.0/UDP h;rport=x"), Err("bad rport"));
    }
}
