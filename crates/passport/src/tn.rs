//! Telephone numbers in the canonical form of RFC 8224 §8.3, shared by signer and verifier.

use std::fmt;

/// A canonical telephone number: 1 to 15 ASCII digits, country code included, no `+`.
///
/// Both sides of a call use [`TelephoneNumber::canonicalize`] on what SIP carries, so a
/// number signed from `tel:+1-215-555-1212` compares equal to one verified from
/// `sip:+12155551212@example.com;user=phone`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TelephoneNumber(String);

/// Why a text is not a telephone number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTelephoneNumber {
    /// Nothing is left once the scheme, parameters and separators are removed.
    #[error("telephone number is empty")]
    Empty,
    /// Something other than digits and visual separators, e.g. `anonymous`.
    #[error("telephone number has a character that is not a digit")]
    NotDigits,
    /// More digits than E.164 allows.
    #[error("telephone number has {digits} digits, E.164 allows at most 15")]
    TooLong {
        /// How many digits it had.
        digits: usize,
    },
}

impl TelephoneNumber {
    /// E.164 maximum (ITU-T E.164 §6).
    pub const MAX_DIGITS: usize = 15;

    /// Canonicalises what a SIP peer or an operator writes.
    ///
    /// Accepts a bare number (`+1 (215) 555-1212`), a `tel:` URI, or the user part of a
    /// `sip:`/`sips:` URI, optionally inside `<…>`. URI parameters (`;phone-context=…`,
    /// `;user=phone`, `;verstat=…`) are dropped, as are `+` and the visual separators
    /// `-`, `.`, `(`, `)` and space (RFC 3966 §5.1.1).
    pub fn canonicalize(input: &str) -> Result<Self, InvalidTelephoneNumber> {
        let mut s = input.trim();
        if let Some(inner) = s.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
            s = inner;
        }
        for scheme in ["tel:", "sips:", "sip:"] {
            if s.len() >= scheme.len() && s[..scheme.len()].eq_ignore_ascii_case(scheme) {
                s = &s[scheme.len()..];
                break;
            }
        }
        // User part of a SIP URI; a tel: URI has no '@'.
        if let Some(at) = s.find('@') {
            s = &s[..at];
        }
        if let Some(semi) = s.find(';') {
            s = &s[..semi];
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        let mut digits = String::with_capacity(s.len());
        for c in s.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '-' | '.' | '(' | ')' | ' ' => {}
                _ => return Err(InvalidTelephoneNumber::NotDigits),
            }
        }
        Self::from_digits(digits)
    }

    /// Reads a `tn` claim as received in a PASSporT: it must already be canonical.
    pub fn from_claim(claim: &str) -> Result<Self, InvalidTelephoneNumber> {
        if !claim.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidTelephoneNumber::NotDigits);
        }
        Self::from_digits(claim.to_owned())
    }

    fn from_digits(digits: String) -> Result<Self, InvalidTelephoneNumber> {
        match digits.len() {
            0 => Err(InvalidTelephoneNumber::Empty),
            n if n > Self::MAX_DIGITS => Err(InvalidTelephoneNumber::TooLong { digits: n }),
            _ => Ok(Self(digits)),
        }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two numbers name the same line.
    ///
    /// Equal digits match. So do a 10-digit North American number and the same number with
    /// its country code `1`: signers in the field send both forms (`standards.md` §1.1).
    pub fn matches(&self, other: &Self) -> bool {
        let (a, b) = (self.as_str(), other.as_str());
        a == b || nanp_national(a) == nanp_national(b) && nanp_national(a).is_some()
    }
}

/// The 10-digit national form of a North American number given with or without its `1`.
fn nanp_national(tn: &str) -> Option<&str> {
    match tn.len() {
        10 => Some(tn),
        11 => tn.strip_prefix('1'),
        _ => None,
    }
}

impl fmt::Display for TelephoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> Result<String, InvalidTelephoneNumber> {
        TelephoneNumber::canonicalize(s).map(|t| t.0)
    }

    #[test]
    fn canonicalizes_what_sip_carries() {
        for (input, want) in [
            ("12155551212", "12155551212"),
            ("+1 (215) 555-1212", "12155551212"),
            ("+1.215.555.1212", "12155551212"),
            ("tel:+1-215-555-1212", "12155551212"),
            ("TEL:+12155551212;phone-context=example.com", "12155551212"),
            ("sip:+12155551212@example.com;user=phone", "12155551212"),
            (
                "<sips:+12155551212;verstat=TN-Validation-Passed@h>",
                "12155551212",
            ),
            ("  01256500600 ", "01256500600"),
        ] {
            assert_eq!(canon(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        assert_eq!(canon("anonymous"), Err(InvalidTelephoneNumber::NotDigits));
        assert_eq!(
            canon("sip:anonymous@anonymous.invalid"),
            Err(InvalidTelephoneNumber::NotDigits)
        );
        assert_eq!(canon("+"), Err(InvalidTelephoneNumber::Empty));
        assert_eq!(canon("tel:;x=1"), Err(InvalidTelephoneNumber::Empty));
        assert_eq!(
            canon("+1234567890123456"),
            Err(InvalidTelephoneNumber::TooLong { digits: 16 })
        );
        assert_eq!(canon("12#34"), Err(InvalidTelephoneNumber::NotDigits));
    }

    #[test]
    fn claims_must_already_be_canonical() {
        assert!(TelephoneNumber::from_claim("12155551212").is_ok());
        assert_eq!(
            TelephoneNumber::from_claim("+12155551212"),
            Err(InvalidTelephoneNumber::NotDigits)
        );
        assert_eq!(
            TelephoneNumber::from_claim("Bob"),
            Err(InvalidTelephoneNumber::NotDigits)
        );
        assert_eq!(
            TelephoneNumber::from_claim(""),
            Err(InvalidTelephoneNumber::Empty)
        );
    }

    #[test]
    fn north_american_forms_match() {
        let tn = |s| TelephoneNumber::canonicalize(s).expect("valid test number");
        assert!(tn("12155551212").matches(&tn("2155551212")));
        assert!(tn("2155551212").matches(&tn("12155551212")));
        assert!(!tn("12155551212").matches(&tn("22155551212")));
        assert!(!tn("442155551212").matches(&tn("2155551212")));
        assert!(tn("44207").matches(&tn("44207")));
    }
}
