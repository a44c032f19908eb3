//! Settings of the trust list.

use std::path::PathBuf;
use std::time::Duration;

use pki::{TrustAnchorError, TrustAnchors};

use crate::sti_pa::Secret;

/// The US STI-PA root certificate (iconectiv; `C=US, ST=NJ, L=Bridgewater, O=STI-PA,
/// CN=STI-PA Root Certificate`, valid 2019-10-04 → 2029-10-04, SHA-256
/// `7B:46:32:52:…:9E:9E:43:34`, §4.3), pinned for production and staging.
pub const STI_PA_ROOT_PEM: &[u8] = include_bytes!("../../data/sti-pa-root.pem");

/// The pinned production STI-PA root as a [`TrustAnchors`] set.
pub fn sti_pa_production_roots() -> Result<TrustAnchors, TrustAnchorError> {
    TrustAnchors::from_pem(STI_PA_ROOT_PEM)
}

/// Where the certificate that signs the CRL comes from (§3.5). The CRL signer must chain to
/// the pinned STI-PA root whichever source is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CrlSigner {
    /// The chain that signed the current CA list (when the STI-PA uses one signer for both).
    CaListSigner,
    /// A configured chain, PEM or DER, signer first.
    Pem(Vec<u8>),
    /// A chain downloaded from this `https` URL (e.g. the CRL's AIA), signer first.
    Url(String),
}

/// Settings of [`TrustList`](super::TrustList).
#[derive(Debug)]
pub struct TrustListConfig {
    /// STI-PA API user id (§4.2).
    pub user_id: String,
    /// STI-PA API password; never logged.
    pub password: Secret,
    /// The pinned STI-PA root(s) that the CA list signer and CRL signer must chain to.
    /// Production: [`sti_pa_production_roots`].
    pub sti_pa_roots: TrustAnchors,
    /// The STI-PA CRL URL, e.g. `https://authenticate-api.iconectiv.com/download/v1/crl`. The
    /// CRL's issuing distribution point must name this URL when it has one.
    pub crl_url: String,
    /// Where the CRL signer's certificate comes from. Default [`CrlSigner::CaListSigner`].
    pub crl_signer: CrlSigner,
    /// Folder for the last good CA list and CRL; `None` keeps nothing on disk.
    pub state_dir: Option<PathBuf>,
    /// Longest time between CA list refreshes. Default 24 h; a refresh also happens
    /// [`CA_LIST_EXP_MARGIN`](super::CA_LIST_EXP_MARGIN) before the list's `exp`.
    pub ca_list_interval: Duration,
    /// Longest time between CRL refreshes. Default 12 h; a refresh also happens at the CRL's
    /// `nextUpdate` when that is sooner (vermouth's policy, §3.5).
    pub crl_max_interval: Duration,
    /// First delay after a failed refresh; it doubles per failure up to `retry_max`, with
    /// jitter. Default 1 min.
    pub retry_min: Duration,
    /// Longest delay between retries. Default 1 h.
    pub retry_max: Duration,
}

impl TrustListConfig {
    /// Settings with the defaults above.
    pub fn new(
        user_id: impl Into<String>,
        password: Secret,
        sti_pa_roots: TrustAnchors,
        crl_url: impl Into<String>,
    ) -> Self {
        Self {
            user_id: user_id.into(),
            password,
            sti_pa_roots,
            crl_url: crl_url.into(),
            crl_signer: CrlSigner::CaListSigner,
            state_dir: None,
            ca_list_interval: Duration::from_secs(24 * 3600),
            crl_max_interval: Duration::from_secs(12 * 3600),
            retry_min: Duration::from_secs(60),
            retry_max: Duration::from_secs(3600),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_root_parses() {
        assert_eq!(sti_pa_production_roots().map(|r| r.len()), Ok(1));
    }
}
