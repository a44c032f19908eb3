#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.
//! Issuance against the sandbox STI-PA and STI-CA, served in-process on 127.0.0.1, with a
//! SQLite store in a temporary directory (one case also on PostgreSQL at 127.0.0.1:5432).

mod support;

use std::sync::Arc;

use passport::UnixTime;
use pki::TrustAnchors;
use sandbox::{FaultTarget, Faults};
use sti::{Clock, DangerousX5uConfig, SystemClock, X5uConfig, X5uFetcher};
use stirling::lifecycle::issuance::{SelfCheck, Step, issue_certificate};
use stirling::store::{Backend, CertificateId, EventOutcome, Store, TenantId, VersionState};
use stirling::verification::TrustedSigner;
use support::lifecycle::{
    Running, TestStore, assert_nothing_stored, deps, entry, start_sandbox, start_sandbox_with,
};
use tokio::task::JoinHandle;

/// The steps of the entry's events, oldest first, as (step, outcome).
async fn events(store: &Store, tenant: &TenantId, cert: &CertificateId) -> Vec<(String, String)> {
    let mut events = store.list_events(tenant, cert, 1000).await.unwrap();
    events.reverse();
    events
        .into_iter()
        .map(|e| (e.step, e.outcome.as_str().to_owned()))
        .collect()
}

fn now() -> UnixTime {
    SystemClock.now()
}

/// Our repository (the whole HTTP application) served over HTTPS on loopback with a
/// generated loopback certificate, as `serve --sandbox` does: the self-check's target.
struct Repository {
    base: String,
    root: rustls_pki_types::CertificateDer<'static>,
    task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Repository {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn repository(store: &Store) -> Repository {
    let dir = tempfile::tempdir().unwrap();
    let (tls, root) = stirling::https::sandbox_tls(dir.path()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = stirling::http::router(stirling::http::AppState {
        store: store.clone(),
        clock: Arc::new(SystemClock),
        renew_now: stirling::lifecycle::scheduler::RenewNow::channel().0,
        auth: stirling::auth::Auth::new(false),
        mailer: None,
        renewal: Default::default(),
    });
    let task = tokio::spawn(stirling::https::serve(
        listener,
        Arc::new(tls),
        app,
        std::future::pending(),
    ));
    Repository {
        base: format!("https://127.0.0.1:{port}/"),
        root,
        task,
        _dir: dir,
    }
}

/// The self-check against `repository` at `base`, trusting the sandbox STI-CA.
fn self_check(repository: &Repository, base: &str, running: &Running) -> SelfCheck {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(repository.root.clone()).unwrap();
    let port = repository
        .base
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/');
    let x5u = X5uConfig {
        roots: Arc::new(roots),
        danger: DangerousX5uConfig {
            allowed_hosts: vec!["127.0.0.1".into()],
            extra_port: Some(port.parse().unwrap()),
        },
        ..X5uConfig::default()
    };
    SelfCheck {
        x5u_base: base.to_owned(),
        fetcher: X5uFetcher::new(&x5u).unwrap(),
        anchors: TrustAnchors::from_pem(running.sandbox.ca_root_pem().as_bytes()).unwrap(),
    }
}

async fn happy_path(store: &Store, running: &Running) {
    let repository = repository(store).await;
    let mut deps = deps(running).await;
    deps.self_check = Some(self_check(&repository, &repository.base, running));
    let (tenant, cert) = entry(store, "sandbox").await;

    let version = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap();
    assert_eq!(version.state, VersionState::Active);
    assert_eq!(
        store
            .active_version(&tenant, &cert)
            .await
            .unwrap()
            .unwrap()
            .id,
        version.id
    );
    assert_eq!(version.fingerprint.len(), 64);
    assert!(version.repository_path.starts_with("cr/1234/"));

    // The chain validates against the sandbox STI-CA root.
    let certs: Vec<_> =
        rustls_pki_types::pem::PemObject::pem_slice_iter(version.chain_pem.as_bytes())
            .collect::<Result<Vec<rustls_pki_types::CertificateDer<'static>>, _>>()
            .unwrap();
    let anchors = TrustAnchors::from_pem(running.sandbox.ca_root_pem().as_bytes()).unwrap();
    TrustedSigner::validate(&certs, &anchors, now(), None).unwrap();

    // The chain is published at the version's repository path.
    let published = store
        .published_chain(&version.repository_path, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(published.chain_pem, version.chain_pem);

    // Every step started and succeeded, in order.
    let mut want = Vec::new();
    for step in Step::ALL {
        want.push((step.as_str().to_owned(), "started".to_owned()));
        want.push((step.as_str().to_owned(), "succeeded".to_owned()));
    }
    assert_eq!(events(store, &tenant, &cert).await, want);
}

#[tokio::test]
async fn issues_an_active_version_that_validates_and_records_every_step() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    happy_path(&db.store, &running).await;
    db.cleanup().await;
}

#[tokio::test]
async fn issues_on_postgres_too() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Postgres).await;
    let store = db.store.clone();
    let outcome = tokio::spawn(async move { happy_path(&store, &running).await }).await;
    db.cleanup().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test]
async fn second_issuance_reuses_the_acme_account_and_retires_the_old_version() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let deps = deps(&running).await;
    let (tenant, cert) = entry(store, "sandbox").await;
    let directory = deps.acme.config().directory_url.clone();

    let first = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap();
    let account = store
        .acme_account(&tenant, &cert, &directory)
        .await
        .unwrap()
        .unwrap();
    let second = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap();
    let again = store
        .acme_account(&tenant, &cert, &directory)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.account_url, account.account_url);
    assert_eq!(
        again.key.public_key_spki_der().unwrap(),
        account.key.public_key_spki_der().unwrap()
    );

    assert_ne!(first.id, second.id);
    assert_ne!(first.fingerprint, second.fingerprint);
    assert_eq!(second.state, VersionState::Active);
    assert_eq!(
        store.version(&tenant, &first.id).await.unwrap().state,
        VersionState::Retired
    );
    assert_eq!(
        store
            .active_version(&tenant, &cert)
            .await
            .unwrap()
            .unwrap()
            .id,
        second.id
    );
    db.cleanup().await;
}

#[tokio::test]
async fn wrong_password_fails_at_login_once_and_stores_no_version() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let deps = deps(&running).await;
    let (tenant, cert) = entry(store, "not-the-password").await;

    let failure = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap_err();
    assert_eq!(failure.step, Step::StiPaLogin);
    assert!(failure.error.contains("401"), "{}", failure.error);
    assert!(!failure.error.contains("not-the-password"));
    assert_nothing_stored(store, &tenant, &cert).await;

    let events = store.list_events(&tenant, &cert, 100).await.unwrap();
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.outcome == EventOutcome::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{events:?}");
    assert_eq!(failed[0].step, "sti_pa_login");
    let text = failed[0].error_text.as_deref().unwrap();
    assert!(
        text.contains("401") && !text.contains("not-the-password"),
        "{text}"
    );
    // One login attempt only: no retry storm.
    let logins = events
        .iter()
        .filter(|e| e.step == "sti_pa_login" && e.outcome == EventOutcome::Started)
        .count();
    assert_eq!(logins, 1);
    // Nothing after the login ran.
    assert!(events.iter().all(|e| e.step != "spc_token"));
    db.cleanup().await;
}

#[tokio::test]
async fn ca_failure_is_a_typed_failure_at_the_acme_step_and_activates_nothing() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let deps = deps(&running).await;
    let (tenant, cert) = entry(store, "sandbox").await;

    running.sandbox.set_faults(Faults {
        fail_next: 1000,
        fail_status: 503,
        fail_target: FaultTarget::Ca,
        ..Faults::default()
    });
    let failure = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap_err();
    assert_eq!(failure.step, Step::AcmeAccount, "{failure}");
    assert_nothing_stored(store, &tenant, &cert).await;
    db.cleanup().await;
}

#[tokio::test]
async fn expired_tokens_fail_the_order_and_activate_nothing() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let deps = deps(&running).await;
    let (tenant, cert) = entry(store, "sandbox").await;

    // The attempt's SPC token is expired when issued: the STI-CA refuses the challenge.
    running.sandbox.set_faults(Faults {
        expired_token_next: 1,
        ..Faults::default()
    });
    let failure = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap_err();
    assert_eq!(failure.step, Step::AcmeOrder, "{failure}");
    assert_nothing_stored(store, &tenant, &cert).await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_failed_self_check_leaves_the_version_pending_and_the_old_one_active() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let repository = repository(store).await;
    let (tenant, cert) = entry(store, "sandbox").await;
    let mut deps = deps(&running).await;
    deps.self_check = Some(self_check(&repository, &repository.base, &running));
    let first = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap();

    // The published x5u base is wrong (as after a misconfigured proxy): our own fetch of the
    // new version gets a 404, so it must not be activated.
    let wrong = format!("{}missing/", repository.base);
    deps.self_check = Some(self_check(&repository, &wrong, &running));
    let failure = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap_err();
    assert_eq!(failure.step, Step::SelfCheck, "{failure}");
    assert!(failure.error.contains("missing/cr/1234/"), "{failure}");
    let active = store.active_version(&tenant, &cert).await.unwrap().unwrap();
    assert_eq!(active.id, first.id);
    let versions = store.list_versions(&tenant, &cert).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert!(
        versions
            .iter()
            .any(|v| v.id != first.id && v.state == VersionState::Pending)
    );
    db.cleanup().await;
}

#[tokio::test]
async fn a_ca_requiring_external_account_binding_gets_it_from_the_environment() {
    let mac = b"0123456789abcdef0123456789abcdef".to_vec();
    let running = start_sandbox_with(|config| {
        config.external_account = Some(sandbox::ExternalAccountKey {
            kid: "stirling-eab".into(),
            secret_hmac_key: mac.clone(),
        });
    })
    .await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let (tenant, cert) = entry(store, "sandbox").await;

    // Without EAB the STI-CA refuses the account: nothing issued.
    let deps_without = deps(&running).await;
    let failure = issue_certificate(store, &tenant, &cert, &deps_without)
        .await
        .unwrap_err();
    assert_eq!(failure.step, Step::AcmeAccount, "{failure}");

    let mut deps_with = deps(&running).await;
    use base64::Engine as _;
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac);
    deps_with.external_account =
        Some(sti::ExternalAccountBinding::from_base64url("stirling-eab", &key).unwrap());
    let version = issue_certificate(store, &tenant, &cert, &deps_with)
        .await
        .unwrap();
    assert_eq!(version.state, VersionState::Active);
    db.cleanup().await;
}
