//! Authenticating an ACME POST (RFC 8555 §6.2–6.5): a flattened JWS, `alg` ES256, a `jwk`
//! (newAccount only) or a `kid` naming an existing account, a single-use `nonce`, and a `url`
//! equal to the request's URL.

use passport::{FlattenedJws, VerifyingKey};
use serde_json::{Map, Value};

use super::{ACCOUNT_PATH, Problem};
use crate::Sandbox;
use crate::store::Status;

/// Which key a request must be signed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyRef {
    /// An embedded `jwk` (newAccount).
    Jwk,
    /// A `kid` naming an account (everything else).
    Kid,
}

/// A request whose JWS checked out.
pub(crate) struct Signed {
    /// The payload bytes; empty for POST-as-GET.
    pub(crate) payload: Vec<u8>,
    /// The signing key as a JWK.
    pub(crate) jwk: Value,
    /// The account id, for `kid` requests.
    pub(crate) account: Option<String>,
}

impl Signed {
    /// The account id of a `kid` request.
    pub(crate) fn account_id(&self) -> Result<&str, Problem> {
        self.account
            .as_deref()
            .ok_or_else(|| Problem::malformed("request must be signed with kid"))
    }

    /// True for POST-as-GET (empty payload).
    pub(crate) fn is_post_as_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// The payload as a JSON object.
    pub(crate) fn json(&self) -> Result<Map<String, Value>, Problem> {
        match serde_json::from_slice(&self.payload) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(Problem::malformed("payload is not a JSON object")),
        }
    }
}

/// Checks the JWS in `body` for a POST to `path`.
pub(crate) fn verify(
    sandbox: &Sandbox,
    path: &str,
    body: &[u8],
    key: KeyRef,
) -> Result<Signed, Problem> {
    let jws: FlattenedJws = serde_json::from_slice(body)
        .map_err(|_| Problem::malformed("body is not a flattened JWS"))?;
    let header = jws
        .protected_header()
        .map_err(|e| Problem::malformed(format!("protected header: {e}")))?;
    match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => {}
        Some(alg) => return Err(Problem::bad_signature_algorithm(alg)),
        None => return Err(Problem::malformed("protected header has no alg")),
    }
    let (jwk, account) = match (header.get("jwk"), header.get("kid"), key) {
        (Some(_), Some(_), _) => {
            return Err(Problem::malformed("protected header has both jwk and kid"));
        }
        (Some(jwk), None, KeyRef::Jwk) => (jwk.clone(), None),
        (None, Some(kid), KeyRef::Kid) => {
            let kid = kid
                .as_str()
                .ok_or_else(|| Problem::malformed("kid is not a string"))?;
            let (id, jwk) = account_key(sandbox, kid)?;
            (jwk, Some(id))
        }
        (_, _, KeyRef::Jwk) => {
            return Err(Problem::malformed("newAccount must be signed with jwk"));
        }
        (_, _, KeyRef::Kid) => return Err(Problem::malformed("request must be signed with kid")),
    };
    let verifying = VerifyingKey::from_jwk(&jwk)
        .map_err(|_| Problem::bad_public_key("jwk is not a P-256 EC key"))?;
    jws.verify_es256(&verifying)
        .map_err(|_| Problem::malformed("JWS signature is invalid"))?;
    let nonce = header
        .get("nonce")
        .and_then(Value::as_str)
        .ok_or_else(Problem::bad_nonce)?;
    if !sandbox.nonces().redeem(nonce) || sandbox.faults_lock().take_bad_nonce() {
        return Err(Problem::bad_nonce());
    }
    let url = header
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| Problem::malformed("protected header has no url"))?;
    let expected = sandbox.url(path);
    if url != expected {
        return Err(Problem::unauthorized(format!(
            "JWS url {url:?} is not the request URL {expected:?}"
        )));
    }
    let payload = jws
        .payload_bytes()
        .map_err(|_| Problem::malformed("payload is not base64url"))?;
    Ok(Signed {
        payload,
        jwk,
        account,
    })
}

/// The id and key of the account a `kid` names; it must be valid.
fn account_key(sandbox: &Sandbox, kid: &str) -> Result<(String, Value), Problem> {
    let prefix = sandbox.url(ACCOUNT_PATH);
    let id = kid.strip_prefix(&prefix).ok_or_else(|| {
        Problem::account_does_not_exist(format!("kid {kid:?} is not an account URL"))
    })?;
    sandbox.read(|data| match data.acme.accounts.get(id) {
        Some(a) if a.status == Status::Valid => Ok((id.to_owned(), a.jwk.clone())),
        Some(_) => Err(Problem::unauthorized("account is deactivated")),
        None => Err(Problem::account_does_not_exist(format!("no account {id}"))),
    })
}
