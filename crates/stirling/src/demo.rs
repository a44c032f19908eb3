//! The demo setup of `serve --sandbox`: a tenant, one certificate entry for the embedded
//! sandbox STI-PA's seeded account, an SBC for loopback that signs and verifies, and an
//! attest-A default policy, an administrator, an operator of the tenant and an API token for it.
//! Idempotent: a restart finds what the first start made.

use passport::UnixTime;

use crate::auth;
use crate::entry::EntryForm;
use crate::secrets::SecretString;
use crate::store::{
    CertificateId, NewApiToken, NewTenant, NewUser, PolicyForm, Role, SbcForm, Store, StoreError,
    TenantId,
};

/// The demo tenant's name.
pub const DEMO_TENANT: &str = "demo";

/// What the demo setup consists of.
#[derive(Debug)]
pub struct Demo {
    /// The demo tenant.
    pub tenant: TenantId,
    /// Its certificate entry (SPID 1234, sandbox environment).
    pub certificate: CertificateId,
    /// Whether this start created it (false: it was there already).
    pub created: bool,
    /// The logins made by this start, to be shown once; `None` when the demo existed.
    pub credentials: Option<DemoCredentials>,
}

/// The demo logins, shown once at the start that creates them; only their hashes are stored.
pub struct DemoCredentials {
    /// Login of the installation administrator.
    pub admin_email: &'static str,
    /// Its generated password.
    pub admin_password: SecretString,
    /// Login of the demo tenant's operator.
    pub operator_email: &'static str,
    /// Its generated password.
    pub operator_password: SecretString,
    /// An API token of the operator, for `/stir/v1` and `/api/v1`.
    pub api_token: SecretString,
}

impl std::fmt::Debug for DemoCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoCredentials")
            .field("admin_email", &self.admin_email)
            .field("operator_email", &self.operator_email)
            .finish_non_exhaustive()
    }
}

/// Why the demo could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A built-in value broke a validation rule (a bug).
    #[error("built-in demo value rejected: {0}")]
    Invalid(String),
    /// Making or hashing a credential failed.
    #[error("demo credentials: {0}")]
    Credentials(String),
}

/// Creates the demo tenant, entry, SBC and policy unless the tenant exists. Several nodes
/// starting at once on one store agree: the tenant's unique name lets one create it, and the
/// others find it.
pub async fn ensure_demo(store: &Store, now: UnixTime) -> Result<Demo, DemoError> {
    match create_demo(store, now).await {
        Err(DemoError::Store(StoreError::Conflict { .. })) | Ok(None) => existing(store).await,
        Ok(Some(demo)) => Ok(demo),
        Err(e) => Err(e),
    }
}

/// The demo as a previous start (or another node) made it. Another node may still be adding
/// its entry: wait for it briefly.
async fn existing(store: &Store) -> Result<Demo, DemoError> {
    for _ in 0..50 {
        if let Some(demo) = find(store).await? {
            return Ok(demo);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(StoreError::NotFound {
        what: "demo certificate entry",
    }
    .into())
}

async fn find(store: &Store) -> Result<Option<Demo>, DemoError> {
    let Some(tenant) = store
        .list_tenants()
        .await?
        .into_iter()
        .find(|t| t.name == DEMO_TENANT)
    else {
        return Ok(None);
    };
    Ok(store
        .list_certificates(&tenant.id)
        .await?
        .into_iter()
        .next()
        .map(|c| Demo {
            tenant: tenant.id,
            certificate: c.id,
            created: false,
            credentials: None,
        }))
}

/// Creates the demo; `None` when the tenant exists already.
async fn create_demo(store: &Store, now: UnixTime) -> Result<Option<Demo>, DemoError> {
    if store
        .list_tenants()
        .await?
        .iter()
        .any(|t| t.name == DEMO_TENANT)
    {
        return Ok(None);
    }
    let tenant = store
        .create_tenant(
            &NewTenant {
                name: DEMO_TENANT.into(),
                company: "Demo Telecom (sandbox)".into(),
                technical_contact_name: "Demo Operator".into(),
                technical_contact_phone: "+12025550100".into(),
                system_email: "noc@demo.invalid".into(),
            },
            now,
        )
        .await?;
    let invalid = |e: Vec<crate::entry::FieldError>| {
        DemoError::Invalid(
            e.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    };
    // The sandbox STI-PA's seeded user (`sandbox::Seed::demo`).
    let entry = EntryForm {
        name: "Demo SPID 1234".into(),
        spid: "1234".into(),
        sti_pa_account_id: "1234".into(),
        sti_pa_user_id: "sandbox".into(),
        sti_pa_password: SecretString::new("sandbox".into()),
        environment: "sandbox".into(),
        sti_ga: false,
    }
    .validate()
    .map_err(invalid)?;
    let certificate = store.create_certificate(&tenant.id, &entry, now).await?;
    let sbc = SbcForm {
        name: "loopback".into(),
        source: "127.0.0.0/8".into(),
        partition: String::new(),
        mode: "both".into(),
    }
    .validate()
    .map_err(invalid)?;
    store.create_sbc(&tenant.id, &sbc, now).await?;
    let policy = PolicyForm {
        scope: "tenant".into(),
        value: String::new(),
        action: "A".into(),
        certificate_id: None,
    }
    .validate()
    .map_err(invalid)?;
    store.create_policy(&tenant.id, &policy, now).await?;
    let credentials = demo_users(store, &tenant.id, now).await?;
    Ok(Some(Demo {
        tenant: tenant.id,
        certificate: certificate.id,
        created: true,
        credentials: Some(credentials),
    }))
}

/// An administrator, an operator of the demo tenant and an API token of the operator, with
/// random secrets.
async fn demo_users(
    store: &Store,
    tenant: &TenantId,
    now: UnixTime,
) -> Result<DemoCredentials, DemoError> {
    let random = || auth::random_token().map_err(|e| DemoError::Credentials(e.to_string()));
    let hash = |password: String| async move {
        auth::hash_password_blocking(password)
            .await
            .map_err(|e| DemoError::Credentials(e.to_string()))
    };
    let (admin_password, operator_password) = (random()?, random()?);
    let admin_email = "admin@demo.invalid";
    let operator_email = "operator@demo.invalid";
    store
        .create_user(
            &NewUser {
                tenant_id: None,
                email: admin_email,
                role: Role::Admin,
                password_hash: &hash(admin_password.clone()).await?,
            },
            now,
        )
        .await?;
    let operator = store
        .create_user(
            &NewUser {
                tenant_id: Some(tenant),
                email: operator_email,
                role: Role::Operator,
                password_hash: &hash(operator_password.clone()).await?,
            },
            now,
        )
        .await?;
    let token = auth::new_api_token().map_err(|e| DemoError::Credentials(e.to_string()))?;
    store
        .create_api_token(
            &NewApiToken {
                user_id: &operator.id,
                name: "demo SBC",
                prefix: &auth::api_token_shown_prefix(&token),
                token_hash: &auth::credential_hash(&token),
            },
            now,
        )
        .await?;
    Ok(DemoCredentials {
        admin_email,
        admin_password: SecretString::new(admin_password),
        operator_email,
        operator_password: SecretString::new(operator_password),
        api_token: SecretString::new(token),
    })
}
