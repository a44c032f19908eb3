//! Sign→verify round trips for each extension, golden canonical bytes, and the Identity
//! header's tolerance.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::collections::BTreeMap;
use std::time::Duration;

use passport::{
    Attestation, Checks, Claims, Dest, Error, IdentityHeader, Party, Ppt, Rcd, Signer, SigningKey,
    TelephoneNumber, UnixTime, UnverifiedPassport, decode,
};
use serde_json::json;

const SP_PRIV: &[u8] = include_bytes!("data/sp.priv");
const X5U: &str = "https://cr.example.net/cr/1234/abc.pem";
const IAT: u64 = 1_700_000_000;

fn tn(s: &str) -> TelephoneNumber {
    TelephoneNumber::canonicalize(s).expect("valid test number")
}

fn signer() -> Signer {
    Signer::new(SigningKey::from_pem(SP_PRIV).expect("sp.priv"), X5U).expect("valid x5u")
}

fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(IAT))
}

fn shaken() -> Claims {
    Claims::shaken(
        Attestation::A,
        tn("+1 215 555 0121"),
        Dest::tns(vec![tn("12155550131")]),
        IAT,
        "123e4567-e89b-12d3-a456-426655440000".into(),
    )
}

#[test]
fn shaken_golden_bytes() {
    // RFC 8588 §6 example with errata 6656 applied (integer iat).
    assert_eq!(
        shaken().to_canonical_json(),
        r#"{"attest":"A","dest":{"tn":["12155550131"]},"iat":1700000000,"orig":{"tn":"12155550121"},"origid":"123e4567-e89b-12d3-a456-426655440000"}"#
    );
    let jws = signer().sign(Ppt::Shaken, &shaken()).expect("signs");
    let decoded = decode(&jws).expect("decodes");
    assert_eq!(
        serde_json::to_string(&decoded.header).expect("json"),
        r#"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cr.example.net/cr/1234/abc.pem"}"#
    );
}

#[test]
fn dest_lists_are_sorted_and_ordered_tn_then_uri() {
    let claims = Claims::div(
        Party::Tn(tn("12155550121")),
        Dest::new(
            vec![tn("19995550100"), tn("12155550131")],
            vec!["sip:bob@b.example".into(), "sip:alice@a.example".into()],
        ),
        IAT,
        Party::Tn(tn("12155550199")),
    );
    assert_eq!(
        claims.to_canonical_json(),
        r#"{"dest":{"tn":["12155550131","19995550100"],"uri":["sip:alice@a.example","sip:bob@b.example"]},"div":{"tn":"12155550199"},"iat":1700000000,"orig":{"tn":"12155550121"}}"#
    );
}

#[test]
fn rcd_golden_bytes_sort_nested_members() {
    let claims = Claims {
        crn: Some("Rendezvous for Little Nellie".into()),
        rcdi: Some(BTreeMap::from([(
            "/jcd".to_owned(),
            "sha256-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO".to_owned(),
        )])),
        ..Claims::rcd(
            Party::Tn(tn("12025551000")),
            Dest::tns(vec![tn("12025551001")]),
            IAT,
            Rcd {
                nam: Some("Q Branch \"Spy\" Gadgets".into()),
                jcd: Some(
                    json!(["vcard", [["version", {}, "text", "4.0"], ["fn", {"z": 1, "a": 2}, "text", "Q Branch"]]]),
                ),
                icn: Some("https://example.com/logos/q.png".into()),
                ..Rcd::default()
            },
        )
    };
    assert_eq!(
        claims.to_canonical_json(),
        r#"{"crn":"Rendezvous for Little Nellie","dest":{"tn":["12025551001"]},"iat":1700000000,"orig":{"tn":"12025551000"},"rcd":{"icn":"https://example.com/logos/q.png","jcd":["vcard",[["version",{},"text","4.0"],["fn",{"a":2,"z":1},"text","Q Branch"]]],"nam":"Q Branch \"Spy\" Gadgets"},"rcdi":{"/jcd":"sha256-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO"}}"#
    );
}

#[test]
fn each_extension_round_trips() {
    let signer = signer();
    let key = signer.verifying_key().expect("public key");
    let cases = [
        (Ppt::Shaken, shaken()),
        (
            Ppt::Div,
            Claims::div(
                Party::Tn(tn("12155550121")),
                Dest::tns(vec![tn("12155550199")]),
                IAT,
                Party::Tn(tn("12155550131")),
            ),
        ),
        (
            Ppt::Rcd,
            Claims::rcd(
                Party::Tn(tn("12155550121")),
                Dest::tns(vec![tn("12155550131")]),
                IAT,
                Rcd {
                    nam: Some("Alice".into()),
                    ..Rcd::default()
                },
            ),
        ),
    ];
    for (ppt, claims) in cases {
        let value = signer.identity_header(ppt, &claims).expect("signs");
        assert!(value.ends_with(&format!(";info=<{X5U}>;alg=ES256;ppt={ppt}")));
        let header = IdentityHeader::parse(&value).expect("parses");
        let verified = header
            .passport()
            .expect("consistent")
            .verify(&key, &Checks::at(now()))
            .expect("verifies");
        assert_eq!(verified.ppt(), ppt);
        assert_eq!(verified.claims(), &claims);
        assert_eq!(verified.payload_json(), claims.to_canonical_json());
    }
}

#[test]
fn signing_refuses_claims_the_extension_requires() {
    let signer = signer();
    let mut claims = shaken();
    claims.origid = None;
    assert_eq!(
        signer.sign(Ppt::Shaken, &claims),
        Err(Error::MissingClaim { claim: "origid" })
    );
    assert_eq!(
        signer.sign(Ppt::Div, &shaken()),
        Err(Error::MissingClaim { claim: "div" })
    );
    assert_eq!(
        signer.sign(Ppt::Rcd, &shaken()),
        Err(Error::MissingClaim { claim: "rcd" })
    );
    assert!(Signer::new(SigningKey::generate().expect("key"), "not a uri").is_err());
    assert!(Signer::new(SigningKey::generate().expect("key"), "https://a/b c").is_err());
}

#[test]
fn identity_header_tolerates_what_the_field_sends() {
    let jws = signer().sign(Ppt::Shaken, &shaken()).expect("signs");
    let key = signer().verifying_key().expect("key");
    for value in [
        format!("{jws};info=<{X5U}>;alg=ES256;ppt=shaken"),
        format!("  {jws} ; info = <{X5U}> ; alg = ES256 ; ppt = \"shaken\"  "),
        format!("{jws};PPT=shaken;ALG=ES256;Info=<{X5U}>"),
        format!("{jws};info=<{X5U}>"),
        format!("{jws}\r\n ;info=<{X5U}>;x-ext=1;flag;ppt=shaken"),
    ] {
        let header = IdentityHeader::parse(&value).unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(header.info(), X5U);
        header
            .passport()
            .and_then(|p| p.verify(&key, &Checks::at(now())))
            .unwrap_or_else(|e| panic!("{value}: {e}"));
    }
}

#[test]
fn identity_header_failures_are_precise() {
    let signer = signer();
    let jws = signer.sign(Ppt::Shaken, &shaken()).expect("signs");
    let code = |value: String| -> (Error, u16) {
        let err = IdentityHeader::parse(&value)
            .and_then(|h| h.passport().map(|_| ()))
            .expect_err(&value);
        let code = err.sip_failure().code;
        (err, code)
    };
    assert_eq!(code(jws.clone()), (Error::MissingInfo, 436));
    assert_eq!(code(format!("{jws};alg=ES256")), (Error::MissingInfo, 436));
    assert_eq!(
        code(format!("{jws};info={X5U}")),
        (Error::InfoMalformed, 436)
    );
    assert_eq!(
        code(format!("{jws};info=<nope>")),
        (Error::InfoMalformed, 436)
    );
    assert_eq!(
        code(format!("{jws};info=<https://other.example/x.pem>")),
        (
            Error::InfoMismatch {
                info: "https://other.example/x.pem".into(),
                x5u: X5U.into()
            },
            436
        )
    );
    assert_eq!(
        code(format!("{jws};info=<{X5U}>;alg=RS256")),
        (
            Error::AlgParam {
                alg: "RS256".into()
            },
            437
        )
    );
    assert_eq!(
        code(format!("{jws};info=<{X5U}>;ppt=div")),
        (
            Error::PptMismatch {
                param: "div".into(),
                header: "shaken".into()
            },
            438
        )
    );
    let sig = jws.rsplit_once('.').expect("three parts").1;
    assert_eq!(
        code(format!("..{sig};info=<{X5U}>")),
        (Error::CompactForm, 438)
    );
    assert!(matches!(
        code(format!("{jws}==;info=<{X5U}>")),
        (Error::IdentityMalformed { .. }, 438)
    ));
    assert!(matches!(
        code(format!("{jws};info=<{X5U}>;info=<{X5U}>")),
        (Error::IdentityMalformed { .. }, 438)
    ));
    assert!(matches!(
        code(String::new()),
        (Error::IdentityMalformed { .. }, 438)
    ));
}

#[test]
fn header_checks_map_to_the_right_codes() {
    // Hand-built headers, each wrong in one way; the signature is irrelevant at this stage.
    let payload = b64(&shaken().to_canonical_json());
    let sig = b64(&"\0".repeat(64));
    let case = |header: &str| {
        UnverifiedPassport::parse(&format!("{}.{payload}.{sig}", b64(header))).map(|_| ())
    };
    let code = |r: Result<(), Error>| r.map_err(|e| (e.sip_failure().code, e));
    assert_eq!(
        code(case(r#"{"alg":"ES256","ppt":"shaken","typ":"passport"}"#)),
        Err((436, Error::MissingHeaderParam { name: "x5u" }))
    );
    assert_eq!(
        code(case(
            r#"{"alg":"ES256","typ":"passport","x5u":"https://a/b"}"#
        )),
        Err((436, Error::MissingHeaderParam { name: "ppt" }))
    );
    assert_eq!(
        code(case(
            r#"{"alg":"ES384","ppt":"shaken","typ":"passport","x5u":"https://a/b"}"#
        )),
        Err((
            437,
            Error::UnsupportedAlg {
                alg: "ES384".into()
            }
        ))
    );
    assert_eq!(
        code(case(
            r#"{"alg":"ES256","ppt":"shaken","typ":"JWT","x5u":"https://a/b"}"#
        )),
        Err((437, Error::UnsupportedTyp { typ: "JWT".into() }))
    );
    assert_eq!(
        code(case(
            r#"{"alg":"ES256","ppt":"rph","typ":"passport","x5u":"https://a/b"}"#
        )),
        Err((438, Error::UnsupportedPpt { ppt: "rph".into() }))
    );
    assert_eq!(
        code(case(
            r#"{"alg":"ES256","crit":["x"],"ppt":"shaken","typ":"passport","x5u":"https://a/b"}"#
        )),
        Err((438, Error::UnsupportedCritical))
    );
    assert_eq!(
        code(case(
            r#"{"alg":"ES256","alg":"none","ppt":"shaken","typ":"passport","x5u":"https://a/b"}"#
        )),
        Err((
            438,
            Error::DuplicateKey {
                part: passport::JwsPart::Header,
                key: "alg".into()
            }
        ))
    );
    assert_eq!(
        case(r#"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://a/b"}"#),
        Ok(())
    );
}

#[test]
fn claims_failures_are_precise() {
    let signer = signer();
    let key = signer.verifying_key().expect("key");
    // Sign hand-written payloads with the real key so only the claims are wrong.
    let sign_raw = |payload: &str| -> String {
        let jws = signer.sign(Ppt::Shaken, &shaken()).expect("signs");
        let header = jws.split('.').next().expect("header").to_owned();
        resign(&header, payload)
    };
    let verify = |payload: &str| {
        UnverifiedPassport::parse(&sign_raw(payload))
            .expect("header fine")
            .verify(&key, &Checks::at(now()))
            .map(|_| ())
    };
    let base = r#""dest":{"tn":["12155550131"]},"iat":1700000000,"orig":{"tn":"12155550121"},"origid":"x""#;
    assert_eq!(
        verify(&format!("{{{base}}}")),
        Err(Error::MissingClaim { claim: "attest" })
    );
    assert!(matches!(
        verify(&format!(r#"{{"attest":"a",{base}}}"#)),
        Err(Error::InvalidClaim {
            claim: "attest",
            ..
        })
    ));
    assert!(matches!(
        verify(
            r#"{"attest":"A","dest":{"tn":"12155550131"},"iat":1700000000,"orig":{"tn":"12155550121"},"origid":"x"}"#
        ),
        Err(Error::InvalidClaim { claim: "dest", .. })
    ));
    assert!(matches!(
        verify(
            r#"{"attest":"A","dest":{"tn":["12155550131"]},"iat":"1700000000","orig":{"tn":"12155550121"},"origid":"x"}"#
        ),
        Err(Error::InvalidClaim { claim: "iat", .. })
    ));
    assert!(matches!(
        verify(
            r#"{"attest":"A","dest":{"tn":["12155550131"]},"iat":1700000000,"orig":{"tn":["12155550121"]},"origid":"x"}"#
        ),
        Err(Error::InvalidClaim { claim: "orig", .. })
    ));
    assert!(matches!(
        verify(
            r#"{"attest":"A","dest":{"tn":["12155550131"]},"iat":1700000000,"orig":{"tn":"+12155550121"},"origid":"x"}"#
        ),
        Err(Error::InvalidClaim { claim: "orig", .. })
    ));
    assert!(matches!(
        verify(
            r#"{"attest":"A","dest":{"tn":[]},"iat":1700000000,"orig":{"tn":"12155550121"},"origid":"x"}"#
        ),
        Err(Error::InvalidClaim { claim: "dest", .. })
    ));
    assert_eq!(
        verify(&format!(r#"{{"attest":"A","attest":"C",{base}}}"#)),
        Err(Error::DuplicateKey {
            part: passport::JwsPart::Payload,
            key: "attest".into()
        })
    );
    assert!(matches!(
        verify("[]"),
        Err(Error::InvalidClaim {
            claim: "payload",
            ..
        })
    ));
    assert!(matches!(verify("{"), Err(Error::Json { .. })));
    assert_eq!(
        verify(&format!(r#"{{"attest":"A",{base},"x-extra":[1]}}"#)),
        Ok(())
    );
}

#[test]
fn orig_and_dest_are_matched_after_canonicalisation() {
    let signer = signer();
    let key = signer.verifying_key().expect("key");
    let jws = signer.sign(Ppt::Shaken, &shaken()).expect("signs");
    let check = |orig: &str, dest: &str| {
        let (o, d) = (tn(orig), tn(dest));
        let checks = Checks {
            orig: Some(&o),
            dest: Some(&d),
            ..Checks::at(now())
        };
        UnverifiedPassport::parse(&jws)
            .expect("parses")
            .verify(&key, &checks)
            .map(|_| ())
    };
    assert_eq!(
        check("sip:+12155550121@x;user=phone", "tel:+1-215-555-0131"),
        Ok(())
    );
    assert_eq!(check("2155550121", "2155550131"), Ok(()));
    assert_eq!(
        check("12155550122", "12155550131"),
        Err(Error::OrigMismatch {
            expected: "12155550122".into()
        })
    );
    let err = check("12155550121", "12155550132").expect_err("wrong dest");
    assert_eq!(err.sip_failure().code, 438);
}

#[test]
fn several_identity_headers_split_and_most_specific_wins() {
    let a = "aaa.bbb.ccc;info=<https://x/a,b.pem>;ppt=\"sha,ken\"";
    let b = "ddd.eee.fff;info=<https://x/c.pem>";
    let joined = format!("{a}, {b}");
    let values = IdentityHeader::split([joined.as_str(), b]).expect("within limit");
    assert_eq!(values.len(), 3);
    assert_eq!(values[0], a);
    assert_eq!(values[1].trim(), b);
    let many = vec![b; 9];
    assert!(matches!(
        IdentityHeader::split(many),
        Err(Error::TooManyIdentityHeaders { count: 9, max: 8 })
    ));
    let specific = Error::CompactForm.most_specific(Error::BadSignature);
    assert_eq!(specific, Error::BadSignature);
    assert_eq!(
        Error::Stale {
            iat: 1,
            now: 100,
            window: 60
        }
        .most_specific(Error::BadSignature),
        Error::Stale {
            iat: 1,
            now: 100,
            window: 60
        }
    );
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// Signs `header.b64(payload)` with sp.priv directly through aws-lc-rs, so a test can put
/// any payload under a valid signature (the Signer only signs well-formed claims).
fn resign(header_b64: &str, payload: &str) -> String {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    use rustls_pki_types::PrivateKeyDer;
    use rustls_pki_types::pem::PemObject as _;
    let der = PrivateKeyDer::from_pem_slice(SP_PRIV).expect("pem");
    let pair =
        EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der.secret_der())
            .expect("key");
    let input = format!("{header_b64}.{}", b64(payload));
    let sig = pair
        .sign(&SystemRandom::new(), input.as_bytes())
        .expect("sign");
    use base64::Engine as _;
    format!(
        "{input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig.as_ref())
    )
}

#[test]
fn identity_header_prints_quoted_values_back_quoted() {
    let value = "a.b.c;info=<https://x/y.pem>;ppt=\"sha ken;x\";alg=ES256";
    let header = IdentityHeader::parse(value).expect("parses");
    assert_eq!(header.ppt(), Some("sha ken;x"));
    let printed = header.to_string();
    assert_eq!(
        printed,
        "a.b.c;info=<https://x/y.pem>;alg=ES256;ppt=\"sha ken;x\""
    );
    assert_eq!(IdentityHeader::parse(&printed).expect("reparses"), header);
}

#[test]
fn unquoted_parameter_values_must_be_tokens() {
    // Found by the identity_header fuzz target: a stray quote inside a bare value.
    let err =
        IdentityHeader::parse("a.b.c;info=<https://x/y.pem>;ppt=ab\"c\"").expect_err("not a token");
    assert!(matches!(err, Error::IdentityMalformed { .. }), "{err:?}");
    assert!(IdentityHeader::parse("a.b.c;info=<https://x/y.pem>;x=[::1]:5060").is_ok());
}
