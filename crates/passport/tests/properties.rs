//! Property tests: sign→verify holds, any single-byte change fails, parsers never panic.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::time::Duration;

use passport::{
    Attestation, Checks, Claims, Dest, Error, IdentityHeader, Ppt, Signer, SigningKey,
    TelephoneNumber, UnixTime, UnverifiedPassport, VerifyingKey, decode,
};
use proptest::prelude::*;
use std::sync::OnceLock;

const X5U: &str = "https://cr.example.net/cr/1234/abc.pem";

fn signer() -> &'static (Signer, VerifyingKey) {
    static SIGNER: OnceLock<(Signer, VerifyingKey)> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let signer = Signer::new(SigningKey::generate().expect("keygen"), X5U).expect("valid x5u");
        let key = signer.verifying_key().expect("public key");
        (signer, key)
    })
}

fn arb_tn() -> impl Strategy<Value = TelephoneNumber> {
    "[0-9]{1,15}".prop_map(|s| TelephoneNumber::from_claim(&s).expect("digits"))
}

fn arb_claims() -> impl Strategy<Value = Claims> {
    (
        prop_oneof![
            Just(Attestation::A),
            Just(Attestation::B),
            Just(Attestation::C)
        ],
        arb_tn(),
        prop::collection::vec(arb_tn(), 1..4),
        0u64..4_000_000_000,
        "\\PC{1,40}",
    )
        .prop_map(|(attest, orig, dest, iat, origid)| {
            Claims::shaken(attest, orig, Dest::tns(dest), iat, origid)
        })
}

fn checks(iat: u64) -> Checks<'static> {
    Checks::at(UnixTime::since_unix_epoch(Duration::from_secs(iat)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sign_then_verify_holds(claims in arb_claims()) {
        let (signer, key) = signer();
        let value = signer.identity_header(Ppt::Shaken, &claims).expect("signs");
        let header = IdentityHeader::parse(&value).expect("parses");
        let verified = header.passport().expect("consistent").verify(key, &checks(claims.iat)).expect("verifies");
        prop_assert_eq!(verified.claims(), &claims);
        // Canonical JSON survives a re-parse: what was signed is what we would write again.
        prop_assert_eq!(verified.payload_json(), claims.to_canonical_json());
        let reparsed = serde_json::from_str::<serde_json::Value>(verified.payload_json()).expect("json");
        prop_assert_eq!(serde_json::to_string(&reparsed).expect("json"), claims.to_canonical_json());
    }

    #[test]
    fn any_single_byte_change_fails(claims in arb_claims(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let (signer, key) = signer();
        let jws = signer.sign(Ppt::Shaken, &claims).expect("signs");
        let mut bytes = jws.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        // A changed byte may make the text non-UTF-8; that is a failure too.
        let Ok(mutated) = String::from_utf8(bytes) else { return Ok(()) };
        let result = UnverifiedPassport::parse(&mutated)
            .and_then(|p| p.verify(key, &checks(claims.iat)));
        prop_assert!(result.is_err(), "byte {} changed to {:#x} still verified", i, byte);
    }

    #[test]
    fn identity_header_parse_print_round_trips(claims in arb_claims(), alg in proptest::option::of(Just("ES256")), ppt in proptest::option::of(Just("shaken"))) {
        let (signer, _) = signer();
        let jws = signer.sign(Ppt::Shaken, &claims).expect("signs");
        let mut value = format!("{jws};info=<{X5U}>");
        if let Some(a) = alg { value.push_str(&format!(";alg={a}")); }
        if let Some(p) = ppt { value.push_str(&format!(";ppt={p}")); }
        let header = IdentityHeader::parse(&value).expect("parses");
        prop_assert_eq!(header.to_string(), value.clone());
        let printed = header.to_string();
        let again = IdentityHeader::parse(&printed).expect("parses again");
        prop_assert_eq!(again, header);
    }

    #[test]
    fn identity_values_split_at_top_level_commas_only(s in "[a\",<> ;é]{0,40}") {
        // The plain byte walk `split` had before it jumped with memchr: the model.
        let mut model = Vec::new();
        let (mut angle, mut quote, mut start) = (false, false, 0);
        for (i, b) in s.bytes().enumerate() {
            match b {
                b'"' if !angle => quote = !quote,
                b'<' if !quote => angle = true,
                b'>' if !quote => angle = false,
                b',' if !angle && !quote => {
                    model.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        model.push(&s[start..]);
        model.retain(|v| !v.trim_matches([' ', '\t']).is_empty());
        match IdentityHeader::split([s.as_str()]) {
            Ok(split) => prop_assert_eq!(split, model),
            Err(_) => prop_assert!(model.len() > passport::MAX_IDENTITY_HEADERS),
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = IdentityHeader::parse(&s).and_then(|h| h.passport());
        let _ = UnverifiedPassport::parse(&s);
        let _ = decode(&s);
        let _ = IdentityHeader::split([s.as_str()]);
        let _ = TelephoneNumber::canonicalize(&s);
    }

    #[test]
    fn base64url_shaped_garbage_never_panics(h in "[A-Za-z0-9_-]{0,80}", p in "[A-Za-z0-9_-]{0,200}", s in "[A-Za-z0-9_-]{0,100}") {
        let jws = format!("{h}.{p}.{s}");
        let (_, key) = signer();
        let result = UnverifiedPassport::parse(&jws).and_then(|pp| pp.verify(key, &checks(0)));
        prop_assert!(result.is_err());
    }
}

#[test]
fn every_failure_has_a_sip_code() {
    // Exhaustive by construction (no `_` arm in sip_failure); spot-check the table's ranges.
    for e in [
        Error::BadSignature,
        Error::CompactForm,
        Error::MissingInfo,
        Error::UnsupportedTyp { typ: "x".into() },
        Error::Stale {
            iat: 0,
            now: 61,
            window: 60,
        },
    ] {
        assert!(matches!(e.sip_failure().code, 403 | 436 | 437 | 438), "{e}");
    }
}
