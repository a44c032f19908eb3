//! SIP for Stirling's redirect server: message parse and print (RFC 3261), UDP/TCP/TLS
//! transports, and the server transactions that absorb retransmissions of INVITE, 302 and ACK.
//!
//! It knows nothing of STIR: the application implements [`Handler`] and answers each INVITE
//! with a response built by [`Message::respond`]. The layers follow ezk's: `message` (types,
//! parse and print, no I/O) → `transport` and `transaction` (core) → the application.
//! `message` never imports the transport.
//!
//! ```
//! use sip::{HeaderName, Request, StatusCode};
//!
//! let invite = bytes::Bytes::from_static(
//!     b"INVITE sip:+12155551212@ss.example.net;user=phone SIP/2.0\r\n\
//!       v: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1\r\n\
//!       f: <sip:+12155550100@a.example.com>;tag=1\r\n\
//!       t: <sip:+12155551212@b.example.com>\r\n\
//!       i: call-1@192.0.2.10\r\n\
//!       CSeq: 1 INVITE\r\n\
//!       l: 0\r\n\r\n",
//! );
//! let req = Request::parse(invite).unwrap();
//! assert_eq!(req.uri().user(), Some("+12155551212"));
//! let redirect = req
//!     .respond(StatusCode::MOVED_TEMPORARILY)
//!     .header(HeaderName::Contact, format!("<{}>", req.uri_str()))
//!     .build()
//!     .unwrap();
//! // Via, From, To, Call-ID and CSeq are echoed as received (compact names included); the
//! // To header gains a tag.
//! let text = std::str::from_utf8(redirect.as_bytes()).unwrap();
//! assert!(text.starts_with("SIP/2.0 302 Moved Temporarily\r\nv: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1\r\n"));
//! assert!(text.contains("t: <sip:+12155551212@b.example.com>;tag="));
//! assert!(text.ends_with("Contact: <sip:+12155551212@ss.example.net;user=phone>\r\nContent-Length: 0\r\n\r\n"));
//! ```

mod endpoint;
mod message;
mod transaction;
mod transport;

pub use endpoint::{ALLOW, Handler, Outcome};
pub use message::{
    BuildError, CSeq, HeaderName, Headers, MAGIC_COOKIE, MAX_HEADERS, Message, Method, NameAddr,
    ParseError, Rejected, Request, Response, ResponseBuilder, Scheme, StartLine, StatusCode, Uri,
    UriError, Via,
};
pub use transaction::consts;
pub use transport::{Server, ServerConfig, Stats, TlsConfig, TlsConfigError, Transport};
