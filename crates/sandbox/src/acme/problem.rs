//! RFC 8555 §6.7 problem documents: one constructor per problem type, the HTTP status fixed
//! inside (pebble `acme/problems.go`).

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const PREFIX: &str = "urn:ietf:params:acme:error:";

/// An ACME error: `application/problem+json` with `type`, `detail` and `status`.
#[derive(Debug)]
pub(crate) struct Problem {
    status: StatusCode,
    kind: &'static str,
    detail: String,
}

impl Problem {
    /// 400 `accountDoesNotExist`: the `kid` names no account.
    pub(crate) fn account_does_not_exist(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "accountDoesNotExist", detail)
    }

    /// 400 `alreadyRevoked`.
    pub(crate) fn already_revoked() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "alreadyRevoked",
            "certificate is already revoked",
        )
    }

    /// 400 `badCSR`.
    pub(crate) fn bad_csr(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badCSR", detail)
    }

    /// 400 `badNonce`: unknown or already used nonce (RFC 8555 §6.5).
    pub(crate) fn bad_nonce() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "badNonce",
            "nonce is unknown or was already used",
        )
    }

    /// 400 `badPublicKey`.
    pub(crate) fn bad_public_key(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badPublicKey", detail)
    }

    /// 400 `badRevocationReason`.
    pub(crate) fn bad_revocation_reason(reason: i64) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "badRevocationReason",
            format!("revocation reason {reason} is not accepted"),
        )
    }

    /// 400 `badSignatureAlgorithm`; the sandbox takes ES256 only.
    pub(crate) fn bad_signature_algorithm(alg: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "badSignatureAlgorithm",
            format!("alg {alg:?} is not supported, use ES256"),
        )
    }

    /// 400 `externalAccountRequired`.
    pub(crate) fn external_account_required(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "externalAccountRequired", detail)
    }

    /// 409 `malformed`: keyChange to a key another account already uses (RFC 8555 §7.3.5;
    /// the `Location` names that account).
    pub(crate) fn key_in_use() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "malformed",
            "the new key is already in use by an account",
        )
    }

    /// 400 `malformed`.
    pub(crate) fn malformed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", detail)
    }

    /// 415 `malformed`: a POST whose Content-Type is not `application/jose+json` (§6.2).
    pub(crate) fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "malformed",
            "Content-Type must be application/jose+json",
        )
    }

    /// 404 `malformed`: no such resource (as Pebble answers).
    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "malformed", "no such resource")
    }

    /// 403 `orderNotReady`.
    pub(crate) fn order_not_ready(status: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "orderNotReady",
            format!("order is {status}, not ready"),
        )
    }

    /// 400 `rejectedIdentifier`.
    pub(crate) fn rejected_identifier(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "rejectedIdentifier", detail)
    }

    /// 500 `serverInternal`; the detail stays in the server.
    pub(crate) fn server_internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "serverInternal",
            "internal error",
        )
    }

    /// 403 `unauthorized`.
    pub(crate) fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "unauthorized", detail)
    }

    /// 400 `unsupportedIdentifier`.
    pub(crate) fn unsupported_identifier(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupportedIdentifier", detail)
    }

    /// A failure injected by the fault switches (`serverInternal` with the chosen status).
    pub(crate) fn injected(status: StatusCode) -> Self {
        Self::new(status, "serverInternal", "sandbox fault injected")
    }

    /// The document, for embedding in a challenge or order `error`.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "type": format!("{PREFIX}{}", self.kind),
            "detail": self.detail,
            "status": self.status.as_u16(),
        })
    }

    fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (
            self.status,
            [(CONTENT_TYPE, "application/problem+json")],
            self.to_json().to_string(),
        )
            .into_response()
    }
}

impl From<crate::state::StoreError> for Problem {
    fn from(_: crate::state::StoreError) -> Self {
        Problem::server_internal()
    }
}
