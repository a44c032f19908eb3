//! The non-INVITE server transaction (RFC 3261 §17.2.2, figure 8) with an immediate final
//! response: retransmitted requests get it again until Timer J.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::sleep;

use super::consts::TIMER_J;
use super::{Entry, Key, State, Transactions};
use crate::transport::ReplyTo;

impl Transactions {
    /// Answers a non-INVITE request with `response`, or with the cached response when this is
    /// a retransmission. Over reliable transports nothing is kept (Timer J is zero).
    pub(crate) fn non_invite(
        self: &Arc<Self>,
        key: Key,
        reply: &ReplyTo,
        reliable: bool,
        response: Bytes,
    ) {
        if reliable {
            reply.send(response);
            return;
        }
        let send = {
            let mut map = self.lock();
            match map.get(&key) {
                Some(e) => e.response.clone(),
                None => {
                    map.insert(
                        key.clone(),
                        Entry {
                            state: State::Completed,
                            response: Some(response.clone()),
                            reply: reply.clone(),
                            acked: Arc::new(Notify::new()),
                        },
                    );
                    let this = Arc::clone(self);
                    tokio::spawn(async move {
                        sleep(TIMER_J).await;
                        this.lock().remove(&key);
                    });
                    Some(response)
                }
            }
        };
        if let Some(r) = send {
            reply.send(r);
        }
    }
}
