//! An in-test STI-PA over real HTTPS on 127.0.0.1 (axum on hyper, rustls with a throwaway
//! rcgen root the client trusts through its config), answering with iconectiv's JSON shapes
//! (`reference/standards.md` §4.2–§4.4, §3.5), plus an STI-PA PKI built with `stirling-test`.
//!
//! The server counts hits per endpoint so tests can prove what was (not) called.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use passport::{SigningKey, UnixTime, sign_compact};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use sti::{Clock, Secret, StiPaClient, StiPaConfig};
use stirling_test::{CertOptions, CrlEntry, IndirectCrl, TEST_TIME, TestCert, TestPki};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

pub const USER: &str = "api-user-281K";
pub const PASSWORD: &str = "correct horse battery staple";
pub const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.access-token-value.sig";

/// A clock the test sets.
#[derive(Debug)]
pub struct TestClock(AtomicU64);

impl TestClock {
    pub fn at(secs: u64) -> Arc<Self> {
        Arc::new(Self(AtomicU64::new(secs)))
    }
    pub fn set(&self, secs: u64) {
        self.0.store(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(self.0.load(Ordering::SeqCst)))
    }
}

pub fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

/// The STI-PA's PKI (root, CA list signer, CRL signer) and one STI-CA with a SHAKEN leaf.
pub struct PaPki {
    pub root: TestCert,
    pub list_signer: TestCert,
    pub crl_signer: TestCert,
    pub sti_ca: TestPki,
}

impl PaPki {
    pub fn new() -> Self {
        let root = TestCert::self_signed(&CertOptions::root("STI-PA Root Certificate"));
        let list_signer = root.issue(&CertOptions {
            serial: 0x5000,
            ..CertOptions::crl_signer("STI-PA CA List Signer")
        });
        let crl_signer = root.issue(&CertOptions::crl_signer("STI-PA CRL"));
        Self {
            root,
            list_signer,
            crl_signer,
            sti_ca: TestPki::new(),
        }
    }

    pub fn roots(&self) -> pki::TrustAnchors {
        pki::TrustAnchors::from_pem(self.root.pem().as_bytes()).unwrap()
    }

    /// A CA list JWS (§4.3) signed by `signer`, naming `x5u`, listing `anchors`.
    pub fn ca_list(
        &self,
        signer: &TestCert,
        x5u: &str,
        sequence: u64,
        exp: u64,
        anchors: &[&TestCert],
    ) -> String {
        let key = SigningKey::from_der(&signer.key().serialize_der()).unwrap();
        let payload = json!({
            "version": 1,
            "sequence": sequence,
            "exp": exp,
            "trustList": anchors.iter().map(|c| c.pem()).collect::<Vec<_>>(),
        });
        sign_compact(
            &key,
            &json!({"alg": "ES256", "typ": "JWT", "x5u": x5u}),
            payload.to_string().as_bytes(),
        )
        .unwrap()
    }

    /// The usual list: sequence `sequence`, valid 30 days past TEST_TIME, the STI-CA's root.
    pub fn good_list(&self, server: &PaServer, sequence: u64) -> String {
        self.ca_list(
            &self.list_signer,
            &server.url("/download/v1/certificate/signer.crt"),
            sequence,
            TEST_TIME + 30 * 86_400,
            &[&self.sti_ca.root],
        )
    }

    /// An STI-PA CRL revoking `entries`, distribution point `crl_url`.
    pub fn crl(&self, crl_url: &str, entries: Vec<CrlEntry>) -> Vec<u8> {
        let mut crl = IndirectCrl::new(entries);
        crl.distribution_point = Some(crl_url.to_owned());
        crl.sign(&self.crl_signer)
    }
}

/// What the fake STI-PA serves; tests change it between calls.
#[derive(Default)]
pub struct Served {
    pub ca_list: Option<String>,
    pub signer_pem: Option<String>,
    /// Served instead of `signer_pem` when set: the signer as DER (a `.crt` download).
    pub signer_der: Option<Vec<u8>>,
    pub crl: Option<Vec<u8>>,
    pub big_crl: bool,
    pub token_status: Option<(u16, Value)>,
    /// Delay before answering the CRL, to provoke client timeouts.
    pub crl_delay: Option<Duration>,
}

#[derive(Default)]
pub struct Seen {
    pub hits: HashMap<&'static str, usize>,
    pub authorization: Vec<String>,
    pub token_bodies: Vec<(String, Value)>,
    pub crl_accept: Vec<String>,
}

#[derive(Clone, Default)]
pub struct PaState {
    pub served: Arc<Mutex<Served>>,
    pub seen: Arc<Mutex<Seen>>,
}

impl PaState {
    fn hit(&self, name: &'static str) {
        *self.seen.lock().unwrap().hits.entry(name).or_default() += 1;
    }

    /// Checks `Authorization` is the raw token (§4.2) and records it.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let ok = value == TOKEN;
        self.seen.lock().unwrap().authorization.push(value);
        ok
    }
}

fn failed(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"status": "failed", "message": message})),
    )
        .into_response()
}

async fn login(State(state): State<PaState>, body: Bytes) -> Response {
    state.hit("login");
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return failed(StatusCode::BAD_REQUEST, "body is not json");
    };
    if body["userId"] == USER && body["password"] == PASSWORD {
        Json(json!({"status": "success", "accessToken": TOKEN})).into_response()
    } else {
        failed(StatusCode::UNAUTHORIZED, "Invalid user id or password")
    }
}

async fn ca_list(State(state): State<PaState>, headers: HeaderMap) -> Response {
    state.hit("ca-list");
    if !state.authorized(&headers) {
        return failed(StatusCode::UNAUTHORIZED, "Invalid token");
    }
    match state.served.lock().unwrap().ca_list.clone() {
        Some(jws) => Json(json!({"status": "success", "caList": jws})).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn token(
    State(state): State<PaState>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.hit("token");
    if !state.authorized(&headers) {
        return failed(StatusCode::UNAUTHORIZED, "Invalid token");
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state
        .seen
        .lock()
        .unwrap()
        .token_bodies
        .push((account.clone(), body));
    if let Some((status, answer)) = state.served.lock().unwrap().token_status.clone() {
        return (StatusCode::from_u16(status).unwrap(), Json(answer)).into_response();
    }
    Json(json!({
        "status": "success",
        "message": format!("SPC token for spc: {account} is created successfully"),
        "token": "eyJhbGciOiJFUzI1NiJ9.spc-token-payload.sig",
        "crl": "https://authenticate-api-stg.iconectiv.com/download/v1/crl",
    }))
    .into_response()
}

async fn crl(State(state): State<PaState>, headers: HeaderMap) -> Response {
    state.hit("crl");
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    state.seen.lock().unwrap().crl_accept.push(accept.clone());
    let (body, big, delay) = {
        let served = state.served.lock().unwrap();
        (served.crl.clone(), served.big_crl, served.crl_delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if accept != "application/pkix-crl" {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    }
    if big {
        return (
            [(header::CONTENT_TYPE, "application/pkix-crl")],
            vec![0u8; 3 * 1024 * 1024],
        )
            .into_response();
    }
    match body {
        Some(der) => ([(header::CONTENT_TYPE, "application/pkix-crl")], der).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn signer(State(state): State<PaState>) -> Response {
    state.hit("signer");
    let (pem, der) = {
        let served = state.served.lock().unwrap();
        (served.signer_pem.clone(), served.signer_der.clone())
    };
    if let Some(der) = der {
        return ([(header::CONTENT_TYPE, "application/pkix-cert")], der).into_response();
    }
    match pem {
        Some(pem) => (
            [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
            pem,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The running HTTPS server.
pub struct PaServer {
    pub addr: SocketAddr,
    pub state: PaState,
    tls_root: CertificateDer<'static>,
    task: JoinHandle<()>,
}

impl PaServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener).await
    }

    async fn serve(listener: TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        let (acceptor, tls_root) = tls();
        let state = PaState::default();
        let app = Router::new()
            .route("/api/v1/auth/login", post(login))
            .route("/api/v1/ca-list", get(ca_list))
            .route("/api/v1/account/{account}/token", post(token))
            .route("/download/v1/crl", get(crl))
            .route("/download/v1/certificate/signer.crt", get(signer))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                            .await;
                    }
                });
            }
        });
        Self {
            addr,
            state,
            tls_root,
            task,
        }
    }

    pub fn base(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    pub fn crl_url(&self) -> String {
        self.url("/download/v1/crl")
    }

    pub fn hits(&self, name: &str) -> usize {
        self.state
            .seen
            .lock()
            .unwrap()
            .hits
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    pub fn serve_list(&self, jws: String, signer_pem: String) {
        let mut served = self.state.served.lock().unwrap();
        served.ca_list = Some(jws);
        served.signer_pem = Some(signer_pem);
    }

    pub fn serve_crl(&self, crl: Option<Vec<u8>>) {
        self.state.served.lock().unwrap().crl = crl;
    }

    /// Client settings trusting this server's TLS root.
    pub fn client_config(&self) -> StiPaConfig {
        let mut roots = RootCertStore::empty();
        roots.add(self.tls_root.clone()).unwrap();
        StiPaConfig {
            timeout: Duration::from_secs(5),
            roots: Arc::new(roots),
            ..StiPaConfig::new(self.base().parse().unwrap())
        }
    }

    pub fn client(&self) -> StiPaClient {
        StiPaClient::new(&self.client_config()).unwrap()
    }

    /// Stops accepting connections (the port then refuses them).
    pub fn stop(&self) -> SocketAddr {
        self.task.abort();
        self.addr
    }
}

impl Drop for PaServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn password() -> Secret {
    Secret::new(PASSWORD)
}

/// A TLS acceptor for 127.0.0.1 issued by a fresh rcgen root, and that root.
fn tls() -> (TlsAcceptor, CertificateDer<'static>) {
    let mut root_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let root = CertifiedIssuer::self_signed(root_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    let server = params.signed_by(&server_key, &root).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![server.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )
        .unwrap();
    (TlsAcceptor::from(Arc::new(config)), root.der().clone())
}
