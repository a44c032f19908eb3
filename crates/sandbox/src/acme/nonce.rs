//! Replay nonces (RFC 8555 §6.5): single use, in memory. Like Pebble's, this pool is not
//! production-grade: it forgets every nonce on restart (a client then gets `badNonce` and
//! retries with the fresh nonce of that answer) and keeps at most `MAX_OUTSTANDING`.

use std::collections::{HashSet, VecDeque};

use crate::rng::SeededRng;

/// Nonces handed out and not used yet; the oldest are dropped beyond this.
const MAX_OUTSTANDING: usize = 10_000;

/// The pool.
#[derive(Debug, Default)]
pub(crate) struct Nonces {
    rng: SeededRng,
    outstanding: HashSet<String>,
    order: VecDeque<String>,
}

impl Nonces {
    pub(crate) fn new(rng: SeededRng) -> Self {
        Self {
            rng,
            ..Self::default()
        }
    }

    /// A fresh nonce (hex, which is within the base64url alphabet RFC 8555 asks for).
    pub(crate) fn issue(&mut self) -> String {
        let nonce = self.rng.id();
        if self.order.len() >= MAX_OUTSTANDING
            && let Some(old) = self.order.pop_front()
        {
            self.outstanding.remove(&old);
        }
        self.outstanding.insert(nonce.clone());
        self.order.push_back(nonce.clone());
        nonce
    }

    /// Uses `nonce` up; false if it was never issued or already used.
    pub(crate) fn redeem(&mut self, nonce: &str) -> bool {
        if self.outstanding.remove(nonce) {
            self.order.retain(|n| n != nonce);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_use() {
        let mut pool = Nonces::new(SeededRng::new(1));
        let a = pool.issue();
        let b = pool.issue();
        assert_ne!(a, b);
        assert!(pool.redeem(&a));
        assert!(!pool.redeem(&a));
        assert!(!pool.redeem("never-issued"));
        assert!(pool.redeem(&b));
    }
}
