//! The seeded generator for choices that need not be secret: identifiers, nonces, access
//! tokens, `jti`s. Output block `n` is SHA-256(seed ‖ n); the counter is persisted so a
//! restarted sandbox does not repeat itself, and a fresh state with the same seed replays the
//! same sequence. Keys and certificate serials do not come from here (ATIS-1000080 wants
//! serials from a CSPRNG).

use aws_lc_rs::digest::{SHA256, digest};
use serde::{Deserialize, Serialize};

/// Seed and position of the generator.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct SeededRng {
    seed: u64,
    counter: u64,
}

impl SeededRng {
    pub(crate) fn new(seed: u64) -> Self {
        Self { seed, counter: 0 }
    }

    /// A generator seeded from this one's next output (for the in-memory nonce pool, so
    /// nonces need no store write yet differ across restarts).
    pub(crate) fn fork(&mut self) -> Self {
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&self.block()[..8]);
        Self::new(u64::from_be_bytes(seed))
    }

    /// 16 bytes, hex encoded: an identifier.
    pub(crate) fn id(&mut self) -> String {
        hex::encode(&self.block()[..16])
    }

    /// 32 bytes, hex encoded: a token.
    pub(crate) fn token(&mut self) -> String {
        hex::encode(self.block())
    }

    /// A UUID-shaped (version 4 layout) string, for `jti`.
    pub(crate) fn uuid(&mut self) -> String {
        let mut b = self.block();
        b[6] = (b[6] & 0x0F) | 0x40;
        b[8] = (b[8] & 0x3F) | 0x80;
        let h = hex::encode(&b[..16]);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    fn block(&mut self) -> [u8; 32] {
        let mut input = [0u8; 16];
        input[..8].copy_from_slice(&self.seed.to_be_bytes());
        input[8..].copy_from_slice(&self.counter.to_be_bytes());
        self.counter += 1;
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, &input).as_ref());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_replays_and_counter_advances() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        let first = a.id();
        assert_eq!(first, b.id());
        assert_ne!(first, a.id());
        assert_ne!(SeededRng::new(8).id(), first);
        let uuid = a.uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
    }
}
