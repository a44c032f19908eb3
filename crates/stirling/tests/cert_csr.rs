//! `stirling cert csr`: the request it writes lints clean and carries the given key.

use std::path::PathBuf;
use std::process::{Command, Output};

fn stirling(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stirling"))
        .args(args)
        .output()
        .expect("stirling runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stirling-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn writes_a_csr_that_lints_clean_and_reuses_the_key() {
    let dir = temp_dir("cert-csr");
    let key = dir.join("key.pem");
    let req = dir.join("req.pem");
    let (key_s, req_s) = (key.to_string_lossy(), req.to_string_lossy());
    let out = stirling(&[
        "cert",
        "csr",
        "--spc",
        "818H",
        "--key-out",
        &key_s,
        "--out",
        &req_s,
        "--crl-uri",
        "https://authenticate-api.iconectiv.com/download/v1/crl",
        "--sti-pa-crl-issuer",
        "--common-name",
        "SHAKEN 818H",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key)
            .expect("key written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let lint = stirling(&["cert", "lint", &req_s]);
    assert_eq!(lint.status.code(), Some(0), "{lint:?}");
    assert_eq!(String::from_utf8_lossy(&lint.stdout), "");

    // Signing again with the same key gives the same public key.
    let again = stirling(&["cert", "csr", "--spc", "818H", "--key", &key_s]);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    let pubkey = |pem: &[u8]| {
        let path = dir.join("tmp.pem");
        std::fs::write(&path, pem).expect("write");
        let out = Command::new("openssl")
            .args(["req", "-noout", "-pubkey", "-in"])
            .arg(&path)
            .output()
            .expect("openssl runs");
        assert!(out.status.success(), "{out:?}");
        out.stdout
    };
    let first = pubkey(&std::fs::read(&req).expect("read csr"));
    let second = pubkey(&again.stdout);
    assert_eq!(first, second);

    // The key is never overwritten.
    let clobber = stirling(&["cert", "csr", "--spc", "818H", "--key-out", &key_s]);
    assert_eq!(clobber.status.code(), Some(2), "{clobber:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rejects_bad_spc_and_missing_key_source() {
    let out = stirling(&[
        "cert",
        "csr",
        "--spc",
        "12 4",
        "--key-out",
        "/nonexistent/k",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = stirling(&["cert", "csr", "--spc", "1234"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
