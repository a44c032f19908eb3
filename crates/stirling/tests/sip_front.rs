//! The SIP front end to end: an in-process `sip::Server` on loopback running
//! [`SipFront`], sipp (package `sip-tester`) as the SBC over UDP and TCP, and a real HTTPS x5u
//! server serving the test PKI's chain. Scenarios are in `tests/sipp/`; sipp's message trace
//! gives the test the response it received.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use passport::{
    Attestation, Claims, Dest, Ppt, Signer, SigningKey, TelephoneNumber, UnixTime, Verstat,
};
use pki::TrustAnchors;
use rustls::RootCertStore;
use sip::{Server, ServerConfig};
use sti::{Clock, DangerousX5uConfig, X5uConfig};
use stirling::directory::{ActiveSigner, Directory, DirectoryHolder, SbcRoute, TenantCalls};
use stirling::signing::{PolicyAction, PolicyRule, PolicyScope};
use stirling::sip_front::{SbcMode, SipFront, SipFrontConfig};
use stirling::store::{CertificateId, TenantId, VersionId};
use stirling::verification::{CallParties, FixedTrust, Verifier};
use stirling_test::{FixedHttpsServer, SippRun, TEST_TIME, TestPki, headers};

/// The clock of both the front and the verifier: a fixed instant just after `TEST_TIME`.
#[derive(Debug)]
struct At(u64);

impl Clock for At {
    fn now(&self) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(self.0))
    }
}

const NOW: u64 = TEST_TIME + 5;

struct Setup {
    pki: TestPki,
    server: FixedHttpsServer,
    verifier: Arc<Verifier>,
}

async fn setup() -> Setup {
    let pki = TestPki::new();
    let server = FixedHttpsServer::start(
        200,
        "application/pem-certificate-chain",
        pki.chain_pem().into_bytes(),
    )
    .await;
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
        Arc::new(FixedTrust::new(anchors, None)),
        Arc::new(At(NOW)),
        60,
    )
    .unwrap();
    Setup {
        pki,
        server,
        verifier: Arc::new(verifier),
    }
}

impl Setup {
    fn signer(&self, path: &str) -> Signer {
        let key = SigningKey::from_der(&self.pki.leaf.key().serialize_der()).unwrap();
        Signer::new(key, &self.server.url(path)).unwrap()
    }

    /// One tenant with one SBC at `source` in `mode`, attesting A (blocking 1215555019…),
    /// signing with `signer`.
    fn directory(&self, source: &str, mode: SbcMode, signer: Signer) -> Directory {
        let tenant = TenantId::new();
        let certificate = CertificateId::new();
        let sbc = SbcRoute {
            id: None,
            tenant: tenant.clone(),
            name: "sbc-1".into(),
            source: source.parse().unwrap(),
            partition: String::new(),
            mode,
        };
        let calls = TenantCalls {
            policies: vec![
                PolicyRule {
                    scope: PolicyScope::Tenant,
                    action: PolicyAction::Attest(Attestation::A),
                    certificate: Some(certificate.clone()),
                },
                PolicyRule {
                    scope: PolicyScope::CallingPrefix("1215555019".into()),
                    action: PolicyAction::Block,
                    certificate: None,
                },
            ],
            signers: HashMap::from([(
                certificate.clone(),
                ActiveSigner {
                    version: VersionId::new(),
                    signer: Arc::new(signer),
                },
            )]),
            default_certificate: Some(certificate),
            reject_failed_verification: false,
        };
        Directory::new(vec![sbc], HashMap::from([(tenant, calls)]))
    }

    /// Runs a front for one SBC at `source` in `mode`; returns its UDP and TCP addresses and
    /// the directory holder.
    async fn front(
        &self,
        source: &str,
        mode: SbcMode,
    ) -> (SocketAddr, SocketAddr, Arc<DirectoryHolder>) {
        let holder = Arc::new(DirectoryHolder::new(self.directory(
            source,
            mode,
            self.signer("/cr/1234.pem"),
        )));
        let front = SipFront::new(
            SipFrontConfig::default(),
            holder.clone(),
            self.verifier.clone(),
            Arc::new(At(NOW)),
        );
        let config = ServerConfig {
            udp: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            tcp: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..ServerConfig::default()
        };
        let server = Server::bind(config, front).await.unwrap();
        let (udp, tcp) = (server.udp_addr().unwrap(), server.tcp_addr().unwrap());
        tokio::spawn(server.run());
        (udp, tcp, holder)
    }

    async fn verify(&self, identity: &str) -> stirling::verification::Verification {
        let (o, d) = (tn("12155550121"), tn("12155550131"));
        self.verifier
            .verify(
                &[identity],
                CallParties {
                    orig: Some(&o),
                    dest: Some(&d),
                },
            )
            .await
    }
}

fn tn(s: &str) -> TelephoneNumber {
    TelephoneNumber::canonicalize(s).unwrap()
}

/// Runs one call of `scenario` (in `tests/sipp/`) with sipp against `target`.
async fn sipp(
    scenario: &str,
    target: SocketAddr,
    transport: &str,
    keys: &[(&str, &str)],
) -> SippRun {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    let transport = transport.to_owned();
    let keys: Vec<(String, String)> = keys
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let keys: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        stirling_test::sipp(&path, target, &transport, &keys)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_over_udp_and_tcp() {
    let s = setup().await;
    let (udp, tcp, holder) = s.front("127.0.0.0/8", SbcMode::Both).await;
    for (target, t) in [(udp, "u1"), (tcp, "t1")] {
        let run = sipp("sign.xml", target, t, &[("orig", "+12155550121")]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        assert_eq!(
            headers(&msg, "Contact"),
            [format!("<sip:+12155550131@{target};user=phone>")],
            "{msg}"
        );
        let identity = headers(&msg, "Identity");
        assert_eq!(identity.len(), 1, "{msg}");
        assert!(
            identity[0].contains(&format!("info=<{}>", s.server.url("/cr/1234.pem"))),
            "{msg}"
        );
        let v = s.verify(&identity[0]).await;
        assert_eq!(v.verstat, Verstat::TnValidationPassed, "{:?}", v.failure);
        let claims = v.passport.unwrap().claims().clone();
        assert_eq!(claims.attest, Some(Attestation::A));
        assert_eq!(claims.origid.as_deref(), Some("origid-sipp-1"));
        assert_eq!(claims.iat, NOW, "no Date header: iat is our clock");

        // Anonymous: no telephone number to sign, the call goes on unsigned.
        let run = sipp("sign.xml", target, t, &[("orig", "anonymous")]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        assert!(headers(&msg, "Identity").is_empty(), "{msg}");
        assert_eq!(headers(&msg, "Contact").len(), 1, "{msg}");

        // Blocked by policy.
        let run = sipp("blocked.xml", target, t, &[]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 603");
        assert_eq!(
            headers(&msg, "Reason"),
            ["SIP;cause=603;text=\"sti-blocked\""],
            "{msg}"
        );
    }

    // A new certificate version is switched in for the next call.
    holder.replace(s.directory("127.0.0.0/8", SbcMode::Both, s.signer("/cr/1234-v2.pem")));
    let run = sipp("sign.xml", udp, "u1", &[("orig", "+12155550121")]).await;
    assert!(run.success, "{}", run.log);
    let msg = run.received("SIP/2.0 302");
    assert!(
        headers(&msg, "Identity")[0]
            .contains(&format!("info=<{}>", s.server.url("/cr/1234-v2.pem"))),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifies_over_udp_and_tcp() {
    let s = setup().await;
    let (udp, tcp, _) = s.front("127.0.0.1/32", SbcMode::Verify).await;
    let signer = s.signer("/cr/1234.pem");
    let claims = |iat| {
        Claims::shaken(
            Attestation::A,
            tn("12155550121"),
            Dest::tns(vec![tn("12155550131")]),
            iat,
            "origid-1".into(),
        )
    };
    let valid = signer
        .identity_header(Ppt::Shaken, &claims(TEST_TIME))
        .unwrap();
    let stale = signer
        .identity_header(Ppt::Shaken, &claims(TEST_TIME - 3600))
        .unwrap();
    // Flip one character in the middle of the signature.
    let sig_start = valid.find(';').unwrap() - 40;
    let mut tampered = valid.clone().into_bytes();
    tampered[sig_start] = if tampered[sig_start] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let tampered = String::from_utf8(tampered).unwrap();

    for (target, t) in [(udp, "u1"), (tcp, "t1")] {
        let run = sipp("verify.xml", target, t, &[("identity", &valid)]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        // No P-Asserted-Identity in the INVITE: built from From, tag dropped.
        let pai = headers(&msg, "P-Asserted-Identity");
        assert_eq!(pai.len(), 1, "{msg}");
        assert!(
            pai[0]
                .starts_with("\"sipp\" <sip:+12155550121;verstat=TN-Validation-Passed@127.0.0.1:")
                && pai[0].ends_with(";user=phone>"),
            "{msg}"
        );
        assert!(headers(&msg, "Reason").is_empty(), "{msg}");
        assert_eq!(
            headers(&msg, "X-Stirling-Attestation"),
            ["A; spc=1234"],
            "{msg}"
        );

        let run = sipp("verify.xml", target, t, &[("identity", &tampered)]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        let pai = headers(&msg, "P-Asserted-Identity");
        assert!(pai[0].contains(";verstat=TN-Validation-Failed@"), "{msg}");
        assert_eq!(
            headers(&msg, "Reason"),
            ["SIP;cause=438;text=\"Invalid Identity Header\""],
            "{msg}"
        );
        assert!(headers(&msg, "X-Stirling-Attestation").is_empty(), "{msg}");

        let run = sipp("verify.xml", target, t, &[("identity", &stale)]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        let pai = headers(&msg, "P-Asserted-Identity");
        assert!(pai[0].contains(";verstat=No-TN-Validation@"), "{msg}");
        assert_eq!(
            headers(&msg, "Reason"),
            ["SIP;cause=403;text=\"Stale Date\""],
            "{msg}"
        );

        // No Identity: the received P-Asserted-Identity gets No-TN-Validation, no Reason.
        let run = sipp("sign.xml", target, t, &[("orig", "+12155550121")]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        assert_eq!(
            headers(&msg, "P-Asserted-Identity"),
            ["\"Caller\" <sip:+12155550121;verstat=No-TN-Validation@127.0.0.1;user=phone>"],
            "{msg}"
        );
        assert!(headers(&msg, "Reason").is_empty(), "{msg}");
        assert!(headers(&msg, "Identity").is_empty(), "{msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_source_is_forbidden_over_udp_and_tcp() {
    let s = setup().await;
    // sipp sends from 127.0.0.1; the only SBC is 127.0.0.2.
    let (udp, tcp, _) = s.front("127.0.0.2/32", SbcMode::Both).await;
    for (target, t) in [(udp, "u1"), (tcp, "t1")] {
        let run = sipp("forbidden.xml", target, t, &[]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 403");
        assert!(headers(&msg, "Identity").is_empty(), "{msg}");
    }
}
