//! A parsed certificate with what path building needs precomputed, and the signature check.
//!
//! Only ECDSA is accepted: ecdsa-with-SHA256 or ecdsa-with-SHA384 by a P-256 or P-384 key
//! (ATIS-1000080 §6.4.1; CP 1.4 allows P-384 for CAs, `reference/standards.md` §3.2, §3.4).

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_parser::asn1_rs::Oid;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_SIG_ECDSA_WITH_SHA256,
    OID_SIG_ECDSA_WITH_SHA384,
};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::name::NameKey;

/// The curve of an EC public key; anything else is refused where a key is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

/// A key as found in a SubjectPublicKeyInfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Ec(Curve),
    /// Any other algorithm or curve; the string names it for error messages.
    Other,
}

/// A certificate parsed once, with names and key identifiers ready for matching.
pub(crate) struct Cert<'a> {
    pub(crate) x509: X509Certificate<'a>,
    pub(crate) subject: NameKey,
    pub(crate) issuer: NameKey,
    pub(crate) ski: Option<&'a [u8]>,
    pub(crate) aki: Option<&'a [u8]>,
}

/// Why a certificate could not be parsed.
#[derive(Debug)]
pub(crate) struct BadCert(pub(crate) String);

impl<'a> Cert<'a> {
    /// Parses one DER certificate; the whole input must be consumed.
    pub(crate) fn parse(der: &'a [u8]) -> Result<Self, BadCert> {
        let (rest, x509) = X509Certificate::from_der(der).map_err(|e| BadCert(e.to_string()))?;
        if !rest.is_empty() {
            return Err(BadCert(format!(
                "{} bytes after the certificate",
                rest.len()
            )));
        }
        if x509.tbs_certificate.signature.algorithm != x509.signature_algorithm.algorithm {
            return Err(BadCert(
                "signature algorithm of tbsCertificate and certificate differ".into(),
            ));
        }
        let mut ski = None;
        let mut aki = None;
        for ext in x509.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => ski = Some(id.0),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    aki = a.key_identifier.as_ref().map(|id| id.0);
                }
                ParsedExtension::ParseError { error } => {
                    return Err(BadCert(format!("extension {}: {error}", ext.oid)));
                }
                _ => {}
            }
        }
        // x509-parser accepts duplicate extensions; RFC 5280 §4.2 forbids them.
        let exts = x509.extensions();
        for (i, ext) in exts.iter().enumerate() {
            if exts[i + 1..].iter().any(|other| other.oid == ext.oid) {
                return Err(BadCert(format!("extension {} appears twice", ext.oid)));
            }
        }
        Ok(Self {
            subject: NameKey::new(x509.subject()),
            issuer: NameKey::new(x509.issuer()),
            ski,
            aki,
            x509,
        })
    }

    /// The raw DER of the whole certificate.
    pub(crate) fn der(&self) -> &'a [u8] {
        self.x509.as_raw()
    }

    /// Checks this certificate's signature with `issuer`'s key.
    pub(crate) fn verify_signed_by(
        &self,
        issuer: &SubjectPublicKeyInfo<'_>,
    ) -> Result<(), SignatureError> {
        verify_signature(
            issuer,
            &self.x509.signature_algorithm.algorithm,
            self.x509.tbs_certificate.as_ref(),
            &self.x509.signature_value.data,
        )
    }
}

/// Why a signature did not verify.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SignatureError {
    /// The signature algorithm is not ECDSA with SHA-256/384, or does not fit the key.
    Unsupported(String),
    /// The signature is wrong.
    Invalid,
}

/// The kind of key in an SPKI.
pub(crate) fn key_kind(spki: &SubjectPublicKeyInfo<'_>) -> KeyKind {
    if spki.algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY {
        return KeyKind::Other;
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok());
    match curve {
        Some(oid) if oid == OID_EC_P256 => KeyKind::Ec(Curve::P256),
        Some(oid) if oid == OID_NIST_EC_P384 => KeyKind::Ec(Curve::P384),
        _ => KeyKind::Other,
    }
}

/// A readable name for the key in an SPKI, for error values.
pub(crate) fn describe_key(spki: &SubjectPublicKeyInfo<'_>) -> String {
    match key_kind(spki) {
        KeyKind::Ec(Curve::P256) => "EC P-256".into(),
        KeyKind::Ec(Curve::P384) => "EC P-384".into(),
        KeyKind::Other => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| format!(" {oid}"))
                .unwrap_or_default();
            format!("{}{curve}", spki.algorithm.algorithm)
        }
    }
}

/// Verifies `signature` over `signed` (the raw TBS bytes) with the issuer's key.
pub(crate) fn verify_signature(
    issuer: &SubjectPublicKeyInfo<'_>,
    algorithm: &Oid<'_>,
    signed: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let sha384 = if *algorithm == OID_SIG_ECDSA_WITH_SHA256 {
        false
    } else if *algorithm == OID_SIG_ECDSA_WITH_SHA384 {
        true
    } else {
        return Err(SignatureError::Unsupported(algorithm.to_id_string()));
    };
    let verifier: &'static dyn VerificationAlgorithm = match (key_kind(issuer), sha384) {
        (KeyKind::Ec(Curve::P256), false) => &signature::ECDSA_P256_SHA256_ASN1,
        (KeyKind::Ec(Curve::P256), true) => &signature::ECDSA_P256_SHA384_ASN1,
        (KeyKind::Ec(Curve::P384), false) => &signature::ECDSA_P384_SHA256_ASN1,
        (KeyKind::Ec(Curve::P384), true) => &signature::ECDSA_P384_SHA384_ASN1,
        (KeyKind::Other, _) => {
            return Err(SignatureError::Unsupported(format!(
                "{} with a {} key",
                algorithm,
                describe_key(issuer)
            )));
        }
    };
    UnparsedPublicKey::new(verifier, &issuer.subject_public_key.data)
        .verify(signed, signature)
        .map_err(|_| SignatureError::Invalid)
}
