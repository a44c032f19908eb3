//! [`KeyMultiples`] against aws-lc: the same answer for aws-lc's signatures, corrupted ones,
//! out-of-range components, and signatures made here for the cases random keys never reach.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    ParsedPublicKey,
};
use proptest::prelude::*;

use super::field::{FieldElement, P};
use super::*;

fn aws_lc_verifies(point: &[u8], message: &[u8], signature: &[u8]) -> bool {
    ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .is_ok_and(|key| key.verify_sig(message, signature).is_ok())
}

/// Both verifiers, which must agree; the answer.
fn verify_both(key: &KeyMultiples, point: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let ours = key.verifies(message, signature);
    assert_eq!(
        ours,
        aws_lc_verifies(point, message, signature),
        "disagreement on {message:02x?} / {signature:02x?}"
    );
    ours
}

fn uncompressed(p: &Affine) -> Vec<u8> {
    let mut out = vec![0x04];
    out.extend(p.x.to_be_bytes());
    out.extend(p.y.to_be_bytes());
    out
}

/// `k·P`.
fn product(p: &Affine, k: &Scalar) -> Option<Affine> {
    let mut sum = Jacobian::INFINITY;
    Multiples::new(p, 4).add_product(&mut sum, k.limbs());
    sum.to_affine()
}

fn scalar(bytes: &[u8; 32]) -> Scalar {
    Scalar::signature_component(bytes).expect("1 ≤ value < n")
}

/// An ECDSA signature by the private key `d` with nonce `k`, computed here (FIPS 186-5
/// §6.4.1), for keys and nonces aws-lc cannot be given.
fn sign_here(d: &Scalar, k: &Scalar, message: &[u8]) -> [u8; 64] {
    let g = Affine::from_uncompressed(&GENERATOR).expect("G");
    let r_point = product(&g, k).expect("k < n");
    let r = Scalar::reduce(&limbs::from_be_bytes(&r_point.x.to_be_bytes()));
    let e = message_scalar(message).expect("a digest");
    let s = k.invert_vartime().mul(&e.add(&r.mul(d)));
    let mut signature = [0; 64];
    signature[..32].copy_from_slice(&r.to_be_bytes());
    signature[32..].copy_from_slice(&s.to_be_bytes());
    signature
}

#[test]
fn p_minus_n_is_what_its_name_says() {
    assert_eq!(limbs::sub(&P, &N), (P_MINUS_N, false));
}

#[test]
fn the_key_size_is_what_the_table_holds() {
    let key = Affine::from_uncompressed(&GENERATOR).expect("G");
    let table = Multiples::new(&key, KEY_WINDOW);
    assert_eq!(
        Multiples::size_of(KEY_WINDOW),
        table.len() * std::mem::size_of::<Affine>()
    );
    assert_eq!(Multiples::size_of(KEY_WINDOW), 151_552);
}

#[test]
fn aws_lc_signatures_verify_and_corrupted_ones_do_not() {
    let rng = SystemRandom::new();
    for round in 0..8 {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("keygen");
        let point = pair.public_key().as_ref().to_vec();
        let key = KeyMultiples::new(&point).expect("a curve point");
        for i in 0..40usize {
            let message =
                format!("{round}.{i} eyJhbGciOiJFUzI1NiJ9.eyJhdHRlc3QiOiJBIn0").into_bytes();
            let signature = pair.sign(&rng, &message).expect("sign");
            let signature = signature.as_ref();
            assert!(verify_both(&key, &point, &message, signature));
            // One bit of the signature, one of the message.
            let mut bad = signature.to_vec();
            bad[(i * 7) % 64] ^= 1 << (i % 8);
            assert!(!verify_both(&key, &point, &message, &bad));
            let mut other = message.clone();
            other[i % message.len()] ^= 0x20;
            assert!(!verify_both(&key, &point, &other, signature));
            // (r, n − s) is the same signature's twin: ECDSA accepts both.
            let s = scalar(signature[32..].try_into().expect("32"));
            let mut twin = signature.to_vec();
            twin[32..].copy_from_slice(&Scalar::reduce(&limbs::sub(&N, s.limbs()).0).to_be_bytes());
            assert!(verify_both(&key, &point, &message, &twin));
        }
    }
}

#[test]
fn out_of_range_components_and_lengths_are_refused() {
    let rng = SystemRandom::new();
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("keygen");
    let point = pair.public_key().as_ref().to_vec();
    let key = KeyMultiples::new(&point).expect("a curve point");
    let good = pair.sign(&rng, b"m").expect("sign").as_ref().to_vec();
    let n = limbs::to_be_bytes(&N);
    for (r, s) in [
        ([0u8; 32], good[32..].to_vec()),
        (good[..32].try_into().expect("32"), vec![0; 32]),
        (n, good[32..].to_vec()),
        (good[..32].try_into().expect("32"), n.to_vec()),
        ([0xff; 32], good[32..].to_vec()),
    ] {
        let mut signature = r.to_vec();
        signature.extend(s);
        assert!(!verify_both(&key, &point, b"m", &signature));
    }
    for length in [0, 1, 32, 63, 65, 128] {
        let mut signature = good.clone();
        signature.resize(length, 0);
        assert!(
            !verify_both(&key, &point, b"m", &signature),
            "{length} bytes"
        );
    }
}

#[test]
fn points_aws_lc_refuses_are_refused() {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("keygen");
    let mut point = pair.public_key().as_ref().to_vec();
    point[64] ^= 1;
    assert!(KeyMultiples::new(&point).is_none());
    assert!(ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).is_err());
    assert!(KeyMultiples::new(&[0x04; 65]).is_none());
}

#[test]
fn keys_related_to_the_generator() {
    // Q = G and Q = −G: the two tables hold the same points (or their opposites), so sums
    // meet equal and opposite points far more often than for a random key.
    let one = scalar(&limbs::to_be_bytes(&[1, 0, 0, 0]));
    let minus_one = scalar(&limbs::to_be_bytes(&limbs::sub(&N, &[1, 0, 0, 0]).0));
    let g = Affine::from_uncompressed(&GENERATOR).expect("G");
    for d in [one, minus_one] {
        let point = uncompressed(&product(&g, &d).expect("finite"));
        let key = KeyMultiples::new(&point).expect("a curve point");
        for i in 1..30u64 {
            let k = scalar(&limbs::to_be_bytes(&[i * 0x1_0000_0001, i, 0, i << 40]));
            let message = format!("call {i}").into_bytes();
            let signature = sign_here(&d, &k, &message);
            assert!(verify_both(&key, &point, &message, &signature));
            let mut bad = signature;
            bad[63] ^= 1;
            assert!(!verify_both(&key, &point, &message, &bad));
        }
        // k = 1 and e + r·d ≡ ... : R = G exactly, so the sums pass through G itself.
        let message = b"nonce one";
        let signature = sign_here(&d, &one, message);
        assert!(verify_both(&key, &point, message, &signature));
    }
}

#[test]
fn an_x_coordinate_above_n_stands_for_r() {
    // A point R whose x lies in [n, p): its r is x − n. Take the key that makes (r, s) a
    // signature of the message: Q = r⁻¹·(s·R − e·G). Random signatures reach this case with
    // probability 2⁻¹²⁸; the verifier must still accept it, as aws-lc does.
    let g = Affine::from_uncompressed(&GENERATOR).expect("G");
    let message = b"x above n";
    let e = message_scalar(message).expect("a digest");
    let s = scalar(&limbs::to_be_bytes(&[12345, 678, 9, 1]));
    let mut found = 0;
    for offset in 1..200u64 {
        let x_value = limbs::add(&N, &[offset, 0, 0, 0]).0;
        let x = FieldElement::from_limbs(&x_value).expect("below p");
        let rhs = point::curve_rhs(&x).expect("b below p");
        // p ≡ 3 (mod 4): a square root is rhs^((p+1)/4), if rhs is a square at all.
        let y = power(&rhs, &limbs::add(&P, &[1, 0, 0, 0]).0, 2);
        if y.square() != rhs {
            continue;
        }
        let r_point = Affine { x, y };
        let r = scalar(&limbs::to_be_bytes(&[offset, 0, 0, 0]));
        let s_r = Jacobian::from_affine(&product(&r_point, &s).expect("finite"));
        let e_g = product(&g, &e).expect("finite").neg();
        let q = product(
            &s_r.add_affine(&e_g).to_affine().expect("finite"),
            &r.invert_vartime(),
        )
        .expect("finite");
        let point = uncompressed(&q);
        let key = KeyMultiples::new(&point).expect("a curve point");
        let mut signature = [0; 64];
        signature[..32].copy_from_slice(&r.to_be_bytes());
        signature[32..].copy_from_slice(&s.to_be_bytes());
        assert!(
            verify_both(&key, &point, message, &signature),
            "offset {offset}"
        );
        signature[31] ^= 2;
        assert!(!verify_both(&key, &point, message, &signature));
        found += 1;
        if found == 3 {
            break;
        }
    }
    assert_eq!(found, 3, "half of all x have a point");
}

/// `x^(e / 2^shift)`, square-and-multiply from the top bit.
fn power(x: &FieldElement, e: &Limbs, shift: u32) -> FieldElement {
    let mut acc = FieldElement::ONE;
    for bit in (shift as usize..256).rev() {
        acc = acc.square();
        if (e[bit / 64] >> (bit % 64)) & 1 == 1 {
            acc = acc.mul(x);
        }
    }
    acc
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn agrees_with_aws_lc_on_arbitrary_inputs(
        message in proptest::collection::vec(any::<u8>(), 0..400),
        corruption in proptest::collection::vec((0usize..64, any::<u8>()), 0..3),
        raw in proptest::collection::vec(any::<u8>(), 64),
    ) {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("keygen");
        let point = pair.public_key().as_ref().to_vec();
        let key = KeyMultiples::new(&point).expect("a curve point");
        let mut signature = pair.sign(&rng, &message).expect("sign").as_ref().to_vec();
        for (at, xor) in &corruption {
            signature[*at] ^= xor;
        }
        let changed = corruption.iter().any(|(_, xor)| *xor != 0);
        let ours = verify_both(&key, &point, &message, &signature);
        prop_assert!(ours || changed);
        verify_both(&key, &point, &message, &raw);
    }
}
