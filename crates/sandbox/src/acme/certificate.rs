//! Certificate download (POST-as-GET, `application/pem-certificate-chain`, RFC 8555 §7.4.2)
//! and `revokeCert` (§7.6), which feeds the STI-PA's indirect CRL.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

use super::Problem;
use super::jws::{self, KeyRef};
use crate::Sandbox;
use crate::store::Revocation;

pub(super) async fn download(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Problem> {
    let signed = jws::verify(&sandbox, uri.path(), &body, KeyRef::Kid)?;
    let account = signed.account_id()?;
    let chain = match sandbox.read(|data| data.acme.certificates.get(&id).cloned()) {
        Some(c) if c.account == account => c.chain_pem,
        Some(_) => {
            return Err(Problem::unauthorized(
                "certificate belongs to another account",
            ));
        }
        None => return Err(Problem::not_found()),
    };
    Ok(([(CONTENT_TYPE, "application/pem-certificate-chain")], chain).into_response())
}

/// RFC 5280 CRLReason codes a subscriber may give (RFC 8555 §7.6 leaves the choice to the
/// CA; like Boulder: unspecified, keyCompromise, affiliationChanged, superseded,
/// cessationOfOperation).
const ACCEPTED_REASONS: [i64; 5] = [0, 1, 3, 4, 5];

pub(super) async fn revoke(
    State(sandbox): State<Sandbox>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Problem> {
    let signed = jws::verify(&sandbox, uri.path(), &body, KeyRef::Kid)?;
    let account = signed.account_id()?.to_owned();
    let payload = signed.json()?;
    let der = payload
        .get("certificate")
        .and_then(Value::as_str)
        .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
        .ok_or_else(|| Problem::malformed("certificate must be base64url DER"))?;
    let reason = match payload.get("reason") {
        None => None,
        Some(r) => match r.as_i64() {
            Some(code) if ACCEPTED_REASONS.contains(&code) => u8::try_from(code).ok(),
            Some(code) => return Err(Problem::bad_revocation_reason(code)),
            None => return Err(Problem::malformed("reason must be an integer")),
        },
    };
    let encoded = STANDARD.encode(&der);
    let issuer = STANDARD.encode(&sandbox.pki().intermediate_name);
    let now = sandbox.now();
    let outcome = sandbox
        .update(|data| {
            let Some(cert) = data
                .acme
                .certificates
                .values_mut()
                .find(|c| c.der == encoded)
            else {
                return Err(Problem::not_found());
            };
            if cert.account != account {
                return Err(Problem::unauthorized(
                    "certificate belongs to another account",
                ));
            }
            if cert.revoked {
                return Err(Problem::already_revoked());
            }
            cert.revoked = true;
            let serial = cert.serial.clone();
            data.revoked.push(Revocation {
                serial,
                issuer,
                time: now,
                reason,
            });
            data.crl_number += 1;
            Ok(())
        })
        .await?;
    outcome?;
    Ok(().into_response())
}
