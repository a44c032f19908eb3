//! An x5u body (PEM or DER, arbitrary bytes) parsed and validated against fixed anchors at a
//! fixed time, with a fixed CRL. Must never panic.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use passport::UnixTime;
use pki::{CertificateChain, RevocationList, TrustAnchors, UnverifiedCrl};

macro_rules! data {
    ($f:literal) => {
        include_bytes!(concat!("../../crates/pki/tests/data/", $f))
    };
}

static ANCHORS: LazyLock<TrustAnchors> = LazyLock::new(|| {
    let pem = [
        &data!("real/transnexus_root_ca2.pem")[..],
        data!("real/comcast_root_ca.pem"),
        data!("real/ctia_root_ca.pem"),
        data!("real/metaswitch_root.pem"),
        data!("real/peeringhub_root_ca.pem"),
        data!("crl/ca_root.pem"),
    ]
    .concat();
    TrustAnchors::from_pem(&pem).expect("fixed anchors parse")
});

static CRL: LazyLock<RevocationList> = LazyLock::new(|| {
    let sti_pa = TrustAnchors::from_pem(data!("crl/sti_pa_root.pem")).expect("sti-pa root parses");
    UnverifiedCrl::from_bytes(data!("crl/inherited_issuer.crl"))
        .and_then(|c| {
            c.verify(
                data!("crl/sti_pa_crl_signer.pem"),
                &sti_pa,
                at(1_748_736_000),
            )
        })
        .expect("fixed crl verifies")
});

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

fuzz_target!(|body: &[u8]| {
    if let Ok(chain) = CertificateChain::from_pem(body) {
        let _ = chain.verify(&ANCHORS, at(1_755_550_800), None);
        let _ = chain.verify(&ANCHORS, at(1_748_736_000), Some(&CRL));
    }
});
