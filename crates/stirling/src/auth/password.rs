//! Login passwords, hashed with argon2id (RFC 9106) into a PHC string with its own salt.
//!
//! Hashing is deliberately slow, so the async callers run it on the blocking pool
//! ([`hash_password_blocking`], [`verify_password_blocking`]).

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::entry::FieldError;

/// Shortest login password we accept, in characters.
pub const PASSWORD_MIN_CHARS: usize = 10;
/// Longest login password we accept, in characters (argon2 takes any length; this bounds work).
pub const PASSWORD_MAX_CHARS: usize = 256;

/// Why hashing failed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The system random source failed while making a salt.
    #[error("no randomness for a salt")]
    Random,
    /// argon2 refused its input (cannot happen with our fixed parameters and salt length).
    #[error("argon2: {0}")]
    Argon2(String),
    /// The blocking task was cancelled.
    #[error("hashing task failed")]
    Task,
}

/// Checks a new login password's length: the one rule, shared by the API and the forms.
pub fn check_new_password(field: &'static str, password: &str) -> Result<(), FieldError> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(FieldError {
            field,
            message: format!("must be at least {PASSWORD_MIN_CHARS} characters"),
        });
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(FieldError {
            field,
            message: format!("must be at most {PASSWORD_MAX_CHARS} characters"),
        });
    }
    Ok(())
}

/// Hashes `password` with argon2id and a fresh 16-byte salt; returns the PHC string to store.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| PasswordError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Argon2(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Argon2(e.to_string()))
}

/// Whether `password` matches the stored PHC string. A malformed stored hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => argon2().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// [`hash_password`] on the blocking pool.
pub async fn hash_password_blocking(password: String) -> Result<String, PasswordError> {
    let password = zeroize::Zeroizing::new(password);
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| PasswordError::Task)?
}

/// [`verify_password`] on the blocking pool; a failed task counts as no match.
pub async fn verify_password_blocking(password: String, stored: String) -> bool {
    let password = zeroize::Zeroizing::new(password);
    tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .unwrap_or(false)
}

/// A hash to check against when the email is unknown, so a login for a missing user costs as
/// much as one for a wrong password and timing does not tell which emails exist.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password for unknown users").unwrap_or_default())
}

/// argon2id with the OWASP-recommended minimum (19 MiB, 2 passes, 1 lane).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_argon2id_and_verify_only_the_right_password() {
        let one = hash_password("correct horse battery").unwrap();
        let two = hash_password("correct horse battery").unwrap();
        assert!(one.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{one}");
        assert_ne!(one, two, "each hash has its own salt");
        assert!(verify_password("correct horse battery", &one));
        assert!(verify_password("correct horse battery", &two));
        assert!(!verify_password("correct horse batterY", &one));
        assert!(!verify_password("", &one));
        assert!(!verify_password(
            "correct horse battery",
            "not a phc string"
        ));
        assert!(!one.contains("correct horse"));
    }

    #[test]
    fn new_passwords_have_a_length_rule() {
        assert!(check_new_password("password", "123456789").is_err());
        assert!(check_new_password("password", "1234567890").is_ok());
        let long = "x".repeat(PASSWORD_MAX_CHARS + 1);
        let error = check_new_password("password", &long).unwrap_err();
        assert_eq!(error.field, "password");
        assert_eq!(error.message, "must be at most 256 characters");
    }

    #[test]
    fn the_decoy_hash_is_a_real_hash() {
        assert!(decoy_hash().starts_with("$argon2id$"));
        assert!(!verify_password("anything", decoy_hash()));
    }
}
