//! Strict JSON reading and canonical JSON writing (RFC 8225 §9).
//!
//! Reading rejects duplicate member names at any depth: two parsers that keep different
//! duplicates see different claims, a known way to smuggle a second `orig` past a check.
//! Writing sorts member names by code point and emits no whitespace.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why bytes are not acceptable JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not JSON at all, or trailing bytes after the value.
    Syntax(String),
    /// An object repeats a member name.
    DuplicateKey(String),
}

/// Parses one JSON value, refusing duplicate member names and trailing data.
pub(crate) fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue.deserialize(&mut de).map_err(classify)?;
    de.end().map_err(classify)?;
    Ok(value)
}

const DUPLICATE_PREFIX: &str = "duplicate member name: ";

fn classify(e: serde_json::Error) -> JsonError {
    let text = e.to_string();
    match text.strip_prefix(DUPLICATE_PREFIX) {
        // serde_json appends " at line L column C"; keep only the name.
        Some(rest) => JsonError::DuplicateKey(
            rest.rsplit_once(" at line ")
                .map_or(rest, |(name, _)| name)
                .to_owned(),
        ),
        None => JsonError::Syntax(text),
    }
}

/// Seed that builds a `serde_json::Value` but fails on a repeated member name.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.contains_key(&key) {
                return Err(de::Error::custom(format_args!("{DUPLICATE_PREFIX}{key}")));
            }
            let value = map.next_value_seed(StrictValue)?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

/// Appends the canonical form of `value`: members sorted by code point, no whitespace.
///
/// Sorting here rather than trusting `serde_json::Map` keeps the output canonical even if
/// some crate in the build turns on serde_json's `preserve_order` feature.
pub(crate) fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            // UTF-8 byte order equals code point order.
            members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        scalar => {
            // Strings, numbers and literals have one compact form in serde_json.
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// Appends a JSON string literal with serde_json's escaping.
pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicates_at_any_depth() {
        assert_eq!(
            parse_strict(br#"{"a":1,"a":2}"#),
            Err(JsonError::DuplicateKey("a".into()))
        );
        assert_eq!(
            parse_strict(br#"{"orig":{"tn":"1","tn":"2"}}"#),
            Err(JsonError::DuplicateKey("tn".into()))
        );
        assert_eq!(
            parse_strict(br#"[{"x":1},{"y":{"z":0,"z":0}}]"#),
            Err(JsonError::DuplicateKey("z".into()))
        );
        // Same name in sibling objects is fine.
        assert!(parse_strict(br#"[{"x":1},{"x":2}]"#).is_ok());
    }

    #[test]
    fn rejects_trailing_data_and_garbage() {
        assert!(matches!(parse_strict(b"{} {}"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse_strict(b"{"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse_strict(b"\xff"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse_strict(b""), Err(JsonError::Syntax(_))));
    }

    #[test]
    fn writes_sorted_compact() {
        let v =
            parse_strict(br#"{ "b" : [1, {"d":null,"c":true}], "a":"x\"y", "\u00e9":1, "Z":2 }"#)
                .expect("valid JSON");
        let mut out = Vec::new();
        write_canonical(&v, &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "{\"Z\":2,\"a\":\"x\\\"y\",\"b\":[1,{\"c\":true,\"d\":null}],\"é\":1}"
        );
    }
}
