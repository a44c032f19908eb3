#![allow(clippy::panic, clippy::unwrap_used)]
//! A malformed-message corpus sent raw over loopback UDP and TCP: each gets its 4xx/5xx or is
//! dropped (UDP) / closes the connection (TCP framing), and the server keeps answering.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Redirect, header, loopback_config, read_response, request, start, status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

/// What the server must do with one corpus entry.
#[derive(Debug, PartialEq)]
enum Expect {
    /// No answer.
    Drop,
    /// This status, with a Warning naming this text.
    Status(u16, &'static str),
}

fn corpus(local: SocketAddr, transport: &str) -> Vec<(&'static str, Vec<u8>, Expect)> {
    let good = request(
        "INVITE",
        "INVITE",
        "z9hG4bK-bad",
        "bad@test",
        local,
        transport,
    );
    let without = |name: &str| {
        good.split("\r\n")
            .filter(|l| !l.starts_with(name))
            .collect::<Vec<_>>()
            .join("\r\n")
            .into_bytes()
    };
    let replace = |a: &str, b: &str| good.replace(a, b).into_bytes();
    let mut garbage: Vec<u8> = (0..512u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    garbage.extend_from_slice(b"\r\n\r\n");
    let huge = good.replace(
        "Max-Forwards: 70\r\n",
        &format!("X-Big: {}\r\nMax-Forwards: 70\r\n", "a".repeat(30_000)),
    );
    vec![
        (
            "truncated",
            good.as_bytes()[..good.len() / 2].to_vec(),
            Expect::Drop,
        ),
        ("binary garbage", garbage, Expect::Drop),
        ("missing Via", without("Via"), Expect::Drop),
        (
            "missing Call-ID",
            without("Call-ID"),
            Expect::Status(400, "missing Call-ID header"),
        ),
        (
            "missing From",
            without("From"),
            Expect::Status(400, "missing From header"),
        ),
        (
            "bad CSeq",
            replace("CSeq: 1 INVITE", "CSeq: one INVITE"),
            Expect::Status(400, "malformed CSeq header"),
        ),
        (
            "CSeq method mismatch",
            replace("CSeq: 1 INVITE", "CSeq: 1 BYE"),
            Expect::Status(400, "method does not match"),
        ),
        (
            "bad Content-Length",
            replace("Content-Length: 0", "Content-Length: 9000"),
            Expect::Status(400, "Content-Length"),
        ),
        (
            "non-numeric Content-Length",
            replace("Content-Length: 0", "Content-Length: zero"),
            Expect::Status(400, "Content-Length"),
        ),
        (
            "SIP/3.0",
            replace("phone SIP/2.0", "phone SIP/3.0"),
            Expect::Status(505, "unsupported sip version"),
        ),
        (
            "unknown scheme",
            replace(
                "INVITE sip:+12155551212@ss.example.net;user=phone",
                "INVITE nobody:knows",
            ),
            Expect::Status(416, "scheme"),
        ),
        (
            "30 KB header",
            huge.into_bytes(),
            Expect::Status(513, "exceeds the limit"),
        ),
    ]
}

#[tokio::test]
async fn udp_corpus() {
    let handler = Redirect::default();
    let (addr, _, _) = start(loopback_config(), handler.clone()).await;
    let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    c.connect(addr).await.unwrap();
    let local = c.local_addr().unwrap();
    let mut buf = vec![0u8; 65536];
    for (i, (name, bytes, expect)) in corpus(local, "UDP").into_iter().enumerate() {
        c.send(&bytes).await.unwrap();
        // A valid OPTIONS right behind: if the bad message was dropped, its 200 comes first.
        let probe = request(
            "OPTIONS",
            "OPTIONS",
            &format!("z9hG4bK-p{i}"),
            &format!("probe{i}@test"),
            local,
            "UDP",
        );
        c.send(probe.as_bytes()).await.unwrap();
        let n = timeout(Duration::from_secs(10), c.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let first = buf[..n].to_vec();
        match expect {
            Expect::Drop => assert_eq!(
                header(&first, "Call-ID"),
                Some(format!("probe{i}@test")),
                "{name}"
            ),
            Expect::Status(code, text) => {
                assert_eq!(status(&first), code, "{name}");
                let warning = header(&first, "Warning").unwrap();
                assert!(warning.contains(text), "{name}: {warning}");
                // RFC 3581 §4: refusals complete the top Via like every response.
                assert_eq!(
                    header(&first, "Via").unwrap(),
                    format!(
                        "SIP/2.0/UDP {local};branch=z9hG4bK-bad;rport={};received=127.0.0.1",
                        local.port()
                    ),
                    "{name}"
                );
                let n = timeout(Duration::from_secs(10), c.recv(&mut buf))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(status(&buf[..n]), 200, "{name}: the server still answers");
            }
        }
    }
    assert_eq!(handler.calls(), 0);
}

#[tokio::test]
async fn tcp_corpus() {
    let handler = Redirect::default();
    let (_, addr, _) = start(loopback_config(), handler.clone()).await;
    for (name, bytes, expect) in corpus("127.0.0.1:5060".parse().unwrap(), "TCP") {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut buf = Vec::new();
        s.write_all(&bytes).await.unwrap();
        // A truncated message followed by another would frame as one; send it alone.
        if name != "truncated" {
            let probe = request(
                "OPTIONS",
                "OPTIONS",
                "z9hG4bK-tp",
                "tprobe@test",
                s.local_addr().unwrap(),
                "TCP",
            );
            s.write_all(probe.as_bytes()).await.unwrap();
        }
        match (name, expect) {
            // Framing cannot find the end of these: the connection is closed.
            // The server waits for a body that never comes; at EOF it closes.
            ("truncated" | "bad Content-Length", _) => {
                s.shutdown().await.unwrap();
                assert_eq!(read_response(&mut s, &mut buf).await, None, "{name}");
            }
            ("non-numeric Content-Length" | "30 KB header" | "binary garbage", _) => {
                assert_eq!(read_response(&mut s, &mut buf).await, None, "{name}");
            }
            (_, Expect::Drop) => {
                let r = read_response(&mut s, &mut buf).await.unwrap();
                assert_eq!(
                    header(&r, "Call-ID").as_deref(),
                    Some("tprobe@test"),
                    "{name}"
                );
            }
            (_, Expect::Status(code, text)) => {
                let r = read_response(&mut s, &mut buf).await.unwrap();
                assert_eq!(status(&r), code, "{name}");
                assert!(header(&r, "Warning").unwrap().contains(text), "{name}");
                let r = read_response(&mut s, &mut buf).await.unwrap();
                assert_eq!(status(&r), 200, "{name}: the connection still answers");
            }
        }
    }
    // And a fresh connection still gets its 302.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let invite = request(
        "INVITE",
        "INVITE",
        "z9hG4bK-tcp",
        "tcp@test",
        s.local_addr().unwrap(),
        "TCP",
    );
    s.write_all(invite.as_bytes()).await.unwrap();
    assert_eq!(
        status(&read_response(&mut s, &mut Vec::new()).await.unwrap()),
        302
    );
    assert_eq!(handler.calls(), 1);
}

#[tokio::test]
async fn tcp_keep_alive_and_pipelining() {
    let (_, addr, _) = start(loopback_config(), Redirect::default()).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let local = s.local_addr().unwrap();
    s.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    timeout(Duration::from_secs(10), s.read_exact(&mut pong))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&pong, b"\r\n");
    // Two requests in one write, the second split across writes.
    let a = request("OPTIONS", "OPTIONS", "z9hG4bK-k1", "k1@test", local, "TCP");
    let b = request("INVITE", "INVITE", "z9hG4bK-k2", "k2@test", local, "TCP");
    let mut both = a.into_bytes();
    both.extend_from_slice(&b.as_bytes()[..40]);
    s.write_all(&both).await.unwrap();
    s.write_all(&b.as_bytes()[40..]).await.unwrap();
    let mut buf = Vec::new();
    let first = read_response(&mut s, &mut buf).await.unwrap();
    let second = read_response(&mut s, &mut buf).await.unwrap();
    let mut got = [status(&first), status(&second)];
    got.sort_unstable();
    assert_eq!(got, [200, 302]);
}

#[tokio::test(start_paused = true)]
async fn idle_tcp_connection_is_closed() {
    let mut config = loopback_config();
    config.stream_idle_timeout = Duration::from_secs(60);
    let (_, addr, _) = start(config, Redirect::default()).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let local = s.local_addr().unwrap();
    let options = request(
        "OPTIONS",
        "OPTIONS",
        "z9hG4bK-idle",
        "idle@test",
        local,
        "TCP",
    );
    s.write_all(options.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    assert_eq!(status(&read_response(&mut s, &mut buf).await.unwrap()), 200);
    // Nothing more is sent: the paused clock runs to the idle timeout and the server closes.
    let mut rest = Vec::new();
    let n = s.read_to_end(&mut rest).await.unwrap();
    assert_eq!(n, 0);
}
