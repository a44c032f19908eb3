//! Why `chain.rs` does its own path checks: rustls-webpki 0.103 (dev-dependency only) refuses
//! a leaf whose TNAuthList is marked critical, which real verifiers must still accept as a
//! profile nit. Both agree on a clean chain.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use passport::UnixTime;
use pki::{CertificateChain, ChainWarning, TrustAnchors};
use rustls_pki_types::CertificateDer;
use stirling_test::{CertOptions, TEST_TIME, TestPki};
use webpki::aws_lc_rs::{
    ECDSA_P256_SHA256, ECDSA_P256_SHA384, ECDSA_P384_SHA256, ECDSA_P384_SHA384,
};

/// anyExtendedKeyUsage (2.5.29.37.0), DER OID content.
const ANY_EKU: &[u8] = &[0x55, 0x1D, 0x25, 0x00];

fn webpki_verify(pki: &TestPki) -> Result<(), webpki::Error> {
    let root = CertificateDer::from(pki.root.der().to_vec());
    let anchors = [webpki::anchor_from_trusted_cert(&root).unwrap()];
    let leaf = CertificateDer::from(pki.leaf.der().to_vec());
    let intermediates = [CertificateDer::from(pki.intermediate.der().to_vec())];
    // A critical unknown extension already fails here, when the leaf is parsed.
    let ee = webpki::EndEntityCert::try_from(&leaf)?;
    ee.verify_for_usage(
        &[
            ECDSA_P256_SHA256,
            ECDSA_P256_SHA384,
            ECDSA_P384_SHA256,
            ECDSA_P384_SHA384,
        ],
        &anchors,
        &intermediates,
        UnixTime::since_unix_epoch(Duration::from_secs(TEST_TIME)),
        webpki::KeyUsage::required_if_present(ANY_EKU),
        None,
        None,
    )
    .map(|_| ())
}

fn ours(pki: &TestPki) -> Vec<ChainWarning> {
    let anchors = TrustAnchors::from_pem(pki.root.pem().as_bytes()).unwrap();
    CertificateChain::from_pem(pki.chain_pem().as_bytes())
        .unwrap()
        .verify(
            &anchors,
            UnixTime::since_unix_epoch(Duration::from_secs(TEST_TIME)),
            None,
        )
        .unwrap()
        .warnings()
        .to_vec()
}

#[test]
fn both_accept_a_clean_chain() {
    let pki = TestPki::new();
    webpki_verify(&pki).unwrap();
    assert_eq!(ours(&pki), vec![]);
}

#[test]
fn webpki_refuses_a_critical_tn_auth_list_we_accept_with_a_warning() {
    let pki = TestPki::with(
        &CertOptions::root("Test SHAKEN Root"),
        &CertOptions::ca("Test SHAKEN Issuing CA"),
        &CertOptions {
            tn_auth_list_critical: true,
            ..CertOptions::leaf("1234")
        },
    );
    assert_eq!(
        webpki_verify(&pki).unwrap_err(),
        webpki::Error::UnsupportedCriticalExtension
    );
    assert_eq!(ours(&pki), vec![ChainWarning::TnAuthListCritical]);
}
