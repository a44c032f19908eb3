//! The verifier's trust list (`reference/standards.md` §3.4, §3.5, §4.3): the STI-CA anchors
//! of the STI-PA's signed CA list and the STI-PA's indirect CRL, kept fresh from the STI-PA
//! API and persisted as "last good" so a restart without network still verifies.
//!
//! * [`TrustStore`] holds the current anchors and CRL behind a short read lock; verifiers take
//!   an `Arc` snapshot and never hold the lock across I/O. Its epoch changes whenever either
//!   changes, so an x5u cache of validated chains knows when to clear.
//!   [`TrustStore::anchors`] withholds the anchors of an expired list and
//!   [`TrustStore::revocation`] applies the [`CrlPolicy`]; both errors mean SIP 437.
//! * [`TrustList`] does the refreshing as plain async functions
//!   ([`refresh_ca_list`](TrustList::refresh_ca_list), [`refresh_crl`](TrustList::refresh_crl),
//!   [`load_last_good`](TrustList::load_last_good)); [`TrustList::spawn`] runs them on a
//!   schedule ([`ca_list_refresh_at`], [`crl_refresh_at`], [`retry_delay`]).
//!
//! Decisions, and why:
//!
//! * The last good files are a cache, not a source of trust: on load they are verified again
//!   (signer to the pinned root, signature, `exp`) exactly as a fresh download would be.
//! * A CA list with a lower `sequence`, or a CRL with an older `thisUpdate`, is refused: a
//!   replayed object must not undo a removal or a revocation. The same list again is a no-op
//!   and keeps the epoch, so a daily refresh does not flush x5u caches.
//! * A `trustList` entry that is a certificate but cannot be an anchor (e.g. an RSA key) is
//!   skipped and counted ([`CaListRefresh::skipped`]) rather than failing the whole list.
//! * Nothing retries inside a refresh. The scheduler backs off with jitter, and after a 401 or
//!   403 waits a full CA list interval: the password will not fix itself, and hammering the
//!   STI-PA login can lock the API user.
//! * An expired list's anchors are withheld ([`TrustStore::anchors`]) rather than trusted
//!   past `exp`; the CRL's absence is governed by [`CrlPolicy`].
//!
//! Trust is rooted in a pinned STI-PA root ([`STI_PA_ROOT_PEM`]) that authenticates the CA
//! list signer and the CRL signer; the STI-PA root itself never becomes an STI-CA anchor.

mod config;
mod error;
mod persist;
mod refresh;
mod schedule;
mod store;

pub use config::{CrlSigner, STI_PA_ROOT_PEM, TrustListConfig, sti_pa_production_roots};
pub use error::TrustListError;
pub use refresh::{CaListRefresh, CrlRefresh, LastGood, TrustList};
pub use schedule::{
    CA_LIST_EXP_MARGIN, MIN_REFRESH_GAP, ca_list_refresh_at, crl_refresh_at, retry_delay,
};
pub use store::{
    CrlPolicy, CrlUnavailable, NoUsableCaList, NoUsableCrl, Revocation, TrustState, TrustStore,
};
