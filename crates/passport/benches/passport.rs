//! PASSporT sign and verify against raw ES256 of aws-lc-rs, in one run so the result is a
//! ratio. Run: `cargo bench -p passport --bench passport`.

#![allow(missing_docs, clippy::unwrap_used)] // Bench harness code.

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    ParsedPublicKey,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use passport::{
    Attestation, Checks, Claims, Dest, IdentityHeader, Ppt, Signer, SigningKey, TelephoneNumber,
    UnixTime,
};

const X5U: &str = "https://cr.example.net/cr/1234/0f3c5e7a9b1d2f4e6a8c0b2d4f6e8a0c.pem";
const IAT: u64 = 1_700_000_000;

fn claims() -> Claims {
    Claims::shaken(
        Attestation::A,
        TelephoneNumber::canonicalize("+12155550121").unwrap(),
        Dest::tns(vec![TelephoneNumber::canonicalize("+12155550131").unwrap()]),
        IAT,
        "123e4567-e89b-12d3-a456-426655440000".into(),
    )
}

fn es256(c: &mut Criterion) {
    let pkcs8 = SigningKey::generate().unwrap().secret_pkcs8_der().unwrap();
    let signer = Signer::new(SigningKey::from_der(&pkcs8).unwrap(), X5U).unwrap();
    let key = signer.verifying_key().unwrap();
    let claims = claims();
    let identity = signer.identity_header(Ppt::Shaken, &claims).unwrap();
    let jws = identity.split(';').next().unwrap().to_owned();
    let (input, _) = jws.rsplit_once('.').unwrap();
    let input = input.as_bytes().to_vec();

    // The same key, raw, for the baseline.
    let pair =
        EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).unwrap();
    let rng = SystemRandom::new();
    let raw_sig = pair.sign(&rng, &input).unwrap();
    let parsed =
        ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref()).unwrap();
    let now = UnixTime::since_unix_epoch(Duration::from_secs(IAT + 5));
    let checks = Checks::at(now);

    let mut g = c.benchmark_group("es256");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_sign", |b| {
        b.iter(|| pair.sign(&rng, black_box(&input)).unwrap())
    });
    g.bench_function("passport_sign_identity_header", |b| {
        b.iter(|| {
            signer
                .identity_header(Ppt::Shaken, black_box(&claims))
                .unwrap()
        })
    });
    g.bench_function("raw_verify", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(&input), raw_sig.as_ref())
                .unwrap()
        })
    });
    g.bench_function("passport_verify_identity_header", |b| {
        b.iter(|| {
            IdentityHeader::parse(black_box(&identity))
                .and_then(|h| h.passport())
                .and_then(|p| p.verify(&key, &checks))
                .unwrap()
        })
    });
    let with_multiples = key.with_multiples().unwrap();
    g.bench_function("passport_verify_identity_header_key_multiples", |b| {
        b.iter(|| {
            IdentityHeader::parse(black_box(&identity))
                .and_then(|h| h.passport())
                .and_then(|p| p.verify(&with_multiples, &checks))
                .unwrap()
        })
    });
    g.bench_function("key_multiples_compute", |b| {
        b.iter(|| black_box(&key).with_multiples().unwrap())
    });
    g.finish();

    // The non-crypto share of signing, for locating overhead.
    c.bench_function("claims_canonical_json", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            black_box(&claims).write_canonical(&mut out);
            black_box(out.len())
        })
    });
}

criterion_group!(benches, es256);
criterion_main!(benches);
