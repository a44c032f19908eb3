//! The verification service end to end over a real HTTPS x5u server on loopback: each
//! outcome of `standards.md` §2.3 with its code and verstat, and the cache at work.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::sync::Arc;
use std::time::Duration;

use passport::{
    Attestation, Claims, Dest, Ppt, Signer, SigningKey, TelephoneNumber, UnixTime, Verstat,
};
use pki::TrustAnchors;
use rustls::RootCertStore;
use std::sync::Mutex;
use sti::{Clock, DangerousX5uConfig, X5uConfig};

use pki::UnverifiedCrl;
use sti::{CrlPolicy, TrustStore};
use stirling::verification::{
    CallParties, FixedTrust, TrustSnapshot, TrustSource, Verification, VerificationFailure,
    Verifier,
};
use stirling_test::{CertOptions, CrlEntry, IndirectCrl, TestCert};
use stirling_test::{FixedHttpsServer, TEST_TIME, TestPki};

#[derive(Debug)]
struct At(u64);

impl Clock for At {
    fn now(&self) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(self.0))
    }
}

struct Setup {
    pki: TestPki,
    server: FixedHttpsServer,
    verifier: Verifier,
    signer: Signer,
}

impl Setup {
    /// A valid Identity header value from the set-up's signer, `iat` = [`TEST_TIME`].
    fn identity(&self) -> String {
        self.signer
            .identity_header(Ppt::Shaken, &claims(TEST_TIME))
            .unwrap()
    }
}

async fn setup(anchor_pem: Option<String>, now: u64) -> Setup {
    let pki = TestPki::new();
    let server = FixedHttpsServer::start(
        200,
        "application/pem-certificate-chain",
        pki.chain_pem().into_bytes(),
    )
    .await;
    let anchors =
        TrustAnchors::from_pem(anchor_pem.unwrap_or_else(|| pki.root.pem()).as_bytes()).unwrap();
    let verifier = verifier_for(&server, anchors, now);
    let key = SigningKey::from_der(&pki.leaf.key().serialize_der()).unwrap();
    let signer = Signer::new(key, &server.url("/cr/1234.pem")).unwrap();
    Setup {
        pki,
        server,
        verifier,
        signer,
    }
}

fn verifier_for(server: &FixedHttpsServer, anchors: TrustAnchors, now: u64) -> Verifier {
    verifier_with(server, Arc::new(FixedTrust::new(anchors, None)), now)
}

fn verifier_with(server: &FixedHttpsServer, trust: Arc<dyn TrustSource>, now: u64) -> Verifier {
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
    Verifier::new(&config, trust, Arc::new(At(now)), 60, 256).unwrap()
}

fn tn(s: &str) -> TelephoneNumber {
    TelephoneNumber::canonicalize(s).unwrap()
}

fn claims(iat: u64) -> Claims {
    Claims::shaken(
        Attestation::A,
        tn("12155550121"),
        Dest::tns(vec![tn("12155550131")]),
        iat,
        "origid-1".into(),
    )
}

async fn verify(verifier: &Verifier, fields: &[&str]) -> Verification {
    let (o, d) = (tn("+1 215 555 0121"), tn("12155550131"));
    verifier
        .verify(
            fields,
            CallParties {
                orig: Some(&o),
                dest: Some(&d),
            },
        )
        .await
}

/// The Identity header value with the first character of its signature changed.
fn tampered(identity: &str) -> String {
    let (rest, info) = identity.split_once(';').unwrap();
    let (signed, signature) = rest.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    format!("{signed}.{flipped}{};{info}", &signature[1..])
}

fn code(v: &Verification) -> Option<u16> {
    v.failure.as_ref().map(|f| f.sip_failure().code)
}

#[tokio::test]
async fn a_valid_passport_passes_and_the_chain_is_fetched_once() {
    let s = setup(None, TEST_TIME + 5).await;
    let identity = s.identity();
    for _ in 0..3 {
        let v = verify(&s.verifier, &[&identity]).await;
        assert_eq!(v.verstat, Verstat::TnValidationPassed, "{:?}", v.failure);
        assert_eq!(v.signer.as_ref().unwrap().chain().spc().as_str(), "1234");
        assert_eq!(
            v.passport.as_ref().unwrap().claims().attest,
            Some(Attestation::A)
        );
    }
    assert_eq!(s.server.requests(), 1, "warm lookups do not fetch");
    let _ = &s.pki;
}

#[tokio::test]
async fn a_busy_signer_verifies_with_its_multiples() {
    let s = setup(None, TEST_TIME + 5).await;
    let good = s.identity();
    let tampered = tampered(&good);
    for call in 1..=24 {
        // Two verifications per round: the 32nd computes the key's multiples, in round 16;
        // every later one uses them.
        assert_eq!(
            s.verifier.precomputed_keys(),
            usize::from(call > 16),
            "call {call}"
        );
        let v = verify(&s.verifier, &[&good]).await;
        assert_eq!(v.verstat, Verstat::TnValidationPassed, "call {call}");
        let v = verify(&s.verifier, &[&tampered]).await;
        assert_eq!(code(&v), Some(438), "call {call}");
    }
    assert_eq!(s.verifier.precomputed_keys(), 1);
}

#[tokio::test]
async fn each_failure_has_its_code_and_verstat() {
    let s = setup(None, TEST_TIME + 5).await;
    let good = s.identity();

    // Tampered signature → 438, Failed.
    let v = verify(&s.verifier, &[&tampered(&good)]).await;
    assert_eq!(
        (code(&v), v.verstat),
        (Some(438), Verstat::TnValidationFailed)
    );

    // Stale → 403, No-TN-Validation.
    let stale = s
        .signer
        .identity_header(Ppt::Shaken, &claims(TEST_TIME - 61))
        .unwrap();
    let v = verify(&s.verifier, &[&stale]).await;
    assert_eq!((code(&v), v.verstat), (Some(403), Verstat::NoTnValidation));

    // No Identity → No-TN-Validation without a failure.
    let v = verify(&s.verifier, &[]).await;
    assert_eq!((code(&v), v.verstat), (None, Verstat::NoTnValidation));

    // Garbage → 438.
    let v = verify(&s.verifier, &["not a jws;info=<https://127.0.0.1/x>"]).await;
    assert_eq!(code(&v), Some(438));
}

#[tokio::test]
async fn an_unknown_ca_is_437_and_an_unreachable_x5u_436() {
    let other_root = TestPki::new().root.pem();
    let s = setup(Some(other_root), TEST_TIME + 5).await;
    let identity = s.identity();
    let v = verify(&s.verifier, &[&identity]).await;
    assert_eq!(
        (code(&v), v.verstat),
        (Some(437), Verstat::TnValidationFailed)
    );

    // Nothing listens on the x5u's port: 436.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let key = SigningKey::from_der(&s.pki.leaf.key().serialize_der()).unwrap();
    let signer = Signer::new(key, &format!("https://127.0.0.1:{port}/cr.pem")).unwrap();
    let identity = signer
        .identity_header(Ppt::Shaken, &claims(TEST_TIME))
        .unwrap();
    let v = verify(&s.verifier, &[&identity]).await;
    assert_eq!((code(&v), v.verstat), (Some(436), Verstat::NoTnValidation));
}

#[tokio::test]
async fn several_headers_pass_when_one_shaken_passes_else_the_most_specific_fails() {
    let s = setup(None, TEST_TIME + 5).await;
    let good = s.identity();
    let stale = s
        .signer
        .identity_header(Ppt::Shaken, &claims(TEST_TIME - 100))
        .unwrap();
    let garbage = "x.y.z;info=<https://127.0.0.1/a>";
    let v = verify(&s.verifier, &[garbage, &good]).await;
    assert_eq!(v.verstat, Verstat::TnValidationPassed);
    // Garbage stops at parsing, the stale one got past the signature: 403 is reported.
    let v = verify(&s.verifier, &[&stale, garbage]).await;
    assert_eq!(code(&v), Some(403));
    let v = verify(&s.verifier, &[garbage, &stale]).await;
    assert_eq!(code(&v), Some(403));
}

#[tokio::test]
async fn the_numbers_must_match() {
    let s = setup(None, TEST_TIME + 5).await;
    let identity = s.identity();
    let other = tn("12155550199");
    let v = s
        .verifier
        .verify(
            &[&identity],
            CallParties {
                orig: Some(&other),
                dest: None,
            },
        )
        .await;
    assert_eq!(code(&v), Some(438));
}

#[tokio::test]
async fn a_revoked_leaf_is_437() {
    let s = setup(None, TEST_TIME + 5).await;
    let pa_root = TestCert::self_signed(&CertOptions::root("STI-PA Root Certificate"));
    let crl_signer = pa_root.issue(&CertOptions::crl_signer("STI-PA CRL"));
    let crl = IndirectCrl::new(vec![CrlEntry::for_cert(&s.pki.leaf)]).sign(&crl_signer);
    let revocation = UnverifiedCrl::from_bytes(&crl)
        .unwrap()
        .verify(
            crl_signer.pem().as_bytes(),
            &TrustAnchors::from_pem(pa_root.pem().as_bytes()).unwrap(),
            UnixTime::since_unix_epoch(Duration::from_secs(TEST_TIME)),
        )
        .unwrap();
    let anchors = TrustAnchors::from_pem(s.pki.root.pem().as_bytes()).unwrap();
    let verifier = verifier_with(
        &s.server,
        Arc::new(FixedTrust::new(anchors, Some(revocation))),
        TEST_TIME + 5,
    );
    let identity = s.identity();
    let v = verify(&verifier, &[&identity]).await;
    assert_eq!(
        (code(&v), v.verstat),
        (Some(437), Verstat::TnValidationFailed)
    );
    assert!(
        matches!(v.failure, Some(VerificationFailure::Chain(_))),
        "{:?}",
        v.failure
    );
}

#[tokio::test]
async fn without_a_ca_list_nothing_is_trusted() {
    let s = setup(None, TEST_TIME + 5).await;
    let verifier = verifier_with(
        &s.server,
        Arc::new(TrustStore::new(CrlPolicy::Soft)),
        TEST_TIME + 5,
    );
    let identity = s.identity();
    let v = verify(&verifier, &[&identity]).await;
    assert_eq!(
        (code(&v), v.verstat),
        (Some(437), Verstat::TnValidationFailed)
    );
    assert!(
        matches!(
            v.failure,
            Some(VerificationFailure::TrustUnavailable { .. })
        ),
        "{:?}",
        v.failure
    );
}

/// Trust whose anchors a test can replace, bumping the epoch like the trust list does.
struct Switchable {
    snapshot: Mutex<(TrustSnapshot, u64)>,
}

impl TrustSource for Switchable {
    fn snapshot(&self, _now: UnixTime) -> Result<TrustSnapshot, VerificationFailure> {
        Ok(self.snapshot.lock().unwrap().0.clone())
    }

    fn epoch(&self) -> u64 {
        self.snapshot.lock().unwrap().1
    }
}

#[tokio::test]
async fn new_trust_data_clears_validated_chains() {
    let s = setup(None, TEST_TIME + 5).await;
    let snapshot = |anchors: TrustAnchors| TrustSnapshot {
        anchors: Arc::new(anchors),
        revocation: None,
    };
    let trust = Arc::new(Switchable {
        snapshot: Mutex::new((
            snapshot(TrustAnchors::from_pem(s.pki.root.pem().as_bytes()).unwrap()),
            1,
        )),
    });
    let verifier = verifier_with(&s.server, trust.clone(), TEST_TIME + 5);
    let identity = s.identity();
    assert_eq!(
        verify(&verifier, &[&identity]).await.verstat,
        Verstat::TnValidationPassed
    );
    // The CA is dropped from the list: the cached chain must not keep passing.
    let other = TrustAnchors::from_pem(TestPki::new().root.pem().as_bytes()).unwrap();
    *trust.snapshot.lock().unwrap() = (snapshot(other), 2);
    let v = verify(&verifier, &[&identity]).await;
    assert_eq!(code(&v), Some(437));
    assert_eq!(
        s.server.requests(),
        2,
        "re-fetched and re-validated after the change"
    );
}
