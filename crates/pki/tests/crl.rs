//! The STI-PA indirect CRL: signature and signer trust, the certificateIssuer inheritance rule,
//! (issuer, serial) matching, and its use in chain validation.
#![allow(clippy::unwrap_used, missing_docs)]

use std::str::FromStr;
use std::time::Duration;

use der::Encode;
use passport::UnixTime;
use pki::{CertificateChain, ChainError, CrlError, RevocationList, TrustAnchors, UnverifiedCrl};
use stirling_test::rcgen::KeyUsagePurpose;
use stirling_test::{CertOptions, CrlEntry, IndirectCrl, TEST_TIME, TestCert, TestPki, crl_pem};

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

struct StiPa {
    root: TestCert,
    signer: TestCert,
}

impl StiPa {
    fn new() -> Self {
        let root = TestCert::self_signed(&CertOptions::root("STI-PA Root Certificate"));
        let signer = root.issue(&CertOptions::crl_signer("STI-PA CRL"));
        Self { root, signer }
    }

    fn anchors(&self) -> TrustAnchors {
        TrustAnchors::from_pem(self.root.pem().as_bytes()).unwrap()
    }

    fn verify(&self, crl_der: &[u8]) -> Result<RevocationList, CrlError> {
        UnverifiedCrl::from_bytes(crl_der)?.verify(
            self.signer.pem().as_bytes(),
            &self.anchors(),
            at(TEST_TIME),
        )
    }
}

fn verify_chain(pki: &TestPki, crl: &RevocationList) -> Result<(), ChainError> {
    let anchors = TrustAnchors::from_pem(pki.root.pem().as_bytes()).unwrap();
    CertificateChain::from_pem(pki.chain_pem().as_bytes())
        .unwrap()
        .verify(&anchors, at(TEST_TIME), Some(crl))
        .map(|_| ())
}

#[test]
fn revoked_leaf() {
    let sti_pa = StiPa::new();
    let pki = TestPki::new();
    let crl = sti_pa
        .verify(&IndirectCrl::new(vec![CrlEntry::for_cert(&pki.leaf)]).sign(&sti_pa.signer))
        .unwrap();
    assert_eq!(crl.len(), 1);
    assert_eq!(
        verify_chain(&pki, &crl).unwrap_err(),
        ChainError::Revoked {
            depth: 0,
            serial: "3000".into(),
            revoked_at: at(TEST_TIME - 86_400)
        }
    );
}

#[test]
fn revoked_intermediate() {
    let sti_pa = StiPa::new();
    let pki = TestPki::new();
    let crl = sti_pa
        .verify(&IndirectCrl::new(vec![CrlEntry::for_cert(&pki.intermediate)]).sign(&sti_pa.signer))
        .unwrap();
    assert_eq!(
        verify_chain(&pki, &crl).unwrap_err(),
        ChainError::Revoked {
            depth: 1,
            serial: "2000".into(),
            revoked_at: at(TEST_TIME - 86_400)
        }
    );
}

#[test]
fn same_serial_of_another_issuer_does_not_revoke() {
    let sti_pa = StiPa::new();
    let pki = TestPki::new();
    let other = TestPki::with(
        &CertOptions::root("Other SHAKEN Root"),
        &CertOptions::ca("Other SHAKEN Issuing CA"),
        &CertOptions::leaf("9999"),
    );
    // Same serial (0x3000) as our leaf, but issued by another CA.
    let crl = sti_pa
        .verify(&IndirectCrl::new(vec![CrlEntry::for_cert(&other.leaf)]).sign(&sti_pa.signer))
        .unwrap();
    assert_eq!(crl.len(), 1);
    verify_chain(&pki, &crl).unwrap();
    assert!(matches!(
        verify_chain(&other, &crl),
        Err(ChainError::Revoked { depth: 0, .. })
    ));
}

#[test]
fn entries_without_certificate_issuer_inherit_the_previous_one() {
    let sti_pa = StiPa::new();
    let pki = TestPki::new();
    let other = TestPki::with(
        &CertOptions::root("Other SHAKEN Root"),
        &CertOptions::ca("Other SHAKEN Issuing CA"),
        &CertOptions::leaf("9999"),
    );
    let ours = Some(pki.intermediate.subject_der());
    let theirs = Some(other.intermediate.subject_der());

    // First entry without certificateIssuer: it belongs to the CRL issuer (STI-PA CRL).
    let crl = sti_pa
        .verify(&IndirectCrl::new(vec![CrlEntry::new(None, 0x3000)]).sign(&sti_pa.signer))
        .unwrap();
    verify_chain(&pki, &crl).unwrap();
    let signer_subject = sti_pa.signer.subject_der();
    assert!(
        crl.revocation_time(&signer_subject, &[0x30, 0x00])
            .is_some()
    );

    // [ours #5, (inherits ours) #0x3000] revokes our leaf.
    let crl = sti_pa
        .verify(
            &IndirectCrl::new(vec![
                CrlEntry::new(ours.clone(), 5),
                CrlEntry::new(None, 0x3000),
            ])
            .sign(&sti_pa.signer),
        )
        .unwrap();
    assert!(matches!(
        verify_chain(&pki, &crl),
        Err(ChainError::Revoked { depth: 0, .. })
    ));

    // [ours #5, theirs #1, (inherits theirs) #0x3000] does not.
    let crl = sti_pa
        .verify(
            &IndirectCrl::new(vec![
                CrlEntry::new(ours, 5),
                CrlEntry::new(theirs, 1),
                CrlEntry::new(None, 0x3000),
            ])
            .sign(&sti_pa.signer),
        )
        .unwrap();
    assert_eq!(crl.len(), 3);
    verify_chain(&pki, &crl).unwrap();
}

#[test]
fn certificate_issuer_is_compared_as_a_name_not_as_bytes() {
    let sti_pa = StiPa::new();
    let pki = TestPki::new();
    // rcgen wrote C=US, O=Stirling Test, CN=Stirling Test SHAKEN Issuing CA. Re-encode with other
    // case and string types (x509-cert writes RFC 4514 strings in reverse order).
    let name =
        x509_cert::name::Name::from_str("CN=STIRLING TEST shaken  issuing ca,O=stirling test,C=us")
            .unwrap()
            .to_der()
            .unwrap();
    assert_ne!(name, pki.intermediate.subject_der());
    let crl = sti_pa
        .verify(&IndirectCrl::new(vec![CrlEntry::new(Some(name), 0x3000)]).sign(&sti_pa.signer))
        .unwrap();
    assert!(matches!(
        verify_chain(&pki, &crl),
        Err(ChainError::Revoked { depth: 0, .. })
    ));
}

#[test]
fn crl_signed_by_a_signer_outside_the_sti_pa_pki_is_rejected() {
    let sti_pa = StiPa::new();
    let rogue = StiPa::new(); // same names, other keys
    let crl = IndirectCrl::new(vec![]).sign(&rogue.signer);
    let err = UnverifiedCrl::from_bytes(&crl)
        .unwrap()
        .verify(
            rogue.signer.pem().as_bytes(),
            &sti_pa.anchors(),
            at(TEST_TIME),
        )
        .unwrap_err();
    assert_eq!(
        err,
        CrlError::Signer(ChainError::KeyIdMismatch { depth: 0 })
    );

    let stranger = TestCert::self_signed(&CertOptions::root("Somebody Else"))
        .issue(&CertOptions::crl_signer("STI-PA CRL"));
    let err = UnverifiedCrl::from_bytes(&IndirectCrl::new(vec![]).sign(&stranger))
        .unwrap()
        .verify(stranger.pem().as_bytes(), &sti_pa.anchors(), at(TEST_TIME))
        .unwrap_err();
    assert_eq!(
        err,
        CrlError::Signer(ChainError::UnknownIssuer {
            depth: 0,
            issuer: "C=US, O=Stirling Test, CN=Somebody Else".into()
        })
    );
}

#[test]
fn crl_signed_with_an_untrusted_key_is_rejected() {
    let sti_pa = StiPa::new();
    let rogue = StiPa::new();
    // Names the trusted signer, signed with another key, presented with the trusted signer.
    let crl = IndirectCrl::new(vec![]).sign_with(&sti_pa.signer, &rogue.signer);
    assert_eq!(sti_pa.verify(&crl).unwrap_err(), CrlError::BadSignature);
}

#[test]
fn crl_issuer_must_be_the_signer() {
    let sti_pa = StiPa::new();
    let crl = IndirectCrl {
        issuer: Some(sti_pa.root.subject_der()),
        ..IndirectCrl::new(vec![])
    }
    .sign(&sti_pa.signer);
    assert!(matches!(
        sti_pa.verify(&crl),
        Err(CrlError::IssuerMismatch { .. })
    ));
}

#[test]
fn signer_without_crl_sign_or_expired_is_rejected() {
    let sti_pa = StiPa::new();
    let anchors = sti_pa.anchors();
    let no_crl_sign = sti_pa.root.issue(&CertOptions {
        key_usages: vec![KeyUsagePurpose::DigitalSignature],
        ..CertOptions::crl_signer("STI-PA CRL")
    });
    let crl = IndirectCrl::new(vec![]).sign(&no_crl_sign);
    assert_eq!(
        UnverifiedCrl::from_bytes(&crl)
            .unwrap()
            .verify(no_crl_sign.pem().as_bytes(), &anchors, at(TEST_TIME))
            .unwrap_err(),
        CrlError::SignerKeyUsage
    );

    let expired = sti_pa.root.issue(&CertOptions {
        not_after: TEST_TIME - 10,
        ..CertOptions::crl_signer("STI-PA CRL")
    });
    let crl = IndirectCrl::new(vec![]).sign(&expired);
    assert_eq!(
        UnverifiedCrl::from_bytes(&crl)
            .unwrap()
            .verify(expired.pem().as_bytes(), &anchors, at(TEST_TIME))
            .unwrap_err(),
        CrlError::Signer(ChainError::Expired {
            depth: 0,
            time: at(TEST_TIME),
            not_after: at(TEST_TIME - 10)
        })
    );
}

#[test]
fn root_may_sign_directly() {
    let sti_pa = StiPa::new();
    let crl = IndirectCrl::new(vec![]).sign(&sti_pa.root);
    let list = UnverifiedCrl::from_bytes(&crl)
        .unwrap()
        .verify(
            sti_pa.root.pem().as_bytes(),
            &sti_pa.anchors(),
            at(TEST_TIME),
        )
        .unwrap();
    assert!(list.is_empty());
}

#[test]
fn pem_body_and_exposed_fields() {
    let sti_pa = StiPa::new();
    let pki = TestPki::new();
    let der = IndirectCrl::new(vec![CrlEntry::for_cert(&pki.leaf)]).sign(&sti_pa.signer);
    let from_pem = sti_pa.verify(crl_pem(&der).as_bytes()).unwrap();
    assert_eq!(from_pem.this_update(), at(TEST_TIME - 86_400));
    assert_eq!(from_pem.next_update(), Some(at(TEST_TIME + 86_400)));
    assert_eq!(
        from_pem.distribution_point(),
        Some("https://authenticate-api.iconectiv.com/download/v1/crl")
    );
    assert!(from_pem.is_indirect());
    assert!(matches!(
        verify_chain(&pki, &from_pem),
        Err(ChainError::Revoked { depth: 0, .. })
    ));
}

#[test]
fn altered_crl_bytes() {
    let sti_pa = StiPa::new();
    let pki = TestPki::new();
    let der = IndirectCrl::new(vec![CrlEntry::for_cert(&pki.leaf)]).sign(&sti_pa.signer);
    // Flip a bit in the last byte (inside the signature).
    let mut bad = der.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(sti_pa.verify(&bad).unwrap_err(), CrlError::BadSignature);
    assert!(matches!(
        sti_pa.verify(&der[..der.len() - 1]),
        Err(CrlError::Malformed(_))
    ));
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(matches!(
        sti_pa.verify(&trailing),
        Err(CrlError::Malformed(_))
    ));
    assert!(matches!(
        UnverifiedCrl::from_bytes(b"hello"),
        Err(CrlError::Malformed(_))
    ));
}
