//! Timer lists: one first-in first-out list per timer duration. Entries of one list are added
//! in time order with the same delay, so each list is sorted by when it falls due and the next
//! timer of all is the earliest of the lists' heads: O(1) to add, to find and to fire.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::Key;
use super::consts::{T1, T2, TIMER_H, TIMER_I, TIMER_J};

/// What a due timer does to its transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fire {
    /// Timer G, the `n`th retransmission (0 first) of an INVITE's final response: after T1,
    /// then doubling up to T2 (RFC 3261 §17.2.1).
    G(u8),
    /// Timer H: no ACK came.
    H,
    /// Timer I: ACK retransmissions are absorbed no longer.
    I,
    /// Timer J: non-INVITE retransmissions are answered no longer.
    J,
}

/// The distinct durations, one list each: Timer G's T1, 2·T1, 4·T1 and T2, Timer I, and
/// Timers H and J (both 64·T1).
const DELAYS: [Duration; 6] = [
    T1,
    T1.saturating_mul(2),
    T1.saturating_mul(4),
    T2,
    TIMER_I,
    TIMER_H,
];

const _: () = assert!(TIMER_H.as_nanos() == TIMER_J.as_nanos());
const _: () = assert!(T1.saturating_mul(8).as_nanos() == T2.as_nanos());

impl Fire {
    /// Whether Timer G's `n`th firing comes at or after Timer H, counted from the first
    /// sending of the response by the G schedule (0.5, 1.5, 3.5, 7.5, 11.5 … s). Over
    /// unreliable transports Timer H is this check, made when Timer G fires, rather than a
    /// timer of its own: the transaction ends at the first Timer G at or after 64·T1 (at most
    /// T2 later, with the same retransmissions), and a transaction whose ACK came leaves no
    /// 32 s timer behind — at 10k calls/s that was 320 000 listed timers.
    pub(super) fn g_reaches_timer_h(n: u8) -> bool {
        let mut elapsed = Duration::ZERO;
        for i in 0..=n {
            elapsed += DELAYS[Self::G(i).list()];
            if elapsed >= TIMER_H {
                return true;
            }
        }
        false
    }

    /// The list (and so the delay) of this timer.
    fn list(self) -> usize {
        match self {
            Self::G(n) => usize::from(n.min(3)),
            Self::I => 4,
            Self::H | Self::J => 5,
        }
    }
}

/// A timer waiting in its list.
#[derive(Debug)]
pub(super) struct Due {
    pub(super) at: Instant,
    /// Weak: a transaction that ended is not kept by its stale timers (a Timer G pending
    /// when the ACK came, Timer H or J of a transaction that ended otherwise).
    pub(super) key: Weak<Key>,
    pub(super) id: u64,
    pub(super) fire: Fire,
}

#[derive(Debug, Default)]
pub(super) struct Timers {
    lists: [VecDeque<Due>; DELAYS.len()],
}

impl Timers {
    /// Lists `fire` for transaction `id`, due its delay after `now`. Returns whether its list
    /// was empty: only then can it be due before the timer the timer task waits for.
    pub(super) fn schedule(&mut self, now: Instant, key: &Arc<Key>, id: u64, fire: Fire) -> bool {
        let list = &mut self.lists[fire.list()];
        let was_empty = list.is_empty();
        list.push_back(Due {
            at: now + DELAYS[fire.list()],
            key: Arc::downgrade(key),
            id,
            fire,
        });
        was_empty
    }

    /// When the next timer falls due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.lists
            .iter()
            .filter_map(|l| l.front())
            .map(|d| d.at)
            .min()
    }

    /// Takes the earliest timer due at or before `now`.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<Due> {
        let list = self
            .lists
            .iter_mut()
            .filter(|l| l.front().is_some_and(|d| d.at <= now))
            .min_by_key(|l| l.front().map(|d| d.at))?;
        let due = list.pop_front();
        // A list that emptied gives its memory back: after a burst, thousands of entries'
        // worth would otherwise stay allocated.
        if list.is_empty() && list.capacity() > 1024 {
            *list = VecDeque::new();
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn key(n: u8) -> Arc<Key> {
        Arc::new(
            super::super::key::Matching::Rfc3261 {
                branch: Bytes::from(vec![n]),
                host: "h".into(),
                port: None,
                method: crate::message::Method::Invite,
            }
            .into(),
        )
    }

    #[test]
    fn timers_fire_in_time_order_across_lists() {
        let mut t = Timers::default();
        let start = Instant::now();
        let keys: Vec<Arc<Key>> = (1..=4).map(key).collect();
        assert!(t.schedule(start, &keys[0], 1, Fire::H));
        assert!(t.schedule(start, &keys[1], 2, Fire::G(0)));
        assert!(!t.schedule(start + T1, &keys[2], 3, Fire::G(0)));
        assert!(t.schedule(start, &keys[3], 4, Fire::I));
        assert_eq!(t.next_due(), Some(start + T1));
        assert!(t.pop_due(start).is_none());
        let order: Vec<u64> = std::iter::from_fn(|| t.pop_due(start + TIMER_H))
            .map(|d| d.id)
            .collect();
        assert_eq!(order, vec![2, 3, 4, 1]);
        assert_eq!(t.next_due(), None);
    }

    #[test]
    fn a_listed_timer_does_not_keep_its_key() {
        let mut t = Timers::default();
        let start = Instant::now();
        let k = key(1);
        t.schedule(start, &k, 1, Fire::H);
        assert_eq!(Arc::strong_count(&k), 1);
        drop(k);
        let due = t.pop_due(start + TIMER_H).unwrap();
        assert!(
            due.key.upgrade().is_none(),
            "the ended transaction's key is gone"
        );
    }

    #[test]
    fn timer_h_is_reached_by_the_first_timer_g_at_or_after_64_t1() {
        // G fires at 0.5, 1.5, 3.5, 7.5, 11.5, …, 31.5 (n = 9), 35.5 s (n = 10).
        assert!(!Fire::g_reaches_timer_h(0));
        assert!(!Fire::g_reaches_timer_h(9));
        assert!(Fire::g_reaches_timer_h(10));
        assert!(Fire::g_reaches_timer_h(u8::MAX));
    }

    #[test]
    fn timer_g_doubles_up_to_t2() {
        let delays: Vec<Duration> = (0..6).map(|n| DELAYS[Fire::G(n).list()]).collect();
        assert_eq!(
            delays,
            vec![T1, T1 * 2, T1 * 4, T2, T2, T2],
            "RFC 3261 §17.2.1: min(2^n·T1, T2)"
        );
    }
}
