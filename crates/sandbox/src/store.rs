//! What the sandbox remembers, persisted as `state.json` in the state directory (written to a
//! temporary file and renamed, so a crash leaves the previous state). The PKI is kept apart in
//! `pki.json` (see `pki.rs`). Nonces are not persisted: a client must handle `badNonce` after
//! a restart, as it must anyway.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::rng::SeededRng;

/// Everything but the PKI.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Data {
    /// Bumped on every change; orders the snapshots written to disk.
    #[serde(default)]
    pub(crate) version: u64,
    pub(crate) rng: SeededRng,
    pub(crate) pa: PaData,
    pub(crate) acme: AcmeData,
    /// Revocations, in the order they happened: the CRL's entries.
    pub(crate) revoked: Vec<Revocation>,
    /// The CRL number; bumped on each revocation.
    pub(crate) crl_number: u64,
}

/// STI-PA users, accounts and sessions.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct PaData {
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) accounts: BTreeMap<String, PaAccount>,
    /// Access token → session.
    pub(crate) sessions: BTreeMap<String, Session>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct User {
    pub(crate) salt: String,
    pub(crate) password_hash: String,
    pub(crate) accounts: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PaAccount {
    pub(crate) ocns: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Session {
    pub(crate) user_id: String,
    pub(crate) expires: u64,
}

/// ACME objects, by id.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct AcmeData {
    pub(crate) accounts: BTreeMap<String, Account>,
    pub(crate) orders: BTreeMap<String, Order>,
    pub(crate) authorizations: BTreeMap<String, Authorization>,
    pub(crate) certificates: BTreeMap<String, IssuedCertificate>,
    /// `jti`s of SPC tokens accepted in a challenge, with their `exp`.
    pub(crate) used_jtis: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Account {
    pub(crate) jwk: serde_json::Value,
    pub(crate) contact: Vec<String>,
    pub(crate) status: Status,
    pub(crate) eab_kid: Option<String>,
}

/// The ACME status values (RFC 8555 §7.1.6) the sandbox uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Deactivated,
    Invalid,
    Pending,
    Processing,
    Ready,
    Revoked,
    Valid,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Order {
    pub(crate) account: String,
    pub(crate) status: Status,
    pub(crate) expires: u64,
    /// The identifier value exactly as the client sent it.
    pub(crate) identifier: String,
    /// Its TNAuthList DER, base64 (the comparison key).
    pub(crate) tn_auth_list: String,
    pub(crate) authorizations: Vec<String>,
    pub(crate) not_before: Option<String>,
    pub(crate) not_after: Option<String>,
    pub(crate) certificate: Option<String>,
    pub(crate) error: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Authorization {
    pub(crate) account: String,
    pub(crate) order: String,
    pub(crate) status: Status,
    pub(crate) expires: u64,
    pub(crate) identifier: String,
    pub(crate) tn_auth_list: String,
    pub(crate) challenge: Challenge,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Challenge {
    pub(crate) id: String,
    pub(crate) token: String,
    pub(crate) status: Status,
    pub(crate) validated: Option<u64>,
    pub(crate) error: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct IssuedCertificate {
    pub(crate) account: String,
    /// PEM chain: leaf, then the intermediate.
    pub(crate) chain_pem: String,
    /// Leaf DER, base64.
    pub(crate) der: String,
    /// Serial, hex.
    pub(crate) serial: String,
    pub(crate) revoked: bool,
}

/// One CRL entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Revocation {
    /// Serial, hex (as DER INTEGER content bytes).
    pub(crate) serial: String,
    /// The issuing CA's subject `Name` DER, base64 (the entry's certificateIssuer).
    pub(crate) issuer: String,
    pub(crate) time: u64,
    /// RFC 5280 CRLReason code, if given.
    pub(crate) reason: Option<u8>,
}

/// Reading and writing JSON files in the state directory.
#[derive(Debug)]
pub(crate) struct Dir {
    path: PathBuf,
}

impl Dir {
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        fs::create_dir_all(path)?;
        Ok(Self {
            path: path.to_owned(),
        })
    }

    /// `Ok(None)` when the file does not exist yet.
    pub(crate) fn read<T: DeserializeOwned>(&self, name: &str) -> io::Result<Option<T>> {
        match fs::read(self.path.join(name)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `name` atomically (temporary file, then rename), readable by the owner only:
    /// `pki.json` holds private keys.
    pub(crate) fn write<T: Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(value)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.write_bytes(name, &bytes)
    }

    /// Writes already serialised bytes, as [`Dir::write`].
    pub(crate) fn write_bytes(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.path.join(format!("{name}.tmp"));
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        io::Write::write_all(&mut file, bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, self.path.join(name))
    }
}
