//! Shared by the integration tests: a sandbox on an ephemeral loopback port and a minimal
//! ACME client written with `passport::FlattenedJws`.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use passport::{FlattenedJws, SigningKey};
use sandbox::{Sandbox, SandboxConfig, Seed, SeedAccount, SeedUser};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// A sandbox served on 127.0.0.1.
pub struct Running {
    pub base: String,
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
    server: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Users: `alice`/`wonderland` for account `1234` (OCNs 1234, 5678) and `bob`/`builder`
/// for account `9999` (OCN 9999).
pub fn seed() -> Seed {
    Seed {
        users: vec![
            SeedUser {
                user_id: "alice".into(),
                password: "wonderland".into(),
                accounts: vec!["1234".into()],
            },
            SeedUser {
                user_id: "bob".into(),
                password: "builder".into(),
                accounts: vec!["9999".into()],
            },
        ],
        accounts: vec![
            SeedAccount {
                account_id: "1234".into(),
                ocns: vec!["1234".into(), "5678".into()],
            },
            SeedAccount {
                account_id: "9999".into(),
                ocns: vec!["9999".into()],
            },
        ],
    }
}

pub async fn start(dir: &Path) -> Running {
    start_with(dir, |_| {}).await
}

pub async fn start_with(dir: &Path, configure: impl FnOnce(&mut SandboxConfig)) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = SandboxConfig::new(base.clone());
    configure(&mut config);
    let sandbox = Sandbox::open(dir, config, &seed()).unwrap();
    let app = sandbox::router(sandbox.clone()).merge(sandbox::admin_router(sandbox.clone()));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Running {
        base,
        sandbox,
        http: http_client(),
        server,
    }
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs in and returns the access token.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let response = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"userId": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "success");
        body["accessToken"].as_str().unwrap().to_owned()
    }

    /// Requests an SPC token; returns status and body.
    pub async fn token_request(&self, access: &str, account: &str, atc: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(&format!("/api/v1/account/{account}/token")))
            .header("Authorization", access)
            .json(&json!({"atc": atc}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// An SPC token for `spc` and `fingerprint` from alice's account.
    pub async fn spc_token(&self, tkvalue: &str, fingerprint: &str) -> String {
        let access = self.login("alice", "wonderland").await;
        let (status, body) = self
            .token_request(&access, "1234", atc(tkvalue, fingerprint))
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn set_faults(&self, faults: Value) {
        let response = self
            .http
            .put(self.url("/sandbox/faults"))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

pub fn atc(tkvalue: &str, fingerprint: &str) -> Value {
    json!({"tktype": "TNAuthList", "tkvalue": tkvalue, "ca": false, "fingerprint": fingerprint})
}

/// `SHA256 ` + uppercase colon hex of SHA-256 over the key's SPKI DER.
pub fn spki_fingerprint(key: &SigningKey) -> String {
    let spki = key.public_key_spki_der().unwrap();
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &spki);
    let pairs: Vec<String> = hash.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256 {}", pairs.join(":"))
}

/// One HTTP answer.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn location(&self) -> String {
        self.headers["location"].to_str().unwrap().to_owned()
    }

    pub fn problem_type(&self) -> String {
        assert_eq!(
            self.headers["content-type"],
            "application/problem+json",
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()["type"].as_str().unwrap().to_owned()
    }
}

/// A minimal ACME client (RFC 8555) over `FlattenedJws`.
pub struct Acme {
    pub http: reqwest::Client,
    pub directory: Value,
    pub key: SigningKey,
    pub kid: Option<String>,
    pub nonce: Option<String>,
}

impl Acme {
    pub async fn new(running: &Running) -> Self {
        let directory = running
            .http
            .get(running.url("/acme/directory"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            http: running.http.clone(),
            directory,
            key: SigningKey::generate().unwrap(),
            kid: None,
            nonce: None,
        }
    }

    pub fn dir(&self, name: &str) -> String {
        self.directory[name].as_str().unwrap().to_owned()
    }

    pub async fn fresh_nonce(&self) -> String {
        let response = self.http.head(self.dir("newNonce")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.headers()["replay-nonce"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// Signs `payload` (None: POST-as-GET) for `url` with `nonce`, using `jwk` until the
    /// account exists, then `kid`.
    pub fn sign(&self, url: &str, nonce: &str, payload: Option<&Value>) -> FlattenedJws {
        let mut protected = json!({"alg": "ES256", "nonce": nonce, "url": url});
        match &self.kid {
            Some(kid) => protected["kid"] = json!(kid),
            None => protected["jwk"] = self.key.public_jwk(),
        }
        let bytes = payload
            .map(|p| p.to_string().into_bytes())
            .unwrap_or_default();
        FlattenedJws::sign_es256(&self.key, &protected, &bytes).unwrap()
    }

    pub async fn send(&mut self, url: &str, jws: &FlattenedJws) -> Answer {
        let response = self
            .http
            .post(url)
            .header("content-type", "application/jose+json")
            .body(serde_json::to_vec(jws).unwrap())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.nonce = headers
            .get("replay-nonce")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.bytes().await.unwrap().to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&mut self, url: &str, payload: Option<&Value>) -> Answer {
        let nonce = match self.nonce.take() {
            Some(n) => n,
            None => self.fresh_nonce().await,
        };
        let jws = self.sign(url, &nonce, payload);
        self.send(url, &jws).await
    }

    pub async fn register(&mut self) -> Answer {
        let url = self.dir("newAccount");
        let answer = self
            .post(
                &url,
                Some(&json!({"termsOfServiceAgreed": true, "contact": ["mailto:noc@example.net"]})),
            )
            .await;
        assert_eq!(
            answer.status,
            201,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        self.kid = Some(answer.location());
        answer
    }

    pub fn fingerprint(&self) -> String {
        spki_fingerprint(&self.key)
    }

    /// newOrder for `value`; returns (order URL, order).
    pub async fn order(&mut self, value: &str) -> (String, Value) {
        let url = self.dir("newOrder");
        let answer = self
            .post(
                &url,
                Some(&json!({"identifiers": [{"type": "TNAuthList", "value": value}]})),
            )
            .await;
        assert_eq!(
            answer.status,
            201,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        (answer.location(), answer.json())
    }

    /// The tkauth-01 challenge of the order's first authorization.
    pub async fn challenge(&mut self, order: &Value) -> Value {
        let authz_url = order["authorizations"][0].as_str().unwrap().to_owned();
        let authz = self.post(&authz_url, None).await;
        assert_eq!(authz.status, 200);
        let authz = authz.json();
        assert_eq!(authz["status"], "pending");
        authz["challenges"][0].clone()
    }

    /// Answers the challenge with `token`; returns the challenge object.
    pub async fn answer(&mut self, challenge: &Value, token: &str) -> Answer {
        let url = challenge["url"].as_str().unwrap().to_owned();
        self.post(&url, Some(&json!({"atc": token}))).await
    }

    pub async fn finalize(&mut self, order: &Value, csr_der: &[u8]) -> Answer {
        let url = order["finalize"].as_str().unwrap().to_owned();
        self.post(&url, Some(&json!({"csr": URL_SAFE_NO_PAD.encode(csr_der)})))
            .await
    }
}

/// A CSR for `spc` with C, O and CN, signed with a fresh P-256 key.
pub fn csr(spc: &str) -> Vec<u8> {
    use pki::{CsrParams, DistinguishedName, NameAttribute, TnAuthList};
    CsrParams::new(TnAuthList::from_spc(passport::Spc::new(spc).unwrap()))
        .subject(
            DistinguishedName::default()
                .push(NameAttribute::Country, "US")
                .push(NameAttribute::Organization, "Example Telco")
                .push(NameAttribute::CommonName, &format!("SHAKEN {spc}")),
        )
        .sign_with_new_key()
        .unwrap()
        .der()
        .to_vec()
}

/// The whole flow for SPC 1234 with a new account: returns the client and the PEM chain.
pub async fn issue(running: &Running) -> (Acme, String) {
    let mut acme = Acme::new(running).await;
    acme.register().await;
    let (_, order) = acme.order("MAigBhYEMTIzNA==").await;
    let challenge = acme.challenge(&order).await;
    let token = running
        .spc_token("MAigBhYEMTIzNA==", &acme.fingerprint())
        .await;
    assert_eq!(
        acme.answer(&challenge, &token).await.json()["status"],
        "valid"
    );
    let finalized = acme.finalize(&order, &csr("1234")).await;
    assert_eq!(finalized.status, 200);
    let cert_url = finalized.json()["certificate"].as_str().unwrap().to_owned();
    let download = acme.post(&cert_url, None).await;
    assert_eq!(download.status, 200);
    (acme, String::from_utf8(download.body).unwrap())
}

/// A plain-HTTP client. The workspace builds reqwest with `rustls-no-provider` (the x5u
/// client brings its own rustls config), so a default client needs a provider installed.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::new()
}
