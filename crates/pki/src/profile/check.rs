//! Checks shared by the certificate and CSR rules: keys, signature algorithms, names,
//! TNAuthList and CRL distribution points.

use x509_parser::extensions::{
    CRLDistributionPoints, DistributionPointName, GeneralName, ParsedExtension, X509Extension,
};
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo, X509Name};

use crate::TnAuthList;

/// OIDs used by the rules, as dotted strings (compared with `Oid::to_id_string`).
pub(crate) mod oid {
    pub(crate) const AUTHORITY_KEY_IDENTIFIER: &str = "2.5.29.35";
    pub(crate) const BASIC_CONSTRAINTS: &str = "2.5.29.19";
    pub(crate) const CERTIFICATE_POLICIES: &str = "2.5.29.32";
    pub(crate) const CRL_DISTRIBUTION_POINTS: &str = "2.5.29.31";
    pub(crate) const KEY_USAGE: &str = "2.5.29.15";
    pub(crate) const SUBJECT_KEY_IDENTIFIER: &str = "2.5.29.14";
    pub(crate) const TN_AUTH_LIST: &str = crate::TnAuthList::OID;

    pub(crate) const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
    pub(crate) const P256: &str = "1.2.840.10045.3.1.7";
    pub(crate) const P384: &str = "1.3.132.0.34";
    pub(crate) const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
    pub(crate) const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";

    pub(crate) const COMMON_NAME: &str = "2.5.4.3";
    pub(crate) const COUNTRY: &str = "2.5.4.6";
    pub(crate) const LOCALITY: &str = "2.5.4.7";
    pub(crate) const ORGANIZATION: &str = "2.5.4.10";
    pub(crate) const SERIAL_NUMBER: &str = "2.5.4.5";
    pub(crate) const EMAIL_ADDRESS: &str = "1.2.840.113549.1.9.1";

    /// US SHAKEN Certificate Policy arc; versions 1.1 to 1.4 are `.1` to `.4`
    /// (`standards.md` §3.2).
    pub(crate) const SHAKEN_CP_ARC: &str = "2.16.840.1.114569.1.1.";
    pub(crate) const SHAKEN_CP_1_4: &str = "2.16.840.1.114569.1.1.4";
}

/// The STI-PA CRL URLs, production and staging (`standards.md` §3.5).
pub(crate) const STI_PA_CRL_URLS: [&str; 2] = [
    "https://authenticate-api.iconectiv.com/download/v1/crl",
    "https://authenticate-api-stg.iconectiv.com/download/v1/crl",
];

/// Whether `policy` is one of the US SHAKEN CP OIDs 1.1 to 1.4.
pub(crate) fn is_shaken_policy(policy: &str) -> bool {
    policy
        .strip_prefix(oid::SHAKEN_CP_ARC)
        .is_some_and(|v| matches!(v, "1" | "2" | "3" | "4"))
}

/// Named curve of an EC key, or why the key is not one.
pub(crate) fn ec_curve(spki: &SubjectPublicKeyInfo<'_>) -> Result<String, String> {
    let alg = spki.algorithm.algorithm.to_id_string();
    if alg != oid::EC_PUBLIC_KEY {
        return Err(format!("public key algorithm is {alg}, not id-ecPublicKey"));
    }
    spki.algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string())
        .ok_or_else(|| "ec public key names no curve".to_owned())
}

/// Empty when the key is EC P-256 (ATIS-1000080 §6.4.1 SubjectPublicKeyInfo).
pub(crate) fn p256_key(spki: &SubjectPublicKeyInfo<'_>) -> Vec<String> {
    match ec_curve(spki) {
        Ok(curve) if curve == oid::P256 => vec![],
        Ok(curve) => vec![format!(
            "ec curve is {curve}, not P-256 (1.2.840.10045.3.1.7)"
        )],
        Err(text) => vec![text],
    }
}

/// Empty when the algorithm is ecdsa-with-SHA256.
pub(crate) fn ecdsa_sha256(alg: &AlgorithmIdentifier<'_>, what: &str) -> Vec<String> {
    let id = alg.algorithm.to_id_string();
    if id == oid::ECDSA_SHA256 {
        vec![]
    } else {
        vec![format!(
            "{what} is {id}, not ecdsa-with-SHA256 ({})",
            oid::ECDSA_SHA256
        )]
    }
}

/// The string values of every attribute of type `oid` in `name`, in order. A value that is
/// not a string type shows as `None`.
pub(crate) fn attributes<'a>(name: &'a X509Name<'_>, oid: &str) -> Vec<Option<&'a str>> {
    name.iter_rdn()
        .flat_map(|rdn| rdn.iter())
        .filter(|atv| atv.attr_type().to_id_string() == oid)
        .map(|atv| atv.as_str().ok())
        .collect()
}

/// The attribute types of `name` that are not in `allowed`, as dotted OIDs.
pub(crate) fn other_attributes(name: &X509Name<'_>, allowed: &[&str]) -> Vec<String> {
    name.iter_rdn()
        .flat_map(|rdn| rdn.iter())
        .map(|atv| atv.attr_type().to_id_string())
        .filter(|t| !allowed.contains(&t.as_str()))
        .collect()
}

/// Empty when `name` has C, CN and O (ATIS-1000080 §6.4.1 Subject/Issuer).
pub(crate) fn has_c_cn_o(name: &X509Name<'_>, what: &str) -> Vec<String> {
    [
        (oid::COUNTRY, "C"),
        (oid::COMMON_NAME, "CN"),
        (oid::ORGANIZATION, "O"),
    ]
    .iter()
    .filter(|(o, _)| attributes(name, o).is_empty())
    .map(|(_, short)| format!("{what} dn has no {short} attribute"))
    .collect()
}

/// The only common name of `name`, when there is exactly one and it is a string.
pub(crate) fn common_name<'a>(name: &'a X509Name<'_>) -> Option<&'a str> {
    match attributes(name, oid::COMMON_NAME).as_slice() {
        [Some(cn)] => Some(cn),
        _ => None,
    }
}

/// Decodes the TNAuthList extension value and checks the v005 end-entity rule: exactly one
/// entry, and that entry an SPC (`standards.md` §3.2).
pub(crate) fn tn_auth_list(ext: &X509Extension<'_>) -> Vec<String> {
    let mut texts = Vec::new();
    if ext.critical {
        texts.push("tnauthlist extension is critical; it must be non-critical".to_owned());
    }
    match TnAuthList::from_der(ext.value) {
        Err(e) => texts.push(e.to_string()),
        Ok(list) => match list.entries() {
            [crate::TnEntry::Spc(_)] => {}
            [_] => texts.push("the single tnauthlist entry is not an spc".to_owned()),
            entries => texts.push(format!(
                "tnauthlist holds {} entries; exactly one spc entry is required",
                entries.len()
            )),
        },
    }
    texts
}

/// Empty when the SPC of `list` is `^[A-Z0-9]+$` (ATIS-1000080 v005; zlint
/// `e_atis_tn_auth_list_spc_format`).
pub(crate) fn spc_format(list: &TnAuthList) -> Vec<String> {
    list.entries()
        .iter()
        .filter_map(|e| match e {
            crate::TnEntry::Spc(spc) => Some(spc),
            crate::TnEntry::Range(_) | crate::TnEntry::One(_) => None,
        })
        .filter(|spc| {
            !spc.as_str()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
        .map(|spc| format!("spc {spc:?} has characters other than A-Z and 0-9"))
        .collect()
}

/// Checks a CRL distribution points extension: one DistributionPoint whose name is one
/// http(s) URI (ATIS-1000080 §6.4.1). Returns the URI and the point's cRLIssuer presence.
pub(crate) fn crl_distribution_point(
    ext: &X509Extension<'_>,
) -> Result<(String, bool), Vec<String>> {
    let points = match ext.parsed_extension() {
        ParsedExtension::CRLDistributionPoints(CRLDistributionPoints { points }) => points,
        other => {
            return Err(vec![format!(
                "crl distribution points extension does not parse: {other:?}"
            )]);
        }
    };
    let [point] = points.as_slice() else {
        return Err(vec![format!(
            "crl distribution points holds {} points; exactly one is required",
            points.len()
        )]);
    };
    let names = match &point.distribution_point {
        Some(DistributionPointName::FullName(names)) => names,
        Some(DistributionPointName::NameRelativeToCRLIssuer(_)) => {
            return Err(vec![
                "crl distribution point is relative to the crl issuer, not a full name".to_owned(),
            ]);
        }
        None => return Err(vec!["crl distribution point has no name".to_owned()]),
    };
    let [name] = names.as_slice() else {
        return Err(vec![format!(
            "crl distribution point names {} locations; exactly one is required",
            names.len()
        )]);
    };
    let GeneralName::URI(uri) = name else {
        return Err(vec![format!(
            "crl distribution point name is not a uri: {name}"
        )]);
    };
    let lower = uri.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(vec![format!(
            "crl distribution point uri {uri:?} is not http or https"
        )]);
    }
    Ok(((*uri).to_owned(), point.crl_issuer.is_some()))
}
