//! Errors of the trust list.

use std::path::PathBuf;
use std::sync::Arc;

use pki::{CaListError, ChainError, CrlError};

use crate::sti_pa::StiPaError;

/// Why a refresh or a load of the last good state failed. The held state is unchanged.
#[derive(Clone, Debug, thiserror::Error)]
pub enum TrustListError {
    /// The CA list is malformed, badly signed, expired, or older than the one held.
    #[error("ca list refused: {0}")]
    CaList(#[from] CaListError),
    /// The CA list signer's chain does not validate to the pinned STI-PA root.
    #[error("ca list signer refused: {0}")]
    CaListSigner(#[source] ChainError),
    /// The CRL is malformed, badly signed, or its signer does not chain to the STI-PA root.
    #[error("crl refused: {0}")]
    Crl(#[from] CrlError),
    /// The CRL's issuing distribution point is not the URL it was fetched from (§3.5).
    #[error("crl distribution point {found:?} is not {expected:?}")]
    CrlDistributionPoint {
        /// The configured CRL URL.
        expected: String,
        /// The URL in the CRL.
        found: String,
    },
    /// The CRL is older (`thisUpdate`) than the one held: a replay.
    #[error("crl thisUpdate {offered} is older than the held {held}")]
    CrlRollback {
        /// `thisUpdate` of the offered CRL, seconds since the epoch.
        offered: u64,
        /// `thisUpdate` of the held CRL.
        held: u64,
    },
    /// The CRL signer is configured as the CA list signer, but no CA list is held yet.
    #[error("crl signer is the ca list signer, but no ca list is held")]
    CrlSignerUnknown,
    /// A last good file exists but cannot be used (corrupt, or its content no longer
    /// verifies). The file is left in place for inspection.
    #[error("last good file {path:?} is unusable: {reason}")]
    LastGood {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Writing or reading a last good file failed.
    #[error("cannot access last good file {path:?}")]
    Persist {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// An STI-PA call failed.
    #[error(transparent)]
    StiPa(#[from] StiPaError),
}
