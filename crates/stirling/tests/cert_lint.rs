//! `stirling cert lint` as a user runs it: output lines and exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

fn vector(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../pki/tests/data/zlint/{name}"))
}

fn lint(path: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stirling"))
        .args(["cert", "lint"])
        .arg(path)
        .output()
        .expect("stirling runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn conformant_leaf_prints_nothing_and_exits_0() {
    let out = lint(&vector("shakenCert.pem"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout(&out), "");
}

#[test]
fn errors_exit_1_with_one_line_per_finding() {
    let out = lint(&vector("shakenCertEmpty.pem"));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l == "error e_atis_tn_auth_list: tnauthlist extension is absent"),
        "{text}"
    );
    for line in text.lines() {
        let (head, _) = line.split_once(": ").expect("severity rule: text");
        let (severity, rule) = head.split_once(' ').expect("severity then rule");
        assert!(["error", "warn", "notice"].contains(&severity), "{line}");
        assert!(!rule.is_empty() && !rule.contains(' '), "{line}");
    }
}

#[test]
fn notices_alone_exit_0() {
    // Conformant apart from a CRL URL that is not the STI-PA's.
    let out = lint(&vector("shakenCRLPointGet.pem"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        stdout(&out),
        "notice n_stirling_crl_distribution_sti_pa: crl distribution point \
         \"http://crls.pki.goog/gts1c3/QOvJ0N1sT2A.crl\" is not the STI-PA crl (production or \
         staging)\n"
    );
}

#[test]
fn warnings_are_printed() {
    let out = lint(&vector("shakenSubjectWEmail.pem"));
    let text = stdout(&out);
    assert!(text.contains("warn w_cp_1_3_subject_email: "), "{text}");
    assert!(
        text.contains("warn w_shaken_subject_rdn_unknown: "),
        "{text}"
    );
}

#[test]
fn several_blocks_get_headers() {
    let dir = std::env::temp_dir().join(format!("stirling-cert-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("chain.pem");
    let chain = [
        std::fs::read(vector("shakenCa.pem")).expect("read"),
        std::fs::read(vector("shakenRoot.pem")).expect("read"),
    ]
    .concat();
    std::fs::write(&path, chain).expect("write");
    let out = lint(&path);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        stdout(&out),
        "# block 1: intermediate ca certificate\n# block 2: root ca certificate\n"
    );
}

#[test]
fn unreadable_or_unlintable_files_exit_2() {
    let out = lint(&vector("does-not-exist.pem"));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = lint(&vector("README.md"));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_stirling"))
        .args(["cert", "lint"])
        .output()
        .expect("stirling runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
