//! SHAKEN public-key infrastructure without I/O: TNAuthList (RFC 8226), the certificate
//! profile of ATIS-1000080, chain validation against `TrustAnchors`, and the STI-PA CRL.
