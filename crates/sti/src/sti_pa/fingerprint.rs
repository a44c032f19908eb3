//! The ACME account key fingerprint of the SPC token request (`reference/standards.md` §4.4,
//! RFC 9448 §3): `"SHA256 "` followed by the 32 digest bytes as uppercase hex pairs joined by
//! `:` (RFC 4572 style).
//!
//! ```text
//! fingerprint = "SHA256" SP hex ":" hex … (32 pairs)     ; e.g. "SHA256 56:3E:CF:…:38:E3"
//! ```
//!
//! What is hashed differs between deployed clients (§4.4): vermouth and the PeeringHub
//! toolkit hash the DER SubjectPublicKeyInfo of the account key; Certify-the-Web and the lego
//! fork use the RFC 7638 JWK thumbprint. The STI-CA recomputes the value from the account key
//! and compares, so the method is configuration ([`FingerprintInput`]), chosen per STI-CA.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// What the fingerprint is computed over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FingerprintInput {
    /// The RFC 7638 JWK thumbprint of the account key. The thumbprint already is a SHA-256
    /// digest (of the canonical `{"crv","kty","x","y"}` JSON); its 32 bytes are the
    /// fingerprint, not hashed again.
    JwkThumbprint,
    /// SHA-256 over the DER SubjectPublicKeyInfo of the account key (vermouth, PeeringHub).
    #[default]
    SpkiDer,
}

/// A SHA-256 account key fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

/// Why a fingerprint could not be computed or parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FingerprintError {
    /// The text is not `SHA256 ` followed by 32 colon-separated hex pairs.
    #[error("fingerprint is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// A JWK thumbprint was asked for, but the key is not an uncompressed EC P-256
    /// SubjectPublicKeyInfo (the only account key type SHAKEN ACME uses).
    #[error("account key is not an ec p-256 subjectpublickeyinfo")]
    NotP256,
}

/// DER SubjectPublicKeyInfo prefix of an uncompressed P-256 key (id-ecPublicKey,
/// prime256v1, BIT STRING, 0x04); the 64 bytes of X and Y follow.
const P256_SPKI_PREFIX: [u8; 27] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A,
    0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
];

impl Fingerprint {
    /// Wraps a SHA-256 digest.
    pub fn from_sha256(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// Computes the fingerprint of an ACME account key, given as DER SubjectPublicKeyInfo.
    pub fn of_account_key(
        input: FingerprintInput,
        spki_der: &[u8],
    ) -> Result<Self, FingerprintError> {
        let hashed = match input {
            FingerprintInput::SpkiDer => digest(&SHA256, spki_der),
            FingerprintInput::JwkThumbprint => {
                let point = spki_der
                    .strip_prefix(&P256_SPKI_PREFIX[..])
                    .filter(|p| p.len() == 64)
                    .ok_or(FingerprintError::NotP256)?;
                let (x, y) = point.split_at(32);
                // RFC 7638 §3.2: required members only, lexicographic order, no white space.
                let jwk = format!(
                    r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                    URL_SAFE_NO_PAD.encode(x),
                    URL_SAFE_NO_PAD.encode(y)
                );
                digest(&SHA256, jwk.as_bytes())
            }
        };
        let mut out = [0; 32];
        out.copy_from_slice(hashed.as_ref());
        Ok(Self(out))
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SHA256 ")?;
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    /// Parses `SHA256 XX:…:XX`. Hex digits of either case are read; printing gives uppercase.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = |reason| FingerprintError::Malformed { reason };
        let hex = text
            .strip_prefix("SHA256 ")
            .ok_or(malformed("does not start with \"SHA256 \""))?;
        let mut out = [0; 32];
        let mut pairs = hex.split(':');
        for slot in &mut out {
            let pair = pairs.next().ok_or(malformed("has fewer than 32 pairs"))?;
            if pair.len() != 2 || !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(malformed("has a pair that is not two hex digits"));
            }
            *slot = u8::from_str_radix(pair, 16).map_err(|_| malformed("has a bad hex pair"))?;
        }
        if pairs.next().is_some() {
            return Err(malformed("has more than 32 pairs"));
        }
        Ok(Self(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From `shared/vectors/sti-pa/rfc9448_fingerprint_example.txt` (RFC 9448 example).
    const RFC9448_EXAMPLE: &str = include_str!("../../tests/data/rfc9448_fingerprint_example.txt");

    #[test]
    fn rfc9448_example_round_trips() {
        let text = RFC9448_EXAMPLE.trim_end();
        let parsed: Fingerprint = text.parse().unwrap();
        assert_eq!(parsed.as_bytes()[0], 0x56);
        assert_eq!(parsed.as_bytes()[31], 0xE3);
        assert_eq!(parsed.to_string(), text);
    }

    #[test]
    fn lowercase_is_read_uppercase_is_printed() {
        let lower = RFC9448_EXAMPLE
            .trim_end()
            .replace("SHA256 ", "")
            .to_lowercase();
        let parsed: Fingerprint = format!("SHA256 {lower}").parse().unwrap();
        assert_eq!(parsed.to_string(), RFC9448_EXAMPLE.trim_end());
    }

    #[test]
    fn malformed_texts_are_refused() {
        let good = RFC9448_EXAMPLE.trim_end();
        for bad in [
            good.replace("SHA256 ", "SHA-256 "),
            good.replace("SHA256 ", "sha256 "),
            good.trim_end_matches(":E3").to_owned(),
            format!("{good}:00"),
            good.replacen("3E", "3G", 1),
            good.replacen("3E", "3", 1),
            good.replacen(':', "", 1),
            format!("{good} "),
            String::new(),
        ] {
            assert!(
                matches!(
                    bad.parse::<Fingerprint>(),
                    Err(FingerprintError::Malformed { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn spki_and_jwk_thumbprint_methods() {
        let key = passport::SigningKey::generate().unwrap();
        let spki = key.public_key_spki_der().unwrap();
        let by_spki = Fingerprint::of_account_key(FingerprintInput::SpkiDer, &spki).unwrap();
        assert_eq!(by_spki.as_bytes(), digest(&SHA256, &spki).as_ref());

        let by_jwk = Fingerprint::of_account_key(FingerprintInput::JwkThumbprint, &spki).unwrap();
        let point = &spki[27..];
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[..32]),
            "y": URL_SAFE_NO_PAD.encode(&point[32..]),
        });
        let thumbprint = passport::jwk_thumbprint(&jwk).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(by_jwk.as_bytes()), thumbprint);
        assert_ne!(by_jwk, by_spki);
        let text = by_jwk.to_string();
        assert_eq!(text.len(), "SHA256 ".len() + 32 * 3 - 1);
        assert_eq!(text.parse::<Fingerprint>().unwrap(), by_jwk);
    }

    #[test]
    fn jwk_thumbprint_needs_a_p256_spki() {
        assert_eq!(
            Fingerprint::of_account_key(FingerprintInput::JwkThumbprint, b"\x30\x00"),
            Err(FingerprintError::NotP256)
        );
    }
}
