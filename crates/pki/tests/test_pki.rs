//! Chains from the shared rcgen test PKI (`stirling-test`), one rule broken at a time, each with
//! the exact failure expected.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use passport::UnixTime;
use pki::{CertificateChain, ChainError, ChainWarning, TrustAnchors, VerifiedChain};
use stirling_test::rcgen::{ExtendedKeyUsagePurpose, KeyUsagePurpose};
use stirling_test::{CertOptions, Curve, TEST_TIME, TestCert, TestPki, tn_auth_list_der};

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

fn verify(pki: &TestPki) -> Result<VerifiedChain, ChainError> {
    verify_at(pki, TEST_TIME)
}

fn verify_at(pki: &TestPki, time: u64) -> Result<VerifiedChain, ChainError> {
    let anchors = TrustAnchors::from_pem(pki.root.pem().as_bytes()).unwrap();
    CertificateChain::from_pem(pki.chain_pem().as_bytes())
        .unwrap()
        .verify(&anchors, at(time), None)
}

fn root() -> CertOptions {
    CertOptions::root("Test SHAKEN Root")
}

fn ca() -> CertOptions {
    CertOptions::ca("Test SHAKEN Issuing CA")
}

fn leaf() -> CertOptions {
    CertOptions::leaf("1234")
}

#[test]
fn good_chain_verifies_without_warnings() {
    let pki = TestPki::new();
    let verified = verify(&pki).unwrap();
    assert_eq!(verified.spc().as_str(), "1234");
    assert_eq!(verified.warnings(), &[]);
    // The exposed key verifies what the leaf's key signs (ES256, fixed-size R‖S).
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let key = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pki.leaf.key().serialized_der(),
    )
    .unwrap();
    let sig = key.sign(&rng, b"header.payload").unwrap();
    verified
        .public_key()
        .verify_sig(b"header.payload", sig.as_ref())
        .unwrap();
    assert!(
        verified
            .public_key()
            .verify_sig(b"header.payloaD", sig.as_ref())
            .is_err()
    );
}

#[test]
fn fingerprint_is_sha256_of_the_path() {
    let pki = TestPki::new();
    let verified = verify(&pki).unwrap();
    let all = [pki.leaf.der(), pki.intermediate.der(), pki.root.der()].concat();
    let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &all);
    assert_eq!(&verified.fingerprint()[..], expected.as_ref());
}

#[test]
fn critical_tn_auth_list_is_a_warning_not_a_failure() {
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            tn_auth_list_critical: true,
            ..leaf()
        },
    );
    let verified = verify(&pki).unwrap();
    assert_eq!(verified.spc().as_str(), "1234");
    assert_eq!(verified.warnings(), &[ChainWarning::TnAuthListCritical]);
}

#[test]
fn p384_root_and_intermediate_are_accepted() {
    let pki = TestPki::with(
        &CertOptions {
            curve: Curve::P384,
            ..root()
        },
        &CertOptions {
            curve: Curve::P384,
            ..ca()
        },
        &leaf(),
    );
    assert_eq!(verify(&pki).unwrap().spc().as_str(), "1234");
}

#[test]
fn p384_leaf_is_refused() {
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            curve: Curve::P384,
            ..leaf()
        },
    );
    assert_eq!(
        verify(&pki).unwrap_err(),
        ChainError::EndEntityKeyNotP256 {
            found: "EC P-384".into()
        }
    );
}

#[test]
fn leaf_with_server_auth_eku_is_refused() {
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            extended_key_usages: vec![ExtendedKeyUsagePurpose::ServerAuth],
            ..leaf()
        },
    );
    assert_eq!(
        verify(&pki).unwrap_err(),
        ChainError::ExtendedKeyUsageNotAllowed {
            found: vec!["1.3.6.1.5.5.7.3.1".into()]
        }
    );
}

#[test]
fn leaf_with_any_eku_is_accepted() {
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            extended_key_usages: vec![ExtendedKeyUsagePurpose::Any],
            ..leaf()
        },
    );
    assert!(verify(&pki).is_ok());
}

#[test]
fn leaf_without_digital_signature_is_refused() {
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            key_usages: vec![KeyUsagePurpose::KeyEncipherment],
            ..leaf()
        },
    );
    assert_eq!(
        verify(&pki).unwrap_err(),
        ChainError::KeyUsageNoDigitalSignature
    );
}

#[test]
fn leaf_without_key_usage_is_a_warning() {
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            key_usages: vec![],
            ..leaf()
        },
    );
    assert_eq!(
        verify(&pki).unwrap().warnings(),
        &[ChainWarning::KeyUsageMissing { depth: 0 }]
    );
}

#[test]
fn intermediate_without_key_cert_sign_is_refused() {
    let pki = TestPki::with(
        &root(),
        &CertOptions {
            key_usages: vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign],
            ..ca()
        },
        &leaf(),
    );
    assert_eq!(
        verify(&pki).unwrap_err(),
        ChainError::KeyUsageNoCertSign { depth: 1 }
    );
}

#[test]
fn intermediate_that_is_not_a_ca_is_refused() {
    for is_ca in [Some(false), None] {
        let pki = TestPki::with(&root(), &CertOptions { is_ca, ..ca() }, &leaf());
        assert_eq!(
            verify(&pki).unwrap_err(),
            ChainError::NotCa { depth: 1 },
            "{is_ca:?}"
        );
    }
}

#[test]
fn leaf_that_is_a_ca_is_refused() {
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            is_ca: Some(true),
            ..leaf()
        },
    );
    assert_eq!(verify(&pki).unwrap_err(), ChainError::CaUsedAsEndEntity);
}

#[test]
fn path_len_zero_root_cannot_have_an_intermediate() {
    let pki = TestPki::with(
        &CertOptions {
            path_len: Some(0),
            ..root()
        },
        &ca(),
        &leaf(),
    );
    // The anchor's own constraints are not enforced (webpki behaves the same way) ...
    assert!(verify(&pki).is_ok());
    // ... but an intermediate's are.
    let root = TestCert::self_signed(&root());
    let upper = root.issue(&CertOptions {
        path_len: Some(0),
        ..ca()
    });
    let lower = upper.issue(&CertOptions::ca("Test SHAKEN Lower CA"));
    let leaf = lower.issue(&leaf());
    let anchors = TrustAnchors::from_pem(root.pem().as_bytes()).unwrap();
    let body = format!("{}{}{}", leaf.pem(), lower.pem(), upper.pem());
    assert_eq!(
        CertificateChain::from_pem(body.as_bytes())
            .unwrap()
            .verify(&anchors, at(TEST_TIME), None)
            .unwrap_err(),
        ChainError::PathLenExceeded {
            depth: 2,
            path_len: 0
        }
    );
}

#[test]
fn expired_and_not_yet_valid_leaf() {
    let pki = TestPki::new();
    // Default leaf: 2025-01-01 → 2026-01-01.
    assert_eq!(
        verify_at(&pki, 1_767_225_601).unwrap_err(),
        ChainError::Expired {
            depth: 0,
            time: at(1_767_225_601),
            not_after: at(1_767_225_600)
        }
    );
    assert_eq!(
        verify_at(&pki, 1_735_689_599).unwrap_err(),
        ChainError::NotYetValid {
            depth: 0,
            time: at(1_735_689_599),
            not_before: at(1_735_689_600)
        }
    );
}

#[test]
fn expired_intermediate() {
    let pki = TestPki::with(
        &root(),
        &CertOptions {
            not_after: TEST_TIME - 1,
            ..ca()
        },
        &leaf(),
    );
    assert_eq!(
        verify(&pki).unwrap_err(),
        ChainError::Expired {
            depth: 1,
            time: at(TEST_TIME),
            not_after: at(TEST_TIME - 1)
        }
    );
}

#[test]
fn missing_tn_auth_list() {
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            tn_auth_list: None,
            ..leaf()
        },
    );
    assert_eq!(verify(&pki).unwrap_err(), ChainError::MissingTnAuthList);
}

#[test]
fn tn_auth_list_without_spc_or_malformed() {
    // SEQUENCE { [2] EXPLICIT IA5String "12025550100" }
    let mut one = vec![0x30, 0x0F, 0xA2, 0x0D, 0x16, 0x0B];
    one.extend_from_slice(b"12025550100");
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            tn_auth_list: Some(one),
            ..leaf()
        },
    );
    assert_eq!(verify(&pki).unwrap_err(), ChainError::TnAuthListWithoutSpc);

    // libstirshaken's pre-standard bare IA5String.
    let bare = b"\x16\x041234".to_vec();
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            tn_auth_list: Some(bare),
            ..leaf()
        },
    );
    assert!(matches!(
        verify(&pki).unwrap_err(),
        ChainError::MalformedTnAuthList { .. }
    ));

    let ok = tn_auth_list_der("709J");
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            tn_auth_list: Some(ok),
            ..leaf()
        },
    );
    assert_eq!(verify(&pki).unwrap().spc().as_str(), "709J");
}

#[test]
fn issuer_signed_by_another_key_is_a_bad_signature() {
    let pki = TestPki::new();
    // Same names, fresh keys: the leaf's issuer name matches but its signature does not.
    let other = TestPki::new();
    let anchors = TrustAnchors::from_pem(pki.root.pem().as_bytes()).unwrap();
    let body = format!("{}{}", other.leaf.pem(), pki.intermediate.pem());
    let err = CertificateChain::from_pem(body.as_bytes())
        .unwrap()
        .verify(&anchors, at(TEST_TIME), None)
        .unwrap_err();
    // AKI names the other intermediate's key, so the candidate is ruled out by key id.
    assert_eq!(err, ChainError::KeyIdMismatch { depth: 0 });

    let pki_no_aki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            authority_key_id: false,
            ..leaf()
        },
    );
    let other_no_aki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            authority_key_id: false,
            ..leaf()
        },
    );
    let anchors = TrustAnchors::from_pem(pki_no_aki.root.pem().as_bytes()).unwrap();
    let body = format!(
        "{}{}",
        other_no_aki.leaf.pem(),
        pki_no_aki.intermediate.pem()
    );
    assert_eq!(
        CertificateChain::from_pem(body.as_bytes())
            .unwrap()
            .verify(&anchors, at(TEST_TIME), None)
            .unwrap_err(),
        ChainError::BadSignature { depth: 0 }
    );
}

#[test]
fn most_specific_error_wins_over_unknown_issuer() {
    // Two candidate intermediates with the right name: one expired, one with a wrong key.
    let pki = TestPki::new();
    let expired = pki.root.issue(&CertOptions {
        common_name: "Stirling Test SHAKEN Issuing CA".into(),
        not_after: TEST_TIME - 1,
        ..ca()
    });
    let leaf = expired.issue(&CertOptions {
        authority_key_id: false,
        ..leaf()
    });
    let anchors = TrustAnchors::from_pem(pki.root.pem().as_bytes()).unwrap();
    let body = format!("{}{}{}", leaf.pem(), pki.intermediate.pem(), expired.pem());
    assert_eq!(
        CertificateChain::from_pem(body.as_bytes())
            .unwrap()
            .verify(&anchors, at(TEST_TIME), None)
            .unwrap_err(),
        ChainError::Expired {
            depth: 1,
            time: at(TEST_TIME),
            not_after: at(TEST_TIME - 1)
        }
    );
}

#[test]
fn budget_limits() {
    let pki = TestPki::new();
    let mut body = pki.leaf.pem();
    for _ in 0..pki::MAX_CHAIN_CERTIFICATES {
        body.push_str(&pki.intermediate.pem());
    }
    assert_eq!(
        CertificateChain::from_pem(body.as_bytes()).unwrap_err(),
        ChainError::TooManyCertificates {
            max: pki::MAX_CHAIN_CERTIFICATES
        }
    );

    // A chain deeper than MAX_PATH_INTERMEDIATES.
    let root = TestCert::self_signed(&root());
    let mut issuers = vec![root.issue(&CertOptions::ca("Level 1"))];
    for level in 2..=pki::MAX_PATH_INTERMEDIATES + 1 {
        let next = issuers[issuers.len() - 1].issue(&CertOptions::ca(&format!("Level {level}")));
        issuers.push(next);
    }
    let leaf = issuers[issuers.len() - 1].issue(&leaf());
    let anchors = TrustAnchors::from_pem(root.pem().as_bytes()).unwrap();
    let mut body = leaf.pem();
    for ca in issuers.iter().rev() {
        body.push_str(&ca.pem());
    }
    assert_eq!(
        CertificateChain::from_pem(body.as_bytes())
            .unwrap()
            .verify(&anchors, at(TEST_TIME), None)
            .unwrap_err(),
        ChainError::PathTooLong {
            max: pki::MAX_PATH_INTERMEDIATES
        }
    );
}

#[test]
fn der_body_and_pem_body_agree() {
    let pki = TestPki::new();
    let anchors = TrustAnchors::from_pem(pki.root.der()).unwrap();
    let der_body = [pki.leaf.der(), pki.intermediate.der()].concat();
    let a = CertificateChain::from_pem(&der_body).unwrap();
    let b = CertificateChain::from_pem(pki.chain_pem().as_bytes()).unwrap();
    assert_eq!(a, b);
    assert!(a.verify(&anchors, at(TEST_TIME), None).is_ok());
}

#[test]
fn malformed_and_empty_anchor_bodies_are_refused() {
    assert!(matches!(
        TrustAnchors::from_pem(&[0x30, 0x03, 0x02, 0x01, 0x01]),
        Err(pki::TrustAnchorError::Malformed { index: 0, .. })
    ));
    assert_eq!(
        TrustAnchors::from_pem(b"").unwrap_err(),
        pki::TrustAnchorError::Empty
    );
}

#[test]
fn unknown_critical_extension_is_refused() {
    let private_oid = vec![1, 3, 6, 1, 4, 1, 99999, 1];
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            extra_extensions: vec![(private_oid.clone(), vec![0x05, 0x00], true)],
            ..leaf()
        },
    );
    assert_eq!(
        verify(&pki).unwrap_err(),
        ChainError::UnsupportedCriticalExtension {
            depth: 0,
            oid: "1.3.6.1.4.1.99999.1".into()
        }
    );
    // The same extension, not critical, is ignored.
    let pki = TestPki::with(
        &root(),
        &ca(),
        &CertOptions {
            extra_extensions: vec![(private_oid, vec![0x05, 0x00], false)],
            ..leaf()
        },
    );
    assert!(verify(&pki).is_ok());
}

#[test]
fn root_in_the_body_is_tolerated() {
    let pki = TestPki::new();
    let anchors = TrustAnchors::from_pem(pki.root.pem().as_bytes()).unwrap();
    let body = format!("{}{}", pki.chain_pem(), pki.root.pem());
    let verified = CertificateChain::from_pem(body.as_bytes())
        .unwrap()
        .verify(&anchors, at(TEST_TIME), None)
        .unwrap();
    assert_eq!(
        verified.warnings(),
        &[ChainWarning::UnusedCertificates { count: 1 }]
    );
}

#[test]
fn intermediate_not_yet_valid() {
    let pki = TestPki::with(
        &root(),
        &CertOptions {
            not_before: TEST_TIME + 1,
            ..ca()
        },
        &leaf(),
    );
    assert_eq!(
        verify(&pki).unwrap_err(),
        ChainError::NotYetValid {
            depth: 1,
            time: at(TEST_TIME),
            not_before: at(TEST_TIME + 1)
        }
    );
}

#[test]
fn signature_budget_stops_a_path_explosion() {
    use stirling_test::rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SerialNumber,
    };
    // Seven CA certificates with the same name and the same key, each signing the others: every
    // ordering is a candidate path, and none reaches the anchor.
    let key = KeyPair::generate().unwrap();
    let ca_params = |serial: u8| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, "Loop CA");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        p.serial_number = Some(SerialNumber::from_slice(&[serial]));
        p.not_before = stirling_test::rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = stirling_test::rcgen::date_time_ymd(2040, 1, 1);
        p
    };
    let cas: Vec<String> = (1..=7u8)
        .map(|s| ca_params(s).self_signed(&key).unwrap().pem())
        .collect();
    let mut leaf_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "SHAKEN 1234");
    leaf_params.custom_extensions = vec![stirling_test::rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 26],
        tn_auth_list_der("1234"),
    )];
    leaf_params.not_before = stirling_test::rcgen::date_time_ymd(2025, 1, 1);
    leaf_params.not_after = stirling_test::rcgen::date_time_ymd(2026, 1, 1);
    let leaf_key = KeyPair::generate().unwrap();
    let issuer_params = ca_params(1);
    let leaf = leaf_params
        .signed_by(&leaf_key, &Issuer::from_params(&issuer_params, &key))
        .unwrap();

    let unrelated = TestCert::self_signed(&root());
    let anchors = TrustAnchors::from_pem(unrelated.pem().as_bytes()).unwrap();
    let body = format!("{}{}", leaf.pem(), cas.concat());
    assert_eq!(
        CertificateChain::from_pem(body.as_bytes())
            .unwrap()
            .verify(&anchors, at(TEST_TIME), None)
            .unwrap_err(),
        ChainError::SignatureBudgetExceeded {
            max: pki::MAX_SIGNATURE_CHECKS
        }
    );
}
