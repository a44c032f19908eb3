//! CSR rules (`standards.md` §3.3): PKCS#10 v1, P-256 key signed ecdsa-with-SHA256, and a
//! non-critical TNAuthList of one SPC in the extensionRequest; optionally basicConstraints
//! CA:FALSE and a CRL distribution point. zlint has no CSR lints, so these ids are ours.

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{ParsedExtension, X509Extension};
use x509_parser::x509::X509Version;

use super::check::{self, oid};
use super::{Document, Report};
use crate::TnAuthList;

/// Lints a parsed certification request.
pub(crate) fn lint(csr: &X509CertificationRequest<'_>) -> Report {
    let extensions: Vec<&X509Extension<'_>> = csr
        .certification_request_info
        .iter_attributes()
        .filter_map(|a| match a.parsed_attribute() {
            ParsedCriAttribute::ExtensionRequest(req) => Some(req.extensions.iter()),
            _ => None,
        })
        .flatten()
        .collect();
    let request = Request { csr, extensions };
    let mut report = Report::new(Document::CertificateRequest);
    for rule in RULES {
        if (rule.applies)(&request) {
            report.record(rule.id, (rule.check)(&request));
        }
    }
    report
}

struct Request<'a> {
    csr: &'a X509CertificationRequest<'a>,
    extensions: Vec<&'a X509Extension<'a>>,
}

impl Request<'_> {
    fn ext(&self, oid: &str) -> Option<&X509Extension<'_>> {
        self.extensions
            .iter()
            .find(|e| e.oid.to_id_string() == oid)
            .copied()
    }

    fn tn_auth_list(&self) -> Option<TnAuthList> {
        self.ext(oid::TN_AUTH_LIST)
            .and_then(|e| TnAuthList::from_der(e.value).ok())
    }
}

struct Rule {
    id: &'static str,
    applies: fn(&Request<'_>) -> bool,
    check: fn(&Request<'_>) -> Vec<String>,
}

/// Extensions a SHAKEN CSR may request.
const CSR_EXTENSIONS: &[&str] = &[
    oid::BASIC_CONSTRAINTS,
    oid::CRL_DISTRIBUTION_POINTS,
    oid::TN_AUTH_LIST,
];

const RULES: &[Rule] = &[
    Rule {
        id: "e_stirling_csr_version",
        applies: |_| true,
        check: |r| match r.csr.certification_request_info.version {
            X509Version(0) => vec![],
            X509Version(v) => vec![format!("csr version is {v}, pkcs#10 v1 (0) is required")],
        },
    },
    Rule {
        id: "e_stirling_csr_signature",
        applies: |_| true,
        check: |r| match r.csr.verify_signature() {
            Ok(()) => vec![],
            Err(e) => vec![format!("csr self-signature does not verify: {e}")],
        },
    },
    Rule {
        id: "e_stirling_csr_signature_algorithm",
        applies: |_| true,
        check: |r| check::ecdsa_sha256(&r.csr.signature_algorithm, "csr signature algorithm"),
    },
    Rule {
        id: "e_stirling_csr_public_key",
        applies: |_| true,
        check: |r| check::p256_key(&r.csr.certification_request_info.subject_pki),
    },
    Rule {
        id: "e_stirling_csr_tn_auth_list",
        applies: |_| true,
        check: |r| match r.ext(oid::TN_AUTH_LIST) {
            None => vec!["csr requests no tnauthlist extension".to_owned()],
            Some(ext) => check::tn_auth_list(ext),
        },
    },
    Rule {
        id: "e_stirling_csr_tn_auth_list_spc_format",
        applies: |r| r.tn_auth_list().is_some(),
        check: |r| {
            r.tn_auth_list()
                .map(|l| check::spc_format(&l))
                .unwrap_or_default()
        },
    },
    Rule {
        id: "e_stirling_csr_basic_constraints",
        applies: |r| r.ext(oid::BASIC_CONSTRAINTS).is_some(),
        check: |r| match r.ext(oid::BASIC_CONSTRAINTS).map(|e| e.parsed_extension()) {
            Some(ParsedExtension::BasicConstraints(bc)) if !bc.ca => vec![],
            _ => vec!["csr basicConstraints is not CA:FALSE".to_owned()],
        },
    },
    Rule {
        id: "e_stirling_csr_crl_distribution",
        applies: |r| r.ext(oid::CRL_DISTRIBUTION_POINTS).is_some(),
        check: |r| {
            r.ext(oid::CRL_DISTRIBUTION_POINTS)
                .map(check::crl_distribution_point)
                .and_then(Result::err)
                .unwrap_or_default()
        },
    },
    Rule {
        id: "e_stirling_csr_extension_unknown",
        applies: |_| true,
        check: |r| {
            r.extensions
                .iter()
                .map(|e| e.oid.to_id_string())
                .filter(|o| !CSR_EXTENSIONS.contains(&o.as_str()))
                .map(|o| format!("csr requests extension {o}, which the profile does not name"))
                .collect()
        },
    },
];
