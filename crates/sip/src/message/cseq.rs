//! The CSeq header (RFC 3261 §20.16): `CSeq = 1*DIGIT LWS Method`.

use bytes::Bytes;

use super::grammar::{is_token, trim};
use super::method::Method;

/// A parsed CSeq.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number, below 2**31 (§8.1.1.5).
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// Parses a CSeq value; `buf` owns `value`'s bytes (extension methods share it).
    pub(crate) fn parse(buf: &Bytes, value: &str) -> Result<Self, &'static str> {
        let value = trim(value);
        let split = value.find([' ', '\t']).ok_or("no method")?;
        let (num, method) = (&value[..split], trim(&value[split..]));
        if num.is_empty() || num.len() > 10 || !num.bytes().all(|c| c.is_ascii_digit()) {
            return Err("bad sequence number");
        }
        let seq = num
            .parse::<u32>()
            .ok()
            .filter(|s| *s < 1 << 31)
            .ok_or("sequence number too large")?;
        if !is_token(method.as_bytes()) {
            return Err("bad method");
        }
        Ok(Self {
            seq,
            method: Method::from_token(buf, method.as_bytes()),
        })
    }
}

impl std::fmt::Display for CSeq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let buf = Bytes::from_static(b"4711  INVITE");
        let c = CSeq::parse(&buf, "4711  INVITE").unwrap();
        assert_eq!(
            c,
            CSeq {
                seq: 4711,
                method: Method::Invite
            }
        );
        assert_eq!(c.to_string(), "4711 INVITE");
        assert_eq!(
            CSeq::parse(&buf, "1 INVITE").unwrap().to_string(),
            "1 INVITE"
        );
    }

    #[test]
    fn malformed() {
        let buf = Bytes::new();
        assert_eq!(CSeq::parse(&buf, "INVITE"), Err("no method"));
        assert_eq!(CSeq::parse(&buf, "-1 INVITE"), Err("bad sequence number"));
        assert_eq!(
            CSeq::parse(&buf, "4294967296 INVITE"),
            Err("sequence number too large")
        );
        assert_eq!(
            CSeq::parse(&buf, "2147483648 INVITE"),
            Err("sequence number too large")
        );
        assert_eq!(CSeq::parse(&buf, "1 IN VITE"), Err("bad method"));
    }
}
