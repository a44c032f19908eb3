//! A SHAKEN-shaped test PKI: root → intermediate → leaf with a TNAuthList, and knobs to break
//! each rule the validator checks.

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    PKCS_ECDSA_P384_SHA384, SerialNumber,
};
use time::OffsetDateTime;

/// 2025-06-01T00:00:00Z: inside every default validity period below.
pub const TEST_TIME: u64 = 1_748_736_000;
/// 2020-01-01T00:00:00Z.
const CA_NOT_BEFORE: u64 = 1_577_836_800;
/// 2040-01-01T00:00:00Z.
const CA_NOT_AFTER: u64 = 2_208_988_800;
/// 2025-01-01T00:00:00Z.
const LEAF_NOT_BEFORE: u64 = 1_735_689_600;
/// 2026-01-01T00:00:00Z.
const LEAF_NOT_AFTER: u64 = 1_767_225_600;

/// id-pe-TNAuthList (RFC 8226).
const TN_AUTH_LIST: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 26];

/// Key type of a test certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// EC P-256, signing with ECDSA-SHA256.
    P256,
    /// EC P-384, signing with ECDSA-SHA384.
    P384,
}

/// How to build one certificate. Start from [`CertOptions::root`], [`CertOptions::ca`],
/// [`CertOptions::leaf`] or [`CertOptions::crl_signer`] and change fields.
#[derive(Clone, Debug)]
pub struct CertOptions {
    /// Subject CN (O is "Stirling Test", C is "US").
    pub common_name: String,
    /// The certificate's key type.
    pub curve: Curve,
    /// BasicConstraints: `None` leaves the extension out.
    pub is_ca: Option<bool>,
    /// pathLenConstraint for CA certificates.
    pub path_len: Option<u8>,
    /// KeyUsage bits; empty leaves the extension out.
    pub key_usages: Vec<KeyUsagePurpose>,
    /// ExtendedKeyUsage purposes; empty leaves the extension out.
    pub extended_key_usages: Vec<ExtendedKeyUsagePurpose>,
    /// TNAuthList extension value (DER), if any.
    pub tn_auth_list: Option<Vec<u8>>,
    /// Whether the TNAuthList is marked critical.
    pub tn_auth_list_critical: bool,
    /// notBefore, unix seconds.
    pub not_before: u64,
    /// notAfter, unix seconds.
    pub not_after: u64,
    /// Serial number (positive).
    pub serial: u64,
    /// Whether to write an AuthorityKeyIdentifier.
    pub authority_key_id: bool,
    /// Further extensions: (OID arcs, DER value, critical).
    pub extra_extensions: Vec<(Vec<u64>, Vec<u8>, bool)>,
}

/// A certificate with its private key, able to issue further certificates.
pub struct TestCert {
    params: CertificateParams,
    key: KeyPair,
    cert: rcgen::Certificate,
}

/// The usual three-level test PKI.
pub struct TestPki {
    /// Self-signed root (P-256).
    pub root: TestCert,
    /// Intermediate issued by `root`.
    pub intermediate: TestCert,
    /// Leaf issued by `intermediate`, SPC `1234`.
    pub leaf: TestCert,
}

impl CertOptions {
    /// A root CA: CA:TRUE, keyCertSign + cRLSign, valid 2020–2040.
    pub fn root(common_name: &str) -> Self {
        Self {
            common_name: common_name.to_owned(),
            curve: Curve::P256,
            is_ca: Some(true),
            path_len: None,
            key_usages: vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
            extended_key_usages: Vec::new(),
            tn_auth_list: None,
            tn_auth_list_critical: false,
            not_before: CA_NOT_BEFORE,
            not_after: CA_NOT_AFTER,
            serial: 0x1000,
            authority_key_id: false,
            extra_extensions: Vec::new(),
        }
    }

    /// An intermediate CA: like a root, with an AKI.
    pub fn ca(common_name: &str) -> Self {
        Self {
            serial: 0x2000,
            authority_key_id: true,
            ..Self::root(common_name)
        }
    }

    /// A SHAKEN leaf for `spc`: CA:FALSE, digitalSignature, TNAuthList, valid 2025.
    pub fn leaf(spc: &str) -> Self {
        Self {
            common_name: format!("SHAKEN {spc}"),
            curve: Curve::P256,
            is_ca: Some(false),
            path_len: None,
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            extended_key_usages: Vec::new(),
            tn_auth_list: Some(tn_auth_list_der(spc)),
            tn_auth_list_critical: false,
            not_before: LEAF_NOT_BEFORE,
            not_after: LEAF_NOT_AFTER,
            serial: 0x3000,
            authority_key_id: true,
            extra_extensions: Vec::new(),
        }
    }

    /// An STI-PA CRL signer: not a CA, digitalSignature + cRLSign.
    pub fn crl_signer(common_name: &str) -> Self {
        Self {
            is_ca: Some(false),
            key_usages: vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign],
            serial: 0x4000,
            ..Self::ca(common_name)
        }
    }
}

impl TestCert {
    /// A self-signed certificate.
    pub fn self_signed(options: &CertOptions) -> Self {
        let key = key_pair(options.curve);
        let params = params(options);
        let cert = params.self_signed(&key).unwrap();
        Self { params, key, cert }
    }

    /// A certificate issued by `self`.
    pub fn issue(&self, options: &CertOptions) -> Self {
        let key = key_pair(options.curve);
        let params = params(options);
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        Self { params, key, cert }
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        self.cert.der()
    }

    /// The certificate, PEM.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// The private key.
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// The subject `Name`, DER (for CRL issuer fields).
    pub fn subject_der(&self) -> Vec<u8> {
        use der::{Decode, Encode};
        let cert = x509_cert::Certificate::from_der(self.der()).unwrap();
        cert.tbs_certificate().subject().to_der().unwrap()
    }

    /// The key type.
    pub fn curve(&self) -> Curve {
        if self.key.algorithm() == &PKCS_ECDSA_P384_SHA384 {
            Curve::P384
        } else {
            Curve::P256
        }
    }
}

impl TestPki {
    /// Root `Stirling Test SHAKEN Root`, intermediate `Stirling Test SHAKEN Issuing CA`, leaf
    /// `SHAKEN 1234`, all with default options.
    pub fn new() -> Self {
        Self::with(
            &CertOptions::root("Stirling Test SHAKEN Root"),
            &CertOptions::ca("Stirling Test SHAKEN Issuing CA"),
            &CertOptions::leaf("1234"),
        )
    }

    /// Root, intermediate and leaf from the given options.
    pub fn with(root: &CertOptions, intermediate: &CertOptions, leaf: &CertOptions) -> Self {
        let root = TestCert::self_signed(root);
        let intermediate = root.issue(intermediate);
        let leaf = intermediate.issue(leaf);
        Self {
            root,
            intermediate,
            leaf,
        }
    }

    /// The x5u body: leaf then intermediate, PEM.
    pub fn chain_pem(&self) -> String {
        format!("{}{}", self.leaf.pem(), self.intermediate.pem())
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

/// The TNAuthList DER for one SPC: `30 (n+4) A0 (n+2) 16 n <spc>` (RFC 8226, EXPLICIT tags).
pub fn tn_auth_list_der(spc: &str) -> Vec<u8> {
    let n = spc.len();
    assert!(n <= 123, "spc too long for the short form");
    let mut der = vec![0x30, (n + 4) as u8, 0xA0, (n + 2) as u8, 0x16, n as u8];
    der.extend_from_slice(spc.as_bytes());
    der
}

fn key_pair(curve: Curve) -> KeyPair {
    match curve {
        Curve::P256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
        Curve::P384 => KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384),
    }
    .unwrap()
}

fn params(options: &CertOptions) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::OrganizationName, "Stirling Test");
    dn.push(DnType::CommonName, options.common_name.as_str());
    params.distinguished_name = dn;
    params.is_ca = match (options.is_ca, options.path_len) {
        (Some(true), Some(n)) => IsCa::Ca(BasicConstraints::Constrained(n)),
        (Some(true), None) => IsCa::Ca(BasicConstraints::Unconstrained),
        (Some(false), _) => IsCa::ExplicitNoCa,
        (None, _) => IsCa::NoCa,
    };
    params.key_usages = options.key_usages.clone();
    params.extended_key_usages = options.extended_key_usages.clone();
    if let Some(tn) = &options.tn_auth_list {
        let mut ext = CustomExtension::from_oid_content(TN_AUTH_LIST, tn.clone());
        ext.set_criticality(options.tn_auth_list_critical);
        params.custom_extensions.push(ext);
    }
    for (oid, value, critical) in &options.extra_extensions {
        let mut ext = CustomExtension::from_oid_content(oid, value.clone());
        ext.set_criticality(*critical);
        params.custom_extensions.push(ext);
    }
    params.not_before = at(options.not_before);
    params.not_after = at(options.not_after);
    params.serial_number = Some(SerialNumber::from_slice(&options.serial.to_be_bytes()));
    params.use_authority_key_identifier_extension = options.authority_key_id;
    params
}

fn at(unix: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix as i64).unwrap()
}
