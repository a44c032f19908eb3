//! Certificate versions: each issued certificate of an entry, with its sealed private key.
//!
//! A version is stored `pending`, then activated; activation retires the previously active
//! version in the same transaction. A partial unique index in the schema guarantees at most one
//! `active` version per entry even if two nodes activate at once: the loser gets
//! [`StoreError::Conflict`].

use std::fmt;
use std::str::FromStr;

use passport::{SigningKey, UnixTime};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{
    CertificateId, OnConstraint as _, Store, StoreError, TenantId, VersionId, parsed_column,
    time_column, to_db_time,
};
use crate::secrets::SealContext;

/// Where a version is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VersionState {
    /// The one version signing now.
    Active,
    /// Stored, not yet activated.
    Pending,
    /// Was active, replaced by a newer one; stays published until it expires.
    Retired,
}

impl VersionState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Retired => "retired",
        }
    }
}

impl FromStr for VersionState {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "active" => Ok(Self::Active),
            "pending" => Ok(Self::Pending),
            "retired" => Ok(Self::Retired),
            _ => Err(()),
        }
    }
}

impl fmt::Display for VersionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A freshly issued certificate to store.
#[derive(Debug)]
pub struct NewVersion<'a> {
    /// The chain as downloaded: end-entity first, PEM.
    pub chain_pem: &'a str,
    /// The private key; stored only sealed.
    pub key: &'a SigningKey,
    /// The end-entity certificate's serial number, hex.
    pub serial: &'a str,
    /// SHA-256 fingerprint of the end-entity certificate, hex.
    pub fingerprint: &'a str,
    /// Start of validity.
    pub not_before: UnixTime,
    /// End of validity.
    pub not_after: UnixTime,
    /// Path under the certificate repository where the chain is published (unique).
    pub repository_path: &'a str,
}

/// A stored version, without its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateVersion {
    /// Its id.
    pub id: VersionId,
    /// The entry it belongs to.
    pub certificate_id: CertificateId,
    /// The chain, PEM.
    pub chain_pem: String,
    /// Serial number, hex.
    pub serial: String,
    /// SHA-256 fingerprint, hex.
    pub fingerprint: String,
    /// Start of validity.
    pub not_before: UnixTime,
    /// End of validity.
    pub not_after: UnixTime,
    /// Repository path.
    pub repository_path: String,
    /// Pending, active or retired.
    pub state: VersionState,
    /// When it was stored.
    pub created_at: UnixTime,
}

/// What the certificate repository serves for one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedChain {
    /// The chain, PEM, end-entity first.
    pub chain_pem: String,
    /// End of the end-entity certificate's validity.
    pub not_after: UnixTime,
}

/// The columns a [`CertificateVersion`] is read from (never the sealed key); `v` is the table.
macro_rules! version_columns {
    () => {
        "v.id, v.certificate_id, v.chain_pem, v.serial, v.fingerprint, \
         v.not_before, v.not_after, v.repository_path, v.state, v.created_at"
    };
}
const VERSION: &str = "certificate version";
const ENTRY: &str = "certificate entry";

fn key_context(id: &VersionId) -> SealContext<'_> {
    SealContext {
        table: "certificate_versions",
        column: "key_sealed",
        row_id: id.as_str(),
    }
}

impl Store {
    /// Stores a new `pending` version of an entry of `tenant`, sealing its key.
    pub async fn insert_version(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
        new: &NewVersion<'_>,
        now: UnixTime,
    ) -> Result<CertificateVersion, StoreError> {
        let id = VersionId::new();
        let der = zeroize::Zeroizing::new(
            new.key
                .secret_pkcs8_der()
                .map_err(|_| crate::secrets::SecretsError::Crypto)?,
        );
        let sealed = self.key.seal(&der, &key_context(&id))?;
        // INSERT … SELECT: the row is written only if the entry belongs to the tenant.
        let done = sqlx::query(
            "INSERT INTO certificate_versions (id, certificate_id, chain_pem, key_sealed, \
             serial, fingerprint, not_before, not_after, repository_path, state, created_at) \
             SELECT $1, c.id, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
             FROM certificates c WHERE c.id = $2 AND c.tenant_id = $12",
        )
        .bind(id.as_str())
        .bind(certificate.as_str())
        .bind(new.chain_pem)
        .bind(sealed)
        .bind(new.serial)
        .bind(new.fingerprint)
        .bind(to_db_time(new.not_before)?)
        .bind(to_db_time(new.not_after)?)
        .bind(new.repository_path)
        .bind(VersionState::Pending.as_str())
        .bind(to_db_time(now)?)
        .bind(tenant.as_str())
        .execute(&self.pool)
        .await
        .on_constraint("a certificate version with this repository path already exists")?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: ENTRY });
        }
        self.version(tenant, &id).await
    }

    /// One version of an entry of `tenant`.
    pub async fn version(
        &self,
        tenant: &TenantId,
        id: &VersionId,
    ) -> Result<CertificateVersion, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM certificate_versions v \
             JOIN certificates c ON c.id = v.certificate_id \
             WHERE v.id = $1 AND c.tenant_id = $2"
        ))
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound { what: VERSION })?;
        version_from_row(&row)
    }

    /// All versions of an entry of `tenant`, oldest first.
    pub async fn list_versions(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
    ) -> Result<Vec<CertificateVersion>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM certificate_versions v \
             JOIN certificates c ON c.id = v.certificate_id \
             WHERE v.certificate_id = $1 AND c.tenant_id = $2 \
             ORDER BY v.created_at, v.id"
        ))
        .bind(certificate.as_str())
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(version_from_row)
        .collect()
    }

    /// The active version of an entry, if any.
    pub async fn active_version(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
    ) -> Result<Option<CertificateVersion>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM certificate_versions v \
             JOIN certificates c ON c.id = v.certificate_id \
             WHERE v.certificate_id = $1 AND c.tenant_id = $2 AND v.state = $3"
        ))
        .bind(certificate.as_str())
        .bind(tenant.as_str())
        .bind(VersionState::Active.as_str())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(version_from_row)
        .transpose()
    }

    /// Every active version with its tenant: the signers of the call path.
    pub async fn active_versions(&self) -> Result<Vec<(TenantId, CertificateVersion)>, StoreError> {
        sqlx::query(concat!(
            "SELECT c.tenant_id, ",
            version_columns!(),
            " FROM certificate_versions v \
             JOIN certificates c ON c.id = v.certificate_id WHERE v.state = $1"
        ))
        .bind(VersionState::Active.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| Ok((TenantId(row.try_get("tenant_id")?), version_from_row(row)?)))
        .collect()
    }

    /// The chain published at `repository_path`, if that version has not expired at `now`.
    ///
    /// The certificate repository is public: this is the one version query not scoped to a
    /// tenant. Pending versions are served too, so the self-check can fetch a chain before it
    /// is activated; retired ones until they expire, for calls signed just before a switch.
    pub async fn published_chain(
        &self,
        repository_path: &str,
        now: UnixTime,
    ) -> Result<Option<PublishedChain>, StoreError> {
        let row = sqlx::query(
            "SELECT chain_pem, not_after FROM certificate_versions \
             WHERE repository_path = $1 AND not_after > $2",
        )
        .bind(repository_path)
        .bind(to_db_time(now)?)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(PublishedChain {
                chain_pem: row.try_get("chain_pem")?,
                not_after: time_column(&row, "not_after")?,
            })
        })
        .transpose()
    }

    /// Opens a version's private key, for signing.
    pub async fn version_key(
        &self,
        tenant: &TenantId,
        id: &VersionId,
    ) -> Result<SigningKey, StoreError> {
        let row = sqlx::query(
            "SELECT v.key_sealed FROM certificate_versions v \
             JOIN certificates c ON c.id = v.certificate_id \
             WHERE v.id = $1 AND c.tenant_id = $2",
        )
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound { what: VERSION })?;
        let sealed: String = row.try_get("key_sealed")?;
        let der = self.key.open(&sealed, &key_context(id))?;
        SigningKey::from_der(der.secret_bytes()).map_err(|_| StoreError::Corrupt {
            column: "key_sealed",
        })
    }

    /// Makes `version` the active version of `certificate`, retiring the one active before,
    /// in one transaction: readers see the old or the new active version, never none or two.
    pub async fn activate_version(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
        version: &VersionId,
        now: UnixTime,
    ) -> Result<CertificateVersion, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Writing the entry row first takes its row lock (PostgreSQL) or the write lock
        // (SQLite), so concurrent activations of one entry queue up instead of racing; it also
        // checks the entry belongs to the tenant.
        let touched =
            sqlx::query("UPDATE certificates SET updated_at = $3 WHERE id = $1 AND tenant_id = $2")
                .bind(certificate.as_str())
                .bind(tenant.as_str())
                .bind(to_db_time(now)?)
                .execute(&mut *tx)
                .await?;
        if touched.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: ENTRY });
        }
        sqlx::query(
            "UPDATE certificate_versions SET state = $3 \
             WHERE certificate_id = $1 AND state = $4 AND id <> $2",
        )
        .bind(certificate.as_str())
        .bind(version.as_str())
        .bind(VersionState::Retired.as_str())
        .bind(VersionState::Active.as_str())
        .execute(&mut *tx)
        .await?;
        let activated = sqlx::query(
            "UPDATE certificate_versions SET state = $3 WHERE id = $1 AND certificate_id = $2",
        )
        .bind(version.as_str())
        .bind(certificate.as_str())
        .bind(VersionState::Active.as_str())
        .execute(&mut *tx)
        .await
        .on_constraint("another version of this certificate entry is already active")?;
        if activated.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: VERSION });
        }
        tx.commit().await?;
        self.version(tenant, version).await
    }
}

fn version_from_row(row: &AnyRow) -> Result<CertificateVersion, StoreError> {
    Ok(CertificateVersion {
        id: VersionId(row.try_get("id")?),
        certificate_id: CertificateId(row.try_get("certificate_id")?),
        chain_pem: row.try_get("chain_pem")?,
        serial: row.try_get("serial")?,
        fingerprint: row.try_get("fingerprint")?,
        not_before: time_column(row, "not_before")?,
        not_after: time_column(row, "not_after")?,
        repository_path: row.try_get("repository_path")?,
        state: parsed_column(row, "state")?,
        created_at: time_column(row, "created_at")?,
    })
}
