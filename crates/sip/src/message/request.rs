//! A request that carries what a server needs to answer it (RFC 3261 §8.1.1, §8.2).

use std::ops::Range;

use super::uri::{Uri, UriError};
use super::{CSeq, HeaderName, Message, Method, ParseError, StartLine, Via, malformed};

/// A SIP request whose Request-URI, Via, From, To, Call-ID, CSeq and Max-Forwards parse, and
/// whose CSeq method matches the request line. Only [`Message::into_request`] makes one.
#[derive(Clone, Debug)]
pub struct Request {
    msg: Message,
    method: Method,
    uri: bytes::Bytes,
    cseq: CSeq,
    via: TopVia,
}

/// The top Via as parsed by [`Message::into_request`], as offsets into the message's unfolded
/// view: the transport layer, the transaction key and the response all read it, and parsing
/// it once is enough.
#[derive(Clone, Debug)]
struct TopVia {
    transport: Range<usize>,
    host: Range<usize>,
    port: Option<u16>,
    params: Range<usize>,
    branch: Option<Range<usize>>,
    rport: Option<Option<u16>>,
}

impl TopVia {
    fn of(view: &[u8], via: &Via<'_>) -> Self {
        // Every part of `via` borrows from `view`: its offset there is a pointer difference.
        let span = |part: &str| {
            let start = (part.as_ptr() as usize).saturating_sub(view.as_ptr() as usize);
            start..start + part.len()
        };
        Self {
            transport: span(via.transport()),
            host: span(via.host()),
            port: via.port(),
            params: span(via.params()),
            branch: via.branch().map(span),
            rport: via.rport(),
        }
    }
}

/// A message refused as a request, kept so an error response can echo what it has.
#[derive(Clone, Debug)]
pub struct Rejected {
    /// Why.
    pub error: ParseError,
    /// The message.
    pub message: Message,
}

impl Request {
    /// Parses bytes straight to a request.
    pub fn parse(buf: bytes::Bytes) -> Result<Self, ParseError> {
        Message::parse(buf)?.into_request().map_err(|r| r.error)
    }

    /// The topmost Via, parsed when the request was checked.
    pub fn via(&self) -> Via<'_> {
        let text = |r: &Range<usize>| {
            self.msg
                .view
                .get(r.clone())
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default()
        };
        let v = &self.via;
        Via::from_parts(
            text(&v.transport),
            text(&v.host),
            v.port,
            text(&v.params),
            v.branch.as_ref().map(text),
            v.rport,
        )
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The Request-URI (already checked to parse).
    pub fn uri(&self) -> Uri<'_> {
        // Checked by `into_request`; the fallback is never taken.
        std::str::from_utf8(&self.uri)
            .ok()
            .and_then(|s| Uri::parse(s).ok())
            .unwrap_or(Uri::PLACEHOLDER)
    }

    /// The Request-URI text as received.
    pub fn uri_str(&self) -> &str {
        std::str::from_utf8(&self.uri).unwrap_or_default()
    }

    /// The CSeq.
    pub fn cseq(&self) -> &CSeq {
        &self.cseq
    }

    /// The underlying message: headers, body and typed accessors.
    pub fn message(&self) -> &Message {
        &self.msg
    }

    /// Gives the message back.
    pub fn into_message(self) -> Message {
        self.msg
    }
}

impl std::ops::Deref for Request {
    type Target = Message;

    fn deref(&self) -> &Message {
        &self.msg
    }
}

impl Message {
    /// Checks that this message is a request a server can answer: the headers of RFC 3261
    /// §8.1.1 are present exactly once (Via at least once) and parse, CSeq's method equals the
    /// request's (RFC 4475 §3.1.2.x), and the Request-URI is a sip, sips or tel URI.
    pub fn into_request(self) -> Result<Request, Box<Rejected>> {
        match self.check_request() {
            Ok((method, uri, cseq, via)) => Ok(Request {
                msg: self,
                method,
                uri,
                cseq,
                via,
            }),
            Err(error) => Err(Box::new(Rejected {
                error,
                message: self,
            })),
        }
    }

    fn check_request(&self) -> Result<(Method, bytes::Bytes, CSeq, TopVia), ParseError> {
        let StartLine::Request { method, uri } = &self.start else {
            return Err(ParseError::StartLine {
                reason: "not a request",
            });
        };
        // Every Via must parse; the top one is kept.
        let mut top = None;
        for value in self.headers().values(HeaderName::Via) {
            let via = Via::parse(value?).map_err(|reason| malformed(HeaderName::Via, reason))?;
            top.get_or_insert_with(|| TopVia::of(&self.view, &via));
        }
        let via = top.ok_or(super::missing(HeaderName::Via))?;
        self.from()?;
        self.to()?;
        self.call_id()?;
        let cseq = self.cseq()?;
        if cseq.method != *method {
            return Err(malformed(
                HeaderName::CSeq,
                "method does not match the request line",
            ));
        }
        self.max_forwards()?;
        let text = std::str::from_utf8(uri).map_err(|_| ParseError::StartLine {
            reason: "request-uri is not utf-8",
        })?;
        match Uri::parse(text) {
            Ok(_) => {}
            Err(UriError::Scheme) if is_scheme(text) => return Err(ParseError::UnsupportedScheme),
            Err(_) => {
                return Err(ParseError::StartLine {
                    reason: "bad request-uri",
                });
            }
        }
        Ok((method.clone(), uri.clone(), cseq, via))
    }
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"` (RFC 3261 §25.1 absoluteURI).
fn is_scheme(uri: &str) -> bool {
    uri.split_once(':').is_some_and(|(s, _)| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
    })
}
