//! The STI-PA API client against an in-test HTTPS STI-PA with iconectiv's shapes.
#![allow(clippy::panic, clippy::unwrap_used)]

mod pa;

use std::time::Duration;

use pa::{PASSWORD, PaServer, TOKEN, TestResult, USER, password};
use serde_json::json;
use sti::{
    AccessToken, Atc, Fingerprint, FingerprintInput, MAX_CRL_BYTES, Secret, StiPaClient, StiPaError,
};

fn atc() -> Atc {
    let key = passport::SigningKey::generate().unwrap();
    let spki = key.public_key_spki_der().unwrap();
    Atc {
        tkvalue: pki::TnAuthList::from_base64("MAigBhYEMjgxSw==")
            .unwrap()
            .to_base64(),
        ca: false,
        fingerprint: Fingerprint::of_account_key(FingerprintInput::SpkiDer, &spki).unwrap(),
    }
}

#[tokio::test]
async fn login_returns_the_access_token() -> TestResult {
    let server = PaServer::start().await;
    let token = server.client().login(USER, &password()).await?;
    assert_eq!(token.secret_str(), TOKEN);
    assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
    Ok(())
}

#[tokio::test]
async fn wrong_password_is_unauthorized() {
    let server = PaServer::start().await;
    let result = server.client().login(USER, &Secret::new("wrong")).await;
    assert!(
        matches!(result, Err(StiPaError::Unauthorized)),
        "{result:?}"
    );
    assert_eq!(server.hits("login"), 1);
}

#[tokio::test]
async fn spc_token_request_has_the_iconectiv_shape() -> TestResult {
    let server = PaServer::start().await;
    let client = server.client();
    let token = client.login(USER, &password()).await?;
    let atc = atc();
    let answer = client.spc_token(&token, "281K", &atc).await?;
    assert_eq!(
        answer.token.secret_str(),
        "eyJhbGciOiJFUzI1NiJ9.spc-token-payload.sig"
    );
    assert_eq!(
        answer.crl.as_deref(),
        Some("https://authenticate-api-stg.iconectiv.com/download/v1/crl")
    );
    let debug = format!("{answer:?}");
    assert!(!debug.contains("spc-token-payload"), "{debug}");

    let seen = server.state.seen.lock().unwrap();
    assert_eq!(seen.authorization, vec![TOKEN.to_owned()]);
    let (account, body) = &seen.token_bodies[0];
    assert_eq!(account, "281K");
    assert_eq!(
        body,
        &json!({"atc": {
            "tktype": "TNAuthList",
            "tkvalue": "MAigBhYEMjgxSw==",
            "ca": false,
            "fingerprint": atc.fingerprint.to_string(),
        }})
    );
    Ok(())
}

#[tokio::test]
async fn bad_request_carries_the_sti_pa_message() -> TestResult {
    let server = PaServer::start().await;
    server.state.served.lock().unwrap().token_status = Some((
        400,
        json!({"status": "failed", "message": "Fingerprint does not match"}),
    ));
    let client = server.client();
    let token = client.login(USER, &password()).await?;
    let result = client.spc_token(&token, "281K", &atc()).await;
    match result {
        Err(StiPaError::BadRequest { message }) => {
            assert_eq!(message, "Fingerprint does not match")
        }
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn forbidden_and_other_statuses() -> TestResult {
    let server = PaServer::start().await;
    let client = server.client();
    let token = client.login(USER, &password()).await?;
    server.state.served.lock().unwrap().token_status = Some((403, json!({})));
    assert!(matches!(
        client.spc_token(&token, "281K", &atc()).await,
        Err(StiPaError::Forbidden)
    ));
    server.state.served.lock().unwrap().token_status = Some((500, json!({})));
    assert!(matches!(
        client.spc_token(&token, "281K", &atc()).await,
        Err(StiPaError::Status { status: 500 })
    ));
    server.state.served.lock().unwrap().token_status = Some((
        200,
        json!({"status": "success", "message": "no token here"}),
    ));
    assert!(matches!(
        client.spc_token(&token, "281K", &atc()).await,
        Err(StiPaError::Malformed { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn stale_token_is_unauthorized_and_bad_account_id_never_sent() {
    let server = PaServer::start().await;
    let client = server.client();
    let result = client
        .spc_token(&AccessToken::new("expired"), "281K", &atc())
        .await;
    assert!(matches!(result, Err(StiPaError::Unauthorized)));
    let result = client
        .spc_token(&AccessToken::new(TOKEN), "../admin", &atc())
        .await;
    assert!(matches!(result, Err(StiPaError::InvalidAccountId { .. })));
    assert_eq!(server.hits("token"), 1);
}

#[tokio::test]
async fn crl_is_fetched_with_the_pkix_crl_accept_header() -> TestResult {
    let server = PaServer::start().await;
    server.serve_crl(Some(b"\x30\x03\x02\x01\x00".to_vec()));
    let body = server.client().crl(&server.crl_url()).await?;
    assert_eq!(body, b"\x30\x03\x02\x01\x00");
    assert_eq!(
        server.state.seen.lock().unwrap().crl_accept,
        vec!["application/pkix-crl".to_owned()]
    );
    Ok(())
}

#[tokio::test]
async fn crl_size_is_capped() {
    let server = PaServer::start().await;
    server.state.served.lock().unwrap().big_crl = true;
    let result = server.client().crl(&server.crl_url()).await;
    assert!(
        matches!(
            result,
            Err(StiPaError::TooLarge {
                limit: MAX_CRL_BYTES
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn slow_answer_times_out() {
    let server = PaServer::start().await;
    server.serve_crl(Some(vec![0x30, 0x00]));
    server.state.served.lock().unwrap().crl_delay = Some(Duration::from_secs(30));
    let config = sti::StiPaConfig {
        timeout: Duration::from_millis(300),
        ..server.client_config()
    };
    let result = StiPaClient::new(&config)
        .unwrap()
        .crl(&server.crl_url())
        .await;
    assert!(
        matches!(result, Err(StiPaError::Timeout { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn urls_must_be_https() {
    let server = PaServer::start().await;
    let client = server.client();
    for url in ["http://127.0.0.1/crl", "not a url", "file:///etc/passwd"] {
        assert!(matches!(
            client.crl(url).await,
            Err(StiPaError::InvalidUrl { .. })
        ));
        assert!(matches!(
            client.signer_chain(url).await,
            Err(StiPaError::InvalidUrl { .. })
        ));
    }
    assert_eq!(server.hits("crl"), 0);
}

#[tokio::test]
async fn errors_and_debug_never_show_the_password() {
    let server = PaServer::start().await;
    let secret = Secret::new(PASSWORD);
    let error = server
        .client()
        .login(USER, &Secret::new("wrong-password-xyz"))
        .await
        .unwrap_err();
    for text in [
        format!("{error}"),
        format!("{error:?}"),
        format!("{secret:?}"),
    ] {
        assert!(
            !text.contains("wrong-password-xyz") && !text.contains(PASSWORD),
            "{text}"
        );
    }
}

#[tokio::test]
async fn signer_chain_size_is_capped() -> TestResult {
    let server = PaServer::start().await;
    let url = server.url("/download/v1/certificate/signer.crt");
    server.state.served.lock().unwrap().signer_pem = Some("A".repeat(64 * 1024));
    assert_eq!(server.client().signer_chain(&url).await?.len(), 64 * 1024);
    server.state.served.lock().unwrap().signer_pem = Some("A".repeat(64 * 1024 + 1));
    assert!(matches!(
        server.client().signer_chain(&url).await,
        Err(StiPaError::TooLarge {
            limit: sti::MAX_SIGNER_CHAIN_BYTES
        })
    ));
    Ok(())
}

#[tokio::test]
async fn success_status_with_failed_body_is_a_rejection() -> TestResult {
    let server = PaServer::start().await;
    let client = server.client();
    let token = client.login(USER, &password()).await?;
    server.state.served.lock().unwrap().token_status = Some((
        200,
        json!({"status": "failed", "message": "Account is suspended"}),
    ));
    match client.spc_token(&token, "281K", &atc()).await {
        Err(StiPaError::BadRequest { message }) => assert_eq!(message, "Account is suspended"),
        other => panic!("{other:?}"),
    }
    Ok(())
}
