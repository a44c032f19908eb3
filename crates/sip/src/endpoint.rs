//! The core between transports and the application: turns received bytes into requests,
//! answers what the application need not see (malformed requests, ACK, CANCEL, OPTIONS, other
//! methods, overload) and runs each INVITE through its server transaction.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, mpsc};

use crate::message::{
    HeaderName, Message, Method, ParseError, Request, Response, StartLine, StatusCode, Via,
};
use crate::transaction::{Key, Lookup, Transactions};
use crate::transport::{ReplyTo, ServerConfig, Transport};

/// The methods this server accepts, for `Allow` (RFC 3261 §20.5).
pub const ALLOW: &str = "INVITE, ACK, CANCEL, OPTIONS";

/// The application: answers INVITEs (and, if it wants, OPTIONS).
pub trait Handler: Send + Sync + 'static {
    /// What [`Handler::handle`] passes on to [`Handler::completed`] with its answer: the
    /// application's notes on the call (`()` when it keeps none).
    type Note: Send + 'static;

    /// Answers one new INVITE with a final response (normally 302, or a 4xx/5xx), built with
    /// [`Message::respond`]. Called once per transaction: retransmissions never reach it.
    fn handle(
        &self,
        req: &Request,
        source: SocketAddr,
        transport: Transport,
    ) -> impl Future<Output = (Response, Self::Note)> + Send;

    /// The final response of a new INVITE has gone out: `sent` is the handler's answer, the
    /// 487 that replaced it when a CANCEL came while it was handled (RFC 3261 §9.2), or the
    /// 500/503 the server answered itself; `outcome` says which. Where to record what the
    /// caller really got, for every INVITE, including the ones the handler never answered.
    /// By default nothing.
    fn completed(
        &self,
        _req: &Request,
        _sent: &Response,
        _outcome: Outcome<Self::Note>,
        _source: SocketAddr,
        _transport: Transport,
    ) {
    }

    /// Answers OPTIONS; by default 200 with `Allow` and `Accept: application/sdp`.
    fn options(&self, req: &Request, _source: SocketAddr, _transport: Transport) -> Response {
        req.respond(StatusCode::OK)
            .header(HeaderName::Allow, ALLOW)
            .header(HeaderName::Accept, "application/sdp")
            .build()
            .unwrap_or_else(|_| fallback(req, StatusCode::OK))
    }
}

/// How the final response of a new INVITE came about, as [`Handler::completed`] learns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<N> {
    /// [`Handler::handle`] answered, with this note.
    Answered(N),
    /// The handler panicked, answered with a provisional status, or had not answered
    /// `handler_timeout` after it was called: the server answered 500 itself, `after` the
    /// handler was called.
    Failed {
        /// From the handler's call to the 500.
        after: Duration,
    },
    /// `max_in_flight` INVITEs were being handled: the server answered 503 with
    /// `Retry-After` and did not call the handler (RFC 3261 §21.5.4).
    Overloaded,
}

/// Where answers to one received message go.
pub(crate) enum Path {
    Stream(mpsc::Sender<Bytes>),
    Udp(Arc<UdpSocket>),
}

impl Path {
    /// RFC 3261 §18.2.2: over a stream, the connection; over UDP, the source address when the
    /// top Via asks for rport (RFC 3581 §4), else the source IP and the sent-by port.
    fn reply_to(&self, source: SocketAddr, via: &Via<'_>) -> ReplyTo {
        match self {
            Self::Stream(tx) => ReplyTo::Stream(tx.clone()),
            Self::Udp(socket) => {
                let dest = if via.rport().is_some() {
                    source
                } else {
                    SocketAddr::new(source.ip(), via.port().unwrap_or(5060))
                };
                ReplyTo::Udp {
                    socket: Arc::clone(socket),
                    dest,
                }
            }
        }
    }
}

pub(crate) struct Endpoint<H> {
    handler: Arc<H>,
    transactions: Arc<Transactions>,
    permits: Arc<Semaphore>,
    connections: Arc<Semaphore>,
    config: ServerConfig,
}

impl<H: Handler> Endpoint<H> {
    pub(crate) fn new(handler: H, config: ServerConfig) -> Self {
        Self {
            handler: Arc::new(handler),
            transactions: Arc::new(Transactions::default()),
            permits: Arc::new(Semaphore::new(config.max_in_flight)),
            connections: Arc::new(Semaphore::new(config.max_connections)),
            config,
        }
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.config.max_message_size
    }

    /// A slot for one more TCP or TLS connection, held while it is open; `None` at
    /// `max_connections`.
    pub(crate) fn connection_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.connections).try_acquire_owned().ok()
    }

    pub(crate) fn stream_idle_timeout(&self) -> Duration {
        self.config.stream_idle_timeout
    }

    pub(crate) fn transactions(&self) -> usize {
        self.transactions.len()
    }

    /// Fires the transactions' timers; runs as long as the server.
    pub(crate) async fn run_timers(&self) {
        self.transactions.run_timers().await;
    }

    /// One received message (a datagram, or a frame of a stream).
    pub(crate) fn receive(
        &self,
        data: Bytes,
        source: SocketAddr,
        transport: Transport,
        path: &Path,
    ) {
        let size = data.len();
        let (msg, mut early) = match Message::parse(data.clone()) {
            Ok(m) => (m, None),
            // A wrong Content-Length or SIP-Version can still be answered.
            Err(e) => match Message::parse_lenient(data) {
                Ok(m) => (m, Some(e)),
                Err(_) => return,
            },
        };
        if size > self.config.max_message_size {
            early = Some(ParseError::TooLarge {
                size,
                limit: self.config.max_message_size,
            });
        }
        // Responses are for client transactions, which a redirect server has none of.
        let StartLine::Request { method, .. } = msg.start_line() else {
            return;
        };
        // ACK never gets a response (RFC 3261 §17.1.1.3): it only confirms the INVITE
        // transaction it names (Timer I absorbs the rest); one for a 2xx or for nothing we
        // know is dropped, and so is one that did not parse cleanly.
        if *method == Method::Ack {
            if let (None, Some(key)) = (early, Key::of_ack(&msg)) {
                let _ = self.transactions.ack_received(&key);
            }
            return;
        }
        let (msg, error) = match early {
            Some(error) => (msg, error),
            None => match msg.into_request() {
                Ok(mut req) => {
                    req.received_from(source);
                    let reply = path.reply_to(source, &req.via());
                    return self.dispatch(req, source, transport, reply);
                }
                Err(rejected) => (rejected.message, rejected.error),
            },
        };
        // Without a usable top Via there is nowhere to send an answer (RFC 3261 §18.2.2).
        if let Ok(via) = msg.via() {
            self.reject(&msg, &error, source, &path.reply_to(source, &via));
        }
    }

    /// A 4xx/5xx for a request that failed to parse, naming the header in a Warning
    /// (RFC 3261 §20.43, code 399 "miscellaneous warning"); its top Via gets `received` and
    /// `rport` as every response does.
    fn reject(&self, msg: &Message, error: &ParseError, source: SocketAddr, reply: &ReplyTo) {
        let warning = format!("399 {} \"{error}\"", self.config.warn_agent);
        let inserts = msg.received_inserts(source);
        if let Ok(r) = msg
            .respond(error.status())
            .via_inserts(&inserts)
            .header(HeaderName::Warning, warning)
            .build()
        {
            reply.send(r.as_bytes().clone());
        }
    }

    fn dispatch(&self, req: Request, source: SocketAddr, transport: Transport, reply: ReplyTo) {
        let Some(key) = Key::of(&req) else {
            return;
        };
        let reliable = transport.is_reliable();
        match req.method() {
            // Taken before it became a `Request` (`receive`).
            Method::Ack => {}
            Method::Invite => {
                if self.transactions.invite_received(&key, &reply, reliable) == Lookup::Absorbed {
                    return;
                }
                let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
                    // Overload (RFC 3261 §21.5.4): 503 with Retry-After, handler not called.
                    let r = req
                        .respond(StatusCode::SERVICE_UNAVAILABLE)
                        .header(HeaderName::RetryAfter, self.config.retry_after.to_string())
                        .build()
                        .unwrap_or_else(|_| fallback(&req, StatusCode::SERVICE_UNAVAILABLE));
                    if let Some(sent) = self
                        .transactions
                        .invite_completed(&key, r, || terminated(&req))
                    {
                        self.handler
                            .completed(&req, &sent, Outcome::Overloaded, source, transport);
                    }
                    return;
                };
                let handler = Arc::clone(&self.handler);
                let transactions = Arc::clone(&self.transactions);
                let limit = self.config.handler_timeout;
                tokio::spawn(async move {
                    let called = tokio::time::Instant::now();
                    let call = AssertUnwindSafe(handler.handle(&req, source, transport));
                    let answer = tokio::time::timeout(limit, call.catch_unwind()).await;
                    drop(permit);
                    let (response, outcome) = match answer {
                        Ok(Ok((r, note))) if !r.status().is_provisional() => {
                            (r, Outcome::Answered(note))
                        }
                        // A panicking or stuck handler, or a provisional "final" answer: 500.
                        _ => (
                            fallback(&req, StatusCode::SERVER_INTERNAL_ERROR),
                            Outcome::Failed {
                                after: called.elapsed(),
                            },
                        ),
                    };
                    if let Some(sent) =
                        transactions.invite_completed(&key, response, || terminated(&req))
                    {
                        handler.completed(&req, &sent, outcome, source, transport);
                    }
                });
            }
            Method::Cancel => {
                // RFC 3261 §9.2: 200 when the INVITE transaction exists (one still being
                // handled then ends with 487; an answered one is not changed), else 481.
                let status = match Key::cancelled_invite(&req) {
                    Some(k) if self.transactions.cancel(&k) => StatusCode::OK,
                    _ => StatusCode::CALL_DOES_NOT_EXIST,
                };
                let r = req
                    .respond(status)
                    .build()
                    .unwrap_or_else(|_| fallback(&req, status));
                self.transactions
                    .non_invite(&key, &reply, reliable, r.as_bytes().clone());
            }
            Method::Options => {
                let r = self.handler.options(&req, source, transport);
                self.transactions
                    .non_invite(&key, &reply, reliable, r.as_bytes().clone());
            }
            Method::Bye | Method::Register | Method::Extension(_) => {
                // RFC 3261 §8.2.1: 405 with the methods we do accept.
                let status = StatusCode::METHOD_NOT_ALLOWED;
                let r = req
                    .respond(status)
                    .header(HeaderName::Allow, ALLOW)
                    .build()
                    .unwrap_or_else(|_| fallback(&req, status));
                self.transactions
                    .non_invite(&key, &reply, reliable, r.as_bytes().clone());
            }
        }
    }
}

/// The 487 that ends a cancelled INVITE (RFC 3261 §9.2).
fn terminated(req: &Request) -> Response {
    fallback(req, StatusCode::REQUEST_TERMINATED)
}

/// A response with no added headers, which cannot fail to build.
fn fallback(req: &Request, status: StatusCode) -> Response {
    match req.respond(status).build() {
        Ok(r) => r,
        // `build` fails only for headers added by the caller, and none were.
        Err(_) => Response::empty(status),
    }
}
