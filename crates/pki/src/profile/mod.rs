//! Linter for our own SHAKEN certificates and CSRs: the ATIS-1000080 v005 profile (§6.4.1)
//! and the US SHAKEN Certificate Policy, as summarised in `reference/standards.md` §3.2–3.3.
//!
//! This is for what *we* request and what our STI-CA issues us. A verifier must not reject
//! calls for these nits: about half of the certificates in the field break one rule or
//! another (`standards.md` §3.2, pitfall 14).
//!
//! Rule ids follow zlint's SHAKEN lints at commit `a7f11f7` (the ones whose tests assert the
//! verdicts in `vectors/certs/zlint/EXPECTED.md`), so findings can be compared with zlint
//! output. Rules zlint added later keep zlint's later name (`e_atis_tn_auth_list_spc_format`,
//! `e_atis_ext_crl_distribution_struct`); rules of our own start `n_stirling_` or
//! `e_stirling_csr_`. The first letter gives the severity: `e_` error, `w_` warn, `n_` notice.
//!
//! Where zlint has since corrected a7f11f7, we follow the correction if no a7f11f7 test
//! asserts otherwise: under CP 1.4 a certificate may be signed ecdsa-with-SHA384 and a CA key
//! may be P-384; a serial needs 64 significant bits, not just 8 octets. zlint's effective
//! dates (rules that apply only to certificates issued after a standard took effect) are not
//! modelled: our own certificates are new. The network rules
//! (`e_atis_*crl_distribution_not_reachable`) are left out: this crate does no I/O.

use std::fmt;

use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::error::X509Error;
use x509_parser::prelude::FromDer;

mod certificate;
mod check;
mod request;

/// How bad a finding is. Ordered most severe first, not alphabetically: `Ord` ranks findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The profile says "shall": the certificate or CSR does not conform.
    Error,
    /// A "should", or a rule whose effect in the field is doubtful.
    Warn,
    /// Worth knowing; not a violation.
    Notice,
}

/// One rule broken by a certificate or CSR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is; matches the first letter of `rule`.
    pub severity: Severity,
    /// The rule id, e.g. `e_atis_tn_auth_list`.
    pub rule: &'static str,
    /// What was found, with the offending values.
    pub text: String,
}

/// What a linted document turned out to be; it decides which rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Document {
    /// An X.509 certificate in the given role.
    Certificate(Role),
    /// A PKCS#10 certification request.
    CertificateRequest,
}

/// The role of a certificate in a SHAKEN chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// basicConstraints absent or `cA` false: the SP's signing certificate.
    EndEntity,
    /// `cA` true and not a self-signed root.
    Intermediate,
    /// `cA` true, issuer equal to subject, and signed by its own key.
    Root,
}

/// The outcome of one rule on one document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The rule applied and was broken with this severity.
    Fail(Severity),
    /// The rule does not apply to this document (wrong role, or the extension it judges is
    /// absent).
    NotApplicable,
    /// The rule applied and was met.
    Pass,
}

/// Every rule's outcome on one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    document: Document,
    applied: Vec<&'static str>,
    findings: Vec<Finding>,
}

/// Why bytes could not be linted at all.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ProfileError {
    /// The DER is not an X.509 certificate.
    #[error("not an x509 certificate: {0}")]
    Certificate(X509Error),
    /// The DER is not a PKCS#10 certification request.
    #[error("not a pkcs#10 certification request: {0}")]
    CertificateRequest(X509Error),
    /// The text holds `-----BEGIN` but no complete PEM block.
    #[error("no complete pem block after -----BEGIN")]
    NoPemBlock,
    /// A PEM block is malformed (bad base64, mismatched END label, ...).
    #[error("malformed pem: {0}")]
    Pem(pem::PemError),
    /// A PEM block whose label is neither `CERTIFICATE` nor `CERTIFICATE REQUEST`.
    #[error("pem block {label:?} is neither a certificate nor a certificate request")]
    PemLabel {
        /// The label after `BEGIN`.
        label: String,
    },
    /// Bytes follow the DER structure.
    #[error("{len} bytes follow the der structure")]
    TrailingData {
        /// How many.
        len: usize,
    },
    /// Neither a certificate nor a certification request.
    #[error("not a der certificate or certification request")]
    UnknownDer,
}

/// Lints one DER certificate.
pub fn lint_certificate(der: &[u8]) -> Result<Report, ProfileError> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| {
        ProfileError::Certificate(match e {
            x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => e,
            x509_parser::nom::Err::Incomplete(_) => X509Error::InvalidCertificate,
        })
    })?;
    if !rest.is_empty() {
        return Err(ProfileError::TrailingData { len: rest.len() });
    }
    Ok(certificate::lint(&cert))
}

/// Lints one DER PKCS#10 certification request.
pub fn lint_csr(der: &[u8]) -> Result<Report, ProfileError> {
    let (rest, csr) = X509CertificationRequest::from_der(der).map_err(|e| {
        ProfileError::CertificateRequest(match e {
            x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => e,
            x509_parser::nom::Err::Incomplete(_) => X509Error::InvalidCertificate,
        })
    })?;
    if !rest.is_empty() {
        return Err(ProfileError::TrailingData { len: rest.len() });
    }
    Ok(request::lint(&csr))
}

/// Lints what a file holds: PEM (any text around the blocks is skipped, as in `openssl x509
/// -text` dumps; each `CERTIFICATE` or `CERTIFICATE REQUEST` block is linted) or else one
/// DER certificate or certification request.
pub fn lint(bytes: &[u8]) -> Result<Vec<Report>, ProfileError> {
    if bytes.windows(PEM_BEGIN.len()).any(|w| w == PEM_BEGIN) {
        let blocks = pem::parse_many(bytes).map_err(ProfileError::Pem)?;
        if blocks.is_empty() {
            return Err(ProfileError::NoPemBlock);
        }
        return blocks
            .iter()
            .map(|block| match block.tag() {
                "CERTIFICATE" => lint_certificate(block.contents()),
                "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => lint_csr(block.contents()),
                label => Err(ProfileError::PemLabel {
                    label: label.to_owned(),
                }),
            })
            .collect();
    }
    match lint_certificate(bytes) {
        Ok(report) => Ok(vec![report]),
        Err(_) => lint_csr(bytes)
            .map(|r| vec![r])
            .map_err(|_| ProfileError::UnknownDer),
    }
}

const PEM_BEGIN: &[u8] = b"-----BEGIN ";

impl Report {
    /// What was linted.
    pub fn document(&self) -> Document {
        self.document
    }

    /// The rules that were broken, in rule order.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The rules that applied (broken or met), in rule order.
    pub fn applied(&self) -> &[&'static str] {
        &self.applied
    }

    /// Whether any finding is an [`Severity::Error`].
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The outcome of one rule; the most severe finding if it fired several times.
    pub fn verdict(&self, rule: &str) -> Verdict {
        match self
            .findings
            .iter()
            .filter(|f| f.rule == rule)
            .map(|f| f.severity)
            .min()
        {
            Some(severity) => Verdict::Fail(severity),
            None if self.applied.contains(&rule) => Verdict::Pass,
            None => Verdict::NotApplicable,
        }
    }
}

impl Severity {
    /// `error`, `warn` or `notice`, as the CLI prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warn => "warn",
            Severity::Notice => "notice",
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.severity.as_str(), self.rule, self.text)
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Document::Certificate(Role::EndEntity) => "end-entity certificate",
            Document::Certificate(Role::Intermediate) => "intermediate ca certificate",
            Document::Certificate(Role::Root) => "root ca certificate",
            Document::CertificateRequest => "certificate request",
        })
    }
}

/// The severity a rule id promises by its first letter (zlint convention): `w_` warn,
/// `n_` notice, anything else error.
pub(crate) const fn severity_of(id: &str) -> Severity {
    match id.as_bytes() {
        [b'w', b'_', ..] => Severity::Warn,
        [b'n', b'_', ..] => Severity::Notice,
        _ => Severity::Error,
    }
}

impl Report {
    pub(crate) fn new(document: Document) -> Self {
        Self {
            document,
            applied: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// Records that rule `id` applied and broke into `texts` (none: met).
    pub(crate) fn record(&mut self, id: &'static str, texts: Vec<String>) {
        self.applied.push(id);
        let severity = severity_of(id);
        self.findings.extend(texts.into_iter().map(|text| Finding {
            severity,
            rule: id,
            text,
        }));
    }
}

#[cfg(test)]
mod tests {
    use passport::Spc;

    use super::*;
    use crate::{CsrParams, TnAuthList};

    const LEAF_PEM: &[u8] = include_bytes!("../../tests/data/zlint/shakenCert.pem");

    fn leaf_der() -> Vec<u8> {
        pem::parse(LEAF_PEM).expect("pem").into_contents()
    }

    fn csr_der(spc: &str) -> Vec<u8> {
        let spc = Spc::new(spc).expect("valid spc");
        CsrParams::new(TnAuthList::from_spc(spc))
            .sign_with_new_key()
            .expect("signs")
            .der()
            .to_vec()
    }

    #[test]
    fn severity_follows_rule_prefix() {
        assert_eq!(severity_of("e_atis_version"), Severity::Error);
        assert_eq!(severity_of("w_cp_1_3_subject_email"), Severity::Warn);
        assert_eq!(
            severity_of("n_atis_certificate_policy_critical"),
            Severity::Notice
        );
    }

    #[test]
    fn lints_pem_with_text_around_and_der() {
        let from_pem = lint(LEAF_PEM).expect("lints");
        let from_der = lint(&leaf_der()).expect("lints");
        assert_eq!(from_pem, from_der);
        assert_eq!(
            from_pem[0].document(),
            Document::Certificate(Role::EndEntity)
        );
    }

    #[test]
    fn lints_csr_pem_and_der() {
        let der = csr_der("1234");
        let pem = pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", der.clone()));
        for reports in [lint(&der), lint(pem.as_bytes())] {
            let reports = reports.expect("lints");
            assert_eq!(reports.len(), 1);
            assert_eq!(reports[0].document(), Document::CertificateRequest);
            assert_eq!(reports[0].findings(), &[]);
        }
    }

    #[test]
    fn csr_with_lower_case_spc_is_an_error() {
        let report = lint_csr(&csr_der("12ab")).expect("lints");
        assert_eq!(
            report.verdict("e_stirling_csr_tn_auth_list_spc_format"),
            Verdict::Fail(Severity::Error)
        );
        assert!(report.has_errors());
    }

    #[test]
    fn csr_with_a_flipped_signature_byte_fails_verification() {
        let mut der = csr_der("1234");
        let last = der.len() - 1;
        der[last] ^= 0x01;
        let report = lint_csr(&der).expect("still parses");
        assert_eq!(
            report.verdict("e_stirling_csr_signature"),
            Verdict::Fail(Severity::Error)
        );
    }

    #[test]
    fn rejects_what_is_not_a_certificate_or_csr() {
        assert_eq!(lint(b"hello"), Err(ProfileError::UnknownDer));
        assert_eq!(
            lint(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            Err(ProfileError::PemLabel {
                label: "PRIVATE KEY".to_owned()
            })
        );
        assert_eq!(
            lint(b"text -----BEGIN CERTIFICATE----- and no end"),
            Err(ProfileError::NoPemBlock)
        );
        assert!(matches!(
            lint(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
            Err(ProfileError::Pem(_))
        ));
        let mut der = leaf_der();
        der.push(0);
        assert_eq!(
            lint_certificate(&der),
            Err(ProfileError::TrailingData { len: 1 })
        );
        assert!(matches!(
            lint_certificate(&csr_der("1234")),
            Err(ProfileError::Certificate(_))
        ));
    }

    #[test]
    fn verdict_distinguishes_not_applicable_pass_and_fail() {
        let report = lint(LEAF_PEM).expect("lints").remove(0);
        assert_eq!(report.verdict("e_atis_tn_auth_list"), Verdict::Pass);
        assert_eq!(
            report.verdict("e_atis_root_extension_unknown"),
            Verdict::NotApplicable
        );
        assert_eq!(report.verdict("no_such_rule"), Verdict::NotApplicable);
        assert!(!report.has_errors());
    }
}
