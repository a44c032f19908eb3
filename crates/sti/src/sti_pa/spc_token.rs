//! Checking the SPC token the STI-PA issued (`reference/standards.md` §4.4) before it is
//! handed to an STI-CA: ES256, signed by a certificate that chains to the pinned STI-PA root,
//! the `atc` echoing what was requested, and enough lifetime left for the ACME order.
//!
//! ```text
//! header  {"alg":"ES256","typ":"JWT","x5u":"https://…/download/v1/certificate/certificateId_….crt"}
//! payload {"exp":<NumericDate>,"jti":"<uuid>",
//!          "atc":{"tktype":"TNAuthList","tkvalue":"<base64>","ca":false,"fingerprint":"SHA256 …"}}
//! ```

use std::fmt;
use std::time::Duration;

use passport::{CompactJws, UnixTime};
use pki::{CertificateChain, ChainError, TrustAnchors};
use serde_json::Value;

use super::client::{Atc, SpcTokenResponse};
use super::fingerprint::Fingerprint;
use super::secret::Secret;

/// Least lifetime a fresh SPC token must have left (the PeeringHub toolkit's 180 s): the
/// token is fetched just before the ACME order, which must still find it valid.
pub const MIN_SPC_TOKEN_LIFETIME: Duration = Duration::from_secs(180);

/// Why an SPC token is refused. Never contains the token itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpcTokenError {
    /// A member of the token's `atc` differs from the request.
    #[error("spc token atc {member} differs from the request")]
    AtcMismatch {
        /// The differing member.
        member: &'static str,
    },
    /// The token expires in less than [`MIN_SPC_TOKEN_LIFETIME`] (or already has).
    #[error("spc token expires at {exp}, too soon after {now}")]
    ExpiresTooSoon {
        /// The token's `exp`.
        exp: u64,
        /// The time of the check.
        now: u64,
    },
    /// The JWS is malformed, not ES256, or its signature fails.
    #[error("spc token jws: {0}")]
    Jws(#[from] passport::Error),
    /// A payload member is missing or of the wrong type.
    #[error("spc token member {member} is missing or malformed")]
    Member {
        /// The member's name.
        member: &'static str,
    },
    /// The header has no `x5u`.
    #[error("spc token header has no x5u")]
    MissingX5u,
    /// The signer's chain does not validate to the pinned STI-PA root.
    #[error("spc token signer refused: {0}")]
    Signer(#[source] ChainError),
}

/// An SPC token whose signature, signer and `atc` were checked.
pub struct VerifiedSpcToken {
    token: Secret,
    exp: u64,
    crl: Option<String>,
}

impl SpcTokenResponse {
    /// The token's `x5u`: the signer certificate chain to fetch (with
    /// [`StiPaClient::signer_chain`](super::StiPaClient::signer_chain)) before
    /// [`VerifiedSpcToken::verify`].
    pub fn x5u(&self) -> Result<String, SpcTokenError> {
        let jws = CompactJws::parse(self.token.secret_str())?;
        jws.header_str("x5u")
            .map(str::to_owned)
            .ok_or(SpcTokenError::MissingX5u)
    }
}

impl VerifiedSpcToken {
    /// Checks `response`'s token at `now`: the signer chain (PEM or DER, signer first, as
    /// fetched from its `x5u`) validates to `sti_pa_roots` with a P-256 key, the ES256
    /// signature verifies, the `atc` equals `requested`, and at least
    /// [`MIN_SPC_TOKEN_LIFETIME`] is left before `exp`.
    pub fn verify(
        response: SpcTokenResponse,
        signer_chain: &[u8],
        sti_pa_roots: &TrustAnchors,
        now: UnixTime,
        requested: &Atc,
    ) -> Result<Self, SpcTokenError> {
        let jws = CompactJws::parse(response.token.secret_str())?;
        let key = CertificateChain::from_pem(signer_chain)
            .and_then(|chain| chain.verify_signer(sti_pa_roots, now))
            .map_err(SpcTokenError::Signer)?;
        jws.verify_es256(&key)?;
        let payload = jws.payload_json()?;
        let exp = payload
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or(SpcTokenError::Member { member: "exp" })?;
        if exp
            < now
                .as_secs()
                .saturating_add(MIN_SPC_TOKEN_LIFETIME.as_secs())
        {
            return Err(SpcTokenError::ExpiresTooSoon {
                exp,
                now: now.as_secs(),
            });
        }
        let atc = payload
            .get("atc")
            .ok_or(SpcTokenError::Member { member: "atc" })?;
        let text = |member: &'static str| {
            atc.get(member)
                .and_then(Value::as_str)
                .ok_or(SpcTokenError::Member { member })
        };
        if text("tktype")? != "TNAuthList" {
            return Err(SpcTokenError::AtcMismatch { member: "tktype" });
        }
        if text("tkvalue")? != requested.tkvalue {
            return Err(SpcTokenError::AtcMismatch { member: "tkvalue" });
        }
        let ca = atc
            .get("ca")
            .and_then(Value::as_bool)
            .ok_or(SpcTokenError::Member { member: "ca" })?;
        if ca != requested.ca {
            return Err(SpcTokenError::AtcMismatch { member: "ca" });
        }
        let fingerprint: Fingerprint =
            text("fingerprint")?
                .parse()
                .map_err(|_| SpcTokenError::Member {
                    member: "fingerprint",
                })?;
        if fingerprint != requested.fingerprint {
            return Err(SpcTokenError::AtcMismatch {
                member: "fingerprint",
            });
        }
        Ok(Self {
            exp,
            crl: response.crl,
            token: response.token,
        })
    }

    /// The token, for the ACME authority token challenge; call it only to send it.
    pub fn secret_str(&self) -> &str {
        self.token.secret_str()
    }

    /// The token's `exp`, seconds since the epoch.
    pub fn exp(&self) -> u64 {
        self.exp
    }

    /// The CRL URL the STI-PA named with the token, if any.
    pub fn crl(&self) -> Option<&str> {
        self.crl.as_deref()
    }
}

impl fmt::Debug for VerifiedSpcToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedSpcToken")
            .field("token", &self.token)
            .field("exp", &self.exp)
            .field("crl", &self.crl)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use passport::{SigningKey, sign_compact};
    use serde_json::json;
    use stirling_test::{CertOptions, TEST_TIME, TestCert};

    use super::*;
    use crate::sti_pa::FingerprintInput;

    /// The real iconectiv staging token (`tests/data/README.md`).
    const STAGING: &str = include_str!("../../tests/data/iconectiv_staging_spc_token.jwt");

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    fn response(token: String) -> SpcTokenResponse {
        SpcTokenResponse {
            token: Secret::new(token),
            crl: Some("https://authenticate-api-stg.iconectiv.com/download/v1/crl".into()),
            message: None,
        }
    }

    struct Fixture {
        root: TestCert,
        signer: TestCert,
        atc: Atc,
    }

    impl Fixture {
        fn new() -> Self {
            let root = TestCert::self_signed(&CertOptions::root("STI-PA Root Certificate"));
            let signer = root.issue(&CertOptions::crl_signer("STI-PA SPC Token Signer"));
            let account = SigningKey::generate().unwrap();
            let spki = account.public_key_spki_der().unwrap();
            let atc = Atc {
                tkvalue: "MAigBhYEMjgxSw==".into(),
                ca: false,
                fingerprint: Fingerprint::of_account_key(FingerprintInput::SpkiDer, &spki).unwrap(),
            };
            Self { root, signer, atc }
        }

        fn token(&self, payload: &Value) -> String {
            let key = SigningKey::from_der(&self.signer.key().serialize_der()).unwrap();
            let header = json!({"alg": "ES256", "typ": "JWT", "x5u": "https://pa.example/s.crt"});
            sign_compact(&key, &header, payload.to_string().as_bytes()).unwrap()
        }

        fn payload(&self, exp: u64) -> Value {
            json!({"exp": exp, "jti": "519175cb-6998-4074-9aea-0da5175a1622", "atc": {
                "tktype": "TNAuthList", "tkvalue": self.atc.tkvalue, "ca": self.atc.ca,
                "fingerprint": self.atc.fingerprint.to_string(),
            }})
        }

        fn verify(&self, token: String) -> Result<VerifiedSpcToken, SpcTokenError> {
            let roots = TrustAnchors::from_pem(self.root.pem().as_bytes()).unwrap();
            VerifiedSpcToken::verify(
                response(token),
                self.signer.pem().as_bytes(),
                &roots,
                at(TEST_TIME),
                &self.atc,
            )
        }
    }

    #[test]
    fn real_staging_token_names_its_x5u() {
        let response = response(STAGING.trim().to_owned());
        assert_eq!(
            response.x5u().unwrap(),
            "https://authenticate-api-stg.iconectiv.com/download/v1/certificate/certificateId_97574.crt"
        );
        let payload = CompactJws::parse(STAGING.trim())
            .unwrap()
            .payload_json()
            .unwrap();
        let text = payload["atc"]["fingerprint"].as_str().unwrap();
        let fingerprint: Fingerprint = text.parse().unwrap();
        assert_eq!(fingerprint.to_string(), text);
        assert_eq!(payload["atc"]["tkvalue"], "MAigBhYEMjgxSw==");
    }

    #[test]
    fn genuine_token_verifies_and_hides_itself() {
        let f = Fixture::new();
        let token = f.token(&f.payload(TEST_TIME + 3600));
        let verified = f.verify(token.clone()).unwrap();
        assert_eq!(verified.exp(), TEST_TIME + 3600);
        assert_eq!(verified.secret_str(), token);
        assert!(verified.crl().is_some());
        assert!(!format!("{verified:?}").contains(&token));
    }

    #[test]
    fn token_about_to_expire_is_refused() {
        let f = Fixture::new();
        let token = f.token(&f.payload(TEST_TIME + 179));
        assert_eq!(
            f.verify(token).unwrap_err(),
            SpcTokenError::ExpiresTooSoon {
                exp: TEST_TIME + 179,
                now: TEST_TIME
            }
        );
    }

    #[test]
    fn each_atc_member_must_echo_the_request() {
        let f = Fixture::new();
        for (member, value) in [
            ("tktype", json!("TNAuthListX")),
            ("tkvalue", json!("MAigBhYEMTIzNA==")),
            ("ca", json!(true)),
            (
                "fingerprint",
                json!(format!("SHA256 {}", ["00"; 32].join(":"))),
            ),
        ] {
            let mut payload = f.payload(TEST_TIME + 3600);
            payload["atc"][member] = value;
            assert_eq!(
                f.verify(f.token(&payload)).unwrap_err(),
                SpcTokenError::AtcMismatch { member }
            );
        }
    }

    #[test]
    fn signer_of_another_root_or_tampered_token_is_refused() {
        let f = Fixture::new();
        let token = f.token(&f.payload(TEST_TIME + 3600));
        let other = Fixture::new();
        let roots = TrustAnchors::from_pem(other.root.pem().as_bytes()).unwrap();
        assert!(matches!(
            VerifiedSpcToken::verify(
                response(token.clone()),
                f.signer.pem().as_bytes(),
                &roots,
                at(TEST_TIME),
                &f.atc
            ),
            Err(SpcTokenError::Signer(_))
        ));
        let tampered = format!("{}AAAA", &token[..token.len() - 4]);
        assert!(matches!(f.verify(tampered), Err(SpcTokenError::Jws(_))));
    }
}
