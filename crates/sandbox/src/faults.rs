//! Fault switches (test-only, like Pebble's environment variables but set at run time over
//! the admin router). All default to zero/off, so an interop run sees a well-behaved PA/CA.
//!
//! `GET /sandbox/faults` shows them, `PUT /sandbox/faults` replaces them (JSON below, missing
//! members take their defaults), `DELETE /sandbox/faults` turns all off.
//!
//! ```json
//! {"failNext": 2, "failStatus": 503, "failTarget": "pa",
//!  "delayMs": 0, "delayRoute": null, "malformedJsonNext": 0, "malformedJsonRoute": null,
//!  "expiredTokenNext": 1, "badNonceNext": 0, "wrongTnAuthListNext": 0}
//! ```
//!
//! `GET /sandbox/requests` counts the PA and CA requests received per route (the route as
//! declared, e.g. `/acme/order/{id}/finalize`), counted on arrival, before any delay or
//! injected failure, so a test can see that a client is waiting at a given endpoint;
//! `DELETE /sandbox/requests` sets the counts back to zero.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::Sandbox;

/// The fault switches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Faults {
    /// Fail this many of the next requests to `fail_target` with `fail_status`.
    pub fail_next: u32,
    /// The HTTP status of injected failures (default 503).
    pub fail_status: u16,
    /// Which API the injected failures hit.
    pub fail_target: FaultTarget,
    /// Delay every PA and CA response by this many milliseconds.
    pub delay_ms: u64,
    /// Delay only the requests to this route (as counted by `/sandbox/requests`, e.g.
    /// `/api/v1/account/{account_id}/token`) instead of every one, so a client can be held at
    /// one step of a flow.
    pub delay_route: Option<String>,
    /// Truncate the JSON body of this many of the next PA/CA responses.
    pub malformed_json_next: u32,
    /// Truncate only responses of this route (as for `delay_route`) instead of any, so one
    /// step of a flow gets the malformed answer.
    pub malformed_json_route: Option<String>,
    /// Make this many of the next SPC tokens already expired when issued.
    pub expired_token_next: u32,
    /// Answer `badNonce` to this many of the next ACME requests whose nonce was good (Pebble
    /// rejects a share of good nonces; a correct client retries with the fresh nonce).
    pub bad_nonce_next: u32,
    /// Issue this many of the next certificates for another SPC than the order's (a CA bug
    /// a client must catch by checking the leaf's TNAuthList).
    pub wrong_tn_auth_list_next: u32,
}

/// Which API a failure is injected into.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultTarget {
    /// Either API.
    #[default]
    Any,
    /// The STI-CA (ACME).
    Ca,
    /// The STI-PA.
    Pa,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            fail_next: 0,
            fail_status: 503,
            fail_target: FaultTarget::Any,
            delay_ms: 0,
            delay_route: None,
            malformed_json_next: 0,
            malformed_json_route: None,
            expired_token_next: 0,
            bad_nonce_next: 0,
            wrong_tn_auth_list_next: 0,
        }
    }
}

/// What the fault layer decided for one request.
enum Decision {
    Fail(StatusCode),
    Pass { delay: u64, malform: bool },
}

impl Faults {
    fn decide(&mut self, api: FaultTarget, route: Option<&str>) -> Decision {
        if self.fail_next > 0 && (self.fail_target == FaultTarget::Any || self.fail_target == api) {
            self.fail_next -= 1;
            return Decision::Fail(
                StatusCode::from_u16(self.fail_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            );
        }
        let malform = self.malformed_json_next > 0 && on_route(&self.malformed_json_route, route);
        if malform {
            self.malformed_json_next -= 1;
        }
        Decision::Pass {
            delay: if on_route(&self.delay_route, route) {
                self.delay_ms
            } else {
                0
            },
            malform,
        }
    }

    /// Consumes one "reject a good nonce" switch; true if this nonce must be refused.
    pub(crate) fn take_bad_nonce(&mut self) -> bool {
        if self.bad_nonce_next > 0 {
            self.bad_nonce_next -= 1;
            true
        } else {
            false
        }
    }

    /// Consumes one "wrong TNAuthList" switch; true if this certificate must name another SPC.
    pub(crate) fn take_wrong_tn_auth_list(&mut self) -> bool {
        if self.wrong_tn_auth_list_next > 0 {
            self.wrong_tn_auth_list_next -= 1;
            true
        } else {
            false
        }
    }

    /// Consumes one "expired token" switch; true if this token must be born expired.
    pub(crate) fn take_expired_token(&mut self) -> bool {
        if self.expired_token_next > 0 {
            self.expired_token_next -= 1;
            true
        } else {
            false
        }
    }
}

/// Whether a switch limited to `only` (every route when `None`) applies to `route`.
fn on_route(only: &Option<String>, route: Option<&str>) -> bool {
    match only {
        None => true,
        Some(only) => route == Some(only.as_str()),
    }
}

/// Middleware for the PA's routes.
pub(crate) async fn pa_layer(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    apply(sandbox, FaultTarget::Pa, request, next).await
}

/// Middleware for the CA's routes.
pub(crate) async fn ca_layer(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    apply(sandbox, FaultTarget::Ca, request, next).await
}

async fn apply(sandbox: Sandbox, api: FaultTarget, request: Request, next: Next) -> Response {
    // The layers run after routing, so the matched route is known.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    if let Some(route) = &route {
        sandbox.count_request(route);
    }
    let decision = sandbox.faults_lock().decide(api, route.as_deref());
    match decision {
        Decision::Fail(status) => injected_failure(api, status),
        Decision::Pass { delay, malform } => {
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            let response = next.run(request).await;
            if malform {
                truncate(response).await
            } else {
                response
            }
        }
    }
}

/// The body of an injected failure, in the API's own error format.
fn injected_failure(api: FaultTarget, status: StatusCode) -> Response {
    match api {
        FaultTarget::Ca => crate::acme::Problem::injected(status).into_response(),
        FaultTarget::Any | FaultTarget::Pa => crate::pa::PaError::injected(status).into_response(),
    }
}

/// Keeps the status and headers but cuts the body in half: malformed JSON.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}

/// `/sandbox/faults` and `/sandbox/requests`.
pub(crate) fn admin_router(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/sandbox/faults", get(show).put(replace).delete(reset))
        .route("/sandbox/requests", get(requests).delete(reset_requests))
        .with_state(sandbox)
}

async fn requests(State(sandbox): State<Sandbox>) -> axum::Json<BTreeMap<String, u64>> {
    axum::Json(sandbox.requests())
}

async fn reset_requests(State(sandbox): State<Sandbox>) -> StatusCode {
    sandbox.reset_requests();
    StatusCode::NO_CONTENT
}

async fn show(State(sandbox): State<Sandbox>) -> axum::Json<Faults> {
    axum::Json(sandbox.faults())
}

async fn replace(State(sandbox): State<Sandbox>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(faults) => {
            sandbox.set_faults(faults.clone());
            axum::Json(faults).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"status": "failed", "message": e.to_string()})),
        )
            .into_response(),
    }
}

async fn reset(State(sandbox): State<Sandbox>) -> axum::Json<Faults> {
    sandbox.set_faults(Faults::default());
    axum::Json(Faults::default())
}
