//! Attestation policy rules of a tenant: which calls (scope), what is done (attest A/B/C,
//! block, skip) and which certificate entry signs.

use std::collections::BTreeSet;

use passport::{Attestation, TelephoneNumber, UnixTime};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{
    CertificateId, OnConstraint as _, PolicyId, Store, StoreError, TenantId, TenantScope,
    to_db_time,
};
use crate::entry::FieldError;
use crate::signing::{PolicyAction, PolicyRule, PolicyScope};

/// A policy rule as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRecord {
    /// Its id.
    pub id: PolicyId,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// The rule.
    pub rule: PolicyRule,
}

/// A policy rule as an operator types it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyForm {
    /// `tenant`, `sbc`, `calling_prefix`, `tn_list` or `trunk_group`.
    pub scope: String,
    /// The SBC name, prefix digits, comma-separated numbers or trunk group; empty for
    /// `tenant`.
    #[serde(default)]
    pub value: String,
    /// `A`, `B`, `C`, `block` or `skip`.
    pub action: String,
    /// The certificate entry that signs; absent for the tenant's default entry.
    #[serde(default)]
    pub certificate_id: Option<String>,
}

impl PolicyForm {
    /// Checks every field, returning all failures at once.
    pub fn validate(self) -> Result<PolicyRule, Vec<FieldError>> {
        let mut errors = Vec::new();
        let value = self.value.trim();
        let scope = match self.scope.as_str() {
            "tenant" => Some(PolicyScope::Tenant),
            "sbc" if !value.is_empty() => Some(PolicyScope::Sbc(value.to_owned())),
            "trunk_group" if !value.is_empty() => Some(PolicyScope::TrunkGroup(value.to_owned())),
            "calling_prefix" => match TelephoneNumber::canonicalize(value) {
                Ok(tn) => Some(PolicyScope::CallingPrefix(tn.as_str().to_owned())),
                Err(_) => {
                    errors.push(FieldError::new(
                        "value",
                        "must be the leading digits of a number",
                    ));
                    None
                }
            },
            "tn_list" => {
                let mut list = BTreeSet::new();
                for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    match TelephoneNumber::canonicalize(item) {
                        Ok(tn) => {
                            list.insert(tn.as_str().to_owned());
                        }
                        Err(_) => errors.push(FieldError::new(
                            "value",
                            format!("{item:?} is not a telephone number"),
                        )),
                    }
                }
                if list.is_empty() && errors.is_empty() {
                    errors.push(FieldError::new("value", "must list at least one number"));
                }
                Some(PolicyScope::TnList(list))
            }
            "sbc" | "trunk_group" => {
                errors.push(FieldError::new("value", "must not be empty"));
                None
            }
            _ => {
                errors.push(FieldError::new(
                    "scope",
                    "must be one of tenant, sbc, calling_prefix, tn_list, trunk_group",
                ));
                None
            }
        };
        let action = parse_action(&self.action);
        if action.is_none() {
            errors.push(FieldError::new(
                "action",
                "must be one of A, B, C, block, skip",
            ));
        }
        let certificate = match self.certificate_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(id) => match id.parse::<CertificateId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(FieldError::new("certificate_id", "is not a certificate id"));
                    None
                }
            },
        };
        match (scope, action) {
            (Some(scope), Some(action)) if errors.is_empty() => Ok(PolicyRule {
                scope,
                action,
                certificate,
            }),
            _ => Err(errors),
        }
    }
}

macro_rules! policy_columns {
    () => {
        "id, tenant_id, scope_kind, scope_value, action, certificate_id"
    };
}
const POLICY: &str = "policy";

impl Store {
    /// Adds a rule to `tenant`. A named certificate entry must be the tenant's.
    pub async fn create_policy(
        &self,
        tenant: &TenantId,
        rule: &PolicyRule,
        now: UnixTime,
    ) -> Result<PolicyRecord, StoreError> {
        if let Some(certificate) = &rule.certificate {
            // Scoped read: another tenant's entry is "not found".
            self.certificate(tenant, certificate).await?;
        }
        let id = PolicyId::new();
        let (kind, value) = scope_columns(&rule.scope);
        sqlx::query(
            "INSERT INTO policies (id, tenant_id, scope_kind, scope_value, action, \
             certificate_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(kind)
        .bind(value)
        .bind(action_column(rule.action))
        .bind(rule.certificate.as_ref().map(CertificateId::as_str))
        .bind(to_db_time(now)?)
        .execute(&self.pool)
        .await
        .on_constraint("the policy refers to an unknown certificate entry")?;
        Ok(PolicyRecord {
            id,
            tenant_id: tenant.clone(),
            rule: rule.clone(),
        })
    }

    /// The rules visible in `scope`, oldest first.
    pub async fn list_policies(
        &self,
        scope: &TenantScope,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let rows = match scope.tenant() {
            None => {
                sqlx::query(concat!(
                    "SELECT ",
                    policy_columns!(),
                    " FROM policies ORDER BY tenant_id, created_at, id"
                ))
                .fetch_all(&self.pool)
                .await?
            }
            Some(tenant) => {
                sqlx::query(concat!(
                    "SELECT ",
                    policy_columns!(),
                    " FROM policies WHERE tenant_id = $1 ORDER BY created_at, id"
                ))
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(policy_from_row).collect()
    }

    /// Removes a rule of `tenant`.
    pub async fn delete_policy(&self, tenant: &TenantId, id: &PolicyId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM policies WHERE id = $1 AND tenant_id = $2")
            .bind(id.as_str())
            .bind(tenant.as_str())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: POLICY });
        }
        Ok(())
    }
}

fn parse_action(text: &str) -> Option<PolicyAction> {
    Some(match text.trim() {
        "A" | "a" => PolicyAction::Attest(Attestation::A),
        "B" | "b" => PolicyAction::Attest(Attestation::B),
        "C" | "c" => PolicyAction::Attest(Attestation::C),
        "block" => PolicyAction::Block,
        "skip" => PolicyAction::Skip,
        _ => return None,
    })
}

fn action_column(action: PolicyAction) -> &'static str {
    match action {
        PolicyAction::Attest(Attestation::A) => "A",
        PolicyAction::Attest(Attestation::B) => "B",
        PolicyAction::Attest(Attestation::C) => "C",
        PolicyAction::Block => "block",
        PolicyAction::Skip => "skip",
    }
}

fn scope_columns(scope: &PolicyScope) -> (&'static str, String) {
    match scope {
        PolicyScope::CallingPrefix(prefix) => ("calling_prefix", prefix.clone()),
        PolicyScope::Sbc(name) => ("sbc", name.clone()),
        PolicyScope::Tenant => ("tenant", String::new()),
        PolicyScope::TnList(list) => (
            "tn_list",
            list.iter().cloned().collect::<Vec<_>>().join(","),
        ),
        PolicyScope::TrunkGroup(group) => ("trunk_group", group.clone()),
    }
}

fn policy_from_row(row: &AnyRow) -> Result<PolicyRecord, StoreError> {
    let kind: String = row.try_get("scope_kind")?;
    let value: String = row.try_get("scope_value")?;
    let scope = match kind.as_str() {
        "calling_prefix" => PolicyScope::CallingPrefix(value),
        "sbc" => PolicyScope::Sbc(value),
        "tenant" => PolicyScope::Tenant,
        "tn_list" => PolicyScope::TnList(
            value
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        "trunk_group" => PolicyScope::TrunkGroup(value),
        _ => {
            return Err(StoreError::Corrupt {
                column: "scope_kind",
            });
        }
    };
    let action: String = row.try_get("action")?;
    let certificate: Option<String> = row.try_get("certificate_id")?;
    Ok(PolicyRecord {
        id: PolicyId(row.try_get("id")?),
        tenant_id: TenantId(row.try_get("tenant_id")?),
        rule: PolicyRule {
            scope,
            action: parse_action(&action).ok_or(StoreError::Corrupt { column: "action" })?,
            certificate: certificate.map(CertificateId),
        },
    })
}
