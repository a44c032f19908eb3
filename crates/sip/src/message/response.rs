//! Responses built from a request: Via, From, To, Call-ID and CSeq are copied byte for byte
//! (RFC 3261 §8.2.6.2), a To tag is added when absent, then the caller's headers and
//! `Content-Length: 0`.

use std::hash::{DefaultHasher, Hash, Hasher};

use bytes::{BufMut, Bytes, BytesMut};

use super::grammar::is_token;
use super::{HeaderName, Message, StatusCode};

/// A response ready for the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    status: StatusCode,
    bytes: Bytes,
}

impl Response {
    /// A status line and `Content-Length: 0` only (no echoed headers): a last resort.
    pub fn empty(status: StatusCode) -> Self {
        let text = format!(
            "SIP/2.0 {} {}\r\nContent-Length: 0\r\n\r\n",
            status.as_u16(),
            status.canonical_reason()
        );
        Self {
            status,
            bytes: Bytes::from(text),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The bytes to send.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }
}

/// A header the caller tried to add is not `token: value` without CR, LF or NUL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid header {name:?}")]
pub struct BuildError {
    /// The name as given.
    pub name: String,
}

/// Builds a [`Response`] to one request; see [`Message::respond`].
#[derive(Debug)]
pub struct ResponseBuilder<'m> {
    req: &'m Message,
    status: StatusCode,
    reason: Option<String>,
    to_tag: Option<String>,
    extra: BytesMut,
    error: Option<BuildError>,
    /// Text to insert into the first Via line, at offsets of the request.
    via_inserts: &'m [(usize, String)],
    /// Whether the request's To has a tag, when the caller knows it already (a `Request`
    /// parsed its To once); else `build` parses the To.
    request_to_tagged: Option<bool>,
}

impl Message {
    /// Starts a response to this message (normally a request; a message refused by
    /// [`Message::into_request`] can still get its 4xx with whatever headers it has).
    pub fn respond(&self, status: StatusCode) -> ResponseBuilder<'_> {
        ResponseBuilder {
            req: self,
            status,
            reason: None,
            to_tag: None,
            extra: BytesMut::new(),
            error: None,
            via_inserts: &[],
            request_to_tagged: None,
        }
    }
}

impl<'m> ResponseBuilder<'m> {
    /// Text to insert into the echoed first Via line at offsets of the request (`Request`
    /// uses it for `received` and `rport`).
    pub(crate) fn via_inserts(mut self, inserts: &'m [(usize, String)]) -> Self {
        self.via_inserts = inserts;
        self
    }

    /// Whether the request's To carries a tag, as the caller already parsed it.
    pub(crate) fn request_to_tagged(mut self, tagged: bool) -> Self {
        self.request_to_tagged = Some(tagged);
        self
    }

    /// Replaces the canonical reason phrase (CR and LF are replaced by spaces).
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into().replace(['\r', '\n'], " "));
        self
    }

    /// The To tag to add when the request's To has none. Without it, a tag is derived from
    /// the Call-ID, the From tag and the top Via branch: a retransmitted request gets the same
    /// tag, and different dialogs get different ones.
    pub fn to_tag(mut self, tag: impl Into<String>) -> Self {
        self.to_tag = Some(tag.into());
        self
    }

    /// Adds a header after the echoed ones.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<[u8]>) -> Self {
        let (name, value) = (name.as_ref(), value.as_ref());
        if !is_token(name.as_bytes()) || memchr::memchr3(b'\r', b'\n', 0, value).is_some() {
            self.error.get_or_insert(BuildError {
                name: name.to_owned(),
            });
            return self;
        }
        self.extra.reserve(name.len() + value.len() + 4);
        self.extra.put_slice(name.as_bytes());
        self.extra.put_slice(b": ");
        self.extra.put_slice(value);
        self.extra.put_slice(b"\r\n");
        self
    }

    /// Prints the response.
    pub fn build(self) -> Result<Response, BuildError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let headers = self.req.headers();
        let mut out =
            BytesMut::with_capacity(self.req.as_bytes().len().min(2048) + self.extra.len() + 64);
        out.put_slice(b"SIP/2.0 ");
        out.put_slice(self.status.as_u16().to_string().as_bytes());
        out.put_u8(b' ');
        match &self.reason {
            Some(r) => out.put_slice(r.as_bytes()),
            None => out.put_slice(self.status.canonical_reason().as_bytes()),
        }
        out.put_slice(b"\r\n");
        for (n, line) in headers.whole_line_spans(HeaderName::Via).enumerate() {
            let mut from = line.start;
            if n == 0 {
                for (at, text) in self.via_inserts {
                    if (from..=line.end).contains(at) {
                        out.put_slice(&self.req.as_bytes()[from..*at]);
                        out.put_slice(text.as_bytes());
                        from = *at;
                    }
                }
            }
            out.put_slice(&self.req.as_bytes()[from..line.end]);
            out.put_slice(b"\r\n");
        }
        if let Some((line, _)) = headers.first_line(HeaderName::From) {
            out.put_slice(line);
            out.put_slice(b"\r\n");
        }
        if let Some((line, value_end)) = headers.first_line(HeaderName::To) {
            let untagged = match self.request_to_tagged {
                Some(tagged) => !tagged,
                None => self.req.to().is_ok_and(|to| to.tag().is_none()),
            };
            let needs_tag = !self.status.is_provisional() && untagged;
            if needs_tag {
                out.put_slice(&line[..value_end]);
                out.put_slice(b";tag=");
                match &self.to_tag {
                    Some(t) => out.put_slice(t.as_bytes()),
                    None => out.put_slice(derived_tag(self.req).as_bytes()),
                }
                out.put_slice(&line[value_end..]);
            } else {
                out.put_slice(line);
            }
            out.put_slice(b"\r\n");
        }
        for name in [HeaderName::CallId, HeaderName::CSeq] {
            if let Some((line, _)) = headers.first_line(name) {
                out.put_slice(line);
                out.put_slice(b"\r\n");
            }
        }
        out.put_slice(&self.extra);
        out.put_slice(b"Content-Length: 0\r\n\r\n");
        Ok(Response {
            status: self.status,
            bytes: out.freeze(),
        })
    }
}

/// A hash of the Call-ID, From and top Via values as received: a retransmission (the same
/// bytes) gets the same tag, another call or transaction another one; nothing is parsed.
fn derived_tag(req: &Message) -> String {
    let mut h = DefaultHasher::new();
    for name in [HeaderName::CallId, HeaderName::From, HeaderName::Via] {
        req.headers().raw(name).next().hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

impl AsRef<str> for HeaderName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}
