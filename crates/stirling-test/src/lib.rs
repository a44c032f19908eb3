//! Dev-only test fixtures shared by Stirling's crates (like `rustls-test` for rustls): a SHAKEN
//! test PKI built with rcgen ([`TestCert`]) and STI-PA style **indirect** CRLs built with
//! x509-cert ([`IndirectCrl`]), which rcgen cannot make; a fresh schema in the test
//! PostgreSQL ([`PgSchema`]).
//!
//! Never a normal dependency. Keys are generated per run, so certificates differ between runs;
//! tests pin times with [`TEST_TIME`] and the validity defaults below instead of reading a clock.
//! Builders panic on misuse: they only ever see the test's own values.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod crl;
mod https;
mod pki;
mod postgres;
mod sipp;
mod smtp;
mod sockets;

pub use crl::{CrlEntry, IndirectCrl, crl_pem};
pub use https::FixedHttpsServer;
pub use pki::{CertOptions, Curve, TEST_TIME, TestCert, TestPki, tn_auth_list_der};
pub use postgres::{PG_ADMIN_URL, PgSchema};
pub use rcgen;
pub use sipp::{SippRun, free_port, headers, sipp};
pub use smtp::{ReceivedMail, SmtpSink};
pub use sockets::{Connection, connections};
