//! Downloads: the indirect CRL (`GET /download/v1/crl`, DER) and the PA's certificates (PEM).

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{CRL_SIGNER_CERT_PATH, PaError};
use crate::Sandbox;
use crate::crl::{Entry, IndirectCrl};
use crate::pki::pem;
use crate::state::CRL_PATH;

/// How long a CRL is good for (`nextUpdate`); verifiers refresh at least every 12 h anyway.
const CRL_VALIDITY_SECS: u64 = 12 * 3_600;

pub(super) async fn crl(State(sandbox): State<Sandbox>) -> Result<Response, PaError> {
    let (entries, number) = sandbox.read(|data| {
        let entries: Vec<Entry> = data
            .revoked
            .iter()
            .filter_map(|r| {
                Some(Entry {
                    serial: decode_hex(&r.serial)?,
                    certificate_issuer: STANDARD.decode(&r.issuer).ok()?,
                    revocation_date: r.time,
                    reason: r.reason,
                })
            })
            .collect();
        (entries, data.crl_number)
    });
    let now = sandbox.now();
    let pki = sandbox.pki();
    let crl_url = sandbox.url(CRL_PATH);
    let signer_url = sandbox.url(CRL_SIGNER_CERT_PATH);
    let der = IndirectCrl {
        issuer: &pki.crl_issuer_name,
        entries,
        this_update: now,
        next_update: now + CRL_VALIDITY_SECS,
        number,
        distribution_point: &crl_url,
        signer_url: &signer_url,
    }
    .sign(&pki.crl_signer.key)
    .map_err(|_| PaError::internal())?;
    Ok(([(CONTENT_TYPE, "application/pkix-crl")], der).into_response())
}

pub(super) async fn signer(State(sandbox): State<Sandbox>) -> Response {
    certificate(pem(&sandbox.pki().pa_signer.der))
}

pub(super) async fn crl_signer(State(sandbox): State<Sandbox>) -> Response {
    certificate(pem(&sandbox.pki().crl_signer.der))
}

pub(super) async fn root(State(sandbox): State<Sandbox>) -> Response {
    certificate(pem(&sandbox.pki().pa_root.der))
}

fn certificate(pem: String) -> Response {
    (
        [
            (CONTENT_TYPE, "application/pem-certificate-chain"),
            (CACHE_CONTROL, "max-age=86400"),
        ],
        pem,
    )
        .into_response()
}

pub(crate) fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
