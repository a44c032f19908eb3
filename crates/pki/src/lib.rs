//! SHAKEN public-key infrastructure without I/O: TNAuthList (RFC 8226), the certificate
//! profile of ATIS-1000080, chain validation against `TrustAnchors`, and the STI-PA CRL.
//!
//! Nothing here opens a file or socket, reads the environment or the clock: bytes and times
//! come in, values or typed errors go out.

mod csr;
mod profile;
mod tn_auth_list;

pub use csr::{CrlDistributionPoint, Csr, CsrError, CsrParams, DistinguishedName, NameAttribute};
pub use profile::{
    Document, Finding, ProfileError, Report, Role, Severity, Verdict, lint, lint_certificate,
    lint_csr,
};
pub use tn_auth_list::{TnAuthList, TnAuthListError, TnEntry, TnRange};
