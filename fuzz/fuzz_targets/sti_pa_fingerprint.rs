//! Arbitrary text as an account key fingerprint (`SHA256 XX:…`): parsing must return, never
//! panic, and whatever parses prints back to the same value (uppercase).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(fingerprint) = text.parse::<sti::Fingerprint>() {
        let printed = fingerprint.to_string();
        assert_eq!(printed, text.to_ascii_uppercase());
        assert_eq!(printed.parse::<sti::Fingerprint>().ok(), Some(fingerprint));
    }
});
