//! The certificate repository (STI-CR, `standards.md` §3.6): every certificate version is
//! served at a stable public URL, the `x5u` of the PASSporTs it signs, until it expires.
//!
//! `GET /cr/<spid>/<sha256 hex>.pem` → `200 application/pem-certificate-chain`, leaf first,
//! `Cache-Control: public, max-age=<min(86400, seconds left)>`; anything else 404.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use passport::{Spc, UnixTime};

use crate::http::{AppError, AppState};

/// ATIS-1000074 asks verifiers to cache for at least 24 h; we say so, unless the certificate
/// expires sooner.
pub const MAX_CACHE_SECS: u64 = 86_400;

/// The repository path of a version: `cr/<spid>/<fingerprint>.pem`, with the SHA-256
/// fingerprint of the end-entity certificate in lower-case hex.
pub fn repository_path(spid: &Spc, fingerprint_hex: &str) -> String {
    format!("cr/{spid}/{}.pem", fingerprint_hex.to_ascii_lowercase())
}

/// Seconds a client may cache a chain that expires at `not_after`, seen at `now`.
pub fn cache_max_age(not_after: UnixTime, now: UnixTime) -> u64 {
    not_after
        .as_secs()
        .saturating_sub(now.as_secs())
        .min(MAX_CACHE_SECS)
}

/// `GET /cr/{spid}/{file}`.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/cr/{spid}/{file}", get(chain))
}

async fn chain(
    State(state): State<AppState>,
    Path((spid, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let Some(path) = checked_path(&spid, &file) else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let now = state.clock.now();
    let Some(published) = state.store.published_chain(&path, now).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let max_age = cache_max_age(published.not_after, now);
    let cache = HeaderValue::from_str(&format!("public, max-age={max_age}"))
        .unwrap_or(HeaderValue::from_static("no-store"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pem-certificate-chain"),
            ),
            (header::CACHE_CONTROL, cache),
        ],
        published.chain_pem,
    )
        .into_response())
}

/// The stored path for a request, when the request has the shape we publish.
fn checked_path(spid: &str, file: &str) -> Option<String> {
    let spid = Spc::new(spid).ok()?;
    let hex = file.strip_suffix(".pem")?;
    let is_sha256_hex =
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    is_sha256_hex.then(|| repository_path(&spid, hex))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn t(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    #[test]
    fn cache_lifetime_is_a_day_or_what_is_left() {
        assert_eq!(cache_max_age(t(1_000_000), t(0)), 86_400);
        assert_eq!(cache_max_age(t(1_000), t(400)), 600);
        assert_eq!(cache_max_age(t(1_000), t(2_000)), 0);
    }

    #[test]
    fn only_published_shapes_map_to_paths() {
        let hex = "ab".repeat(32);
        assert_eq!(
            checked_path("709J", &format!("{hex}.pem")),
            Some(format!("cr/709J/{hex}.pem"))
        );
        assert_eq!(
            checked_path("709J", &format!("{}.pem", "AB".repeat(32))),
            None
        );
        assert_eq!(checked_path("709J", &hex), None);
        assert_eq!(checked_path("70 9J", &format!("{hex}.pem")), None);
        assert_eq!(checked_path("709J", "../../etc/passwd"), None);
    }
}
