//! Validating a `tkauth-01` answer (RFC 9447 §3, RFC 9448 §4–5, `reference/standards.md`
//! §5.2): the SPC token must be an ES256 JWT from the sandbox STI-PA signer (whose certificate
//! chains to the PA root), unexpired, with an unused `jti`, and its `atc` must name
//! `TNAuthList`, the order's identifier, the requesting account's key fingerprint, and
//! `ca: false` (the sandbox issues end-entity certificates only).

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use passport::{CompactJws, VerifyingKey};
use pki::TnAuthList;
use serde_json::Value;

use crate::config::FingerprintInput;

/// Why a token was refused; the `Display` text becomes the challenge error's detail.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenRejection {
    /// `atc.ca` is true: a token for a CA (delegate) certificate.
    #[error("atc.ca is true; this CA issues end-entity certificates only")]
    CaRequested,
    /// The token's `exp` has passed.
    #[error("token expired at {exp}, now is {now}")]
    Expired {
        /// The token's `exp`.
        exp: u64,
        /// The time of the check.
        now: u64,
    },
    /// `atc.fingerprint` is not the account key's.
    #[error("atc.fingerprint {found:?} is not the account key fingerprint {expected:?}")]
    Fingerprint {
        /// Computed from the account key.
        expected: String,
        /// In the token.
        found: String,
    },
    /// The `jti` was already accepted once.
    #[error("token jti {jti} was already used")]
    JtiReused {
        /// The `jti`.
        jti: String,
    },
    /// The token is not a compact JWS with JSON header and payload.
    #[error("token is not a JWT: {0}")]
    Malformed(String),
    /// A claim is missing or of the wrong type.
    #[error("token claim {0} is missing or of the wrong type")]
    MissingClaim(&'static str),
    /// The signature does not verify under the STI-PA signing key, or `alg` is not ES256.
    #[error("token signature does not verify with the STI-PA signing certificate: {0}")]
    Signature(String),
    /// `atc.tktype` is not TNAuthList.
    #[error("atc.tktype {0:?} is not TNAuthList")]
    TkType(String),
    /// `atc.tkvalue` is not the order's identifier.
    #[error("atc.tkvalue {found:?} does not equal the identifier {identifier:?}")]
    TkValue {
        /// In the token.
        found: String,
        /// The authorization's identifier.
        identifier: String,
    },
    /// `typ` is present and not JWT.
    #[error("token typ {0:?} is not JWT")]
    Typ(String),
    /// `x5u` is not the sandbox STI-PA's signing certificate.
    #[error("token x5u {found:?} is not the sandbox STI-PA signing certificate {expected:?}")]
    X5u {
        /// In the token.
        found: String,
        /// The sandbox's signer URL.
        expected: String,
    },
}

/// What the validator compares the token with.
pub(crate) struct Expectation<'a> {
    pub(crate) signer: &'a VerifyingKey,
    pub(crate) signer_url: &'a str,
    pub(crate) identifier: &'a str,
    pub(crate) tn_auth_list: &'a TnAuthList,
    pub(crate) fingerprint: &'a str,
    pub(crate) now: u64,
}

/// A token that passed: its `jti` and `exp`, to remember against reuse.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub(crate) jti: String,
    pub(crate) exp: u64,
}

/// Validates `token`; `used` says whether a `jti` was already accepted.
pub(crate) fn validate(
    token: &str,
    expect: &Expectation<'_>,
    used: impl Fn(&str) -> bool,
) -> Result<Accepted, TokenRejection> {
    let jws = CompactJws::parse(token).map_err(|e| TokenRejection::Malformed(e.to_string()))?;
    match jws.header_str("typ") {
        None | Some("JWT") => {}
        Some(other) => return Err(TokenRejection::Typ(other.to_owned())),
    }
    let x5u = jws.header_str("x5u").unwrap_or_default();
    if x5u != expect.signer_url {
        return Err(TokenRejection::X5u {
            found: x5u.to_owned(),
            expected: expect.signer_url.to_owned(),
        });
    }
    jws.verify_es256(expect.signer)
        .map_err(|e| TokenRejection::Signature(e.to_string()))?;
    let claims = jws
        .payload_json()
        .map_err(|e| TokenRejection::Malformed(e.to_string()))?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or(TokenRejection::MissingClaim("exp"))?;
    if exp <= expect.now {
        return Err(TokenRejection::Expired {
            exp,
            now: expect.now,
        });
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .ok_or(TokenRejection::MissingClaim("jti"))?;
    if used(jti) {
        return Err(TokenRejection::JtiReused {
            jti: jti.to_owned(),
        });
    }
    let atc = claims
        .get("atc")
        .ok_or(TokenRejection::MissingClaim("atc"))?;
    let text = |name: &'static str| {
        atc.get(name)
            .and_then(Value::as_str)
            .ok_or(TokenRejection::MissingClaim(name))
    };
    let tktype = text("tktype")?;
    if tktype != "TNAuthList" {
        return Err(TokenRejection::TkType(tktype.to_owned()));
    }
    let tkvalue = text("tkvalue")?;
    let same = TnAuthList::from_base64(tkvalue)
        .or_else(|_| TnAuthList::from_base64url(tkvalue))
        .is_ok_and(|list| list == *expect.tn_auth_list);
    if !same {
        return Err(TokenRejection::TkValue {
            found: tkvalue.to_owned(),
            identifier: expect.identifier.to_owned(),
        });
    }
    let fingerprint = text("fingerprint")?;
    if fingerprint != expect.fingerprint {
        return Err(TokenRejection::Fingerprint {
            expected: expect.fingerprint.to_owned(),
            found: fingerprint.to_owned(),
        });
    }
    match atc.get("ca").and_then(Value::as_bool) {
        Some(false) => {}
        Some(true) => return Err(TokenRejection::CaRequested),
        None => return Err(TokenRejection::MissingClaim("ca")),
    }
    Ok(Accepted {
        jti: jti.to_owned(),
        exp,
    })
}

/// The account key fingerprint as the token must carry it: `SHA256 ` and uppercase hex pairs
/// joined by `:`. `None` if the JWK is not a P-256 key.
pub(crate) fn fingerprint(jwk: &Value, input: FingerprintInput) -> Option<String> {
    let hash = match input {
        FingerprintInput::SpkiDer => digest(&SHA256, &spki_der(jwk)?).as_ref().to_vec(),
        // The RFC 7638 thumbprint is itself a SHA-256 digest: its bytes are the fingerprint.
        FingerprintInput::JwkThumbprint => URL_SAFE_NO_PAD
            .decode(passport::jwk_thumbprint(jwk).ok()?)
            .ok()?,
    };
    let pairs: Vec<String> = hash.iter().map(|b| format!("{b:02X}")).collect();
    Some(format!("SHA256 {}", pairs.join(":")))
}

/// SubjectPublicKeyInfo DER of a P-256 JWK: the fixed id-ecPublicKey/prime256v1 prefix and
/// the uncompressed point.
fn spki_der(jwk: &Value) -> Option<Vec<u8>> {
    const PREFIX: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08,
        0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    if jwk.get("kty")?.as_str()? != "EC" || jwk.get("crv")?.as_str()? != "P-256" {
        return None;
    }
    let x = URL_SAFE_NO_PAD.decode(jwk.get("x")?.as_str()?).ok()?;
    let y = URL_SAFE_NO_PAD.decode(jwk.get("y")?.as_str()?).ok()?;
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let mut der = PREFIX.to_vec();
    der.push(0x04);
    der.extend(x);
    der.extend(y);
    Some(der)
}

#[cfg(test)]
mod tests {
    use passport::SigningKey;

    use super::*;

    #[test]
    fn spki_fingerprint_matches_the_key_spki() {
        let key = SigningKey::generate().expect("keygen");
        let spki = key.public_key_spki_der().expect("spki");
        assert_eq!(spki_der(&key.public_jwk()), Some(spki.clone()));
        let expected: Vec<String> = digest(&SHA256, &spki)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(
            fingerprint(&key.public_jwk(), FingerprintInput::SpkiDer),
            Some(format!("SHA256 {}", expected.join(":")))
        );
        let thumb = fingerprint(&key.public_jwk(), FingerprintInput::JwkThumbprint)
            .expect("thumbprint fingerprint");
        assert_ne!(
            Some(thumb),
            fingerprint(&key.public_jwk(), FingerprintInput::SpkiDer)
        );
    }
}
