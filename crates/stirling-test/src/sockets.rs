//! The TCP connections a process holds, read back from its file descriptors: `pidfd_getfd`
//! duplicates each socket (no unsafe code), so a test can ask the kernel which options a
//! connection really has, in its own process or in a child it started.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use rustix::process::{Pid, PidfdFlags, PidfdGetfdFlags, pidfd_getfd, pidfd_open};

/// A connected TCP (or other inet) socket of a process.
pub struct Connection {
    /// A duplicate of the process's descriptor: options read on it are the socket's own.
    pub socket: OwnedFd,
    /// Its local address.
    pub local: SocketAddr,
    /// Its peer.
    pub peer: SocketAddr,
}

impl Connection {
    /// Whether Nagle's algorithm is off.
    pub fn tcp_nodelay(&self) -> bool {
        rustix::net::sockopt::tcp_nodelay(&self.socket).unwrap_or(false)
    }
}

/// The connected inet sockets of process `pid` (descriptors closed meanwhile are skipped).
/// Panics when the process cannot be inspected: a test that cannot look must not pass.
pub fn connections(pid: u32) -> Vec<Connection> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .unwrap_or_else(|| panic!("no such pid {pid}"));
    let process =
        pidfd_open(pid, PidfdFlags::empty()).unwrap_or_else(|e| panic!("pidfd_open({pid:?}): {e}"));
    let dir = format!("/proc/{}/fd", pid.as_raw_nonzero());
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Ok(link) = std::fs::read_link(entry.path()) else {
            continue; // closed since the listing
        };
        if !link.to_string_lossy().starts_with("socket:") {
            continue;
        }
        let Ok(number) = entry.file_name().to_string_lossy().parse() else {
            continue;
        };
        let Ok(socket) = pidfd_getfd(&process, number, PidfdGetfdFlags::empty()) else {
            continue;
        };
        let (Ok(Some(peer)), Ok(local)) = (
            rustix::net::getpeername(&socket),
            rustix::net::getsockname(&socket),
        ) else {
            continue; // not connected: a listener, a Unix socket without a peer
        };
        let (Ok(peer), Ok(local)) = (SocketAddr::try_from(peer), SocketAddr::try_from(local))
        else {
            continue; // a Unix socket
        };
        found.push(Connection {
            socket,
            local,
            peer,
        });
    }
    found
}
