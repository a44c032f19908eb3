#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.
//! The web UI in headless Chromium, driven over WebDriver (chromedriver) with fantoccini.
//!
//! The app runs on a loopback port with a SQLite store in a temporary directory, chromedriver
//! on another loopback port. An operator logs in, adds a sandbox certificate entry with a
//! 190-character password and sees the message next to the password field, then adds a valid
//! one, finds it in the list, opens its detail page and presses Renew now (the request reaches
//! the scheduler's channel); an operator of another tenant then sees none of it. Each page is
//! saved as a PNG in `target/screenshots/` (at 1280 px and at phone width).
//!
//! The second test does the same against the real `stirling serve --sandbox` binary, from the
//! printed operator login to a call signed with sipp and shown in SIP Messages
//! (`sandbox_service_in_a_browser_from_login_to_a_signed_call`; it also needs `sipp`).
//!
//! Needs `/usr/bin/chromium` and `chromedriver` (Debian `chromium`, `chromium-driver`;
//! `scripts/test` installs them). Without them this test fails: it never skips.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use passport::UnixTime;
use serde_json::json;
use stirling::auth::{Auth, hash_password};
use stirling::http::{AppState, router};
use stirling::lifecycle::scheduler::RenewNow;
use stirling::secrets::MasterKey;
use stirling::store::{EventOutcome, NewEvent, NewTenant, NewUser, NewVersion, Role, Store};
use stirling_test::{CertOptions, TestPki};
use support::service::Service;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

const PASSWORD: &str = "correct horse battery";
const CHROMIUM: &str = "/usr/bin/chromium";
const ENTRY_NAME: &str = "Main trunk <b>east</b>";

/// Where screenshots go: `$CARGO_TARGET_DIR/screenshots` or the workspace's `target/`.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts chromedriver on an ephemeral loopback port and returns it with its URL.
async fn chromedriver() -> (Child, String) {
    let mut child = Command::new("chromedriver")
        .args(["--port=0", "--allowed-ips=127.0.0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "chromedriver could not be started ({e}); install Debian chromium and \
                 chromium-driver (scripts/test does)"
            )
        });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("successfully on port ").nth(1) {
                return rest.trim_end_matches('.').parse::<u16>().unwrap();
            }
        }
        panic!("chromedriver exited without announcing its port");
    })
    .await
    .expect("chromedriver did not start in 30 s");
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://127.0.0.1:{port}"))
}

async fn browser(webdriver: &str) -> Client {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing; install Debian chromium (scripts/test does)"
    );
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--hide-scrollbars", "--force-device-scale-factor=1"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(webdriver)
        .await
        .unwrap()
}

struct App {
    base: String,
    store: Store,
    renew_requests: tokio::sync::mpsc::Receiver<stirling::lifecycle::scheduler::RenewRequest>,
    _dir: tempfile::TempDir,
}

/// The app on a loopback port: two tenants, one operator each.
async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("ui.db").display());
    let store = Store::connect(
        &url,
        4,
        Arc::new(MasterKey::from_bytes(&[5u8; 32]).unwrap()),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let now = UnixTime::now();
    let hash = hash_password(PASSWORD).unwrap();
    for name in ["alpha", "beta"] {
        let tenant = store
            .create_tenant(
                &NewTenant {
                    name: name.into(),
                    company: format!("{} Telecom", capitalised(name)),
                    technical_contact_name: "Ada Lovelace".into(),
                    technical_contact_phone: "+1 (202) 555-0100".into(),
                    system_email: format!("noc@{name}.example"),
                },
                now,
            )
            .await
            .unwrap();
        store
            .create_user(
                &NewUser {
                    tenant_id: Some(&tenant.id),
                    email: &format!("ops@{name}.example"),
                    role: Role::Operator,
                    password_hash: &hash,
                },
                now,
            )
            .await
            .unwrap();
    }
    let (renew_now, renew_requests) = RenewNow::channel();
    let app = router(AppState {
        store: store.clone(),
        clock: Arc::new(sti::SystemClock),
        renew_now,
        auth: Auth::new(false),
        mailer: None,
        renewal: Default::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    App {
        base: format!("http://{addr}"),
        store,
        renew_requests,
        _dir: dir,
    }
}

/// Stores an active version with a real chain for SPC 709J and the events of a first failed
/// and a second successful attempt; returns the serial shown.
async fn issue(store: &Store, request: &stirling::lifecycle::scheduler::RenewRequest) -> String {
    let now = UnixTime::now().as_secs();
    let pki = TestPki::with(
        &CertOptions::root("Sandbox STI-CA Root"),
        &CertOptions::ca("Sandbox STI-CA"),
        &CertOptions {
            not_before: now - 3600,
            not_after: now + 7 * 86_400 - 3600,
            serial: 0x5e11a1,
            ..CertOptions::leaf("709J")
        },
    );
    let fingerprint: String = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, pki.leaf.der())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = passport::SigningKey::generate().unwrap();
    let at = |secs: u64| UnixTime::since_unix_epoch(Duration::from_secs(secs));
    let (tenant, id) = (&request.tenant, &request.certificate);
    for (offset, step, outcome, error) in [
        (7200, "sti_pa_login", EventOutcome::Started, None),
        (
            7199,
            "sti_pa_login",
            EventOutcome::Failed,
            Some("STI-PA answered 401 Unauthorized"),
        ),
        (60, "sti_pa_login", EventOutcome::Succeeded, None),
        (50, "acme_order", EventOutcome::Succeeded, None),
        (40, "activate", EventOutcome::Succeeded, None),
    ] {
        store
            .append_event(
                tenant,
                id,
                &NewEvent {
                    at: at(now - offset),
                    step,
                    outcome,
                    error_text: error,
                },
            )
            .await
            .unwrap();
    }
    let version = store
        .insert_version(
            tenant,
            id,
            &NewVersion {
                chain_pem: &pki.chain_pem(),
                key: &key,
                serial: "5e11a1",
                fingerprint: &fingerprint,
                not_before: at(now - 3600),
                not_after: at(now + 7 * 86_400 - 3600),
                repository_path: &format!("cr/709J/{fingerprint}.pem"),
            },
            at(now - 45),
        )
        .await
        .unwrap();
    store
        .activate_version(tenant, id, &version.id, at(now - 40))
        .await
        .unwrap();
    "5e11a1".to_owned()
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

async fn type_into(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn log_in(client: &Client, base: &str, email: &str) {
    log_in_with(client, base, email, PASSWORD).await;
}

async fn log_in_with(client: &Client, base: &str, email: &str, password: &str) {
    client.goto(&format!("{base}/login")).await.unwrap();
    type_into(client, "email", email).await;
    type_into(client, "password", password).await;
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("header.topbar nav"))
        .await
        .unwrap();
}

async fn fill_entry(client: &Client, password: &str) {
    fill_entry_with(client, ENTRY_NAME, "709j", "stirling-api", password).await;
}

async fn fill_entry_with(client: &Client, name: &str, spid: &str, user: &str, password: &str) {
    type_into(client, "name", name).await;
    type_into(client, "spid", spid).await;
    type_into(client, "sti_pa_account_id", spid).await;
    type_into(client, "sti_pa_user_id", user).await;
    type_into(client, "sti_pa_password", password).await;
    client
        .find(Locator::Id("environment"))
        .await
        .unwrap()
        .select_by_value("sandbox")
        .await
        .unwrap();
}

async fn submit(client: &Client) {
    client
        .find(Locator::Css("form button.primary[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// One Chromium at a time: the tests of this file share two cores with everything else.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_adds_a_certificate_entry_and_another_tenant_sees_none_of_it() {
    let _one_browser = BROWSER.lock().await;
    let mut app = app().await;
    let (_driver, webdriver) = chromedriver().await;
    let client = browser(&webdriver).await;
    let base = app.base.clone();

    client.goto(&format!("{base}/")).await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("email"))
        .await
        .unwrap();
    assert!(client.current_url().await.unwrap().path() == "/login");
    shot(&client, "01-login").await;

    log_in(&client, &base, "ops@alpha.example").await;
    shot(&client, "02-dashboard-empty").await;

    // Too long a password: the message sits next to the password field.
    client
        .goto(&format!("{base}/certificates/new"))
        .await
        .unwrap();
    shot(&client, "03-certificate-add").await;
    fill_entry(&client, &"x".repeat(190)).await;
    submit(&client).await;
    let message = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("sti_pa_password-error"))
        .await
        .unwrap();
    assert_eq!(
        message.text().await.unwrap(),
        "must be shorter than 190 characters"
    );
    let field = client
        .find(Locator::Css(".field.has-error #sti_pa_password"))
        .await
        .unwrap();
    assert_eq!(field.prop("value").await.unwrap().as_deref(), Some(""));
    shot(&client, "04-certificate-add-error").await;

    // A valid password: the entry is stored and the detail page opens.
    fill_entry(&client, "Valid STI-PA password 1!").await;
    submit(&client).await;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("renew-now"))
        .await
        .unwrap();
    let detail_url = client.current_url().await.unwrap();
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(heading.contains(ENTRY_NAME), "{heading}");
    assert!(heading.contains("Pending"), "{heading}");
    shot(&client, "05-certificate-detail").await;

    client
        .find(Locator::Id("renew-now"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The previous page had a notice too: wait for the redirect before reading it.
    let mut renewed = detail_url.clone();
    renewed.set_query(Some("notice=renew"));
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_url(&renewed)
        .await
        .unwrap();
    let notice = client.find(Locator::Css("p.notice")).await.unwrap();
    assert!(notice.text().await.unwrap().starts_with("Renewal queued"));
    // The first request came when the entry was created (issuance at once), the next from
    // the button.
    let created = app.renew_requests.try_recv().unwrap();
    let request = app.renew_requests.try_recv().unwrap();
    assert_eq!(created.certificate, request.certificate);
    assert!(detail_url.path().ends_with(request.certificate.as_str()));
    // The scheduler is not part of this test: store what an issuance leaves behind (a version
    // with a real chain, its events) the way the lifecycle does, and look at it in the UI.
    let serial = issue(&app.store, &request).await;
    let detail = format!("{base}{}", detail_url.path());
    client.goto(&detail).await.unwrap();
    let pem = client
        .find(Locator::Id("active-pem"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let versions = client
        .find(Locator::Css("table tbody"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(versions.contains(&serial), "{versions}");
    let x5u = client
        .find(Locator::Css("td[data-label=x5u] a"))
        .await
        .unwrap();
    assert!(
        x5u.attr("href")
            .await
            .unwrap()
            .unwrap()
            .starts_with("/cr/709J/")
    );
    let timeline = client
        .find(Locator::Css("ol.timeline"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        timeline.contains("sti_pa_login") && timeline.contains("401 Unauthorized"),
        "{timeline}"
    );
    client.set_window_size(1280, 1500).await.unwrap();
    shot(&client, "05b-certificate-detail-issued").await;
    client.set_window_size(1280, 900).await.unwrap();

    client.goto(&format!("{base}/certificates")).await.unwrap();
    let rows = client.find_all(Locator::Css("tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = rows[0].text().await.unwrap();
    assert!(row.contains(ENTRY_NAME) && row.contains("709J"), "{row}");
    shot(&client, "06-certificates").await;

    client.goto(&format!("{base}/")).await.unwrap();
    shot(&client, "07-dashboard").await;
    for (path, name) in [
        ("/settings/account", "08-account"),
        ("/settings/users", "09-users"),
        ("/settings/tokens", "10-tokens"),
    ] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        shot(&client, name).await;
    }
    type_into(&client, "token-name", "provisioning").await;
    submit(&client).await;
    let token = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("new-token"))
        .await
        .unwrap();
    assert!(token.text().await.unwrap().starts_with("stk_"));
    shot(&client, "11-token-created").await;

    // Phone width.
    client.set_window_size(390, 844).await.unwrap();
    client.goto(&format!("{base}/certificates")).await.unwrap();
    shot(&client, "12-phone-certificates").await;
    client.goto(&detail).await.unwrap();
    client.set_window_size(390, 1600).await.unwrap();
    shot(&client, "13-phone-detail").await;
    client.set_window_size(1280, 900).await.unwrap();

    // Log out; another tenant's operator sees none of it.
    client
        .find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("email"))
        .await
        .unwrap();
    log_in(&client, &base, "ops@beta.example").await;
    let dashboard = client.source().await.unwrap();
    assert!(!dashboard.contains("Main trunk"));
    client.goto(&format!("{base}/certificates")).await.unwrap();
    let list = client.source().await.unwrap();
    assert!(!list.contains("Main trunk") && !list.contains("709J"));
    assert!(list.contains("No certificate entries yet"));
    shot(&client, "14-other-tenant-certificates").await;
    client.goto(&detail).await.unwrap();
    let title = client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(title, "Not found");
    assert!(!client.source().await.unwrap().contains("Main trunk"));
    shot(&client, "15-other-tenant-detail-404").await;

    client.close().await.unwrap();
}

/// The admin API of `service` with a bearer token: the status and the JSON body.
fn api(
    service: &Service,
    method: &str,
    path: &str,
    token: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let (status, text) = service.request(method, path, Some(token), &body.to_string());
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {status} {text}"));
    (status, json)
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn log_out(client: &Client) {
    click(client, "form[action='/logout'] button").await;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("email"))
        .await
        .unwrap();
}

/// A full-page screenshot at `width`: the window is made as tall as the page first.
async fn tall_shot(client: &Client, name: &str, width: u32) {
    let height = client
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(900);
    let height = u32::try_from(height.clamp(600, 4000)).unwrap();
    client.set_window_size(width, height).await.unwrap();
    shot(client, name).await;
    client
        .set_window_size(width, if width < 600 { 844 } else { 900 })
        .await
        .unwrap();
}

const E2E_ENTRY: &str = "East trunk <1234>";

/// The README's sandbox as an operator sees it, in Chromium against the real binary: log in
/// with the printed operator login; replace the demo entry for SPID 1234 (delete it, add it
/// again: first with a password the STI-PA would refuse as too long, which is reported next
/// to the field, then with the sandbox STI-PA's credentials) and watch it become active;
/// send a call with sipp; find it in SIP Messages and press Show to see the certificate's SPC
/// and fingerprint. An administrator then creates tenant beta and its operator through the
/// admin API (with a token made in the UI); beta's operator sees none of it. Every page is
/// saved in `target/screenshots/e2e-*.png` at 1280 px and at phone width.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_service_in_a_browser_from_login_to_a_signed_call() {
    let _one_browser = BROWSER.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(dir.path(), &[("STIRLING_SIP__RELOAD_SECS", "1".to_owned())]);
    service
        .wait_for_async("API token (operator of tenant demo)")
        .await;
    let (operator, operator_password) = service.login("operator");
    let (admin, admin_password) = service.login("admin");
    service.wait_for_async("sip listening").await;
    let (_driver, webdriver) = chromedriver().await;
    let client = browser(&webdriver).await;
    let base = format!("http://{}", service.http);

    log_in_with(&client, &base, &operator, &operator_password).await;
    shot(&client, "e2e-01-dashboard").await;

    // The demo entry: wait until it is active (the sandbox issues it within seconds), then
    // delete it to add it again.
    client.goto(&format!("{base}/certificates")).await.unwrap();
    client
        .find(Locator::LinkText("Demo SPID 1234"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let demo = client.current_url().await.unwrap();
    wait_until_active(&client, demo.as_str()).await;
    click(&client, "a.button.danger").await;
    shot(&client, "e2e-02-certificate-delete-confirm").await;
    click(&client, "#confirm-delete").await;
    assert!(text_of(&client, "p.notice").await.contains("deleted"));

    client
        .goto(&format!("{base}/certificates/new"))
        .await
        .unwrap();
    fill_entry_with(&client, E2E_ENTRY, "1234", "sandbox", &"p".repeat(190)).await;
    submit(&client).await;
    assert_eq!(
        text_of(&client, ".field.has-error #sti_pa_password-error").await,
        "must be shorter than 190 characters"
    );
    tall_shot(&client, "e2e-03-certificate-add-error", 1280).await;
    // The sandbox STI-PA's seeded user for OCN 1234.
    fill_entry_with(&client, E2E_ENTRY, "1234", "sandbox", "sandbox").await;
    submit(&client).await;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("renew-now"))
        .await
        .unwrap();
    let entry = client.current_url().await.unwrap();
    assert!(text_of(&client, "h1").await.contains(E2E_ENTRY));
    wait_until_active(&client, entry.as_str()).await;
    let fingerprint = text_of(&client, "td[data-label=Fingerprint] code").await;
    assert_eq!(fingerprint.len(), 64, "{fingerprint}");
    tall_shot(&client, "e2e-04-certificate-active", 1280).await;

    // A call from the loopback SBC: signed once the call path has the new certificate.
    let sip = service.sip;
    let identity = tokio::task::spawn_blocking(move || {
        let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/sign.xml");
        for _ in 0..100 {
            let run = stirling_test::sipp(&scenario, sip, "u1", &[("orig", "+12155550121")]);
            assert!(run.success, "{}", run.log);
            let answer = run.received("SIP/2.0 302");
            if let Some(identity) = stirling_test::headers(&answer, "Identity").pop() {
                return identity;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the call was never signed");
    })
    .await
    .unwrap();
    assert!(identity.contains("info=<"), "{identity}");

    // SIP Messages: only signed calls, then Show.
    client.goto(&format!("{base}/sip-messages")).await.unwrap();
    client
        .find(Locator::Id("result"))
        .await
        .unwrap()
        .select_by_value("signed")
        .await
        .unwrap();
    click(&client, "#apply-filter").await;
    // The unfiltered page has Show links too: wait for the filtered page itself.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !client
        .current_url()
        .await
        .unwrap()
        .query()
        .is_some_and(|q| q.contains("result=signed"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the filter did not apply"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("a.show"))
        .await
        .unwrap();
    let row = text_of(&client, "tbody tr").await;
    assert!(
        row.contains("12155550121") && row.contains("Signed"),
        "{row}"
    );
    shot(&client, "e2e-05-sip-messages").await;
    click(&client, "a.show").await;
    assert_eq!(text_of(&client, "#cert-spc").await, "1234");
    assert_eq!(text_of(&client, "#cert-fingerprint").await, fingerprint);
    let claims = text_of(&client, "pre.passport-claims").await;
    assert!(claims.contains("\"attest\": \"A\""), "{claims}");
    assert!(
        text_of(&client, "#raw-request")
            .await
            .starts_with("INVITE sip:+12155550131")
    );
    assert!(
        text_of(&client, "#raw-response")
            .await
            .contains("Identity:")
    );
    let message = client.current_url().await.unwrap();

    // The Identity sent back for verification: Show describes the chain fetched from its x5u.
    let verified = tokio::task::spawn_blocking(move || {
        let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/verify.xml");
        let run = stirling_test::sipp(&scenario, sip, "u1", &[("identity", &identity)]);
        assert!(run.success, "{}", run.log);
        run.received("SIP/2.0 302")
    })
    .await
    .unwrap();
    assert!(
        verified.contains("verstat=TN-Validation-Passed"),
        "{verified}"
    );
    client
        .goto(&format!("{base}/sip-messages?result=passed"))
        .await
        .unwrap();
    click(&client, "a.show").await;
    assert_eq!(text_of(&client, "#cert-spc").await, "1234");
    assert_eq!(text_of(&client, "#cert-fingerprint").await, fingerprint);
    assert!(
        text_of(&client, "#raw-response")
            .await
            .contains("verstat=TN-Validation-Passed")
    );
    tall_shot(&client, "e2e-06b-sip-message-show-verification", 1280).await;
    tall_shot(&client, "e2e-06-sip-message-show", 1280).await;

    for (path, name) in [
        ("/", "e2e-07-dashboard-calls"),
        ("/sbcs", "e2e-08-sbcs"),
        ("/policies", "e2e-09-policies"),
        ("/settings/account", "e2e-10-account"),
    ] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        tall_shot(&client, name, 1280).await;
    }
    let nav = text_of(&client, "header.topbar").await;
    assert!(nav.contains("SBCs") && nav.contains("Policies"));
    client.goto(&format!("{base}/")).await.unwrap();
    assert!(
        text_of(&client, "table.call-counts")
            .await
            .contains("Signed")
    );

    // Phone width.
    client.set_window_size(390, 844).await.unwrap();
    for (path, name) in [
        ("/", "e2e-11-phone-dashboard"),
        ("/sip-messages", "e2e-12-phone-sip-messages"),
        (message.path(), "e2e-13-phone-sip-message-show"),
        ("/sbcs", "e2e-14-phone-sbcs"),
        ("/policies", "e2e-15-phone-policies"),
    ] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        tall_shot(&client, name, 390).await;
    }
    client.set_window_size(1280, 900).await.unwrap();
    log_out(&client).await;

    // The administrator makes an API token in the UI and provisions tenant beta with it.
    log_in_with(&client, &base, &admin, &admin_password).await;
    client
        .goto(&format!("{base}/settings/tokens"))
        .await
        .unwrap();
    type_into(&client, "token-name", "provisioning").await;
    submit(&client).await;
    let token = text_of(&client, "#new-token").await;
    let (status, tenant) = api(
        &service,
        "POST",
        "/api/v1/tenants",
        &token,
        &json!({"name": "beta", "company": "Beta Telecom", "technical_contact_name": "Bea",
                "technical_contact_phone": "+1 202 555 0111", "system_email": "noc@beta.example"}),
    );
    assert_eq!(status, 201, "{tenant}");
    let (status, user) = api(
        &service,
        "POST",
        "/api/v1/users",
        &token,
        &json!({"email": "ops@beta.example", "role": "operator", "password": PASSWORD,
                "tenant_id": tenant["id"]}),
    );
    assert_eq!(status, 201, "{user}");
    log_out(&client).await;

    // Beta's operator sees none of demo's entries, calls, SBCs or rules.
    log_in(&client, &base, "ops@beta.example").await;
    assert!(!client.source().await.unwrap().contains("East trunk"));
    client.goto(&format!("{base}/certificates")).await.unwrap();
    assert!(
        client
            .source()
            .await
            .unwrap()
            .contains("No certificate entries yet")
    );
    client
        .goto(&format!("{base}/sip-messages?range=all"))
        .await
        .unwrap();
    let list = client.source().await.unwrap();
    assert!(list.contains("No SIP messages match") && !list.contains("12155550121"));
    shot(&client, "e2e-16-other-tenant-sip-messages").await;
    client.goto(message.as_str()).await.unwrap();
    assert_eq!(text_of(&client, "h1").await, "Not found");
    let page = client.source().await.unwrap();
    assert!(!page.contains(&fingerprint) && !page.contains("12155550121"));
    shot(&client, "e2e-17-other-tenant-show-404").await;
    client.goto(entry.as_str()).await.unwrap();
    assert_eq!(text_of(&client, "h1").await, "Not found");
    client.goto(&format!("{base}/sbcs")).await.unwrap();
    assert!(!client.source().await.unwrap().contains("loopback"));
    client.goto(&format!("{base}/policies")).await.unwrap();
    assert!(client.source().await.unwrap().contains("No rules yet"));

    client.close().await.unwrap();
}

/// Reloads the entry page at `url` until its status is Active (issuance runs in the
/// background; the sandbox finishes within seconds).
async fn wait_until_active(client: &Client, url: &str) {
    for _ in 0..120 {
        client.goto(url).await.unwrap();
        let heading = text_of(client, "h1").await;
        if heading.contains("Active") {
            return;
        }
        assert!(
            !heading.contains("Failing"),
            "{heading}: {}",
            client.source().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!(
        "{url} never became active: {}",
        client.source().await.unwrap()
    );
}
