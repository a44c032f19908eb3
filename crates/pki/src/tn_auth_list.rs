//! TNAuthList (RFC 8226 §9): the certificate extension naming the numbers or the service
//! provider a SHAKEN certificate speaks for (`reference/standards.md` §3.1).
//!
//! ```text
//! TN-Module-2016 DEFINITIONS EXPLICIT TAGS
//! id-pe-TNAuthList OBJECT IDENTIFIER ::= { id-pe 26 }        -- 1.3.6.1.5.5.7.1.26
//! TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry
//! TNEntry ::= CHOICE {
//!     spc   [0] ServiceProviderCode,                        -- IA5String
//!     range [1] TelephoneNumberRange,
//!     one   [2] TelephoneNumber }
//! TelephoneNumberRange ::= SEQUENCE {
//!     start TelephoneNumber,
//!     count INTEGER (2..MAX),
//!     ... }
//! TelephoneNumber ::= IA5String (SIZE (1..15)) (FROM ("0123456789#*"))
//! ```
//!
//! Tags are EXPLICIT, so one SPC is `30 08 A0 06 16 04 <4 bytes>`, not `80 04 …`
//! (`standards.md` §8 pitfall 5). The same DER, base64-encoded, is the STI-PA `tkvalue` and
//! the ACME `TNAuthList` identifier value (pitfall 6).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use der::asn1::Ia5String;
use der::{Choice, Decode, Encode, Sequence};
use passport::{InvalidSpc, InvalidTelephoneNumber, Spc, TelephoneNumber};

/// A decoded TNAuthList: one or more entries, each an SPC, a number range or one number.
///
/// Holding one proves the list is non-empty, every SPC is a valid [`Spc`], every number is 1
/// to 15 digits and every range counts at least 2 numbers. Numbers holding `#` or `*`
/// (allowed by RFC 8226, unused in SHAKEN) are refused, because [`TelephoneNumber`] is the
/// one number type of the workspace and holds digits only.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TnAuthList {
    entries: Vec<TnEntry>,
}

/// One `TNEntry` of a [`TnAuthList`]; variants in the order RFC 8226 gives them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TnEntry {
    /// `spc [0] ServiceProviderCode`: the whole service provider.
    Spc(Spc),
    /// `range [1] TelephoneNumberRange`: `count` consecutive numbers from `start`.
    Range(TnRange),
    /// `one [2] TelephoneNumber`: a single number.
    One(TelephoneNumber),
}

/// `TelephoneNumberRange`: `count` (at least 2) consecutive numbers starting at `start`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TnRange {
    start: TelephoneNumber,
    count: u64,
}

/// Why bytes or text are not a TNAuthList, or entries cannot form one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TnAuthListError {
    /// The base64 (standard or base64url) text does not decode.
    #[error("tnauthlist base64 does not decode: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The DER does not follow the grammar, or bytes follow it (`TrailingData`).
    #[error("tnauthlist der is malformed: {0}")]
    Der(#[from] der::Error),
    /// The list has no entry; RFC 8226 requires `SIZE (1..MAX)`.
    #[error("tnauthlist has no entry")]
    Empty,
    /// A range counts fewer than 2 numbers (`count INTEGER (2..MAX)`).
    #[error("tnauthlist range counts {count} numbers, at least 2 are required")]
    RangeTooShort {
        /// The count found.
        count: u64,
    },
    /// An `spc` entry is not a valid service provider code.
    #[error("tnauthlist spc {value:?} is invalid: {reason}")]
    Spc {
        /// The IA5String as found.
        value: String,
        /// What is wrong with it.
        reason: InvalidSpc,
    },
    /// A `one` or range `start` entry is not 1 to 15 digits.
    #[error("tnauthlist telephone number {value:?} is invalid: {reason}")]
    TelephoneNumber {
        /// The IA5String as found.
        value: String,
        /// What is wrong with it.
        reason: InvalidTelephoneNumber,
    },
}

impl TnAuthList {
    /// OID of the extension, `id-pe-TNAuthList` (1.3.6.1.5.5.7.1.26).
    pub const OID: &'static str = "1.3.6.1.5.5.7.1.26";

    /// The list of one SPC entry: what a SHAKEN end-entity certificate carries (ATIS-1000080
    /// v005) and what the STI-PA `tkvalue` and ACME identifier encode. (Named `from_spc`
    /// because [`TnAuthList::spc`] is the accessor.)
    pub fn from_spc(spc: Spc) -> Self {
        Self {
            entries: vec![TnEntry::Spc(spc)],
        }
    }

    /// A list of the given entries, in that order; fails on an empty list.
    pub fn new(entries: Vec<TnEntry>) -> Result<Self, TnAuthListError> {
        if entries.is_empty() {
            return Err(TnAuthListError::Empty);
        }
        Ok(Self { entries })
    }

    /// Decodes DER; all of `der` must be one `TNAuthorizationList`.
    pub fn from_der(der: &[u8]) -> Result<Self, TnAuthListError> {
        let raw = Vec::<RawEntry>::from_der(der)?;
        let entries = raw
            .into_iter()
            .map(TnEntry::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(entries)
    }

    /// Encodes DER.
    pub fn to_der(&self) -> Vec<u8> {
        let raw: Vec<RawEntry> = self.entries.iter().map(RawEntry::from).collect();
        // Invariant: every string is ASCII and every length is far below DER's limits (an SPC
        // is at most 32 bytes, a number 15), so encoding valid entries cannot fail.
        raw.to_der()
            .expect("valid TNAuthList entries always encode")
    }

    /// Decodes standard base64 with padding, as the STI-PA `tkvalue` and the ACME identifier
    /// carry it (`MAigBhYEMTIzNA==`).
    pub fn from_base64(text: &str) -> Result<Self, TnAuthListError> {
        Self::from_der(&STANDARD.decode(text)?)
    }

    /// Encodes standard base64 with padding.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.to_der())
    }

    /// Decodes base64url (RFC 4648 §5); padding is accepted but not required, since JOSE
    /// producers omit it and some others keep it.
    pub fn from_base64url(text: &str) -> Result<Self, TnAuthListError> {
        Self::from_der(&URL_SAFE_LENIENT_PADDING.decode(text)?)
    }

    /// Encodes base64url without padding (`MAigBhYENzA5Sg`).
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_der())
    }

    /// The entries, in encoded order.
    pub fn entries(&self) -> &[TnEntry] {
        &self.entries
    }

    /// The SPC, when exactly one entry is an SPC; `None` for lists of numbers only or with
    /// several SPCs, since then no single provider is named.
    pub fn spc(&self) -> Option<&Spc> {
        let mut spcs = self.entries.iter().filter_map(|e| match e {
            TnEntry::Spc(spc) => Some(spc),
            TnEntry::Range(_) | TnEntry::One(_) => None,
        });
        match (spcs.next(), spcs.next()) {
            (Some(spc), None) => Some(spc),
            _ => None,
        }
    }
}

impl TnRange {
    /// A range of `count` numbers from `start`; fails when `count < 2`.
    pub fn new(start: TelephoneNumber, count: u64) -> Result<Self, TnAuthListError> {
        if count < 2 {
            return Err(TnAuthListError::RangeTooShort { count });
        }
        Ok(Self { start, count })
    }

    /// The first number.
    pub fn start(&self) -> &TelephoneNumber {
        &self.start
    }

    /// How many numbers, at least 2.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// base64url decoding that takes the text with or without `=` padding.
const URL_SAFE_LENIENT_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `TNEntry` as the DER grammar has it, before the values are checked.
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
enum RawEntry {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", constructed = "true")]
    Spc(Ia5String),
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    Range(RawRange),
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    One(Ia5String),
}

/// `TelephoneNumberRange` as the DER grammar has it. Extension additions after the `...`
/// are refused: none are defined.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct RawRange {
    start: Ia5String,
    count: u64,
}

impl TryFrom<RawEntry> for TnEntry {
    type Error = TnAuthListError;

    fn try_from(raw: RawEntry) -> Result<Self, Self::Error> {
        Ok(match raw {
            RawEntry::Spc(s) => {
                let value = s.to_string();
                let spc = Spc::new(&value).map_err(|reason| TnAuthListError::Spc {
                    value: value.clone(),
                    reason,
                })?;
                TnEntry::Spc(spc)
            }
            RawEntry::Range(r) => TnEntry::Range(TnRange::new(number(&r.start)?, r.count)?),
            RawEntry::One(s) => TnEntry::One(number(&s)?),
        })
    }
}

fn number(s: &Ia5String) -> Result<TelephoneNumber, TnAuthListError> {
    let value = s.to_string();
    TelephoneNumber::from_claim(&value)
        .map_err(|reason| TnAuthListError::TelephoneNumber { value, reason })
}

impl From<&TnEntry> for RawEntry {
    fn from(entry: &TnEntry) -> Self {
        match entry {
            TnEntry::Spc(spc) => RawEntry::Spc(ia5(spc.as_str())),
            TnEntry::Range(r) => RawEntry::Range(RawRange {
                start: ia5(r.start.as_str()),
                count: r.count,
            }),
            TnEntry::One(tn) => RawEntry::One(ia5(tn.as_str())),
        }
    }
}

/// `Spc` and `TelephoneNumber` hold only ASCII letters and digits, which IA5String accepts.
fn ia5(s: &str) -> Ia5String {
    // Invariant: the callers pass `Spc` or `TelephoneNumber` text, which is ASCII.
    Ia5String::new(s).expect("SPC and telephone number text is ASCII")
}

impl From<Spc> for TnAuthList {
    fn from(spc: Spc) -> Self {
        Self::from_spc(spc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap_or(0xFF))
            .collect()
    }

    fn spc(code: &str) -> Spc {
        Spc::new(code).expect("valid test spc")
    }

    fn tn(digits: &str) -> TelephoneNumber {
        TelephoneNumber::from_claim(digits).expect("valid test number")
    }

    /// `standards.md` §3.1 and `rust-stack.md` §4.1.
    const GOLDEN: [(&str, &str, &str, &str); 5] = [
        (
            "1234",
            "30 08 A0 06 16 04 31 32 33 34",
            "MAigBhYEMTIzNA==",
            "MAigBhYEMTIzNA",
        ),
        (
            "818H",
            "30 08 A0 06 16 04 38 31 38 48",
            "MAigBhYEODE4SA==",
            "MAigBhYEODE4SA",
        ),
        (
            "281K",
            "30 08 A0 06 16 04 32 38 31 4B",
            "MAigBhYEMjgxSw==",
            "MAigBhYEMjgxSw",
        ),
        (
            "6628",
            "30 08 A0 06 16 04 36 36 32 38",
            "MAigBhYENjYyOA==",
            "MAigBhYENjYyOA",
        ),
        (
            "709J",
            "30 08 A0 06 16 04 37 30 39 4A",
            "MAigBhYENzA5Sg==",
            "MAigBhYENzA5Sg",
        ),
    ];

    #[test]
    fn golden_spc_encodes() {
        for (code, der, b64, b64url) in GOLDEN {
            let list = TnAuthList::from_spc(spc(code));
            assert_eq!(list.to_der(), hex(der), "{code}");
            assert_eq!(list.to_base64(), b64, "{code}");
            assert_eq!(list.to_base64url(), b64url, "{code}");
        }
    }

    #[test]
    fn golden_spc_decodes() {
        for (code, der, b64, b64url) in GOLDEN {
            let want = TnAuthList::from_spc(spc(code));
            assert_eq!(TnAuthList::from_der(&hex(der)), Ok(want.clone()), "{code}");
            assert_eq!(TnAuthList::from_base64(b64), Ok(want.clone()), "{code}");
            assert_eq!(
                TnAuthList::from_base64url(b64url),
                Ok(want.clone()),
                "{code}"
            );
            assert_eq!(
                TnAuthList::from_base64url(&format!("{b64url}==")),
                Ok(want.clone())
            );
            assert_eq!(want.spc(), Some(&spc(code)));
        }
    }

    #[test]
    fn range_and_one_round_trip() {
        let list = TnAuthList::new(vec![
            TnEntry::Range(TnRange::new(tn("12155551000"), 100).expect("valid test value")),
            TnEntry::One(tn("12155551212")),
        ])
        .expect("valid test value");
        let der = list.to_der();
        // [1] { SEQUENCE { IA5String "12155551000", INTEGER 100 } }, [2] { IA5String "…" }
        let want = hex(
            "30 23 A1 12 30 10 16 0B 31 32 31 35 35 35 35 31 30 30 30 02 01 64 \
             A2 0D 16 0B 31 32 31 35 35 35 35 31 32 31 32",
        );
        assert_eq!(der, want);
        assert_eq!(TnAuthList::from_der(&der), Ok(list.clone()));
        assert_eq!(list.spc(), None);
    }

    #[test]
    fn spc_code_needs_exactly_one_spc() {
        let two = TnAuthList::new(vec![TnEntry::Spc(spc("1234")), TnEntry::Spc(spc("1234"))]);
        assert_eq!(two.map(|l| l.spc().cloned()), Ok(None));
        let mixed = TnAuthList::new(vec![TnEntry::One(tn("1234")), TnEntry::Spc(spc("818H"))]);
        assert_eq!(mixed.map(|l| l.spc().cloned()), Ok(Some(spc("818H"))));
    }

    #[test]
    fn rejects_empty_list() {
        assert_eq!(
            TnAuthList::from_der(&hex("30 00")),
            Err(TnAuthListError::Empty)
        );
        assert_eq!(TnAuthList::new(vec![]), Err(TnAuthListError::Empty));
    }

    #[test]
    fn rejects_trailing_data() {
        let err = TnAuthList::from_der(&hex("30 08 A0 06 16 04 31 32 33 34 00"));
        assert!(
            matches!(err, Err(TnAuthListError::Der(e)) if matches!(e.kind(), der::ErrorKind::TrailingData { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn rejects_implicit_tagging() {
        // libstirshaken-style `[0] IMPLICIT`: 80 04 "1234".
        let err = TnAuthList::from_der(&hex("30 06 80 04 31 32 33 34"));
        assert!(matches!(err, Err(TnAuthListError::Der(_))), "{err:?}");
    }

    #[test]
    fn rejects_bare_ia5string() {
        let err = TnAuthList::from_der(&hex("16 04 31 32 33 34"));
        assert!(matches!(err, Err(TnAuthListError::Der(_))), "{err:?}");
    }

    #[test]
    fn rejects_empty_spc() {
        assert_eq!(
            TnAuthList::from_der(&hex("30 04 A0 02 16 00")),
            Err(TnAuthListError::Spc {
                value: String::new(),
                reason: InvalidSpc::Empty
            })
        );
    }

    #[test]
    fn rejects_bad_numbers() {
        // one [2] "12#4"
        assert_eq!(
            TnAuthList::from_der(&hex("30 08 A2 06 16 04 31 32 23 34")),
            Err(TnAuthListError::TelephoneNumber {
                value: "12#4".to_owned(),
                reason: InvalidTelephoneNumber::NotDigits
            })
        );
        // range [1] { "1234", 1 }
        assert_eq!(
            TnAuthList::from_der(&hex("30 0D A1 0B 30 09 16 04 31 32 33 34 02 01 01")),
            Err(TnAuthListError::RangeTooShort { count: 1 })
        );
        assert_eq!(
            TnRange::new(tn("1234"), 0),
            Err(TnAuthListError::RangeTooShort { count: 0 })
        );
    }

    #[test]
    fn rejects_bad_base64() {
        assert!(matches!(
            TnAuthList::from_base64("MAigBhYEMTIzNA"),
            Err(TnAuthListError::Base64(_))
        ));
        assert!(matches!(
            TnAuthList::from_base64url("MAigBhYE+TIzNA"),
            Err(TnAuthListError::Base64(_))
        ));
    }

    fn entry() -> impl Strategy<Value = TnEntry> {
        prop_oneof![
            "[A-Za-z0-9]{1,32}".prop_map(|s| TnEntry::Spc(spc(&s))),
            ("[0-9]{1,15}", 2u64..).prop_map(|(s, n)| TnEntry::Range(TnRange {
                start: tn(&s),
                count: n
            })),
            "[0-9]{1,15}".prop_map(|s| TnEntry::One(tn(&s))),
        ]
    }

    proptest! {
        #[test]
        fn der_and_base64_round_trip(entries in prop::collection::vec(entry(), 1..8)) {
            let list = TnAuthList::new(entries).expect("valid test value");
            let der = list.to_der();
            prop_assert_eq!(TnAuthList::from_der(&der), Ok(list.clone()));
            prop_assert_eq!(TnAuthList::from_base64(&list.to_base64()), Ok(list.clone()));
            prop_assert_eq!(TnAuthList::from_base64url(&list.to_base64url()), Ok(list));
        }

        #[test]
        fn decode_never_panics_and_reencodes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(list) = TnAuthList::from_der(&bytes) {
                prop_assert_eq!(list.to_der(), bytes);
            }
        }
    }
}
