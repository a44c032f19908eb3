//! The certificate lifecycle: when to renew, and telling the tenant when generation fails.
//! Issuance itself (STI-PA token → ACME order → publish → activate) builds on these.

pub mod alert;
pub mod issuance;
pub mod renewal;
