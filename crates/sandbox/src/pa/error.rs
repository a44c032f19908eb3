//! STI-PA errors: `{"status":"failed","message":…}`, one constructor per failure with its
//! HTTP status fixed inside (as pebble `acme/problems.go` does for ACME).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A failed STI-PA call.
#[derive(Debug)]
pub(crate) struct PaError {
    status: StatusCode,
    message: String,
}

impl PaError {
    /// 401: unknown user or wrong password (one message for both, so user names don't leak).
    pub(crate) fn bad_credentials() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid userId or password")
    }

    /// 401: no, unknown or expired access token in `Authorization`.
    pub(crate) fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "missing, invalid or expired access token",
        )
    }

    /// 403: the user may not act for this account.
    pub(crate) fn account_forbidden(account: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("user is not authorized for account {account}"),
        )
    }

    /// 403: the account does not own the OCN in `tkvalue`.
    pub(crate) fn ocn_not_owned(account: &str, ocn: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("account {account} is not authorized for ocn {ocn}"),
        )
    }

    /// 400: the request body is not what the API takes.
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }

    /// 500: the sandbox failed (detail stays in the server).
    pub(crate) fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    /// A failure injected by the fault switches.
    pub(crate) fn injected(status: StatusCode) -> Self {
        Self::new(status, "sandbox fault injected")
    }

    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for PaError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"status": "failed", "message": self.message})),
        )
            .into_response()
    }
}

impl From<crate::state::StoreError> for PaError {
    fn from(_: crate::state::StoreError) -> Self {
        PaError::internal()
    }
}
