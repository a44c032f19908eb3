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
}

/// The sandbox STI-PA/STI-CA that `--sandbox` runs in-process on its own listener.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddedSandboxConfig {
    /// Address of its plain-HTTP listener; keep it on loopback. Default: `127.0.0.1:8444`.
    pub listen: SocketAddr,
    /// Directory of its PKI and state (kept across restarts). Default: `stirling-sandbox`.
    pub state_dir: PathBuf,
}

impl Default for EmbeddedSandboxConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8444)),
            state_dir: PathBuf::from("stirling-sandbox"),
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
            figment = figment
                .merge(Serialized::default("sandbox", true))
                .merge(Serialized::default("secrets.generate_master_key", true));
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

    fn load_in(jail: &Jail, toml: Option<&str>, sandbox: bool) -> Result<Config, ConfigError> {
        let path = toml.map(|text| {
            jail.create_file("stirling.toml", text).unwrap();
            Path::new("stirling.toml")
        });
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
            assert!(!config.http.secure_cookies);
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
            let cases: [(&str, &str, &str); 6] = [
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
