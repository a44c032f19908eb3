//! Runs `sipp` (Debian package `sip-tester`) as the SBC of a test: one call of a scenario
//! file against a target, with `-key` values, returning sipp's message trace.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One finished sipp run.
pub struct SippRun {
    /// Whether sipp exited 0 (the scenario completed).
    pub success: bool,
    /// sipp's output and trace files, for assertions and failure messages.
    pub log: String,
}

impl SippRun {
    /// The first received message starting with `start_line` (e.g. `SIP/2.0 302`), LF-only.
    pub fn received(&self, start_line: &str) -> String {
        let log = self.log.replace("\r\n", "\n");
        let Some(at) = log.find(start_line) else {
            panic!("no {start_line} in:\n{}", self.log)
        };
        let msg = &log[at..];
        msg[..msg.find("\n\n").unwrap_or(msg.len())].to_owned()
    }
}

/// Values of header `name` in `msg`.
pub fn headers(msg: &str, name: &str) -> Vec<String> {
    msg.lines()
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
        .collect()
}

/// A loopback port free for both UDP and TCP.
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Runs one call of `scenario` with sipp against `target` over `transport` (`u1` or `t1`),
/// with `-key`s. Blocking: call it from `spawn_blocking` in async tests.
pub fn sipp(
    scenario: &Path,
    target: SocketAddr,
    transport: &str,
    keys: &[(&str, &str)],
) -> SippRun {
    let dir = tempdir();
    let mut cmd = Command::new("sipp");
    cmd.current_dir(&dir)
        .arg(target.to_string())
        .args(["-sf", scenario.to_str().unwrap(), "-t", transport])
        .args(["-m", "1", "-l", "1"])
        .args(["-i", "127.0.0.1", "-p", &free_port().to_string()])
        .args(["-nostdin", "-timeout", "30s", "-timeout_error"])
        .args(["-max_retrans", "10", "-trace_err", "-trace_msg"]);
    for (k, v) in keys {
        cmd.args(["-key", k, v]);
    }
    let out = cmd
        .output()
        .expect("sipp is installed (Debian package sip-tester)");
    let mut log = String::from_utf8_lossy(&out.stdout).into_owned();
    log.push_str(&String::from_utf8_lossy(&out.stderr));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        log.push_str(&format!("\n--- {}\n{text}", p.display()));
    }
    let _ = std::fs::remove_dir_all(&dir);
    SippRun {
        success: out.status.success(),
        log,
    }
}

/// A fresh directory for sipp's trace files.
fn tempdir() -> PathBuf {
    let mut bytes = [0u8; 8];
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    bytes.copy_from_slice(&seed.to_le_bytes()[..8]);
    let dir = std::env::temp_dir().join(format!(
        "stirling-sipp-{}-{:x}",
        std::process::id(),
        u64::from_le_bytes(bytes)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
