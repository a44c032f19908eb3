//! The ACME client against acme2certifier 0.46.3 (software we did not write), run locally on
//! 127.0.0.1 with the recipe of `reference/acme2certifier.md`: the scripts in
//! `tests/interop/acme2certifier/` install it into a venv (PyPI, first run only), make a test
//! CA, and start it with a CA handler that copies TNAuthList into the certificate.
//!
//! Needs `python3` with `venv`, the `openssl` CLI and, on the first run, PyPI. Set
//! `STIRLING_SKIP_ACME2CERTIFIER=1` to skip where those cannot be had; the test fails
//! otherwise, so a missing prerequisite is never silently green.

#![allow(clippy::panic, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use passport::SigningKey;
use pki::{CsrParams, TnAuthList};
use sti::{
    AcmeClient, AcmeConfig, AcmeError, IdentifierEncoding, NewAccount, OrderRequest, ProblemType,
    RevocationReason,
};

/// Stops the server (by the PID its script recorded) however the test ends.
struct Server {
    dir: PathBuf,
    url: String,
}

impl Server {
    fn start(tls: bool) -> Self {
        let dir = a2c_dir();
        let up = scripts().join("a2c-up.sh");
        let out = Command::new("bash")
            .arg(&up)
            .env("A2C_DIR", &dir)
            .env("A2C_PORT", "0")
            .env("A2C_TLS", if tls { "1" } else { "0" })
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "a2c-up.sh failed (needs python3 with venv, openssl, PyPI on first run; \
             STIRLING_SKIP_ACME2CERTIFIER=1 skips): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let scheme = if tls { "https" } else { "http" };
        assert!(url.starts_with(&format!("{scheme}://127.0.0.1:")), "{url}");
        Self { dir, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(scripts().join("a2c-down.sh"))
            .env("A2C_DIR", &self.dir)
            .status();
    }
}

fn a2c_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("acme2certifier")
}

/// Writes `cert.pem` (server certificate for 127.0.0.1, then its root) and `key.pem` into
/// `dir`; returns the root.
fn write_tls_server_cert(dir: &Path) -> rustls_pki_types::CertificateDer<'static> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
    let mut root_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let root = CertifiedIssuer::self_signed(root_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    let cert = params.signed_by(&key, &root).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("cert.pem"),
        format!("{}{}", cert.pem(), root.pem()),
    )
    .unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    root.der().clone()
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/acme2certifier")
}

fn skip() -> bool {
    let skip = std::env::var_os("STIRLING_SKIP_ACME2CERTIFIER").is_some();
    if skip {
        eprintln!("skipped: STIRLING_SKIP_ACME2CERTIFIER is set");
    }
    skip
}

fn config(url: &str) -> AcmeConfig {
    let mut config = AcmeConfig::new(url);
    config.danger.allow_http = true;
    config.request_timeout = std::time::Duration::from_secs(20);
    config.poll_timeout = std::time::Duration::from_secs(30);
    config
}

fn account_request() -> NewAccount {
    NewAccount {
        contact: vec!["mailto:noc@stirling.example".into()],
        terms_of_service_agreed: true,
        ..NewAccount::default()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("no token")]
struct NoToken;

#[tokio::test(flavor = "multi_thread")]
async fn full_order_for_spc_1234_and_revocation() {
    if skip() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let server = Server::start(false);
    let client = AcmeClient::connect(config(&server.url)).await.unwrap();
    assert!(client.directory().new_order.contains("/acme/"));

    let account = client
        .new_account(SigningKey::generate().unwrap(), &account_request())
        .await
        .unwrap();
    assert!(account.url().contains("/acme/acct/"), "{}", account.url());

    // Same key again: 200 and the same account URL.
    let again = client
        .new_account(
            SigningKey::from_der(&account.key().secret_pkcs8_der().unwrap()).unwrap(),
            &account_request(),
        )
        .await
        .unwrap();
    assert_eq!(again.url(), account.url());

    let list = TnAuthList::from_base64("MAigBhYEMTIzNA==").unwrap();
    assert_eq!(list.spc().map(|s| s.as_str()), Some("1234"));
    let csr = CsrParams::new(list.clone()).sign_with_new_key().unwrap();
    let request = OrderRequest {
        tn_auth_list: list.clone(),
        not_before: None,
        not_after: None,
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let chain = client
        .issue(&account, &request, csr.der(), move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok::<_, NoToken>("eyJhbGciOiJFUzI1NiJ9.eyJ0ZXN0Ijp0cnVlfQ.c2ln".to_owned())
            }
        })
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(chain.der_chain.len(), 2, "leaf + test CA");
    assert_eq!(chain.leaf_tn_auth_list().unwrap(), Some(list.clone()));
    let ca_pem = std::fs::read_to_string(server.dir.join("ca/ca-cert.pem")).unwrap();
    assert!(chain.pem.ends_with(&ca_pem), "chain ends with the test CA");

    // revokeCert: 200 with an empty body, then alreadyRevoked.
    let leaf = &chain.der_chain[0];
    client
        .revoke(&account, leaf, Some(RevocationReason::Superseded))
        .await
        .unwrap();
    let err = client.revoke(&account, leaf, None).await.unwrap_err();
    assert!(
        matches!(&err, AcmeError::Problem { problem, .. } if problem.kind == ProblemType::AlreadyRevoked),
        "{err}"
    );

    // base64url identifier: acme2certifier compares it with padded base64 of the CSR
    // extension, so finalize fails with badCSR, and the client stops there.
    let mut url_config = config(&server.url);
    url_config.identifier_encoding = IdentifierEncoding::Base64Url;
    let url_client = AcmeClient::connect(url_config).await.unwrap();
    let err = url_client
        .issue(&account, &request, csr.der(), || async {
            Ok::<_, NoToken>("token".to_owned())
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AcmeError::Problem { problem, .. } if problem.kind == ProblemType::BadCsr),
        "{err}"
    );

    // An empty token is refused (malformed "SPC token is missing") on every attempt.
    let err = client
        .issue(&account, &request, csr.der(), || async {
            Ok::<_, NoToken>(String::new())
        })
        .await
        .unwrap_err();
    match err {
        AcmeError::ChallengeRejected {
            problem: Some(problem),
            ..
        } => assert_eq!(problem.kind, ProblemType::Malformed),
        other => panic!("{other}"),
    }
}

/// Same server over HTTPS: the client's rustls (aws-lc-rs) stack with a private trust anchor,
/// and `allow_http` off. Runs after the HTTP test in the same binary would be racy (one
/// `A2C_DIR`), so both share a lock.
#[tokio::test(flavor = "multi_thread")]
async fn full_order_over_https() {
    if skip() {
        return;
    }
    let _serial = SERIAL.lock().await;
    // The recipe's own self-signed TLS certificate is CA:TRUE, which webpki rightly refuses
    // as a server certificate (CaUsedAsEndEntity); a2c-up.sh keeps an existing one, so put a
    // root-issued server certificate for 127.0.0.1 in its place and trust the root.
    let root = write_tls_server_cert(&a2c_dir().join("tls"));
    let server = Server::start(true);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root).unwrap();
    let mut config = AcmeConfig::new(server.url.clone());
    config.roots = Arc::new(roots);
    config.request_timeout = std::time::Duration::from_secs(20);
    config.poll_timeout = std::time::Duration::from_secs(30);
    let client = AcmeClient::connect(config).await.unwrap();
    let account = client
        .new_account(SigningKey::generate().unwrap(), &account_request())
        .await
        .unwrap();
    let list = TnAuthList::from_base64("MAigBhYEMTIzNA==").unwrap();
    let csr = CsrParams::new(list.clone()).sign_with_new_key().unwrap();
    let request = OrderRequest {
        tn_auth_list: list.clone(),
        not_before: None,
        not_after: None,
    };
    let chain = client
        .issue(&account, &request, csr.der(), || async {
            Ok::<_, NoToken>("eyJhbGciOiJFUzI1NiJ9.e30.c2ln".to_owned())
        })
        .await
        .unwrap();
    assert_eq!(chain.leaf_tn_auth_list().unwrap(), Some(list));

    // The production default (https only) refuses the plain-http variant outright.
    let mut http_config = AcmeConfig::new(server.url.replacen("https://", "http://", 1));
    http_config.request_timeout = std::time::Duration::from_secs(5);
    let err = AcmeClient::connect(http_config).await.unwrap_err();
    assert!(matches!(err, AcmeError::Transport { .. }), "{err}");
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
