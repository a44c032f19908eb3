//! Settings of the ACME client.

use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;

/// How the TNAuthList identifier value (and the STI-PA `tkvalue`) is encoded.
///
/// `reference/standards.md` §5.2: RFC 9448 speaks of base64url, the deployed US ecosystem
/// (iconectiv, PeeringHub, Martini, acme2certifier) uses standard base64 with padding. The
/// string must be byte-identical to the SPC token's `tkvalue`, so it is a per-CA setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdentifierEncoding {
    /// Standard alphabet with `=` padding (the default).
    #[default]
    Base64,
    /// URL-safe alphabet without padding.
    Base64Url,
}

/// Settings of [`AcmeClient`](super::AcmeClient). The defaults suit a public STI-CA.
#[derive(Clone, Debug)]
pub struct AcmeConfig {
    /// The directory URL; every other URL is read from it (never hard-coded).
    pub directory_url: String,
    /// Limit on each HTTP exchange, connecting included. Default 30 s.
    pub request_timeout: Duration,
    /// Total wait while polling one authorization or order. Default 300 s.
    pub poll_timeout: Duration,
    /// Pause between polls when the server sends no `Retry-After`. Default 1 s.
    pub poll_interval: Duration,
    /// How many times a request refused with `badNonce` is retried with a fresh nonce.
    /// Default 3.
    pub bad_nonce_retries: u32,
    /// How many SPC tokens are tried on one challenge before giving up; each attempt asks the
    /// token source for a fresh one. Default 2 (vermouth's advice not to hammer the STI-PA).
    pub token_attempts: u32,
    /// Encoding of the TNAuthList identifier value. Default [`IdentifierEncoding::Base64`].
    pub identifier_encoding: IdentifierEncoding,
    /// Trust anchors for the HTTPS connection to the CA. Default: the Mozilla roots.
    pub roots: Arc<RootCertStore>,
    /// Exceptions for tests and local servers. Empty by default; leave it so in production.
    pub danger: DangerousAcmeConfig,
}

/// Exceptions to the ACME client's rules, for tests and local CAs only.
#[derive(Clone, Debug, Default)]
pub struct DangerousAcmeConfig {
    /// Allow plain `http://` URLs (acme2certifier on loopback). Off by default.
    pub allow_http: bool,
}

impl AcmeConfig {
    /// The defaults for the CA whose directory is at `directory_url`.
    pub fn new(directory_url: impl Into<String>) -> Self {
        Self {
            directory_url: directory_url.into(),
            request_timeout: Duration::from_secs(30),
            poll_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_secs(1),
            bad_nonce_retries: 3,
            token_attempts: 2,
            identifier_encoding: IdentifierEncoding::Base64,
            roots: Arc::new(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            }),
            danger: DangerousAcmeConfig::default(),
        }
    }
}
