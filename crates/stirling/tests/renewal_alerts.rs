//! The renewal scheduler against the sandbox STI-PA/STI-CA in-process, with alert mails
//! received by an SMTP server inside the test: a refused STI-PA password is tried once, mailed
//! once, and not retried until the entry is corrected; the corrected entry is issued and a
//! recovery mail follows; "Renew now" issues a new version at once.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sti::{Clock as _, SystemClock};
use stirling::entry::{Environment, StiPaPassword};
use stirling::lifecycle::alert::{Mailer, SmtpConfig, SmtpSecurity};
use stirling::lifecycle::renewal::RenewalPolicy;
use stirling::lifecycle::scheduler::{Alerts, Ecosystem, RenewNow, Scheduler};
use stirling::secrets::SecretString;
use stirling::store::{Backend, CertificateId, Store, TenantId, VersionState};
use stirling_test::SmtpSink;
use support::lifecycle::{TestStore, entry, sandbox_issuer, start_sandbox};
use tokio::sync::Notify;

/// The sandbox STI-PA's login route, as its request counter names it.
const LOGIN_ROUTE: &str = "/api/v1/auth/login";
/// The sandbox STI-CA's ACME new-order route: one request per issuance.
const NEW_ORDER_ROUTE: &str = "/acme/new-order";

async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_are_mailed_once_then_fixed_entries_recover() {
    let running = start_sandbox().await;
    let (sandbox, base) = (&running.sandbox, &running.base);
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let (tenant, cert) = entry(store, "wrong password").await;

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
    let issuer = sandbox_issuer(base);
    let activated = Arc::new(Notify::new());
    let scheduler = Scheduler {
        store: store.clone(),
        issuers: HashMap::from([(Ecosystem::us(Environment::Sandbox), issuer)]),
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
            .active_version(&tenant, &cert)
            .await
            .unwrap()
            .is_none()
    );

    // The operator corrects the password: the next look issues, and a recovery mail follows.
    let fixed = StiPaPassword::parse(SecretString::new("sandbox".into())).unwrap();
    store
        .set_certificate_password(&tenant, &cert, &fixed, SystemClock.now())
        .await
        .unwrap();
    let first = active(store, &tenant, &cert).await;
    until("the recovery mail", || async { sink.received().len() == 2 }).await;
    let recovered = &sink.received()[1];
    assert!(
        recovered
            .data
            .contains("certificate generation recovered for Main (SPID 1234)"),
        "{}",
        recovered.data
    );

    // Renew now while the entry's last attempt may still be finishing (its recovery mail is
    // out, its event not yet stored), then again while that renewal runs: a new version
    // although the first is far from due, and the second request is not lost: one more after
    // it. The renewal is held at its ACME order so that the second request meets it running;
    // sending both at once could fold them into one run behind the recovery attempt, which is
    // what the scheduler does with requests that wait together.
    sandbox.set_faults(sandbox::Faults {
        delay_ms: 500,
        delay_route: Some(NEW_ORDER_ROUTE.into()),
        ..sandbox::Faults::default()
    });
    let orders = sandbox.request_count(NEW_ORDER_ROUTE);
    renew_now.request(&tenant, &cert).unwrap();
    until("the renewal's order", || async {
        sandbox.request_count(NEW_ORDER_ROUTE) > orders
    })
    .await;
    renew_now.request(&tenant, &cert).unwrap();
    // Waits for the second renewal's activation, not just its stored (pending) version.
    until("two renewed versions, the last active", || async {
        let versions = store.list_versions(&tenant, &cert).await.unwrap();
        versions.len() == 3
            && versions
                .iter()
                .filter(|v| v.state == VersionState::Retired)
                .count()
                == 2
    })
    .await;
    let versions = store.list_versions(&tenant, &cert).await.unwrap();
    assert_eq!(
        versions
            .iter()
            .filter(|v| v.state == VersionState::Retired)
            .count(),
        2
    );
    assert!(
        versions
            .iter()
            .all(|v| v.id != first || v.state == VersionState::Retired)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canadian_entry_is_issued_by_the_sti_ga_ecosystem_only() {
    let running = start_sandbox().await;
    let base = &running.base;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    // A US entry (from the shared fixture) and a Canadian one for the same OCN in another
    // tenant; only the Canadian ecosystem is configured.
    let (us_tenant, us_cert) = entry(store, "sandbox").await;
    let now = SystemClock.now();
    let ca_tenant = store
        .create_tenant(
            &stirling::store::NewTenant {
                name: "maple".into(),
                company: "Maple Telecom".into(),
                technical_contact_name: "Ops".into(),
                technical_contact_phone: "+16135550100".into(),
                system_email: "noc@maple.example".into(),
            },
            now,
        )
        .await
        .unwrap();
    let valid = stirling::entry::EntryForm {
        name: "Ottawa".into(),
        spid: "1234".into(),
        sti_pa_account_id: "1234".into(),
        sti_pa_user_id: "sandbox".into(),
        sti_pa_password: SecretString::new("sandbox".into()),
        environment: "sandbox".into(),
        sti_ga: true,
    }
    .validate()
    .unwrap();
    let ca_cert = store
        .create_certificate(&ca_tenant.id, &valid, now)
        .await
        .unwrap();
    assert!(ca_cert.fields.sti_ga);
    let sti_ga = sandbox_issuer(base);
    let scheduler = Scheduler {
        store: store.clone(),
        issuers: HashMap::from([(Ecosystem::canada(Environment::Sandbox), sti_ga)]),
        policy: RenewalPolicy::default(),
        check_interval: Duration::from_millis(100),
        self_check: HashMap::new(),
        alerts: None,
        activated: Arc::new(Notify::new()),
        clock: Arc::new(SystemClock),
    };
    let (_renew_now, requests) = RenewNow::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(scheduler.run(requests, async {
        let _ = stopped.await;
    }));

    active(store, &ca_tenant.id, &ca_cert.id).await;
    until("the US entry's failure", || async {
        store
            .list_events(&us_tenant, &us_cert, 20)
            .await
            .unwrap()
            .iter()
            .any(|e| e.error_text.is_some())
    })
    .await;
    let events = store.list_events(&us_tenant, &us_cert, 20).await.unwrap();
    let error = events.iter().find_map(|e| e.error_text.clone()).unwrap();
    assert!(
        error.contains("no STI-PA/STI-CA configured for environment sandbox"),
        "{error}"
    );
    assert!(
        store
            .active_version(&us_tenant, &us_cert)
            .await
            .unwrap()
            .is_none()
    );
    let _ = stop.send(());
    task.await.unwrap();
}
