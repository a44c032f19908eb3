//! SBCs (where calls come from) and Policies (how calls are attested, and what a failed
//! verification does). Each page lists what the tenant has and offers a form to add more;
//! messages sit next to the fields they are about.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::{Nav, NoticeQuery, PageError, field_errors, field_messages, page, page_with_status};
use crate::admin::{self, VerificationSetting};
use crate::api::path_id;
use crate::auth::Principal;
use crate::http::AppState;
use crate::store::{PolicyForm, PolicyId, SbcForm, SbcId, TenantScope};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sbcs", get(sbcs).post(add_sbc))
        .route("/sbcs/{id}/delete", post(delete_sbc))
        .route("/policies", get(policies).post(add_policy))
        .route("/policies/{id}/delete", post(delete_policy))
        .route("/policies/verification", post(save_verification))
}

/// `(id, name)` of every tenant for an administrator; empty for everyone else.
async fn tenant_names(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<(String, String)>, PageError> {
    if !principal.is_admin() {
        return Ok(Vec::new());
    }
    Ok(state
        .store
        .list_tenants()
        .await?
        .into_iter()
        .map(|t| (t.id.to_string(), t.name))
        .collect())
}

fn tenant_name(tenants: &[(String, String)], id: &str) -> String {
    tenants
        .iter()
        .find(|(t, _)| t == id)
        .map(|(_, name)| name.clone())
        .unwrap_or_default()
}

struct SbcRow {
    id: String,
    name: String,
    source: String,
    partition: String,
    mode: &'static str,
    tenant: String,
}

field_messages!(SbcMessages {
    name,
    source,
    partition,
    mode,
    tenant_id,
});

/// The SBC form as typed; every field optional so a partial post re-renders with messages.
#[derive(Debug, Default, Deserialize)]
struct SbcInput {
    #[serde(default)]
    tenant_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    partition: String,
    #[serde(default)]
    mode: String,
}

#[derive(Template)]
#[template(path = "sbcs.html")]
struct SbcsPage {
    nav: Nav,
    rows: Vec<SbcRow>,
    tenants: Vec<(String, String)>,
    form: SbcInput,
    errors: SbcMessages,
}

async fn sbcs_page(
    state: &AppState,
    principal: &Principal,
    notice: Option<&str>,
    form: SbcInput,
    errors: SbcMessages,
) -> Result<SbcsPage, PageError> {
    let tenants = tenant_names(state, principal).await?;
    let rows = admin::sbcs(state, &principal.scope())
        .await?
        .into_iter()
        .map(|s| SbcRow {
            id: s.id.to_string(),
            tenant: tenant_name(&tenants, s.tenant_id.as_str()),
            name: s.name,
            source: s.source.to_string(),
            partition: s.partition,
            mode: s.mode.as_str(),
        })
        .collect();
    Ok(SbcsPage {
        nav: Nav::new(principal, "sbcs").with_notice(notice),
        rows,
        tenants,
        form,
        errors,
    })
}

async fn sbcs(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let form = SbcInput {
        mode: "both".into(),
        ..SbcInput::default()
    };
    let view = sbcs_page(
        &state,
        &principal,
        notice.notice.as_deref(),
        form,
        SbcMessages::default(),
    )
    .await?;
    page(&view)
}

async fn add_sbc(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Form(input): Form<SbcInput>,
) -> Result<Response, PageError> {
    let form = SbcForm {
        name: input.name.clone(),
        source: input.source.clone(),
        partition: input.partition.clone(),
        mode: input.mode.clone(),
    };
    let result = admin::create_sbc(&state, &principal, Some(&input.tenant_id), form).await;
    let errors = match result {
        Ok(_) => return Ok(Redirect::to("/sbcs?notice=sbc-added").into_response()),
        // A name or source already used is about the name: say so there.
        Err(crate::http::AppError::Store(crate::store::StoreError::Conflict { what })) => {
            vec![crate::entry::FieldError::new("name", what)]
        }
        Err(error) => field_errors(error)?,
    };
    let view = sbcs_page(
        &state,
        &principal,
        None,
        input,
        SbcMessages::from_errors(&errors),
    )
    .await?;
    page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &view)
}

async fn delete_sbc(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: SbcId = path_id(&id, "sbc")?;
    admin::delete_sbc(&state, &scope, &id).await?;
    Ok(Redirect::to("/sbcs?notice=sbc-deleted").into_response())
}

struct PolicyRow {
    id: String,
    scope: &'static str,
    value: String,
    action: &'static str,
    certificate: String,
    tenant: String,
}

field_messages!(PolicyMessages {
    scope,
    value,
    action,
    certificate_id,
    tenant_id,
});

/// The rule form as typed.
#[derive(Debug, Default, Deserialize)]
struct PolicyInput {
    #[serde(default)]
    tenant_id: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    certificate_id: String,
}

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage {
    nav: Nav,
    rows: Vec<PolicyRow>,
    tenants: Vec<(String, String)>,
    /// `(id, name, SPID)` of the entries a rule may name.
    entries: Vec<(String, String, String)>,
    form: PolicyInput,
    errors: PolicyMessages,
    /// The account's tenant name and whether a failed verification is rejected.
    verification: Option<(String, bool)>,
    verification_error: Option<String>,
}

const SCOPES: &[(&str, &str)] = &[
    ("tenant", "every call of the tenant (the default)"),
    ("sbc", "calls of one SBC (value: its name)"),
    (
        "calling_prefix",
        "calling numbers starting with (value: digits)",
    ),
    (
        "tn_list",
        "calling numbers in a list (value: numbers, comma-separated)",
    ),
    ("trunk_group", "calls from a trunk group (value: its name)"),
];

const ACTIONS: &[(&str, &str)] = &[
    (
        "A",
        "attest A — full: the customer and the number are known",
    ),
    (
        "B",
        "attest B — partial: the customer is known, the number is not",
    ),
    ("C", "attest C — gateway: the call entered from elsewhere"),
    ("block", "block — refuse the call (603)"),
    ("skip", "skip — pass it on unsigned"),
];

impl PoliciesPage {
    fn scopes(&self) -> &'static [(&'static str, &'static str)] {
        SCOPES
    }

    fn actions(&self) -> &'static [(&'static str, &'static str)] {
        ACTIONS
    }
}

async fn policies_page(
    state: &AppState,
    principal: &Principal,
    notice: Option<&str>,
    form: PolicyInput,
    errors: PolicyMessages,
    verification_error: Option<String>,
) -> Result<PoliciesPage, PageError> {
    let tenants = tenant_names(state, principal).await?;
    let summaries = admin::entry_summaries(state, &principal.scope()).await?;
    let entries: Vec<(String, String, String)> = summaries
        .iter()
        .map(|s| {
            (
                s.entry.id.to_string(),
                s.entry.fields.name.as_str().to_owned(),
                s.entry.fields.spid.as_str().to_owned(),
            )
        })
        .collect();
    let rows = admin::policies(state, &principal.scope())
        .await?
        .into_iter()
        .map(|p| PolicyRow {
            id: p.id.to_string(),
            scope: p.scope,
            value: p.value,
            action: p.action,
            certificate: p.certificate_id.as_ref().map_or_else(
                || "default entry".to_owned(),
                |id| {
                    entries
                        .iter()
                        .find(|(e, _, _)| e == id)
                        .map_or_else(|| id.clone(), |(_, name, spid)| format!("{name} ({spid})"))
                },
            ),
            tenant: tenant_name(&tenants, p.tenant_id.as_str()),
        })
        .collect();
    // An administrator of an installation without tenants has no account to set.
    let verification = match admin::verification(state, principal, None).await {
        Ok((tenant, setting)) => Some((tenant.name, setting.failure == "reject")),
        Err(crate::http::AppError::Store(crate::store::StoreError::NotFound { .. })) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(PoliciesPage {
        nav: Nav::new(principal, "policies").with_notice(notice),
        rows,
        tenants,
        entries,
        form,
        errors,
        verification,
        verification_error,
    })
}

async fn policies(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let form = PolicyInput {
        scope: "tenant".into(),
        action: "A".into(),
        ..PolicyInput::default()
    };
    let view = policies_page(
        &state,
        &principal,
        notice.notice.as_deref(),
        form,
        PolicyMessages::default(),
        None,
    )
    .await?;
    page(&view)
}

async fn add_policy(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Form(input): Form<PolicyInput>,
) -> Result<Response, PageError> {
    let form = PolicyForm {
        scope: input.scope.clone(),
        value: input.value.clone(),
        action: input.action.clone(),
        certificate_id: Some(input.certificate_id.clone()),
    };
    match admin::create_policy(&state, &principal, Some(&input.tenant_id), form).await {
        Ok(_) => Ok(Redirect::to("/policies?notice=policy-added").into_response()),
        Err(error) => {
            let errors = field_errors(error)?;
            let view = policies_page(
                &state,
                &principal,
                None,
                input,
                PolicyMessages::from_errors(&errors),
                None,
            )
            .await?;
            page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &view)
        }
    }
}

async fn delete_policy(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: PolicyId = path_id(&id, "policy")?;
    admin::delete_policy(&state, &scope, &id).await?;
    Ok(Redirect::to("/policies?notice=policy-deleted").into_response())
}

async fn save_verification(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Form(setting): Form<VerificationInput>,
) -> Result<Response, PageError> {
    let setting = VerificationSetting {
        failure: setting.failure,
    };
    match admin::set_verification(&state, &principal, None, &setting).await {
        Ok(_) => Ok(Redirect::to("/policies?notice=verification-saved").into_response()),
        Err(error) => {
            let message = field_errors(error)?.first().map(|e| e.message.clone());
            let form = PolicyInput {
                scope: "tenant".into(),
                action: "A".into(),
                ..PolicyInput::default()
            };
            let view = policies_page(
                &state,
                &principal,
                None,
                form,
                PolicyMessages::default(),
                message,
            )
            .await?;
            page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &view)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct VerificationInput {
    #[serde(default)]
    failure: String,
}
