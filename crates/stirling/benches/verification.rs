//! Full verification with a warm x5u/chain cache against raw ES256 verify, and cold chain
//! validation. Run: `cargo bench -p stirling --bench verification`.

#![allow(missing_docs, clippy::unwrap_used)] // Bench harness code.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use passport::{Attestation, Claims, Dest, Ppt, Signer, SigningKey, TelephoneNumber, UnixTime};
use pki::TrustAnchors;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use sti::{Clock, DangerousX5uConfig, X5uConfig};
use stirling::verification::{CallParties, FixedTrust, TrustedSigner, Verifier};
use stirling_test::{FixedHttpsServer, TEST_TIME, TestPki};

#[derive(Debug)]
struct At(u64);

impl Clock for At {
    fn now(&self) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(self.0))
    }
}

fn verification(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pki = TestPki::new();
    let server = rt.block_on(FixedHttpsServer::start(
        200,
        "application/pem-certificate-chain",
        pki.chain_pem().into_bytes(),
    ));
    let mut roots = RootCertStore::empty();
    roots.add(server.tls_root().clone()).unwrap();
    let config = X5uConfig {
        roots: Arc::new(roots),
        danger: DangerousX5uConfig {
            allowed_hosts: vec!["127.0.0.1".into()],
            extra_port: Some(server.addr().port()),
        },
        ..X5uConfig::default()
    };
    let anchors = TrustAnchors::from_pem(pki.root.pem().as_bytes()).unwrap();
    let verifier = Verifier::new(
        &config,
        Arc::new(FixedTrust::new(anchors.clone(), None)),
        Arc::new(At(TEST_TIME + 5)),
        60,
        1,
    )
    .unwrap();
    let signer = Signer::new(
        SigningKey::from_der(&pki.leaf.key().serialize_der()).unwrap(),
        &server.url("/cr/1234.pem"),
    )
    .unwrap();
    let tn = |s| TelephoneNumber::canonicalize(s).unwrap();
    let (orig, dest) = (tn("12155550121"), tn("12155550131"));
    let claims = Claims::shaken(
        Attestation::A,
        orig.clone(),
        Dest::tns(vec![dest.clone()]),
        TEST_TIME,
        "123e4567-e89b-12d3-a456-426655440000".into(),
    );
    let identity = signer.identity_header(Ppt::Shaken, &claims).unwrap();
    let parties = CallParties {
        orig: Some(&orig),
        dest: Some(&dest),
    };
    // Warm the cache.
    let first = rt.block_on(verifier.verify(&[&identity], parties));
    assert!(first.failure.is_none(), "{:?}", first.failure);

    let jws = identity.split(';').next().unwrap();
    let (input, sig) = jws.rsplit_once('.').unwrap();
    use base64::Engine as _;
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    let leaf = CertificateDer::from_pem_slice(pki.leaf.pem().as_bytes()).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
    let raw = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, cert.public_key().raw).unwrap();
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pki.chain_pem().as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
    let at = UnixTime::since_unix_epoch(Duration::from_secs(TEST_TIME));

    let mut g = c.benchmark_group("verification");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_es256_verify", |b| {
        b.iter(|| raw.verify_sig(black_box(input.as_bytes()), &sig).unwrap())
    });
    g.bench_function("full_verify_warm_cache", |b| {
        b.iter(|| {
            let v = rt.block_on(verifier.verify(black_box(&[&identity]), parties));
            assert!(v.failure.is_none());
        })
    });
    g.bench_function("chain_validation_cold", |b| {
        b.iter(|| TrustedSigner::validate(black_box(&chain), &anchors, at, None).unwrap())
    });
    g.finish();
    assert_eq!(server.requests(), 1, "the warm path never fetched again");
}

criterion_group!(benches, verification);
criterion_main!(benches);
