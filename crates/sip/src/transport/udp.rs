//! UDP: one socket with a large receive buffer; each datagram is one message (RFC 3261 §18.1).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::Transport;
use crate::endpoint::{Endpoint, Handler, Path};

/// The largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65_535;

pub(super) fn bind(addr: SocketAddr, recv_buffer: usize) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // The kernel may grant less than asked (net.core.rmem_max); that is not an error.
    let _ = socket.set_recv_buffer_size(recv_buffer);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

pub(super) async fn serve<H: Handler>(
    socket: Arc<UdpSocket>,
    endpoint: Arc<Endpoint<H>>,
) -> io::Result<()> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, source) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            // ICMP port unreachable from an earlier send shows up here on some systems.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => continue,
            Err(e) => return Err(e),
        };
        let data = Bytes::copy_from_slice(&buf[..n]);
        endpoint.receive(
            data,
            source,
            Transport::Udp,
            &Path::Udp(Arc::clone(&socket)),
        );
    }
}
