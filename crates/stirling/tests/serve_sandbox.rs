//! The README's first command end to end: `stirling serve --sandbox` in an empty directory
//! creates the demo tenant, obtains its certificate from the embedded STI-PA/STI-CA (with the
//! self-check over its own HTTPS repository), and then signs a call from sipp; the Identity
//! it returns verifies when sent back to it, over UDP and TCP.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stirling_test::{free_port, headers, sipp};

/// A running `stirling serve --sandbox`; killed when dropped.
struct Service {
    child: Child,
    log: Arc<Mutex<String>>,
    sip: SocketAddr,
    http: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Service {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = || {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let sip = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let http = SocketAddr::from(([127, 0, 0, 1], port()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_stirling"))
            .args(["serve", "--sandbox"])
            .current_dir(dir.path())
            .env("STIRLING_HTTP__LISTEN", http.to_string())
            .env(
                "STIRLING_REPOSITORY__HTTPS_LISTEN",
                format!("127.0.0.1:{}", port()),
            )
            .env(
                "STIRLING_EMBEDDED_SANDBOX__LISTEN",
                format!("127.0.0.1:{}", port()),
            )
            .env("STIRLING_SIP__UDP", sip.to_string())
            .env("STIRLING_SIP__TCP", sip.to_string())
            .env("STIRLING_LOG__FILTER", "info,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self {
            child,
            log,
            sip,
            http,
            _dir: dir,
        }
    }

    /// `GET path` on the plain HTTP listener: the body.
    fn get(&self, path: &str) -> String {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(self.http).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    /// Waits until the log has a line containing `text`.
    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.log.lock().unwrap().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no {text:?} in the log:\n{}", self.log.lock().unwrap());
    }
}

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

#[test]
fn sandbox_service_issues_its_certificate_then_signs_and_verifies_calls() {
    let service = Service::start();
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
    // Every call is counted (the SIP Messages log counts as it queues).
    let metrics = service.get("/metrics");
    let signed: u64 = metrics
        .lines()
        .find(|l| l.starts_with("stirling_calls_total{service=\"signing\",result=\"signed\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(signed >= 2, "{metrics}");
    assert!(
        metrics.contains("stirling_calls_total{service=\"verification\",result=\"passed\"} 2"),
        "{metrics}"
    );
}
