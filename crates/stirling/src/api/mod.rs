//! The admin REST API, `/api/v1/...`: everything the pages do, as JSON.
//!
//! Authentication is a session cookie (with `X-CSRF-Token` on writes) or
//! `Authorization: Bearer stk_…` ([`crate::auth::require_api`]). Errors are [`AppError`] bodies
//! (`{"error": …, "fields": [{"field", "message"}]}`); lists take `?limit=&offset=` and answer
//! `{"items", "total", "limit", "offset"}`. The OpenAPI 3.1 document is served at
//! `/api/v1/openapi.json` and a test calls every route it lists.

mod calls;
mod certificates;
mod people;
mod tenants;

use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router, middleware};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Principal, require_api};
use crate::entry::FieldError;
use crate::http::{AppError, AppJson, AppState};

/// The OpenAPI 3.1 description of this API.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// Default page size of lists.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size of lists.
pub const MAX_LIMIT: usize = 500;

/// The `/api/v1` routes, authenticated with `state`.
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let routes = Router::new()
        .route("/api/v1/me", get(me))
        .merge(calls::router())
        .merge(certificates::router())
        .merge(people::router())
        .merge(tenants::router());
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .merge(authenticated(state, routes))
}

/// Puts `routes` behind the API's authentication ([`require_api`]): 401 without credentials,
/// 403 for viewers' writes and session writes without `X-CSRF-Token`, and
/// `Extension<Principal>` plus `Extension<TenantScope>` for the handlers. Other areas' `/api/v1`
/// routes (e.g. SIP messages) are wrapped with this before being merged into the router.
pub fn authenticated(state: &AppState, routes: Router<AppState>) -> Router<AppState> {
    routes.route_layer(middleware::from_fn_with_state(state.clone(), require_api))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

/// `GET /api/v1/me`: who the credentials belong to.
async fn me(Extension(principal): Extension<Principal>) -> AppJson<Value> {
    AppJson(json!({
        "user_id": principal.user_id,
        "email": principal.email,
        "role": principal.role,
        "tenant_id": principal.tenant,
    }))
}

/// `?limit=&offset=` as sent; checked by [`Page::check`].
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    limit: Option<String>,
    offset: Option<String>,
}

/// A checked page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Page {
    limit: usize,
    offset: usize,
}

impl PageQuery {
    pub(crate) fn check(&self) -> Result<Page, AppError> {
        let mut errors = Vec::new();
        let limit = match self.limit.as_deref().map(str::parse::<usize>) {
            None => DEFAULT_LIMIT,
            Some(Ok(limit)) if (1..=MAX_LIMIT).contains(&limit) => limit,
            Some(_) => {
                errors.push(FieldError {
                    field: "limit",
                    message: format!("must be a number from 1 to {MAX_LIMIT}"),
                });
                DEFAULT_LIMIT
            }
        };
        let offset = match self.offset.as_deref().map(str::parse::<usize>) {
            None => 0,
            Some(Ok(offset)) => offset,
            Some(Err(_)) => {
                errors.push(FieldError {
                    field: "offset",
                    message: "must be a number from 0".into(),
                });
                0
            }
        };
        if errors.is_empty() {
            Ok(Page { limit, offset })
        } else {
            Err(AppError::Invalid(errors))
        }
    }
}

/// One page of `items` as the list body.
pub(crate) fn paginate(items: Vec<Value>, page: Page) -> AppJson<Value> {
    let total = items.len();
    let items: Vec<Value> = items
        .into_iter()
        .skip(page.offset)
        .take(page.limit)
        .collect();
    AppJson(json!({
        "items": items,
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }))
}

/// Extracts the page query; a malformed query string is a 422 like any other bad field.
pub(crate) type PageParams = Query<PageQuery>;

/// Refuses callers who are not administrators or operators (users and API tokens are managed
/// by them; viewers only read entries and the account).
pub(crate) fn require_manager(principal: &Principal) -> Result<(), AppError> {
    if principal.role.may_write() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only administrators and operators manage this",
        ))
    }
}

/// Refuses callers who are not installation administrators.
pub(crate) fn require_admin(principal: &Principal) -> Result<(), AppError> {
    if principal.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only installation administrators manage this",
        ))
    }
}

/// A path id: anything that is not one of our ids is simply not found.
pub(crate) fn path_id<T: std::str::FromStr>(raw: &str, what: &'static str) -> Result<T, AppError> {
    raw.parse()
        .map_err(|_| AppError::Store(crate::store::StoreError::NotFound { what }))
}

/// `201 Created` with a JSON body.
pub(crate) fn created(body: Value) -> Response {
    (StatusCode::CREATED, AppJson(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(limit: Option<&str>, offset: Option<&str>) -> Result<Page, AppError> {
        PageQuery {
            limit: limit.map(Into::into),
            offset: offset.map(Into::into),
        }
        .check()
    }

    #[test]
    fn pages_are_checked_and_sliced() {
        assert_eq!(
            page(None, None).unwrap(),
            Page {
                limit: 50,
                offset: 0
            }
        );
        assert_eq!(
            page(Some("2"), Some("1")).unwrap(),
            Page {
                limit: 2,
                offset: 1
            }
        );
        for (limit, offset) in [(Some("0"), None), (Some("501"), None), (None, Some("-1"))] {
            assert!(matches!(page(limit, offset), Err(AppError::Invalid(_))));
        }
        let items = (0..5).map(|i| json!(i)).collect();
        let AppJson(body) = paginate(
            items,
            Page {
                limit: 2,
                offset: 3,
            },
        );
        assert_eq!(
            body,
            json!({"items": [3, 4], "total": 5, "limit": 2, "offset": 3})
        );
    }

    #[test]
    fn the_openapi_document_is_3_1_json() {
        let doc: Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"].as_object().unwrap().len() > 10);
    }
}
