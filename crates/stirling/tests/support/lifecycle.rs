//! The certificate lifecycle fixture: the sandbox STI-PA/STI-CA served in-process on a loopback
//! port (protocol and admin routers), issuance dependencies pointing at it, a migrated store on
//! SQLite or in a fresh PostgreSQL schema, and a tenant with one entry for the sandbox's SPID.

use std::sync::Arc;

use sandbox::{Sandbox, SandboxConfig, Seed};
use sti::{
    AcmeClient, AcmeConfig, Clock as _, DangerousAcmeConfig, DangerousStiPaConfig,
    FingerprintInput, StiPaClient, StiPaConfig, SystemClock,
};
use stirling::entry::EntryForm;
use stirling::lifecycle::issuance::IssuanceDeps;
use stirling::lifecycle::scheduler::Issuer;
use stirling::secrets::{MasterKey, SecretString};
use stirling::store::{Backend, CertificateId, NewTenant, Store, TenantId};
use stirling_test::PgSchema;
use tokio::task::JoinHandle;

/// The master key of every test store (and of `stirling issue-once` runs on them).
pub const MASTER_KEY: [u8; 32] = [7u8; 32];

/// The sandbox served on an ephemeral loopback port.
pub struct Running {
    pub base: String,
    pub sandbox: Sandbox,
    server: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn start_sandbox() -> Running {
    start_sandbox_with(|_| {}).await
}

/// The sandbox with its configuration adjusted by `configure` (e.g. requiring EAB).
pub async fn start_sandbox_with(configure: impl FnOnce(&mut SandboxConfig)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = SandboxConfig::new(base.clone());
    configure(&mut config);
    let sandbox = Sandbox::open(dir.path(), config, &Seed::demo()).unwrap();
    let app = sandbox::router(sandbox.clone()).merge(sandbox::admin_router(sandbox.clone()));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Running {
        base,
        sandbox,
        server,
        _dir: dir,
    }
}

pub async fn deps(running: &Running) -> IssuanceDeps {
    deps_with(running, &running.base, |_| {}).await
}

/// Deps with the STI-PA at `sti_pa_base` and the ACME config adjusted by `acme`.
pub async fn deps_with(
    running: &Running,
    sti_pa_base: &str,
    acme: impl FnOnce(&mut AcmeConfig),
) -> IssuanceDeps {
    let sti_pa = StiPaClient::new(&StiPaConfig {
        danger: DangerousStiPaConfig { allow_http: true },
        ..StiPaConfig::new(sti_pa_base.parse().unwrap())
    })
    .unwrap();
    let mut config = AcmeConfig {
        danger: DangerousAcmeConfig { allow_http: true },
        ..AcmeConfig::new(format!("{}/acme/directory", running.base))
    };
    acme(&mut config);
    IssuanceDeps {
        sti_pa,
        acme: AcmeClient::connect(config).await.unwrap(),
        fingerprint_input: FingerprintInput::SpkiDer,
        clock: Arc::new(SystemClock),
        self_check: None,
        external_account: None,
    }
}

/// The scheduler's issuer for the sandbox at `base` (plain HTTP on loopback).
pub fn sandbox_issuer(base: &str) -> Issuer {
    Issuer {
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
    }
}

/// A migrated store; the guard keeps the SQLite directory or drops the PostgreSQL schema.
pub struct TestStore {
    pub store: Store,
    pub url: String,
    schema: Option<PgSchema>,
    _dir: Option<tempfile::TempDir>,
}

impl TestStore {
    pub async fn new(backend: Backend) -> Self {
        sqlx::any::install_default_drivers();
        let (url, schema, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
                (url, None, Some(dir))
            }
            Backend::Postgres => {
                let schema = PgSchema::for_test().await;
                (schema.url(), Some(schema), None)
            }
        };
        Self {
            store: connect(&url).await,
            url,
            schema,
            _dir: dir,
        }
    }

    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(schema) = self.schema {
            schema.drop().await;
        }
    }
}

pub async fn connect(url: &str) -> Store {
    let key = Arc::new(MasterKey::from_bytes(&MASTER_KEY).unwrap());
    let store = Store::connect(url, 5, key).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// Tenant `acme` (System Email noc@acme.example) with entry `Main` for the sandbox's SPID 1234,
/// STI-PA user `sandbox` and `password`.
pub async fn entry(store: &Store, password: &str) -> (TenantId, CertificateId) {
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
    let valid = EntryForm {
        name: "Main".into(),
        spid: "1234".into(),
        sti_pa_account_id: "1234".into(),
        sti_pa_user_id: "sandbox".into(),
        sti_pa_password: SecretString::new(password.into()),
        environment: "sandbox".into(),
        sti_ga: false,
    }
    .validate()
    .unwrap();
    let cert = store
        .create_certificate(&tenant.id, &valid, now)
        .await
        .unwrap();
    (tenant.id, cert.id)
}

/// The entry has no version at all, so none active.
pub async fn assert_nothing_stored(store: &Store, tenant: &TenantId, cert: &CertificateId) {
    assert!(store.list_versions(tenant, cert).await.unwrap().is_empty());
    assert!(store.active_version(tenant, cert).await.unwrap().is_none());
}
