#![allow(clippy::panic, clippy::unwrap_used)]
//! The service: the router in-process with `oneshot`, and `stirling serve` as a real process
//! on an ephemeral loopback port, stopped with SIGTERM.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use stirling::http::{AppState, router};
use stirling::secrets::MasterKey;
use stirling::store::Store;
use tower::ServiceExt as _;

/// A guard against a hung child, not a measurement: no assertion depends on it.
const PATIENCE: Duration = Duration::from_secs(60);

async fn sqlite_state(dir: &tempfile::TempDir) -> AppState {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let key = Arc::new(MasterKey::from_bytes(&[1u8; 32]).unwrap());
    let store = Store::connect(&url, 2, key).await.unwrap();
    store.migrate().await.unwrap();
    AppState {
        store,
        clock: Arc::new(sti::SystemClock),
        renew_now: stirling::lifecycle::scheduler::RenewNow::channel().0,
        auth: stirling::auth::Auth::new(false),
        mailer: None,
        renewal: Default::default(),
    }
}

async fn get(app: axum::Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let response = app
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let json = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, json)
}

#[tokio::test]
async fn healthz_reports_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let state = sqlite_state(&dir).await;
    let (status, body) = get(router(state.clone()), "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "store": {"status": "ok", "backend": "sqlite"}})
    );

    // With the store gone, the service says so instead of claiming health.
    state.store.close().await;
    let (status, body) = get(router(state), "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        serde_json::json!({
            "status": "unavailable",
            "store": {"status": "unavailable", "backend": "sqlite"}
        })
    );
}

#[tokio::test]
async fn healthz_names_the_postgres_backend() {
    // Loopback PostgreSQL, started by scripts/test; /healthz needs no schema.
    let key = Arc::new(MasterKey::from_bytes(&[1u8; 32]).unwrap());
    let store = Store::connect("postgres://root@127.0.0.1:5432/test", 1, key)
        .await
        .unwrap();
    let (status, body) = get(
        router(AppState {
            store,
            clock: Arc::new(sti::SystemClock),
            renew_now: stirling::lifecycle::scheduler::RenewNow::channel().0,
            auth: stirling::auth::Auth::new(false),
            mailer: None,
            renewal: Default::default(),
        }),
        "/healthz",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["store"]["backend"], "postgres");
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let (status, _) = get(router(sqlite_state(&dir).await), "/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A plain HTTP/1.1 GET over loopback, returning the status line and the body.
fn http_get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

fn stirling() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stirling"));
    // Only the configuration each test gives: drop any STIRLING_* from the outer environment.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STIRLING_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// A `stirling serve` child process and its log, read line by line on a thread.
struct Running {
    child: std::process::Child,
    addr: SocketAddr,
    log: Vec<String>,
    lines: mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<()>,
}

impl Running {
    /// Starts `stirling serve --sandbox` with `toml` and waits for its "listening" line.
    fn start(dir: &tempfile::TempDir, toml: &str) -> Self {
        Self::start_with_env(dir, toml, &[])
    }

    /// Like [`Running::start`], with extra environment variables.
    fn start_with_env(dir: &tempfile::TempDir, toml: &str, env: &[(&str, &str)]) -> Self {
        let config = dir.path().join("stirling.toml");
        std::fs::write(&config, toml).unwrap();
        let mut child = stirling()
            .args(["serve", "--sandbox", "--config"])
            .arg(&config)
            .env("STIRLING_LOG__FILTER", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (lines_tx, lines) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut log = Vec::new();
        let addr: SocketAddr = loop {
            let line = lines
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|e| panic!("no listening line ({e}); log so far: {log:#?}"));
            log.push(line.clone());
            if line.contains("listening") {
                let addr = line.split("addr=").nth(1).unwrap();
                break addr.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        Self {
            child,
            addr,
            log,
            lines,
            reader,
        }
    }

    /// Sends SIGTERM, waits for the exit, and returns its status with the whole log.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        self.reader.join().unwrap();
        self.log.extend(self.lines.try_iter());
        (status, self.log.join("\n"))
    }
}

fn toml_in(dir: &tempfile::TempDir, extra_http: &str) -> String {
    format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n{extra_http}\n[store]\nurl = \"sqlite://{}?mode=rwc\"\n\
         [secrets]\nmaster_key_file = \"{}\"\n\
         [embedded_sandbox]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"{}\"\n\
         [sip]\nudp = \"127.0.0.1:0\"\ntcp = \"127.0.0.1:0\"\n\
         [repository]\nhttps_listen = \"127.0.0.1:0\"\n",
        dir.path().join("stirling.db").display(),
        dir.path().join("master.key").display(),
        dir.path().join("sandbox").display()
    )
}

#[test]
fn serve_runs_as_a_process_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("master.key");
    let running = Running::start(&dir, &toml_in(&dir, ""));
    assert!(running.addr.ip().is_loopback());
    assert_ne!(running.addr.port(), 0);

    let (status, body) = http_get(running.addr, "/healthz");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["store"]["status"], "ok");

    // --sandbox generated the master key, readable by the owner only.
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let (status, log) = running.terminate();
    assert!(status.success(), "exit {status:?}; log: {log}");
    assert!(log.contains("SANDBOX MODE"), "{log}");
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(!log.contains("deadline"), "{log}");
    // The effective configuration is logged, and the key is not in it.
    let key_text = std::fs::read_to_string(&key_file).unwrap();
    assert!(log.contains("\"listen\":\"127.0.0.1:0\""), "{log}");
    assert!(!log.contains(key_text.trim()), "{log}");
}

#[test]
fn shutdown_drops_a_stuck_connection_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(&dir, &toml_in(&dir, "shutdown_timeout_secs = 1"));
    // A request whose head never completes keeps its connection busy.
    let mut stuck = TcpStream::connect(running.addr).unwrap();
    stuck
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // Make sure the server has taken the connection before the signal.
    let (status, _) = http_get(running.addr, "/healthz");
    assert_eq!(status, "HTTP/1.1 200 OK");

    let (status, log) = running.terminate();
    assert!(status.success(), "exit {status:?}; log: {log}");
    assert!(log.contains("shutdown deadline"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    drop(stuck);
}

#[test]
fn serve_migrates_and_serves_on_postgres() {
    // A fresh schema on loopback PostgreSQL (scripts/test starts it), dropped afterwards.
    let admin = |sql: &str| {
        let status = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "root", "-d", "test", "-Atqc", sql])
            .env("PGOPTIONS", "-c client_min_messages=warning")
            .status()
            .unwrap();
        assert!(status.success(), "psql {sql}");
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    admin(&format!("CREATE SCHEMA {schema}"));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://root@127.0.0.1:5432/test?options[search_path]={schema}");
    let running =
        Running::start_with_env(&dir, &toml_in(&dir, ""), &[("STIRLING_STORE__URL", &url)]);
    let (status, body) = http_get(running.addr, "/healthz");
    let (exit, log) = running.terminate();
    admin(&format!("DROP SCHEMA {schema} CASCADE"));
    assert_eq!(status, "HTTP/1.1 200 OK", "{log}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["store"]["backend"], "postgres");
    assert!(exit.success(), "exit {exit:?}; log: {log}");
    assert!(log.contains("backend=Postgres"), "{log}");
}

#[test]
fn serve_refuses_a_bad_configuration() {
    let output = stirling()
        .args(["serve"])
        .env("STIRLING_STORE__URL", "mysql://127.0.0.1/x")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("store.url"), "{stderr}");
}

#[test]
fn serve_without_a_master_key_outside_the_sandbox_fails() {
    let dir = tempfile::tempdir().unwrap();
    let output = stirling()
        .args(["serve"])
        .current_dir(dir.path())
        .env("STIRLING_HTTP__LISTEN", "127.0.0.1:0")
        .env("STIRLING_REPOSITORY__PUBLIC_URL", "https://cr.example.net/")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("master.key does not exist"), "{stderr}");
    assert!(!dir.path().join("master.key").exists());
}

#[test]
fn serve_sandbox_runs_the_sti_pa_and_sti_ca_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let mut running = Running::start(&dir, &toml_in(&dir, ""));
    let directory: String = loop {
        let line = running
            .lines
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|e| panic!("no sandbox line ({e}); log: {:#?}", running.log));
        running.log.push(line.clone());
        if let Some(rest) = line.split("acme_directory=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let url = directory.strip_prefix("http://").unwrap();
    let (host, path) = url.split_once('/').unwrap();
    let (status, body) = http_get(host.parse().unwrap(), &format!("/{path}"));
    assert_eq!(status, "HTTP/1.1 200 OK");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        body["newOrder"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(
        dir.path().join("sandbox").join("pki.json").exists(),
        "state kept in state_dir"
    );
    let (status, log) = running.terminate();
    assert!(status.success(), "exit {status:?}; log: {log}");
    assert!(log.contains("NOT FOR PRODUCTION"), "{log}");
}
