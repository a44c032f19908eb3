//! RFC 8555 §6.7 problem documents (RFC 7807), as ACME servers return them on errors.

use serde::Deserialize;

/// The `urn:ietf:params:acme:error:*` types of RFC 8555 §6.7 (listed there alphabetically),
/// plus anything else a server sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemType {
    /// `accountDoesNotExist`: the request names an account that does not exist.
    AccountDoesNotExist,
    /// `alreadyRevoked`: the certificate to revoke was revoked before.
    AlreadyRevoked,
    /// `badCSR`: the CSR is unacceptable (for STI: its TNAuthList differs from the order).
    BadCsr,
    /// `badNonce`: the JWS carried an unacceptable nonce; the client retries with a fresh one.
    BadNonce,
    /// `badPublicKey`: the JWS key type is not supported.
    BadPublicKey,
    /// `badRevocationReason`: the revocation reason is not allowed.
    BadRevocationReason,
    /// `badSignatureAlgorithm`: the JWS algorithm is not supported.
    BadSignatureAlgorithm,
    /// `caa`: CAA records forbid issuance.
    Caa,
    /// `compound`: see the subproblems.
    Compound,
    /// `connection`: the server could not connect to the validation target.
    Connection,
    /// `dns`: a DNS problem during validation.
    Dns,
    /// `externalAccountRequired`: the server requires external account binding.
    ExternalAccountRequired,
    /// `incorrectResponse`: the challenge response was wrong (for tkauth-01: the token).
    IncorrectResponse,
    /// `invalidContact`: a contact URL is invalid.
    InvalidContact,
    /// `malformed`: the request message was malformed.
    Malformed,
    /// `orderNotReady`: finalize was sent for an order that is not `ready`.
    OrderNotReady,
    /// `rateLimited`: a rate limit was exceeded.
    RateLimited,
    /// `rejectedIdentifier`: the server will not issue for the identifier.
    RejectedIdentifier,
    /// `serverInternal`: the server had an internal error.
    ServerInternal,
    /// `tls`: a TLS problem during validation.
    Tls,
    /// `unauthorized`: the client lacks authorization (for STI: the SPC token was refused).
    Unauthorized,
    /// `unsupportedContact`: a contact URL scheme is not supported.
    UnsupportedContact,
    /// `unsupportedIdentifier`: the identifier type is not supported (no TNAuthList support).
    UnsupportedIdentifier,
    /// `userActionRequired`: visit the `instance` URL.
    UserActionRequired,
    /// Any other `type`, verbatim (acme2certifier sends free text on signature failures).
    Other(String),
}

/// A problem document returned by an ACME server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The `type` member.
    pub kind: ProblemType,
    /// The `detail` member, as sent (it is the server's text, shown to operators).
    pub detail: Option<String>,
    /// The `status` member, or else the HTTP status of the response that carried it.
    pub status: Option<u16>,
}

const ACME_ERROR_PREFIX: &str = "urn:ietf:params:acme:error:";

impl ProblemType {
    /// Reads a `type` member; unknown values become [`ProblemType::Other`].
    pub fn parse(value: &str) -> Self {
        let Some(name) = value.strip_prefix(ACME_ERROR_PREFIX) else {
            return Self::Other(value.to_owned());
        };
        match name {
            "accountDoesNotExist" => Self::AccountDoesNotExist,
            "alreadyRevoked" => Self::AlreadyRevoked,
            "badCSR" => Self::BadCsr,
            "badNonce" => Self::BadNonce,
            "badPublicKey" => Self::BadPublicKey,
            "badRevocationReason" => Self::BadRevocationReason,
            "badSignatureAlgorithm" => Self::BadSignatureAlgorithm,
            "caa" => Self::Caa,
            "compound" => Self::Compound,
            "connection" => Self::Connection,
            "dns" => Self::Dns,
            "externalAccountRequired" => Self::ExternalAccountRequired,
            "incorrectResponse" => Self::IncorrectResponse,
            "invalidContact" => Self::InvalidContact,
            "malformed" => Self::Malformed,
            "orderNotReady" => Self::OrderNotReady,
            "rateLimited" => Self::RateLimited,
            "rejectedIdentifier" => Self::RejectedIdentifier,
            "serverInternal" => Self::ServerInternal,
            "tls" => Self::Tls,
            "unauthorized" => Self::Unauthorized,
            "unsupportedContact" => Self::UnsupportedContact,
            "unsupportedIdentifier" => Self::UnsupportedIdentifier,
            "userActionRequired" => Self::UserActionRequired,
            _ => Self::Other(value.to_owned()),
        }
    }
}

impl std::fmt::Display for ProblemType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::AccountDoesNotExist => "accountDoesNotExist",
            Self::AlreadyRevoked => "alreadyRevoked",
            Self::BadCsr => "badCSR",
            Self::BadNonce => "badNonce",
            Self::BadPublicKey => "badPublicKey",
            Self::BadRevocationReason => "badRevocationReason",
            Self::BadSignatureAlgorithm => "badSignatureAlgorithm",
            Self::Caa => "caa",
            Self::Compound => "compound",
            Self::Connection => "connection",
            Self::Dns => "dns",
            Self::ExternalAccountRequired => "externalAccountRequired",
            Self::IncorrectResponse => "incorrectResponse",
            Self::InvalidContact => "invalidContact",
            Self::Malformed => "malformed",
            Self::OrderNotReady => "orderNotReady",
            Self::RateLimited => "rateLimited",
            Self::RejectedIdentifier => "rejectedIdentifier",
            Self::ServerInternal => "serverInternal",
            Self::Tls => "tls",
            Self::Unauthorized => "unauthorized",
            Self::UnsupportedContact => "unsupportedContact",
            Self::UnsupportedIdentifier => "unsupportedIdentifier",
            Self::UserActionRequired => "userActionRequired",
            Self::Other(other) => return f.write_str(other),
        };
        write!(f, "{ACME_ERROR_PREFIX}{name}")
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(status) = self.status {
            write!(f, " ({status})")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct RawProblem {
    #[serde(rename = "type")]
    kind: Option<String>,
    detail: Option<String>,
    status: Option<u16>,
}

impl Problem {
    /// Reads a problem document; `None` when `body` is not a JSON object with a `type`.
    ///
    /// `http_status` fills in `status` when the document lacks it.
    pub fn from_json(body: &[u8], http_status: Option<u16>) -> Option<Self> {
        let raw: RawProblem = serde_json::from_slice(body).ok()?;
        Some(Self {
            kind: ProblemType::parse(&raw.kind?),
            detail: raw.detail,
            status: raw.status.or(http_status),
        })
    }
}

impl<'de> Deserialize<'de> for Problem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawProblem::deserialize(deserializer)?;
        Ok(Self {
            kind: ProblemType::parse(raw.kind.as_deref().unwrap_or_default()),
            detail: raw.detail,
            status: raw.status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_rfc_type_and_prints_it_back() {
        for name in [
            "accountDoesNotExist",
            "alreadyRevoked",
            "badCSR",
            "badNonce",
            "badPublicKey",
            "badRevocationReason",
            "badSignatureAlgorithm",
            "caa",
            "compound",
            "connection",
            "dns",
            "externalAccountRequired",
            "incorrectResponse",
            "invalidContact",
            "malformed",
            "orderNotReady",
            "rateLimited",
            "rejectedIdentifier",
            "serverInternal",
            "tls",
            "unauthorized",
            "unsupportedContact",
            "unsupportedIdentifier",
            "userActionRequired",
        ] {
            let urn = format!("{ACME_ERROR_PREFIX}{name}");
            let kind = ProblemType::parse(&urn);
            assert!(!matches!(kind, ProblemType::Other(_)), "{name}");
            assert_eq!(kind.to_string(), urn);
        }
    }

    #[test]
    fn unknown_types_are_kept_verbatim() {
        let text = "Verification failed for all signatures[...]";
        assert_eq!(ProblemType::parse(text), ProblemType::Other(text.into()));
        assert_eq!(
            ProblemType::parse("urn:ietf:params:acme:error:futureThing"),
            ProblemType::Other("urn:ietf:params:acme:error:futureThing".into())
        );
    }

    #[test]
    fn reads_a_document_and_falls_back_to_the_http_status() {
        let body =
            br#"{"type":"urn:ietf:params:acme:error:badCSR","detail":"CSR validation failed"}"#;
        let problem = Problem::from_json(body, Some(400)).unwrap();
        assert_eq!(problem.kind, ProblemType::BadCsr);
        assert_eq!(problem.detail.as_deref(), Some("CSR validation failed"));
        assert_eq!(problem.status, Some(400));
        assert_eq!(Problem::from_json(b"{}", Some(400)), None);
        assert_eq!(Problem::from_json(b"<html>", Some(500)), None);
    }
}
