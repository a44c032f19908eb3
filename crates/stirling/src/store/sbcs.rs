//! SBCs: where a tenant's SIP requests come from (a CIDR network and an optional partition, the
//! Request-URI host) and whether they are signed, verified or both.

use passport::UnixTime;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{
    OnConstraint as _, SbcId, Store, StoreError, TenantId, TenantScope, parsed_column, to_db_time,
};
use crate::entry::FieldError;
use crate::sip_front::{Cidr, SbcMode};

/// Longest SBC name and partition, in characters.
const SBC_TEXT_MAX_CHARS: usize = 100;

/// An SBC as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SbcRecord {
    /// Its id.
    pub id: SbcId,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its name, unique in the tenant; policy rules of scope `sbc` name it.
    pub name: String,
    /// The network its requests come from.
    #[serde(serialize_with = "serialize_display")]
    pub source: Cidr,
    /// The Request-URI host its requests use (`sign.example.net`); empty for any.
    pub partition: String,
    /// What is done with its calls.
    #[serde(serialize_with = "serialize_display")]
    pub mode: SbcMode,
}

/// An SBC as an operator types it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SbcForm {
    /// Name, 1 to 100 characters.
    pub name: String,
    /// Source network, e.g. `192.0.2.10` or `192.0.2.0/24`.
    pub source: String,
    /// Request-URI host; empty or absent for any.
    #[serde(default)]
    pub partition: String,
    /// `sign`, `verify` or `both`.
    pub mode: String,
}

/// A checked [`SbcForm`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidSbc {
    name: String,
    source: Cidr,
    partition: String,
    mode: SbcMode,
}

impl SbcForm {
    /// Checks every field, returning all failures at once.
    pub fn validate(self) -> Result<ValidSbc, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            errors.push(FieldError::new("name", "must not be empty"));
        } else if name.chars().count() > SBC_TEXT_MAX_CHARS || name.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "name",
                "must be at most 100 characters without control characters",
            ));
        }
        let source = self
            .source
            .parse::<Cidr>()
            .map_err(|e| errors.push(FieldError::new("source", format!("{e}"))))
            .ok();
        let partition = self.partition.trim().to_ascii_lowercase();
        if partition.chars().count() > SBC_TEXT_MAX_CHARS
            || !partition
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            errors.push(FieldError::new(
                "partition",
                "must be a host name (letters, digits, '.', '-') or empty for any host",
            ));
        }
        let mode = self
            .mode
            .parse::<SbcMode>()
            .map_err(|()| errors.push(FieldError::new("mode", "must be one of sign, verify, both")))
            .ok();
        match (source, mode) {
            (Some(source), Some(mode)) if errors.is_empty() => Ok(ValidSbc {
                name,
                source,
                partition,
                mode,
            }),
            _ => Err(errors),
        }
    }
}

macro_rules! sbc_columns {
    () => {
        "id, tenant_id, name, source_ip, partition_name, mode"
    };
}
const SBC: &str = "sbc";
const SBC_TAKEN: &str = "an sbc with this name, or with this source and partition, already exists";

impl Store {
    /// Adds an SBC to `tenant`.
    pub async fn create_sbc(
        &self,
        tenant: &TenantId,
        sbc: &ValidSbc,
        now: UnixTime,
    ) -> Result<SbcRecord, StoreError> {
        let id = SbcId::new();
        sqlx::query(
            "INSERT INTO sbcs (id, tenant_id, name, source_ip, partition_name, mode, enabled, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
        )
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(&sbc.name)
        .bind(sbc.source.to_string())
        .bind(&sbc.partition)
        .bind(sbc.mode.as_str())
        .bind(to_db_time(now)?)
        .execute(&self.pool)
        .await
        .on_constraint(SBC_TAKEN)?;
        self.sbc(&TenantScope::Tenant(tenant.clone()), &id).await
    }

    /// One SBC visible in `scope`.
    pub async fn sbc(&self, scope: &TenantScope, id: &SbcId) -> Result<SbcRecord, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            sbc_columns!(),
            " FROM sbcs WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound { what: SBC })?;
        let sbc = sbc_from_row(&row)?;
        if !scope.allows(&sbc.tenant_id) {
            return Err(StoreError::NotFound { what: SBC });
        }
        Ok(sbc)
    }

    /// The SBCs visible in `scope`, by tenant and name.
    pub async fn list_sbcs(&self, scope: &TenantScope) -> Result<Vec<SbcRecord>, StoreError> {
        let rows = match scope.tenant() {
            None => {
                sqlx::query(concat!(
                    "SELECT ",
                    sbc_columns!(),
                    " FROM sbcs ORDER BY tenant_id, name"
                ))
                .fetch_all(&self.pool)
                .await?
            }
            Some(tenant) => {
                sqlx::query(concat!(
                    "SELECT ",
                    sbc_columns!(),
                    " FROM sbcs WHERE tenant_id = $1 ORDER BY name"
                ))
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(sbc_from_row).collect()
    }

    /// Removes an SBC of `tenant`.
    pub async fn delete_sbc(&self, tenant: &TenantId, id: &SbcId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM sbcs WHERE id = $1 AND tenant_id = $2")
            .bind(id.as_str())
            .bind(tenant.as_str())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: SBC });
        }
        Ok(())
    }
}

fn sbc_from_row(row: &AnyRow) -> Result<SbcRecord, StoreError> {
    let mode: String = row.try_get("mode")?;
    Ok(SbcRecord {
        id: SbcId(row.try_get("id")?),
        tenant_id: TenantId(row.try_get("tenant_id")?),
        name: row.try_get("name")?,
        source: parsed_column(row, "source_ip")?,
        partition: row.try_get("partition_name")?,
        mode: mode
            .parse()
            .map_err(|()| StoreError::Corrupt { column: "mode" })?,
    })
}

fn serialize_display<T: std::fmt::Display, S: serde::Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}
