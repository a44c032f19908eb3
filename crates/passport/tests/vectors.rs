//! libstirshaken vectors: positives verify at their pinned time, negatives fail with the
//! documented code, and re-serialising parsed claims reproduces the signed bytes exactly.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::time::Duration;

use passport::{
    Attestation, Checks, Error, IdentityHeader, Party, Ppt, TelephoneNumber, UnixTime,
    UnverifiedPassport, VerifyingKey, Verstat, decode,
};

const SP_PUB: &[u8] = include_bytes!("data/sp.pub");
const CA_PEM: &[u8] = include_bytes!("data/ca.pem");
const PASSPORT_B: &str = include_str!("data/readme_passport_B.jwt");
const IDENTITY_B: &str = include_str!("data/readme_identity_B.txt");
const PASSPORT_B_HEADER: &str = include_str!("data/readme_passport_B.header.json");
const PASSPORT_B_PAYLOAD: &str = include_str!("data/readme_passport_B.payload.json");
const ALICE_BOB: &str = include_str!("data/readme_passport_alice_bob.jwt");
const ALICE_BOB_PAYLOAD: &str = include_str!("data/readme_passport_alice_bob.payload.json");
const STRINGIFIED: &str = include_str!("data/passport_txt_stringified_claims.jwt");
const STRINGIFIED_IDENTITY: &str =
    include_str!("data/passport_txt_stringified_claims_identity.txt");
const STRINGIFIED_PAYLOAD: &str = include_str!("data/passport_txt_stringified_claims.payload.json");

const B_IAT: u64 = 1_616_442_523;

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

fn sp_key() -> VerifyingKey {
    VerifyingKey::from_pem(SP_PUB).expect("sp.pub is a P-256 public key")
}

#[test]
fn readme_passport_b_verifies_at_its_iat() {
    let passport = UnverifiedPassport::parse(PASSPORT_B.trim()).expect("header is valid");
    assert_eq!(passport.x5u(), "https://shaken.signalwire.cloud/sp.pem");
    assert_eq!(passport.ppt(), Ppt::Shaken);
    let verified = passport
        .verify(&sp_key(), &Checks::at(at(B_IAT)))
        .expect("signature and claims are valid");
    let claims = verified.claims();
    assert_eq!(claims.attest, Some(Attestation::B));
    assert_eq!(claims.iat, B_IAT);
    assert_eq!(
        claims.orig,
        Party::Tn(TelephoneNumber::from_claim("01256500600").expect("tn"))
    );
    assert_eq!(claims.dest.tn()[0].as_str(), "01256700800");
    assert_eq!(
        claims.origid.as_deref(),
        Some("e32f4189-cb86-460f-bb92-bd3acb89f29c")
    );
    assert_eq!(verified.header_json(), PASSPORT_B_HEADER);
    assert_eq!(verified.payload_json(), PASSPORT_B_PAYLOAD);
}

#[test]
fn readme_identity_b_verifies_and_matches_numbers() {
    let header = IdentityHeader::parse(IDENTITY_B).expect("identity header parses");
    assert_eq!(header.info(), "https://shaken.signalwire.cloud/sp.pem");
    assert_eq!(header.alg(), Some("ES256"));
    assert_eq!(header.ppt(), Some("shaken"));
    let orig = TelephoneNumber::canonicalize("+01256500600").expect("tn");
    let dest = TelephoneNumber::canonicalize("tel:01256700800").expect("tn");
    let checks = Checks {
        orig: Some(&orig),
        dest: Some(&dest),
        ..Checks::at(at(B_IAT + 60))
    };
    header
        .passport()
        .expect("header and PASSporT agree")
        .verify(&sp_key(), &checks)
        .expect("verifies");
}

#[test]
fn the_two_b_signatures_differ_but_both_verify() {
    // ECDSA is randomised: never compare signatures byte for byte.
    let jws_identity = IdentityHeader::parse(IDENTITY_B).expect("parses").jws();
    assert_ne!(jws_identity, PASSPORT_B.trim());
    let prefix = |s: &str| s.rsplit_once('.').map(|(hp, _)| hp.to_owned());
    assert_eq!(prefix(jws_identity), prefix(PASSPORT_B.trim()));
}

#[test]
fn freshness_is_enforced_both_ways() {
    for (now, ok) in [
        (B_IAT - 61, false),
        (B_IAT - 60, true),
        (B_IAT + 60, true),
        (B_IAT + 61, false),
    ] {
        let result = UnverifiedPassport::parse(PASSPORT_B)
            .expect("parses")
            .verify(&sp_key(), &Checks::at(at(now)));
        match (ok, result) {
            (true, Ok(_)) => {}
            (false, Err(e @ Error::Stale { .. })) => {
                let failure = e.sip_failure();
                assert_eq!((failure.code, failure.reason), (403, "Stale Date"));
                assert_eq!(failure.verstat, Verstat::NoTnValidation);
            }
            (ok, other) => panic!("now={now} expected ok={ok}, got {other:?}"),
        }
    }
}

#[test]
fn today_the_vector_is_stale() {
    let today = at(1_795_737_600); // 2026-11-27T00:00:00Z
    let err = UnverifiedPassport::parse(PASSPORT_B)
        .expect("parses")
        .verify(&sp_key(), &Checks::at(today))
        .expect_err("five years old");
    assert!(matches!(err, Error::Stale { iat: B_IAT, .. }), "{err:?}");
}

#[test]
fn wrong_key_is_a_bad_signature() {
    let ca_spki = spki_of_certificate(CA_PEM);
    let ca_key = VerifyingKey::from_public_key(&ca_spki).expect("ca key");
    let err = UnverifiedPassport::parse(PASSPORT_B)
        .expect("parses")
        .verify(&ca_key, &Checks::at(at(B_IAT)))
        .expect_err("signed by sp, not ca");
    assert_eq!(err, Error::BadSignature);
    let failure = err.sip_failure();
    assert_eq!(failure.code, 438);
    assert_eq!(failure.verstat, Verstat::TnValidationFailed);
}

#[test]
fn alice_bob_has_a_valid_signature_but_invalid_claims() {
    let err = UnverifiedPassport::parse(ALICE_BOB)
        .expect("header is fine")
        .verify(&sp_key(), &Checks::at(at(1_615_936_245)))
        .expect_err("TNs are names");
    assert!(
        matches!(err, Error::InvalidClaim { claim: "orig", .. }),
        "{err:?}"
    );
    assert_eq!(err.sip_failure().code, 438);
    // A lenient decoder still shows it.
    let decoded = decode(ALICE_BOB).expect("decodes");
    assert_eq!(decoded.payload["orig"]["tn"], "Bob");
    assert_eq!(
        serde_json::to_string(&decoded.payload).expect("json"),
        ALICE_BOB_PAYLOAD
    );
}

#[test]
fn stringified_claims_are_invalid_claims() {
    for jws in [
        STRINGIFIED,
        IdentityHeader::parse(STRINGIFIED_IDENTITY)
            .expect("identity parses")
            .jws(),
    ] {
        let err = UnverifiedPassport::parse(jws)
            .expect("header is fine")
            .verify(&sp_key(), &Checks::at(at(1_603_458_131)))
            .expect_err("orig and dest are strings");
        assert!(
            matches!(err, Error::InvalidClaim { claim: "orig", .. }),
            "{err:?}"
        );
        assert_eq!(err.sip_failure().code, 438);
    }
    let decoded = decode(STRINGIFIED).expect("decodes");
    assert_eq!(decoded.payload["origid"], "ref");
    assert_eq!(
        serde_json::to_string(&decoded.payload).expect("json"),
        STRINGIFIED_PAYLOAD
    );
}

#[test]
fn canonical_form_reproduces_the_signed_payload() {
    let verified = UnverifiedPassport::parse(PASSPORT_B)
        .expect("parses")
        .verify(&sp_key(), &Checks::at(at(B_IAT)))
        .expect("verifies");
    assert_eq!(verified.claims().to_canonical_json(), PASSPORT_B_PAYLOAD);
    // And the base64url segment, hence the signing input, is reproduced too.
    let segment = PASSPORT_B.split('.').nth(1).expect("payload segment");
    let mut encoded = String::new();
    base64_url(PASSPORT_B_PAYLOAD.as_bytes(), &mut encoded);
    assert_eq!(encoded, segment);
}

/// Extracts the SubjectPublicKeyInfo of the first certificate in a PEM file, by walking
/// the DER far enough for this test (tbsCertificate fields in order).
fn spki_of_certificate(pem: &[u8]) -> Vec<u8> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_slice(pem).expect("certificate PEM");
    let der = der.as_ref();
    let (cert, _) = tlv(der);
    let (tbs, _) = tlv(cert);
    let mut rest = tbs;
    if rest[0] == 0xa0 {
        rest = skip(rest); // [0] version
    }
    for _ in 0..5 {
        rest = skip(rest); // serial, signature, issuer, validity, subject
    }
    let (_, len_total) = tlv_len(rest);
    rest[..len_total].to_vec()
}

fn tlv_len(b: &[u8]) -> (usize, usize) {
    let (len, hdr) = match b[1] {
        n if n < 0x80 => (n as usize, 2),
        0x81 => (b[2] as usize, 3),
        0x82 => (((b[2] as usize) << 8) | b[3] as usize, 4),
        other => panic!("unsupported length form {other:#x}"),
    };
    (hdr, hdr + len)
}

fn tlv(b: &[u8]) -> (&[u8], &[u8]) {
    let (hdr, total) = tlv_len(b);
    (&b[hdr..total], &b[total..])
}

fn skip(b: &[u8]) -> &[u8] {
    tlv(b).1
}

fn base64_url(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
}

#[test]
fn claimed_iat_is_readable_before_verification() {
    let passport = UnverifiedPassport::parse(PASSPORT_B).expect("parses");
    assert_eq!(passport.claimed_iat(), Some(B_IAT));
}
