//! The last good CA list and CRL on disk: one JSON file each, written atomically (temporary
//! file, fsync, rename) so a crash leaves either the old or the new file, never half of one.
//! The content is re-verified on load; the files are a cache, not a source of trust.
//!
//! ```text
//! ca-list.json  {"caList":"<compact JWS>","signerChain":"<base64 of the chain as fetched>"}
//! crl.json      {"crl":"<base64 of the body as fetched>","signerChain":"<base64 of the chain>"}
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::error::TrustListError;

pub(crate) const CA_LIST_FILE: &str = "ca-list.json";
pub(crate) const CRL_FILE: &str = "crl.json";

/// A persisted CA list.
pub(crate) struct SavedCaList {
    pub(crate) jws: String,
    pub(crate) signer_chain: Vec<u8>,
}

/// A persisted CRL.
pub(crate) struct SavedCrl {
    pub(crate) crl: Vec<u8>,
    pub(crate) signer_chain: Vec<u8>,
}

pub(crate) async fn save_ca_list(dir: &Path, saved: &SavedCaList) -> Result<(), TrustListError> {
    let body = json!({
        "caList": saved.jws,
        "signerChain": STANDARD.encode(&saved.signer_chain),
    });
    write_atomic(dir.join(CA_LIST_FILE), body.to_string().into_bytes()).await
}

pub(crate) async fn save_crl(dir: &Path, saved: &SavedCrl) -> Result<(), TrustListError> {
    let body = json!({
        "crl": STANDARD.encode(&saved.crl),
        "signerChain": STANDARD.encode(&saved.signer_chain),
    });
    write_atomic(dir.join(CRL_FILE), body.to_string().into_bytes()).await
}

/// The saved CA list, `None` when there is no file.
pub(crate) async fn load_ca_list(dir: &Path) -> Result<Option<SavedCaList>, TrustListError> {
    let path = dir.join(CA_LIST_FILE);
    let Some(value) = read_json(&path).await? else {
        return Ok(None);
    };
    let jws = text(&value, "caList", &path)?.to_owned();
    let signer_chain = base64_member(&value, "signerChain", &path)?;
    Ok(Some(SavedCaList { jws, signer_chain }))
}

/// The saved CRL, `None` when there is no file.
pub(crate) async fn load_crl(dir: &Path) -> Result<Option<SavedCrl>, TrustListError> {
    let path = dir.join(CRL_FILE);
    let Some(value) = read_json(&path).await? else {
        return Ok(None);
    };
    let crl = base64_member(&value, "crl", &path)?;
    let signer_chain = base64_member(&value, "signerChain", &path)?;
    Ok(Some(SavedCrl { crl, signer_chain }))
}

pub(crate) fn unusable(path: &Path, reason: impl ToString) -> TrustListError {
    TrustListError::LastGood {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

fn text<'v>(value: &'v Value, name: &str, path: &Path) -> Result<&'v str, TrustListError> {
    value
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| unusable(path, format!("member {name} is missing or not a string")))
}

fn base64_member(value: &Value, name: &str, path: &Path) -> Result<Vec<u8>, TrustListError> {
    STANDARD
        .decode(text(value, name, path)?)
        .map_err(|_| unusable(path, format!("member {name} is not base64")))
}

async fn read_json(path: &Path) -> Result<Option<Value>, TrustListError> {
    let owned = path.to_owned();
    let read = blocking(move || std::fs::read(&owned)).await;
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, e)),
    };
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| unusable(path, format!("not json: {e}")))?;
    Ok(Some(value))
}

async fn write_atomic(path: PathBuf, body: Vec<u8>) -> Result<(), TrustListError> {
    let target = path.clone();
    blocking(move || {
        let dir = target.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir)?;
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let temp = dir.join(format!(".{name}.tmp"));
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&body)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, &target)?;
        // Make the rename itself durable; not every platform lets a directory be synced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })
    .await
    .map_err(|e| io_error(&path, e))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

fn io_error(path: &Path, e: std::io::Error) -> TrustListError {
    TrustListError::Persist {
        path: path.to_owned(),
        source: Arc::new(e),
    }
}
