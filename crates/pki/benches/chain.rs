//! Chain validation and CRL lookup against the raw ES256 verify they sit next to.
//!
//! ```text
//! taskset -c 1 cargo bench -p pki --bench chain
//! ```
//!
//! * `chain/cold_transnexus`: split the real TransNexus x5u body (leaf + issuing CA, PEM),
//!   parse and validate it to its root at 2025-08-18T21:00:00Z, nothing cached.
//! * `chain/cold_transnexus_crl2000`: the same with a 2,000-entry STI-PA CRL applied.
//! * `webpki/cold_transnexus`: the same chain through rustls-webpki 0.103 (PEM split, leaf
//!   parse, `verify_for_usage` with a prebuilt anchor), the alternative measured before
//!   choosing our own path checks (see `chain.rs` docs).
//! * `es256/raw_verify` and `es256/parsed_key_verify`: one ES256 signature check with
//!   aws-lc-rs from raw key bytes, and with the `ParsedPublicKey` a `VerifiedChain` hands out.
//! * `crl/lookup_2000`: one (issuer, serial) lookup in a 2,000-entry CRL; `crl/load_2000`:
//!   parse, index and signature-check that CRL.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use criterion::{Criterion, criterion_group, criterion_main};
use passport::UnixTime;
use pki::{CertificateChain, RevocationList, TrustAnchors, UnverifiedCrl};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use stirling_test::{CertOptions, CrlEntry, IndirectCrl, TEST_TIME, TestCert};
use webpki::aws_lc_rs::{
    ECDSA_P256_SHA256, ECDSA_P256_SHA384, ECDSA_P384_SHA256, ECDSA_P384_SHA384,
};

const ROOT: &[u8] = include_bytes!("../tests/data/real/transnexus_root_ca2.pem");
const LEAF: &[u8] = include_bytes!("../tests/data/real/transnexus_leaf_shaken_8526.pem");
const CA: &[u8] = include_bytes!("../tests/data/real/transnexus_issuing_ca5.pem");
const REPORT_TIME: u64 = 1_755_550_800;

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

struct Crl2000 {
    der: Vec<u8>,
    signer_pem: Vec<u8>,
    sti_pa: TrustAnchors,
    list: RevocationList,
    issuer_der: Vec<u8>,
}

/// 2,000 entries spread over 20 issuing CAs, each run of 100 naming its CA once (the rest
/// inherit it), as the production CRL groups entries.
fn crl_2000() -> Crl2000 {
    let root = TestCert::self_signed(&CertOptions::root("STI-PA Root Certificate"));
    let signer = root.issue(&CertOptions::crl_signer("STI-PA CRL"));
    let cas: Vec<Vec<u8>> = (0..20)
        .map(|i| {
            TestCert::self_signed(&CertOptions::root(&format!("STI-CA {i} SHAKEN Issuing")))
                .subject_der()
        })
        .collect();
    let entries = (0..2000u64)
        .map(|i| {
            let issuer = (i % 100 == 0).then(|| cas[(i / 100) as usize].clone());
            CrlEntry::new(issuer, 0x7000_0000_0000_0000 + i * 7919)
        })
        .collect();
    let der = IndirectCrl::new(entries).sign(&signer);
    let sti_pa = TrustAnchors::from_pem(root.pem().as_bytes()).unwrap();
    let signer_pem = signer.pem().into_bytes();
    let list = UnverifiedCrl::from_bytes(&der)
        .unwrap()
        .verify(&signer_pem, &sti_pa, at(TEST_TIME))
        .unwrap();
    assert_eq!(list.len(), 2000);
    Crl2000 {
        der,
        signer_pem,
        sti_pa,
        list,
        issuer_der: cas[7].clone(),
    }
}

fn benches(c: &mut Criterion) {
    let anchors = TrustAnchors::from_pem(ROOT).unwrap();
    let body = [LEAF, CA].concat();
    let crl = crl_2000();

    c.bench_function("chain/cold_transnexus", |b| {
        b.iter(|| {
            CertificateChain::from_pem(black_box(&body))
                .unwrap()
                .verify(&anchors, at(REPORT_TIME), None)
                .unwrap()
        })
    });
    c.bench_function("chain/cold_transnexus_crl2000", |b| {
        b.iter(|| {
            CertificateChain::from_pem(black_box(&body))
                .unwrap()
                .verify(&anchors, at(REPORT_TIME), Some(&crl.list))
                .unwrap()
        })
    });

    let root_der = CertificateDer::from_pem_slice(ROOT).unwrap();
    let webpki_anchors = [webpki::anchor_from_trusted_cert(&root_der).unwrap()];
    let algorithms = [
        ECDSA_P256_SHA256,
        ECDSA_P256_SHA384,
        ECDSA_P384_SHA256,
        ECDSA_P384_SHA384,
    ];
    c.bench_function("webpki/cold_transnexus", |b| {
        b.iter(|| {
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(black_box(&body))
                    .collect::<Result<_, _>>()
                    .unwrap();
            let ee = webpki::EndEntityCert::try_from(&certs[0]).unwrap();
            ee.verify_for_usage(
                &algorithms,
                &webpki_anchors,
                &certs[1..],
                at(REPORT_TIME),
                webpki::KeyUsage::required_if_present(&[0x55, 0x1D, 0x25, 0x00]),
                None,
                None,
            )
            .map(|_| ())
            .unwrap()
        })
    });

    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let message = b"eyJhbGciOiJFUzI1NiJ9.eyJpYXQiOjE3NTU1NTA4MDB9";
    let signature = key.sign(&rng, message).unwrap();
    let public = key.public_key().as_ref().to_vec();
    c.bench_function("es256/raw_verify", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, black_box(&public))
                .verify(message, signature.as_ref())
                .unwrap()
        })
    });
    let parsed =
        aws_lc_rs::signature::ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public).unwrap();
    c.bench_function("es256/parsed_key_verify", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(message), signature.as_ref())
                .unwrap()
        })
    });

    let revoked = (0x7000_0000_0000_0000u64 + 750 * 7919).to_be_bytes();
    let not_revoked = 0x1234u64.to_be_bytes();
    c.bench_function("crl/lookup_2000", |b| {
        b.iter(|| {
            let hit = crl
                .list
                .revocation_time(black_box(&crl.issuer_der), &revoked);
            let miss = crl
                .list
                .revocation_time(black_box(&crl.issuer_der), &not_revoked);
            assert!(hit.is_some() && miss.is_none());
        })
    });
    c.bench_function("crl/load_2000", |b| {
        b.iter(|| {
            UnverifiedCrl::from_bytes(black_box(&crl.der))
                .unwrap()
                .verify(&crl.signer_pem, &crl.sti_pa, at(TEST_TIME))
                .unwrap()
        })
    });
}

criterion_group!(pki_benches, benches);
criterion_main!(pki_benches);
