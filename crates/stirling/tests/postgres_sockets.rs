#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.
//! Every connection the store opens to PostgreSQL has `TCP_NODELAY`. sqlx-core 0.9.0 as
//! released leaves Nagle's algorithm on, which over TLS held the last segment of a large
//! message until the server's delayed ACK (`vendor/README.md`: 127–131 ms per 500-row SIP
//! Messages batch instead of 32). The patched crate sets the option; this reads it back from
//! the test process's own sockets (`pidfd_getfd` duplicates each one), so it fails if the
//! patch is dropped before sqlx sets the option itself.

#[allow(unused_macros)] // on_both_backends: this file runs on PostgreSQL only.
mod backends;

use std::net::SocketAddr;

use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};
use stirling::store::Backend;

/// The PostgreSQL port of the test server (`backends`).
const PG_PORT: u16 = 5432;

#[tokio::test]
async fn postgres_connections_have_tcp_nodelay() {
    backends::run(Backend::Postgres, |ctx: backends::Ctx| async move {
        ctx.store.ping().await.unwrap();
        let us = pidfd_open(getpid(), PidfdFlags::empty()).unwrap();
        let mut checked = 0;
        for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
            let entry = entry.unwrap();
            let Ok(link) = std::fs::read_link(entry.path()) else {
                continue; // closed since the listing
            };
            if !link.to_string_lossy().starts_with("socket:") {
                continue;
            }
            let Ok(number) = entry.file_name().to_string_lossy().parse() else {
                continue;
            };
            let Ok(socket) = pidfd_getfd(&us, number, PidfdGetfdFlags::empty()) else {
                continue;
            };
            let Ok(Some(peer)) = rustix::net::getpeername(&socket) else {
                continue; // not connected: a listener, a Unix socket without a peer
            };
            let Ok(peer) = SocketAddr::try_from(peer) else {
                continue; // a Unix socket
            };
            if peer.ip().is_loopback() && peer.port() == PG_PORT {
                assert!(
                    rustix::net::sockopt::tcp_nodelay(&socket).unwrap(),
                    "a connection to PostgreSQL at {peer} without TCP_NODELAY"
                );
                checked += 1;
            }
        }
        assert!(
            checked > 0,
            "no connection to PostgreSQL found among our sockets"
        );
    })
    .await;
}
