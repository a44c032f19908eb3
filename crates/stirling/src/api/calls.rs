//! `/api/v1/sbcs`, `/api/v1/policies`, `/api/v1/account/verification` and
//! `/api/v1/account/smtp-test`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PageParams, created, paginate, path_id};
use crate::admin::{self, VerificationSetting};
use crate::auth::Principal;
use crate::http::{AppError, AppJson, AppState};
use crate::store::{PolicyForm, PolicyId, SbcForm, SbcId, TenantScope};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sbcs", get(sbcs).post(create_sbc))
        .route("/api/v1/sbcs/{id}", get(sbc).delete(delete_sbc))
        .route("/api/v1/policies", get(policies).post(create_policy))
        .route("/api/v1/policies/{id}", delete(delete_policy))
        .route(
            "/api/v1/account/verification",
            get(verification).put(set_verification),
        )
        .route("/api/v1/account/smtp-test", post(smtp_test))
}

/// A new SBC or rule: the form plus, for an administrator, the tenant.
#[derive(Debug, Deserialize)]
struct New<T> {
    #[serde(flatten)]
    form: T,
    #[serde(default)]
    tenant_id: Option<String>,
}

/// `?tenant_id=` lets an administrator name the account.
#[derive(Debug, Default, Deserialize)]
struct TenantQuery {
    tenant_id: Option<String>,
}

async fn sbcs(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    page: PageParams,
) -> Result<AppJson<Value>, AppError> {
    let page = page.check()?;
    let items = admin::sbcs(&state, &scope)
        .await?
        .iter()
        .map(|s| json!(s))
        .collect();
    Ok(paginate(items, page))
}

async fn create_sbc(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    AppJson(body): AppJson<New<SbcForm>>,
) -> Result<Response, AppError> {
    let sbc = admin::create_sbc(&state, &principal, body.tenant_id.as_deref(), body.form).await?;
    Ok(created(json!(sbc)))
}

async fn sbc(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<AppJson<Value>, AppError> {
    let id: SbcId = path_id(&id, "sbc")?;
    Ok(AppJson(json!(state.store.sbc(&scope, &id).await?)))
}

async fn delete_sbc(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id: SbcId = path_id(&id, "sbc")?;
    admin::delete_sbc(&state, &scope, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn policies(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    page: PageParams,
) -> Result<AppJson<Value>, AppError> {
    let page = page.check()?;
    let items = admin::policies(&state, &scope)
        .await?
        .iter()
        .map(|p| json!(p))
        .collect();
    Ok(paginate(items, page))
}

async fn create_policy(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    AppJson(body): AppJson<New<PolicyForm>>,
) -> Result<Response, AppError> {
    let rule =
        admin::create_policy(&state, &principal, body.tenant_id.as_deref(), body.form).await?;
    Ok(created(json!(rule)))
}

async fn delete_policy(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id: PolicyId = path_id(&id, "policy")?;
    admin::delete_policy(&state, &scope, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn verification(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<TenantQuery>,
) -> Result<AppJson<VerificationSetting>, AppError> {
    let (_, setting) = admin::verification(&state, &principal, query.tenant_id.as_deref()).await?;
    Ok(AppJson(setting))
}

async fn set_verification(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<TenantQuery>,
    AppJson(setting): AppJson<VerificationSetting>,
) -> Result<AppJson<VerificationSetting>, AppError> {
    Ok(AppJson(
        admin::set_verification(&state, &principal, query.tenant_id.as_deref(), &setting).await?,
    ))
}

async fn smtp_test(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<TenantQuery>,
) -> Result<AppJson<Value>, AppError> {
    let to = admin::smtp_test(&state, &principal, query.tenant_id.as_deref()).await?;
    Ok(AppJson(json!({ "status": "sent", "to": to })))
}
