//! A local STI-PA and STI-CA for developing and testing against Stirling offline.
//!
//! What it is: an HTTP sandbox (axum routers plus state persisted in a directory) that plays
//! the two outside parties of US SHAKEN certificate management (`reference/standards.md` §4
//! and §5):
//!
//! * an **STI-PA** with the iconectiv API shapes: login, SPC token, the signed CA list, the
//!   indirect CRL and the signing certificate download;
//! * an **STI-CA** speaking ACME (RFC 8555) with TNAuthList identifiers (RFC 9448) and the
//!   `tkauth-01` challenge (RFC 9447), issuing ATIS-1000080 certificates.
//!
//! What it is not: a production PA or CA. It serves plain HTTP (for loopback), keeps its keys
//! unencrypted in the state directory and trusts only itself. The crate README lists every
//! deviation from a real PA/CA, as Pebble's does.
//!
//! Like Pebble it is strict on purpose: it rejects what a real PA/CA rejects, and its fault
//! switches ([`Faults`], on a separate admin router) let a client be tested against failures.
//! Unlike Pebble, its state (PKI, users, ACME objects, revocations) persists across restarts,
//! and every random choice that is not key material comes from a seeded generator, so a
//! failing run replays.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use sandbox::{Sandbox, SandboxConfig, Seed};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8444").await?;
//! let config = SandboxConfig::new(format!("http://{}", listener.local_addr()?));
//! let sandbox = Sandbox::open("sandbox-state".as_ref(), config, &Seed::default())?;
//! axum::serve(listener, sandbox::router(sandbox.clone()).merge(sandbox::admin_router(sandbox)))
//!     .await?;
//! # Ok(()) }
//! ```

mod acme;
mod config;
mod crl;
mod faults;
mod pa;
mod pki;
mod rng;
mod state;
mod store;

pub use config::{
    ExternalAccountKey, FingerprintInput, SandboxConfig, Seed, SeedAccount, SeedUser,
};
pub use faults::{FaultTarget, Faults};
pub use state::{OpenError, Sandbox};

use axum::Router;

/// The protocol API: the STI-PA (`/api/v1/…`, `/download/v1/…`) and the STI-CA's ACME server
/// (`/acme/…`), with the fault switches applied.
pub fn router(sandbox: Sandbox) -> Router {
    pa::router(sandbox.clone()).merge(acme::router(sandbox))
}

/// The test-only admin API (`/sandbox/faults`), kept apart from the protocol API.
pub fn admin_router(sandbox: Sandbox) -> Router {
    faults::admin_router(sandbox)
}
