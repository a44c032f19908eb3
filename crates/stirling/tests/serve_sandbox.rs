//! The README's first command end to end: `stirling serve --sandbox` in an empty directory
//! creates the demo tenant, obtains its certificate from the embedded STI-PA/STI-CA (with the
//! self-check over its own HTTPS repository), and then signs a call from sipp; the Identity
//! it returns verifies when sent back to it, over UDP and TCP; signing over SIP TLS too.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

mod support;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::{CertificateDer, ServerName};

use stirling_test::{headers, sipp};
use support::service::Service;

/// The JSON body of a response, after checking its status.
fn json((status, body): (u16, String), want: u16) -> serde_json::Value {
    assert_eq!(status, want, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// A signing INVITE over SIP TLS (sipp here has no TLS), with a client that trusts `root`;
/// returns the response.
fn invite_over_tls(addr: SocketAddr, root: &[u8]) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(root.to_vec())).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let local = tcp.local_addr().unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let invite = format!(
        "INVITE sip:+12155550131@127.0.0.1 SIP/2.0\r
Via: SIP/2.0/TLS {local};branch=z9hG4bK-tls-e2e\r
Max-Forwards: 70\r
From: <sip:+12155550121@127.0.0.1>;tag=tls1\r
To: <sip:+12155550131@127.0.0.1>\r
Call-ID: tls-e2e@test\r
CSeq: 1 INVITE\r
Content-Length: 0\r
\r
"
    );
    tls.write_all(invite.as_bytes()).unwrap();
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut chunk).unwrap();
        assert_ne!(n, 0, "connection closed");
        response.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(response).unwrap()
}

#[test]
fn sandbox_service_issues_its_certificate_then_signs_and_verifies_calls() {
    let dir = tempfile::tempdir().unwrap();
    // SIP over TLS too, with a certificate for localhost.
    let tls_key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("sip.crt"), dir.path().join("sip.key"));
    std::fs::write(&cert_file, tls_key.cert.pem()).unwrap();
    std::fs::write(&key_file, tls_key.signing_key.serialize_pem()).unwrap();
    let sip_tls = SocketAddr::from(([127, 0, 0, 1], stirling_test::free_port()));
    let service = Service::start(
        dir.path(),
        &[
            ("STIRLING_SIP__TLS", sip_tls.to_string()),
            (
                "STIRLING_SIP__TLS_CERT_FILE",
                cert_file.display().to_string(),
            ),
            ("STIRLING_SIP__TLS_KEY_FILE", key_file.display().to_string()),
        ],
    );
    service.wait_for("created the demo tenant");
    // Issued, self-checked over HTTPS and activated; the scheduler tells the call path.
    service.wait_for("renewed");
    service.wait_for("sip listening");
    for transport in ["u1", "t1"] {
        // The active version reaches the call path within a reload.
        let deadline = Instant::now() + Duration::from_secs(10);
        let identity = loop {
            let run = sipp(
                &scenario("sign.xml"),
                service.sip,
                transport,
                &[("orig", "+12155550121")],
            );
            assert!(run.success, "{transport}:\n{}", run.log);
            let msg = run.received("SIP/2.0 302");
            if let Some(identity) = headers(&msg, "Identity").pop() {
                break identity;
            }
            assert!(Instant::now() < deadline, "never signed:\n{msg}");
            std::thread::sleep(Duration::from_millis(200));
        };
        assert!(identity.contains(";ppt=shaken"), "{identity}");
        assert!(identity.contains("/cr/1234/"), "{identity}");

        // The SBC is `both`: an INVITE with Identity is verified, fetching our own x5u.
        let run = sipp(
            &scenario("verify.xml"),
            service.sip,
            transport,
            &[("identity", &identity)],
        );
        assert!(run.success, "{transport}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        let pai = headers(&msg, "P-Asserted-Identity");
        assert_eq!(pai.len(), 1, "{msg}");
        assert!(pai[0].contains("verstat=TN-Validation-Passed"), "{msg}");
        assert_eq!(
            headers(&msg, "X-Stirling-Attestation"),
            ["A; spc=1234"],
            "{msg}"
        );
    }
    // And over SIP TLS: the same signer answers on the TLS listener.
    let response = invite_over_tls(sip_tls, tls_key.cert.der());
    assert!(response.starts_with("SIP/2.0 302"), "{response}");
    let identity = headers(&response, "Identity");
    assert_eq!(identity.len(), 1, "{response}");
    assert!(identity[0].contains(";ppt=shaken"), "{response}");

    // The same over the ATIS-1000082 HTTP interface, with the demo operator's API token.
    let token = service.api_token();
    let request = serde_json::json!({"signingRequest": {"attest": "A",
        "dest": {"tn": ["12155550131"]}, "orig": {"tn": "12155550121"}}});
    let (status, _) = service.request("POST", "/stir/v1/signing", None, &request.to_string());
    assert_eq!(status, 401);
    let signed = json(
        service.request(
            "POST",
            "/stir/v1/signing",
            Some(&token),
            &request.to_string(),
        ),
        200,
    );
    let identity = signed["signingResponse"]["identity"].as_str().unwrap();
    let request = serde_json::json!({"verificationRequest": {"from": {"tn": "12155550121"},
        "to": {"tn": ["12155550131"]}, "identity": identity}});
    let verified = json(
        service.request(
            "POST",
            "/stir/v1/verification",
            Some(&token),
            &request.to_string(),
        ),
        200,
    );
    assert_eq!(
        verified,
        serde_json::json!({"verificationResponse": {"verstat": "TN-Validation-Passed"}})
    );

    // SIP Messages: the signed calls are logged with the certificate that signed them.
    let deadline = Instant::now() + Duration::from_secs(10);
    let signed_id = loop {
        let page = json(
            service.request(
                "GET",
                "/api/v1/sip-messages?result=signed",
                Some(&token),
                "",
            ),
            200,
        );
        if let Some(id) = page["messages"][0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "nothing logged: {page}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let detail = json(
        service.request(
            "GET",
            &format!("/api/v1/sip-messages/{signed_id}"),
            Some(&token),
            "",
        ),
        200,
    );
    let text = detail.to_string();
    assert!(text.contains("\"spc\":\"1234\""), "{detail}");
    assert!(
        text.contains("SHAKEN 1234") || text.contains("1234"),
        "{detail}"
    );

    // The HTTP calls are logged too, with their JSON bodies as the raw messages.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = json(
            service.request(
                "GET",
                "/api/v1/sip-messages?result=passed",
                Some(&token),
                "",
            ),
            200,
        );
        let http = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["transport"] == "http");
        if let Some(message) = http {
            assert_eq!(message["service"], "verification", "{message}");
            assert_eq!(message["from_tn"], "12155550121", "{message}");
            break;
        }
        assert!(Instant::now() < deadline, "no HTTP call logged: {page}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Every call is counted (the SIP Messages log counts as it queues).
    let (_, metrics) = service.request("GET", "/metrics", None, "");
    let signed: u64 = metrics
        .lines()
        .find(|l| l.starts_with("stirling_calls_total{service=\"signing\",result=\"signed\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(signed >= 2, "{metrics}");
    assert!(
        metrics.contains("stirling_calls_total{service=\"verification\",result=\"passed\"} 3"),
        "{metrics}"
    );
}

/// The connections the service accepts on its HTTP and HTTPS listeners have `TCP_NODELAY`:
/// read back from the service process's own sockets. Without it a response written in pieces
/// (TLS records, a large page) can wait for the client's delayed ACK.
#[test]
fn accepted_http_and_https_connections_have_tcp_nodelay() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(dir.path(), &[]);
    service.wait_for("created the demo tenant");
    for listener in [service.http, service.https] {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = loop {
            match TcpStream::connect(listener) {
                Ok(client) => break client,
                Err(e) => {
                    assert!(Instant::now() < deadline, "{listener}: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        };
        let ours = client.local_addr().unwrap();
        let accepted = loop {
            let found = stirling_test::connections(service.pid())
                .into_iter()
                .find(|c| c.local == listener && c.peer == ours);
            match found {
                Some(accepted) => break accepted,
                None => {
                    assert!(
                        Instant::now() < deadline,
                        "{listener} never accepted {ours}"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        // The service sets the option just after accept, so the socket can be seen before
        // that: look again until it is set, or fail at the deadline.
        while !accepted.tcp_nodelay() {
            assert!(
                Instant::now() < deadline,
                "the connection {ours} -> {listener} has no TCP_NODELAY"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
