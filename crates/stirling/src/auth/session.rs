//! Browser sessions: logging in and out, and the session cookie.
//!
//! The cookie holds 32 random bytes; the store keeps only their SHA-256, with the user, the
//! session's CSRF token and the expiry, so any node can check it and a copy of the table does
//! not let anyone in. The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no
//! other site's request carries it), `Path=/`, and `Secure` when `http.secure_cookies` is set.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};

use super::password::{decoy_hash, verify_password_blocking};
use super::token::{RandomError, credential_hash, random_token};
use super::{Auth, RetryAfter};
use crate::http::AppState;
use crate::store::{StoreError, User};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "stirling_session";
/// How long a session lasts from login.
pub const SESSION_LIFETIME_SECS: u64 = 12 * 3600;

/// Why a login did not start a session.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email or wrong password; which one is not said.
    #[error("wrong email or password")]
    BadCredentials,
    /// Too many failures for this source and email.
    #[error("too many failed logins; try again in {} seconds", .0.0)]
    RateLimited(RetryAfter),
    /// No randomness for the session id.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks an email and password from `source` and, when they match, stores a new session.
/// Returns the user and the `Set-Cookie` value to send.
pub async fn log_in(
    state: &AppState,
    source: IpAddr,
    email: &str,
    password: &str,
) -> Result<(User, HeaderValue), LoginError> {
    let now = state.clock.now();
    let limiter = state.auth.limiter();
    limiter
        .check(source, email, now)
        .map_err(LoginError::RateLimited)?;
    let found = state.store.user_for_login(email).await?;
    let stored = match &found {
        Some((_, hash)) => hash.clone(),
        None => decoy_hash().to_owned(),
    };
    let matches = verify_password_blocking(password.to_owned(), stored).await;
    let user = match found {
        Some((user, _)) if matches => user,
        _ => {
            limiter.failed(source, email, now);
            return Err(LoginError::BadCredentials);
        }
    };
    limiter.succeeded(source, email);
    let session_id = random_token()?;
    let csrf_token = random_token()?;
    let expires = now.as_secs().saturating_add(SESSION_LIFETIME_SECS);
    state
        .store
        .create_session(
            &credential_hash(&session_id),
            &user.id,
            &csrf_token,
            now,
            passport::UnixTime::since_unix_epoch(Duration::from_secs(expires)),
        )
        .await?;
    // Opportunistic clean-up keeps the table small without a background job.
    if let Err(e) = state.store.delete_expired_sessions(now).await {
        tracing::warn!(error = %e, "removing expired sessions failed");
    }
    Ok((user, session_cookie(&state.auth, &session_id)))
}

/// Ends the request's session, if any; returns the `Set-Cookie` value that clears the cookie.
pub async fn log_out(state: &AppState, headers: &HeaderMap) -> Result<HeaderValue, StoreError> {
    if let Some(session_id) = session_id_from_cookies(headers) {
        state
            .store
            .delete_session(&credential_hash(&session_id))
            .await?;
    }
    Ok(clear_session_cookie(&state.auth))
}

/// The session id from the request's `Cookie` headers, if present.
pub fn session_id_from_cookies(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(name, value)| (name == SESSION_COOKIE).then(|| value.trim().to_owned()))
        .filter(|value| !value.is_empty())
}

fn session_cookie(auth: &Auth, session_id: &str) -> HeaderValue {
    cookie(auth, session_id, SESSION_LIFETIME_SECS)
}

/// A `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie(auth: &Auth) -> HeaderValue {
    cookie(auth, "", 0)
}

fn cookie(auth: &Auth, value: &str, max_age: u64) -> HeaderValue {
    let secure = if auth.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    );
    // The value is base64url and the rest is fixed ASCII, so this cannot fail; should it, the
    // browser gets an empty cookie and simply is not logged in.
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_flags() {
        let plain = cookie(&Auth::new(false), "abc", 60);
        assert_eq!(
            plain,
            "stirling_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=60"
        );
        let secure = clear_session_cookie(&Auth::new(true));
        assert_eq!(
            secure,
            "stirling_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure"
        );
    }

    #[test]
    fn session_id_is_found_among_cookies() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        assert_eq!(session_id_from_cookies(&headers), None);
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("x=y; stirling_session=s3ss; z=1"),
        );
        assert_eq!(session_id_from_cookies(&headers).as_deref(), Some("s3ss"));
        let mut empty = HeaderMap::new();
        empty.append(
            header::COOKIE,
            HeaderValue::from_static("stirling_session="),
        );
        assert_eq!(session_id_from_cookies(&empty), None);
    }
}
