//! STI-PA style indirect CRLs (`reference/standards.md` §3.5), built with x509-cert and signed
//! with the signer's rcgen key (aws-lc-rs underneath).
//!
//! ```text
//! TBSCertList ::= SEQUENCE { version v2, signature, issuer, thisUpdate, nextUpdate,
//!   revokedCertificates SEQUENCE OF SEQUENCE { userCertificate, revocationDate,
//!                                              crlEntryExtensions },
//!   [0] crlExtensions }                                  -- RFC 5280 §5.1
//! certificateIssuer (2.5.29.29, critical) ::= GeneralNames  -- [4] directoryName
//! IssuingDistributionPoint (2.5.29.28, critical) with indirectCRL [4] TRUE
//! ```

use std::time::Duration;

use der::asn1::{BitString, OctetString, UtcTime};
use der::{Decode, Encode, oid::ObjectIdentifier};
use rcgen::SigningKey;
use x509_cert::Version;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::time::Time;

use crate::pki::{Curve, TEST_TIME, TestCert};

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const CERTIFICATE_ISSUER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.29");
const ISSUING_DISTRIBUTION_POINT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
const CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");

/// One revoked certificate.
#[derive(Clone, Debug)]
pub struct CrlEntry {
    /// Serial number bytes (big-endian, positive).
    pub serial: Vec<u8>,
    /// certificateIssuer as a DER `Name`; `None` inherits the previous entry's issuer.
    pub certificate_issuer: Option<Vec<u8>>,
    /// revocationDate, unix seconds.
    pub revocation_date: u64,
}

/// An indirect CRL to sign.
#[derive(Clone, Debug)]
pub struct IndirectCrl {
    /// The entries, in order.
    pub entries: Vec<CrlEntry>,
    /// thisUpdate, unix seconds.
    pub this_update: u64,
    /// nextUpdate, unix seconds.
    pub next_update: Option<u64>,
    /// Issuing Distribution Point URI (written with indirectCRL TRUE).
    pub distribution_point: Option<String>,
    /// CRL issuer `Name` DER; `None` uses the signer's subject.
    pub issuer: Option<Vec<u8>>,
}

impl CrlEntry {
    /// An entry revoking `serial` of the certificate issuer `issuer` (its subject DER).
    pub fn new(issuer: Option<Vec<u8>>, serial: u64) -> Self {
        Self {
            serial: positive(&serial.to_be_bytes()),
            certificate_issuer: issuer,
            revocation_date: TEST_TIME - 86_400,
        }
    }

    /// An entry revoking `cert`, naming its issuer in certificateIssuer.
    pub fn for_cert(cert: &TestCert) -> Self {
        let parsed = x509_cert::Certificate::from_der(cert.der()).unwrap();
        let tbs = parsed.tbs_certificate();
        Self {
            serial: tbs.serial_number().as_bytes().to_vec(),
            certificate_issuer: Some(tbs.issuer().to_der().unwrap()),
            revocation_date: TEST_TIME - 86_400,
        }
    }
}

impl IndirectCrl {
    /// An empty CRL: thisUpdate a day before [`TEST_TIME`], nextUpdate a day after, the
    /// production STI-PA URL as distribution point.
    pub fn new(entries: Vec<CrlEntry>) -> Self {
        Self {
            entries,
            this_update: TEST_TIME - 86_400,
            next_update: Some(TEST_TIME + 86_400),
            distribution_point: Some(
                "https://authenticate-api.iconectiv.com/download/v1/crl".into(),
            ),
            issuer: None,
        }
    }

    /// Signs with `signer`'s key and returns the DER CRL.
    pub fn sign(&self, signer: &TestCert) -> Vec<u8> {
        self.sign_with(signer, signer)
    }

    /// Names `named` as issuer (unless [`IndirectCrl::issuer`] is set) but signs with `key`'s
    /// key: for CRLs whose signature must not verify.
    pub fn sign_with(&self, named: &TestCert, key: &TestCert) -> Vec<u8> {
        let algorithm = AlgorithmIdentifierOwned {
            oid: match key.curve() {
                Curve::P256 => ECDSA_WITH_SHA256,
                Curve::P384 => ECDSA_WITH_SHA384,
            },
            parameters: None,
        };
        let issuer_der = self.issuer.clone().unwrap_or_else(|| named.subject_der());
        let revoked: Vec<RevokedCert> = self
            .entries
            .iter()
            .map(|e| RevokedCert {
                serial_number: SerialNumber::new(&e.serial).unwrap(),
                revocation_date: time(e.revocation_date),
                crl_entry_extensions: e.certificate_issuer.as_ref().map(|name| {
                    vec![Extension {
                        extn_id: CERTIFICATE_ISSUER,
                        critical: true,
                        extn_value: OctetString::new(general_names(name)).unwrap(),
                    }]
                }),
            })
            .collect();
        let mut extensions = vec![Extension {
            extn_id: CRL_NUMBER,
            critical: false,
            extn_value: OctetString::new(vec![0x02, 0x01, 0x01]).unwrap(),
        }];
        if let Some(uri) = &self.distribution_point {
            extensions.push(Extension {
                extn_id: ISSUING_DISTRIBUTION_POINT,
                critical: true,
                extn_value: OctetString::new(issuing_distribution_point(uri)).unwrap(),
            });
        }
        let tbs = TbsCertList {
            version: Version::V2,
            signature: algorithm.clone(),
            issuer: Name::from_der(&issuer_der).unwrap(),
            this_update: time(self.this_update),
            next_update: self.next_update.map(time),
            revoked_certificates: (!revoked.is_empty()).then_some(revoked),
            crl_extensions: Some(extensions),
        };
        let tbs_der = tbs.to_der().unwrap();
        let signature = key.key().sign(&tbs_der).unwrap();
        CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: algorithm,
            signature: BitString::from_bytes(&signature).unwrap(),
        }
        .to_der()
        .unwrap()
    }
}

/// DER to PEM `X509 CRL`.
pub fn crl_pem(der: &[u8]) -> String {
    use der::pem::{LineEnding, encode_string};
    encode_string("X509 CRL", LineEnding::LF, der).unwrap()
}

fn time(unix: u64) -> Time {
    Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(unix)).unwrap())
}

fn positive(bytes: &[u8]) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut out = bytes[start..].to_vec();
    if out[0] & 0x80 != 0 {
        out.insert(0, 0);
    }
    out
}

/// `GeneralNames ::= SEQUENCE OF GeneralName`, one `[4] EXPLICIT Name`.
fn general_names(name: &[u8]) -> Vec<u8> {
    tlv(0x30, &tlv(0xA4, name))
}

/// `SEQUENCE { distributionPoint [0] { fullName [0] { [6] uri } }, indirectCRL [4] TRUE }`.
fn issuing_distribution_point(uri: &str) -> Vec<u8> {
    let full_name = tlv(0xA0, &tlv(0x86, uri.as_bytes()));
    let mut body = tlv(0xA0, &full_name);
    body.extend_from_slice(&[0x84, 0x01, 0xFF]);
    tlv(0x30, &body)
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}
