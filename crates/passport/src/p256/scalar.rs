//! Integers modulo the order n of the P-256 group: the signature's r and s, the digest, and
//! the two multipliers u₁ = e·s⁻¹ and u₂ = r·s⁻¹ of verification.

use super::limbs::{self, Limbs};

/// n.
pub(super) const N: Limbs = [
    0xf3b9_cac2_fc63_2551,
    0xbce6_faad_a717_9e84,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_0000_0000,
];
/// −n⁻¹ mod 2⁶⁴.
const N_NEG_INV: u64 = 0xccd1_c8aa_ee00_bc4f;
/// 2⁵¹² mod n, to enter Montgomery form.
const R2: Limbs = [
    0x8324_4c95_be79_eea2,
    0x4699_799c_49bd_6fa6,
    0x2845_b239_2b6b_ec59,
    0x66e1_2d94_f3d9_5620,
];

/// A scalar below n, in plain (not Montgomery) form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Scalar(Limbs);

impl Scalar {
    /// A signature component: `None` unless `1 ≤ value < n` (FIPS 186-5 §6.4.2 step 2).
    pub(super) fn signature_component(bytes: &[u8; 32]) -> Option<Self> {
        let value = limbs::from_be_bytes(bytes);
        (value != [0; 4] && limbs::less_than(&value, &N)).then_some(Self(value))
    }

    /// The digest as an integer modulo n (FIPS 186-5 §6.4.2 steps 4–5: SHA-256 is as long
    /// as n, so nothing is truncated, and the integer is below 2n).
    pub(super) fn from_digest(digest: &[u8; 32]) -> Self {
        let value = limbs::from_be_bytes(digest);
        let (reduced, borrow) = limbs::sub(&value, &N);
        Self(if borrow { value } else { reduced })
    }

    /// `value mod n`.
    #[cfg(test)]
    pub(super) fn reduce(value: &Limbs) -> Self {
        Self::from_digest(&limbs::to_be_bytes(value))
    }

    /// The big-endian encoding.
    #[cfg(test)]
    pub(super) fn to_be_bytes(self) -> [u8; 32] {
        limbs::to_be_bytes(&self.0)
    }

    #[cfg(test)]
    pub(super) fn add(&self, other: &Self) -> Self {
        Self(limbs::add_mod(&self.0, &other.0, &N))
    }

    pub(super) fn limbs(&self) -> &Limbs {
        &self.0
    }

    /// `self · other mod n`.
    pub(super) fn mul(&self, other: &Self) -> Self {
        // Montgomery twice: (a·b·R⁻¹)·R²·R⁻¹ = a·b.
        let once = limbs::mont_mul(&self.0, &other.0, &N, N_NEG_INV);
        Self(limbs::mont_mul(&once, &R2, &N, N_NEG_INV))
    }

    /// `self⁻¹ mod n` for a non-zero scalar, by the binary extended Euclidean algorithm. It
    /// runs in variable time, which is fine for s of a signature being verified (public) and
    /// would not be for a signer's nonce. Four times as fast here as Fermat's `s^(n−2)`.
    pub(super) fn invert_vartime(&self) -> Self {
        // Invariants: x1·self ≡ u and x2·self ≡ v (mod n); gcd(u, v) = 1 since n is prime.
        let (mut u, mut v) = (self.0, N);
        let (mut x1, mut x2) = ([1, 0, 0, 0], [0; 4]);
        strip_twos(&mut u, &mut x1);
        loop {
            if u == [1, 0, 0, 0] {
                return Self(x1);
            }
            if v == [1, 0, 0, 0] || u == [0; 4] {
                // u = 0 only for self = 0, which callers never pass: answer 0, not a loop.
                return Self(if u == [0; 4] { [0; 4] } else { x2 });
            }
            // Both odd: subtract the smaller from the larger, then halve it down to odd.
            let (difference, borrow) = limbs::sub(&u, &v);
            if borrow {
                v = limbs::sub(&v, &u).0;
                x2 = limbs::sub_mod(&x2, &x1, &N);
                strip_twos(&mut v, &mut x2);
            } else {
                u = difference;
                x1 = limbs::sub_mod(&x1, &x2, &N);
                strip_twos(&mut u, &mut x1);
            }
        }
    }
}

/// Divides `u` by its largest power-of-two factor and `x` by the same power modulo n.
fn strip_twos(u: &mut Limbs, x: &mut Limbs) {
    while *u != [0; 4] {
        let k = u[0].trailing_zeros().min(63);
        if k == 0 {
            return;
        }
        for j in 0..3 {
            u[j] = (u[j] >> k) | (u[j + 1] << (64 - k));
        }
        u[3] >>= k;
        halve_k_times(x, k);
    }
}

/// `x · 2⁻ᵏ mod n` for `x < n` and `1 ≤ k ≤ 63`: add the multiple of n that clears the low k
/// bits (Montgomery's trick, one limb of it), then shift them out.
fn halve_k_times(x: &mut Limbs, k: u32) {
    let m = x[0].wrapping_mul(N_NEG_INV) & ((1u64 << k) - 1);
    let mut sum = [0u64; 5];
    let mut carry = 0u128;
    for j in 0..4 {
        let t = u128::from(x[j]) + u128::from(m) * u128::from(N[j]) + carry;
        sum[j] = t as u64;
        carry = t >> 64;
    }
    sum[4] = carry as u64;
    for j in 0..4 {
        x[j] = (sum[j] >> k) | (sum[j + 1] << (64 - k));
    }
    // x + m·n < 2ᵏ·n + n, so the shifted value is below 2n.
    let (reduced, borrow) = limbs::sub(x, &N);
    if !borrow {
        *x = reduced;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n_minus(k: u64) -> Scalar {
        Scalar(limbs::sub(&N, &[k, 0, 0, 0]).0)
    }

    #[test]
    fn signature_components_are_1_to_n_minus_1() {
        let bytes = |s: &Scalar| limbs::to_be_bytes(&s.0);
        assert_eq!(Scalar::signature_component(&[0; 32]), None);
        assert_eq!(Scalar::signature_component(&bytes(&Scalar(N))), None);
        assert_eq!(Scalar::signature_component(&[0xff; 32]), None);
        assert_eq!(
            Scalar::signature_component(&bytes(&n_minus(1))),
            Some(n_minus(1))
        );
    }

    #[test]
    fn digests_at_or_above_n_are_reduced() {
        assert_eq!(
            Scalar::from_digest(&[0xff; 32]).0,
            limbs::sub(&[u64::MAX; 4], &N).0
        );
        assert_eq!(Scalar::from_digest(&limbs::to_be_bytes(&N)).0, [0; 4]);
    }

    #[test]
    fn inverse_times_scalar_is_one() {
        let one = Scalar([1, 0, 0, 0]);
        let mut x = Scalar([0x1234_5678_9abc_def1, 7, 0, 1 << 60]);
        for s in [
            one,
            Scalar([2, 0, 0, 0]),
            n_minus(1),
            n_minus(2),
            Scalar([1 << 63, 0, 0, 0]),
        ] {
            assert_eq!(s.mul(&s.invert_vartime()), one, "{s:?}");
        }
        for _ in 0..1000 {
            assert_eq!(x.mul(&x.invert_vartime()), one, "{x:?}");
            x = x.mul(&Scalar([0x9e37_79b9_7f4a_7c15, 3, 5, 0]));
        }
    }

    #[test]
    fn multiplication_wraps_modulo_n() {
        // (n − 1)² ≡ 1 and (n − 1)·2 ≡ n − 2.
        assert_eq!(n_minus(1).mul(&n_minus(1)), Scalar([1, 0, 0, 0]));
        assert_eq!(n_minus(1).mul(&Scalar([2, 0, 0, 0])), n_minus(2));
    }
}
