//! Arbitrary bytes as an x5u response body: the parser must return, never panic, and keep
//! its limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(chain) = sti::parse_x5u_body(data) {
        assert!(!chain.is_empty());
        assert!(chain.len() <= sti::X5U_MAX_CERTIFICATES);
        assert!(data.len() <= sti::X5U_MAX_BODY_BYTES);
    }
});
