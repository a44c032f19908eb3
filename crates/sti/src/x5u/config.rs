//! Settings of the x5u fetcher and cache.

use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;

/// Settings of [`X5uFetcher`](super::X5uFetcher) and [`X5uCache`](super::X5uCache).
///
/// The defaults are the production values. Anything that weakens a rule lives in
/// [`danger`](Self::danger).
#[derive(Clone, Debug)]
pub struct X5uConfig {
    /// Limit on connecting (DNS, TCP and TLS), and on the whole exchange from connecting to
    /// the last byte of the body, so a server that drips its answer is cut off too. Default
    /// 2 s, as Asterisk (`reference/standards.md` §3.6).
    pub timeout: Duration,
    /// How long a failed lookup is remembered, so a broken or hostile x5u is not fetched again
    /// for every call. Default 30 s.
    pub negative_ttl: Duration,
    /// Most URLs held in the cache; the least useful are evicted beyond it. Default 10 000.
    pub max_entries: u64,
    /// Trust anchors for the HTTPS connection to the certificate repository. Default: the
    /// Mozilla root program (`webpki-roots`).
    ///
    /// x5u repositories are ordinary public web servers, so their TLS certificates come from
    /// public CAs. Compiled-in roots make the verifier behave the same on every host and in
    /// minimal containers with no CA bundle, and they change only through a reviewed
    /// dependency update; the platform store would make acceptance depend on the machine.
    pub roots: Arc<RootCertStore>,
    /// Exceptions for tests and the sandbox. Empty by default; leave it so in production.
    pub danger: DangerousX5uConfig,
}

impl Default for X5uConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            negative_ttl: Duration::from_secs(30),
            max_entries: 10_000,
            roots: Arc::new(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            }),
            danger: DangerousX5uConfig::default(),
        }
    }
}

/// Exceptions to the x5u rules, for tests and the sandbox only. Each one weakens a check.
#[derive(Clone, Debug, Default)]
pub struct DangerousX5uConfig {
    /// Hosts (DNS names or IP literals, as written in the URL) the fetcher may reach even
    /// though they are, or resolve to, loopback, private or other special addresses.
    pub allowed_hosts: Vec<String>,
    /// One port accepted besides 443 and 8443, so a test server need not bind a privileged
    /// port.
    pub extra_port: Option<u16>,
}

impl DangerousX5uConfig {
    pub(crate) fn allows_host(&self, host: &str) -> bool {
        self.allowed_hosts
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(host))
    }
}
