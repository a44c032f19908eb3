//! PASSporT (RFC 8225) with the `shaken` (RFC 8588), `div` (RFC 8946) and `rcd` (RFC 9795)
//! extensions, and the SIP `Identity` header (RFC 8224) that carries it.
//!
//! This crate does no I/O: it never opens a socket or a file and never reads the clock.
//! Bytes and a time come in, values or a typed [`Error`] come out. Fetching the x5u
//! certificate and validating its chain belong to other crates; here a verifier is handed
//! the public key.
//!
//! Signing writes canonical JSON (RFC 8225 §9); verification checks the signature over the
//! bytes as received and never re-serialises them.

mod attestation;
mod spc;
mod tn;

pub use attestation::{Attestation, InvalidAttestation};
pub use spc::{InvalidSpc, Spc};
pub use tn::{InvalidTelephoneNumber, TelephoneNumber};

/// Time as seconds since the Unix epoch; the one time type of the workspace.
pub use rustls_pki_types::UnixTime;
