//! The PASSporT itself (RFC 8225 §4–§6): signing in canonical form, and verification over
//! the bytes as received.

use serde_json::Value;

use crate::claims::{Claims, Party, Ppt};
use crate::identity::IdentityHeader;
use crate::jose::json_error;
use crate::json::{parse_strict, write_string};
use crate::jws::{
    ES256_SIGNATURE_LEN, SigningKey, VerifyingKey, b64_decode, b64_encode_into, split_segments,
};
use crate::{Error, JwsPart, TelephoneNumber, UnixTime};

/// RFC 8224 §4.1 recommends sixty seconds of freshness; ATIS-1000074 applies it both ways.
pub const DEFAULT_FRESHNESS_SECS: u64 = 60;

/// Signs PASSporTs with one key for one certificate URL.
///
/// The key is parsed once and the JWS header of each extension is encoded once, so a
/// signature costs the claims' JSON, two base64 passes and the ECDSA operation.
#[derive(Debug)]
pub struct Signer {
    key: SigningKey,
    x5u: String,
    /// Base64url of the canonical header, indexed like [`ppt_index`].
    headers: [String; 3],
}

impl Signer {
    /// A signer whose PASSporTs point at the certificate (chain) at `x5u`.
    ///
    /// `x5u` must be an absolute URI that can stand inside `<…>` in the Identity header.
    pub fn new(key: SigningKey, x5u: &str) -> Result<Self, Error> {
        if !IdentityHeader::is_info_uri(x5u) {
            return Err(Error::InfoMalformed);
        }
        let headers = [Ppt::Div, Ppt::Rcd, Ppt::Shaken].map(|ppt| encode_header(ppt, x5u));
        Ok(Self {
            key,
            x5u: x5u.to_owned(),
            headers,
        })
    }

    /// The certificate URL this signer names.
    pub fn x5u(&self) -> &str {
        &self.x5u
    }

    /// The public key, for checking our own signatures.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        self.key.verifying_key().ok()
    }

    /// Signs `claims` as a PASSporT of extension `ppt`, giving the compact JWS `h.p.s`.
    pub fn sign(&self, ppt: Ppt, claims: &Claims) -> Result<String, Error> {
        let mut out = String::with_capacity(512);
        self.sign_into(ppt, claims, &mut out)?;
        Ok(out)
    }

    /// Signs and formats the SIP Identity header value:
    /// `<jws>;info=<x5u>;alg=ES256;ppt=<ppt>`.
    pub fn identity_header(&self, ppt: Ppt, claims: &Claims) -> Result<String, Error> {
        let mut out = String::with_capacity(600);
        self.sign_into(ppt, claims, &mut out)?;
        IdentityHeader::append_params(&mut out, &self.x5u, ppt);
        Ok(out)
    }

    fn sign_into(&self, ppt: Ppt, claims: &Claims, out: &mut String) -> Result<(), Error> {
        claims.check_for(ppt)?;
        let mut payload = Vec::with_capacity(256);
        claims.write_canonical(&mut payload);
        out.push_str(&self.headers[ppt_index(ppt)]);
        out.push('.');
        b64_encode_into(&payload, out);
        let signature = self.key.sign(out.as_bytes()).ok_or(Error::SigningFailed)?;
        out.push('.');
        b64_encode_into(&signature, out);
        Ok(())
    }
}

fn ppt_index(ppt: Ppt) -> usize {
    match ppt {
        Ppt::Div => 0,
        Ppt::Rcd => 1,
        Ppt::Shaken => 2,
    }
}

/// Base64url of `{"alg":"ES256","ppt":…,"typ":"passport","x5u":…}`, keys in canonical order.
fn encode_header(ppt: Ppt, x5u: &str) -> String {
    let mut json = Vec::with_capacity(64 + x5u.len());
    json.extend_from_slice(b"{\"alg\":\"ES256\",\"ppt\":");
    write_string(ppt.as_str(), &mut json);
    json.extend_from_slice(b",\"typ\":\"passport\",\"x5u\":");
    write_string(x5u, &mut json);
    json.push(b'}');
    let mut out = String::with_capacity(json.len() * 4 / 3 + 4);
    b64_encode_into(&json, &mut out);
    out
}

/// A PASSporT whose header has been checked but whose signature has not.
///
/// Its job is to name the certificate (`x5u`) so the caller can fetch and validate it,
/// then hand the key to [`UnverifiedPassport::verify`].
#[derive(Debug)]
pub struct UnverifiedPassport<'a> {
    signing_input: &'a str,
    header: Vec<u8>,
    payload: Vec<u8>,
    signature: [u8; ES256_SIGNATURE_LEN],
    ppt: Ppt,
    x5u: String,
}

impl<'a> UnverifiedPassport<'a> {
    /// Parses a compact-serialised JWS and checks its header (`standards.md` §2.3 steps 2–4).
    pub fn parse(jws: &'a str) -> Result<Self, Error> {
        let (h, p, s) = split_full_form(jws)?;
        let header = b64_decode(h).ok_or(Error::Base64 {
            part: JwsPart::Header,
        })?;
        let (ppt, x5u) = check_header(&header)?;
        let payload = b64_decode(p).ok_or(Error::Base64 {
            part: JwsPart::Payload,
        })?;
        let sig = b64_decode(s).ok_or(Error::Base64 {
            part: JwsPart::Signature,
        })?;
        let signature: [u8; ES256_SIGNATURE_LEN] = sig
            .as_slice()
            .try_into()
            .map_err(|_| Error::SignatureLength { len: sig.len() })?;
        Ok(Self {
            // h and p are prefixes of jws, so this slice is in bounds.
            signing_input: &jws[..h.len() + 1 + p.len()],
            header,
            payload,
            signature,
            ppt,
            x5u,
        })
    }

    /// The certificate URL from the header.
    pub fn x5u(&self) -> &str {
        &self.x5u
    }

    /// The extension from the header.
    pub fn ppt(&self) -> Ppt {
        self.ppt
    }

    /// The `iat` claim as sent, before any check: the time at which the signer's chain is
    /// validated (`standards.md` §3.4). `None` when the payload has no integer `iat`, which
    /// [`UnverifiedPassport::verify`] then reports precisely.
    pub fn claimed_iat(&self) -> Option<u64> {
        parse_strict(&self.payload).ok()?.get("iat")?.as_u64()
    }

    /// Verifies the signature over the received bytes, then the claims (steps 7–11).
    pub fn verify(
        self,
        key: &VerifyingKey,
        checks: &Checks<'_>,
    ) -> Result<VerifiedPassport, Error> {
        if !key.verifies(self.signing_input.as_bytes(), &self.signature) {
            return Err(Error::BadSignature);
        }
        let value = parse_strict(&self.payload).map_err(|e| json_error(JwsPart::Payload, e))?;
        let claims = Claims::from_json(&value)?;
        claims.check_for(self.ppt)?;
        checks.apply(&claims)?;
        Ok(VerifiedPassport {
            ppt: self.ppt,
            x5u: self.x5u,
            claims,
            // Both were parsed as JSON above, so they are UTF-8.
            header_json: String::from_utf8(self.header).unwrap_or_default(),
            payload_json: String::from_utf8(self.payload).unwrap_or_default(),
        })
    }
}

/// What a verifier checks the claims against, besides the signature.
#[derive(Clone, Copy, Debug)]
pub struct Checks<'c> {
    /// The verifier's clock.
    pub now: UnixTime,
    /// Largest allowed distance between `iat` and `now`, in either direction.
    pub freshness_secs: u64,
    /// The calling number (from P-Asserted-Identity or From), if it is to be matched.
    pub orig: Option<&'c TelephoneNumber>,
    /// The called number (from To), if it is to be matched.
    pub dest: Option<&'c TelephoneNumber>,
}

impl<'c> Checks<'c> {
    /// Freshness only, with the default window.
    pub fn at(now: UnixTime) -> Self {
        Self {
            now,
            freshness_secs: DEFAULT_FRESHNESS_SECS,
            orig: None,
            dest: None,
        }
    }

    fn apply(&self, claims: &Claims) -> Result<(), Error> {
        if let Some(expected) = self.orig {
            let ok = matches!(&claims.orig, Party::Tn(tn) if tn.matches(expected));
            if !ok {
                return Err(Error::OrigMismatch {
                    expected: expected.to_string(),
                });
            }
        }
        if let Some(expected) = self.dest
            && !claims.dest.tn().iter().any(|tn| tn.matches(expected))
        {
            return Err(Error::DestMismatch {
                expected: expected.to_string(),
            });
        }
        let now = self.now.as_secs();
        if claims.iat.abs_diff(now) > self.freshness_secs {
            return Err(Error::Stale {
                iat: claims.iat,
                now,
                window: self.freshness_secs,
            });
        }
        Ok(())
    }
}

/// A PASSporT whose signature verified under the given key and whose claims passed.
#[derive(Clone, Debug)]
pub struct VerifiedPassport {
    ppt: Ppt,
    x5u: String,
    claims: Claims,
    header_json: String,
    payload_json: String,
}

impl VerifiedPassport {
    /// The extension.
    pub fn ppt(&self) -> Ppt {
        self.ppt
    }

    /// The certificate URL.
    pub fn x5u(&self) -> &str {
        &self.x5u
    }

    /// The claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The header JSON exactly as received.
    pub fn header_json(&self) -> &str {
        &self.header_json
    }

    /// The payload JSON exactly as received.
    pub fn payload_json(&self) -> &str {
        &self.payload_json
    }
}

/// Header and payload of a JWS decoded for display, without any check.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The header as JSON.
    pub header: Value,
    /// The payload as JSON.
    pub payload: Value,
}

/// Decodes a compact JWS (or the JWS part of an Identity header) without verifying it.
///
/// Duplicate member names are still refused: there is no honest way to show them.
pub fn decode(jws: &str) -> Result<Decoded, Error> {
    let jws = jws.split(';').next().unwrap_or(jws).trim();
    let (h, p, _) = split_full_form(jws)?;
    let segment = |part, text: &str| -> Result<Value, Error> {
        let bytes = b64_decode(text).ok_or(Error::Base64 { part })?;
        parse_strict(&bytes).map_err(|e| json_error(part, e))
    };
    Ok(Decoded {
        header: segment(JwsPart::Header, h)?,
        payload: segment(JwsPart::Payload, p)?,
    })
}

/// Splits `h.p.s`, refusing the compact form `..s` (RFC 8225 §7) that SHAKEN does not use.
fn split_full_form(jws: &str) -> Result<(&str, &str, &str), Error> {
    let (h, p, s) = split_segments(jws)?;
    if h.is_empty() && p.is_empty() {
        return Err(Error::CompactForm);
    }
    Ok((h, p, s))
}

/// Checks the protected header (RFC 8225 §4, `standards.md` §2.3 steps 3–4).
fn check_header(bytes: &[u8]) -> Result<(Ppt, String), Error> {
    let value = parse_strict(bytes).map_err(|e| json_error(JwsPart::Header, e))?;
    let Value::Object(map) = value else {
        return Err(Error::Json {
            part: JwsPart::Header,
            detail: "not an object".into(),
        });
    };
    let text = |name: &'static str| -> Result<&str, Error> {
        match map.get(name) {
            None => Err(Error::MissingHeaderParam { name }),
            Some(v) => v.as_str().ok_or(Error::Json {
                part: JwsPart::Header,
                detail: format!("{name} is not a string"),
            }),
        }
    };
    let alg = text("alg")?;
    let typ = text("typ")?;
    let ppt = text("ppt")?;
    let x5u = text("x5u")?;
    if typ != "passport" {
        return Err(Error::UnsupportedTyp { typ: typ.into() });
    }
    if alg != "ES256" {
        return Err(Error::UnsupportedAlg { alg: alg.into() });
    }
    if map.contains_key("crit") {
        return Err(Error::UnsupportedCritical);
    }
    let ppt = ppt
        .parse::<Ppt>()
        .map_err(|_| Error::UnsupportedPpt { ppt: ppt.into() })?;
    Ok((ppt, x5u.to_owned()))
}
