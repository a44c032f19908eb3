//! Settings ▸ Account, Users and API tokens.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::{
    Nav, NoticeQuery, PageError, field_errors, field_messages, page, page_with_status, show_time,
};
use crate::admin::{self, AccountForm, TokenForm, UserForm};
use crate::api::path_id;
use crate::auth::Principal;
use crate::http::{AppError, AppState};
use crate::secrets::SecretString;
use crate::store::{ApiTokenId, TenantScope, UserId};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/account", get(account).post(save_account))
        .route("/settings/account/smtp-test", post(smtp_test))
        .route("/settings/users", get(users).post(add_user))
        .route("/settings/users/{id}/delete", post(delete_user))
        .route("/settings/tokens", get(tokens).post(create_token))
        .route("/settings/tokens/{id}/delete", post(revoke_token))
}

field_messages!(AccountMessages {
    company,
    technical_contact_name,
    technical_contact_phone,
    system_email,
});

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    nav: Nav,
    tenant_name: String,
    /// `?tenant_id=…` for an administrator editing another tenant, else empty.
    query: String,
    form: AccountForm,
    errors: AccountMessages,
    /// Whether an SMTP relay is configured (offers the test button).
    mail_configured: bool,
}

#[derive(Debug, Default, Deserialize)]
struct AccountQuery {
    tenant_id: Option<String>,
    notice: Option<String>,
}

async fn account(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<AccountQuery>,
) -> Result<Response, PageError> {
    let tenant = admin::account(&state, &principal, query.tenant_id.as_deref()).await?;
    page(&AccountPage {
        nav: Nav::new(&principal, "account").with_notice(query.notice.as_deref()),
        query: tenant_query(&principal, &tenant.id),
        tenant_name: tenant.name,
        form: AccountForm {
            company: tenant.company,
            technical_contact_name: tenant.technical_contact_name,
            technical_contact_phone: tenant.technical_contact_phone,
            system_email: tenant.system_email,
        },
        errors: AccountMessages::default(),
        mail_configured: state.mailer.is_some(),
    })
}

/// Sends the test mail; a refusal by the relay is shown on an error page with its answer.
async fn smtp_test(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<AccountQuery>,
) -> Result<Response, PageError> {
    let tenant = admin::account(&state, &principal, query.tenant_id.as_deref()).await?;
    admin::smtp_test(&state, &principal, query.tenant_id.as_deref()).await?;
    Ok(Redirect::to(&format!(
        "/settings/account{}{}notice=smtp-sent",
        tenant_query(&principal, &tenant.id),
        if principal.is_admin() { "&" } else { "?" }
    ))
    .into_response())
}

fn tenant_query(principal: &Principal, tenant: &crate::store::TenantId) -> String {
    if principal.is_admin() {
        format!("?tenant_id={tenant}")
    } else {
        String::new()
    }
}

async fn save_account(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<AccountQuery>,
    Form(form): Form<AccountForm>,
) -> Result<Response, PageError> {
    match admin::update_account(&state, &principal, query.tenant_id.as_deref(), &form).await {
        Ok(tenant) => Ok(Redirect::to(&format!(
            "/settings/account{}{}notice=saved",
            tenant_query(&principal, &tenant.id),
            if principal.is_admin() { "&" } else { "?" }
        ))
        .into_response()),
        Err(error) => {
            let errors = field_errors(error)?;
            let tenant = admin::account(&state, &principal, query.tenant_id.as_deref()).await?;
            page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &AccountPage {
                    nav: Nav::new(&principal, "account"),
                    query: tenant_query(&principal, &tenant.id),
                    tenant_name: tenant.name,
                    form,
                    errors: AccountMessages::from_errors(&errors),
                    mail_configured: state.mailer.is_some(),
                },
            )
        }
    }
}

struct UserRow {
    id: String,
    email: String,
    role: &'static str,
    tenant: String,
    created: String,
    is_self: bool,
}

field_messages!(UserMessages {
    email,
    role,
    password,
    tenant_id,
});

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Nav,
    users: Vec<UserRow>,
    show_tenant: bool,
    tenants: Vec<(String, String)>,
    email: String,
    errors: UserMessages,
}

async fn users_page(
    state: &AppState,
    principal: &Principal,
    notice: Option<&str>,
    email: String,
    errors: UserMessages,
) -> Result<UsersPage, PageError> {
    require_manager(principal)?;
    let tenants: Vec<(String, String)> = if principal.is_admin() {
        state
            .store
            .list_tenants()
            .await?
            .into_iter()
            .map(|t| (t.id.to_string(), t.name))
            .collect()
    } else {
        Vec::new()
    };
    let users = state
        .store
        .list_users(&principal.scope())
        .await?
        .into_iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            is_self: u.id == principal.user_id,
            email: u.email,
            role: u.role.as_str(),
            tenant: u
                .tenant_id
                .as_ref()
                .and_then(|id| tenants.iter().find(|(t, _)| t == id.as_str()))
                .map_or_else(|| "all tenants".to_owned(), |(_, name)| name.clone()),
            created: show_time(u.created_at),
        })
        .collect();
    Ok(UsersPage {
        nav: Nav::new(principal, "users").with_notice(notice),
        users,
        show_tenant: principal.is_admin(),
        tenants,
        email,
        errors,
    })
}

async fn users(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let view = users_page(
        &state,
        &principal,
        notice.notice.as_deref(),
        String::new(),
        UserMessages::default(),
    )
    .await?;
    page(&view)
}

#[derive(Debug, Default, Deserialize)]
struct UserInput {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    tenant_id: String,
}

async fn add_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Form(input): Form<UserInput>,
) -> Result<Response, PageError> {
    require_manager(&principal)?;
    let form = UserForm {
        email: input.email.clone(),
        role: input.role,
        password: SecretString::new(input.password),
        tenant_id: Some(input.tenant_id),
    };
    match admin::create_user(&state, &principal, form).await {
        Ok(_) => Ok(Redirect::to("/settings/users?notice=user-added").into_response()),
        Err(AppError::Store(crate::store::StoreError::Conflict { what })) => {
            let errors = [crate::entry::FieldError {
                field: "email",
                message: what.to_owned(),
            }];
            let view = users_page(
                &state,
                &principal,
                None,
                input.email,
                UserMessages::from_errors(&errors),
            )
            .await?;
            page_with_status(StatusCode::CONFLICT, &view)
        }
        Err(error) => {
            let errors = field_errors(error)?;
            let view = users_page(
                &state,
                &principal,
                None,
                input.email,
                UserMessages::from_errors(&errors),
            )
            .await?;
            page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &view)
        }
    }
}

async fn delete_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_manager(&principal)?;
    let id: UserId = path_id(&id, "user")?;
    admin::delete_user(&state, &principal, &id).await?;
    Ok(Redirect::to("/settings/users?notice=user-deleted").into_response())
}

struct TokenRow {
    id: String,
    name: String,
    prefix: String,
    owner: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    nav: Nav,
    tokens: Vec<TokenRow>,
    new_token: Option<String>,
    error: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    principal: &Principal,
    notice: Option<&str>,
    new_token: Option<String>,
    error: Option<String>,
) -> Result<TokensPage, PageError> {
    require_manager(principal)?;
    let tokens = state
        .store
        .list_api_tokens(&principal.scope())
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id.to_string(),
            name: t.name,
            prefix: t.prefix,
            owner: t.user_email,
            created: show_time(t.created_at),
            last_used: t.last_used_at.map_or_else(|| "never".to_owned(), show_time),
        })
        .collect();
    Ok(TokensPage {
        nav: Nav::new(principal, "tokens").with_notice(notice),
        tokens,
        new_token,
        error,
    })
}

async fn tokens(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let view = tokens_page(&state, &principal, notice.notice.as_deref(), None, None).await?;
    page(&view)
}

async fn create_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    require_manager(&principal)?;
    match admin::create_token(&state, &principal, &form).await {
        // Rendered directly, not redirected: the token must not travel in a URL.
        Ok((_, token)) => {
            let view = tokens_page(
                &state,
                &principal,
                None,
                Some(token.secret_str().to_owned()),
                None,
            )
            .await?;
            page_with_status(StatusCode::CREATED, &view)
        }
        Err(error) => {
            let errors = field_errors(error)?;
            let message = errors.first().map(|e| e.message.clone());
            let view = tokens_page(&state, &principal, None, None, message).await?;
            page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &view)
        }
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_manager(&principal)?;
    let id: ApiTokenId = path_id(&id, "API token")?;
    admin::revoke_token(&state, &scope, &id).await?;
    Ok(Redirect::to("/settings/tokens?notice=token-revoked").into_response())
}

fn require_manager(principal: &Principal) -> Result<(), PageError> {
    crate::api::require_manager(principal).map_err(PageError::from)
}
