//! The certificate lifecycle: issuing a version ([`issuance`]: STI-PA token → ACME order →
//! store → activate), when to renew ([`renewal`]), running renewals ([`scheduler`]), and
//! telling the tenant when generation fails ([`alert`]).

pub mod alert;
pub mod issuance;
pub mod renewal;
pub mod scheduler;
