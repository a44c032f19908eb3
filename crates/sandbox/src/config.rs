//! Configuration: one typed struct with safe defaults, and the seed of users and accounts.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the sandbox runs. Build with [`SandboxConfig::new`] and change fields.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// The URL clients reach the sandbox at, without trailing slash, e.g.
    /// `http://127.0.0.1:8444`. Token `x5u`, the CRL URL and every ACME URL start with it.
    pub base_url: String,
    /// Seed of the generator used for identifiers, nonces, access tokens and `jti`s (not for
    /// keys or certificate serials, which come from the system CSPRNG). Only used when the
    /// state directory is new; afterwards the persisted generator state continues.
    pub rng_seed: u64,
    /// Lifetime of an issued leaf certificate (default 7 days).
    pub certificate_validity: Duration,
    /// Lifetime of an SPC token (default 5 minutes).
    pub token_lifetime: Duration,
    /// Lifetime of an STI-PA access token (default 1 hour).
    pub session_lifetime: Duration,
    /// How long an ACME order and its authorization stay usable (default 7 days); after that
    /// they read as `invalid`.
    pub order_lifetime: Duration,
    /// How long a signed CA list stays valid (`exp`, default 24 hours).
    pub ca_list_lifetime: Duration,
    /// What the STI-CA hashes to compute the account key fingerprint it compares with the
    /// token's `fingerprint` (default: the DER SubjectPublicKeyInfo).
    pub fingerprint_input: FingerprintInput,
    /// External account binding: when set, `newAccount` requires an HS256 binding under this
    /// key id and key.
    pub external_account: Option<ExternalAccountKey>,
}

/// An EAB key id and its MAC key (RFC 8555 §7.3.4).
#[derive(Clone)]
pub struct ExternalAccountKey {
    /// The key identifier the client puts in the inner JWS `kid`.
    pub kid: String,
    /// The HMAC-SHA256 key (the client gets it base64url-encoded).
    pub secret_hmac_key: Vec<u8>,
}

impl std::fmt::Debug for ExternalAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalAccountKey")
            .field("kid", &self.kid)
            .field("secret_hmac_key", &"<redacted>")
            .finish()
    }
}

/// The input of the SHA-256 account key fingerprint (`reference/standards.md` §4.4: deployed
/// clients disagree).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FingerprintInput {
    /// The RFC 7638 JWK thumbprint bytes (Certify-the-Web, the lego fork).
    JwkThumbprint,
    /// The DER SubjectPublicKeyInfo of the account key (vermouth, PeeringHub).
    #[default]
    SpkiDer,
}

impl SandboxConfig {
    /// The defaults, reached at `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            rng_seed: 0,
            certificate_validity: Duration::from_secs(7 * 86_400),
            token_lifetime: Duration::from_secs(300),
            session_lifetime: Duration::from_secs(3_600),
            order_lifetime: Duration::from_secs(7 * 86_400),
            ca_list_lifetime: Duration::from_secs(86_400),
            fingerprint_input: FingerprintInput::default(),
            external_account: None,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// Users and STI-PA accounts to create (or update) when the sandbox opens; read from a JSON
/// seed file or built by the CLI.
///
/// ```json
/// {"users": [{"userId": "alice", "password": "secret", "accounts": ["1234"]}],
///  "accounts": [{"accountId": "1234", "ocns": ["1234"]}]}
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// STI-PA API users.
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// STI-PA accounts (service providers).
    #[serde(default)]
    pub accounts: Vec<SeedAccount>,
}

/// One STI-PA API user.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedUser {
    /// The login name (`userId`).
    pub user_id: String,
    /// The password; stored only as a salted PBKDF2 hash.
    pub password: String,
    /// The account IDs this user may request SPC tokens for.
    pub accounts: Vec<String>,
}

impl std::fmt::Debug for SeedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedUser")
            .field("user_id", &self.user_id)
            .field("password", &"<redacted>")
            .field("accounts", &self.accounts)
            .finish()
    }
}

/// One STI-PA account and the OCNs (SPCs) it may request tokens for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedAccount {
    /// The account ID in `/api/v1/account/{accountId}/token` (in practice the OCN).
    pub account_id: String,
    /// The OCNs whose TNAuthList the account may put in `tkvalue`.
    pub ocns: Vec<String>,
}

impl Seed {
    /// The seed used when none is given: user `sandbox` with password `sandbox`, account
    /// `1234` owning OCN `1234`.
    pub fn demo() -> Self {
        Self {
            users: vec![SeedUser {
                user_id: "sandbox".into(),
                password: "sandbox".into(),
                accounts: vec!["1234".into()],
            }],
            accounts: vec![SeedAccount {
                account_id: "1234".into(),
                ocns: vec!["1234".into()],
            }],
        }
    }

    /// Parses a JSON seed file's contents.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}
