//! Arbitrary bytes as an STI-PA CRL body (DER or PEM): parse, index, look up, verify against a
//! fixed signer. Must never panic.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use passport::UnixTime;
use pki::{TrustAnchors, UnverifiedCrl};

const SIGNER: &[u8] = include_bytes!("../../crates/pki/tests/data/crl/sti_pa_crl_signer.pem");

static STI_PA: LazyLock<TrustAnchors> = LazyLock::new(|| {
    let pem = include_bytes!("../../crates/pki/tests/data/crl/sti_pa_root.pem");
    TrustAnchors::from_pem(pem).expect("sti-pa root parses")
});

fuzz_target!(|body: &[u8]| {
    if let Ok(crl) = UnverifiedCrl::from_bytes(body) {
        let entries = crl.unverified_entries();
        let _ = (entries.len(), entries.this_update(), entries.next_update());
        let _ = entries.revocation_time(&[0x30, 0x00], &[0x30, 0x00]);
        let time = UnixTime::since_unix_epoch(Duration::from_secs(1_748_736_000));
        let _ = crl.verify(SIGNER, &STI_PA, time);
    }
});
