//! Errors of the STI-PA client.

use std::sync::Arc;
use std::time::Duration;

/// Why an STI-PA call failed. Messages never contain the password or a token.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StiPaError {
    /// HTTP 400: the STI-PA refused the request and said why.
    #[error("sti-pa rejected the request: {message}")]
    BadRequest {
        /// The STI-PA's `message` (or the start of the body when it has none).
        message: String,
    },
    /// HTTP 403: the credentials are valid but not allowed this call (e.g. the API user lacks
    /// the role, or the source address is not on the STI-PA's allow-list, §4.1).
    #[error("sti-pa refused access (403)")]
    Forbidden,
    /// The account id is not a plain OCN/SPC (letters and digits) and cannot be put in a path.
    #[error("sti-pa account id {account_id:?} is not alphanumeric")]
    InvalidAccountId {
        /// The refused id.
        account_id: String,
    },
    /// A URL to fetch (CRL or signer `x5u`) is not an absolute `https` URL.
    #[error("{url:?} is not an https url")]
    InvalidUrl {
        /// The refused URL.
        url: String,
    },
    /// A 2xx answer whose body is not what the API promises.
    #[error("sti-pa answer is malformed: {what}")]
    Malformed {
        /// What is missing or wrong.
        what: &'static str,
    },
    /// Any other non-2xx status (redirects are not followed and land here too).
    #[error("sti-pa answered with status {status}")]
    Status {
        /// The HTTP status code.
        status: u16,
    },
    /// The exchange did not finish in time.
    #[error("sti-pa call timed out after {after:?}")]
    Timeout {
        /// The configured limit.
        after: Duration,
    },
    /// The body is larger than the limit for this call.
    #[error("sti-pa answer exceeds {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Connecting or transferring failed (DNS, TCP, TLS, connection reset).
    #[error("sti-pa transport failed")]
    Transport(#[source] Arc<reqwest::Error>),
    /// HTTP 401: wrong user id or password, or an expired token. Callers must not retry with
    /// the same credentials: repeated failures can lock the API user.
    #[error("sti-pa rejected the credentials (401)")]
    Unauthorized,
}

/// Why a [`StiPaClient`](super::StiPaClient) could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StiPaBuildError {
    /// The base URL is not an absolute `https` URL that can take a path.
    #[error("sti-pa base url {url:?} is not an https base url")]
    BaseUrl {
        /// The refused URL.
        url: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the sti-pa http client")]
    Http(#[source] reqwest::Error),
    /// The TLS configuration could not be built.
    #[error("cannot build the sti-pa tls configuration")]
    Tls(#[source] rustls::Error),
}
