//! Validation of an STI-PA signing certificate (`reference/standards.md` §4.3, §4.4): the
//! signer of the CA list and of SPC tokens, named by the JWS `x5u`. It must chain to a pinned
//! STI-PA root, never to the STI-CA anchors of the CA list.

use passport::{UnixTime, VerifyingKey};

use crate::cert::{Cert, describe_key};
use crate::chain::{self, CertificateChain, ChainError};
use crate::trust_anchors::TrustAnchors;

impl CertificateChain {
    /// Validates the chain as an STI-PA JWS signer at `time`: the first certificate must chain
    /// to one of `sti_pa_roots` (validity, signatures, CA constraints, no unknown critical
    /// extension) and hold an EC P-256 key, whose ES256 [`VerifyingKey`] is returned.
    ///
    /// Unlike [`CertificateChain::verify`], no TNAuthList is required: the signer is the
    /// STI-PA itself, not a service provider.
    pub fn verify_signer(
        &self,
        sti_pa_roots: &TrustAnchors,
        time: UnixTime,
    ) -> Result<VerifyingKey, ChainError> {
        let parsed: Vec<Cert<'_>> = self
            .certificates()
            .iter()
            .enumerate()
            .map(|(index, der)| {
                Cert::parse(der.as_ref()).map_err(|e| ChainError::Malformed { index, reason: e.0 })
            })
            .collect::<Result<_, _>>()?;
        let Some((signer, intermediates)) = parsed.split_first() else {
            return Err(ChainError::Malformed {
                index: 0,
                reason: "no certificate found".into(),
            });
        };
        chain::check_crl_signer(signer, intermediates, sti_pa_roots, time)?;
        let spki = signer.x509.public_key();
        VerifyingKey::from_public_key(spki.raw).map_err(|_| ChainError::EndEntityKeyNotP256 {
            found: describe_key(spki),
        })
    }
}

#[cfg(test)]
mod tests {
    use stirling_test::{CertOptions, TEST_TIME, TestCert};

    use super::*;

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs))
    }

    #[test]
    fn signer_issued_by_the_pinned_root_verifies() {
        let root = TestCert::self_signed(&CertOptions::root("STI-PA Root"));
        let signer = root.issue(&CertOptions::crl_signer("STI-PA CA List"));
        let roots = TrustAnchors::from_pem(root.pem().as_bytes()).unwrap();
        let chain = CertificateChain::from_pem(signer.pem().as_bytes()).unwrap();
        assert!(chain.verify_signer(&roots, at(TEST_TIME)).is_ok());
    }

    #[test]
    fn signer_of_another_root_is_refused() {
        let root = TestCert::self_signed(&CertOptions::root("STI-PA Root"));
        let other = TestCert::self_signed(&CertOptions::root("STI-PA Root"));
        let signer = other.issue(&CertOptions::crl_signer("STI-PA CA List"));
        let roots = TrustAnchors::from_pem(root.pem().as_bytes()).unwrap();
        let chain = CertificateChain::from_pem(signer.pem().as_bytes()).unwrap();
        assert!(matches!(
            chain.verify_signer(&roots, at(TEST_TIME)),
            Err(ChainError::KeyIdMismatch { depth: 0 } | ChainError::BadSignature { depth: 0 })
        ));
    }

    #[test]
    fn expired_signer_is_refused() {
        let root = TestCert::self_signed(&CertOptions::root("STI-PA Root"));
        let signer = root.issue(&CertOptions {
            not_after: TEST_TIME - 1,
            ..CertOptions::crl_signer("STI-PA CA List")
        });
        let roots = TrustAnchors::from_pem(root.pem().as_bytes()).unwrap();
        let chain = CertificateChain::from_pem(signer.pem().as_bytes()).unwrap();
        assert!(matches!(
            chain.verify_signer(&roots, at(TEST_TIME)),
            Err(ChainError::Expired { depth: 0, .. })
        ));
    }
}
