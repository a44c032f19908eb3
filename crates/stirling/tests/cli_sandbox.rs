#![allow(clippy::panic, clippy::unwrap_used)]
//! `stirling sandbox` as a process: it binds loopback, says where, and serves the ACME
//! directory and the STI-PA login; it refuses a non-loopback address without the danger flag.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn http(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serves_on_loopback_and_keeps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut child = Command::new(env!("CARGO_BIN_EXE_stirling"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .args(["--account", "1234:1234", "--user", "alice:secret:1234"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.to_owned();
        }
    };
    let addr = base.strip_prefix("http://").unwrap().to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");

    let directory = http(
        &addr,
        "GET /acme/directory HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(directory.starts_with("HTTP/1.1 200"), "{directory}");
    assert!(directory.contains(&format!("\"newNonce\":\"{base}/acme/new-nonce\"")));

    let body = r#"{"userId":"alice","password":"secret"}"#;
    let login = http(
        &addr,
        &format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    assert!(login.contains("\"accessToken\""));

    child.kill().unwrap();
    child.wait().unwrap();
    for file in [
        "pki.json",
        "state.json",
        "sti-pa-root.pem",
        "sti-ca-root.pem",
    ] {
        assert!(state.join(file).is_file(), "{file}");
    }
}

#[test]
fn refuses_a_non_loopback_address() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stirling"))
        .args(["sandbox", "--listen", "0.0.0.0:0", "--state"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));
    assert!(!dir.path().join("pki.json").exists());
}
