//! The account resource (RFC 8555 §7.3), external account binding (§7.3.4), and the account
//! key fingerprint an SPC token must carry (RFC 9448, `reference/standards.md` §4.4).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use passport::{FlattenedJws, SigningKey};
use serde_json::{Value, json};

use super::client::{AcmeClient, Signer};
use super::error::AcmeError;
use crate::sti_pa::{Fingerprint, FingerprintInput};

/// An ACME account: its key and its URL (the `kid` of every request after `newAccount`).
#[derive(Debug)]
pub struct Account {
    key: SigningKey,
    url: String,
}

/// What to send to `newAccount`.
#[derive(Clone, Debug, Default)]
pub struct NewAccount {
    /// `contact` URLs, e.g. `mailto:noc@example.net` (acme2certifier requires one).
    pub contact: Vec<String>,
    /// `termsOfServiceAgreed`.
    pub terms_of_service_agreed: bool,
    /// `onlyReturnExisting`: look the key's account up instead of creating one.
    pub only_return_existing: bool,
    /// External account binding, for CAs that require it (Martini).
    pub external_account_binding: Option<ExternalAccountBinding>,
}

/// External account binding credentials from the CA (RFC 8555 §7.3.4).
#[derive(Clone)]
pub struct ExternalAccountBinding {
    /// The key identifier the CA gave out.
    pub key_id: String,
    secret_hmac_key: Vec<u8>,
}

impl Account {
    /// An account known from before: its key and the URL `newAccount` returned.
    pub fn from_parts(key: SigningKey, url: String) -> Self {
        Self { key, url }
    }

    /// The account URL (`kid`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The account key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The ATC `fingerprint` of this account's key; see [`atc_fingerprint`].
    ///
    /// # Errors
    ///
    /// When the key cannot be encoded.
    pub fn fingerprint(&self, input: FingerprintInput) -> Result<String, AcmeError> {
        atc_fingerprint(&self.key, input)
    }
}

impl ExternalAccountBinding {
    /// Credentials from the key id and the base64url MAC key the CA gave out.
    ///
    /// # Errors
    ///
    /// [`AcmeError::InvalidEabKey`] when the key is not base64url.
    pub fn from_base64url(key_id: impl Into<String>, hmac_key: &str) -> Result<Self, AcmeError> {
        let secret_hmac_key = URL_SAFE_NO_PAD
            .decode(hmac_key.trim_end_matches('='))
            .map_err(|_| AcmeError::InvalidEabKey)?;
        Ok(Self {
            key_id: key_id.into(),
            secret_hmac_key,
        })
    }

    /// The inner JWS: HS256 over the account JWK, with `kid` and `url` (RFC 8555 §7.3.4).
    fn binding(&self, account_jwk: &Value, new_account_url: &str) -> Result<Value, AcmeError> {
        let protected = json!({"alg": "HS256", "kid": self.key_id, "url": new_account_url});
        let payload = serde_json::to_vec(account_jwk).map_err(|e| AcmeError::Malformed {
            what: "account jwk",
            url: new_account_url.to_owned(),
            reason: e.to_string(),
        })?;
        let jws = FlattenedJws::sign_hs256(&self.secret_hmac_key, &protected, &payload);
        Ok(json!({"protected": jws.protected, "payload": jws.payload, "signature": jws.signature}))
    }
}

impl std::fmt::Debug for ExternalAccountBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalAccountBinding")
            .field("key_id", &self.key_id)
            .field("secret_hmac_key", &"<redacted>")
            .finish()
    }
}

impl AcmeClient {
    /// Creates (or finds) the account of `key` (RFC 8555 §7.3), signing with `jwk`; the
    /// account URL comes from `Location` (201 for a new account, 200 for an existing one).
    ///
    /// # Errors
    ///
    /// A problem document, transport failure or a missing `Location`.
    pub async fn new_account(
        &self,
        key: SigningKey,
        request: &NewAccount,
    ) -> Result<Account, AcmeError> {
        let url = self.directory().new_account.clone();
        let mut payload = json!({"termsOfServiceAgreed": request.terms_of_service_agreed});
        if !request.contact.is_empty() {
            payload["contact"] = json!(request.contact);
        }
        if request.only_return_existing {
            payload["onlyReturnExisting"] = Value::Bool(true);
        }
        if let Some(eab) = &request.external_account_binding {
            payload["externalAccountBinding"] = eab.binding(&key.public_jwk(), &url)?;
        }
        let reply = self.post(Signer::Jwk(&key), &url, Some(&payload)).await?;
        let account_url = reply.location()?;
        Ok(Account::from_parts(key, account_url))
    }
}

/// The RFC 9448 ATC `fingerprint` of an ACME account key: `"SHA256 "` and 32 upper-case hex
/// pairs joined by `:` (`reference/standards.md` §4.4), as the STI-PA token request carries
/// it; the format and both hash inputs live in [`Fingerprint`].
///
/// # Errors
///
/// When the key cannot be encoded.
pub fn atc_fingerprint(key: &SigningKey, input: FingerprintInput) -> Result<String, AcmeError> {
    let spki = key.public_key_spki_der().map_err(AcmeError::Key)?;
    Fingerprint::of_account_key(input, &spki)
        .map(|f| f.to_string())
        .map_err(|_| AcmeError::Key(passport::KeyError::NotP256 { kind: "public key" }))
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::digest::{SHA256, digest};

    use super::*;

    #[test]
    fn fingerprint_format_and_inputs_differ() {
        let key = SigningKey::generate().unwrap();
        let spki = atc_fingerprint(&key, FingerprintInput::SpkiDer).unwrap();
        let thumb = atc_fingerprint(&key, FingerprintInput::JwkThumbprint).unwrap();
        for fp in [&spki, &thumb] {
            let hex = fp.strip_prefix("SHA256 ").unwrap();
            let pairs: Vec<&str> = hex.split(':').collect();
            assert_eq!(pairs.len(), 32);
            assert!(pairs.iter().all(|p| {
                p.len() == 2
                    && p.bytes()
                        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
            }));
        }
        assert_ne!(spki, thumb);
        let expected: Vec<String> = digest(&SHA256, &key.public_key_spki_der().unwrap())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(spki, format!("SHA256 {}", expected.join(":")));
    }

    #[test]
    fn eab_is_hs256_over_the_jwk_and_redacted() {
        let eab = ExternalAccountBinding::from_base64url("kid-1", "c2VjcmV0LWtleQ").unwrap();
        assert!(!format!("{eab:?}").contains("c2VjcmV0"));
        assert!(matches!(
            ExternalAccountBinding::from_base64url("kid-1", "not base64!"),
            Err(AcmeError::InvalidEabKey)
        ));
        let key = SigningKey::generate().unwrap();
        let jwk = key.public_jwk();
        let binding = eab.binding(&jwk, "https://ca/new-acct").unwrap();
        let jws: FlattenedJws = serde_json::from_value(binding).unwrap();
        jws.verify_hs256(b"secret-key").unwrap();
        assert!(jws.verify_hs256(b"other").is_err());
        let header = jws.protected_header().unwrap();
        assert_eq!(header["kid"], "kid-1");
        assert_eq!(header["url"], "https://ca/new-acct");
        let payload: Value = serde_json::from_slice(&jws.payload_bytes().unwrap()).unwrap();
        assert_eq!(payload, jwk);
    }
}
