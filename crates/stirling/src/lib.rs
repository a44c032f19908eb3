//! Stirling: STIR/SHAKEN signing, verification and certificate lifecycle as one service.
//!
//! This crate wires the I/O-free protocol crates (`passport`, `pki`) to the outside world:
//! the command line, configuration, the store, secrets at rest and the HTTP service; SIP and
//! the certificate lifecycle as they land.

pub mod admin;
pub mod api;
pub mod atis;
pub mod auth;
pub mod call_path;
pub mod cli;
pub mod config;
pub mod demo;
pub mod directory;
pub mod entry;
pub mod http;
pub mod https;
pub mod lifecycle;
pub mod message_log;
pub mod metrics;
pub mod repository;
pub mod secrets;
pub mod serve;
pub mod signing;
pub mod sip_front;
pub mod store;
pub mod ui;
pub mod verification;
