//! TNAuthList (RFC 8226 §9): the certificate extension naming what a SHAKEN certificate may
//! sign for.
//!
//! ```text
//! -- RFC 8226 Appendix A, module TN-Module-2016, DEFINITIONS EXPLICIT TAGS
//! TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry
//! TNEntry ::= CHOICE {
//!   spc   [0] ServiceProviderCode,        -- IA5String
//!   range [1] TelephoneNumberRange,       -- SEQUENCE { start TelephoneNumber, count INTEGER }
//!   one   [2] TelephoneNumber }           -- IA5String
//! ```
//!
//! Because the module uses EXPLICIT tags, an SPC entry is `A0 len 16 len <ascii>`
//! (`reference/standards.md` §3.1, pitfall 5).
//!
//! This is the minimal version the chain validator needs; the full one (with encoding and the
//! telephone-number rules) is written on another branch with the same API.

use der::asn1::Ia5StringRef;
use der::{Choice, Decode, Sequence};
use passport::{InvalidSpc, Spc};

/// A decoded TNAuthList extension value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TnAuthList {
    entries: Vec<TnEntry>,
}

/// One entry of a [`TnAuthList`]. Only the SPC is used here; the numbers are kept for the
/// full version of this module (other branch), which also exposes them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(dead_code)]
enum TnEntry {
    /// `one`: a single telephone number, as written in the certificate.
    One(String),
    /// `range`: `count` numbers from `start`.
    Range {
        /// The first number of the range.
        start: String,
        /// How many numbers the range holds.
        count: u64,
    },
    /// `spc`: a service provider code.
    Spc(Spc),
}

/// Why bytes are not a TNAuthList.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TnAuthListError {
    /// The DER does not match the RFC 8226 grammar (or has trailing data).
    #[error("tnauthlist is not valid der: {0}")]
    Der(String),
    /// The list has no entries (`SIZE (1..MAX)`).
    #[error("tnauthlist has no entries")]
    Empty,
    /// An `spc` entry is not a valid service provider code.
    #[error("tnauthlist spc entry is invalid: {0}")]
    Spc(InvalidSpc),
}

impl TnAuthList {
    /// Decodes the DER extension value (the content of the extension's OCTET STRING).
    ///
    /// The whole input must be consumed.
    pub fn from_der(der: &[u8]) -> Result<Self, TnAuthListError> {
        let raw =
            Vec::<RawEntry<'_>>::from_der(der).map_err(|e| TnAuthListError::Der(e.to_string()))?;
        if raw.is_empty() {
            return Err(TnAuthListError::Empty);
        }
        let entries = raw
            .into_iter()
            .map(|entry| match entry {
                RawEntry::Spc(s) => Spc::new(s.as_str())
                    .map(TnEntry::Spc)
                    .map_err(TnAuthListError::Spc),
                RawEntry::Range(r) => Ok(TnEntry::Range {
                    start: r.start.as_str().to_owned(),
                    count: r.count,
                }),
                RawEntry::One(s) => Ok(TnEntry::One(s.as_str().to_owned())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { entries })
    }

    /// The first service provider code in the list, if any (SHAKEN certificates carry exactly
    /// one, ATIS-1000080 v005).
    pub fn spc(&self) -> Option<&Spc> {
        self.entries.iter().find_map(|e| match e {
            TnEntry::Spc(spc) => Some(spc),
            TnEntry::One(_) | TnEntry::Range { .. } => None,
        })
    }
}

#[derive(Choice)]
enum RawEntry<'a> {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", constructed = "true")]
    Spc(Ia5StringRef<'a>),
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    Range(RawRange<'a>),
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    One(Ia5StringRef<'a>),
}

#[derive(Sequence)]
struct RawRange<'a> {
    start: Ia5StringRef<'a>,
    count: u64,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_spc_table_of_standards_3_1() {
        let der = [0x30, 0x08, 0xA0, 0x06, 0x16, 0x04, b'8', b'1', b'8', b'H'];
        let list = TnAuthList::from_der(&der).unwrap();
        assert_eq!(list.spc().map(Spc::as_str), Some("818H"));
    }

    #[test]
    fn implicit_tagging_is_refused() {
        // `80 04 …` is the IMPLICIT encoding some pre-standard tools wrote.
        let der = [0x30, 0x06, 0x80, 0x04, b'1', b'2', b'3', b'4'];
        assert!(matches!(
            TnAuthList::from_der(&der),
            Err(TnAuthListError::Der(_))
        ));
    }

    #[test]
    fn range_and_one_without_spc() {
        // SEQUENCE { [1] { "1555", 10 }, [2] "15551234" }
        let der = [
            0x30, 0x1A, 0xA1, 0x0A, 0x30, 0x08, 0x16, 0x03, b'1', b'5', b'5', 0x02, 0x01, 0x0A,
            0xA2, 0x0C, 0x16, 0x0A, b'1', b'5', b'5', b'5', b'1', b'2', b'3', b'4', b'5', b'6',
        ];
        let list = TnAuthList::from_der(&der).unwrap();
        assert_eq!(list.spc(), None);
        assert_eq!(
            list.entries,
            [
                TnEntry::Range {
                    start: "155".into(),
                    count: 10
                },
                TnEntry::One("1555123456".into())
            ]
        );
    }

    #[test]
    fn empty_list_and_trailing_data_are_refused() {
        assert_eq!(
            TnAuthList::from_der(&[0x30, 0x00]),
            Err(TnAuthListError::Empty)
        );
        let der = [
            0x30, 0x08, 0xA0, 0x06, 0x16, 0x04, b'8', b'1', b'8', b'H', 0x00,
        ];
        assert!(matches!(
            TnAuthList::from_der(&der),
            Err(TnAuthListError::Der(_))
        ));
    }
}
