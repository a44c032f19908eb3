//! TLS listener configuration (tokio-rustls, aws-lc-rs provider).

use std::net::SocketAddr;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A TLS listener: address, certificate chain and key.
#[derive(Debug)]
pub struct TlsConfig {
    /// Address to listen on (5061 by convention).
    pub addr: SocketAddr,
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for TlsConfig {
    fn clone(&self) -> Self {
        Self {
            addr: self.addr,
            cert_chain: self.cert_chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// The certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// No certificate in the PEM.
    #[error("no certificate in the pem")]
    NoCertificate,
    /// No private key in the PEM, or it does not decode.
    #[error("no usable private key in the pem")]
    NoKey,
    /// rustls refused the pair.
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
}

impl TlsConfig {
    /// From PEM text: the certificate chain (leaf first) and its private key.
    pub fn from_pem(
        addr: SocketAddr,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<Self, TlsConfigError> {
        let cert_chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TlsConfigError::NoCertificate)?;
        if cert_chain.is_empty() {
            return Err(TlsConfigError::NoCertificate);
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| TlsConfigError::NoKey)?;
        let config = Self {
            addr,
            cert_chain,
            key,
        };
        config.server_config()?;
        Ok(config)
    }

    fn server_config(&self) -> Result<rustls::ServerConfig, rustls::Error> {
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(self.cert_chain.clone(), self.key.clone_key())
    }

    pub(super) fn acceptor(&self) -> std::io::Result<tokio_rustls::TlsAcceptor> {
        let config = self.server_config().map_err(std::io::Error::other)?;
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}
