#![allow(clippy::panic, clippy::unwrap_used)]
//! Server transactions over real loopback UDP: retransmitted INVITEs, Timer G/H/I, ACK,
//! CANCEL, OPTIONS, 405 and overload. Timer tests run on tokio's paused clock.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Redirect, header, loopback_config, read_response, request, start, status};
use sip::Outcome;
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio::time::timeout;

async fn client() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

async fn recv(sock: &UdpSocket) -> Vec<u8> {
    let mut buf = vec![0u8; 65536];
    let n = timeout(Duration::from_secs(120), sock.recv(&mut buf))
        .await
        .expect("a response")
        .unwrap();
    buf.truncate(n);
    buf
}

/// Receives until nothing arrives for `quiet` (on the paused clock, instant).
async fn drain(sock: &UdpSocket, quiet: Duration) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(r) = timeout(quiet, sock.recv(&mut buf)).await {
        all.push(buf[..r.unwrap()].to_vec());
    }
    all
}

#[tokio::test]
async fn invite_302_ack_and_retransmission_reuses_the_response() {
    let handler = Redirect::default();
    let (addr, _, stats) = start(loopback_config(), handler.clone()).await;
    let c = client().await;
    c.connect(addr).await.unwrap();
    let local = c.local_addr().unwrap();
    let invite = request(
        "INVITE",
        "INVITE",
        "z9hG4bK-r1",
        "retrans@test",
        local,
        "UDP",
    );
    c.send(invite.as_bytes()).await.unwrap();
    let first = recv(&c).await;
    assert_eq!(status(&first), 302);
    assert_eq!(
        header(&first, "Contact").as_deref(),
        Some("<sip:+12155551212@ss.example.net;user=phone>")
    );
    // RFC 3581: the valueless rport gets the source port, and received the source address.
    assert_eq!(
        header(&first, "Via").unwrap(),
        format!(
            "SIP/2.0/UDP {local};branch=z9hG4bK-r1;rport={};received=127.0.0.1",
            local.port()
        )
    );
    c.send(invite.as_bytes()).await.unwrap();
    let second = recv(&c).await;
    assert_eq!(
        second, first,
        "a retransmitted INVITE gets the same 302, byte for byte"
    );
    assert_eq!(handler.calls(), 1);
    assert_eq!(stats.transactions(), 1);
    assert_eq!(
        handler.completed(),
        [(Outcome::Answered(302), 302)],
        "completed once, with the 302"
    );
    let ack = request("ACK", "ACK", "z9hG4bK-r1", "retrans@test", local, "UDP");
    c.send(ack.as_bytes()).await.unwrap();
    // After the ACK, a retransmitted INVITE is absorbed: the next datagram answers the OPTIONS.
    c.send(invite.as_bytes()).await.unwrap();
    c.send(request("OPTIONS", "OPTIONS", "z9hG4bK-o1", "o@test", local, "UDP").as_bytes())
        .await
        .unwrap();
    assert_eq!(status(&recv(&c).await), 200);
    assert_eq!(handler.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn timer_g_retransmits_until_timer_h() {
    let handler = Redirect::default();
    let (addr, _, stats) = start(loopback_config(), handler.clone()).await;
    let c = client().await;
    c.connect(addr).await.unwrap();
    let local = c.local_addr().unwrap();
    let invite = request(
        "INVITE",
        "INVITE",
        "z9hG4bK-g1",
        "timerg@test",
        local,
        "UDP",
    );
    c.send(invite.as_bytes()).await.unwrap();
    let copies = drain(&c, Duration::from_secs(40)).await;
    // Sent at 0, then Timer G at 0.5, 1.5, 3.5, 7.5, 11.5, …, 31.5 s (T1 doubling to T2);
    // Timer H (32 s) ends it: 1 + 10 copies, all identical.
    assert_eq!(copies.len(), 11);
    assert!(copies.iter().all(|c| *c == copies[0]));
    assert_eq!(stats.transactions(), 0);
    // The transaction is gone: the same INVITE now reaches the handler again.
    c.send(invite.as_bytes()).await.unwrap();
    assert_eq!(status(&recv(&c).await), 302);
    assert_eq!(handler.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn over_tcp_timer_h_ends_an_unacknowledged_invite_at_64_t1() {
    use tokio::io::AsyncWriteExt as _;
    let handler = Redirect::default();
    let (_, tcp, stats) = start(loopback_config(), handler.clone()).await;
    let mut s = tokio::net::TcpStream::connect(tcp).await.unwrap();
    let local = s.local_addr().unwrap();
    let invite = request("INVITE", "INVITE", "z9hG4bK-h1", "h@test", local, "TCP");
    s.write_all(invite.as_bytes()).await.unwrap();
    let response = read_response(&mut s, &mut Vec::new()).await.unwrap();
    assert_eq!(status(&response), 302);
    // No Timer G over TCP; no ACK either: Timer H (64·T1 = 32 s) ends the transaction.
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(stats.transactions(), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stats.transactions(), 0);
    assert_eq!(handler.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn ack_stops_timer_g_and_timer_i_ends_the_transaction() {
    let handler = Redirect::default();
    let (addr, _, stats) = start(loopback_config(), handler.clone()).await;
    let c = client().await;
    c.connect(addr).await.unwrap();
    let local = c.local_addr().unwrap();
    c.send(request("INVITE", "INVITE", "z9hG4bK-a1", "ack@test", local, "UDP").as_bytes())
        .await
        .unwrap();
    assert_eq!(status(&recv(&c).await), 302);
    c.send(request("ACK", "ACK", "z9hG4bK-a1", "ack@test", local, "UDP").as_bytes())
        .await
        .unwrap();
    assert!(
        drain(&c, Duration::from_secs(40)).await.is_empty(),
        "no 302 after the ACK"
    );
    assert_eq!(stats.transactions(), 0, "Timer I ended the transaction");
}

/// An ACK is never answered, so only what matching needs is read from it (RFC 3261
/// §17.2.3: the top Via and the method): one without Call-ID, From or CSeq still confirms the
/// INVITE it names, and the 302 is not retransmitted; one without a Via is dropped and the
/// 302 keeps coming.
#[tokio::test(start_paused = true)]
async fn an_ack_is_matched_by_its_top_via_alone() {
    let (addr, _, stats) = start(loopback_config(), Redirect::default()).await;
    let c = client().await;
    c.connect(addr).await.unwrap();
    let local = c.local_addr().unwrap();
    let strip = |msg: String, names: &[&str]| {
        msg.split("\r\n")
            .filter(|line| !names.iter().any(|n| line.starts_with(&format!("{n}:"))))
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    // An INVITE answered 302, then its ACK without the `without` headers; returns that ACK.
    let invite_then_ack = async |id: &str, without: &[&str]| {
        let (branch, call_id) = (format!("z9hG4bK-{id}"), format!("{id}@test"));
        c.send(request("INVITE", "INVITE", &branch, &call_id, local, "UDP").as_bytes())
            .await
            .unwrap();
        assert_eq!(status(&recv(&c).await), 302);
        let ack = strip(
            request("ACK", "ACK", &branch, &call_id, local, "UDP"),
            without,
        );
        c.send(ack.as_bytes()).await.unwrap();
        ack
    };
    let bare = invite_then_ack("v1", &["Call-ID", "From", "CSeq"]).await;
    assert!(!bare.contains("Call-ID") && bare.contains("Via:"));
    assert!(drain(&c, Duration::from_secs(40)).await.is_empty());
    assert_eq!(stats.transactions(), 0, "confirmed, then ended by Timer I");

    let no_via = invite_then_ack("v2", &["Via"]).await;
    assert!(!no_via.contains("Via:"));
    let resent = drain(&c, Duration::from_secs(5)).await;
    assert!(!resent.is_empty(), "Timer G still retransmits the 302");
    assert!(resent.iter().all(|r| status(r) == 302));
}

#[tokio::test]
async fn a_cancel_while_the_invite_is_handled_ends_it_with_487() {
    let gate = Arc::new(Semaphore::new(0));
    let handler = Redirect {
        gate: Some(gate.clone()),
        ..Redirect::default()
    };
    let (addr, _, _) = start(loopback_config(), handler.clone()).await;
    let c = client().await;
    c.connect(addr).await.unwrap();
    let local = c.local_addr().unwrap();
    let invite = request("INVITE", "INVITE", "z9hG4bK-k1", "k@test", local, "UDP");
    c.send(invite.as_bytes()).await.unwrap();
    // The handler is waiting at the gate: the INVITE is not answered yet.
    while handler.calls() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cancel = request("CANCEL", "CANCEL", "z9hG4bK-k1", "k@test", local, "UDP");
    c.send(cancel.as_bytes()).await.unwrap();
    let ok = recv(&c).await;
    assert_eq!(status(&ok), 200, "CANCEL of an INVITE being handled");
    assert!(header(&ok, "CSeq").unwrap().ends_with("CANCEL"));
    gate.add_permits(1);
    let last = recv(&c).await;
    assert_eq!(
        status(&last),
        487,
        "RFC 3261 §9.2: the INVITE ends with 487, not the 302"
    );
    assert!(header(&last, "CSeq").unwrap().ends_with("INVITE"));
    assert!(header(&last, "To").unwrap().contains(";tag="));
    // A retransmitted INVITE gets the 487 again.
    c.send(invite.as_bytes()).await.unwrap();
    assert_eq!(recv(&c).await, last);
    // The application learns that its 302 was replaced by the 487 the caller got.
    assert_eq!(handler.completed(), [(Outcome::Answered(302), 487)]);
}

#[tokio::test]
async fn cancel_options_and_other_methods() {
    let handler = Redirect::default();
    let (addr, _, _) = start(loopback_config(), handler.clone()).await;
    let c = client().await;
    c.connect(addr).await.unwrap();
    let local = c.local_addr().unwrap();
    c.send(
        request(
            "INVITE",
            "INVITE",
            "z9hG4bK-c1",
            "cancel@test",
            local,
            "UDP",
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(status(&recv(&c).await), 302);
    c.send(
        request(
            "CANCEL",
            "CANCEL",
            "z9hG4bK-c1",
            "cancel@test",
            local,
            "UDP",
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(status(&recv(&c).await), 200, "CANCEL of a completed INVITE");
    c.send(
        request(
            "CANCEL",
            "CANCEL",
            "z9hG4bK-none",
            "cancel2@test",
            local,
            "UDP",
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(status(&recv(&c).await), 481, "CANCEL without a transaction");
    let options = request("OPTIONS", "OPTIONS", "z9hG4bK-o2", "opt@test", local, "UDP");
    c.send(options.as_bytes()).await.unwrap();
    let ok = recv(&c).await;
    assert_eq!(status(&ok), 200);
    assert_eq!(header(&ok, "Allow").as_deref(), Some(sip::ALLOW));
    c.send(options.as_bytes()).await.unwrap();
    assert_eq!(
        recv(&c).await,
        ok,
        "a retransmitted OPTIONS gets the cached 200"
    );
    for method in ["BYE", "REGISTER", "PUBLISH"] {
        c.send(
            request(
                method,
                method,
                &format!("z9hG4bK-{method}"),
                "m@test",
                local,
                "UDP",
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let r = recv(&c).await;
        assert_eq!(status(&r), 405, "{method}");
        assert_eq!(header(&r, "Allow").as_deref(), Some(sip::ALLOW));
    }
    assert_eq!(handler.calls(), 1);
}

#[tokio::test]
async fn overload_answers_503_without_calling_the_handler() {
    let gate = Arc::new(Semaphore::new(0));
    let handler = Redirect {
        gate: Some(Arc::clone(&gate)),
        ..Redirect::default()
    };
    let mut config = loopback_config();
    config.max_in_flight = 1;
    config.retry_after = 7;
    let (addr, _, _) = start(config, handler.clone()).await;
    let c = client().await;
    c.connect(addr).await.unwrap();
    let local = c.local_addr().unwrap();
    c.send(
        request(
            "INVITE",
            "INVITE",
            "z9hG4bK-busy1",
            "busy1@test",
            local,
            "UDP",
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // The first INVITE is held in the handler; the second finds no room.
    while handler.calls() == 0 {
        tokio::task::yield_now().await;
    }
    c.send(
        request(
            "INVITE",
            "INVITE",
            "z9hG4bK-busy2",
            "busy2@test",
            local,
            "UDP",
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let busy = recv(&c).await;
    assert_eq!(status(&busy), 503);
    assert_eq!(header(&busy, "Retry-After").as_deref(), Some("7"));
    assert_eq!(header(&busy, "Call-ID").as_deref(), Some("busy2@test"));
    assert_eq!(handler.calls(), 1);
    // The application learns of the 503 it never saw the INVITE of.
    assert_eq!(handler.completed(), [(Outcome::Overloaded, 503)]);
    gate.add_permits(1);
    let done = recv(&c).await;
    assert_eq!(
        (status(&done), header(&done, "Call-ID").as_deref()),
        (302, Some("busy1@test"))
    );
    assert_eq!(
        handler.completed(),
        [(Outcome::Overloaded, 503), (Outcome::Answered(302), 302)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_stuck_handler_gets_500_after_the_timeout_and_frees_its_slot() {
    let gate = Arc::new(Semaphore::new(0));
    let handler = Redirect {
        gate: Some(Arc::clone(&gate)),
        ..Redirect::default()
    };
    let mut config = loopback_config();
    config.max_in_flight = 1;
    config.handler_timeout = Duration::from_secs(3);
    let (addr, _, _) = start(config, handler.clone()).await;
    let c = client().await;
    c.connect(addr).await.unwrap();
    let local = c.local_addr().unwrap();
    c.send(
        request(
            "INVITE",
            "INVITE",
            "z9hG4bK-stuck",
            "stuck@test",
            local,
            "UDP",
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let r = recv(&c).await;
    assert_eq!(
        (status(&r), header(&r, "Call-ID").as_deref()),
        (500, Some("stuck@test"))
    );
    assert_eq!(
        handler.completed(),
        [(
            Outcome::Failed {
                after: Duration::from_secs(3)
            },
            500
        )],
        "the application learns of the 500 it did not answer"
    );
    c.send(request("ACK", "ACK", "z9hG4bK-stuck", "stuck@test", local, "UDP").as_bytes())
        .await
        .unwrap();
    // The slot is free again: the next INVITE reaches the handler (and is let through).
    gate.add_permits(1);
    c.send(
        request(
            "INVITE",
            "INVITE",
            "z9hG4bK-next",
            "next@test",
            local,
            "UDP",
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let r = recv(&c).await;
    assert_eq!(
        (status(&r), header(&r, "Call-ID").as_deref()),
        (302, Some("next@test"))
    );
    assert_eq!(handler.calls(), 2);
}

#[tokio::test]
async fn a_panicking_handler_gets_500_and_the_server_stays_up() {
    let handler = Redirect {
        panics: true,
        ..Redirect::default()
    };
    let (addr, _, _) = start(loopback_config(), handler.clone()).await;
    let c = client().await;
    c.connect(addr).await.unwrap();
    let local = c.local_addr().unwrap();
    for (branch, call_id) in [("z9hG4bK-p1", "panic1@test"), ("z9hG4bK-p2", "panic2@test")] {
        c.send(request("INVITE", "INVITE", branch, call_id, local, "UDP").as_bytes())
            .await
            .unwrap();
        let r = recv(&c).await;
        assert_eq!(
            (status(&r), header(&r, "Call-ID").as_deref()),
            (500, Some(call_id))
        );
    }
    assert_eq!(handler.calls(), 2);
    let completed = handler.completed();
    assert_eq!(completed.len(), 2);
    for (outcome, sent) in completed {
        assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
        assert_eq!(sent, 500);
    }
}

#[tokio::test]
async fn tcp_connections_beyond_max_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = sip::ServerConfig {
        max_connections: 1,
        ..loopback_config()
    };
    let (_, tcp, _) = start(config, Redirect::default()).await;
    let mut first = tokio::net::TcpStream::connect(tcp).await.unwrap();
    let local = first.local_addr().unwrap();
    let options = request(
        "OPTIONS",
        "OPTIONS",
        "z9hG4bK-cap1",
        "cap@test",
        local,
        "TCP",
    );
    first.write_all(options.as_bytes()).await.unwrap();
    let response = read_response(&mut first, &mut Vec::new()).await.unwrap();
    assert_eq!(status(&response), 200);
    // The second connection is accepted by the kernel and closed by the server at once.
    let mut buf = [0u8; 4096];
    let mut second = tokio::net::TcpStream::connect(tcp).await.unwrap();
    let n = timeout(Duration::from_secs(10), second.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    // Once the first is gone, its slot is free again.
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut third = tokio::net::TcpStream::connect(tcp).await.unwrap();
        let local = third.local_addr().unwrap();
        let options = request(
            "OPTIONS",
            "OPTIONS",
            "z9hG4bK-cap3",
            "cap3@test",
            local,
            "TCP",
        );
        if third.write_all(options.as_bytes()).await.is_ok()
            && let Ok(Ok(n)) = timeout(Duration::from_secs(1), third.read(&mut buf)).await
            && n > 0
        {
            assert_eq!(status(&buf[..n]), 200);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
