//! SHAKEN public-key infrastructure without I/O: TNAuthList (RFC 8226), chain validation
//! against [`TrustAnchors`] (`reference/standards.md` §3.4), and the STI-PA indirect CRL (§3.5).
//!
//! Nothing here opens a file or socket, reads the environment or the clock: bytes and a
//! [`UnixTime`](passport::UnixTime) come in, values or typed errors come out. Fetching the x5u
//! body, the CA list and the CRL belongs to the service.
//!
//! Typical use: build [`TrustAnchors`] from the STI-PA CA list; verify the STI-PA CRL once per
//! refresh with [`UnverifiedCrl::verify`] into a [`RevocationList`]; for each PASSporT, parse
//! the x5u body with [`CertificateChain::from_pem`] and call [`CertificateChain::verify`] at
//! the PASSporT's `iat`. The [`VerifiedChain`] carries the leaf key ready for ES256.

mod cert;
mod chain;
mod crl;
mod name;
mod pem;
mod tn_auth_list;
mod trust_anchors;

pub use chain::{
    CertificateChain, ChainError, ChainWarning, MAX_CHAIN_CERTIFICATES, MAX_PATH_INTERMEDIATES,
    MAX_SIGNATURE_CHECKS, VerifiedChain,
};
pub use crl::{CrlError, MAX_CRL_ENTRIES, RevocationList, UnverifiedCrl};
pub use tn_auth_list::{TnAuthList, TnAuthListError};
pub use trust_anchors::{TrustAnchorError, TrustAnchors};
