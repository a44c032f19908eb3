//! What is done with a tenant's calls, for the SBCs and Policies pages and their API: SBCs,
//! attestation policy rules and the verification failure setting, plus the account's SMTP
//! test. The call path reloads all of these from the store within `sip.reload_secs`.

use serde::{Deserialize, Serialize};

use super::{account, owning_tenant};
use crate::auth::Principal;
use crate::entry::FieldError;
use crate::http::{AppError, AppState};
use crate::signing::{PolicyAction, PolicyScope};
use crate::store::{
    PolicyForm, PolicyId, PolicyRecord, SbcForm, SbcId, SbcRecord, StoreError, Tenant, TenantId,
    TenantScope,
};

/// The SBCs visible in `scope`.
pub async fn sbcs(state: &AppState, scope: &TenantScope) -> Result<Vec<SbcRecord>, AppError> {
    Ok(state.store.list_sbcs(scope).await?)
}

/// Adds an SBC to `principal`'s tenant (an administrator names it in `tenant_id`).
pub async fn create_sbc(
    state: &AppState,
    principal: &Principal,
    tenant_id: Option<&str>,
    form: SbcForm,
) -> Result<SbcRecord, AppError> {
    let tenant = owning_tenant(state, principal, tenant_id).await;
    let sbc = form.validate();
    let (tenant, sbc) = both(tenant, sbc)?;
    Ok(state
        .store
        .create_sbc(&tenant, &sbc, state.clock.now())
        .await?)
}

/// Removes an SBC visible in `scope`.
pub async fn delete_sbc(state: &AppState, scope: &TenantScope, id: &SbcId) -> Result<(), AppError> {
    let sbc = state.store.sbc(scope, id).await?;
    Ok(state.store.delete_sbc(&sbc.tenant_id, id).await?)
}

/// A policy rule as the API and the pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyView {
    /// Its id.
    pub id: PolicyId,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// `tenant`, `sbc`, `calling_prefix`, `tn_list` or `trunk_group`.
    pub scope: &'static str,
    /// The SBC name, prefix, comma-separated numbers or trunk group; empty for `tenant`.
    pub value: String,
    /// `A`, `B`, `C`, `block` or `skip`.
    pub action: &'static str,
    /// The entry that signs; `None` for the tenant's default entry.
    pub certificate_id: Option<String>,
}

impl From<PolicyRecord> for PolicyView {
    fn from(record: PolicyRecord) -> Self {
        let (scope, value) = match record.rule.scope {
            PolicyScope::Tenant => ("tenant", String::new()),
            PolicyScope::Sbc(name) => ("sbc", name),
            PolicyScope::CallingPrefix(prefix) => ("calling_prefix", prefix),
            PolicyScope::TnList(list) => {
                ("tn_list", list.into_iter().collect::<Vec<_>>().join(","))
            }
            PolicyScope::TrunkGroup(group) => ("trunk_group", group),
        };
        let action = match record.rule.action {
            PolicyAction::Attest(passport::Attestation::A) => "A",
            PolicyAction::Attest(passport::Attestation::B) => "B",
            PolicyAction::Attest(passport::Attestation::C) => "C",
            PolicyAction::Block => "block",
            PolicyAction::Skip => "skip",
        };
        Self {
            id: record.id,
            tenant_id: record.tenant_id,
            scope,
            value,
            action,
            certificate_id: record.rule.certificate.map(|c| c.to_string()),
        }
    }
}

/// The policy rules visible in `scope`, oldest first.
pub async fn policies(state: &AppState, scope: &TenantScope) -> Result<Vec<PolicyView>, AppError> {
    Ok(state
        .store
        .list_policies(scope)
        .await?
        .into_iter()
        .map(PolicyView::from)
        .collect())
}

/// Adds a policy rule to `principal`'s tenant (an administrator names it in `tenant_id`). A
/// named certificate entry must be the tenant's: another tenant's is a field error, exactly
/// as a missing one.
pub async fn create_policy(
    state: &AppState,
    principal: &Principal,
    tenant_id: Option<&str>,
    form: PolicyForm,
) -> Result<PolicyView, AppError> {
    let tenant = owning_tenant(state, principal, tenant_id).await;
    let rule = form.validate();
    let (tenant, rule) = both(tenant, rule)?;
    match state
        .store
        .create_policy(&tenant, &rule, state.clock.now())
        .await
    {
        Ok(record) => Ok(record.into()),
        Err(StoreError::NotFound { .. } | StoreError::Conflict { .. }) => {
            Err(AppError::Invalid(vec![FieldError::new(
                "certificate_id",
                "no such certificate entry in this tenant",
            )]))
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes a policy rule visible in `scope`.
pub async fn delete_policy(
    state: &AppState,
    scope: &TenantScope,
    id: &PolicyId,
) -> Result<(), AppError> {
    let rule = state
        .store
        .list_policies(scope)
        .await?
        .into_iter()
        .find(|p| p.id == *id)
        .ok_or(StoreError::NotFound { what: "policy" })?;
    Ok(state.store.delete_policy(&rule.tenant_id, id).await?)
}

/// What a failed verification does: `annotate` (a 302 with `verstat=TN-Validation-Failed`,
/// the default) or `reject` (the error response of ATIS-1000074).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationSetting {
    /// `annotate` or `reject`.
    pub failure: String,
}

impl VerificationSetting {
    fn from_reject(reject: bool) -> Self {
        Self {
            failure: if reject { "reject" } else { "annotate" }.to_owned(),
        }
    }

    /// `true` for `reject`.
    pub fn validate(&self) -> Result<bool, Vec<FieldError>> {
        match self.failure.trim() {
            "reject" => Ok(true),
            "annotate" => Ok(false),
            _ => Err(vec![FieldError::new(
                "failure",
                "must be annotate or reject",
            )]),
        }
    }
}

/// The verification failure setting of `principal`'s account (or the tenant an administrator
/// names).
pub async fn verification(
    state: &AppState,
    principal: &Principal,
    tenant_id: Option<&str>,
) -> Result<(Tenant, VerificationSetting), AppError> {
    let tenant = account(state, principal, tenant_id).await?;
    let reject = state
        .store
        .verification_failure_settings()
        .await?
        .into_iter()
        .any(|(id, reject)| id == tenant.id && reject);
    Ok((tenant, VerificationSetting::from_reject(reject)))
}

/// Changes the verification failure setting.
pub async fn set_verification(
    state: &AppState,
    principal: &Principal,
    tenant_id: Option<&str>,
    setting: &VerificationSetting,
) -> Result<VerificationSetting, AppError> {
    let tenant = account(state, principal, tenant_id).await?;
    let reject = setting.validate().map_err(AppError::Invalid)?;
    state
        .store
        .set_verification_failure(&tenant.id, reject)
        .await?;
    Ok(VerificationSetting::from_reject(reject))
}

/// Sends a test mail to the account's System Email through the configured relay; returns the
/// address it went to.
pub async fn smtp_test(
    state: &AppState,
    principal: &Principal,
    tenant_id: Option<&str>,
) -> Result<String, AppError> {
    let tenant = account(state, principal, tenant_id).await?;
    let mailer = state.mailer.as_ref().ok_or(AppError::NotConfigured(
        "no SMTP relay is configured (alerts.smtp)",
    ))?;
    mailer
        .send_test(&tenant.system_email, &tenant.name)
        .await
        .map_err(|e| AppError::Mail(e.to_string()))?;
    Ok(tenant.system_email)
}

/// Both results, or every field error of either.
fn both<T>(
    tenant: Result<TenantId, FieldError>,
    valid: Result<T, Vec<FieldError>>,
) -> Result<(TenantId, T), AppError> {
    match (tenant, valid) {
        (Ok(tenant), Ok(valid)) => Ok((tenant, valid)),
        (tenant, valid) => {
            let mut errors: Vec<FieldError> = tenant.err().into_iter().collect();
            errors.extend(valid.err().unwrap_or_default());
            Err(AppError::Invalid(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::PolicyRule;

    #[test]
    fn verification_setting_accepts_exactly_two_words() {
        let setting = |w: &str| VerificationSetting {
            failure: w.to_owned(),
        };
        assert_eq!(setting("reject").validate(), Ok(true));
        assert_eq!(setting(" annotate ").validate(), Ok(false));
        for bad in ["", "Reject", "drop"] {
            let errors = setting(bad).validate().unwrap_err();
            assert_eq!(errors[0].field, "failure");
        }
        assert_eq!(VerificationSetting::from_reject(true), setting("reject"));
    }

    #[test]
    fn policy_views_read_back_what_the_form_took() {
        let form = PolicyForm {
            scope: "tn_list".into(),
            value: "+1 202 555 0100, 12025550101".into(),
            action: "b".into(),
            certificate_id: None,
        };
        let rule: PolicyRule = form.validate().unwrap();
        let view = PolicyView::from(PolicyRecord {
            id: PolicyId::new(),
            tenant_id: TenantId::new(),
            rule,
        });
        assert_eq!(view.scope, "tn_list");
        assert_eq!(view.value, "12025550100,12025550101");
        assert_eq!(view.action, "B");
        assert_eq!(view.certificate_id, None);
    }
}
