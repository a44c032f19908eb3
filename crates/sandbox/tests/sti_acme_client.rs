//! Our ACME client (`sti::AcmeClient`) against our sandbox STI-CA, with SPC tokens from the
//! sandbox STI-PA: a fresh token per challenge attempt, the issued chain's TNAuthList checked.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

mod common;

use common::{atc, start};
use passport::SigningKey;
use pki::{CsrParams, TnAuthList};
use sti::{
    AcmeClient, AcmeConfig, DangerousAcmeConfig, FingerprintInput, NewAccount, OrderRequest,
};

#[tokio::test]
async fn our_acme_client_gets_a_certificate_from_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(dir.path()).await;
    let config = AcmeConfig {
        danger: DangerousAcmeConfig { allow_http: true },
        ..AcmeConfig::new(sandbox.url("/acme/directory"))
    };
    let client = AcmeClient::connect(config).await.unwrap();
    let account = client
        .new_account(
            SigningKey::generate().unwrap(),
            &NewAccount {
                contact: vec!["mailto:noc@sp.example".into()],
                terms_of_service_agreed: true,
                ..NewAccount::default()
            },
        )
        .await
        .unwrap();
    let list = TnAuthList::from_base64("MAigBhYEMTIzNA==").unwrap();
    let csr = CsrParams::new(list.clone()).sign_with_new_key().unwrap();
    let fingerprint = account.fingerprint(FingerprintInput::SpkiDer).unwrap();
    let tokens = std::sync::atomic::AtomicUsize::new(0);
    let chain = client
        .issue(
            &account,
            &OrderRequest {
                tn_auth_list: list,
                not_before: None,
                not_after: None,
            },
            csr.der(),
            || {
                tokens.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (sandbox, fingerprint) = (&sandbox, fingerprint.clone());
                async move {
                    let access = sandbox.login("alice", "wonderland").await;
                    let (status, body) = sandbox
                        .token_request(&access, "1234", atc("MAigBhYEMTIzNA==", &fingerprint))
                        .await;
                    match (status, body["token"].as_str()) {
                        (200, Some(token)) => Ok(token.to_owned()),
                        _ => Err(std::io::Error::other(format!(
                            "token request {status}: {body}"
                        ))),
                    }
                }
            },
        )
        .await
        .unwrap();
    assert_eq!(tokens.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(chain.der_chain.len(), 2, "leaf and intermediate");
    let report = pki::lint_certificate(chain.der_chain[0].as_ref()).unwrap();
    assert!(!report.has_errors(), "{:?}", report.findings());
}
