//! `keyChange` (RFC 8555 §7.3.5): the outer JWS is signed by the account's current key (`kid`),
//! its payload is an inner JWS signed by the new key (`jwk`, same `url`, no `nonce`) over
//! `{"account": <account URL>, "oldKey": <current JWK>}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use passport::{FlattenedJws, VerifyingKey};
use serde_json::Value;

use super::jws::{self, KeyRef};
use super::{ACCOUNT_PATH, Problem};
use crate::Sandbox;

pub(super) async fn key_change(
    State(sandbox): State<Sandbox>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Problem> {
    let outer = jws::verify(&sandbox, uri.path(), &body, KeyRef::Kid)?;
    let id = outer.account_id()?.to_owned();
    let account_url = sandbox.url(&format!("{ACCOUNT_PATH}{id}"));
    let inner: FlattenedJws = serde_json::from_slice(&outer.payload)
        .map_err(|_| Problem::malformed("keyChange payload is not a flattened JWS"))?;
    let header = inner
        .protected_header()
        .map_err(|_| Problem::malformed("inner JWS header does not decode"))?;
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(Problem::bad_signature_algorithm(
            header.get("alg").and_then(Value::as_str).unwrap_or(""),
        ));
    }
    if header.contains_key("nonce") || header.contains_key("kid") {
        return Err(Problem::malformed(
            "inner JWS must have jwk and no nonce or kid",
        ));
    }
    if header.get("url").and_then(Value::as_str) != Some(&sandbox.url(uri.path())) {
        return Err(Problem::malformed("inner JWS url is not the keyChange URL"));
    }
    let new_jwk = header
        .get("jwk")
        .cloned()
        .ok_or_else(|| Problem::malformed("inner JWS has no jwk"))?;
    let new_key = VerifyingKey::from_jwk(&new_jwk)
        .map_err(|_| Problem::bad_public_key("new key is not a P-256 EC key"))?;
    inner
        .verify_es256(&new_key)
        .map_err(|_| Problem::malformed("inner JWS signature is invalid"))?;
    let payload: Value = inner
        .payload_bytes()
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or_else(|| Problem::malformed("inner payload is not JSON"))?;
    if payload.get("account").and_then(Value::as_str) != Some(&account_url) {
        return Err(Problem::malformed(
            "inner payload account is not the signer's account",
        ));
    }
    let thumbprint = |jwk: &Value| passport::jwk_thumbprint(jwk).ok();
    let old = payload
        .get("oldKey")
        .and_then(thumbprint)
        .ok_or_else(|| Problem::malformed("inner payload has no oldKey JWK"))?;
    if Some(old) != thumbprint(&outer.jwk) {
        return Err(Problem::unauthorized(
            "oldKey is not the account's current key",
        ));
    }
    let new = thumbprint(&new_jwk).ok_or_else(|| Problem::bad_public_key("new key"))?;
    let outcome = sandbox
        .update(|data| {
            let holder = data
                .acme
                .accounts
                .iter()
                .find(|(_, a)| thumbprint(&a.jwk).as_deref() == Some(new.as_str()))
                .map(|(holder, _)| holder.clone());
            if let Some(holder) = holder {
                return Err(holder);
            }
            if let Some(account) = data.acme.accounts.get_mut(&id) {
                account.jwk = new_jwk;
            }
            Ok(())
        })
        .await?;
    match outcome {
        Ok(()) => Ok((StatusCode::OK, [(LOCATION, account_url)]).into_response()),
        Err(holder) => Ok((
            [(LOCATION, sandbox.url(&format!("{ACCOUNT_PATH}{holder}")))],
            Problem::key_in_use(),
        )
            .into_response()),
    }
}
