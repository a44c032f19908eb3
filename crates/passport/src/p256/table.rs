//! Precomputed multiples of a point, for products `k·P` that cost one addition per window of
//! the scalar and no doubling.
//!
//! With a window of w bits, the table holds `j·2^(w·i)·P` for `1 ≤ j ≤ 2^(w−1)` in window i.
//! The scalar is recoded into signed digits `−2^(w−1) ≤ dᵢ ≤ 2^(w−1)` (a digit above half the
//! window borrows from the next one), so `k·P = Σ dᵢ·2^(w·i)·P` takes one table point per
//! non-zero digit, negated for a negative one. `⌈257/w⌉` windows leave room for the carry
//! out of the top window of a 256-bit scalar.

use super::field::FieldElement;
use super::limbs::Limbs;
use super::point::{Affine, Jacobian};

/// The multiples of one point for one window width.
pub(super) struct Multiples {
    window: usize,
    /// `2^(window−1)` points per window, window 0 first.
    points: Box<[Affine]>,
}

impl Multiples {
    /// Computes the table of `base` for `window` bits (2 to 8): `⌈257/w⌉ · 2^(w−1)` points.
    pub(super) fn new(base: &Affine, window: usize) -> Self {
        debug_assert!((2..=8).contains(&window));
        let per_window = 1 << (window - 1);
        let windows = 257usize.div_ceil(window);
        let mut jacobian = Vec::with_capacity(windows * per_window);
        let mut window_base = Jacobian::from_affine(base);
        for _ in 0..windows {
            let start = jacobian.len();
            jacobian.push(window_base);
            for j in 1..per_window {
                let next = if j == 1 {
                    window_base.double()
                } else {
                    jacobian[start + j - 1].add(&window_base)
                };
                jacobian.push(next);
            }
            // 2^(w−1)·B doubled is the next window's base 2^w·B.
            window_base = jacobian[start + per_window - 1].double();
        }
        Self {
            window,
            points: to_affine_all(&jacobian),
        }
    }

    /// Bytes the table holds.
    #[cfg(test)]
    pub(super) const fn size_of(window: usize) -> usize {
        257usize.div_ceil(window) * (1 << (window - 1)) * std::mem::size_of::<Affine>()
    }

    /// Points held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.points.len()
    }

    /// `acc + k·P` for `k < 2²⁵⁶`.
    pub(super) fn add_product(&self, acc: &mut Jacobian, k: &Limbs) {
        let half = 1i64 << (self.window - 1);
        let mut carry = 0;
        for (i, row) in self.points.chunks_exact(half as usize).enumerate() {
            let mut digit = window_bits(k, i * self.window, self.window) as i64 + carry;
            carry = 0;
            if digit > half {
                digit -= 2 * half;
                carry = 1;
            }
            if digit != 0 {
                let point = &row[digit.unsigned_abs() as usize - 1];
                *acc = if digit > 0 {
                    acc.add_affine(point)
                } else {
                    acc.add_affine(&point.neg())
                };
            }
        }
        debug_assert_eq!(carry, 0, "the top window absorbs the last carry");
    }
}

/// Bits `start .. start + len` of `k` (zeros above bit 255), `len ≤ 8`.
fn window_bits(k: &Limbs, start: usize, len: usize) -> u64 {
    if start >= 256 {
        return 0;
    }
    let (limb, offset) = (start / 64, start % 64);
    let mut bits = k[limb] >> offset;
    if offset + len > 64 && limb < 3 {
        bits |= k[limb + 1] << (64 - offset);
    }
    bits & ((1 << len) - 1)
}

/// Every point in affine form with one field inversion (Montgomery's trick). None of them
/// is at infinity: each is a non-zero multiple below the group order of a finite point.
fn to_affine_all(points: &[Jacobian]) -> Box<[Affine]> {
    // prefix[k] = z₀·…·z₍ₖ₋₁₎
    let mut prefix = Vec::with_capacity(points.len());
    let mut product = FieldElement::ONE;
    for p in points {
        prefix.push(product);
        product = product.mul(&p.z);
    }
    let mut inverse = product.invert();
    let mut affine = vec![Affine::default(); points.len()];
    for (k, p) in points.iter().enumerate().rev() {
        let z_inv = inverse.mul(&prefix[k]);
        inverse = inverse.mul(&p.z);
        let z_inv2 = z_inv.square();
        affine[k] = Affine {
            x: p.x.mul(&z_inv2),
            y: p.y.mul(&z_inv2.mul(&z_inv)),
        };
    }
    affine.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::super::GENERATOR;
    use super::*;

    /// `k·P` by double-and-add from the top bit, the textbook way.
    fn reference_product(p: &Affine, k: &Limbs) -> Option<Affine> {
        let mut acc = Jacobian::INFINITY;
        for bit in (0..256).rev() {
            acc = acc.double();
            if (k[bit / 64] >> (bit % 64)) & 1 == 1 {
                acc = acc.add_affine(p);
            }
        }
        acc.to_affine()
    }

    #[test]
    fn products_match_double_and_add_for_every_window() {
        let g = Affine::from_uncompressed(&GENERATOR).expect("G");
        let n_minus_1 = [
            0xf3b9_cac2_fc63_2550,
            0xbce6_faad_a717_9e84,
            0xffff_ffff_ffff_ffff,
            0xffff_ffff_0000_0000,
        ];
        let scalars = [
            [1, 0, 0, 0],
            [2, 0, 0, 0],
            [0x7f, 0, 0, 0],
            [0x80, 0, 0, 0],
            [0xff, 0, 0, 0],
            [0, 0, 0, 1 << 63],
            [u64::MAX, u64::MAX, u64::MAX, 0x7fff_ffff_ffff_ffff],
            n_minus_1,
            [
                0x0123_4567_89ab_cdef,
                0xfedc_ba98_7654_3210,
                0x5555_5555_5555_5555,
                0xaaaa_aaaa_0000_0001,
            ],
        ];
        for window in [2, 4, 5, 7, 8] {
            let table = Multiples::new(&g, window);
            assert_eq!(table.len() * 64, Multiples::size_of(window));
            for k in &scalars {
                let mut acc = Jacobian::INFINITY;
                table.add_product(&mut acc, k);
                assert_eq!(
                    acc.to_affine(),
                    reference_product(&g, k),
                    "w={window} k={k:x?}"
                );
            }
            let mut acc = Jacobian::INFINITY;
            table.add_product(&mut acc, &[0; 4]);
            assert!(acc.is_infinity(), "0·G");
            // (n − 1)·G + G is infinity: the accumulator meets the opposite point.
            let mut acc = Jacobian::from_affine(&g);
            table.add_product(&mut acc, &n_minus_1);
            assert!(acc.is_infinity(), "w={window}: (n−1)·G + G");
        }
    }

    #[test]
    fn window_bits_straddle_limbs() {
        let k = [0xf000_0000_0000_0000, 0x5, 0, 0x8000_0000_0000_0000];
        assert_eq!(window_bits(&k, 60, 7), 0x5f);
        assert_eq!(window_bits(&k, 252, 7), 0x8);
        assert_eq!(window_bits(&k, 259, 7), 0);
    }
}
