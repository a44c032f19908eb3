//! The nonce pool (RFC 8555 §7.2): every response's `Replay-Nonce` is kept for the next
//! request, so `newNonce` is asked only when the pool is empty.

use std::collections::VecDeque;
use std::sync::Mutex;

/// Nonces held at most; older ones are dropped (a server forgets them anyway).
const MAX_NONCES: usize = 8;

#[derive(Debug, Default)]
pub(crate) struct NoncePool {
    nonces: Mutex<VecDeque<String>>,
}

impl NoncePool {
    /// The newest nonce, if any.
    pub(crate) fn take(&self) -> Option<String> {
        self.lock().pop_back()
    }

    /// Keeps a nonce from a `Replay-Nonce` header. RFC 8555 §6.5.1: base64url characters only;
    /// anything else is ignored, so a broken header cannot reach a JWS.
    pub(crate) fn put(&self, nonce: &str) {
        let valid = !nonce.is_empty()
            && nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return;
        }
        let mut nonces = self.lock();
        if nonces.len() == MAX_NONCES {
            nonces.pop_front();
        }
        nonces.push_back(nonce.to_owned());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<String>> {
        // The lock guards a plain queue with no invariant a panic could break.
        self.nonces.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_bounded_and_filtered() {
        let pool = NoncePool::default();
        assert_eq!(pool.take(), None);
        for i in 0..10 {
            pool.put(&format!("n{i}"));
        }
        pool.put("bad nonce");
        pool.put("");
        assert_eq!(pool.take().as_deref(), Some("n9"));
        let mut rest = Vec::new();
        while let Some(n) = pool.take() {
            rest.push(n);
        }
        assert_eq!(rest, ["n8", "n7", "n6", "n5", "n4", "n3", "n2"]);
    }
}
