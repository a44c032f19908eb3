//! Server transactions of a redirect server (RFC 3261 §17.2): the INVITE transaction that
//! answers retransmitted INVITEs from its cached final response, retransmits that response over
//! UDP on Timer G until ACK or Timer H, and absorbs ACKs for Timer I; and the non-INVITE
//! transaction that answers retransmissions until Timer J.
//!
//! Timers run on tokio's clock, so tests can pause it.

mod key;
mod server;
mod server_invite;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;

pub(crate) use key::Key;

use crate::transport::ReplyTo;

/// RFC 3261 §17.1.1.1 and table 4 timer values.
pub mod consts {
    use std::time::Duration;

    /// T1: round-trip time estimate.
    pub const T1: Duration = Duration::from_millis(500);
    /// T2: maximum retransmit interval for non-INVITE requests and INVITE responses.
    pub const T2: Duration = Duration::from_secs(4);
    /// T4: maximum duration a message will remain in the network.
    pub const T4: Duration = Duration::from_secs(5);
    /// Timer H: wait time for ACK receipt, 64·T1.
    pub const TIMER_H: Duration = Duration::from_secs(32);
    /// Timer I (unreliable transports): wait time for ACK retransmits, T4.
    pub const TIMER_I: Duration = T4;
    /// Timer J (unreliable transports): wait time for non-INVITE request retransmits, 64·T1.
    pub const TIMER_J: Duration = Duration::from_secs(32);
}

/// Where a transaction stands (RFC 3261 figures 7 and 8; Trying and Proceeding are one here:
/// a redirect server sends no provisional responses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Completed,
    Confirmed,
    Proceeding,
}

#[derive(Debug)]
struct Entry {
    state: State,
    response: Option<Bytes>,
    reply: ReplyTo,
    acked: Arc<Notify>,
}

/// The table of live server transactions.
#[derive(Debug, Default)]
pub(crate) struct Transactions {
    map: Mutex<HashMap<Key, Entry>>,
}

/// What to do with a request that may belong to a transaction.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// A retransmission: it was answered (the cached response was resent) or absorbed.
    Absorbed,
    /// A new transaction was created; the caller must complete it.
    New,
}

impl Transactions {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        // A panic while holding the lock cannot leave the map half-updated (each update is a
        // single insert, remove or field write), so a poisoned lock is still usable.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of live transactions.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether a transaction with this key is live.
    pub(crate) fn contains(&self, key: &Key) -> bool {
        self.lock().contains_key(key)
    }
}
