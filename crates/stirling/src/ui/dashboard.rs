//! `/`: certificate health at a glance.

use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use passport::UnixTime;

use super::{Nav, NoticeQuery, PageError, next_renewal, page, show_remaining};
use crate::admin::{self, EntryStatus};
use crate::auth::Principal;
use crate::http::AppState;
use crate::store::TenantScope;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/", get(dashboard))
}

struct Row {
    id: String,
    name: String,
    spid: String,
    status: &'static str,
    serial: Option<String>,
    expires_in: String,
    next_renewal: String,
    last_error: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    nav: Nav,
    rows: Vec<Row>,
    /// Active, pending, failing.
    counts: (usize, usize, usize),
    /// Calls of the last 24 hours: `(service, result, count)`, and their total.
    calls: Vec<(&'static str, &'static str, u64)>,
    calls_total: u64,
}

async fn dashboard(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(scope): Extension<TenantScope>,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let day_ago =
        UnixTime::since_unix_epoch(Duration::from_secs(now.as_secs().saturating_sub(86_400)));
    let calls: Vec<_> = state
        .store
        .call_counts(&scope, day_ago)
        .await?
        .into_iter()
        .map(|c| (c.service.as_str(), c.result.as_str(), c.count))
        .collect();
    let calls_total = calls.iter().map(|c| c.2).sum();
    let summaries = admin::entry_summaries(&state, &scope).await?;
    let count = |status| summaries.iter().filter(|s| s.status == status).count();
    let counts = (
        count(EntryStatus::Active),
        count(EntryStatus::Pending),
        count(EntryStatus::Failing),
    );
    let rows = summaries
        .into_iter()
        .map(|s| Row {
            id: s.entry.id.to_string(),
            name: s.entry.fields.name.as_str().to_owned(),
            spid: s.entry.fields.spid.as_str().to_owned(),
            status: s.status.as_str(),
            serial: s.active.as_ref().map(|v| v.serial.clone()),
            expires_in: s
                .active
                .as_ref()
                .map_or_else(|| "—".to_owned(), |v| show_remaining(v.not_after, now)),
            next_renewal: s.active.as_ref().map_or_else(
                || "now".to_owned(),
                |v| next_renewal(state.renewal.renew_at(v.not_before, v.not_after), now),
            ),
            last_error: s.last_error,
        })
        .collect();
    page(&Dashboard {
        nav: Nav::new(&principal, "dashboard").with_notice(notice.notice.as_deref()),
        rows,
        counts,
        calls,
        calls_total,
    })
}
