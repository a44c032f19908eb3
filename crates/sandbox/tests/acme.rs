#![allow(clippy::panic, clippy::unwrap_used)]
//! The sandbox STI-CA over a real loopback socket, driven by a minimal ACME client: the full
//! tkauth-01 flow with a token from the sandbox PA, and each refusal.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Acme, Running, csr, start};
use passport::Spc;
use pki::TnAuthList;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use serde_json::{Value, json};

const SPC_1234: &str = "MAigBhYEMTIzNA==";
const SPC_5678: &str = "MAigBhYENTY3OA==";
const ERR: &str = "urn:ietf:params:acme:error:";

/// A registered account, an order for `value`, and the order's challenge.
async fn ordered(ca: &Running, value: &str) -> (Acme, Value, Value) {
    let mut acme = Acme::new(ca).await;
    acme.register().await;
    let (_, order) = acme.order(value).await;
    let challenge = acme.challenge(&order).await;
    (acme, order, challenge)
}

fn chain_der(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
async fn full_flow_issues_a_lint_clean_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let mut acme = Acme::new(&ca).await;
    assert_eq!(acme.directory["meta"]["externalAccountRequired"], false);
    let get_nonce = ca.http.get(acme.dir("newNonce")).send().await.unwrap();
    assert_eq!(get_nonce.status(), 204);
    assert!(get_nonce.headers().contains_key("replay-nonce"));

    let account = acme.register().await;
    assert_eq!(account.json()["status"], "valid");
    // The same key again (signed with jwk): 200 and the same account URL.
    let kid = acme.kid.take().unwrap();
    let again = acme.post(&acme.dir("newAccount"), Some(&json!({}))).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.location(), kid);
    acme.kid = Some(kid);

    let (order_url, order) = acme.order(SPC_1234).await;
    assert_eq!(order["status"], "pending");
    assert_eq!(
        order["identifiers"],
        json!([{"type": "TNAuthList", "value": SPC_1234}])
    );
    let challenge = acme.challenge(&order).await;
    assert_eq!(challenge["type"], "tkauth-01");
    assert_eq!(challenge["tkauth-type"], "atc");
    assert_eq!(challenge["token-authority"], ca.url("/api/v1"));
    assert_eq!(challenge["status"], "pending");

    let token = ca.spc_token(SPC_1234, &acme.fingerprint()).await;
    let answer = acme.answer(&challenge, &token).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["status"], "valid", "{}", answer.json());
    let order = acme.post(&order_url, None).await.json();
    assert_eq!(order["status"], "ready");

    let finalized = acme.finalize(&order, &csr("1234")).await;
    assert_eq!(
        finalized.status,
        200,
        "{}",
        String::from_utf8_lossy(&finalized.body)
    );
    let order = finalized.json();
    assert_eq!(order["status"], "valid");
    let download = acme
        .post(order["certificate"].as_str().unwrap(), None)
        .await;
    assert_eq!(download.status, 200);
    assert_eq!(
        download.headers["content-type"],
        "application/pem-certificate-chain"
    );
    let chain = chain_der(std::str::from_utf8(&download.body).unwrap());
    assert_eq!(chain.len(), 2);
    let intermediate =
        CertificateDer::from_pem_slice(ca.sandbox.ca_intermediate_pem().as_bytes()).unwrap();
    assert_eq!(chain[1], intermediate);

    // ATIS-1000080 profile: no lint errors, and the fields we promise.
    let report = pki::lint_certificate(&chain[0]).unwrap();
    assert!(!report.has_errors(), "{:?}", report.findings());
    for rule in [
        "e_atis_tn_auth_list",
        "e_atis_crl_distribution",
        "e_atis_certificate_policies",
        "e_atis_subject_cn",
        "e_atis_serial_number",
        "e_atis_authority_key_identifier",
    ] {
        assert_eq!(report.verdict(rule), pki::Verdict::Pass, "{rule}");
    }
    let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
    assert_eq!(
        leaf.subject().to_string(),
        "C=US, O=Example Telco, CN=SHAKEN 1234"
    );
    let (_, int) = x509_parser::parse_x509_certificate(&intermediate).unwrap();
    leaf.verify_signature(Some(int.public_key())).unwrap();
    let validity = leaf.validity().not_after.timestamp() - leaf.validity().not_before.timestamp();
    assert_eq!(validity, 7 * 86_400 + 60);
    assert!(leaf.raw_serial().len() >= 8 && leaf.raw_serial()[0] & 0x80 == 0);
    let der = chain[0].to_vec();
    assert!(
        der.windows(10)
            .any(|w| w == b"\x30\x08\xA0\x06\x16\x041234"),
        "TNAuthList present"
    );
    let crl_url = ca.url("/download/v1/crl");
    assert!(der.windows(crl_url.len()).any(|w| w == crl_url.as_bytes()));
    // The intermediate chains to the root the CA list lists.
    let root = CertificateDer::from_pem_slice(ca.sandbox.ca_root_pem().as_bytes()).unwrap();
    let (_, root) = x509_parser::parse_x509_certificate(&root).unwrap();
    int.verify_signature(Some(root.public_key())).unwrap();
}

#[tokio::test]
async fn sandbox_ca_certificates_lint_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    for pem in [ca.sandbox.ca_root_pem(), ca.sandbox.ca_intermediate_pem()] {
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        let report = pki::lint_certificate(&der).unwrap();
        assert!(!report.has_errors(), "{:?}", report.findings());
    }
}

#[tokio::test]
async fn reused_and_unknown_nonces_are_bad_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let mut acme = Acme::new(&ca).await;
    let url = acme.dir("newAccount");
    let nonce = acme.fresh_nonce().await;
    let jws = acme.sign(&url, &nonce, Some(&json!({"termsOfServiceAgreed": true})));
    let first = acme.send(&url, &jws).await;
    assert_eq!(first.status, 201);
    let replay = acme.send(&url, &jws).await;
    assert_eq!(replay.status, 400);
    assert_eq!(replay.problem_type(), format!("{ERR}badNonce"));
    // Every answer, errors included, carries a fresh nonce, and it works.
    let fresh = replay.headers["replay-nonce"].to_str().unwrap().to_owned();
    assert_ne!(fresh, nonce);
    let jws = acme.sign(&url, "never-issued", Some(&json!({})));
    let unknown = acme.send(&url, &jws).await;
    assert_eq!(unknown.problem_type(), format!("{ERR}badNonce"));
    let jws = acme.sign(&url, &fresh, Some(&json!({})));
    assert_eq!(acme.send(&url, &jws).await.status, 200);
}

#[tokio::test]
async fn jws_checks() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let mut acme = Acme::new(&ca).await;
    // url must be the request URL.
    let url = acme.dir("newAccount");
    let nonce = acme.fresh_nonce().await;
    let jws = acme.sign(&acme.dir("newOrder"), &nonce, Some(&json!({})));
    let wrong_url = acme.send(&url, &jws).await;
    assert_eq!(wrong_url.problem_type(), format!("{ERR}unauthorized"));
    // kid of an unknown account.
    acme.kid = Some(ca.url("/acme/acct/nobody"));
    let unknown = acme.post(&acme.dir("newOrder"), Some(&json!({}))).await;
    assert_eq!(unknown.problem_type(), format!("{ERR}accountDoesNotExist"));
    // A tampered signature.
    acme.kid = None;
    let nonce = acme.fresh_nonce().await;
    let mut jws = acme.sign(&url, &nonce, Some(&json!({})));
    jws.payload = URL_SAFE_NO_PAD.encode(b"{\"x\":1}");
    let tampered = acme.send(&url, &jws).await;
    assert_eq!(tampered.problem_type(), format!("{ERR}malformed"));
    // newOrder must be signed with kid.
    let jwk_order = acme.post(&acme.dir("newOrder"), Some(&json!({}))).await;
    assert_eq!(jwk_order.problem_type(), format!("{ERR}malformed"));
}

async fn rejected(ca: &Running, acme: &mut Acme, challenge: &Value, token: &str) -> String {
    let answer = acme.answer(challenge, token).await;
    assert_eq!(answer.status, 200);
    let challenge = answer.json();
    assert_eq!(challenge["status"], "invalid");
    assert_eq!(challenge["error"]["type"], format!("{ERR}unauthorized"));
    let _ = ca;
    challenge["error"]["detail"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn token_for_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let (mut acme, order, challenge) = ordered(&ca, SPC_1234).await;
    let other = common::spki_fingerprint(&passport::SigningKey::generate().unwrap());
    let token = ca.spc_token(SPC_1234, &other).await;
    let detail = rejected(&ca, &mut acme, &challenge, &token).await;
    assert!(detail.starts_with("atc.fingerprint"), "{detail}");
    // The order is invalid: finalize is refused.
    let finalize = acme.finalize(&order, &csr("1234")).await;
    assert_eq!(finalize.status, 403);
    assert_eq!(finalize.problem_type(), format!("{ERR}orderNotReady"));
}

#[tokio::test]
async fn expired_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let (mut acme, _, challenge) = ordered(&ca, SPC_1234).await;
    ca.set_faults(json!({"expiredTokenNext": 1})).await;
    let token = ca.spc_token(SPC_1234, &acme.fingerprint()).await;
    let detail = rejected(&ca, &mut acme, &challenge, &token).await;
    assert!(detail.starts_with("token expired at"), "{detail}");
}

#[tokio::test]
async fn tkvalue_other_than_the_identifier_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let (mut acme, _, challenge) = ordered(&ca, SPC_1234).await;
    let token = ca.spc_token(SPC_5678, &acme.fingerprint()).await;
    let detail = rejected(&ca, &mut acme, &challenge, &token).await;
    assert!(detail.starts_with("atc.tkvalue"), "{detail}");
}

#[tokio::test]
async fn reused_jti_and_foreign_signer_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let (mut acme, _, challenge) = ordered(&ca, SPC_1234).await;
    let token = ca.spc_token(SPC_1234, &acme.fingerprint()).await;
    assert_eq!(
        acme.answer(&challenge, &token).await.json()["status"],
        "valid"
    );
    // Same token on a second order.
    let (_, order) = acme.order(SPC_1234).await;
    let challenge = acme.challenge(&order).await;
    let detail = rejected(&ca, &mut acme, &challenge, &token).await;
    assert!(detail.contains("was already used"), "{detail}");
    // A token signed by someone else with the sandbox's x5u.
    let (_, order) = acme.order(SPC_1234).await;
    let challenge = acme.challenge(&order).await;
    let forged = passport::sign_compact(
        &passport::SigningKey::generate().unwrap(),
        &json!({"alg": "ES256", "typ": "JWT", "x5u": ca.url("/download/v1/certificate/sandbox-sti-pa-signer.crt")}),
        json!({"exp": 4_000_000_000u64, "jti": "forged", "atc": common::atc(SPC_1234, &acme.fingerprint())})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let detail = rejected(&ca, &mut acme, &challenge, &forged).await;
    assert!(detail.starts_with("token signature"), "{detail}");
    // A challenge answer without atc is malformed and leaves the challenge pending.
    let (_, order) = acme.order(SPC_1234).await;
    let challenge = acme.challenge(&order).await;
    let url = challenge["url"].as_str().unwrap().to_owned();
    let empty = acme.post(&url, Some(&json!({}))).await;
    assert_eq!(empty.problem_type(), format!("{ERR}malformed"));
    assert_eq!(acme.post(&url, None).await.json()["status"], "pending");
}

#[tokio::test]
async fn csr_with_another_tn_auth_list_is_bad_csr() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let (mut acme, order, challenge) = ordered(&ca, SPC_1234).await;
    let token = ca.spc_token(SPC_1234, &acme.fingerprint()).await;
    assert_eq!(
        acme.answer(&challenge, &token).await.json()["status"],
        "valid"
    );
    let finalize = acme.finalize(&order, &csr("5678")).await;
    assert_eq!(finalize.problem_type(), format!("{ERR}badCSR"));
    assert_eq!(
        finalize.json()["detail"],
        "csr TNAuthList does not equal the order's identifier"
    );
    // Garbage is badCSR too; the order stays ready.
    let garbage = acme.finalize(&order, b"\x30\x03\x02\x01\x00").await;
    assert_eq!(garbage.problem_type(), format!("{ERR}badCSR"));
    let ok = acme.finalize(&order, &csr("1234")).await;
    assert_eq!(ok.status, 200);
    // One certificate per order.
    let twice = acme.finalize(&order, &csr("1234")).await;
    assert_eq!(twice.problem_type(), format!("{ERR}orderNotReady"));
    assert_eq!(twice.json()["detail"], "order is valid, not ready");
}

#[tokio::test]
async fn csr_with_a_p384_key_is_bad_csr() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let (mut acme, order, challenge) = ordered(&ca, SPC_1234).await;
    let token = ca.spc_token(SPC_1234, &acme.fingerprint()).await;
    assert_eq!(
        acme.answer(&challenge, &token).await.json()["status"],
        "valid"
    );
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 26],
        TnAuthList::from_spc(Spc::new("1234").unwrap()).to_der(),
    )];
    let p384 = params.serialize_request(&key).unwrap();
    let finalize = acme.finalize(&order, p384.der()).await;
    assert_eq!(finalize.problem_type(), format!("{ERR}badCSR"));
    assert_eq!(finalize.json()["detail"], "csr key is not an EC P-256 key");
}

#[tokio::test]
async fn identifiers_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let mut acme = Acme::new(&ca).await;
    acme.register().await;
    let url = acme.dir("newOrder");
    let dns = acme
        .post(
            &url,
            Some(&json!({"identifiers": [{"type": "dns", "value": "example.com"}]})),
        )
        .await;
    assert_eq!(dns.problem_type(), format!("{ERR}unsupportedIdentifier"));
    let junk = acme
        .post(
            &url,
            Some(&json!({"identifiers": [{"type": "TNAuthList", "value": "%%"}]})),
        )
        .await;
    assert_eq!(junk.problem_type(), format!("{ERR}malformed"));
    // base64url (unpadded) is accepted and echoed as sent.
    let (_, order) = acme.order("MAigBhYEMTIzNA").await;
    assert_eq!(order["identifiers"][0]["value"], "MAigBhYEMTIzNA");
    // ... and a padded-base64 token for the same TNAuthList satisfies it.
    let challenge = acme.challenge(&order).await;
    let token = ca.spc_token(SPC_1234, &acme.fingerprint()).await;
    assert_eq!(
        acme.answer(&challenge, &token).await.json()["status"],
        "valid"
    );
}

#[tokio::test]
async fn revoked_certificate_appears_in_the_crl() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let (mut acme, pem) = common::issue(&ca).await;
    let leaf = chain_der(&pem).remove(0);
    let payload = json!({"certificate": URL_SAFE_NO_PAD.encode(&leaf), "reason": 1});
    let revoke = acme.post(&acme.dir("revokeCert"), Some(&payload)).await;
    assert_eq!(
        revoke.status,
        200,
        "{}",
        String::from_utf8_lossy(&revoke.body)
    );
    let again = acme.post(&acme.dir("revokeCert"), Some(&payload)).await;
    assert_eq!(again.problem_type(), format!("{ERR}alreadyRevoked"));

    let crl = ca
        .http
        .get(ca.url("/download/v1/crl"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let (_, crl) = x509_parser::parse_x509_crl(&crl).unwrap();
    let signer = CertificateDer::from_pem_slice(ca.sandbox.crl_signer_pem().as_bytes()).unwrap();
    let (_, signer) = x509_parser::parse_x509_certificate(&signer).unwrap();
    crl.verify_signature(signer.public_key()).unwrap();
    let (_, leaf) = x509_parser::parse_x509_certificate(&leaf).unwrap();
    let entries: Vec<_> = crl.iter_revoked_certificates().collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].raw_serial(), leaf.raw_serial());
    // certificateIssuer (2.5.29.29) = GeneralNames { [4] the leaf's issuer }.
    let issuer = entries[0]
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == "2.5.29.29")
        .unwrap();
    assert!(issuer.critical);
    let name = leaf.issuer().as_raw();
    assert_eq!(
        &issuer.value[..4],
        &[0x30, name.len() as u8 + 2, 0xA4, name.len() as u8]
    );
    assert_eq!(&issuer.value[4..], name);
    assert_eq!(crl.crl_number().map(|n| n.to_string()), Some("1".into()));
}

#[tokio::test]
async fn external_account_binding_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let secret = b"0123456789abcdef0123456789abcdef".to_vec();
    let ca = common::start_with(dir.path(), |config| {
        config.external_account = Some(sandbox::ExternalAccountKey {
            kid: "eab-1".into(),
            secret_hmac_key: secret.clone(),
        });
    })
    .await;
    let mut acme = Acme::new(&ca).await;
    assert_eq!(acme.directory["meta"]["externalAccountRequired"], true);
    let url = acme.dir("newAccount");
    let without = acme
        .post(&url, Some(&json!({"termsOfServiceAgreed": true})))
        .await;
    assert_eq!(
        without.problem_type(),
        format!("{ERR}externalAccountRequired")
    );

    let jwk = acme.key.public_jwk().to_string();
    let binding = |key: &[u8]| {
        passport::FlattenedJws::sign_hs256(
            key,
            &json!({"alg": "HS256", "kid": "eab-1", "url": url}),
            jwk.as_bytes(),
        )
    };
    let wrong = binding(b"wrong key");
    let bad = acme
        .post(&url, Some(&json!({"externalAccountBinding": wrong})))
        .await;
    assert_eq!(bad.problem_type(), format!("{ERR}unauthorized"));
    let good = binding(&secret);
    let ok = acme
        .post(&url, Some(&json!({"externalAccountBinding": good})))
        .await;
    assert_eq!(ok.status, 201, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.json()["externalAccountBinding"]["kid"], "eab-1");
}

#[tokio::test]
async fn jwk_thumbprint_fingerprint_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let ca = common::start_with(dir.path(), |config| {
        config.fingerprint_input = sandbox::FingerprintInput::JwkThumbprint;
    })
    .await;
    let (mut acme, _, challenge) = ordered(&ca, SPC_1234).await;
    // The SPKI fingerprint is now the wrong one.
    let token = ca.spc_token(SPC_1234, &acme.fingerprint()).await;
    let detail = rejected(&ca, &mut acme, &challenge, &token).await;
    assert!(detail.starts_with("atc.fingerprint"), "{detail}");
    // SHA256 + the RFC 7638 thumbprint bytes.
    let thumbprint = URL_SAFE_NO_PAD
        .decode(passport::jwk_thumbprint(&acme.key.public_jwk()).unwrap())
        .unwrap();
    let hex: Vec<String> = thumbprint.iter().map(|b| format!("{b:02X}")).collect();
    let fingerprint = format!("SHA256 {}", hex.join(":"));
    let (_, order) = acme.order(SPC_1234).await;
    let challenge = acme.challenge(&order).await;
    let token = ca.spc_token(SPC_1234, &fingerprint).await;
    assert_eq!(
        acme.answer(&challenge, &token).await.json()["status"],
        "valid"
    );
}

#[tokio::test]
async fn another_account_cannot_read_or_answer_an_order() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let (owner, order, challenge) = ordered(&ca, SPC_1234).await;
    let mut intruder = Acme::new(&ca).await;
    intruder.register().await;
    let authz = order["authorizations"][0].as_str().unwrap();
    assert_eq!(
        intruder.post(authz, None).await.problem_type(),
        format!("{ERR}unauthorized")
    );
    let token = ca.spc_token(SPC_1234, &intruder.fingerprint()).await;
    assert_eq!(
        intruder.answer(&challenge, &token).await.problem_type(),
        format!("{ERR}unauthorized")
    );
    assert_eq!(
        intruder.finalize(&order, &csr("1234")).await.problem_type(),
        format!("{ERR}unauthorized")
    );
    drop(owner);
}

#[tokio::test]
async fn token_for_a_ca_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let (mut acme, _, challenge) = ordered(&ca, SPC_1234).await;
    let access = ca.login("alice", "wonderland").await;
    let mut atc = common::atc(SPC_1234, &acme.fingerprint());
    atc["ca"] = json!(true);
    let (status, body) = ca.token_request(&access, "1234", atc).await;
    assert_eq!(status, 200);
    let detail = rejected(&ca, &mut acme, &challenge, body["token"].as_str().unwrap()).await;
    assert_eq!(
        detail,
        "atc.ca is true; this CA issues end-entity certificates only"
    );
}

#[tokio::test]
async fn posts_must_be_jose_json() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let acme = Acme::new(&ca).await;
    let url = acme.dir("newAccount");
    let nonce = acme.fresh_nonce().await;
    let jws = acme.sign(&url, &nonce, Some(&json!({})));
    let response = ca
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&jws).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], format!("{ERR}malformed"));
}

#[tokio::test]
async fn expired_orders_and_authorizations_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let ca = common::start_with(dir.path(), |config| {
        config.order_lifetime = std::time::Duration::ZERO;
    })
    .await;
    let mut acme = Acme::new(&ca).await;
    acme.register().await;
    let (order_url, order) = acme.order(SPC_1234).await;
    assert_eq!(
        acme.post(&order_url, None).await.json()["status"],
        "invalid"
    );
    let authz_url = order["authorizations"][0].as_str().unwrap().to_owned();
    let authz = acme.post(&authz_url, None).await.json();
    assert_eq!(authz["status"], "invalid");
    // Answering the expired challenge changes nothing.
    let token = ca.spc_token(SPC_1234, &acme.fingerprint()).await;
    let answer = acme.answer(&authz["challenges"][0], &token).await;
    assert_eq!(answer.json()["status"], "invalid");
    let finalize = acme.finalize(&order, &csr("1234")).await;
    assert_eq!(finalize.problem_type(), format!("{ERR}orderNotReady"));
}

#[tokio::test]
async fn key_change_rolls_the_account_key() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start(dir.path()).await;
    let mut acme = Acme::new(&ca).await;
    acme.register().await;
    let kid = acme.kid.clone().unwrap();
    let url = acme.dir("keyChange");
    let rollover = |new: &passport::SigningKey, account: &str, old: &Value| {
        serde_json::to_value(
            passport::FlattenedJws::sign_es256(
                new,
                &json!({"alg": "ES256", "jwk": new.public_jwk(), "url": url}),
                json!({"account": account, "oldKey": old})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let new_key = passport::SigningKey::generate().unwrap();
    let inner = rollover(&new_key, &kid, &acme.key.public_jwk());
    let changed = acme.post(&url, Some(&inner)).await;
    assert_eq!(
        changed.status,
        200,
        "{}",
        String::from_utf8_lossy(&changed.body)
    );
    assert_eq!(changed.location(), kid);

    // The old key no longer signs for the account; the new one does.
    let old = acme
        .post(&acme.dir("newOrder"), Some(&json!({"identifiers": []})))
        .await;
    assert_eq!(old.problem_type(), format!("{ERR}malformed"));
    let old_jwk = acme.key.public_jwk();
    acme.key = new_key;
    acme.order(SPC_1234).await;

    // Another account cannot take that key: 409 naming its holder.
    let mut other = Acme::new(&ca).await;
    other.register().await;
    let other_kid = other.kid.clone().unwrap();
    let inner = rollover(&acme.key, &other_kid, &other.key.public_jwk());
    let conflict = other.post(&url, Some(&inner)).await;
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.location(), kid);
    // oldKey must be the current key.
    let fresh = passport::SigningKey::generate().unwrap();
    let inner = rollover(&fresh, &other_kid, &old_jwk);
    let wrong_old = other.post(&url, Some(&inner)).await;
    assert_eq!(wrong_old.problem_type(), format!("{ERR}unauthorized"));
}
