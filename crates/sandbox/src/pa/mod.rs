//! The sandbox STI-PA, with the iconectiv API shapes (`reference/standards.md` §4): one module
//! per resource.

mod auth;
mod ca_list;
mod download;
mod error;
mod token;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

pub(crate) use error::PaError;

use crate::Sandbox;
use crate::faults;

/// Path of the PA signing certificate (the `x5u` of tokens and of the CA list).
pub(crate) const SIGNER_CERT_PATH: &str = "/download/v1/certificate/sandbox-sti-pa-signer.crt";
/// Path of the CRL signer certificate (the CRL's AIA caIssuers).
pub(crate) const CRL_SIGNER_CERT_PATH: &str = "/download/v1/certificate/sandbox-sti-pa-crl.crt";
/// Path of the PA root (a real PA's root is distributed out of band).
pub(crate) const ROOT_CERT_PATH: &str = "/download/v1/certificate/sandbox-sti-pa-root.crt";

/// The STI-PA's routes, behind the fault layer.
pub(crate) fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/account/{account_id}/token", post(token::request))
        .route("/api/v1/account/{account_id}/token/", post(token::request))
        .route("/api/v1/ca-list", get(ca_list::get))
        .route(crate::state::CRL_PATH, get(download::crl))
        .route(SIGNER_CERT_PATH, get(download::signer))
        .route(CRL_SIGNER_CERT_PATH, get(download::crl_signer))
        .route(ROOT_CERT_PATH, get(download::root))
        .layer(from_fn_with_state(sandbox.clone(), faults::pa_layer))
        .with_state(sandbox)
}
