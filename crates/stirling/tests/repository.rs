//! The certificate repository over HTTP (in-process router): content type, cache lifetime,
//! expiry and unknown paths.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use passport::{SigningKey, Spc, UnixTime};
use sti::Clock;
use stirling::entry::EntryForm;
use stirling::http::{AppState, router};
use stirling::repository::repository_path;
use stirling::secrets::{MasterKey, SecretString};
use stirling::store::{NewTenant, NewVersion, Store};
use tower::ServiceExt as _;

#[derive(Debug)]
struct At(u64);

impl Clock for At {
    fn now(&self) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(self.0))
    }
}

fn t(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

const CHAIN: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

async fn published(dir: &tempfile::TempDir) -> (Store, String) {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("r.db").display());
    let store = Store::connect(
        &url,
        2,
        Arc::new(MasterKey::from_bytes(&[7u8; 32]).unwrap()),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let tenant = store
        .create_tenant(
            &NewTenant {
                name: "acme".into(),
                company: "Acme Telecom".into(),
                technical_contact_name: "Ada".into(),
                technical_contact_phone: "+12025550100".into(),
                system_email: "noc@acme.example".into(),
            },
            t(1),
        )
        .await
        .unwrap();
    let entry = EntryForm {
        name: "Main".into(),
        spid: "709J".into(),
        sti_pa_account_id: "709J".into(),
        sti_pa_user_id: "api-user".into(),
        sti_pa_password: SecretString::new("pw".into()),
        environment: "sandbox".into(),
        sti_ga: false,
    }
    .validate()
    .unwrap();
    let cert = store
        .create_certificate(&tenant.id, &entry, t(1))
        .await
        .unwrap();
    let path = repository_path(&Spc::new("709J").unwrap(), &"AB".repeat(32));
    let key = SigningKey::generate().unwrap();
    store
        .insert_version(
            &tenant.id,
            &cert.id,
            &NewVersion {
                chain_pem: CHAIN,
                key: &key,
                serial: "01",
                fingerprint: &"ab".repeat(32),
                not_before: t(1_000),
                not_after: t(1_000 + 7 * 86_400),
                repository_path: &path,
            },
            t(1_000),
        )
        .await
        .unwrap();
    (store, path)
}

async fn get(
    store: &Store,
    now: u64,
    path: &str,
) -> (StatusCode, Option<String>, Option<String>, String) {
    let app = router(AppState {
        store: store.clone(),
        clock: Arc::new(At(now)),
        renew_now: stirling::lifecycle::scheduler::RenewNow::channel().0,
        auth: stirling::auth::Auth::new(false),
        mailer: None,
        renewal: Default::default(),
    });
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (content_type, cache) = (header("content-type"), header("cache-control"));
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        content_type,
        cache,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn versions_are_served_with_a_day_of_cache_until_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = published(&dir).await;
    assert_eq!(path, format!("cr/709J/{}.pem", "ab".repeat(32)));
    let url = format!("/{path}");

    let (status, content_type, cache, body) = get(&store, 2_000, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        content_type.as_deref(),
        Some("application/pem-certificate-chain")
    );
    assert_eq!(cache.as_deref(), Some("public, max-age=86400"));
    assert_eq!(body, CHAIN);

    // An hour before expiry, the cache lifetime is that hour.
    let not_after = 1_000 + 7 * 86_400;
    let (_, _, cache, _) = get(&store, not_after - 3_600, &url).await;
    assert_eq!(cache.as_deref(), Some("public, max-age=3600"));

    // Expired, unknown, or not of the published shape: 404.
    assert_eq!(get(&store, not_after, &url).await.0, StatusCode::NOT_FOUND);
    let other = format!("/cr/709J/{}.pem", "cd".repeat(32));
    assert_eq!(get(&store, 2_000, &other).await.0, StatusCode::NOT_FOUND);
    let upper = format!("/cr/709J/{}.pem", "AB".repeat(32));
    assert_eq!(get(&store, 2_000, &upper).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        get(&store, 2_000, "/cr/709J/..%2F..%2Fetc").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&store, 2_000, "/cr/709J").await.0,
        StatusCode::NOT_FOUND
    );
}
