//! ACME server answers (arbitrary bytes) as the client reads them: problem document, directory,
//! challenge, and certificate-chain download with the leaf's TNAuthList check. Must never
//! panic; a chain that parses must yield a TNAuthList that re-encodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pki::TnAuthList;
use sti::{Challenge, Directory, IssuedChain, Problem};

fuzz_target!(|body: &[u8]| {
    let _ = Problem::from_json(body, Some(400));
    let _ = serde_json::from_slice::<Directory>(body);
    let _ = serde_json::from_slice::<Challenge>(body);
    if let Ok(text) = std::str::from_utf8(body)
        && let Ok(chain) = IssuedChain::from_pem(text.to_owned(), "fuzz")
        && let Ok(Some(list)) = chain.leaf_tn_auth_list()
    {
        assert_eq!(TnAuthList::from_der(&list.to_der()).ok(), Some(list.clone()));
        assert!(chain.check_tn_auth_list(&list).is_ok());
    }
});
