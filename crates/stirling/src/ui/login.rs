//! `/login` and `/logout`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::{PageError, page, page_with_status};
use crate::auth::{self, LoginError};
use crate::http::{AppError, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/login", get(login_page).post(login))
}

pub(super) fn logout_router() -> Router<AppState> {
    Router::new().route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    email: String,
    error: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    // Already logged in: straight to the dashboard.
    if auth::authenticate(&state, &headers).await?.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    page(&LoginPage {
        email: String::new(),
        error: None,
    })
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    // The login form has no session yet, so no CSRF token: refuse a login posted from another
    // site (login CSRF would sign the victim into the attacker's account).
    if !same_origin(&headers) {
        return Err(AppError::Forbidden("the login form must be sent from this site").into());
    }
    // The peer address as the listener saw it (`serve` records it); proxies' headers are not
    // trusted. Without it (in-process tests) every attempt shares one bucket per email.
    let source = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    match auth::log_in(&state, source, &form.email, &form.password).await {
        Ok((_, cookie)) => Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()),
        Err(LoginError::BadCredentials) => page_with_status(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                email: form.email,
                error: Some("Wrong email or password.".into()),
            },
        ),
        Err(LoginError::RateLimited(retry)) => {
            let mut response = page_with_status(
                StatusCode::TOO_MANY_REQUESTS,
                &LoginPage {
                    email: form.email,
                    error: Some(format!(
                        "Too many failed logins for this email. Try again in {} seconds.",
                        retry.0
                    )),
                },
            )?;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry.0.into());
            Ok(response)
        }
        Err(LoginError::Store(e)) => Err(e.into()),
        Err(LoginError::Random(e)) => Err(AppError::Internal(e.to_string()).into()),
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let cookie = auth::log_out(&state, &headers).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response())
}

/// Whether a browser's `Origin` (sent with every cross-site POST) names this host. Requests
/// without `Origin` (non-browser clients) are allowed: they are not a CSRF vector.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn logins_from_other_sites_are_refused() {
        let headers = |origin: Option<&'static str>| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::HOST,
                HeaderValue::from_static("stirling.example:8080"),
            );
            if let Some(origin) = origin {
                headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
            }
            headers
        };
        assert!(same_origin(&headers(None)));
        assert!(same_origin(&headers(Some("http://stirling.example:8080"))));
        assert!(same_origin(&headers(Some("https://Stirling.example:8080"))));
        assert!(!same_origin(&headers(Some("https://evil.example"))));
        assert!(!same_origin(&headers(Some("http://stirling.example"))));
        assert!(!same_origin(&headers(Some("null"))));
    }
}
