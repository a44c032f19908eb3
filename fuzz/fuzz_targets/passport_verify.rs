//! PASSporT decoder and verifier: arbitrary bytes never panic and never verify under a key
//! that did not sign them.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use passport::{Checks, UnixTime, UnverifiedPassport, VerifyingKey, decode};

/// The libstirshaken test key: seeds signed by it reach the claims checks.
const SP_PUB: &[u8] = include_bytes!("../../crates/passport/tests/data/sp.pub");

fn key() -> &'static VerifyingKey {
    static KEY: OnceLock<VerifyingKey> = OnceLock::new();
    KEY.get_or_init(|| VerifyingKey::from_pem(SP_PUB).expect("test key"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = decode(text);
    if let Ok(passport) = UnverifiedPassport::parse(text) {
        let checks = Checks::at(UnixTime::since_unix_epoch(Duration::from_secs(1_616_442_523)));
        let _ = passport.verify(key(), &checks);
    }
});
