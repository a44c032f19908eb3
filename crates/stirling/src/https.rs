//! The HTTPS listener: the same application as the plain listener, over TLS (rustls), for
//! installations where Stirling serves its certificate repository itself; and the loopback
//! certificate `--sandbox` generates so its x5u URLs are real HTTPS.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How long a client has for the TLS handshake before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the TLS material could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// A PEM file holds no usable certificate or key.
    #[error("{path}: {message}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Generating the loopback certificate failed.
    #[error("generating the loopback certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate and key.
    #[error("tls configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A rustls server configuration from PEM files (chain leaf first, PKCS#8/SEC1/PKCS#1 key).
pub fn server_config(
    cert_file: &Path,
    key_file: &Path,
) -> Result<rustls::ServerConfig, TlsSetupError> {
    let shown = |p: &Path| p.display().to_string();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| TlsSetupError::Pem {
            path: shown(cert_file),
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsSetupError::Pem {
            path: shown(cert_file),
            message: "no certificate".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| TlsSetupError::Pem {
        path: shown(key_file),
        message: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?)
}

/// The loopback TLS material of `--sandbox`, kept in `dir` across restarts: a private root
/// (`tls-root.pem`, which the verifier and self-check trust) and a certificate for
/// `127.0.0.1`/`localhost` signed by it. Returns the server configuration and the root.
pub fn sandbox_tls(
    dir: &Path,
) -> Result<(rustls::ServerConfig, CertificateDer<'static>), TlsSetupError> {
    let root_file = dir.join("tls-root.pem");
    let cert_file = dir.join("tls-cert.pem");
    let key_file = dir.join("tls-key.pem");
    if !(root_file.exists() && cert_file.exists() && key_file.exists()) {
        generate_loopback(dir, &root_file, &cert_file, &key_file)?;
    }
    let root = CertificateDer::from_pem_file(&root_file).map_err(|e| TlsSetupError::Pem {
        path: root_file.display().to_string(),
        message: e.to_string(),
    })?;
    Ok((server_config(&cert_file, &key_file)?, root))
}

fn generate_loopback(
    dir: &Path,
    root_file: &Path,
    cert_file: &Path,
    key_file: &Path,
) -> Result<(), TlsSetupError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |error| TlsSetupError::Io { path, error }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut root_params = CertificateParams::new(Vec::<String>::new())?;
    root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "Stirling sandbox loopback TLS root",
    );
    let root = CertifiedIssuer::self_signed(root_params, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    let cert = params.signed_by(&key, &root)?;
    std::fs::write(root_file, root.pem()).map_err(io(root_file))?;
    std::fs::write(cert_file, format!("{}{}", cert.pem(), root.pem())).map_err(io(cert_file))?;
    write_private(key_file, &key.serialize_pem()).map_err(io(key_file))?;
    Ok(())
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?
        .write_all(text.as_bytes())
}

/// Serves `app` over TLS on `listener` until `stop` resolves; each connection runs in its
/// own task, so a slow handshake holds up nobody else.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    stop: impl std::future::Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "https accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        crate::http::no_delay(&tcp);
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "tls handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "tls handshake timed out");
                    return;
                }
            };
            // Handlers see the peer as with the plain listener (login rate limiting).
            let app = app.layer(axum::Extension(axum::extract::ConnectInfo(peer)));
            let service = TowerToHyperService::new(app);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "https connection ended with an error");
            }
        });
    }
}
