//! Distinguished names compared as RFC 5280 §7.1 asks, not byte for byte.
//!
//! RFC 5280 §7.1 compares names with the LDAP StringPrep profile (RFC 4518). We implement the
//! parts that matter in practice for the SHAKEN PKI: RDNs in the same order, attributes within an
//! RDN as a set, attribute types by OID, and string values (UTF8String, PrintableString,
//! IA5String, NumericString, TeletexString, BMPString, UniversalString) compared after case
//! folding, trimming and collapsing inner runs of white space, whatever string type carries
//! them. Other value types are compared by tag and bytes. Not implemented: RFC 4518's full
//! Unicode mapping and normalisation tables (NFKC, prohibited characters).
//!
//! The STI-PA writes the `certificateIssuer` names of its CRL itself, so they need not be
//! encoded like the STI-CA's own certificates (PrintableString versus UTF8String is the usual
//! difference); a byte comparison would silently miss a revocation.

use x509_parser::asn1_rs::Tag;
use x509_parser::prelude::{FromDer, X509Name};

/// A name reduced to a canonical byte string: equal keys mean equal names per RFC 5280 §7.1
/// (within the limits in the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct NameKey(Vec<u8>);

impl NameKey {
    /// The key of a parsed name.
    pub(crate) fn new(name: &X509Name<'_>) -> Self {
        let mut key = Vec::with_capacity(name.as_raw().len());
        for rdn in name.iter_rdn() {
            let mut attributes: Vec<Vec<u8>> = rdn
                .iter()
                .map(|atv| {
                    let mut a = Vec::new();
                    push_field(&mut a, atv.attr_type().as_bytes());
                    let value = atv.attr_value();
                    match string_value(value.tag(), value.data) {
                        Some(text) => {
                            a.push(b'S');
                            push_field(&mut a, fold(&text).as_bytes());
                        }
                        None => {
                            a.push(b'R');
                            a.extend_from_slice(&value.tag().0.to_be_bytes());
                            push_field(&mut a, value.data);
                        }
                    }
                    a
                })
                .collect();
            // A RelativeDistinguishedName is a SET: attribute order carries no meaning.
            attributes.sort();
            key.push(b'{');
            for a in attributes {
                push_field(&mut key, &a);
            }
            key.push(b'}');
        }
        Self(key)
    }

    /// The key of a DER `Name`, or `None` when the bytes are not exactly one name.
    pub(crate) fn from_der(der: &[u8]) -> Option<Self> {
        match X509Name::from_der(der) {
            Ok(([], name)) => Some(Self::new(&name)),
            _ => None,
        }
    }
}

fn push_field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn string_value(tag: Tag, data: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::NumericString => {
            std::str::from_utf8(data).ok().map(str::to_owned)
        }
        // T.61 in theory; in practice Latin-1 when it appears at all.
        Tag::T61String => Some(data.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            if !data.len().is_multiple_of(2) {
                return None;
            }
            let units = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        Tag::UniversalString => {
            if !data.len().is_multiple_of(4) {
                return None;
            }
            data.chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

/// RFC 4518 §2.6 insignificant space handling plus case folding (§2.4, approximated by
/// Unicode lower-casing).
fn fold(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, <string> } } }
    fn cn(tag: u8, value: &[u8]) -> Vec<u8> {
        let atv_len = 5 + 2 + value.len();
        let mut v = vec![0x30, (atv_len + 4) as u8, 0x31, (atv_len + 2) as u8];
        v.extend_from_slice(&[0x30, atv_len as u8, 0x06, 0x03, 0x55, 0x04, 0x03]);
        v.push(tag);
        v.push(value.len() as u8);
        v.extend_from_slice(value);
        v
    }

    #[test]
    fn string_type_case_and_spaces_do_not_matter() {
        let a = NameKey::from_der(&cn(0x13, b"STI-PA CRL")).unwrap();
        let b = NameKey::from_der(&cn(0x0C, b"  sti-pa   crl ")).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn different_values_differ() {
        let a = NameKey::from_der(&cn(0x0C, b"STI-PA CRL")).unwrap();
        let b = NameKey::from_der(&cn(0x0C, b"STI-PA CRL2")).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn trailing_bytes_are_not_a_name() {
        let mut der = cn(0x0C, b"x");
        der.push(0);
        assert_eq!(NameKey::from_der(&der), None);
    }
}
