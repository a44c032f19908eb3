#![allow(clippy::panic, clippy::unwrap_used)]
//! Interop: a Python client we did not derive from the Rust code (`tests/interop/acme_flow.py`,
//! urllib + `cryptography`) gets an SPC token and a certificate from the sandbox over plain
//! HTTP on loopback, revokes it and checks the indirect CRL. The chain it saves is then linted
//! here.

mod common;

use std::process::Command;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

#[tokio::test]
async fn python_client_gets_a_token_and_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = common::start(&dir.path().join("state")).await;
    let chain = dir.path().join("chain.pem");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/acme_flow.py");
    let base = sandbox.base.clone();
    let chain_arg = chain.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args([&base, "alice", "wonderland", "1234", "5678"])
            .arg(&chain_arg)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("OK serial="), "{stdout}");
    assert!(stdout.contains("CN=SHAKEN 5678"), "{stdout}");
    assert!(stdout.trim_end().ends_with("revoked"), "{stdout}");

    let pem = std::fs::read(&chain).unwrap();
    let certs: Vec<CertificateDer<'_>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(certs.len(), 2);
    let report = pki::lint_certificate(&certs[0]).unwrap();
    assert!(!report.has_errors(), "{:?}", report.findings());
}
