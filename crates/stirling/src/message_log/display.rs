//! What the **Show** button displays: a logged message with its PASSporT(s) decoded and its
//! certificate described.
//!
//! Everything here reads text from the store, which may have been cut at the raw bound or be
//! anything at all if the row was edited, so each step reports a failure as a value and never
//! panics (`tests::decoding_never_panics_*`). Nothing is verified: the call was verified (or
//! signed) when it happened; this only shows what was sent.

use passport::IdentityHeader;
use serde_json::Value;

use crate::store::{RawMessage, SipMessageSummary};

/// Identity header values decoded from one message at most; a message cannot make the view
/// do unbounded work.
const MAX_DECODED: usize = passport::MAX_IDENTITY_HEADERS;

/// The body of `GET /api/v1/sip-messages/{id}`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MessageView {
    /// The summary columns.
    #[serde(flatten)]
    pub summary: SipMessageSummary,
    /// The request as received.
    pub raw_request: RawMessage,
    /// The final response as sent.
    pub raw_response: RawMessage,
    /// The PASSporTs: from the response's Identity headers for signing, from the request's for
    /// verification.
    pub passports: Vec<DecodedPassport>,
    /// The certificate that signed: the certificate version (signing) or the stored chain's
    /// leaf (verification).
    pub certificate: Option<CertificateDetails>,
    /// Why there is no certificate to show, when one was expected.
    pub certificate_error: Option<String>,
}

/// One Identity header value, decoded for display without any check.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DecodedPassport {
    /// The header value as sent.
    pub identity: String,
    /// The `info` parameter (the x5u), when the value parses.
    pub info: Option<String>,
    /// The JWS protected header.
    pub header: Option<Value>,
    /// The claims.
    pub claims: Option<Value>,
    /// Why the value could not be decoded.
    pub error: Option<String>,
}

/// A certificate described for an operator.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CertificateDetails {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// The SPC of the TNAuthList, when it has exactly one.
    pub spc: Option<String>,
    /// Start of validity, unix seconds.
    pub not_before: i64,
    /// End of validity, unix seconds.
    pub not_after: i64,
    /// Serial number, lower-case hex.
    pub serial: String,
    /// SHA-256 of the certificate's DER, lower-case hex.
    pub fingerprint: String,
    /// The whole chain, PEM, leaf first.
    pub pem: String,
}

/// Decodes every Identity header of a raw message: a SIP message's `Identity` (or compact
/// `y`) header fields, or the `identity` members of an ATIS-1000082 JSON body.
pub fn decode_identities(raw: &str) -> Vec<DecodedPassport> {
    let values = if raw.trim_start().starts_with('{') {
        json_identities(raw)
    } else {
        sip_identities(raw)
    };
    let fields: Vec<&str> = values.iter().map(String::as_str).collect();
    let split = IdentityHeader::split(fields.iter().copied()).unwrap_or(fields);
    split
        .into_iter()
        .take(MAX_DECODED)
        .map(decode_one)
        .collect()
}

/// Describes the first certificate of a PEM chain.
pub fn certificate_details(chain_pem: &str) -> Result<CertificateDetails, String> {
    let blocks = pem::parse_many(chain_pem).map_err(|e| format!("chain is not PEM: {e}"))?;
    let leaf = blocks
        .iter()
        .find(|b| b.tag() == "CERTIFICATE")
        .ok_or("chain holds no certificate")?;
    let der = leaf.contents();
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("leaf certificate does not parse: {e}"))?;
    let tn_auth_list = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == pki::TnAuthList::OID);
    let spc = tn_auth_list
        .and_then(|ext| pki::TnAuthList::from_der(ext.value).ok())
        .and_then(|list| list.spc().map(ToString::to_string));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    Ok(CertificateDetails {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        spc,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        serial: hex::encode(cert.raw_serial()),
        fingerprint: hex::encode(digest),
        pem: chain_pem.to_owned(),
    })
}

fn decode_one(value: &str) -> DecodedPassport {
    let mut decoded = DecodedPassport {
        identity: value.trim().to_owned(),
        info: None,
        header: None,
        claims: None,
        error: None,
    };
    let header = match IdentityHeader::parse(value) {
        Ok(header) => header,
        Err(e) => {
            decoded.error = Some(e.to_string());
            return decoded;
        }
    };
    decoded.info = Some(header.info().to_owned());
    match passport::decode(header.jws()) {
        Ok(jws) => {
            decoded.header = Some(jws.header);
            decoded.claims = Some(jws.payload);
            // The header's own checks (x5u equals info, ES256, ppt) explain a failed call.
            if let Err(e) = header.passport() {
                decoded.error = Some(e.to_string());
            }
        }
        Err(e) => decoded.error = Some(e.to_string()),
    }
    decoded
}

/// The values of the Identity header fields of a SIP message's header section (folded lines
/// joined). A tolerant scan, not the `sip` parser: the stored text may be cut mid-message.
fn sip_identities(raw: &str) -> Vec<String> {
    let head = raw
        .split("\r\n\r\n")
        .next()
        .unwrap_or(raw)
        .split("\n\n")
        .next()
        .unwrap_or(raw);
    let mut fields: Vec<String> = Vec::new();
    let mut in_identity = false;
    // The first line is the start line.
    for line in head.lines().skip(1) {
        if line.starts_with([' ', '\t']) {
            if in_identity && let Some(last) = fields.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
            continue;
        }
        in_identity = false;
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("identity") || name.eq_ignore_ascii_case("y") {
            in_identity = true;
            if fields.len() < MAX_DECODED {
                fields.push(value.trim().to_owned());
            }
        }
    }
    fields
}

/// The string `identity` members anywhere in a JSON body (ATIS-1000082 `signingResponse` and
/// `verificationRequest` carry one each).
fn json_identities(raw: &str) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>, depth: usize) {
        if depth > 16 || out.len() >= MAX_DECODED {
            return;
        }
        match value {
            Value::Object(map) => {
                for (key, member) in map {
                    match member {
                        Value::String(text) if key.eq_ignore_ascii_case("identity") => {
                            out.push(text.clone());
                        }
                        _ => walk(member, out, depth + 1),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| walk(item, out, depth + 1)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(value) = serde_json::from_str::<Value>(raw) {
        walk(&value, &mut out, 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use passport::{Attestation, Claims, Dest, Ppt, Signer, SigningKey, TelephoneNumber};
    use proptest::prelude::*;

    use super::*;

    /// One test PKI for every case: making keys per proptest case would be slow.
    static CHAIN_PEM: LazyLock<(String, Vec<u8>)> = LazyLock::new(|| {
        let pki = stirling_test::TestPki::new();
        (pki.chain_pem(), pki.leaf.der().to_vec())
    });

    fn identity() -> String {
        let signer = Signer::new(
            SigningKey::generate().unwrap(),
            "https://cr.example.net/709J/sp.pem",
        )
        .unwrap();
        let claims = Claims::shaken(
            Attestation::A,
            TelephoneNumber::canonicalize("+12155550121").unwrap(),
            Dest::tns(vec![TelephoneNumber::canonicalize("+12155550131").unwrap()]),
            1_700_000_000,
            "123e4567-e89b-12d3-a456-426655440000".into(),
        );
        signer.identity_header(Ppt::Shaken, &claims).unwrap()
    }

    fn invite_with(identity: &str) -> String {
        format!(
            "INVITE sip:+12155550131@ss.example.net SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\r\n\
             From: <sip:+12155550121@a.example>;tag=1\r\nTo: <sip:+12155550131@b.example>\r\n\
             Call-ID: c1\r\nCSeq: 1 INVITE\r\nIdentity: {identity}\r\nContent-Length: 0\r\n\r\n"
        )
    }

    #[test]
    fn identity_of_a_sip_message_is_decoded() {
        let identity = identity();
        let decoded = decode_identities(&invite_with(&identity));
        assert_eq!(decoded.len(), 1);
        let d = &decoded[0];
        assert_eq!(d.identity, identity);
        assert_eq!(
            d.info.as_deref(),
            Some("https://cr.example.net/709J/sp.pem")
        );
        assert_eq!(d.error, None);
        let header = d.header.as_ref().unwrap();
        assert_eq!(header["x5u"], "https://cr.example.net/709J/sp.pem");
        assert_eq!(header["ppt"], "shaken");
        let claims = d.claims.as_ref().unwrap();
        assert_eq!(claims["attest"], "A");
        assert_eq!(claims["orig"]["tn"], "12155550121");
        assert_eq!(claims["iat"], 1_700_000_000);
    }

    #[test]
    fn folded_compact_and_several_identity_headers_are_found() {
        let identity = identity();
        let (jws, params) = identity.split_once(';').unwrap();
        let raw = format!(
            "SIP/2.0 302 Moved Temporarily\r\ny: {jws}\r\n ;{params}\r\n\
             Identity: {identity}\r\nContact: <sip:x@y>\r\n\r\n"
        );
        let decoded = decode_identities(&raw);
        assert_eq!(decoded.len(), 2, "{decoded:?}");
        assert!(decoded.iter().all(|d| d.error.is_none()), "{decoded:?}");
    }

    #[test]
    fn identity_of_an_atis_json_body_is_decoded() {
        let identity = identity();
        let body = serde_json::json!({"signingResponse": {"identity": identity}}).to_string();
        let decoded = decode_identities(&body);
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].claims.as_ref().unwrap()["attest"], "A");
    }

    #[test]
    fn broken_identities_are_reported_not_dropped() {
        let identity = identity();
        // One byte of the payload changed to a character base64url does not use.
        let dot = identity.find('.').unwrap();
        let mut bad = identity.clone();
        bad.replace_range(dot + 1..dot + 2, "*");
        let decoded = decode_identities(&invite_with(&bad));
        assert_eq!(decoded.len(), 1);
        assert!(decoded[0].claims.is_none());
        assert!(decoded[0].error.is_some());

        // Cut inside the header section: what is there is still decoded or reported.
        let invite = invite_with(&identity);
        let cut = &invite[..invite.find("Identity:").unwrap() + 40];
        let decoded = decode_identities(cut);
        assert_eq!(decoded.len(), 1);
        assert!(decoded[0].error.is_some(), "{decoded:?}");
    }

    #[test]
    fn certificate_is_described_from_its_chain() {
        let (pem, leaf_der) = &*CHAIN_PEM;
        let details = certificate_details(pem).unwrap();
        assert_eq!(details.spc.as_deref(), Some("1234"));
        assert_eq!(
            details.fingerprint,
            hex::encode(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                leaf_der
            ))
        );
        assert!(details.issuer.contains("CN="), "{details:?}");
        assert_ne!(details.subject, details.issuer);
        assert!(details.not_before < details.not_after);
        assert!(!details.serial.is_empty());
        assert_eq!(&details.pem, pem);

        assert!(certificate_details("not pem").is_err());
        let not_der = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(certificate_details(not_der).is_err());
    }

    proptest! {
        #[test]
        fn decoding_never_panics_on_any_text(raw in any::<String>()) {
            let _ = decode_identities(&raw);
            let _ = certificate_details(&raw);
        }

        #[test]
        fn decoding_never_panics_on_mutated_messages(
            cut in 0usize..2000,
            at in 0usize..2000,
            byte in any::<u8>(),
        ) {
            let mut raw = invite_with(&identity()).into_bytes();
            let at = at % raw.len();
            raw[at] = byte;
            raw.truncate(cut.max(1));
            let text = String::from_utf8_lossy(&raw);
            let decoded = decode_identities(&text);
            prop_assert!(decoded.len() <= MAX_DECODED);
        }

        #[test]
        fn decoding_never_panics_on_mutated_chains(at in 0usize..4000, byte in any::<u8>()) {
            let mut raw = CHAIN_PEM.0.clone().into_bytes();
            let at = at % raw.len();
            raw[at] = byte;
            let _ = certificate_details(&String::from_utf8_lossy(&raw));
        }
    }
}
