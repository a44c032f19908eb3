//! Client of the STI-PA API (`reference/standards.md` §4): login, the SPC token request, the
//! signed STI-CA list, the centralized CRL, and the STI-PA signer certificates named by `x5u`.
//!
//! The request and response shapes are iconectiv's ("Authenticate", §4.2–§4.4). Hosts are
//! configuration ([`StiPaConfig::base_url`]), so the staging host, a sandbox or another
//! country's STI-PA with the same shapes need no code change.

mod client;
mod error;
mod fingerprint;
mod secret;
mod spc_token;

pub use client::{
    Atc, DangerousStiPaConfig, MAX_CRL_BYTES, MAX_JSON_BYTES, MAX_SIGNER_CHAIN_BYTES,
    SpcTokenResponse, StiPaClient, StiPaConfig,
};
pub use error::{StiPaBuildError, StiPaError};
pub use fingerprint::{Fingerprint, FingerprintError, FingerprintInput};
pub use secret::{AccessToken, Secret};
pub use spc_token::{MIN_SPC_TOKEN_LIFETIME, SpcTokenError, VerifiedSpcToken};
