//! `stirling passport …` end to end: exit codes, JSON output, and signatures checked by
//! implementations we did not write (Python `cryptography`, `openssl dgst`).

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../passport/tests/data")
        .join(name)
}

fn stirling(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stirling"))
        .args(args)
        .output()
        .expect("run stirling")
}

fn sign(extra: &[&str]) -> String {
    let key = data("sp.priv");
    let mut args = vec![
        "passport",
        "sign",
        "--key",
        key.to_str().unwrap(),
        "--x5u",
        "https://cr.example.net/cr/1234/sp.pem",
        "--attest",
        "B",
        "--orig",
        "+1 (215) 555-0121",
        "--dest",
        "tel:+12155550131,12155550132",
    ];
    args.extend_from_slice(extra);
    let out = stirling(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = String::from_utf8(out.stdout).unwrap();
    assert!(
        value.ends_with('\n') && value.lines().count() == 1,
        "one line: {value:?}"
    );
    value.trim_end().to_owned()
}

fn verify(identity: &str, extra: &[&str]) -> (i32, Value) {
    let cert = data("sp.pem");
    let mut args = vec![
        "passport",
        "verify",
        "--identity",
        identity,
        "--cert",
        cert.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = stirling(&args);
    let code = out.status.code().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, json)
}

#[test]
fn sign_prints_an_identity_header_that_verify_accepts() {
    let value = sign(&[
        "--iat",
        "1700000000",
        "--origid",
        "4437c7eb-8f7a-4f0e-a863-f53a0e60251a",
    ]);
    assert!(value.ends_with(";info=<https://cr.example.net/cr/1234/sp.pem>;alg=ES256;ppt=shaken"));
    let (code, json) = verify(
        &value,
        &[
            "--now",
            "1700000059",
            "--orig",
            "12155550121",
            "--dest",
            "2155550132",
        ],
    );
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["verstat"], "TN-Validation-Passed");
    assert_eq!(json["reason_code"], Value::Null);
    assert_eq!(json["claims"]["orig"]["tn"], "12155550121");
    assert_eq!(json["claims"]["dest"]["tn"][0], "12155550131");
    assert_eq!(
        json["claims"]["origid"],
        "4437c7eb-8f7a-4f0e-a863-f53a0e60251a"
    );
    assert_eq!(json["header"]["ppt"], "shaken");
}

#[test]
fn verify_reports_failures_with_code_and_exit_1() {
    let value = sign(&["--iat", "1700000000"]);
    let (code, json) = verify(&value, &["--now", "1700000061"]);
    assert_eq!(
        (code, &json["reason_code"]),
        (1, &Value::from(403)),
        "{json}"
    );
    assert_eq!(json["reason_text"], "Stale Date");
    assert_eq!(json["verstat"], "No-TN-Validation");

    let (code, json) = verify(&value, &["--now", "1700000000", "--orig", "12155550199"]);
    assert_eq!(
        (code, &json["reason_code"]),
        (1, &Value::from(438)),
        "{json}"
    );

    let tampered = value.replacen("eyJhdHRlc3QiOiJC", "eyJhdHRlc3QiOiJB", 1);
    assert_ne!(tampered, value);
    let (code, json) = verify(&tampered, &["--now", "1700000000"]);
    assert_eq!(
        (code, &json["reason_code"]),
        (1, &Value::from(438)),
        "{json}"
    );
    assert_eq!(json["verstat"], "TN-Validation-Failed");

    let (code, json) = verify("garbage", &[]);
    assert_eq!(
        (code, &json["reason_code"]),
        (1, &Value::from(436)),
        "{json}"
    );
}

#[test]
fn verify_accepts_the_libstirshaken_vectors_at_their_time() {
    let identity = std::fs::read_to_string(data("readme_identity_B.txt")).unwrap();
    let (code, json) = verify(&identity, &["--now", "1616442523"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["claims"]["attest"], "B");

    let alice_bob = std::fs::read_to_string(data("readme_passport_alice_bob.jwt")).unwrap();
    let value =
        format!("{alice_bob};info=<https://shaken.signalwire.cloud/sp.pem>;alg=ES256;ppt=shaken");
    let (code, json) = verify(&value, &["--now", "1615936245"]);
    assert_eq!(
        (code, &json["reason_code"]),
        (1, &Value::from(438)),
        "{json}"
    );
    assert_eq!(
        json["claims"]["orig"]["tn"], "Bob",
        "decoded for the operator"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = stirling(&[
        "passport",
        "verify",
        "--identity",
        "x",
        "--cert",
        "/nonexistent.pem",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = stirling(&["passport", "sign", "--attest", "D"]);
    assert_eq!(out.status.code(), Some(2));
    let key = data("sp.priv");
    let out = stirling(&[
        "passport",
        "sign",
        "--key",
        key.to_str().unwrap(),
        "--x5u",
        "https://a/b",
        "--attest",
        "A",
        "--orig",
        "anonymous",
        "--dest",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = stirling(&[
        "passport",
        "verify",
        "--identity",
        "x",
        "--cert",
        key.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a private key is not a certificate"
    );
}

#[test]
fn decode_pretty_prints_without_verifying() {
    let identity = std::fs::read_to_string(data("readme_identity_B.txt")).unwrap();
    let out = stirling(&["passport", "decode", &identity]);
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["header"]["x5u"],
        "https://shaken.signalwire.cloud/sp.pem"
    );
    assert_eq!(json["claims"]["iat"], 1616442523);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\n  \"claims\""),
        "pretty"
    );
    let out = stirling(&["passport", "decode", "not-a-jws"]);
    assert_eq!(out.status.code(), Some(1));
}

/// Python `cryptography` verifies our signature over the exact `header.payload` bytes.
#[test]
fn python_cryptography_verifies_our_signature() {
    let value = sign(&[]);
    let jws = value.split(';').next().unwrap();
    let script = r#"
import base64, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
jws, pub_path = sys.argv[1], sys.argv[2]
h, p, s = jws.split('.')
sig = base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))
assert len(sig) == 64, len(sig)
der = utils.encode_dss_signature(int.from_bytes(sig[:32], 'big'), int.from_bytes(sig[32:], 'big'))
key = serialization.load_pem_public_key(open(pub_path, 'rb').read())
key.verify(der, f'{h}.{p}'.encode(), ec.ECDSA(hashes.SHA256()))
try:
    key.verify(der, f'{h}.{p}x'.encode(), ec.ECDSA(hashes.SHA256()))
    sys.exit('tampered input verified')
except Exception:
    pass
print('ok')
"#;
    let out = Command::new("python3")
        .args(["-c", script, jws, data("sp.pub").to_str().unwrap()])
        .output()
        .expect("python3 is installed by scripts/test");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `openssl dgst -sha256 -verify` accepts our signature once converted to DER.
#[test]
fn openssl_verifies_our_signature() {
    use base64::Engine as _;
    let value = sign(&[]);
    let jws = value.split(';').next().unwrap();
    let (input, sig) = jws.rsplit_once('.').unwrap();
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (input_path, sig_path) = (dir.path().join("input"), dir.path().join("sig.der"));
    std::fs::write(&input_path, input).unwrap();
    std::fs::write(&sig_path, ecdsa_der(&sig[..32], &sig[32..])).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(data("sp.pub"))
        .arg("-signature")
        .arg(&sig_path)
        .arg(&input_path)
        .output()
        .expect("openssl is installed by scripts/test");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Verified OK",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `SEQUENCE { INTEGER r, INTEGER s }` from raw big-endian halves.
fn ecdsa_der(r: &[u8], s: &[u8]) -> Vec<u8> {
    fn integer(x: &[u8]) -> Vec<u8> {
        let x = &x[x.iter().position(|&b| b != 0).unwrap_or(x.len() - 1)..];
        let mut v = vec![0x02];
        if x[0] & 0x80 != 0 {
            v.push(x.len() as u8 + 1);
            v.push(0);
        } else {
            v.push(x.len() as u8);
        }
        v.extend_from_slice(x);
        v
    }
    let body = [integer(r), integer(s)].concat();
    let mut der = vec![0x30, body.len() as u8];
    der.extend(body);
    der
}
