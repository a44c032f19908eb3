//! The x5u response body: PEM certificates, leaf first (ATIS-1000080, `reference/standards.md`
//! §3.6: `application/pem-certificate-chain`, leaf then intermediates).

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::error::FetchError;

/// Largest x5u body the fetcher reads, in bytes. A SHAKEN chain of leaf plus two
/// intermediates is about 3 KiB of PEM; Asterisk caps at 8 KiB. 64 KiB leaves room for
/// large keys and long chains while bounding what a hostile server can make us hold.
pub const X5U_MAX_BODY_BYTES: usize = 64 * 1024;

/// Most certificates an x5u body may hold. Chain building cost grows with the candidates,
/// so a hostile body must not hand the validator hundreds of them.
pub const X5U_MAX_CERTIFICATES: usize = 10;

/// Parses an x5u body: every `CERTIFICATE` PEM section, in order, leaf first.
///
/// Text outside PEM sections and sections of other types are skipped, as PEM readers do.
/// The certificates are not parsed as X.509 here; that is the validator's job.
///
/// # Errors
///
/// [`FetchError::TooLarge`] past [`X5U_MAX_BODY_BYTES`], [`FetchError::TooManyCertificates`]
/// past [`X5U_MAX_CERTIFICATES`] (found without decoding the excess), [`FetchError::MalformedPem`]
/// for a broken section, [`FetchError::NoCertificate`] when no certificate is present.
pub fn parse_x5u_body(body: &[u8]) -> Result<Vec<CertificateDer<'static>>, FetchError> {
    if body.len() > X5U_MAX_BODY_BYTES {
        return Err(FetchError::TooLarge {
            limit: X5U_MAX_BODY_BYTES,
        });
    }
    let mut chain = Vec::new();
    for item in CertificateDer::pem_slice_iter(body) {
        if chain.len() == X5U_MAX_CERTIFICATES {
            return Err(FetchError::TooManyCertificates {
                limit: X5U_MAX_CERTIFICATES,
            });
        }
        chain.push(item.map_err(|e| FetchError::MalformedPem(Arc::new(e)))?);
    }
    if chain.is_empty() {
        return Err(FetchError::NoCertificate);
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(der: &[u8]) -> String {
        // A fake DER payload is fine: the body parser does not decode X.509.
        const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in der.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
                << (8 * (3 - chunk.len()));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out.push_str("\n-----END CERTIFICATE-----\n");
        out
    }

    #[test]
    fn keeps_order_leaf_first() -> Result<(), FetchError> {
        let body = format!("{}{}", pem(b"leaf"), pem(b"intermediate"));
        let chain = parse_x5u_body(body.as_bytes())?;
        let ders: Vec<&[u8]> = chain.iter().map(|c| c.as_ref()).collect();
        assert_eq!(ders, vec![&b"leaf"[..], &b"intermediate"[..]]);
        Ok(())
    }

    #[test]
    fn skips_text_and_other_sections() -> Result<(), FetchError> {
        let body = format!(
            "subject=CN leaf\n{}-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            pem(b"leaf")
        );
        assert_eq!(parse_x5u_body(body.as_bytes())?.len(), 1);
        Ok(())
    }

    #[test]
    fn ten_certificates_pass_eleven_fail() {
        let ten = pem(b"cert").repeat(X5U_MAX_CERTIFICATES);
        assert!(matches!(parse_x5u_body(ten.as_bytes()), Ok(c) if c.len() == 10));
        let eleven = pem(b"cert").repeat(X5U_MAX_CERTIFICATES + 1);
        assert!(matches!(
            parse_x5u_body(eleven.as_bytes()),
            Err(FetchError::TooManyCertificates { limit: 10 })
        ));
    }

    #[test]
    fn empty_and_textual_bodies_have_no_certificate() {
        for body in [
            &b""[..],
            b"<html>not found</html>",
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        ] {
            assert!(matches!(
                parse_x5u_body(body),
                Err(FetchError::NoCertificate)
            ));
        }
    }

    #[test]
    fn broken_section_is_malformed() {
        let body = b"-----BEGIN CERTIFICATE-----\nAAAA\n";
        assert!(matches!(
            parse_x5u_body(body),
            Err(FetchError::MalformedPem(_))
        ));
        let body = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            parse_x5u_body(body),
            Err(FetchError::MalformedPem(_))
        ));
    }

    #[test]
    fn size_limit_is_inclusive() {
        let mut body = pem(b"leaf").into_bytes();
        body.resize(X5U_MAX_BODY_BYTES, b'\n');
        assert!(parse_x5u_body(&body).is_ok());
        body.push(b'\n');
        assert!(matches!(
            parse_x5u_body(&body),
            Err(FetchError::TooLarge {
                limit: X5U_MAX_BODY_BYTES
            })
        ));
    }
}
