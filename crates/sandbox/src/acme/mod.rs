//! The sandbox STI-CA: an ACME server (RFC 8555) for TNAuthList identifiers (RFC 9448) with
//! the `tkauth-01` challenge (RFC 9447). One module per resource; paths differ from any real
//! CA's on purpose, so clients must read the directory.

mod account;
mod authz;
mod certificate;
mod directory;
mod finalize;
mod jws;
mod key_change;
mod nonce;
mod order;
mod problem;
mod tkauth;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LINK};
use axum::http::{HeaderValue, Method};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) use nonce::Nonces;
pub(crate) use problem::Problem;

use crate::Sandbox;
use crate::faults;

pub(crate) const DIRECTORY_PATH: &str = "/acme/directory";
pub(crate) const NEW_NONCE_PATH: &str = "/acme/new-nonce";
pub(crate) const NEW_ACCOUNT_PATH: &str = "/acme/new-account";
pub(crate) const NEW_ORDER_PATH: &str = "/acme/new-order";
pub(crate) const REVOKE_PATH: &str = "/acme/revoke-cert";
pub(crate) const KEY_CHANGE_PATH: &str = "/acme/key-change";
/// Prefixes of object URLs; the id follows.
pub(crate) const ACCOUNT_PATH: &str = "/acme/acct/";
pub(crate) const ORDER_PATH: &str = "/acme/order/";
pub(crate) const AUTHZ_PATH: &str = "/acme/authz/";
pub(crate) const CHALLENGE_PATH: &str = "/acme/chall/";
pub(crate) const CERT_PATH: &str = "/acme/cert/";

/// The ACME routes behind the fault layer, with a fresh `Replay-Nonce` on every response.
pub(crate) fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .route(DIRECTORY_PATH, get(directory::get))
        .route(
            NEW_NONCE_PATH,
            get(directory::new_nonce).head(directory::new_nonce),
        )
        .route(NEW_ACCOUNT_PATH, post(account::new_account))
        .route("/acme/acct/{id}", post(account::get))
        .route("/acme/acct/{id}/orders", post(account::orders))
        .route(NEW_ORDER_PATH, post(order::new_order))
        .route("/acme/order/{id}", post(order::get))
        .route("/acme/order/{id}/finalize", post(finalize::finalize))
        .route("/acme/authz/{id}", post(authz::get))
        .route("/acme/chall/{id}", post(authz::challenge))
        .route("/acme/cert/{id}", post(certificate::download))
        .route(REVOKE_PATH, post(certificate::revoke))
        .route(KEY_CHANGE_PATH, post(key_change::key_change))
        .layer(axum::middleware::from_fn(require_jose_json))
        // Outermost: even injected failures carry a nonce.
        .layer(from_fn_with_state(sandbox.clone(), faults::ca_layer))
        .layer(from_fn_with_state(sandbox.clone(), replay_nonce))
        .with_state(sandbox)
}

/// RFC 8555 §6.2: every POST is `application/jose+json`.
async fn require_jose_json(request: Request, next: Next) -> Response {
    let jose = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/jose+json"));
    if request.method() == Method::POST && !jose {
        return Problem::unsupported_media_type().into_response();
    }
    next.run(request).await
}

/// RFC 8555 §6.5: every response carries a fresh nonce; §7.1: a `Link` to the directory.
async fn replay_nonce(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let nonce = sandbox.nonces().issue();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&nonce) {
        headers.insert("replay-nonce", value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) =
        HeaderValue::from_str(&format!("<{}>;rel=\"index\"", sandbox.url(DIRECTORY_PATH)))
    {
        headers.append(LINK, value);
    }
    response
}

/// RFC 3339 for `expires`.
pub(crate) fn rfc3339(unix: u64) -> String {
    OffsetDateTime::from_unix_timestamp(unix as i64)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}
