//! The STI-PA's list of approved STI-CAs (`standards.md` §4.3): a compact JWS, ES256, whose
//! `x5u` names the STI-PA signing certificate. Its certificates become the verifier's trust
//! anchors; the STI-PA root only authenticates the list's signer.
//!
//! ```text
//! header  {"alg":"ES256","x5u":"https://…/certificate.crt", …}
//! payload {"version":…, "sequence":<int>, "exp":<NumericDate>,
//!          "trustList":["-----BEGIN CERTIFICATE-----…", …]}
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use passport::{CompactJws, UnixTime, VerifyingKey};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use serde_json::Value;

/// Most entries accepted in a list; the real one holds a few dozen CAs.
pub const MAX_CA_LIST_ENTRIES: usize = 1_000;

/// Why a CA list is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CaListError {
    /// The JWS is malformed or its signature fails.
    #[error("CA list JWS: {0}")]
    Jws(#[from] passport::Error),
    /// The header has no `x5u` naming the signer.
    #[error("CA list header has no x5u")]
    MissingX5u,
    /// A payload member is missing or of the wrong type.
    #[error("CA list member {member} {reason}")]
    Member {
        /// The member's name.
        member: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry of `trustList` is neither a PEM certificate nor base64 DER.
    #[error("trustList entry {index} is not a certificate")]
    Entry {
        /// Its position.
        index: usize,
    },
    /// More entries than [`MAX_CA_LIST_ENTRIES`].
    #[error("trustList has {count} entries, at most {max} are accepted")]
    TooMany {
        /// How many there were.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The list's `exp` has passed.
    #[error("CA list expired at {exp}, now is {now}")]
    Expired {
        /// The list's expiry.
        exp: u64,
        /// The time of the check.
        now: u64,
    },
    /// A list with a lower sequence than the one held: a replay or a rollback.
    #[error("CA list sequence {offered} is older than the held {held}")]
    Rollback {
        /// The sequence offered.
        offered: u64,
        /// The sequence held.
        held: u64,
    },
}

/// A CA list whose JWS header was read but whose signature was not checked.
#[derive(Debug)]
pub struct UnverifiedCaList<'a> {
    jws: CompactJws<'a>,
    x5u: String,
}

impl<'a> UnverifiedCaList<'a> {
    /// Parses the compact JWS from the `caList` member of the STI-PA response.
    pub fn parse(jws: &'a str) -> Result<Self, CaListError> {
        let jws = CompactJws::parse(jws.trim())?;
        let x5u = jws
            .header_str("x5u")
            .ok_or(CaListError::MissingX5u)?
            .to_owned();
        Ok(Self { jws, x5u })
    }

    /// The URL of the signer's certificate chain; the caller fetches it and validates it
    /// to the pinned STI-PA root before calling [`UnverifiedCaList::verify`].
    pub fn x5u(&self) -> &str {
        &self.x5u
    }

    /// Checks the signature with the (already validated) signer key and the payload, and
    /// that the list has not expired at `now`.
    pub fn verify(self, signer: &VerifyingKey, now: UnixTime) -> Result<CaList, CaListError> {
        self.jws.verify_es256(signer)?;
        let payload = self.jws.payload_json()?;
        let member = |name: &'static str| payload.get(name);
        let number = |name: &'static str| -> Result<u64, CaListError> {
            member(name)
                .ok_or(CaListError::Member {
                    member: name,
                    reason: "is missing",
                })?
                .as_u64()
                .ok_or(CaListError::Member {
                    member: name,
                    reason: "is not a non-negative integer",
                })
        };
        let sequence = number("sequence")?;
        let exp = number("exp")?;
        if now.as_secs() > exp {
            return Err(CaListError::Expired {
                exp,
                now: now.as_secs(),
            });
        }
        let entries = member("trustList")
            .and_then(Value::as_array)
            .ok_or(CaListError::Member {
                member: "trustList",
                reason: "is not an array",
            })?;
        if entries.len() > MAX_CA_LIST_ENTRIES {
            return Err(CaListError::TooMany {
                count: entries.len(),
                max: MAX_CA_LIST_ENTRIES,
            });
        }
        let certificates = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                entry
                    .as_str()
                    .and_then(certificate)
                    .ok_or(CaListError::Entry { index })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CaList {
            sequence,
            exp,
            certificates,
        })
    }
}

/// A verified, unexpired CA list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaList {
    sequence: u64,
    exp: u64,
    certificates: Vec<CertificateDer<'static>>,
}

impl CaList {
    /// The list's sequence number; a newer list has a higher one.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// When the list stops being valid, seconds since the epoch.
    pub fn exp(&self) -> u64 {
        self.exp
    }

    /// The approved STI-CA certificates, the verifier's trust anchors.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }

    /// Whether this list may replace `held`: refuses an older sequence (a replayed list).
    pub fn may_replace(&self, held: &CaList) -> Result<(), CaListError> {
        if self.sequence < held.sequence {
            return Err(CaListError::Rollback {
                offered: self.sequence,
                held: held.sequence,
            });
        }
        Ok(())
    }
}

/// One `trustList` entry: a PEM certificate, or bare base64 DER (one client's tolerance).
fn certificate(entry: &str) -> Option<CertificateDer<'static>> {
    if entry.contains("-----BEGIN") {
        return CertificateDer::from_pem_slice(entry.as_bytes()).ok();
    }
    let compact: String = entry.split_whitespace().collect();
    let der = STANDARD.decode(compact).ok()?;
    // A certificate is a DER SEQUENCE.
    (der.first() == Some(&0x30)).then(|| CertificateDer::from(der))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use passport::{SigningKey, sign_compact};
    use serde_json::json;

    use super::*;

    const ROOT: &str = include_str!("../tests/data/real/STI-PA_ROOT.pem");

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    fn signed(key: &SigningKey, payload: Value) -> String {
        sign_compact(
            key,
            &json!({"alg":"ES256","typ":"JWT","x5u":"https://pa.example/ca-list-signer.pem"}),
            payload.to_string().as_bytes(),
        )
        .expect("signs")
    }

    #[test]
    fn verifies_and_reads_pem_and_bare_base64_entries() {
        let key = SigningKey::generate().expect("keygen");
        let der = CertificateDer::from_pem_slice(ROOT.as_bytes()).expect("pem");
        let bare = STANDARD.encode(der.as_ref());
        let jws = signed(
            &key,
            json!({"version":1,"sequence":7,"exp":2000,"trustList":[ROOT, bare]}),
        );
        let list = UnverifiedCaList::parse(&jws).expect("parses");
        assert_eq!(list.x5u(), "https://pa.example/ca-list-signer.pem");
        let list = list
            .verify(&key.verifying_key().expect("vk"), at(1000))
            .expect("verifies");
        assert_eq!(list.sequence(), 7);
        assert_eq!(list.certificates(), &[der.clone(), der]);
    }

    #[test]
    fn refuses_wrong_signer_expiry_bad_entries_and_rollback() {
        let key = SigningKey::generate().expect("keygen");
        let vk = key.verifying_key().expect("vk");
        let other = SigningKey::generate()
            .expect("keygen")
            .verifying_key()
            .expect("vk");
        let good = json!({"sequence":7,"exp":2000,"trustList":[ROOT]});
        let jws = signed(&key, good.clone());
        let verify = |jws: &str, k: &VerifyingKey, now| {
            UnverifiedCaList::parse(jws).and_then(|l| l.verify(k, at(now)))
        };
        assert_eq!(
            verify(&jws, &other, 1000),
            Err(CaListError::Jws(passport::Error::BadSignature))
        );
        assert_eq!(
            verify(&jws, &vk, 2001),
            Err(CaListError::Expired {
                exp: 2000,
                now: 2001
            })
        );
        let bad_entry = signed(
            &key,
            json!({"sequence":1,"exp":2000,"trustList":[ROOT, "nope"]}),
        );
        assert_eq!(
            verify(&bad_entry, &vk, 0),
            Err(CaListError::Entry { index: 1 })
        );
        let no_seq = signed(&key, json!({"exp":2000,"trustList":[]}));
        assert!(matches!(
            verify(&no_seq, &vk, 0),
            Err(CaListError::Member {
                member: "sequence",
                ..
            })
        ));
        let newer = verify(&jws, &vk, 0).expect("valid");
        let older = verify(
            &signed(&key, json!({"sequence":6,"exp":2000,"trustList":[]})),
            &vk,
            0,
        )
        .expect("valid");
        assert_eq!(
            older.may_replace(&newer),
            Err(CaListError::Rollback {
                offered: 6,
                held: 7
            })
        );
        assert_eq!(newer.may_replace(&older), Ok(()));
        let no_x5u = sign_compact(&key, &json!({"alg":"ES256"}), b"{}").expect("signs");
        assert_eq!(
            UnverifiedCaList::parse(&no_x5u).map(|_| ()),
            Err(CaListError::MissingX5u)
        );
    }
}
