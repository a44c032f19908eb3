//! Request methods (RFC 3261 §7.1) and status codes (§7.2, §21).

use bytes::Bytes;

/// A request method. Methods are case-sensitive (RFC 3261 §7.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `ACK`
    Ack,
    /// `BYE`
    Bye,
    /// `CANCEL`
    Cancel,
    /// Any other token, kept as received.
    Extension(Bytes),
    /// `INVITE`
    Invite,
    /// `OPTIONS`
    Options,
    /// `REGISTER`
    Register,
}

impl Method {
    /// The method spelled by `token` (already checked to be a token), sharing `buf`'s storage.
    pub(crate) fn from_token(buf: &Bytes, token: &[u8]) -> Self {
        match token {
            b"ACK" => Self::Ack,
            b"BYE" => Self::Bye,
            b"CANCEL" => Self::Cancel,
            b"INVITE" => Self::Invite,
            b"OPTIONS" => Self::Options,
            b"REGISTER" => Self::Register,
            other => Self::Extension(share(buf, other)),
        }
    }

    /// The method as printed.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Ack => b"ACK",
            Self::Bye => b"BYE",
            Self::Cancel => b"CANCEL",
            Self::Extension(b) => b,
            Self::Invite => b"INVITE",
            Self::Options => b"OPTIONS",
            Self::Register => b"REGISTER",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// `sub` as a `Bytes` sharing `buf`'s storage when it lies inside it, else copied.
pub(crate) fn share(buf: &Bytes, sub: &[u8]) -> Bytes {
    let start = buf.as_ptr() as usize;
    let sub_start = sub.as_ptr() as usize;
    if sub_start >= start && sub_start + sub.len() <= start + buf.len() {
        buf.slice(sub_start - start..sub_start - start + sub.len())
    } else {
        Bytes::copy_from_slice(sub)
    }
}

/// A response status code, 100 to 699 (RFC 3261 §7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

impl StatusCode {
    /// 100 Trying
    pub const TRYING: Self = Self(100);
    /// 200 OK
    pub const OK: Self = Self(200);
    /// 302 Moved Temporarily
    pub const MOVED_TEMPORARILY: Self = Self(302);
    /// 400 Bad Request
    pub const BAD_REQUEST: Self = Self(400);
    /// 403 Forbidden
    pub const FORBIDDEN: Self = Self(403);
    /// 405 Method Not Allowed
    pub const METHOD_NOT_ALLOWED: Self = Self(405);
    /// 416 Unsupported URI Scheme
    pub const UNSUPPORTED_URI_SCHEME: Self = Self(416);
    /// 481 Call/Transaction Does Not Exist
    pub const CALL_DOES_NOT_EXIST: Self = Self(481);
    /// 483 Too Many Hops
    pub const TOO_MANY_HOPS: Self = Self(483);
    /// 487 Request Terminated
    pub const REQUEST_TERMINATED: Self = Self(487);
    /// 500 Server Internal Error
    pub const SERVER_INTERNAL_ERROR: Self = Self(500);
    /// 503 Service Unavailable
    pub const SERVICE_UNAVAILABLE: Self = Self(503);
    /// 505 Version Not Supported
    pub const VERSION_NOT_SUPPORTED: Self = Self(505);
    /// 513 Message Too Large
    pub const MESSAGE_TOO_LARGE: Self = Self(513);

    /// The code, when within 100..=699.
    pub fn new(code: u16) -> Option<Self> {
        (100..=699).contains(&code).then_some(Self(code))
    }

    /// The numeric code.
    pub fn as_u16(self) -> u16 {
        self.0
    }

    /// 1xx.
    pub fn is_provisional(self) -> bool {
        self.0 < 200
    }

    /// The reason phrase RFC 3261 §21 gives this code, or a class-generic one.
    pub fn canonical_reason(self) -> &'static str {
        match self.0 {
            100 => "Trying",
            180 => "Ringing",
            200 => "OK",
            301 => "Moved Permanently",
            302 => "Moved Temporarily",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            416 => "Unsupported URI Scheme",
            420 => "Bad Extension",
            481 => "Call/Transaction Does Not Exist",
            483 => "Too Many Hops",
            487 => "Request Terminated",
            500 => "Server Internal Error",
            503 => "Service Unavailable",
            505 => "Version Not Supported",
            513 => "Message Too Large",
            c if c < 200 => "Provisional",
            c if c < 300 => "Success",
            c if c < 400 => "Redirection",
            c if c < 500 => "Client Error",
            c if c < 600 => "Server Error",
            _ => "Global Failure",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_round_trip() {
        let buf = Bytes::from_static(b"INVITE PUBLISH invite");
        assert_eq!(Method::from_token(&buf, &buf[..6]), Method::Invite);
        let ext = Method::from_token(&buf, &buf[7..14]);
        assert_eq!(ext.as_bytes(), b"PUBLISH");
        // Methods are case-sensitive: `invite` is an extension method.
        assert!(matches!(
            Method::from_token(&buf, &buf[15..]),
            Method::Extension(_)
        ));
    }

    #[test]
    fn status_range() {
        assert_eq!(StatusCode::new(99), None);
        assert_eq!(StatusCode::new(700), None);
        assert_eq!(StatusCode::new(302), Some(StatusCode::MOVED_TEMPORARILY));
        assert_eq!(
            StatusCode::MOVED_TEMPORARILY.canonical_reason(),
            "Moved Temporarily"
        );
        assert_eq!(StatusCode(499).canonical_reason(), "Client Error");
    }
}
