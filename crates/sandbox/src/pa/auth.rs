//! `POST /api/v1/auth/login` and `/logout` (`reference/standards.md` §4.2), and the session
//! check every other call makes: `Authorization: <raw access token>`, no `Bearer`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::PaError;
use crate::Sandbox;
use crate::state::password_matches;
use crate::store::Session;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Login {
    user_id: String,
    password: String,
}

pub(super) async fn login(
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<Value>, PaError> {
    let login: Login = serde_json::from_slice(&body)
        .map_err(|_| PaError::malformed("body must be {\"userId\":…,\"password\":…}"))?;
    // Hashing is CPU work: keep it off the async workers.
    let check = sandbox.clone();
    let user_id = login.user_id.clone();
    let ok = tokio::task::spawn_blocking(move || {
        check.read(|data| {
            data.pa
                .users
                .get(&user_id)
                .is_some_and(|user| password_matches(user, &login.password))
        })
    })
    .await
    .map_err(|_| PaError::internal())?;
    if !ok {
        return Err(PaError::bad_credentials());
    }
    let lifetime = sandbox.config().session_lifetime.as_secs();
    let expires = sandbox.now() + lifetime;
    let token = sandbox
        .update(|data| {
            let now = sandbox.now();
            data.pa.sessions.retain(|_, s| s.expires > now);
            let token = data.rng.token();
            data.pa.sessions.insert(
                token.clone(),
                Session {
                    user_id: login.user_id,
                    expires,
                },
            );
            token
        })
        .await?;
    Ok(Json(json!({
        "status": "success",
        "accessToken": token,
        "expiresIn": lifetime,
        "expiresAt": expires,
    })))
}

pub(super) async fn logout(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
) -> Result<Json<Value>, PaError> {
    let token = access_token(&headers)?;
    let removed = sandbox
        .update(|data| data.pa.sessions.remove(token).is_some())
        .await?;
    if !removed {
        return Err(PaError::unauthenticated());
    }
    Ok(Json(json!({"status": "success", "message": "logged out"})))
}

/// The user behind the request's access token.
pub(super) fn user(sandbox: &Sandbox, headers: &HeaderMap) -> Result<String, PaError> {
    let token = access_token(headers)?;
    let now = sandbox.now();
    sandbox
        .read(|data| {
            data.pa
                .sessions
                .get(token)
                .filter(|s| s.expires > now)
                .map(|s| s.user_id.clone())
        })
        .ok_or_else(PaError::unauthenticated)
}

fn access_token(headers: &HeaderMap) -> Result<&str, PaError> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(PaError::unauthenticated)
}
