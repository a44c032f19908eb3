//! `newOrder` for a TNAuthList identifier (RFC 8555 §7.4, RFC 9448 §3) and the order object.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pki::TnAuthList;
use serde_json::{Value, json};

use super::jws::{self, KeyRef};
use super::{AUTHZ_PATH, CERT_PATH, ORDER_PATH, Problem, rfc3339};
use crate::Sandbox;
use crate::store::{Authorization, Challenge, Order, Status};

pub(super) async fn new_order(
    State(sandbox): State<Sandbox>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Problem> {
    let signed = jws::verify(&sandbox, uri.path(), &body, KeyRef::Kid)?;
    let account = signed.account_id()?.to_owned();
    let payload = signed.json()?;
    let identifiers = payload
        .get("identifiers")
        .and_then(Value::as_array)
        .ok_or_else(|| Problem::malformed("identifiers must be an array"))?;
    let [identifier] = identifiers.as_slice() else {
        return Err(Problem::rejected_identifier(
            "exactly one TNAuthList identifier per order",
        ));
    };
    match identifier.get("type").and_then(Value::as_str) {
        Some("TNAuthList") => {}
        Some(other) => {
            return Err(Problem::unsupported_identifier(format!(
                "identifier type {other:?} is not supported, only TNAuthList"
            )));
        }
        None => return Err(Problem::malformed("identifier has no type")),
    }
    let value = identifier
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| Problem::malformed("identifier has no value"))?;
    // The US ecosystem uses padded standard base64 (standards.md §5.2); RFC 9448 readers
    // may send base64url: both are accepted, the value is echoed as sent.
    let list = TnAuthList::from_base64(value)
        .or_else(|_| TnAuthList::from_base64url(value))
        .map_err(|_| Problem::malformed("identifier value is not a base64 TNAuthList"))?;
    if list.entries().len() != 1 || list.spc().is_none() {
        return Err(Problem::rejected_identifier(
            "the TNAuthList must hold exactly one SPC (ATIS-1000080 v005)",
        ));
    }
    let time = |name: &str| -> Result<Option<String>, Problem> {
        match payload.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Problem::malformed(format!("{name} must be a string"))),
        }
    };
    let (not_before, not_after) = (time("notBefore")?, time("notAfter")?);
    let expires = sandbox.now() + sandbox.config().order_lifetime.as_secs();
    let der = STANDARD.encode(list.to_der());
    let (id, order) = sandbox
        .update(|data| {
            let id = data.rng.id();
            let authz_id = data.rng.id();
            let challenge = Challenge {
                id: data.rng.id(),
                token: data.rng.id(),
                status: Status::Pending,
                validated: None,
                error: None,
            };
            data.acme.authorizations.insert(
                authz_id.clone(),
                Authorization {
                    account: account.clone(),
                    order: id.clone(),
                    status: Status::Pending,
                    expires,
                    identifier: value.to_owned(),
                    tn_auth_list: der.clone(),
                    challenge,
                },
            );
            let order = Order {
                account,
                status: Status::Pending,
                expires,
                identifier: value.to_owned(),
                tn_auth_list: der,
                authorizations: vec![authz_id],
                not_before,
                not_after,
                certificate: None,
                error: None,
            };
            data.acme.orders.insert(id.clone(), order.clone());
            (id, order)
        })
        .await?;
    Ok(order_response(&sandbox, StatusCode::CREATED, &id, &order))
}

pub(super) async fn get(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Problem> {
    let signed = jws::verify(&sandbox, uri.path(), &body, KeyRef::Kid)?;
    let order = owned_order(&sandbox, &id, signed.account_id()?)?;
    Ok(order_response(&sandbox, StatusCode::OK, &id, &order))
}

/// The order `id` if it belongs to `account`.
pub(super) fn owned_order(sandbox: &Sandbox, id: &str, account: &str) -> Result<Order, Problem> {
    match sandbox.read(|data| data.acme.orders.get(id).cloned()) {
        Some(mut order) if order.account == account => {
            // RFC 8555 §7.1.6: a pending or ready order that expires becomes invalid.
            if order.expires <= sandbox.now()
                && matches!(order.status, Status::Pending | Status::Ready)
            {
                order.status = Status::Invalid;
            }
            Ok(order)
        }
        Some(_) => Err(Problem::unauthorized("order belongs to another account")),
        None => Err(Problem::not_found()),
    }
}

/// The order object with its `Location`.
pub(super) fn order_response(
    sandbox: &Sandbox,
    status: StatusCode,
    id: &str,
    order: &Order,
) -> Response {
    let url = sandbox.url(&format!("{ORDER_PATH}{id}"));
    let mut body = json!({
        "status": order.status,
        "expires": rfc3339(order.expires),
        "identifiers": [{"type": "TNAuthList", "value": order.identifier}],
        "authorizations": order
            .authorizations
            .iter()
            .map(|a| sandbox.url(&format!("{AUTHZ_PATH}{a}")))
            .collect::<Vec<_>>(),
        "finalize": format!("{url}/finalize"),
    });
    if let Some(nb) = &order.not_before {
        body["notBefore"] = json!(nb);
    }
    if let Some(na) = &order.not_after {
        body["notAfter"] = json!(na);
    }
    if let Some(cert) = &order.certificate {
        body["certificate"] = json!(sandbox.url(&format!("{CERT_PATH}{cert}")));
    }
    if let Some(error) = &order.error {
        body["error"] = error.clone();
    }
    (status, [(LOCATION, url)], Json(body)).into_response()
}
