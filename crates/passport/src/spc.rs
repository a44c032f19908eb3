//! Service Provider Code (SPC): the OCN that a SHAKEN certificate's TNAuthList names.

use std::fmt;
use std::str::FromStr;

/// A Service Provider Code, e.g. the OCN `1234` or `818H` (ATIS-1000080, RFC 8226 `spc`).
///
/// Holding an `Spc` proves it is 1 to 32 ASCII letters or digits. The profile rule that our
/// own certificates use upper case only (`^[A-Z0-9]+$`) is the linter's business, not this
/// type's: others' certificates are read as they are.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Spc(String);

/// Why a string is not a Service Provider Code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSpc {
    /// The string is empty.
    #[error("service provider code is empty")]
    Empty,
    /// The string is longer than [`Spc::MAX_LEN`].
    #[error("service provider code is {len} characters long, at most {max} are allowed")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The string has a character other than an ASCII letter or digit.
    #[error("service provider code may hold only ASCII letters and digits")]
    BadCharacter,
}

impl Spc {
    /// Longest code accepted; OCNs are 4 characters, the limit leaves room for other regimes.
    pub const MAX_LEN: usize = 32;

    /// Checks and wraps a code.
    pub fn new(code: &str) -> Result<Self, InvalidSpc> {
        if code.is_empty() {
            return Err(InvalidSpc::Empty);
        }
        if code.len() > Self::MAX_LEN {
            return Err(InvalidSpc::TooLong {
                len: code.len(),
                max: Self::MAX_LEN,
            });
        }
        if !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(InvalidSpc::BadCharacter);
        }
        Ok(Self(code.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Spc {
    type Err = InvalidSpc;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for Spc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ocns() {
        for code in ["1234", "818H", "281K", "709J", "a1"] {
            assert_eq!(Spc::new(code).map(|s| s.to_string()), Ok(code.to_owned()));
        }
    }

    #[test]
    fn rejects_bad_codes() {
        assert_eq!(Spc::new(""), Err(InvalidSpc::Empty));
        assert_eq!(Spc::new("12 4"), Err(InvalidSpc::BadCharacter));
        assert_eq!(Spc::new("12é"), Err(InvalidSpc::BadCharacter));
        assert_eq!(
            Spc::new(&"1".repeat(33)),
            Err(InvalidSpc::TooLong { len: 33, max: 32 })
        );
    }
}
