//! `/api/v1/account`, `/api/v1/users` and `/api/v1/tokens`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PageParams, created, paginate, path_id, require_manager};
use crate::admin::{self, AccountForm, TokenForm, UserForm};
use crate::auth::Principal;
use crate::http::{AppError, AppJson, AppState};
use crate::store::{ApiTokenId, TenantScope, UserId};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/account", get(account).put(update_account))
        .route("/api/v1/users", get(users).post(create_user))
        .route("/api/v1/users/{id}", get(user).delete(delete_user))
        .route("/api/v1/tokens", get(tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
}

/// `?tenant_id=` lets an administrator name the account.
#[derive(Debug, Default, Deserialize)]
struct TenantQuery {
    tenant_id: Option<String>,
}

async fn account(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<TenantQuery>,
) -> Result<AppJson<Value>, AppError> {
    let tenant = admin::account(&state, &principal, query.tenant_id.as_deref()).await?;
    Ok(AppJson(json!(tenant)))
}

async fn update_account(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<TenantQuery>,
    AppJson(form): AppJson<AccountForm>,
) -> Result<AppJson<Value>, AppError> {
    let tenant =
        admin::update_account(&state, &principal, query.tenant_id.as_deref(), &form).await?;
    Ok(AppJson(json!(tenant)))
}

async fn users(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(scope): Extension<TenantScope>,
    page: PageParams,
) -> Result<AppJson<Value>, AppError> {
    require_manager(&principal)?;
    let page = page.check()?;
    let items = state
        .store
        .list_users(&scope)
        .await?
        .iter()
        .map(|u| json!(u))
        .collect();
    Ok(paginate(items, page))
}

async fn user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<AppJson<Value>, AppError> {
    require_manager(&principal)?;
    let id: UserId = path_id(&id, "user")?;
    Ok(AppJson(json!(state.store.user(&scope, &id).await?)))
}

async fn create_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    AppJson(form): AppJson<UserForm>,
) -> Result<Response, AppError> {
    let user = admin::create_user(&state, &principal, form).await?;
    Ok(created(json!(user)))
}

async fn delete_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id: UserId = path_id(&id, "user")?;
    admin::delete_user(&state, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tokens(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(scope): Extension<TenantScope>,
    page: PageParams,
) -> Result<AppJson<Value>, AppError> {
    require_manager(&principal)?;
    let page = page.check()?;
    let items = state
        .store
        .list_api_tokens(&scope)
        .await?
        .iter()
        .map(|t| json!(t))
        .collect();
    Ok(paginate(items, page))
}

async fn create_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    AppJson(form): AppJson<TokenForm>,
) -> Result<Response, AppError> {
    let (stored, token) = admin::create_token(&state, &principal, &form).await?;
    let mut body = json!(stored);
    // The one place the token leaves the service: in the creation response, once.
    body["token"] = json!(token.secret_str());
    Ok(created(body))
}

async fn revoke_token(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id: ApiTokenId = path_id(&id, "API token")?;
    admin::revoke_token(&state, &scope, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
