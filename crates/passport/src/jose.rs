//! ES256 JWS beyond PASSporT (RFC 7515): the STI-PA's JWTs (SPC token, CA list) in compact
//! form, ACME's flattened JSON form with its HS256 external account binding, and the JWK of
//! a P-256 key with its RFC 7638 thumbprint. One JWS layer serves them all.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::json::{JsonError, parse_strict, write_canonical};
use crate::jws::{SigningKey, VerifyingKey, b64_decode, b64_encode_into, split_segments};
use crate::{Error, JwsPart};

/// A compact-serialised JWS (`h.p.s`) whose header was parsed but whose signature was not
/// checked.
#[derive(Clone, Debug)]
pub struct CompactJws<'a> {
    signing_input: &'a str,
    header: Map<String, Value>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    /// Splits and decodes; the header must be a JSON object without duplicate members.
    pub fn parse(jws: &'a str) -> Result<Self, Error> {
        let (h, p, s) = split_segments(jws)?;
        let header = decode_object(JwsPart::Header, h)?;
        let payload = b64_decode(p).ok_or(Error::Base64 {
            part: JwsPart::Payload,
        })?;
        let signature = b64_decode(s).ok_or(Error::Base64 {
            part: JwsPart::Signature,
        })?;
        Ok(Self {
            signing_input: &jws[..h.len() + 1 + p.len()],
            header,
            payload,
            signature,
        })
    }

    /// The protected header.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// A string member of the header, e.g. `x5u`.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// The payload bytes as received.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The payload as JSON, refusing duplicate member names.
    pub fn payload_json(&self) -> Result<Value, Error> {
        parse_strict(&self.payload).map_err(|e| json_error(JwsPart::Payload, e))
    }

    /// Checks that `alg` is ES256 and the signature verifies under `key`.
    pub fn verify_es256(&self, key: &VerifyingKey) -> Result<(), Error> {
        check_alg(&self.header, "ES256")?;
        if key.verifies(self.signing_input.as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }
}

/// Signs `payload` under `header` (written canonically) as a compact JWS.
pub fn sign_compact(key: &SigningKey, header: &Value, payload: &[u8]) -> Result<String, Error> {
    let mut out = String::with_capacity(256 + payload.len() * 4 / 3);
    let mut header_json = Vec::new();
    write_canonical(header, &mut header_json);
    b64_encode_into(&header_json, &mut out);
    out.push('.');
    b64_encode_into(payload, &mut out);
    let signature = key.sign(out.as_bytes()).ok_or(Error::SigningFailed)?;
    out.push('.');
    b64_encode_into(&signature, &mut out);
    Ok(out)
}

/// A JWS in flattened JSON serialisation (RFC 7515 §7.2.2), as ACME sends it (RFC 8555 §6.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlattenedJws {
    /// Base64url of the protected header.
    pub protected: String,
    /// Base64url of the payload; empty for ACME POST-as-GET.
    pub payload: String,
    /// Base64url of the signature.
    pub signature: String,
}

impl FlattenedJws {
    /// Signs with ES256; `protected` must carry `"alg":"ES256"`.
    pub fn sign_es256(key: &SigningKey, protected: &Value, payload: &[u8]) -> Result<Self, Error> {
        let (protected, payload, input) = encode_parts(protected, payload);
        let sig = key.sign(input.as_bytes()).ok_or(Error::SigningFailed)?;
        Ok(Self::assemble(protected, payload, &sig))
    }

    /// Signs with HS256 (external account binding, RFC 8555 §7.3.4).
    pub fn sign_hs256(secret: &[u8], protected: &Value, payload: &[u8]) -> Self {
        let (protected, payload, input) = encode_parts(protected, payload);
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
        Self::assemble(protected, payload, tag.as_ref())
    }

    /// The protected header, refusing duplicate members.
    pub fn protected_header(&self) -> Result<Map<String, Value>, Error> {
        decode_object(JwsPart::Header, &self.protected)
    }

    /// The payload bytes; empty for POST-as-GET.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, Error> {
        b64_decode(&self.payload).ok_or(Error::Base64 {
            part: JwsPart::Payload,
        })
    }

    /// Checks `alg` is ES256 and the signature verifies under `key`.
    pub fn verify_es256(&self, key: &VerifyingKey) -> Result<(), Error> {
        check_alg(&self.protected_header()?, "ES256")?;
        let sig = self.signature_bytes()?;
        if key.verifies(self.signing_input().as_bytes(), &sig) {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }

    /// Checks `alg` is HS256 and the MAC verifies under `secret`.
    pub fn verify_hs256(&self, secret: &[u8]) -> Result<(), Error> {
        check_alg(&self.protected_header()?, "HS256")?;
        let sig = self.signature_bytes()?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        hmac::verify(&key, self.signing_input().as_bytes(), &sig).map_err(|_| Error::BadSignature)
    }

    fn signing_input(&self) -> String {
        format!("{}.{}", self.protected, self.payload)
    }

    fn signature_bytes(&self) -> Result<Vec<u8>, Error> {
        b64_decode(&self.signature).ok_or(Error::Base64 {
            part: JwsPart::Signature,
        })
    }

    fn assemble(protected: String, payload: String, sig: &[u8]) -> Self {
        let mut signature = String::new();
        b64_encode_into(sig, &mut signature);
        Self {
            protected,
            payload,
            signature,
        }
    }
}

impl SigningKey {
    /// The public key as a JWK: `{"crv":"P-256","kty":"EC","x":…,"y":…}`.
    pub fn public_jwk(&self) -> Value {
        let point = self.public_point();
        let (mut x, mut y) = (String::new(), String::new());
        // An uncompressed P-256 point is 0x04 ‖ X (32) ‖ Y (32).
        b64_encode_into(point.get(1..33).unwrap_or_default(), &mut x);
        b64_encode_into(point.get(33..65).unwrap_or_default(), &mut y);
        json!({"crv": "P-256", "kty": "EC", "x": x, "y": y})
    }
}

impl VerifyingKey {
    /// Reads a P-256 JWK (`kty` EC, `crv` P-256, `x`, `y`).
    pub fn from_jwk(jwk: &Value) -> Result<Self, Error> {
        let bad = || Error::InvalidClaim {
            claim: "jwk",
            reason: "is not a P-256 EC key",
        };
        let field = |name| jwk.get(name).and_then(Value::as_str).ok_or_else(bad);
        if field("kty")? != "EC" || field("crv")? != "P-256" {
            return Err(bad());
        }
        let x = b64_decode(field("x")?)
            .filter(|x| x.len() == 32)
            .ok_or_else(bad)?;
        let y = b64_decode(field("y")?)
            .filter(|y| y.len() == 32)
            .ok_or_else(bad)?;
        let point = [&[4u8][..], &x, &y].concat();
        Self::from_public_key(&point).map_err(|_| bad())
    }
}

/// RFC 7638 thumbprint of an EC JWK: SHA-256 over `{"crv","kty","x","y"}` canonical JSON,
/// base64url.
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, Error> {
    let member = |name| {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or(Error::InvalidClaim {
                claim: "jwk",
                reason: "lacks crv, kty, x or y",
            })
    };
    let required = json!({
        "crv": member("crv")?, "kty": member("kty")?, "x": member("x")?, "y": member("y")?
    });
    let mut bytes = Vec::new();
    write_canonical(&required, &mut bytes);
    let mut out = String::new();
    b64_encode_into(digest(&SHA256, &bytes).as_ref(), &mut out);
    Ok(out)
}

fn encode_parts(protected: &Value, payload: &[u8]) -> (String, String, String) {
    let mut header_json = Vec::new();
    write_canonical(protected, &mut header_json);
    let (mut p, mut pl) = (String::new(), String::new());
    b64_encode_into(&header_json, &mut p);
    b64_encode_into(payload, &mut pl);
    let input = format!("{p}.{pl}");
    (p, pl, input)
}

fn decode_object(part: JwsPart, b64: &str) -> Result<Map<String, Value>, Error> {
    let bytes = b64_decode(b64).ok_or(Error::Base64 { part })?;
    match parse_strict(&bytes).map_err(|e| json_error(part, e))? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::Json {
            part,
            detail: "not an object".into(),
        }),
    }
}

fn check_alg(header: &Map<String, Value>, want: &str) -> Result<(), Error> {
    match header.get("alg").and_then(Value::as_str) {
        Some(alg) if alg == want => Ok(()),
        Some(alg) => Err(Error::UnsupportedAlg { alg: alg.into() }),
        None => Err(Error::MissingHeaderParam { name: "alg" }),
    }
}

pub(crate) fn json_error(part: JwsPart, e: JsonError) -> Error {
    match e {
        JsonError::DuplicateKey(key) => Error::DuplicateKey { part, key },
        JsonError::Syntax(detail) => Error::Json { part, detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_round_trip_and_tamper() {
        let key = SigningKey::generate().expect("keygen");
        let vk = key.verifying_key().expect("vk");
        let jws = sign_compact(
            &key,
            &json!({"x5u":"https://pa.example/cert.pem","typ":"JWT","alg":"ES256"}),
            br#"{"exp":1,"jti":"a"}"#,
        )
        .expect("signs");
        let parsed = CompactJws::parse(&jws).expect("parses");
        assert_eq!(
            parsed.header_str("x5u"),
            Some("https://pa.example/cert.pem")
        );
        assert_eq!(parsed.verify_es256(&vk), Ok(()));
        assert_eq!(parsed.payload_json().expect("json")["jti"], "a");
        let other = SigningKey::generate()
            .expect("keygen")
            .verifying_key()
            .expect("vk");
        assert_eq!(parsed.verify_es256(&other), Err(Error::BadSignature));
        // Header bytes are canonical.
        let h = jws.split('.').next().expect("header");
        assert_eq!(
            b64_decode(h).expect("b64"),
            br#"{"alg":"ES256","typ":"JWT","x5u":"https://pa.example/cert.pem"}"#
        );
    }

    #[test]
    fn flattened_es256_and_hs256() {
        let key = SigningKey::generate().expect("keygen");
        let jws = FlattenedJws::sign_es256(
            &key,
            &json!({"alg":"ES256","nonce":"n","url":"https://ca/acct","jwk":key.public_jwk()}),
            b"",
        )
        .expect("signs");
        assert_eq!(jws.payload, "");
        let header = jws.protected_header().expect("header");
        let vk = VerifyingKey::from_jwk(&header["jwk"]).expect("jwk");
        assert_eq!(jws.verify_es256(&vk), Ok(()));
        assert_eq!(
            jws.verify_hs256(b"k"),
            Err(Error::UnsupportedAlg {
                alg: "ES256".into()
            })
        );

        let eab = FlattenedJws::sign_hs256(b"secret", &json!({"alg":"HS256","kid":"k1"}), b"{}");
        assert_eq!(eab.verify_hs256(b"secret"), Ok(()));
        assert_eq!(eab.verify_hs256(b"wrong"), Err(Error::BadSignature));
    }

    #[test]
    fn jwk_thumbprint_matches_python() {
        // Expected value computed independently with Python hashlib over
        // json.dumps(sort_keys=True, separators=(',', ':')) of the four members (RFC 7638 §3.2).
        let jwk = json!({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"ignored"});
        assert_eq!(
            jwk_thumbprint(&jwk).expect("thumbprint"),
            "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"
        );
        assert!(VerifyingKey::from_jwk(&jwk).is_ok());
        assert!(VerifyingKey::from_jwk(&json!({"kty":"RSA"})).is_err());
    }
}
