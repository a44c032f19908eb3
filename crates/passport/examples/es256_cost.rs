//! Runs N PASSporT or raw ES256 operations so `valgrind --tool=callgrind` can count their
//! instructions: a machine-independent ratio when wall-clock benchmarks are noisy.
//!
//! `cargo build --release -p passport --example es256_cost` then
//! `valgrind --tool=callgrind ./target/release/examples/es256_cost MODE N` with MODE one of
//! `setup`, `raw-sign`, `passport-sign`, `raw-verify`, `passport-verify`; subtract `setup`.

#![allow(clippy::unwrap_used)] // Measurement harness.

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    ParsedPublicKey,
};
use passport::{
    Attestation, Checks, Claims, Dest, IdentityHeader, Ppt, Signer, SigningKey, TelephoneNumber,
    UnixTime,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "setup".into());
    let n: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);

    let pkcs8 = SigningKey::generate().unwrap().secret_pkcs8_der().unwrap();
    let signer = Signer::new(
        SigningKey::from_der(&pkcs8).unwrap(),
        "https://cr.example.net/cr/1234/0f3c5e7a9b1d2f4e6a8c0b2d4f6e8a0c.pem",
    )
    .unwrap();
    let key = signer.verifying_key().unwrap();
    let claims = Claims::shaken(
        Attestation::A,
        TelephoneNumber::canonicalize("+12155550121").unwrap(),
        Dest::tns(vec![TelephoneNumber::canonicalize("+12155550131").unwrap()]),
        1_700_000_000,
        "123e4567-e89b-12d3-a456-426655440000".into(),
    );
    let identity = signer.identity_header(Ppt::Shaken, &claims).unwrap();
    let jws = identity.split(';').next().unwrap();
    let (input, _) = jws.rsplit_once('.').unwrap();
    let pair =
        EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).unwrap();
    let rng = SystemRandom::new();
    let raw_sig = pair.sign(&rng, input.as_bytes()).unwrap();
    let parsed =
        ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref()).unwrap();
    let checks = Checks::at(UnixTime::since_unix_epoch(Duration::from_secs(
        1_700_000_005,
    )));

    let mut sink = 0usize;
    for _ in 0..n {
        match mode.as_str() {
            "raw-sign" => sink += pair.sign(&rng, input.as_bytes()).unwrap().as_ref().len(),
            "passport-sign" => sink += signer.identity_header(Ppt::Shaken, &claims).unwrap().len(),
            "raw-verify" => {
                parsed
                    .verify_sig(input.as_bytes(), raw_sig.as_ref())
                    .unwrap();
                sink += 1;
            }
            "passport-verify" => {
                let v = IdentityHeader::parse(&identity)
                    .and_then(|h| h.passport())
                    .and_then(|p| p.verify(&key, &checks))
                    .unwrap();
                sink += v.payload_json().len();
            }
            _ => break,
        }
    }
    println!("{mode} {n} {sink}");
}
