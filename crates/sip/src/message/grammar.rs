//! Small pieces of the RFC 3261 §25 grammar shared by the typed headers: LWS trimming,
//! comma-separated values and `;name=value` parameters, all aware of quoted strings and `<…>`.

/// Where `part`, a slice of `base`, lies in it: parsed values are kept as offsets so that a
/// `Request` can hand them out again without parsing (see `Request::via`).
pub(crate) fn span(base: &[u8], part: &str) -> std::ops::Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(base.as_ptr() as usize);
    start..start + part.len()
}

/// The text at `range` of `base`, as [`span`] found it (empty if it is not there).
pub(crate) fn at<'a>(base: &'a [u8], range: &std::ops::Range<usize>) -> &'a str {
    base.get(range.clone())
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or_default()
}

/// `s.split_once(delim)` for an ASCII `delim`, found with memchr: the generic `char` search
/// cost ~140 instructions a call on these short values (callgrind, `bench/sip-load
/// --callgrind`), and a parse makes dozens of them.
pub(crate) fn split_once(s: &str, delim: u8) -> Option<(&str, &str)> {
    let i = memchr::memchr(delim, s.as_bytes())?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// [`split_once`] at the last `delim`.
pub(crate) fn rsplit_once(s: &str, delim: u8) -> Option<(&str, &str)> {
    let i = memchr::memrchr(delim, s.as_bytes())?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// Trims SP and HTAB (folding was already turned into spaces, see `Message`).
pub(crate) fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// `token` (RFC 3261 §25.1): alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
                )
        })
}

/// Splits `s` at top-level occurrences of `sep`, skipping separators inside a quoted string
/// (with `\` escapes) or inside `<…>`.
pub(crate) fn split_top(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut quoted = false;
        let mut angle = false;
        let mut i = start;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if quoted => i += 1,
                b'"' if !angle => quoted = !quoted,
                b'<' if !quoted => angle = true,
                b'>' if !quoted => angle = false,
                c if c == sep && !quoted && !angle => {
                    let part = &s[start..i];
                    start = i + 1;
                    return Some(part);
                }
                _ => {}
            }
            i += 1;
        }
        done = true;
        Some(&s[start.min(s.len())..])
    })
}

/// Iterates `;name[=value]` parameters of `params` (the text after the first `;`, or empty).
/// Names and values are trimmed; a quoted value keeps its quotes.
pub(crate) fn params(params: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    split_top(params, b';')
        .map(trim)
        .filter(|p| !p.is_empty())
        .map(|p| match split_once(p, b'=') {
            Some((n, v)) => (trim(n), Some(trim(v))),
            None => (p, None),
        })
}

/// The parameter `name` (case-insensitive): `None` when absent, `Some(None)` when present
/// without a value.
pub(crate) fn param<'a>(list: &'a str, name: &str) -> Option<Option<&'a str>> {
    params(list)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Checks that every parameter name is a token and every value a token, host or quoted string.
pub(crate) fn params_valid(list: &str) -> bool {
    let mut quoted_ok = true;
    for p in split_top(list, b';').map(trim) {
        if p.is_empty() {
            continue;
        }
        let (n, v) = match split_once(p, b'=') {
            Some((n, v)) => (trim(n), Some(trim(v))),
            None => (p, None),
        };
        if !is_token(n.as_bytes()) {
            return false;
        }
        if let Some(v) = v {
            quoted_ok &= if v.starts_with('"') {
                v.len() >= 2 && v.ends_with('"')
            } else {
                !v.is_empty()
                    && v.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"-.!%*_+`'~:[]".contains(&c))
            };
        }
    }
    quoted_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_quotes_and_angles() {
        let v: Vec<_> = split_top(r#""a, b" <sip:x;y,z>;p=1, c"#, b',').collect();
        assert_eq!(v, vec![r#""a, b" <sip:x;y,z>;p=1"#, " c"]);
        let v: Vec<_> = split_top(r#""esc \" ," <sip:a>"#, b',').collect();
        assert_eq!(v.len(), 1);
        assert_eq!(split_top("", b',').collect::<Vec<_>>(), vec![""]);
    }

    #[test]
    fn split_once_at_first_and_last() {
        assert_eq!(split_once("sip:a@b:5", b':'), Some(("sip", "a@b:5")));
        assert_eq!(rsplit_once("u@x@h", b'@'), Some(("u@x", "h")));
        assert_eq!(split_once("é;ü", b';'), Some(("é", "ü")));
        assert_eq!(split_once(";", b';'), Some(("", "")));
        assert_eq!(split_once("none", b';'), None);
        assert_eq!(rsplit_once("", b'@'), None);
    }

    #[test]
    fn params_lookup() {
        let p = " branch = z9hG4bK1 ;rport; Received=1.2.3.4";
        assert_eq!(param(p, "branch"), Some(Some("z9hG4bK1")));
        assert_eq!(param(p, "RPORT"), Some(None));
        assert_eq!(param(p, "received"), Some(Some("1.2.3.4")));
        assert_eq!(param(p, "maddr"), None);
        assert!(params_valid(p));
        assert!(!params_valid("a b=1"));
        assert!(!params_valid("a=\"unterminated"));
    }
}
