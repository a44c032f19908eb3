//! A request that carries what a server needs to answer it (RFC 3261 §8.1.1, §8.2).

use std::net::{IpAddr, SocketAddr};

use super::grammar;
use super::name_addr::KeptNameAddr;
use super::uri::{KeptUri, Uri, UriError};
use super::via::KeptVia;
use super::{CSeq, HeaderName, Message, Method, NameAddr, ParseError, StartLine, Via, malformed};

/// A SIP request whose Request-URI, Via, From, To, Call-ID, CSeq and Max-Forwards parse, and
/// whose CSeq method matches the request line. Only [`Message::into_request`] makes one.
#[derive(Clone, Debug)]
pub struct Request {
    msg: Message,
    method: Method,
    cseq: CSeq,
    /// What responses add to the top Via (see [`Request::received_from`]): text to insert at
    /// offsets of the message, in order.
    via_inserts: Vec<(usize, String)>,
    /// What the check parsed, kept as offsets into the message's (unfolded) view: the
    /// transport, the transaction key, the answer and the application all read these, and
    /// parsing each once is enough.
    kept: Kept,
}

#[derive(Clone, Debug)]
struct Kept {
    uri: KeptUri,
    via: KeptVia,
    from: KeptNameAddr,
    to: KeptNameAddr,
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

    /// Notes where the request came from, for the top Via of every response built with
    /// [`Request::respond`]: `received` with the source IP when the sent-by is a name or
    /// another address (RFC 3261 §18.2.1), and both `received` and the source port in a
    /// valueless `rport` (RFC 3581 §4), so that a client behind NAT learns its public address.
    pub fn received_from(&mut self, source: SocketAddr) {
        self.via_inserts = received_inserts(&self.msg.view, &self.kept.via, source);
    }

    /// Starts a response, as [`Message::respond`] does, with the top Via completed as
    /// [`Request::received_from`] noted.
    pub fn respond(&self, status: super::StatusCode) -> super::ResponseBuilder<'_> {
        self.msg
            .respond(status)
            .via_inserts(&self.via_inserts)
            .request_to_tagged(self.to().tag().is_some())
    }

    /// The topmost Via (checked to parse).
    pub fn via(&self) -> Via<'_> {
        self.kept.via.get(&self.msg.view)
    }

    /// The From header (checked to parse).
    pub fn from(&self) -> NameAddr<'_> {
        self.kept.from.get(&self.msg.view)
    }

    /// The To header (checked to parse).
    pub fn to(&self) -> NameAddr<'_> {
        self.kept.to.get(&self.msg.view)
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The Request-URI (checked to parse).
    pub fn uri(&self) -> Uri<'_> {
        self.kept.uri.get(&self.msg.view)
    }

    /// The Request-URI text as received.
    pub fn uri_str(&self) -> &str {
        self.kept.uri.raw(&self.msg.view)
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
            Ok((method, cseq, kept)) => Ok(Request {
                msg: self,
                method,
                cseq,
                via_inserts: Vec::new(),
                kept,
            }),
            Err(error) => Err(Box::new(Rejected {
                error,
                message: self,
            })),
        }
    }

    /// For a message refused as a request ([`Message::into_request`] failed): what
    /// [`Request::received_from`] would add to the top Via of its response, for
    /// [`ResponseBuilder::via_inserts`](super::ResponseBuilder); none when the top Via does
    /// not parse.
    pub(crate) fn received_inserts(&self, source: SocketAddr) -> Vec<(usize, String)> {
        let Some(Ok(value)) = self.headers().values(HeaderName::Via).next() else {
            return Vec::new();
        };
        let Ok(via) = Via::parse(value) else {
            return Vec::new();
        };
        received_inserts(&self.view, &KeptVia::new(&self.view, value, &via), source)
    }

    fn check_request(&self) -> Result<(Method, CSeq, Kept), ParseError> {
        let StartLine::Request { method, uri } = &self.start else {
            return Err(ParseError::StartLine {
                reason: "not a request",
            });
        };
        // Every Via must parse; the top one is kept.
        let mut top = None;
        for value in self.headers().values(HeaderName::Via) {
            let value = value?;
            let via = Via::parse(value).map_err(|reason| malformed(HeaderName::Via, reason))?;
            top.get_or_insert_with(|| KeptVia::new(&self.view, value, &via));
        }
        let via = top.ok_or(super::missing(HeaderName::Via))?;
        let from = KeptNameAddr::new(&self.view, &Message::from(self)?);
        let to = KeptNameAddr::new(&self.view, &Message::to(self)?);
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
        let uri = match Uri::parse(text) {
            Ok(uri) => uri,
            Err(UriError::Scheme) if is_scheme(text) => return Err(ParseError::UnsupportedScheme),
            Err(_) => {
                return Err(ParseError::StartLine {
                    reason: "bad request-uri",
                });
            }
        };
        // `uri` borrows the start line of `buf`; the view holds the same bytes there (only
        // folded header lines differ), so its offsets hold in the view too.
        let uri = KeptUri::new(&self.buf, &uri);
        Ok((method.clone(), cseq, Kept { uri, via, from, to }))
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

/// What [`Request::received_from`] adds to the top Via (`kept`, over `view`) of a response to
/// a request from `source`, as insertions at offsets of `view`; none in the common case (the
/// sent-by is the source and no rport is asked for), which then costs no allocation.
fn received_inserts(view: &[u8], kept: &KeptVia, source: SocketAddr) -> Vec<(usize, String)> {
    let via = kept.get(view);
    let ip = source.ip().to_canonical();
    let rport_requested = via.rport() == Some(None);
    let sent_by: Option<IpAddr> = via
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok();
    let same_address = sent_by.map(|a| a.to_canonical()) == Some(ip);
    if !rport_requested && (same_address || via.received().is_some()) {
        return Vec::new();
    }
    let mut inserts = Vec::new();
    if rport_requested {
        let name_end = grammar::params(via.params())
            .find(|(name, _)| name.eq_ignore_ascii_case("rport"))
            .map(|(name, _)| grammar::span(view, name).end);
        if let Some(at) = name_end {
            inserts.push((at, format!("={}", source.port())));
        }
    }
    if via.received().is_none() {
        inserts.push((kept.end(), format!(";received={ip}")));
    }
    inserts
}
