//! Arbitrary bytes as a SIP datagram: parse, decode every typed header, accept as a request or
//! not, and build the response the server would send. Must never panic; a built response must
//! parse back and echo Via, From, Call-ID and CSeq byte for byte.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sip::{HeaderName, Message, StatusCode};

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Message::parse(Bytes::copy_from_slice(data)) else {
        return;
    };
    let _ = (m.vias(), m.from(), m.to(), m.call_id(), m.cseq(), m.max_forwards());
    let _ = (m.contacts(), m.p_asserted_identities(), m.date_time(), m.identities());
    let (msg, status) = match m.into_request() {
        Ok(r) => {
            // What the check kept must be what parsing again gives.
            assert_eq!(Ok(r.via()), r.message().via());
            assert_eq!(Ok(r.from()), r.message().from());
            assert_eq!(Ok(r.to()), r.message().to());
            assert_eq!(Ok(r.uri()), sip::Uri::parse(r.uri_str()));
            (r.into_message(), StatusCode::MOVED_TEMPORARILY)
        }
        Err(rejected) => (rejected.message, rejected.error.status()),
    };
    let Ok(resp) = msg.respond(status).header(HeaderName::Contact, "<sip:x@y>").build() else {
        return;
    };
    let back = match Message::parse(resp.as_bytes().clone()) {
        Ok(back) => back,
        // Echoing up to MAX_HEADERS Via lines plus our own can exceed the cap on re-parse.
        Err(sip::ParseError::TooManyHeaders { .. }) => return,
        Err(e) => panic!("a built response does not parse: {e}"),
    };
    for name in [HeaderName::Via, HeaderName::From, HeaderName::CallId, HeaderName::CSeq] {
        let sent: Vec<_> = back.headers().raw(name).collect();
        let received: Vec<_> = msg.headers().raw(name).collect();
        if name == HeaderName::Via {
            assert_eq!(sent, received);
        } else {
            assert_eq!(sent.first(), received.first());
        }
    }
});
