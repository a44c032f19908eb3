#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.
//! Issuance under faults (issue 5, "Bad input and faults"): the sandbox STI-PA and STI-CA
//! served in-process on 127.0.0.1 with their fault switches, a store in a temporary SQLite file
//! (and, where the case is about the store, a fresh PostgreSQL schema at 127.0.0.1:5432), and
//! for the kill cases a real `stirling issue-once` process that is SIGKILLed mid-flow.

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use sandbox::{Faults, Sandbox};
use sqlx::Connection as _;
use stirling::lifecycle::issuance::{Step, issue_certificate};
use stirling::store::{
    Backend, CertificateId, CertificateVersion, EventOutcome, Store, TenantId, VersionState,
};
use support::lifecycle::{
    MASTER_KEY, Running, TestStore, assert_nothing_stored, connect, deps, deps_with, entry,
    start_sandbox,
};

/// Long enough that a held request is still waiting whenever the test looks.
const HOLD_MS: u64 = 600_000;
/// The sandbox routes the kill cases hold.
const TOKEN_ROUTE: &str = "/api/v1/account/{account_id}/token";
const FINALIZE_ROUTE: &str = "/acme/order/{id}/finalize";
const LOGIN_ROUTE: &str = "/api/v1/auth/login";

// ---------------------------------------------------------------------------------------------
// The faults, one test each.

#[tokio::test]
async fn sti_pa_down_fails_at_login_and_stores_nothing() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    // A loopback port nothing listens on: bound, then released.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let deps = deps_with(&running, &format!("http://{closed}"), |_| {}).await;
    let (tenant, cert) = entry(store, "sandbox").await;

    let failure = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap_err();
    assert_eq!(failure.step, Step::StiPaLogin, "{failure}");
    assert!(
        failure.error.contains("sti-pa transport failed") && failure.error.contains("refused"),
        "{failure}"
    );
    // Down is not refused: a later retry may well work.
    assert!(!failure.credentials_refused);
    assert_nothing_stored(store, &tenant, &cert).await;
    let failed = failed_events(store, &tenant, &cert).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "sti_pa_login");
    assert_eq!(failed[0].1, failure.error);
    db.cleanup().await;
}

#[tokio::test]
async fn sti_pa_401_sees_one_login_per_attempt_and_no_secret_is_recorded() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let deps = deps(&running).await;
    let password = "Wrong-Pa55word-7f3e";
    let (tenant, cert) = entry(store, password).await;
    running.sandbox.reset_requests();

    for attempt in 1..=2 {
        let failure = issue_certificate(store, &tenant, &cert, &deps)
            .await
            .unwrap_err();
        assert_eq!(failure.step, Step::StiPaLogin, "{failure}");
        assert!(
            failure.error.contains("rejected the credentials"),
            "{failure}"
        );
        assert!(failure.credentials_refused);
        // Exactly one login reached the STI-PA per issuance call: no retry storm.
        assert_eq!(running.sandbox.request_count(LOGIN_ROUTE), attempt);
        assert_eq!(running.sandbox.request_count(TOKEN_ROUTE), 0);
    }
    assert_nothing_stored(store, &tenant, &cert).await;
    let failed = failed_events(store, &tenant, &cert).await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    for (step, text) in &failed {
        assert_eq!(step, "sti_pa_login");
        assert!(text.contains("rejected the credentials"), "{text}");
    }
    let events = store.list_events(&tenant, &cert, 1000).await.unwrap();
    for event in &events {
        let text = event.error_text.as_deref().unwrap_or_default();
        assert!(!text.contains(password), "{text}");
    }
    db.cleanup().await;
}

#[tokio::test]
async fn ca_bad_nonce_is_retried_and_issuance_succeeds() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let deps = deps(&running).await;
    let (tenant, cert) = entry(store, "sandbox").await;
    let retries = deps.acme.config().bad_nonce_retries;
    assert!(retries >= 2);
    running.sandbox.set_faults(Faults {
        bad_nonce_next: retries,
        ..Faults::default()
    });

    let version = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap();
    // The CA did refuse that many good nonces: the client retried through them.
    assert_eq!(running.sandbox.faults().bad_nonce_next, 0);
    assert_eq!(version.state, VersionState::Active);
    assert_eq!(active(store, &tenant, &cert).await.unwrap().id, version.id);
    db.cleanup().await;
}

#[tokio::test]
async fn ca_rejecting_the_challenge_fails_at_the_order_and_keeps_the_active_version() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let deps = deps(&running).await;
    let (tenant, cert) = entry(store, "sandbox").await;
    let first = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap();

    // The STI-PA hands out an expired SPC token; the STI-CA refuses the tkauth-01 answer.
    running.sandbox.set_faults(Faults {
        expired_token_next: 1,
        ..Faults::default()
    });
    let failure = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap_err();
    assert_eq!(failure.step, Step::AcmeOrder, "{failure}");
    assert!(failure.error.contains("challenge"), "{failure}");
    assert_unchanged(store, &tenant, &cert, &first).await;
    db.cleanup().await;
}

#[tokio::test]
async fn certificate_for_another_spc_is_rejected_at_the_order_and_not_stored() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let deps = deps(&running).await;
    let (tenant, cert) = entry(store, "sandbox").await;
    let first = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap();

    running.sandbox.set_faults(Faults {
        wrong_tn_auth_list_next: 1,
        ..Faults::default()
    });
    let failure = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap_err();
    // The CA did misissue (the switch was used) and the client refused the result.
    assert_eq!(running.sandbox.faults().wrong_tn_auth_list_next, 0);
    assert_eq!(failure.step, Step::AcmeOrder, "{failure}");
    assert!(
        failure.error.contains(
            "the ca issued a certificate for tnauthlist MAigBhYEOTk5OQ==, \
             not the ordered MAigBhYEMTIzNA=="
        ),
        "{failure}"
    );
    assert_unchanged(store, &tenant, &cert, &first).await;
    let failed = failed_events(store, &tenant, &cert).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0], ("acme_order".to_owned(), failure.error.clone()));
    db.cleanup().await;
}

#[tokio::test]
async fn slow_ca_fails_with_a_timeout_and_keeps_the_active_version() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let deps = deps_with(&running, &running.base, |acme| {
        acme.request_timeout = Duration::from_millis(500);
    })
    .await;
    let (tenant, cert) = entry(store, "sandbox").await;
    let first = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap();

    // The CA's answer to the new order now takes far longer than the client's request timeout.
    running.sandbox.set_faults(Faults {
        delay_ms: HOLD_MS,
        delay_route: Some("/acme/new-order".into()),
        ..Faults::default()
    });
    let failure = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap_err();
    assert_eq!(failure.step, Step::AcmeOrder, "{failure}");
    assert!(failure.error.contains("timed out after"), "{failure}");
    assert_unchanged(store, &tenant, &cert, &first).await;
    db.cleanup().await;
}

#[tokio::test]
async fn malformed_json_from_the_sti_pa_is_a_typed_failure_at_login() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let deps = deps(&running).await;
    let (tenant, cert) = entry(store, "sandbox").await;
    let first = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap();

    // With the ACME account stored, the next PA or CA answer is the STI-PA login.
    running.sandbox.set_faults(Faults {
        malformed_json_next: 1,
        ..Faults::default()
    });
    let failure = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap_err();
    assert_eq!(failure.step, Step::StiPaLogin, "{failure}");
    assert!(
        failure.error.contains("sti-pa answer is malformed"),
        "{failure}"
    );
    assert_unchanged(store, &tenant, &cert, &first).await;
    db.cleanup().await;
}

#[tokio::test]
async fn malformed_json_from_the_sti_ca_is_a_typed_failure_at_the_order() {
    let running = start_sandbox().await;
    let db = TestStore::new(Backend::Sqlite).await;
    let store = &db.store;
    let deps = deps(&running).await;
    let (tenant, cert) = entry(store, "sandbox").await;
    let first = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap();

    running.sandbox.set_faults(Faults {
        malformed_json_next: 1,
        malformed_json_route: Some("/acme/new-order".into()),
        ..Faults::default()
    });
    let failure = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap_err();
    assert_eq!(running.sandbox.faults().malformed_json_next, 0);
    assert_eq!(failure.step, Step::AcmeOrder, "{failure}");
    assert!(failure.error.contains("malformed order"), "{failure}");
    assert_unchanged(store, &tenant, &cert, &first).await;
    db.cleanup().await;
}

/// A real `SQLITE_FULL`: the database lives on a small tmpfs that is then filled up (mounting
/// needs root, as `scripts/test` runs). Events are best effort, so the steps before `store`
/// still run; the insert of the version is the write that cannot be refused silently.
#[tokio::test]
async fn disk_full_fails_at_store_with_a_clear_error_and_keeps_the_active_version() {
    let running = start_sandbox().await;
    let disk = SmallDisk::mount();
    let url = format!(
        "sqlite://{}?mode=rwc",
        disk.path.join("stirling.db").display()
    );
    let store = connect(&url).await;
    let deps = deps(&running).await;
    let (tenant, cert) = entry(&store, "sandbox").await;
    let first = issue_certificate(&store, &tenant, &cert, &deps)
        .await
        .unwrap();

    let ballast = disk.fill();
    let failure = issue_certificate(&store, &tenant, &cert, &deps)
        .await
        .unwrap_err();
    assert_eq!(failure.step, Step::Store, "{failure}");
    assert!(
        failure
            .error
            .starts_with("the database or the disk it is on is full: "),
        "{failure}"
    );
    assert!(failure.error.contains("(code: 13)"), "{failure}");
    assert_unchanged(&store, &tenant, &cert, &first).await;

    // With space again, the next attempt works and finds a consistent database.
    std::fs::remove_file(ballast).unwrap();
    let second = issue_certificate(&store, &tenant, &cert, &deps)
        .await
        .unwrap();
    let versions = store.list_versions(&tenant, &cert).await.unwrap();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(active(&store, &tenant, &cert).await.unwrap().id, second.id);
    let mut raw = sqlx::AnyConnection::connect(&url).await.unwrap();
    let check: (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    assert_eq!(check.0, "ok");
    raw.close().await.unwrap();
    store.close().await;
}

// ---------------------------------------------------------------------------------------------
// Killed with SIGKILL mid-flow, then issued again in-process: it converges.

/// Where the `issue-once` process is held when it is killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KillPoint {
    /// Logged in to the STI-PA, waiting for the SPC token.
    AfterLogin,
    /// Challenge answered, waiting for the STI-CA to finalize the order.
    DuringOrder,
    /// The version is stored (committed, pending), activation not yet begun.
    AfterStore,
    /// Inside the activation transaction: the previous version already retired, the new one
    /// being made active.
    DuringActivation,
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn killed_after_login_converges() {
        killed_mid_flow(Backend::Sqlite, KillPoint::AfterLogin).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn killed_during_the_order_converges() {
        killed_mid_flow(Backend::Sqlite, KillPoint::DuringOrder).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn killed_after_store_before_activation_converges() {
        killed_mid_flow(Backend::Sqlite, KillPoint::AfterStore).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn killed_during_activation_keeps_the_previous_version_and_converges() {
        killed_mid_flow(Backend::Sqlite, KillPoint::DuringActivation).await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn killed_after_login_converges() {
        killed_mid_flow(Backend::Postgres, KillPoint::AfterLogin).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn killed_during_the_order_converges() {
        killed_mid_flow(Backend::Postgres, KillPoint::DuringOrder).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn killed_after_store_before_activation_converges() {
        killed_mid_flow(Backend::Postgres, KillPoint::AfterStore).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn killed_during_activation_keeps_the_previous_version_and_converges() {
        killed_mid_flow(Backend::Postgres, KillPoint::DuringActivation).await;
    }
}

async fn killed_mid_flow(backend: Backend, point: KillPoint) {
    let db = TestStore::new(backend).await;
    let (store, url) = (db.store.clone(), db.url.clone());
    // In its own task so a failed assertion still drops the PostgreSQL schema.
    let outcome = tokio::spawn(async move { kill_and_converge(&store, &url, point).await }).await;
    db.cleanup().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Activation needs no network, so for the store's kill points the process is held in the
/// store: a trigger stalls one of its writes, inside its own transaction.
struct StoreHold {
    table: &'static str,
    event: &'static str,
    when: &'static str,
}

/// The insert of the `store`/`succeeded` event: written after the version's insert committed,
/// before activation begins.
const AFTER_STORE: StoreHold = StoreHold {
    table: "certificate_events",
    event: "INSERT",
    when: "NEW.step = 'store' AND NEW.outcome = 'succeeded'",
};

/// The activation transaction's last change: making the new version active, after the
/// previous one was retired in the same transaction.
const DURING_ACTIVATION: StoreHold = StoreHold {
    table: "certificate_versions",
    event: "UPDATE",
    when: "NEW.state = 'active'",
};

async fn kill_and_converge(store: &Store, url: &str, point: KillPoint) {
    let running = start_sandbox().await;
    let (tenant, cert) = entry(store, "sandbox").await;
    let key_dir = tempfile::tempdir().unwrap();
    let key_file = master_key_file(key_dir.path());
    let directory = format!("{}/acme/directory", running.base);
    // Killing activation needs a version to retire; the other points start from nothing, so
    // the killed process is the one that creates the ACME account.
    let previous = match point {
        KillPoint::DuringActivation => Some(
            issue_certificate(store, &tenant, &cert, &deps(&running).await)
                .await
                .unwrap(),
        ),
        KillPoint::AfterLogin | KillPoint::DuringOrder | KillPoint::AfterStore => None,
    };

    match point {
        KillPoint::AfterLogin => hold_route(&running.sandbox, TOKEN_ROUTE),
        KillPoint::DuringOrder => hold_route(&running.sandbox, FINALIZE_ROUTE),
        KillPoint::AfterStore => hold_in_store(store, url, &AFTER_STORE).await,
        KillPoint::DuringActivation => hold_in_store(store, url, &DURING_ACTIVATION).await,
    }
    // Events of the in-process issuance before are not the killed process's.
    let logins_before = count_events(store, &tenant, &cert, Step::StiPaLogin, "succeeded").await;
    let activations_before = count_events(store, &tenant, &cert, Step::Activate, "started").await;
    let mut child = issue_once(url, &key_file, &tenant, &cert, &running);
    // Wait until the process is held where we want it, as the sandbox or the store shows.
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "issue-once ended before it was killed ({status}): {}",
                stderr(child)
            );
        }
        let there = match point {
            KillPoint::AfterLogin => {
                running.sandbox.request_count(TOKEN_ROUTE) > 0
                    && count_events(store, &tenant, &cert, Step::StiPaLogin, "succeeded").await
                        > logins_before
            }
            KillPoint::DuringOrder => running.sandbox.request_count(FINALIZE_ROUTE) > 0,
            KillPoint::AfterStore => store
                .list_versions(&tenant, &cert)
                .await
                .unwrap()
                .iter()
                .any(|v| v.state == VersionState::Pending),
            KillPoint::DuringActivation => {
                count_events(store, &tenant, &cert, Step::Activate, "started").await
                    > activations_before
                    && write_in_progress(store, url).await
            }
        };
        if there {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    match point {
        KillPoint::AfterStore => release_store_hold(store, url, &AFTER_STORE).await,
        KillPoint::DuringActivation => release_store_hold(store, url, &DURING_ACTIVATION).await,
        KillPoint::AfterLogin | KillPoint::DuringOrder => {}
    }
    running.sandbox.set_faults(Faults::default());

    // What the killed process left: the previous active version (if any) still the only
    // active one, the half-done activation rolled back, the ACME account stored.
    assert_eq!(active(store, &tenant, &cert).await, previous);
    let left = store.list_versions(&tenant, &cert).await.unwrap();
    let orphans: Vec<_> = left
        .iter()
        .filter(|v| Some(&v.id) != previous.as_ref().map(|p| &p.id))
        .cloned()
        .collect();
    match point {
        KillPoint::AfterLogin | KillPoint::DuringOrder => assert!(orphans.is_empty()),
        KillPoint::AfterStore | KillPoint::DuringActivation => {
            assert_eq!(orphans.len(), 1, "{left:?}");
            assert_eq!(orphans[0].state, VersionState::Pending);
        }
    }
    let account = store
        .acme_account(&tenant, &cert, &directory)
        .await
        .unwrap()
        .expect("the ACME account is stored before the STI-PA login");

    let deps = deps(&running).await;
    let version = issue_certificate(store, &tenant, &cert, &deps)
        .await
        .unwrap();

    // Converged: one active version, the new one; an orphan stays pending; the previous one
    // retired; the account kept.
    let versions = store.list_versions(&tenant, &cert).await.unwrap();
    let actives: Vec<_> = versions
        .iter()
        .filter(|v| v.state == VersionState::Active)
        .collect();
    assert_eq!(actives.len(), 1, "{versions:?}");
    assert_eq!(actives[0].id, version.id);
    for orphan in &orphans {
        let now = store.version(&tenant, &orphan.id).await.unwrap();
        assert_ne!(now.id, version.id);
        assert_eq!(now.state, VersionState::Pending);
    }
    if let Some(previous) = &previous {
        let now = store.version(&tenant, &previous.id).await.unwrap();
        assert_eq!(now.state, VersionState::Retired);
    }
    assert_eq!(
        versions.len(),
        orphans.len() + usize::from(previous.is_some()) + 1
    );
    let again = store
        .acme_account(&tenant, &cert, &directory)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.account_url, account.account_url);
    assert_eq!(
        again.key.public_key_spki_der().unwrap(),
        account.key.public_key_spki_der().unwrap()
    );
}

/// Holds every request to `route` in the sandbox (counted on arrival).
fn hold_route(sandbox: &Sandbox, route: &str) {
    sandbox.reset_requests();
    sandbox.set_faults(Faults {
        delay_ms: HOLD_MS,
        delay_route: Some(route.to_owned()),
        ..Faults::default()
    });
}

/// Installs the trigger `hold` that stalls the write of `hold`.
async fn hold_in_store(store: &Store, url: &str, hold: &StoreHold) {
    let StoreHold { table, event, when } = hold;
    let statements = match store.backend() {
        // SQLite triggers cannot sleep or use CTEs: a 10^12-row cross join keeps it busy.
        Backend::Sqlite => vec![
            "CREATE TABLE hold_rows (x INTEGER)".to_owned(),
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000) \
             INSERT INTO hold_rows SELECT x FROM n"
                .to_owned(),
            format!(
                "CREATE TRIGGER hold AFTER {event} ON {table} WHEN {when} BEGIN \
                 SELECT count(*) FROM hold_rows a, hold_rows b, hold_rows c, hold_rows d; END"
            ),
        ],
        Backend::Postgres => vec![
            "CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_sleep(3600); RETURN NEW; END $$"
                .to_owned(),
            format!(
                "CREATE TRIGGER hold AFTER {event} ON {table} FOR EACH ROW WHEN ({when}) \
                 EXECUTE FUNCTION hold()"
            ),
        ],
    };
    let mut raw = sqlx::AnyConnection::connect(url).await.unwrap();
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut raw)
            .await
            .unwrap();
    }
    raw.close().await.unwrap();
}

/// Whether another connection is in a write transaction. Once the `activate` event is
/// committed, the only write the process has left is the activation transaction.
async fn write_in_progress(store: &Store, url: &str) -> bool {
    let mut raw = sqlx::AnyConnection::connect(url).await.unwrap();
    let busy = match store.backend() {
        Backend::Sqlite => {
            sqlx::query("PRAGMA busy_timeout = 0")
                .execute(&mut raw)
                .await
                .unwrap();
            match sqlx::query("BEGIN IMMEDIATE").execute(&mut raw).await {
                Ok(_) => {
                    sqlx::query("ROLLBACK").execute(&mut raw).await.unwrap();
                    false
                }
                Err(e) => {
                    assert!(e.to_string().contains("locked"), "{e}");
                    true
                }
            }
        }
        Backend::Postgres => {
            let (held,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relname = 'certificate_versions' \
                 AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()",
            )
            .fetch_one(&mut raw)
            .await
            .unwrap();
            held > 0
        }
    };
    raw.close().await.unwrap();
    busy
}

/// Removes the trigger. On PostgreSQL the killed client's backend is still sleeping in it: it
/// is terminated (its transaction rolls back), as the server would on noticing the lost client.
async fn release_store_hold(store: &Store, url: &str, hold: &StoreHold) {
    let mut raw = sqlx::AnyConnection::connect(url).await.unwrap();
    let drop = match store.backend() {
        Backend::Sqlite => "DROP TRIGGER hold".to_owned(),
        Backend::Postgres => {
            sqlx::query(
                "SELECT pg_terminate_backend(l.pid, 10000)::text FROM pg_locks l \
                 JOIN pg_class c ON c.oid = l.relation \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relname = $1 \
                 AND l.pid <> pg_backend_pid()",
            )
            .bind(hold.table)
            .fetch_all(&mut raw)
            .await
            .unwrap();
            format!("DROP TRIGGER hold ON {}", hold.table)
        }
    };
    sqlx::query(sqlx::AssertSqlSafe(drop))
        .execute(&mut raw)
        .await
        .unwrap();
    raw.close().await.unwrap();
}

/// Starts `stirling issue-once` for the entry against the sandbox.
fn issue_once(
    url: &str,
    key_file: &Path,
    tenant: &TenantId,
    cert: &CertificateId,
    running: &Running,
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_stirling"))
        .args(["issue-once", "--danger-allow-http", "--store", url])
        .arg("--master-key")
        .arg(key_file)
        .args(["--tenant", tenant.as_str(), "--certificate", cert.as_str()])
        .args(["--sti-pa", &running.base])
        .args([
            "--acme-directory",
            &format!("{}/acme/directory", running.base),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn stderr(child: Child) -> String {
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn master_key_file(dir: &Path) -> PathBuf {
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = dir.join("master.key");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    writeln!(
        file,
        "{}",
        base64::engine::general_purpose::STANDARD.encode(MASTER_KEY)
    )
    .unwrap();
    path
}

/// How many events of `step` with `outcome` the entry has.
async fn count_events(
    store: &Store,
    tenant: &TenantId,
    cert: &CertificateId,
    step: Step,
    outcome: &str,
) -> usize {
    store
        .list_events(tenant, cert, 1000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.step == step.as_str() && e.outcome.as_str() == outcome)
        .count()
}

// ---------------------------------------------------------------------------------------------
// The sandbox, the store and what the cases assert.

/// An 8 MiB tmpfs on a temporary directory, unmounted on drop: room for the migrated store
/// and one issuance with 16 KiB pages (its WAL holds a 16 KiB frame per page written).
struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mounting a tmpfs for the disk-full case needs root (CAP_SYS_ADMIN): {status}"
        );
        Self {
            path: dir.path().to_owned(),
            _dir: dir,
        }
    }

    /// Writes a ballast file until the disk refuses more; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path.join("ballast");
        let mut file = std::fs::File::create(&path).unwrap();
        for chunk in [64 * 1024, 4096, 1] {
            let bytes = vec![0u8; chunk];
            loop {
                match file.write(&bytes) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => {
                        assert_eq!(e.raw_os_error(), Some(28), "ENOSPC expected: {e}");
                        break;
                    }
                }
            }
        }
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// A tenant with one entry for the sandbox's demo account (SPC 1234, user `sandbox`).
async fn active(
    store: &Store,
    tenant: &TenantId,
    cert: &CertificateId,
) -> Option<CertificateVersion> {
    store.active_version(tenant, cert).await.unwrap()
}

/// The failed events as (step, error text), oldest first.
async fn failed_events(
    store: &Store,
    tenant: &TenantId,
    cert: &CertificateId,
) -> Vec<(String, String)> {
    let mut events = store.list_events(tenant, cert, 1000).await.unwrap();
    events.reverse();
    events
        .into_iter()
        .filter(|e| e.outcome == EventOutcome::Failed)
        .map(|e| (e.step, e.error_text.unwrap_or_default()))
        .collect()
}

/// The failed attempt left the store as it was: `first` the only version, still active.
async fn assert_unchanged(
    store: &Store,
    tenant: &TenantId,
    cert: &CertificateId,
    first: &CertificateVersion,
) {
    let versions = store.list_versions(tenant, cert).await.unwrap();
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert_eq!(&versions[0], first);
    assert_eq!(active(store, tenant, cert).await.as_ref(), Some(first));
}
