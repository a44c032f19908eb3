//! The one way this crate builds an HTTP client: HTTPS only over rustls on aws-lc-rs with the
//! given roots, HTTP/1.1, no redirects, no proxy, no Referer, bounded connect and total time.

use std::sync::Arc;
use std::time::Duration;

use reqwest::ClientBuilder;
use reqwest::redirect::Policy;
use rustls::RootCertStore;

/// A client builder with the strict settings; callers add what is specific to them.
pub(crate) fn strict_client(
    roots: Arc<RootCertStore>,
    timeout: Duration,
) -> Result<ClientBuilder, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .http1_only()
        .redirect(Policy::none())
        .no_proxy()
        .https_only(true)
        .referer(false)
        .connect_timeout(timeout)
        .timeout(timeout))
}
