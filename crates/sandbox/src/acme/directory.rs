//! `GET /acme/directory` and `HEAD|GET /acme/new-nonce` (RFC 8555 §7.1.1, §7.2).

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    DIRECTORY_PATH, KEY_CHANGE_PATH, NEW_ACCOUNT_PATH, NEW_NONCE_PATH, NEW_ORDER_PATH, REVOKE_PATH,
};
use crate::Sandbox;

pub(super) async fn get(State(sandbox): State<Sandbox>) -> Json<Value> {
    Json(json!({
        "newNonce": sandbox.url(NEW_NONCE_PATH),
        "newAccount": sandbox.url(NEW_ACCOUNT_PATH),
        "newOrder": sandbox.url(NEW_ORDER_PATH),
        "revokeCert": sandbox.url(REVOKE_PATH),
        "keyChange": sandbox.url(KEY_CHANGE_PATH),
        "meta": {
            "termsOfService": sandbox.url(&format!("{DIRECTORY_PATH}#terms")),
            "externalAccountRequired": sandbox.config().external_account.is_some(),
        },
    }))
}

/// The nonce itself is added by the router's layer; HEAD answers 200, GET 204 (§7.2).
pub(super) async fn new_nonce(method: Method) -> StatusCode {
    if method == Method::HEAD {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    }
}
