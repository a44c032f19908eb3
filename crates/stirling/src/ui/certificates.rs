//! STI ▸ Certificates: list, add, edit, detail (versions, events, Renew now), delete.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

use super::{
    Nav, NoticeQuery, PageError, field_errors, field_messages, next_renewal, page,
    page_with_status, show_remaining, show_time,
};
use crate::admin::{self, EntryEdit};
use crate::api::path_id;
use crate::auth::Principal;
use crate::entry::EntryForm;
use crate::http::{AppError, AppState};
use crate::secrets::SecretString;
use crate::store::{CertificateId, TenantScope};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/certificates", get(list).post(create))
        .route("/certificates/new", get(new_form))
        .route("/certificates/{id}", get(detail).post(update))
        .route("/certificates/{id}/edit", get(edit_form))
        .route("/certificates/{id}/renew", axum::routing::post(renew))
        .route(
            "/certificates/{id}/delete",
            get(confirm_delete).post(delete),
        )
}

const ENTRY: &str = "certificate entry";

struct Row {
    id: String,
    name: String,
    spid: String,
    environment: &'static str,
    status: &'static str,
    expires: String,
    last_renewal: String,
    tenant: String,
}

#[derive(Template)]
#[template(path = "certificates.html")]
struct List {
    nav: Nav,
    rows: Vec<Row>,
    show_tenant: bool,
}

async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(scope): Extension<TenantScope>,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let summaries = admin::entry_summaries(&state, &scope).await?;
    let tenants = tenant_names(&state, &principal).await?;
    let rows = summaries
        .into_iter()
        .map(|s| Row {
            id: s.entry.id.to_string(),
            name: s.entry.fields.name.as_str().to_owned(),
            spid: s.entry.fields.spid.as_str().to_owned(),
            environment: s.entry.fields.environment.as_str(),
            status: s.status.as_str(),
            expires: s
                .active
                .as_ref()
                .map_or_else(|| "—".to_owned(), |v| show_time(v.not_after)),
            last_renewal: s.last_renewal.map_or_else(|| "never".to_owned(), show_time),
            tenant: tenants
                .iter()
                .find(|(id, _)| *id == s.entry.tenant_id.as_str())
                .map(|(_, name)| name.clone())
                .unwrap_or_default(),
        })
        .collect();
    page(&List {
        nav: Nav::new(&principal, "certificates").with_notice(notice.notice.as_deref()),
        rows,
        show_tenant: principal.is_admin(),
    })
}

/// `(id, name)` of every tenant, for an administrator's tenant column and select; empty for
/// everyone else (their tenant is implied).
async fn tenant_names(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<(String, String)>, PageError> {
    if !principal.is_admin() {
        return Ok(Vec::new());
    }
    Ok(state
        .store
        .list_tenants()
        .await?
        .into_iter()
        .map(|t| (t.id.to_string(), t.name))
        .collect())
}

/// The form as typed; every field optional so a partial post re-renders with messages.
#[derive(Debug, Default, Deserialize)]
struct EntryInput {
    #[serde(default)]
    tenant_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    spid: String,
    #[serde(default)]
    sti_pa_account_id: String,
    #[serde(default)]
    sti_pa_user_id: String,
    #[serde(default)]
    sti_pa_password: String,
    #[serde(default)]
    environment: String,
    /// The "Canada (STI-GA)" checkbox: present (`on`) when ticked.
    #[serde(default)]
    sti_ga: Option<String>,
}

impl EntryInput {
    fn sti_ga(&self) -> bool {
        self.sti_ga.is_some()
    }
}

field_messages!(EntryMessages {
    tenant_id,
    name,
    spid,
    sti_pa_account_id,
    sti_pa_user_id,
    sti_pa_password,
    environment,
});

#[derive(Template)]
#[template(path = "certificate_form.html")]
struct FormPage {
    nav: Nav,
    editing: bool,
    action: String,
    cancel: String,
    /// What was typed; the password is never sent back.
    form: EntryInput,
    errors: EntryMessages,
    tenants: Vec<(String, String)>,
}

async fn new_form(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, PageError> {
    require_writer(&principal)?;
    page(&FormPage {
        nav: Nav::new(&principal, "certificates"),
        editing: false,
        action: "/certificates".into(),
        cancel: "/certificates".into(),
        form: EntryInput {
            environment: "production".into(),
            ..EntryInput::default()
        },
        errors: EntryMessages::default(),
        tenants: tenant_names(&state, &principal).await?,
    })
}

async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Form(mut input): Form<EntryInput>,
) -> Result<Response, PageError> {
    let password = std::mem::take(&mut input.sti_pa_password);
    let form = EntryForm {
        name: input.name.clone(),
        spid: input.spid.clone(),
        sti_pa_account_id: input.sti_pa_account_id.clone(),
        sti_pa_user_id: input.sti_pa_user_id.clone(),
        sti_pa_password: SecretString::new(password),
        environment: input.environment.clone(),
        sti_ga: input.sti_ga(),
    };
    match admin::create_entry(&state, &principal, Some(&input.tenant_id), form).await {
        Ok(entry) => {
            Ok(Redirect::to(&format!("/certificates/{}?notice=created", entry.id)).into_response())
        }
        Err(error) => {
            let errors = conflict_as_field(error)?;
            page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &FormPage {
                    nav: Nav::new(&principal, "certificates"),
                    editing: false,
                    action: "/certificates".into(),
                    cancel: "/certificates".into(),
                    form: input,
                    errors: EntryMessages::from_errors(&errors),
                    tenants: tenant_names(&state, &principal).await?,
                },
            )
        }
    }
}

/// A duplicate SPID is shown next to the SPID field rather than as an error page.
fn conflict_as_field(error: AppError) -> Result<Vec<crate::entry::FieldError>, PageError> {
    match error {
        AppError::Store(crate::store::StoreError::Conflict { what }) => {
            Ok(vec![crate::entry::FieldError {
                field: "spid",
                message: what.to_owned(),
            }])
        }
        other => field_errors(other),
    }
}

async fn edit_form(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: CertificateId = path_id(&id, ENTRY)?;
    let entry = admin::entry(&state, &scope, &id).await?;
    require_writer(&principal)?;
    let f = &entry.fields;
    page(&FormPage {
        nav: Nav::new(&principal, "certificates"),
        editing: true,
        action: format!("/certificates/{id}"),
        cancel: format!("/certificates/{id}"),
        form: EntryInput {
            tenant_id: entry.tenant_id.to_string(),
            name: f.name.as_str().to_owned(),
            spid: f.spid.as_str().to_owned(),
            sti_pa_account_id: f.sti_pa_account_id.as_str().to_owned(),
            sti_pa_user_id: f.sti_pa_user_id.as_str().to_owned(),
            sti_pa_password: String::new(),
            environment: f.environment.as_str().to_owned(),
            sti_ga: f.sti_ga.then(|| "on".to_owned()),
        },
        errors: EntryMessages::default(),
        tenants: Vec::new(),
    })
}

async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
    Form(mut input): Form<EntryInput>,
) -> Result<Response, PageError> {
    let id: CertificateId = path_id(&id, ENTRY)?;
    let password = std::mem::take(&mut input.sti_pa_password);
    let edit = EntryEdit {
        name: input.name.clone(),
        spid: input.spid.clone(),
        sti_pa_account_id: input.sti_pa_account_id.clone(),
        sti_pa_user_id: input.sti_pa_user_id.clone(),
        sti_pa_password: Some(SecretString::new(password)),
        environment: input.environment.clone(),
        sti_ga: input.sti_ga(),
    };
    match admin::update_entry(&state, &scope, &id, edit).await {
        Ok(_) => Ok(Redirect::to(&format!("/certificates/{id}?notice=saved")).into_response()),
        Err(error) => {
            let errors = conflict_as_field(error)?;
            page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &FormPage {
                    nav: Nav::new(&principal, "certificates"),
                    editing: true,
                    action: format!("/certificates/{id}"),
                    cancel: format!("/certificates/{id}"),
                    form: input,
                    errors: EntryMessages::from_errors(&errors),
                    tenants: Vec::new(),
                },
            )
        }
    }
}

struct VersionRow {
    state: &'static str,
    state_class: &'static str,
    serial: String,
    not_before: String,
    not_after: String,
    fingerprint: String,
    x5u: String,
}

struct EventRow {
    at: String,
    step: String,
    outcome: &'static str,
    outcome_class: &'static str,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct Detail {
    nav: Nav,
    id: String,
    name: String,
    status: &'static str,
    spid: String,
    account_id: String,
    user_id: String,
    environment: &'static str,
    sti_ga: bool,
    expires_in: String,
    next_renewal: String,
    last_error: Option<String>,
    active_pem: Option<String>,
    versions: Vec<VersionRow>,
    events: Vec<EventRow>,
}

async fn detail(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let id: CertificateId = path_id(&id, ENTRY)?;
    let detail = admin::entry_detail(&state, &scope, &id).await?;
    let now = state.clock.now();
    let summary = detail.summary;
    let f = &summary.entry.fields;
    page(&Detail {
        nav: Nav::new(&principal, "certificates").with_notice(notice.notice.as_deref()),
        id: id.to_string(),
        name: f.name.as_str().to_owned(),
        status: summary.status.as_str(),
        spid: f.spid.as_str().to_owned(),
        account_id: f.sti_pa_account_id.as_str().to_owned(),
        user_id: f.sti_pa_user_id.as_str().to_owned(),
        environment: f.environment.as_str(),
        sti_ga: f.sti_ga,
        expires_in: summary
            .active
            .as_ref()
            .map_or_else(|| "—".to_owned(), |v| show_remaining(v.not_after, now)),
        next_renewal: summary.active.as_ref().map_or_else(
            || "now".to_owned(),
            |v| next_renewal(state.renewal.renew_at(v.not_before, v.not_after), now),
        ),
        last_error: summary.last_error.clone(),
        active_pem: summary.active.as_ref().map(|v| v.chain_pem.clone()),
        versions: detail
            .versions
            .iter()
            .map(|v| VersionRow {
                state: v.state.as_str(),
                state_class: v.state.as_str(),
                serial: v.serial.clone(),
                not_before: show_time(v.not_before),
                not_after: show_time(v.not_after),
                fingerprint: v.fingerprint.clone(),
                x5u: format!("/{}", v.repository_path),
            })
            .collect(),
        events: detail
            .events
            .iter()
            .map(|e| EventRow {
                at: show_time(e.at),
                step: e.step.clone(),
                outcome: e.outcome.as_str(),
                outcome_class: e.outcome.as_str(),
                error: e.error_text.clone(),
            })
            .collect(),
    })
}

async fn renew(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: CertificateId = path_id(&id, ENTRY)?;
    admin::renew_entry(&state, &scope, &id).await?;
    Ok(Redirect::to(&format!("/certificates/{id}?notice=renew")).into_response())
}

#[derive(Template)]
#[template(path = "confirm_delete.html")]
struct ConfirmDelete {
    nav: Nav,
    id: String,
    name: String,
    spid: String,
}

async fn confirm_delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: CertificateId = path_id(&id, ENTRY)?;
    let entry = admin::entry(&state, &scope, &id).await?;
    require_writer(&principal)?;
    page(&ConfirmDelete {
        nav: Nav::new(&principal, "certificates"),
        id: id.to_string(),
        name: entry.fields.name.as_str().to_owned(),
        spid: entry.fields.spid.as_str().to_owned(),
    })
}

async fn delete(
    State(state): State<AppState>,
    Extension(scope): Extension<TenantScope>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: CertificateId = path_id(&id, ENTRY)?;
    admin::delete_entry(&state, &scope, &id).await?;
    Ok(Redirect::to("/certificates?notice=deleted").into_response())
}

/// Form pages for changes are not offered to viewers (their POSTs are refused anyway).
fn require_writer(principal: &Principal) -> Result<(), PageError> {
    if principal.role.may_write() {
        Ok(())
    } else {
        Err(AppError::Forbidden("viewers may only read").into())
    }
}
