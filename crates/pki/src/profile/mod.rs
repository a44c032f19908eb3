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

use std::fmt;

use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::error::X509Error;
use x509_parser::prelude::FromDer;

mod certificate;
mod check;
mod request;

/// How bad a finding is.
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
    /// The rule does not apply to this document (wrong role, or the extension it judges is
    /// absent).
    NotApplicable,
    /// The rule applied and was met.
    Pass,
    /// The rule applied and was broken with this severity.
    Fail(Severity),
}

/// Every rule's outcome on one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    document: Document,
    applied: Vec<&'static str>,
    findings: Vec<Finding>,
}

/// Why bytes could not be linted at all.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProfileError {
    /// The DER is not an X.509 certificate.
    #[error("not an x509 certificate: {0}")]
    Certificate(X509Error),
    /// The DER is not a PKCS#10 certification request.
    #[error("not a pkcs#10 certification request: {0}")]
    CertificateRequest(X509Error),
    /// Neither a certificate nor a certification request.
    #[error("not a der certificate or certification request")]
    UnknownDer,
    /// The text holds `-----BEGIN` but no PEM block could be read.
    #[error("malformed pem: {0}")]
    Pem(String),
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
        let blocks = pem::parse_many(bytes).map_err(|e| ProfileError::Pem(e.to_string()))?;
        if blocks.is_empty() {
            return Err(ProfileError::Pem("no complete pem block".to_owned()));
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
