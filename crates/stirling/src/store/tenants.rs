//! Tenants: a customer of the installation, with the technical contact certificate alerts go to.

use passport::UnixTime;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{OnConstraint as _, Store, StoreError, TenantId, time_column, to_db_time};

/// A tenant as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Unique short name.
    pub name: String,
    /// Company name.
    pub company: String,
    /// Technical contact's name.
    pub technical_contact_name: String,
    /// Technical contact's phone number.
    pub technical_contact_phone: String,
    /// Where certificate failure alerts are sent (the Technical Contact System Email).
    pub system_email: String,
    /// When it was created.
    #[serde(serialize_with = "crate::store::serialize_time")]
    pub created_at: UnixTime,
    /// When it was last changed.
    #[serde(serialize_with = "crate::store::serialize_time")]
    pub updated_at: UnixTime,
}

/// The fields of a tenant a caller sets.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct NewTenant {
    /// Unique short name.
    pub name: String,
    /// Company name.
    pub company: String,
    /// Technical contact's name.
    pub technical_contact_name: String,
    /// Technical contact's phone number.
    pub technical_contact_phone: String,
    /// Where certificate failure alerts are sent.
    pub system_email: String,
}

/// The columns a [`Tenant`] is read from; a macro so `concat!` keeps queries `&'static str`.
macro_rules! tenant_columns {
    () => {
        "id, name, company, technical_contact_name, technical_contact_phone, \
         system_email, created_at, updated_at"
    };
}
const TENANT: &str = "tenant";
const NAME_TAKEN: &str = "a tenant with this name already exists";

impl Store {
    /// Creates a tenant.
    pub async fn create_tenant(
        &self,
        new: &NewTenant,
        now: UnixTime,
    ) -> Result<Tenant, StoreError> {
        let id = TenantId::new();
        let now_db = to_db_time(now)?;
        sqlx::query(
            "INSERT INTO tenants (id, name, company, technical_contact_name, \
             technical_contact_phone, system_email, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(id.as_str())
        .bind(&new.name)
        .bind(&new.company)
        .bind(&new.technical_contact_name)
        .bind(&new.technical_contact_phone)
        .bind(&new.system_email)
        .bind(now_db)
        .execute(&self.pool)
        .await
        .on_constraint(NAME_TAKEN)?;
        self.tenant(&id).await
    }

    /// For every tenant, whether a failed verification is rejected with its error code
    /// (`true`) or annotated on a 302 (`false`, the default).
    pub async fn verification_failure_settings(&self) -> Result<Vec<(TenantId, bool)>, StoreError> {
        sqlx::query("SELECT id, verification_failure FROM tenants")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let setting: String = row.try_get("verification_failure")?;
                Ok((TenantId(row.try_get("id")?), setting == "reject"))
            })
            .collect()
    }

    /// Sets whether a failed verification for `tenant` is rejected with its error code.
    pub async fn set_verification_failure(
        &self,
        tenant: &TenantId,
        reject: bool,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE tenants SET verification_failure = $2 WHERE id = $1")
            .bind(tenant.as_str())
            .bind(if reject { "reject" } else { "annotate" })
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: TENANT });
        }
        Ok(())
    }

    /// One tenant.
    pub async fn tenant(&self, id: &TenantId) -> Result<Tenant, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            tenant_columns!(),
            " FROM tenants WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound { what: TENANT })?;
        tenant_from_row(&row)
    }

    /// All tenants, by name.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            tenant_columns!(),
            " FROM tenants ORDER BY name, id"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(tenant_from_row)
        .collect()
    }

    /// Replaces a tenant's fields.
    pub async fn update_tenant(
        &self,
        id: &TenantId,
        new: &NewTenant,
        now: UnixTime,
    ) -> Result<Tenant, StoreError> {
        let done = sqlx::query(
            "UPDATE tenants SET name = $2, company = $3, technical_contact_name = $4, \
             technical_contact_phone = $5, system_email = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(&new.name)
        .bind(&new.company)
        .bind(&new.technical_contact_name)
        .bind(&new.technical_contact_phone)
        .bind(&new.system_email)
        .bind(to_db_time(now)?)
        .execute(&self.pool)
        .await
        .on_constraint(NAME_TAKEN)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: TENANT });
        }
        self.tenant(id).await
    }

    /// Deletes a tenant and, by cascade, everything it owns.
    pub async fn delete_tenant(&self, id: &TenantId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: TENANT });
        }
        Ok(())
    }
}

fn tenant_from_row(row: &AnyRow) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: TenantId(row.try_get("id")?),
        name: row.try_get("name")?,
        company: row.try_get("company")?,
        technical_contact_name: row.try_get("technical_contact_name")?,
        technical_contact_phone: row.try_get("technical_contact_phone")?,
        system_email: row.try_get("system_email")?,
        created_at: time_column(row, "created_at")?,
        updated_at: time_column(row, "updated_at")?,
    })
}
