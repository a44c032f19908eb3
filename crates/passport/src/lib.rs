//! PASSporT (RFC 8225) with the `shaken` (RFC 8588), `div` (RFC 8946) and `rcd` (RFC 9795)
//! extensions, and the SIP `Identity` header (RFC 8224) that carries it.
//!
//! This crate does no I/O: it never opens a socket or a file and never reads the clock.
//! Bytes and a time come in, values or a typed [`Error`] come out. Fetching the x5u
//! certificate and validating its chain belong to other crates; here a verifier is handed
//! the public key.
//!
//! Signing writes canonical JSON (RFC 8225 §9) with a key parsed once; verification checks
//! the signature over the bytes as received and never re-serialises them.
//!
//! ```
//! use passport::{Attestation, Checks, Claims, Dest, IdentityHeader, Ppt, Signer, SigningKey,
//!     TelephoneNumber, UnixTime};
//! use std::time::Duration;
//!
//! let signer = Signer::new(SigningKey::generate()?, "https://cr.example.net/1234.pem")?;
//! let claims = Claims::shaken(
//!     Attestation::A,
//!     TelephoneNumber::canonicalize("+1 215 555 1212")?,
//!     Dest::tns(vec![TelephoneNumber::canonicalize("tel:+12155551213")?]),
//!     1_700_000_000,
//!     "123e4567-e89b-12d3-a456-426655440000".into(),
//! );
//! let value = signer.identity_header(Ppt::Shaken, &claims)?;
//!
//! let header = IdentityHeader::parse(&value)?;
//! let now = UnixTime::since_unix_epoch(Duration::from_secs(1_700_000_010));
//! let verified = header.passport()?.verify(&signer.verifying_key().unwrap(), &Checks::at(now))?;
//! assert_eq!(verified.claims().attest, Some(Attestation::A));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod attestation;
mod claims;
mod error;
mod identity;
mod jose;
mod json;
mod jws;
mod p256;
mod passport;
mod spc;
mod tn;
mod verstat;

pub use attestation::{Attestation, InvalidAttestation};
pub use claims::{Claims, Dest, Party, Ppt, Rcd, UnsupportedPpt};
pub use error::{Error, JwsPart, SipFailure};
pub use identity::{IdentityHeader, MAX_IDENTITY_HEADERS};
pub use jose::{CompactJws, FlattenedJws, jwk_thumbprint, sign_compact};
pub use jws::{KeyError, SigningKey, VerifyingKey};
pub use passport::{
    Checks, DEFAULT_FRESHNESS_SECS, Decoded, Signer, UnverifiedPassport, VerifiedPassport, decode,
};
pub use spc::{InvalidSpc, Spc};
pub use tn::{InvalidTelephoneNumber, TelephoneNumber};
pub use verstat::{InvalidVerstat, Verstat};

/// Time as seconds since the Unix epoch; the one time type of the workspace.
pub use rustls_pki_types::UnixTime;
