//! 256-bit integers as four little-endian 64-bit limbs, and the modular arithmetic that the
//! field and the scalars share.

/// A 256-bit integer, least significant limb first.
pub(super) type Limbs = [u64; 4];

/// `t + a·b + carry` as (low, high) limbs; cannot overflow 128 bits.
#[inline(always)]
fn mac(t: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
    let r = u128::from(t) + u128::from(a) * u128::from(b) + u128::from(carry);
    (r as u64, (r >> 64) as u64)
}

/// `a + b + carry` as (sum, carry out).
#[inline(always)]
fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let r = u128::from(a) + u128::from(b) + u128::from(carry);
    (r as u64, (r >> 64) as u64)
}

/// `a − b − borrow` as (difference, borrow out).
#[inline(always)]
fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let r = u128::from(a)
        .wrapping_sub(u128::from(b))
        .wrapping_sub(u128::from(borrow));
    (r as u64, ((r >> 64) as u64) & 1)
}

/// `a − b` and whether it borrowed (a < b).
#[inline(always)]
pub(super) fn sub(a: &Limbs, b: &Limbs) -> (Limbs, bool) {
    let mut d = [0; 4];
    let mut borrow = 0;
    for j in 0..4 {
        (d[j], borrow) = sbb(a[j], b[j], borrow);
    }
    (d, borrow == 1)
}

/// `a + b` and whether it carried out of 256 bits.
#[inline(always)]
pub(super) fn add(a: &Limbs, b: &Limbs) -> (Limbs, bool) {
    let mut s = [0; 4];
    let mut carry = 0;
    for j in 0..4 {
        (s[j], carry) = adc(a[j], b[j], carry);
    }
    (s, carry == 1)
}

/// `a < b`.
pub(super) fn less_than(a: &Limbs, b: &Limbs) -> bool {
    sub(a, b).1
}

/// `if take { a } else { b }`, without a branch: these run in tight loops whose conditions
/// are coin flips, where a mispredicted branch costs more than both moves.
#[inline(always)]
fn select(take: bool, a: &Limbs, b: &Limbs) -> Limbs {
    let mask = 0u64.wrapping_sub(u64::from(take));
    [
        (a[0] & mask) | (b[0] & !mask),
        (a[1] & mask) | (b[1] & !mask),
        (a[2] & mask) | (b[2] & !mask),
        (a[3] & mask) | (b[3] & !mask),
    ]
}

/// `(a + b) mod m` for `a, b < m`.
#[inline(always)]
pub(super) fn add_mod(a: &Limbs, b: &Limbs, m: &Limbs) -> Limbs {
    let (s, carry) = add(a, b);
    let (r, borrow) = sub(&s, m);
    // s − m is right unless it borrowed without the sum having carried out.
    select(borrow && !carry, &s, &r)
}

/// `(a − b) mod m` for `a, b < m`.
#[inline(always)]
pub(super) fn sub_mod(a: &Limbs, b: &Limbs, m: &Limbs) -> Limbs {
    let (d, borrow) = sub(a, b);
    let (r, _) = add(&d, &select(borrow, m, &[0; 4]));
    r
}

/// Montgomery product `a·b·2⁻²⁵⁶ mod m` for `a, b < m`, odd `m < 2²⁵⁶`, and
/// `m_neg_inv = −m⁻¹ mod 2⁶⁴` (CIOS: one limb of `b`, then one limb of reduction, at a time).
#[inline(always)]
pub(super) fn mont_mul(a: &Limbs, b: &Limbs, m: &Limbs, m_neg_inv: u64) -> Limbs {
    let mut t = [0u64; 6];
    for bi in b {
        let mut c = 0;
        for j in 0..4 {
            (t[j], c) = mac(t[j], a[j], *bi, c);
        }
        (t[4], t[5]) = adc(t[4], c, 0);
        let q = t[0].wrapping_mul(m_neg_inv);
        let (_, mut c) = mac(t[0], q, m[0], 0);
        for j in 1..4 {
            (t[j - 1], c) = mac(t[j], q, m[j], c);
        }
        let (t3, c2) = adc(t[4], c, 0);
        t[3] = t3;
        t[4] = t[5] + c2;
    }
    // t < 2m: subtract m once unless that borrows past the fifth limb.
    let low = [t[0], t[1], t[2], t[3]];
    let (r, borrow) = sub(&low, m);
    select(borrow && t[4] == 0, &low, &r)
}

/// Reads 32 big-endian bytes.
pub(super) fn from_be_bytes(bytes: &[u8; 32]) -> Limbs {
    let mut limbs = [0; 4];
    for (limb, chunk) in limbs.iter_mut().rev().zip(bytes.chunks_exact(8)) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        *limb = u64::from_be_bytes(word);
    }
    limbs
}

/// Writes 32 big-endian bytes.
#[cfg(test)]
pub(super) fn to_be_bytes(value: &Limbs) -> [u8; 32] {
    let mut bytes = [0; 32];
    for (chunk, limb) in bytes.chunks_exact_mut(8).zip(value.iter().rev()) {
        chunk.copy_from_slice(&limb.to_be_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_endian_bytes_fill_the_limbs_from_the_top() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0x80;
        bytes[31] = 0x01;
        assert_eq!(from_be_bytes(&bytes), [1, 0, 0, 0x8000_0000_0000_0000]);
        assert_eq!(to_be_bytes(&from_be_bytes(&bytes)), bytes);
    }

    #[test]
    fn modular_add_and_sub_wrap() {
        let m = [13, 0, 0, 0];
        assert_eq!(add_mod(&[7, 0, 0, 0], &[9, 0, 0, 0], &m), [3, 0, 0, 0]);
        assert_eq!(sub_mod(&[3, 0, 0, 0], &[9, 0, 0, 0], &m), [7, 0, 0, 0]);
        // A modulus near 2²⁵⁶: the sum carries out of the top limb.
        let m = [u64::MAX - 2, u64::MAX, u64::MAX, u64::MAX];
        let a = [u64::MAX - 3, u64::MAX, u64::MAX, u64::MAX];
        assert_eq!(
            add_mod(&a, &a, &m),
            [u64::MAX - 4, u64::MAX, u64::MAX, u64::MAX]
        );
    }

    #[test]
    fn less_than_compares_from_the_top_limb() {
        assert!(less_than(&[u64::MAX, 0, 0, 0], &[0, 0, 0, 1]));
        assert!(!less_than(&[0, 0, 0, 1], &[u64::MAX, 0, 0, 0]));
        assert!(!less_than(&[5, 0, 0, 0], &[5, 0, 0, 0]));
    }
}
