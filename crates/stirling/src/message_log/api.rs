//! `GET /api/v1/sip-messages` (the log, filtered, newest first) and
//! `GET /api/v1/sip-messages/{id}` (one message for the **Show** button). Both are scoped by
//! the caller's [`TenantScope`], which the authentication middleware puts in the request's
//! extensions.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use passport::{TelephoneNumber, UnixTime};
use serde::Deserialize;
use serde_json::{Value, json};

use super::display::{MessageView, certificate_details, decode_identities};
use crate::entry::FieldError;
use crate::http::{AppError, AppState};
use crate::store::{
    MAX_PAGE_SIZE, Service, SipMessageCursor, SipMessageFilter, SipMessageId, StoreError,
    TenantScope,
};

/// Messages per page when the query does not say.
const DEFAULT_PAGE_SIZE: u32 = 50;

/// The routes, for the application router to merge.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sip-messages", get(list))
        .route("/api/v1/sip-messages/{id}", get(show))
}

/// The query of the list: every parameter optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Received at or after, unix seconds.
    since: Option<u64>,
    /// Received before, unix seconds.
    until: Option<u64>,
    /// Calling or called number, in any form [`TelephoneNumber::canonicalize`] accepts.
    tn: Option<String>,
    /// `passed`, `failed`, `signed`, `blocked`, … ([`crate::store::CallResult`]).
    result: Option<String>,
    /// `signing` or `verification`.
    service: Option<String>,
    /// 1 to 200; default 50.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, AppError> {
    let Query(query) = query.map_err(|rejection| AppError::BadBody {
        status: rejection.status(),
        message: rejection.body_text(),
    })?;
    let (filter, cursor, limit) = checked(query).map_err(AppError::Invalid)?;
    let page = state
        .store
        .list_sip_messages(&scope, &filter, cursor.as_ref(), limit)
        .await?;
    Ok(Json(json!({
        "messages": page.messages,
        "next_cursor": page.next.map(|c| c.to_string()),
    })))
}

async fn show(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<Json<MessageView>, AppError> {
    Ok(Json(message_view(&state, &scope, &id).await?))
}

/// One message visible in `scope` as the **Show** button displays it (the API's detail and
/// the SIP Messages page's). An id we never made is simply not found.
pub async fn message_view(
    state: &AppState,
    scope: &TenantScope,
    id: &str,
) -> Result<MessageView, AppError> {
    let id: SipMessageId = id.parse().map_err(|_| StoreError::NotFound {
        what: "sip message",
    })?;
    let detail = state.store.sip_message(scope, &id).await?;
    let message = detail.message;
    let summary = message.summary;
    let passports = match summary.service {
        Service::Signing => decode_identities(&message.raw_response.text),
        Service::Verification => decode_identities(&message.raw_request.text),
    };
    let chain_pem = match (&summary.certificate_version_id, &summary.tenant_id) {
        (Some(version), Some(tenant)) => match state.store.version(tenant, version).await {
            Ok(version) => Ok(Some(version.chain_pem)),
            Err(StoreError::NotFound { .. }) => {
                Err("the certificate version is no longer stored".to_owned())
            }
            Err(e) => return Err(e.into()),
        },
        _ => match (detail.chain_pem, &summary.chain_fingerprint) {
            (Some(pem), _) => Ok(Some(pem)),
            (None, Some(_)) => Err("the verified chain is no longer stored".to_owned()),
            (None, None) => Ok(None),
        },
    };
    let (certificate, certificate_error) = match chain_pem {
        Ok(Some(pem)) => match certificate_details(&pem) {
            Ok(details) => (Some(details), None),
            Err(e) => (None, Some(e)),
        },
        Ok(None) => (None, None),
        Err(e) => (None, Some(e)),
    };
    Ok(MessageView {
        summary,
        raw_request: message.raw_request,
        raw_response: message.raw_response,
        passports,
        certificate,
        certificate_error,
    })
}

/// The query's values, parsed; every bad one is named.
fn checked(
    query: ListQuery,
) -> Result<(SipMessageFilter, Option<SipMessageCursor>, u32), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut bad = |field: &'static str, message: &str| {
        errors.push(FieldError {
            field,
            message: message.to_owned(),
        });
    };
    let mut time = |field, secs: Option<u64>| match secs {
        // The store keeps signed 64-bit seconds.
        Some(secs) if i64::try_from(secs).is_err() => {
            bad(field, "is too large");
            None
        }
        secs => secs.map(|s| UnixTime::since_unix_epoch(std::time::Duration::from_secs(s))),
    };
    let mut filter = SipMessageFilter {
        since: time("since", query.since),
        until: time("until", query.until),
        ..SipMessageFilter::default()
    };
    if let Some(tn) = &query.tn {
        match TelephoneNumber::canonicalize(tn) {
            Ok(tn) => filter.tn = Some(tn),
            Err(_) => bad("tn", "must be a telephone number"),
        }
    }
    if let Some(result) = &query.result {
        match result.parse() {
            Ok(result) => filter.result = Some(result),
            Err(()) => bad("result", "unknown result"),
        }
    }
    if let Some(service) = &query.service {
        match service.parse() {
            Ok(service) => filter.service = Some(service),
            Err(()) => bad("service", "must be signing or verification"),
        }
    }
    let limit = query.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        bad("limit", "must be 1 to 200");
    }
    let cursor = match query.cursor.as_deref().map(str::parse) {
        None => None,
        Some(Ok(cursor)) => Some(cursor),
        Some(Err(())) => {
            bad("cursor", "is not a cursor this api returned");
            None
        }
    };
    match errors.is_empty() {
        true => Ok((filter, cursor, limit)),
        false => Err(errors),
    }
}
