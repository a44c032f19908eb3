//! ES256 verification (ECDSA over P-256 with SHA-256, FIPS 186-5 §6.4.2) against multiples of
//! the public key computed once.
//!
//! Verifying computes u₁·G + u₂·Q. aws-lc has a table of multiples of G, but builds a small
//! one for the key Q at every call and then doubles 255 times. A signer's key verifies
//! thousands of calls, so [`KeyMultiples`] keeps Q's multiples (148 KiB) and u₂·Q takes 37
//! additions, like u₁·G: a PASSporT verifies in 20.6 µs instead of 52.1 on the reference
//! machine (`cargo bench -p passport --bench passport -- verify`).
//!
//! Everything here computes on public values only (the key, the message, the signature), so
//! it runs in variable time and branches on them. It must never see a secret: signing stays
//! with aws-lc. The tests and the fuzz target `es256_multiples` check it against aws-lc.

mod field;
mod limbs;
mod point;
mod scalar;
mod table;

use std::sync::OnceLock;

use aws_lc_rs::digest;

use self::field::FieldElement;
use self::limbs::Limbs;
use self::point::{Affine, Jacobian};
use self::scalar::{N, Scalar};
use self::table::Multiples;

/// Window of the key's table: 37 additions per product, 148 KiB per key.
const KEY_WINDOW: usize = 7;
/// Window of the generator's table, built once per process: 33 additions, 264 KiB.
const GENERATOR_WINDOW: usize = 8;

/// The generator G, uncompressed (SEC 2 §2.4.2).
pub(crate) const GENERATOR: [u8; 65] = [
    0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40,
    0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2,
    0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e,
    0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51,
    0xf5,
];

/// p − n: an x-coordinate below it may stand for r or r + n.
const P_MINUS_N: Limbs = [0x0c46_353d_039c_daae, 0x4319_0553_58e8_617b, 0, 0];

fn generator_multiples() -> &'static Multiples {
    static TABLE: OnceLock<Multiples> = OnceLock::new();
    TABLE.get_or_init(|| {
        let g = Affine::from_uncompressed(&GENERATOR).unwrap_or_default();
        Multiples::new(&g, GENERATOR_WINDOW)
    })
}

/// A P-256 public key with its multiples computed, for many verifications.
pub(crate) struct KeyMultiples(Multiples);

impl KeyMultiples {
    /// Computes the multiples of an uncompressed SEC 1 point (about 1 ms), or `None` when it
    /// is not a point of the curve.
    pub(crate) fn new(point: &[u8]) -> Option<Self> {
        let q = Affine::from_uncompressed(point)?;
        Some(Self(Multiples::new(&q, KEY_WINDOW)))
    }

    /// Whether `signature` (R‖S, 64 bytes) is this key's ES256 signature of `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let Some((r, s)) = signature
            .split_at_checked(32)
            .filter(|(_, s)| s.len() == 32)
            .and_then(|(r, s)| {
                Some((
                    Scalar::signature_component(r.try_into().ok()?)?,
                    Scalar::signature_component(s.try_into().ok()?)?,
                ))
            })
        else {
            return false;
        };
        let Some(e) = message_scalar(message) else {
            return false;
        };
        let w = s.invert_vartime();
        let mut sum = Jacobian::INFINITY;
        generator_multiples().add_product(&mut sum, e.mul(&w).limbs());
        self.0.add_product(&mut sum, r.mul(&w).limbs());
        x_matches(&sum, r.limbs())
    }
}

/// e: the message's SHA-256 as a scalar (steps 3–5). `None` never happens (SHA-256 is 32
/// bytes).
fn message_scalar(message: &[u8]) -> Option<Scalar> {
    let digest = digest::digest(&digest::SHA256, message);
    Some(Scalar::from_digest(digest.as_ref().try_into().ok()?))
}

/// Whether the x-coordinate of `point`, reduced mod n, is `r` (step 7), without leaving
/// Jacobian form: x = X/Z², so compare X with r·Z², and with (r + n)·Z² when r + n < p.
fn x_matches(point: &Jacobian, r: &Limbs) -> bool {
    if point.is_infinity() {
        return false;
    }
    let z2 = point.z.square();
    let matches = |candidate: &Limbs| {
        FieldElement::from_limbs(candidate).is_some_and(|c| c.mul(&z2) == point.x)
    };
    matches(r) || (limbs::less_than(r, &P_MINUS_N) && matches(&limbs::add(r, &N).0))
}

#[cfg(test)]
mod tests;
