//! PKCS#10 certification requests for SHAKEN certificates (`standards.md` §3.3).
//!
//! ```text
//! CertificationRequest ::= SEQUENCE {                        -- RFC 2986 §4
//!     certificationRequestInfo  SEQUENCE {
//!         version       INTEGER { v1(0) },
//!         subject       Name,
//!         subjectPKInfo SubjectPublicKeyInfo,                -- id-ecPublicKey, P-256
//!         attributes    [0] { extensionRequest (1.2.840.113549.1.9.14) {
//!             TNAuthList (non-critical) [, basicConstraints CA:FALSE] [, cRLDistributionPoints] } } },
//!     signatureAlgorithm  ecdsa-with-SHA256,
//!     signature           BIT STRING }
//! ```
//!
//! rcgen builds and signs the request; it cannot put a CRL distribution point (let alone one
//! with a cRLIssuer) in a CSR, so that extension is encoded here and added raw.

use rcgen::{CertificateParams, CustomExtension, DnType, DnValue, IsCa, KeyPair};
use rustls_pki_types::{CertificateSigningRequestDer, PrivatePkcs8KeyDer};

use crate::TnAuthList;

/// What goes into a SHAKEN CSR. Build with [`CsrParams::new`] and the setters, then sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsrParams {
    tn_auth_list: TnAuthList,
    subject: DistinguishedName,
    crl_distribution_point: Option<CrlDistributionPoint>,
    basic_constraints: bool,
}

/// A signed CSR and the private key it was signed with.
#[derive(Debug)]
pub struct Csr {
    der: CertificateSigningRequestDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

/// A distinguished name whose attributes keep the order they were pushed in (the STI-PA
/// cRLIssuer is `L, ST, CN, C, O` exactly). Each attribute is its own RDN. `C` and
/// `serialNumber` are PrintableString (X.520), the rest UTF8String.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DistinguishedName {
    attributes: Vec<(NameAttribute, String)>,
}

/// Attribute types a SHAKEN name uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameAttribute {
    /// `CN`, 2.5.4.3.
    CommonName,
    /// `C`, 2.5.4.6.
    Country,
    /// `L`, 2.5.4.7.
    Locality,
    /// `O`, 2.5.4.10.
    Organization,
    /// `OU`, 2.5.4.11.
    OrganizationalUnit,
    /// `serialNumber`, 2.5.4.5.
    SerialNumber,
    /// `ST`, 2.5.4.8.
    StateOrProvince,
}

/// One CRL distribution point: a `fullName` URI and the `cRLIssuer` directory name, as the
/// STI-PA's indirect CRL needs (`standards.md` §3.2, §3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlDistributionPoint {
    /// Where the CRL is fetched, e.g. the STI-PA CRL URL.
    pub uri: String,
    /// Who signs the CRL; `None` leaves the cRLIssuer out.
    pub crl_issuer: Option<DistinguishedName>,
}

/// Why a CSR could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    /// The CRL URI is not IA5 (ASCII) text.
    #[error("crl distribution point uri {uri:?} is not ascii")]
    CrlUri {
        /// The URI given.
        uri: String,
    },
    /// The private key is not a PKCS#8 P-256 key, or key generation failed.
    #[error("p-256 key: {0}")]
    Key(rcgen::Error),
    /// A name value cannot be encoded (e.g. a `C` that is not PrintableString).
    #[error("name attribute {attribute:?} value {value:?} cannot be encoded")]
    NameValue {
        /// The attribute.
        attribute: NameAttribute,
        /// The value given.
        value: String,
    },
    /// rcgen failed to build or sign the request.
    #[error("csr signing: {0}")]
    Sign(rcgen::Error),
}

impl CsrParams {
    /// A CSR carrying `tn_auth_list`, with an empty subject, no CRL distribution point and no
    /// basicConstraints.
    pub fn new(tn_auth_list: TnAuthList) -> Self {
        Self {
            tn_auth_list,
            subject: DistinguishedName::default(),
            crl_distribution_point: None,
            basic_constraints: false,
        }
    }

    /// Sets the subject (some STI-CAs require O and CN, others ignore it).
    pub fn subject(mut self, subject: DistinguishedName) -> Self {
        self.subject = subject;
        self
    }

    /// Requests a CRL distribution point (e.g. the `crl` value returned with the SPC token).
    pub fn crl_distribution_point(mut self, point: CrlDistributionPoint) -> Self {
        self.crl_distribution_point = Some(point);
        self
    }

    /// Requests basicConstraints `CA:FALSE` (critical).
    pub fn end_entity_basic_constraints(mut self) -> Self {
        self.basic_constraints = true;
        self
    }

    /// Generates a fresh P-256 key and signs the request with it.
    pub fn sign_with_new_key(&self) -> Result<Csr, CsrError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(CsrError::Key)?;
        self.sign_with(&key)
    }

    /// Signs the request with a given PKCS#8 P-256 key.
    pub fn sign(&self, key: &PrivatePkcs8KeyDer<'_>) -> Result<Csr, CsrError> {
        let key = KeyPair::from_pkcs8_der_and_sign_algo(key, &rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(CsrError::Key)?;
        self.sign_with(&key)
    }

    fn sign_with(&self, key: &KeyPair) -> Result<Csr, CsrError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = self.subject.to_rcgen()?;
        params.is_ca = if self.basic_constraints {
            IsCa::ExplicitNoCa
        } else {
            IsCa::NoCa
        };
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                TN_AUTH_LIST_OID,
                self.tn_auth_list.to_der(),
            ));
        if let Some(point) = &self.crl_distribution_point {
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(
                    CRL_DISTRIBUTION_POINTS_OID,
                    point.to_der()?,
                ));
        }
        let csr = params.serialize_request(key).map_err(CsrError::Sign)?;
        Ok(Csr {
            der: csr.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }
}

const TN_AUTH_LIST_OID: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 26];
const CRL_DISTRIBUTION_POINTS_OID: &[u64] = &[2, 5, 29, 31];

impl Csr {
    /// The request, DER.
    pub fn der(&self) -> &CertificateSigningRequestDer<'static> {
        &self.der
    }

    /// The request as a `CERTIFICATE REQUEST` PEM block.
    pub fn pem(&self) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", self.der.as_ref()))
    }

    /// The PKCS#8 private key the request was signed with (a secret: `Debug` redacts it).
    pub fn secret_key(&self) -> &PrivatePkcs8KeyDer<'static> {
        &self.key
    }

    /// The private key as a `PRIVATE KEY` (PKCS#8) PEM block. A secret: never log it.
    pub fn secret_key_pem(&self) -> String {
        pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            self.key.secret_pkcs8_der().to_vec(),
        ))
    }
}

impl DistinguishedName {
    /// The cRLIssuer of the STI-PA's CRL as issued in production:
    /// `L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA`, in that RDN order.
    pub fn sti_pa_crl_issuer() -> Self {
        Self::default()
            .push(NameAttribute::Locality, "Bridgewater")
            .push(NameAttribute::StateOrProvince, "NJ")
            .push(NameAttribute::CommonName, "STI-PA CRL")
            .push(NameAttribute::Country, "US")
            .push(NameAttribute::Organization, "STI-PA")
    }

    /// Appends one attribute as its own RDN.
    pub fn push(mut self, attribute: NameAttribute, value: &str) -> Self {
        self.attributes.push((attribute, value.to_owned()));
        self
    }

    /// The attributes in order.
    pub fn attributes(&self) -> &[(NameAttribute, String)] {
        &self.attributes
    }

    /// `Name ::= SEQUENCE OF RelativeDistinguishedName`, one `SET { type, value }` each.
    fn to_der(&self) -> Result<Vec<u8>, CsrError> {
        let mut rdns = Vec::new();
        for (attribute, value) in &self.attributes {
            let string = match attribute.printable() {
                true if is_printable(value) => der_tlv(TAG_PRINTABLE_STRING, value.as_bytes()),
                true => {
                    return Err(CsrError::NameValue {
                        attribute: *attribute,
                        value: value.clone(),
                    });
                }
                false => der_tlv(TAG_UTF8_STRING, value.as_bytes()),
            };
            let oid = der_tlv(TAG_OID, &[0x55, 0x04, attribute.arc()]);
            let atv = der_tlv(TAG_SEQUENCE, &[oid, string].concat());
            rdns.extend(der_tlv(TAG_SET, &atv));
        }
        Ok(der_tlv(TAG_SEQUENCE, &rdns))
    }

    fn to_rcgen(&self) -> Result<rcgen::DistinguishedName, CsrError> {
        let mut dn = rcgen::DistinguishedName::new();
        for (attribute, value) in &self.attributes {
            let bad = || CsrError::NameValue {
                attribute: *attribute,
                value: value.clone(),
            };
            let value = if attribute.printable() {
                DnValue::PrintableString(value.clone().try_into().map_err(|_| bad())?)
            } else {
                DnValue::Utf8String(value.clone())
            };
            let ty = match attribute {
                NameAttribute::CommonName => DnType::CommonName,
                NameAttribute::Country => DnType::CountryName,
                NameAttribute::Locality => DnType::LocalityName,
                NameAttribute::Organization => DnType::OrganizationName,
                NameAttribute::OrganizationalUnit => DnType::OrganizationalUnitName,
                NameAttribute::SerialNumber => DnType::CustomDnType(vec![2, 5, 4, 5]),
                NameAttribute::StateOrProvince => DnType::StateOrProvinceName,
            };
            dn.push(ty, value);
        }
        Ok(dn)
    }
}

impl NameAttribute {
    /// Last arc of the `id-at` OID (2.5.4.x).
    fn arc(self) -> u8 {
        match self {
            NameAttribute::CommonName => 3,
            NameAttribute::SerialNumber => 5,
            NameAttribute::Country => 6,
            NameAttribute::Locality => 7,
            NameAttribute::StateOrProvince => 8,
            NameAttribute::Organization => 10,
            NameAttribute::OrganizationalUnit => 11,
        }
    }

    /// X.520 fixes `C` and `serialNumber` to PrintableString.
    fn printable(self) -> bool {
        matches!(self, NameAttribute::Country | NameAttribute::SerialNumber)
    }
}

impl CrlDistributionPoint {
    /// `CRLDistributionPoints` (RFC 5280 §4.2.1.13, IMPLICIT tags) with this one point:
    ///
    /// ```text
    /// CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint
    /// DistributionPoint ::= SEQUENCE {
    ///     distributionPoint [0] DistributionPointName OPTIONAL,  -- CHOICE: stays explicit
    ///     reasons           [1] ReasonFlags OPTIONAL,            -- absent
    ///     cRLIssuer         [2] GeneralNames OPTIONAL }
    /// DistributionPointName ::= CHOICE { fullName [0] GeneralNames, ... }
    /// GeneralName ::= CHOICE { directoryName [4] Name,            -- Name is a CHOICE: explicit
    ///                          uniformResourceIdentifier [6] IA5String, ... }
    /// ```
    fn to_der(&self) -> Result<Vec<u8>, CsrError> {
        if !self.uri.is_ascii() {
            return Err(CsrError::CrlUri {
                uri: self.uri.clone(),
            });
        }
        let uri = der_tlv(0x86, self.uri.as_bytes());
        let full_name = der_tlv(0xA0, &uri);
        let mut point = der_tlv(0xA0, &full_name);
        if let Some(issuer) = &self.crl_issuer {
            let directory_name = der_tlv(0xA4, &issuer.to_der()?);
            point.extend(der_tlv(0xA2, &directory_name));
        }
        Ok(der_tlv(TAG_SEQUENCE, &der_tlv(TAG_SEQUENCE, &point)))
    }
}

const TAG_OID: u8 = 0x06;
const TAG_UTF8_STRING: u8 = 0x0C;
const TAG_PRINTABLE_STRING: u8 = 0x13;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;

/// One DER tag-length-value with a definite length in the shortest form (X.690 §10.1), for
/// the extensions and names this workspace builds by hand (the sandbox's certificates too).
pub fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// X.680 PrintableString characters.
fn is_printable(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use passport::Spc;
    use x509_parser::prelude::FromDer;

    use super::*;
    use crate::{Verdict, lint_csr};

    const STI_PA_CRL: &str = "https://authenticate-api.iconectiv.com/download/v1/crl";

    fn params() -> CsrParams {
        CsrParams::new(TnAuthList::from_spc(Spc::new("1234").expect("valid spc")))
    }

    #[test]
    fn tlv_lengths() {
        assert_eq!(der_tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        assert_eq!(&der_tlv(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&der_tlv(0x04, &[0; 300])[..4], &[0x04, 0x82, 0x01, 0x2C]);
    }

    #[test]
    fn sti_pa_crl_issuer_encodes_in_order() {
        let der = DistinguishedName::sti_pa_crl_issuer()
            .to_der()
            .expect("encodes");
        let (_, name) = x509_parser::x509::X509Name::from_der(&der).expect("name parses");
        assert_eq!(
            name.to_string(),
            "L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA"
        );
    }

    #[test]
    fn country_must_be_printable() {
        let dn = DistinguishedName::default().push(NameAttribute::Country, "U_S");
        assert_eq!(
            dn.to_der(),
            Err(CsrError::NameValue {
                attribute: NameAttribute::Country,
                value: "U_S".to_owned()
            })
        );
    }

    #[test]
    fn minimal_csr_passes_the_linter() {
        let csr = params().sign_with_new_key().expect("signs");
        let report = lint_csr(csr.der()).expect("parses");
        assert_eq!(report.findings(), &[]);
        assert_eq!(report.verdict("e_stirling_csr_tn_auth_list"), Verdict::Pass);
        assert_eq!(
            report.verdict("e_stirling_csr_crl_distribution"),
            Verdict::NotApplicable
        );
    }

    #[test]
    fn given_key_is_used() {
        let first = params().sign_with_new_key().expect("signs");
        let second = params().sign(first.secret_key()).expect("signs");
        let spki = |der: &[u8]| {
            let (_, csr) =
                x509_parser::certification_request::X509CertificationRequest::from_der(der)
                    .expect("parses");
            csr.certification_request_info.subject_pki.raw.to_vec()
        };
        assert_eq!(spki(first.der()), spki(second.der()));
        assert!(matches!(
            params().sign(&PrivatePkcs8KeyDer::from(vec![1, 2, 3])),
            Err(CsrError::Key(_))
        ));
    }

    #[test]
    fn full_csr_passes_the_linter_and_carries_the_crl_issuer() {
        let csr = full().sign_with_new_key().expect("signs");
        let report = lint_csr(csr.der()).expect("parses");
        assert_eq!(report.findings(), &[]);
        assert_eq!(
            report.verdict("e_stirling_csr_crl_distribution"),
            Verdict::Pass
        );
        assert_eq!(
            report.verdict("e_stirling_csr_basic_constraints"),
            Verdict::Pass
        );
    }

    fn full() -> CsrParams {
        params()
            .subject(
                DistinguishedName::default()
                    .push(NameAttribute::Country, "US")
                    .push(NameAttribute::Organization, "Example Telco")
                    .push(NameAttribute::CommonName, "SHAKEN 1234"),
            )
            .crl_distribution_point(CrlDistributionPoint {
                uri: STI_PA_CRL.to_owned(),
                crl_issuer: Some(DistinguishedName::sti_pa_crl_issuer()),
            })
            .end_entity_basic_constraints()
    }

    /// Software we did not write must accept the CSR: `openssl req -verify`.
    #[test]
    fn openssl_verifies_the_csr() {
        let csr = full().sign_with_new_key().expect("signs");
        let dir = std::env::temp_dir().join(format!("pki-csr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("req.pem");
        std::fs::write(&path, csr.pem()).expect("write csr");
        let out = Command::new("openssl")
            .args(["req", "-verify", "-text", "-noout", "-in"])
            .arg(&path)
            .output()
            .expect("openssl runs");
        // The exact TNAuthList DER, as the OCTET STRING value openssl finds in the request.
        let asn1 = Command::new("openssl")
            .args(["asn1parse", "-in"])
            .arg(&path)
            .output()
            .expect("openssl runs");
        let _ = std::fs::remove_dir_all(&dir);
        let asn1 = String::from_utf8_lossy(&asn1.stdout);
        assert!(asn1.contains("[HEX DUMP]:3008A006160431323334"), "{asn1}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        let all = format!("{stdout}{stderr}");
        assert!(
            all.contains("verify OK")
                || all.contains("Certificate request self-signature verify OK"),
            "{all}"
        );
        // openssl -text prints an unknown extension as a dump: "0.....1234" for
        // 30 08 A0 06 16 04 31 32 33 34.
        assert!(all.contains("1.3.6.1.5.5.7.1.26"), "{all}");
        assert!(all.contains("0.....1234"), "{all}");
        assert!(all.contains(STI_PA_CRL), "{all}");
        assert!(
            all.contains("L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA")
                || all.contains("L = Bridgewater, ST = NJ, CN = STI-PA CRL, C = US, O = STI-PA"),
            "{all}"
        );
        assert!(
            all.contains("CN = SHAKEN 1234") || all.contains("CN=SHAKEN 1234"),
            "{all}"
        );
        assert!(all.contains("ecdsa-with-SHA256"), "{all}");
        assert!(all.contains("prime256v1") || all.contains("P-256"), "{all}");
    }
}
