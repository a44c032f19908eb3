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
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        // The demo logins are printed on stdout, the log goes to stderr: one transcript.
        let stdout = child.stdout.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
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

    /// `GET path` on the plain HTTP listener: the whole response.
    fn get(&self, path: &str) -> String {
        self.request("GET", path, None, "")
    }

    /// One HTTP/1.1 request on the plain listener, with a bearer token and a JSON body.
    fn request(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> String {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(self.http).unwrap();
        let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    /// The JSON body of a response, after checking its status line.
    fn json(response: &str, status: &str) -> serde_json::Value {
        assert!(
            response.starts_with(&format!("HTTP/1.1 {status}")),
            "{response}"
        );
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"))
    }

    /// The demo operator's API token, printed once at the first start.
    fn api_token(&self) -> String {
        self.wait_for("API token (operator of tenant demo): ");
        let log = self.log.lock().unwrap();
        log.lines()
            .find_map(|l| l.split_once("API token (operator of tenant demo): "))
            .map(|(_, token)| token.trim().to_owned())
            .unwrap()
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
    // The same over the ATIS-1000082 HTTP interface, with the demo operator's API token.
    let token = service.api_token();
    let request = serde_json::json!({"signingRequest": {"attest": "A",
        "dest": {"tn": ["12155550131"]}, "orig": {"tn": "12155550121"}}});
    let unauthenticated = service.request("POST", "/stir/v1/signing", None, &request.to_string());
    assert!(
        unauthenticated.starts_with("HTTP/1.1 401"),
        "{unauthenticated}"
    );
    let signed = Service::json(
        &service.request(
            "POST",
            "/stir/v1/signing",
            Some(&token),
            &request.to_string(),
        ),
        "200",
    );
    let identity = signed["signingResponse"]["identity"].as_str().unwrap();
    let request = serde_json::json!({"verificationRequest": {"from": {"tn": "12155550121"},
        "to": {"tn": ["12155550131"]}, "identity": identity}});
    let verified = Service::json(
        &service.request(
            "POST",
            "/stir/v1/verification",
            Some(&token),
            &request.to_string(),
        ),
        "200",
    );
    assert_eq!(
        verified,
        serde_json::json!({"verificationResponse": {"verstat": "TN-Validation-Passed"}})
    );

    // SIP Messages: the signed calls are logged with the certificate that signed them.
    let deadline = Instant::now() + Duration::from_secs(10);
    let signed_id = loop {
        let page = Service::json(
            &service.request(
                "GET",
                "/api/v1/sip-messages?result=signed",
                Some(&token),
                "",
            ),
            "200",
        );
        if let Some(id) = page["messages"][0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "nothing logged: {page}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let detail = Service::json(
        &service.request(
            "GET",
            &format!("/api/v1/sip-messages/{signed_id}"),
            Some(&token),
            "",
        ),
        "200",
    );
    let text = detail.to_string();
    assert!(text.contains("\"spc\":\"1234\""), "{detail}");
    assert!(
        text.contains("SHAKEN 1234") || text.contains("1234"),
        "{detail}"
    );

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
