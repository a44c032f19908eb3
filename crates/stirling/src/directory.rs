//! The call path's view of the store: which SBC a request comes from, its tenant's policies,
//! and the signers of the tenant's active certificate versions.
//!
//! Calls read an immutable [`Directory`] snapshot through a [`DirectoryHolder`]: taking it is
//! one `Arc` clone under a lock that is never held across I/O. [`reload`] builds a new
//! snapshot from the store (periodically and after local changes) and swaps it in atomically,
//! so a call is signed with the old version or the new one, never a half-installed one. Keys
//! are unsealed only for versions not already in the previous snapshot.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};

use passport::Signer;

use crate::signing::PolicyRule;
use crate::sip_front::{Cidr, SbcMode};
use crate::store::{CertificateId, SbcId, Store, StoreError, TenantId, TenantScope, VersionId};

/// An SBC as the call path routes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SbcRoute {
    /// Its id in the store (`None` for SBCs built by tests).
    pub id: Option<SbcId>,
    /// The tenant its calls belong to.
    pub tenant: TenantId,
    /// Its name, as policy rules refer to it.
    pub name: String,
    /// The network its requests come from.
    pub source: Cidr,
    /// The Request-URI host it uses, lower case; empty for any.
    pub partition: String,
    /// What is done with its calls.
    pub mode: SbcMode,
}

/// The signer of one certificate entry's active version.
#[derive(Clone, Debug)]
pub struct ActiveSigner {
    /// The version whose key and x5u it uses.
    pub version: VersionId,
    /// The signer.
    pub signer: Arc<Signer>,
}

/// What the call path needs to know about one tenant.
#[derive(Clone, Debug, Default)]
pub struct TenantCalls {
    /// Its attestation policy rules.
    pub policies: Vec<PolicyRule>,
    /// Signers of its entries that have an active version.
    pub signers: HashMap<CertificateId, ActiveSigner>,
    /// The entry a rule without a certificate signs with: the oldest entry with an active
    /// version.
    pub default_certificate: Option<CertificateId>,
    /// Whether a failed verification is answered with its error code instead of a 302.
    pub reject_failed_verification: bool,
}

impl TenantCalls {
    /// The signer for a rule naming `certificate` (or the default entry for `None`).
    pub fn signer(&self, certificate: Option<&CertificateId>) -> Option<&ActiveSigner> {
        self.signers
            .get(certificate.or(self.default_certificate.as_ref())?)
    }
}

/// A consistent snapshot of SBCs and tenants.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    sbcs: Vec<SbcRoute>,
    tenants: HashMap<TenantId, TenantCalls>,
}

impl Directory {
    /// A directory of `sbcs` and `tenants`.
    pub fn new(mut sbcs: Vec<SbcRoute>, tenants: HashMap<TenantId, TenantCalls>) -> Self {
        // Most specific first: a named partition before "any host", then the narrower network.
        sbcs.sort_by_key(|sbc| {
            (
                sbc.partition.is_empty(),
                std::cmp::Reverse(sbc.source.prefix()),
            )
        });
        Self { sbcs, tenants }
    }

    /// The SBC a request from `ip` for Request-URI host `host` comes from.
    pub fn route(&self, ip: IpAddr, host: &str) -> Option<&SbcRoute> {
        self.sbcs.iter().find(|sbc| {
            sbc.source.contains(ip)
                && (sbc.partition.is_empty() || sbc.partition.eq_ignore_ascii_case(host))
        })
    }

    /// Sets every tenant's [`TenantCalls::reject_failed_verification`] (tests of a snapshot
    /// built by hand).
    pub fn set_reject_failed_verification(&mut self, reject: bool) {
        for calls in self.tenants.values_mut() {
            calls.reject_failed_verification = reject;
        }
    }

    /// The call settings of `tenant`.
    pub fn tenant(&self, tenant: &TenantId) -> Option<&TenantCalls> {
        self.tenants.get(tenant)
    }

    /// Every active signer, for finding the one a version id names.
    fn signer_of(&self, version: &VersionId) -> Option<&Arc<Signer>> {
        self.tenants
            .values()
            .flat_map(|t| t.signers.values())
            .find(|s| &s.version == version)
            .map(|s| &s.signer)
    }
}

/// The current [`Directory`], replaceable while calls are running.
#[derive(Debug, Default)]
pub struct DirectoryHolder(RwLock<Arc<Directory>>);

impl DirectoryHolder {
    /// Holds `directory`.
    pub fn new(directory: Directory) -> Self {
        Self(RwLock::new(Arc::new(directory)))
    }

    /// The snapshot for the next call.
    pub fn current(&self) -> Arc<Directory> {
        // A writer only swaps an Arc, so a poisoned lock still holds a whole snapshot.
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Switches to `directory`; calls holding the old snapshot finish with it.
    pub fn replace(&self, directory: Directory) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(directory);
    }
}

/// Why a snapshot could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored version cannot sign (its key or repository URL is unusable).
    #[error("version {version} cannot sign: {error}")]
    Signer {
        /// The version.
        version: VersionId,
        /// Why.
        error: passport::Error,
    },
}

/// Builds a new snapshot from the store and installs it in `holder`. `x5u_base` is the public
/// URL of the certificate repository's root (`https://cr.example.net/`), to which a version's
/// repository path is appended.
pub async fn reload(
    store: &Store,
    holder: &DirectoryHolder,
    x5u_base: &str,
) -> Result<(), DirectoryError> {
    let previous = holder.current();
    let all = TenantScope::All;
    let sbcs = store
        .list_sbcs(&all)
        .await?
        .into_iter()
        .map(|sbc| SbcRoute {
            id: Some(sbc.id),
            tenant: sbc.tenant_id,
            name: sbc.name,
            source: sbc.source,
            partition: sbc.partition,
            mode: sbc.mode,
        })
        .collect();
    let mut tenants: HashMap<TenantId, TenantCalls> = HashMap::new();
    for (tenant, reject) in store.verification_failure_settings().await? {
        tenants
            .entry(tenant)
            .or_default()
            .reject_failed_verification = reject;
    }
    for policy in store.list_policies(&all).await? {
        tenants
            .entry(policy.tenant_id)
            .or_default()
            .policies
            .push(policy.rule);
    }
    // Oldest entry first (ids are time-ordered), so the first seen is the default.
    let mut versions = store.active_versions().await?;
    versions.sort_by(|a, b| a.1.certificate_id.cmp(&b.1.certificate_id));
    for (tenant, version) in versions {
        let signer = match previous.signer_of(&version.id) {
            Some(signer) => Arc::clone(signer),
            None => {
                let key = store.version_key(&tenant, &version.id).await?;
                let x5u = format!("{x5u_base}{}", version.repository_path);
                Arc::new(
                    Signer::new(key, &x5u).map_err(|error| DirectoryError::Signer {
                        version: version.id.clone(),
                        error,
                    })?,
                )
            }
        };
        let calls = tenants.entry(tenant).or_default();
        calls
            .default_certificate
            .get_or_insert_with(|| version.certificate_id.clone());
        calls.signers.insert(
            version.certificate_id,
            ActiveSigner {
                version: version.id,
                signer,
            },
        );
    }
    holder.replace(Directory::new(sbcs, tenants));
    Ok(())
}
