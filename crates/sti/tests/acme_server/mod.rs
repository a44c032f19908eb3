//! A small, strict ACME server on 127.0.0.1 for the client's robustness tests: one account,
//! one order, one authorization with one tkauth-01 challenge, and switches that inject
//! faults. It checks what a real CA checks on the wire (nonce, `url`, ES256 signature with the
//! `jwk` or the account's key, `application/jose+json`, empty POST-as-GET payloads, EAB) and
//! issues a real certificate with a TNAuthList from a throwaway CA.
//!
//! Its paths differ from acme2certifier's, so a client that hard-codes paths fails.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use passport::{FlattenedJws, VerifyingKey};
use pki::TnAuthList;
use serde_json::{Value, json};
use stirling_test::{CertOptions, TestCert};

/// Faults to inject; all off by default.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Refuse the first signed request's (valid) nonce with badNonce.
    pub bad_nonce_first: bool,
    /// Refuse every signed request's nonce with badNonce.
    pub bad_nonce_always: bool,
    /// How many challenge answers are refused with `unauthorized`.
    pub reject_challenge: u32,
    /// The challenge is accepted, then the authorization turns invalid (incorrectResponse).
    pub authz_invalid: bool,
    /// Finalize turns the order invalid (badCSR in `error`).
    pub order_invalid: bool,
    /// Polls of the order answered `processing` after finalize.
    pub processing_polls: u32,
    /// `Retry-After` seconds sent with `processing`.
    pub retry_after: Option<u64>,
    /// Issue the certificate for this SPC instead of the ordered one.
    pub issued_spc: Option<String>,
    /// newOrder answers 201 with a body that is not JSON.
    pub malformed_order: bool,
    /// newOrder waits this long before answering.
    pub slow_new_order: Option<Duration>,
    /// The certificate download is this many bytes of PEM-looking junk.
    pub huge_certificate: Option<usize>,
    /// The certificate download is labelled with this content type.
    pub certificate_content_type: Option<&'static str>,
    /// newOrder echoes this identifier value instead of the ordered one.
    pub echo_identifier: Option<String>,
    /// External account binding required: (key id, MAC key).
    pub eab: Option<(String, Vec<u8>)>,
}

/// What the server saw, for assertions.
#[derive(Debug, Default)]
pub struct Seen {
    pub bad_nonces_sent: u32,
    pub identifier: Option<String>,
    pub tokens: Vec<String>,
    pub order_polls: u32,
    pub processing_answers: u32,
    pub finalized: u32,
    pub revoked: u32,
    pub eab_key_id: Option<String>,
}

pub struct AcmeServer {
    pub directory_url: String,
    state: Arc<Srv>,
}

struct Srv {
    base: String,
    faults: Faults,
    ca: TestCert,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    seen: Seen,
    nonces: HashSet<String>,
    next_nonce: u64,
    account_jwk: Option<Value>,
    order_status: &'static str,
    order_error: Option<Value>,
    authz_status: &'static str,
    challenge_status: &'static str,
    challenge_error: Option<Value>,
    processing_left: u32,
    reject_left: u32,
    cert_pem: Option<String>,
}

impl AcmeServer {
    pub async fn start(faults: Faults) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Srv {
            base: base.clone(),
            ca: TestCert::self_signed(&CertOptions::root("Stirling Test ACME CA")),
            inner: Mutex::new(Inner {
                order_status: "pending",
                authz_status: "pending",
                challenge_status: "pending",
                processing_left: faults.processing_polls,
                reject_left: faults.reject_challenge,
                ..Inner::default()
            }),
            faults,
        });
        let app = Router::new().fallback(handle).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            directory_url: format!("{base}/x/dir"),
            state,
        }
    }

    /// Reads what the server saw.
    pub fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.state.inner.lock().unwrap().seen)
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.state.ca.pem()
    }
}

async fn handle(
    State(srv): State<Arc<Srv>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if path == "/x/dir" && method == Method::GET {
        let b = &srv.base;
        let dir = json!({
            "newNonce": format!("{b}/x/fresh-nonce"), "newAccount": format!("{b}/x/reg"),
            "newOrder": format!("{b}/x/order-new"), "revokeCert": format!("{b}/x/revoke"),
            "meta": {"externalAccountRequired": srv.faults.eab.is_some()}
        });
        return srv.reply(StatusCode::OK, "application/json", dir.to_string(), &[]);
    }
    if path == "/x/fresh-nonce" && (method == Method::HEAD || method == Method::GET) {
        return srv.reply(StatusCode::OK, "text/plain", String::new(), &[]);
    }
    if method != Method::POST {
        return srv.problem(StatusCode::METHOD_NOT_ALLOWED, "malformed", "use POST");
    }
    if headers.get(header::CONTENT_TYPE) != Some(&HeaderValue::from_static("application/jose+json"))
    {
        return srv.problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "malformed",
            "content type",
        );
    }
    let payload = match srv.check_jws(&path, &body) {
        Ok(payload) => payload,
        Err(response) => return response,
    };
    let post_as_get = payload.is_none();
    match path.as_str() {
        "/x/reg" => srv.new_account(payload.unwrap_or_default()),
        "/x/order-new" => {
            if let Some(delay) = srv.faults.slow_new_order {
                tokio::time::sleep(delay).await;
            }
            srv.new_order(payload.unwrap_or_default())
        }
        "/x/order/1" | "/x/authz/1" | "/x/cert/1" if !post_as_get => {
            srv.problem(StatusCode::BAD_REQUEST, "malformed", "POST-as-GET expected")
        }
        "/x/order/1" => srv.order(true),
        "/x/authz/1" => srv.authz(),
        "/x/chall/1" => srv.challenge(payload.unwrap_or_default()),
        "/x/finalize/1" => srv.finalize(payload.unwrap_or_default()),
        "/x/cert/1" => srv.certificate(&headers),
        "/x/revoke" => {
            srv.inner.lock().unwrap().seen.revoked += 1;
            srv.reply(StatusCode::OK, "application/json", String::new(), &[])
        }
        _ => srv.problem(StatusCode::NOT_FOUND, "malformed", "no such resource"),
    }
}

impl Srv {
    /// Checks nonce, url and signature; the payload as JSON, or `None` for POST-as-GET.
    #[allow(clippy::result_large_err)]
    fn check_jws(&self, path: &str, body: &[u8]) -> Result<Option<Value>, Response> {
        let bad = |detail: &str| self.problem(StatusCode::BAD_REQUEST, "malformed", detail);
        let jws: FlattenedJws = serde_json::from_slice(body).map_err(|_| bad("not a jws"))?;
        let header = jws.protected_header().map_err(|_| bad("header"))?;
        let nonce = header.get("nonce").and_then(Value::as_str).unwrap_or("");
        {
            let mut inner = self.inner.lock().unwrap();
            let known = inner.nonces.remove(nonce);
            let inject = self.faults.bad_nonce_always
                || (self.faults.bad_nonce_first && inner.seen.bad_nonces_sent == 0);
            if !known || inject {
                inner.seen.bad_nonces_sent += 1;
                drop(inner);
                return Err(self.problem(StatusCode::BAD_REQUEST, "badNonce", "stale nonce"));
            }
        }
        if header.get("url").and_then(Value::as_str) != Some(&format!("{}{path}", self.base)) {
            return Err(bad("url mismatch"));
        }
        let jwk = match (header.get("jwk"), header.get("kid")) {
            (Some(jwk), None) if path == "/x/reg" => jwk.clone(),
            (None, Some(kid)) if kid == &json!(format!("{}/x/acct/1", self.base)) => {
                let inner = self.inner.lock().unwrap();
                inner.account_jwk.clone().ok_or_else(|| {
                    self.problem(StatusCode::BAD_REQUEST, "accountDoesNotExist", "no account")
                })?
            }
            _ => return Err(bad("jwk for newAccount, kid otherwise")),
        };
        let key = VerifyingKey::from_jwk(&jwk).map_err(|_| bad("jwk"))?;
        jws.verify_es256(&key).map_err(|_| {
            self.problem(
                StatusCode::FORBIDDEN,
                "unauthorized",
                "signature does not verify",
            )
        })?;
        if path == "/x/reg" {
            self.inner.lock().unwrap().account_jwk = Some(jwk);
        }
        let payload = jws.payload_bytes().map_err(|_| bad("payload"))?;
        if payload.is_empty() {
            return Ok(None);
        }
        serde_json::from_slice(&payload)
            .map(Some)
            .map_err(|_| bad("payload not json"))
    }

    fn new_account(&self, payload: Value) -> Response {
        if let Some((key_id, mac)) = &self.faults.eab {
            let Some(binding) = payload.get("externalAccountBinding") else {
                return self.problem(
                    StatusCode::FORBIDDEN,
                    "externalAccountRequired",
                    "eab required",
                );
            };
            let jws: FlattenedJws = serde_json::from_value(binding.clone()).unwrap();
            let header = jws.protected_header().unwrap();
            let jwk: Value = serde_json::from_slice(&jws.payload_bytes().unwrap()).unwrap();
            let account_jwk = self.inner.lock().unwrap().account_jwk.clone();
            if jws.verify_hs256(mac).is_err()
                || header["kid"] != json!(key_id)
                || header["url"] != json!(format!("{}/x/reg", self.base))
                || Some(jwk) != account_jwk
            {
                return self.problem(StatusCode::UNAUTHORIZED, "unauthorized", "bad eab");
            }
            self.inner.lock().unwrap().seen.eab_key_id = Some(key_id.clone());
        }
        let location = format!("{}/x/acct/1", self.base);
        self.reply(
            StatusCode::CREATED,
            "application/json",
            json!({"status": "valid"}).to_string(),
            &[("Location", location)],
        )
    }

    fn new_order(&self, payload: Value) -> Response {
        let value = payload["identifiers"][0]["value"]
            .as_str()
            .map(str::to_owned);
        if payload["identifiers"][0]["type"] != "TNAuthList" || value.is_none() {
            return self.problem(StatusCode::BAD_REQUEST, "unsupportedIdentifier", "type");
        }
        self.inner.lock().unwrap().seen.identifier = self.faults.echo_identifier.clone().or(value);
        let location = format!("{}/x/order/1", self.base);
        if self.faults.malformed_order {
            return self.reply(
                StatusCode::CREATED,
                "application/json",
                "{\"status\": \"pending\", ".into(),
                &[("Location", location)],
            );
        }
        let mut response = self.order(false);
        *response.status_mut() = StatusCode::CREATED;
        response
            .headers_mut()
            .insert(header::LOCATION, location.parse().unwrap());
        response
    }

    fn order(&self, poll: bool) -> Response {
        let mut inner = self.inner.lock().unwrap();
        let mut extra = Vec::new();
        if poll {
            inner.seen.order_polls += 1;
            if inner.order_status == "processing" {
                if inner.processing_left == 0 {
                    inner.order_status = "valid";
                } else {
                    inner.processing_left -= 1;
                    inner.seen.processing_answers += 1;
                    if let Some(secs) = self.faults.retry_after {
                        extra.push(("Retry-After", secs.to_string()));
                    }
                }
            }
        }
        let b = &self.base;
        let mut order = json!({
            "status": inner.order_status,
            "identifiers": [{"type": "TNAuthList", "value": inner.seen.identifier}],
            "authorizations": [format!("{b}/x/authz/1")],
            "finalize": format!("{b}/x/finalize/1"),
        });
        if inner.order_status == "valid" {
            order["certificate"] = json!(format!("{b}/x/cert/1"));
        }
        if let Some(error) = &inner.order_error {
            order["error"] = error.clone();
        }
        drop(inner);
        self.reply(
            StatusCode::OK,
            "application/json",
            order.to_string(),
            &extra,
        )
    }

    fn authz(&self) -> Response {
        let inner = self.inner.lock().unwrap();
        let mut challenge = json!({
            "type": "tkauth-01", "url": format!("{}/x/chall/1", self.base),
            "token": "tok", "status": inner.challenge_status,
        });
        if inner.challenge_status == "pending" {
            challenge["tkauth-type"] = json!("atc");
        }
        if let Some(error) = &inner.challenge_error {
            challenge["error"] = error.clone();
        }
        let authz = json!({
            "status": inner.authz_status,
            "identifier": {"type": "TNAuthList", "value": inner.seen.identifier},
            "challenges": [
                {"type": "http-01", "url": format!("{}/x/other", self.base), "status": "pending"},
                challenge
            ],
        });
        drop(inner);
        self.reply(StatusCode::OK, "application/json", authz.to_string(), &[])
    }

    fn challenge(&self, payload: Value) -> Response {
        let Some(token) = payload.get("atc").and_then(Value::as_str) else {
            return self.problem(StatusCode::BAD_REQUEST, "malformed", "atc claim is missing");
        };
        let mut inner = self.inner.lock().unwrap();
        inner.seen.tokens.push(token.to_owned());
        if inner.reject_left > 0 {
            inner.reject_left -= 1;
            drop(inner);
            return self.problem(StatusCode::FORBIDDEN, "unauthorized", "atc not accepted");
        }
        if self.faults.authz_invalid {
            inner.authz_status = "invalid";
            inner.challenge_status = "invalid";
            inner.challenge_error = Some(json!({
                "type": "urn:ietf:params:acme:error:incorrectResponse",
                "detail": "fingerprint does not match the account key", "status": 403
            }));
        } else {
            inner.authz_status = "valid";
            inner.challenge_status = "valid";
            inner.order_status = "ready";
        }
        let body = json!({
            "type": "tkauth-01", "url": format!("{}/x/chall/1", self.base),
            "token": "tok", "status": inner.challenge_status,
        });
        drop(inner);
        self.reply(StatusCode::OK, "application/json", body.to_string(), &[])
    }

    fn finalize(&self, payload: Value) -> Response {
        use base64::Engine;
        let csr = payload["csr"].as_str().unwrap_or("");
        if base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(csr)
            .map_or(true, |der| der.is_empty())
        {
            return self.problem(StatusCode::BAD_REQUEST, "badCSR", "csr not base64url");
        }
        let mut inner = self.inner.lock().unwrap();
        if inner.order_status != "ready" {
            drop(inner);
            return self.problem(StatusCode::FORBIDDEN, "orderNotReady", "not ready");
        }
        inner.seen.finalized += 1;
        if self.faults.order_invalid {
            inner.order_status = "invalid";
            inner.order_error = Some(json!({
                "type": "urn:ietf:params:acme:error:badCSR",
                "detail": "TNAuthList of the CSR differs from the order"
            }));
        } else {
            let value = inner.seen.identifier.clone().unwrap_or_default();
            let ordered = TnAuthList::from_base64(&value)
                .or_else(|_| TnAuthList::from_base64url(&value))
                .unwrap();
            let mut options =
                CertOptions::leaf(ordered.spc().map(|s| s.as_str()).unwrap_or("0000"));
            if let Some(spc) = &self.faults.issued_spc {
                options = CertOptions::leaf(spc);
            }
            let leaf = self.ca.issue(&options);
            inner.cert_pem = Some(format!("{}{}", leaf.pem(), self.ca.pem()));
            inner.order_status = if self.faults.processing_polls > 0 {
                "processing"
            } else {
                "valid"
            };
        }
        drop(inner);
        self.order(false)
    }

    fn certificate(&self, headers: &HeaderMap) -> Response {
        if headers.get(header::ACCEPT)
            != Some(&HeaderValue::from_static(
                "application/pem-certificate-chain",
            ))
        {
            return self.problem(StatusCode::NOT_ACCEPTABLE, "malformed", "accept");
        }
        let mut pem = self
            .inner
            .lock()
            .unwrap()
            .cert_pem
            .clone()
            .unwrap_or_default();
        if let Some(size) = self.faults.huge_certificate {
            pem = "A".repeat(size);
        }
        let content_type = self
            .faults
            .certificate_content_type
            .unwrap_or("application/pem-certificate-chain");
        self.reply(StatusCode::OK, content_type, pem, &[])
    }

    fn problem(&self, status: StatusCode, kind: &str, detail: &str) -> Response {
        let body = json!({
            "type": format!("urn:ietf:params:acme:error:{kind}"),
            "detail": detail, "status": status.as_u16(),
        });
        self.reply(status, "application/problem+json", body.to_string(), &[])
    }

    /// Every answer carries a fresh nonce, errors included (RFC 8555 §6.5).
    fn reply(
        &self,
        status: StatusCode,
        content_type: &'static str,
        body: String,
        extra: &[(&'static str, String)],
    ) -> Response {
        let nonce = {
            let mut inner = self.inner.lock().unwrap();
            inner.next_nonce += 1;
            let nonce = format!("nonce{}", inner.next_nonce);
            inner.nonces.insert(nonce.clone());
            nonce
        };
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert("Replay-Nonce", nonce.parse().unwrap());
        for (name, value) in extra {
            headers.insert(*name, value.parse().unwrap());
        }
        response
    }
}
