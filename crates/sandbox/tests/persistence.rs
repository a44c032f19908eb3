#![allow(clippy::panic, clippy::unwrap_used)]
//! State survives a restart: same PKI, same users, same ACME accounts and orders.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Acme, start};
use rustls_pki_types::pem::PemObject as _;

#[tokio::test]
async fn restart_keeps_pki_users_and_acme_objects() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path()).await;
    let roots = (
        first.sandbox.pa_root_pem(),
        first.sandbox.pa_signer_pem(),
        first.sandbox.crl_signer_pem(),
        first.sandbox.ca_root_pem(),
        first.sandbox.ca_intermediate_pem(),
    );
    let mut acme = Acme::new(&first).await;
    acme.register().await;
    let kid = acme.kid.clone().unwrap();
    let (order_url, _) = acme.order("MAigBhYEMTIzNA==").await;
    let order_path = order_url.trim_start_matches(&first.base).to_owned();
    let kid_path = kid.trim_start_matches(&first.base).to_owned();
    drop(first);

    // A different port, the same directory.
    let second = start(dir.path()).await;
    assert_eq!(
        roots,
        (
            second.sandbox.pa_root_pem(),
            second.sandbox.pa_signer_pem(),
            second.sandbox.crl_signer_pem(),
            second.sandbox.ca_root_pem(),
            second.sandbox.ca_intermediate_pem(),
        )
    );
    // The PA users are still there.
    second.login("alice", "wonderland").await;
    // The account and its order still exist (nonces do not survive: use a fresh one).
    let mut acme2 = Acme::new(&second).await;
    acme2.key = acme.key;
    acme2.kid = Some(second.url(&kid_path));
    let order = acme2.post(&second.url(&order_path), None).await;
    assert_eq!(
        order.status,
        200,
        "{}",
        String::from_utf8_lossy(&order.body)
    );
    assert_eq!(order.json()["status"], "pending");
    let stale = acme2.sign(&second.url(&order_path), "nonce-from-before", None);
    assert_eq!(
        acme2
            .send(&second.url(&order_path), &stale)
            .await
            .problem_type(),
        "urn:ietf:params:acme:error:badNonce"
    );
    // Identifiers continue rather than repeat: a new order gets a new id.
    let (new_order, _) = acme2.order("MAigBhYEMTIzNA==").await;
    assert_ne!(new_order.trim_start_matches(&second.base), order_path);
}

#[tokio::test]
async fn same_seed_replays_identifiers_in_a_fresh_state() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    for dir in [a.path(), b.path()] {
        let running = start(dir).await;
        let mut acme = Acme::new(&running).await;
        acme.register().await;
        ids.push(
            acme.kid
                .unwrap()
                .trim_start_matches(&running.base)
                .to_owned(),
        );
    }
    assert_eq!(ids[0], ids[1]);
}

#[test]
fn a_corrupt_pki_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = sandbox::SandboxConfig::new("http://127.0.0.1:1");
    sandbox::Sandbox::open(dir.path(), config.clone(), &sandbox::Seed::demo()).unwrap();
    let path = dir.path().join("pki.json");
    let mut pki: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    // Swap the PA signer for the CA intermediate: the chain check must notice.
    pki["pa_signer"] = pki["ca_intermediate"].clone();
    std::fs::write(&path, pki.to_string()).unwrap();
    let err = sandbox::Sandbox::open(dir.path(), config, &sandbox::Seed::demo())
        .err()
        .unwrap();
    assert!(matches!(err, sandbox::OpenError::Pki(_)), "{err}");
}

#[tokio::test]
async fn revocations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path()).await;
    let (mut acme, pem) = common::issue(&first).await;
    let leaf = rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    let payload = serde_json::json!({"certificate": URL_SAFE_NO_PAD.encode(&leaf)});
    let revoke = acme.post(&acme.dir("revokeCert"), Some(&payload)).await;
    assert_eq!(revoke.status, 200);
    drop(first);

    let second = start(dir.path()).await;
    let crl = second
        .http
        .get(second.url("/download/v1/crl"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let (_, crl) = x509_parser::parse_x509_crl(&crl).unwrap();
    let (_, leaf) = x509_parser::parse_x509_certificate(&leaf).unwrap();
    let serials: Vec<&[u8]> = crl
        .iter_revoked_certificates()
        .map(|r| r.raw_serial())
        .collect();
    assert_eq!(serials, [leaf.raw_serial()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_all_reach_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path()).await;
    let handles: Vec<_> = (0..12)
        .map(|_| {
            let http = first.http.clone();
            let url = first.url("/api/v1/auth/login");
            tokio::spawn(async move {
                let body: serde_json::Value = http
                    .post(url)
                    .json(&serde_json::json!({"userId": "alice", "password": "wonderland"}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                body["accessToken"].as_str().unwrap().to_owned()
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for handle in handles {
        tokens.push(handle.await.unwrap());
    }
    drop(first);

    let second = start(dir.path()).await;
    for token in tokens {
        let response = second
            .http
            .get(second.url("/api/v1/ca-list"))
            .header("Authorization", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "session {token} was lost");
    }
}
