//! The x5u HTTPS client (`reference/standards.md` §3.6).

use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, StatusCode, Url, header};
use rustls_pki_types::CertificateDer;

use super::address::forbidden_range;
use super::body::{X5U_MAX_BODY_BYTES, parse_x5u_body};
use super::config::{DangerousX5uConfig, X5uConfig};
use super::error::{FetchError, X5uBuildError};
use super::resolver::FilteringResolver;
use super::ttl;

/// Fetches x5u certificate chains under the rules of `reference/standards.md` §3.6.
///
/// Cheap to clone; clones share the connection pool.
#[derive(Clone, Debug)]
pub struct X5uFetcher {
    client: Client,
    timeout: Duration,
    danger: Arc<DangerousX5uConfig>,
}

/// A fetched, not yet validated, certificate chain.
#[derive(Clone, Debug)]
pub struct X5uResponse {
    /// The certificates in body order, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The `max-age` of the response's `Cache-Control`, if it had one.
    pub max_age: Option<Duration>,
}

impl X5uFetcher {
    /// Builds a fetcher with its own HTTP client: no redirects, no proxy, HTTP/1.1 over TLS
    /// with `config.roots`, and the filtering resolver.
    ///
    /// # Errors
    ///
    /// When the TLS or HTTP client cannot be built.
    pub fn new(config: &X5uConfig) -> Result<Self, X5uBuildError> {
        let danger = Arc::new(config.danger.clone());
        let mut headers = header::HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            header::HeaderValue::from_static("application/pem-certificate-chain"),
        );
        let client = crate::https::strict_client(config.roots.clone(), config.timeout)
            .map_err(X5uBuildError::Tls)?
            .default_headers(headers)
            .pool_max_idle_per_host(4)
            .dns_resolver(FilteringResolver {
                danger: danger.clone(),
            })
            .build()
            .map_err(X5uBuildError::Http)?;
        Ok(Self {
            client,
            timeout: config.timeout,
            danger,
        })
    }

    /// Fetches and parses the chain at `x5u`.
    ///
    /// The URL is checked before any connection is made; the address is checked on the
    /// resolved address, or on the literal when the URL holds an IP address.
    ///
    /// # Errors
    ///
    /// A [`FetchError`] naming the rule that failed.
    pub async fn fetch(&self, x5u: &str) -> Result<X5uResponse, FetchError> {
        let url = self.check_url(x5u)?;
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::Redirect {
                status: status.as_u16(),
            });
        }
        if status != StatusCode::OK {
            return Err(FetchError::HttpStatus {
                status: status.as_u16(),
            });
        }
        let max_age = ttl::max_age(
            response
                .headers()
                .get_all(header::CACHE_CONTROL)
                .iter()
                .map(|v| v.as_bytes()),
        );
        let too_large = FetchError::TooLarge {
            limit: X5U_MAX_BODY_BYTES,
        };
        if response
            .content_length()
            .is_some_and(|len| len > X5U_MAX_BODY_BYTES as u64)
        {
            return Err(too_large);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            if body.len() + chunk.len() > X5U_MAX_BODY_BYTES {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        let chain = parse_x5u_body(&body)?;
        Ok(X5uResponse { chain, max_age })
    }

    /// The URL rules of ATIS-1000074 and ATIS-1000080, checked before any I/O.
    fn check_url(&self, x5u: &str) -> Result<Url, FetchError> {
        let url = Url::parse(x5u).map_err(FetchError::InvalidUrl)?;
        if url.scheme() != "https" {
            return Err(FetchError::NotHttps {
                scheme: url.scheme().to_owned(),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::HasUserinfo);
        }
        if url.query().is_some() {
            return Err(FetchError::HasQuery);
        }
        if url.fragment().is_some() {
            return Err(FetchError::HasFragment);
        }
        let port = url.port_or_known_default().unwrap_or(0);
        if port != 443 && port != 8443 && self.danger.extra_port != Some(port) {
            return Err(FetchError::ForbiddenPort { port });
        }
        let host = url.host().ok_or(FetchError::NoHost)?;
        // An IP literal never reaches the resolver, so it is judged here.
        let literal = match host {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(_) => None,
        };
        if let Some(addr) = literal {
            let written = url.host_str().unwrap_or_default();
            let unbracketed = written.trim_start_matches('[').trim_end_matches(']');
            if let Some(range) = forbidden_range(addr)
                && !self.danger.allows_host(written)
                && !self.danger.allows_host(unbracketed)
            {
                return Err(FetchError::ForbiddenAddress { addr, range });
            }
        }
        Ok(url)
    }

    /// Classifies a reqwest failure, surfacing our resolver's refusal as itself.
    fn transport_error(&self, e: reqwest::Error) -> FetchError {
        if let Some(refused) = find_fetch_error(&e) {
            return refused;
        }
        if e.is_timeout() {
            return FetchError::Timeout {
                after: self.timeout,
            };
        }
        if e.is_connect() {
            return FetchError::Connect(Arc::new(e));
        }
        FetchError::Transport(Arc::new(e))
    }
}

/// Our own [`FetchError`] somewhere in the source chain (the resolver's refusal travels
/// through hyper as a boxed connect error; `io::Error` hides its payload from `source()`).
fn find_fetch_error(e: &reqwest::Error) -> Option<FetchError> {
    let mut source: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(err) = source {
        if let Some(found) = err.downcast_ref::<FetchError>() {
            return Some(found.clone());
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(found) = io.get_ref().and_then(|i| i.downcast_ref::<FetchError>())
        {
            return Some(found.clone());
        }
        source = err.source();
    }
    None
}
