//! Stirling: STIR/SHAKEN signing, verification and certificate lifecycle as one service.
//!
//! This crate wires the I/O-free protocol crates (`passport`, `pki`) to the outside world:
//! the command line today; the store, SIP, HTTP and the certificate lifecycle as they land.

pub mod cli;
pub mod verification;
