//! SHAKEN public-key infrastructure without I/O: TNAuthList (RFC 8226), the certificate
//! profile of ATIS-1000080, chain validation against `TrustAnchors`, the STI-PA CRL, and the
//! STI-PA's signed list of approved CAs.

mod ca_list;

pub use ca_list::{CaList, CaListError, MAX_CA_LIST_ENTRIES, UnverifiedCaList};
