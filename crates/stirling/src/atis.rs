//! The ATIS-1000082 HTTP interface (`standards.md` §2.5): `POST /stir/v1/signing` and
//! `POST /stir/v1/verification`, for SBCs that speak HTTP instead of SIP.
//!
//! The caller is a tenant's API token (the authentication layer puts its
//! [`TenantScope`] in the request). Signing uses the same tenant signer as SIP
//! ([`TenantCalls::signer`](crate::directory::TenantCalls::signer), the default entry's active
//! version) and the same claims function ([`signing::identity_for`]); verification is the same
//! [`Verifier::verify`](crate::verification::Verifier::verify). Bad input gets `400` with
//! `{"requestError":{"serviceException":{"messageId","text","variables"}}}`; the message ids
//! follow vermouth (the exact ATIS list is unconfirmed): `SVC4000` missing parameter,
//! `SVC4001` invalid parameter value, `SVC4005` no certificate to sign with.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use passport::{Attestation, TelephoneNumber, UnixTime};
use serde_json::{Value, json};

use crate::call_path::{CallNote, CallPath};
use crate::message_log::MessageRecord;
use crate::signing::{self, SigningError, SigningRequest};
use crate::store::{CallResult, Service, TenantScope};
use crate::verification::CallParties;

/// The `/stir/v1` routes, to be merged behind the authentication layer.
pub fn router<S>(calls: CallPath) -> Router<S> {
    Router::new()
        .route("/stir/v1/signing", post(signing))
        .route("/stir/v1/verification", post(verification))
        .with_state(calls)
}

/// A request error in the ATIS shape.
#[derive(Debug, PartialEq, Eq)]
pub struct ServiceException {
    status: StatusCode,
    message_id: &'static str,
    text: &'static str,
    variables: Vec<String>,
}

impl ServiceException {
    fn missing(parameter: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message_id: "SVC4000",
            text: "Missing mandatory parameter %1",
            variables: vec![parameter.to_owned()],
        }
    }

    fn invalid(parameter: &str, why: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message_id: "SVC4001",
            text: "Invalid parameter value: %1 (%2)",
            variables: vec![parameter.to_owned(), why.into()],
        }
    }
}

/// The parsed `signingRequest`.
#[derive(Debug, PartialEq, Eq)]
pub struct SigningBody {
    attest: Attestation,
    orig: String,
    dest: Vec<String>,
    iat: Option<u64>,
    origid: Option<String>,
}

/// Reads `{"signingRequest":{…}}`, naming the first missing or invalid parameter.
pub fn parse_signing(body: &Value) -> Result<SigningBody, ServiceException> {
    let req = body
        .get("signingRequest")
        .ok_or_else(|| ServiceException::missing("signingRequest"))?;
    let attest = match req.get("attest") {
        None => return Err(ServiceException::missing("attest")),
        Some(Value::String(s)) => match s.as_str() {
            "A" => Attestation::A,
            "B" => Attestation::B,
            "C" => Attestation::C,
            _ => return Err(ServiceException::invalid("attest", "must be A, B or C")),
        },
        Some(_) => return Err(ServiceException::invalid("attest", "must be a string")),
    };
    let orig = match req.get("orig").map(|o| o.get("tn")) {
        None | Some(None) => return Err(ServiceException::missing("orig.tn")),
        Some(Some(Value::String(tn))) => tn.clone(),
        Some(Some(_)) => return Err(ServiceException::invalid("orig.tn", "must be a string")),
    };
    let dest = match req.get("dest").map(|d| d.get("tn")) {
        None | Some(None) => return Err(ServiceException::missing("dest.tn")),
        Some(Some(Value::Array(tns))) if !tns.is_empty() => tns
            .iter()
            .map(|tn| {
                tn.as_str().map(str::to_owned).ok_or_else(|| {
                    ServiceException::invalid("dest.tn", "must be an array of strings")
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(Some(_)) => {
            return Err(ServiceException::invalid(
                "dest.tn",
                "must be a non-empty array of strings",
            ));
        }
    };
    let iat = match req.get("iat") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| ServiceException::invalid("iat", "must be an integer"))?,
        ),
    };
    let origid = match req.get("origid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ServiceException::invalid("origid", "must be a string")),
    };
    Ok(SigningBody {
        attest,
        orig,
        dest,
        iat,
        origid,
    })
}

/// The parsed `verificationRequest`.
#[derive(Debug, PartialEq, Eq)]
pub struct VerificationBody {
    from: String,
    to: Vec<String>,
    identity: String,
    time: Option<u64>,
}

/// Reads `{"verificationRequest":{…}}`.
pub fn parse_verification(body: &Value) -> Result<VerificationBody, ServiceException> {
    let req = body
        .get("verificationRequest")
        .ok_or_else(|| ServiceException::missing("verificationRequest"))?;
    let from = match req.get("from").map(|o| o.get("tn")) {
        None | Some(None) => return Err(ServiceException::missing("from.tn")),
        Some(Some(Value::String(tn))) => tn.clone(),
        Some(Some(_)) => return Err(ServiceException::invalid("from.tn", "must be a string")),
    };
    let to = match req.get("to").map(|d| d.get("tn")) {
        None | Some(None) => return Err(ServiceException::missing("to.tn")),
        Some(Some(Value::Array(tns))) if !tns.is_empty() => tns
            .iter()
            .map(|tn| {
                tn.as_str().map(str::to_owned).ok_or_else(|| {
                    ServiceException::invalid("to.tn", "must be an array of strings")
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(Some(_)) => {
            return Err(ServiceException::invalid(
                "to.tn",
                "must be a non-empty array of strings",
            ));
        }
    };
    let identity = match req.get("identity") {
        None => return Err(ServiceException::missing("identity")),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ServiceException::invalid("identity", "must be a string")),
    };
    let time = match req.get("time") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| ServiceException::invalid("time", "must be an integer"))?,
        ),
    };
    Ok(VerificationBody {
        from,
        to,
        identity,
        time,
    })
}

/// The tenant an ATIS request acts for: only a tenant's credentials sign or verify.
fn tenant_of(scope: &TenantScope) -> Result<&crate::store::TenantId, ServiceException> {
    scope.tenant().ok_or(ServiceException {
        status: StatusCode::FORBIDDEN,
        message_id: "POL4050",
        text: "Signing and verification need the API token of a tenant, not an administrator",
        variables: Vec::new(),
    })
}

/// An answer: its status and JSON body.
type Answer = (StatusCode, Value);

impl From<ServiceException> for Answer {
    fn from(e: ServiceException) -> Self {
        let body = json!({"requestError": {"serviceException": {
            "messageId": e.message_id,
            "text": e.text,
            "variables": e.variables,
        }}});
        (e.status, body)
    }
}

/// `POST /stir/v1/signing`.
async fn signing(
    State(calls): State<CallPath>,
    Extension(scope): Extension<TenantScope>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let received_at = calls.clock.now();
    let mut note = CallNote::default();
    let answer = sign(&calls, &scope, &body, &mut note).unwrap_or_else(Answer::from);
    finish(
        &calls,
        Service::Signing,
        peer,
        received_at,
        started,
        body,
        answer,
        note,
    )
}

fn sign(
    calls: &CallPath,
    scope: &TenantScope,
    body: &[u8],
    note: &mut CallNote,
) -> Result<Answer, ServiceException> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| ServiceException::invalid("body", e.to_string()))?;
    let tenant = tenant_of(scope)?;
    note.tenant = Some(tenant.clone());
    let req = parse_signing(&body)?;
    note.from_tn = TelephoneNumber::canonicalize(&req.orig).ok();
    note.to_tn = req
        .dest
        .iter()
        .find_map(|tn| TelephoneNumber::canonicalize(tn).ok());
    let directory = calls.directory.current();
    let signer = directory
        .tenant(tenant)
        .and_then(|t| t.signer(None))
        .ok_or(ServiceException {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message_id: "SVC4005",
            text: "No active certificate to sign with",
            variables: Vec::new(),
        })?;
    let dest: Vec<&str> = req.dest.iter().map(String::as_str).collect();
    let request = SigningRequest {
        orig: &req.orig,
        dest: &dest,
        date: req
            .iat
            .map(|iat| UnixTime::since_unix_epoch(std::time::Duration::from_secs(iat))),
        origid: req.origid.as_deref(),
    };
    match signing::identity_for(
        &signer.signer,
        &request,
        req.attest,
        calls.clock.now(),
        calls.freshness_secs,
    ) {
        Ok(identity) => {
            note.result = Some(CallResult::Signed);
            note.attestation = Some(req.attest);
            note.version = Some(signer.version.clone());
            Ok((
                StatusCode::OK,
                json!({"signingResponse": {"identity": identity}}),
            ))
        }
        Err(SigningError::CallingNumber(e)) => {
            Err(ServiceException::invalid("orig.tn", e.to_string()))
        }
        Err(SigningError::CalledNumber(e)) => {
            Err(ServiceException::invalid("dest.tn", e.to_string()))
        }
        Err(SigningError::NoCalledNumber) => Err(ServiceException::missing("dest.tn")),
        Err(SigningError::Passport(e)) => {
            tracing::error!(error = %e, "signing failed");
            note.result = Some(CallResult::Error);
            Ok((
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "internal", "message": "internal error"}),
            ))
        }
    }
}

/// `POST /stir/v1/verification`.
async fn verification(
    State(calls): State<CallPath>,
    Extension(scope): Extension<TenantScope>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let received_at = calls.clock.now();
    let mut note = CallNote::default();
    let answer = match verify(&calls, &scope, &body, &mut note).await {
        Ok(answer) => answer,
        Err(e) => e.into(),
    };
    finish(
        &calls,
        Service::Verification,
        peer,
        received_at,
        started,
        body,
        answer,
        note,
    )
}

async fn verify(
    calls: &CallPath,
    scope: &TenantScope,
    body: &[u8],
    note: &mut CallNote,
) -> Result<Answer, ServiceException> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| ServiceException::invalid("body", e.to_string()))?;
    note.tenant = Some(tenant_of(scope)?.clone());
    let req = parse_verification(&body)?;
    note.from_tn = TelephoneNumber::canonicalize(&req.from).ok();
    note.to_tn = req
        .to
        .iter()
        .find_map(|tn| TelephoneNumber::canonicalize(tn).ok());
    let now = calls.clock.now().as_secs();
    // The request's own time is checked like a SIP Date header (`standards.md` §2.5).
    if let Some(time) = req.time
        && time.abs_diff(now) > calls.freshness_secs
    {
        let failure = passport::Error::Stale {
            iat: time,
            now,
            window: calls.freshness_secs,
        }
        .sip_failure();
        note.result = Some(CallResult::Failed);
        note.verstat = Some(failure.verstat);
        note.reason = Some(failure.reason.to_owned());
        return Ok((
            StatusCode::OK,
            json!({"verificationResponse": {
                "verstat": failure.verstat.as_str(),
                "reasoncode": failure.code,
                "reasontext": failure.reason,
                "reasondesc": "the request time is outside the freshness window",
            }}),
        ));
    }
    let verification = calls
        .verifier
        .verify(
            &[req.identity.as_str()],
            CallParties {
                orig: note.from_tn.as_ref(),
                dest: note.to_tn.as_ref(),
            },
        )
        .await;
    note.verified(&verification);
    let mut response = json!({"verstat": verification.verstat.as_str()});
    if let Some(failure) = &verification.failure {
        let f = failure.sip_failure();
        note.reason = Some(f.reason.to_owned());
        response["reasoncode"] = json!(f.code);
        response["reasontext"] = json!(f.reason);
        response["reasondesc"] = json!(failure.to_string());
    }
    Ok((StatusCode::OK, json!({ "verificationResponse": response })))
}

/// Logs the exchange (when a log is attached) and turns the answer into the response.
#[allow(clippy::too_many_arguments)]
fn finish(
    calls: &CallPath,
    service: Service,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    received_at: UnixTime,
    started: Instant,
    request: Bytes,
    (status, body): Answer,
    note: CallNote,
) -> Response {
    let body = Bytes::from(body.to_string());
    if let Some(log) = &calls.log {
        let source = peer.map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |p| (p.0).0);
        let mut record = MessageRecord::http(
            service,
            note.result.unwrap_or(CallResult::Refused),
            request,
            body.clone(),
            status.as_u16(),
            source,
            received_at,
            started.elapsed(),
        );
        note.fill(&mut record);
        log.record(record);
    }
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn signing_requests_name_the_missing_or_invalid_parameter() {
        let ok = json!({"signingRequest": {"attest": "A", "dest": {"tn": ["12355551212"]},
            "iat": 1632412033, "orig": {"tn": "12155551212"}, "origid": "x"}});
        let parsed = parse_signing(&ok).unwrap();
        assert_eq!(parsed.attest, Attestation::A);
        assert_eq!(parsed.dest, ["12355551212"]);
        let cases = [
            (json!({}), "SVC4000", "signingRequest"),
            (json!({"signingRequest": {}}), "SVC4000", "attest"),
            (
                json!({"signingRequest": {"attest": "D"}}),
                "SVC4001",
                "attest",
            ),
            (
                json!({"signingRequest": {"attest": "A"}}),
                "SVC4000",
                "orig.tn",
            ),
            (
                json!({"signingRequest": {"attest": "A", "orig": {"tn": 5}}}),
                "SVC4001",
                "orig.tn",
            ),
            (
                json!({"signingRequest": {"attest": "A", "orig": {"tn": "1"}, "dest": {"tn": []}}}),
                "SVC4001",
                "dest.tn",
            ),
            (
                json!({"signingRequest": {"attest": "A", "orig": {"tn": "1"},
                    "dest": {"tn": ["2"]}, "iat": "now"}}),
                "SVC4001",
                "iat",
            ),
        ];
        for (body, id, parameter) in cases {
            let e = parse_signing(&body).unwrap_err();
            assert_eq!(
                (e.message_id, e.variables[0].as_str()),
                (id, parameter),
                "{body}"
            );
        }
    }

    #[test]
    fn verification_requests_name_the_missing_or_invalid_parameter() {
        let ok = json!({"verificationRequest": {"from": {"tn": "12155551212"},
            "to": {"tn": ["12355551212"]}, "identity": "x", "time": 1632413071}});
        assert_eq!(parse_verification(&ok).unwrap().time, Some(1632413071));
        let cases = [
            (json!({"x": 1}), "SVC4000", "verificationRequest"),
            (json!({"verificationRequest": {}}), "SVC4000", "from.tn"),
            (
                json!({"verificationRequest": {"from": {"tn": "1"}, "to": {"tn": "2"}}}),
                "SVC4001",
                "to.tn",
            ),
            (
                json!({"verificationRequest": {"from": {"tn": "1"}, "to": {"tn": ["2"]}}}),
                "SVC4000",
                "identity",
            ),
        ];
        for (body, id, parameter) in cases {
            let e = parse_verification(&body).unwrap_err();
            assert_eq!(
                (e.message_id, e.variables[0].as_str()),
                (id, parameter),
                "{body}"
            );
        }
    }
}
