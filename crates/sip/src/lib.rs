//! SIP for Stirling's redirect server: message parse and print (RFC 3261), UDP/TCP/TLS
//! transports, and the server transactions that absorb retransmissions of INVITE, 302 and ACK.
//!
//! It knows nothing of STIR: the application implements [`Handler`] and answers each INVITE
//! with a response built by [`Message::respond`]. The layers follow ezk's: `message` (types,
//! parse and print, no I/O) → `transport` and `transaction` (core) → the application.
//! `message` never imports the transport.

mod endpoint;
mod message;
mod transaction;
mod transport;

pub use endpoint::{ALLOW, Handler};
pub use message::{
    BuildError, CSeq, HeaderName, Headers, MAGIC_COOKIE, MAX_HEADERS, Message, Method, NameAddr,
    ParseError, Rejected, Request, Response, ResponseBuilder, Scheme, StartLine, StatusCode, Uri,
    UriError, Via,
};
pub use transaction::consts;
pub use transport::{Server, ServerConfig, Stats, TlsConfig, TlsConfigError, Transport};
