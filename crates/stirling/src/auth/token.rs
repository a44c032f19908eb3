//! Random credentials (session ids, CSRF tokens, API tokens) and their stored hashes.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Every API token starts with this, so leaked tokens are recognisable (secret scanners).
pub const API_TOKEN_PREFIX: &str = "stk_";
/// Characters after [`API_TOKEN_PREFIX`] kept in the store to tell tokens apart.
const SHOWN_PREFIX_CHARS: usize = 6;

/// The system random source failed.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("the system random source failed")]
pub struct RandomError;

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| RandomError)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A fresh API token: `stk_` and 32 random bytes.
pub fn new_api_token() -> Result<String, RandomError> {
    Ok(format!("{API_TOKEN_PREFIX}{}", random_token()?))
}

/// The part of an API token kept for display.
pub fn api_token_shown_prefix(token: &str) -> String {
    token
        .strip_prefix(API_TOKEN_PREFIX)
        .unwrap_or(token)
        .chars()
        .take(SHOWN_PREFIX_CHARS)
        .collect()
}

/// SHA-256 of a credential, lower-case hex: what the store keeps. A plain hash suffices because
/// the credentials are 256-bit random values, not guessable passwords.
pub fn credential_hash(credential: &str) -> String {
    hex::encode(digest(&SHA256, credential.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let one = random_token().unwrap();
        let two = random_token().unwrap();
        assert_eq!(one.len(), 43);
        assert_ne!(one, two);
        let api = new_api_token().unwrap();
        assert!(api.starts_with("stk_"));
        assert_eq!(api_token_shown_prefix(&api), api[4..10]);
        assert_eq!(
            credential_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secret_comparison() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
        assert!(!secrets_equal("", "a"));
    }
}
