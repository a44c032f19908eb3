//! The committed indirect-CRL vectors of `tests/data/crl/` (see its README).
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use passport::UnixTime;
use pki::{CertificateChain, ChainError, CrlError, RevocationList, TrustAnchors, UnverifiedCrl};

/// 2025-06-01T00:00:00Z.
const TIME: u64 = 1_748_736_000;

macro_rules! data {
    ($f:literal) => {
        include_bytes!(concat!("data/crl/", $f))
    };
}

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

fn load(crl: &[u8]) -> Result<RevocationList, CrlError> {
    let sti_pa = TrustAnchors::from_pem(data!("sti_pa_root.pem")).unwrap();
    UnverifiedCrl::from_bytes(crl)?.verify(data!("sti_pa_crl_signer.pem"), &sti_pa, at(TIME))
}

fn chain(crl: &RevocationList) -> Result<(), ChainError> {
    let anchors = TrustAnchors::from_pem(data!("ca_root.pem")).unwrap();
    CertificateChain::from_pem(data!("chain.pem"))
        .unwrap()
        .verify(&anchors, at(TIME), Some(crl))
        .map(|_| ())
}

#[test]
fn revoked_leaf() {
    let crl = load(data!("revoked_leaf.crl")).unwrap();
    assert_eq!(crl.this_update(), at(TIME - 86_400));
    assert_eq!(crl.next_update(), Some(at(TIME + 86_400)));
    assert_eq!(
        chain(&crl).unwrap_err(),
        ChainError::Revoked {
            depth: 0,
            serial: "3000".into(),
            revoked_at: at(TIME - 86_400)
        }
    );
}

#[test]
fn revoked_intermediate_pem() {
    let crl = load(data!("revoked_intermediate.crl.pem")).unwrap();
    assert_eq!(
        chain(&crl).unwrap_err(),
        ChainError::Revoked {
            depth: 1,
            serial: "2000".into(),
            revoked_at: at(TIME - 86_400)
        }
    );
}

#[test]
fn same_serial_other_issuer_does_not_revoke() {
    let crl = load(data!("other_issuer_same_serial.crl")).unwrap();
    assert_eq!(crl.len(), 1);
    chain(&crl).unwrap();
}

#[test]
fn inherited_issuer_revokes() {
    let crl = load(data!("inherited_issuer.crl")).unwrap();
    assert_eq!(crl.len(), 2);
    assert!(matches!(
        chain(&crl),
        Err(ChainError::Revoked { depth: 0, .. })
    ));
}

#[test]
fn untrusted_signer_is_rejected() {
    assert_eq!(
        load(data!("untrusted_signer.crl")).unwrap_err(),
        CrlError::BadSignature
    );
    let sti_pa = TrustAnchors::from_pem(data!("sti_pa_root.pem")).unwrap();
    let err = UnverifiedCrl::from_bytes(data!("untrusted_signer.crl"))
        .unwrap()
        .verify(data!("untrusted_crl_signer.pem"), &sti_pa, at(TIME))
        .unwrap_err();
    assert_eq!(
        err,
        CrlError::Signer(ChainError::KeyIdMismatch { depth: 0 })
    );
}
