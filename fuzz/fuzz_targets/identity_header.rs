//! Identity header parser: never panics; what parses prints back to something that parses
//! to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passport::IdentityHeader;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(values) = IdentityHeader::split([text]) {
        for value in values {
            if let Ok(header) = IdentityHeader::parse(value) {
                let printed = header.to_string();
                let again = IdentityHeader::parse(&printed).expect("printed header parses");
                assert_eq!(again, header);
                let _ = header.passport();
            }
        }
    }
});
