//! A redirect server for manual testing with sipp: every INVITE gets `302 Moved Temporarily`
//! with Contact = Request-URI.
//!
//! `cargo run -p sip --example redirect -- 127.0.0.1:5060`, then for instance
//! `sipp 127.0.0.1:5060 -sf crates/sip/tests/sipp/invite_302_ack.xml -m 1000 -r 500`.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use sip::{HeaderName, Request, Response, Server, ServerConfig, StatusCode, Transport};

struct Redirect;

impl sip::Handler for Redirect {
    type Note = ();

    async fn handle(
        &self,
        req: &Request,
        _source: SocketAddr,
        _transport: Transport,
    ) -> (Response, ()) {
        let response = req
            .respond(StatusCode::MOVED_TEMPORARILY)
            .header(HeaderName::Contact, format!("<{}>", req.uri_str()))
            .build()
            .unwrap_or_else(|_| {
                req.respond(StatusCode::SERVER_INTERNAL_ERROR)
                    .build()
                    .unwrap()
            });
        (response, ())
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5060".to_owned())
        .parse()
        .map_err(std::io::Error::other)?;
    let config = ServerConfig {
        udp: Some(addr),
        tcp: Some(addr),
        ..ServerConfig::default()
    };
    let server = Server::bind(config, Redirect).await?;
    println!(
        "redirect server on udp {:?} tcp {:?}",
        server.udp_addr(),
        server.tcp_addr()
    );
    server.run().await
}
