//! The STI-PA HTTPS client (`reference/standards.md` §4.2–§4.4, §3.5).

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response, StatusCode, Url, header};
use rustls::RootCertStore;
use serde_json::{Value, json};

use super::error::{StiPaBuildError, StiPaError};
use super::fingerprint::Fingerprint;
use super::secret::{AccessToken, Secret};

/// Largest JSON answer read (login, token, CA list). The US CA list holds a few dozen PEM
/// certificates, well under 100 KiB.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Largest CRL read; vermouth uses the same cap (§3.5).
pub const MAX_CRL_BYTES: usize = 2 * 1024 * 1024;
/// Largest signer certificate chain read from an STI-PA `x5u`.
pub const MAX_SIGNER_CHAIN_BYTES: usize = 64 * 1024;

/// Settings of [`StiPaClient`].
#[derive(Clone, Debug)]
pub struct StiPaConfig {
    /// API base, e.g. `https://authenticate-api.iconectiv.com` (production) or
    /// `https://authenticate-api-stg.iconectiv.com` (staging, §4.1). Paths such as
    /// `api/v1/auth/login` are appended to it, so a base with a path prefix works too.
    pub base_url: Url,
    /// Limit on connecting and on each whole exchange. Default 30 s.
    pub timeout: Duration,
    /// Trust anchors for the HTTPS connection to the STI-PA. Default: the Mozilla root program
    /// (`webpki-roots`), for the same reasons as [`X5uConfig::roots`](crate::X5uConfig::roots).
    pub roots: Arc<RootCertStore>,
    /// Exceptions for tests and local servers. Empty by default; leave it so in production.
    pub danger: DangerousStiPaConfig,
}

/// Exceptions to the STI-PA client's rules, for tests and local STI-PAs only (mirrors
/// [`DangerousAcmeConfig`](crate::DangerousAcmeConfig)).
#[derive(Clone, Debug, Default)]
pub struct DangerousStiPaConfig {
    /// Allow a plain `http://` base URL (the sandbox on loopback). Off by default: the STI-PA
    /// password and tokens must never travel in clear over a network.
    pub allow_http: bool,
}

impl StiPaConfig {
    /// iconectiv production API base (§4.1).
    pub const ICONECTIV_PRODUCTION: &'static str = "https://authenticate-api.iconectiv.com";
    /// iconectiv staging API base (§4.1).
    pub const ICONECTIV_STAGING: &'static str = "https://authenticate-api-stg.iconectiv.com";

    /// Settings for `base_url` with the default timeout and roots.
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            timeout: Duration::from_secs(30),
            roots: Arc::new(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            }),
            danger: DangerousStiPaConfig::default(),
        }
    }
}

/// The authority token challenge request of an SPC token (§4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Atc {
    /// TNAuthList DER in padded standard base64 (`pki::TnAuthList::to_base64`), e.g.
    /// `MAigBhYEMjgxSw==` for SPC `281K`.
    pub tkvalue: String,
    /// `false` for a service provider's end-entity certificate, `true` for a delegate CA.
    pub ca: bool,
    /// The ACME account key fingerprint.
    pub fingerprint: Fingerprint,
}

/// The STI-PA's answer to an SPC token request (§4.4).
#[derive(Debug)]
pub struct SpcTokenResponse {
    /// The SPC token (a JWT), a secret: it authorizes certificate issuance.
    pub token: Secret,
    /// The CRL URL the STI-PA names, for the CSR's CRL distribution point.
    pub crl: Option<String>,
    /// The STI-PA's human-readable message, if any.
    pub message: Option<String>,
}

/// Client of one STI-PA API. Cheap to clone; clones share the connection pool.
///
/// Every call is one request: nothing is retried here, so a caller's retry policy is the only
/// one (a wrong password must not be replayed, [`StiPaError::Unauthorized`]).
#[derive(Clone, Debug)]
pub struct StiPaClient {
    client: Client,
    base: Url,
    timeout: Duration,
    /// [`DangerousStiPaConfig::allow_http`]: also for CRL and signer-chain URLs.
    allow_http: bool,
}

impl StiPaClient {
    /// Builds a client: HTTPS only (unless [`DangerousStiPaConfig::allow_http`]), no
    /// redirects, no proxy, HTTP/1.1 over rustls (aws-lc-rs) with `config.roots`.
    pub fn new(config: &StiPaConfig) -> Result<Self, StiPaBuildError> {
        let base = &config.base_url;
        let scheme_allowed =
            base.scheme() == "https" || (config.danger.allow_http && base.scheme() == "http");
        if !scheme_allowed || base.cannot_be_a_base() || base.host().is_none() {
            return Err(StiPaBuildError::BaseUrl {
                url: base.to_string(),
            });
        }
        let client = crate::https::strict_client(config.roots.clone(), config.timeout)
            .map_err(StiPaBuildError::Tls)?
            .https_only(!config.danger.allow_http)
            .build()
            .map_err(StiPaBuildError::Http)?;
        Ok(Self {
            client,
            base: base.clone(),
            timeout: config.timeout,
            allow_http: config.danger.allow_http,
        })
    }

    /// `POST {base}/api/v1/auth/login` with `{"userId","password"}` (§4.2); the answer's
    /// `accessToken` authorizes later calls.
    pub async fn login(&self, user_id: &str, password: &Secret) -> Result<AccessToken, StiPaError> {
        let body = json!({"userId": user_id, "password": password.secret_str()});
        let request = self
            .client
            .post(self.endpoint(&["api", "v1", "auth", "login"]))
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        let answer = self.json(request).await?;
        let token = answer
            .get("accessToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or(StiPaError::Malformed {
                what: "login answer has no accessToken",
            })?;
        // A token must fit in a header; checked once here rather than on every call.
        if header::HeaderValue::from_str(token).is_err() {
            return Err(StiPaError::Malformed {
                what: "accessToken is not a valid header value",
            });
        }
        Ok(AccessToken::new(token))
    }

    /// `POST {base}/api/v1/account/{account_id}/token` with `{"atc":{…}}` (§4.4).
    pub async fn spc_token(
        &self,
        token: &AccessToken,
        account_id: &str,
        atc: &Atc,
    ) -> Result<SpcTokenResponse, StiPaError> {
        if account_id.is_empty() || !account_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(StiPaError::InvalidAccountId {
                account_id: account_id.to_owned(),
            });
        }
        let body = json!({"atc": {
            "tktype": "TNAuthList",
            "tkvalue": atc.tkvalue,
            "ca": atc.ca,
            "fingerprint": atc.fingerprint.to_string(),
        }});
        let request = self
            .client
            .post(self.endpoint(&["api", "v1", "account", account_id, "token"]))
            .header(header::ACCEPT, "application/jose+json, application/json")
            .header(header::AUTHORIZATION, authorization(token)?)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        let answer = self.json(request).await?;
        let text = |name| answer.get(name).and_then(Value::as_str).map(str::to_owned);
        let token = text("token")
            .filter(|t| !t.is_empty())
            .ok_or(StiPaError::Malformed {
                what: "token answer has no token",
            })?;
        Ok(SpcTokenResponse {
            token: Secret::new(token),
            crl: text("crl"),
            message: text("message"),
        })
    }

    /// `GET {base}/api/v1/ca-list` (§4.3): the compact JWS of the `caList` member, not yet
    /// verified (see `pki::UnverifiedCaList`).
    pub async fn ca_list(&self, token: &AccessToken) -> Result<String, StiPaError> {
        let request = self
            .client
            .get(self.endpoint(&["api", "v1", "ca-list"]))
            .header(header::ACCEPT, "application/jose+json, application/json")
            .header(header::AUTHORIZATION, authorization(token)?);
        let answer = self.json(request).await?;
        answer
            .get("caList")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or(StiPaError::Malformed {
                what: "ca-list answer has no caList",
            })
    }

    /// Downloads the STI-PA CRL at `url` (`…/download/v1/crl`, §3.5) with
    /// `Accept: application/pkix-crl`. The body (DER or PEM) is returned as received, at most
    /// [`MAX_CRL_BYTES`].
    pub async fn crl(&self, url: &str) -> Result<Vec<u8>, StiPaError> {
        let url = https_url(url, self.allow_http)?;
        let request = self
            .client
            .get(url)
            .header(header::ACCEPT, "application/pkix-crl");
        let response = self.send(request).await?;
        self.body(response, MAX_CRL_BYTES).await
    }

    /// Downloads an STI-PA signer certificate chain (PEM, signer first) from a JWS `x5u`, at
    /// most [`MAX_SIGNER_CHAIN_BYTES`]. The chain is not validated here.
    pub async fn signer_chain(&self, x5u: &str) -> Result<Vec<u8>, StiPaError> {
        let url = https_url(x5u, self.allow_http)?;
        let request = self
            .client
            .get(url)
            .header(header::ACCEPT, "application/pem-certificate-chain, */*");
        let response = self.send(request).await?;
        self.body(response, MAX_SIGNER_CHAIN_BYTES).await
    }

    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `new` refused cannot-be-a-base URLs, so path segments are always available.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response, StiPaError> {
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(match status {
            StatusCode::UNAUTHORIZED => StiPaError::Unauthorized,
            StatusCode::FORBIDDEN => StiPaError::Forbidden,
            StatusCode::BAD_REQUEST => {
                let body = self.body(response, 16 * 1024).await.unwrap_or_default();
                StiPaError::BadRequest {
                    message: error_message(&body),
                }
            }
            other => StiPaError::Status {
                status: other.as_u16(),
            },
        })
    }

    /// Sends, reads a JSON object and checks `"status":"success"` when a status is given.
    async fn json(&self, request: RequestBuilder) -> Result<Value, StiPaError> {
        let response = self.send(request).await?;
        let body = self.body(response, MAX_JSON_BYTES).await?;
        let value: Value = serde_json::from_slice(&body).map_err(|_| StiPaError::Malformed {
            what: "answer is not json",
        })?;
        if !value.is_object() {
            return Err(StiPaError::Malformed {
                what: "answer is not a json object",
            });
        }
        match value.get("status") {
            None => Ok(value),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("success") => Ok(value),
            Some(_) => Err(StiPaError::BadRequest {
                message: error_message(&body),
            }),
        }
    }

    async fn body(&self, mut response: Response, limit: usize) -> Result<Vec<u8>, StiPaError> {
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(StiPaError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if body.len() + chunk.len() > limit {
                return Err(StiPaError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport(&self, e: reqwest::Error) -> StiPaError {
        if e.is_timeout() {
            StiPaError::Timeout {
                after: self.timeout,
            }
        } else {
            StiPaError::Transport(Arc::new(e))
        }
    }
}

/// The raw token as `Authorization` value (§4.2: no `Bearer `), marked sensitive so HTTP
/// layers never print it.
fn authorization(token: &AccessToken) -> Result<header::HeaderValue, StiPaError> {
    let mut value =
        header::HeaderValue::from_str(token.secret_str()).map_err(|_| StiPaError::Malformed {
            what: "access token is not a valid header value",
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `text` as an HTTPS URL (or HTTP when the dangerous `allow_http` is set, for the sandbox).
fn https_url(text: &str, allow_http: bool) -> Result<Url, StiPaError> {
    match Url::parse(text) {
        Ok(url)
            if (url.scheme() == "https" || (allow_http && url.scheme() == "http"))
                && url.host().is_some() =>
        {
            Ok(url)
        }
        _ => Err(StiPaError::InvalidUrl {
            url: text.to_owned(),
        }),
    }
}

/// Longest error text kept from a body without a `message`.
const MAX_MESSAGE_CHARS: usize = 200;

/// The STI-PA's `message` member, or the start of the body as text.
fn error_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body)
        && let Some(message) = value.get("message").and_then(Value::as_str)
    {
        return message.chars().take(MAX_MESSAGE_CHARS).collect();
    }
    String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_append_to_the_base_path() {
        for (base, want) in [
            ("https://pa.example", "https://pa.example/api/v1/ca-list"),
            ("https://pa.example/", "https://pa.example/api/v1/ca-list"),
            (
                "https://pa.example/ca/",
                "https://pa.example/ca/api/v1/ca-list",
            ),
        ] {
            let client = StiPaClient::new(&StiPaConfig::new(Url::parse(base).unwrap())).unwrap();
            assert_eq!(client.endpoint(&["api", "v1", "ca-list"]).as_str(), want);
        }
    }

    #[test]
    fn plain_http_base_is_refused() {
        let config = StiPaConfig::new(Url::parse("http://pa.example").unwrap());
        assert!(matches!(
            StiPaClient::new(&config),
            Err(StiPaBuildError::BaseUrl { .. })
        ));
        let allowed = StiPaConfig {
            danger: DangerousStiPaConfig { allow_http: true },
            ..StiPaConfig::new(Url::parse("http://127.0.0.1:1").unwrap())
        };
        assert!(StiPaClient::new(&allowed).is_ok());
        let other_scheme = StiPaConfig {
            danger: DangerousStiPaConfig { allow_http: true },
            ..StiPaConfig::new(Url::parse("ftp://pa.example").unwrap())
        };
        assert!(matches!(
            StiPaClient::new(&other_scheme),
            Err(StiPaBuildError::BaseUrl { .. })
        ));
    }

    #[test]
    fn plain_http_is_refused_by_default() {
        assert!(
            !StiPaConfig::new(Url::parse("https://pa.example").unwrap())
                .danger
                .allow_http
        );
        let config = StiPaConfig::new(Url::parse("http://127.0.0.1:8444").unwrap());
        assert!(matches!(
            StiPaClient::new(&config),
            Err(StiPaBuildError::BaseUrl { .. })
        ));
    }

    #[test]
    fn error_message_prefers_the_message_member() {
        assert_eq!(
            error_message(br#"{"status":"failed","message":"Invalid fingerprint"}"#),
            "Invalid fingerprint"
        );
        assert_eq!(error_message(b"bad\nrequest"), "badrequest");
        assert_eq!(error_message(&[b'x'; 500]).len(), MAX_MESSAGE_CHARS);
    }
}
