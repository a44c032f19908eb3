//! The 75 zlint SHAKEN certificates (`tests/data/zlint/`) against the verdicts upstream's
//! tests asserted at zlint commit `a7f11f7` (`EXPECTED.md` in this folder, copied from
//! `vectors/certs/zlint/EXPECTED.md`). Upstream asserts only the listed rules per file, so
//! this checks exactly those rules' outcomes, not that nothing else fires.

use pki::{Document, Report, Role, Severity, Verdict};

use Expect::*;

/// What a rule must do on a file.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// It runs on the file (pass or fail).
    Applies,
    /// It runs and reports an error.
    Error,
    /// It does not run.
    NotApplicable,
    /// It runs and reports a notice.
    Notice,
    /// It runs and finds nothing.
    Pass,
    /// It runs and reports a warning.
    Warn,
}

const EE: Role = Role::EndEntity;
const INT: Role = Role::Intermediate;
const ROOT: Role = Role::Root;

struct Row {
    file: &'static str,
    pem: &'static [u8],
    role: Role,
    expect: &'static [(&'static str, Expect)],
}

macro_rules! row {
    ($file:literal, $role:expr, $expect:expr) => {
        Row {
            file: $file,
            pem: include_bytes!(concat!("data/zlint/", $file)),
            role: $role,
            expect: $expect,
        }
    };
}

/// One row per file of `EXPECTED.md`. Two files have no upstream test; their rows are ours:
/// `shakenCRLPointGet.pem` (a non-STI-PA CRL URL: structurally fine, noticed by
/// `n_stirling_crl_distribution_sti_pa`) and `shakenTNAuthWithoutSPC.pem` (the inferred
/// `e_atis_tn_auth_list` error). Roles: `CA` rows (empty subject and issuer, not
/// self-signed) are intermediates.
const ROWS: &[Row] = &[
    row!(
        "shakenBasicConstNo.pem",
        EE,
        &[("e_atis_basic_constraints", Error)]
    ),
    row!(
        "shakenBasicConstNotCritical.pem",
        EE,
        &[("e_atis_basic_constraints", Error)]
    ),
    row!(
        "shakenCP1_1Cert.pem",
        EE,
        &[
            ("e_cp_1_1_key_size", Pass),
            ("e_cp_1_4_key_size", NotApplicable)
        ]
    ),
    row!(
        "shakenCP1_2Cert.pem",
        EE,
        &[
            ("e_cp_1_1_key_size", Pass),
            ("e_cp_1_4_key_size", NotApplicable)
        ]
    ),
    row!(
        "shakenCP1_3Cert.pem",
        EE,
        &[
            ("e_cp_1_1_key_size", Pass),
            ("e_cp_1_4_key_size", NotApplicable)
        ]
    ),
    row!(
        "shakenCP1_4Cert.pem",
        EE,
        &[
            ("e_cp_1_1_key_size", NotApplicable),
            ("e_cp_1_4_key_size", Pass)
        ]
    ),
    row!("shakenCP1_4WSHA1.pem", EE, &[("e_cp_1_4_key_size", Error)]),
    row!("shakenCP1_4WSHA384.pem", EE, &[("e_cp_1_4_key_size", Pass)]),
    row!(
        "shakenCRLPointFile.pem",
        EE,
        &[
            ("e_atis_crl_distribution_not_reachable", NotApplicable),
            ("e_atis_crl_distribution", Error)
        ]
    ),
    row!(
        "shakenCRLPointGet.pem",
        EE,
        &[
            ("e_atis_crl_distribution", Pass),
            ("n_stirling_crl_distribution_sti_pa", Notice)
        ]
    ),
    row!(
        "shakenCRLPointMultiple.pem",
        EE,
        &[
            ("e_atis_crl_distribution_not_reachable", NotApplicable),
            ("e_atis_crl_distribution", Error)
        ]
    ),
    row!(
        "shakenCRLPointUnreachable.pem",
        EE,
        &[("e_atis_crl_distribution_not_reachable", NotApplicable)]
    ),
    row!(
        "shakenCa.pem",
        INT,
        &[
            ("e_atis_ca_authority_key_identifier", Pass),
            ("e_atis_ca_certificate_policies", Pass),
            ("n_atis_ca_certificate_policy_critical", Applies),
            ("n_atis_ca_certificate_policy_critical", Pass),
            ("e_atis_ca_crl_distribution", Pass),
            ("e_atis_ca_extension_unknown", Pass),
            ("e_atis_ca_issuer_dn", Pass),
            ("e_us_cp_ca_key_usage_crl_sign", Pass),
            ("e_atis_ca_key_usage", Pass),
            ("e_atis_ca_serial_number", Pass),
            ("e_atis_ca_signature_algorithm", Pass),
            ("e_atis_ca_subject_cn", Pass),
            ("e_atis_ca_subject_key_identifier", Pass),
            ("e_atis_ca_subject_public_key", Pass),
            ("e_atis_ca_subject", Pass),
            ("e_atis_ca_version", Pass),
            ("e_atis_root_authority_key_identifier", NotApplicable)
        ]
    ),
    row!(
        "shakenCaCertPolicyCritical.pem",
        INT,
        &[("n_atis_ca_certificate_policy_critical", Notice)]
    ),
    row!(
        "shakenCaCertPolicyMultiple.pem",
        INT,
        &[("e_atis_ca_certificate_policies", Error)]
    ),
    row!(
        "shakenCaCertPolicyNo.pem",
        INT,
        &[("n_atis_ca_certificate_policy_critical", NotApplicable)]
    ),
    row!(
        "shakenCaEmpty.pem",
        INT,
        &[
            ("e_atis_ca_authority_key_identifier", Error),
            ("e_atis_ca_certificate_policies", Error),
            ("e_atis_ca_crl_distribution", Error),
            ("e_atis_ca_subject_key_identifier", Error)
        ]
    ),
    row!(
        "shakenCaExtOdd.pem",
        INT,
        &[("e_atis_ca_extension_unknown", Error)]
    ),
    row!(
        "shakenCaIssuerWithoutC.pem",
        INT,
        &[("e_atis_ca_issuer_dn", Error)]
    ),
    row!(
        "shakenCaIssuerWithoutCN.pem",
        INT,
        &[("e_atis_ca_issuer_dn", Error)]
    ),
    row!(
        "shakenCaIssuerWithoutO.pem",
        INT,
        &[("e_atis_ca_issuer_dn", Error)]
    ),
    row!(
        "shakenCaKeyAlgP384.pem",
        INT,
        &[("e_atis_ca_subject_public_key", Error)]
    ),
    row!(
        "shakenCaKeyAlgRSA.pem",
        INT,
        &[("e_atis_ca_subject_public_key", Error)]
    ),
    row!(
        "shakenCaKeyUsageCertSignCRLSignDigSign.pem",
        INT,
        &[("e_atis_ca_key_usage", Pass)]
    ),
    row!(
        "shakenCaKeyUsageCertSignDigSign.pem",
        INT,
        &[("e_atis_ca_key_usage", Pass)]
    ),
    row!(
        "shakenCaKeyUsageOddFlag.pem",
        INT,
        &[("e_atis_ca_key_usage", Error)]
    ),
    row!(
        "shakenCaKeyUsageWCRL.pem",
        INT,
        &[
            ("e_us_cp_ca_key_usage_crl_sign", Error),
            ("e_atis_ca_key_usage", Pass)
        ]
    ),
    row!(
        "shakenCaKeyUsageWithoutCertSign.pem",
        INT,
        &[("e_atis_ca_key_usage", Error)]
    ),
    row!(
        "shakenCaSerialLess64bit.pem",
        INT,
        &[("e_atis_ca_serial_number", Error)]
    ),
    row!(
        "shakenCaSerialNegative.pem",
        INT,
        &[("e_atis_ca_serial_number", Error)]
    ),
    row!(
        "shakenCaSigAlgSHA1.pem",
        INT,
        &[("e_atis_ca_signature_algorithm", Error)]
    ),
    row!(
        "shakenCaSubject.pem",
        INT,
        &[("w_shaken_ca_subject_rdn_unknown", Pass)]
    ),
    row!(
        "shakenCaSubjectCN.pem",
        INT,
        &[("e_atis_ca_subject_cn", Error)]
    ),
    row!(
        "shakenCaSubjectWEmail.pem",
        INT,
        &[("w_shaken_ca_subject_rdn_unknown", Warn)]
    ),
    row!(
        "shakenCaSubjectWithoutC.pem",
        INT,
        &[("e_atis_ca_subject", Error)]
    ),
    row!(
        "shakenCaSubjectWithoutCN.pem",
        INT,
        &[("e_atis_ca_subject", Error)]
    ),
    row!(
        "shakenCaSubjectWithoutO.pem",
        INT,
        &[("e_atis_ca_subject", Error)]
    ),
    row!("shakenCaVersion2.pem", INT, &[("e_atis_ca_version", Error)]),
    row!(
        "shakenCert.pem",
        EE,
        &[
            ("e_atis_authority_key_identifier", Pass),
            ("e_atis_basic_constraints", Pass),
            ("n_atis_ca_certificate_policy_critical", NotApplicable),
            ("e_atis_certificate_policies", Pass),
            ("n_atis_certificate_policy_critical", Applies),
            ("n_atis_certificate_policy_critical", Pass),
            ("e_atis_crl_distribution_not_reachable", NotApplicable),
            ("e_atis_crl_distribution", Pass),
            ("e_atis_extension_unknown", Pass),
            ("e_atis_issuer_dn", Pass),
            ("e_atis_key_usage", Pass),
            ("e_atis_root_authority_key_identifier", NotApplicable),
            ("e_atis_serial_number", Pass),
            ("e_atis_signature_algorithm", Pass),
            ("e_atis_subject_cn", Pass),
            ("e_atis_subject_key_identifier", Pass),
            ("e_atis_subject_public_key", Pass),
            ("e_atis_subject", Pass),
            ("e_atis_tn_auth_list", Pass),
            ("e_atis_version", Pass)
        ]
    ),
    row!(
        "shakenCertEmpty.pem",
        EE,
        &[
            ("e_atis_crl_distribution", Error),
            ("e_atis_key_usage", Error),
            ("e_atis_subject_cn", Error),
            ("e_atis_subject_key_identifier", Error),
            ("e_atis_tn_auth_list", Error)
        ]
    ),
    row!(
        "shakenCertPolicyCritical.pem",
        EE,
        &[("n_atis_certificate_policy_critical", Notice)]
    ),
    row!(
        "shakenCertPolicyIncorrect.pem",
        EE,
        &[("e_atis_certificate_policies", Error)]
    ),
    row!(
        "shakenCertPolicyMultiple.pem",
        EE,
        &[("e_atis_certificate_policies", Error)]
    ),
    row!(
        "shakenCertPolicyNo.pem",
        EE,
        &[
            ("e_atis_certificate_policies", Error),
            ("n_atis_certificate_policy_critical", NotApplicable)
        ]
    ),
    row!("shakenCertV2.pem", EE, &[("e_atis_version", Error)]),
    row!(
        "shakenExtOdd.pem",
        EE,
        &[("e_atis_extension_unknown", Error)]
    ),
    row!(
        "shakenIssuerWithoutC.pem",
        EE,
        &[("e_atis_issuer_dn", Error)]
    ),
    row!(
        "shakenIssuerWithoutCN.pem",
        EE,
        &[("e_atis_issuer_dn", Error)]
    ),
    row!(
        "shakenIssuerWithoutO.pem",
        EE,
        &[("e_atis_issuer_dn", Error)]
    ),
    row!(
        "shakenKeyAlgP384.pem",
        EE,
        &[("e_atis_subject_public_key", Error)]
    ),
    row!(
        "shakenKeyAlgRSA.pem",
        EE,
        &[("e_atis_subject_public_key", Error)]
    ),
    row!(
        "shakenKeyUsageNotCritical.pem",
        EE,
        &[("e_atis_key_usage", Error)]
    ),
    row!("shakenKeyUsageOdd.pem", EE, &[("e_atis_key_usage", Error)]),
    row!(
        "shakenRoot.pem",
        ROOT,
        &[
            ("n_atis_ca_certificate_policy_critical", NotApplicable),
            ("e_atis_root_authority_key_identifier", Applies),
            ("e_atis_root_authority_key_identifier", Pass),
            ("e_atis_root_certificate_policies", Pass),
            ("e_atis_root_extension_unknown", Pass)
        ]
    ),
    row!(
        "shakenRootAKIWrong.pem",
        ROOT,
        &[("e_atis_root_authority_key_identifier", Error)]
    ),
    row!(
        "shakenRootCertPolicy.pem",
        ROOT,
        &[("e_atis_root_certificate_policies", Error)]
    ),
    row!(
        "shakenRootExtOdd.pem",
        ROOT,
        &[("e_atis_root_extension_unknown", Error)]
    ),
    row!(
        "shakenRootNoAKI.pem",
        ROOT,
        &[("e_atis_root_authority_key_identifier", NotApplicable)]
    ),
    row!(
        "shakenSerialNumberLess64bit.pem",
        EE,
        &[("e_atis_serial_number", Error)]
    ),
    row!(
        "shakenSerialNumberNegative.pem",
        EE,
        &[("e_atis_serial_number", Error)]
    ),
    row!(
        "shakenSerialNumberPadded.pem",
        EE,
        &[("e_atis_serial_number", Error)]
    ),
    row!(
        "shakenSigAlgSHA1.pem",
        EE,
        &[
            ("e_cp_1_1_key_size", Error),
            ("e_atis_signature_algorithm", Error)
        ]
    ),
    row!(
        "shakenSubject.pem",
        EE,
        &[
            ("e_us_cp_ambiguous_identifier", Pass),
            ("e_atis_authority_key_identifier", Error),
            ("w_cp_1_3_subject_email", Pass),
            ("w_shaken_subject_rdn_unknown", Pass),
            ("e_us_cp_subject_sn", Pass)
        ]
    ),
    row!(
        "shakenSubjectAmbiguous.pem",
        EE,
        &[("e_us_cp_ambiguous_identifier", Error)]
    ),
    row!("shakenSubjectCN.pem", EE, &[("e_atis_subject_cn", Error)]),
    row!(
        "shakenSubjectWEmail.pem",
        EE,
        &[
            ("w_cp_1_3_subject_email", Warn),
            ("w_shaken_subject_rdn_unknown", Warn)
        ]
    ),
    row!(
        "shakenSubjectWSerialNumberMultiple.pem",
        EE,
        &[("e_us_cp_subject_sn", Error)]
    ),
    row!(
        "shakenSubjectWithoutC.pem",
        EE,
        &[("e_atis_subject", Error)]
    ),
    row!(
        "shakenSubjectWithoutCN.pem",
        EE,
        &[("e_atis_subject", Error)]
    ),
    row!(
        "shakenSubjectWithoutO.pem",
        EE,
        &[("e_atis_subject", Error)]
    ),
    row!(
        "shakenSubjectWithoutSerialNumber.pem",
        EE,
        &[("e_us_cp_subject_sn", Error)]
    ),
    row!(
        "shakenTNAuthEmpty.pem",
        EE,
        &[("e_atis_tn_auth_list", Error)]
    ),
    row!(
        "shakenTNAuthEmptyString.pem",
        EE,
        &[("e_atis_tn_auth_list", Error)]
    ),
    row!(
        "shakenTNAuthMultiple.pem",
        EE,
        &[("e_atis_tn_auth_list", Error)]
    ),
    row!(
        "shakenTNAuthWithoutSPC.pem",
        EE,
        &[("e_atis_tn_auth_list", Error)]
    ),
];

/// Known divergences from `EXPECTED.md`: (file, rule, why). Each must still diverge, so a
/// fix shows up as a failure here until its entry is removed.
const DIVERGENCES: &[(&str, &str, &str)] = &[];

fn report(row: &Row) -> Report {
    let mut reports = pki::lint(row.pem)
        .map_err(|e| format!("{}: {e}", row.file))
        .expect("every vector lints");
    assert_eq!(reports.len(), 1, "{}: one certificate per file", row.file);
    reports.remove(0)
}

fn meets(verdict: Verdict, expect: Expect) -> bool {
    match expect {
        Applies => verdict != Verdict::NotApplicable,
        Error => verdict == Verdict::Fail(Severity::Error),
        NotApplicable => verdict == Verdict::NotApplicable,
        Notice => verdict == Verdict::Fail(Severity::Notice),
        Pass => verdict == Verdict::Pass,
        Warn => verdict == Verdict::Fail(Severity::Warn),
    }
}

#[test]
fn every_file_has_a_row() {
    assert_eq!(ROWS.len(), 75);
    let mut files: Vec<_> = ROWS.iter().map(|r| r.file).collect();
    files.sort_unstable();
    files.dedup();
    assert_eq!(files.len(), 75);
}

#[test]
fn zlint_vectors_match_expected() {
    let mut failures = Vec::new();
    let mut diverged = Vec::new();
    for row in ROWS {
        let report = report(row);
        if report.document() != Document::Certificate(row.role) {
            failures.push(format!("{}: linted as {}", row.file, report.document()));
        }
        for &(rule, expect) in row.expect {
            let verdict = report.verdict(rule);
            let known = DIVERGENCES
                .iter()
                .find(|(f, r, _)| *f == row.file && *r == rule);
            match (meets(verdict, expect), known) {
                (true, None) => {}
                (false, Some(_)) => diverged.push((row.file, rule)),
                (true, Some(_)) => failures.push(format!(
                    "{}: {rule} now meets {expect:?}; remove it from DIVERGENCES",
                    row.file
                )),
                (false, None) => failures.push(format!(
                    "{}: {rule} expected {expect:?}, got {verdict:?}; findings: {:?}",
                    row.file,
                    report.findings()
                )),
            }
        }
    }
    for (file, rule, _) in DIVERGENCES {
        if !diverged.contains(&(file, rule)) && failures.iter().all(|f| !f.starts_with(file)) {
            failures.push(format!("{file}: divergence on {rule} is not in the table"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Rule → roles it runs on, from `EXPECTED.md` "Applicability of each lint", checked on the
/// reference leaf, intermediate and root (`shakenCert.pem`, `shakenCa.pem`,
/// `shakenRoot.pem`). The three custom-applicability rules are listed for the roles whose
/// reference file carries the extension they judge.
const APPLICABILITY: &[(&str, &[Role])] = &[
    ("e_atis_authority_key_identifier", &[EE]),
    ("e_atis_certificate_policies", &[EE]),
    ("e_atis_crl_distribution", &[EE]),
    ("e_atis_extension_unknown", &[EE]),
    ("e_atis_issuer_dn", &[EE]),
    ("e_atis_key_usage", &[EE]),
    ("e_atis_serial_number", &[EE]),
    ("e_atis_signature_algorithm", &[EE]),
    ("e_atis_subject_cn", &[EE]),
    ("e_atis_subject_key_identifier", &[EE]),
    ("e_atis_subject_public_key", &[EE]),
    ("e_atis_subject", &[EE]),
    ("e_atis_tn_auth_list", &[EE]),
    ("e_atis_version", &[EE]),
    ("e_us_cp_ambiguous_identifier", &[EE]),
    ("e_us_cp_subject_sn", &[EE]),
    ("w_cp_1_3_subject_email", &[EE]),
    ("w_shaken_subject_rdn_unknown", &[EE]),
    ("e_atis_ca_authority_key_identifier", &[INT]),
    ("e_atis_ca_certificate_policies", &[INT]),
    ("e_atis_ca_crl_distribution", &[INT]),
    ("e_atis_ca_extension_unknown", &[INT]),
    ("e_atis_ca_issuer_dn", &[INT, ROOT]),
    ("e_atis_ca_key_usage", &[INT, ROOT]),
    ("e_atis_ca_serial_number", &[INT, ROOT]),
    ("e_atis_ca_signature_algorithm", &[INT, ROOT]),
    ("e_atis_ca_subject_cn", &[INT, ROOT]),
    ("e_atis_ca_subject_key_identifier", &[INT, ROOT]),
    ("e_atis_ca_subject_public_key", &[INT, ROOT]),
    ("e_atis_ca_subject", &[INT, ROOT]),
    ("e_atis_ca_version", &[INT, ROOT]),
    ("e_us_cp_ca_key_usage_crl_sign", &[INT, ROOT]),
    ("w_shaken_ca_subject_rdn_unknown", &[INT, ROOT]),
    ("e_atis_root_certificate_policies", &[ROOT]),
    ("e_atis_root_extension_unknown", &[ROOT]),
    ("e_atis_basic_constraints", &[EE, INT, ROOT]),
    ("n_atis_certificate_policy_critical", &[EE]),
    ("n_atis_ca_certificate_policy_critical", &[INT]),
    ("e_atis_root_authority_key_identifier", &[ROOT]),
];

/// Upstream's network lints `e_atis_crl_distribution_not_reachable` (leaf) and
/// `e_atis_ca_crl_distribution_not_reachable` (intermediate) fetch the CRL. `pki` does no
/// I/O, so they never apply here: the one known divergence from the applicability table.
const NETWORK_RULES: &[(&str, Role)] = &[
    ("e_atis_crl_distribution_not_reachable", EE),
    ("e_atis_ca_crl_distribution_not_reachable", INT),
];

#[test]
fn reference_certificates_run_exactly_their_rules() {
    let mut failures = Vec::new();
    for (file, role) in [
        ("shakenCert.pem", EE),
        ("shakenCa.pem", INT),
        ("shakenRoot.pem", ROOT),
    ] {
        let row = ROWS.iter().find(|r| r.file == file).expect("reference row");
        let report = report(row);
        assert_eq!(report.document(), Document::Certificate(role), "{file}");
        for (rule, roles) in APPLICABILITY {
            let applied = report.verdict(rule) != Verdict::NotApplicable;
            if applied != roles.contains(&role) {
                failures.push(format!("{file}: {rule} applied={applied}"));
            }
        }
        for (rule, _) in NETWORK_RULES {
            assert_eq!(
                report.verdict(rule),
                Verdict::NotApplicable,
                "{file}: {rule}"
            );
        }
        // The reference certificates conform, apart from the STI-PA notice: none of them
        // points at anything but the iconectiv CRL, so not even that.
        assert_eq!(report.findings(), &[], "{file}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
