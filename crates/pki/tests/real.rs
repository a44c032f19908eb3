//! Production SHAKEN certificates (`tests/data/real/`) against the findings of the
//! shaken-pki-reports survey (zlint's current rule names, mapped to ours per the table at the
//! end of `tests/data/zlint/EXPECTED.md`). Certificates the survey found clean must lint clean:
//! a linter that flags good field certificates is not one we can ask operators to run.

use pki::{Document, Role, Severity, Verdict};

struct Row {
    file: &'static str,
    pem: &'static [u8],
    role: Role,
    /// Rules that must report an error; every other rule must report nothing at all.
    errors: &'static [&'static str],
    /// Warn- or notice-level rules that may also fire.
    others: &'static [&'static str],
}

macro_rules! row {
    ($file:literal, $role:expr, $errors:expr, $others:expr) => {
        Row {
            file: $file,
            pem: include_bytes!(concat!("data/real/", $file)),
            role: $role,
            errors: $errors,
            others: $others,
        }
    };
}

const ROWS: &[Row] = &[
    // Survey: none.
    row!("transnexus_leaf_shaken_8526.pem", Role::EndEntity, &[], &[]),
    row!("transnexus_issuing_ca5.pem", Role::Intermediate, &[], &[]),
    row!("transnexus_root_ca2.pem", Role::Root, &[], &[]),
    // Survey: none. CP 1.4 leaf signed ecdsa-with-SHA384 by a P-384 intermediate.
    row!("ctia_leaf_shaken_5807.pem", Role::EndEntity, &[], &[]),
    row!("ctia_intermediate_ca4.pem", Role::Intermediate, &[], &[]),
    // Survey: e_atis_subject_public_key_ca. Ours also reports the SHA-384 signature: a root
    // carries no certificatePolicies, so nothing tells us it was issued under CP 1.4.
    row!(
        "ctia_root_ca.pem",
        Role::Root,
        &[
            "e_atis_ca_subject_public_key",
            "e_atis_ca_signature_algorithm"
        ],
        &[]
    ),
    // Survey: e_atis_serial_number_size (63-bit serial), e_atis_ext_crl_distribution_struct.
    // ST in the subject is outside zlint a7f11f7's RDN list (a warning only).
    row!(
        "comcast_leaf_shaken_318J.pem",
        Role::EndEntity,
        &["e_atis_serial_number", "e_atis_ext_crl_distribution_struct"],
        &["w_shaken_subject_rdn_unknown"]
    ),
    // Survey: e_atis_ext_key_usage_ee, e_us_cp_subject_sn_shall, e_atis_subject_cn_spc. Ours
    // also has zlint a7f11f7's issuer-DN and unambiguous-name rules, which the survey's zlint
    // no longer runs.
    row!(
        "metaswitch_leaf_6581.pem",
        Role::EndEntity,
        &[
            "e_atis_key_usage",
            "e_us_cp_subject_sn",
            "e_atis_subject_cn",
            "e_atis_issuer_dn",
            "e_us_cp_ambiguous_identifier"
        ],
        &[]
    ),
];

#[test]
fn production_certificates_match_the_survey() {
    let mut failures = Vec::new();
    for row in ROWS {
        let mut reports = pki::lint(row.pem)
            .map_err(|e| format!("{}: {e}", row.file))
            .expect("every certificate lints");
        assert_eq!(reports.len(), 1, "{}", row.file);
        let report = reports.remove(0);
        if report.document() != Document::Certificate(row.role) {
            failures.push(format!("{}: linted as {}", row.file, report.document()));
        }
        for rule in row.errors {
            if report.verdict(rule) != Verdict::Fail(Severity::Error) {
                failures.push(format!("{}: {rule} did not report an error", row.file));
            }
        }
        for finding in report.findings() {
            if !row.errors.contains(&finding.rule) && !row.others.contains(&finding.rule) {
                failures.push(format!("{}: unexpected {finding}", row.file));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
