//! The non-INVITE server transaction (RFC 3261 §17.2.2, figure 8) with an immediate final
//! response: retransmitted requests get it again until Timer J.

use bytes::Bytes;

use super::timers::Fire;
use super::{Entry, Key, State, Transactions};
use crate::transport::ReplyTo;

impl Transactions {
    /// Answers a non-INVITE request with `response`, or with the cached response when this is
    /// a retransmission. Over reliable transports nothing is kept (Timer J is zero).
    pub(crate) fn non_invite(&self, key: &Key, reply: &ReplyTo, reliable: bool, response: Bytes) {
        if reliable {
            reply.send(response);
            return;
        }
        let (send, wake) = {
            let mut table = self.lock();
            match table.map.get(key) {
                Some(e) => (e.response.clone(), false),
                None => {
                    let (stored, id) = table.insert(key, |key, id| Entry {
                        key,
                        id,
                        state: State::Completed,
                        response: Some(response.clone()),
                        reply: reply.clone(),
                        reliable,
                        cancelled: false,
                    });
                    (Some(response), table.schedule(&stored, id, Fire::J))
                }
            }
        };
        if let Some(r) = send {
            reply.send(r);
        }
        self.wake_timers(wake);
    }
}
