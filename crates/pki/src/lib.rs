//! SHAKEN public-key infrastructure without I/O: TNAuthList (RFC 8226), the certificate
//! profile of ATIS-1000080, chain validation against `TrustAnchors`, the STI-PA CRL, and the
//! STI-PA's signed list of approved CAs.
//!
//! Nothing here opens a file or socket, reads the environment or the clock: bytes and times
//! come in, values or typed errors go out.
//!
//! * [`TnAuthList`]: decode and encode the extension (DER, padded base64 as in the STI-PA
//!   `tkvalue`, base64url).
//! * [`CsrParams`]: build and sign a PKCS#10 request for a SHAKEN certificate.
//! * [`lint`]: check our own certificates and CSRs against ATIS-1000080 v005 and the US CP.
//!
//! ```
//! use pki::{Severity, TnAuthList};
//!
//! let list = TnAuthList::from_base64("MAigBhYEMjgxSw==")?;
//! assert_eq!(list.spc().map(|spc| spc.as_str()), Some("281K"));
//! assert_eq!(list.to_der(), b"\x30\x08\xA0\x06\x16\x04281K");
//!
//! let csr = pki::CsrParams::new(list).sign_with_new_key()?;
//! let report = pki::lint_csr(csr.der())?;
//! assert!(report.findings().iter().all(|f| f.severity != Severity::Error));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod ca_list;
mod csr;
mod profile;
mod tn_auth_list;

pub use ca_list::{CaList, CaListError, MAX_CA_LIST_ENTRIES, UnverifiedCaList};
pub use csr::{CrlDistributionPoint, Csr, CsrError, CsrParams, DistinguishedName, NameAttribute};
pub use profile::{
    Document, Finding, ProfileError, Report, Role, Severity, Verdict, lint, lint_certificate,
    lint_csr,
};
pub use tn_auth_list::{TnAuthList, TnAuthListError, TnEntry, TnRange};
