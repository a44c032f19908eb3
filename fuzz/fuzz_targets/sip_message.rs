//! Arbitrary bytes as a SIP datagram: parse, decode every typed header, accept as a request or
//! not, and build the response the server would send (for a request, with the top Via completed
//! for a source as the server does). Must never panic; a built response must parse back and echo
//! From, Call-ID, CSeq and the Vias byte for byte, the top one but for `received`/`rport`.
#![no_main]

use std::net::SocketAddr;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sip::{HeaderName, Message, StatusCode};

/// A documentation address (RFC 5737), as the datagram's source: never connected to.
const SOURCE: ([u8; 4], u16) = ([192, 0, 2, 7], 5071);

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Message::parse(Bytes::copy_from_slice(data)) else {
        return;
    };
    let _ = (
        m.vias(),
        m.from(),
        m.to(),
        m.call_id(),
        m.cseq(),
        m.max_forwards(),
    );
    let _ = (
        m.contacts(),
        m.p_asserted_identities(),
        m.date_time(),
        m.identities(),
    );
    let (msg, resp) = match m.into_request() {
        Ok(mut r) => {
            // What the check kept must be what parsing again gives.
            assert_eq!(Ok(r.via()), r.message().via());
            assert_eq!(Ok(r.from()), r.message().from());
            assert_eq!(Ok(r.to()), r.message().to());
            assert_eq!(Ok(r.uri()), sip::Uri::parse(r.uri_str()));
            r.received_from(SocketAddr::from(SOURCE));
            let built = r
                .respond(StatusCode::MOVED_TEMPORARILY)
                .header(HeaderName::Contact, "<sip:x@y>")
                .build();
            (r.into_message(), built)
        }
        Err(rejected) => {
            let status = rejected.error.status();
            let built = rejected
                .message
                .respond(status)
                .header(HeaderName::Contact, "<sip:x@y>")
                .build();
            (rejected.message, built)
        }
    };
    let Ok(resp) = resp else {
        return;
    };
    let back = match Message::parse(resp.as_bytes().clone()) {
        Ok(back) => back,
        // Echoing up to MAX_HEADERS Via lines plus our own can exceed the cap on re-parse.
        Err(sip::ParseError::TooManyHeaders { .. }) => return,
        Err(e) => panic!("a built response does not parse: {e}"),
    };
    for name in [
        HeaderName::Via,
        HeaderName::From,
        HeaderName::CallId,
        HeaderName::CSeq,
    ] {
        let sent: Vec<_> = back.headers().raw(name).collect();
        let received: Vec<_> = msg.headers().raw(name).collect();
        if name == HeaderName::Via {
            assert_eq!(sent.get(1..), received.get(1..));
            if sent.first() != received.first() {
                // Only `received`/`rport` were added: the same sent-by and branch, and a
                // received parameter or an rport with a value now.
                let s = back.via().expect("the completed top Via parses");
                let r = msg
                    .via()
                    .expect("only an accepted request's Via is completed");
                assert_eq!(
                    (s.host(), s.port(), s.branch()),
                    (r.host(), r.port(), r.branch())
                );
                assert!(s.received().is_some() || matches!(s.rport(), Some(Some(_))));
            }
        } else {
            assert_eq!(sent.first(), received.first());
        }
    }
});
