//! `/api/v1/certificates`: certificate entries, their versions and events, and Renew now.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PageParams, created, paginate, path_id};
use crate::admin::{self, EntryEdit, EntrySummary};
use crate::auth::Principal;
use crate::entry::EntryForm;
use crate::http::{AppError, AppJson, AppState};
use crate::store::{CertificateEvent, CertificateId, CertificateVersion, TenantScope};

const ENTRY: &str = "certificate entry";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/certificates", get(list).post(create))
        .route(
            "/api/v1/certificates/{id}",
            get(show).put(update).delete(remove),
        )
        .route("/api/v1/certificates/{id}/renew", post(renew))
        .route("/api/v1/certificates/{id}/versions", get(versions))
        .route("/api/v1/certificates/{id}/events", get(events))
}

/// A new entry: the entry form plus, for an administrator, the tenant.
#[derive(Debug, Deserialize)]
struct NewEntryBody {
    #[serde(flatten)]
    form: EntryForm,
    #[serde(default)]
    tenant_id: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    page: PageParams,
) -> Result<AppJson<Value>, AppError> {
    let page = page.check()?;
    let items = admin::entry_summaries(&state, &scope)
        .await?
        .iter()
        .map(summary_json)
        .collect();
    Ok(paginate(items, page))
}

async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    AppJson(body): AppJson<NewEntryBody>,
) -> Result<Response, AppError> {
    let entry =
        admin::create_entry(&state, &principal, body.tenant_id.as_deref(), body.form).await?;
    let detail = admin::entry_detail(&state, &principal.scope(), &entry.id).await?;
    Ok(created(summary_json(&detail.summary)))
}

async fn show(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<AppJson<Value>, AppError> {
    let id: CertificateId = path_id(&id, ENTRY)?;
    let detail = admin::entry_detail(&state, &scope, &id).await?;
    Ok(AppJson(summary_json(&detail.summary)))
}

async fn update(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
    AppJson(edit): AppJson<EntryEdit>,
) -> Result<AppJson<Value>, AppError> {
    let id: CertificateId = path_id(&id, ENTRY)?;
    admin::update_entry(&state, &scope, &id, edit).await?;
    let detail = admin::entry_detail(&state, &scope, &id).await?;
    Ok(AppJson(summary_json(&detail.summary)))
}

async fn remove(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id: CertificateId = path_id(&id, ENTRY)?;
    admin::delete_entry(&state, &scope, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn renew(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: CertificateId = path_id(&id, ENTRY)?;
    admin::renew_entry(&state, &scope, &id).await?;
    Ok((
        StatusCode::ACCEPTED,
        AppJson(json!({ "status": "queued", "certificate_id": id })),
    )
        .into_response())
}

async fn versions(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
    page: PageParams,
) -> Result<AppJson<Value>, AppError> {
    let page = page.check()?;
    let id: CertificateId = path_id(&id, ENTRY)?;
    let detail = admin::entry_detail(&state, &scope, &id).await?;
    Ok(paginate(
        detail.versions.iter().map(version_json).collect(),
        page,
    ))
}

async fn events(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
    page: PageParams,
) -> Result<AppJson<Value>, AppError> {
    let page = page.check()?;
    let id: CertificateId = path_id(&id, ENTRY)?;
    let detail = admin::entry_detail(&state, &scope, &id).await?;
    Ok(paginate(
        detail.events.iter().map(event_json).collect(),
        page,
    ))
}

/// An entry as JSON: never its password.
pub(crate) fn summary_json(summary: &EntrySummary) -> Value {
    let entry = &summary.entry;
    let f = &entry.fields;
    json!({
        "id": entry.id,
        "tenant_id": entry.tenant_id,
        "name": f.name.as_str(),
        "spid": f.spid.as_str(),
        "sti_pa_account_id": f.sti_pa_account_id.as_str(),
        "sti_pa_user_id": f.sti_pa_user_id.as_str(),
        "environment": f.environment.as_str(),
        "sti_ga": f.sti_ga,
        "status": summary.status,
        "active_version": summary.active.as_ref().map(version_json),
        "last_renewal": summary.last_renewal.map(|t| t.as_secs()),
        "last_error": summary.last_error,
        "created_at": entry.created_at.as_secs(),
        "updated_at": entry.updated_at.as_secs(),
    })
}

/// A version as JSON; `x5u_path` is where the repository serves its chain.
pub(crate) fn version_json(version: &CertificateVersion) -> Value {
    json!({
        "id": version.id,
        "serial": version.serial,
        "fingerprint": version.fingerprint,
        "not_before": version.not_before.as_secs(),
        "not_after": version.not_after.as_secs(),
        "state": version.state.as_str(),
        "x5u_path": format!("/{}", version.repository_path),
        "created_at": version.created_at.as_secs(),
    })
}

fn event_json(event: &CertificateEvent) -> Value {
    json!({
        "id": event.id,
        "at": event.at.as_secs(),
        "step": event.step,
        "outcome": event.outcome.as_str(),
        "error_text": event.error_text,
    })
}
