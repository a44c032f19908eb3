//! ES256 JWS primitives (RFC 7515, RFC 7518 §3.4) on aws-lc-rs: the signing key, the
//! verifying key and strict unpadded base64url.

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    ParsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;

use crate::p256::KeyMultiples;

/// Length of an ES256 signature: R‖S, 32 bytes each.
pub(crate) const ES256_SIGNATURE_LEN: usize = 64;

/// The key material given is not a usable P-256 key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No PEM block of the expected kind was found.
    #[error("no {expected} PEM block found")]
    NoPem {
        /// The block kind that was looked for.
        expected: &'static str,
    },
    /// The key does not parse as a P-256 key of the expected kind.
    #[error("not a P-256 {kind}")]
    NotP256 {
        /// Private or public.
        kind: &'static str,
    },
}

/// A P-256 private key, parsed once and reused for every signature.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl SigningKey {
    /// Reads an unencrypted PEM private key: SEC1 (`EC PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let der = PrivateKeyDer::from_pem_slice(pem).map_err(|_| KeyError::NoPem {
            expected: "private key",
        })?;
        Self::from_der(der.secret_der())
    }

    /// Reads a DER private key: SEC1 (RFC 5915) or PKCS#8.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| KeyError::NotP256 {
                kind: "private key",
            })?;
        Ok(Self::from_pair(pair))
    }

    /// Generates a fresh key.
    pub fn generate() -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| {
            KeyError::NotP256 {
                kind: "private key",
            }
        })?;
        Ok(Self::from_pair(pair))
    }

    fn from_pair(pair: EcdsaKeyPair) -> Self {
        Self {
            pair,
            rng: SystemRandom::new(),
        }
    }

    /// The public half, for verification.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        VerifyingKey::from_public_key(self.pair.public_key().as_ref())
    }

    /// The public key as an uncompressed SEC1 point (0x04 ‖ X ‖ Y).
    pub fn public_point(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub fn public_key_spki_der(&self) -> Result<Vec<u8>, KeyError> {
        use aws_lc_rs::encoding::AsDer as _;
        self.pair
            .public_key()
            .as_der()
            .map(|der| der.as_ref().to_vec())
            .map_err(|_| KeyError::NotP256 { kind: "public key" })
    }

    /// The key as PKCS#8 DER, for sealing at rest.
    pub fn secret_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        self.pair
            .to_pkcs8v1()
            .map(|doc| doc.as_ref().to_vec())
            .map_err(|_| KeyError::NotP256 {
                kind: "private key",
            })
    }

    /// Signs `message`, giving the 64-byte R‖S signature.
    pub(crate) fn sign(&self, message: &[u8]) -> Option<[u8; ES256_SIGNATURE_LEN]> {
        let sig = self.pair.sign(&self.rng, message).ok()?;
        sig.as_ref().try_into().ok()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<secret>)")
    }
}

/// The DER SubjectPublicKeyInfo of a P-256 key up to its point: SEQUENCE, the algorithm
/// (id-ecPublicKey, prime256v1), and the BIT STRING header (RFC 5480 §2).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A P-256 public key, parsed once, for ES256 verification.
#[derive(Clone)]
pub struct VerifyingKey {
    parsed: ParsedPublicKey,
    /// The key's multiples, when [`VerifyingKey::with_multiples`] computed them.
    multiples: Option<Arc<KeyMultiples>>,
}

impl VerifyingKey {
    /// Reads a DER SubjectPublicKeyInfo or an uncompressed SEC1 point.
    pub fn from_public_key(bytes: &[u8]) -> Result<Self, KeyError> {
        ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, bytes)
            .map(|parsed| Self {
                parsed,
                multiples: None,
            })
            .map_err(|_| KeyError::NotP256 { kind: "public key" })
    }

    /// The same key with its multiples computed, for a key that verifies many signatures:
    /// about 1 ms and 148 KiB once, then each verification
    /// in about 40 % of the time (the `p256` module says how). `None` only if the key's
    /// encoding cannot be read back, which aws-lc's own never fails.
    pub fn with_multiples(&self) -> Option<Self> {
        if self.multiples.is_some() {
            return Some(self.clone());
        }
        use aws_lc_rs::encoding::AsDer as _;
        let spki = self.parsed.as_der().ok()?;
        let point = spki.as_ref().strip_prefix(&P256_SPKI_PREFIX)?;
        Some(Self {
            parsed: self.parsed.clone(),
            multiples: Some(Arc::new(KeyMultiples::new(point)?)),
        })
    }

    /// Whether this key carries its multiples.
    pub fn has_multiples(&self) -> bool {
        self.multiples.is_some()
    }

    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let spki =
            rustls_pki_types::SubjectPublicKeyInfoDer::from_pem_slice(pem).map_err(|_| {
                KeyError::NoPem {
                    expected: "PUBLIC KEY",
                }
            })?;
        Self::from_public_key(spki.as_ref())
    }

    /// Whether `signature` (R‖S) signs `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.multiples {
            Some(multiples) => multiples.verifies(message, signature),
            None => self.parsed.verify_sig(message, signature).is_ok(),
        }
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifyingKey(P-256)")
    }
}

/// Splits a compact JWS into its three base64url segments (RFC 7515 §7.1).
pub(crate) fn split_segments(jws: &str) -> Result<(&str, &str, &str), crate::Error> {
    let mut parts = jws.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Ok((h, p, s)),
        _ => Err(crate::Error::JwsSegments {
            segments: jws.split('.').count(),
        }),
    }
}

/// Decodes unpadded base64url, refusing padding and non-zero trailing bits.
pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// Appends the unpadded base64url form of `bytes`.
pub(crate) fn b64_encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_is_strict() {
        assert_eq!(b64_decode("YQ"), Some(b"a".to_vec()));
        assert_eq!(b64_decode("YQ=="), None, "padding");
        assert_eq!(b64_decode("YR"), None, "non-zero trailing bits");
        assert_eq!(b64_decode("Y+Q"), None, "standard alphabet");
        assert_eq!(b64_decode("Y"), None, "impossible length");
    }

    #[test]
    fn sign_then_verify() {
        let key = SigningKey::generate().expect("keygen");
        let vk = key.verifying_key().expect("public key");
        let sig = key.sign(b"msg").expect("sign");
        assert!(vk.verifies(b"msg", &sig));
        assert!(!vk.verifies(b"msh", &sig));
        let fast = vk.with_multiples().expect("multiples");
        assert!(fast.has_multiples() && !vk.has_multiples());
        assert!(fast.verifies(b"msg", &sig));
        assert!(!fast.verifies(b"msh", &sig));
        let from_spki = VerifyingKey::from_public_key(&key.public_key_spki_der().expect("spki"))
            .expect("spki")
            .with_multiples()
            .expect("multiples");
        assert!(from_spki.verifies(b"msg", &sig));
        let der = key.secret_pkcs8_der().expect("pkcs8");
        let again = SigningKey::from_der(&der).expect("reload");
        assert!(vk.verifies(b"x", &again.sign(b"x").expect("sign")));
    }

    #[test]
    fn rejects_garbage_keys() {
        assert!(SigningKey::from_der(b"nope").is_err());
        assert!(SigningKey::from_pem(b"nope").is_err());
        assert!(VerifyingKey::from_public_key(&[4; 65]).is_err());
        assert!(
            VerifyingKey::from_pem(b"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")
                .is_err()
        );
    }
}
