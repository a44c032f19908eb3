//! `newAccount` (RFC 8555 §7.3, with external account binding §7.3.4) and the account object.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use passport::{FlattenedJws, VerifyingKey};
use serde_json::{Value, json};

use super::jws::{self, KeyRef};
use super::{ACCOUNT_PATH, NEW_ACCOUNT_PATH, ORDER_PATH, Problem};
use crate::Sandbox;
use crate::store::{Account, Status};

pub(super) async fn new_account(
    State(sandbox): State<Sandbox>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Problem> {
    let signed = jws::verify(&sandbox, uri.path(), &body, KeyRef::Jwk)?;
    let payload = signed.json()?;
    let thumbprint = passport::jwk_thumbprint(&signed.jwk)
        .map_err(|_| Problem::bad_public_key("jwk lacks crv, kty, x or y"))?;
    let existing = sandbox.read(|data| {
        data.acme
            .accounts
            .iter()
            .find(|(_, a)| passport::jwk_thumbprint(&a.jwk).ok().as_deref() == Some(&thumbprint))
            .map(|(id, a)| (id.clone(), a.clone()))
    });
    if let Some((id, account)) = existing {
        return Ok(account_response(&sandbox, StatusCode::OK, &id, &account));
    }
    if payload.get("onlyReturnExisting").and_then(Value::as_bool) == Some(true) {
        return Err(Problem::account_does_not_exist("no account for this key"));
    }
    let contact = match payload.get("contact") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|c| match c.as_str() {
                Some(s) if s.starts_with("mailto:") => Ok(s.to_owned()),
                _ => Err(Problem::malformed("contact entries must be mailto: URLs")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(Problem::malformed("contact must be an array")),
    };
    let eab_kid = match &sandbox.config().external_account {
        None => None,
        Some(eab) => {
            let binding = payload.get("externalAccountBinding").ok_or_else(|| {
                Problem::external_account_required("externalAccountBinding is required")
            })?;
            check_binding(
                &sandbox,
                binding,
                &signed.jwk,
                &eab.kid,
                &eab.secret_hmac_key,
            )?;
            Some(eab.kid.clone())
        }
    };
    let account = Account {
        jwk: signed.jwk.clone(),
        contact,
        status: Status::Valid,
        eab_kid,
    };
    let id = sandbox
        .update(|data| {
            let id = data.rng.id();
            data.acme.accounts.insert(id.clone(), account.clone());
            id
        })
        .await?;
    Ok(account_response(
        &sandbox,
        StatusCode::CREATED,
        &id,
        &account,
    ))
}

/// The inner JWS (RFC 8555 §7.3.4): HS256 under the EAB key, `kid` the EAB key id, `url` the
/// newAccount URL, payload the outer JWK.
fn check_binding(
    sandbox: &Sandbox,
    binding: &Value,
    outer_jwk: &Value,
    kid: &str,
    key: &[u8],
) -> Result<(), Problem> {
    let inner: FlattenedJws = serde_json::from_value(binding.clone())
        .map_err(|_| Problem::malformed("externalAccountBinding is not a flattened JWS"))?;
    let header = inner
        .protected_header()
        .map_err(|_| Problem::malformed("externalAccountBinding header does not decode"))?;
    if header.get("kid").and_then(Value::as_str) != Some(kid) {
        return Err(Problem::unauthorized(
            "externalAccountBinding kid is unknown",
        ));
    }
    if header.get("url").and_then(Value::as_str) != Some(&sandbox.url(NEW_ACCOUNT_PATH)) {
        return Err(Problem::malformed(
            "externalAccountBinding url is not the newAccount URL",
        ));
    }
    inner
        .verify_hs256(key)
        .map_err(|_| Problem::unauthorized("externalAccountBinding MAC does not verify"))?;
    let payload = inner
        .payload_bytes()
        .map_err(|_| Problem::malformed("externalAccountBinding payload does not decode"))?;
    let bound: Value = serde_json::from_slice(&payload)
        .map_err(|_| Problem::malformed("externalAccountBinding payload is not a JWK"))?;
    VerifyingKey::from_jwk(&bound)
        .map_err(|_| Problem::malformed("externalAccountBinding payload is not a P-256 JWK"))?;
    let same = passport::jwk_thumbprint(&bound).ok() == passport::jwk_thumbprint(outer_jwk).ok();
    if !same {
        return Err(Problem::unauthorized(
            "externalAccountBinding binds a different key than the JWS",
        ));
    }
    Ok(())
}

pub(super) async fn get(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Problem> {
    let signed = jws::verify(&sandbox, uri.path(), &body, KeyRef::Kid)?;
    if signed.account_id()? != id {
        return Err(Problem::unauthorized("account URL is not the signer's"));
    }
    let deactivate = !signed.is_post_as_get()
        && signed.json()?.get("status").and_then(Value::as_str) == Some("deactivated");
    let account = sandbox
        .update(|data| {
            let account = data.acme.accounts.get_mut(&id)?;
            if deactivate {
                account.status = Status::Deactivated;
            }
            Some(account.clone())
        })
        .await?;
    let account = account.ok_or_else(Problem::not_found)?;
    Ok(account_response(&sandbox, StatusCode::OK, &id, &account))
}

pub(super) async fn orders(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let signed = jws::verify(&sandbox, uri.path(), &body, KeyRef::Kid)?;
    if signed.account_id()? != id {
        return Err(Problem::unauthorized("account URL is not the signer's"));
    }
    let urls: Vec<String> = sandbox.read(|data| {
        data.acme
            .orders
            .iter()
            .filter(|(_, o)| o.account == id)
            .map(|(oid, _)| sandbox.url(&format!("{ORDER_PATH}{oid}")))
            .collect()
    });
    Ok(Json(json!({"orders": urls})))
}

fn account_response(
    sandbox: &Sandbox,
    status: StatusCode,
    id: &str,
    account: &Account,
) -> Response {
    let url = sandbox.url(&format!("{ACCOUNT_PATH}{id}"));
    let mut body = json!({
        "status": account.status,
        "contact": account.contact,
        "orders": format!("{url}/orders"),
    });
    if let Some(kid) = &account.eab_kid {
        body["externalAccountBinding"] = json!({"kid": kid});
    }
    (status, [(LOCATION, url)], Json(body)).into_response()
}
