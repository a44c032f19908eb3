//! Points of the P-256 curve y² = x³ − 3x + b: affine for tables, Jacobian (x = X/Z²,
//! y = Y/Z³) for sums. The formulas are the Explicit-Formulas Database's `dbl-2001-b`,
//! `add-2007-bl` and `madd-2007-bl`; the cases they do not cover (a point at infinity, equal
//! or opposite points) are branched on, since everything here is public.

use super::field::FieldElement;

/// b.
const B: [u8; 32] = [
    0x5a, 0xc6, 0x35, 0xd8, 0xaa, 0x3a, 0x93, 0xe7, 0xb3, 0xeb, 0xbd, 0x55, 0x76, 0x98, 0x86, 0xbc,
    0x65, 0x1d, 0x06, 0xb0, 0xcc, 0x53, 0xb0, 0xf6, 0x3b, 0xce, 0x3c, 0x3e, 0x27, 0xd2, 0x60, 0x4b,
];

/// x³ − 3x + b, the y² of the points with this x. `None` never happens (b is below p).
pub(super) fn curve_rhs(x: &FieldElement) -> Option<FieldElement> {
    let b = FieldElement::from_be_bytes(&B)?;
    Some(x.square().mul(x).sub(&x.double().add(x)).add(&b))
}

/// A finite point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Affine {
    pub(super) x: FieldElement,
    pub(super) y: FieldElement,
}

impl Affine {
    /// An uncompressed SEC 1 point (`04 ‖ X ‖ Y`), if it lies on the curve. P-256 has prime
    /// order and cofactor 1, so any such point generates the whole group.
    pub(super) fn from_uncompressed(bytes: &[u8]) -> Option<Self> {
        let (&tag, coordinates) = bytes.split_first()?;
        if tag != 0x04 || coordinates.len() != 64 {
            return None;
        }
        let (x, y) = coordinates.split_at(32);
        let x = FieldElement::from_be_bytes(x.try_into().ok()?)?;
        let y = FieldElement::from_be_bytes(y.try_into().ok()?)?;
        (y.square() == curve_rhs(&x)?).then_some(Self { x, y })
    }

    pub(super) fn neg(&self) -> Self {
        Self {
            x: self.x,
            y: self.y.neg(),
        }
    }
}

/// A point in Jacobian coordinates; Z = 0 is the point at infinity.
#[derive(Clone, Copy, Debug)]
pub(super) struct Jacobian {
    pub(super) x: FieldElement,
    pub(super) y: FieldElement,
    pub(super) z: FieldElement,
}

impl Jacobian {
    pub(super) const INFINITY: Self = Self {
        x: FieldElement::ZERO,
        y: FieldElement::ZERO,
        z: FieldElement::ZERO,
    };

    pub(super) fn from_affine(p: &Affine) -> Self {
        Self {
            x: p.x,
            y: p.y,
            z: FieldElement::ONE,
        }
    }

    pub(super) fn is_infinity(&self) -> bool {
        self.z.is_zero()
    }

    /// `2·self` (`dbl-2001-b`, for a = −3). The group has odd order, so no finite point
    /// doubles to infinity; infinity doubles to itself (Z stays 0).
    pub(super) fn double(&self) -> Self {
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.mul(&gamma);
        let t = self.x.sub(&delta).mul(&self.x.add(&delta));
        let alpha = t.double().add(&t);
        let beta4 = beta.double().double();
        let x = alpha.square().sub(&beta4.double());
        let z = self.y.add(&self.z).square().sub(&gamma).sub(&delta);
        let gamma2_8 = gamma.square().double().double().double();
        let y = alpha.mul(&beta4.sub(&x)).sub(&gamma2_8);
        Self { x, y, z }
    }

    /// `self + other` (`add-2007-bl`).
    pub(super) fn add(&self, other: &Self) -> Self {
        if self.is_infinity() {
            return *other;
        }
        if other.is_infinity() {
            return *self;
        }
        let z1z1 = self.z.square();
        let z2z2 = other.z.square();
        let u1 = self.x.mul(&z2z2);
        let u2 = other.x.mul(&z1z1);
        let s1 = self.y.mul(&other.z).mul(&z2z2);
        let s2 = other.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&u1);
        let r_half = s2.sub(&s1);
        if h.is_zero() {
            // Same x: the same point, or opposite ones.
            return if r_half.is_zero() {
                self.double()
            } else {
                Self::INFINITY
            };
        }
        let i = h.double().square();
        let j = h.mul(&i);
        let r = r_half.double();
        let v = u1.mul(&i);
        let x = r.square().sub(&j).sub(&v.double());
        let y = r.mul(&v.sub(&x)).sub(&s1.mul(&j).double());
        let z = self.z.add(&other.z).square().sub(&z1z1).sub(&z2z2).mul(&h);
        Self { x, y, z }
    }

    /// `self + other` for an affine `other` (`madd-2007-bl`): the step of every table lookup.
    #[inline]
    pub(super) fn add_affine(&self, other: &Affine) -> Self {
        if self.is_infinity() {
            return Self::from_affine(other);
        }
        let z1z1 = self.z.square();
        let u2 = other.x.mul(&z1z1);
        let s2 = other.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&self.x);
        let r_half = s2.sub(&self.y);
        if h.is_zero() {
            return if r_half.is_zero() {
                Self::from_affine(other).double()
            } else {
                Self::INFINITY
            };
        }
        let hh = h.square();
        let i = hh.double().double();
        let j = h.mul(&i);
        let r = r_half.double();
        let v = self.x.mul(&i);
        let x = r.square().sub(&j).sub(&v.double());
        let y = r.mul(&v.sub(&x)).sub(&self.y.mul(&j).double());
        let z = self.z.add(&h).square().sub(&z1z1).sub(&hh);
        Self { x, y, z }
    }

    /// The affine point, or `None` at infinity.
    #[cfg(test)]
    pub(super) fn to_affine(self) -> Option<Affine> {
        if self.is_infinity() {
            return None;
        }
        let z_inv = self.z.invert();
        let z_inv2 = z_inv.square();
        Some(Affine {
            x: self.x.mul(&z_inv2),
            y: self.y.mul(&z_inv2.mul(&z_inv)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::GENERATOR;
    use super::*;

    fn g() -> Affine {
        Affine::from_uncompressed(&GENERATOR).expect("G is on the curve")
    }

    #[test]
    fn points_off_the_curve_are_refused() {
        let mut bytes = GENERATOR;
        bytes[64] ^= 1;
        assert_eq!(Affine::from_uncompressed(&bytes), None);
        bytes = GENERATOR;
        bytes[0] = 0x02;
        assert_eq!(Affine::from_uncompressed(&bytes), None, "compressed tag");
        assert_eq!(Affine::from_uncompressed(&GENERATOR[..64]), None, "short");
        assert_eq!(Affine::from_uncompressed(&[]), None);
    }

    #[test]
    fn the_special_cases_of_addition() {
        let g = g();
        let gj = Jacobian::from_affine(&g);
        let two_g = gj.double();
        // G + G through both additions is 2G; G + (−G) is infinity.
        assert_eq!(gj.add_affine(&g).to_affine(), two_g.to_affine());
        assert_eq!(gj.add(&gj).to_affine(), two_g.to_affine());
        assert!(gj.add_affine(&g.neg()).is_infinity());
        assert!(gj.add(&Jacobian::from_affine(&g.neg())).is_infinity());
        // Infinity is the neutral element on either side, and doubles to itself.
        assert_eq!(Jacobian::INFINITY.add_affine(&g).to_affine(), Some(g));
        assert_eq!(Jacobian::INFINITY.add(&gj).to_affine(), Some(g));
        assert_eq!(gj.add(&Jacobian::INFINITY).to_affine(), Some(g));
        assert!(Jacobian::INFINITY.double().is_infinity());
        // 2G + G = 3G = G + 2G, with 2G not in Z = 1 form.
        let three_g = two_g.add_affine(&g).to_affine();
        assert_eq!(gj.add(&two_g).to_affine(), three_g);
        assert_eq!(two_g.add(&gj).to_affine(), three_g);
    }

    #[test]
    fn two_g_is_the_known_point() {
        // 2G from SEC 2 test data (and any P-256 library).
        let two_g = Jacobian::from_affine(&g())
            .double()
            .to_affine()
            .expect("finite");
        let expected = Affine::from_uncompressed(&hex_point(
            "7cf27b188d034f7e8a52380304b51ac3c08969e277f21b35a60b48fc47669978",
            "07775510db8ed040293d9ac69f7430dbba7dade63ce982299e04b79d227873d1",
        ))
        .expect("2G is on the curve");
        assert_eq!(two_g, expected);
    }

    fn hex_point(x: &str, y: &str) -> Vec<u8> {
        let mut out = vec![0x04];
        out.extend(hex::decode(x).expect("hex"));
        out.extend(hex::decode(y).expect("hex"));
        out
    }
}
