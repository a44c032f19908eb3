//! ES256 verification with a key's precomputed multiples against aws-lc's own: the same answer
//! for the key's signatures as made, with bytes changed, and for arbitrary 64-byte ones.
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use passport::{CompactJws, SigningKey, VerifyingKey, sign_compact};

struct Keys {
    signing: SigningKey,
    plain: VerifyingKey,
    multiples: VerifyingKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let signing = SigningKey::generate().expect("keygen");
        let plain = signing.verifying_key().expect("public key");
        let multiples = plain.with_multiples().expect("multiples");
        Keys { signing, plain, multiples }
    })
}

/// Both keys' answers for `jws`, which must agree.
fn verify_both(jws: &str) -> bool {
    let parsed = CompactJws::parse(jws).expect("a compact JWS");
    let plain = parsed.verify_es256(&keys().plain).is_ok();
    let multiples = parsed.verify_es256(&keys().multiples).is_ok();
    assert_eq!(plain, multiples, "{jws}");
    plain
}

fuzz_target!(|data: &[u8]| {
    // The first 64 bytes change the signature (XOR), the rest is the payload.
    let (mask, payload) = data.split_at(data.len().min(64));
    let header = serde_json::json!({"alg": "ES256", "typ": "passport"});
    let jws = sign_compact(&keys().signing, &header, payload).expect("sign");
    let (signed, signature) = jws.rsplit_once('.').expect("three segments");
    let mut signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    for (byte, m) in signature.iter_mut().zip(mask) {
        *byte ^= m;
    }
    let changed = mask.iter().any(|m| *m != 0);
    let passed = verify_both(&format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&signature)));
    assert!(passed || changed, "an untouched signature verifies");
    // The mask itself as the signature.
    if mask.len() == 64 {
        verify_both(&format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mask)));
    }
});
