//! Errors of the x5u fetcher and cache.
//!
//! The verifier maps [`X5uError::Fetch`] to SIP 436 Bad Identity Info and
//! [`X5uError::Validation`] to 437 Unsupported Credential (`reference/standards.md` §2.3).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::address::ForbiddenRange;

/// Why an x5u lookup failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum X5uError<E> {
    /// The certificate chain could not be fetched (SIP 436).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The chain was fetched but the validator rejected it (SIP 437).
    #[error("x5u certificate chain rejected")]
    Validation(#[source] E),
}

/// Why an x5u certificate chain could not be fetched.
///
/// Transport errors are shared (`Arc`) so that a failure can be cached and handed to every
/// caller that asks for the same URL during the negative-cache window.
#[derive(Clone, Debug, thiserror::Error)]
pub enum FetchError {
    /// No connection could be established (DNS, TCP or TLS failure).
    #[error("cannot connect to the x5u host")]
    Connect(#[source] Arc<reqwest::Error>),
    /// The host is, or resolved to, an address the fetcher refuses.
    #[error("x5u host address {addr} is in a forbidden range ({range:?})")]
    ForbiddenAddress {
        /// The refused address.
        addr: IpAddr,
        /// The range it belongs to.
        range: ForbiddenRange,
    },
    /// The URL names a port other than 443 or 8443 (ATIS-1000080).
    #[error("x5u port {port} is not 443 or 8443")]
    ForbiddenPort {
        /// The port in the URL.
        port: u16,
    },
    /// The URL has a fragment (ATIS-1000074).
    #[error("x5u url has a fragment")]
    HasFragment,
    /// The URL has a query (ATIS-1000074).
    #[error("x5u url has a query")]
    HasQuery,
    /// The URL has userinfo (ATIS-1000074).
    #[error("x5u url has userinfo")]
    HasUserinfo,
    /// The server answered with a status other than 200 and not a redirect.
    #[error("x5u server answered with status {status}")]
    HttpStatus {
        /// The HTTP status code.
        status: u16,
    },
    /// The x5u is not a valid absolute URL.
    #[error("x5u is not a valid url")]
    InvalidUrl(#[source] url::ParseError),
    /// A `CERTIFICATE` PEM section of the body is broken.
    #[error("x5u body has a malformed pem section")]
    MalformedPem(#[source] Arc<rustls_pki_types::pem::Error>),
    /// The body holds no certificate.
    #[error("x5u body holds no certificate")]
    NoCertificate,
    /// The URL has no host.
    #[error("x5u url has no host")]
    NoHost,
    /// The URL's scheme is not `https` (ATIS-1000080).
    #[error("x5u scheme {scheme} is not https")]
    NotHttps {
        /// The scheme in the URL.
        scheme: String,
    },
    /// The server answered with a redirect, which is never followed (ATIS-1000074).
    #[error("x5u server answered with redirect status {status}")]
    Redirect {
        /// The 3xx status code.
        status: u16,
    },
    /// The exchange did not finish in time.
    #[error("x5u fetch timed out after {after:?}")]
    Timeout {
        /// The configured limit that was exceeded.
        after: Duration,
    },
    /// The body is larger than the limit.
    #[error("x5u body exceeds {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body holds more certificates than the limit.
    #[error("x5u body holds more than {limit} certificates")]
    TooManyCertificates {
        /// The limit.
        limit: usize,
    },
    /// The connection failed after it was established (while reading the response).
    #[error("x5u transfer failed")]
    Transport(#[source] Arc<reqwest::Error>),
}

/// Why an [`X5uFetcher`](super::X5uFetcher) could not be built.
#[derive(Debug, thiserror::Error)]
pub enum X5uBuildError {
    /// The HTTP client could not be built.
    #[error("cannot build the x5u http client")]
    Http(#[source] reqwest::Error),
    /// The TLS configuration could not be built.
    #[error("cannot build the x5u tls configuration")]
    Tls(#[source] rustls::Error),
}
