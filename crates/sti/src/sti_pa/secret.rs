//! Secrets as types (STYLE §5): no `Clone`, a `Debug` that prints a placeholder, and accessors
//! named `secret_…`, so a password or token cannot reach a log line by accident.

use std::fmt;

/// A password or token. Its `Debug` prints `Secret(<redacted>)`; read it with
/// [`Secret::secret_str`] only where it is sent.
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call it only to put the value on the wire.
    pub fn secret_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The STI-PA access token from [`login`](super::StiPaClient::login), sent raw in the
/// `Authorization` header of later calls (§4.2: no `Bearer ` prefix).
pub struct AccessToken(Secret);

impl AccessToken {
    /// Wraps a token obtained elsewhere (e.g. from a configured long-lived API token).
    pub fn new(token: impl Into<String>) -> Self {
        Self(Secret::new(token))
    }

    /// The token itself; call it only to put the value on the wire.
    pub fn secret_str(&self) -> &str {
        self.0.secret_str()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let password = Secret::new("hunter2-very-secret");
        let token = AccessToken::new("eyJ-token-value");
        assert_eq!(format!("{password:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
        assert_eq!(password.secret_str(), "hunter2-very-secret");
        assert_eq!(token.secret_str(), "eyJ-token-value");
    }
}
