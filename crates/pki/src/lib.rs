//! SHAKEN public-key infrastructure without I/O: TNAuthList (RFC 8226), the certificate
//! profile of ATIS-1000080, chain validation against [`TrustAnchors`] (`standards.md` §3.4),
//! the STI-PA indirect CRL (§3.5), and the STI-PA's signed list of approved CAs (§4.3).
//!
//! Nothing here opens a file or socket, reads the environment or the clock: bytes and times
//! come in, values or typed errors go out.
//!
//! * [`TnAuthList`]: decode and encode the extension (DER, padded base64 as in the STI-PA
//!   `tkvalue`, base64url).
//! * [`CsrParams`]: build and sign a PKCS#10 request for a SHAKEN certificate.
//! * [`lint`]: check our own certificates and CSRs against ATIS-1000080 v005 and the US CP.
//! * [`CertificateChain::verify`]: validate an x5u body at the PASSporT's `iat` against
//!   [`TrustAnchors`] built from the [`CaList`], checking revocation with a [`RevocationList`]
//!   from [`UnverifiedCrl::verify`]. The [`VerifiedChain`] carries the leaf key for ES256.
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
mod cert;
mod chain;
mod crl;
mod csr;
mod name;
mod pem;
mod profile;
mod signer;
mod tn_auth_list;
mod trust_anchors;

pub use ca_list::{CaList, CaListError, MAX_CA_LIST_ENTRIES, UnverifiedCaList};
pub use chain::{
    CertificateChain, ChainError, ChainWarning, MAX_CHAIN_CERTIFICATES, MAX_PATH_INTERMEDIATES,
    MAX_SIGNATURE_CHECKS, VerifiedChain,
};
pub use crl::{CrlError, MAX_CRL_ENTRIES, RevocationList, UnverifiedCrl};
pub use csr::{
    CrlDistributionPoint, Csr, CsrError, CsrParams, DistinguishedName, NameAttribute, der_tlv,
};
pub use profile::{
    Document, Finding, ProfileError, Report, Role, Severity, Verdict, lint, lint_certificate,
    lint_csr,
};
pub use tn_auth_list::{TnAuthList, TnAuthListError, TnEntry, TnRange};
pub use trust_anchors::{TrustAnchorError, TrustAnchors};
