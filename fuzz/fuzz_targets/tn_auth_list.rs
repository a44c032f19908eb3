//! TNAuthList DER decoding: never panics, and whatever decodes re-encodes to the same bytes
//! (DER is canonical), also through both base64 forms.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pki::TnAuthList;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = TnAuthList::from_der(data) {
        assert_eq!(list.to_der(), data);
        assert_eq!(TnAuthList::from_base64(&list.to_base64()).as_ref(), Ok(&list));
        assert_eq!(TnAuthList::from_base64url(&list.to_base64url()).as_ref(), Ok(&list));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = TnAuthList::from_base64(text);
        let _ = TnAuthList::from_base64url(text);
    }
});
