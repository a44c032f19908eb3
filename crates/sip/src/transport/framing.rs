//! Stream framing (RFC 3261 §18.3): on TCP and TLS a message ends after `Content-Length`
//! body bytes, and `Content-Length` is mandatory. Also the RFC 5626 §3.5.1 keep-alive: a
//! double CRLF "ping" is answered with a single CRLF "pong". Size limits live here, not in the
//! parser.

use bytes::{Bytes, BytesMut};

use crate::message::HeaderName;

/// One unit cut from a stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// CRLF CRLF: answer with CRLF.
    KeepAlive,
    /// A whole message, headers and body.
    Message(Bytes),
}

/// The stream cannot be framed; the connection must be closed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FramingError {
    /// A Content-Length that is not a number.
    #[error("bad content-length")]
    BadContentLength,
    /// No Content-Length (mandatory on streams).
    #[error("missing content-length")]
    MissingContentLength,
    /// The message would exceed the limit.
    #[error("message larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

/// Cuts the next frame off `buf`, or `None` when more bytes are needed.
pub(crate) fn decode(buf: &mut BytesMut, max: usize) -> Result<Option<Frame>, FramingError> {
    loop {
        if buf.starts_with(b"\r\n\r\n") {
            let _ = buf.split_to(4);
            return Ok(Some(Frame::KeepAlive));
        }
        if buf.len() < 4 && b"\r\n\r\n".starts_with(&buf[..]) {
            return Ok(None);
        }
        // A lone CRLF (a pong, or padding before a message, RFC 3261 §7.5) is skipped.
        if buf.starts_with(b"\r\n") {
            let _ = buf.split_to(2);
            continue;
        }
        break;
    }
    let window = &buf[..buf.len().min(max)];
    let Some(head_end) = memchr::memmem::find(window, b"\r\n\r\n") else {
        if buf.len() >= max {
            return Err(FramingError::TooLarge { limit: max });
        }
        return Ok(None);
    };
    let length = content_length(&buf[..head_end + 2])?;
    let total = head_end + 4 + length;
    if total > max {
        return Err(FramingError::TooLarge { limit: max });
    }
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some(Frame::Message(buf.split_to(total).freeze())))
}

/// Finds Content-Length (or `l`) among the header lines of `head` without a full parse.
fn content_length(head: &[u8]) -> Result<usize, FramingError> {
    let mut found = None;
    for line in head.split(|c| *c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        if line.first().is_some_and(|c| matches!(c, b' ' | b'\t')) {
            continue;
        }
        let name = line[..colon].trim_ascii_end();
        if HeaderName::from_bytes(name) != Some(HeaderName::ContentLength) {
            continue;
        }
        let value = line[colon + 1..].trim_ascii();
        if value.is_empty() || value.len() > 9 || !value.iter().all(u8::is_ascii_digit) {
            return Err(FramingError::BadContentLength);
        }
        let n = value
            .iter()
            .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
        if found.is_some_and(|f| f != n) {
            return Err(FramingError::BadContentLength);
        }
        found = Some(n);
    }
    found.ok_or(FramingError::MissingContentLength)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nl: 3\r\n\r\nabc";

    #[test]
    fn frames_by_content_length_byte_by_byte() {
        let mut buf = BytesMut::new();
        let mut stream = [b"\r\n\r\n".as_slice(), MSG, MSG].concat();
        stream.extend_from_slice(b"\r\n");
        let mut frames = Vec::new();
        for b in stream {
            buf.extend_from_slice(&[b]);
            while let Some(f) = decode(&mut buf, 1024).unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(
            frames,
            vec![
                Frame::KeepAlive,
                Frame::Message(Bytes::from_static(MSG)),
                Frame::Message(Bytes::from_static(MSG))
            ]
        );
        assert_eq!(&buf[..], b"\r\n");
    }

    #[test]
    fn errors() {
        let mut b = BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\nX: y\r\n\r\n"[..]);
        assert_eq!(
            decode(&mut b, 1024),
            Err(FramingError::MissingContentLength)
        );
        let mut b = BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n"[..]);
        assert_eq!(decode(&mut b, 1024), Err(FramingError::BadContentLength));
        let mut b = BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nl: 2\r\n\r\n"[..]);
        assert_eq!(decode(&mut b, 1024), Err(FramingError::BadContentLength));
        let mut b = BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\nl: 2000\r\n\r\n"[..]);
        assert_eq!(
            decode(&mut b, 1024),
            Err(FramingError::TooLarge { limit: 1024 })
        );
        let mut b = BytesMut::from(&[b'x'; 1024][..]);
        assert_eq!(
            decode(&mut b, 1024),
            Err(FramingError::TooLarge { limit: 1024 })
        );
        let mut b = BytesMut::from(&[b'x'; 1023][..]);
        assert_eq!(decode(&mut b, 1024), Ok(None));
    }
}
