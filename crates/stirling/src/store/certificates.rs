//! Certificate entries: what the lifecycle needs to obtain and renew one SHAKEN certificate.
//!
//! The STI-PA password is stored only sealed, bound to its row ([`SealContext`]); reading an
//! entry never opens it, [`Store::certificate_password`] does so on purpose.

use passport::UnixTime;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{
    CertificateId, OnConstraint as _, Store, StoreError, TenantId, TenantScope, parsed_column,
    time_column, to_db_time,
};
use crate::entry::{EntryFields, EntryName, StiPaPassword, StiPaUserId, ValidEntry};
use crate::secrets::{SealContext, SecretString};

/// A certificate entry as stored, without its password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateEntry {
    /// Its id.
    pub id: CertificateId,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Name, SPID, STI-PA account and user, environment.
    pub fields: EntryFields,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it was last changed.
    pub updated_at: UnixTime,
}

/// The columns a [`CertificateEntry`] is read from (never the sealed password).
macro_rules! entry_columns {
    () => {
        "id, tenant_id, name, spid, sti_pa_account_id, sti_pa_user_id, \
         environment, sti_ga, created_at, updated_at"
    };
}
const ENTRY: &str = "certificate entry";
const SPID_TAKEN: &str = "a certificate entry with this SPID already exists for the tenant";

fn password_context(id: &CertificateId) -> SealContext<'_> {
    SealContext {
        table: "certificates",
        column: "sti_pa_password_sealed",
        row_id: id.as_str(),
    }
}

impl Store {
    /// Creates an entry for `tenant`, sealing its STI-PA password.
    pub async fn create_certificate(
        &self,
        tenant: &TenantId,
        entry: &ValidEntry,
        now: UnixTime,
    ) -> Result<CertificateEntry, StoreError> {
        let id = CertificateId::new();
        let sealed = self
            .key
            .seal_str(entry.sti_pa_password.secret(), &password_context(&id))?;
        let f = &entry.fields;
        sqlx::query(
            "INSERT INTO certificates (id, tenant_id, name, spid, sti_pa_account_id, \
             sti_pa_user_id, sti_pa_password_sealed, environment, sti_ga, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, $9, $9)",
        )
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(f.name.as_str())
        .bind(f.spid.as_str())
        .bind(f.sti_pa_account_id.as_str())
        .bind(f.sti_pa_user_id.as_str())
        .bind(sealed)
        .bind(f.environment.as_str())
        .bind(to_db_time(now)?)
        .bind(i64::from(f.sti_ga))
        .execute(&self.pool)
        .await
        .on_constraint(SPID_TAKEN)?;
        self.certificate(tenant, &id).await
    }

    /// One entry of `tenant`.
    pub async fn certificate(
        &self,
        tenant: &TenantId,
        id: &CertificateId,
    ) -> Result<CertificateEntry, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM certificates WHERE id = $1 AND tenant_id = $2"
        ))
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound { what: ENTRY })?;
        entry_from_row(&row)
    }

    /// All entries of `tenant`, by name.
    pub async fn list_certificates(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<CertificateEntry>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM certificates WHERE tenant_id = $1 ORDER BY name, id"
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(entry_from_row)
        .collect()
    }

    /// Every entry of every tenant: the renewal scheduler's work list.
    pub async fn list_all_certificates(&self) -> Result<Vec<CertificateEntry>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM certificates ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(entry_from_row)
        .collect()
    }

    /// Replaces an entry's non-secret fields; the password stays as it is.
    pub async fn update_certificate(
        &self,
        tenant: &TenantId,
        id: &CertificateId,
        fields: &EntryFields,
        now: UnixTime,
    ) -> Result<CertificateEntry, StoreError> {
        let done = sqlx::query(
            "UPDATE certificates SET name = $3, spid = $4, sti_pa_account_id = $5, \
             sti_pa_user_id = $6, environment = $7, updated_at = $8, sti_ga = $9 \
             WHERE id = $1 AND tenant_id = $2",
        )
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(fields.name.as_str())
        .bind(fields.spid.as_str())
        .bind(fields.sti_pa_account_id.as_str())
        .bind(fields.sti_pa_user_id.as_str())
        .bind(fields.environment.as_str())
        .bind(to_db_time(now)?)
        .bind(i64::from(fields.sti_ga))
        .execute(&self.pool)
        .await
        .on_constraint(SPID_TAKEN)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: ENTRY });
        }
        self.certificate(tenant, id).await
    }

    /// Replaces an entry's STI-PA password.
    pub async fn set_certificate_password(
        &self,
        tenant: &TenantId,
        id: &CertificateId,
        password: &StiPaPassword,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let sealed = self
            .key
            .seal_str(password.secret(), &password_context(id))?;
        let done = sqlx::query(
            "UPDATE certificates SET sti_pa_password_sealed = $3, updated_at = $4 \
             WHERE id = $1 AND tenant_id = $2",
        )
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(sealed)
        .bind(to_db_time(now)?)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: ENTRY });
        }
        Ok(())
    }

    /// Opens an entry's STI-PA password, for logging in to the STI-PA.
    pub async fn certificate_password(
        &self,
        tenant: &TenantId,
        id: &CertificateId,
    ) -> Result<SecretString, StoreError> {
        let row = sqlx::query(
            "SELECT sti_pa_password_sealed FROM certificates WHERE id = $1 AND tenant_id = $2",
        )
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound { what: ENTRY })?;
        let sealed: String = row.try_get("sti_pa_password_sealed")?;
        Ok(self.key.open_str(&sealed, &password_context(id))?)
    }

    /// Deletes an entry with its versions and events.
    pub async fn delete_certificate(
        &self,
        tenant: &TenantId,
        id: &CertificateId,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM certificates WHERE id = $1 AND tenant_id = $2")
            .bind(id.as_str())
            .bind(tenant.as_str())
            .execute(&self.pool)
            .await
            .on_constraint("the certificate entry is still in use")?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: ENTRY });
        }
        Ok(())
    }
}

/// Scope-aware lookups for the API and UI, where an administrator sees every tenant.
impl Store {
    /// The tenant owning entry `id`, if the entry exists and is visible in `scope`; otherwise
    /// [`StoreError::NotFound`], so another tenant's entry looks like a missing one.
    pub async fn certificate_tenant(
        &self,
        scope: &TenantScope,
        id: &CertificateId,
    ) -> Result<TenantId, StoreError> {
        let row = sqlx::query("SELECT tenant_id FROM certificates WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound { what: ENTRY })?;
        let tenant = TenantId(row.try_get("tenant_id")?);
        if scope.allows(&tenant) {
            Ok(tenant)
        } else {
            Err(StoreError::NotFound { what: ENTRY })
        }
    }

    /// The entries visible in `scope`, by name.
    pub async fn list_certificates_in(
        &self,
        scope: &TenantScope,
    ) -> Result<Vec<CertificateEntry>, StoreError> {
        match scope {
            TenantScope::Tenant(tenant) => self.list_certificates(tenant).await,
            TenantScope::All => sqlx::query(concat!(
                "SELECT ",
                entry_columns!(),
                " FROM certificates ORDER BY name, id"
            ))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(entry_from_row)
            .collect(),
        }
    }
}

fn entry_from_row(row: &AnyRow) -> Result<CertificateEntry, StoreError> {
    let name: String = row.try_get("name")?;
    let user: String = row.try_get("sti_pa_user_id")?;
    Ok(CertificateEntry {
        id: CertificateId(row.try_get("id")?),
        tenant_id: TenantId(row.try_get("tenant_id")?),
        fields: EntryFields {
            name: EntryName::parse(&name).map_err(|_| StoreError::Corrupt { column: "name" })?,
            spid: parsed_column(row, "spid")?,
            sti_pa_account_id: parsed_column(row, "sti_pa_account_id")?,
            sti_pa_user_id: StiPaUserId::parse(&user).map_err(|_| StoreError::Corrupt {
                column: "sti_pa_user_id",
            })?,
            environment: parsed_column(row, "environment")?,
            sti_ga: row.try_get::<i64, _>("sti_ga")? != 0,
        },
        created_at: time_column(row, "created_at")?,
        updated_at: time_column(row, "updated_at")?,
    })
}
