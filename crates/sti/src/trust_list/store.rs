//! The current trust state, swapped whole on each change (read-copy-update).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use passport::UnixTime;
use pki::{CaList, RevocationList, TrustAnchors};

use super::error::TrustListError;

/// What verification does when no current CRL is held (§3.5; vermouth's
/// `strict_crl_handling`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CrlPolicy {
    /// Verify without revocation data and report it ([`Revocation::Unchecked`]).
    #[default]
    Soft,
    /// Report "no usable CRL" ([`NoUsableCrl`]); the verifier fails the call with 437.
    Strict,
}

/// Why no current CRL is available.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrlUnavailable {
    /// No CRL has been loaded or fetched.
    Missing,
    /// The held CRL's `nextUpdate` has passed.
    Stale {
        /// The held CRL's `nextUpdate`, seconds since the epoch.
        next_update: u64,
    },
}

/// The revocation input for one verification.
#[derive(Clone, Debug)]
pub enum Revocation {
    /// Check the chain against this CRL.
    Checked(Arc<RevocationList>),
    /// [`CrlPolicy::Soft`]: verify without revocation data, for this reason.
    Unchecked(CrlUnavailable),
}

/// [`CrlPolicy::Strict`] and no current CRL: verification must fail (SIP 437).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no usable crl: {reason:?}")]
pub struct NoUsableCrl {
    /// Why.
    pub reason: CrlUnavailable,
}

/// Why no usable trust anchors are available (the verifier answers 437).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoUsableCaList {
    /// The held CA list's `exp` has passed and no newer list could be fetched (§4.3: honour
    /// `exp`).
    #[error("ca list expired at {exp}")]
    Expired {
        /// The held list's `exp`, seconds since the epoch.
        exp: u64,
    },
    /// No CA list has been loaded or fetched.
    #[error("no ca list held")]
    Missing,
}

/// One immutable state of the trust list.
#[derive(Debug, Default)]
pub struct TrustState {
    anchors: Arc<TrustAnchors>,
    ca_list: Option<Arc<CaList>>,
    crl: Option<Arc<RevocationList>>,
    epoch: u64,
}

impl TrustState {
    /// The STI-CA trust anchors of the current CA list (empty before the first list).
    pub fn anchors(&self) -> &Arc<TrustAnchors> {
        &self.anchors
    }

    /// The current CA list, if any.
    pub fn ca_list(&self) -> Option<&Arc<CaList>> {
        self.ca_list.as_ref()
    }

    /// The current CRL, if any, fresh or not.
    pub fn crl(&self) -> Option<&Arc<RevocationList>> {
        self.crl.as_ref()
    }

    /// The epoch this state was installed at.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

/// The shared trust list: verifiers read it, [`TrustList`](super::TrustList) writes it.
#[derive(Debug)]
pub struct TrustStore {
    current: RwLock<Arc<TrustState>>,
    epoch: AtomicU64,
    policy: CrlPolicy,
}

impl TrustStore {
    /// An empty store (no anchors, no CRL) with the given CRL policy.
    pub fn new(policy: CrlPolicy) -> Self {
        Self {
            current: RwLock::new(Arc::new(TrustState::default())),
            epoch: AtomicU64::new(0),
            policy,
        }
    }

    /// The current state. The read lock is held only to clone an `Arc`.
    pub fn current(&self) -> Arc<TrustState> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            // A writer panicked mid-swap; the Arc inside is still a whole state.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// A number that changes whenever the anchors or the CRL change: an x5u cache of
    /// validated chains is cleared when it differs from the epoch it was filled at.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The CRL policy.
    pub fn policy(&self) -> CrlPolicy {
        self.policy
    }

    /// The trust anchors for a verification at `now`: those of the held CA list, unless
    /// there is none or it has expired.
    pub fn anchors(&self, now: UnixTime) -> Result<Arc<TrustAnchors>, NoUsableCaList> {
        let state = self.current();
        match &state.ca_list {
            None => Err(NoUsableCaList::Missing),
            Some(list) if now.as_secs() > list.exp() => {
                Err(NoUsableCaList::Expired { exp: list.exp() })
            }
            Some(_) => Ok(state.anchors.clone()),
        }
    }

    /// The revocation input for a verification at `now`, under the store's [`CrlPolicy`].
    pub fn revocation(&self, now: UnixTime) -> Result<Revocation, NoUsableCrl> {
        let state = self.current();
        let reason = match &state.crl {
            None => CrlUnavailable::Missing,
            Some(crl) => match crl.next_update() {
                Some(next) if next.as_secs() < now.as_secs() => CrlUnavailable::Stale {
                    next_update: next.as_secs(),
                },
                _ => return Ok(Revocation::Checked(crl.clone())),
            },
        };
        match self.policy {
            CrlPolicy::Soft => Ok(Revocation::Unchecked(reason)),
            CrlPolicy::Strict => Err(NoUsableCrl { reason }),
        }
    }

    /// Installs a verified CA list and its anchors, unless it is older than the one held.
    /// Re-installing the list already held changes nothing, not even the epoch, so the daily
    /// refresh of an unchanged list does not clear x5u caches.
    pub(crate) fn install_ca_list(
        &self,
        list: CaList,
        anchors: TrustAnchors,
    ) -> Result<(), TrustListError> {
        self.swap(|held| {
            if let Some(held_list) = &held.ca_list {
                list.may_replace(held_list)?;
                if **held_list == list {
                    return Ok(None);
                }
            }
            Ok(Some(TrustState {
                anchors: Arc::new(anchors),
                ca_list: Some(Arc::new(list)),
                crl: held.crl.clone(),
                epoch: 0,
            }))
        })
    }

    /// Installs a verified CRL, unless it is older than the one held.
    pub(crate) fn install_crl(&self, crl: RevocationList) -> Result<(), TrustListError> {
        self.swap(|held| {
            if let Some(held_crl) = &held.crl
                && crl.this_update().as_secs() < held_crl.this_update().as_secs()
            {
                return Err(TrustListError::CrlRollback {
                    offered: crl.this_update().as_secs(),
                    held: held_crl.this_update().as_secs(),
                });
            }
            Ok(Some(TrustState {
                anchors: held.anchors.clone(),
                ca_list: held.ca_list.clone(),
                crl: Some(Arc::new(crl)),
                epoch: 0,
            }))
        })
    }

    /// Builds the next state from the held one under the write lock (no I/O inside), then
    /// bumps the epoch; `None` from `next` keeps the held state.
    fn swap(
        &self,
        next: impl FnOnce(&TrustState) -> Result<Option<TrustState>, TrustListError>,
    ) -> Result<(), TrustListError> {
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let Some(mut state) = next(&guard)? else {
            return Ok(());
        };
        state.epoch = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        *guard = Arc::new(state);
        Ok(())
    }
}
