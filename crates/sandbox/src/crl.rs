//! The STI-PA's indirect CRL (`reference/standards.md` §3.5), adapted from the dev-only
//! builder in `stirling-test` for production use: typed errors instead of panics.
//!
//! ```text
//! TBSCertList ::= SEQUENCE { version v2, signature, issuer, thisUpdate, nextUpdate,
//!   revokedCertificates SEQUENCE OF SEQUENCE { userCertificate, revocationDate,
//!                                              crlEntryExtensions },
//!   [0] crlExtensions }                                  -- RFC 5280 §5.1
//! certificateIssuer (2.5.29.29, critical) ::= GeneralNames  -- [4] directoryName
//! IssuingDistributionPoint (2.5.29.28, critical) with indirectCRL [4] TRUE
//! AuthorityInfoAccess (1.3.6.1.5.5.7.1.1): caIssuers → the CRL signer's certificate
//! ```

use std::time::Duration;

use der::asn1::{BitString, OctetString, UtcTime};
use der::oid::ObjectIdentifier;
use der::{Decode as _, Encode as _};
use rcgen::SigningKey as _;
use x509_cert::Version;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::time::Time;

use crate::pki::{PkiError, tlv};

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const CERTIFICATE_ISSUER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.29");
const ISSUING_DISTRIBUTION_POINT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
const CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
const CRL_REASON: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
const AUTHORITY_INFO_ACCESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1");
const CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");

/// One revoked certificate.
pub(crate) struct Entry {
    /// Serial number (DER INTEGER content bytes).
    pub(crate) serial: Vec<u8>,
    /// The issuing CA's subject `Name` DER.
    pub(crate) certificate_issuer: Vec<u8>,
    /// revocationDate, unix seconds.
    pub(crate) revocation_date: u64,
    /// CRLReason code, if any.
    pub(crate) reason: Option<u8>,
}

/// An indirect CRL to sign.
pub(crate) struct IndirectCrl<'a> {
    pub(crate) issuer: &'a [u8],
    pub(crate) entries: Vec<Entry>,
    pub(crate) this_update: u64,
    pub(crate) next_update: u64,
    pub(crate) number: u64,
    /// The URL the CRL is served at (IssuingDistributionPoint fullName).
    pub(crate) distribution_point: &'a str,
    /// The URL of the signer's certificate (AIA caIssuers).
    pub(crate) signer_url: &'a str,
}

impl IndirectCrl<'_> {
    /// Signs with `key` (ECDSA P-256, SHA-256) and returns the DER CRL.
    pub(crate) fn sign(&self, key: &rcgen::KeyPair) -> Result<Vec<u8>, PkiError> {
        let algorithm = AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA256,
            parameters: None,
        };
        let mut revoked: Vec<RevokedCert> = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            let mut extensions = vec![Extension {
                extn_id: CERTIFICATE_ISSUER,
                critical: true,
                extn_value: OctetString::new(tlv(0x30, &tlv(0xA4, &e.certificate_issuer)))?,
            }];
            if let Some(reason) = e.reason {
                extensions.push(Extension {
                    extn_id: CRL_REASON,
                    critical: false,
                    extn_value: OctetString::new(vec![0x0A, 0x01, reason])?,
                });
            }
            revoked.push(RevokedCert {
                serial_number: SerialNumber::new(&e.serial)?,
                revocation_date: time(e.revocation_date)?,
                crl_entry_extensions: Some(extensions),
            });
        }
        let number = integer(self.number);
        let extensions = vec![
            Extension {
                extn_id: CRL_NUMBER,
                critical: false,
                extn_value: OctetString::new(number)?,
            },
            Extension {
                extn_id: ISSUING_DISTRIBUTION_POINT,
                critical: true,
                extn_value: OctetString::new(issuing_distribution_point(self.distribution_point))?,
            },
            Extension {
                extn_id: AUTHORITY_INFO_ACCESS,
                critical: false,
                extn_value: OctetString::new(tlv(
                    0x30,
                    &tlv(
                        0x30,
                        &[CA_ISSUERS.to_der()?, tlv(0x86, self.signer_url.as_bytes())].concat(),
                    ),
                ))?,
            },
        ];
        let tbs = TbsCertList {
            version: Version::V2,
            signature: algorithm.clone(),
            issuer: Name::from_der(self.issuer)?,
            this_update: time(self.this_update)?,
            next_update: Some(time(self.next_update)?),
            revoked_certificates: (!revoked.is_empty()).then_some(revoked),
            crl_extensions: Some(extensions),
        };
        let tbs_der = tbs.to_der()?;
        let signature = key.sign(&tbs_der)?;
        Ok(CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: algorithm,
            signature: BitString::from_bytes(&signature)?,
        }
        .to_der()?)
    }
}

fn time(unix: u64) -> Result<Time, PkiError> {
    Ok(Time::UtcTime(UtcTime::from_unix_duration(
        Duration::from_secs(unix),
    )?))
}

/// A non-negative INTEGER, DER.
fn integer(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes
        .iter()
        .take_while(|b| **b == 0)
        .count()
        .min(bytes.len() - 1);
    let mut content = bytes[skip..].to_vec();
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

/// `SEQUENCE { distributionPoint [0] { fullName [0] { [6] uri } }, indirectCRL [4] TRUE }`.
fn issuing_distribution_point(uri: &str) -> Vec<u8> {
    let full_name = tlv(0xA0, &tlv(0x86, uri.as_bytes()));
    let mut body = tlv(0xA0, &full_name);
    body.extend_from_slice(&[0x84, 0x01, 0xFF]);
    tlv(0x30, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal_and_positive() {
        assert_eq!(integer(0), vec![2, 1, 0]);
        assert_eq!(integer(1), vec![2, 1, 1]);
        assert_eq!(integer(0x80), vec![2, 2, 0, 0x80]);
        assert_eq!(integer(0x1234), vec![2, 2, 0x12, 0x34]);
    }
}
