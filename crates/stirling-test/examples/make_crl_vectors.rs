//! Writes the committed indirect-CRL vectors of `crates/pki/tests/data/crl/` (see the README
//! there). Keys are fresh on every run, so a re-run replaces every file.
//!
//! ```text
//! cargo run -p stirling-test --example make_crl_vectors -- crates/pki/tests/data/crl
//! ```
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;

use stirling_test::{CertOptions, CrlEntry, IndirectCrl, TestCert, TestPki, crl_pem};

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "crates/pki/tests/data/crl".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();

    let sti_pa_root = TestCert::self_signed(&CertOptions::root("STI-PA Root Certificate"));
    let signer = sti_pa_root.issue(&CertOptions::crl_signer("STI-PA CRL"));
    // Same names as the real signer's PKI, other keys: what an attacker could mint.
    let rogue_root = TestCert::self_signed(&CertOptions::root("STI-PA Root Certificate"));
    let rogue_signer = rogue_root.issue(&CertOptions::crl_signer("STI-PA CRL"));

    let pki = TestPki::new();
    let other_ca = TestCert::self_signed(&CertOptions::root("Other SHAKEN Root"))
        .issue(&CertOptions::ca("Other SHAKEN Issuing CA"));

    write("sti_pa_root.pem", sti_pa_root.pem().as_bytes());
    write("sti_pa_crl_signer.pem", signer.pem().as_bytes());
    write("untrusted_crl_signer.pem", rogue_signer.pem().as_bytes());
    write("ca_root.pem", pki.root.pem().as_bytes());
    write("chain.pem", pki.chain_pem().as_bytes());

    let leaf = CrlEntry::for_cert(&pki.leaf);
    let intermediate = CrlEntry::for_cert(&pki.intermediate);
    write(
        "revoked_leaf.crl",
        &IndirectCrl::new(vec![leaf.clone()]).sign(&signer),
    );
    write(
        "revoked_intermediate.crl.pem",
        crl_pem(&IndirectCrl::new(vec![intermediate]).sign(&signer)).as_bytes(),
    );
    write(
        "other_issuer_same_serial.crl",
        &IndirectCrl::new(vec![CrlEntry {
            certificate_issuer: Some(other_ca.subject_der()),
            ..leaf.clone()
        }])
        .sign(&signer),
    );
    write(
        "inherited_issuer.crl",
        &IndirectCrl::new(vec![
            CrlEntry::new(Some(pki.intermediate.subject_der()), 5),
            CrlEntry {
                certificate_issuer: None,
                ..leaf.clone()
            },
        ])
        .sign(&signer),
    );
    write(
        "untrusted_signer.crl",
        &IndirectCrl::new(vec![leaf]).sign(&rogue_signer),
    );
}
