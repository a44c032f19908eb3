//! The sandbox's shared state: configuration, PKI, the persisted store, the in-memory nonce
//! pool and the fault switches. One `Sandbox: Clone` (an `Arc`) is handed to every handler.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::pbkdf2;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::acme::Nonces;
use crate::config::{SandboxConfig, Seed};
use crate::faults::Faults;
use crate::pki::{PkiError, SandboxPki, StoredPki, pem};
use crate::rng::SeededRng;
use crate::store::{Data, Dir, PaAccount, User};

const STATE_FILE: &str = "state.json";
const PKI_FILE: &str = "pki.json";
/// PBKDF2 rounds for sandbox passwords: enough to not be a plain hash, cheap enough for tests.
const PBKDF2_ROUNDS: NonZeroU32 = match NonZeroU32::new(10_000) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

/// A running sandbox's state. Cheap to clone.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    pki: SandboxPki,
    dir: Arc<Dir>,
    data: Mutex<Data>,
    /// Version of the last snapshot written to disk.
    written: tokio::sync::Mutex<u64>,
    nonces: Mutex<Nonces>,
    faults: Mutex<Faults>,
    /// PA and CA requests received, per route.
    requests: Mutex<BTreeMap<String, u64>>,
}

/// Why the sandbox could not open its state directory.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Reading or writing the state directory failed.
    #[error("state directory: {0}")]
    Io(#[from] std::io::Error),
    /// The stored PKI does not load, or a new one could not be made.
    #[error("sandbox pki: {0}")]
    Pki(String),
    /// The seed names an account no user or account entry defines, or an invalid OCN.
    #[error("seed: {0}")]
    Seed(String),
}

/// The store could not be written; the request fails with a 500.
#[derive(Debug, thiserror::Error)]
#[error("state could not be saved: {0}")]
pub(crate) struct StoreError(#[from] std::io::Error);

impl From<PkiError> for OpenError {
    fn from(e: PkiError) -> Self {
        OpenError::Pki(e.to_string())
    }
}

impl Sandbox {
    /// Opens (or creates) the state in `dir`: loads the PKI and store, or creates a new PKI
    /// on first use, then adds or updates the users and accounts of `seed`.
    pub fn open(dir: &Path, config: SandboxConfig, seed: &Seed) -> Result<Self, OpenError> {
        let dir = Dir::create(dir)?;
        let pki = match dir.read::<StoredPki>(PKI_FILE)? {
            Some(stored) => SandboxPki::load(&stored)?,
            None => {
                let pki = SandboxPki::generate(&config.url(CRL_PATH), SystemTime::now())?;
                dir.write(PKI_FILE, &pki.to_stored())?;
                pki
            }
        };
        let mut data = dir.read::<Data>(STATE_FILE)?.unwrap_or_else(|| Data {
            rng: SeededRng::new(config.rng_seed),
            ..Data::default()
        });
        apply_seed(&mut data, seed)?;
        let nonce_rng = data.rng.fork();
        dir.write(STATE_FILE, &data)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                pki,
                written: tokio::sync::Mutex::new(data.version),
                dir: Arc::new(dir),
                data: Mutex::new(data),
                nonces: Mutex::new(Nonces::new(nonce_rng)),
                faults: Mutex::new(Faults::default()),
                requests: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// The sandbox STI-PA root (PEM): pin it to verify SPC tokens, the CA list and the CRL.
    pub fn pa_root_pem(&self) -> String {
        pem(&self.inner.pki.pa_root.der)
    }

    /// The STI-PA signing certificate (PEM), the `x5u` target of tokens and the CA list.
    pub fn pa_signer_pem(&self) -> String {
        pem(&self.inner.pki.pa_signer.der)
    }

    /// The STI-PA CRL signer certificate (PEM).
    pub fn crl_signer_pem(&self) -> String {
        pem(&self.inner.pki.crl_signer.der)
    }

    /// The sandbox STI-CA root (PEM), the one entry of the CA list.
    pub fn ca_root_pem(&self) -> String {
        pem(&self.inner.pki.ca_root.der)
    }

    /// The sandbox STI-CA intermediate (PEM) that issues the leaves.
    pub fn ca_intermediate_pem(&self) -> String {
        pem(&self.inner.pki.ca_intermediate.der)
    }

    /// The fault switches now in force.
    pub fn faults(&self) -> Faults {
        self.faults_lock().clone()
    }

    /// Replaces the fault switches (`Faults::default()` turns every fault off).
    pub fn set_faults(&self, faults: Faults) {
        *self.faults_lock() = faults;
    }

    /// How many PA and CA requests arrived per route (e.g. `/api/v1/auth/login`), counted
    /// before any injected delay or failure.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.requests_lock().clone()
    }

    /// How many requests arrived at `route` (0 when none did).
    pub fn request_count(&self, route: &str) -> u64 {
        self.requests_lock().get(route).copied().unwrap_or_default()
    }

    /// Sets every request count back to zero.
    pub fn reset_requests(&self) {
        self.requests_lock().clear();
    }

    pub(crate) fn count_request(&self, route: &str) {
        *self.requests_lock().entry(route.to_owned()).or_default() += 1;
    }

    fn requests_lock(&self) -> MutexGuard<'_, BTreeMap<String, u64>> {
        self.inner
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn pki(&self) -> &SandboxPki {
        &self.inner.pki
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.inner.config.url(path)
    }

    /// Seconds since the epoch.
    pub(crate) fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    }

    /// Reads the store.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Data) -> R) -> R {
        f(&self.data_lock())
    }

    /// Changes the store and persists it before returning. The change is made and serialised
    /// under the data lock; the file is written off the async workers (`spawn_blocking`) under
    /// the writer lock, skipping a snapshot older than the last one written (a newer snapshot
    /// holds every older change), so the file never goes back in time.
    pub(crate) async fn update<R>(&self, f: impl FnOnce(&mut Data) -> R) -> Result<R, StoreError> {
        let (result, snapshot, version) = {
            let mut data = self.data_lock();
            let result = f(&mut data);
            data.version += 1;
            let snapshot = serde_json::to_vec_pretty(&*data)
                .map_err(|e| StoreError(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
            (result, snapshot, data.version)
        };
        let mut written = self.inner.written.lock().await;
        if version > *written {
            let dir = Arc::clone(&self.inner.dir);
            tokio::task::spawn_blocking(move || dir.write_bytes(STATE_FILE, &snapshot))
                .await
                .map_err(|e| StoreError(std::io::Error::other(e)))??;
            *written = version;
        }
        Ok(result)
    }

    pub(crate) fn nonces(&self) -> MutexGuard<'_, Nonces> {
        self.inner
            .nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn faults_lock(&self) -> MutexGuard<'_, Faults> {
        self.inner
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn data_lock(&self) -> MutexGuard<'_, Data> {
        // A panic elsewhere while holding the lock leaves the data as it was last saved or
        // about to be; carry on rather than fail every later request.
        self.inner
            .data
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Where the CRL is served.
pub(crate) const CRL_PATH: &str = "/download/v1/crl";

fn apply_seed(data: &mut Data, seed: &Seed) -> Result<(), OpenError> {
    for account in &seed.accounts {
        for ocn in &account.ocns {
            passport::Spc::new(ocn).map_err(|e| {
                OpenError::Seed(format!("account {}: ocn {ocn:?}: {e}", account.account_id))
            })?;
        }
        data.pa.accounts.insert(
            account.account_id.clone(),
            PaAccount {
                ocns: account.ocns.clone(),
            },
        );
    }
    for user in &seed.users {
        for account in &user.accounts {
            if !data.pa.accounts.contains_key(account) {
                return Err(OpenError::Seed(format!(
                    "user {} names unknown account {account}",
                    user.user_id
                )));
            }
        }
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt)
            .map_err(|_| OpenError::Seed("random generator failed".into()))?;
        let hash = hash_password(&salt, &user.password);
        data.pa.users.insert(
            user.user_id.clone(),
            User {
                salt: STANDARD.encode(salt),
                password_hash: STANDARD.encode(hash),
                accounts: user.accounts.clone(),
            },
        );
    }
    Ok(())
}

fn hash_password(salt: &[u8], password: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        PBKDF2_ROUNDS,
        salt,
        password.as_bytes(),
        &mut out,
    );
    out
}

/// Checks `password` against a stored user in constant time (aws-lc `pbkdf2::verify`).
pub(crate) fn password_matches(user: &User, password: &str) -> bool {
    let (Ok(salt), Ok(hash)) = (
        STANDARD.decode(&user.salt),
        STANDARD.decode(&user.password_hash),
    ) else {
        return false;
    };
    pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        PBKDF2_ROUNDS,
        &salt,
        password.as_bytes(),
        &hash,
    )
    .is_ok()
}
