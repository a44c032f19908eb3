//! Authorizations and the tkauth-01 challenge (RFC 8555 §7.5, RFC 9447 §3, RFC 9448 §4).

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::account::Account;
use super::client::{AcmeClient, Signer};
use super::error::AcmeError;
use super::order::Identifier;
use super::problem::Problem;

/// The challenge type of RFC 9447.
pub const TKAUTH_CHALLENGE: &str = "tkauth-01";

/// The `tkauth-type` of an SPC token (RFC 9448).
pub const TKAUTH_TYPE_ATC: &str = "atc";

/// Authorization states (RFC 8555 §7.1.6).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthorizationStatus {
    /// Waiting for a challenge.
    Pending,
    /// Authorized.
    Valid,
    /// Failed for good.
    Invalid,
    /// Deactivated by the client.
    Deactivated,
    /// Expired.
    Expired,
    /// Revoked by the server.
    Revoked,
}

/// Challenge states (RFC 8555 §7.1.6).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChallengeStatus {
    /// Not answered yet.
    Pending,
    /// Being validated.
    Processing,
    /// Passed.
    Valid,
    /// Failed.
    Invalid,
}

/// An authorization as the server last described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// The authorization URL.
    pub url: String,
    /// `status`.
    pub status: AuthorizationStatus,
    /// `identifier`.
    pub identifier: Identifier,
    /// `challenges`.
    pub challenges: Vec<Challenge>,
}

/// A challenge of an authorization.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Challenge {
    /// `type`, e.g. `tkauth-01`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `url`, where the answer is POSTed.
    pub url: String,
    /// `status`.
    pub status: ChallengeStatus,
    /// `tkauth-type` (RFC 9447); acme2certifier drops it once the challenge is not pending.
    #[serde(rename = "tkauth-type")]
    pub tkauth_type: Option<String>,
    /// `token-authority`: a hint where to get the token (RFC 9447 §3).
    #[serde(rename = "token-authority")]
    pub token_authority: Option<String>,
    /// `error`, when validation failed and the server said why.
    pub error: Option<Problem>,
}

#[derive(Deserialize)]
struct AuthorizationBody {
    status: AuthorizationStatus,
    identifier: Identifier,
    #[serde(default)]
    challenges: Vec<Challenge>,
}

impl Authorization {
    /// The tkauth-01 challenge for an ATC (SPC token). A `tkauth-type` other than `atc`
    /// disqualifies a challenge; a missing one is accepted, as RFC 9447 makes it optional.
    pub fn tkauth_challenge(&self) -> Option<&Challenge> {
        self.challenges.iter().find(|c| {
            c.kind == TKAUTH_CHALLENGE
                && c.tkauth_type
                    .as_deref()
                    .is_none_or(|t| t.eq_ignore_ascii_case(TKAUTH_TYPE_ATC))
        })
    }

    /// The most informative problem attached to the challenges, if any.
    pub fn problem(&self) -> Option<&Problem> {
        self.challenges.iter().find_map(|c| c.error.as_ref())
    }
}

impl AcmeClient {
    /// Fetches an authorization by POST-as-GET, with the server's `Retry-After`.
    ///
    /// # Errors
    ///
    /// A problem document, transport failure, or a body that is not an authorization.
    pub async fn authorization(
        &self,
        account: &Account,
        url: &str,
    ) -> Result<(Authorization, Option<Duration>), AcmeError> {
        let reply = self.post(Signer::Kid(account), url, None).await?;
        let body: AuthorizationBody = reply.json("authorization")?;
        let authz = Authorization {
            url: url.to_owned(),
            status: body.status,
            identifier: body.identifier,
            challenges: body.challenges,
        };
        Ok((authz, reply.retry_after()))
    }

    /// Answers a tkauth-01 challenge with `{"atc": <token>}` (RFC 9448 §4). The token is sent
    /// once and never logged or kept.
    ///
    /// Never POST-as-GET a tkauth-01 challenge to poll it: acme2certifier checks every POST to
    /// it for `atc`. Poll the authorization instead ([`AcmeClient::poll_authorization`]).
    ///
    /// # Errors
    ///
    /// A problem document (e.g. `unauthorized` for a refused token), transport failure, or a
    /// body that is not a challenge.
    pub async fn answer_tkauth(
        &self,
        account: &Account,
        challenge_url: &str,
        atc: &str,
    ) -> Result<Challenge, AcmeError> {
        let payload = json!({ "atc": atc });
        let reply = self
            .post(Signer::Kid(account), challenge_url, Some(&payload))
            .await?;
        reply.json("challenge")
    }

    /// Polls the authorization until it is no longer `pending`.
    ///
    /// # Errors
    ///
    /// [`AcmeError::ChallengeRejected`] when it ends in any state but `valid` (the
    /// challenge's `error`, if any, is carried), [`AcmeError::PollTimeout`], or any error of
    /// [`AcmeClient::authorization`].
    pub async fn poll_authorization(
        &self,
        account: &Account,
        url: &str,
    ) -> Result<Authorization, AcmeError> {
        let authz = self
            .poll(
                url,
                || self.authorization(account, url),
                |authz: &Authorization| {
                    (authz.status == AuthorizationStatus::Pending).then_some("pending")
                },
            )
            .await?;
        if authz.status != AuthorizationStatus::Valid {
            return Err(AcmeError::ChallengeRejected {
                url: url.to_owned(),
                problem: authz.problem().cloned(),
            });
        }
        Ok(authz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authz(challenges: &str) -> Authorization {
        let body = format!(
            r#"{{"status":"pending","identifier":{{"type":"TNAuthList","value":"MAigBhYEMTIzNA=="}},
               "challenges":{challenges}}}"#
        );
        let body: AuthorizationBody = serde_json::from_str(&body).unwrap();
        Authorization {
            url: "a".into(),
            status: body.status,
            identifier: body.identifier,
            challenges: body.challenges,
        }
    }

    #[test]
    fn picks_the_atc_tkauth_challenge() {
        let a = authz(
            r#"[{"type":"tkauth-01","url":"c1","status":"pending","tkauth-type":"other"},
                {"type":"http-01","url":"c2","status":"pending","token":"t"},
                {"type":"tkauth-01","url":"c3","status":"pending","tkauth-type":"atc","token":"t"}]"#,
        );
        assert_eq!(a.tkauth_challenge().map(|c| c.url.as_str()), Some("c3"));
        let none = authz(r#"[{"type":"http-01","url":"c2","status":"pending"}]"#);
        assert_eq!(none.tkauth_challenge(), None);
        let untyped = authz(r#"[{"type":"tkauth-01","url":"c4","status":"valid"}]"#);
        assert_eq!(
            untyped.tkauth_challenge().map(|c| c.url.as_str()),
            Some("c4")
        );
    }
}
