//! Transports (RFC 3261 §18): one UDP socket, TCP and optional TLS listeners, and the server
//! that feeds them to the transaction layer.

mod framing;
mod stream;
mod tls;
mod udp;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

pub use tls::{TlsConfig, TlsConfigError};

use crate::endpoint::{Endpoint, Handler};

/// The transport a request arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// UDP.
    Udp,
}

impl Transport {
    /// Whether the transport is reliable (no retransmission timers, RFC 3261 §17).
    pub fn is_reliable(self) -> bool {
        match self {
            Self::Tcp | Self::Tls => true,
            Self::Udp => false,
        }
    }
}

/// What the server listens on and how it protects itself. Every field has a usable default.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// UDP address; `None` for no UDP.
    pub udp: Option<SocketAddr>,
    /// TCP address; `None` for no TCP.
    pub tcp: Option<SocketAddr>,
    /// TLS listener; `None` unless a certificate is configured.
    pub tls: Option<TlsConfig>,
    /// UDP receive buffer (SO_RCVBUF) asked of the kernel; default 2 MiB.
    pub udp_recv_buffer: usize,
    /// Largest message accepted; larger ones get 513 (UDP) or close the connection (streams).
    /// Default 16 KiB.
    pub max_message_size: usize,
    /// TCP and TLS connections open at once; a new connection beyond it is closed at once (an
    /// SBC keeps a few long-lived ones; thousands mean a leak or an attack). Default 4096.
    pub max_connections: usize,
    /// INVITEs handled at once; beyond it new INVITEs get 503 with `Retry-After` without
    /// reaching the handler. Default 1024.
    pub max_in_flight: usize,
    /// The `Retry-After` of overload 503s, in seconds. Default 5.
    pub retry_after: u32,
    /// The warn-agent of `Warning` headers on 4xx for malformed requests. Default `sip`.
    pub warn_agent: String,
    /// How long the handler may take for one INVITE before the server answers 500 itself and
    /// frees the slot. Default 10 s.
    pub handler_timeout: Duration,
    /// A TCP or TLS connection with nothing received for this long is closed. Default 5 min.
    pub stream_idle_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            udp: Some(SocketAddr::from(([0, 0, 0, 0], 5060))),
            tcp: Some(SocketAddr::from(([0, 0, 0, 0], 5060))),
            tls: None,
            udp_recv_buffer: 2 * 1024 * 1024,
            max_message_size: 16 * 1024,
            max_connections: 4096,
            max_in_flight: 1024,
            retry_after: 5,
            warn_agent: "sip".to_owned(),
            handler_timeout: Duration::from_secs(10),
            stream_idle_timeout: Duration::from_secs(300),
        }
    }
}

/// A bound SIP server; [`Server::run`] serves until the task is dropped.
pub struct Server<H: Handler> {
    udp: Option<Arc<UdpSocket>>,
    tcp: Option<TcpListener>,
    tls: Option<(TcpListener, tokio_rustls::TlsAcceptor)>,
    endpoint: Arc<Endpoint<H>>,
}

impl<H: Handler> std::fmt::Debug for Server<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("udp", &self.udp_addr())
            .field("tcp", &self.tcp_addr())
            .field("tls", &self.tls_addr())
            .finish_non_exhaustive()
    }
}

impl<H: Handler> Server<H> {
    /// Binds the configured sockets.
    pub async fn bind(config: ServerConfig, handler: H) -> io::Result<Self> {
        let udp = match config.udp {
            Some(addr) => Some(Arc::new(udp::bind(addr, config.udp_recv_buffer)?)),
            None => None,
        };
        let tcp = match config.tcp {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let tls = match &config.tls {
            Some(t) => Some((TcpListener::bind(t.addr).await?, t.acceptor()?)),
            None => None,
        };
        Ok(Self {
            udp,
            tcp,
            tls,
            endpoint: Arc::new(Endpoint::new(handler, config)),
        })
    }

    /// The bound UDP address.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// The bound TCP address.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// The bound TLS address.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().and_then(|(s, _)| s.local_addr().ok())
    }

    /// Number of live server transactions (for metrics and tests).
    pub fn transactions(&self) -> usize {
        self.endpoint.transactions()
    }

    /// A handle that keeps reporting [`Server::transactions`] after `run` took the server.
    pub fn stats(&self) -> Stats<H> {
        Stats {
            endpoint: Arc::clone(&self.endpoint),
        }
    }

    /// Serves every bound socket. Returns only when one of them fails.
    pub async fn run(self) -> io::Result<()> {
        let mut tasks = JoinSet::new();
        let endpoint = Arc::clone(&self.endpoint);
        tasks.spawn(async move {
            endpoint.run_timers().await;
            Ok(())
        });
        if let Some(socket) = self.udp {
            tasks.spawn(udp::serve(socket, Arc::clone(&self.endpoint)));
        }
        if let Some(listener) = self.tcp {
            tasks.spawn(stream::serve_tcp(listener, Arc::clone(&self.endpoint)));
        }
        if let Some((listener, acceptor)) = self.tls {
            tasks.spawn(stream::serve_tls(
                listener,
                acceptor,
                Arc::clone(&self.endpoint),
            ));
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(io::Error::other)??;
        }
        Ok(())
    }
}

/// Live counters of a running [`Server`].
pub struct Stats<H: Handler> {
    endpoint: Arc<Endpoint<H>>,
}

impl<H: Handler> std::fmt::Debug for Stats<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stats")
            .field("transactions", &self.transactions())
            .finish()
    }
}

impl<H: Handler> Stats<H> {
    /// Number of live server transactions.
    pub fn transactions(&self) -> usize {
        self.endpoint.transactions()
    }
}

/// How an answer gets back to the sender.
#[derive(Clone, Debug)]
pub(crate) enum ReplyTo {
    /// Queue for the connection's writer.
    Stream(mpsc::Sender<Bytes>),
    /// A datagram to `dest`.
    Udp {
        socket: Arc<UdpSocket>,
        dest: SocketAddr,
    },
}

impl ReplyTo {
    /// Sends without waiting. A full socket buffer or connection queue drops the message, as
    /// the network may; UDP retransmissions recover, and a stream that cannot keep up is slow
    /// enough to be served late.
    pub(crate) fn send(&self, bytes: Bytes) {
        match self {
            Self::Stream(tx) => {
                let _ = tx.try_send(bytes);
            }
            Self::Udp { socket, dest } => {
                let _ = socket.try_send_to(&bytes, *dest);
            }
        }
    }
}
