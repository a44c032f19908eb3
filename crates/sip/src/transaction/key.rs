//! Server transaction matching (RFC 3261 §17.2.3).
//!
//! With a branch starting with the magic cookie, a request matches a transaction when the top
//! Via's branch and sent-by equal the transaction's and the method equals the one that created
//! it, ACK matching INVITE. Older (RFC 2543) requests fall back to Call-ID, CSeq number, From
//! tag and the whole top Via value.

use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::LazyLock;

use bytes::Bytes;

use crate::message::{Message, Method, Request, Via};

/// Identifies one server transaction. Hashed once, when made: the table looks a transaction
/// up five to seven times in its life (INVITE, answer, ACK, timers), and hashing the key's
/// fields each time cost ~3 k instructions per signed call (0.8 %, callgrind).
#[derive(Clone, Debug)]
pub(crate) struct Key {
    /// [`Matching`] under SipHash with this process's random keys, as std's `HashMap` hashes
    /// (keys come from the network: hash flooding must not be cheap).
    hash: u64,
    matching: Matching,
}

/// What RFC 3261 §17.2.3 compares.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Matching {
    /// RFC 3261 §17.2.3 (branch with `z9hG4bK`).
    Rfc3261 {
        branch: Bytes,
        host: String,
        port: Option<u16>,
        method: Method,
    },
    /// RFC 3261 §17.2.3 fallback for RFC 2543 clients (an approximation: the To tag of ACK
    /// against the response's is not compared).
    Rfc2543 {
        call_id: Bytes,
        seq: u32,
        from_tag: Option<Bytes>,
        via: Bytes,
        method: Method,
    },
}

static SIPHASH_KEYS: LazyLock<RandomState> = LazyLock::new(RandomState::new);

impl From<Matching> for Key {
    fn from(matching: Matching) -> Self {
        Self {
            hash: SIPHASH_KEYS.hash_one(&matching),
            matching,
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.matching == other.matching
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The hasher of tables keyed by [`Key`]: it passes the key's own hash through.
pub(crate) type PassKeyHash = BuildHasherDefault<KeyHash>;

#[derive(Default)]
pub(crate) struct KeyHash(u64);

impl Hasher for KeyHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    /// Not used by [`Key`]; folds bytes in so that any other use still hashes.
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
}

impl Key {
    /// The key of the transaction `req` belongs to (ACK maps to its INVITE's). `None` when
    /// the top Via does not parse, which `Request` rules out.
    pub(crate) fn of(req: &Request) -> Option<Self> {
        Self::with_method(req, key_method(req.method()))
    }

    /// The key of the INVITE transaction a CANCEL targets (RFC 3261 §9.2).
    pub(crate) fn cancelled_invite(req: &Request) -> Option<Self> {
        Self::with_method(req, Method::Invite)
    }

    /// The key of the INVITE transaction an ACK belongs to, read from the message alone.
    /// An ACK is never answered (RFC 3261 §17.1.1.3) and matching needs only the top Via and
    /// the method, so the rest of it is not checked: a malformed ACK that names a transaction
    /// confirms it, one that names none is dropped. `None` when the top Via does not parse.
    pub(crate) fn of_ack(msg: &Message) -> Option<Self> {
        Self::from_via(msg, &msg.via().ok()?, Method::Invite)
    }

    fn with_method(req: &Request, method: Method) -> Option<Self> {
        Self::from_via(req, &req.via(), method)
    }

    fn from_via(msg: &Message, via: &Via<'_>, method: Method) -> Option<Self> {
        if via.is_rfc3261() {
            let branch = via.branch()?;
            return Some(
                Matching::Rfc3261 {
                    branch: Bytes::copy_from_slice(branch.as_bytes()),
                    host: via.host().to_ascii_lowercase(),
                    port: via.port(),
                    method,
                }
                .into(),
            );
        }
        let top = msg.headers().values(crate::HeaderName::Via).next()?.ok()?;
        Some(
            Matching::Rfc2543 {
                call_id: Bytes::copy_from_slice(msg.call_id().ok()?.as_bytes()),
                seq: msg.cseq().ok()?.seq,
                from_tag: msg
                    .from()
                    .ok()?
                    .tag()
                    .map(|t| Bytes::copy_from_slice(t.as_bytes())),
                via: Bytes::copy_from_slice(top.as_bytes()),
                method,
            }
            .into(),
        )
    }
}

fn key_method(m: &Method) -> Method {
    match m {
        Method::Ack => Method::Invite,
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> Request {
        Request::parse(Bytes::from(text.replace('\n', "\r\n"))).unwrap()
    }

    const INVITE: &str = "INVITE sip:b@example.com SIP/2.0
Via: SIP/2.0/UDP Host.Example.com:5060;branch=z9hG4bK74bf9
From: <sip:a@example.com>;tag=9fxced76sl
To: <sip:b@example.com>
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE

";

    #[test]
    fn ack_and_cancel_match_the_invite() {
        let invite = Key::of(&req(INVITE)).unwrap();
        let ack = req(&INVITE
            .replace("INVITE sip", "ACK sip")
            .replace("1 INVITE", "1 ACK")
            .replace("<sip:b@example.com>\n", "<sip:b@example.com>;tag=x\n"));
        assert_eq!(Key::of(&ack), Some(invite.clone()));
        let cancel = req(&INVITE
            .replace("INVITE sip", "CANCEL sip")
            .replace("1 INVITE", "1 CANCEL"));
        assert_ne!(Key::of(&cancel), Some(invite.clone()));
        assert_eq!(Key::cancelled_invite(&cancel), Some(invite.clone()));
        // sent-by host compares case-insensitively; the branch does not match another.
        let lower = req(&INVITE.replace("Host.Example.com", "host.example.com"));
        assert_eq!(Key::of(&lower), Some(invite.clone()));
        let other = req(&INVITE.replace("z9hG4bK74bf9", "z9hG4bK74bf8"));
        assert_ne!(Key::of(&other), Some(invite.clone()));
        let other_port = req(&INVITE.replace(":5060", ":5070"));
        assert_ne!(Key::of(&other_port), Some(invite));
    }

    #[test]
    fn an_ack_is_keyed_from_its_top_via_without_the_rest_checked() {
        let invite = Key::of(&req(INVITE)).unwrap();
        let ack = INVITE
            .replace("INVITE sip", "ACK sip")
            .replace("CSeq: 1 INVITE\n", "");
        let msg = Message::parse(Bytes::from(ack.replace('\n', "\r\n"))).unwrap();
        assert!(msg.clone().into_request().is_err(), "not a valid request");
        assert_eq!(Key::of_ack(&msg), Some(invite));
        let no_via = ack.replace(
            "Via: SIP/2.0/UDP Host.Example.com:5060;branch=z9hG4bK74bf9\n",
            "",
        );
        let msg = Message::parse(Bytes::from(no_via.replace('\n', "\r\n"))).unwrap();
        assert_eq!(Key::of_ack(&msg), None);
    }

    #[test]
    fn a_key_is_hashed_once_and_tables_use_that_hash() {
        let a = Key::of(&req(INVITE)).unwrap();
        let b = Key::of(&req(INVITE)).unwrap();
        assert_eq!(a.hash, b.hash);
        let other = Key::of(&req(&INVITE.replace("z9hG4bK74bf9", "z9hG4bK74bf8"))).unwrap();
        assert_ne!(a.hash, other.hash);
        assert_eq!(PassKeyHash::default().hash_one(&a), a.hash);
        let mut table = std::collections::HashMap::with_hasher(PassKeyHash::default());
        table.insert(std::sync::Arc::new(a), 1);
        assert_eq!(table.get(&b), Some(&1));
        assert_eq!(table.get(&other), None);
    }

    #[test]
    fn rfc2543_fallback() {
        let old = INVITE.replace("z9hG4bK74bf9", "74bf9");
        let k = Key::of(&req(&old)).unwrap();
        assert!(matches!(k.matching, Matching::Rfc2543 { seq: 1, .. }));
        let ack = old
            .replace("INVITE sip", "ACK sip")
            .replace("1 INVITE", "1 ACK");
        assert_eq!(Key::of(&req(&ack)), Some(k.clone()));
        let next = old.replace("CSeq: 1 INVITE", "CSeq: 2 INVITE");
        assert_ne!(Key::of(&req(&next)), Some(k));
    }
}
