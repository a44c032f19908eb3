#![allow(clippy::panic, clippy::unwrap_used)]
//! The admin router's fault switches: off by default, each one observable, resettable.

mod common;

use common::{Acme, issue, start};
use serde_json::{Value, json};

#[tokio::test]
async fn faults_default_off_and_fail_next_hits_only_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let sb = start(dir.path()).await;
    let faults: Value = sb
        .http
        .get(sb.url("/sandbox/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        faults,
        json!({"failNext": 0, "failStatus": 503, "failTarget": "any", "delayMs": 0,
               "delayRoute": null, "malformedJsonNext": 0, "malformedJsonRoute": null,
               "expiredTokenNext": 0, "badNonceNext": 0, "wrongTnAuthListNext": 0})
    );

    sb.set_faults(json!({"failNext": 2, "failStatus": 500, "failTarget": "pa"}))
        .await;
    // The CA is not hit.
    let directory = sb.http.get(sb.url("/acme/directory")).send().await.unwrap();
    assert_eq!(directory.status(), 200);
    for _ in 0..2 {
        let login = sb
            .http
            .post(sb.url("/api/v1/auth/login"))
            .json(&json!({"userId": "alice", "password": "wonderland"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 500);
        let body: Value = login.json().await.unwrap();
        assert_eq!(
            body,
            json!({"status": "failed", "message": "sandbox fault injected"})
        );
    }
    // Exhausted: back to normal.
    sb.login("alice", "wonderland").await;

    sb.set_faults(json!({"failNext": 1, "failTarget": "ca"}))
        .await;
    let failed = sb.http.get(sb.url("/acme/directory")).send().await.unwrap();
    assert_eq!(failed.status(), 503);
    assert_eq!(failed.headers()["content-type"], "application/problem+json");
    // Injected failures still carry a fresh nonce (RFC 8555 §6.5).
    assert!(failed.headers().contains_key("replay-nonce"));
    assert_eq!(
        sb.http
            .get(sb.url("/acme/directory"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn malformed_json_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let sb = start(dir.path()).await;
    sb.set_faults(json!({"malformedJsonNext": 1, "delayMs": 1}))
        .await;
    let body = sb
        .http
        .get(sb.url("/acme/directory"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    assert!(!body.is_empty());
    // The next answer is whole again.
    let acme = Acme::new(&sb).await;
    assert!(acme.directory["newNonce"].is_string());

    let reset = sb
        .http
        .delete(sb.url("/sandbox/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(sb.sandbox.faults(), sandbox::Faults::default());
    let bad = sb
        .http
        .put(sb.url("/sandbox/faults"))
        .json(&json!({"noSuchSwitch": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn bad_nonce_next_rejects_good_nonces_and_the_retry_works() {
    let dir = tempfile::tempdir().unwrap();
    let sb = start(dir.path()).await;
    sb.set_faults(json!({"badNonceNext": 1})).await;
    let mut acme = Acme::new(&sb).await;
    let url = acme.dir("newAccount");
    let first = acme
        .post(&url, Some(&json!({"termsOfServiceAgreed": true})))
        .await;
    assert_eq!(first.problem_type(), "urn:ietf:params:acme:error:badNonce");
    // Retry with the nonce from the error answer.
    let retry = acme
        .post(&url, Some(&json!({"termsOfServiceAgreed": true})))
        .await;
    assert_eq!(retry.status, 201);
}

#[tokio::test]
async fn requests_are_counted_per_route_on_arrival_even_when_failed() {
    let dir = tempfile::tempdir().unwrap();
    let sb = start(dir.path()).await;
    sb.set_faults(json!({"failNext": 1, "failTarget": "pa"}))
        .await;
    let failed = sb
        .http
        .post(sb.url("/api/v1/auth/login"))
        .json(&json!({"userId": "alice", "password": "wonderland"}))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 503);
    sb.login("alice", "wonderland").await;
    Acme::new(&sb).await;

    let counts: Value = sb
        .http
        .get(sb.url("/sandbox/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts["/api/v1/auth/login"], 2, "{counts}");
    assert_eq!(counts["/acme/directory"], 1, "{counts}");
    assert_eq!(sb.sandbox.request_count("/api/v1/auth/login"), 2);
    assert_eq!(sb.sandbox.request_count("/acme/new-order"), 0);

    let reset = sb
        .http
        .delete(sb.url("/sandbox/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    assert!(sb.sandbox.requests().is_empty());
}

#[tokio::test]
async fn delay_route_holds_only_that_route() {
    let dir = tempfile::tempdir().unwrap();
    let sb = start(dir.path()).await;
    sb.set_faults(json!({"delayMs": 600_000, "delayRoute": "/api/v1/auth/login"}))
        .await;
    let held = {
        let (http, url) = (sb.http.clone(), sb.url("/api/v1/auth/login"));
        tokio::spawn(async move {
            http.post(url)
                .json(&json!({"userId": "alice", "password": "wonderland"}))
                .send()
                .await
        })
    };
    // Wait for the login to arrive (it is counted before it is held).
    while sb.sandbox.request_count("/api/v1/auth/login") == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // Another route answers while the login is still held.
    let directory = sb.http.get(sb.url("/acme/directory")).send().await.unwrap();
    assert_eq!(directory.status(), 200);
    assert!(!held.is_finished());
    held.abort();
}

#[tokio::test]
async fn malformed_json_route_cuts_only_that_route() {
    let dir = tempfile::tempdir().unwrap();
    let sb = start(dir.path()).await;
    sb.set_faults(json!({"malformedJsonNext": 1, "malformedJsonRoute": "/api/v1/auth/login"}))
        .await;
    // Other routes answer whole and leave the switch armed.
    let acme = Acme::new(&sb).await;
    assert!(acme.directory["newNonce"].is_string());
    assert_eq!(sb.sandbox.faults().malformed_json_next, 1);
    let cut = sb
        .http
        .post(sb.url("/api/v1/auth/login"))
        .json(&json!({"userId": "alice", "password": "wonderland"}))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(serde_json::from_slice::<Value>(&cut).is_err());
    assert_eq!(sb.sandbox.faults().malformed_json_next, 0);
    sb.login("alice", "wonderland").await;
}

#[tokio::test]
async fn wrong_tn_auth_list_next_issues_for_another_spc_once() {
    let dir = tempfile::tempdir().unwrap();
    let sb = start(dir.path()).await;
    sb.set_faults(json!({"wrongTnAuthListNext": 1})).await;
    let (_, misissued) = issue(&sb).await;
    assert_eq!(leaf_spc(&misissued), "9999");
    assert_eq!(sb.sandbox.faults().wrong_tn_auth_list_next, 0);
    let (_, issued) = issue(&sb).await;
    assert_eq!(leaf_spc(&issued), "1234");
}

/// The SPC of the first certificate of a PEM chain.
fn leaf_spc(chain_pem: &str) -> String {
    let (_, pem) = x509_parser::pem::parse_x509_pem(chain_pem.as_bytes()).unwrap();
    let cert = pem.parse_x509().unwrap();
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.26")
        .unwrap();
    let list = pki::TnAuthList::from_der(ext.value).unwrap();
    list.spc().unwrap().as_str().to_owned()
}
