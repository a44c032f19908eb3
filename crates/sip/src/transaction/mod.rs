//! Server transactions of a redirect server (RFC 3261 §17.2): the INVITE transaction that
//! answers retransmitted INVITEs from its cached final response, retransmits that response over
//! UDP on Timer G until ACK or Timer H, and absorbs ACKs for Timer I; and the non-INVITE
//! transaction that answers retransmissions until Timer J.
//!
//! Every timer has one of a few fixed durations, so each duration keeps a first-in first-out
//! list ([`timers`]) and one task ([`Transactions::run_timers`]) fires them: no task or timer
//! registration per transaction, which matters at 10k calls/s with each INVITE transaction
//! living Timer I (5 s) past its ACK. Timers run on tokio's clock, so tests can pause it.

mod key;
mod server;
mod server_invite;
mod timers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

pub(crate) use key::Key;
use key::PassKeyHash;
use timers::{Due, Fire, Timers};

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
    /// The key as stored in the map, shared with the transaction's timers.
    key: Arc<Key>,
    /// Tells this transaction from an earlier one with the same key, whose timers may still
    /// be listed.
    id: u64,
    state: State,
    response: Option<Bytes>,
    reply: ReplyTo,
    reliable: bool,
    /// A CANCEL came while the INVITE was being handled: its final response is 487.
    cancelled: bool,
}

/// Transactions the table has room for from the start: at 10k INVITEs/s about 50 000 live at
/// once (each stays Timer I, 5 s, past its ACK). Growing rehashes every entry under the table's
/// lock, and calls waited while it grew through those sizes. Measured in the first 100k calls
/// after start at 10k/s (`bench/sip-load --rate 10000 --runs 2`, one number pair): sipp's p99
/// 4-24 ms and the longest wait 40-64 ms in eight runs without this room, p99 4 ms and the
/// longest 8-12 ms in four runs with it; the runs after (the table grown) were alike. The
/// buckets cost memory only as entries land on their pages (RSS +2 MB at 10k/s).
const INITIAL_TRANSACTIONS: usize = 65_536;

/// The transactions and their timers, under one lock.
#[derive(Debug)]
struct Table {
    map: HashMap<Arc<Key>, Entry, PassKeyHash>,
    timers: Timers,
    next_id: u64,
}

impl Default for Table {
    fn default() -> Self {
        Self {
            map: HashMap::with_capacity_and_hasher(INITIAL_TRANSACTIONS, PassKeyHash::default()),
            timers: Timers::default(),
            next_id: 0,
        }
    }
}

/// The table of live server transactions.
#[derive(Debug, Default)]
pub(crate) struct Transactions {
    table: Mutex<Table>,
    /// Wakes [`Transactions::run_timers`] when a timer list that was empty gets an entry
    /// (an entry added behind others is never due before the first of its list).
    timer_added: Notify,
}

/// What to do with a request that may belong to a transaction.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// A retransmission: it was answered (the cached response was resent) or absorbed.
    Absorbed,
    /// A new transaction was created; the caller must complete it.
    New,
}

impl Table {
    /// Adds a transaction (`entry` gets its stored key and id); returns both.
    fn insert(&mut self, key: &Key, entry: impl FnOnce(Arc<Key>, u64) -> Entry) -> (Arc<Key>, u64) {
        let id = self.next_id;
        self.next_id += 1;
        let key = Arc::new(key.clone());
        self.map
            .insert(Arc::clone(&key), entry(Arc::clone(&key), id));
        (key, id)
    }

    /// Lists a timer for transaction `id`; true when the timer task must be woken.
    fn schedule(&mut self, key: &Arc<Key>, id: u64, fire: Fire) -> bool {
        self.timers.schedule(Instant::now(), key, id, fire)
    }

    /// Carries out one due timer; a retransmission goes to `sends`.
    fn fire(&mut self, due: Due, sends: &mut Vec<(ReplyTo, Bytes)>) {
        // The transaction ended (its key went with it), or the key now names a newer one.
        let Some(key) = due.key.upgrade() else {
            return;
        };
        let Some(entry) = self.map.get(&*key).filter(|e| e.id == due.id) else {
            return;
        };
        match due.fire {
            Fire::G(n) if entry.state == State::Completed && Fire::g_reaches_timer_h(n) => {
                // Timer H over an unreliable transport: no ACK came.
                self.map.remove(&*key);
            }
            Fire::G(n) if entry.state == State::Completed => {
                if let Some(response) = &entry.response {
                    sends.push((entry.reply.clone(), response.clone()));
                }
                self.schedule(&key, due.id, Fire::G(n.saturating_add(1)));
            }
            // Timer H (reliable transports; over UDP see above): no ACK; the transaction ends
            // (the TU is not told: a redirect server has nothing to undo). After an ACK,
            // Timer I ends it instead.
            Fire::H if entry.state == State::Completed => {
                self.map.remove(&*key);
            }
            Fire::I | Fire::J => {
                self.map.remove(&*key);
            }
            Fire::G(_) | Fire::H => {}
        }
    }
}

impl Transactions {
    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave the table half-updated (each update is
        // a single insert, remove or field write), so a poisoned lock is still usable.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of live transactions.
    pub(crate) fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// A CANCEL for the INVITE transaction `key` (RFC 3261 §9.2): whether it exists. One
    /// still being handled is marked, so that its final response becomes 487.
    pub(crate) fn cancel(&self, key: &Key) -> bool {
        match self.lock().map.get_mut(key) {
            Some(e) => {
                e.cancelled |= e.state == State::Proceeding;
                true
            }
            None => false,
        }
    }

    fn wake_timers(&self, needed: bool) {
        if needed {
            self.timer_added.notify_one();
        }
    }

    /// Fires the transactions' timers as they fall due; runs for as long as the server.
    pub(crate) async fn run_timers(&self) {
        let mut sends = Vec::new();
        loop {
            let next = {
                let mut table = self.lock();
                let now = Instant::now();
                while let Some(due) = table.timers.pop_due(now) {
                    table.fire(due, &mut sends);
                }
                table.timers.next_due()
            };
            // Sent outside the lock: the table never waits on a socket.
            for (reply, response) in sends.drain(..) {
                reply.send(response);
            }
            match next {
                Some(at) => {
                    tokio::select! {
                        () = sleep_until(at) => {}
                        () = self.timer_added.notified() => {}
                    }
                }
                None => self.timer_added.notified().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_starts_with_room_for_the_transactions_of_ten_thousand_calls_a_second() {
        let transactions = Transactions::default();
        let table = transactions.lock();
        assert!(table.map.capacity() >= INITIAL_TRANSACTIONS);
    }
}
