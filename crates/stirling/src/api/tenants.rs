//! `/api/v1/tenants`: installation administrators only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Value, json};

use super::{PageParams, created, paginate, path_id, require_admin};
use crate::admin::TenantForm;
use crate::auth::Principal;
use crate::http::{AppError, AppJson, AppState};
use crate::store::TenantId;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants", get(list).post(create))
        .route("/api/v1/tenants/{id}", get(show).put(update).delete(remove))
}

async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    page: PageParams,
) -> Result<AppJson<Value>, AppError> {
    require_admin(&principal)?;
    let page = page.check()?;
    let items = state
        .store
        .list_tenants()
        .await?
        .iter()
        .map(|t| json!(t))
        .collect();
    Ok(paginate(items, page))
}

async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    AppJson(form): AppJson<TenantForm>,
) -> Result<Response, AppError> {
    require_admin(&principal)?;
    let new = form.validate().map_err(AppError::Invalid)?;
    let tenant = state.store.create_tenant(&new, state.clock.now()).await?;
    Ok(created(json!(tenant)))
}

async fn show(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<AppJson<Value>, AppError> {
    require_admin(&principal)?;
    let id: TenantId = path_id(&id, "tenant")?;
    Ok(AppJson(json!(state.store.tenant(&id).await?)))
}

async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    AppJson(form): AppJson<TenantForm>,
) -> Result<AppJson<Value>, AppError> {
    require_admin(&principal)?;
    let id: TenantId = path_id(&id, "tenant")?;
    let new = form.validate().map_err(AppError::Invalid)?;
    Ok(AppJson(json!(
        state
            .store
            .update_tenant(&id, &new, state.clock.now())
            .await?
    )))
}

async fn remove(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    require_admin(&principal)?;
    let id: TenantId = path_id(&id, "tenant")?;
    state.store.delete_tenant(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
