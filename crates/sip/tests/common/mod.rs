//! A redirect handler and loopback server shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sip::{HeaderName, Outcome, Request, Response, Server, ServerConfig, StatusCode, Transport};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::timeout;

/// Answers every INVITE with 302 and Contact = Request-URI, counting calls. When `gate` is set,
/// each call first waits for a permit from it; with `panics`, each call panics instead of
/// answering. Notes (outcome, sent status) pairs as [`sip::Handler::completed`] reports them,
/// the note of an answer being its status.
#[derive(Clone, Default)]
pub struct Redirect {
    pub calls: Arc<AtomicUsize>,
    pub gate: Option<Arc<Semaphore>>,
    pub panics: bool,
    pub completed: Arc<Mutex<Vec<Completed>>>,
}

/// What [`sip::Handler::completed`] reported for one INVITE: its outcome (an answer's note is
/// its status) and the status sent.
pub type Completed = (Outcome<u16>, u16);

impl Redirect {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// (outcome, status sent) of each completed INVITE.
    pub fn completed(&self) -> Vec<Completed> {
        self.completed.lock().unwrap().clone()
    }
}

impl sip::Handler for Redirect {
    /// The status answered.
    type Note = u16;

    async fn handle(
        &self,
        req: &Request,
        _source: SocketAddr,
        _transport: Transport,
    ) -> (Response, u16) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            let _permit = gate.acquire().await.unwrap();
        }
        assert!(!self.panics, "a handler that panics");
        let response = req
            .respond(StatusCode::MOVED_TEMPORARILY)
            .header(HeaderName::Contact, format!("<{}>", req.uri_str()))
            .build()
            .unwrap();
        let status = response.status().as_u16();
        (response, status)
    }

    fn completed(
        &self,
        _req: &Request,
        sent: &Response,
        outcome: Outcome<u16>,
        _source: SocketAddr,
        _transport: Transport,
    ) {
        let pair = (outcome, sent.status().as_u16());
        self.completed.lock().unwrap().push(pair);
    }
}

pub fn loopback_config() -> ServerConfig {
    ServerConfig {
        udp: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        tcp: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        ..ServerConfig::default()
    }
}

/// Binds on loopback and runs the server in the background.
pub async fn start(
    config: ServerConfig,
    handler: Redirect,
) -> (SocketAddr, SocketAddr, sip::Stats<Redirect>) {
    start_with(config, handler).await
}

/// [`start`] for any handler.
pub async fn start_with<H: sip::Handler>(
    config: ServerConfig,
    handler: H,
) -> (SocketAddr, SocketAddr, sip::Stats<H>) {
    let server = Server::bind(config, handler).await.unwrap();
    let (udp, tcp) = (server.udp_addr().unwrap(), server.tcp_addr().unwrap());
    let stats = server.stats();
    tokio::spawn(server.run());
    (udp, tcp, stats)
}

/// A request of `method` with the given branch and Call-ID, from `local` (UDP sent-by).
pub fn request(
    method: &str,
    cseq_method: &str,
    branch: &str,
    call_id: &str,
    local: SocketAddr,
    transport: &str,
) -> String {
    format!(
        "{method} sip:+12155551212@ss.example.net;user=phone SIP/2.0\r
Via: SIP/2.0/{transport} {local};branch={branch};rport\r
Max-Forwards: 70\r
From: \"Alice\" <sip:+12155550100@a.example.com;user=phone>;tag=1928301774\r
To: <sip:+12155551212@b.example.com;user=phone>\r
Call-ID: {call_id}\r
CSeq: 1 {cseq_method}\r
Content-Length: 0\r
\r
"
    )
}

/// The status code of a response.
pub fn status(resp: &[u8]) -> u16 {
    std::str::from_utf8(&resp[8..11]).unwrap().parse().unwrap()
}

/// The value of the first header `name` in a response.
pub fn header(resp: &[u8], name: &str) -> Option<String> {
    let m = sip::Message::parse(bytes::Bytes::copy_from_slice(resp)).unwrap();
    m.headers()
        .get_named(name)
        .next()
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The next response on a TCP connection (bytes already read stay in `buf`); `None` when the
/// connection closed or failed.
pub async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            // Our responses carry `Content-Length: 0`.
            return Some(buf.drain(..end + 4).collect());
        }
        let mut chunk = [0u8; 4096];
        let n = timeout(Duration::from_secs(10), s.read(&mut chunk))
            .await
            .unwrap()
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
