//! Finalize, certificate download and revocation (RFC 8555 §7.4, §7.4.2, §7.6).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pki::{CertificateChain, TnAuthList};
use rustls_pki_types::CertificateDer;
use serde_json::json;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::account::Account;
use super::client::{AcmeClient, Signer};
use super::error::AcmeError;
use super::order::Order;

/// id-pe-TNAuthList (RFC 8226 §9): 1.3.6.1.5.5.7.1.26.
const TN_AUTH_LIST_OID: &str = "1.3.6.1.5.5.7.1.26";

/// The media type of a certificate chain download (RFC 8555 §9.1).
pub const PEM_CERTIFICATE_CHAIN: &str = "application/pem-certificate-chain";

/// A downloaded certificate chain, leaf first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedChain {
    /// The body as served.
    pub pem: String,
    /// The certificates, leaf first.
    pub der_chain: Vec<CertificateDer<'static>>,
}

/// Revocation reasons of RFC 5280 §5.3.1 that a subscriber may give (RFC 8555 §7.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationReason {
    /// 0: unspecified.
    Unspecified,
    /// 1: keyCompromise.
    KeyCompromise,
    /// 3: affiliationChanged.
    AffiliationChanged,
    /// 4: superseded.
    Superseded,
    /// 5: cessationOfOperation.
    CessationOfOperation,
}

impl IssuedChain {
    /// Splits a `application/pem-certificate-chain` body.
    ///
    /// # Errors
    ///
    /// [`AcmeError::Malformed`] when it holds no certificate, bad PEM, or a block that is not
    /// an X.509 certificate.
    pub fn from_pem(pem: String, url: &str) -> Result<Self, AcmeError> {
        let chain =
            CertificateChain::from_pem(pem.as_bytes()).map_err(|e| AcmeError::Malformed {
                what: "certificate chain",
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        let der_chain = chain.certificates().to_vec();
        // `CertificateChain::from_pem` checks only the framing; each block must be a
        // certificate, or later use (x5u publication, signing) would fail far from here.
        for (index, der) in der_chain.iter().enumerate() {
            if let Err(e) = X509Certificate::from_der(der) {
                return Err(AcmeError::Malformed {
                    what: "certificate chain",
                    url: url.to_owned(),
                    reason: format!("certificate {index}: {e}"),
                });
            }
        }
        Ok(Self { pem, der_chain })
    }

    /// The leaf's TNAuthList; `Ok(None)` when it has none.
    ///
    /// # Errors
    ///
    /// [`AcmeError::Malformed`] when the leaf or its TNAuthList cannot be decoded.
    pub fn leaf_tn_auth_list(&self) -> Result<Option<TnAuthList>, AcmeError> {
        let malformed = |reason: String| AcmeError::Malformed {
            what: "issued certificate",
            url: String::new(),
            reason,
        };
        let leaf = self
            .der_chain
            .first()
            .ok_or_else(|| malformed("empty chain".into()))?;
        let (_, cert) = X509Certificate::from_der(leaf).map_err(|e| malformed(e.to_string()))?;
        let Some(ext) = cert
            .extensions()
            .iter()
            .find(|ext| ext.oid.to_id_string() == TN_AUTH_LIST_OID)
        else {
            return Ok(None);
        };
        TnAuthList::from_der(ext.value)
            .map(Some)
            .map_err(|e| malformed(e.to_string()))
    }

    /// `Ok` when the leaf certifies exactly `ordered`.
    ///
    /// # Errors
    ///
    /// [`AcmeError::TnAuthListMismatch`] otherwise, or [`AcmeError::Malformed`].
    pub fn check_tn_auth_list(&self, ordered: &TnAuthList) -> Result<(), AcmeError> {
        let issued = self.leaf_tn_auth_list()?;
        if issued.as_ref().map(TnAuthList::to_der) == Some(ordered.to_der()) {
            return Ok(());
        }
        Err(AcmeError::TnAuthListMismatch {
            ordered: ordered.to_base64(),
            issued: issued.map(|list| list.to_base64()),
        })
    }
}

impl RevocationReason {
    fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::KeyCompromise => 1,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
        }
    }
}

impl AcmeClient {
    /// Sends the CSR (`{"csr": <base64url DER>}`) to the order's `finalize` URL and returns
    /// the order as answered. A refusal is final: acme2certifier leaves such an order in
    /// `processing` for good, so callers must not poll after an error here.
    ///
    /// # Errors
    ///
    /// A problem document (e.g. `badCSR`), transport failure, or a body that is not an order.
    pub async fn finalize(
        &self,
        account: &Account,
        order: &Order,
        csr_der: &[u8],
    ) -> Result<Order, AcmeError> {
        let payload = json!({ "csr": URL_SAFE_NO_PAD.encode(csr_der) });
        let reply = self
            .post(Signer::Kid(account), &order.finalize, Some(&payload))
            .await?;
        let order = reply.order_at(&order.url)?;
        order.check_not_invalid()?;
        Ok(order)
    }

    /// Downloads the chain at `url` by POST-as-GET (RFC 8555 §7.4.2).
    ///
    /// # Errors
    ///
    /// A problem document, transport failure, a `Content-Type` other than
    /// `application/pem-certificate-chain`, or a body without certificates.
    pub async fn certificate(
        &self,
        account: &Account,
        url: &str,
    ) -> Result<IssuedChain, AcmeError> {
        let reply = self
            .post_accepting(Signer::Kid(account), url, None, PEM_CERTIFICATE_CHAIN)
            .await?;
        let content_type = reply.content_type().unwrap_or_default();
        if !content_type
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(PEM_CERTIFICATE_CHAIN))
        {
            return Err(AcmeError::Malformed {
                what: "certificate chain",
                url: url.to_owned(),
                reason: format!("content type {content_type:?}"),
            });
        }
        let pem = String::from_utf8(reply.body).map_err(|_| AcmeError::Malformed {
            what: "certificate chain",
            url: url.to_owned(),
            reason: "not utf-8".into(),
        })?;
        IssuedChain::from_pem(pem, url)
    }

    /// Revokes a certificate of this account (RFC 8555 §7.6), signed with `kid`.
    ///
    /// # Errors
    ///
    /// A problem document (e.g. `alreadyRevoked`), transport failure, or a directory without
    /// `revokeCert`.
    pub async fn revoke(
        &self,
        account: &Account,
        certificate: &CertificateDer<'_>,
        reason: Option<RevocationReason>,
    ) -> Result<(), AcmeError> {
        let url = self
            .directory()
            .revoke_cert
            .clone()
            .ok_or_else(|| AcmeError::Malformed {
                what: "directory",
                url: self.config().directory_url.clone(),
                reason: "no revokeCert".into(),
            })?;
        let mut payload = json!({ "certificate": URL_SAFE_NO_PAD.encode(certificate) });
        if let Some(reason) = reason {
            payload["reason"] = json!(reason.code());
        }
        // Success is 200 with an empty body (acme2certifier labels it JSON): nothing to parse.
        self.post(Signer::Kid(account), &url, Some(&payload))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use stirling_test::{CertOptions, TestCert};

    use super::*;

    fn chain_for(options: &CertOptions) -> IssuedChain {
        let ca = TestCert::self_signed(&CertOptions::root("Test CA"));
        let leaf = ca.issue(options);
        IssuedChain::from_pem(format!("{}{}", leaf.pem(), ca.pem()), "u").unwrap()
    }

    #[test]
    fn leaf_without_tn_auth_list_is_a_mismatch() {
        let mut options = CertOptions::leaf("1234");
        options.tn_auth_list = None;
        let chain = chain_for(&options);
        assert_eq!(chain.der_chain.len(), 2);
        assert_eq!(chain.leaf_tn_auth_list().unwrap(), None);
        let ordered = TnAuthList::from_base64("MAigBhYEMTIzNA==").unwrap();
        let error = chain.check_tn_auth_list(&ordered).unwrap_err();
        // The text goes into certificate events and alert mails: no Rust debug syntax.
        assert_eq!(
            error.to_string(),
            "the ca issued a certificate for tnauthlist (none), not the ordered MAigBhYEMTIzNA=="
        );
        match error {
            AcmeError::TnAuthListMismatch { ordered, issued } => {
                assert_eq!(ordered, "MAigBhYEMTIzNA==");
                assert_eq!(issued, None);
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn leaf_with_broken_tn_auth_list_is_malformed() {
        let mut options = CertOptions::leaf("1234");
        options.tn_auth_list = Some(vec![0x30, 0x03, 0xA0, 0x01]);
        let chain = chain_for(&options);
        assert!(matches!(
            chain.leaf_tn_auth_list(),
            Err(AcmeError::Malformed {
                what: "issued certificate",
                ..
            })
        ));
    }

    #[test]
    fn body_without_certificates_is_malformed() {
        for body in [
            "",
            "hello",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            assert!(
                matches!(
                    IssuedChain::from_pem(body.to_owned(), "u"),
                    Err(AcmeError::Malformed {
                        what: "certificate chain",
                        ..
                    })
                ),
                "{body:?}"
            );
        }
    }
}
