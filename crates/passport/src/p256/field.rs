//! Integers modulo the P-256 prime p = 2²⁵⁶ − 2²²⁴ + 2¹⁹² + 2⁹⁶ − 1, in Montgomery form.

use super::limbs::{self, Limbs};

/// p.
pub(super) const P: Limbs = [
    0xffff_ffff_ffff_ffff,
    0x0000_0000_ffff_ffff,
    0x0000_0000_0000_0000,
    0xffff_ffff_0000_0001,
];
/// −p⁻¹ mod 2⁶⁴: p ≡ −1 (mod 2⁶⁴).
const P_NEG_INV: u64 = 1;
/// 2⁵¹² mod p, to enter Montgomery form.
const R2: Limbs = [
    0x0000_0000_0000_0003,
    0xffff_fffb_ffff_ffff,
    0xffff_ffff_ffff_fffe,
    0x0000_0004_ffff_fffd,
];
/// p − 2, the exponent of Fermat's inversion.
const P_MINUS_2: Limbs = [
    0xffff_ffff_ffff_fffd,
    0x0000_0000_ffff_ffff,
    0x0000_0000_0000_0000,
    0xffff_ffff_0000_0001,
];

/// An element of the field, held as `a·2²⁵⁶ mod p`, always below p.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct FieldElement(Limbs);

impl FieldElement {
    pub(super) const ZERO: Self = Self([0; 4]);
    /// 2²⁵⁶ mod p.
    pub(super) const ONE: Self = Self([
        0x0000_0000_0000_0001,
        0xffff_ffff_0000_0000,
        0xffff_ffff_ffff_ffff,
        0x0000_0000_ffff_fffe,
    ]);

    /// The element `value`, or `None` when `value ≥ p`.
    pub(super) fn from_limbs(value: &Limbs) -> Option<Self> {
        limbs::less_than(value, &P).then(|| Self(limbs::mont_mul(value, &R2, &P, P_NEG_INV)))
    }

    /// The element whose big-endian encoding is `bytes`, or `None` when it is not below p
    /// (SEC 1 §2.3.6 refuses such coordinates).
    pub(super) fn from_be_bytes(bytes: &[u8; 32]) -> Option<Self> {
        Self::from_limbs(&limbs::from_be_bytes(bytes))
    }

    #[inline(always)]
    pub(super) fn mul(&self, other: &Self) -> Self {
        Self(limbs::mont_mul(&self.0, &other.0, &P, P_NEG_INV))
    }

    #[inline(always)]
    pub(super) fn square(&self) -> Self {
        self.mul(self)
    }

    #[inline(always)]
    pub(super) fn add(&self, other: &Self) -> Self {
        Self(limbs::add_mod(&self.0, &other.0, &P))
    }

    #[inline(always)]
    pub(super) fn sub(&self, other: &Self) -> Self {
        Self(limbs::sub_mod(&self.0, &other.0, &P))
    }

    #[inline(always)]
    pub(super) fn double(&self) -> Self {
        self.add(self)
    }

    #[inline(always)]
    pub(super) fn neg(&self) -> Self {
        Self::ZERO.sub(self)
    }

    #[inline(always)]
    pub(super) fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The big-endian encoding of the element's value.
    #[cfg(test)]
    pub(super) fn to_be_bytes(self) -> [u8; 32] {
        limbs::to_be_bytes(&limbs::mont_mul(&self.0, &[1, 0, 0, 0], &P, P_NEG_INV))
    }

    /// `self⁻¹` (Fermat: `self^(p−2)`), zero for zero. Only tables are built with it, once
    /// per key, so a plain 4-bit window is enough.
    pub(super) fn invert(&self) -> Self {
        let mut powers = [Self::ONE; 16];
        for i in 1..16 {
            powers[i] = powers[i - 1].mul(self);
        }
        let mut acc = Self::ONE;
        for limb in P_MINUS_2.iter().rev() {
            for nibble in (0..16).rev() {
                acc = acc.square().square().square().square();
                acc = acc.mul(&powers[((limb >> (4 * nibble)) & 0xf) as usize]);
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fe(n: u64) -> FieldElement {
        FieldElement::from_limbs(&[n, 0, 0, 0]).expect("below p")
    }

    #[test]
    fn one_is_the_montgomery_form_of_1() {
        assert_eq!(fe(1), FieldElement::ONE);
        assert_eq!(fe(6), fe(2).mul(&fe(3)));
        assert_eq!(fe(2).sub(&fe(3)).add(&fe(1)), FieldElement::ZERO);
    }

    #[test]
    fn p_and_above_are_refused() {
        assert_eq!(FieldElement::from_limbs(&P), None);
        let p_minus_1 = limbs::sub(&P, &[1, 0, 0, 0]).0;
        assert!(FieldElement::from_limbs(&p_minus_1).is_some());
        assert_eq!(FieldElement::from_be_bytes(&[0xff; 32]), None);
    }

    #[test]
    fn inverse_times_element_is_one() {
        let p_minus_1 = FieldElement::from_limbs(&limbs::sub(&P, &[1, 0, 0, 0]).0).expect("p−1");
        for x in [
            fe(1),
            fe(2),
            fe(0xdead_beef),
            p_minus_1,
            fe(3).neg().square(),
        ] {
            assert_eq!(x.mul(&x.invert()), FieldElement::ONE, "{x:?}");
        }
        assert_eq!(FieldElement::ZERO.invert(), FieldElement::ZERO);
    }

    #[test]
    fn negation_of_p_minus_1_is_1() {
        let p_minus_1 = FieldElement::from_limbs(&limbs::sub(&P, &[1, 0, 0, 0]).0).expect("p−1");
        assert_eq!(p_minus_1.neg(), FieldElement::ONE);
        assert_eq!(FieldElement::ZERO.neg(), FieldElement::ZERO);
    }
}
