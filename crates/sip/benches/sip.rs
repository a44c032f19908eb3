//! Per-message CPU of the redirect hot path: parse an INVITE, accept it as a request, build
//! the 302 (Contact = Request-URI, plus an Identity header as the signer would add).
//!
//! Run: `cargo bench -p sip --bench sip` (quiet machine; criterion reports the median).
#![allow(missing_docs, clippy::unwrap_used)]

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use sip::{HeaderName, Message, Request, StatusCode};

const INVITE: &str = "INVITE sip:+12155551212@ss.example.net;user=phone SIP/2.0\r
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1---a2e8f1a0b1c2d3e4;rport\r
Max-Forwards: 70\r
Contact: <sip:+12155550100@192.0.2.10:5060;transport=udp>\r
To: <sip:+12155551212@ss.example.net;user=phone>\r
From: \"Alice\" <sip:+12155550100@a.example.com;user=phone>;tag=1928301774\r
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r
CSeq: 314159 INVITE\r
P-Asserted-Identity: <sip:+12155550100@a.example.com;user=phone>\r
Date: Sat, 13 Nov 2010 23:29:00 GMT\r
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r
Supported: replaces, timer\r
User-Agent: Example SBC 1.0\r
Content-Type: application/sdp\r
Content-Length: 129\r
\r
v=0\r
o=- 1 1 IN IP4 192.0.2.10\r
s=-\r
c=IN IP4 192.0.2.10\r
t=0 0\r
m=audio 49170 RTP/AVP 0 8 101\r
a=rtpmap:101 telephone-event/8000\r
a=sendrecv\r
";

const IDENTITY: &str = "eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9jZXJ0LmV4YW1wbGUub3JnL3Bhc3Nwb3J0LmNlciJ9.eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ0biI6WyIxMjE1NTU1MTIxMiJdfSwiaWF0IjoxNDQzMjA4MzQ1LCJvcmlnIjp7InRuIjoiMTIxNTU1NTAxMDAifSwib3JpZ2lkIjoiMTIzZTQ1NjctZTg5Yi0xMmQzLWE0NTYtNDI2NjU1NDQwMDAwIn0.MEUCIQCbJ3Yj5mzFO8dXZtQY8yB5t_2qT9oQ2KZxk4dHmM8o0wIgQ6w3m1mR0T5U1P8nY2b4c3d2e1f0a9b8c7d6e5f4a3b;info=<https://cert.example.org/passport.cer>;alg=ES256;ppt=shaken";

fn bench(c: &mut Criterion) {
    let datagram = Bytes::from_static(INVITE.as_bytes());
    c.bench_function("parse INVITE (Message::parse)", |b| {
        b.iter(|| Message::parse(datagram.clone()).unwrap())
    });
    c.bench_function("parse + into_request", |b| {
        b.iter(|| Request::parse(datagram.clone()).unwrap())
    });
    c.bench_function(
        "parse + into_request + 302 with Contact and Identity",
        |b| {
            b.iter(|| {
                let req = Request::parse(datagram.clone()).unwrap();
                let user = req.uri().user().map(str::len);
                let resp = req
                    .respond(StatusCode::MOVED_TEMPORARILY)
                    .header(HeaderName::Contact, format!("<{}>", req.uri_str()))
                    .header(HeaderName::Identity, IDENTITY)
                    .build()
                    .unwrap();
                (user, resp)
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
