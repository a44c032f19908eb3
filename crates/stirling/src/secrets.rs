//! Secrets at rest: the master key and the sealed envelope for STI-PA passwords and private keys.
//!
//! A sealed value is `base64(0x01 ‖ nonce(12) ‖ ciphertext ‖ tag(16))`, AES-256-GCM under the
//! master key (aws-lc-rs `RandomizedNonceKey`, so the nonce is drawn inside the library). The
//! additional authenticated data names the table, column and row the value belongs to
//! ([`SealContext`]): a sealed value copied into another row or column fails to open.
//!
//! The leading version byte lets a later format (for example one with a key id for rotation)
//! live beside this one.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::{Zeroize as _, Zeroizing};

/// Length of the master key in bytes (AES-256).
pub const MASTER_KEY_LEN: usize = 32;

/// Version byte of the envelope written by [`MasterKey::seal`].
const ENVELOPE_V1: u8 = 0x01;
/// AES-GCM tag length.
const TAG_LEN: usize = 16;

/// Why a secret could not be loaded, sealed or opened. Messages never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The master key does not have [`MASTER_KEY_LEN`] bytes.
    #[error("master key must be {MASTER_KEY_LEN} bytes, got {len}")]
    KeyLength {
        /// The length found.
        len: usize,
    },
    /// The master key is not valid base64.
    #[error("master key is not valid base64")]
    KeyEncoding,
    /// The master key file is missing and generating it is not allowed.
    #[error(
        "master key file {path} does not exist (set secrets.generate_master_key or STIRLING_MASTER_KEY)"
    )]
    KeyFileMissing {
        /// The file looked for.
        path: String,
    },
    /// The master key file can be read by group or others.
    #[error("master key file {path} has mode {mode:o}; it must not be readable by group or others")]
    KeyFileMode {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// Reading or writing the master key file failed.
    #[error("master key file {path}: {source}")]
    KeyFileIo {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The system random generator or the cipher failed.
    #[error("cryptographic operation failed")]
    Crypto,
    /// A sealed value is not base64, too short or of an unknown version.
    #[error("sealed value is malformed")]
    Malformed,
    /// A sealed value did not authenticate: tampered, moved to another row, or another key.
    #[error("sealed value does not open with this key and context")]
    Unauthentic,
    /// An opened value is not UTF-8 where text was expected.
    #[error("sealed value is not text")]
    NotText,
}

/// The 32-byte key every secret at rest is sealed under.
///
/// No `Clone`: share it behind an `Arc`. `Debug` prints a placeholder.
pub struct MasterKey {
    key: RandomizedNonceKey,
}

impl MasterKey {
    /// Wraps raw key bytes; they must be exactly [`MASTER_KEY_LEN`] long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretsError> {
        if bytes.len() != MASTER_KEY_LEN {
            return Err(SecretsError::KeyLength { len: bytes.len() });
        }
        let key = RandomizedNonceKey::new(&AES_256_GCM, bytes).map_err(|_| SecretsError::Crypto)?;
        Ok(Self { key })
    }

    /// Reads a key given as standard base64 (as in `STIRLING_MASTER_KEY`), ignoring surrounding
    /// whitespace.
    pub fn from_base64(text: &str) -> Result<Self, SecretsError> {
        let bytes = Zeroizing::new(
            BASE64
                .decode(text.trim())
                .map_err(|_| SecretsError::KeyEncoding)?,
        );
        Self::from_bytes(&bytes)
    }

    /// Loads the key from `path` (base64 text). When the file is absent and `generate` is set,
    /// a fresh random key is written there first with mode 0600.
    ///
    /// This does blocking file I/O: call it from `spawn_blocking` or before the runtime starts.
    pub fn load_or_generate(path: &Path, generate: bool) -> Result<Self, SecretsError> {
        let shown = path.display().to_string();
        let io = |source| SecretsError::KeyFileIo {
            path: shown.clone(),
            source,
        };
        if !path.exists() {
            if !generate {
                return Err(SecretsError::KeyFileMissing { path: shown });
            }
            let mut bytes = Zeroizing::new([0u8; MASTER_KEY_LEN]);
            aws_lc_rs::rand::fill(&mut bytes[..]).map_err(|_| SecretsError::Crypto)?;
            let mut text = Zeroizing::new(BASE64.encode(&bytes[..]));
            text.push('\n');
            // create_new: never overwrite a key another process wrote in the meantime; if one
            // did, read theirs below.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(mut file) => {
                    file.write_all(text.as_bytes()).map_err(io)?;
                    file.sync_all().map_err(io)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(SecretsError::KeyFileMode {
                path: shown,
                mode: mode & 0o777,
            });
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        Self::from_base64(&text)
    }

    /// Seals `plaintext` for the place named by `context`, giving the base64 envelope.
    pub fn seal(
        &self,
        plaintext: &[u8],
        context: &SealContext<'_>,
    ) -> Result<String, SecretsError> {
        let mut in_out = Zeroizing::new(plaintext.to_vec());
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(context.aad()), &mut *in_out)
            .map_err(|_| SecretsError::Crypto)?;
        let mut envelope = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        envelope.push(ENVELOPE_V1);
        envelope.extend_from_slice(nonce.as_ref());
        envelope.extend_from_slice(&in_out);
        Ok(BASE64.encode(envelope))
    }

    /// Seals text, see [`MasterKey::seal`].
    pub fn seal_str(
        &self,
        secret: &SecretString,
        context: &SealContext<'_>,
    ) -> Result<String, SecretsError> {
        self.seal(secret.secret_str().as_bytes(), context)
    }

    /// Opens an envelope made by [`MasterKey::seal`] for the same `context`.
    pub fn open(
        &self,
        sealed: &str,
        context: &SealContext<'_>,
    ) -> Result<SecretBytes, SecretsError> {
        let mut envelope =
            Zeroizing::new(BASE64.decode(sealed).map_err(|_| SecretsError::Malformed)?);
        if envelope.len() < 1 + NONCE_LEN + TAG_LEN || envelope[0] != ENVELOPE_V1 {
            return Err(SecretsError::Malformed);
        }
        let (nonce, ciphertext) = envelope[1..].split_at_mut(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretsError::Malformed)?;
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(context.aad()), ciphertext)
            .map_err(|_| SecretsError::Unauthentic)?;
        Ok(SecretBytes(plaintext.to_vec()))
    }

    /// Opens an envelope holding text, see [`MasterKey::open`].
    pub fn open_str(
        &self,
        sealed: &str,
        context: &SealContext<'_>,
    ) -> Result<SecretString, SecretsError> {
        let bytes = self.open(sealed, context)?;
        match String::from_utf8(bytes.into_inner()) {
            Ok(text) => Ok(SecretString::new(text)),
            Err(e) => {
                let mut raw = e.into_bytes();
                raw.zeroize();
                Err(SecretsError::NotText)
            }
        }
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<secret>)")
    }
}

/// Where a sealed value lives: bound into the ciphertext as additional authenticated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealContext<'a> {
    /// Table name, e.g. `certificates`.
    pub table: &'static str,
    /// Column name, e.g. `sti_pa_password_sealed`.
    pub column: &'static str,
    /// Primary key of the row.
    pub row_id: &'a str,
}

impl SealContext<'_> {
    /// The AAD bytes: `stirling:v1:<table>:<column>:<row id>`. Table and column names are ours
    /// and contain no `:`, so distinct places give distinct AADs.
    fn aad(&self) -> Vec<u8> {
        format!("stirling:v1:{}:{}:{}", self.table, self.column, self.row_id).into_bytes()
    }
}

/// A secret text (STI-PA password, master key in config). No `Clone`; `Debug` prints a
/// placeholder; the memory is wiped on drop; read it with [`SecretString::secret_str`].
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        Self(Zeroizing::new(secret))
    }

    /// The secret itself. Never log it.
    pub fn secret_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl<'de> serde::Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

impl serde::Serialize for SecretString {
    /// Serialises as a placeholder: a secret never leaves through serde.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<redacted>")
    }
}

/// Opened secret bytes (a private key's PKCS#8 DER). No `Clone`; wiped on drop.
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// The bytes themselves. Never log them.
    pub fn secret_bytes(&self) -> &[u8] {
        &self.0
    }

    fn into_inner(mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: SealContext<'static> = SealContext {
        table: "certificates",
        column: "sti_pa_password_sealed",
        row_id: "row-1",
    };

    fn key() -> MasterKey {
        MasterKey::from_bytes(&[7u8; MASTER_KEY_LEN]).unwrap()
    }

    #[test]
    fn seal_open_round_trip() {
        let key = key();
        let sealed = key.seal(b"hunter2", &CTX).unwrap();
        assert_eq!(key.open(&sealed, &CTX).unwrap().secret_bytes(), b"hunter2");
        let text = key
            .seal_str(&SecretString::new("pässword".into()), &CTX)
            .unwrap();
        assert_eq!(key.open_str(&text, &CTX).unwrap().secret_str(), "pässword");
    }

    #[test]
    fn envelope_layout_is_v1_nonce_ciphertext_tag() {
        let sealed = key().seal(b"abc", &CTX).unwrap();
        let raw = BASE64.decode(sealed).unwrap();
        assert_eq!(raw[0], ENVELOPE_V1);
        assert_eq!(raw.len(), 1 + NONCE_LEN + 3 + TAG_LEN);
    }

    #[test]
    fn sealing_twice_gives_different_envelopes() {
        let key = key();
        assert_ne!(key.seal(b"x", &CTX).unwrap(), key.seal(b"x", &CTX).unwrap());
    }

    #[test]
    fn every_tampered_byte_fails_to_open() {
        let key = key();
        let raw = BASE64.decode(key.seal(b"secret", &CTX).unwrap()).unwrap();
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            let err = key.open(&BASE64.encode(&bad), &CTX).unwrap_err();
            if i == 0 {
                assert!(matches!(err, SecretsError::Malformed), "byte {i}: {err:?}");
            } else {
                assert!(
                    matches!(err, SecretsError::Unauthentic),
                    "byte {i}: {err:?}"
                );
            }
        }
    }

    #[test]
    fn other_row_column_or_table_fails_to_open() {
        let key = key();
        let sealed = key.seal(b"secret", &CTX).unwrap();
        for other in [
            SealContext {
                row_id: "row-2",
                ..CTX
            },
            SealContext {
                column: "key_sealed",
                ..CTX
            },
            SealContext {
                table: "tenants",
                ..CTX
            },
        ] {
            assert!(matches!(
                key.open(&sealed, &other),
                Err(SecretsError::Unauthentic)
            ));
        }
    }

    #[test]
    fn other_key_fails_to_open() {
        let sealed = key().seal(b"secret", &CTX).unwrap();
        let other = MasterKey::from_bytes(&[8u8; MASTER_KEY_LEN]).unwrap();
        assert!(matches!(
            other.open(&sealed, &CTX),
            Err(SecretsError::Unauthentic)
        ));
    }

    #[test]
    fn truncated_and_garbage_envelopes_are_malformed() {
        let key = key();
        for bad in [
            "",
            "not base64!",
            "AQ==",
            &BASE64.encode([1u8; 1 + NONCE_LEN + TAG_LEN - 1]),
        ] {
            assert!(
                matches!(key.open(bad, &CTX), Err(SecretsError::Malformed)),
                "{bad}"
            );
        }
    }

    #[test]
    fn key_length_and_encoding_are_checked() {
        assert!(matches!(
            MasterKey::from_bytes(&[0; 31]),
            Err(SecretsError::KeyLength { len: 31 })
        ));
        assert!(matches!(
            MasterKey::from_base64("***"),
            Err(SecretsError::KeyEncoding)
        ));
        let b64 = BASE64.encode([3u8; MASTER_KEY_LEN]);
        assert!(MasterKey::from_base64(&format!(" {b64}\n")).is_ok());
    }

    #[test]
    fn key_file_is_generated_0600_and_reloads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        assert!(matches!(
            MasterKey::load_or_generate(&path, false),
            Err(SecretsError::KeyFileMissing { .. })
        ));
        let first = MasterKey::load_or_generate(&path, true).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let sealed = first.seal(b"persisted", &CTX).unwrap();
        let second = MasterKey::load_or_generate(&path, true).unwrap();
        assert_eq!(
            second.open(&sealed, &CTX).unwrap().secret_bytes(),
            b"persisted"
        );
    }

    #[test]
    fn world_readable_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, BASE64.encode([1u8; MASTER_KEY_LEN])).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            MasterKey::load_or_generate(&path, true),
            Err(SecretsError::KeyFileMode { mode: 0o644, .. })
        ));
    }

    #[test]
    fn debug_output_hides_secrets() {
        assert_eq!(
            format!("{:?}", SecretString::new("hunter2".into())),
            "\"<redacted>\""
        );
        assert!(!format!("{:?}", key()).contains('7'));
    }

    proptest::proptest! {
        #[test]
        fn round_trip_any_bytes_any_row(plain in proptest::collection::vec(proptest::num::u8::ANY, 0..512), row in "[a-z0-9-]{1,40}") {
            let key = key();
            let ctx = SealContext { row_id: &row, ..CTX };
            let sealed = key.seal(&plain, &ctx).unwrap();
            let opened = key.open(&sealed, &ctx).unwrap();
            proptest::prop_assert_eq!(opened.secret_bytes(), &plain[..]);
            let other = format!("{row}x");
            let moved = key.open(&sealed, &SealContext { row_id: &other, ..CTX });
            proptest::prop_assert!(moved.is_err());
        }
    }
}
