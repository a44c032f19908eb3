//! SIP messages (RFC 3261 §7): parse from one owned buffer, typed header access on demand, and
//! responses that echo the request's headers byte for byte. No I/O.
//!
//! A [`Message`] owns the received bytes once, as [`Bytes`], and keeps ranges into them: the
//! start line, every header line (name, value and the whole line) and the body. Typed headers
//! are decoded only when asked. Folded header values (RFC 3261 §7.3.1) are decoded from a copy
//! in which each folding CR LF is replaced by spaces, so offsets stay the same while echoes copy
//! the original bytes.

mod cseq;
mod date;
mod error;
mod grammar;
mod method;
mod name;
mod name_addr;
mod request;
mod response;
mod uri;
mod via;

use std::ops::Range;

use bytes::Bytes;

pub use cseq::CSeq;
pub use error::ParseError;
pub use method::{Method, StatusCode};
pub use name::HeaderName;
pub use name_addr::NameAddr;
pub use request::{Rejected, Request};
pub use response::{BuildError, Response, ResponseBuilder};
pub use uri::{Scheme, Uri, UriError};
pub use via::{MAGIC_COOKIE, Via};

/// The most header lines a message may have; beyond it parsing fails with
/// [`ParseError::TooManyHeaders`]. Size limits on the whole message live in the framing layer.
pub const MAX_HEADERS: usize = 256;

/// A parsed SIP request or response over its own buffer.
#[derive(Clone, Debug)]
pub struct Message {
    buf: Bytes,
    view: Bytes,
    start: StartLine,
    headers: Vec<RawHeader>,
    body: Range<usize>,
}

/// The first line of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// `Method SP Request-URI SP SIP-Version`
    Request {
        /// The method.
        method: Method,
        /// The Request-URI, as received (checked only by [`Message::into_request`]).
        uri: Bytes,
    },
    /// `SIP-Version SP Status-Code SP Reason-Phrase`
    Response {
        /// The status code.
        status: StatusCode,
        /// The reason phrase as received.
        reason: Bytes,
    },
}

#[derive(Clone, Debug)]
struct RawHeader {
    known: Option<HeaderName>,
    name: Range<usize>,
    value: Range<usize>,
    line: Range<usize>,
}

impl Message {
    /// Parses one whole message: a UDP datagram or a frame cut by the stream framing.
    ///
    /// Leading CR LFs are skipped (RFC 3261 §7.5). With a `Content-Length`, the body is that
    /// many bytes and anything after it is discarded (§18.3); without one, the body runs to the
    /// end of the buffer.
    pub fn parse(buf: Bytes) -> Result<Self, ParseError> {
        Self::parse_inner(buf, true)
    }

    /// Parses what it can so that a message [`Message::parse`] refused can still be answered
    /// with an error response echoing its headers: `Content-Length` is ignored (the body runs
    /// to the end of the buffer) and any `SIP/x.y` version is accepted.
    pub fn parse_lenient(buf: Bytes) -> Result<Self, ParseError> {
        Self::parse_inner(buf, false)
    }

    fn parse_inner(buf: Bytes, strict: bool) -> Result<Self, ParseError> {
        let b = &buf[..];
        let mut pos = 0;
        while b[pos..].starts_with(b"\r\n") {
            pos += 2;
        }
        let head_end =
            memchr::memmem::find(&b[pos..], b"\r\n\r\n").ok_or(ParseError::Incomplete)? + pos;
        let line_end = find_crlf(&b[pos..head_end + 2]).map_or(head_end, |i| i + pos);
        let start = parse_start_line(&buf, pos..line_end, strict)?;

        // Room for a typical INVITE's headers without regrowing.
        let mut headers = Vec::with_capacity(16);
        let mut folded = false;
        let section_end = head_end + 2;
        let mut i = line_end + 2;
        while i < section_end {
            let mut j = i;
            let end = loop {
                let crlf = find_crlf(&b[j..section_end]).map_or(section_end, |k| k + j);
                if crlf + 2 < section_end && matches!(b[crlf + 2], b' ' | b'\t') {
                    folded = true;
                    j = crlf + 2;
                } else {
                    break crlf;
                }
            };
            if headers.len() == MAX_HEADERS {
                return Err(ParseError::TooManyHeaders { limit: MAX_HEADERS });
            }
            headers.push(parse_header_line(b, i..end)?);
            i = end + 2;
        }

        let body_start = head_end + 4;
        let mut length = None;
        for h in headers
            .iter()
            .filter(|h| strict && h.known == Some(HeaderName::ContentLength))
        {
            let v = &b[h.value.clone()];
            if v.is_empty() || v.len() > 9 || !v.iter().all(u8::is_ascii_digit) {
                return Err(malformed(HeaderName::ContentLength, "not a number"));
            }
            let n = v.iter().fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
            if length.is_some_and(|l| l != n) {
                return Err(malformed(HeaderName::ContentLength, "conflicting values"));
            }
            length = Some(n);
        }
        let body_end = match length {
            Some(n) if body_start + n > b.len() => {
                return Err(malformed(
                    HeaderName::ContentLength,
                    "body shorter than content-length",
                ));
            }
            Some(n) => body_start + n,
            None => b.len(),
        };
        let buf = buf.slice(..body_end);
        let view = if folded {
            let mut copy = buf.to_vec();
            for h in &headers {
                for c in &mut copy[h.value.clone()] {
                    if matches!(c, b'\r' | b'\n') {
                        *c = b' ';
                    }
                }
            }
            Bytes::from(copy)
        } else {
            buf.clone()
        };
        Ok(Self {
            buf,
            view,
            start,
            headers,
            body: body_start..body_end,
        })
    }

    /// The start line.
    pub fn start_line(&self) -> &StartLine {
        &self.start
    }

    /// The message bytes as received (up to the end of the body).
    pub fn as_bytes(&self) -> &Bytes {
        &self.buf
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.buf[self.body.clone()]
    }

    /// Raw header access.
    pub fn headers(&self) -> Headers<'_> {
        Headers { msg: self }
    }

    /// The topmost Via value (the first value of the first Via header).
    pub fn via(&self) -> Result<Via<'_>, ParseError> {
        let first = self.headers().values(HeaderName::Via).next();
        let value = first.ok_or(missing(HeaderName::Via))??;
        Via::parse(value).map_err(|reason| malformed(HeaderName::Via, reason))
    }

    /// Every Via value, top first.
    pub fn vias(&self) -> Result<Vec<Via<'_>>, ParseError> {
        let vias = self
            .headers()
            .values(HeaderName::Via)
            .map(|v| Via::parse(v?).map_err(|reason| malformed(HeaderName::Via, reason)))
            .collect::<Result<Vec<_>, _>>()?;
        if vias.is_empty() {
            return Err(missing(HeaderName::Via));
        }
        Ok(vias)
    }

    /// The From header.
    pub fn from(&self) -> Result<NameAddr<'_>, ParseError> {
        self.name_addr(HeaderName::From)
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr<'_>, ParseError> {
        self.name_addr(HeaderName::To)
    }

    /// The Call-ID: `word [ "@" word ]` (RFC 3261 §25.1).
    pub fn call_id(&self) -> Result<&str, ParseError> {
        let v = self.headers().single(HeaderName::CallId)?;
        let ok = !v.is_empty()
            && v.split('@').count() <= 2
            && v.bytes()
                .all(|c| c.is_ascii_graphic() && !b"<>\"".contains(&c) || c == b'@');
        ok.then_some(v)
            .ok_or(malformed(HeaderName::CallId, "not word [@ word]"))
    }

    /// The CSeq header.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        let v = self.headers().single(HeaderName::CSeq)?;
        CSeq::parse(&self.view, v).map_err(|reason| malformed(HeaderName::CSeq, reason))
    }

    /// Max-Forwards, if present (RFC 3261 §20.22: `1*DIGIT`, at most 255 here).
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        match self.headers().single(HeaderName::MaxForwards) {
            Ok(v) => v
                .parse::<u8>()
                .ok()
                .filter(|_| v.bytes().all(|c| c.is_ascii_digit()))
                .map(Some)
                .ok_or(malformed(HeaderName::MaxForwards, "not a number up to 255")),
            Err(ParseError::Missing { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every Contact value (a `*` Contact yields an error; redirect targets never use it).
    pub fn contacts(&self) -> Result<Vec<NameAddr<'_>>, ParseError> {
        self.name_addrs(HeaderName::Contact)
    }

    /// Every P-Asserted-Identity value (RFC 3325 §9.1).
    pub fn p_asserted_identities(&self) -> Result<Vec<NameAddr<'_>>, ParseError> {
        self.name_addrs(HeaderName::PAssertedIdentity)
    }

    /// The Date header value, raw (RFC 3261 §20.17 rfc1123-date).
    pub fn date(&self) -> Result<Option<&str>, ParseError> {
        match self.headers().single(HeaderName::Date) {
            Ok(v) => Ok(Some(v)),
            Err(ParseError::Missing { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The Date header as a time (RFC 1123 form in GMT only, RFC 3261 §20.17), if present.
    pub fn date_time(&self) -> Result<Option<rustls_pki_types::UnixTime>, ParseError> {
        self.date()?
            .map(|v| date::parse(v).map_err(|reason| malformed(HeaderName::Date, reason)))
            .transpose()
    }

    /// The Identity header values (RFC 8224), one per header line, raw and unfolded; the
    /// `passport` crate parses them.
    pub fn identities(&self) -> Result<Vec<&str>, ParseError> {
        self.headers().lines(HeaderName::Identity).collect()
    }

    fn name_addr(&self, name: HeaderName) -> Result<NameAddr<'_>, ParseError> {
        let v = self.headers().single(name)?;
        // Without a comma there is one value; the quote-aware split is for values with one.
        if memchr::memchr(b',', v.as_bytes()).is_some()
            && grammar::split_top(v, b',').nth(1).is_some()
        {
            return Err(malformed(name, "more than one value"));
        }
        NameAddr::parse(v).map_err(|reason| malformed(name, reason))
    }

    fn name_addrs(&self, name: HeaderName) -> Result<Vec<NameAddr<'_>>, ParseError> {
        self.headers()
            .values(name)
            .map(|v| NameAddr::parse(v?).map_err(|reason| malformed(name, reason)))
            .collect()
    }
}

/// Raw access to a message's headers, in the order received.
#[derive(Clone, Copy, Debug)]
pub struct Headers<'a> {
    msg: &'a Message,
}

impl<'a> Headers<'a> {
    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.msg.headers.len()
    }

    /// Whether there are no header lines.
    pub fn is_empty(&self) -> bool {
        self.msg.headers.is_empty()
    }

    /// Every header line as (name as received, raw value as received, folding included).
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let buf = &self.msg.buf;
        self.msg
            .headers
            .iter()
            .map(move |h| (&buf[h.name.clone()], &buf[h.value.clone()]))
    }

    /// Raw values (as received) of the header lines called `name`, any spelling.
    pub fn raw(&self, name: HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        let buf = &self.msg.buf;
        self.msg
            .headers
            .iter()
            .filter(move |h| h.known == Some(name))
            .map(move |h| &buf[h.value.clone()])
    }

    /// Raw values of the header lines spelled `name` (case-insensitive; a known header also
    /// matches its compact form).
    pub fn get_named(&self, name: &str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let known = HeaderName::from_bytes(name.as_bytes());
        let name = name.to_owned();
        let buf = &self.msg.buf;
        self.msg
            .headers
            .iter()
            .filter(move |h| match known {
                Some(k) => h.known == Some(k),
                None => buf[h.name.clone()].eq_ignore_ascii_case(name.as_bytes()),
            })
            .map(move |h| &buf[h.value.clone()])
    }

    /// Unfolded UTF-8 values of the lines called `name`, one per line.
    pub fn lines(
        &self,
        name: HeaderName,
    ) -> impl Iterator<Item = Result<&'a str, ParseError>> + 'a {
        let view = &self.msg.view;
        self.msg
            .headers
            .iter()
            .filter(move |h| h.known == Some(name))
            .map(move |h| {
                std::str::from_utf8(&view[h.value.clone()])
                    .map_err(|_| malformed(name, "not utf-8"))
            })
    }

    /// Unfolded values of `name`, comma-separated lists split (RFC 3261 §7.3.1), trimmed.
    pub fn values(
        &self,
        name: HeaderName,
    ) -> impl Iterator<Item = Result<&'a str, ParseError>> + 'a {
        self.lines(name).flat_map(|line| {
            let (ok, err) = match line {
                Ok(l) => (
                    Some(grammar::split_top(l, b',').map(|v| Ok(grammar::trim(v)))),
                    None,
                ),
                Err(e) => (None, Some(Err(e))),
            };
            ok.into_iter().flatten().chain(err)
        })
    }

    /// The value of a header that must appear exactly once.
    pub fn single(&self, name: HeaderName) -> Result<&'a str, ParseError> {
        let mut lines = self.lines(name);
        let first = lines.next().ok_or(missing(name))??;
        if lines.next().is_some() {
            return Err(malformed(name, "appears more than once"));
        }
        Ok(first)
    }

    /// The whole line (name, colon, value, folding) of the first header called `name`, and
    /// the offset of its value's end within it.
    pub(crate) fn first_line(&self, name: HeaderName) -> Option<(&'a [u8], usize)> {
        let h = self.msg.headers.iter().find(|h| h.known == Some(name))?;
        Some((&self.msg.buf[h.line.clone()], h.value.end - h.line.start))
    }

    /// Where every whole line of `name` lies in the message.
    pub(crate) fn whole_line_spans(
        &self,
        name: HeaderName,
    ) -> impl Iterator<Item = Range<usize>> + 'a {
        self.msg
            .headers
            .iter()
            .filter(move |h| h.known == Some(name))
            .map(|h| h.line.clone())
    }
}

pub(crate) fn missing(header: HeaderName) -> ParseError {
    ParseError::Missing {
        header: header.as_str(),
    }
}

pub(crate) fn malformed(header: HeaderName, reason: &'static str) -> ParseError {
    ParseError::Malformed {
        header: header.as_str(),
        reason,
    }
}

fn start_line_error(reason: &'static str) -> ParseError {
    ParseError::StartLine { reason }
}

/// Request-Line = Method SP Request-URI SP SIP-Version CRLF          ; RFC 3261 §25.1
/// Status-Line  = SIP-Version SP Status-Code SP Reason-Phrase CRLF
fn parse_start_line(
    buf: &Bytes,
    range: Range<usize>,
    strict: bool,
) -> Result<StartLine, ParseError> {
    let line = &buf[range];
    if line.iter().any(|c| c.is_ascii_control()) {
        return Err(start_line_error("control character"));
    }
    let mut parts = line.splitn(3, |c| *c == b' ');
    let first = parts.next().unwrap_or_default();
    let second = parts.next().ok_or(start_line_error("too few elements"))?;
    let third = parts.next().ok_or(start_line_error("too few elements"))?;
    if first.len() > 4 && first[..4].eq_ignore_ascii_case(b"SIP/") {
        check_version(first)?;
        let code = std::str::from_utf8(second)
            .ok()
            .filter(|s| s.len() == 3 && s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .and_then(StatusCode::new)
            .ok_or(start_line_error("bad status code"))?;
        return Ok(StartLine::Response {
            status: code,
            reason: method::share(buf, third),
        });
    }
    if !grammar::is_token(first) {
        return Err(start_line_error("bad method"));
    }
    if second.is_empty() || third.contains(&b' ') {
        return Err(start_line_error("whitespace in request-uri"));
    }
    match check_version(third) {
        Err(ParseError::Version) if !strict => {}
        other => other?,
    }
    Ok(StartLine::Request {
        method: Method::from_token(buf, first),
        uri: method::share(buf, second),
    })
}

/// SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; only 2.0 is supported.
fn check_version(v: &[u8]) -> Result<(), ParseError> {
    let Some(rest) = v.get(4..).filter(|_| v[..4].eq_ignore_ascii_case(b"SIP/")) else {
        return Err(start_line_error("bad sip-version"));
    };
    let well_formed = rest
        .split(|c| *c == b'.')
        .map(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit))
        .collect::<Vec<_>>()
        == [true, true];
    match (well_formed, rest) {
        (true, b"2.0") => Ok(()),
        (true, _) => Err(ParseError::Version),
        (false, _) => Err(start_line_error("bad sip-version")),
    }
}

/// The offset of the first CR LF in `b`. A `memmem::find` builds its searcher on every call,
/// about 300 instructions, and a message has one line end per header (callgrind).
fn find_crlf(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = from + memchr::memchr(b'\r', b.get(from..)?)?;
        if b.get(at + 1) == Some(&b'\n') {
            return Some(at);
        }
        from = at + 1;
    }
}

/// message-header = field-name HCOLON field-value; HCOLON = *( SP / HTAB ) ":" SWS
fn parse_header_line(b: &[u8], line: Range<usize>) -> Result<RawHeader, ParseError> {
    let text = &b[line.clone()];
    if text.first().is_some_and(|c| matches!(c, b' ' | b'\t')) {
        return Err(ParseError::HeaderLine {
            reason: "continuation line without a header",
        });
    }
    let colon = memchr::memchr(b':', text).ok_or(ParseError::HeaderLine { reason: "no colon" })?;
    let mut name_end = colon;
    while name_end > 0 && matches!(text[name_end - 1], b' ' | b'\t') {
        name_end -= 1;
    }
    let name = &text[..name_end];
    if !grammar::is_token(name) {
        return Err(ParseError::HeaderLine {
            reason: "header name is not a token",
        });
    }
    // Only a CR or LF outside a CR LF pair is refused here, found with memchr rather than by
    // looking at every byte. Other control characters may sit in quoted-pairs (RFC 4475
    // §3.1.1.2); the typed decoders reject them where their grammar does.
    for k in memchr::memchr2_iter(b'\r', b'\n', text) {
        let bad = if text[k] == b'\r' {
            text.get(k + 1) != Some(&b'\n')
        } else {
            k == 0 || text[k - 1] != b'\r'
        };
        if bad {
            return Err(ParseError::HeaderLine {
                reason: "bare cr or lf in header",
            });
        }
    }
    let is_lws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let mut vs = colon + 1;
    while vs < text.len() && is_lws(&text[vs]) {
        vs += 1;
    }
    let mut ve = text.len();
    while ve > vs && is_lws(&text[ve - 1]) {
        ve -= 1;
    }
    Ok(RawHeader {
        known: HeaderName::from_bytes(name),
        name: line.start..line.start + name_end,
        value: line.start + vs..line.start + ve,
        line,
    })
}

#[cfg(test)]
mod tests;
