//! SHAKEN attestation level (RFC 8588 §4, ATIS-1000074 §5.2.3).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How much the originating service provider vouches for the calling number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Attestation {
    /// Full: the customer is authenticated and authorised to use the calling number.
    A,
    /// Partial: the customer is authenticated, its right to the number is not verified.
    B,
    /// Gateway: the call entered at a gateway with no authenticated relationship.
    C,
}

/// The text is not `A`, `B` or `C`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("attestation must be A, B or C")]
pub struct InvalidAttestation;

impl Attestation {
    /// The claim value: `"A"`, `"B"` or `"C"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
        }
    }
}

impl FromStr for Attestation {
    type Err = InvalidAttestation;

    /// Upper case only: RFC 8588 defines the values so, and we sign upper case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "A" => Ok(Self::A),
            "B" => Ok(Self::B),
            "C" => Ok(Self::C),
            _ => Err(InvalidAttestation),
        }
    }
}

impl fmt::Display for Attestation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for a in [Attestation::A, Attestation::B, Attestation::C] {
            assert_eq!(a.as_str().parse::<Attestation>(), Ok(a));
        }
        assert_eq!("a".parse::<Attestation>(), Err(InvalidAttestation));
        assert_eq!("D".parse::<Attestation>(), Err(InvalidAttestation));
    }
}
