//! `POST /api/v1/account/{accountId}/token` (`reference/standards.md` §4.4): the SPC token.
//!
//! ```text
//! request  {"atc":{"tktype":"TNAuthList","tkvalue":"<b64 TNAuthList>","ca":false,
//!                  "fingerprint":"SHA256 AB:…:CD"}}
//! response {"status":"success","message":…,"token":"<JWT>","crl":"<CRL URL>"}
//! token    header {"alg":"ES256","typ":"JWT","x5u":<PA signing cert>}
//!          payload {"atc":{…as requested…},"exp":…,"jti":…}
//! ```

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use pki::TnAuthList;
use serde_json::{Value, json};

use super::{PaError, SIGNER_CERT_PATH, auth};
use crate::Sandbox;
use crate::state::CRL_PATH;

/// The `atc` object, checked.
struct Atc {
    tkvalue: String,
    ocn: String,
    ca: bool,
    fingerprint: String,
}

pub(super) async fn request(
    State(sandbox): State<Sandbox>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, PaError> {
    let user_id = auth::user(&sandbox, &headers)?;
    let atc = parse_atc(&body)?;
    sandbox.read(|data| {
        let allowed = data
            .pa
            .users
            .get(&user_id)
            .is_some_and(|u| u.accounts.contains(&account_id));
        if !allowed {
            return Err(PaError::account_forbidden(&account_id));
        }
        let owns = data
            .pa
            .accounts
            .get(&account_id)
            .is_some_and(|a| a.ocns.contains(&atc.ocn));
        if !owns {
            return Err(PaError::ocn_not_owned(&account_id, &atc.ocn));
        }
        Ok(())
    })?;

    let now = sandbox.now();
    let expired = sandbox.faults_lock().take_expired_token();
    let exp = if expired {
        now.saturating_sub(3_600)
    } else {
        now + sandbox.config().token_lifetime.as_secs()
    };
    // The generator's position is state: persist it so a restart does not repeat a jti.
    let jti = sandbox.update(|data| data.rng.uuid()).await?;
    let header = json!({"alg": "ES256", "typ": "JWT", "x5u": sandbox.url(SIGNER_CERT_PATH)});
    let payload = json!({
        "exp": exp,
        "jti": jti,
        "atc": {
            "tktype": "TNAuthList",
            "tkvalue": atc.tkvalue,
            "ca": atc.ca,
            "fingerprint": atc.fingerprint,
        },
    });
    let token = passport::sign_compact(
        &sandbox.pki().pa_signing_key,
        &header,
        payload.to_string().as_bytes(),
    )
    .map_err(|_| PaError::internal())?;
    Ok(Json(json!({
        "status": "success",
        "message": format!("SPC token for spc: {} is created successfully", atc.ocn),
        "token": token,
        "crl": sandbox.url(CRL_PATH),
    })))
}

fn parse_atc(body: &[u8]) -> Result<Atc, PaError> {
    let body: Value =
        serde_json::from_slice(body).map_err(|_| PaError::malformed("body is not JSON"))?;
    let atc = body
        .get("atc")
        .and_then(Value::as_object)
        .ok_or_else(|| PaError::malformed("atc object is missing"))?;
    let string = |name: &str| {
        atc.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| PaError::malformed(format!("atc.{name} must be a string")))
    };
    if string("tktype")? != "TNAuthList" {
        return Err(PaError::malformed("atc.tktype must be TNAuthList"));
    }
    let tkvalue = string("tkvalue")?;
    // The STI-PA issues tokens in padded standard base64 (standards.md §4.4).
    let list = TnAuthList::from_base64(tkvalue)
        .map_err(|_| PaError::malformed("atc.tkvalue is not a base64 TNAuthList"))?;
    let ocn = match (list.entries().len(), list.spc()) {
        (1, Some(spc)) => spc.as_str().to_owned(),
        _ => return Err(PaError::malformed("atc.tkvalue must hold exactly one SPC")),
    };
    let ca = atc
        .get("ca")
        .and_then(Value::as_bool)
        .ok_or_else(|| PaError::malformed("atc.ca must be a boolean"))?;
    let fingerprint = string("fingerprint")?;
    if !is_fingerprint(fingerprint) {
        return Err(PaError::malformed(
            "atc.fingerprint must be \"SHA256 \" and 32 uppercase hex pairs joined by ':'",
        ));
    }
    Ok(Atc {
        tkvalue: tkvalue.to_owned(),
        ocn,
        ca,
        fingerprint: fingerprint.to_owned(),
    })
}

/// `SHA256 ` + 32 uppercase hex pairs separated by `:` (RFC 4572 style, RFC 9448).
pub(crate) fn is_fingerprint(s: &str) -> bool {
    let Some(hex) = s.strip_prefix("SHA256 ") else {
        return false;
    };
    let pairs: Vec<&str> = hex.split(':').collect();
    pairs.len() == 32
        && pairs.iter().all(|p| {
            p.len() == 2
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_format() {
        let good = format!("SHA256 {}", vec!["AB"; 32].join(":"));
        assert!(is_fingerprint(&good));
        assert!(!is_fingerprint(&good.to_lowercase()));
        assert!(!is_fingerprint(&good.replace("SHA256 ", "SHA1 ")));
        assert!(!is_fingerprint(&format!(
            "SHA256 {}",
            vec!["AB"; 31].join(":")
        )));
    }

    #[test]
    fn atc_errors() {
        let err = |body: &str| parse_atc(body.as_bytes()).err().map(|e| format!("{e:?}"));
        assert!(err("{").is_some_and(|e| e.contains("not JSON")));
        assert!(err("{}").is_some_and(|e| e.contains("atc object")));
        assert!(
            err(r#"{"atc":{"tktype":"X","tkvalue":"MAigBhYEMTIzNA==","ca":false,"fingerprint":"x"}}"#)
                .is_some_and(|e| e.contains("tktype"))
        );
    }
}
