//! The INVITE server transaction (RFC 3261 §17.2.1, figure 7) for a server that sends one
//! final non-2xx response (302, 4xx, 5xx) and no provisional ones.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep, sleep_until};

use super::consts::{T1, T2, TIMER_H, TIMER_I};
use super::{Entry, Key, Lookup, State, Transactions};
use crate::transport::ReplyTo;

impl Transactions {
    /// An INVITE arrived. A retransmission of a completed transaction gets the cached final
    /// response again (§17.2.1: "the most recent provisional/final response"); one still being
    /// handled, or already confirmed, is absorbed. Otherwise a transaction is created.
    pub(crate) fn invite_received(&self, key: &Key, reply: &ReplyTo) -> Lookup {
        let resend = {
            let mut map = self.lock();
            match map.get(key) {
                Some(e) if e.state == State::Completed => e.response.clone(),
                Some(_) => None,
                None => {
                    map.insert(
                        key.clone(),
                        Entry {
                            state: State::Proceeding,
                            response: None,
                            reply: reply.clone(),
                            acked: Arc::new(Notify::new()),
                        },
                    );
                    return Lookup::New;
                }
            }
        };
        if let Some(r) = resend {
            reply.send(r);
        }
        Lookup::Absorbed
    }

    /// The final response for a new INVITE transaction: sent now, then retransmitted on Timer
    /// G over unreliable transports until an ACK arrives or Timer H fires (§17.2.1).
    pub(crate) fn invite_completed(self: &Arc<Self>, key: Key, response: Bytes, reliable: bool) {
        let found = {
            let mut map = self.lock();
            map.get_mut(&key).map(|e| {
                e.state = State::Completed;
                e.response = Some(response.clone());
                (e.reply.clone(), e.acked.clone())
            })
        };
        let Some((reply, acked)) = found else {
            return;
        };
        reply.send(response.clone());
        let this = Arc::clone(self);
        tokio::spawn(async move {
            this.invite_timers(key, response, reply, acked, reliable)
                .await;
        });
    }

    /// An ACK arrived for `key` (the INVITE's key). Returns whether it matched a transaction.
    pub(crate) fn ack_received(&self, key: &Key) -> bool {
        let mut map = self.lock();
        match map.get_mut(key) {
            Some(e) if e.state == State::Completed => {
                e.state = State::Confirmed;
                // Confirmed absorbs retransmissions without answering: the cached response is
                // no longer needed for the Timer I wait (thousands of them at high rates).
                e.response = None;
                e.acked.notify_one();
                true
            }
            Some(e) => e.state == State::Confirmed,
            None => false,
        }
    }

    async fn invite_timers(
        &self,
        key: Key,
        response: Bytes,
        reply: ReplyTo,
        acked: Arc<Notify>,
        reliable: bool,
    ) {
        let start = Instant::now();
        let timer_h = start + TIMER_H;
        let mut interval = T1;
        let mut timer_g = start + T1;
        loop {
            let wake = if reliable {
                timer_h
            } else {
                timer_g.min(timer_h)
            };
            tokio::select! {
                () = sleep_until(wake) => {}
                () = acked.notified() => {}
            }
            let state = self.lock().get(&key).map(|e| e.state);
            match state {
                Some(State::Confirmed) => {
                    // Timer I absorbs ACK retransmissions; zero on reliable transports. Nothing
                    // is sent any more: release the response and the reply handle first.
                    drop((response, reply, acked));
                    if !reliable {
                        sleep(TIMER_I).await;
                    }
                    self.lock().remove(&key);
                    return;
                }
                Some(State::Completed) => {
                    let now = Instant::now();
                    if now >= timer_h {
                        // Timer H: no ACK; the transaction ends (the TU is not told: a
                        // redirect server has nothing to undo).
                        self.lock().remove(&key);
                        return;
                    }
                    if !reliable && now >= timer_g {
                        reply.send(response.clone());
                        interval = (interval * 2).min(T2);
                        timer_g += interval;
                    }
                }
                Some(State::Proceeding) | None => return,
            }
        }
    }
}
