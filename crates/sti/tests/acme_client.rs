//! The ACME client against a strict in-test ACME server on 127.0.0.1 (`acme_server`), with
//! injected faults: badNonce, refused tokens, invalid authorization and order, Retry-After,
//! a certificate for another TNAuthList, malformed JSON, a slow server, and EAB.

#![allow(clippy::panic, clippy::unwrap_used)]

mod acme_server;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use acme_server::{AcmeServer, Faults};
use passport::SigningKey;
use pki::{CsrParams, TnAuthList};
use sti::{
    AcmeClient, AcmeConfig, AcmeError, ExternalAccountBinding, IdentifierEncoding, IssuedChain,
    NewAccount, OrderRequest, ProblemType,
};

const ORDERED: &str = "MAigBhYEMTIzNA==";

#[derive(Debug, thiserror::Error)]
#[error("sti-pa unavailable")]
struct StiPaDown;

fn config(server: &AcmeServer) -> AcmeConfig {
    let mut config = AcmeConfig::new(server.directory_url.clone());
    config.danger.allow_http = true;
    config.poll_interval = Duration::from_millis(10);
    config.request_timeout = Duration::from_secs(10);
    config.poll_timeout = Duration::from_secs(20);
    config
}

fn request() -> OrderRequest {
    OrderRequest {
        tn_auth_list: TnAuthList::from_base64(ORDERED).unwrap(),
        not_before: None,
        not_after: None,
    }
}

fn new_account() -> NewAccount {
    NewAccount {
        contact: vec!["mailto:noc@stirling.example".into()],
        terms_of_service_agreed: true,
        ..NewAccount::default()
    }
}

/// A token source that hands out `token-1`, `token-2`, … and counts its calls.
fn tokens() -> (
    Arc<Mutex<u32>>,
    impl Fn() -> std::future::Ready<Result<String, StiPaDown>>,
) {
    let calls = Arc::new(Mutex::new(0));
    let counter = calls.clone();
    (calls, move || {
        let mut n = counter.lock().unwrap();
        *n += 1;
        std::future::ready(Ok(format!("token-{n}")))
    })
}

async fn run(
    faults: Faults,
    config_edit: impl FnOnce(&mut AcmeConfig),
) -> (AcmeServer, Arc<Mutex<u32>>, Result<IssuedChain, AcmeError>) {
    let server = AcmeServer::start(faults).await;
    let mut config = config(&server);
    config_edit(&mut config);
    let client = AcmeClient::connect(config).await.unwrap();
    let account = client
        .new_account(SigningKey::generate().unwrap(), &new_account())
        .await
        .unwrap();
    let csr = CsrParams::new(request().tn_auth_list)
        .sign_with_new_key()
        .unwrap();
    let (calls, token) = tokens();
    let result = client.issue(&account, &request(), csr.der(), token).await;
    (server, calls, result)
}

fn problem_kind(err: &AcmeError) -> Option<ProblemType> {
    err.problem().map(|p| p.kind.clone())
}

#[tokio::test]
async fn happy_path_reads_the_directory_and_issues() {
    let (server, calls, result) = run(Faults::default(), |_| {}).await;
    let chain = result.unwrap();
    assert_eq!(*calls.lock().unwrap(), 1);
    assert_eq!(
        server.seen(|s| s.identifier.clone()).as_deref(),
        Some(ORDERED)
    );
    assert_eq!(server.seen(|s| s.tokens.clone()), ["token-1"]);
    assert_eq!(chain.der_chain.len(), 2);
    assert!(chain.pem.ends_with(&server.ca_pem()));
    assert_eq!(
        chain.leaf_tn_auth_list().unwrap(),
        Some(request().tn_auth_list)
    );
    assert_eq!(server.seen(|s| s.bad_nonces_sent), 0);
}

#[tokio::test]
async fn base64url_identifier_encoding_is_sent_unpadded() {
    let (server, _, result) = run(Faults::default(), |c| {
        c.identifier_encoding = IdentifierEncoding::Base64Url;
    })
    .await;
    result.unwrap();
    assert_eq!(
        server.seen(|s| s.identifier.clone()).as_deref(),
        Some("MAigBhYEMTIzNA")
    );
}

#[tokio::test]
async fn bad_nonce_on_first_use_is_retried() {
    let faults = Faults {
        bad_nonce_first: true,
        ..Faults::default()
    };
    let (server, _, result) = run(faults, |_| {}).await;
    result.unwrap();
    assert_eq!(server.seen(|s| s.bad_nonces_sent), 1);
}

#[tokio::test]
async fn bad_nonce_retries_are_bounded() {
    let server = AcmeServer::start(Faults {
        bad_nonce_always: true,
        ..Faults::default()
    })
    .await;
    let mut config = config(&server);
    config.bad_nonce_retries = 2;
    let client = AcmeClient::connect(config).await.unwrap();
    let err = client
        .new_account(SigningKey::generate().unwrap(), &new_account())
        .await
        .unwrap_err();
    assert_eq!(problem_kind(&err), Some(ProblemType::BadNonce), "{err}");
    assert_eq!(
        server.seen(|s| s.bad_nonces_sent),
        3,
        "first try + 2 retries"
    );
}

#[tokio::test]
async fn refused_token_is_retried_with_a_fresh_one() {
    let faults = Faults {
        reject_challenge: 1,
        ..Faults::default()
    };
    let (server, calls, result) = run(faults, |_| {}).await;
    result.unwrap();
    assert_eq!(*calls.lock().unwrap(), 2);
    assert_eq!(server.seen(|s| s.tokens.clone()), ["token-1", "token-2"]);
}

#[tokio::test]
async fn challenge_rejected_carries_the_problem_document() {
    let faults = Faults {
        reject_challenge: u32::MAX,
        ..Faults::default()
    };
    let (server, calls, result) = run(faults, |c| c.token_attempts = 3).await;
    match result.unwrap_err() {
        AcmeError::ChallengeRejected {
            url,
            problem: Some(problem),
        } => {
            assert!(url.ends_with("/x/chall/1"), "{url}");
            assert_eq!(problem.kind, ProblemType::Unauthorized);
            assert_eq!(problem.detail.as_deref(), Some("atc not accepted"));
            assert_eq!(problem.status, Some(403));
        }
        other => panic!("{other}"),
    }
    assert_eq!(*calls.lock().unwrap(), 3);
    assert_eq!(server.seen(|s| s.tokens.len()), 3);
}

#[tokio::test]
async fn invalid_authorization_is_a_challenge_rejection() {
    let faults = Faults {
        authz_invalid: true,
        ..Faults::default()
    };
    let (server, _, result) = run(faults, |_| {}).await;
    match result.unwrap_err() {
        AcmeError::ChallengeRejected {
            url,
            problem: Some(problem),
        } => {
            assert!(url.ends_with("/x/authz/1"), "{url}");
            assert_eq!(problem.kind, ProblemType::IncorrectResponse);
        }
        other => panic!("{other}"),
    }
    assert_eq!(server.seen(|s| s.finalized), 0);
}

#[tokio::test]
async fn invalid_order_is_reported_with_its_error() {
    let faults = Faults {
        order_invalid: true,
        ..Faults::default()
    };
    let (_, _, result) = run(faults, |_| {}).await;
    match result.unwrap_err() {
        AcmeError::OrderInvalid {
            url,
            problem: Some(problem),
        } => {
            assert!(url.ends_with("/x/order/1"), "{url}");
            assert_eq!(problem.kind, ProblemType::BadCsr);
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn processing_is_polled_honouring_retry_after() {
    let faults = Faults {
        processing_polls: 2,
        retry_after: Some(1),
        ..Faults::default()
    };
    let (server, _, result) = run(faults, |_| {}).await;
    result.unwrap();
    assert_eq!(server.seen(|s| s.processing_answers), 2);
}

#[tokio::test]
async fn retry_after_beyond_the_poll_budget_is_a_poll_timeout() {
    let faults = Faults {
        processing_polls: 1,
        retry_after: Some(3600),
        ..Faults::default()
    };
    let (server, _, result) = run(faults, |c| c.poll_timeout = Duration::from_secs(60)).await;
    match result.unwrap_err() {
        AcmeError::PollTimeout {
            url,
            status,
            budget,
            ..
        } => {
            assert!(url.ends_with("/x/order/1"), "{url}");
            assert_eq!(status, "processing");
            assert_eq!(budget, Duration::from_secs(60));
        }
        other => panic!("{other}"),
    }
    // It gave up at the first poll rather than sleeping an hour.
    assert_eq!(server.seen(|s| s.processing_answers), 1);
}

#[tokio::test]
async fn certificate_for_another_tn_auth_list_is_refused() {
    let faults = Faults {
        issued_spc: Some("5678".into()),
        ..Faults::default()
    };
    let (_, _, result) = run(faults, |_| {}).await;
    match result.unwrap_err() {
        AcmeError::TnAuthListMismatch { ordered, issued } => {
            assert_eq!(ordered, ORDERED);
            assert_eq!(issued.as_deref(), Some("MAigBhYENTY3OA=="));
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn malformed_json_is_a_typed_error() {
    let faults = Faults {
        malformed_order: true,
        ..Faults::default()
    };
    let (_, _, result) = run(faults, |_| {}).await;
    match result.unwrap_err() {
        AcmeError::Malformed { what, url, .. } => {
            assert_eq!(what, "order");
            assert!(url.ends_with("/x/order-new"), "{url}");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn slow_server_is_a_timeout() {
    let faults = Faults {
        slow_new_order: Some(Duration::from_secs(30)),
        ..Faults::default()
    };
    let (_, _, result) = run(faults, |c| c.request_timeout = Duration::from_millis(300)).await;
    match result.unwrap_err() {
        AcmeError::Timeout { url, after } => {
            assert!(url.ends_with("/x/order-new"), "{url}");
            assert_eq!(after, Duration::from_millis(300));
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn external_account_binding() {
    let mac = b"0123456789abcdef0123456789abcdef".to_vec();
    let server = AcmeServer::start(Faults {
        eab: Some(("eab-kid-7".into(), mac)),
        ..Faults::default()
    })
    .await;
    let client = AcmeClient::connect(config(&server)).await.unwrap();
    assert!(client.directory().meta.external_account_required);

    let err = client
        .new_account(SigningKey::generate().unwrap(), &new_account())
        .await
        .unwrap_err();
    assert_eq!(
        problem_kind(&err),
        Some(ProblemType::ExternalAccountRequired)
    );

    // base64url of the 32-byte MAC key above, as a CA hands it out.
    let eab = ExternalAccountBinding::from_base64url(
        "eab-kid-7",
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
    )
    .unwrap();
    let wrong = ExternalAccountBinding::from_base64url("eab-kid-7", "d3Jvbmc").unwrap();
    let mut request = new_account();
    request.external_account_binding = Some(wrong);
    let err = client
        .new_account(SigningKey::generate().unwrap(), &request)
        .await
        .unwrap_err();
    assert_eq!(problem_kind(&err), Some(ProblemType::Unauthorized));

    request.external_account_binding = Some(eab);
    let account = client
        .new_account(SigningKey::generate().unwrap(), &request)
        .await
        .unwrap();
    assert!(account.url().ends_with("/x/acct/1"));
    assert_eq!(
        server.seen(|s| s.eab_key_id.clone()).as_deref(),
        Some("eab-kid-7")
    );
}

#[tokio::test]
async fn token_source_failure_is_reported() {
    let server = AcmeServer::start(Faults::default()).await;
    let client = AcmeClient::connect(config(&server)).await.unwrap();
    let account = client
        .new_account(SigningKey::generate().unwrap(), &new_account())
        .await
        .unwrap();
    let csr = CsrParams::new(request().tn_auth_list)
        .sign_with_new_key()
        .unwrap();
    let err = client
        .issue(&account, &request(), csr.der(), || async {
            Err::<String, _>(StiPaDown)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, AcmeError::Token(_)), "{err}");
    assert!(server.seen(|s| s.tokens.is_empty()));
}

#[tokio::test]
async fn oversized_certificate_is_refused() {
    let faults = Faults {
        huge_certificate: Some(sti::ACME_MAX_BODY_BYTES + 1),
        ..Faults::default()
    };
    let (_, _, result) = run(faults, |_| {}).await;
    match result.unwrap_err() {
        AcmeError::TooLarge { url, limit } => {
            assert!(url.ends_with("/x/cert/1"), "{url}");
            assert_eq!(limit, sti::ACME_MAX_BODY_BYTES);
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn certificate_with_wrong_content_type_is_refused() {
    let faults = Faults {
        certificate_content_type: Some("text/html"),
        ..Faults::default()
    };
    let (_, _, result) = run(faults, |_| {}).await;
    match result.unwrap_err() {
        AcmeError::Malformed { what, reason, .. } => {
            assert_eq!(what, "certificate chain");
            assert!(reason.contains("text/html"), "{reason}");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn order_for_another_identifier_is_not_authorized() {
    let faults = Faults {
        echo_identifier: Some("MAigBhYENTY3OA==".into()),
        ..Faults::default()
    };
    let (server, calls, result) = run(faults, |_| {}).await;
    match result.unwrap_err() {
        AcmeError::Malformed { what, url, .. } => {
            assert_eq!(what, "order");
            assert!(url.ends_with("/x/order/1"), "{url}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(*calls.lock().unwrap(), 0, "no token fetched");
    assert!(server.seen(|s| s.tokens.is_empty()));
}

/// The step functions the lifecycle calls one by one, with an account restored from its
/// stored key and URL.
#[tokio::test]
async fn step_by_step_with_a_restored_account() {
    use sti::{Account, AuthorizationStatus, OrderStatus, RevocationReason};

    let server = AcmeServer::start(Faults::default()).await;
    let client = AcmeClient::connect(config(&server)).await.unwrap();
    let created = client
        .new_account(SigningKey::generate().unwrap(), &new_account())
        .await
        .unwrap();
    let stored_key = created.key().secret_pkcs8_der().unwrap();
    let account = Account::from_parts(
        SigningKey::from_der(&stored_key).unwrap(),
        created.url().to_owned(),
    );

    let order = client.new_order(&account, &request()).await.unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.identifiers[0].kind, "TNAuthList");
    assert_eq!(order.identifiers[0].value, ORDERED);

    let (authz, _) = client
        .authorization(&account, &order.authorizations[0])
        .await
        .unwrap();
    assert_eq!(authz.status, AuthorizationStatus::Pending);
    let challenge = authz.tkauth_challenge().unwrap();
    assert_eq!(challenge.tkauth_type.as_deref(), Some("atc"));
    client
        .answer_tkauth(&account, &challenge.url, "spc-token")
        .await
        .unwrap();
    let authz = client
        .poll_authorization(&account, &authz.url)
        .await
        .unwrap();
    assert_eq!(authz.status, AuthorizationStatus::Valid);

    let order = client
        .poll_order(&account, &order.url, false)
        .await
        .unwrap();
    assert_eq!(order.status, OrderStatus::Ready);
    let csr = CsrParams::new(request().tn_auth_list)
        .sign_with_new_key()
        .unwrap();
    let order = client.finalize(&account, &order, csr.der()).await.unwrap();
    assert_eq!(order.status, OrderStatus::Valid);
    let chain = client
        .certificate(&account, order.certificate.as_deref().unwrap())
        .await
        .unwrap();
    chain.check_tn_auth_list(&request().tn_auth_list).unwrap();
    client
        .revoke(
            &account,
            &chain.der_chain[0],
            Some(RevocationReason::Superseded),
        )
        .await
        .unwrap();
    assert_eq!(server.seen(|s| s.revoked), 1);
    assert_eq!(server.seen(|s| s.tokens.clone()), ["spc-token"]);
}
