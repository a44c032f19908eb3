#![allow(clippy::panic, clippy::unwrap_used)]
//! sipp (package `sip-tester`) as the client against the in-process redirect server on
//! loopback, over UDP and TCP. Scenarios are in `tests/sipp/`. sipp must be installed:
//! `scripts/test` installs it; this test fails rather than skips without it.

mod common;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sip::{HeaderName, Request, Response, StatusCode, Transport};

/// 302 with Contact = Request-URI; INVITEs to user `slow` take 1.2 s, so sipp retransmits.
#[derive(Clone, Default)]
struct Redirect {
    calls: Arc<AtomicUsize>,
}

impl sip::Handler for Redirect {
    type Note = ();

    async fn handle(
        &self,
        req: &Request,
        _source: SocketAddr,
        _transport: Transport,
    ) -> (Response, ()) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if req.uri().user() == Some("slow") {
            tokio::time::sleep(Duration::from_millis(1200)).await;
        }
        let response = req
            .respond(StatusCode::MOVED_TEMPORARILY)
            .header(HeaderName::Contact, format!("<{}>", req.uri_str()))
            .build()
            .unwrap();
        (response, ())
    }
}

/// A loopback port free for both UDP and TCP, for sipp's own socket.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

struct Run {
    success: bool,
    retransmissions: u64,
    log: String,
}

/// Runs `calls` calls of `scenario` with sipp against `target`; `transport` is `u1` or `t1`.
async fn sipp(scenario: &str, target: SocketAddr, transport: &str, calls: usize) -> Run {
    let dir = std::env::temp_dir().join(format!(
        "sipp-{}-{}-{}",
        std::process::id(),
        scenario,
        transport
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    let (transport, calls) = (transport.to_owned(), calls.to_string());
    let dir2 = dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("sipp")
            .current_dir(&dir2)
            .arg(target.to_string())
            .args([
                "-sf",
                path.to_str().unwrap(),
                "-t",
                &transport,
                "-m",
                &calls,
                "-r",
                "20",
                "-l",
                "10",
            ])
            .args(["-i", "127.0.0.1", "-p", &free_port().to_string()])
            .args([
                "-nostdin",
                "-timeout",
                "60s",
                "-timeout_error",
                "-max_retrans",
                "10",
            ])
            .args(["-trace_err", "-trace_stat", "-fd", "1"])
            .output()
    })
    .await
    .unwrap()
    .expect("sipp is installed (Debian package sip-tester)");
    let mut log = String::from_utf8_lossy(&out.stdout).into_owned();
    log.push_str(&String::from_utf8_lossy(&out.stderr));
    let mut retransmissions = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        log.push_str(&format!("\n--- {}\n{text}", p.display()));
        if p.to_string_lossy().ends_with(".csv") {
            retransmissions = retransmissions_total(&text);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    Run {
        success: out.status.success(),
        retransmissions,
        log,
    }
}

/// The last `Retransmissions(C)` value of a `-trace_stat` CSV.
fn retransmissions_total(csv: &str) -> u64 {
    let mut lines = csv.lines();
    let Some(head) = lines.next() else { return 0 };
    let Some(col) = head.split(';').position(|h| h == "Retransmissions(C)") else {
        return 0;
    };
    lines
        .filter_map(|l| l.split(';').nth(col)?.trim().parse().ok())
        .next_back()
        .unwrap_or(0)
}

async fn server() -> (SocketAddr, SocketAddr, Redirect) {
    let handler = Redirect::default();
    let (udp, tcp, _) = common::start_with(common::loopback_config(), handler.clone()).await;
    (udp, tcp, handler)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_302_ack_udp_and_tcp() {
    let (udp, tcp, handler) = server().await;
    for (target, t) in [(udp, "u1"), (tcp, "t1")] {
        let before = handler.calls.load(Ordering::SeqCst);
        let run = sipp("invite_302_ack.xml", target, t, 20).await;
        assert!(run.success, "{t}:\n{}", run.log);
        assert_eq!(
            handler.calls.load(Ordering::SeqCst) - before,
            20,
            "{t}: one handler call per call"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retransmitted_invites_reach_the_handler_once() {
    let (udp, _, handler) = server().await;
    let run = sipp("invite_retransmitted.xml", udp, "u1", 3).await;
    assert!(run.success, "{}", run.log);
    assert!(
        run.retransmissions >= 3,
        "sipp retransmitted the INVITEs: {}\n{}",
        run.retransmissions,
        run.log
    );
    assert_eq!(handler.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_and_unknown_method_udp_and_tcp() {
    let (udp, tcp, handler) = server().await;
    for (target, t) in [(udp, "u1"), (tcp, "t1")] {
        for scenario in ["options.xml", "unknown_method.xml"] {
            let run = sipp(scenario, target, t, 5).await;
            assert!(run.success, "{scenario} {t}:\n{}", run.log);
        }
    }
    assert_eq!(handler.calls.load(Ordering::SeqCst), 0);
}
