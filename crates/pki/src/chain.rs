//! Path validation of a SHAKEN certificate chain (leaf plus intermediates, as served at the
//! PASSporT's x5u) to a [`TrustAnchors`] set, at a given time (`reference/standards.md` §3.4).
//!
//! Why our own path checks rather than rustls-webpki: webpki refuses any certificate with an
//! unknown *critical* extension, so a leaf whose TNAuthList is marked critical (a profile
//! error some CAs make) could not be verified at all, and it cannot apply the STI-PA's indirect
//! CRL. The checks here follow RFC 5280 §6.1 for what SHAKEN uses: signatures (ECDSA P-256 and
//! P-384 only), validity at the given time, BasicConstraints with pathLen, KeyUsage,
//! AKI/SKI linkage, no unknown critical extension, and revocation by the STI-PA CRL. Policy
//! processing and name constraints are not implemented; a critical extension asking for them
//! makes the path fail.
//!
//! Real certificates often break ATIS-1000080 in small ways (about half do, §3.2). Those
//! findings come back as [`ChainWarning`]s on the [`VerifiedChain`] instead of failures.
//!
//! Issuers are found by subject name (RFC 5280 §7.1 comparison); the AKI/SKI pair only rules a
//! candidate out when both are present and differ. Several candidates may be tried; when all
//! fail, the most specific failure is reported ([`ChainError::most_specific`], as in webpki).

use std::time::Duration;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
use passport::{Spc, UnixTime};
use rustls_pki_types::CertificateDer;
use x509_parser::asn1_rs::Oid;
use x509_parser::oid_registry::{
    OID_PKIX_AUTHORITY_INFO_ACCESS, OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
    OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_CERTIFICATE_POLICIES,
    OID_X509_EXT_CRL_DISTRIBUTION_POINTS, OID_X509_EXT_EXTENDED_KEY_USAGE,
    OID_X509_EXT_ISSUER_ALT_NAME, OID_X509_EXT_KEY_USAGE, OID_X509_EXT_SUBJECT_ALT_NAME,
    OID_X509_EXT_SUBJECT_KEY_IDENTIFIER,
};
use x509_parser::time::ASN1Time;

use crate::cert::{Cert, Curve, KeyKind, SignatureError, describe_key, key_kind};
use crate::crl::RevocationList;
use crate::pem::{self, BodyError};
use crate::tn_auth_list::{TnAuthList, TnAuthListError};
use crate::trust_anchors::TrustAnchors;

/// Most certificates accepted in one chain body (leaf included). x5u bodies are capped at a
/// few KiB by the fetcher anyway; this bounds the work on a hostile body.
pub const MAX_CHAIN_CERTIFICATES: usize = 8;
/// Most intermediates between leaf and anchor.
pub const MAX_PATH_INTERMEDIATES: usize = 4;
/// Most signature checks one validation may spend while searching for a path (webpki uses a
/// similar budget against CVE-2018-16875-style path explosions).
pub const MAX_SIGNATURE_CHECKS: usize = 32;

/// id-pe-TNAuthList, RFC 8226 §9.
const OID_TN_AUTH_LIST: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 26];

/// A chain as received: DER certificates, leaf first, not yet validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateChain {
    certs: Vec<CertificateDer<'static>>,
}

/// A chain that validated: holding one proves the leaf chains to a trust anchor at the time
/// given, with a P-256 key and a TNAuthList naming an SPC.
#[derive(Clone, Debug)]
pub struct VerifiedChain {
    public_key: ParsedPublicKey,
    spki: Vec<u8>,
    spc: Spc,
    tn_auth_list: Vec<u8>,
    not_after: UnixTime,
    path_not_after: UnixTime,
    fingerprint: [u8; 32],
    warnings: Vec<ChainWarning>,
}

/// Why a chain did not validate.
///
/// `depth` counts from the leaf (0) towards the anchor; the anchor itself is never checked
/// beyond its name and key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A certificate's signature does not verify with its issuer's key.
    #[error("signature of certificate at depth {depth} does not verify")]
    BadSignature {
        /// The certificate whose signature failed.
        depth: usize,
    },
    /// The leaf is a CA certificate (BasicConstraints cA TRUE).
    #[error("end-entity certificate is a ca certificate")]
    CaUsedAsEndEntity,
    /// The leaf's key is not EC P-256, so it cannot have signed an ES256 PASSporT.
    #[error("end-entity key is {found}, not ec p-256")]
    EndEntityKeyNotP256 {
        /// The key found.
        found: String,
    },
    /// The chain body is empty or not PEM/DER certificates.
    #[error("certificate {index} of the chain is malformed: {reason}")]
    Malformed {
        /// Position in the body, from 0.
        index: usize,
        /// What the parser said.
        reason: String,
    },
    /// A certificate's notAfter is before the validation time.
    #[error("certificate at depth {depth} expired at {} (validation time {})", not_after.as_secs(), time.as_secs())]
    Expired {
        /// The expired certificate.
        depth: usize,
        /// The validation time.
        time: UnixTime,
        /// Its notAfter.
        not_after: UnixTime,
    },
    /// The leaf has an ExtendedKeyUsage that does not allow any purpose; RFC 5280 §4.2.1.12
    /// limits such a certificate to the purposes listed, and SHAKEN defines none.
    #[error("end-entity extended key usage does not allow stir/shaken: {found:?}")]
    ExtendedKeyUsageNotAllowed {
        /// The purposes listed (OIDs).
        found: Vec<String>,
    },
    /// The issuer's SubjectKeyIdentifier differs from the certificate's
    /// AuthorityKeyIdentifier.
    #[error("authority key identifier of certificate at depth {depth} does not match its issuer")]
    KeyIdMismatch {
        /// The certificate whose AKI was compared.
        depth: usize,
    },
    /// A CA certificate's KeyUsage lacks keyCertSign.
    #[error("key usage of ca certificate at depth {depth} lacks keycertsign")]
    KeyUsageNoCertSign {
        /// The CA certificate.
        depth: usize,
    },
    /// The leaf's KeyUsage lacks digitalSignature.
    #[error("end-entity key usage lacks digitalsignature")]
    KeyUsageNoDigitalSignature,
    /// The leaf's key could not be loaded for ES256 verification.
    #[error("end-entity key is not a valid p-256 point")]
    InvalidEndEntityKey,
    /// The leaf's TNAuthList extension does not decode.
    #[error("tnauthlist is malformed: {reason}")]
    MalformedTnAuthList {
        /// What the TNAuthList decoder said.
        reason: String,
    },
    /// The leaf has no TNAuthList extension.
    #[error("end-entity certificate has no tnauthlist")]
    MissingTnAuthList,
    /// A certificate used as an issuer is not a CA (BasicConstraints missing or cA FALSE).
    #[error("certificate at depth {depth} is not a ca")]
    NotCa {
        /// The certificate.
        depth: usize,
    },
    /// A certificate's notBefore is after the validation time.
    #[error("certificate at depth {depth} is valid only from {} (validation time {})", not_before.as_secs(), time.as_secs())]
    NotYetValid {
        /// The certificate.
        depth: usize,
        /// The validation time.
        time: UnixTime,
        /// Its notBefore.
        not_before: UnixTime,
    },
    /// The path has more intermediates below a CA than its pathLenConstraint allows.
    #[error("ca certificate at depth {depth} allows {path_len} intermediates below it")]
    PathLenExceeded {
        /// The constraining CA certificate.
        depth: usize,
        /// Its pathLenConstraint.
        path_len: u32,
    },
    /// Every candidate path is longer than [`MAX_PATH_INTERMEDIATES`].
    #[error("no path within {max} intermediates")]
    PathTooLong {
        /// The limit.
        max: usize,
    },
    /// The STI-PA CRL lists a certificate of the chain.
    #[error("certificate at depth {depth} (serial {serial}) was revoked at {}", revoked_at.as_secs())]
    Revoked {
        /// The revoked certificate.
        depth: usize,
        /// Its serial number in upper-case hex.
        serial: String,
        /// The revocationDate of the CRL entry.
        revoked_at: UnixTime,
    },
    /// Path search spent [`MAX_SIGNATURE_CHECKS`] signature checks.
    #[error("more than {max} signature checks needed")]
    SignatureBudgetExceeded {
        /// The limit.
        max: usize,
    },
    /// The leaf's TNAuthList has no SPC entry.
    #[error("tnauthlist has no service provider code")]
    TnAuthListWithoutSpc,
    /// The chain body has more than [`MAX_CHAIN_CERTIFICATES`] certificates.
    #[error("more than {max} certificates in the chain")]
    TooManyCertificates {
        /// The limit.
        max: usize,
    },
    /// No trust anchor or intermediate has the subject name the certificate names as issuer.
    #[error("issuer {issuer} of certificate at depth {depth} is unknown")]
    UnknownIssuer {
        /// The certificate whose issuer was not found.
        depth: usize,
        /// The issuer name as written in the certificate.
        issuer: String,
    },
    /// A certificate has a critical extension we do not process (RFC 5280 §4.2).
    #[error("certificate at depth {depth} has unsupported critical extension {oid}")]
    UnsupportedCriticalExtension {
        /// The certificate.
        depth: usize,
        /// The extension's OID.
        oid: String,
    },
    /// A signature algorithm other than ECDSA with SHA-256/384 by a P-256/P-384 key.
    #[error("certificate at depth {depth} is signed with unsupported {algorithm}")]
    UnsupportedSignatureAlgorithm {
        /// The certificate.
        depth: usize,
        /// The algorithm (and issuer key) found.
        algorithm: String,
    },
}

/// A profile deviation found in a chain that validated anyway (ATIS-1000080 §6.4.1 rules that
/// real verifiers do not enforce, `reference/standards.md` §3.2).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainWarning {
    /// The certificate has no AuthorityKeyIdentifier.
    #[error("certificate {depth} has no authority key identifier")]
    AuthorityKeyIdMissing {
        /// The certificate.
        depth: usize,
    },
    /// BasicConstraints is present but not critical.
    #[error("certificate {depth} has a non-critical basic constraints extension")]
    BasicConstraintsNotCritical {
        /// The certificate.
        depth: usize,
    },
    /// The leaf has no BasicConstraints.
    #[error("the leaf has no basic constraints extension")]
    EndEntityBasicConstraintsMissing,
    /// The leaf's KeyUsage has bits besides digitalSignature.
    #[error("the leaf key usage has bits besides digitalSignature ({flags:#x})")]
    EndEntityKeyUsageExtraBits {
        /// The KeyUsage bits as x509-parser numbers them.
        flags: u16,
    },
    /// The certificate has no KeyUsage.
    #[error("certificate {depth} has no key usage extension")]
    KeyUsageMissing {
        /// The certificate.
        depth: usize,
    },
    /// KeyUsage is present but not critical.
    #[error("certificate {depth} has a non-critical key usage extension")]
    KeyUsageNotCritical {
        /// The certificate.
        depth: usize,
    },
    /// The certificate has no SubjectKeyIdentifier.
    #[error("certificate {depth} has no subject key identifier")]
    SubjectKeyIdMissing {
        /// The certificate.
        depth: usize,
    },
    /// The leaf's TNAuthList is marked critical (RFC 8226 and ATIS-1000080 want it
    /// non-critical).
    #[error("the leaf TNAuthList is marked critical")]
    TnAuthListCritical,
    /// The body holds certificates that are not on the validated path.
    #[error("{count} certificate(s) in the body are not on the validated path")]
    UnusedCertificates {
        /// How many.
        count: usize,
    },
}

impl CertificateChain {
    /// Splits an x5u body (PEM, leaf first; or concatenated DER) into certificates.
    ///
    /// Only the framing is checked here; [`CertificateChain::verify`] parses each certificate.
    pub fn from_pem(body: &[u8]) -> Result<Self, ChainError> {
        let certs = pem::certificates(body, MAX_CHAIN_CERTIFICATES).map_err(|e| match e {
            BodyError::Empty => ChainError::Malformed {
                index: 0,
                reason: "no certificate found".into(),
            },
            BodyError::TooMany(max) => ChainError::TooManyCertificates { max },
            BodyError::Pem(reason) | BodyError::Der(reason) => {
                ChainError::Malformed { index: 0, reason }
            }
        })?;
        Ok(Self { certs })
    }

    /// Wraps DER certificates, leaf first.
    pub fn from_der(certs: Vec<CertificateDer<'static>>) -> Result<Self, ChainError> {
        if certs.is_empty() {
            return Err(ChainError::Malformed {
                index: 0,
                reason: "no certificate found".into(),
            });
        }
        if certs.len() > MAX_CHAIN_CERTIFICATES {
            return Err(ChainError::TooManyCertificates {
                max: MAX_CHAIN_CERTIFICATES,
            });
        }
        Ok(Self { certs })
    }

    /// The certificates, leaf first.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// Validates the chain at `time` (for a PASSporT, its `iat`) against `anchors`, checking
    /// leaf and intermediates against `revocation` when given.
    pub fn verify(
        &self,
        anchors: &TrustAnchors,
        time: UnixTime,
        revocation: Option<&RevocationList>,
    ) -> Result<VerifiedChain, ChainError> {
        let mut parsed = Vec::with_capacity(self.certs.len());
        for (index, der) in self.certs.iter().enumerate() {
            let cert = Cert::parse(der.as_ref())
                .map_err(|e| ChainError::Malformed { index, reason: e.0 })?;
            parsed.push(cert);
        }
        let (leaf, intermediates) = match parsed.split_first() {
            Some(split) => split,
            None => {
                return Err(ChainError::Malformed {
                    index: 0,
                    reason: "no certificate found".into(),
                });
            }
        };

        let mut warnings = Vec::new();
        let end_entity = check_end_entity(leaf, time, &mut warnings)?;
        check_revocation(leaf, 0, revocation)?;

        let mut search = PathSearch {
            anchors,
            intermediates,
            time,
            revocation,
            signatures: 0,
            path: Vec::new(),
            warnings,
        };
        let anchor_der = search.build(leaf, 0)?;

        let mut hash = digest::Context::new(&digest::SHA256);
        hash.update(leaf.der());
        let mut path_not_after = end_entity.not_after;
        for &i in &search.path {
            let cert = &intermediates[i];
            hash.update(cert.der());
            path_not_after = path_not_after.min(unix(cert.x509.validity().not_after));
        }
        hash.update(anchor_der.as_ref());
        let mut fingerprint = [0; 32];
        fingerprint.copy_from_slice(hash.finish().as_ref());

        let unused = intermediates.len() - search.path.len();
        let mut warnings = search.warnings;
        if unused > 0 {
            warnings.push(ChainWarning::UnusedCertificates { count: unused });
        }
        Ok(VerifiedChain {
            public_key: end_entity.public_key,
            spki: leaf.x509.public_key().raw.to_vec(),
            spc: end_entity.spc,
            tn_auth_list: end_entity.tn_auth_list,
            not_after: end_entity.not_after,
            path_not_after,
            fingerprint,
            warnings,
        })
    }
}

impl VerifiedChain {
    /// The leaf's P-256 key, parsed once, for ES256 (`R‖S`, 64 bytes) verification.
    pub fn public_key(&self) -> &ParsedPublicKey {
        &self.public_key
    }

    /// The leaf's SubjectPublicKeyInfo (DER).
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// The SPC of the leaf's TNAuthList.
    pub fn spc(&self) -> &Spc {
        &self.spc
    }

    /// The leaf's TNAuthList extension value (DER), for [`TnAuthList::from_der`].
    pub fn tn_auth_list_der(&self) -> &[u8] {
        &self.tn_auth_list
    }

    /// The leaf's notAfter.
    pub fn not_after(&self) -> UnixTime {
        self.not_after
    }

    /// The earliest notAfter on the path (leaf and intermediates): the result must not be
    /// cached beyond it.
    pub fn path_not_after(&self) -> UnixTime {
        self.path_not_after
    }

    /// SHA-256 over the DER of the path: leaf, intermediates used, then the anchor.
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// Profile deviations found on the path.
    pub fn warnings(&self) -> &[ChainWarning] {
        &self.warnings
    }
}

impl ChainError {
    /// Of two failures of alternative paths, the one that says more (webpki
    /// `Error::most_specific`): an issuer that was found but failed beats one not found.
    pub fn most_specific(self, other: Self) -> Self {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    fn rank(&self) -> u32 {
        match self {
            Self::UnknownIssuer { .. } => 0,
            Self::KeyIdMismatch { .. } => 10,
            Self::PathTooLong { .. } => 15,
            Self::UnsupportedSignatureAlgorithm { .. } => 20,
            Self::BadSignature { .. } => 30,
            Self::NotCa { .. }
            | Self::KeyUsageNoCertSign { .. }
            | Self::PathLenExceeded { .. }
            | Self::UnsupportedCriticalExtension { .. } => 40,
            Self::Expired { .. } | Self::NotYetValid { .. } => 50,
            Self::Revoked { .. } => 60,
            // Failures of the leaf or the body end the search before candidates compete.
            Self::CaUsedAsEndEntity
            | Self::EndEntityKeyNotP256 { .. }
            | Self::ExtendedKeyUsageNotAllowed { .. }
            | Self::InvalidEndEntityKey
            | Self::KeyUsageNoDigitalSignature
            | Self::Malformed { .. }
            | Self::MalformedTnAuthList { .. }
            | Self::MissingTnAuthList
            | Self::SignatureBudgetExceeded { .. }
            | Self::TnAuthListWithoutSpc
            | Self::TooManyCertificates { .. } => 100,
        }
    }
}

struct EndEntity {
    public_key: ParsedPublicKey,
    spc: Spc,
    tn_auth_list: Vec<u8>,
    not_after: UnixTime,
}

fn check_end_entity(
    leaf: &Cert<'_>,
    time: UnixTime,
    warnings: &mut Vec<ChainWarning>,
) -> Result<EndEntity, ChainError> {
    check_validity(leaf, 0, time)?;
    let x509 = &leaf.x509;

    match x509.basic_constraints() {
        Ok(Some(bc)) => {
            if bc.value.ca {
                return Err(ChainError::CaUsedAsEndEntity);
            }
            if !bc.critical {
                warnings.push(ChainWarning::BasicConstraintsNotCritical { depth: 0 });
            }
        }
        Ok(None) => warnings.push(ChainWarning::EndEntityBasicConstraintsMissing),
        Err(e) => return Err(malformed_at(0, e)),
    }

    match x509.key_usage() {
        Ok(Some(ku)) => {
            if !ku.value.digital_signature() {
                return Err(ChainError::KeyUsageNoDigitalSignature);
            }
            // digitalSignature is bit 0, which x509-parser stores as 1 << 0.
            if ku.value.flags & !1 != 0 {
                warnings.push(ChainWarning::EndEntityKeyUsageExtraBits {
                    flags: ku.value.flags,
                });
            }
            if !ku.critical {
                warnings.push(ChainWarning::KeyUsageNotCritical { depth: 0 });
            }
        }
        Ok(None) => warnings.push(ChainWarning::KeyUsageMissing { depth: 0 }),
        Err(e) => return Err(malformed_at(0, e)),
    }

    match x509.extended_key_usage() {
        Ok(Some(eku)) if !eku.value.any => {
            let mut found = Vec::new();
            for (set, oid) in [
                (eku.value.server_auth, "1.3.6.1.5.5.7.3.1"),
                (eku.value.client_auth, "1.3.6.1.5.5.7.3.2"),
                (eku.value.code_signing, "1.3.6.1.5.5.7.3.3"),
                (eku.value.email_protection, "1.3.6.1.5.5.7.3.4"),
                (eku.value.time_stamping, "1.3.6.1.5.5.7.3.8"),
                (eku.value.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
            ] {
                if set {
                    found.push(oid.to_owned());
                }
            }
            found.extend(eku.value.other.iter().map(Oid::to_id_string));
            return Err(ChainError::ExtendedKeyUsageNotAllowed { found });
        }
        Ok(_) => {}
        Err(e) => return Err(malformed_at(0, e)),
    }

    let spki = x509.public_key();
    if key_kind(spki) != KeyKind::Ec(Curve::P256) {
        return Err(ChainError::EndEntityKeyNotP256 {
            found: describe_key(spki),
        });
    }
    let public_key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &spki.subject_public_key.data)
        .map_err(|_| ChainError::InvalidEndEntityKey)?;

    let tn_oid = Oid::from(OID_TN_AUTH_LIST).map_err(|_| ChainError::MissingTnAuthList)?;
    let tn_ext = x509
        .extensions()
        .iter()
        .find(|e| e.oid == tn_oid)
        .ok_or(ChainError::MissingTnAuthList)?;
    let tn_auth_list = TnAuthList::from_der(tn_ext.value).map_err(|e: TnAuthListError| {
        ChainError::MalformedTnAuthList {
            reason: e.to_string(),
        }
    })?;
    let spc = tn_auth_list
        .spc()
        .cloned()
        .ok_or(ChainError::TnAuthListWithoutSpc)?;
    if tn_ext.critical {
        warnings.push(ChainWarning::TnAuthListCritical);
    }

    check_critical_extensions(leaf, 0, Some(&tn_oid))?;
    key_id_warnings(leaf, 0, warnings);

    Ok(EndEntity {
        public_key,
        spc,
        tn_auth_list: tn_ext.value.to_vec(),
        not_after: unix(x509.validity().not_after),
    })
}

/// Checks that a CRL signer certificate chains to one of `roots` at `time` (the signer may
/// also be one of the roots itself).
pub(crate) fn check_crl_signer(
    signer: &Cert<'_>,
    intermediates: &[Cert<'_>],
    roots: &TrustAnchors,
    time: UnixTime,
) -> Result<(), ChainError> {
    if roots.contains_der(signer.der()) {
        return Ok(());
    }
    check_validity(signer, 0, time)?;
    check_critical_extensions(signer, 0, None)?;
    let mut search = PathSearch {
        anchors: roots,
        intermediates,
        time,
        revocation: None,
        signatures: 0,
        path: Vec::new(),
        warnings: Vec::new(),
    };
    search.build(signer, 0).map(|_| ())
}

struct PathSearch<'c, 'a> {
    anchors: &'c TrustAnchors,
    intermediates: &'c [Cert<'a>],
    time: UnixTime,
    revocation: Option<&'c RevocationList>,
    signatures: usize,
    /// Indices into `intermediates`, from the leaf's issuer upwards.
    path: Vec<usize>,
    warnings: Vec<ChainWarning>,
}

impl<'c, 'a> PathSearch<'c, 'a> {
    /// Finds an issuer for `child` (at `depth`) and, recursively, a path to an anchor.
    /// Returns the anchor's DER; `self.path` then holds the intermediates used.
    fn build(
        &mut self,
        child: &Cert<'_>,
        depth: usize,
    ) -> Result<CertificateDer<'static>, ChainError> {
        let mut best: Option<ChainError> = None;
        let note = |err: ChainError, best: &mut Option<ChainError>| {
            *best = Some(match best.take() {
                Some(b) => b.most_specific(err),
                None => err,
            });
        };

        for anchor in self.anchors.issuers_of(&child.issuer) {
            if let (Some(aki), Some(ski)) = (child.aki, anchor.ski.as_deref())
                && aki != ski
            {
                note(ChainError::KeyIdMismatch { depth }, &mut best);
                continue;
            }
            let Some(spki) = anchor.spki() else { continue };
            match self.check_signature(child, depth, &spki) {
                Ok(()) => return Ok(anchor.der.clone()),
                Err(e @ ChainError::SignatureBudgetExceeded { .. }) => return Err(e),
                Err(e) => note(e, &mut best),
            }
        }

        for (index, candidate) in self.intermediates.iter().enumerate() {
            if candidate.subject != child.issuer || self.path.contains(&index) {
                continue;
            }
            if let (Some(aki), Some(ski)) = (child.aki, candidate.ski)
                && aki != ski
            {
                note(ChainError::KeyIdMismatch { depth }, &mut best);
                continue;
            }
            if self.path.len() == MAX_PATH_INTERMEDIATES {
                note(
                    ChainError::PathTooLong {
                        max: MAX_PATH_INTERMEDIATES,
                    },
                    &mut best,
                );
                continue;
            }
            match self.check_signature(child, depth, candidate.x509.public_key()) {
                Ok(()) => {}
                Err(e @ ChainError::SignatureBudgetExceeded { .. }) => return Err(e),
                Err(e) => {
                    note(e, &mut best);
                    continue;
                }
            }
            let warnings_before = self.warnings.len();
            let checked = check_ca(
                candidate,
                depth + 1,
                index + 1,
                self.time,
                &mut self.warnings,
            )
            .and_then(|()| check_revocation(candidate, depth + 1, self.revocation));
            if let Err(e) = checked {
                self.warnings.truncate(warnings_before);
                note(e, &mut best);
                continue;
            }
            self.path.push(index);
            match self.build(candidate, depth + 1) {
                Ok(anchor) => return Ok(anchor),
                Err(e @ ChainError::SignatureBudgetExceeded { .. }) => return Err(e),
                Err(e) => {
                    self.path.pop();
                    self.warnings.truncate(warnings_before);
                    note(e, &mut best);
                }
            }
        }

        Err(best.unwrap_or_else(|| ChainError::UnknownIssuer {
            depth,
            issuer: child.x509.issuer().to_string(),
        }))
    }

    fn check_signature(
        &mut self,
        child: &Cert<'_>,
        depth: usize,
        issuer: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
    ) -> Result<(), ChainError> {
        if self.signatures == MAX_SIGNATURE_CHECKS {
            return Err(ChainError::SignatureBudgetExceeded {
                max: MAX_SIGNATURE_CHECKS,
            });
        }
        self.signatures += 1;
        child.verify_signed_by(issuer).map_err(|e| match e {
            SignatureError::Invalid => ChainError::BadSignature { depth },
            SignatureError::Unsupported(algorithm) => {
                ChainError::UnsupportedSignatureAlgorithm { depth, algorithm }
            }
        })?;
        // The issuer's own pathLenConstraint is checked when it is accepted (check_ca).
        Ok(())
    }
}

/// Checks an intermediate at `depth` (≥ 1): it may issue certificates, and `depth - 1`
/// intermediates sit below it.
fn check_ca(
    ca: &Cert<'_>,
    depth: usize,
    body_index: usize,
    time: UnixTime,
    warnings: &mut Vec<ChainWarning>,
) -> Result<(), ChainError> {
    check_validity(ca, depth, time)?;
    match ca.x509.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => {
            if !bc.critical {
                warnings.push(ChainWarning::BasicConstraintsNotCritical { depth });
            }
            if let Some(path_len) = bc.value.path_len_constraint
                && (depth - 1) as u64 > u64::from(path_len)
            {
                return Err(ChainError::PathLenExceeded { depth, path_len });
            }
        }
        Ok(_) => return Err(ChainError::NotCa { depth }),
        Err(e) => return Err(malformed_at(body_index, e)),
    }
    match ca.x509.key_usage() {
        Ok(Some(ku)) => {
            if !ku.value.key_cert_sign() {
                return Err(ChainError::KeyUsageNoCertSign { depth });
            }
            if !ku.critical {
                warnings.push(ChainWarning::KeyUsageNotCritical { depth });
            }
        }
        Ok(None) => warnings.push(ChainWarning::KeyUsageMissing { depth }),
        Err(e) => return Err(malformed_at(body_index, e)),
    }
    check_critical_extensions(ca, depth, None)?;
    key_id_warnings(ca, depth, warnings);
    Ok(())
}

fn check_validity(cert: &Cert<'_>, depth: usize, time: UnixTime) -> Result<(), ChainError> {
    let validity = cert.x509.validity();
    let now = i64::try_from(time.as_secs()).unwrap_or(i64::MAX);
    if now < validity.not_before.timestamp() {
        return Err(ChainError::NotYetValid {
            depth,
            time,
            not_before: unix(validity.not_before),
        });
    }
    if now > validity.not_after.timestamp() {
        return Err(ChainError::Expired {
            depth,
            time,
            not_after: unix(validity.not_after),
        });
    }
    Ok(())
}

fn check_revocation(
    cert: &Cert<'_>,
    depth: usize,
    revocation: Option<&RevocationList>,
) -> Result<(), ChainError> {
    let Some(list) = revocation else {
        return Ok(());
    };
    match list.revoked_at(&cert.issuer, cert.x509.raw_serial()) {
        Some(revoked_at) => Err(ChainError::Revoked {
            depth,
            serial: hex_upper(trim_serial(cert.x509.raw_serial())),
            revoked_at,
        }),
        None => Ok(()),
    }
}

/// Extensions whose criticality we honour because we process them (or, for the
/// informational ones, because ignoring them cannot widen what the certificate may do).
fn check_critical_extensions(
    cert: &Cert<'_>,
    depth: usize,
    also_known: Option<&Oid<'_>>,
) -> Result<(), ChainError> {
    let known = [
        &OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
        &OID_X509_EXT_BASIC_CONSTRAINTS,
        &OID_X509_EXT_CERTIFICATE_POLICIES,
        &OID_X509_EXT_CRL_DISTRIBUTION_POINTS,
        &OID_X509_EXT_EXTENDED_KEY_USAGE,
        &OID_X509_EXT_ISSUER_ALT_NAME,
        &OID_X509_EXT_KEY_USAGE,
        &OID_X509_EXT_SUBJECT_ALT_NAME,
        &OID_X509_EXT_SUBJECT_KEY_IDENTIFIER,
        &OID_PKIX_AUTHORITY_INFO_ACCESS,
    ];
    for ext in cert.x509.extensions() {
        if !ext.critical || known.contains(&&ext.oid) || also_known == Some(&ext.oid) {
            continue;
        }
        return Err(ChainError::UnsupportedCriticalExtension {
            depth,
            oid: ext.oid.to_id_string(),
        });
    }
    Ok(())
}

fn key_id_warnings(cert: &Cert<'_>, depth: usize, warnings: &mut Vec<ChainWarning>) {
    if cert.aki.is_none() {
        warnings.push(ChainWarning::AuthorityKeyIdMissing { depth });
    }
    if cert.ski.is_none() {
        warnings.push(ChainWarning::SubjectKeyIdMissing { depth });
    }
}

fn malformed_at(index: usize, e: x509_parser::error::X509Error) -> ChainError {
    ChainError::Malformed {
        index,
        reason: e.to_string(),
    }
}

pub(crate) fn unix(t: ASN1Time) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(t.timestamp()).unwrap_or(0),
    ))
}

pub(crate) fn trim_serial(serial: &[u8]) -> &[u8] {
    let start = serial.iter().position(|&b| b != 0).unwrap_or(serial.len());
    &serial[start..]
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_prefers_a_found_issuer_and_is_symmetric() {
        let unknown = ChainError::UnknownIssuer {
            depth: 0,
            issuer: "CN=x".into(),
        };
        let bad = ChainError::BadSignature { depth: 0 };
        let expired = ChainError::Expired {
            depth: 1,
            time: UnixTime::since_unix_epoch(Duration::from_secs(2)),
            not_after: UnixTime::since_unix_epoch(Duration::from_secs(1)),
        };
        assert_eq!(unknown.clone().most_specific(bad.clone()), bad);
        assert_eq!(bad.clone().most_specific(unknown), bad);
        assert_eq!(bad.clone().most_specific(expired.clone()), expired);
        assert_eq!(expired.clone().most_specific(bad), expired);
    }

    #[test]
    fn serial_helpers() {
        assert_eq!(trim_serial(&[0, 0, 0x80, 1]), &[0x80, 1]);
        assert_eq!(trim_serial(&[0]), &[] as &[u8]);
        assert_eq!(hex_upper(&[0x0a, 0xff]), "0AFF");
    }
}
