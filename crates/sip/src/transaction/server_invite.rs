//! The INVITE server transaction (RFC 3261 §17.2.1, figure 7) for a server that sends one
//! final non-2xx response (302, 4xx, 5xx) and no provisional ones.

use std::sync::Arc;

use super::timers::Fire;
use super::{Entry, Key, Lookup, State, Transactions};
use crate::message::Response;
use crate::transport::ReplyTo;

impl Transactions {
    /// An INVITE arrived. A retransmission of a completed transaction gets the cached final
    /// response again (§17.2.1: "the most recent provisional/final response"); one still being
    /// handled, or already confirmed, is absorbed. Otherwise a transaction is created.
    pub(crate) fn invite_received(&self, key: &Key, reply: &ReplyTo, reliable: bool) -> Lookup {
        let resend = {
            let mut table = self.lock();
            match table.map.get(key) {
                Some(e) if e.state == State::Completed => e.response.clone(),
                Some(_) => None,
                None => {
                    table.insert(key, |key, id| Entry {
                        key,
                        id,
                        state: State::Proceeding,
                        response: None,
                        reply: reply.clone(),
                        reliable,
                        cancelled: false,
                    });
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
    /// G over unreliable transports until an ACK arrives or Timer H fires (§17.2.1). When a
    /// CANCEL came first, `terminated` (a 487) is the final response instead (§9.2).
    /// Returns the response sent, `None` when the transaction was gone.
    pub(crate) fn invite_completed(
        &self,
        key: &Key,
        response: Response,
        terminated: impl FnOnce() -> Response,
    ) -> Option<Response> {
        let (reply, sent, wake) = {
            let mut table = self.lock();
            let e = table.map.get_mut(key)?;
            let sent = if e.cancelled { terminated() } else { response };
            e.state = State::Completed;
            e.response = Some(sent.as_bytes().clone());
            let (stored, id, reliable, reply) =
                (Arc::clone(&e.key), e.id, e.reliable, e.reply.clone());
            // Unreliable transports: Timer G, which also does Timer H (`Fire::g_reaches_timer_h`).
            let wake = if reliable {
                table.schedule(&stored, id, Fire::H)
            } else {
                table.schedule(&stored, id, Fire::G(0))
            };
            (reply, sent, wake)
        };
        reply.send(sent.as_bytes().clone());
        self.wake_timers(wake);
        Some(sent)
    }

    /// An ACK arrived for `key` (the INVITE's key). Returns whether it matched a transaction.
    pub(crate) fn ack_received(&self, key: &Key) -> bool {
        let wake = {
            let mut table = self.lock();
            let Some(e) = table.map.get_mut(key) else {
                return false;
            };
            match e.state {
                State::Completed => {}
                State::Confirmed => return true,
                State::Proceeding => return false,
            }
            if e.reliable {
                // Timer I is zero on reliable transports.
                table.map.remove(key);
                return true;
            }
            e.state = State::Confirmed;
            // Confirmed absorbs retransmissions without answering: the cached response is no
            // longer needed for the Timer I wait (thousands of them at high rates).
            e.response = None;
            let (stored, id) = (Arc::clone(&e.key), e.id);
            table.schedule(&stored, id, Fire::I)
        };
        self.wake_timers(wake);
        true
    }
}
