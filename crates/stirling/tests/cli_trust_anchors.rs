//! `stirling passport verify --trust-anchors`: the signer's chain is validated at the
//! PASSporT's `iat`, and chain failures are 437.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use stirling_test::{TEST_TIME, TestPki};

fn stirling(args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_stirling"))
        .args(args)
        .output()
        .expect("run stirling");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), json)
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_owned()
}

fn real(name: &str) -> String {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../pki/tests/data/real")
        .join(name);
    p.to_str().unwrap().to_owned()
}

#[test]
fn a_chain_to_a_trusted_root_verifies_and_reports_the_spc() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let key = write(dir.path(), "leaf.key", &pki.leaf.key().serialize_pem());
    let chain = write(dir.path(), "chain.pem", &pki.chain_pem());
    let root = write(dir.path(), "root.pem", &pki.root.pem());
    let other_root = write(dir.path(), "other.pem", &TestPki::new().root.pem());
    let iat = TEST_TIME.to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_stirling"))
        .args([
            "passport",
            "sign",
            "--key",
            &key,
            "--x5u",
            "https://cr.example.net/1234.pem",
        ])
        .args([
            "--attest",
            "A",
            "--orig",
            "12155550121",
            "--dest",
            "12155550131",
            "--iat",
            &iat,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let identity = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let now = (TEST_TIME + 30).to_string();

    let (code, json) = stirling(&[
        "passport",
        "verify",
        "--identity",
        &identity,
        "--cert",
        &chain,
        "--now",
        &now,
        "--trust-anchors",
        &root,
    ]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["chain"]["spc"], "1234");
    assert_eq!(
        json["chain"]["fingerprint"].as_str().unwrap().len(),
        32 * 3 - 1
    );

    let (code, json) = stirling(&[
        "passport",
        "verify",
        "--identity",
        &identity,
        "--cert",
        &chain,
        "--now",
        &now,
        "--trust-anchors",
        &other_root,
    ]);
    assert_eq!(
        (code, &json["reason_code"]),
        (1, &Value::from(437)),
        "{json}"
    );
    assert_eq!(json["verstat"], "TN-Validation-Failed");
    assert!(
        json["detail"]
            .as_str()
            .unwrap()
            .contains("certificate chain"),
        "{json}"
    );

    // Several anchor files: the right one among them is enough.
    let (code, json) = stirling(&[
        "passport",
        "verify",
        "--identity",
        &identity,
        "--cert",
        &chain,
        "--now",
        &now,
        "--trust-anchors",
        &other_root,
        &root,
    ]);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn a_real_chain_is_validated_at_the_passport_time() {
    // A PASSporT signed by the libstirshaken test key, presented with TransNexus' real chain:
    // at a time the chain is valid, the chain passes and the signature fails (438, Failed);
    // today the chain has expired (437).
    let dir = tempfile::tempdir().unwrap();
    let body = std::fs::read_to_string(real("transnexus_leaf_shaken_8526.pem")).unwrap()
        + &std::fs::read_to_string(real("transnexus_issuing_ca5.pem")).unwrap();
    let chain = write(dir.path(), "chain.pem", &body);
    let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("../passport/tests/data/sp.priv");
    for (iat, want) in [(1_755_550_800u64, 438), (1_795_737_600, 437)] {
        let out = Command::new(env!("CARGO_BIN_EXE_stirling"))
            .args(["passport", "sign", "--key", key.to_str().unwrap()])
            .args(["--x5u", "https://cr.example.net/8526.pem", "--attest", "B"])
            .args([
                "--orig",
                "12155550121",
                "--dest",
                "12155550131",
                "--iat",
                &iat.to_string(),
            ])
            .output()
            .unwrap();
        let identity = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let (code, json) = stirling(&[
            "passport",
            "verify",
            "--identity",
            &identity,
            "--cert",
            &chain,
            "--now",
            &iat.to_string(),
            "--trust-anchors",
            &real("transnexus_root_ca2.pem"),
        ]);
        assert_eq!(
            (code, &json["reason_code"]),
            (1, &Value::from(want)),
            "{json}"
        );
        if want == 437 {
            assert!(
                json["detail"].as_str().unwrap().contains("expired"),
                "{json}"
            );
        } else {
            assert_eq!(json["detail"], "signature does not verify");
        }
    }
}

#[test]
fn unreadable_or_empty_anchor_files_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.pem", "");
    let chain = real("transnexus_leaf_shaken_8526.pem");
    for anchors in [empty.as_str(), "/nonexistent/anchors.pem"] {
        let (code, _) = stirling(&[
            "passport",
            "verify",
            "--identity",
            "x",
            "--cert",
            &chain,
            "--trust-anchors",
            anchors,
        ]);
        assert_eq!(code, 2, "{anchors}");
    }
}
