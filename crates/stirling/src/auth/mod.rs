//! Who is calling: users with argon2id passwords, browser sessions kept in the store, API
//! tokens, CSRF tokens and login rate limiting.
//!
//! [`require_api`] and [`require_ui`] authenticate each request by session cookie or
//! `Authorization: Bearer stk_…` and put two things into the request's extensions: the
//! [`Principal`] and its [`TenantScope`]. Handlers of any area take
//! `axum::Extension<TenantScope>` and pass it to the store, so another tenant's rows are simply
//! not found (404), never "forbidden". Role rules applied here for every route: a viewer may
//! only read (403 on POST, PUT, DELETE); a browser session's state-changing request must carry
//! its CSRF token (form field `csrf`, or header `X-CSRF-Token` for the JSON API).

mod password;
mod rate_limit;
mod session;
mod token;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

pub use password::{
    PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, PasswordError, check_new_password, hash_password,
    hash_password_blocking, verify_password, verify_password_blocking,
};
pub use rate_limit::{LoginLimiter, MAX_FAILURES, RetryAfter, WINDOW_SECS};
pub use session::{
    LoginError, SESSION_COOKIE, SESSION_LIFETIME_SECS, clear_session_cookie, log_in, log_out,
    session_id_from_cookies,
};
pub use token::{
    API_TOKEN_PREFIX, RandomError, api_token_shown_prefix, credential_hash, new_api_token,
    random_token, secrets_equal,
};

use crate::http::{AppError, AppState};
use crate::store::{Role, StoreError, TenantId, TenantScope, User, UserId, scope_for};

/// Header a browser's JSON API calls carry the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Form field the pages carry the session's CSRF token in.
pub const CSRF_FIELD: &str = "csrf";
/// Largest form body the CSRF check reads.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// Authentication settings and state shared by every request. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Auth {
    limiter: Arc<LoginLimiter>,
    secure_cookies: bool,
}

impl Auth {
    /// `secure_cookies` marks the session cookie `Secure` (set `http.secure_cookies` when the
    /// service is reached over TLS).
    pub fn new(secure_cookies: bool) -> Self {
        Self {
            limiter: Arc::new(LoginLimiter::default()),
            secure_cookies,
        }
    }

    /// The login rate limiter.
    pub fn limiter(&self) -> &LoginLimiter {
        &self.limiter
    }

    /// Whether session cookies are marked `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user (an API token acts as its user).
    pub user_id: UserId,
    /// The user's email.
    pub email: String,
    /// What the user may do.
    pub role: Role,
    /// The user's tenant; `None` for an installation administrator.
    pub tenant: Option<TenantId>,
    /// How the request proved it.
    pub credential: Credential,
}

/// How a request authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer stk_…`.
    ApiToken,
    /// The session cookie; state-changing requests must echo this CSRF token.
    Session {
        /// The session's CSRF token.
        csrf_token: String,
    },
}

impl Principal {
    fn new(user: User, credential: Credential) -> Self {
        Self {
            user_id: user.id,
            email: user.email,
            role: user.role,
            tenant: user.tenant_id,
            credential,
        }
    }

    /// The tenants this caller may see.
    pub fn scope(&self) -> TenantScope {
        scope_for(self.role, self.tenant.as_ref())
    }

    /// The session's CSRF token, for forms; `None` for API tokens.
    pub fn csrf_token(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session { csrf_token } => Some(csrf_token),
            Credential::ApiToken => None,
        }
    }

    /// Whether this caller administers the whole installation.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Authenticates a request by bearer token or session cookie. `Ok(None)` when it carries
/// neither or an unknown, revoked or expired one.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Principal>, StoreError> {
    let now = state.clock.now();
    if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        // A request that names a bearer token is judged by it alone, never by a cookie too.
        let Some(token) = authorization
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with(API_TOKEN_PREFIX))
        else {
            return Ok(None);
        };
        return Ok(state
            .store
            .api_token_user(&credential_hash(token), now)
            .await?
            .map(|user| Principal::new(user, Credential::ApiToken)));
    }
    let Some(session_id) = session_id_from_cookies(headers) else {
        return Ok(None);
    };
    Ok(state
        .store
        .session(&credential_hash(&session_id), now)
        .await?
        .map(|record| {
            Principal::new(
                record.user,
                Credential::Session {
                    csrf_token: record.csrf_token,
                },
            )
        }))
}

/// Middleware for `/api/v1`: 401 without credentials, 403 for a viewer's writes and for a
/// session's writes without the `X-CSRF-Token` header.
pub async fn require_api(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match authenticate(&state, request.headers()).await {
        Ok(Some(principal)) => principal,
        Ok(None) => return AppError::Unauthenticated.into_response(),
        Err(e) => return AppError::Store(e).into_response(),
    };
    if changes_state(request.method()) {
        if !principal.role.may_write() {
            return AppError::Forbidden("viewers may only read").into_response();
        }
        if let Some(expected) = principal.csrf_token() {
            let sent = request
                .headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !secrets_equal(sent, expected) {
                return AppError::Forbidden("missing or wrong X-CSRF-Token header").into_response();
            }
        }
    }
    insert(&mut request, principal);
    next.run(request).await
}

/// Middleware for the pages: without a session, a redirect to the login page; a viewer's
/// POST is refused; every POST must carry the session's CSRF token as form field `csrf`.
pub async fn require_ui(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let principal = match authenticate(&state, request.headers()).await {
        Ok(Some(principal)) => principal,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(e) => return crate::ui::PageError::from(AppError::Store(e)).into_response(),
    };
    let mut request = request;
    if changes_state(request.method()) {
        if !principal.role.may_write() {
            return crate::ui::PageError::from(AppError::Forbidden("viewers may only read"))
                .into_response();
        }
        let (parts, body) = request.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return crate::ui::PageError::from(AppError::BadBody {
                    status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    message: "form too large".into(),
                })
                .into_response();
            }
        };
        let csrf_ok = match principal.csrf_token() {
            Some(expected) => {
                form_field(&bytes, CSRF_FIELD).is_some_and(|sent| secrets_equal(&sent, expected))
            }
            // The pages are for browsers; a bearer token has no CSRF risk.
            None => true,
        };
        if !csrf_ok {
            return crate::ui::PageError::from(AppError::Forbidden(
                "the form expired or did not come from this site; reload the page and try again",
            ))
            .into_response();
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    insert(&mut request, principal);
    next.run(request).await
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn insert(request: &mut Request, principal: Principal) {
    request.extensions_mut().insert(principal.scope());
    request.extensions_mut().insert(principal);
}

/// The first value of `name` in a urlencoded form body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find_map(|(k, v)| (k == name).then_some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_field_is_read_from_urlencoded_forms() {
        assert_eq!(
            form_field(b"name=a%20b&csrf=t0k%2Ben", "csrf").as_deref(),
            Some("t0k+en")
        );
        assert_eq!(form_field(b"name=a", "csrf"), None);
        assert_eq!(form_field(b"\xff\xfe=%zz", "csrf"), None);
    }

    #[test]
    fn only_reads_are_free_of_role_and_csrf_checks() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(!changes_state(&method));
        }
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(changes_state(&method));
        }
    }

    fn principal(role: Role, tenant: Option<&str>) -> Principal {
        Principal {
            user_id: UserId::new(),
            email: "u@example.com".into(),
            role,
            tenant: tenant.map(|t| t.parse().unwrap()),
            credential: Credential::ApiToken,
        }
    }

    #[test]
    fn scope_follows_role_and_tenant() {
        let tenant = "0190a8a4-6b7e-7cc0-8a5e-1c2d3e4f5a6b";
        assert_eq!(principal(Role::Admin, None).scope(), TenantScope::All);
        assert_eq!(
            principal(Role::Admin, Some(tenant)).scope(),
            TenantScope::All
        );
        let own = TenantScope::Tenant(tenant.parse().unwrap());
        assert_eq!(principal(Role::Operator, Some(tenant)).scope(), own);
        assert_eq!(principal(Role::Viewer, Some(tenant)).scope(), own);
        let other: TenantId = "0190a8a4-6b7e-7cc0-8a5e-000000000000".parse().unwrap();
        assert!(
            !principal(Role::Operator, Some(tenant))
                .scope()
                .allows(&other)
        );
        // A non-admin without a tenant sees nothing, not everything.
        let orphan = principal(Role::Viewer, None).scope();
        assert!(!orphan.allows(&other));
        assert!(orphan.tenant().is_some());
    }
}
