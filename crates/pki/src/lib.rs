//! SHAKEN public-key infrastructure without I/O: TNAuthList (RFC 8226), the certificate
//! profile of ATIS-1000080, chain validation against `TrustAnchors`, and the STI-PA CRL.

mod tn_auth_list;

pub use tn_auth_list::{TnAuthList, TnAuthListError, TnEntry};
