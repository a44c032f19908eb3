//! The STI-PA's centralized, **indirect** CRL (`reference/standards.md` §3.5, RFC 5280 §5).
//!
//! One CRL covers the whole SHAKEN ecosystem. Its issuer is the `STI-PA CRL` name; each entry
//! names the STI-CA that issued the revoked certificate in its `certificateIssuer` entry
//! extension (2.5.29.29), and an entry without one inherits the previous entry's issuer,
//! starting from the CRL issuer (RFC 5280 §5.3.3). A revocation therefore matches on
//! (issuer name, serial), never on the serial alone. Names are compared per RFC 5280 §7.1
//! (see `name.rs`: string type, case and white space do not matter).
//!
//! The CRL is trusted only after its signature verifies with the CRL signer's certificate and
//! that certificate chains to a pinned STI-PA root (not to the STI-CA anchors). Whether the
//! CRL is fresh (`nextUpdate`) is the caller's refresh policy; both times are exposed.

use std::collections::HashMap;
use std::ops::Range;

use der::asn1::AnyRef;
use der::{Decode, Tag, TagNumber, Tagged};
use passport::UnixTime;
use x509_parser::asn1_rs::Oid;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::{
    OID_PKIX_AUTHORITY_INFO_ACCESS, OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER, OID_X509_EXT_CRL_NUMBER,
    OID_X509_EXT_INVALIDITY_DATE, OID_X509_EXT_ISSUER_DISTRIBUTION_POINT, OID_X509_EXT_REASON_CODE,
};
use x509_parser::prelude::{CertificateRevocationList, FromDer};
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::cert::{Cert, Curve, KeyKind, SignatureError, describe_key, key_kind, verify_signature};
use crate::chain::{self, CertificateChain, ChainError, trim_serial, unix};
use crate::name::NameKey;
use crate::pem::{self, BodyError};
use crate::trust_anchors::TrustAnchors;

/// Most entries accepted in one CRL (the production CRL has a few thousand; the fetcher also
/// caps the body at 2 MiB).
pub const MAX_CRL_ENTRIES: usize = 1_000_000;

/// id-ce-certificateIssuer, 2.5.29.29, as DER OID content bytes.
const CERTIFICATE_ISSUER: &[u8] = &[0x55, 0x1D, 0x1D];

/// A CRL that parsed but whose signature has not been checked yet.
#[derive(Clone, Debug)]
pub struct UnverifiedCrl {
    der: Vec<u8>,
    tbs: Range<usize>,
    signature_algorithm: Oid<'static>,
    signature: Vec<u8>,
    list: RevocationList,
}

/// A CRL whose signature verified with a signer chaining to the STI-PA root: the revocation
/// input of [`CertificateChain::verify`].
#[derive(Clone, Debug)]
pub struct RevocationList {
    issuer: NameKey,
    issuer_name: String,
    this_update: UnixTime,
    next_update: Option<UnixTime>,
    distribution_point: Option<String>,
    indirect: bool,
    entries: HashMap<NameKey, HashMap<Box<[u8]>, UnixTime>>,
    len: usize,
}

/// Why a CRL is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CrlError {
    /// The signature does not verify with the signer's key.
    #[error("crl signature does not verify")]
    BadSignature,
    /// The CRL's issuer name is not the signer certificate's subject.
    #[error("crl issuer {crl_issuer} is not the signer {signer}")]
    IssuerMismatch {
        /// The CRL's issuer.
        crl_issuer: String,
        /// The signer certificate's subject.
        signer: String,
    },
    /// The bytes are not a CRL (PEM, DER or structure).
    #[error("crl is malformed: {0}")]
    Malformed(String),
    /// An entry is malformed, e.g. a certificateIssuer without a directory name.
    #[error("crl entry {index} is malformed: {reason}")]
    MalformedEntry {
        /// Position of the entry, from 0.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The signer certificate does not chain to the STI-PA root.
    #[error("crl signer is not trusted: {0}")]
    Signer(ChainError),
    /// The signer certificate's KeyUsage lacks cRLSign.
    #[error("crl signer key usage lacks crlsign")]
    SignerKeyUsage,
    /// The signer's key is neither EC P-256 nor P-384.
    #[error("crl signer has a {0} key")]
    SignerKey(String),
    /// The CRL has more than [`MAX_CRL_ENTRIES`] entries.
    #[error("crl has more than {max} entries")]
    TooManyEntries {
        /// The limit.
        max: usize,
    },
    /// A critical CRL or entry extension we do not process (e.g. a delta CRL indicator).
    #[error("crl has unsupported critical extension {oid}")]
    UnsupportedCriticalExtension {
        /// The extension's OID.
        oid: String,
    },
    /// A signature algorithm other than ECDSA with SHA-256/384 by a P-256/P-384 key.
    #[error("crl signed with unsupported {0}")]
    UnsupportedSignatureAlgorithm(String),
}

impl UnverifiedCrl {
    /// Parses a CRL body, DER or PEM (`-----BEGIN X509 CRL-----`), and indexes its entries.
    pub fn from_bytes(body: &[u8]) -> Result<Self, CrlError> {
        let der = pem::crl(body).map_err(|e| match e {
            BodyError::Empty => CrlError::Malformed("no crl found".into()),
            BodyError::TooMany(_) => CrlError::Malformed("more than one crl".into()),
            BodyError::Pem(r) | BodyError::Der(r) => CrlError::Malformed(r),
        })?;
        let (tbs, signature_algorithm, signature, list) = {
            let (rest, crl) = CertificateRevocationList::from_der(&der)
                .map_err(|e| CrlError::Malformed(e.to_string()))?;
            if !rest.is_empty() {
                return Err(CrlError::Malformed(format!(
                    "{} bytes after the crl",
                    rest.len()
                )));
            }
            if crl.tbs_cert_list.signature.algorithm != crl.signature_algorithm.algorithm {
                return Err(CrlError::Malformed(
                    "signature algorithm of tbsCertList and crl differ".into(),
                ));
            }
            let tbs_bytes = crl.tbs_cert_list.as_ref();
            let start = (tbs_bytes.as_ptr() as usize).wrapping_sub(der.as_ptr() as usize);
            let tbs = start..start + tbs_bytes.len();
            if der.get(tbs.clone()) != Some(tbs_bytes) {
                return Err(CrlError::Malformed(
                    "tbsCertList is not inside the crl".into(),
                ));
            }
            (
                tbs,
                crl.signature_algorithm.algorithm.to_owned(),
                crl.signature_value.data.to_vec(),
                index(&crl)?,
            )
        };
        Ok(Self {
            der,
            tbs,
            signature_algorithm,
            signature,
            list,
        })
    }

    /// Checks the signature with the CRL signer's certificate (`signer`: PEM or DER, signer
    /// first, then any intermediates) and checks the signer chains to one of `sti_pa_roots` at
    /// `time`.
    pub fn verify(
        self,
        signer: &[u8],
        sti_pa_roots: &TrustAnchors,
        time: UnixTime,
    ) -> Result<RevocationList, CrlError> {
        let chain = CertificateChain::from_pem(signer).map_err(CrlError::Signer)?;
        let certs = chain.certificates();
        let parsed: Vec<Cert<'_>> = certs
            .iter()
            .enumerate()
            .map(|(index, der)| {
                Cert::parse(der.as_ref())
                    .map_err(|e| CrlError::Signer(ChainError::Malformed { index, reason: e.0 }))
            })
            .collect::<Result<_, _>>()?;
        let Some((signer, intermediates)) = parsed.split_first() else {
            return Err(CrlError::Signer(ChainError::Malformed {
                index: 0,
                reason: "no certificate found".into(),
            }));
        };
        chain::check_crl_signer(signer, intermediates, sti_pa_roots, time)
            .map_err(CrlError::Signer)?;
        if let Ok(Some(ku)) = signer.x509.key_usage()
            && !ku.value.crl_sign()
        {
            return Err(CrlError::SignerKeyUsage);
        }
        let spki: &SubjectPublicKeyInfo<'_> = signer.x509.public_key();
        if !matches!(key_kind(spki), KeyKind::Ec(Curve::P256 | Curve::P384)) {
            return Err(CrlError::SignerKey(describe_key(spki)));
        }
        if signer.subject != self.list.issuer {
            return Err(CrlError::IssuerMismatch {
                crl_issuer: self.list.issuer_name.clone(),
                signer: signer.x509.subject().to_string(),
            });
        }
        let tbs = self.der.get(self.tbs.clone()).unwrap_or_default();
        verify_signature(spki, &self.signature_algorithm, tbs, &self.signature).map_err(
            |e| match e {
                SignatureError::Invalid => CrlError::BadSignature,
                SignatureError::Unsupported(a) => CrlError::UnsupportedSignatureAlgorithm(a),
            },
        )?;
        Ok(self.list)
    }

    /// The entries, before any signature check (for inspection and tests; trust nothing here).
    pub fn unverified_entries(&self) -> &RevocationList {
        &self.list
    }
}

impl RevocationList {
    /// thisUpdate.
    pub fn this_update(&self) -> UnixTime {
        self.this_update
    }

    /// nextUpdate, when the CRL has one.
    pub fn next_update(&self) -> Option<UnixTime> {
        self.next_update
    }

    /// The first URI of the Issuing Distribution Point, which should equal the URL the CRL was
    /// fetched from (`reference/standards.md` §3.5).
    pub fn distribution_point(&self) -> Option<&str> {
        self.distribution_point.as_deref()
    }

    /// Whether the Issuing Distribution Point marks the CRL indirect.
    pub fn is_indirect(&self) -> bool {
        self.indirect
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the CRL revokes nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The revocationDate of the certificate with this issuer (DER `Name`) and serial (DER
    /// INTEGER content bytes), if the CRL lists it.
    pub fn revocation_time(&self, issuer_der: &[u8], serial: &[u8]) -> Option<UnixTime> {
        self.revoked_at(&NameKey::from_der(issuer_der)?, serial)
    }

    pub(crate) fn revoked_at(&self, issuer: &NameKey, serial: &[u8]) -> Option<UnixTime> {
        self.entries.get(issuer)?.get(trim_serial(serial)).copied()
    }
}

fn index(crl: &CertificateRevocationList<'_>) -> Result<RevocationList, CrlError> {
    let mut distribution_point = None;
    let mut indirect = false;
    for ext in crl.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::IssuingDistributionPoint(idp) => {
                indirect = idp.indirect_crl;
                if let Some(x509_parser::extensions::DistributionPointName::FullName(names)) =
                    &idp.distribution_point
                {
                    distribution_point = names.iter().find_map(|n| match n {
                        x509_parser::extensions::GeneralName::URI(uri) => Some((*uri).to_owned()),
                        _ => None,
                    });
                }
            }
            ParsedExtension::ParseError { error } => {
                return Err(CrlError::Malformed(format!(
                    "extension {}: {error}",
                    ext.oid
                )));
            }
            _ => {}
        }
        let known = [
            &OID_X509_EXT_ISSUER_DISTRIBUTION_POINT,
            &OID_X509_EXT_CRL_NUMBER,
            &OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
            &OID_PKIX_AUTHORITY_INFO_ACCESS,
        ];
        if ext.critical && !known.contains(&&ext.oid) {
            return Err(CrlError::UnsupportedCriticalExtension {
                oid: ext.oid.to_id_string(),
            });
        }
    }

    let issuer = NameKey::new(crl.issuer());
    let mut current = issuer.clone();
    let mut entries: HashMap<NameKey, HashMap<Box<[u8]>, UnixTime>> = HashMap::new();
    let mut len = 0;
    for (i, entry) in crl.iter_revoked_certificates().enumerate() {
        if i == MAX_CRL_ENTRIES {
            return Err(CrlError::TooManyEntries {
                max: MAX_CRL_ENTRIES,
            });
        }
        for ext in entry.extensions() {
            if ext.oid.as_bytes() == CERTIFICATE_ISSUER {
                current = certificate_issuer(ext.value)
                    .map_err(|reason| CrlError::MalformedEntry { index: i, reason })?;
            } else if ext.critical
                && ext.oid != OID_X509_EXT_REASON_CODE
                && ext.oid != OID_X509_EXT_INVALIDITY_DATE
            {
                return Err(CrlError::UnsupportedCriticalExtension {
                    oid: ext.oid.to_id_string(),
                });
            }
        }
        let serial: Box<[u8]> = trim_serial(entry.raw_serial()).into();
        if entries
            .entry(current.clone())
            .or_default()
            .insert(serial, unix(entry.revocation_date))
            .is_none()
        {
            len += 1;
        }
    }

    Ok(RevocationList {
        issuer_name: crl.issuer().to_string(),
        issuer,
        this_update: unix(crl.last_update()),
        next_update: crl.next_update().map(unix),
        distribution_point,
        indirect,
        entries,
        len,
    })
}

/// `certificateIssuer ::= GeneralNames` (RFC 5280 §5.3.3); the directoryName (`[4]`, explicit
/// because `Name` is a CHOICE) is the one that can name an STI-CA.
fn certificate_issuer(value: &[u8]) -> Result<NameKey, String> {
    let names = Vec::<AnyRef<'_>>::from_der(value).map_err(|e| e.to_string())?;
    let directory = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(4),
    };
    names
        .iter()
        .find(|n| n.tag() == directory)
        .and_then(|n| NameKey::from_der(n.value()))
        .ok_or_else(|| "certificateIssuer has no valid directoryName".to_owned())
}
