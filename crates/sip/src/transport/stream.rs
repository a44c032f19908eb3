//! TCP and TLS connections: framing, the keep-alive pong, and one writer task per connection.

use std::io;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::Transport;
use super::framing::{Frame, decode};
use crate::endpoint::{Endpoint, Handler, Path};

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Responses queued per connection before new ones are dropped.
const WRITE_QUEUE: usize = 256;

pub(super) async fn serve_tcp<H: Handler>(
    listener: TcpListener,
    endpoint: Arc<Endpoint<H>>,
) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) if is_transient(&e) => continue,
            Err(e) => return Err(e),
        };
        // At max_connections the new connection is closed (dropped) at once.
        let Some(slot) = endpoint.connection_slot() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let endpoint = Arc::clone(&endpoint);
        tokio::spawn(async move {
            connection(stream, peer, Transport::Tcp, endpoint).await;
            drop(slot);
        });
    }
}

pub(super) async fn serve_tls<H: Handler>(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    endpoint: Arc<Endpoint<H>>,
) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) if is_transient(&e) => continue,
            Err(e) => return Err(e),
        };
        // At max_connections the new connection is closed (dropped) at once.
        let Some(slot) = endpoint.connection_slot() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let endpoint = Arc::clone(&endpoint);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // A handshake that never finishes must not hold its slot for ever.
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            if let Ok(Ok(tls)) = handshake.await {
                connection(tls, peer, Transport::Tls, endpoint).await;
            }
            drop(slot);
        });
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) || e.raw_os_error().is_some_and(|c| c == 24 || c == 23) // EMFILE, ENFILE: try again
}

async fn connection<S, H>(
    stream: S,
    peer: std::net::SocketAddr,
    transport: Transport,
    endpoint: Arc<Endpoint<H>>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
    H: Handler,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    let write = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let path = Path::Stream(tx.clone());
    let max = endpoint.max_message_size();
    let idle = endpoint.stream_idle_timeout();
    let mut buf = BytesMut::with_capacity(4096);
    'read: loop {
        match tokio::time::timeout(idle, reader.read_buf(&mut buf)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => break,
            Ok(Ok(_)) => {}
        }
        loop {
            match decode(&mut buf, max) {
                Ok(Some(Frame::KeepAlive)) => {
                    let _ = tx.try_send(Bytes::from_static(b"\r\n"));
                }
                Ok(Some(Frame::Message(m))) => endpoint.receive(m, peer, transport, &path),
                Ok(None) => break,
                // Framing is lost: nothing after this point can be trusted; close.
                Err(_) => break 'read,
            }
        }
    }
    drop(path);
    drop(tx);
    // The writer ends once in-flight handlers drop their senders and the queue drains.
    let _ = write.await;
}
