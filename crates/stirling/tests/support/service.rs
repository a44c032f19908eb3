//! The real `stirling serve --sandbox` binary as tests run it: on free loopback ports in a
//! directory, with stdout (the demo logins, printed once) and stderr (the log) read into one
//! transcript, HTTP requests to its listener, SIGKILL when dropped.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long [`Service::wait_for`] waits.
const WAIT: Duration = Duration::from_secs(60);

/// A running `stirling serve --sandbox`.
pub struct Service {
    child: Child,
    transcript: Arc<Mutex<String>>,
    /// Its plain HTTP listener.
    pub http: SocketAddr,
    /// Its HTTPS listener (the certificate repository and the same API).
    pub https: SocketAddr,
    /// Its SIP listener (UDP and TCP).
    pub sip: SocketAddr,
    /// Its embedded sandbox STI-PA/STI-CA (and the sandbox admin router).
    pub sandbox: SocketAddr,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback TCP port.
fn port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Service {
    /// Starts it in `dir` with extra `STIRLING_*` variables (which win over the ports chosen
    /// here); the directory holds its SQLite store, master key and sandbox state unless `env`
    /// says otherwise.
    pub fn start(dir: &Path, env: &[(&str, String)]) -> Self {
        let sip = SocketAddr::from(([127, 0, 0, 1], stirling_test::free_port()));
        let http = SocketAddr::from(([127, 0, 0, 1], port()));
        let https = SocketAddr::from(([127, 0, 0, 1], port()));
        let sandbox = SocketAddr::from(([127, 0, 0, 1], port()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_stirling"));
        // Only the configuration the test gives: drop any STIRLING_* of the outer environment.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("STIRLING_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .args(["serve", "--sandbox"])
            .current_dir(dir)
            .env("STIRLING_HTTP__LISTEN", http.to_string())
            .env("STIRLING_REPOSITORY__HTTPS_LISTEN", https.to_string())
            .env("STIRLING_EMBEDDED_SANDBOX__LISTEN", sandbox.to_string())
            .env("STIRLING_SIP__UDP", sip.to_string())
            .env("STIRLING_SIP__TCP", sip.to_string())
            .env("STIRLING_LOG__FILTER", "info,sqlx=warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let transcript = Arc::new(Mutex::new(String::new()));
        let stdout: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
        let stderr: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
        for stream in [stdout, stderr] {
            let sink = transcript.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut text = sink.lock().unwrap();
                    text.push_str(&line);
                    text.push('\n');
                }
            });
        }
        Self {
            child,
            transcript,
            http,
            https,
            sip,
            sandbox,
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it printed so far.
    pub fn transcript(&self) -> String {
        self.transcript.lock().unwrap().clone()
    }

    /// How many transcript lines contain `text`.
    pub fn count(&self, text: &str) -> usize {
        self.transcript
            .lock()
            .unwrap()
            .lines()
            .filter(|l| l.contains(text))
            .count()
    }

    /// Waits (blocking) until `times` transcript lines contain `text`.
    pub fn wait_for_times(&self, text: &str, times: usize) {
        let deadline = Instant::now() + WAIT;
        while self.count(text) < times {
            assert!(
                Instant::now() < deadline,
                "not {times} {text:?} in the transcript:\n{}",
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (blocking) until a transcript line contains `text`.
    pub fn wait_for(&self, text: &str) {
        self.wait_for_times(text, 1);
    }

    /// Waits without blocking the runtime until a transcript line contains `text`.
    pub async fn wait_for_async(&self, text: &str) {
        let deadline = Instant::now() + WAIT;
        while self.count(text) == 0 {
            assert!(
                Instant::now() < deadline,
                "no {text:?} in the transcript:\n{}",
                self.transcript()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The `(email, password)` printed once on the line starting with `role` (`admin`,
    /// `operator`).
    pub fn login(&self, role: &str) -> (String, String) {
        self.wait_for("API token (operator of tenant demo)");
        let text = self.transcript();
        text.lines()
            .find_map(|line| {
                let rest = line.trim().strip_prefix(role)?;
                let (email, password) = rest.trim().split_once(" / ")?;
                Some((email.to_owned(), password.trim().to_owned()))
            })
            .unwrap_or_else(|| panic!("no {role} login in:\n{text}"))
    }

    /// The demo operator's API token, printed once.
    pub fn api_token(&self) -> String {
        const LABEL: &str = "API token (operator of tenant demo): ";
        self.wait_for(LABEL);
        self.transcript()
            .lines()
            .find_map(|l| l.split_once(LABEL))
            .map(|(_, token)| token.trim().to_owned())
            .unwrap()
    }

    /// One HTTP/1.1 request to its listener, with an optional bearer token and a JSON body:
    /// the status and the body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, String) {
        http(self.http, method, path, token, body)
    }

    /// Like [`Service::request`] to its embedded sandbox (fault switches, request counts).
    pub fn sandbox_request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        http(self.sandbox, method, path, None, body)
    }

    /// SIGKILL: no shutdown, its connections just drop.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on a fresh connection to `addr`.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
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
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    (status, body)
}
