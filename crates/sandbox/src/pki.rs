//! The sandbox PKI (`reference/standards.md` §3.2, §3.4, §3.5): an STI-PA root with two
//! end-entity certificates under it (the signer of SPC tokens and the CA list, and the CRL
//! signer), and an STI-CA root with the intermediate that issues SHAKEN leaves. The CA root
//! is what the CA list lists. Created once, persisted in `pki.json` (keys as PKCS#8), reloaded
//! on every start, so a restart keeps the same trust anchors.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::Encode as _;
use der::oid::ObjectIdentifier;
use passport::Spc;
use pki::TnAuthList;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, DnValue, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData,
    SerialNumber, SignatureAlgorithm,
};
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// US SHAKEN CP 1.4 (`2.16.840.1.114569.1.1.4`).
const SHAKEN_CP_1_4: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.114569.1.1.4");
const CERTIFICATE_POLICIES: &[u64] = &[2, 5, 29, 32];
const CRL_DISTRIBUTION_POINTS: &[u64] = &[2, 5, 29, 31];
const TN_AUTH_LIST: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 26];

/// Organisation names of the sandbox parties.
const PA_ORG: &str = "Stirling Sandbox STI-PA";
const CA_ORG: &str = "Stirling Sandbox STI-CA";
/// Lifetime of the sandbox's own CA and signer certificates.
const INFRA_VALIDITY: Duration = Duration::from_secs(20 * 365 * 86_400);

/// Why the PKI could not be created, loaded or used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PkiError {
    /// rcgen failed to build or sign.
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A stored key or certificate does not decode.
    #[error("stored {what} does not decode")]
    Stored {
        /// Which item.
        what: &'static str,
    },
    /// DER encoding failed.
    #[error("der: {0}")]
    Der(#[from] der::Error),
    /// The system random generator failed.
    #[error("random generator failed")]
    Random,
}

/// A certificate and its key.
pub(crate) struct CertKey {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) key: KeyPair,
}

/// The five sandbox certificates.
pub(crate) struct SandboxPki {
    pub(crate) pa_root: CertKey,
    pub(crate) pa_signer: CertKey,
    pub(crate) crl_signer: CertKey,
    pub(crate) ca_root: CertKey,
    pub(crate) ca_intermediate: CertKey,
    /// `pa_signer`'s key for JWS (SPC tokens, CA list).
    pub(crate) pa_signing_key: passport::SigningKey,
    /// DER `Name` of the CRL signer: the CRL issuer and every leaf's cRLIssuer.
    pub(crate) crl_issuer_name: Vec<u8>,
    /// DER `Name` of the intermediate: the certificateIssuer of every CRL entry.
    pub(crate) intermediate_name: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct StoredPki {
    pa_root: StoredCert,
    pa_signer: StoredCert,
    crl_signer: StoredCert,
    ca_root: StoredCert,
    ca_intermediate: StoredCert,
}

#[derive(Serialize, Deserialize)]
struct StoredCert {
    /// DER, base64.
    certificate: String,
    /// PKCS#8 DER, base64.
    secret_key: String,
}

/// What goes into a leaf besides the key.
pub(crate) struct LeafRequest<'a> {
    pub(crate) spc: &'a Spc,
    pub(crate) tn_auth_list: &'a TnAuthList,
    pub(crate) organization: &'a str,
    /// The uncompressed P-256 point of the subject key.
    pub(crate) public_point: &'a [u8],
    pub(crate) crl_url: &'a str,
    pub(crate) now: SystemTime,
    pub(crate) validity: Duration,
}

impl SandboxPki {
    /// Creates a fresh PKI; `crl_url` goes into the intermediate's CRL distribution point.
    pub(crate) fn generate(crl_url: &str, now: SystemTime) -> Result<Self, PkiError> {
        let not_after = now + INFRA_VALIDITY;
        let pa_root = self_signed(ca_params(
            name(&[
                (DnType::CountryName, "US"),
                (DnType::StateOrProvinceName, "NJ"),
                (DnType::LocalityName, "Sandbox"),
                (DnType::OrganizationName, PA_ORG),
                (DnType::CommonName, "Stirling Sandbox STI-PA Root"),
            ])?,
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
            now,
            not_after,
        ))?;
        let pa_signer = issue(
            &pa_root,
            ee_params(
                name(&[
                    (DnType::CountryName, "US"),
                    (DnType::OrganizationName, PA_ORG),
                    (DnType::CommonName, "Stirling Sandbox STI-PA Signing"),
                ])?,
                vec![KeyUsagePurpose::DigitalSignature],
                now,
                not_after,
            ),
        )?;
        // RDN order as the production CRL issuer: L, ST, CN, C, O (standards.md §3.2).
        let crl_signer = issue(
            &pa_root,
            ee_params(
                name(&[
                    (DnType::LocalityName, "Sandbox"),
                    (DnType::StateOrProvinceName, "NJ"),
                    (DnType::CommonName, "Stirling Sandbox STI-PA CRL"),
                    (DnType::CountryName, "US"),
                    (DnType::OrganizationName, PA_ORG),
                ])?,
                vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign],
                now,
                not_after,
            ),
        )?;
        let ca_root = self_signed(ca_params(
            name(&[
                (DnType::CountryName, "US"),
                (DnType::OrganizationName, CA_ORG),
                (DnType::CommonName, "Stirling Sandbox SHAKEN Root CA"),
            ])?,
            vec![KeyUsagePurpose::KeyCertSign],
            now,
            not_after,
        ))?;
        let crl_issuer_name = subject_der(&crl_signer.der)?;
        let mut intermediate = ca_params(
            name(&[
                (DnType::CountryName, "US"),
                (DnType::OrganizationName, CA_ORG),
                (
                    DnType::CommonName,
                    "Stirling Sandbox SHAKEN Intermediate CA",
                ),
            ])?,
            vec![KeyUsagePurpose::KeyCertSign],
            now,
            not_after,
        );
        intermediate.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        intermediate.use_authority_key_identifier_extension = true;
        intermediate.custom_extensions = vec![
            certificate_policies()?,
            crl_distribution_points(crl_url, &crl_issuer_name),
        ];
        let ca_intermediate = issue(&ca_root, intermediate)?;
        Self::assemble(pa_root, pa_signer, crl_signer, ca_root, ca_intermediate)
    }

    /// Reloads a stored PKI.
    pub(crate) fn load(stored: &StoredPki) -> Result<Self, PkiError> {
        Self::assemble(
            stored.pa_root.load("pa_root")?,
            stored.pa_signer.load("pa_signer")?,
            stored.crl_signer.load("crl_signer")?,
            stored.ca_root.load("ca_root")?,
            stored.ca_intermediate.load("ca_intermediate")?,
        )
    }

    /// What goes to `pki.json`.
    pub(crate) fn to_stored(&self) -> StoredPki {
        StoredPki {
            pa_root: StoredCert::from(&self.pa_root),
            pa_signer: StoredCert::from(&self.pa_signer),
            crl_signer: StoredCert::from(&self.crl_signer),
            ca_root: StoredCert::from(&self.ca_root),
            ca_intermediate: StoredCert::from(&self.ca_intermediate),
        }
    }

    fn assemble(
        pa_root: CertKey,
        pa_signer: CertKey,
        crl_signer: CertKey,
        ca_root: CertKey,
        ca_intermediate: CertKey,
    ) -> Result<Self, PkiError> {
        // The token, CA list and CRL signers must chain to the PA root, the leaf issuer to the
        // CA root: refuse a pki.json whose certificates were swapped or edited.
        verify_issued(&pa_signer.der, &pa_root.der, "pa_signer")?;
        verify_issued(&crl_signer.der, &pa_root.der, "crl_signer")?;
        verify_issued(&ca_intermediate.der, &ca_root.der, "ca_intermediate")?;
        let pa_signing_key = passport::SigningKey::from_der(&pa_signer.key.serialize_der())
            .map_err(|_| PkiError::Stored { what: "pa_signer" })?;
        Ok(Self {
            crl_issuer_name: subject_der(&crl_signer.der)?,
            intermediate_name: subject_der(&ca_intermediate.der)?,
            pa_root,
            pa_signer,
            crl_signer,
            ca_root,
            ca_intermediate,
            pa_signing_key,
        })
    }

    /// Issues an ATIS-1000080 end-entity certificate under the intermediate; returns its DER.
    pub(crate) fn issue_leaf(&self, request: &LeafRequest<'_>) -> Result<Vec<u8>, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(&[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, request.organization),
            (DnType::CommonName, &format!("SHAKEN {}", request.spc)),
        ])?;
        params.serial_number = Some(random_serial()?);
        params.not_before = offset(request.now - Duration::from_secs(60));
        params.not_after = offset(request.now + request.validity);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = KeyIdMethod::PreSpecified(key_id(request.public_point));
        params.custom_extensions = vec![
            certificate_policies()?,
            crl_distribution_points(request.crl_url, &self.crl_issuer_name),
            CustomExtension::from_oid_content(TN_AUTH_LIST, request.tn_auth_list.to_der()),
        ];
        let issuer =
            Issuer::from_ca_cert_der(&self.ca_intermediate.der, &self.ca_intermediate.key)?;
        let cert = params.signed_by(&P256Point(request.public_point), &issuer)?;
        Ok(cert.der().to_vec())
    }
}

impl StoredCert {
    fn load(&self, what: &'static str) -> Result<CertKey, PkiError> {
        let bad = || PkiError::Stored { what };
        let der = STANDARD.decode(&self.certificate).map_err(|_| bad())?;
        let key = STANDARD.decode(&self.secret_key).map_err(|_| bad())?;
        let key = KeyPair::from_pkcs8_der_and_sign_algo(
            &PrivatePkcs8KeyDer::from(key),
            &PKCS_ECDSA_P256_SHA256,
        )
        .map_err(|_| bad())?;
        Ok(CertKey {
            der: CertificateDer::from(der),
            key,
        })
    }
}

impl From<&CertKey> for StoredCert {
    fn from(c: &CertKey) -> Self {
        Self {
            certificate: STANDARD.encode(c.der.as_ref()),
            secret_key: STANDARD.encode(c.key.serialize_der()),
        }
    }
}

/// A subject key given as an uncompressed P-256 point (from a CSR).
struct P256Point<'a>(&'a [u8]);

impl PublicKeyData for P256Point<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

fn ca_params(
    dn: DistinguishedName,
    key_usages: Vec<KeyUsagePurpose>,
    now: SystemTime,
    not_after: SystemTime,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = key_usages;
    params.not_before = offset(now - Duration::from_secs(3_600));
    params.not_after = offset(not_after);
    params
}

fn ee_params(
    dn: DistinguishedName,
    key_usages: Vec<KeyUsagePurpose>,
    now: SystemTime,
    not_after: SystemTime,
) -> CertificateParams {
    let mut params = ca_params(dn, key_usages, now, not_after);
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params
}

fn self_signed(mut params: CertificateParams) -> Result<CertKey, PkiError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    params.serial_number = Some(random_serial()?);
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_id(key.public_key_raw()));
    let cert = params.self_signed(&key)?;
    Ok(CertKey {
        der: cert.der().clone(),
        key,
    })
}

fn issue(issuer: &CertKey, mut params: CertificateParams) -> Result<CertKey, PkiError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    params.serial_number = Some(random_serial()?);
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_id(key.public_key_raw()));
    let issuer = Issuer::from_ca_cert_der(&issuer.der, &issuer.key)?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(CertKey {
        der: cert.der().clone(),
        key,
    })
}

/// An rcgen name with one RDN per attribute, in order; `C` as PrintableString (X.520).
fn name(attributes: &[(DnType, &str)]) -> Result<DistinguishedName, PkiError> {
    let mut dn = DistinguishedName::new();
    for (ty, value) in attributes {
        let value = if *ty == DnType::CountryName {
            DnValue::PrintableString((*value).try_into()?)
        } else {
            DnValue::Utf8String((*value).to_owned())
        };
        dn.push(ty.clone(), value);
    }
    Ok(dn)
}

/// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (ATIS-1000080 v005).
fn key_id(public_point: &[u8]) -> Vec<u8> {
    digest(&SHA1_FOR_LEGACY_USE_ONLY, public_point)
        .as_ref()
        .to_vec()
}

/// 16 bytes from the system CSPRNG, top bit clear and never zero: a positive INTEGER of at
/// least 64 random bits (ATIS-1000080 v005).
pub(crate) fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Random)?;
    bytes[0] = (bytes[0] & 0x7F) | 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

fn offset(time: SystemTime) -> OffsetDateTime {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    OffsetDateTime::from_unix_timestamp(secs as i64).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `certificatePolicies ::= SEQUENCE { PolicyInformation { policyIdentifier } }`, one SHAKEN
/// CP OID, non-critical.
fn certificate_policies() -> Result<CustomExtension, PkiError> {
    let oid = SHAKEN_CP_1_4.to_der()?;
    Ok(CustomExtension::from_oid_content(
        CERTIFICATE_POLICIES,
        tlv(0x30, &tlv(0x30, &oid)),
    ))
}

/// `CRLDistributionPoints` with one point: fullName URI and cRLIssuer directoryName
/// (RFC 5280 §4.2.1.13, implicit tags; `Name` is a CHOICE so `[4]` stays constructed).
fn crl_distribution_points(uri: &str, crl_issuer: &[u8]) -> CustomExtension {
    let full_name = tlv(0xA0, &tlv(0x86, uri.as_bytes()));
    let mut point = tlv(0xA0, &full_name);
    point.extend(tlv(0xA2, &tlv(0xA4, crl_issuer)));
    CustomExtension::from_oid_content(CRL_DISTRIBUTION_POINTS, tlv(0x30, &tlv(0x30, &point)))
}

/// Checks that `issuer`'s key signed `cert` and that the names chain.
fn verify_issued(cert: &[u8], issuer: &[u8], what: &'static str) -> Result<(), PkiError> {
    let bad = || PkiError::Stored { what };
    let (_, cert) = x509_parser::parse_x509_certificate(cert).map_err(|_| bad())?;
    let (_, issuer) = x509_parser::parse_x509_certificate(issuer).map_err(|_| bad())?;
    if cert.issuer().as_raw() != issuer.subject().as_raw() {
        return Err(bad());
    }
    cert.verify_signature(Some(issuer.public_key()))
        .map_err(|_| bad())
}

/// The subject `Name` DER of a certificate.
pub(crate) fn subject_der(cert: &[u8]) -> Result<Vec<u8>, PkiError> {
    use x509_parser::prelude::FromDer as _;
    let (_, parsed) = x509_parser::certificate::X509Certificate::from_der(cert).map_err(|_| {
        PkiError::Stored {
            what: "certificate",
        }
    })?;
    Ok(parsed.subject().as_raw().to_vec())
}

/// One DER tag-length-value: the workspace's single implementation lives in `pki`.
pub(crate) use pki::der_tlv as tlv;

/// PEM `CERTIFICATE` block.
pub(crate) fn pem(der: &[u8]) -> String {
    ::pem::encode(&::pem::Pem::new("CERTIFICATE", der.to_vec()))
}
