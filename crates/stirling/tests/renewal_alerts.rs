//! The renewal scheduler against the sandbox STI-PA/STI-CA in-process, with alert mails
//! received by an SMTP server inside the test: a refused STI-PA password is tried once, mailed
//! once, and not retried until the entry is corrected; the corrected entry is issued and a
//! recovery mail follows; "Renew now" issues a new version at once.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sandbox::{Sandbox, SandboxConfig, Seed};
use sti::{
    AcmeConfig, Clock, DangerousAcmeConfig, DangerousStiPaConfig, FingerprintInput, StiPaClient,
    StiPaConfig, SystemClock,
};
use stirling::entry::{EntryForm, Environment, StiPaPassword};
use stirling::lifecycle::alert::{Mailer, SmtpConfig, SmtpSecurity};
use stirling::lifecycle::renewal::RenewalPolicy;
use stirling::lifecycle::scheduler::{Alerts, Issuer, RenewNow, Scheduler};
use stirling::secrets::{MasterKey, SecretString};
use stirling::store::{CertificateId, NewTenant, Store, TenantId, VersionState};
use stirling_test::SmtpSink;
use tokio::sync::Notify;

/// The sandbox STI-PA's login route, as its request counter names it.
const LOGIN_ROUTE: &str = "/api/v1/auth/login";

async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_are_mailed_once_then_fixed_entries_recover() {
    // The sandbox STI-PA and STI-CA on an ephemeral loopback port.
    let sandbox_dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sandbox = Sandbox::open(
        sandbox_dir.path(),
        SandboxConfig::new(base.clone()),
        &Seed::demo(),
    )
    .unwrap();
    let app = sandbox::router(sandbox.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let store = Store::connect(
        &url,
        4,
        Arc::new(MasterKey::from_bytes(&[3u8; 32]).unwrap()),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let now = SystemClock.now();
    let tenant = store
        .create_tenant(
            &NewTenant {
                name: "acme".into(),
                company: "Acme Telecom".into(),
                technical_contact_name: "Ada Ops".into(),
                technical_contact_phone: "+12025550100".into(),
                system_email: "noc@acme.example".into(),
            },
            now,
        )
        .await
        .unwrap();
    let entry = EntryForm {
        name: "Main".into(),
        spid: "1234".into(),
        sti_pa_account_id: "1234".into(),
        sti_pa_user_id: "sandbox".into(),
        sti_pa_password: SecretString::new("wrong password".into()),
        environment: "sandbox".into(),
    }
    .validate()
    .unwrap();
    let cert = store
        .create_certificate(&tenant.id, &entry, now)
        .await
        .unwrap();

    let sink = SmtpSink::start().await;
    let mailer = Mailer::new(&SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.addr().port(),
        security: SmtpSecurity::DangerPlaintext,
        username: None,
        password: None,
        from: "Stirling <stirling@sp.example>".into(),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let issuer = Issuer {
        sti_pa: StiPaClient::new(&StiPaConfig {
            danger: DangerousStiPaConfig { allow_http: true },
            ..StiPaConfig::new(format!("{base}/").parse().unwrap())
        })
        .unwrap(),
        acme: AcmeConfig {
            danger: DangerousAcmeConfig { allow_http: true },
            ..AcmeConfig::new(format!("{base}/acme/directory"))
        },
        fingerprint_input: FingerprintInput::SpkiDer,
        external_account: None,
    };
    let activated = Arc::new(Notify::new());
    let scheduler = Scheduler {
        store: store.clone(),
        issuers: HashMap::from([(Environment::Sandbox, issuer)]),
        policy: RenewalPolicy {
            retry_base: Duration::from_millis(200),
            ..RenewalPolicy::default()
        },
        check_interval: Duration::from_millis(100),
        self_check: HashMap::new(),
        alerts: Some(Alerts {
            mailer,
            interval: Duration::from_secs(3_600),
        }),
        activated: activated.clone(),
        clock: Arc::new(SystemClock),
    };
    let (renew_now, requests) = RenewNow::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(scheduler.run(requests, async {
        let _ = stopped.await;
    }));

    // The wrong password: one login, one mail that says Stirling waits for a correction.
    until("the failure mail", || async { !sink.received().is_empty() }).await;
    let mail = sink.received()[0].clone();
    assert_eq!(mail.to, ["noc@acme.example"]);
    assert!(
        mail.data
            .contains("certificate generation failed for Main (SPID 1234)")
    );
    assert!(mail.data.contains("Step:   sti_pa_login"), "{}", mail.data);
    assert!(
        mail.data.contains("will not retry on its own"),
        "{}",
        mail.data
    );
    assert!(!mail.data.contains("wrong password"), "{}", mail.data);
    // Many check intervals later: still one login and one mail, nothing issued.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(sandbox.request_count(LOGIN_ROUTE), 1);
    assert_eq!(sink.received().len(), 1);
    assert!(
        store
            .active_version(&tenant.id, &cert.id)
            .await
            .unwrap()
            .is_none()
    );

    // The operator corrects the password: the next look issues, and a recovery mail follows.
    let fixed = StiPaPassword::parse(SecretString::new("sandbox".into())).unwrap();
    store
        .set_certificate_password(&tenant.id, &cert.id, &fixed, SystemClock.now())
        .await
        .unwrap();
    let first = active(&store, &tenant.id, &cert.id).await;
    until("the recovery mail", || async { sink.received().len() == 2 }).await;
    let recovered = &sink.received()[1];
    assert!(
        recovered
            .data
            .contains("certificate generation recovered for Main (SPID 1234)"),
        "{}",
        recovered.data
    );

    // Renew now: a new version although the first is far from due.
    renew_now.request(&tenant.id, &cert.id).unwrap();
    until("the renewed version", || async {
        store
            .active_version(&tenant.id, &cert.id)
            .await
            .unwrap()
            .is_some_and(|v| v.id != first)
    })
    .await;
    let versions = store.list_versions(&tenant.id, &cert.id).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        versions
            .iter()
            .filter(|v| v.state == VersionState::Retired)
            .count(),
        1
    );
    // No more mail: nothing failed.
    assert_eq!(sink.received().len(), 2);

    let _ = stop.send(());
    task.await.unwrap();
}

/// Waits for an active version and returns its id.
async fn active(
    store: &Store,
    tenant: &TenantId,
    cert: &CertificateId,
) -> stirling::store::VersionId {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = store.active_version(tenant, cert).await.unwrap() {
            return v.id;
        }
        assert!(Instant::now() < deadline, "no active version");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
