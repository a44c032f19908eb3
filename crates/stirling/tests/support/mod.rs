//! Fixtures shared by the stirling integration tests: here the call path (a test PKI, a real
//! HTTPS x5u server serving its chain on loopback, a verifier trusting its root, and a
//! one-tenant directory signing with its leaf); in [`service`] the `stirling serve --sandbox`
//! process.

#![allow(dead_code, unreachable_pub)] // Each test file uses part of it, through `mod support`.

pub mod lifecycle;
pub mod service;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use passport::{Attestation, Signer, SigningKey, TelephoneNumber, UnixTime};
use pki::TrustAnchors;
use rustls::RootCertStore;
use sti::{Clock, DangerousX5uConfig, X5uConfig};
use stirling::directory::{ActiveSigner, Directory, SbcRoute, TenantCalls};
use stirling::signing::{PolicyAction, PolicyRule, PolicyScope};
use stirling::sip_front::SbcMode;
use stirling::store::{CertificateId, TenantId, VersionId};
use stirling::verification::{FixedTrust, Verifier};
use stirling_test::{FixedHttpsServer, TEST_TIME, TestPki};

/// The clock of both the front and the verifier: a fixed instant just after `TEST_TIME`.
#[derive(Debug)]
pub struct At(pub u64);

impl Clock for At {
    fn now(&self) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(self.0))
    }
}

pub const NOW: u64 = TEST_TIME + 5;

pub struct Setup {
    pub pki: TestPki,
    pub server: FixedHttpsServer,
    pub verifier: Arc<Verifier>,
}

pub async fn setup() -> Setup {
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
        256,
    )
    .unwrap();
    Setup {
        pki,
        server,
        verifier: Arc::new(verifier),
    }
}

impl Setup {
    pub fn signer_at(&self, x5u: &str) -> Signer {
        let key = SigningKey::from_der(&self.pki.leaf.key().serialize_der()).unwrap();
        Signer::new(key, x5u).unwrap()
    }

    pub fn signer(&self, path: &str) -> Signer {
        let key = SigningKey::from_der(&self.pki.leaf.key().serialize_der()).unwrap();
        Signer::new(key, &self.server.url(path)).unwrap()
    }

    /// One tenant with one SBC at `source` in `mode`, attesting A (blocking 1215555019…),
    /// signing with `signer`.
    pub fn directory(&self, source: &str, mode: SbcMode, signer: Signer) -> Directory {
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
}

pub fn tn(s: &str) -> TelephoneNumber {
    TelephoneNumber::canonicalize(s).unwrap()
}
