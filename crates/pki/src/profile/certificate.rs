//! Certificate rules: ATIS-1000080 v005 §6.4.1 and the US SHAKEN CP (`standards.md` §3.2),
//! under zlint's rule ids.

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{ParsedExtension, X509Extension};
use x509_parser::x509::X509Version;

use super::check::{self, STI_PA_CRL_URLS, oid};
use super::{Document, Report, Role};
use crate::TnAuthList;

/// Lints a parsed certificate.
pub(crate) fn lint(cert: &X509Certificate<'_>) -> Report {
    let linted = Cert::new(cert);
    let mut report = Report::new(Document::Certificate(linted.role));
    for rule in RULES {
        if (rule.applies)(&linted) {
            report.record(rule.id, (rule.check)(&linted));
        }
    }
    report
}

/// A certificate with what the rules ask of it worked out once.
struct Cert<'a> {
    cert: &'a X509Certificate<'a>,
    role: Role,
    /// Policy OIDs, when certificatePolicies parses.
    policies: Option<Vec<String>>,
    /// The TNAuthList, when present and decodable.
    tn_auth_list: Option<TnAuthList>,
}

impl<'a> Cert<'a> {
    fn new(cert: &'a X509Certificate<'a>) -> Self {
        let is_ca = matches!(
            find(cert, oid::BASIC_CONSTRAINTS).map(X509Extension::parsed_extension),
            Some(ParsedExtension::BasicConstraints(bc)) if bc.ca
        );
        let role = if !is_ca {
            Role::EndEntity
        } else if cert.subject().as_raw() == cert.issuer().as_raw()
            && cert.verify_signature(None).is_ok()
        {
            Role::Root
        } else {
            Role::Intermediate
        };
        let policies = match find(cert, oid::CERTIFICATE_POLICIES).map(|e| e.parsed_extension()) {
            Some(ParsedExtension::CertificatePolicies(ps)) => Some(
                ps.iter()
                    .map(|p| p.policy_id.to_id_string())
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        let tn_auth_list =
            find(cert, oid::TN_AUTH_LIST).and_then(|e| TnAuthList::from_der(e.value).ok());
        Self {
            cert,
            role,
            policies,
            tn_auth_list,
        }
    }

    fn ext(&self, oid: &str) -> Option<&X509Extension<'a>> {
        find(self.cert, oid)
    }

    fn ee(&self) -> bool {
        self.role == Role::EndEntity
    }

    fn intermediate(&self) -> bool {
        self.role == Role::Intermediate
    }

    fn root(&self) -> bool {
        self.role == Role::Root
    }

    fn ca(&self) -> bool {
        self.role != Role::EndEntity
    }

    /// Whether the certificate asserts the given SHAKEN CP version (`"1"` to `"4"`).
    fn under_policy(&self, versions: &[&str]) -> bool {
        self.policies.as_ref().is_some_and(|ps| {
            ps.iter().any(|p| {
                p.strip_prefix(oid::SHAKEN_CP_ARC)
                    .is_some_and(|v| versions.contains(&v))
            })
        })
    }
}

fn find<'a>(cert: &'a X509Certificate<'a>, oid: &str) -> Option<&'a X509Extension<'a>> {
    cert.extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == oid)
}

/// One certificate rule.
struct Rule {
    id: &'static str,
    applies: fn(&Cert<'_>) -> bool,
    check: fn(&Cert<'_>) -> Vec<String>,
}

/// Extensions the profile names for each role (ATIS-1000080 v005: "shall not include
/// extensions that are not specified").
const EE_EXTENSIONS: &[&str] = &[
    oid::AUTHORITY_KEY_IDENTIFIER,
    oid::BASIC_CONSTRAINTS,
    oid::CERTIFICATE_POLICIES,
    oid::CRL_DISTRIBUTION_POINTS,
    oid::KEY_USAGE,
    oid::SUBJECT_KEY_IDENTIFIER,
    oid::TN_AUTH_LIST,
];
const INTERMEDIATE_EXTENSIONS: &[&str] = &[
    oid::AUTHORITY_KEY_IDENTIFIER,
    oid::BASIC_CONSTRAINTS,
    oid::CERTIFICATE_POLICIES,
    oid::CRL_DISTRIBUTION_POINTS,
    oid::KEY_USAGE,
    oid::SUBJECT_KEY_IDENTIFIER,
];
/// certificatePolicies is listed so that `e_atis_root_certificate_policies` alone reports it.
const ROOT_EXTENSIONS: &[&str] = &[
    oid::AUTHORITY_KEY_IDENTIFIER,
    oid::BASIC_CONSTRAINTS,
    oid::CERTIFICATE_POLICIES,
    oid::KEY_USAGE,
    oid::SUBJECT_KEY_IDENTIFIER,
];

/// RDNs an end-entity subject may hold (zlint `w_shaken_subject_rdn_unknown`).
const EE_RDNS: &[&str] = &[
    oid::COMMON_NAME,
    oid::COUNTRY,
    oid::LOCALITY,
    oid::ORGANIZATION,
    oid::SERIAL_NUMBER,
];
/// RDNs a CA subject may hold (zlint `w_shaken_ca_subject_rdn_unknown`).
const CA_RDNS: &[&str] = &[
    oid::COMMON_NAME,
    oid::COUNTRY,
    oid::LOCALITY,
    oid::ORGANIZATION,
];

/// Every rule, grouped by what it judges. Applicability mirrors zlint at `a7f11f7`
/// (`EXPECTED.md`, "Applicability of each lint").
const RULES: &[Rule] = &[
    // Version: v3 (ATIS-1000080 §6.4.1).
    Rule {
        id: "e_atis_version",
        applies: is_ee,
        check: version,
    },
    Rule {
        id: "e_atis_ca_version",
        applies: is_ca,
        check: version,
    },
    // Serial: positive, at least 64 bits of CSPRNG output.
    Rule {
        id: "e_atis_serial_number",
        applies: is_ee,
        check: serial_number,
    },
    Rule {
        id: "e_atis_ca_serial_number",
        applies: is_ca,
        check: serial_number,
    },
    // Signature algorithm: ecdsa-with-SHA256.
    Rule {
        id: "e_atis_signature_algorithm",
        applies: is_ee,
        check: signature_algorithm,
    },
    Rule {
        id: "e_atis_ca_signature_algorithm",
        applies: is_ca,
        check: signature_algorithm,
    },
    // US CP 1.1–1.3 §6.1.5: certificates are signed ECDSA with SHA-256; CP 1.4 also allows
    // ECDSA P-384 with SHA-384. These judge the issuer's signature, not the subject key.
    Rule {
        id: "e_cp_1_1_key_size",
        applies: |s| s.under_policy(&["1", "2", "3"]),
        check: |s| check::ecdsa_sha256(&s.cert.signature_algorithm, "signature algorithm"),
    },
    Rule {
        id: "e_cp_1_4_key_size",
        applies: |s| s.under_policy(&["4"]),
        check: sha256_or_sha384,
    },
    // SubjectPublicKeyInfo: id-ecPublicKey on P-256.
    Rule {
        id: "e_atis_subject_public_key",
        applies: is_ee,
        check: |s| check::p256_key(s.cert.public_key()),
    },
    Rule {
        id: "e_atis_ca_subject_public_key",
        applies: is_ca,
        check: ca_public_key,
    },
    // BasicConstraints: present and critical, cA false for end entities.
    Rule {
        id: "e_atis_basic_constraints",
        applies: |_| true,
        check: basic_constraints,
    },
    // KeyUsage.
    Rule {
        id: "e_atis_key_usage",
        applies: is_ee,
        check: ee_key_usage,
    },
    Rule {
        id: "e_atis_ca_key_usage",
        applies: is_ca,
        check: ca_key_usage,
    },
    Rule {
        id: "e_us_cp_ca_key_usage_crl_sign",
        applies: is_ca,
        check: |s| match key_usage(s) {
            Some((_, ku)) if ku.crl_sign() => vec![
                "ca asserts cRLSign; revocation is the STI-PA's CRL, so a ca should not".to_owned(),
            ],
            _ => vec![],
        },
    },
    // Key identifiers.
    Rule {
        id: "e_atis_subject_key_identifier",
        applies: is_ee,
        check: subject_key_identifier,
    },
    Rule {
        id: "e_atis_ca_subject_key_identifier",
        applies: is_ca,
        check: subject_key_identifier,
    },
    Rule {
        id: "e_atis_authority_key_identifier",
        applies: is_ee,
        check: authority_key_identifier,
    },
    Rule {
        id: "e_atis_ca_authority_key_identifier",
        applies: is_intermediate,
        check: authority_key_identifier,
    },
    Rule {
        id: "e_atis_root_authority_key_identifier",
        applies: |s| s.root() && s.ext(oid::AUTHORITY_KEY_IDENTIFIER).is_some(),
        check: root_authority_key_identifier,
    },
    // CertificatePolicies: one SHAKEN OID for EE and intermediate, absent from roots.
    Rule {
        id: "e_atis_certificate_policies",
        applies: is_ee,
        check: certificate_policies,
    },
    Rule {
        id: "e_atis_ca_certificate_policies",
        applies: is_intermediate,
        check: certificate_policies,
    },
    Rule {
        id: "e_atis_root_certificate_policies",
        applies: is_root,
        check: |s| match s.ext(oid::CERTIFICATE_POLICIES) {
            Some(_) => vec!["root carries certificatePolicies; v005 requires it absent".to_owned()],
            None => vec![],
        },
    },
    Rule {
        id: "n_atis_certificate_policy_critical",
        applies: |s| s.ee() && s.ext(oid::CERTIFICATE_POLICIES).is_some(),
        check: policy_critical,
    },
    Rule {
        id: "n_atis_ca_certificate_policy_critical",
        applies: |s| s.ca() && s.ext(oid::CERTIFICATE_POLICIES).is_some(),
        check: policy_critical,
    },
    // CRL distribution points: one http(s) URI (the STI-PA CRL) for EE and intermediate.
    Rule {
        id: "e_atis_crl_distribution",
        applies: is_ee,
        check: crl_distribution,
    },
    Rule {
        id: "e_atis_ca_crl_distribution",
        applies: is_intermediate,
        check: crl_distribution,
    },
    Rule {
        id: "e_atis_ext_crl_distribution_struct",
        applies: |s| {
            !s.root() && s.under_policy(&["4"]) && s.ext(oid::CRL_DISTRIBUTION_POINTS).is_some()
        },
        check: |s| match s
            .ext(oid::CRL_DISTRIBUTION_POINTS)
            .map(check::crl_distribution_point)
        {
            Some(Ok((_, false))) => {
                vec!["crl distribution point has no cRLIssuer (required under CP 1.4)".to_owned()]
            }
            _ => vec![],
        },
    },
    Rule {
        id: "n_stirling_crl_distribution_sti_pa",
        applies: |s| !s.root() && s.ext(oid::CRL_DISTRIBUTION_POINTS).is_some(),
        check: |s| match s
            .ext(oid::CRL_DISTRIBUTION_POINTS)
            .map(check::crl_distribution_point)
        {
            Some(Ok((uri, _))) if !STI_PA_CRL_URLS.contains(&uri.as_str()) => vec![format!(
                "crl distribution point {uri:?} is not the STI-PA crl (production or staging)"
            )],
            _ => vec![],
        },
    },
    // TNAuthList: exactly one SPC entry, non-critical, end entities only.
    Rule {
        id: "e_atis_tn_auth_list",
        applies: is_ee,
        check: |s| match s.ext(oid::TN_AUTH_LIST) {
            None => vec!["tnauthlist extension is absent".to_owned()],
            Some(ext) => check::tn_auth_list(ext),
        },
    },
    Rule {
        id: "e_atis_tn_auth_list_spc_format",
        applies: |s| s.ee() && s.tn_auth_list.is_some(),
        check: |s| {
            s.tn_auth_list
                .as_ref()
                .map(check::spc_format)
                .unwrap_or_default()
        },
    },
    // Unknown extensions.
    Rule {
        id: "e_atis_extension_unknown",
        applies: is_ee,
        check: |s| unknown_extensions(s, EE_EXTENSIONS),
    },
    Rule {
        id: "e_atis_ca_extension_unknown",
        applies: is_intermediate,
        check: |s| unknown_extensions(s, INTERMEDIATE_EXTENSIONS),
    },
    Rule {
        id: "e_atis_root_extension_unknown",
        applies: is_root,
        check: |s| unknown_extensions(s, ROOT_EXTENSIONS),
    },
    // Issuer and subject names.
    Rule {
        id: "e_atis_issuer_dn",
        applies: is_ee,
        check: |s| check::has_c_cn_o(s.cert.issuer(), "issuer"),
    },
    Rule {
        id: "e_atis_ca_issuer_dn",
        applies: is_ca,
        check: |s| check::has_c_cn_o(s.cert.issuer(), "issuer"),
    },
    Rule {
        id: "e_atis_subject",
        applies: is_ee,
        check: |s| check::has_c_cn_o(s.cert.subject(), "subject"),
    },
    Rule {
        id: "e_atis_ca_subject",
        applies: is_ca,
        check: |s| check::has_c_cn_o(s.cert.subject(), "subject"),
    },
    Rule {
        id: "e_atis_subject_cn",
        applies: is_ee,
        check: ee_subject_cn,
    },
    Rule {
        id: "e_atis_ca_subject_cn",
        applies: is_ca,
        check: |s| match check::common_name(s.cert.subject()) {
            Some(cn) if cn.to_ascii_uppercase().contains("SHAKEN") => vec![],
            Some(cn) => vec![format!("ca common name {cn:?} lacks the word SHAKEN")],
            None => vec!["ca subject has no single common name".to_owned()],
        },
    },
    Rule {
        id: "e_us_cp_ambiguous_identifier",
        applies: is_ee,
        check: ambiguous_identifier,
    },
    Rule {
        id: "e_us_cp_subject_sn",
        applies: is_ee,
        check: subject_serial_number,
    },
    Rule {
        id: "w_cp_1_3_subject_email",
        applies: is_ee,
        check: |s| {
            if check::attributes(s.cert.subject(), oid::EMAIL_ADDRESS).is_empty() {
                vec![]
            } else {
                vec!["subject holds an emailAddress attribute".to_owned()]
            }
        },
    },
    Rule {
        id: "w_shaken_subject_rdn_unknown",
        applies: is_ee,
        check: |s| unknown_rdns(s, EE_RDNS),
    },
    Rule {
        id: "w_shaken_ca_subject_rdn_unknown",
        applies: is_ca,
        check: |s| unknown_rdns(s, CA_RDNS),
    },
];

fn is_ee(s: &Cert<'_>) -> bool {
    s.ee()
}

fn is_ca(s: &Cert<'_>) -> bool {
    s.ca()
}

fn is_intermediate(s: &Cert<'_>) -> bool {
    s.intermediate()
}

fn is_root(s: &Cert<'_>) -> bool {
    s.root()
}

fn version(s: &Cert<'_>) -> Vec<String> {
    match s.cert.version() {
        X509Version::V3 => vec![],
        X509Version(v) => vec![format!("certificate is x509 v{}, not v3", v + 1)],
    }
}

/// Positive, with at least 64 significant bits: a serial holding "at least 64 bits of output
/// from a CSPRNG" (ATIS-1000080 v005 §6.4.1.1) cannot be shorter. A positive 8-octet serial
/// whose top bit is clear has at most 63 (zlint HEAD flags those too, e.g. Comcast's leaf).
fn serial_number(s: &Cert<'_>) -> Vec<String> {
    let raw = s.cert.raw_serial();
    if raw.first().is_some_and(|b| b & 0x80 != 0) {
        return vec![format!("serial number {} is negative", hex(raw))];
    }
    let magnitude: Vec<u8> = raw.iter().copied().skip_while(|b| *b == 0).collect();
    let bits = match magnitude.first() {
        None => return vec!["serial number is zero".to_owned()],
        Some(first) => (magnitude.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    };
    if bits < 64 {
        return vec![format!(
            "serial number {} has {bits} significant bits; at least 64 random bits are required",
            hex(raw)
        )];
    }
    vec![]
}

/// ecdsa-with-SHA256 (ATIS-1000080 §6.4.1); under CP 1.4 ecdsa-with-SHA384 too, as zlint
/// now accepts, so a leaf issued by a P-384 CA (CTIA's, in the field) is not an error.
fn signature_algorithm(s: &Cert<'_>) -> Vec<String> {
    if s.under_policy(&["4"]) {
        sha256_or_sha384(s)
    } else {
        check::ecdsa_sha256(&s.cert.signature_algorithm, "signature algorithm")
    }
}

fn sha256_or_sha384(s: &Cert<'_>) -> Vec<String> {
    let alg = s.cert.signature_algorithm.algorithm.to_id_string();
    if alg == oid::ECDSA_SHA256 || alg == oid::ECDSA_SHA384 {
        vec![]
    } else {
        vec![format!(
            "signature algorithm is {alg}, not ecdsa-with-SHA256 or ecdsa-with-SHA384"
        )]
    }
}

/// P-256; under CP 1.4 a CA may also use P-384 (`standards.md` §3.2, §3.4). End entities
/// stay P-256 whatever the policy: the PASSporT is ES256.
fn ca_public_key(s: &Cert<'_>) -> Vec<String> {
    match check::ec_curve(s.cert.public_key()) {
        Ok(curve) if curve == oid::P384 && s.under_policy(&["4"]) => vec![],
        _ => check::p256_key(s.cert.public_key()),
    }
}

fn basic_constraints(s: &Cert<'_>) -> Vec<String> {
    match s.ext(oid::BASIC_CONSTRAINTS) {
        None => vec!["basicConstraints extension is absent".to_owned()],
        Some(ext) if !ext.critical => vec!["basicConstraints is not critical".to_owned()],
        Some(_) => vec![],
    }
}

fn key_usage<'a>(s: &'a Cert<'_>) -> Option<(bool, &'a x509_parser::extensions::KeyUsage)> {
    match s.ext(oid::KEY_USAGE) {
        Some(ext) => match ext.parsed_extension() {
            ParsedExtension::KeyUsage(ku) => Some((ext.critical, ku)),
            _ => None,
        },
        None => None,
    }
}

/// keyUsage bits, for messages.
fn ku_bits(flags: u16) -> String {
    format!("0x{flags:04x}")
}

const KU_DIGITAL_SIGNATURE: u16 = 1 << 0;
const KU_KEY_CERT_SIGN: u16 = 1 << 5;
const KU_CRL_SIGN: u16 = 1 << 6;

fn ee_key_usage(s: &Cert<'_>) -> Vec<String> {
    match key_usage(s) {
        None => vec!["keyUsage extension is absent or does not parse".to_owned()],
        Some((false, _)) => vec!["keyUsage is not critical".to_owned()],
        Some((true, ku)) if ku.flags != KU_DIGITAL_SIGNATURE => vec![format!(
            "end-entity keyUsage is {}, it must be digitalSignature only",
            ku_bits(ku.flags)
        )],
        Some(_) => vec![],
    }
}

fn ca_key_usage(s: &Cert<'_>) -> Vec<String> {
    match key_usage(s) {
        None => vec!["keyUsage extension is absent or does not parse".to_owned()],
        Some((false, _)) => vec!["keyUsage is not critical".to_owned()],
        Some((true, ku)) if !ku.key_cert_sign() => vec![format!(
            "ca keyUsage {} lacks keyCertSign",
            ku_bits(ku.flags)
        )],
        Some((true, ku))
            if ku.flags & !(KU_KEY_CERT_SIGN | KU_DIGITAL_SIGNATURE | KU_CRL_SIGN) != 0 =>
        {
            vec![format!(
                "ca keyUsage {} asserts bits other than keyCertSign, digitalSignature, cRLSign",
                ku_bits(ku.flags)
            )]
        }
        Some(_) => vec![],
    }
}

fn subject_key_identifier(s: &Cert<'_>) -> Vec<String> {
    match s.ext(oid::SUBJECT_KEY_IDENTIFIER) {
        None => vec!["subjectKeyIdentifier extension is absent".to_owned()],
        Some(_) => vec![],
    }
}

fn authority_key_identifier(s: &Cert<'_>) -> Vec<String> {
    match s
        .ext(oid::AUTHORITY_KEY_IDENTIFIER)
        .map(|e| e.parsed_extension())
    {
        None => vec!["authorityKeyIdentifier extension is absent".to_owned()],
        Some(ParsedExtension::AuthorityKeyIdentifier(aki)) if aki.key_identifier.is_some() => {
            vec![]
        }
        Some(_) => vec!["authorityKeyIdentifier has no keyIdentifier".to_owned()],
    }
}

fn root_authority_key_identifier(s: &Cert<'_>) -> Vec<String> {
    let aki = match s
        .ext(oid::AUTHORITY_KEY_IDENTIFIER)
        .map(|e| e.parsed_extension())
    {
        Some(ParsedExtension::AuthorityKeyIdentifier(aki)) => aki.key_identifier.as_ref(),
        _ => None,
    };
    let ski = match s
        .ext(oid::SUBJECT_KEY_IDENTIFIER)
        .map(|e| e.parsed_extension())
    {
        Some(ParsedExtension::SubjectKeyIdentifier(ski)) => Some(ski),
        _ => None,
    };
    match (aki, ski) {
        (Some(a), Some(k)) if a.0 == k.0 => vec![],
        (Some(a), Some(k)) => vec![format!(
            "root authority key id {} differs from its subject key id {}",
            hex(a.0),
            hex(k.0)
        )],
        (None, _) => vec!["root authorityKeyIdentifier has no keyIdentifier".to_owned()],
        (Some(_), None) => vec!["root has an authority key id but no subject key id".to_owned()],
    }
}

fn certificate_policies(s: &Cert<'_>) -> Vec<String> {
    if s.ext(oid::CERTIFICATE_POLICIES).is_none() {
        return vec!["certificatePolicies extension is absent".to_owned()];
    }
    match s.policies.as_deref() {
        None => vec!["certificatePolicies does not parse".to_owned()],
        Some([p]) if check::is_shaken_policy(p) => vec![],
        Some([p]) => vec![format!("policy {p} is not a SHAKEN certificate policy")],
        Some(ps) => vec![format!(
            "certificatePolicies holds {} policies ({}); exactly one SHAKEN policy is required",
            ps.len(),
            ps.join(", ")
        )],
    }
}

fn policy_critical(s: &Cert<'_>) -> Vec<String> {
    match s.ext(oid::CERTIFICATE_POLICIES) {
        Some(ext) if ext.critical => vec!["certificatePolicies should not be critical".to_owned()],
        _ => vec![],
    }
}

fn crl_distribution(s: &Cert<'_>) -> Vec<String> {
    match s.ext(oid::CRL_DISTRIBUTION_POINTS) {
        None => vec!["crlDistributionPoints extension is absent".to_owned()],
        Some(ext) => check::crl_distribution_point(ext).err().unwrap_or_default(),
    }
}

fn unknown_extensions(s: &Cert<'_>, allowed: &[&str]) -> Vec<String> {
    s.cert
        .extensions()
        .iter()
        .map(|e| e.oid.to_id_string())
        .filter(|o| !allowed.contains(&o.as_str()))
        .map(|o| format!("extension {o} is not in the profile"))
        .collect()
}

/// CN must name the SPC of the TNAuthList as `SHAKEN <SPC>` (ATIS-1000080 v005 §6.4.1).
/// Other words may come before it (field certs like `Acme SHAKEN 180L` are common), but the
/// SPC must end the CN or be followed by a space.
fn ee_subject_cn(s: &Cert<'_>) -> Vec<String> {
    let Some(spc) = s.tn_auth_list.as_ref().and_then(TnAuthList::spc) else {
        return vec!["no single spc in a tnauthlist to check the common name against".to_owned()];
    };
    let Some(cn) = check::common_name(s.cert.subject()) else {
        return vec!["subject has no single common name".to_owned()];
    };
    let want = format!("SHAKEN {spc}");
    let found = cn.match_indices(&want).any(|(at, _)| {
        let after = &cn[at + want.len()..];
        let before_ok = at == 0 || cn[..at].ends_with(' ');
        before_ok && (after.is_empty() || after.starts_with(' '))
    });
    if found {
        vec![]
    } else {
        vec![format!("common name {cn:?} does not contain {want:?}")]
    }
}

/// US CP: names "shall represent an unambiguous identifier for the SP". zlint reads that as
/// CN exactly `SHAKEN <SPC>`, the SPC taken from the TNAuthList (`e_us_cp_ambiguous_identifier`).
/// Stricter than `e_atis_subject_cn`, which lets other words surround it.
fn ambiguous_identifier(s: &Cert<'_>) -> Vec<String> {
    let Some(spc) = s.tn_auth_list.as_ref().and_then(TnAuthList::spc) else {
        return vec!["no single spc in a tnauthlist to build the expected name from".to_owned()];
    };
    let want = format!("SHAKEN {spc}");
    match check::common_name(s.cert.subject()) {
        Some(cn) if cn == want => vec![],
        Some(cn) => vec![format!("common name {cn:?} is not exactly {want:?}")],
        None => vec!["subject has no single common name".to_owned()],
    }
}

/// US CP 1.3 requires exactly one serialNumber RDN; CP 1.4 makes it optional (at most one).
fn subject_serial_number(s: &Cert<'_>) -> Vec<String> {
    let n = check::attributes(s.cert.subject(), oid::SERIAL_NUMBER).len();
    let optional = s
        .policies
        .as_ref()
        .is_some_and(|ps| ps.iter().any(|p| p == oid::SHAKEN_CP_1_4));
    match n {
        1 => vec![],
        0 if optional => vec![],
        _ => vec![format!(
            "subject holds {n} serialNumber attributes; {} required",
            if optional {
                "at most one is"
            } else {
                "exactly one is"
            }
        )],
    }
}

fn unknown_rdns(s: &Cert<'_>, allowed: &[&str]) -> Vec<String> {
    check::other_attributes(s.cert.subject(), allowed)
        .into_iter()
        .map(|t| format!("subject has attribute {t} outside the profile"))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
