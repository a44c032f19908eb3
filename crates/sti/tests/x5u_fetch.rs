//! The x5u fetcher's rules (`reference/standards.md` §3.6), each against a real HTTPS server
//! on 127.0.0.1. Tests that must not connect prove it with a listener that records contact.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use sti::{DangerousX5uConfig, FetchError, ForbiddenRange, X5uConfig, X5uFetcher};
use support::{Behaviour, Reply, TestPki, TestResult, TestServer, Tripwire};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn serving(
    reply: Reply,
) -> Result<(TestPki, TestServer), Box<dyn std::error::Error + Send + Sync>> {
    let pki = TestPki::new()?;
    let server = TestServer::start(&pki, Behaviour::Respond(reply)).await?;
    Ok((pki, server))
}

#[tokio::test]
async fn good_fetch_returns_chain_leaf_first_and_max_age() -> TestResult {
    let pki = TestPki::new()?;
    let reply = Reply::ok(pki.chain_pem.clone()).header("Cache-Control", "public, max-age=172800");
    let server = TestServer::start(&pki, Behaviour::Respond(reply)).await?;
    let fetcher = X5uFetcher::new(&pki.config(server.port()))?;

    let response = fetcher.fetch(&server.url("sti/leaf.pem")).await?;

    assert_eq!(response.chain.len(), 2);
    assert_eq!(response.chain[0], pki.leaf);
    assert_eq!(response.max_age, Some(Duration::from_secs(172_800)));
    assert_eq!(server.requests(), 1);
    Ok(())
}

#[tokio::test]
async fn allow_listed_dns_name_is_fetched() -> TestResult {
    let pki = TestPki::new()?;
    let server =
        TestServer::start(&pki, Behaviour::Respond(Reply::ok(pki.chain_pem.clone()))).await?;
    let mut config = pki.config(server.port());
    config.danger.allowed_hosts = vec!["localhost".to_owned()];
    // The server listens on 127.0.0.1 only; `localhost` may also resolve to ::1 first, and
    // reqwest then falls back to 127.0.0.1.
    let fetcher = X5uFetcher::new(&config)?;
    let url = format!("https://localhost:{}/leaf.pem", server.port());
    assert_eq!(fetcher.fetch(&url).await?.chain.len(), 2);
    assert_eq!(server.requests(), 1);
    Ok(())
}

#[tokio::test]
async fn http_is_refused_before_any_connection() -> TestResult {
    let wire = Tripwire::new()?;
    let pki = TestPki::new()?;
    let fetcher = X5uFetcher::new(&pki.config(wire.port()))?;
    let url = format!("http://127.0.0.1:{}/leaf.pem", wire.port());
    let err = fetcher.fetch(&url).await.err();
    assert!(
        matches!(err, Some(FetchError::NotHttps { ref scheme }) if scheme == "http"),
        "{err:?}"
    );
    assert!(!wire.was_touched());
    Ok(())
}

#[tokio::test]
async fn ports_other_than_443_and_8443_are_refused() -> TestResult {
    let pki = TestPki::new()?;
    let fetcher = X5uFetcher::new(&pki.config(9))?;
    let err = fetcher.fetch("https://127.0.0.1:444/leaf.pem").await.err();
    assert!(
        matches!(err, Some(FetchError::ForbiddenPort { port: 444 })),
        "{err:?}"
    );
    let err = fetcher.fetch("https://127.0.0.1:80/leaf.pem").await.err();
    assert!(
        matches!(err, Some(FetchError::ForbiddenPort { port: 80 })),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn ports_443_and_8443_pass_the_port_rule() -> TestResult {
    // With 127.0.0.1 not allow-listed, the next rule (address) stops these before any
    // connection, which shows the port rule let them through.
    let fetcher = X5uFetcher::new(&X5uConfig::default())?;
    for url in [
        "https://127.0.0.1/leaf.pem",
        "https://127.0.0.1:443/a",
        "https://127.0.0.1:8443/a",
    ] {
        let err = fetcher.fetch(url).await.err();
        assert!(
            matches!(
                err,
                Some(FetchError::ForbiddenAddress { addr: LOOPBACK, .. })
            ),
            "{url}: {err:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn userinfo_query_and_fragment_are_refused() -> TestResult {
    let wire = Tripwire::new()?;
    let pki = TestPki::new()?;
    let fetcher = X5uFetcher::new(&pki.config(wire.port()))?;
    let p = wire.port();
    let cases = [
        (format!("https://user@127.0.0.1:{p}/leaf.pem"), "userinfo"),
        (
            format!("https://user:pw@127.0.0.1:{p}/leaf.pem"),
            "userinfo",
        ),
        (format!("https://127.0.0.1:{p}/leaf.pem?x=1"), "query"),
        (format!("https://127.0.0.1:{p}/leaf.pem?"), "query"),
        (format!("https://127.0.0.1:{p}/leaf.pem#f"), "fragment"),
        (format!("https://127.0.0.1:{p}/leaf.pem#"), "fragment"),
    ];
    for (url, rule) in cases {
        let err = fetcher.fetch(&url).await.err();
        let ok = match rule {
            "userinfo" => matches!(err, Some(FetchError::HasUserinfo)),
            "query" => matches!(err, Some(FetchError::HasQuery)),
            _ => matches!(err, Some(FetchError::HasFragment)),
        };
        assert!(ok, "{url}: {err:?}");
    }
    let err = fetcher.fetch("not a url").await.err();
    assert!(matches!(err, Some(FetchError::InvalidUrl(_))), "{err:?}");
    assert!(!wire.was_touched());
    Ok(())
}

#[tokio::test]
async fn loopback_ip_literal_is_refused_unless_allow_listed() -> TestResult {
    let (pki, server) = serving(Reply::status(200)).await?;
    let config = X5uConfig {
        danger: DangerousX5uConfig {
            allowed_hosts: Vec::new(),
            extra_port: Some(server.port()),
        },
        ..pki.config(server.port())
    };
    let fetcher = X5uFetcher::new(&config)?;
    let err = fetcher.fetch(&server.url("leaf.pem")).await.err();
    assert!(
        matches!(
            err,
            Some(FetchError::ForbiddenAddress {
                addr: LOOPBACK,
                range: ForbiddenRange::Loopback
            })
        ),
        "{err:?}"
    );
    for url in [
        format!("https://[::1]:{}/leaf.pem", server.port()),
        format!("https://[::ffff:127.0.0.1]:{}/leaf.pem", server.port()),
        format!("https://127.1:{}/leaf.pem", server.port()),
    ] {
        let err = fetcher.fetch(&url).await.err();
        assert!(
            matches!(
                err,
                Some(FetchError::ForbiddenAddress {
                    range: ForbiddenRange::Loopback,
                    ..
                })
            ),
            "{url}: {err:?}"
        );
    }
    assert_eq!(server.connections(), 0);
    Ok(())
}

#[tokio::test]
async fn name_resolving_to_loopback_is_refused_unless_allow_listed() -> TestResult {
    let (pki, server) = serving(Reply::status(200)).await?;
    // 127.0.0.1 is allow-listed but the name is not: the check is on what `localhost`
    // resolves to, done inside the resolver.
    let fetcher = X5uFetcher::new(&pki.config(server.port()))?;
    let url = format!("https://localhost:{}/leaf.pem", server.port());
    let err = fetcher.fetch(&url).await.err();
    assert!(
        matches!(
            err,
            Some(FetchError::ForbiddenAddress { addr, range: ForbiddenRange::Loopback })
                if addr.is_loopback()
        ),
        "{err:?}"
    );
    assert_eq!(server.connections(), 0);
    Ok(())
}

#[tokio::test]
async fn redirects_are_errors_and_never_followed() -> TestResult {
    let wire = Tripwire::new()?;
    let target = format!("https://127.0.0.1:{}/leaf.pem", wire.port());
    for status in [301, 302, 303, 307, 308] {
        let (pki, server) = serving(Reply::status(status).header("Location", &target)).await?;
        // The target is allow-listed (127.0.0.1) but on a port the rules refuse; a client that
        // followed redirects without re-checking would still connect, and the tripwire see it.
        let fetcher = X5uFetcher::new(&pki.config(server.port()))?;
        let err = fetcher.fetch(&server.url("leaf.pem")).await.err();
        assert!(
            matches!(err, Some(FetchError::Redirect { status: s }) if s == status),
            "{err:?}"
        );
        assert_eq!(server.requests(), 1);
    }
    assert!(!wire.was_touched(), "the redirect target saw a connection");
    Ok(())
}

#[tokio::test]
async fn error_statuses_are_reported() -> TestResult {
    for status in [404, 500, 204, 403] {
        let (pki, server) = serving(Reply::status(status)).await?;
        let fetcher = X5uFetcher::new(&pki.config(server.port()))?;
        let err = fetcher.fetch(&server.url("leaf.pem")).await.err();
        assert!(
            matches!(err, Some(FetchError::HttpStatus { status: s }) if s == status),
            "{err:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn oversize_bodies_are_refused() -> TestResult {
    let pki = TestPki::new()?;
    let mut big = pki.chain_pem.clone().into_bytes();
    big.resize(64 * 1024 + 1, b'\n');
    for reply in [
        Reply::ok(big.clone()),
        Reply::ok(big.clone()).without_content_length(),
    ] {
        let server = TestServer::start(&pki, Behaviour::Respond(reply)).await?;
        let fetcher = X5uFetcher::new(&pki.config(server.port()))?;
        let err = fetcher.fetch(&server.url("leaf.pem")).await.err();
        assert!(
            matches!(err, Some(FetchError::TooLarge { limit: 65_536 })),
            "{err:?}"
        );
    }
    // Exactly at the limit, streamed without a length, is accepted.
    big.truncate(64 * 1024);
    let reply = Reply::ok(big).without_content_length();
    let server = TestServer::start(&pki, Behaviour::Respond(reply)).await?;
    let fetcher = X5uFetcher::new(&pki.config(server.port()))?;
    assert_eq!(fetcher.fetch(&server.url("leaf.pem")).await?.chain.len(), 2);
    Ok(())
}

#[tokio::test]
async fn more_than_ten_certificates_are_refused() -> TestResult {
    let pki = TestPki::new()?;
    let eleven = Reply::ok(pki.leaf_pem.repeat(11));
    let server = TestServer::start(&pki, Behaviour::Respond(eleven)).await?;
    let fetcher = X5uFetcher::new(&pki.config(server.port()))?;
    let err = fetcher.fetch(&server.url("leaf.pem")).await.err();
    assert!(
        matches!(err, Some(FetchError::TooManyCertificates { limit: 10 })),
        "{err:?}"
    );

    server.set(Behaviour::Respond(Reply::ok(pki.leaf_pem.repeat(10))));
    assert_eq!(
        fetcher.fetch(&server.url("leaf.pem")).await?.chain.len(),
        10
    );
    Ok(())
}

#[tokio::test]
async fn bodies_without_certificates_are_refused() -> TestResult {
    let (pki, server) = serving(Reply::ok("<html>hello</html>")).await?;
    let fetcher = X5uFetcher::new(&pki.config(server.port()))?;
    let err = fetcher.fetch(&server.url("leaf.pem")).await.err();
    assert!(matches!(err, Some(FetchError::NoCertificate)), "{err:?}");

    server.set(Behaviour::Respond(Reply::ok(
        "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n",
    )));
    let err = fetcher.fetch(&server.url("leaf.pem")).await.err();
    assert!(matches!(err, Some(FetchError::MalformedPem(_))), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn stalled_servers_time_out() -> TestResult {
    let pki = TestPki::new()?;
    for behaviour in [Behaviour::StallHandshake, Behaviour::StallBody] {
        let server = TestServer::start(&pki, behaviour.clone()).await?;
        let config = X5uConfig {
            timeout: Duration::from_millis(200),
            ..pki.config(server.port())
        };
        let fetcher = X5uFetcher::new(&config)?;
        let err = fetcher.fetch(&server.url("leaf.pem")).await.err();
        assert!(
            matches!(err, Some(FetchError::Timeout { after }) if after == Duration::from_millis(200)),
            "{behaviour:?}: {err:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_connection_lost_mid_body_is_a_transport_error() -> TestResult {
    let pki = TestPki::new()?;
    let server = TestServer::start(&pki, Behaviour::CloseMidBody).await?;
    let fetcher = X5uFetcher::new(&pki.config(server.port()))?;
    let err = fetcher.fetch(&server.url("leaf.pem")).await.err();
    assert!(matches!(err, Some(FetchError::Transport(_))), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn untrusted_tls_certificates_are_refused() -> TestResult {
    let (pki, server) = serving(Reply::ok("unused")).await?;
    // Production roots do not include the test root.
    let config = X5uConfig {
        danger: pki.config(server.port()).danger,
        ..X5uConfig::default()
    };
    let fetcher = X5uFetcher::new(&config)?;
    let err = fetcher.fetch(&server.url("leaf.pem")).await.err();
    assert!(matches!(err, Some(FetchError::Connect(_))), "{err:?}");
    assert_eq!(server.requests(), 0);
    Ok(())
}

#[tokio::test]
async fn refused_connections_are_connect_errors() -> TestResult {
    let pki = TestPki::new()?;
    // Bind then drop to get a port nobody listens on.
    let port = Tripwire::new()?.port();
    let fetcher = X5uFetcher::new(&pki.config(port))?;
    let err = fetcher
        .fetch(&format!("https://127.0.0.1:{port}/leaf.pem"))
        .await
        .err();
    assert!(matches!(err, Some(FetchError::Connect(_))), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn the_request_asks_for_a_pem_chain() -> TestResult {
    let (pki, server) = serving(Reply::status(406)).await?;
    let fetcher = X5uFetcher::new(&pki.config(server.port()))?;
    let _ = fetcher.fetch(&server.url("leaf.pem")).await;
    let head = server.last_request_head();
    assert!(
        head.to_ascii_lowercase()
            .contains("accept: application/pem-certificate-chain\r\n"),
        "{head}"
    );
    Ok(())
}
