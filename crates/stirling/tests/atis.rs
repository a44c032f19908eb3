//! The ATIS-1000082 HTTP interface in-process: signing with the tenant's active signer and
//! verifying through the same verifier as SIP (a real HTTPS x5u server on loopback), request
//! errors in the `requestError.serviceException` shape.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

mod support;

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use stirling::atis::router;
use stirling::call_path::CallPath;
use stirling::directory::DirectoryHolder;
use stirling::sip_front::SbcMode;
use stirling::store::{TenantId, TenantScope};
use support::{At, NOW, setup};
use tower::ServiceExt as _;

async fn post(app: &axum::Router, path: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .clone()
        .oneshot(
            Request::post(path)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

struct Api {
    app: axum::Router,
    admin: axum::Router,
    stranger: axum::Router,
    _setup: support::Setup,
}

async fn api() -> Api {
    let s = setup().await;
    let directory = s.directory("127.0.0.1/32", SbcMode::Both, s.signer("/cr/1234.pem"));
    let tenant = directory
        .route("127.0.0.1".parse().unwrap(), "")
        .unwrap()
        .tenant
        .clone();
    let calls = CallPath {
        directory: Arc::new(DirectoryHolder::new(directory)),
        verifier: s.verifier.clone(),
        clock: Arc::new(At(NOW)),
        freshness_secs: 60,
        log: None,
    };
    let with = |scope: TenantScope| router(calls.clone()).layer(Extension(scope));
    Api {
        app: with(TenantScope::Tenant(tenant)),
        admin: with(TenantScope::All),
        stranger: with(TenantScope::Tenant(TenantId::new())),
        _setup: s,
    }
}

fn signing_request(iat: u64) -> Value {
    json!({"signingRequest": {"attest": "A", "dest": {"tn": ["12155550131"]}, "iat": iat,
        "orig": {"tn": "12155550121"}, "origid": "123e4567-e89b-12d3-a456-426655440000"}})
}

fn verification_request(identity: &str, time: u64) -> Value {
    json!({"verificationRequest": {"from": {"tn": "12155550121"},
        "to": {"tn": ["12155550131"]}, "identity": identity, "time": time}})
}

#[tokio::test]
async fn signs_then_verifies_what_it_signed() {
    let api = api().await;
    let (status, body) = post(&api.app, "/stir/v1/signing", signing_request(NOW)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let identity = body["signingResponse"]["identity"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(identity.ends_with(";alg=ES256;ppt=shaken"), "{identity}");

    let (status, body) = post(
        &api.app,
        "/stir/v1/verification",
        verification_request(&identity, NOW),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"verificationResponse": {"verstat": "TN-Validation-Passed"}})
    );

    // One flipped signature character: 438 with the verstat of a failed validation.
    let at = identity.find(';').unwrap() - 40;
    let mut tampered = identity.clone().into_bytes();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let (_, body) = post(
        &api.app,
        "/stir/v1/verification",
        verification_request(&tampered, NOW),
    )
    .await;
    assert_eq!(body["verificationResponse"]["reasoncode"], 438, "{body}");
    assert_eq!(
        body["verificationResponse"]["verstat"],
        "TN-Validation-Failed"
    );

    // The request time itself is checked: 403 Stale Date.
    let (_, body) = post(
        &api.app,
        "/stir/v1/verification",
        verification_request(&identity, NOW - 3600),
    )
    .await;
    assert_eq!(body["verificationResponse"]["reasoncode"], 403, "{body}");
    assert_eq!(body["verificationResponse"]["reasontext"], "Stale Date");
}

#[tokio::test]
async fn bad_requests_get_service_exceptions() {
    let api = api().await;
    let (status, body) = post(&api.app, "/stir/v1/signing", json!({"signingRequest": {}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"requestError": {"serviceException": {"messageId": "SVC4000",
            "text": "Missing mandatory parameter %1", "variables": ["attest"]}}})
    );
    let mut bad = signing_request(NOW);
    bad["signingRequest"]["orig"]["tn"] = json!("anonymous");
    let (status, body) = post(&api.app, "/stir/v1/signing", bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["requestError"]["serviceException"]["variables"][0],
        "orig.tn"
    );
    // Not JSON at all.
    let response = api
        .app
        .clone()
        .oneshot(
            Request::post("/stir/v1/verification")
                .header("content-type", "application/json")
                .body(Body::from("{nope"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // An administrator is no tenant: it has no certificate to sign with.
    let (status, body) = post(&api.admin, "/stir/v1/signing", signing_request(NOW)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["requestError"]["serviceException"]["messageId"],
        "POL4050"
    );
    // A tenant without an active certificate.
    let (status, body) = post(&api.stranger, "/stir/v1/signing", signing_request(NOW)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body["requestError"]["serviceException"]["messageId"],
        "SVC4005"
    );
}
