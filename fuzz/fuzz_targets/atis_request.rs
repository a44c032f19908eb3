//! ATIS-1000082 request bodies (arbitrary bytes) as `/stir/v1/signing` and
//! `/stir/v1/verification` read them, and stored SIP Messages as the Show view decodes them.
//! Must never panic: a body is either parsed or refused with a service exception naming a
//! parameter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stirling::atis::{parse_signing, parse_verification};

fuzz_target!(|body: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let _ = parse_signing(&value);
        let _ = parse_verification(&value);
    }
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = stirling::message_log::decode_identities(text);
    }
});
