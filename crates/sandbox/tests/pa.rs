#![allow(clippy::panic, clippy::unwrap_used)]
//! The sandbox STI-PA over a real loopback socket: login, SPC token, CA list, CRL.

mod common;

use std::time::{Duration, SystemTime};

use common::{atc, start};
use passport::{CompactJws, SigningKey, UnixTime, VerifyingKey};
use pki::{TnAuthList, UnverifiedCaList};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use serde_json::{Value, json};

const SPC_1234: &str = "MAigBhYEMTIzNA==";

fn now() -> UnixTime {
    UnixTime::since_unix_epoch(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap(),
    )
}

/// The key of the first certificate of a PEM body, after checking it chains to `root_pem`.
fn signer_key(chain_pem: &str, root_pem: &str) -> VerifyingKey {
    let der = CertificateDer::from_pem_slice(chain_pem.as_bytes()).unwrap();
    let root = CertificateDer::from_pem_slice(root_pem.as_bytes()).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let (_, root) = x509_parser::parse_x509_certificate(&root).unwrap();
    cert.verify_signature(Some(root.public_key())).unwrap();
    assert_eq!(cert.issuer(), root.subject());
    VerifyingKey::from_public_key(&cert.public_key().subject_public_key.data).unwrap()
}

#[tokio::test]
async fn login_and_token_happy_path() {
    let dir = tempfile::tempdir().unwrap();
    let pa = start(dir.path()).await;
    let access = pa.login("alice", "wonderland").await;
    let key = SigningKey::generate().unwrap();
    let fingerprint = common::spki_fingerprint(&key);
    let (status, body) = pa
        .token_request(&access, "1234", atc(SPC_1234, &fingerprint))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(
        body["message"],
        "SPC token for spc: 1234 is created successfully"
    );
    assert_eq!(body["crl"], pa.url("/download/v1/crl"));

    let token = body["token"].as_str().unwrap();
    let jws = CompactJws::parse(token).unwrap();
    assert_eq!(jws.header_str("alg"), Some("ES256"));
    assert_eq!(jws.header_str("typ"), Some("JWT"));
    let x5u = jws.header_str("x5u").unwrap().to_owned();
    assert!(x5u.starts_with(&pa.base), "{x5u}");
    // Fetch the signer over HTTP, chain it to the PA root, verify the token with it.
    let response = pa.http.get(&x5u).send().await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/pem-certificate-chain"
    );
    let chain = response.text().await.unwrap();
    let root = pa
        .http
        .get(pa.url("/download/v1/certificate/sandbox-sti-pa-root.crt"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(root, pa.sandbox.pa_root_pem());
    jws.verify_es256(&signer_key(&chain, &root)).unwrap();

    let claims = jws.payload_json().unwrap();
    assert_eq!(claims["atc"], atc(SPC_1234, &fingerprint));
    let exp = claims["exp"].as_u64().unwrap();
    assert!(exp > now().as_secs() && exp <= now().as_secs() + 300);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 36);
    let keys: Vec<&String> = claims.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["atc", "exp", "jti"]);

    // A second token has a different jti; the trailing-slash path works too.
    let second: Value = pa
        .http
        .post(pa.url("/api/v1/account/1234/token/"))
        .header("Authorization", &access)
        .json(&json!({"atc": atc("MAigBhYENTY3OA==", &fingerprint)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = CompactJws::parse(second["token"].as_str().unwrap())
        .unwrap()
        .payload_json()
        .unwrap();
    assert_ne!(second["jti"], claims["jti"]);
    assert_eq!(second["atc"]["tkvalue"], "MAigBhYENTY3OA==");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_401() {
    let dir = tempfile::tempdir().unwrap();
    let pa = start(dir.path()).await;
    for (user, password) in [("alice", "wrong"), ("mallory", "wonderland"), ("alice", "")] {
        let response = pa
            .http
            .post(pa.url("/api/v1/auth/login"))
            .json(&json!({"userId": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"status": "failed", "message": "invalid userId or password"})
        );
    }
    let malformed = pa
        .http
        .post(pa.url("/api/v1/auth/login"))
        .body("{\"user\":\"alice\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
}

#[tokio::test]
async fn token_without_valid_access_token_is_401() {
    let dir = tempfile::tempdir().unwrap();
    let pa = start(dir.path()).await;
    let fingerprint = common::spki_fingerprint(&SigningKey::generate().unwrap());
    let (status, body) = pa
        .token_request("not-a-token", "1234", atc(SPC_1234, &fingerprint))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["status"], "failed");
    // Logged out tokens stop working.
    let access = pa.login("alice", "wonderland").await;
    let logout = pa
        .http
        .post(pa.url("/api/v1/auth/logout"))
        .header("Authorization", &access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200);
    let (status, _) = pa
        .token_request(&access, "1234", atc(SPC_1234, &fingerprint))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn foreign_account_and_ocn_are_403() {
    let dir = tempfile::tempdir().unwrap();
    let pa = start(dir.path()).await;
    let access = pa.login("alice", "wonderland").await;
    let fingerprint = common::spki_fingerprint(&SigningKey::generate().unwrap());
    // bob's account.
    let (status, body) = pa
        .token_request(&access, "9999", atc("MAigBhYEOTk5OQ==", &fingerprint))
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"status": "failed", "message": "user is not authorized for account 9999"})
    );
    // Unknown account.
    let (status, _) = pa
        .token_request(&access, "0000", atc(SPC_1234, &fingerprint))
        .await;
    assert_eq!(status, 403);
    // Own account, OCN it does not own (9999).
    let (status, body) = pa
        .token_request(&access, "1234", atc("MAigBhYEOTk5OQ==", &fingerprint))
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        "account 1234 is not authorized for ocn 9999"
    );
}

#[tokio::test]
async fn malformed_atc_is_400() {
    let dir = tempfile::tempdir().unwrap();
    let pa = start(dir.path()).await;
    let access = pa.login("alice", "wonderland").await;
    let fp = common::spki_fingerprint(&SigningKey::generate().unwrap());
    let two_spcs = TnAuthList::new(vec![
        pki::TnEntry::Spc(passport::Spc::new("1234").unwrap()),
        pki::TnEntry::Spc(passport::Spc::new("5678").unwrap()),
    ])
    .unwrap()
    .to_base64();
    let cases = [
        (
            json!({"tktype": "TNAuthList", "tkvalue": SPC_1234, "ca": false}),
            "atc.fingerprint must be a string",
        ),
        (
            json!({"tktype": "JWT", "tkvalue": SPC_1234, "ca": false, "fingerprint": fp}),
            "atc.tktype must be TNAuthList",
        ),
        (
            json!({"tktype": "TNAuthList", "tkvalue": "not base64!", "ca": false, "fingerprint": fp}),
            "atc.tkvalue is not a base64 TNAuthList",
        ),
        (
            json!({"tktype": "TNAuthList", "tkvalue": two_spcs, "ca": false, "fingerprint": fp}),
            "atc.tkvalue must hold exactly one SPC",
        ),
        (
            json!({"tktype": "TNAuthList", "tkvalue": SPC_1234, "ca": "no", "fingerprint": fp}),
            "atc.ca must be a boolean",
        ),
        (
            json!({"tktype": "TNAuthList", "tkvalue": SPC_1234, "ca": false, "fingerprint": fp.to_lowercase()}),
            "atc.fingerprint must be \"SHA256 \" and 32 uppercase hex pairs joined by ':'",
        ),
    ];
    for (atc, message) in cases {
        let (status, body) = pa.token_request(&access, "1234", atc).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body, json!({"status": "failed", "message": message}));
    }
    let response = pa
        .http
        .post(pa.url("/api/v1/account/1234/token"))
        .header("Authorization", &access)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn ca_list_verifies_with_the_pa_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    let pa = start(dir.path()).await;
    let unauthenticated = pa.http.get(pa.url("/api/v1/ca-list")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);

    let access = pa.login("alice", "wonderland").await;
    let body: Value = pa
        .http
        .get(pa.url("/api/v1/ca-list"))
        .header("Authorization", &access)
        .header("Accept", "application/jose+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "success");
    let list = UnverifiedCaList::parse(body["caList"].as_str().unwrap()).unwrap();
    let chain = pa
        .http
        .get(list.x5u())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let signer = signer_key(&chain, &pa.sandbox.pa_root_pem());
    let list = list.verify(&signer, now()).unwrap();
    assert_eq!(list.sequence(), 1);
    assert!(list.exp() > now().as_secs());
    let ca_root = CertificateDer::from_pem_slice(pa.sandbox.ca_root_pem().as_bytes()).unwrap();
    assert_eq!(list.certificates(), &[ca_root]);

    // Any other key fails.
    let other = SigningKey::generate().unwrap().verifying_key().unwrap();
    let again = UnverifiedCaList::parse(body["caList"].as_str().unwrap()).unwrap();
    assert!(again.verify(&other, now()).is_err());
    // And it expires.
    let later = UnixTime::since_unix_epoch(Duration::from_secs(list.exp() + 1));
    let again = UnverifiedCaList::parse(body["caList"].as_str().unwrap()).unwrap();
    assert!(matches!(
        again.verify(&signer, later),
        Err(pki::CaListError::Expired { .. })
    ));
}

#[tokio::test]
async fn empty_crl_is_an_indirect_crl_signed_by_the_crl_signer() {
    let dir = tempfile::tempdir().unwrap();
    let pa = start(dir.path()).await;
    let response = pa
        .http
        .get(pa.url("/download/v1/crl"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pkix-crl");
    let der = response.bytes().await.unwrap();
    let (rest, crl) = x509_parser::parse_x509_crl(&der).unwrap();
    assert!(rest.is_empty());
    let signer_pem = pa.sandbox.crl_signer_pem();
    let signer_der = CertificateDer::from_pem_slice(signer_pem.as_bytes()).unwrap();
    let (_, signer) = x509_parser::parse_x509_certificate(&signer_der).unwrap();
    crl.verify_signature(signer.public_key()).unwrap();
    assert_eq!(crl.issuer(), signer.subject());
    assert_eq!(
        signer.subject().to_string(),
        "L=Sandbox, ST=NJ, CN=Stirling Sandbox STI-PA CRL, C=US, O=Stirling Sandbox STI-PA"
    );
    assert_eq!(crl.iter_revoked_certificates().count(), 0);
    let idp = crl
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::IssuingDistributionPoint(idp) => Some(idp),
            _ => None,
        })
        .unwrap();
    assert!(idp.indirect_crl);
}
