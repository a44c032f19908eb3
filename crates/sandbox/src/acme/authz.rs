//! Authorizations and their one `tkauth-01` challenge (RFC 8555 §7.5, RFC 9447 §3).
//! Validation is synchronous: the answer to the challenge POST already says valid or invalid
//! (RFC 8555 allows it; clients polling the authorization see the same).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::http::header::LINK;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pki::TnAuthList;
use serde_json::{Value, json};

use super::jws::{self, KeyRef};
use super::tkauth::{self, Expectation};
use super::{AUTHZ_PATH, CHALLENGE_PATH, Problem, rfc3339};
use crate::Sandbox;
use crate::pa::SIGNER_CERT_PATH;
use crate::store::{Authorization, Status};

pub(super) async fn get(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let signed = jws::verify(&sandbox, uri.path(), &body, KeyRef::Kid)?;
    let authz = owned_authz(&sandbox, &id, signed.account_id()?)?;
    Ok(Json(authz_json(&sandbox, &authz)))
}

pub(super) async fn challenge(
    State(sandbox): State<Sandbox>,
    Path(challenge_id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Problem> {
    let signed = jws::verify(&sandbox, uri.path(), &body, KeyRef::Kid)?;
    let account = signed.account_id()?.to_owned();
    let authz_id = sandbox
        .read(|data| {
            data.acme
                .authorizations
                .iter()
                .find(|(_, a)| a.challenge.id == challenge_id)
                .map(|(id, _)| id.clone())
        })
        .ok_or_else(Problem::not_found)?;
    let authz = owned_authz(&sandbox, &authz_id, &account)?;
    if signed.is_post_as_get() || authz.challenge.status != Status::Pending {
        return Ok(challenge_response(&sandbox, &authz_id, &authz));
    }
    let token = signed
        .json()?
        .get("atc")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Problem::malformed("tkauth-01 answer must be {\"atc\":\"<token>\"}"))?;
    let jwk = sandbox
        .read(|data| data.acme.accounts.get(&account).map(|a| a.jwk.clone()))
        .ok_or_else(Problem::server_internal)?;
    let fingerprint = tkauth::fingerprint(&jwk, sandbox.config().fingerprint_input)
        .ok_or_else(|| Problem::bad_public_key("account key is not P-256"))?;
    let list = STANDARD
        .decode(&authz.tn_auth_list)
        .ok()
        .and_then(|der| TnAuthList::from_der(&der).ok())
        .ok_or_else(Problem::server_internal)?;
    let signer = sandbox
        .pki()
        .pa_signing_key
        .verifying_key()
        .map_err(|_| Problem::server_internal())?;
    let signer_url = sandbox.url(SIGNER_CERT_PATH);
    let now = sandbox.now();
    let expect = Expectation {
        signer: &signer,
        signer_url: &signer_url,
        identifier: &authz.identifier,
        tn_auth_list: &list,
        fingerprint: &fingerprint,
        now,
    };
    let used = sandbox.read(|data| data.acme.used_jtis.clone());
    let verdict = tkauth::validate(&token, &expect, |jti| used.contains_key(jti));
    let authz = sandbox
        .update(|data| {
            // A concurrent answer may have used the same jti since the check above.
            let verdict = match verdict {
                Ok(accepted) if data.acme.used_jtis.contains_key(&accepted.jti) => {
                    Err(tkauth::TokenRejection::JtiReused { jti: accepted.jti })
                }
                other => other,
            };
            if authz_not_pending(data, &authz_id) {
                return data.acme.authorizations.get(&authz_id).cloned();
            }
            if let Ok(accepted) = &verdict {
                data.acme.used_jtis.retain(|_, exp| *exp > now);
                data.acme
                    .used_jtis
                    .insert(accepted.jti.clone(), accepted.exp);
            }
            let authz = data.acme.authorizations.get_mut(&authz_id)?;
            let order_status = match &verdict {
                Ok(_) => {
                    authz.status = Status::Valid;
                    authz.challenge.status = Status::Valid;
                    authz.challenge.validated = Some(now);
                    Status::Ready
                }
                Err(rejection) => {
                    let problem = Problem::unauthorized(rejection.to_string()).to_json();
                    authz.status = Status::Invalid;
                    authz.challenge.status = Status::Invalid;
                    authz.challenge.error = Some(problem);
                    Status::Invalid
                }
            };
            let authz = authz.clone();
            if let Some(order) = data.acme.orders.get_mut(&authz.order) {
                order.status = order_status;
                if let Some(error) = &authz.challenge.error {
                    order.error = Some(error.clone());
                }
            }
            Some(authz)
        })
        .await?;
    let authz = authz.ok_or_else(Problem::not_found)?;
    Ok(challenge_response(&sandbox, &authz_id, &authz))
}

/// True if another request already settled the authorization.
fn authz_not_pending(data: &crate::store::Data, id: &str) -> bool {
    data.acme
        .authorizations
        .get(id)
        .is_some_and(|a| a.challenge.status != Status::Pending)
}

fn owned_authz(sandbox: &Sandbox, id: &str, account: &str) -> Result<Authorization, Problem> {
    match sandbox.read(|data| data.acme.authorizations.get(id).cloned()) {
        Some(mut a) if a.account == account => {
            // RFC 8555 §7.1.6: a pending authorization that expires becomes invalid.
            if a.expires <= sandbox.now() && a.status == Status::Pending {
                a.status = Status::Invalid;
                a.challenge.status = Status::Invalid;
            }
            Ok(a)
        }
        Some(_) => Err(Problem::unauthorized(
            "authorization belongs to another account",
        )),
        None => Err(Problem::not_found()),
    }
}

fn challenge_response(sandbox: &Sandbox, authz_id: &str, authz: &Authorization) -> Response {
    let up = format!(
        "<{}>;rel=\"up\"",
        sandbox.url(&format!("{AUTHZ_PATH}{authz_id}"))
    );
    ([(LINK, up)], Json(challenge_json(sandbox, authz))).into_response()
}

fn challenge_json(sandbox: &Sandbox, authz: &Authorization) -> Value {
    let c = &authz.challenge;
    let mut body = json!({
        "type": "tkauth-01",
        "tkauth-type": "atc",
        "token-authority": sandbox.url("/api/v1"),
        "url": sandbox.url(&format!("{CHALLENGE_PATH}{}", c.id)),
        "token": c.token,
        "status": c.status,
    });
    if let Some(t) = c.validated {
        body["validated"] = json!(rfc3339(t));
    }
    if let Some(e) = &c.error {
        body["error"] = e.clone();
    }
    body
}

fn authz_json(sandbox: &Sandbox, authz: &Authorization) -> Value {
    json!({
        "status": authz.status,
        "expires": rfc3339(authz.expires),
        "identifier": {"type": "TNAuthList", "value": authz.identifier},
        "challenges": [challenge_json(sandbox, authz)],
    })
}
