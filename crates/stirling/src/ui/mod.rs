//! The web UI: server-rendered pages (askama templates in `templates/`, escaped by default),
//! one stylesheet and one small script for the copy buttons, both embedded and served by us.
//!
//! Every page but the login page goes through [`crate::auth::require_ui`]: no session means a
//! redirect to `/login`; every POST carries the session's CSRF token. Pages call the same
//! functions as the admin API ([`crate::admin`]).

mod certificates;
mod dashboard;
mod login;
mod sbcs;
mod settings;
mod sip_messages;

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use passport::UnixTime;

use crate::auth::{Principal, require_ui};
use crate::entry::FieldError;
use crate::http::{AppError, AppState};
use crate::store::StoreError;

const STYLE_CSS: &str = include_str!("../../static/style.css");
const COPY_JS: &str = include_str!("../../static/copy.js");

/// The page routes, with the session check bound to `state`.
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let pages = Router::new()
        .merge(dashboard::router())
        .merge(certificates::router())
        .merge(settings::router())
        .merge(sip_messages::router())
        .merge(sbcs::router())
        .merge(login::logout_router());
    Router::new()
        .route("/static/style.css", get(style))
        .route("/static/copy.js", get(script))
        .merge(login::router())
        .merge(authenticated(state, pages))
}

/// Puts page `routes` behind the session check ([`require_ui`]): a redirect to `/login`
/// without a session, 403 for viewers' POSTs and POSTs without the CSRF token, and
/// `Extension<Principal>` plus `Extension<TenantScope>` for the handlers.
pub fn authenticated(state: &AppState, routes: Router<AppState>) -> Router<AppState> {
    routes.route_layer(middleware::from_fn_with_state(state.clone(), require_ui))
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", COPY_JS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// What the layout needs: who is logged in, which menu item is current, the CSRF token.
#[derive(Clone, Debug)]
pub(crate) struct Nav {
    pub(crate) email: String,
    pub(crate) role: &'static str,
    pub(crate) csrf: String,
    pub(crate) active: &'static str,
    /// May change things (admin, operator).
    pub(crate) writer: bool,
    /// May see Users and API tokens (admin, operator).
    pub(crate) manager: bool,
    pub(crate) admin: bool,
    pub(crate) notice: Option<&'static str>,
}

impl Nav {
    pub(crate) fn new(principal: &Principal, active: &'static str) -> Self {
        Self {
            email: principal.email.clone(),
            role: principal.role.as_str(),
            csrf: principal.csrf_token().unwrap_or_default().to_owned(),
            active,
            writer: principal.role.may_write(),
            manager: principal.role.may_write(),
            admin: principal.is_admin(),
            notice: None,
        }
    }

    /// Adds the message for a `?notice=` word set by a redirect after a POST. Only known words
    /// map to text, so nothing from the URL is shown.
    pub(crate) fn with_notice(mut self, notice: Option<&str>) -> Self {
        self.notice = match notice {
            Some("created") => Some("Certificate entry added. Issuance starts shortly."),
            Some("saved") => Some("Changes saved."),
            Some("renew") => Some("Renewal queued: the scheduler starts an attempt now."),
            Some("deleted") => Some("Certificate entry deleted."),
            Some("user-added") => Some("User added."),
            Some("user-deleted") => Some("User deleted."),
            Some("token-revoked") => Some("Token revoked."),
            Some("sbc-added") => Some("SBC added. The call path uses it within seconds."),
            Some("sbc-deleted") => Some("SBC deleted."),
            Some("policy-added") => Some("Rule added. The call path uses it within seconds."),
            Some("policy-deleted") => Some("Rule deleted."),
            Some("verification-saved") => Some("Verification setting saved."),
            Some("smtp-sent") => Some("Test mail sent to the System Email."),
            _ => None,
        };
        self
    }
}

/// `?notice=`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct NoticeQuery {
    pub(crate) notice: Option<String>,
}

/// Renders a template as a 200 page.
pub(crate) fn page<T: Template>(template: &T) -> Result<Response, PageError> {
    page_with_status(StatusCode::OK, template)
}

/// Renders a template with `status`.
pub(crate) fn page_with_status<T: Template>(
    status: StatusCode,
    template: &T,
) -> Result<Response, PageError> {
    let html = template
        .render()
        .map_err(|e| PageError::from(AppError::Internal(format!("template: {e}"))))?;
    Ok((status, no_store(), Html(html)).into_response())
}

/// Pages show tenant data: browsers must not keep copies.
fn no_store() -> [(header::HeaderName, &'static str); 1] {
    [(header::CACHE_CONTROL, "no-store")]
}

/// An error shown as a page rather than JSON.
#[derive(Debug)]
pub struct PageError(AppError);

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        Self(error)
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        Self(AppError::Store(error))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.render()
    }
}

impl PageError {
    fn render(self) -> Response {
        let (title, message) = match &self.0 {
            AppError::Store(StoreError::NotFound { what }) => (
                "Not found",
                format!("This {what} does not exist or is not yours."),
            ),
            AppError::Store(StoreError::Conflict { what }) => ("Conflict", capitalise(what)),
            AppError::BadBody { message, .. } => ("Bad request", message.clone()),
            AppError::Invalid(fields) => (
                "Invalid input",
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            AppError::RenewNow(e) => ("Try again shortly", capitalise(&e.to_string())),
            AppError::NotConfigured(what) => ("Not configured", capitalise(what)),
            AppError::Mail(why) => ("Mail not sent", capitalise(why)),
            AppError::TooManyAttempts { retry_after_secs } => (
                "Too many attempts",
                format!("Try again in {retry_after_secs} seconds."),
            ),
            AppError::Unauthenticated => ("Log in", "Please log in.".to_owned()),
            AppError::Forbidden(why) => ("Not allowed", capitalise(why)),
            AppError::Internal(_) | AppError::Store(_) => (
                "Something went wrong",
                "The request failed on our side; it has been logged.".to_owned(),
            ),
        };
        let json = self.0.into_response();
        let status = json.status();
        render_error(status, title, message, json)
    }
}

/// The error page with the status and extensions (log detail) of the JSON response.
fn render_error(status: StatusCode, title: &str, message: String, json: Response) -> Response {
    let html = ErrorPage { title, message }
        .render()
        .unwrap_or_else(|_| "error".to_owned());
    let (parts, _) = json.into_parts();
    let mut response = (status, no_store(), Html(html)).into_response();
    *response.extensions_mut() = parts.extensions;
    response
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A time as the pages show it: `2026-11-27 11:45 UTC`.
pub(crate) fn show_time(time: UnixTime) -> String {
    let secs = i64::try_from(time.as_secs()).unwrap_or(i64::MAX);
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => "—".to_owned(),
    }
}

/// How long until `until`, seen at `now`: `6 d 23 h`, `5 h 10 min`, or `expired`.
/// When the scheduler renews a certificate whose renewal starts at `at`: "in 3 d 12 h", or
/// "due" once that moment has passed (the next check picks it up).
pub(crate) fn next_renewal(at: UnixTime, now: UnixTime) -> String {
    if at.as_secs() <= now.as_secs() {
        "due".to_owned()
    } else {
        format!("in {}", show_remaining(at, now))
    }
}

pub(crate) fn show_remaining(until: UnixTime, now: UnixTime) -> String {
    let Some(left) = until
        .as_secs()
        .checked_sub(now.as_secs())
        .filter(|s| *s > 0)
    else {
        return "expired".to_owned();
    };
    let (days, hours, minutes) = (left / 86_400, left % 86_400 / 3600, left % 3600 / 60);
    match (days, hours) {
        (0, 0) => format!("{minutes} min"),
        (0, h) => format!("{h} h {minutes} min"),
        (d, h) => format!("{d} d {h} h"),
    }
}

/// Declares the per-field messages of a form: one optional message per field, filled from
/// [`FieldError`]s, so each message is shown next to its field.
macro_rules! field_messages {
    ($name:ident { $($field:ident),* $(,)? }) => {
        #[derive(Debug, Default)]
        pub(crate) struct $name {
            $(pub(crate) $field: Option<String>,)*
            /// Errors for fields this form does not show.
            pub(crate) other: Vec<String>,
        }

        impl $name {
            pub(crate) fn from_errors(errors: &[crate::entry::FieldError]) -> Self {
                let mut out = Self::default();
                for error in errors {
                    match error.field {
                        $(stringify!($field) => out.$field = Some(error.message.clone()),)*
                        _ => out.other.push(format!("{}: {}", error.field, error.message)),
                    }
                }
                out
            }

            pub(crate) fn is_empty(&self) -> bool {
                true $(&& self.$field.is_none())* && self.other.is_empty()
            }
        }
    };
}
pub(crate) use field_messages;

/// Splits an [`AppError`] into field messages for the form, or the error for an error page.
pub(crate) fn field_errors(error: AppError) -> Result<Vec<FieldError>, PageError> {
    match error {
        AppError::Invalid(fields) => Ok(fields),
        other => Err(PageError::from(other)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn t(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    #[test]
    fn next_renewal_is_relative_or_due() {
        let policy = crate::lifecycle::renewal::RenewalPolicy::default();
        // A 7-day certificate renews after half its life.
        let at = policy.renew_at(t(0), t(7 * 86_400));
        assert_eq!(next_renewal(at, t(86_400)), "in 2 d 12 h");
        assert_eq!(next_renewal(at, t(4 * 86_400)), "due");
    }

    #[test]
    fn times_and_durations_read_well() {
        assert_eq!(show_time(t(1_700_000_000)), "2023-11-14 22:13 UTC");
        assert_eq!(show_remaining(t(100), t(100)), "expired");
        assert_eq!(show_remaining(t(100), t(200)), "expired");
        assert_eq!(show_remaining(t(7 * 86_400 - 3600), t(0)), "6 d 23 h");
        assert_eq!(show_remaining(t(3 * 3600 + 120), t(0)), "3 h 2 min");
        assert_eq!(show_remaining(t(59 * 60), t(0)), "59 min");
    }

    field_messages!(Sample { name, spid });

    #[test]
    fn field_messages_land_next_to_their_field() {
        let errors = [
            FieldError {
                field: "spid",
                message: "must be exactly 4 characters (an OCN)".into(),
            },
            FieldError {
                field: "unknown",
                message: "x".into(),
            },
        ];
        let sample = Sample::from_errors(&errors);
        assert_eq!(sample.name, None);
        assert_eq!(
            sample.spid.as_deref(),
            Some("must be exactly 4 characters (an OCN)")
        );
        assert_eq!(sample.other, ["unknown: x"]);
        assert!(!sample.is_empty());
        assert!(Sample::from_errors(&[]).is_empty());
    }
}
