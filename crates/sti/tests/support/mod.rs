//! A real HTTPS server on 127.0.0.1 with a throwaway PKI, a movable clock, and a test
//! validator, shared by the x5u integration tests.
//!
//! The server speaks just enough HTTP/1.1 to answer one request per connection, and counts
//! both accepted connections and requests so tests can prove that nothing was fetched.

#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use passport::UnixTime;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sti::{Clock, DangerousX5uConfig, Expiring, X5uCache, X5uConfig, X5uFetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A root CA, a TLS server certificate for 127.0.0.1 and `localhost`, and an x5u chain.
pub struct TestPki {
    pub root: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivatePkcs8KeyDer<'static>,
    /// PEM of a leaf and its intermediate, leaf first: a well-formed x5u body.
    pub chain_pem: String,
    /// PEM of one certificate, for building bodies with many certificates.
    pub leaf_pem: String,
    /// DER of that leaf.
    pub leaf: CertificateDer<'static>,
}

impl TestPki {
    pub fn new() -> Result<Self, rcgen::Error> {
        let mut root_params = CertificateParams::new(Vec::<String>::new())?;
        root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let root = CertifiedIssuer::self_signed(root_params, KeyPair::generate()?)?;

        let server_key = KeyPair::generate()?;
        let mut server_params = CertificateParams::new(vec!["localhost".to_owned()])?;
        server_params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        let server = server_params.signed_by(&server_key, &root)?;

        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        let intermediate = CertifiedIssuer::signed_by(ca_params, KeyPair::generate()?, &root)?;
        let leaf_key = KeyPair::generate()?;
        let leaf =
            CertificateParams::new(Vec::<String>::new())?.signed_by(&leaf_key, &intermediate)?;

        Ok(Self {
            root: root.der().clone(),
            server_chain: vec![server.der().clone(), root.der().clone()],
            server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()),
            chain_pem: format!("{}{}", leaf.pem(), intermediate.pem()),
            leaf_pem: leaf.pem(),
            leaf: leaf.der().clone(),
        })
    }

    /// Client settings that trust this PKI and allow the test server's host and port.
    pub fn config(&self, port: u16) -> X5uConfig {
        let mut roots = RootCertStore::empty();
        // The root was just made by rcgen; rustls accepting it is part of the set-up.
        let _ = roots.add(self.root.clone());
        X5uConfig {
            roots: Arc::new(roots),
            timeout: Duration::from_secs(2),
            danger: DangerousX5uConfig {
                allowed_hosts: vec!["127.0.0.1".to_owned()],
                extra_port: Some(port),
            },
            ..X5uConfig::default()
        }
    }

    fn acceptor(&self) -> Result<TlsAcceptor, rustls::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                self.server_chain.clone(),
                PrivateKeyDer::Pkcs8(self.server_key.clone_key()),
            )?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// What the server does with each connection.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Completes TLS, reads the request, answers.
    Respond(Reply),
    /// Accepts TCP and then never speaks, not even TLS.
    StallHandshake,
    /// Promises a body of 1000 bytes, sends a few and closes the connection.
    CloseMidBody,
    /// Answers the status line and headers, then never sends the promised body.
    StallBody,
}

/// One HTTP response.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send `Content-Length`; without it the body ends when the connection closes.
    pub content_length: bool,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            headers: vec![(
                "Content-Type".to_owned(),
                "application/pem-certificate-chain".to_owned(),
            )],
            body: body.into(),
            content_length: true,
        }
    }

    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            content_length: true,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn without_content_length(mut self) -> Self {
        self.content_length = false;
        self
    }
}

/// A running HTTPS server on 127.0.0.1.
pub struct TestServer {
    pub addr: SocketAddr,
    behaviour: Arc<Mutex<Behaviour>>,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    last_head: Arc<Mutex<String>>,
}

impl TestServer {
    pub async fn start(
        pki: &TestPki,
        behaviour: Behaviour,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let acceptor = pki.acceptor()?;
        let behaviour = Arc::new(Mutex::new(behaviour));
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let last_head = Arc::new(Mutex::new(String::new()));
        let (b, c, r, h) = (
            behaviour.clone(),
            connections.clone(),
            requests.clone(),
            last_head.clone(),
        );
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let behaviour = b.lock().map(|g| g.clone());
                let Ok(behaviour) = behaviour else { return };
                let (acceptor, requests, head) = (acceptor.clone(), r.clone(), h.clone());
                tokio::spawn(serve(tcp, acceptor, behaviour, requests, head));
            }
        });
        Ok(Self {
            addr,
            behaviour,
            connections,
            requests,
            last_head,
        })
    }

    /// `https://127.0.0.1:PORT/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}/{path}", self.addr.port())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn set(&self, behaviour: Behaviour) {
        if let Ok(mut guard) = self.behaviour.lock() {
            *guard = behaviour;
        }
    }

    /// Requests read in full so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The head (request line and headers) of the last request read.
    pub fn last_request_head(&self) -> String {
        self.last_head.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve(
    tcp: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    behaviour: Behaviour,
    requests: Arc<AtomicUsize>,
    last_head: Arc<Mutex<String>>,
) {
    let mut buf = [0u8; 1024];
    if let Behaviour::StallHandshake = behaviour {
        // Hold the socket open without a word until the client gives up.
        let mut tcp = tcp;
        while matches!(tcp.read(&mut buf).await, Ok(n) if n > 0) {}
        return;
    }
    let Ok(mut tls) = acceptor.accept(tcp).await else {
        return;
    };
    // Read the request head.
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    if let Ok(mut last) = last_head.lock() {
        *last = String::from_utf8_lossy(&head).into_owned();
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let reply = match behaviour {
        Behaviour::Respond(reply) => reply,
        Behaviour::CloseMidBody | Behaviour::StallBody | Behaviour::StallHandshake => {
            let _ = tls
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n-----BEGIN")
                .await;
            let _ = tls.flush().await;
            if matches!(behaviour, Behaviour::StallBody) {
                while matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {}
            }
            let _ = tls.shutdown().await;
            return;
        }
    };
    let mut out = format!("HTTP/1.1 {} Test\r\nConnection: close\r\n", reply.status);
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if reply.content_length {
        out.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&reply.body);
    let _ = tls.write_all(&bytes).await;
    let _ = tls.shutdown().await;
}

/// A plain TCP listener on 127.0.0.1 that only records whether anyone connected.
pub struct Tripwire {
    listener: StdListener,
}

impl Tripwire {
    pub fn new() -> std::io::Result<Self> {
        let listener = StdListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        Ok(Self { listener })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Whether a connection is waiting. The kernel completes the TCP handshake before the
    /// client's `connect` returns, so a client that connected has left one here.
    pub fn was_touched(&self) -> bool {
        self.listener.accept().is_ok()
    }
}

/// A clock that moves only when told.
#[derive(Debug)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn at(secs: u64) -> Arc<Self> {
        Arc::new(Self(AtomicU64::new(secs)))
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
    }

    pub fn secs(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(self.0.load(Ordering::SeqCst)))
    }
}

/// What the test validator makes of a chain: its length and a chosen notAfter.
#[derive(Debug)]
pub struct Checked {
    pub certificates: usize,
    pub not_after: UnixTime,
}

impl Expiring for Checked {
    fn not_after(&self) -> UnixTime {
        self.not_after
    }
}

/// The test validator's refusal.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("chain of {0} certificates refused")]
pub struct Refused(pub usize);

/// A cache whose validator accepts chains of at most `accept_up_to` certificates, gives each
/// the notAfter `not_after`, and counts its calls in `validations`.
pub fn cache(
    config: &X5uConfig,
    clock: Arc<ManualClock>,
    not_after: u64,
    accept_up_to: usize,
    validations: Arc<AtomicUsize>,
) -> Result<X5uCache<Checked, Refused>, sti::X5uBuildError> {
    let fetcher = X5uFetcher::new(config)?;
    Ok(X5uCache::new(config, fetcher, clock, move |chain| {
        validations.fetch_add(1, Ordering::SeqCst);
        if chain.len() > accept_up_to {
            return Err(Refused(chain.len()));
        }
        Ok(Checked {
            certificates: chain.len(),
            not_after: UnixTime::since_unix_epoch(Duration::from_secs(not_after)),
        })
    }))
}
