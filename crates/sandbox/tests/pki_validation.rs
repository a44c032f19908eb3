//! The sandbox's output accepted by our own validators, as a verifier would use it: the CA
//! list verifies under the PA signer chained to the sandbox PA root, issued chains validate
//! against the listed CA, and the indirect CRL verifies and revokes.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

mod common;

use common::{issue, start};
use pki::{CertificateChain, ChainError, TrustAnchors, UnverifiedCaList, UnverifiedCrl};
use rustls_pki_types::UnixTime;
use serde_json::{Value, json};

#[tokio::test]
async fn ca_list_chain_and_crl_validate_with_the_pki_crate() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(dir.path()).await;
    let now = UnixTime::now();
    let pa_roots = TrustAnchors::from_pem(sandbox.sandbox.pa_root_pem().as_bytes()).unwrap();

    // CA list: JWS signed by the PA signer, which chains to the PA root.
    let access = sandbox.login("alice", "wonderland").await;
    let body: Value = sandbox
        .http
        .get(sandbox.url("/api/v1/ca-list"))
        .header("Authorization", &access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = UnverifiedCaList::parse(body["caList"].as_str().unwrap()).unwrap();
    let signer_pem = sandbox
        .http
        .get(list.x5u())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let signer_key = CertificateChain::from_pem(&signer_pem)
        .unwrap()
        .verify_signer(&pa_roots, now)
        .unwrap();
    let list = list.verify(&signer_key, now).unwrap();
    let mut anchors = TrustAnchors::new();
    for cert in list.certificates() {
        anchors.add_der(cert.as_ref()).unwrap();
    }

    // An issued chain validates against the listed CA, with the current CRL.
    let (mut acme, chain_pem) = issue(&sandbox).await;
    let crl = |sandbox: &common::Running| {
        let url = sandbox.url("/download/v1/crl");
        let http = sandbox.http.clone();
        async move { http.get(url).send().await.unwrap().bytes().await.unwrap() }
    };
    let crl_signer = sandbox.sandbox.crl_signer_pem();
    let revocation = UnverifiedCrl::from_bytes(&crl(&sandbox).await)
        .unwrap()
        .verify(crl_signer.as_bytes(), &pa_roots, now)
        .unwrap();
    let chain = CertificateChain::from_pem(chain_pem.as_bytes()).unwrap();
    let verified = chain.verify(&anchors, now, Some(&revocation)).unwrap();
    assert_eq!(verified.spc().as_str(), "1234");
    assert!(verified.warnings().is_empty(), "{:?}", verified.warnings());

    // Revoked through ACME, the next CRL revokes it.
    let leaf = &chain.certificates()[0];
    use base64::Engine as _;
    let payload = json!({
        "certificate": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(leaf.as_ref())
    });
    let revoke = acme.post(&acme.dir("revokeCert"), Some(&payload)).await;
    assert_eq!(revoke.status, 200);
    let revocation = UnverifiedCrl::from_bytes(&crl(&sandbox).await)
        .unwrap()
        .verify(crl_signer.as_bytes(), &pa_roots, now)
        .unwrap();
    let err = chain.verify(&anchors, now, Some(&revocation)).unwrap_err();
    assert!(
        matches!(err, ChainError::Revoked { depth: 0, .. }),
        "{err:?}"
    );
}
