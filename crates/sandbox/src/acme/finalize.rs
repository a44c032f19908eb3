//! `finalize` (RFC 8555 §7.4): check the CSR (signature, P-256 key, TNAuthList equal to the
//! identifier) and issue the ATIS-1000080 leaf under the sandbox intermediate.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use pki::TnAuthList;
use serde_json::Value;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::prelude::FromDer as _;

use super::Problem;
use super::jws::{self, KeyRef};
use super::order::{order_response, owned_order};
use crate::Sandbox;
use crate::pki::{LeafRequest, pem};
use crate::state::CRL_PATH;
use crate::store::{IssuedCertificate, Status};

/// O of the leaf when the CSR names none.
const DEFAULT_ORGANIZATION: &str = "Stirling Sandbox Service Provider";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const PRIME256V1: &str = "1.2.840.10045.3.1.7";
const TN_AUTH_LIST: &str = "1.3.6.1.5.5.7.1.26";

/// What the CSR yielded.
struct CheckedCsr {
    public_point: Vec<u8>,
    organization: Option<String>,
}

pub(super) async fn finalize(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Problem> {
    let signed = jws::verify(&sandbox, uri.path(), &body, KeyRef::Kid)?;
    let account = signed.account_id()?.to_owned();
    let order = owned_order(&sandbox, &id, &account)?;
    if order.status != Status::Ready {
        return Err(Problem::order_not_ready(status_name(order.status)));
    }
    let csr = signed
        .json()?
        .get("csr")
        .and_then(Value::as_str)
        .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
        .ok_or_else(|| Problem::bad_csr("csr must be base64url DER"))?;
    let identifier = STANDARD
        .decode(&order.tn_auth_list)
        .ok()
        .and_then(|der| TnAuthList::from_der(&der).ok())
        .ok_or_else(Problem::server_internal)?;
    let checked = check_csr(&csr, &identifier)?;
    // The fault switch swaps in another SPC after the CSR check passed: the CA misissues.
    let identifier = if sandbox.faults_lock().take_wrong_tn_auth_list() {
        another_spc(&identifier).ok_or_else(Problem::server_internal)?
    } else {
        identifier
    };
    let spc = identifier.spc().ok_or_else(Problem::server_internal)?;
    let crl_url = sandbox.url(CRL_PATH);
    let pki = sandbox.pki();
    let der = pki
        .issue_leaf(&LeafRequest {
            spc,
            tn_auth_list: &identifier,
            organization: checked
                .organization
                .as_deref()
                .unwrap_or(DEFAULT_ORGANIZATION),
            public_point: &checked.public_point,
            crl_url: &crl_url,
            now: SystemTime::now(),
            validity: sandbox.config().certificate_validity,
        })
        .map_err(|_| Problem::server_internal())?;
    let serial = {
        let (_, cert) =
            x509_parser::parse_x509_certificate(&der).map_err(|_| Problem::server_internal())?;
        hex::encode(cert.tbs_certificate.raw_serial())
    };
    let chain_pem = format!("{}{}", pem(&der), pem(&pki.ca_intermediate.der));
    let order = sandbox
        .update(|data| {
            // A concurrent finalize may have won: issue once per order.
            let order = data.acme.orders.get(&id)?;
            if order.status != Status::Ready {
                return Some(Err(order.status));
            }
            let cert_id = data.rng.id();
            data.acme.certificates.insert(
                cert_id.clone(),
                IssuedCertificate {
                    account,
                    chain_pem,
                    der: STANDARD.encode(&der),
                    serial,
                    revoked: false,
                },
            );
            let order = data.acme.orders.get_mut(&id)?;
            order.status = Status::Valid;
            order.certificate = Some(cert_id);
            Some(Ok(order.clone()))
        })
        .await?;
    let order = order
        .ok_or_else(Problem::not_found)?
        .map_err(|status| Problem::order_not_ready(status_name(status)))?;
    Ok(order_response(&sandbox, StatusCode::OK, &id, &order))
}

/// A TNAuthList for an SPC other than `ordered`'s (`wrongTnAuthListNext`).
fn another_spc(ordered: &TnAuthList) -> Option<TnAuthList> {
    let other = if ordered.spc().map(|spc| spc.as_str()) == Some(WRONG_SPC) {
        WRONG_SPC_ALTERNATIVE
    } else {
        WRONG_SPC
    };
    passport::Spc::new(other).ok().map(TnAuthList::from_spc)
}

/// The SPC a misissued certificate names, and the one used when the order is for it.
const WRONG_SPC: &str = "9999";
const WRONG_SPC_ALTERNATIVE: &str = "9998";

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Deactivated => "deactivated",
        Status::Invalid => "invalid",
        Status::Pending => "pending",
        Status::Processing => "processing",
        Status::Ready => "ready",
        Status::Revoked => "revoked",
        Status::Valid => "valid",
    }
}

/// RFC 9448 §5: the CSR's TNAuthList must equal the identifier; ATIS-1000080: P-256 key.
fn check_csr(der: &[u8], identifier: &TnAuthList) -> Result<CheckedCsr, Problem> {
    let (rest, csr) = X509CertificationRequest::from_der(der)
        .map_err(|_| Problem::bad_csr("csr is not a PKCS#10 request"))?;
    if !rest.is_empty() {
        return Err(Problem::bad_csr("csr has trailing data"));
    }
    csr.verify_signature()
        .map_err(|_| Problem::bad_csr("csr signature does not verify"))?;
    let info = &csr.certification_request_info;
    let spki = &info.subject_pki;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|oid| oid.to_id_string());
    if spki.algorithm.algorithm.to_id_string() != EC_PUBLIC_KEY
        || curve.as_deref() != Some(PRIME256V1)
    {
        return Err(Problem::bad_csr("csr key is not an EC P-256 key"));
    }
    let requested = info
        .iter_attributes()
        .filter_map(|a| match a.parsed_attribute() {
            ParsedCriAttribute::ExtensionRequest(req) => Some(req.extensions.iter()),
            _ => None,
        })
        .flatten()
        .find(|e| e.oid.to_id_string() == TN_AUTH_LIST)
        .ok_or_else(|| Problem::bad_csr("csr has no TNAuthList extension"))?;
    let list = TnAuthList::from_der(requested.value)
        .map_err(|_| Problem::bad_csr("csr TNAuthList does not decode"))?;
    if list != *identifier {
        return Err(Problem::bad_csr(
            "csr TNAuthList does not equal the order's identifier",
        ));
    }
    let organization = info
        .subject
        .iter_organization()
        .next()
        .and_then(|o| o.as_str().ok())
        .map(str::to_owned);
    Ok(CheckedCsr {
        public_point: spki.subject_public_key.data.to_vec(),
        organization,
    })
}
