//! The five production chains of `tests/data/real/` (see its README), at pinned times.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::time::Duration;

use passport::UnixTime;
use pki::{CertificateChain, ChainError, ChainWarning, TrustAnchors};

/// 2025-08-18T21:00:00Z, the report date: every chain is valid.
const REPORT_TIME: u64 = 1_755_550_800;
/// 2026-11-27T00:00:00Z.
const LATER: u64 = 1_795_737_600;

struct Case {
    leaf: &'static [u8],
    intermediate: &'static [u8],
    root: &'static [u8],
    spc: &'static str,
    leaf_not_after: u64,
}

macro_rules! data {
    ($f:literal) => {
        include_bytes!(concat!("data/real/", $f))
    };
}

const CASES: [Case; 5] = [
    Case {
        leaf: data!("transnexus_leaf_shaken_8526.pem"),
        intermediate: data!("transnexus_issuing_ca5.pem"),
        root: data!("transnexus_root_ca2.pem"),
        spc: "8526",
        leaf_not_after: 1_757_605_885, // 2025-09-11T15:51:25Z
    },
    Case {
        leaf: data!("comcast_leaf_shaken_318J.pem"),
        intermediate: data!("comcast_intermediate_ca.pem"),
        root: data!("comcast_root_ca.pem"),
        spc: "318J",
        leaf_not_after: 1_757_488_337, // 2025-09-10T07:12:17Z
    },
    Case {
        leaf: data!("metaswitch_leaf_6581.pem"),
        intermediate: data!("metaswitch_issuing_1_2023.pem"),
        root: data!("metaswitch_root.pem"),
        spc: "6581",
        leaf_not_after: 1_802_687_577, // 2027-02-15T10:32:57Z
    },
    Case {
        leaf: data!("peeringhub_leaf_180L.pem"),
        intermediate: data!("peeringhub_intermediate_ca2.pem"),
        root: data!("peeringhub_root_ca.pem"),
        spc: "180L",
        leaf_not_after: 1_781_372_259, // 2026-06-13T17:37:39Z
    },
    Case {
        leaf: data!("ctia_leaf_shaken_5807.pem"),
        intermediate: data!("ctia_intermediate_ca4.pem"),
        root: data!("ctia_root_ca.pem"),
        spc: "5807",
        leaf_not_after: 1_770_148_027, // 2026-02-03T19:47:07Z
    },
];

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

fn body(case: &Case) -> Vec<u8> {
    [case.leaf, case.intermediate].concat()
}

#[test]
fn every_real_chain_verifies_at_the_report_date() {
    for case in &CASES {
        let anchors = TrustAnchors::from_pem(case.root).unwrap();
        let chain = CertificateChain::from_pem(&body(case)).unwrap();
        let verified = chain
            .verify(&anchors, at(REPORT_TIME), None)
            .unwrap_or_else(|e| panic!("{}: {e}", case.spc));
        assert_eq!(verified.spc().as_str(), case.spc);
        assert_eq!(
            verified.not_after().as_secs(),
            case.leaf_not_after,
            "{}",
            case.spc
        );
        assert!(verified.path_not_after() <= verified.not_after());
    }
}

#[test]
fn real_chains_fail_as_expired_later() {
    for case in &CASES {
        let anchors = TrustAnchors::from_pem(case.root).unwrap();
        let chain = CertificateChain::from_pem(&body(case)).unwrap();
        // The Metaswitch leaf is still valid on 2026-11-27; one day after its notAfter it is not.
        let time = if case.leaf_not_after > LATER {
            case.leaf_not_after + 86_400
        } else {
            LATER
        };
        assert_eq!(
            chain.verify(&anchors, at(time), None).unwrap_err(),
            ChainError::Expired {
                depth: 0,
                time: at(time),
                not_after: at(case.leaf_not_after),
            },
            "{}",
            case.spc
        );
    }
}

#[test]
fn metaswitch_still_verifies_on_2026_11_27() {
    let case = &CASES[2];
    let anchors = TrustAnchors::from_pem(case.root).unwrap();
    let chain = CertificateChain::from_pem(&body(case)).unwrap();
    let verified = chain.verify(&anchors, at(LATER), None).unwrap();
    // Its KeyUsage also has nonRepudiation and keyEncipherment: a warning, not a failure.
    assert!(
        verified
            .warnings()
            .iter()
            .any(|w| matches!(w, ChainWarning::EndEntityKeyUsageExtraBits { .. }))
    );
}

#[test]
fn one_second_before_not_before_is_not_yet_valid() {
    let case = &CASES[0];
    let anchors = TrustAnchors::from_pem(case.root).unwrap();
    let chain = CertificateChain::from_pem(&body(case)).unwrap();
    // Leaf notBefore 2024-09-11T15:51:26Z.
    let not_before = 1_726_069_886;
    assert_eq!(
        chain
            .verify(&anchors, at(not_before - 1), None)
            .unwrap_err(),
        ChainError::NotYetValid {
            depth: 0,
            time: at(not_before - 1),
            not_before: at(not_before)
        }
    );
    assert!(chain.verify(&anchors, at(not_before), None).is_ok());
    // notAfter itself is still inside the validity period (RFC 5280 §4.1.2.5).
    assert!(
        chain
            .verify(&anchors, at(CASES[0].leaf_not_after), None)
            .is_ok()
    );
}

#[test]
fn decoy_issuer_with_same_key_but_other_name_is_not_accepted() {
    let anchors = TrustAnchors::from_pem(data!("metaswitch_root.pem")).unwrap();
    let chain_body = [
        &data!("metaswitch_leaf_6581.pem")[..],
        &data!("metaswitch_issuing_1_2024.pem")[..],
    ]
    .concat();
    let chain = CertificateChain::from_pem(&chain_body).unwrap();
    assert_eq!(
        chain.verify(&anchors, at(REPORT_TIME), None).unwrap_err(),
        ChainError::UnknownIssuer {
            depth: 0,
            issuer: "CN=Metaswitch STI-CA SHAKEN Issuing 1".into()
        }
    );
    // With both issuing CAs in the body the right one is found and the decoy reported unused.
    let chain_body = [chain_body, data!("metaswitch_issuing_1_2023.pem").to_vec()].concat();
    let verified = CertificateChain::from_pem(&chain_body)
        .unwrap()
        .verify(&anchors, at(REPORT_TIME), None)
        .unwrap();
    assert!(
        verified
            .warnings()
            .contains(&ChainWarning::UnusedCertificates { count: 1 })
    );
}

#[test]
fn wrong_anchor_and_sti_pa_root_are_unknown_issuers() {
    let chain = CertificateChain::from_pem(&body(&CASES[0])).unwrap();
    for root in [
        &data!("comcast_root_ca.pem")[..],
        &data!("STI-PA_ROOT.pem")[..],
    ] {
        let anchors = TrustAnchors::from_pem(root).unwrap();
        assert!(matches!(
            chain.verify(&anchors, at(REPORT_TIME), None),
            Err(ChainError::UnknownIssuer { depth: 1, .. })
        ));
    }
    let err = chain
        .verify(&TrustAnchors::new(), at(REPORT_TIME), None)
        .unwrap_err();
    assert!(matches!(err, ChainError::UnknownIssuer { depth: 1, .. }));
}

#[test]
fn all_roots_as_one_anchor_set() {
    let all: Vec<u8> = CASES.iter().flat_map(|c| c.root.to_vec()).collect();
    let anchors = TrustAnchors::from_pem(&all).unwrap();
    assert_eq!(anchors.len(), 5);
    for case in &CASES {
        let chain = CertificateChain::from_pem(&body(case)).unwrap();
        assert_eq!(
            chain
                .verify(&anchors, at(REPORT_TIME), None)
                .unwrap()
                .spc()
                .as_str(),
            case.spc
        );
    }
}

#[test]
fn leaf_key_verifies_an_es256_signature_shape() {
    // The exposed key is the leaf's P-256 key: a 64-byte R‖S signature over other data fails,
    // and the SPKI is the leaf's.
    let case = &CASES[0];
    let anchors = TrustAnchors::from_pem(case.root).unwrap();
    let verified = CertificateChain::from_pem(&body(case))
        .unwrap()
        .verify(&anchors, at(REPORT_TIME), None)
        .unwrap();
    assert!(verified.public_key().verify_sig(b"x", &[1u8; 64]).is_err());
    // standards.md §3.1 / the shared README: the extension value of SHAKEN 8526.
    assert_eq!(
        verified.tn_auth_list_der(),
        &[0x30, 0x08, 0xA0, 0x06, 0x16, 0x04, b'8', b'5', b'2', b'6']
    );
    assert_eq!(verified.spki_der()[0], 0x30);
    assert_eq!(verified.spki_der().len(), 91);
}

#[test]
fn truncated_and_altered_bodies() {
    let case = &CASES[0];
    let anchors = TrustAnchors::from_pem(case.root).unwrap();
    let chain = CertificateChain::from_pem(&body(case)).unwrap();
    let leaf = chain.certificates()[0].as_ref().to_vec();
    let intermediate = chain.certificates()[1].clone();

    // One bit of the leaf's signature flipped (last byte of the DER is inside the signature).
    let mut bad = leaf.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let altered = CertificateChain::from_der(vec![bad.into(), intermediate.clone()]).unwrap();
    assert_eq!(
        altered.verify(&anchors, at(REPORT_TIME), None).unwrap_err(),
        ChainError::BadSignature { depth: 0 }
    );

    let truncated =
        CertificateChain::from_der(vec![leaf[..leaf.len() - 1].to_vec().into()]).unwrap();
    assert!(matches!(
        truncated.verify(&anchors, at(REPORT_TIME), None),
        Err(ChainError::Malformed { index: 0, .. })
    ));
    assert!(matches!(
        CertificateChain::from_pem(b"no pem here"),
        Err(ChainError::Malformed { .. })
    ));
}
