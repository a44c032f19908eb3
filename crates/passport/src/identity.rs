//! The SIP `Identity` header (RFC 8224 §4 with erratum 6499).
//!
//! ```text
//! Identity = "Identity" HCOLON signed-identity-digest SEMI ident-info *( SEMI ident-info-params )
//! signed-identity-digest = 1*(base64url-char / ".")
//! ident-info        = "info" EQUAL LAQUOT absoluteURI RAQUOT
//! ident-info-params = ident-info-alg / ident-type / ident-info-extension
//! ident-info-alg    = "alg" EQUAL token
//! ident-type        = "ppt" EQUAL token
//! ```
//!
//! The field tolerates more than the grammar: whitespace around `;` and `=`, parameter
//! names in any case and order, a quoted `ppt`, folded lines. All of that tolerance is here,
//! in one parser.

use crate::Error;
use crate::claims::Ppt;
use crate::passport::UnverifiedPassport;

/// Most Identity header values examined per request (shaken + div + rcd with room to spare);
/// a cap keeps a hostile request from costing unbounded signature checks.
pub const MAX_IDENTITY_HEADERS: usize = 8;

/// One parsed Identity header value, borrowing from the received text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityHeader<'a> {
    jws: &'a str,
    info: &'a str,
    alg: Option<&'a str>,
    ppt: Option<&'a str>,
}

impl<'a> IdentityHeader<'a> {
    /// Parses one header value.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let value = trim_lws(value);
        let (jws, mut rest) = match value.find(';') {
            Some(i) => (trim_lws(&value[..i]), &value[i..]),
            None => (value, ""),
        };
        if jws.is_empty() {
            return Err(Error::IdentityMalformed {
                reason: "no signed-identity-digest",
            });
        }
        if !is_compact_jws(jws) {
            return Err(Error::IdentityMalformed {
                reason: "signed-identity-digest is not base64url",
            });
        }
        let mut header = Self {
            jws,
            info: "",
            alg: None,
            ppt: None,
        };
        let mut have_info = false;
        while let Some(after_semi) = rest.strip_prefix(';') {
            let (name, value, next) = param(after_semi)?;
            rest = next;
            let slot = if name.eq_ignore_ascii_case("info") {
                let uri = value
                    .strip_prefix('<')
                    .and_then(|v| v.strip_suffix('>'))
                    .filter(|uri| Self::is_info_uri(uri))
                    .ok_or(Error::InfoMalformed)?;
                if have_info {
                    return Err(Error::IdentityMalformed {
                        reason: "info parameter repeated",
                    });
                }
                have_info = true;
                header.info = uri;
                continue;
            } else if name.eq_ignore_ascii_case("alg") {
                &mut header.alg
            } else if name.eq_ignore_ascii_case("ppt") {
                &mut header.ppt
            } else {
                // ident-info-extension: allowed and ignored, if well formed.
                check_generic_value(value)?;
                continue;
            };
            check_generic_value(value)?;
            if slot.is_some() {
                return Err(Error::IdentityMalformed {
                    reason: "alg or ppt parameter repeated",
                });
            }
            *slot = Some(unquote(value));
        }
        if !have_info {
            return Err(Error::MissingInfo);
        }
        Ok(header)
    }

    /// Splits the values of one or more Identity header fields into single values.
    ///
    /// Each field normally carries one value; some stacks join several with commas, which
    /// a JWS and a bracketed URI never contain outside `<…>`. Gives at most
    /// [`MAX_IDENTITY_HEADERS`] values.
    pub fn split<I>(fields: I) -> Result<Vec<&'a str>, Error>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut out = Vec::new();
        for field in fields {
            let bytes = field.as_bytes();
            let mut start = 0;
            // Jumps from one byte that matters to the next (memchr): a header is mostly its
            // JWS, hundreds of bytes of which none matters.
            let mut at = 0;
            while let Some(i) = bytes
                .get(at..)
                .and_then(|rest| memchr::memchr3(b'"', b'<', b',', rest))
                .map(|i| at + i)
            {
                at = i + 1;
                let rest = bytes.get(at..).unwrap_or_default();
                match bytes[i] {
                    // A quoted string runs to the next quote; an unterminated one to the end.
                    b'"' => match memchr::memchr(b'"', rest) {
                        Some(close) => at += close + 1,
                        None => break,
                    },
                    // Inside <...> neither quotes nor commas count.
                    b'<' => match memchr::memchr(b'>', rest) {
                        Some(close) => at += close + 1,
                        None => break,
                    },
                    _ => {
                        push_value(&mut out, &field[start..i])?;
                        start = at;
                    }
                }
            }
            push_value(&mut out, &field[start..])?;
        }
        Ok(out)
    }

    /// The signed-identity-digest, a compact JWS.
    pub fn jws(&self) -> &'a str {
        self.jws
    }

    /// The `info` URI, without angle brackets.
    pub fn info(&self) -> &'a str {
        self.info
    }

    /// The `alg` parameter, if present.
    pub fn alg(&self) -> Option<&'a str> {
        self.alg
    }

    /// The `ppt` parameter without quotes, if present.
    pub fn ppt(&self) -> Option<&'a str> {
        self.ppt
    }

    /// Parses the PASSporT and checks it against this header's parameters: `info` equals
    /// `x5u` (436), `alg` is ES256 (437), `ppt` equals the JWS header's (438).
    pub fn passport(&self) -> Result<UnverifiedPassport<'a>, Error> {
        let passport = UnverifiedPassport::parse(self.jws)?;
        if passport.x5u() != self.info {
            return Err(Error::InfoMismatch {
                info: self.info.to_owned(),
                x5u: passport.x5u().to_owned(),
            });
        }
        if let Some(alg) = self.alg
            && alg != "ES256"
        {
            return Err(Error::AlgParam {
                alg: alg.to_owned(),
            });
        }
        if let Some(ppt) = self.ppt
            && ppt != passport.ppt().as_str()
        {
            return Err(Error::PptMismatch {
                param: ppt.to_owned(),
                header: passport.ppt().as_str().to_owned(),
            });
        }
        Ok(passport)
    }

    /// Appends `;info=<x5u>;alg=ES256;ppt=<ppt>` to a JWS.
    pub(crate) fn append_params(out: &mut String, x5u: &str, ppt: Ppt) {
        out.push_str(";info=<");
        out.push_str(x5u);
        out.push_str(">;alg=ES256;ppt=");
        out.push_str(ppt.as_str());
    }

    /// Whether `uri` is an absoluteURI (RFC 3261 §25.1: scheme ":" …) that can stand
    /// between angle brackets: no whitespace, controls, `<`, `>` or `"`.
    pub(crate) fn is_info_uri(uri: &str) -> bool {
        let Some((scheme, rest)) = uri.split_once(':') else {
            return false;
        };
        let scheme_ok = scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        scheme_ok
            && !rest.is_empty()
            && uri
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"'))
    }
}

impl std::fmt::Display for IdentityHeader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{};info=<{}>", self.jws, self.info)?;
        for (name, value) in [("alg", self.alg), ("ppt", self.ppt)] {
            match value {
                None => {}
                Some(v) if v.bytes().all(is_token_byte) => write!(f, ";{name}={v}")?,
                // Received quoted; the quotes' body is kept escaped as it was.
                Some(v) => write!(f, ";{name}=\"{v}\"")?,
            }
        }
        Ok(())
    }
}

/// RFC 3261 §25.1 `token` characters.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

fn push_value<'a>(out: &mut Vec<&'a str>, value: &'a str) -> Result<(), Error> {
    if trim_lws(value).is_empty() {
        return Ok(());
    }
    if out.len() == MAX_IDENTITY_HEADERS {
        return Err(Error::TooManyIdentityHeaders {
            count: out.len() + 1,
            max: MAX_IDENTITY_HEADERS,
        });
    }
    out.push(value);
    Ok(())
}

/// Reads `name [= value]` after a `;`, giving the rest starting at the next `;` (or empty).
fn param(s: &str) -> Result<(&str, &str, &str), Error> {
    let s = trim_lws_start(s);
    let name_end = s
        .find(|c: char| c == '=' || c == ';' || is_lws(c))
        .unwrap_or(s.len());
    let name = &s[..name_end];
    if name.is_empty() {
        return Err(Error::IdentityMalformed {
            reason: "empty parameter name",
        });
    }
    let after_name = trim_lws_start(&s[name_end..]);
    let Some(after_eq) = after_name.strip_prefix('=') else {
        // A parameter without a value; what follows must be the next parameter or the end.
        return match after_name.is_empty() || after_name.starts_with(';') {
            true => Ok((name, "", after_name)),
            false => Err(Error::IdentityMalformed {
                reason: "junk after parameter name",
            }),
        };
    };
    let v = trim_lws_start(after_eq);
    let value_len = if v.starts_with('<') {
        v.find('>').map(|i| i + 1).ok_or(Error::InfoMalformed)?
    } else if let Some(body) = v.strip_prefix('"') {
        quoted_len(body).ok_or(Error::IdentityMalformed {
            reason: "unterminated quoted string",
        })? + 1
    } else {
        v.find(|c: char| c == ';' || is_lws(c)).unwrap_or(v.len())
    };
    let value = &v[..value_len];
    let rest = trim_lws_start(&v[value_len..]);
    if !(rest.is_empty() || rest.starts_with(';')) {
        return Err(Error::IdentityMalformed {
            reason: "junk after parameter value",
        });
    }
    Ok((name, value, rest))
}

/// generic-param value = token / host / quoted-string (RFC 3261 §25.1).
fn check_generic_value(value: &str) -> Result<(), Error> {
    let quoted = value.len() >= 2 && value.starts_with('"');
    if quoted
        || value
            .bytes()
            .all(|b| is_token_byte(b) || matches!(b, b':' | b'[' | b']'))
    {
        Ok(())
    } else {
        Err(Error::IdentityMalformed {
            reason: "parameter value is neither a token nor quoted",
        })
    }
}

/// Length of a quoted-string body up to and including its closing quote.
fn quoted_len(body: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, b) in body.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
}

/// SIP linear white space, including what is left of a folded line (RFC 3261 §7.3.1).
fn is_lws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn trim_lws(s: &str) -> &str {
    s.trim_matches(is_lws)
}

fn trim_lws_start(s: &str) -> &str {
    s.trim_start_matches(is_lws)
}

/// Whether every byte is base64url or `.`. Folded without an early exit so the compiler can
/// check many bytes at once: the JWS is most of a header of several hundred bytes.
fn is_compact_jws(s: &str) -> bool {
    s.bytes().fold(true, |ok, b| {
        ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_') | (b == b'.'))
    })
}
