//! The errors of the ACME client.

use std::sync::Arc;
use std::time::Duration;

use super::problem::Problem;

/// What went wrong talking to an ACME server. Tokens and keys never appear in these values.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The HTTP client could not be built (TLS configuration).
    #[error("cannot build the acme http client: {0}")]
    Build(String),
    /// The server rejected the tkauth-01 challenge: the challenge POST got a problem document
    /// on every token attempt, or the authorization ended `invalid` (acme2certifier then sends
    /// no `error` member, hence the `Option`).
    #[error("tkauth-01 challenge at {url} rejected{}", problem_suffix(.problem))]
    ChallengeRejected {
        /// The challenge or authorization URL.
        url: String,
        /// The server's reason, when it gave one.
        problem: Option<Problem>,
    },
    /// The external account binding MAC key is not base64url (the value is not repeated).
    #[error("external account binding key is not base64url")]
    InvalidEabKey,
    /// The account key could not be encoded (SPKI for the fingerprint).
    #[error("cannot encode the account key: {0}")]
    Key(#[source] passport::KeyError),
    /// A response could not be understood: bad JSON, a missing header or member.
    #[error("malformed {what} from {url}: {reason}")]
    Malformed {
        /// What was being read (e.g. "order", "Location header").
        what: &'static str,
        /// The URL that answered.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// An authorization of the order offers no `tkauth-01` challenge with `tkauth-type` `atc`.
    #[error("authorization {url} offers no tkauth-01 challenge of type atc")]
    NoTkAuthChallenge {
        /// The authorization URL.
        url: String,
    },
    /// The order became `invalid`.
    #[error("order {url} is invalid{}", problem_suffix(.problem))]
    OrderInvalid {
        /// The order URL.
        url: String,
        /// The order's `error` member, if any.
        problem: Option<Problem>,
    },
    /// Polling did not reach a final state within the configured total wait, or the server's
    /// `Retry-After` pointed past it.
    #[error("{url} still {status} after waiting {waited:?} (budget {budget:?})")]
    PollTimeout {
        /// The polled URL.
        url: String,
        /// The last status seen.
        status: String,
        /// How long was waited.
        waited: Duration,
        /// The configured bound.
        budget: Duration,
    },
    /// The server answered with a problem document (after badNonce retries, if any).
    #[error("acme server refused {url}: {problem}")]
    Problem {
        /// The request URL.
        url: String,
        /// The problem document.
        problem: Problem,
    },
    /// A JWS could not be signed with the account key.
    #[error("cannot sign the acme request: {0}")]
    Signing(#[source] passport::Error),
    /// One request did not complete within the request timeout.
    #[error("request to {url} timed out after {after:?}")]
    Timeout {
        /// The request URL.
        url: String,
        /// The configured request timeout.
        after: Duration,
    },
    /// The issued certificate's TNAuthList is not the one ordered (or it has none).
    #[error(
        "the ca issued a certificate for tnauthlist {}, not the ordered {ordered}",
        .issued.as_deref().unwrap_or("(none)")
    )]
    TnAuthListMismatch {
        /// The ordered TNAuthList, padded standard base64 of the DER.
        ordered: String,
        /// The leaf's TNAuthList in the same encoding; `None` when the leaf has none.
        issued: Option<String>,
    },
    /// The caller's token source failed to supply an SPC token.
    #[error("spc token source failed: {0}")]
    Token(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// Connecting, sending or receiving failed.
    #[error("transport error for {url}: {source}")]
    Transport {
        /// The request URL.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// A response body exceeded the size limit.
    #[error("response from {url} exceeds {limit} bytes")]
    TooLarge {
        /// The request URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// An error status without a problem document.
    #[error("{url} answered http {status} without a problem document")]
    UnexpectedStatus {
        /// The request URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
}

impl AcmeError {
    /// The problem document this error carries, if any.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::ChallengeRejected { problem, .. } | Self::OrderInvalid { problem, .. } => {
                problem.as_ref()
            }
            Self::Problem { problem, .. } => Some(problem),
            Self::Build(_)
            | Self::InvalidEabKey
            | Self::Key(_)
            | Self::Malformed { .. }
            | Self::NoTkAuthChallenge { .. }
            | Self::PollTimeout { .. }
            | Self::Signing(_)
            | Self::Timeout { .. }
            | Self::TnAuthListMismatch { .. }
            | Self::Token(_)
            | Self::Transport { .. }
            | Self::TooLarge { .. }
            | Self::UnexpectedStatus { .. } => None,
        }
    }
}

fn problem_suffix(problem: &Option<Problem>) -> String {
    problem
        .as_ref()
        .map(|p| format!(": {p}"))
        .unwrap_or_default()
}
