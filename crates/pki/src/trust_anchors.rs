//! The set of STI-CA certificates a verifier trusts (`reference/standards.md` §3.4): in
//! production the certificates of the STI-PA's signed CA list, never the OS store.
//!
//! An anchor is used for its name and key only, as webpki does: its validity period and
//! extensions are not checked, because the list that names it is what gives it authority.

use rustls_pki_types::CertificateDer;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::cert::{Cert, Curve, KeyKind, describe_key, key_kind};
use crate::name::NameKey;
use crate::pem::{self, BodyError};

/// Most certificates one call to [`TrustAnchors::from_pem`] accepts (the US CA list has a few
/// dozen entries).
const MAX_ANCHORS_PER_BODY: usize = 1_000;

/// Trusted CA certificates, keyed by subject name.
#[derive(Clone, Debug, Default)]
pub struct TrustAnchors {
    anchors: Vec<Anchor>,
}

/// Why a certificate cannot be a trust anchor.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrustAnchorError {
    /// The bytes hold no certificate.
    #[error("no certificate found")]
    Empty,
    /// The bytes are not a certificate (PEM, DER or X.509 structure broken).
    #[error("certificate {index} is malformed: {reason}")]
    Malformed {
        /// Position of the certificate in the input, from 0.
        index: usize,
        /// What the parser said.
        reason: String,
    },
    /// The certificate's key is neither EC P-256 nor EC P-384.
    #[error("certificate {index} has a {key} key; only ec p-256 and p-384 are accepted")]
    UnsupportedKey {
        /// Position of the certificate in the input, from 0.
        index: usize,
        /// The key algorithm (and curve) found.
        key: String,
    },
    /// The input has more certificates than one call accepts.
    #[error("more than {max} certificates")]
    TooMany {
        /// The limit.
        max: usize,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Anchor {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) subject: NameKey,
    pub(crate) ski: Option<Vec<u8>>,
    spki: Vec<u8>,
}

impl TrustAnchors {
    /// An empty set, which trusts nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a set from a PEM (or concatenated DER) body of CA certificates.
    pub fn from_pem(body: &[u8]) -> Result<Self, TrustAnchorError> {
        let mut anchors = Self::new();
        for (index, der) in pem::certificates(body, MAX_ANCHORS_PER_BODY)
            .map_err(|e| body_error(e, 0))?
            .into_iter()
            .enumerate()
        {
            anchors.push(der, index)?;
        }
        Ok(anchors)
    }

    /// Adds one DER certificate.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), TrustAnchorError> {
        self.push(CertificateDer::from(der.to_vec()), 0)
    }

    /// How many anchors the set holds.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether the set trusts nothing.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Whether the set holds exactly this certificate.
    pub(crate) fn contains_der(&self, der: &[u8]) -> bool {
        self.anchors.iter().any(|a| a.der.as_ref() == der)
    }

    /// The anchors whose subject is `issuer`.
    pub(crate) fn issuers_of<'s>(
        &'s self,
        issuer: &'s NameKey,
    ) -> impl Iterator<Item = &'s Anchor> {
        self.anchors.iter().filter(move |a| &a.subject == issuer)
    }

    fn push(&mut self, der: CertificateDer<'static>, index: usize) -> Result<(), TrustAnchorError> {
        let parsed = Cert::parse(der.as_ref())
            .map_err(|e| TrustAnchorError::Malformed { index, reason: e.0 })?;
        match key_kind(parsed.x509.public_key()) {
            KeyKind::Ec(Curve::P256 | Curve::P384) => {}
            KeyKind::Other => {
                return Err(TrustAnchorError::UnsupportedKey {
                    index,
                    key: describe_key(parsed.x509.public_key()),
                });
            }
        }
        let anchor = Anchor {
            subject: parsed.subject.clone(),
            ski: parsed.ski.map(<[u8]>::to_vec),
            spki: parsed.x509.public_key().raw.to_vec(),
            der: der.clone(),
        };
        if !self.anchors.iter().any(|a| a.der == anchor.der) {
            self.anchors.push(anchor);
        }
        Ok(())
    }
}

impl Anchor {
    /// The anchor's public key (parsed when it was added, so this cannot fail in practice).
    pub(crate) fn spki(&self) -> Option<SubjectPublicKeyInfo<'_>> {
        SubjectPublicKeyInfo::from_der(&self.spki)
            .ok()
            .map(|(_, k)| k)
    }
}

fn body_error(e: BodyError, index: usize) -> TrustAnchorError {
    match e {
        BodyError::Empty => TrustAnchorError::Empty,
        BodyError::TooMany(max) => TrustAnchorError::TooMany { max },
        BodyError::Pem(reason) | BodyError::Der(reason) => {
            TrustAnchorError::Malformed { index, reason }
        }
    }
}
