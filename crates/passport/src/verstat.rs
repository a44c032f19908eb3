//! The verification status a verifier reports downstream (3GPP TS 24.229 §7.2A.20).

use std::fmt;
use std::str::FromStr;

/// The `verstat` tel-URI parameter value.
///
/// Standard values only: the attestation-carrying variants some carriers emit
/// (`TN-Validation-Passed-A`…) are not sent to standard peers (`standards.md` §2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verstat {
    /// No verification took place or its result is not usable (no Identity, stale, malformed).
    NoTnValidation,
    /// Verification was performed and failed (untrusted credential, bad signature).
    TnValidationFailed,
    /// The PASSporT verified.
    TnValidationPassed,
}

impl Verstat {
    /// The wire value, e.g. `TN-Validation-Passed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoTnValidation => "No-TN-Validation",
            Self::TnValidationFailed => "TN-Validation-Failed",
            Self::TnValidationPassed => "TN-Validation-Passed",
        }
    }
}

/// The text is not one of the three standard verstat values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a verstat value")]
pub struct InvalidVerstat;

impl FromStr for Verstat {
    type Err = InvalidVerstat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::NoTnValidation,
            Self::TnValidationFailed,
            Self::TnValidationPassed,
        ]
        .into_iter()
        .find(|v| v.as_str().eq_ignore_ascii_case(s))
        .ok_or(InvalidVerstat)
    }
}

impl fmt::Display for Verstat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for v in [
            Verstat::NoTnValidation,
            Verstat::TnValidationFailed,
            Verstat::TnValidationPassed,
        ] {
            assert_eq!(v.as_str().parse::<Verstat>(), Ok(v));
        }
        assert_eq!(
            "TN-Validation-Passed-A".parse::<Verstat>(),
            Err(InvalidVerstat)
        );
    }
}
