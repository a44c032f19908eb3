#![allow(clippy::panic, clippy::unwrap_used)]
//! The TLS listener with a freshly made self-signed certificate: OPTIONS and INVITE over TLS.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{Redirect, header, request, status};
use rustls_pki_types::{CertificateDer, ServerName};
use sip::{Server, ServerConfig, TlsConfig, TlsConfigError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

#[tokio::test]
async fn options_and_invite_over_tls() {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let tls = TlsConfig::from_pem(
        loopback,
        key.cert.pem().as_bytes(),
        key.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let config = ServerConfig {
        udp: None,
        tcp: None,
        tls: Some(tls),
        ..ServerConfig::default()
    };
    let handler = Redirect::default();
    let server = Server::bind(config, handler.clone()).await.unwrap();
    assert_eq!((server.udp_addr(), server.tcp_addr()), (None, None));
    let addr = server.tls_addr().unwrap();
    tokio::spawn(server.run());

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(key.cert.der().to_vec()))
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    let mut s = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut buf = Vec::new();
    for (method, expected) in [("OPTIONS", 200), ("INVITE", 302)] {
        let req = request(
            method,
            method,
            &format!("z9hG4bK-tls-{method}"),
            "tls@test",
            local,
            "TLS",
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let resp = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break buf.drain(..end + 4).collect::<Vec<_>>();
            }
            let mut chunk = [0u8; 4096];
            let n = timeout(Duration::from_secs(10), s.read(&mut chunk))
                .await
                .unwrap()
                .unwrap();
            assert_ne!(n, 0, "connection closed");
            buf.extend_from_slice(&chunk[..n]);
        };
        assert_eq!(status(&resp), expected);
        assert_eq!(header(&resp, "Call-ID").as_deref(), Some("tls@test"));
    }
    assert_eq!(handler.calls(), 1);
}

#[test]
fn bad_pem_is_refused() {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    assert!(matches!(
        TlsConfig::from_pem(addr, b"", b""),
        Err(TlsConfigError::NoCertificate)
    ));
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    assert!(matches!(
        TlsConfig::from_pem(addr, key.cert.pem().as_bytes(), b"nope"),
        Err(TlsConfigError::NoKey)
    ));
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let mismatched = TlsConfig::from_pem(
        addr,
        key.cert.pem().as_bytes(),
        other.signing_key.serialize_pem().as_bytes(),
    );
    assert!(matches!(mismatched, Err(TlsConfigError::Rustls(_))));
}
