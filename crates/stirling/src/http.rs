//! The HTTP front: shared state, the error type handlers return, and the router.
//!
//! [`router`] is kept apart from serving so tests drive it in-process with `oneshot`. Each area
//! (admin API, ATIS-1000082, certificate repository) will add its own `router()` merged here.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::trace::TraceLayer;

use crate::auth::Auth;
use crate::entry::FieldError;
use crate::lifecycle::scheduler::{RenewNow, RenewNowError};
use crate::store::{Store, StoreError};
use sti::Clock;

/// Switches Nagle's algorithm off on an accepted connection. A response written in several
/// pieces (TLS records, a body larger than a segment) otherwise has its last small segment
/// held until the client's delayed ACK, up to 40 ms; the PostgreSQL connections showed exactly
/// that stall over TLS (`vendor/README.md`). A socket that refuses the option is still served.
pub(crate) fn no_delay(tcp: &tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY not set on an accepted connection");
    }
}

/// How long `/healthz` waits for the store before calling it unavailable.
const HEALTH_STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// What every handler can reach. Cheap to clone: everything inside is shared.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The service's clock (a seam tests replace).
    pub clock: Arc<dyn Clock>,
    /// "Renew now" requests to the renewal scheduler.
    pub renew_now: RenewNow,
    /// When certificates are renewed, to show the next renewal.
    pub renewal: crate::lifecycle::renewal::RenewalPolicy,
    /// Login rate limiting and session cookie settings.
    pub auth: Auth,
    /// The SMTP relay of `alerts.smtp`, built once by `serve`; `None` when none is configured.
    /// Settings ▸ Account's SMTP test sends through it.
    pub mailer: Option<crate::lifecycle::alert::Mailer>,
}

/// Builds the whole HTTP application on `state`.
pub fn router(state: AppState) -> Router {
    build(state, Router::new())
}

/// The application of `stirling serve`: [`router`] plus the ATIS-1000082 interface over
/// `calls`, behind the API's authentication (a tenant's API token).
pub fn router_with_calls(state: AppState, calls: crate::call_path::CallPath) -> Router {
    let atis = crate::api::authenticated(&state, crate::atis::router(calls));
    build(state, atis)
}

fn build(state: AppState, extra: Router<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .merge(extra)
        .merge(crate::repository::router())
        .merge(crate::api::router(&state))
        .merge(crate::api::authenticated(
            &state,
            crate::message_log::router(),
        ))
        .merge(crate::ui::router(&state))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(log_errors))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("", MatchedPath::as_str);
            tracing::info_span!(
                "http",
                method = %req.method(),
                route,
                request_id = %uuid::Uuid::new_v4(),
            )
        }))
        .with_state(state)
}

/// `GET /healthz`: 200 when the store answers, 503 when it does not; the body says which.
async fn healthz(State(state): State<AppState>) -> Response {
    let backend = state.store.backend();
    let store_ok = match tokio::time::timeout(HEALTH_STORE_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: store unavailable");
            false
        }
        Err(_) => {
            tracing::warn!("health check: store did not answer in time");
            false
        }
    };
    let (status, word) = if store_ok {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    let body = json!({
        "status": word,
        "store": { "status": word, "backend": backend },
    });
    (status, Json(body)).into_response()
}

/// `axum::Json` whose rejection is an [`AppError`], so a bad body gets our error format.
#[derive(Debug)]
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(AppError::BadBody {
                status: rejection.status(),
                message: rejection.body_text(),
            }),
        }
    }
}

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// What a handler failed with. The body says what the caller can act on; internal details go
/// to the log only (see `log_errors`).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The body is not JSON of the expected shape (400, 413, 415 or 422 as axum decided).
    #[error("bad request body: {message}")]
    BadBody {
        /// The status axum's JSON extractor chose.
        status: StatusCode,
        /// What was wrong, for the caller.
        message: String,
    },
    /// Form or body fields broke their rules: 422 with each field and rule.
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// A store failure: conflicts are 409, missing rows 404, the rest 500.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No valid session or API token: 401.
    #[error("authentication required")]
    Unauthenticated,
    /// Authenticated, but the role does not allow it: 403 with the reason.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Too many failed logins: 429 with `Retry-After`.
    #[error("too many failed logins")]
    TooManyAttempts {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: u64,
    },
    /// The renewal scheduler refused a "Renew now": 503.
    #[error(transparent)]
    RenewNow(RenewNowError),
    /// A part this request needs is not configured (e.g. no SMTP relay): 503 with what.
    #[error("not configured: {0}")]
    NotConfigured(&'static str),
    /// The SMTP relay refused or could not be reached: 502 with its answer (never a secret).
    #[error("mail relay: {0}")]
    Mail(String),
    /// An internal failure outside the store (randomness, hashing): 500.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The internal detail of a 500, carried in the response's extensions for [`log_errors`].
#[derive(Clone, Debug)]
struct InternalDetail(String);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            Self::BadBody { status, message } => {
                (*status, json!({ "error": "bad_body", "message": message }))
            }
            Self::Invalid(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "error": "invalid", "fields": fields }),
            ),
            Self::Store(StoreError::Conflict { what }) => (
                StatusCode::CONFLICT,
                json!({ "error": "conflict", "message": what }),
            ),
            Self::Store(StoreError::NotFound { what }) => (
                StatusCode::NOT_FOUND,
                json!({ "error": "not_found", "message": format!("{what} not found") }),
            ),
            Self::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                json!({ "error": "unauthenticated",
                        "message": "log in, or send Authorization: Bearer stk_…" }),
            ),
            Self::Forbidden(why) => (
                StatusCode::FORBIDDEN,
                json!({ "error": "forbidden", "message": why }),
            ),
            Self::TooManyAttempts { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({ "error": "too_many_attempts", "message": format!(
                    "too many failed logins; try again in {retry_after_secs} seconds") }),
            ),
            Self::RenewNow(e) => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": "unavailable", "message": e.to_string() }),
            ),
            Self::NotConfigured(what) => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": "not_configured", "message": what }),
            ),
            Self::Mail(why) => (
                StatusCode::BAD_GATEWAY,
                json!({ "error": "mail_failed", "message": why }),
            ),
            Self::Internal(_)
            | Self::Store(
                StoreError::Corrupt { .. }
                | StoreError::TimeOutOfRange
                | StoreError::UnsupportedUrl
                | StoreError::Secret(_)
                | StoreError::Migrate(_)
                | StoreError::Full(_)
                | StoreError::Database(_),
            ) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "internal", "message": "internal error" }),
            ),
        };
        let mut response = (status, Json(body)).into_response();
        match &self {
            Self::Unauthenticated => {
                response.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer"),
                );
            }
            Self::TooManyAttempts { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, (*retry_after_secs).into());
            }
            _ => {}
        }
        if status.is_server_error()
            && !matches!(
                self,
                Self::RenewNow(_) | Self::NotConfigured(_) | Self::Mail(_)
            )
        {
            response
                .extensions_mut()
                .insert(InternalDetail(self.to_string()));
        }
        response
    }
}

/// What every response carries: a strict Content-Security-Policy (our own scripts, styles and
/// images only, nothing inline, no framing), no MIME sniffing, no referrer to other sites.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'; object-src 'none'";

async fn security_headers(request: Request, next: Next) -> Response {
    use axum::http::{HeaderValue, header};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Logs the detail of internal errors once, inside the request's span.
async fn log_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(InternalDetail(detail)) = response.extensions().get::<InternalDetail>() {
        tracing::error!(error = %detail, "request failed");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn app_errors_map_to_statuses_without_internals() {
        let cases = [
            (
                AppError::Invalid(vec![FieldError {
                    field: "spid",
                    message: "must not be empty".into(),
                }]),
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": "invalid", "fields": [{"field": "spid", "message": "must not be empty"}]}),
            ),
            (
                StoreError::Conflict { what: "dup" }.into(),
                StatusCode::CONFLICT,
                json!({"error": "conflict", "message": "dup"}),
            ),
            (
                StoreError::NotFound { what: "tenant" }.into(),
                StatusCode::NOT_FOUND,
                json!({"error": "not_found", "message": "tenant not found"}),
            ),
            (
                StoreError::Corrupt {
                    column: "secret_column",
                }
                .into(),
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "internal", "message": "internal error"}),
            ),
        ];
        for (error, status, body) in cases {
            let response = error.into_response();
            assert_eq!(response.status(), status);
            assert_eq!(
                response.extensions().get::<InternalDetail>().is_some(),
                status.is_server_error()
            );
            assert_eq!(body_json(response).await, body);
        }
    }

    /// A handler in the shape the API will use: typed body, validation, typed errors.
    async fn validate_entry(
        AppJson(form): AppJson<crate::entry::EntryForm>,
    ) -> Result<AppJson<serde_json::Value>, AppError> {
        let entry = form.validate().map_err(AppError::Invalid)?;
        Ok(AppJson(json!({ "spid": entry.fields.spid.as_str() })))
    }

    async fn post(body: &'static str, content_type: &str) -> (StatusCode, serde_json::Value) {
        use tower::ServiceExt as _;
        let app = Router::new().route("/entry", axum::routing::post(validate_entry));
        let request = Request::post("/entry")
            .header("content-type", content_type)
            .body(axum::body::Body::from(body))
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        (response.status(), body_json(response).await)
    }

    #[tokio::test]
    async fn json_bodies_are_checked_into_our_error_format() {
        let good = r#"{"name":"Main","spid":"709j","sti_pa_account_id":"709J",
            "sti_pa_user_id":"ops","sti_pa_password":"pw","environment":"sandbox"}"#;
        assert_eq!(
            post(good, "application/json").await,
            (StatusCode::OK, json!({"spid": "709J"}))
        );

        let (status, body) = post("{not json", "application/json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "bad_body");

        let (status, body) = post(good, "text/plain").await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(body["error"], "bad_body");

        let missing = r#"{"name":"Main"}"#;
        let (status, body) = post(missing, "application/json").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"], "bad_body");

        let bad = r#"{"name":"","spid":"709j","sti_pa_account_id":"709J",
            "sti_pa_user_id":"ops","sti_pa_password":"p\tw","environment":"sandbox"}"#;
        let (status, body) = post(bad, "application/json").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            json!({"error": "invalid", "fields": [
                {"field": "name", "message": "must not be empty"},
                {"field": "sti_pa_password", "message":
                    "must not contain control character U+0009: only printable ASCII (space to ~) is accepted"},
            ]})
        );
    }
}
