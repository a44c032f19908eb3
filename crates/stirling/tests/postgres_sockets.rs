#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.
//! Every connection the store opens to PostgreSQL has `TCP_NODELAY`. sqlx-core 0.9.0 as
//! released leaves Nagle's algorithm on, which over TLS held the last segment of a large
//! message until the server's delayed ACK (`vendor/README.md`: 127–131 ms per 500-row SIP
//! Messages batch instead of 32). The patched crate sets the option; this reads it back from
//! the test process's own sockets (`stirling_test::connections`), so it fails if the
//! patch is dropped before sqlx sets the option itself.

#[allow(unused_macros)] // on_both_backends: this file runs on PostgreSQL only.
mod backends;

use stirling::store::Backend;

/// The PostgreSQL port of the test server (`backends`).
const PG_PORT: u16 = 5432;

#[tokio::test]
async fn postgres_connections_have_tcp_nodelay() {
    backends::run(Backend::Postgres, |ctx: backends::Ctx| async move {
        ctx.store.ping().await.unwrap();
        let to_postgres: Vec<_> = stirling_test::connections(std::process::id())
            .into_iter()
            .filter(|c| c.peer.ip().is_loopback() && c.peer.port() == PG_PORT)
            .collect();
        assert!(
            !to_postgres.is_empty(),
            "no connection to PostgreSQL found among our sockets"
        );
        for connection in to_postgres {
            assert!(
                connection.tcp_nodelay(),
                "a connection to PostgreSQL at {} without TCP_NODELAY",
                connection.peer
            );
        }
    })
    .await;
}
