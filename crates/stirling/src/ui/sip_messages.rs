//! SIP Messages: the tenant's call log, filtered by time range, number and result, a page at a
//! time; each row's **Show** opens `/sip-messages/{id}` with the raw messages, the decoded
//! PASSporTs and the certificate used.

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use passport::{TelephoneNumber, UnixTime};
use serde::{Deserialize, Serialize};

use super::{Nav, PageError, field_messages, page, show_time};
use crate::auth::Principal;
use crate::entry::FieldError;
use crate::http::AppState;
use crate::message_log::message_view;
use crate::store::{
    CallResult, SipMessageCursor, SipMessageFilter, SipMessageSummary, TenantScope,
};

/// Rows per page.
const PAGE_SIZE: u32 = 50;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sip-messages", get(list))
        .route("/sip-messages/{id}", get(show))
}

/// The time ranges offered, `(word, label, seconds)`; `all` has no bound.
const RANGES: &[(&str, &str, u64)] = &[
    ("1h", "Last hour", 3600),
    ("24h", "Last 24 hours", 86_400),
    ("7d", "Last 7 days", 7 * 86_400),
    ("30d", "Last 30 days", 30 * 86_400),
    ("all", "Everything kept", 0),
];

/// The filter as typed; everything optional. Serialized again for the next-page link.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct ListQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    range: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    tn: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    result: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    cursor: String,
}

field_messages!(FilterMessages {
    range,
    tn,
    result,
    cursor
});

struct Row {
    id: String,
    at: String,
    service: &'static str,
    from: String,
    to: String,
    result: &'static str,
    status: u16,
    attestation: String,
    sbc: String,
}

#[derive(Template)]
#[template(path = "sip_messages.html")]
struct List {
    nav: Nav,
    rows: Vec<Row>,
    query: ListQuery,
    range: &'static str,
    ranges: &'static [(&'static str, &'static str, u64)],
    results: Vec<&'static str>,
    errors: FilterMessages,
    /// The next page's query string, when there is one.
    next: Option<String>,
    /// Whether this is a later page (offer the first).
    paged: bool,
    /// The first page's query string: the same filter without the cursor.
    first: String,
}

async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(scope): Extension<TenantScope>,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let (filter, cursor, range, errors) = checked(&query, state.clock.now());
    let (rows, next) = if errors.is_empty() {
        let page = state
            .store
            .list_sip_messages(&scope, &filter, cursor.as_ref(), PAGE_SIZE)
            .await?;
        let next = page.next.map(|cursor| {
            let next = ListQuery {
                range: range.to_owned(),
                cursor: cursor.to_string(),
                ..query.clone()
            };
            serde_urlencoded::to_string(&next).unwrap_or_default()
        });
        (page.messages.into_iter().map(row).collect(), next)
    } else {
        (Vec::new(), None)
    };
    let first = serde_urlencoded::to_string(ListQuery {
        range: range.to_owned(),
        cursor: String::new(),
        ..query.clone()
    })
    .unwrap_or_default();
    page(&List {
        nav: Nav::new(&principal, "sip"),
        rows,
        first,
        paged: !query.cursor.is_empty(),
        query,
        range,
        ranges: RANGES,
        results: CallResult::ALL.iter().map(|r| r.as_str()).collect(),
        errors: FilterMessages::from_errors(&errors),
        next,
    })
}

fn row(m: SipMessageSummary) -> Row {
    Row {
        id: m.id.to_string(),
        at: show_time(m.received_at),
        service: m.service.as_str(),
        from: m.from_tn.unwrap_or_else(|| "—".to_owned()),
        to: m.to_tn.unwrap_or_else(|| "—".to_owned()),
        result: m.result.as_str(),
        status: m.status_code,
        attestation: m
            .attestation
            .map_or_else(|| "—".to_owned(), |a| a.as_str().to_owned()),
        sbc: m.sbc_name.unwrap_or_else(|| m.source.clone()),
    }
}

/// The filter, the cursor, the range word in effect (default the last 24 hours) and every
/// field that could not be read.
fn checked(
    query: &ListQuery,
    now: UnixTime,
) -> (
    SipMessageFilter,
    Option<SipMessageCursor>,
    &'static str,
    Vec<FieldError>,
) {
    let mut errors = Vec::new();
    let mut filter = SipMessageFilter::default();
    let wanted = if query.range.is_empty() {
        "24h"
    } else {
        query.range.as_str()
    };
    let range = match RANGES.iter().find(|(word, _, _)| *word == wanted) {
        Some((word, _, secs)) => {
            if *secs > 0 {
                filter.since = now
                    .as_secs()
                    .checked_sub(*secs)
                    .map(|since| UnixTime::since_unix_epoch(Duration::from_secs(since)));
            }
            *word
        }
        None => {
            errors.push(FieldError::new("range", "choose one of the ranges offered"));
            "24h"
        }
    };
    let tn = query.tn.trim();
    if !tn.is_empty() {
        match TelephoneNumber::canonicalize(tn) {
            Ok(tn) => filter.tn = Some(tn),
            Err(_) => errors.push(FieldError::new(
                "tn",
                "must be a telephone number, e.g. +1 202 555 0100",
            )),
        }
    }
    if !query.result.is_empty() {
        match query.result.parse() {
            Ok(result) => filter.result = Some(result),
            Err(()) => errors.push(FieldError::new(
                "result",
                "choose one of the results offered",
            )),
        }
    }
    let cursor = match query.cursor.as_str() {
        "" => None,
        raw => match raw.parse() {
            Ok(cursor) => Some(cursor),
            Err(()) => {
                errors.push(FieldError::new("cursor", "is not a page this list offered"));
                None
            }
        },
    };
    (filter, cursor, range, errors)
}

struct Passport {
    identity: String,
    info: Option<String>,
    header: Option<String>,
    claims: Option<String>,
    error: Option<String>,
}

struct Certificate {
    subject: String,
    issuer: String,
    spc: String,
    not_before: String,
    not_after: String,
    serial: String,
    fingerprint: String,
    pem: String,
}

#[derive(Template)]
#[template(path = "sip_message.html")]
struct Detail {
    nav: Nav,
    id: String,
    at: String,
    service: &'static str,
    transport: &'static str,
    source: String,
    sbc: String,
    call_id: String,
    from: String,
    to: String,
    result: &'static str,
    status: u16,
    reason: Option<String>,
    attestation: String,
    verstat: String,
    x5u: Option<String>,
    latency: String,
    raw_request: String,
    request_truncated: bool,
    raw_response: String,
    response_truncated: bool,
    passports: Vec<Passport>,
    certificate: Option<Certificate>,
    certificate_error: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let view = message_view(&state, &scope, &id).await?;
    let s = view.summary;
    let at = |secs: i64| {
        u64::try_from(secs).map_or_else(
            |_| "—".to_owned(),
            |s| show_time(UnixTime::since_unix_epoch(Duration::from_secs(s))),
        )
    };
    let pretty = |value: Option<serde_json::Value>| {
        value.map(|v| serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string()))
    };
    page(&Detail {
        nav: Nav::new(&principal, "sip"),
        id: s.id.to_string(),
        at: show_time(s.received_at),
        service: s.service.as_str(),
        transport: s.transport.as_str(),
        sbc: s.sbc_name.unwrap_or_else(|| "unknown source".to_owned()),
        source: s.source,
        call_id: s.call_id,
        from: s.from_tn.unwrap_or_else(|| "—".to_owned()),
        to: s.to_tn.unwrap_or_else(|| "—".to_owned()),
        result: s.result.as_str(),
        status: s.status_code,
        reason: s.reason,
        attestation: s
            .attestation
            .map_or_else(|| "—".to_owned(), |a| a.as_str().to_owned()),
        verstat: s
            .verstat
            .map_or_else(|| "—".to_owned(), |v| v.as_str().to_owned()),
        x5u: s.x5u,
        latency: format!("{}.{} ms", s.latency_us / 1000, s.latency_us % 1000 / 100),
        raw_request: view.raw_request.text,
        request_truncated: view.raw_request.truncated,
        raw_response: view.raw_response.text,
        response_truncated: view.raw_response.truncated,
        passports: view
            .passports
            .into_iter()
            .map(|p| Passport {
                identity: p.identity,
                info: p.info,
                header: pretty(p.header),
                claims: pretty(p.claims),
                error: p.error,
            })
            .collect(),
        certificate: view.certificate.map(|c| Certificate {
            subject: c.subject,
            issuer: c.issuer,
            spc: c.spc.unwrap_or_else(|| "—".to_owned()),
            not_before: at(c.not_before),
            not_after: at(c.not_after),
            serial: c.serial,
            fingerprint: c.fingerprint,
            pem: c.pem,
        }),
        certificate_error: view.certificate_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(range: &str, tn: &str, result: &str, cursor: &str) -> ListQuery {
        ListQuery {
            range: range.into(),
            tn: tn.into(),
            result: result.into(),
            cursor: cursor.into(),
        }
    }

    const NOW: u64 = 1_800_000_000;

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    #[test]
    fn the_filter_defaults_to_a_day_and_reads_numbers_and_results() {
        let (filter, cursor, range, errors) = checked(&ListQuery::default(), at(NOW));
        assert_eq!((range, errors.len(), cursor), ("24h", 0, None));
        assert_eq!(filter.since, Some(at(NOW - 86_400)));
        let (filter, _, range, errors) =
            checked(&query("all", " +1 (202) 555-0100 ", "signed", ""), at(NOW));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((range, filter.since), ("all", None));
        assert_eq!(filter.tn.unwrap().as_str(), "12025550100");
        assert_eq!(filter.result, Some(CallResult::Signed));
    }

    #[test]
    fn every_unreadable_field_is_named() {
        let (_, _, range, errors) = checked(&query("2y", "abc", "great", "nope"), at(NOW));
        assert_eq!(range, "24h");
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["range", "tn", "result", "cursor"]);
        let messages = FilterMessages::from_errors(&errors);
        assert!(messages.tn.is_some() && messages.other.is_empty());
    }
}
