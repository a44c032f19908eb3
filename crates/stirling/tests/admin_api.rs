#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.
//! The admin API and the pages in-process (`oneshot`): every documented route enforces
//! authentication, viewers cannot write, other tenants' objects are 404 through the API and
//! the pages, validation errors name their fields, sessions carry CSRF protection and logins
//! are rate limited, and user-controlled text is escaped.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use passport::{SigningKey, UnixTime};
use serde_json::{Value, json};
use sti::Clock;
use stirling::auth::{Auth, credential_hash, hash_password};
use stirling::entry::EntryForm;
use stirling::http::{AppState, router};
use stirling::lifecycle::scheduler::{RenewNow, RenewRequest};
use stirling::secrets::{MasterKey, SecretString};
use stirling::store::{
    CertificateId, NewApiToken, NewTenant, NewUser, NewVersion, Role, Store, TenantId, User,
};
use tokio::sync::mpsc;
use tower::ServiceExt as _;

#[derive(Debug)]
struct At(u64);

impl Clock for At {
    fn now(&self) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(self.0))
    }
}

const NOW: u64 = 1_800_000_000;
const PASSWORD: &str = "correct horse battery";

fn t(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

/// Two tenants, each with an entry, an operator, a viewer and tokens; one administrator.
struct World {
    app: Router,
    store: Store,
    renew_requests: mpsc::Receiver<RenewRequest>,
    a: TenantId,
    b: TenantId,
    cert_a: CertificateId,
    cert_b: CertificateId,
    viewer_b: User,
    admin_token: String,
    op_a_token: String,
    viewer_a_token: String,
    op_b_token_id: String,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    world_with(None).await
}

/// [`world`] with the SMTP relay the Account page's test uses.
async fn world_with(mailer: Option<stirling::lifecycle::alert::Mailer>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(
        &url,
        4,
        Arc::new(MasterKey::from_bytes(&[9u8; 32]).unwrap()),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let (renew_now, renew_requests) = RenewNow::channel();
    let app = router(AppState {
        store: store.clone(),
        clock: Arc::new(At(NOW)),
        renew_now,
        auth: Auth::new(false),
        mailer,
        renewal: Default::default(),
    });
    let hash = hash_password(PASSWORD).unwrap();
    let mut tenants = Vec::new();
    for name in ["alpha", "beta"] {
        let tenant = store
            .create_tenant(
                &NewTenant {
                    name: name.into(),
                    company: format!("{name} Telecom"),
                    technical_contact_name: "Ada Ops".into(),
                    technical_contact_phone: "+1 202 555 0100".into(),
                    system_email: format!("noc@{name}.example"),
                },
                t(NOW),
            )
            .await
            .unwrap();
        let cert = store
            .create_certificate(&tenant.id, &entry(&format!("{name} main"), "709J"), t(NOW))
            .await
            .unwrap();
        let mut users = Vec::new();
        for role in [Role::Operator, Role::Viewer] {
            users.push(
                store
                    .create_user(
                        &NewUser {
                            tenant_id: Some(&tenant.id),
                            email: &format!("{role}@{name}.example"),
                            role,
                            password_hash: &hash,
                        },
                        t(NOW),
                    )
                    .await
                    .unwrap(),
            );
        }
        tenants.push((tenant.id, cert.id, users));
    }
    let admin = store
        .create_user(
            &NewUser {
                tenant_id: None,
                email: "root@example.com",
                role: Role::Admin,
                password_hash: &hash,
            },
            t(NOW),
        )
        .await
        .unwrap();
    let (b, a) = (tenants.pop().unwrap(), tenants.pop().unwrap());
    let (admin_token, _) = token(&store, &admin, "admin").await;
    let (op_a_token, _) = token(&store, &a.2[0], "op-a").await;
    let (viewer_a_token, _) = token(&store, &a.2[1], "viewer-a").await;
    let (_, op_b_token_id) = token(&store, &b.2[0], "op-b").await;
    World {
        app,
        store,
        renew_requests,
        a: a.0,
        b: b.0.clone(),
        cert_a: a.1,
        cert_b: b.1,
        viewer_b: b.2[1].clone(),
        admin_token,
        op_a_token,
        viewer_a_token,
        op_b_token_id,
        _dir: dir,
    }
}

/// An API token for `user`: `(secret, id)`.
async fn token(store: &Store, user: &User, name: &str) -> (String, String) {
    let secret = format!("stk_test-{name}");
    let stored = store
        .create_api_token(
            &NewApiToken {
                user_id: &user.id,
                name,
                prefix: "test-",
                token_hash: &credential_hash(&secret),
            },
            t(NOW),
        )
        .await
        .unwrap();
    (secret, stored.id.to_string())
}

fn entry(name: &str, spid: &str) -> stirling::entry::ValidEntry {
    EntryForm {
        name: name.into(),
        spid: spid.into(),
        sti_pa_account_id: spid.into(),
        sti_pa_user_id: "ops".into(),
        sti_pa_password: SecretString::new("s3cret pw".into()),
        environment: "sandbox".into(),
        sti_ga: false,
    }
    .validate()
    .unwrap()
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        text: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn api(
    app: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    send(app, request.body(body).unwrap()).await
}

/// Every (method, path) the OpenAPI document lists, `{id}` filled with `id`.
fn documented_routes(id: &str) -> Vec<(Method, String, bool)> {
    let doc: Value = serde_json::from_str(stirling::api::OPENAPI_JSON).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let public = operation
                .get("security")
                .is_some_and(|s| s.as_array().unwrap().is_empty());
            routes.push((
                method.to_uppercase().parse().unwrap(),
                path.replace("{id}", id),
                public,
            ));
        }
    }
    routes
}

#[tokio::test]
async fn every_documented_route_exists_and_requires_authentication() {
    let w = world().await;
    let routes = documented_routes(&uuid::Uuid::new_v4().to_string());
    assert!(routes.len() >= 20, "{}", routes.len());
    for (method, path, public) in routes {
        let anonymous = api(&w.app, method.clone(), &path, None, None).await;
        let forged = api(&w.app, method.clone(), &path, Some("stk_forged"), None).await;
        if public {
            assert_eq!(anonymous.status, StatusCode::OK, "{method} {path}");
            continue;
        }
        for reply in [&anonymous, &forged] {
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(reply.json()["error"], "unauthenticated", "{method} {path}");
            assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");
        }
        // With credentials the route's own handler answers (our JSON error format or a
        // success), never the router's bare 404/405.
        let admin = api(&w.app, method.clone(), &path, Some(&w.admin_token), None).await;
        assert_ne!(
            admin.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_ne!(admin.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        if !admin.status.is_success() {
            assert!(
                admin.json()["error"].is_string(),
                "{method} {path}: {} {}",
                admin.status,
                admin.text
            );
        }
    }
}

#[tokio::test]
async fn viewers_cannot_write_anything() {
    let w = world().await;
    for (method, path, public) in documented_routes(w.cert_a.as_str()) {
        if public || method == Method::GET {
            continue;
        }
        let reply = api(
            &w.app,
            method.clone(),
            &path,
            Some(&w.viewer_a_token),
            Some(json!({})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(reply.json()["error"], "forbidden");
    }
    // Reading their own tenant is fine.
    let list = api(
        &w.app,
        Method::GET,
        "/api/v1/certificates",
        Some(&w.viewer_a_token),
        None,
    )
    .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json()["total"], 1);
    // Users and tokens are for administrators and operators.
    for path in ["/api/v1/users", "/api/v1/tokens"] {
        let reply = api(&w.app, Method::GET, path, Some(&w.viewer_a_token), None).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn another_tenants_objects_are_not_found_through_the_api() {
    let mut w = world().await;
    let op = Some(w.op_a_token.as_str());
    let cert_b = w.cert_b.as_str();
    let edit = json!({"name": "x", "spid": "709J", "sti_pa_account_id": "709J",
                      "sti_pa_user_id": "ops", "environment": "sandbox"});
    let cases = [
        (Method::GET, format!("/api/v1/certificates/{cert_b}"), None),
        (
            Method::PUT,
            format!("/api/v1/certificates/{cert_b}"),
            Some(edit),
        ),
        (
            Method::DELETE,
            format!("/api/v1/certificates/{cert_b}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/certificates/{cert_b}/renew"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/certificates/{cert_b}/versions"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/certificates/{cert_b}/events"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/users/{}", w.viewer_b.id),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{}", w.viewer_b.id),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/tokens/{}", w.op_b_token_id),
            None,
        ),
    ];
    for (method, path, body) in cases {
        let reply = api(&w.app, method.clone(), &path, op, body).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            reply.text
        );
        assert_eq!(reply.json()["error"], "not_found");
    }
    assert!(
        w.renew_requests.try_recv().is_err(),
        "no renewal for another tenant"
    );
    // Lists hold only the caller's tenant.
    let list = api(&w.app, Method::GET, "/api/v1/certificates", op, None)
        .await
        .json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], w.cert_a.as_str());
    let users = api(&w.app, Method::GET, "/api/v1/users", op, None)
        .await
        .json();
    assert!(
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["tenant_id"] == w.a.as_str())
    );
    let tokens = api(&w.app, Method::GET, "/api/v1/tokens", op, None)
        .await
        .json();
    assert!(tokens["items"].as_array().unwrap().iter().all(|t| {
        t["user_email"]
            .as_str()
            .unwrap()
            .ends_with("@alpha.example")
    }));
    // The account is always the caller's own, whatever is asked.
    let account = api(
        &w.app,
        Method::GET,
        "/api/v1/account?tenant_id=00000000-0000-0000-0000-000000000000",
        op,
        None,
    )
    .await;
    assert_eq!(account.json()["name"], "alpha");
    // Installation-wide things are not for operators.
    for (method, path) in [
        (Method::GET, "/api/v1/tenants".to_owned()),
        (Method::GET, format!("/api/v1/tenants/{}", w.a)),
    ] {
        let reply = api(&w.app, method, &path, op, None).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
    }
    // Nothing of B was changed.
    assert!(
        w.store
            .list_certificates_in(&stirling::store::TenantScope::All)
            .await
            .unwrap()
            .iter()
            .any(|e| e.id == w.cert_b)
    );
}

#[tokio::test]
async fn validation_errors_name_their_fields() {
    let w = world().await;
    let op = Some(w.op_a_token.as_str());
    let long = "p".repeat(190);
    let reply = api(
        &w.app,
        Method::POST,
        "/api/v1/certificates",
        op,
        Some(json!({
        "name": "Main", "spid": "70J", "sti_pa_account_id": "709J",
        "sti_pa_user_id": "u".repeat(256), "sti_pa_password": long, "environment": "sandbox"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.json(),
        json!({"error": "invalid", "fields": [
            {"field": "spid", "message": "must be exactly 4 characters (an OCN)"},
            {"field": "sti_pa_user_id", "message": "must be shorter than 256 characters"},
            {"field": "sti_pa_password", "message": "must be shorter than 190 characters"},
        ]})
    );
    assert!(!reply.text.contains(&long), "the password is never echoed");

    let reply = api(
        &w.app,
        Method::POST,
        "/api/v1/certificates",
        op,
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["error"], "bad_body");

    let reply = api(
        &w.app,
        Method::POST,
        "/api/v1/users",
        op,
        Some(json!({
        "email": "nope", "role": "boss", "password": "short"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<_> = reply.json()["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["email", "password", "role"]);

    let reply = api(
        &w.app,
        Method::POST,
        "/api/v1/users",
        op,
        Some(json!({
        "email": "new@alpha.example", "role": "admin", "password": "long enough pw"})),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "operators cannot create administrators"
    );

    let reply = api(
        &w.app,
        Method::PUT,
        "/api/v1/account",
        op,
        Some(json!({
        "company": "", "technical_contact_name": "Ada", "technical_contact_phone": "+1 202",
        "system_email": "not-an-email"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<_> = reply.json()["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["company", "system_email"]);

    let reply = api(
        &w.app,
        Method::GET,
        "/api/v1/certificates?limit=0&offset=x",
        op,
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<_> = reply.json()["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["limit", "offset"]);

    let reply = api(
        &w.app,
        Method::POST,
        "/api/v1/tokens",
        op,
        Some(json!({"name": " "})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["fields"][0]["field"], "name");
}

#[tokio::test]
async fn certificate_lifecycle_through_the_api() {
    let mut w = world().await;
    let op = Some(w.op_a_token.as_str());
    let created = api(
        &w.app,
        Method::POST,
        "/api/v1/certificates",
        op,
        Some(json!({
        "name": "Second", "spid": "123a", "sti_pa_account_id": "709J",
        "sti_pa_user_id": "ops", "sti_pa_password": "first password", "environment": "staging",
        "tenant_id": "00000000-0000-0000-0000-000000000000"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let body = created.json();
    assert!(!created.text.contains("first password"));
    assert_eq!(body["spid"], "123A");
    assert_eq!(body["status"], "pending");
    assert_eq!(
        body["tenant_id"],
        w.a.as_str(),
        "an operator's entry is their tenant's"
    );
    let id: CertificateId = body["id"].as_str().unwrap().parse().unwrap();

    let dup = api(
        &w.app,
        Method::POST,
        "/api/v1/certificates",
        op,
        Some(json!({
        "name": "Dup", "spid": "123A", "sti_pa_account_id": "709J",
        "sti_pa_user_id": "ops", "sti_pa_password": "pw", "environment": "staging"})),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);

    // A blank password keeps the stored one; a new one replaces it.
    let path = format!("/api/v1/certificates/{id}");
    let edit = |password: &str| {
        json!({"name": "Second!", "spid": "123A", "sti_pa_account_id": "709J",
        "sti_pa_user_id": "ops2", "sti_pa_password": password, "environment": "sandbox"})
    };
    let reply = api(&w.app, Method::PUT, &path, op, Some(edit(""))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["name"], "Second!");
    assert_eq!(reply.json()["sti_ga"], false);
    // The Canada (STI-GA) option is an entry field like the others.
    let mut canadian = edit("");
    canadian["sti_ga"] = json!(true);
    let reply = api(&w.app, Method::PUT, &path, op, Some(canadian)).await;
    assert_eq!(reply.json()["sti_ga"], true, "{}", reply.text);
    let reply = api(&w.app, Method::GET, &path, op, None).await;
    assert_eq!(reply.json()["sti_ga"], true, "{}", reply.text);
    assert_eq!(
        w.store
            .certificate_password(&w.a, &id)
            .await
            .unwrap()
            .secret_str(),
        "first password"
    );
    api(
        &w.app,
        Method::PUT,
        &path,
        op,
        Some(edit("second password")),
    )
    .await;
    assert_eq!(
        w.store
            .certificate_password(&w.a, &id)
            .await
            .unwrap()
            .secret_str(),
        "second password"
    );

    // Creating and correcting the entry (still without a certificate) asked for issuance at
    // once; Renew now asks again.
    let mut queued = Vec::new();
    while let Ok(request) = w.renew_requests.try_recv() {
        queued.push(request.certificate);
    }
    assert!(
        !queued.is_empty() && queued.iter().all(|c| c == &id),
        "{queued:?}"
    );
    let reply = api(&w.app, Method::POST, &format!("{path}/renew"), op, None).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let request = w.renew_requests.try_recv().unwrap();
    assert_eq!(
        (request.tenant, request.certificate),
        (w.a.clone(), id.clone())
    );

    // Versions carry the x5u path; events come newest first.
    let key = SigningKey::generate().unwrap();
    let version = w
        .store
        .insert_version(
            &w.a,
            &id,
            &NewVersion {
                chain_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                key: &key,
                serial: "0a1b",
                fingerprint: &"cd".repeat(32),
                not_before: t(NOW - 10),
                not_after: t(NOW + 7 * 86_400),
                repository_path: &format!("cr/123A/{}.pem", "cd".repeat(32)),
            },
            t(NOW),
        )
        .await
        .unwrap();
    w.store
        .activate_version(&w.a, &id, &version.id, t(NOW))
        .await
        .unwrap();
    for (at, outcome, error) in [
        (1, stirling::store::EventOutcome::Started, None),
        (
            2,
            stirling::store::EventOutcome::Failed,
            Some("sti_pa_login: 401"),
        ),
    ] {
        w.store
            .append_event(
                &w.a,
                &id,
                &stirling::store::NewEvent {
                    at: t(NOW + at),
                    step: "sti_pa_login",
                    outcome,
                    error_text: error,
                },
            )
            .await
            .unwrap();
    }
    let versions = api(&w.app, Method::GET, &format!("{path}/versions"), op, None)
        .await
        .json();
    assert_eq!(
        versions["items"][0]["x5u_path"],
        format!("/cr/123A/{}.pem", "cd".repeat(32))
    );
    assert_eq!(versions["items"][0]["state"], "active");
    let events = api(
        &w.app,
        Method::GET,
        &format!("{path}/events?limit=1"),
        op,
        None,
    )
    .await
    .json();
    assert_eq!(events["total"], 2);
    assert_eq!(events["items"][0]["outcome"], "failed");
    let shown = api(&w.app, Method::GET, &path, op, None).await.json();
    assert_eq!(shown["status"], "failing");
    assert_eq!(shown["last_error"], "sti_pa_login: 401");
    assert_eq!(shown["active_version"]["serial"], "0a1b");

    let reply = api(&w.app, Method::DELETE, &path, op, None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api(&w.app, Method::GET, &path, op, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn api_tokens_are_shown_once_and_revocable() {
    let w = world().await;
    let op = Some(w.op_a_token.as_str());
    let created = api(
        &w.app,
        Method::POST,
        "/api/v1/tokens",
        op,
        Some(json!({"name": "ci"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let body = created.json();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("stk_") && token.len() == 47, "{token}");
    let me = api(&w.app, Method::GET, "/api/v1/me", Some(&token), None)
        .await
        .json();
    assert_eq!(me["email"], "operator@alpha.example");
    assert_eq!(me["role"], "operator");
    let list = api(&w.app, Method::GET, "/api/v1/tokens", op, None).await;
    assert!(
        !list.text.contains(&token[4..]),
        "a listed token never shows the secret"
    );
    let path = format!("/api/v1/tokens/{}", body["id"].as_str().unwrap());
    assert_eq!(
        api(&w.app, Method::DELETE, &path, op, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api(&w.app, Method::GET, "/api/v1/me", Some(&token), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn administrators_manage_tenants_and_see_every_tenant() {
    let w = world().await;
    let admin = Some(w.admin_token.as_str());
    let list = api(&w.app, Method::GET, "/api/v1/certificates", admin, None)
        .await
        .json();
    assert_eq!(list["total"], 2);
    let created = api(
        &w.app,
        Method::POST,
        "/api/v1/tenants",
        admin,
        Some(json!({
        "name": "gamma", "company": "Gamma Telecom", "technical_contact_name": "Grace",
        "technical_contact_phone": "+1 202 555 0199", "system_email": "noc@gamma.example"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let gamma = created.json()["id"].as_str().unwrap().to_owned();
    // An administrator names the tenant of a new entry; without one it is a field error.
    let entry = |tenant: Option<&str>| {
        json!({"name": "G", "spid": "GAM1", "sti_pa_account_id": "GAM1",
        "sti_pa_user_id": "ops", "sti_pa_password": "pw", "environment": "sandbox", "tenant_id": tenant})
    };
    let missing = api(
        &w.app,
        Method::POST,
        "/api/v1/certificates",
        admin,
        Some(entry(None)),
    )
    .await;
    assert_eq!(missing.json()["fields"][0]["field"], "tenant_id");
    let made = api(
        &w.app,
        Method::POST,
        "/api/v1/certificates",
        admin,
        Some(entry(Some(&gamma))),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED);
    assert_eq!(made.json()["tenant_id"], gamma.as_str());
    let user = api(&w.app, Method::POST, "/api/v1/users", admin, Some(json!({
        "email": "op@gamma.example", "role": "operator", "password": "long enough pw", "tenant_id": gamma}))).await;
    assert_eq!(user.status, StatusCode::CREATED);
    assert_eq!(user.json()["tenant_id"], gamma.as_str());
    let path = format!("/api/v1/tenants/{gamma}");
    assert_eq!(
        api(&w.app, Method::DELETE, &path, admin, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api(&w.app, Method::GET, &path, admin, None).await.status,
        StatusCode::NOT_FOUND
    );
}

// ---- the pages ----

struct Browser {
    cookie: String,
    csrf: String,
}

async fn log_in(app: &Router, email: &str) -> Browser {
    let reply = form(
        app,
        "/login",
        None,
        &[("email", email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let set_cookie = reply.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let home = page(app, "/", Some(&cookie)).await;
    assert_eq!(home.status, StatusCode::OK);
    Browser {
        cookie,
        csrf: csrf_of(&home.text),
    }
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn page(app: &Router, path: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

async fn form(app: &Router, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Reply {
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let body = serde_urlencoded::to_string(fields).unwrap();
    send(app, request.body(Body::from(body)).unwrap()).await
}

#[tokio::test]
async fn sessions_cookies_csrf_and_logout() {
    let w = world().await;
    let anonymous = page(&w.app, "/certificates", None).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers[header::LOCATION], "/login");

    let reply = form(
        &w.app,
        "/login",
        None,
        &[("email", "operator@alpha.example"), ("password", PASSWORD)],
    )
    .await;
    let cookie = reply.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("stirling_session="));
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "secure_cookies is off here");

    let b = log_in(&w.app, "operator@alpha.example").await;
    let fields = [
        ("name", "Via form"),
        ("spid", "555A"),
        ("sti_pa_account_id", "555A"),
        ("sti_pa_user_id", "ops"),
        ("sti_pa_password", "pw"),
        ("environment", "sandbox"),
    ];
    // Without the CSRF token, or with another session's, the POST is refused.
    let refused = form(&w.app, "/certificates", Some(&b.cookie), &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let other = log_in(&w.app, "operator@alpha.example").await;
    let mut with_other = fields.to_vec();
    with_other.push(("csrf", &other.csrf));
    assert_eq!(
        form(&w.app, "/certificates", Some(&b.cookie), &with_other)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let mut with_csrf = fields.to_vec();
    with_csrf.push(("csrf", &b.csrf));
    let made = form(&w.app, "/certificates", Some(&b.cookie), &with_csrf).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);

    // The JSON API accepts the session only with X-CSRF-Token on writes.
    let api_write = |csrf: Option<&str>| {
        let mut request = Request::post(format!("/api/v1/certificates/{}/renew", w.cert_a))
            .header(header::COOKIE, &b.cookie);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.body(Body::empty()).unwrap()
    };
    assert_eq!(
        send(&w.app, api_write(None)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&w.app, api_write(Some(&b.csrf))).await.status,
        StatusCode::ACCEPTED
    );

    // Logging out ends the session on the server, not just in the browser.
    let out = form(&w.app, "/logout", Some(&b.cookie), &[("csrf", &b.csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        page(&w.app, "/", Some(&b.cookie)).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        page(&w.app, "/", Some(&other.cookie)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn logins_are_rate_limited_per_source_and_email() {
    let w = world().await;
    for _ in 0..5 {
        let reply = form(
            &w.app,
            "/login",
            None,
            &[
                ("email", "operator@alpha.example"),
                ("password", "wrong password"),
            ],
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.text.contains("Wrong email or password."));
    }
    // A login posted from another site is refused before the password is checked.
    let cross_site = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "stirling.example")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from(format!(
            "email=viewer%40alpha.example&password={}",
            PASSWORD.replace(' ', "+")
        )))
        .unwrap();
    let reply = send(&w.app, cross_site).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(!reply.headers.contains_key(header::SET_COOKIE));
    // Now even the right password is refused, with a clear message.
    let reply = form(
        &w.app,
        "/login",
        None,
        &[("email", "operator@alpha.example"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.headers[header::RETRY_AFTER], "300");
    assert!(
        reply
            .text
            .contains("Too many failed logins for this email. Try again in 300 seconds.")
    );
    assert!(!reply.headers.contains_key(header::SET_COOKIE));
    // Another email is not affected; unknown emails fail like wrong passwords.
    log_in(&w.app, "viewer@alpha.example").await;
    let unknown = form(
        &w.app,
        "/login",
        None,
        &[("email", "ghost@alpha.example"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn another_tenants_objects_are_not_found_through_the_pages() {
    let w = world().await;
    let b = log_in(&w.app, "operator@alpha.example").await;
    let cert_b = w.cert_b.as_str();
    for path in [
        format!("/certificates/{cert_b}"),
        format!("/certificates/{cert_b}/edit"),
        format!("/certificates/{cert_b}/delete"),
    ] {
        let reply = page(&w.app, &path, Some(&b.cookie)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!reply.text.contains("beta main"));
    }
    let edit = [
        ("csrf", b.csrf.as_str()),
        ("name", "stolen"),
        ("spid", "709J"),
        ("sti_pa_account_id", "709J"),
        ("sti_pa_user_id", "x"),
        ("environment", "sandbox"),
    ];
    for (path, fields) in [
        (format!("/certificates/{cert_b}"), &edit[..]),
        (format!("/certificates/{cert_b}/renew"), &edit[..1]),
        (format!("/certificates/{cert_b}/delete"), &edit[..1]),
        (
            format!("/settings/users/{}/delete", w.viewer_b.id),
            &edit[..1],
        ),
        (
            format!("/settings/tokens/{}/delete", w.op_b_token_id),
            &edit[..1],
        ),
    ] {
        let reply = form(&w.app, &path, Some(&b.cookie), fields).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.text
        );
    }
    for path in [
        "/",
        "/certificates",
        "/settings/users",
        "/settings/tokens",
        "/settings/account",
    ] {
        let reply = page(&w.app, path, Some(&b.cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        for secret in ["beta main", "@beta.example", "beta Telecom"] {
            assert!(!reply.text.contains(secret), "{path} shows {secret}");
        }
    }
    assert!(
        w.store
            .certificate(
                &w.store
                    .certificate_tenant(&stirling::store::TenantScope::All, &w.cert_b)
                    .await
                    .unwrap(),
                &w.cert_b
            )
            .await
            .unwrap()
            .fields
            .name
            .as_str()
            == "beta main"
    );
}

#[tokio::test]
async fn viewers_read_pages_but_cannot_post() {
    let w = world().await;
    let b = log_in(&w.app, "viewer@alpha.example").await;
    let detail = page(
        &w.app,
        &format!("/certificates/{}", w.cert_a),
        Some(&b.cookie),
    )
    .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(
        !detail.text.contains("Renew now"),
        "no write buttons for viewers"
    );
    let reply = form(
        &w.app,
        &format!("/certificates/{}/renew", w.cert_a),
        Some(&b.cookie),
        &[("csrf", &b.csrf)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        page(&w.app, "/certificates/new", Some(&b.cookie))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        page(&w.app, "/settings/users", Some(&b.cookie))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_entry_form_shows_messages_next_to_fields_and_escapes_names() {
    let w = world().await;
    let b = log_in(&w.app, "operator@alpha.example").await;
    let long = "p".repeat(190);
    let reply = form(
        &w.app,
        "/certificates",
        Some(&b.cookie),
        &[
            ("csrf", &b.csrf),
            ("name", "Too long"),
            ("spid", "709K"),
            ("sti_pa_account_id", "709K"),
            ("sti_pa_user_id", "ops"),
            ("sti_pa_password", &long),
            ("environment", "sandbox"),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.text.contains("<p class=\"field-error\" id=\"sti_pa_password-error\">must be shorter than 190 characters</p>"), "{}", reply.text);
    assert!(!reply.text.contains(&long), "the password is not sent back");
    assert!(
        reply.text.contains("value=\"Too long\""),
        "typed values are kept"
    );

    let script = "<script>alert(1)</script>";
    let made = form(
        &w.app,
        "/certificates",
        Some(&b.cookie),
        &[
            ("csrf", &b.csrf),
            ("name", script),
            ("spid", "709K"),
            ("sti_pa_account_id", "709K"),
            ("sti_pa_user_id", "ops"),
            ("sti_pa_password", "pw"),
            ("environment", "sandbox"),
        ],
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER);
    let detail_path = made.headers[header::LOCATION].to_str().unwrap().to_owned();
    for path in ["/", "/certificates", detail_path.as_str()] {
        let reply = page(&w.app, path, Some(&b.cookie)).await;
        assert!(
            reply
                .text
                .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
                || reply.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: {}",
            reply.text
        );
        assert!(!reply.text.contains(script), "{path}");
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let w = world().await;
    let b = log_in(&w.app, "operator@alpha.example").await;
    for (path, cookie) in [
        ("/login", None),
        ("/", Some(b.cookie.as_str())),
        ("/certificates", Some(&b.cookie)),
        ("/static/style.css", None),
        ("/api/v1/openapi.json", None),
    ] {
        let reply = page(&w.app, path, cookie).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        let csp = reply.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
    // No inline scripts or styles in the pages themselves.
    let home = page(&w.app, "/", Some(&b.cookie)).await.text;
    assert!(
        home.contains("<title>Dashboard · Stirling</title>"),
        "{home}"
    );
    assert!(!home.contains("<style") && !home.contains("style=\"") && !home.contains("<script>"));
}

#[tokio::test]
async fn sbcs_and_policies_through_the_api_are_validated_and_tenant_scoped() {
    let w = world().await;
    let op_a = Some(w.op_a_token.as_str());
    let sbc = json!({"name": "edge-1", "source": "192.0.2.0/24", "mode": "sign"});
    let made = api(
        &w.app,
        Method::POST,
        "/api/v1/sbcs",
        op_a,
        Some(sbc.clone()),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let made = made.json();
    assert_eq!(made["tenant_id"], w.a.as_str());
    assert_eq!(made["source"], "192.0.2.0/24");
    assert_eq!(made["partition"], "");
    let sbc_id = made["id"].as_str().unwrap().to_owned();
    // Same name again: a conflict; bad fields: each named.
    let again = api(&w.app, Method::POST, "/api/v1/sbcs", op_a, Some(sbc)).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    let bad = json!({"name": "", "source": "192.0.2.300", "partition": "a b", "mode": "sideways"});
    let bad = api(&w.app, Method::POST, "/api/v1/sbcs", op_a, Some(bad)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = bad.json()["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["name", "source", "partition", "mode"]);

    let rule = json!({"scope": "calling_prefix", "value": "+1202", "action": "B",
                      "certificate_id": w.cert_a.as_str()});
    let made = api(&w.app, Method::POST, "/api/v1/policies", op_a, Some(rule)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let made = made.json();
    assert_eq!(
        (&made["scope"], &made["value"], &made["action"]),
        (&json!("calling_prefix"), &json!("1202"), &json!("B"))
    );
    let policy_id = made["id"].as_str().unwrap().to_owned();
    // Another tenant's entry is no entry of this tenant.
    let foreign = json!({"scope": "tenant", "action": "A", "certificate_id": w.cert_b.as_str()});
    let foreign = api(
        &w.app,
        Method::POST,
        "/api/v1/policies",
        op_a,
        Some(foreign),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(foreign.json()["fields"][0]["field"], "certificate_id");
    let bad = json!({"scope": "tn_list", "value": "12, x", "action": "D"});
    let bad = api(&w.app, Method::POST, "/api/v1/policies", op_a, Some(bad)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["fields"][1]["field"], "action");

    let list = api(&w.app, Method::GET, "/api/v1/policies", op_a, None).await;
    assert_eq!(list.json()["total"], 1);
    let viewer = api(
        &w.app,
        Method::GET,
        "/api/v1/sbcs",
        Some(&w.viewer_a_token),
        None,
    )
    .await;
    assert_eq!(viewer.json()["items"][0]["name"], "edge-1");

    // Tenant beta's operator: none of it.
    let op_b = w
        .store
        .create_api_token(
            &NewApiToken {
                user_id: &w
                    .store
                    .list_users(&stirling::store::TenantScope::Tenant(w.b.clone()))
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|u| u.role == Role::Operator)
                    .unwrap()
                    .id,
                name: "op-b-2",
                prefix: "test-",
                token_hash: &credential_hash("stk_test-op-b-2"),
            },
            t(NOW),
        )
        .await
        .unwrap();
    assert_eq!(op_b.name, "op-b-2");
    let op_b = Some("stk_test-op-b-2");
    for (method, path) in [
        (Method::GET, format!("/api/v1/sbcs/{sbc_id}")),
        (Method::DELETE, format!("/api/v1/sbcs/{sbc_id}")),
        (Method::DELETE, format!("/api/v1/policies/{policy_id}")),
    ] {
        let reply = api(&w.app, method.clone(), &path, op_b, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    for path in ["/api/v1/sbcs", "/api/v1/policies"] {
        let reply = api(&w.app, Method::GET, path, op_b, None).await;
        assert_eq!(reply.json()["total"], 0, "{path}");
    }

    // The verification failure setting: annotate by default, per tenant.
    let path = "/api/v1/account/verification";
    let get = api(&w.app, Method::GET, path, op_a, None).await;
    assert_eq!(get.json(), json!({"failure": "annotate"}));
    let put = api(
        &w.app,
        Method::PUT,
        path,
        op_a,
        Some(json!({"failure": "reject"})),
    )
    .await;
    assert_eq!(put.json(), json!({"failure": "reject"}));
    assert_eq!(
        api(&w.app, Method::GET, path, op_a, None).await.json()["failure"],
        "reject"
    );
    assert_eq!(
        api(&w.app, Method::GET, path, op_b, None).await.json()["failure"],
        "annotate"
    );
    let bad = api(
        &w.app,
        Method::PUT,
        path,
        op_a,
        Some(json!({"failure": "drop"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["fields"][0]["field"], "failure");

    // Deleting through the owner works once.
    for (path, status) in [
        (format!("/api/v1/sbcs/{sbc_id}"), StatusCode::NO_CONTENT),
        (format!("/api/v1/sbcs/{sbc_id}"), StatusCode::NOT_FOUND),
        (
            format!("/api/v1/policies/{policy_id}"),
            StatusCode::NO_CONTENT,
        ),
    ] {
        let reply = api(&w.app, Method::DELETE, &path, op_a, None).await;
        assert_eq!(reply.status, status, "{path}");
    }
}

#[tokio::test]
async fn sbc_and_policy_pages_show_messages_next_to_fields_and_hide_other_tenants() {
    let w = world().await;
    let a = log_in(&w.app, "operator@alpha.example").await;
    let bad = form(
        &w.app,
        "/sbcs",
        Some(&a.cookie),
        &[
            ("csrf", &a.csrf),
            ("name", "<b>edge</b>"),
            ("source", "not-an-address"),
            ("mode", "both"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("id=\"source-error\""), "{}", bad.text);
    assert!(bad.text.contains("value=\"&#60;b&#62;edge&#60;/b&#62;\""));
    let good = form(
        &w.app,
        "/sbcs",
        Some(&a.cookie),
        &[
            ("csrf", &a.csrf),
            ("name", "<b>edge</b>"),
            ("source", "192.0.2.10"),
            ("mode", "verify"),
        ],
    )
    .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.text);
    let list = page(&w.app, "/sbcs", Some(&a.cookie)).await;
    assert!(list.text.contains("&#60;b&#62;edge&#60;/b&#62;") && !list.text.contains("<b>edge"));
    assert!(list.text.contains("192.0.2.10/32"), "{}", list.text);

    let bad = form(
        &w.app,
        "/policies",
        Some(&a.cookie),
        &[
            ("csrf", &a.csrf),
            ("scope", "sbc"),
            ("value", ""),
            ("action", "A"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("id=\"value-error\""));
    let good = form(
        &w.app,
        "/policies",
        Some(&a.cookie),
        &[
            ("csrf", &a.csrf),
            ("scope", "sbc"),
            ("value", "<b>edge</b>"),
            ("action", "C"),
            ("certificate_id", w.cert_a.as_str()),
        ],
    )
    .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.text);
    let rules = page(&w.app, "/policies", Some(&a.cookie)).await;
    assert!(rules.text.contains("alpha main (709J)"), "{}", rules.text);
    let saved = form(
        &w.app,
        "/policies/verification",
        Some(&a.cookie),
        &[("csrf", &a.csrf), ("failure", "reject")],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let rules = page(&w.app, "/policies", Some(&a.cookie)).await;
    assert!(rules.text.contains("<option value=\"reject\" selected>"));

    // Beta's operator sees neither, and cannot delete them.
    let b = log_in(&w.app, "operator@beta.example").await;
    let sbc = &w
        .store
        .list_sbcs(&stirling::store::TenantScope::Tenant(w.a.clone()))
        .await
        .unwrap()[0];
    let rule = &w
        .store
        .list_policies(&stirling::store::TenantScope::Tenant(w.a.clone()))
        .await
        .unwrap()[0];
    for path in ["/sbcs", "/policies"] {
        let reply = page(&w.app, path, Some(&b.cookie)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(!reply.text.contains("edge"), "{path}");
    }
    for path in [
        format!("/sbcs/{}/delete", sbc.id),
        format!("/policies/{}/delete", rule.id),
    ] {
        let reply = form(&w.app, &path, Some(&b.cookie), &[("csrf", &b.csrf)]).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        w.store
            .list_sbcs(&stirling::store::TenantScope::All)
            .await
            .unwrap()
            .len(),
        1
    );
    // Viewers read but do not post.
    let viewer = log_in(&w.app, "viewer@alpha.example").await;
    assert!(
        page(&w.app, "/sbcs", Some(&viewer.cookie))
            .await
            .text
            .contains("edge")
    );
    let post = form(
        &w.app,
        &format!("/sbcs/{}/delete", sbc.id),
        Some(&viewer.cookie),
        &[("csrf", &viewer.csrf)],
    )
    .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
}

/// Stores an active version of `cert` with a real chain for SPC 1234; returns it with the
/// leaf's SHA-256 fingerprint.
async fn active_version(
    store: &Store,
    tenant: &TenantId,
    cert: &CertificateId,
) -> (stirling::store::CertificateVersion, String) {
    let pki = stirling_test::TestPki::new();
    let fingerprint: String = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, pki.leaf.der())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let version = store
        .insert_version(
            tenant,
            cert,
            &NewVersion {
                chain_pem: &pki.chain_pem(),
                key: &SigningKey::generate().unwrap(),
                serial: "0a11",
                fingerprint: &fingerprint,
                not_before: t(NOW - 3600),
                not_after: t(NOW + 86_400),
                repository_path: &format!("cr/709J/{fingerprint}.pem"),
            },
            t(NOW),
        )
        .await
        .unwrap();
    store
        .activate_version(tenant, cert, &version.id, t(NOW))
        .await
        .unwrap();
    (version, fingerprint)
}

#[tokio::test]
async fn sip_messages_page_shows_a_logged_call_escaped_and_only_to_its_tenant() {
    let w = world().await;
    let (version, fingerprint) = active_version(&w.store, &w.a, &w.cert_a).await;
    // A real request through the real log: its From display name is markup.
    let invite = bytes::Bytes::from_static(
        b"INVITE sip:+12025550199@127.0.0.1 SIP/2.0\r\n\
          Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-ui\r\n\
          From: \"<script>alert(1)</script>\" <sip:+12025550100@127.0.0.1>;tag=1\r\n\
          To: <sip:+12025550199@127.0.0.1>\r\n\
          Call-ID: ui-escape@127.0.0.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
    );
    let request = sip::Request::parse(invite).unwrap();
    let response = request
        .respond(sip::StatusCode::MOVED_TEMPORARILY)
        .build()
        .unwrap();
    let mut record = stirling::message_log::MessageRecord::sip(
        stirling::store::Service::Signing,
        stirling::store::CallResult::Signed,
        &request,
        &response,
        "127.0.0.1:5070".parse().unwrap(),
        sip::Transport::Udp,
        t(NOW - 60),
        Duration::from_micros(1500),
    );
    record.tenant_id = Some(w.a.clone());
    record.sbc_name = Some("loopback".into());
    record.from_tn = Some(passport::TelephoneNumber::canonicalize("+12025550100").unwrap());
    record.to_tn = Some(passport::TelephoneNumber::canonicalize("+12025550199").unwrap());
    record.attestation = Some(passport::Attestation::A);
    record.certificate_version_id = Some(version.id.clone());
    let (log, tasks) = stirling::message_log::MessageLog::start(
        &stirling::config::MessageLogConfig::default(),
        w.store.clone(),
        Arc::new(At(NOW)),
        Arc::new(stirling::metrics::Metrics::new()),
    );
    log.record(record);
    tasks.shutdown().await;

    let a = log_in(&w.app, "viewer@alpha.example").await;
    let dashboard = page(&w.app, "/", Some(&a.cookie)).await;
    assert!(
        dashboard.text.contains("result=signed\">1</a>"),
        "{}",
        dashboard.text
    );
    let list = page(&w.app, "/sip-messages", Some(&a.cookie)).await;
    assert_eq!(list.status, StatusCode::OK);
    let marker = "href=\"/sip-messages/";
    let start = list
        .text
        .find(marker)
        .unwrap_or_else(|| panic!("{}", list.text))
        + marker.len();
    let id = list.text[start..].split('"').next().unwrap().to_owned();
    assert!(list.text.contains("12025550100") && list.text.contains(">Show<"));
    // Filters: a number that matches, one that does not, a result, a bad number.
    for (query, shown) in [
        ("?tn=%2B1+202+555+0100", true),
        ("?tn=12025550111", false),
        ("?result=failed", false),
        ("?range=1h&result=signed", true),
    ] {
        let reply = page(&w.app, &format!("/sip-messages{query}"), Some(&a.cookie)).await;
        assert_eq!(reply.text.contains(&id), shown, "{query}");
    }
    let bad = page(&w.app, "/sip-messages?tn=abc", Some(&a.cookie)).await;
    assert!(bad.text.contains("id=\"tn-error\""));

    let detail = page(&w.app, &format!("/sip-messages/{id}"), Some(&a.cookie)).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(!detail.text.contains("<script>alert"), "{}", detail.text);
    assert!(
        detail
            .text
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
    );
    assert!(detail.text.contains("ui-escape@127.0.0.1"));
    assert!(detail.text.contains("SIP/2.0 302"));
    assert!(
        detail
            .text
            .contains(&format!("id=\"cert-fingerprint\">{fingerprint}<"))
    );
    assert!(detail.text.contains("id=\"cert-spc\">1234<"));
    assert!(detail.text.contains("data-copy=\"cert-pem\""));
    assert!(detail.text.contains("-----BEGIN CERTIFICATE-----"));

    // Beta sees nothing: an empty list and a 404 for the message.
    let b = log_in(&w.app, "operator@beta.example").await;
    let list = page(&w.app, "/sip-messages?range=all", Some(&b.cookie)).await;
    assert!(!list.text.contains(&id) && list.text.contains("No SIP messages match"));
    let detail = page(&w.app, &format!("/sip-messages/{id}"), Some(&b.cookie)).await;
    assert_eq!(detail.status, StatusCode::NOT_FOUND);
    assert!(!detail.text.contains("ui-escape"));
    let dashboard = page(&w.app, "/", Some(&b.cookie)).await;
    assert!(dashboard.text.contains("No calls in the last 24 hours"));
}

#[tokio::test]
async fn the_smtp_test_mails_the_system_email_through_the_relay() {
    let sink = stirling_test::SmtpSink::start().await;
    let mailer = stirling::lifecycle::alert::Mailer::new(&stirling::lifecycle::alert::SmtpConfig {
        host: sink.addr().ip().to_string(),
        port: sink.addr().port(),
        security: stirling::lifecycle::alert::SmtpSecurity::DangerPlaintext,
        username: None,
        password: None,
        from: "stirling@ops.example".into(),
        timeout: Duration::from_secs(10),
    })
    .unwrap();
    let w = world_with(Some(mailer)).await;
    let sent = api(
        &w.app,
        Method::POST,
        "/api/v1/account/smtp-test",
        Some(&w.op_a_token),
        None,
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    assert_eq!(
        sent.json(),
        json!({"status": "sent", "to": "noc@alpha.example"})
    );
    // Through the page too.
    let a = log_in(&w.app, "operator@alpha.example").await;
    let account = page(&w.app, "/settings/account", Some(&a.cookie)).await;
    assert!(account.text.contains("id=\"smtp-test\""));
    let reply = form(
        &w.app,
        "/settings/account/smtp-test",
        Some(&a.cookie),
        &[("csrf", &a.csrf)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reply.headers[header::LOCATION],
        "/settings/account?notice=smtp-sent"
    );
    let mails = sink.received();
    assert_eq!(mails.len(), 2);
    for mail in &mails {
        assert_eq!(mail.from, "stirling@ops.example");
        assert_eq!(mail.to, ["noc@alpha.example"]);
        assert!(
            mail.data
                .contains("Subject: Stirling: test message for alpha"),
            "{}",
            mail.data
        );
    }
    // Viewers may not send it.
    let viewer = api(
        &w.app,
        Method::POST,
        "/api/v1/account/smtp-test",
        Some(&w.viewer_a_token),
        None,
    )
    .await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);

    // Without a relay: 503 and no button.
    let none = world().await;
    let reply = api(
        &none.app,
        Method::POST,
        "/api/v1/account/smtp-test",
        Some(&none.op_a_token),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["error"], "not_configured");
    let a = log_in(&none.app, "operator@alpha.example").await;
    let account = page(&none.app, "/settings/account", Some(&a.cookie)).await;
    assert!(!account.text.contains("id=\"smtp-test\"") && account.text.contains("No SMTP relay"));
}

#[tokio::test]
async fn sip_messages_page_pages_through_the_log_with_its_filter() {
    let w = world().await;
    let (log, tasks) = stirling::message_log::MessageLog::start(
        &stirling::config::MessageLogConfig::default(),
        w.store.clone(),
        Arc::new(At(NOW)),
        Arc::new(stirling::metrics::Metrics::new()),
    );
    for i in 0..53u64 {
        let invite = format!(
            "INVITE sip:+12025550199@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{i}\r\n\
             From: <sip:+12025550100@127.0.0.1>;tag=1\r\nTo: <sip:+12025550199@127.0.0.1>\r\n\
             Call-ID: page-{i}@127.0.0.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        );
        let request = sip::Request::parse(bytes::Bytes::from(invite)).unwrap();
        let response = request
            .respond(sip::StatusCode::MOVED_TEMPORARILY)
            .build()
            .unwrap();
        // Every third call is unsigned: the filter must hold across pages.
        let result = if i % 3 == 0 {
            stirling::store::CallResult::Unsigned
        } else {
            stirling::store::CallResult::Signed
        };
        let mut record = stirling::message_log::MessageRecord::sip(
            stirling::store::Service::Signing,
            result,
            &request,
            &response,
            "127.0.0.1:5070".parse().unwrap(),
            sip::Transport::Udp,
            t(NOW - 600 + i),
            Duration::from_micros(900),
        );
        record.tenant_id = Some(w.a.clone());
        log.record(record);
    }
    tasks.shutdown().await;

    let a = log_in(&w.app, "operator@alpha.example").await;
    let shows = |html: &str| html.matches("class=\"button small show\"").count();
    let first = page(&w.app, "/sip-messages", Some(&a.cookie)).await;
    assert_eq!(shows(&first.text), 50);
    assert!(!first.text.contains("« Newest"));
    let marker = "id=\"next-page\" href=\"";
    let next = |html: &str| {
        let start = html.find(marker)? + marker.len();
        Some(html[start..].split('"').next()?.replace("&#38;", "&"))
    };
    let second = page(&w.app, &next(&first.text).unwrap(), Some(&a.cookie)).await;
    assert_eq!(shows(&second.text), 3);
    assert!(second.text.contains("« Newest") && next(&second.text).is_none());
    // Newest first: the first row is the last call, the last row of page two the first call.
    let ids = |html: &str| -> Vec<String> {
        html.split("href=\"/sip-messages/")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().to_owned())
            .collect()
    };
    async fn call_id(app: &Router, cookie: &str, id: &str) -> String {
        let view = page(app, &format!("/sip-messages/{id}"), Some(cookie)).await;
        let marker = "<dt>Call-ID</dt><dd><code>";
        let start = view.text.find(marker).unwrap() + marker.len();
        view.text[start..].split('<').next().unwrap().to_owned()
    }
    let newest = &ids(&first.text)[0];
    assert_eq!(
        call_id(&w.app, &a.cookie, newest).await,
        "page-52@127.0.0.1"
    );
    let oldest = ids(&second.text).pop().unwrap();
    assert_eq!(
        call_id(&w.app, &a.cookie, &oldest).await,
        "page-0@127.0.0.1"
    );

    let signed = page(&w.app, "/sip-messages?result=signed", Some(&a.cookie)).await;
    assert_eq!(shows(&signed.text), 35);
    assert!(next(&signed.text).is_none());
    let unsigned = page(&w.app, "/sip-messages?result=unsigned", Some(&a.cookie)).await;
    assert_eq!(shows(&unsigned.text), 18);
    // A cursor we never made is reported, not followed.
    let forged = page(&w.app, "/sip-messages?cursor=x_y", Some(&a.cookie)).await;
    assert!(forged.text.contains("is not a page this list offered"));
    assert_eq!(shows(&forged.text), 0);
}
