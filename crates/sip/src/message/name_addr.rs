//! From, To, Contact and P-Asserted-Identity values (RFC 3261 §20.10, §20.20, §20.39;
//! RFC 3325 §9.1).
//!
//! ```text
//! from-spec = ( name-addr / addr-spec ) *( SEMI from-param )
//! name-addr = [ display-name ] LAQUOT addr-spec RAQUOT
//! ```
//! Without angle brackets, everything after the first `;` is a header parameter, not a URI
//! parameter (§20.10).

use std::ops::Range;

use super::grammar::{self, trim};
use super::uri::{KeptUri, Uri};

/// A name-addr or addr-spec with header parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameAddr<'a> {
    display: Option<&'a str>,
    uri: Uri<'a>,
    params: &'a str,
}

impl<'a> NameAddr<'a> {
    /// Parses one value (not a comma-separated list).
    pub fn parse(value: &'a str) -> Result<Self, &'static str> {
        let value = trim(value);
        let (display, uri, params) = if let Some(open) = find_laquot(value)? {
            let close = value[open..].find('>').ok_or("no closing '>'")? + open;
            let display = trim(&value[..open]);
            if display.starts_with('"') && !(display.len() >= 2 && display.ends_with('"')) {
                return Err("bad display name");
            }
            let after = trim(&value[close + 1..]);
            let params = match after.strip_prefix(';') {
                Some(p) => p,
                None if after.is_empty() => "",
                None => return Err("text after '>'"),
            };
            let display = (!display.is_empty()).then_some(display);
            (display, trim(&value[open + 1..close]), params)
        } else {
            let (uri, params) = grammar::split_once(value, b';').unwrap_or((value, ""));
            (None, trim(uri), params)
        };
        let uri = Uri::parse(uri).map_err(|_| "bad uri")?;
        if !grammar::params_valid(params) {
            return Err("bad parameter");
        }
        Ok(Self {
            display,
            uri,
            params,
        })
    }

    /// The display name as received (quotes and escapes kept).
    pub fn display_name(&self) -> Option<&'a str> {
        self.display
    }

    /// The URI.
    pub fn uri(&self) -> &Uri<'a> {
        &self.uri
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&'a str> {
        self.param("tag").flatten()
    }

    /// A header parameter by name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        grammar::param(self.params, name)
    }
}

/// A [`NameAddr`] kept as offsets into the text it was parsed from (see `grammar::span`).
#[derive(Clone, Debug)]
pub(crate) struct KeptNameAddr {
    display: Option<Range<usize>>,
    uri: KeptUri,
    params: Range<usize>,
}

impl KeptNameAddr {
    /// Keeps `value`, which borrows from `base`.
    pub(crate) fn new(base: &[u8], value: &NameAddr<'_>) -> Self {
        Self {
            display: value.display.map(|d| grammar::span(base, d)),
            uri: KeptUri::new(base, &value.uri),
            params: grammar::span(base, value.params),
        }
    }

    /// The value again, over the same `base`.
    pub(crate) fn get<'a>(&self, base: &'a [u8]) -> NameAddr<'a> {
        NameAddr {
            display: self.display.as_ref().map(|d| grammar::at(base, d)),
            uri: self.uri.get(base),
            params: grammar::at(base, &self.params),
        }
    }
}

/// Position of the `<` opening the addr-spec, skipping a quoted display name.
fn find_laquot(value: &str) -> Result<Option<usize>, &'static str> {
    let bytes = value.as_bytes();
    let mut quoted = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'<' if !quoted => return Ok(Some(i)),
            _ => {}
        }
        i += 1;
    }
    if quoted {
        return Err("unterminated quoted string");
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse(
            r#""Alice \"A\" <x>" <sip:+15551234567@a.example;user=phone>;tag=1928301774"#,
        )
        .unwrap();
        assert_eq!(n.display_name(), Some(r#""Alice \"A\" <x>""#));
        assert_eq!(n.uri().user(), Some("+15551234567"));
        assert_eq!(n.uri().param("user"), Some(Some("phone")));
        assert_eq!(n.tag(), Some("1928301774"));

        let n = NameAddr::parse("sip:bob@b.example;tag=a6c85cf").unwrap();
        assert_eq!(n.display_name(), None);
        assert_eq!(n.uri().as_str(), "sip:bob@b.example");
        assert_eq!(n.tag(), Some("a6c85cf"));

        let n = NameAddr::parse("Bob  Smith <tel:+15551230000>").unwrap();
        assert_eq!(n.display_name(), Some("Bob  Smith"));
        assert_eq!(n.tag(), None);
    }

    #[test]
    fn malformed() {
        assert_eq!(NameAddr::parse("<sip:a@b"), Err("no closing '>'"));
        assert_eq!(
            NameAddr::parse("\"open <sip:a@b>"),
            Err("unterminated quoted string")
        );
        assert_eq!(NameAddr::parse("<sip:a@b> junk"), Err("text after '>'"));
        assert_eq!(NameAddr::parse("<http://x>"), Err("bad uri"));
        assert_eq!(NameAddr::parse("<sip:a@b>;t ag=1"), Err("bad parameter"));
    }
}
