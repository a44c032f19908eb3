//! Certificate and CRL bodies as they arrive: PEM (one or more sections, text around them
//! ignored) or DER (one or more concatenated structures).

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use x509_parser::asn1_rs::{Any, FromDer};

/// Why a body could not be split into DER structures.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// No certificate (or CRL) was found.
    Empty,
    /// PEM framing or base64 is broken.
    Pem(String),
    /// DER framing is broken: not a sequence of complete TLVs.
    Der(String),
    /// More structures than the caller's limit.
    TooMany(usize),
}

/// Splits a certificate body into DER certificates, keeping at most `max`.
pub(crate) fn certificates(
    body: &[u8],
    max: usize,
) -> Result<Vec<CertificateDer<'static>>, BodyError> {
    let items: Vec<Vec<u8>> = if looks_like_der(body) {
        split_der(body, max)?
    } else {
        let mut out = Vec::new();
        for item in CertificateDer::pem_slice_iter(body) {
            let item = item.map_err(pem_error)?;
            if out.len() == max {
                return Err(BodyError::TooMany(max));
            }
            out.push(item.as_ref().to_vec());
        }
        out
    };
    if items.is_empty() {
        return Err(BodyError::Empty);
    }
    Ok(items.into_iter().map(CertificateDer::from).collect())
}

/// Extracts the one CRL of a body (DER or PEM `X509 CRL`).
pub(crate) fn crl(body: &[u8]) -> Result<Vec<u8>, BodyError> {
    if looks_like_der(body) {
        return Ok(body.to_vec());
    }
    let mut iter = CertificateRevocationListDer::pem_slice_iter(body);
    let first = match iter.next() {
        Some(item) => item.map_err(pem_error)?,
        None => return Err(BodyError::Empty),
    };
    if iter.next().is_some() {
        return Err(BodyError::TooMany(1));
    }
    Ok(first.as_ref().to_vec())
}

fn looks_like_der(body: &[u8]) -> bool {
    body.first() == Some(&0x30)
}

fn pem_error(e: pem::Error) -> BodyError {
    BodyError::Pem(format!("{e:?}"))
}

fn split_der(mut body: &[u8], max: usize) -> Result<Vec<Vec<u8>>, BodyError> {
    let mut out = Vec::new();
    while !body.is_empty() {
        if out.len() == max {
            return Err(BodyError::TooMany(max));
        }
        let (rest, _) = Any::from_der(body).map_err(|e| BodyError::Der(e.to_string()))?;
        let len = body.len() - rest.len();
        out.push(body[..len].to_vec());
        body = rest;
    }
    Ok(out)
}
