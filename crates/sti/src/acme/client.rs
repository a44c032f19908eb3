//! The HTTP side of the ACME client: the directory, JWS-signed POSTs with the nonce pool and
//! badNonce retry, size and time limits, and polling.

use std::sync::Arc;
use std::time::Duration;

use passport::{FlattenedJws, SigningKey};
use reqwest::redirect::Policy;
use reqwest::{Client, RequestBuilder, header};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::account::Account;
use super::config::AcmeConfig;
use super::directory::Directory;
use super::error::AcmeError;
use super::nonce::NoncePool;
use super::problem::{Problem, ProblemType};

/// Largest response body read (a certificate chain is a few kB).
pub const ACME_MAX_BODY_BYTES: usize = 1 << 20;

/// Shortest pause between polls, whatever `Retry-After` says, so a `0` cannot make a busy loop.
const MIN_POLL_WAIT: Duration = Duration::from_millis(50);

/// An ACME (RFC 8555) client narrowed to STI certificates: TNAuthList orders answered by
/// tkauth-01 (RFC 9447, RFC 9448).
///
/// Built once per CA with [`AcmeClient::connect`], which reads the directory; every other URL
/// comes from the directory or the server's answers. Cheap to share behind an `Arc`; the
/// nonce pool is shared by all requests.
///
/// ```no_run
/// use passport::SigningKey;
/// use pki::{CsrParams, TnAuthList};
/// use sti::{AcmeClient, AcmeConfig, FingerprintInput, NewAccount, OrderRequest};
///
/// # #[derive(Debug, thiserror::Error)] #[error("sti-pa")] struct StiPaError;
/// # async fn fetch_spc_token(_fingerprint: &str) -> Result<String, StiPaError> { todo!() }
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = AcmeClient::connect(AcmeConfig::new("https://sti-ca.example/directory")).await?;
/// let account = client
///     .new_account(
///         SigningKey::generate()?,
///         &NewAccount {
///             contact: vec!["mailto:noc@sp.example".into()],
///             terms_of_service_agreed: true,
///             ..NewAccount::default()
///         },
///     )
///     .await?;
/// let list = TnAuthList::from_base64("MAigBhYEMTIzNA==")?;
/// let csr = CsrParams::new(list.clone()).sign_with_new_key()?;
/// let fingerprint = account.fingerprint(FingerprintInput::SpkiDer)?;
/// let request = OrderRequest { tn_auth_list: list, not_before: None, not_after: None };
/// // A fresh SPC token from the STI-PA for every challenge attempt.
/// let chain = client
///     .issue(&account, &request, csr.der(), || fetch_spc_token(&fingerprint))
///     .await?;
/// println!("{} certificates", chain.der_chain.len());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AcmeClient {
    http: Client,
    config: AcmeConfig,
    directory: Directory,
    nonces: NoncePool,
}

/// Who signs a request: the account key as a `jwk` (newAccount) or the account URL as `kid`.
pub(crate) enum Signer<'a> {
    Jwk(&'a SigningKey),
    Kid(&'a Account),
}

/// A response, read whole.
pub(crate) struct Reply {
    pub(crate) url: String,
    pub(crate) status: u16,
    headers: header::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl AcmeClient {
    /// Builds the HTTP client and reads the directory at `config.directory_url`.
    ///
    /// # Errors
    ///
    /// When the client cannot be built or the directory cannot be fetched or read.
    pub async fn connect(config: AcmeConfig) -> Result<Self, AcmeError> {
        let http = build_http(&config)?;
        let url = config.directory_url.clone();
        let mut client = Self {
            http,
            config,
            directory: Directory {
                new_nonce: String::new(),
                new_account: String::new(),
                new_order: String::new(),
                revoke_cert: None,
                key_change: None,
                meta: Default::default(),
            },
            nonces: NoncePool::default(),
        };
        let reply = client.execute(client.http.get(&url), &url).await?;
        let reply = reply.success()?;
        client.directory = reply.json("directory")?;
        Ok(client)
    }

    /// The directory read at connection.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The settings in use.
    pub fn config(&self) -> &AcmeConfig {
        &self.config
    }

    /// A JWS-signed POST (RFC 8555 §6.2); `payload` `None` is POST-as-GET (§6.3).
    ///
    /// A `badNonce` answer is retried with the nonce that came with it, at most
    /// `bad_nonce_retries` times (§6.5). Any other error status becomes [`AcmeError::Problem`]
    /// or [`AcmeError::UnexpectedStatus`].
    pub(crate) async fn post(
        &self,
        signer: Signer<'_>,
        url: &str,
        payload: Option<&Value>,
    ) -> Result<Reply, AcmeError> {
        self.post_accepting(signer, url, payload, "application/json")
            .await
    }

    /// [`AcmeClient::post`] with an `Accept` header other than JSON.
    pub(crate) async fn post_accepting(
        &self,
        signer: Signer<'_>,
        url: &str,
        payload: Option<&Value>,
        accept: &'static str,
    ) -> Result<Reply, AcmeError> {
        let payload_bytes = match payload {
            Some(value) => serde_json::to_vec(value).map_err(|e| AcmeError::Malformed {
                what: "request payload",
                url: url.to_owned(),
                reason: e.to_string(),
            })?,
            None => Vec::new(),
        };
        let mut retries = 0;
        loop {
            let nonce = self.nonce().await?;
            let mut protected = json!({"alg": "ES256", "nonce": nonce, "url": url});
            let key = match signer {
                Signer::Jwk(key) => {
                    protected["jwk"] = key.public_jwk();
                    key
                }
                Signer::Kid(account) => {
                    protected["kid"] = Value::String(account.url().to_owned());
                    account.key()
                }
            };
            let jws = FlattenedJws::sign_es256(key, &protected, &payload_bytes)
                .map_err(AcmeError::Signing)?;
            let body = serde_json::to_vec(&jws).map_err(|e| AcmeError::Malformed {
                what: "request body",
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
            let request = self
                .http
                .post(url)
                .header(header::CONTENT_TYPE, "application/jose+json")
                .header(header::ACCEPT, accept)
                .body(body);
            let reply = self.execute(request, url).await?;
            match reply.success() {
                Ok(reply) => return Ok(reply),
                Err(AcmeError::Problem { problem, .. })
                    if problem.kind == ProblemType::BadNonce
                        && retries < self.config.bad_nonce_retries =>
                {
                    retries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Polls with `fetch` until `pending` says the value is final (returns `None`), honouring
    /// `Retry-After` and giving up before the total wait would pass `poll_timeout`.
    pub(crate) async fn poll<T, Fut>(
        &self,
        url: &str,
        // A closure returning a future rather than an `AsyncFnMut`: the latter's higher-ranked
        // future type makes callers' futures not `Send` for every lifetime, so they could not
        // be spawned.
        mut fetch: impl FnMut() -> Fut,
        pending: impl Fn(&T) -> Option<&'static str>,
    ) -> Result<T, AcmeError>
    where
        Fut: std::future::Future<Output = Result<(T, Option<Duration>), AcmeError>>,
    {
        let start = Instant::now();
        let budget = self.config.poll_timeout;
        loop {
            let (value, retry_after) = fetch().await?;
            let Some(status) = pending(&value) else {
                return Ok(value);
            };
            let wait = retry_after
                .unwrap_or(self.config.poll_interval)
                .max(MIN_POLL_WAIT);
            let waited = start.elapsed();
            if waited.saturating_add(wait) > budget {
                return Err(AcmeError::PollTimeout {
                    url: url.to_owned(),
                    status: status.to_owned(),
                    waited,
                    budget,
                });
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// A nonce from the pool, or a fresh one from `newNonce` (RFC 8555 §7.2).
    async fn nonce(&self) -> Result<String, AcmeError> {
        if let Some(nonce) = self.nonces.take() {
            return Ok(nonce);
        }
        let url = &self.directory.new_nonce;
        let reply = self.execute(self.http.head(url), url).await?;
        reply.success()?;
        self.nonces.take().ok_or_else(|| AcmeError::Malformed {
            what: "Replay-Nonce header",
            url: url.clone(),
            reason: "missing or not base64url".into(),
        })
    }

    /// Sends, keeps the `Replay-Nonce`, and reads the body within the size limit.
    async fn execute(&self, request: RequestBuilder, url: &str) -> Result<Reply, AcmeError> {
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                AcmeError::Timeout {
                    url: url.to_owned(),
                    after: self.config.request_timeout,
                }
            } else {
                AcmeError::Transport {
                    url: url.to_owned(),
                    source: Arc::new(e),
                }
            }
        };
        let mut response = request.send().await.map_err(transport)?;
        if let Some(nonce) = response
            .headers()
            .get("Replay-Nonce")
            .and_then(|v| v.to_str().ok())
        {
            self.nonces.put(nonce);
        }
        let too_large = || AcmeError::TooLarge {
            url: url.to_owned(),
            limit: ACME_MAX_BODY_BYTES,
        };
        if response
            .content_length()
            .is_some_and(|len| len > ACME_MAX_BODY_BYTES as u64)
        {
            return Err(too_large());
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > ACME_MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply {
            url: url.to_owned(),
            status,
            headers,
            body,
        })
    }
}

impl Reply {
    /// Itself when the status is 2xx; otherwise the problem document it carries.
    pub(crate) fn success(self) -> Result<Self, AcmeError> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        match Problem::from_json(&self.body, Some(self.status)) {
            Some(problem) => Err(AcmeError::Problem {
                url: self.url,
                problem,
            }),
            None => Err(AcmeError::UnexpectedStatus {
                url: self.url,
                status: self.status,
            }),
        }
    }

    /// The body as JSON of type `T`.
    pub(crate) fn json<T: DeserializeOwned>(&self, what: &'static str) -> Result<T, AcmeError> {
        serde_json::from_slice(&self.body).map_err(|e| AcmeError::Malformed {
            what,
            url: self.url.clone(),
            reason: e.to_string(),
        })
    }

    /// The `Location` header, required.
    pub(crate) fn location(&self) -> Result<String, AcmeError> {
        self.header(header::LOCATION)
            .map(str::to_owned)
            .ok_or_else(|| AcmeError::Malformed {
                what: "Location header",
                url: self.url.clone(),
                reason: "missing".into(),
            })
    }

    /// `Retry-After` in delta-seconds (RFC 9110 §10.2.3). An HTTP-date is ignored and the
    /// configured interval used instead: STI-CAs send seconds, and a date would need a clock
    /// agreement we cannot check.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        self.header(header::RETRY_AFTER)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    }

    /// The `Content-Type` header.
    pub(crate) fn content_type(&self) -> Option<&str> {
        self.header(header::CONTENT_TYPE)
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn build_http(config: &AcmeConfig) -> Result<Client, AcmeError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AcmeError::Build(e.to_string()))?
        .with_root_certificates(config.roots.clone())
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("stirling-acme/", env!("CARGO_PKG_VERSION")))
        .http1_only()
        .redirect(Policy::none())
        .no_proxy()
        .https_only(!config.danger.allow_http)
        .referer(false)
        .connect_timeout(config.request_timeout)
        .timeout(config.request_timeout)
        .build()
        .map_err(|e| AcmeError::Build(e.to_string()))
}
