//! Parse failures and the one mapping from them to SIP status codes.

use super::method::StatusCode;

/// Why a message could not be parsed or accepted as a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The message has no empty line ending its header section.
    #[error("no empty line after the headers")]
    Incomplete,
    /// A header line is not `name ":" value` with a token name.
    #[error("malformed header line: {reason}")]
    HeaderLine {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A header the request must carry is absent (RFC 3261 §8.1.1).
    #[error("missing {header} header")]
    Missing {
        /// Canonical name of the header.
        header: &'static str,
    },
    /// A header is present but does not follow its grammar.
    #[error("malformed {header} header: {reason}")]
    Malformed {
        /// Canonical name of the header.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The request line or status line does not follow RFC 3261 §7.1 / §7.2.
    #[error("malformed start line: {reason}")]
    StartLine {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The message is larger than the configured limit.
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Bytes seen (at least).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// More header lines than [`MAX_HEADERS`](crate::MAX_HEADERS).
    #[error("more than {limit} header lines")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The Request-URI scheme is neither sip, sips nor tel.
    #[error("unsupported request-uri scheme")]
    UnsupportedScheme,
    /// The SIP-Version is not `SIP/2.0`.
    #[error("unsupported sip version")]
    Version,
}

impl ParseError {
    /// The status code a server answers this failure with.
    pub fn status(&self) -> StatusCode {
        match self {
            // RFC 3261 §8.2.2 / §21.4.1: a syntactically malformed request gets 400.
            Self::Incomplete
            | Self::HeaderLine { .. }
            | Self::Malformed { .. }
            | Self::StartLine { .. } => StatusCode::BAD_REQUEST,
            // RFC 3261 §8.1.1: a request lacking a mandatory header is malformed; 400.
            Self::Missing { .. } => StatusCode::BAD_REQUEST,
            // RFC 3261 §21.5.14: 513 when the request is longer than the server will process.
            Self::TooLarge { .. } | Self::TooManyHeaders { .. } => StatusCode::MESSAGE_TOO_LARGE,
            // RFC 3261 §8.2.2.1: an unknown Request-URI scheme gets 416.
            Self::UnsupportedScheme => StatusCode::UNSUPPORTED_URI_SCHEME,
            // RFC 3261 §21.5.7 (and RFC 4475 §3.1.2.x "SIP/7.0"): 505.
            Self::Version => StatusCode::VERSION_NOT_SUPPORTED,
        }
    }
}
