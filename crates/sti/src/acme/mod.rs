//! An ACME client (RFC 8555) narrowed to STI certificates: a TNAuthList identifier (RFC 9448)
//! authorized by a tkauth-01 challenge answered with an SPC token (RFC 9447), as in
//! `reference/standards.md` §5.
//!
//! One file per resource: [`Directory`], the nonce pool, [`Account`], [`Order`],
//! [`Authorization`] and [`Challenge`], finalize and [`IssuedChain`], and [`Problem`].
//! [`AcmeClient::issue`] runs the whole flow; the step functions it is built from are public
//! so the certificate lifecycle can report each step.
//!
//! Deliberate choices, each for a deployed STI-CA (`reference/acme2certifier.md` §7):
//! challenges are never polled (acme2certifier checks every POST to one for `atc`), the
//! authorization's status decides (an invalid one leaves acme2certifier's order `pending`),
//! and a refused finalize is final (the order stays `processing` for good).

mod account;
mod authorization;
mod certificate;
mod client;
mod config;
mod directory;
mod error;
mod issue;
mod nonce;
mod order;
mod problem;

pub use account::{Account, ExternalAccountBinding, NewAccount, atc_fingerprint};
pub use authorization::{
    Authorization, AuthorizationStatus, Challenge, ChallengeStatus, TKAUTH_CHALLENGE,
    TKAUTH_TYPE_ATC,
};
pub use certificate::{IssuedChain, PEM_CERTIFICATE_CHAIN, RevocationReason};
pub use client::{ACME_MAX_BODY_BYTES, AcmeClient};
pub use config::{AcmeConfig, DangerousAcmeConfig, IdentifierEncoding};
pub use directory::{Directory, DirectoryMeta};
pub use error::AcmeError;
pub use order::{
    Identifier, Order, OrderRequest, OrderStatus, TN_AUTH_LIST_IDENTIFIER, identifier_value,
};
pub use problem::{Problem, ProblemType};
