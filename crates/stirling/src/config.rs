//! The service configuration: one typed struct, loaded and checked once at start-up.
//!
//! Layers, later ones winning: built-in defaults, `--sandbox` defaults, the TOML file given
//! with `--config`, then `STIRLING_*` environment variables, where `__` separates sections:
//! `STIRLING_HTTP__LISTEN=0.0.0.0:8080` sets `http.listen`, and `STIRLING_MASTER_KEY` sets
//! `master_key`. Unknown keys and bad values stop the start with a message naming the key. No
//! other code reads the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::secrets::{MasterKey, SecretString};
use crate::store::Backend;

/// Prefix of the environment variables read by [`Config::load`].
pub const ENV_PREFIX: &str = "STIRLING_";

/// Everything the service reads at start-up.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The HTTP listener (web UI, APIs, certificate repository, `/healthz`).
    pub http: HttpConfig,
    /// The database.
    pub store: StoreConfig,
    /// Where the master key comes from.
    pub secrets: SecretsConfig,
    /// Logging.
    pub log: LogConfig,
    /// The master key itself, base64 (32 bytes). Normally from `STIRLING_MASTER_KEY`; when
    /// set, `secrets.master_key_file` is not read. Default: unset.
    pub master_key: Option<SecretString>,
    /// Sandbox mode: embedded defaults for development and tests (the master key file is
    /// generated on first start, the sandbox STI-PA/STI-CA run in-process). Set by
    /// `--sandbox`. Default: `false`.
    pub sandbox: bool,
    /// The embedded sandbox STI-PA/STI-CA, started only in sandbox mode.
    pub embedded_sandbox: EmbeddedSandboxConfig,
    /// The SIP redirect server.
    pub sip: SipConfig,
    /// The certificate repository (the `x5u` URLs of our signatures).
    pub repository: RepositoryConfig,
    /// The STI-PA and STI-CA of each environment entries may use.
    pub environments: EnvironmentsConfig,
    /// The same for entries marked Canada: the STI-GA and its STI-CAs.
    pub environments_canada: EnvironmentsConfig,
    /// When certificates are renewed.
    pub renewal: RenewalConfig,
    /// Failure mails to the tenants' System Email.
    pub alerts: AlertsConfig,
    /// Verification of received calls.
    pub verification: VerificationConfig,
    /// The SIP Messages log: its queue, batches and retention.
    pub message_log: MessageLogConfig,
}

/// The SIP redirect server.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// UDP listener; unset for none. Default `0.0.0.0:5060` (`127.0.0.1:5060` with
    /// `--sandbox`).
    pub udp: Option<SocketAddr>,
    /// TCP listener; unset for none. Default as `udp`.
    pub tcp: Option<SocketAddr>,
    /// SIP over TLS listener (5061 by convention); unset for none. Needs `tls_cert_file` and
    /// `tls_key_file`.
    pub tls: Option<SocketAddr>,
    /// PEM certificate chain (leaf first) of the SIP TLS listener.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of the SIP TLS listener.
    pub tls_key_file: Option<PathBuf>,
    /// TCP and TLS connections open at once; a new one beyond it is closed at once.
    /// Default 4096.
    pub max_connections: usize,
    /// INVITEs handled at once before new ones get `503` with `Retry-After`. Default 1024.
    pub max_in_flight: usize,
    /// Request header an SBC may carry the origination identifier in; empty for none.
    /// Default `P-Origination-ID`.
    pub origid_header: String,
    /// Response header with the attestation and SPC of a verified call. Default
    /// `X-Stirling-Attestation`.
    pub attestation_header: String,
    /// Seconds between reloads of SBCs, policies and active certificates from the store (other
    /// nodes' changes); local changes apply at once. Default 2; 1 to 60.
    pub reload_secs: u64,
    /// Also answer the Identity value in `X-Identity`. Default `false`.
    pub x_identity: bool,
    /// Let SBCs choose the attestation with `P-Attestation-Indicator: A|B|C` when a policy
    /// attests. Default `false`: only the policy decides.
    pub trust_attestation_indicator: bool,
}

impl Default for SipConfig {
    fn default() -> Self {
        let any = SocketAddr::from(([0, 0, 0, 0], 5060));
        Self {
            udp: Some(any),
            tcp: Some(any),
            tls: None,
            tls_cert_file: None,
            tls_key_file: None,
            max_connections: 4096,
            max_in_flight: 1024,
            origid_header: crate::sip_front::DEFAULT_ORIGID_HEADER.to_owned(),
            attestation_header: crate::sip_front::DEFAULT_ATTESTATION_HEADER.to_owned(),
            reload_secs: 2,
            x_identity: false,
            trust_attestation_indicator: false,
        }
    }
}

/// The certificate repository.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepositoryConfig {
    /// The public HTTPS URL of the repository root as verifiers reach it, ending in `/`
    /// (e.g. `https://cr.example.net/`); a version's path (`cr/<spid>/<sha256>.pem`) is
    /// appended to make the `x5u`. Required unless `--sandbox` (which uses the HTTPS listener
    /// below on loopback).
    pub public_url: Option<String>,
    /// An HTTPS listener serving the same application (repository included), when Stirling
    /// terminates TLS itself rather than behind a proxy. Default: none (`127.0.0.1:8443`
    /// with `--sandbox`).
    pub https_listen: Option<SocketAddr>,
    /// PEM certificate chain of the HTTPS listener. With `--sandbox` and unset, a loopback
    /// certificate is generated in the sandbox state directory.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of the HTTPS listener.
    pub tls_key_file: Option<PathBuf>,
}

/// The environments' STI-PA and STI-CA endpoints. Canada's STI-GA, iconectiv's production or
/// staging, or a lab PA/CA are all just URLs here.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnvironmentsConfig {
    /// Entries in the `production` environment.
    pub production: Option<EnvironmentConfig>,
    /// Entries in the `staging` environment.
    pub staging: Option<EnvironmentConfig>,
    /// Entries in the `sandbox` environment (filled in by `--sandbox` for the embedded one).
    pub sandbox: Option<EnvironmentConfig>,
}

/// One environment's STI-PA and STI-CA.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// Base URL of the STI-PA API (e.g. `https://authenticate-api.iconectiv.com`).
    pub sti_pa_url: String,
    /// The STI-CA's ACME directory URL.
    pub acme_directory: String,
    /// How this STI-CA wants the ATC fingerprint computed: `spki_der` (default) or
    /// `jwk_thumbprint` (unconfirmed per CA, `standards.md` §4.4).
    #[serde(default)]
    pub fingerprint: FingerprintMethod,
    /// PEM file of CA certificates the issued chains and our repository's self-check are
    /// validated against (the STI-CA's root). Required unless filled in by `--sandbox`.
    #[serde(default)]
    pub ca_roots_file: Option<PathBuf>,
    /// Allow plain-HTTP STI-PA and ACME URLs: only for a PA/CA on loopback (the embedded
    /// sandbox). Default `false`.
    #[serde(default)]
    pub danger_allow_http: bool,
    /// Seconds one STI-PA or ACME request may take (connect to last byte). Default 30.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// External account binding key id, for an STI-CA that requires EAB (RFC 8555 §7.3.4).
    #[serde(default)]
    pub eab_kid: Option<String>,
    /// The EAB MAC key, base64url as the CA gave it (prefer the environment variable).
    #[serde(default)]
    pub eab_hmac_key: Option<SecretString>,
}

fn default_request_timeout() -> u64 {
    30
}

/// How the ATC fingerprint of the ACME account key is computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FingerprintMethod {
    /// RFC 7638 JWK thumbprint.
    JwkThumbprint,
    /// SHA-256 over the DER SubjectPublicKeyInfo.
    #[default]
    SpkiDer,
}

/// When certificates are renewed.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenewalConfig {
    /// Share of a certificate's lifetime after which it is renewed. Default 0.5; 0.1 to 0.9.
    pub renew_after_fraction: f64,
    /// First retry delay after a failure, seconds. Default 60.
    pub retry_base_secs: u64,
    /// Longest retry delay, seconds. Default 3600.
    pub retry_max_secs: u64,
    /// Seconds between looks at which entries are due. Default 30 (2 with `--sandbox`).
    pub check_interval_secs: u64,
}

impl Default for RenewalConfig {
    fn default() -> Self {
        Self {
            renew_after_fraction: 0.5,
            retry_base_secs: 60,
            retry_max_secs: 3_600,
            check_interval_secs: 30,
        }
    }
}

/// Failure mails.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// The SMTP relay; without it failures are only events and logs.
    pub smtp: Option<SmtpRelayConfig>,
    /// At most one failure mail per entry per this many seconds. Default 3600.
    pub interval_secs: u64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            smtp: None,
            interval_secs: 3_600,
        }
    }
}

/// The SMTP relay.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpRelayConfig {
    /// Host name.
    pub host: String,
    /// Port. Default 587.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// `starttls` (default), `tls`, or `danger_plaintext` (a relay on this host only).
    #[serde(default)]
    pub security: SmtpSecurityConfig,
    /// Login, if the relay wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// Password for `username` (prefer `STIRLING_ALERTS__SMTP__PASSWORD`).
    #[serde(default)]
    pub password: Option<SecretString>,
    /// The From address.
    pub from: String,
    /// Seconds allowed for connecting and each command. Default 10.
    #[serde(default = "default_smtp_timeout")]
    pub timeout_secs: u64,
}

fn default_smtp_port() -> u16 {
    587
}

fn default_smtp_timeout() -> u64 {
    10
}

/// SMTP transport security.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurityConfig {
    /// Plain text; only for a relay on the same host.
    DangerPlaintext,
    /// STARTTLS, required.
    #[default]
    Starttls,
    /// Implicit TLS.
    Tls,
}

/// Verification of received calls.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerificationConfig {
    /// PEM file of the STI-CA roots whose certificates are trusted, for installations without
    /// STI-PA credentials for the CA list (`sti_pa` below wins when set).
    pub trust_anchors_file: Option<PathBuf>,
    /// The STI-PA's signed CA list and CRL as the trust anchors and revocation data, refreshed
    /// in the background. With `--sandbox` and unset, the embedded sandbox STI-PA's.
    pub sti_pa: Option<StiPaTrustConfig>,
    /// How far `iat` may be from our clock, seconds. Default 60.
    pub freshness_secs: u64,
    /// How many signers' keys get precomputed multiples, which make each verification with
    /// them about 2.5 times as fast (148 KiB each, computed once a key has verified 32
    /// calls). Default 256 (at most 37 MiB); 0 turns them off; at most 65536.
    pub precomputed_keys: usize,
}

/// Where the STI-PA CA list and CRL come from (`standards.md` §3.4–§3.5, §4.3).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StiPaTrustConfig {
    /// The environment whose `sti_pa_url` serves the CA list.
    pub environment: crate::entry::Environment,
    /// The STI-PA API user that reads the CA list.
    pub user_id: String,
    /// Its password (prefer `STIRLING_VERIFICATION__STI_PA__PASSWORD`).
    pub password: SecretString,
    /// The STI-PA CRL URL, e.g. `https://authenticate-api.iconectiv.com/download/v1/crl`.
    pub crl_url: String,
    /// PEM of the STI-PA root(s) the CA list and CRL signers must chain to. Default: the
    /// production STI-PA root built in.
    #[serde(default)]
    pub roots_file: Option<PathBuf>,
    /// PEM of the CRL signer's certificate when it is not the CA list signer.
    #[serde(default)]
    pub crl_signer_file: Option<PathBuf>,
    /// `soft` (default): without a current CRL, verify without revocation; `strict`: fail
    /// such calls with 437.
    #[serde(default)]
    pub crl_policy: CrlPolicyConfig,
    /// Folder keeping the last good CA list and CRL across restarts.
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
}

/// What verification does without a current CRL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrlPolicyConfig {
    /// Verify without revocation data.
    #[default]
    Soft,
    /// Fail the call with 437.
    Strict,
}

impl Default for VerificationConfig {
    fn default() -> Self {
        Self {
            trust_anchors_file: None,
            sti_pa: None,
            freshness_secs: 60,
            precomputed_keys: 256,
        }
    }
}

/// The SIP Messages log (`crate::message_log`): calls hand records to a bounded queue that a
/// background writer empties into the store in batches.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessageLogConfig {
    /// Records waiting for the writer at most; beyond that new records are dropped (and
    /// counted) rather than slowing calls. Default: 65536 (about 6 s at 10k calls/s);
    /// 1 to 10000000.
    pub queue_capacity: usize,
    /// Records written per transaction at most. Default: 5000; 1 to 10000. At 10k calls/s a
    /// batch closes at `flush_interval_ms` with about 2000 records; a writer that fell behind
    /// takes bigger ones, whose index pages are shared by more rows (with varied numbers,
    /// 500 per batch dropped 3.8 % of 1M calls at 10k/s on the reference machine, 5000 none).
    pub batch_size: usize,
    /// Milliseconds a partial batch waits for more records before it is written. Default:
    /// 200; 1 to 60000.
    pub flush_interval_ms: u64,
    /// Bytes kept of each raw request and response; longer ones are cut and marked
    /// truncated. Default: 16384; 256 to 1048576.
    pub raw_max_bytes: usize,
    /// Days a message is kept before the pruning job deletes it. Default: 30; 1 to 3650.
    pub retention_days: u32,
    /// Whether the calling and called numbers are indexed, so that a number filter finds a
    /// number's calls at once. Default: true. Each logged call then updates a page of each
    /// of the two indexes: at high call rates with varied numbers most of the log's write
    /// cost (`bench/README.md`). `false` drops the indexes at start and a number filter reads
    /// the rows of the time range; `true` creates them again. Give all nodes the same value.
    pub index_numbers: bool,
}

impl Default for MessageLogConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 65_536,
            batch_size: 5_000,
            flush_interval_ms: 200,
            raw_max_bytes: 16 * 1024,
            retention_days: 30,
            index_numbers: true,
        }
    }
}

/// The sandbox STI-PA/STI-CA that `--sandbox` runs in-process on its own listener.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddedSandboxConfig {
    /// Address of its plain-HTTP listener; keep it on loopback. Default: `127.0.0.1:8444`.
    pub listen: SocketAddr,
    /// Directory of its PKI and state (kept across restarts). Default: `stirling-sandbox`.
    pub state_dir: PathBuf,
    /// Lifetime of the certificates its STI-CA issues, seconds. Default 604800 (7 days, as
    /// the production STI-CAs); short values let a test watch renewals happen. The CA
    /// backdates `notBefore` by 60 s, so a version is due `(validity + 60) × fraction − 60` s
    /// after issuance (`renewal.renew_after_fraction`): with 25 s and 0.8, after 8 s; below
    /// 60 s at the default 0.5, at once, on every check.
    pub certificate_validity_secs: u64,
}

impl Default for EmbeddedSandboxConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8444)),
            state_dir: PathBuf::from("stirling-sandbox"),
            certificate_validity_secs: 7 * 24 * 3600,
        }
    }
}

/// The HTTP listener.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address and port to listen on. Default: `127.0.0.1:8080` (loopback only).
    pub listen: SocketAddr,
    /// Seconds open connections get to finish after SIGINT/SIGTERM before they are dropped.
    /// Default: 10; 1 to 3600.
    pub shutdown_timeout_secs: u64,
    /// Mark the session cookie `Secure`, so browsers send it only over HTTPS. Turn it on when
    /// users reach the web UI through TLS (e.g. a reverse proxy). Default: `false`.
    pub secure_cookies: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            shutdown_timeout_secs: 10,
            secure_cookies: false,
        }
    }
}

/// The database.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://…` or `postgres://…`. Default: `sqlite://stirling.db?mode=rwc` (a file in the
    /// working directory, created if missing).
    pub url: String,
    /// Largest number of pooled connections. Default: 10; 1 to 1000.
    pub max_connections: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://stirling.db?mode=rwc".into(),
            max_connections: 10,
        }
    }
}

/// Where the master key comes from when `master_key` is not set.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// File holding the base64 master key, mode 0600. Default: `master.key`.
    pub master_key_file: PathBuf,
    /// Generate the file when it is missing. Default: `false`, because a new key cannot open
    /// what an old one sealed, so a missing key outside the sandbox is an error to look at;
    /// `--sandbox` turns it on.
    pub generate_master_key: bool,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        Self {
            master_key_file: PathBuf::from("master.key"),
            generate_master_key: false,
        }
    }
}

/// Logging.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info,stirling=debug`. Default: `info,sqlx=warn`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info,sqlx=warn".into(),
        }
    }
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file given with `--config` does not exist.
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    /// A key is unknown or a value has the wrong type or syntax.
    #[error("{0}")]
    Parse(Box<figment::Error>),
    /// A value parsed but breaks a rule.
    #[error("{key}: {message}")]
    Invalid {
        /// The key, e.g. `store.url`.
        key: &'static str,
        /// The rule it breaks.
        message: String,
    },
}

impl Config {
    /// Loads the layers (defaults, `--sandbox`, `file`, environment) and checks the result.
    pub fn load(file: Option<&Path>, sandbox: bool) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file, sandbox)?)
    }

    /// The layers, without extracting them.
    pub fn figment(file: Option<&Path>, sandbox: bool) -> Result<Figment, ConfigError> {
        let mut figment = Figment::new();
        if sandbox {
            let loopback_sip = SocketAddr::from(([127, 0, 0, 1], 5060));
            figment = figment
                .merge(Serialized::default("sandbox", true))
                .merge(Serialized::default("secrets.generate_master_key", true))
                .merge(Serialized::default("sip.udp", loopback_sip))
                .merge(Serialized::default("sip.tcp", loopback_sip))
                .merge(Serialized::default(
                    "repository.https_listen",
                    SocketAddr::from(([127, 0, 0, 1], 8443)),
                ))
                .merge(Serialized::default("renewal.check_interval_secs", 2));
        }
        if let Some(file) = file {
            // figment ignores a missing file; a file named on the command line must exist.
            if !file.is_file() {
                return Err(ConfigError::MissingFile(file.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        Ok(figment.merge(Env::prefixed(ENV_PREFIX).split("__")))
    }

    /// Extracts and checks a configuration.
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Self = figment
            .extract()
            .map_err(|e| ConfigError::Parse(Box::new(e)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| ConfigError::Invalid {
            key,
            message: message.to_owned(),
        };
        if !(1..=3600).contains(&self.http.shutdown_timeout_secs) {
            return Err(invalid("http.shutdown_timeout_secs", "must be 1 to 3600"));
        }
        Backend::from_url(&self.store.url).map_err(|_| {
            invalid(
                "store.url",
                "must start with sqlite:, postgres: or postgresql:",
            )
        })?;
        if !(1..=1000).contains(&self.store.max_connections) {
            return Err(invalid("store.max_connections", "must be 1 to 1000"));
        }
        if let Some(key) = &self.master_key {
            MasterKey::from_base64(key.secret_str())
                .map_err(|e| invalid("master_key", &e.to_string()))?;
        } else if self.secrets.master_key_file.as_os_str().is_empty() {
            return Err(invalid(
                "secrets.master_key_file",
                "must be set when master_key is not",
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.filter)
            .map_err(|e| invalid("log.filter", &e.to_string()))?;
        if !(10..=366 * 24 * 3600).contains(&self.embedded_sandbox.certificate_validity_secs) {
            return Err(invalid(
                "embedded_sandbox.certificate_validity_secs",
                "must be 10 s to 366 days",
            ));
        }
        if !(1..=60).contains(&self.sip.reload_secs) {
            return Err(invalid("sip.reload_secs", "must be 1 to 60"));
        }
        if self.sip.max_in_flight == 0 {
            return Err(invalid("sip.max_in_flight", "must be at least 1"));
        }
        if self.sip.max_connections == 0 {
            return Err(invalid("sip.max_connections", "must be at least 1"));
        }
        if self.sip.tls.is_some()
            && (self.sip.tls_cert_file.is_none() || self.sip.tls_key_file.is_none())
        {
            return Err(invalid(
                "sip.tls",
                "needs sip.tls_cert_file and sip.tls_key_file",
            ));
        }
        match &self.repository.public_url {
            Some(url) if !(url.starts_with("https://") && url.ends_with('/')) => {
                return Err(invalid(
                    "repository.public_url",
                    "must be an https:// URL ending in /",
                ));
            }
            None if !self.sandbox => {
                return Err(invalid(
                    "repository.public_url",
                    "must be set (the x5u base verifiers fetch our certificates from)",
                ));
            }
            _ => {}
        }
        if self.repository.tls_cert_file.is_some() != self.repository.tls_key_file.is_some() {
            return Err(invalid(
                "repository.tls_cert_file",
                "tls_cert_file and tls_key_file go together",
            ));
        }
        if self.repository.https_listen.is_some()
            && self.repository.tls_cert_file.is_none()
            && !self.sandbox
        {
            return Err(invalid(
                "repository.https_listen",
                "needs tls_cert_file and tls_key_file",
            ));
        }
        let r = &self.renewal;
        if !(0.1..=0.9).contains(&r.renew_after_fraction) {
            return Err(invalid(
                "renewal.renew_after_fraction",
                "must be 0.1 to 0.9",
            ));
        }
        if r.retry_base_secs == 0 || r.retry_max_secs < r.retry_base_secs {
            return Err(invalid(
                "renewal.retry_max_secs",
                "retry_base_secs must be at least 1 and retry_max_secs at least retry_base_secs",
            ));
        }
        if !(1..=3600).contains(&r.check_interval_secs) {
            return Err(invalid("renewal.check_interval_secs", "must be 1 to 3600"));
        }
        if !(1..=600).contains(&self.verification.freshness_secs) {
            return Err(invalid("verification.freshness_secs", "must be 1 to 600"));
        }
        if self.verification.precomputed_keys > 65_536 {
            return Err(invalid(
                "verification.precomputed_keys",
                "must be 0 to 65536",
            ));
        }
        let environments = &self.environments;
        for env in [
            &environments.production,
            &environments.staging,
            &environments.sandbox,
        ]
        .into_iter()
        .flatten()
        {
            if !(1..=600).contains(&env.request_timeout_secs) {
                return Err(invalid(
                    "environments.request_timeout_secs",
                    "must be 1 to 600",
                ));
            }
        }
        let log = &self.message_log;
        if !(1..=10_000_000).contains(&log.queue_capacity) {
            return Err(invalid(
                "message_log.queue_capacity",
                "must be 1 to 10000000",
            ));
        }
        if !(1..=10_000).contains(&log.batch_size) {
            return Err(invalid("message_log.batch_size", "must be 1 to 10000"));
        }
        if !(1..=60_000).contains(&log.flush_interval_ms) {
            return Err(invalid(
                "message_log.flush_interval_ms",
                "must be 1 to 60000",
            ));
        }
        if !(256..=1_048_576).contains(&log.raw_max_bytes) {
            return Err(invalid(
                "message_log.raw_max_bytes",
                "must be 256 to 1048576",
            ));
        }
        if !(1..=3650).contains(&log.retention_days) {
            return Err(invalid("message_log.retention_days", "must be 1 to 3650"));
        }
        Ok(())
    }

    /// The configuration as JSON for the start-up log; secrets (the master key, a password in
    /// the store URL) show as `<redacted>`.
    pub fn redacted_json(&self) -> String {
        let mut value = match serde_json::to_value(self) {
            Ok(value) => value,
            Err(e) => return format!("<unprintable: {e}>"),
        };
        if let Some(url) = value.pointer_mut("/store/url") {
            *url = serde_json::Value::String(redact_url(&self.store.url));
        }
        value.to_string()
    }
}

/// A database URL with the password removed from the user info (`user:pw@`) and from a
/// `password=` query parameter.
fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = out[authority_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| authority_start + i);
        if let Some(at) = out[authority_start..authority_end].rfind('@') {
            let userinfo = &out[authority_start..authority_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(
                    authority_start + colon + 1..authority_start + at,
                    "<redacted>",
                );
            }
        }
    }
    if let Some(query_start) = out.find('?') {
        let (base, query) = out.split_at(query_start + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                    format!("{name}=<redacted>")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{base}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
// figment::Jail fixes its closures' return type to figment's large error.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

    use super::*;

    fn load_in(jail: &mut Jail, toml: Option<&str>, sandbox: bool) -> Result<Config, ConfigError> {
        let path = toml.map(|text| {
            jail.create_file("stirling.toml", text).unwrap();
            Path::new("stirling.toml")
        });
        // Outside the sandbox the x5u base is required; these tests are about other keys.
        if !sandbox && std::env::var_os("STIRLING_REPOSITORY__PUBLIC_URL").is_none() {
            jail.set_env("STIRLING_REPOSITORY__PUBLIC_URL", "https://cr.example.net/");
        }
        Config::load(path, sandbox)
    }

    #[test]
    fn defaults_are_safe() {
        Jail::expect_with(|jail| {
            let config = load_in(jail, None, false).unwrap();
            assert_eq!(config.http.listen, "127.0.0.1:8080".parse().unwrap());
            assert_eq!(config.store.url, "sqlite://stirling.db?mode=rwc");
            assert!(!config.sandbox);
            assert!(!config.secrets.generate_master_key);
            assert!(config.master_key.is_none());
            assert_eq!(config.sip.udp, Some("0.0.0.0:5060".parse().unwrap()));
            assert!(config.repository.https_listen.is_none());
            assert!(config.environments.production.is_none());
            assert_eq!(config.message_log.retention_days, 30);
            assert_eq!(config.message_log.batch_size, 5_000);
            assert!(config.message_log.index_numbers);
            assert_eq!(config.message_log.raw_max_bytes, 16 * 1024);
            assert!(!config.http.secure_cookies);
            assert_eq!(config.verification.precomputed_keys, 256);
            Ok(())
        });
    }

    #[test]
    fn precomputed_keys_load_from_the_environment_and_are_bounded() {
        Jail::expect_with(|jail| {
            jail.set_env("STIRLING_VERIFICATION__PRECOMPUTED_KEYS", "0");
            let config = load_in(jail, None, false).unwrap();
            assert_eq!(config.verification.precomputed_keys, 0);
            jail.set_env("STIRLING_VERIFICATION__PRECOMPUTED_KEYS", "65537");
            let err = load_in(jail, None, false).unwrap_err().to_string();
            assert!(err.contains("verification.precomputed_keys"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn sti_pa_trust_list_settings_load_with_a_redacted_password() {
        Jail::expect_with(|jail| {
            let toml = r#"
                [environments.production]
                sti_pa_url = "https://authenticate-api.iconectiv.com"
                acme_directory = "https://ca.example.net/acme/directory"
                [verification.sti_pa]
                environment = "production"
                user_id = "verifier@sp.example"
                password = "hunter2"
                crl_url = "https://authenticate-api.iconectiv.com/download/v1/crl"
                crl_policy = "strict"
            "#;
            let config = load_in(jail, Some(toml), false).unwrap();
            let sti_pa = config.verification.sti_pa.as_ref().unwrap();
            assert_eq!(sti_pa.environment, crate::entry::Environment::Production);
            assert_eq!(sti_pa.crl_policy, CrlPolicyConfig::Strict);
            assert_eq!(sti_pa.password.secret_str(), "hunter2");
            assert!(!config.redacted_json().contains("hunter2"));
            let production = config.environments.production.as_ref().unwrap();
            assert_eq!(production.request_timeout_secs, 30);
            assert_eq!(production.fingerprint, FingerprintMethod::SpkiDer);
            Ok(())
        });
    }

    #[test]
    fn production_needs_an_https_x5u_base() {
        Jail::expect_with(|jail| {
            jail.set_env("STIRLING_REPOSITORY__PUBLIC_URL", "");
            let err = Config::load(None, false).unwrap_err().to_string();
            assert!(err.contains("repository.public_url"), "{err}");
            jail.set_env("STIRLING_REPOSITORY__PUBLIC_URL", "http://cr.example.net/");
            let err = Config::load(None, false).unwrap_err().to_string();
            assert!(err.contains("must be an https:// URL ending in /"), "{err}");
            jail.set_env("STIRLING_REPOSITORY__PUBLIC_URL", "https://cr.example.net/");
            let config = Config::load(None, false).unwrap();
            assert_eq!(
                config.repository.public_url.as_deref(),
                Some("https://cr.example.net/")
            );
            let sandbox = Config::load(None, true).unwrap();
            assert_eq!(sandbox.sip.udp, Some("127.0.0.1:5060".parse().unwrap()));
            assert_eq!(
                sandbox.repository.https_listen,
                Some("127.0.0.1:8443".parse().unwrap())
            );
            Ok(())
        });
    }

    #[test]
    fn message_log_keys_load_and_are_checked() {
        Jail::expect_with(|jail| {
            let toml = "[message_log]\nqueue_capacity = 8\nbatch_size = 4\n\
                        flush_interval_ms = 50\nraw_max_bytes = 1024\nretention_days = 7\n\
                        index_numbers = false\n";
            let config = load_in(jail, Some(toml), false).unwrap();
            let log = &config.message_log;
            assert!(!log.index_numbers);
            assert_eq!(
                (log.queue_capacity, log.batch_size, log.flush_interval_ms),
                (8, 4, 50)
            );
            assert_eq!((log.raw_max_bytes, log.retention_days), (1024, 7));
            jail.set_env("STIRLING_MESSAGE_LOG__RETENTION_DAYS", "90");
            let config = load_in(jail, Some(toml), false).unwrap();
            assert_eq!(config.message_log.retention_days, 90);
            jail.set_env("STIRLING_MESSAGE_LOG__INDEX_NUMBERS", "true");
            assert!(
                load_in(jail, Some(toml), false)
                    .unwrap()
                    .message_log
                    .index_numbers
            );
            jail.clear_env();

            for (var, value, key) in [
                ("QUEUE_CAPACITY", "0", "message_log.queue_capacity"),
                ("BATCH_SIZE", "10001", "message_log.batch_size"),
                ("FLUSH_INTERVAL_MS", "0", "message_log.flush_interval_ms"),
                ("RAW_MAX_BYTES", "10", "message_log.raw_max_bytes"),
                ("RETENTION_DAYS", "0", "message_log.retention_days"),
            ] {
                jail.set_env(format!("STIRLING_MESSAGE_LOG__{var}"), value);
                let err = load_in(jail, None, false).unwrap_err().to_string();
                assert!(err.starts_with(key), "{var}={value}: {err}");
                jail.clear_env();
            }
            Ok(())
        });
    }

    #[test]
    fn toml_overrides_defaults_and_env_overrides_toml() {
        Jail::expect_with(|jail| {
            let toml = r#"
                [http]
                listen = "127.0.0.1:9000"
                shutdown_timeout_secs = 3
                [store]
                url = "postgres://root@127.0.0.1/test"
            "#;
            let config = load_in(jail, Some(toml), false).unwrap();
            assert_eq!(config.http.listen, "127.0.0.1:9000".parse().unwrap());
            assert_eq!(config.http.shutdown_timeout_secs, 3);
            assert_eq!(config.store.url, "postgres://root@127.0.0.1/test");

            jail.set_env("STIRLING_HTTP__LISTEN", "127.0.0.1:9100");
            jail.set_env("STIRLING_STORE__MAX_CONNECTIONS", "4");
            jail.set_env("STIRLING_HTTP__SECURE_COOKIES", "true");
            let config = load_in(jail, Some(toml), false).unwrap();
            assert!(config.http.secure_cookies);
            assert_eq!(config.http.listen, "127.0.0.1:9100".parse().unwrap());
            assert_eq!(config.http.shutdown_timeout_secs, 3);
            assert_eq!(config.store.max_connections, 4);
            Ok(())
        });
    }

    #[test]
    fn sandbox_sets_defaults_that_file_and_env_can_override() {
        Jail::expect_with(|jail| {
            let config = load_in(jail, None, true).unwrap();
            assert!(config.sandbox);
            assert!(config.secrets.generate_master_key);
            let toml = "[secrets]\ngenerate_master_key = false\n";
            assert!(
                !load_in(jail, Some(toml), true)
                    .unwrap()
                    .secrets
                    .generate_master_key
            );
            Ok(())
        });
    }

    #[test]
    fn master_key_from_env_is_checked_and_redacted() {
        Jail::expect_with(|jail| {
            let b64 = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
            jail.set_env("STIRLING_MASTER_KEY", b64);
            let config = load_in(jail, None, false).unwrap();
            assert_eq!(config.master_key.as_ref().unwrap().secret_str(), b64);
            let shown = config.redacted_json();
            assert!(!shown.contains(b64), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
            assert!(!format!("{config:?}").contains(b64));

            jail.set_env("STIRLING_MASTER_KEY", "c2hvcnQ=");
            let err = load_in(jail, None, false).unwrap_err();
            assert_eq!(
                err.to_string(),
                "master_key: master key must be 32 bytes, got 5"
            );
            Ok(())
        });
    }

    #[test]
    fn bad_values_fail_loudly_naming_the_key() {
        Jail::expect_with(|jail| {
            let cases: [(&str, &str, &str); 8] = [
                ("STIRLING_HTTP__LISTEN", "localhost", "http.listen"),
                (
                    "STIRLING_HTTP__SHUTDOWN_TIMEOUT_SECS",
                    "0",
                    "http.shutdown_timeout_secs",
                ),
                ("STIRLING_STORE__URL", "mysql://x", "store.url"),
                ("STIRLING_STORE__MAX_CONNECTIONS", "-1", "max_connections"),
                ("STIRLING_LOG__FILTER", "info,=[", "log.filter"),
                ("STIRLING_HTTP__LISTN", "127.0.0.1:1", "listn"),
                ("STIRLING_SIP__TLS", "127.0.0.1:5061", "sip.tls_cert_file"),
                ("STIRLING_SIP__MAX_CONNECTIONS", "0", "sip.max_connections"),
            ];
            for (var, value, named) in cases {
                jail.set_env(var, value);
                let err = load_in(jail, None, false)
                    .unwrap_err()
                    .to_string()
                    .to_lowercase();
                assert!(err.contains(named), "{var}={value}: {err}");
                jail.clear_env();
            }
            Ok(())
        });
    }

    #[test]
    fn store_url_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/stirling?sslmode=require"),
            "postgres://app:<redacted>@db.internal:5432/stirling?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://app@db/x?password=s3cret&application_name=a"),
            "postgres://app@db/x?password=<redacted>&application_name=a"
        );
        assert_eq!(
            redact_url("sqlite://stirling.db?mode=rwc"),
            "sqlite://stirling.db?mode=rwc"
        );
        Jail::expect_with(|jail| {
            jail.set_env("STIRLING_STORE__URL", "postgres://u:hunter2@127.0.0.1/t");
            let shown = load_in(jail, None, false).unwrap().redacted_json();
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(
                shown.contains("postgres://u:<redacted>@127.0.0.1/t"),
                "{shown}"
            );
            Ok(())
        });
    }

    #[test]
    fn bad_toml_fails_loudly() {
        Jail::expect_with(|jail| {
            let err = load_in(jail, Some("[store]\nurl = 5\n"), false).unwrap_err();
            assert!(err.to_string().contains("url"), "{err}");
            let err = load_in(jail, Some("[stor]\nurl = \"sqlite:x\"\n"), false).unwrap_err();
            assert!(err.to_string().contains("stor"), "{err}");
            let err = Config::load(Some(Path::new("absent.toml")), false).unwrap_err();
            assert!(matches!(err, ConfigError::MissingFile(_)));
            Ok(())
        });
    }
}
