//! What the admin API and the pages do, written once: both call these functions with the
//! caller's [`Principal`] or [`TenantScope`] and map the result to JSON or HTML.
//!
//! Every lookup goes through the scope, so another tenant's object is "not found" (404) for
//! an operator or viewer, exactly as a missing one.

mod calls;

pub use calls::{
    PolicyView, VerificationSetting, create_policy, create_sbc, delete_policy, delete_sbc,
    policies, sbcs, set_verification, smtp_test, verification,
};

use passport::UnixTime;
use serde::Deserialize;

use crate::auth::{self, Principal};
use crate::entry::{
    EntryFields, EntryForm, EntryName, Environment, FieldError, StiPaPassword, StiPaUserId,
    parse_ocn,
};
use crate::http::{AppError, AppState};
use crate::secrets::SecretString;
use crate::store::{
    ApiToken, ApiTokenId, CertificateEntry, CertificateEvent, CertificateId, CertificateVersion,
    EventOutcome, NewApiToken, NewTenant, NewUser, Role, Tenant, TenantId, TenantScope, User,
    UserId, VersionState,
};

/// Newest events shown for an entry.
pub const EVENTS_SHOWN: u32 = 100;

/// Where an entry stands, as the list and the dashboard colour it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryStatus {
    /// A version is active and valid.
    Active,
    /// The last lifecycle step failed, or the active version has expired.
    Failing,
    /// No certificate yet: issuance has not run or has not finished.
    Pending,
}

impl EntryStatus {
    /// The word shown and the CSS class used.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Failing => "failing",
            Self::Pending => "pending",
        }
    }
}

/// An entry with what the list and the dashboard show about it.
#[derive(Clone, Debug)]
pub struct EntrySummary {
    /// The entry.
    pub entry: CertificateEntry,
    /// Its status.
    pub status: EntryStatus,
    /// The active version, if any.
    pub active: Option<CertificateVersion>,
    /// When the newest version was stored (the last renewal), if any.
    pub last_renewal: Option<UnixTime>,
    /// The newest failed event's error text, when the newest event failed.
    pub last_error: Option<String>,
}

/// An entry's detail page: the entry, its versions (newest first) and its events (newest
/// first).
#[derive(Clone, Debug)]
pub struct EntryDetail {
    /// The summary.
    pub summary: EntrySummary,
    /// Every version, newest first.
    pub versions: Vec<CertificateVersion>,
    /// The newest events, newest first.
    pub events: Vec<CertificateEvent>,
}

/// The entries visible in `scope` with their status.
pub async fn entry_summaries(
    state: &AppState,
    scope: &TenantScope,
) -> Result<Vec<EntrySummary>, AppError> {
    let now = state.clock.now();
    let mut out = Vec::new();
    for entry in state.store.list_certificates_in(scope).await? {
        let versions = state
            .store
            .list_versions(&entry.tenant_id, &entry.id)
            .await?;
        let events = state
            .store
            .list_events(&entry.tenant_id, &entry.id, 1)
            .await?;
        out.push(summarise(entry, &versions, events.first(), now));
    }
    Ok(out)
}

/// One entry visible in `scope`, with versions and events.
pub async fn entry_detail(
    state: &AppState,
    scope: &TenantScope,
    id: &CertificateId,
) -> Result<EntryDetail, AppError> {
    let tenant = state.store.certificate_tenant(scope, id).await?;
    let entry = state.store.certificate(&tenant, id).await?;
    let mut versions = state.store.list_versions(&tenant, id).await?;
    versions.reverse();
    let events = state.store.list_events(&tenant, id, EVENTS_SHOWN).await?;
    let summary = summarise(entry, &versions, events.first(), state.clock.now());
    Ok(EntryDetail {
        summary,
        versions,
        events,
    })
}

/// The entry `id` visible in `scope`.
pub async fn entry(
    state: &AppState,
    scope: &TenantScope,
    id: &CertificateId,
) -> Result<CertificateEntry, AppError> {
    let tenant = state.store.certificate_tenant(scope, id).await?;
    Ok(state.store.certificate(&tenant, id).await?)
}

fn summarise(
    entry: CertificateEntry,
    versions: &[CertificateVersion],
    newest_event: Option<&CertificateEvent>,
    now: UnixTime,
) -> EntrySummary {
    let active = versions
        .iter()
        .find(|v| v.state == VersionState::Active)
        .cloned();
    let last_renewal = versions.iter().map(|v| v.created_at).max();
    let last_error = newest_event
        .filter(|e| e.outcome == EventOutcome::Failed)
        .map(|e| e.error_text.clone().unwrap_or_else(|| e.step.clone()));
    let status = match (&active, &last_error) {
        (_, Some(_)) => EntryStatus::Failing,
        (Some(v), None) if v.not_after > now => EntryStatus::Active,
        (Some(_), None) => EntryStatus::Failing,
        (None, None) => EntryStatus::Pending,
    };
    EntrySummary {
        entry,
        status,
        active,
        last_renewal,
        last_error,
    }
}

/// Creates an entry. An operator's entry belongs to their tenant; an administrator names the
/// tenant (`tenant_id`).
pub async fn create_entry(
    state: &AppState,
    principal: &Principal,
    tenant_id: Option<&str>,
    form: EntryForm,
) -> Result<CertificateEntry, AppError> {
    let tenant = owning_tenant(state, principal, tenant_id).await;
    let valid = form.validate();
    let (tenant, valid) = match (tenant, valid) {
        (Ok(tenant), Ok(valid)) => (tenant, valid),
        (tenant, valid) => {
            let mut errors: Vec<FieldError> = tenant.err().into_iter().collect();
            errors.extend(valid.err().unwrap_or_default());
            return Err(AppError::Invalid(errors));
        }
    };
    let entry = state
        .store
        .create_certificate(&tenant, &valid, state.clock.now())
        .await?;
    // Issue at once rather than at the scheduler's next look; if the queue is busy, that look
    // picks the entry up anyway (it has no active version).
    if let Err(e) = state.renew_now.request(&tenant, &entry.id) {
        tracing::info!(certificate = %entry.id, error = %e, "issuance waits for the next check");
    }
    Ok(entry)
}

/// An entry as edited: the password may be left blank, which keeps the stored one.
#[derive(Debug, Deserialize)]
pub struct EntryEdit {
    /// Display name.
    pub name: String,
    /// The SPID (OCN).
    pub spid: String,
    /// The STI-PA Account ID (OCN).
    pub sti_pa_account_id: String,
    /// The STI-PA User ID.
    pub sti_pa_user_id: String,
    /// The new STI-PA Password, or blank / absent for "unchanged".
    #[serde(default)]
    pub sti_pa_password: Option<SecretString>,
    /// `production`, `staging` or `sandbox`.
    pub environment: String,
    /// Canada (STI-GA) rather than the US STI-PA.
    #[serde(default)]
    pub sti_ga: bool,
}

impl EntryEdit {
    /// Runs the entry rules of [`EntryForm::validate`] (the same checks, field by field),
    /// skipping the password when it is blank.
    pub fn validate(self) -> Result<(EntryFields, Option<StiPaPassword>), Vec<FieldError>> {
        let name = EntryName::parse(&self.name);
        let spid = parse_ocn("spid", &self.spid);
        let account = parse_ocn("sti_pa_account_id", &self.sti_pa_account_id);
        let user = StiPaUserId::parse(&self.sti_pa_user_id);
        let password = match self.sti_pa_password {
            Some(p) if !p.secret_str().is_empty() => StiPaPassword::parse(p).map(Some),
            _ => Ok(None),
        };
        let environment = Environment::parse(&self.environment);
        match (name, spid, account, user, password, environment) {
            (Ok(name), Ok(spid), Ok(sti_pa_account_id), Ok(sti_pa_user_id), Ok(p), Ok(env)) => {
                Ok((
                    EntryFields {
                        name,
                        spid,
                        sti_pa_account_id,
                        sti_pa_user_id,
                        environment: env,
                        sti_ga: self.sti_ga,
                    },
                    p,
                ))
            }
            (name, spid, account, user, password, environment) => Err([
                name.err(),
                spid.err(),
                account.err(),
                user.err(),
                password.err(),
                environment.err(),
            ]
            .into_iter()
            .flatten()
            .collect()),
        }
    }
}

/// Changes an entry visible in `scope`.
pub async fn update_entry(
    state: &AppState,
    scope: &TenantScope,
    id: &CertificateId,
    edit: EntryEdit,
) -> Result<CertificateEntry, AppError> {
    let tenant = state.store.certificate_tenant(scope, id).await?;
    let (fields, password) = edit.validate().map_err(AppError::Invalid)?;
    let now = state.clock.now();
    let entry = state
        .store
        .update_certificate(&tenant, id, &fields, now)
        .await?;
    if let Some(password) = password {
        state
            .store
            .set_certificate_password(&tenant, id, &password, now)
            .await?;
    }
    // An entry still without a certificate (e.g. its STI-PA login was refused) is tried again
    // at once with what was just corrected.
    if state.store.active_version(&tenant, id).await?.is_none()
        && let Err(e) = state.renew_now.request(&tenant, id)
    {
        tracing::info!(certificate = %id, error = %e, "issuance waits for the next check");
    }
    Ok(entry)
}

/// Deletes an entry visible in `scope`.
pub async fn delete_entry(
    state: &AppState,
    scope: &TenantScope,
    id: &CertificateId,
) -> Result<(), AppError> {
    let tenant = state.store.certificate_tenant(scope, id).await?;
    Ok(state.store.delete_certificate(&tenant, id).await?)
}

/// Asks the scheduler for an immediate issuance attempt for an entry visible in `scope`.
pub async fn renew_entry(
    state: &AppState,
    scope: &TenantScope,
    id: &CertificateId,
) -> Result<(), AppError> {
    let tenant = state.store.certificate_tenant(scope, id).await?;
    state
        .renew_now
        .request(&tenant, id)
        .map_err(AppError::RenewNow)
}

/// The tenant a new object of `principal` belongs to: their own, or for an administrator the
/// one named in field `tenant_id`.
async fn owning_tenant(
    state: &AppState,
    principal: &Principal,
    tenant_id: Option<&str>,
) -> Result<TenantId, FieldError> {
    const FIELD: &str = "tenant_id";
    let requested = tenant_id.map(str::trim).filter(|t| !t.is_empty());
    match (principal.role, &principal.tenant, requested) {
        (Role::Admin, _, Some(requested)) => {
            let id: TenantId = requested.parse().map_err(|_| FieldError {
                field: FIELD,
                message: "must be a tenant id".into(),
            })?;
            match state.store.tenant(&id).await {
                Ok(_) => Ok(id),
                Err(_) => Err(FieldError {
                    field: FIELD,
                    message: "no such tenant".into(),
                }),
            }
        }
        (Role::Admin, Some(own), None) => Ok(own.clone()),
        (Role::Admin, None, None) => Err(FieldError {
            field: FIELD,
            message: "choose the tenant".into(),
        }),
        // Operators and viewers always act for their own tenant, whatever they send.
        (Role::Operator | Role::Viewer, Some(own), _) => Ok(own.clone()),
        (Role::Operator | Role::Viewer, None, _) => Err(FieldError {
            field: FIELD,
            message: "your user has no tenant".into(),
        }),
    }
}

/// The account settings of a tenant: company and Technical Contact.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
pub struct AccountForm {
    /// Company name.
    pub company: String,
    /// Technical Contact name.
    pub technical_contact_name: String,
    /// Technical Contact phone.
    pub technical_contact_phone: String,
    /// Technical Contact System Email: where certificate failure alerts go.
    pub system_email: String,
}

impl AccountForm {
    /// Checks every field; returns all failures.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        for (field, value, max) in [
            ("company", &self.company, 200),
            ("technical_contact_name", &self.technical_contact_name, 200),
            ("technical_contact_phone", &self.technical_contact_phone, 40),
        ] {
            if let Err(e) = check_text(field, value, max) {
                errors.push(e);
            }
        }
        if let Some(bad) = self
            .technical_contact_phone
            .chars()
            .find(|c| !(c.is_ascii_digit() || " +-().".contains(*c)))
        {
            errors.push(FieldError {
                field: "technical_contact_phone",
                message: format!("must hold only digits, spaces and + - ( ) ., found '{bad}'"),
            });
        }
        if let Err(e) = check_email("system_email", &self.system_email) {
            errors.push(e);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The account (tenant) of `principal`, or for an administrator the tenant named.
pub async fn account(
    state: &AppState,
    principal: &Principal,
    tenant_id: Option<&str>,
) -> Result<Tenant, AppError> {
    let tenant = account_tenant(state, principal, tenant_id).await?;
    Ok(state.store.tenant(&tenant).await?)
}

/// Changes the account settings.
pub async fn update_account(
    state: &AppState,
    principal: &Principal,
    tenant_id: Option<&str>,
    form: &AccountForm,
) -> Result<Tenant, AppError> {
    let current = account(state, principal, tenant_id).await?;
    form.validate().map_err(AppError::Invalid)?;
    let new = NewTenant {
        name: current.name,
        company: form.company.trim().to_owned(),
        technical_contact_name: form.technical_contact_name.trim().to_owned(),
        technical_contact_phone: form.technical_contact_phone.trim().to_owned(),
        system_email: form.system_email.trim().to_owned(),
    };
    Ok(state
        .store
        .update_tenant(&current.id, &new, state.clock.now())
        .await?)
}

async fn account_tenant(
    state: &AppState,
    principal: &Principal,
    tenant_id: Option<&str>,
) -> Result<TenantId, AppError> {
    let not_found = || AppError::Store(crate::store::StoreError::NotFound { what: "tenant" });
    let requested = tenant_id.map(str::trim).filter(|t| !t.is_empty());
    match (principal.is_admin(), requested) {
        (true, Some(requested)) => requested.parse().map_err(|_| not_found()),
        (_, _) => match &principal.tenant {
            Some(own) => Ok(own.clone()),
            None => {
                // An installation admin without a tenant of their own: the first tenant.
                let tenants = state.store.list_tenants().await?;
                tenants
                    .into_iter()
                    .next()
                    .map(|t| t.id)
                    .ok_or_else(not_found)
            }
        },
    }
}

/// A new tenant, as an administrator types it.
#[derive(Clone, Debug, Deserialize)]
pub struct TenantForm {
    /// Unique short name.
    pub name: String,
    /// The account settings.
    #[serde(flatten)]
    pub account: AccountForm,
}

impl TenantForm {
    /// Checks every field; returns all failures.
    pub fn validate(&self) -> Result<NewTenant, Vec<FieldError>> {
        let mut errors: Vec<FieldError> = check_text("name", &self.name, 100)
            .err()
            .into_iter()
            .collect();
        errors.extend(self.account.validate().err().unwrap_or_default());
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewTenant {
            name: self.name.trim().to_owned(),
            company: self.account.company.trim().to_owned(),
            technical_contact_name: self.account.technical_contact_name.trim().to_owned(),
            technical_contact_phone: self.account.technical_contact_phone.trim().to_owned(),
            system_email: self.account.system_email.trim().to_owned(),
        })
    }
}

/// A user to create.
#[derive(Debug, Deserialize)]
pub struct UserForm {
    /// Login email.
    pub email: String,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
    /// The initial password.
    pub password: SecretString,
    /// The tenant, for an administrator creating an operator or viewer of another tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// Creates a user. Operators create operators and viewers of their own tenant; only an
/// administrator creates administrators.
pub async fn create_user(
    state: &AppState,
    principal: &Principal,
    form: UserForm,
) -> Result<User, AppError> {
    let mut errors = Vec::new();
    if let Err(e) = check_email("email", &form.email) {
        errors.push(e);
    }
    let role = form.role.trim().parse::<Role>().map_err(|()| FieldError {
        field: "role",
        message: "must be one of admin, operator, viewer".into(),
    });
    if let Err(e) = auth::check_new_password("password", form.password.secret_str()) {
        errors.push(e);
    }
    let role = match role {
        Ok(role) => Some(role),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if role == Some(Role::Admin) && !principal.is_admin() {
        return Err(AppError::Forbidden(
            "only an administrator creates administrators",
        ));
    }
    let tenant = match role {
        Some(Role::Admin) => Ok(None),
        _ => owning_tenant(state, principal, form.tenant_id.as_deref())
            .await
            .map(Some),
    };
    let tenant = match tenant {
        Ok(tenant) => tenant,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let hash = auth::hash_password_blocking(form.password.secret_str().to_owned())
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(state
        .store
        .create_user(
            &NewUser {
                tenant_id: tenant.as_ref(),
                email: form.email.trim(),
                role,
                password_hash: &hash,
            },
            state.clock.now(),
        )
        .await?)
}

/// Deletes a user visible in `scope`; nobody deletes themselves (that would lock a sole
/// operator out).
pub async fn delete_user(
    state: &AppState,
    principal: &Principal,
    id: &UserId,
) -> Result<(), AppError> {
    let user = state.store.user(&principal.scope(), id).await?;
    if user.id == principal.user_id {
        return Err(AppError::Forbidden("you cannot delete your own user"));
    }
    if user.role == Role::Admin && !principal.is_admin() {
        return Err(AppError::Forbidden(
            "only an administrator deletes administrators",
        ));
    }
    Ok(state.store.delete_user(&principal.scope(), id).await?)
}

/// A token to create.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    /// What the owner calls it.
    pub name: String,
}

/// Creates an API token acting as `principal`'s user. The token is returned once here and
/// never again.
pub async fn create_token(
    state: &AppState,
    principal: &Principal,
    form: &TokenForm,
) -> Result<(ApiToken, SecretString), AppError> {
    check_text("name", &form.name, 100).map_err(|e| AppError::Invalid(vec![e]))?;
    let token = auth::new_api_token().map_err(|e| AppError::Internal(e.to_string()))?;
    let stored = state
        .store
        .create_api_token(
            &NewApiToken {
                user_id: &principal.user_id,
                name: form.name.trim(),
                prefix: &auth::api_token_shown_prefix(&token),
                token_hash: &auth::credential_hash(&token),
            },
            state.clock.now(),
        )
        .await?;
    Ok((stored, SecretString::new(token)))
}

/// Revokes a token whose owner is visible in `scope`.
pub async fn revoke_token(
    state: &AppState,
    scope: &TenantScope,
    id: &ApiTokenId,
) -> Result<(), AppError> {
    Ok(state.store.delete_api_token(scope, id).await?)
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError {
            field,
            message: "must not be empty".into(),
        });
    }
    if value.chars().count() > max {
        return Err(FieldError {
            field,
            message: format!("must be at most {max} characters"),
        });
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError {
            field,
            message: "must not contain control characters".into(),
        });
    }
    Ok(())
}

/// A deliberately loose check: one `@` with text on both sides and a dot in the domain. The
/// real test of an address is the mail it receives.
fn check_email(field: &'static str, value: &str) -> Result<(), FieldError> {
    check_text(field, value, 254)?;
    let value = value.trim();
    let ok = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !value.contains(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(FieldError {
            field,
            message: "must be an email address like ops@example.com".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(password: Option<&str>) -> EntryEdit {
        EntryEdit {
            name: "Main".into(),
            spid: "709j".into(),
            sti_pa_account_id: "709J".into(),
            sti_pa_user_id: "ops".into(),
            sti_pa_password: password.map(|p| SecretString::new(p.into())),
            environment: "sandbox".into(),
            sti_ga: true,
        }
    }

    #[test]
    fn a_blank_password_on_edit_means_unchanged() {
        let (fields, password) = edit(Some("")).validate().unwrap();
        assert_eq!(fields.spid.as_str(), "709J");
        assert!(password.is_none());
        assert!(edit(None).validate().unwrap().1.is_none());
        assert!(edit(Some("new pw")).validate().unwrap().1.is_some());
        let errors = edit(Some(&"p".repeat(190))).validate().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "sti_pa_password");
        assert_eq!(errors[0].message, "must be shorter than 190 characters");
    }

    #[test]
    fn account_fields_are_checked() {
        let form = AccountForm {
            company: " ".into(),
            technical_contact_name: "Ada".into(),
            technical_contact_phone: "+1 215 555 0100x".into(),
            system_email: "ops.example.com".into(),
        };
        let fields: Vec<_> = form
            .validate()
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["company", "technical_contact_phone", "system_email"]
        );
        let good = AccountForm {
            company: "Example Telecom".into(),
            technical_contact_name: "Ada".into(),
            technical_contact_phone: "+1 (215) 555-0100".into(),
            system_email: "noc@example.com".into(),
        };
        assert!(good.validate().is_ok());
    }

    #[test]
    fn email_check() {
        for good in ["a@b.co", "ops+stir@example.net"] {
            assert!(check_email("email", good).is_ok(), "{good}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@.co", "a@b.", "a b@c.de", "a@b@c.de",
        ] {
            assert!(check_email("email", bad).is_err(), "{bad}");
        }
    }
}
