//! `GET /api/v1/ca-list` (`reference/standards.md` §4.3): the signed list of approved STI-CAs,
//! here the one sandbox CA root. Parsed by `pki::UnverifiedCaList`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::{PaError, SIGNER_CERT_PATH, auth};
use crate::Sandbox;
use crate::pki::pem;

/// The list's `sequence`: it changes only when the listed CAs do, and the sandbox lists one
/// fixed root.
const SEQUENCE: u64 = 1;

pub(super) async fn get(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
) -> Result<Json<Value>, PaError> {
    auth::user(&sandbox, &headers)?;
    let exp = sandbox.now() + sandbox.config().ca_list_lifetime.as_secs();
    let header = json!({"alg": "ES256", "typ": "JWT", "x5u": sandbox.url(SIGNER_CERT_PATH)});
    let payload = json!({
        "version": "1.0",
        "sequence": SEQUENCE,
        "exp": exp,
        "trustList": [pem(&sandbox.pki().ca_root.der)],
    });
    let jws = passport::sign_compact(
        &sandbox.pki().pa_signing_key,
        &header,
        payload.to_string().as_bytes(),
    )
    .map_err(|_| PaError::internal())?;
    Ok(Json(json!({"status": "success", "caList": jws})))
}
