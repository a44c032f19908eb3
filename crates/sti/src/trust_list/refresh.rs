//! The refresh procedures and the background task that schedules them.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use passport::UnixTime;
use pki::{CaList, CertificateChain, CrlError, TrustAnchors, UnverifiedCaList, UnverifiedCrl};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::{CrlSigner, TrustListConfig};
use super::error::TrustListError;
use super::persist::{self, SavedCaList, SavedCrl};
use super::schedule::{ca_list_refresh_at, crl_refresh_at, retry_delay};
use super::store::TrustStore;
use crate::clock::Clock;
use crate::sti_pa::StiPaClient;

/// Keeps a [`TrustStore`] fresh from the STI-PA.
#[derive(Debug)]
pub struct TrustList {
    client: StiPaClient,
    config: TrustListConfig,
    clock: Arc<dyn Clock>,
    store: Arc<TrustStore>,
    /// The chain that signed the held CA list, for [`CrlSigner::CaListSigner`].
    ca_list_signer: Mutex<Option<Arc<Vec<u8>>>>,
}

/// What a successful CA list refresh installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaListRefresh {
    /// The list's sequence.
    pub sequence: u64,
    /// The list's `exp`, seconds since the epoch.
    pub exp: u64,
    /// How many trust anchors were installed.
    pub anchors: usize,
    /// Entries of the list that are certificates but cannot be anchors (e.g. an RSA key);
    /// they are left out rather than failing the whole list.
    pub skipped: usize,
}

/// What a successful CRL refresh installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrlRefresh {
    /// The CRL's `thisUpdate`.
    pub this_update: UnixTime,
    /// The CRL's `nextUpdate`, if any.
    pub next_update: Option<UnixTime>,
    /// How many revoked certificates it lists.
    pub entries: usize,
}

/// What [`TrustList::load_last_good`] installed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LastGood {
    /// The CA list, if one was saved and still verifies and is unexpired.
    pub ca_list: Option<CaListRefresh>,
    /// The CRL, if one was saved and still verifies.
    pub crl: Option<CrlRefresh>,
}

impl TrustList {
    /// A trust list writing to `store`, calling the STI-PA through `client`, reading the time
    /// from `clock`.
    pub fn new(
        client: StiPaClient,
        config: TrustListConfig,
        clock: Arc<dyn Clock>,
        store: Arc<TrustStore>,
    ) -> Self {
        Self {
            client,
            config,
            clock,
            store,
            ca_list_signer: Mutex::new(None),
        }
    }

    /// The store this list writes to.
    pub fn store(&self) -> &Arc<TrustStore> {
        &self.store
    }

    /// Fetches, verifies and installs the CA list (§4.3): login, `GET ca-list`, fetch the
    /// signer chain named by the JWS `x5u`, validate it to the pinned STI-PA root, verify the
    /// JWS, refuse an expired list or one older than the held list, swap it in, save it.
    ///
    /// One login and one request per step; nothing is retried here. When only saving fails
    /// ([`TrustListError::Persist`]), the new list is already in use.
    pub async fn refresh_ca_list(&self) -> Result<CaListRefresh, TrustListError> {
        let token = self
            .client
            .login(&self.config.user_id, &self.config.password)
            .await?;
        let jws = self.client.ca_list(&token).await?;
        drop(token);
        let x5u = UnverifiedCaList::parse(&jws)?.x5u().to_owned();
        let signer_chain = self.client.signer_chain(&x5u).await?;
        let (list, anchors, skipped) = self.verify_ca_list(&jws, &signer_chain)?;
        let refresh = CaListRefresh {
            sequence: list.sequence(),
            exp: list.exp(),
            anchors: anchors.len(),
            skipped,
        };
        self.store.install_ca_list(list, anchors)?;
        self.set_ca_list_signer(signer_chain.clone());
        if let Some(dir) = &self.config.state_dir {
            persist::save_ca_list(dir, &SavedCaList { jws, signer_chain }).await?;
        }
        Ok(refresh)
    }

    /// Fetches, verifies and installs the STI-PA CRL (§3.5): the signer (per
    /// [`TrustListConfig::crl_signer`]) must chain to the pinned STI-PA root, the CRL's
    /// distribution point must be the configured URL, and a CRL older than the held one is
    /// refused. Saves it as last good; when only saving fails ([`TrustListError::Persist`]),
    /// the new CRL is already in use.
    pub async fn refresh_crl(&self) -> Result<CrlRefresh, TrustListError> {
        let body = self.client.crl(&self.config.crl_url).await?;
        let signer_chain = match &self.config.crl_signer {
            CrlSigner::CaListSigner => self
                .ca_list_signer()
                .map(|chain| chain.to_vec())
                .ok_or(TrustListError::CrlSignerUnknown)?,
            CrlSigner::Pem(pem) => pem.clone(),
            CrlSigner::Url(url) => self.client.signer_chain(url).await?,
        };
        let (refresh, body, signer_chain) = self.install_crl(body, signer_chain).await?;
        if let Some(dir) = &self.config.state_dir {
            let saved = SavedCrl {
                crl: body,
                signer_chain,
            };
            persist::save_crl(dir, &saved).await?;
        }
        Ok(refresh)
    }

    /// Loads the last good CA list and CRL from [`TrustListConfig::state_dir`], verifying
    /// them again as if fetched now (an expired list is refused). Missing files are not an
    /// error; a file that exists but is unusable is ([`TrustListError::LastGood`]).
    pub async fn load_last_good(&self) -> Result<LastGood, TrustListError> {
        let Some(dir) = &self.config.state_dir else {
            return Ok(LastGood::default());
        };
        let mut loaded = LastGood::default();
        if let Some(saved) = persist::load_ca_list(dir).await? {
            let path = dir.join(persist::CA_LIST_FILE);
            let (list, anchors, skipped) = self
                .verify_ca_list(&saved.jws, &saved.signer_chain)
                .map_err(|e| persist::unusable(&path, e))?;
            let refresh = CaListRefresh {
                sequence: list.sequence(),
                exp: list.exp(),
                anchors: anchors.len(),
                skipped,
            };
            self.store.install_ca_list(list, anchors)?;
            self.set_ca_list_signer(saved.signer_chain);
            loaded.ca_list = Some(refresh);
        }
        if let Some(saved) = persist::load_crl(dir).await? {
            let path = dir.join(persist::CRL_FILE);
            let (refresh, _, _) = self
                .install_crl(saved.crl, saved.signer_chain)
                .await
                .map_err(|e| match e {
                    TrustListError::CrlRollback { .. } => e,
                    other => persist::unusable(&path, other),
                })?;
            loaded.crl = Some(refresh);
        }
        Ok(loaded)
    }

    /// Runs the refresh schedule until `shutdown` turns `true` (or its sender is dropped):
    /// the CA list at once and then per [`ca_list_refresh_at`], the CRL at once and then per
    /// [`crl_refresh_at`], each retried per [`retry_delay`] after a failure. Failures are
    /// logged (never with secrets) and leave the held state in place.
    ///
    /// Call [`load_last_good`](Self::load_last_good) first at start-up, so verification has
    /// anchors even while the STI-PA is unreachable.
    pub fn spawn(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let jitter = RandomState::new();
            let now = self.clock.now();
            let (mut next_ca, mut next_crl) = (now, now);
            let (mut ca_failures, mut crl_failures) = (0u32, 0u32);
            loop {
                if *shutdown.borrow() {
                    return;
                }
                let now = self.clock.now();
                if now.as_secs() >= next_ca.as_secs() {
                    next_ca = match self.refresh_ca_list().await {
                        Ok(done) => {
                            ca_failures = 0;
                            tracing::info!(
                                sequence = done.sequence,
                                anchors = done.anchors,
                                skipped = done.skipped,
                                "sti-pa ca list refreshed"
                            );
                            ca_list_refresh_at(
                                self.clock.now(),
                                done.exp,
                                self.config.ca_list_interval,
                            )
                        }
                        Err(error) => {
                            ca_failures = ca_failures.saturating_add(1);
                            tracing::warn!(%error, failures = ca_failures, "sti-pa ca list refresh failed");
                            self.after(&error, ca_failures, jitter.hash_one((ca_failures, 1u8)))
                        }
                    };
                }
                let now = self.clock.now();
                if now.as_secs() >= next_crl.as_secs() {
                    next_crl = match self.refresh_crl().await {
                        Ok(done) => {
                            crl_failures = 0;
                            tracing::info!(entries = done.entries, "sti-pa crl refreshed");
                            crl_refresh_at(
                                self.clock.now(),
                                done.next_update,
                                self.config.crl_max_interval,
                            )
                        }
                        Err(error) => {
                            crl_failures = crl_failures.saturating_add(1);
                            tracing::warn!(%error, failures = crl_failures, "sti-pa crl refresh failed");
                            self.after(&error, crl_failures, jitter.hash_one((crl_failures, 2u8)))
                        }
                    };
                }
                let wake = next_ca.as_secs().min(next_crl.as_secs());
                let wait = Duration::from_secs(wake.saturating_sub(self.clock.now().as_secs()));
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    changed = shutdown.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                }
            }
        })
    }

    fn after(&self, error: &TrustListError, failures: u32, jitter: u64) -> UnixTime {
        let delay = retry_delay(
            error,
            failures,
            self.config.retry_min,
            self.config.retry_max,
            self.config.ca_list_interval,
            jitter,
        );
        UnixTime::since_unix_epoch(Duration::from_secs(
            self.clock
                .now()
                .as_secs()
                .saturating_add(delay.as_secs().max(1)),
        ))
    }

    /// Validates the signer chain to the pinned root and verifies the list at the clock's now.
    fn verify_ca_list(
        &self,
        jws: &str,
        signer_chain: &[u8],
    ) -> Result<(CaList, TrustAnchors, usize), TrustListError> {
        let now = self.clock.now();
        let unverified = UnverifiedCaList::parse(jws)?;
        let key = CertificateChain::from_pem(signer_chain)
            .and_then(|chain| chain.verify_signer(&self.config.sti_pa_roots, now))
            .map_err(TrustListError::CaListSigner)?;
        let list = unverified.verify(&key, now)?;
        let mut anchors = TrustAnchors::new();
        let mut skipped = 0;
        for cert in list.certificates() {
            if anchors.add_der(cert.as_ref()).is_err() {
                skipped += 1;
            }
        }
        Ok((list, anchors, skipped))
    }

    /// Parses and verifies a CRL off the runtime (up to 2 MiB and a million entries is CPU
    /// work, STYLE §5), then installs it. Returns the buffers for saving.
    async fn install_crl(
        &self,
        body: Vec<u8>,
        signer_chain: Vec<u8>,
    ) -> Result<(CrlRefresh, Vec<u8>, Vec<u8>), TrustListError> {
        let now = self.clock.now();
        let roots = self.config.sti_pa_roots.clone();
        let (crl, body, signer_chain) = tokio::task::spawn_blocking(move || {
            let crl = UnverifiedCrl::from_bytes(&body)
                .and_then(|crl| crl.verify(&signer_chain, &roots, now));
            (crl, body, signer_chain)
        })
        .await
        // The task only fails if the parser panicked: treat the CRL as malformed.
        .unwrap_or_else(|_| {
            let failed = CrlError::Malformed("crl verification task failed".into());
            (Err(failed), Vec::new(), Vec::new())
        });
        let crl = crl?;
        if let Some(found) = crl.distribution_point()
            && found != self.config.crl_url
        {
            return Err(TrustListError::CrlDistributionPoint {
                expected: self.config.crl_url.clone(),
                found: found.to_owned(),
            });
        }
        let refresh = CrlRefresh {
            this_update: crl.this_update(),
            next_update: crl.next_update(),
            entries: crl.len(),
        };
        self.store.install_crl(crl)?;
        Ok((refresh, body, signer_chain))
    }

    fn ca_list_signer(&self) -> Option<Arc<Vec<u8>>> {
        match self.ca_list_signer.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_ca_list_signer(&self, chain: Vec<u8>) {
        let mut guard = match self.ca_list_signer.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Some(Arc::new(chain));
    }
}
