//! The trust list against an in-test HTTPS STI-PA: CA list and CRL refresh, refusals that
//! keep the held state, last good persistence, and the CRL policy.
#![allow(clippy::panic, clippy::unwrap_used)]

mod pa;

use std::sync::Arc;
use std::time::Duration;

use pa::{PaPki, PaServer, TestClock, TestResult, USER, at, password};
use pki::{CaListError, CertificateChain, ChainError};
use sti::{
    CrlPolicy, CrlSigner, CrlUnavailable, NoUsableCaList, NoUsableCrl, Revocation, Secret,
    StiPaError, TrustList, TrustListConfig, TrustListError, TrustStore,
};
use stirling_test::{CertOptions, CrlEntry, TEST_TIME, TestCert};

struct Setup {
    pki: PaPki,
    server: PaServer,
    clock: Arc<TestClock>,
}

impl Setup {
    async fn new() -> Self {
        let pki = PaPki::new();
        let server = PaServer::start().await;
        server.serve_list(pki.good_list(&server, 1), pki.list_signer.pem());
        server.serve_crl(Some(pki.crl(&server.crl_url(), Vec::new())));
        Self {
            pki,
            server,
            clock: TestClock::at(TEST_TIME),
        }
    }

    fn config(&self) -> TrustListConfig {
        let mut config =
            TrustListConfig::new(USER, password(), self.pki.roots(), self.server.crl_url());
        config.crl_signer = CrlSigner::Pem(self.pki.crl_signer.pem().into_bytes());
        config
    }

    fn list_with(&self, config: TrustListConfig, policy: CrlPolicy) -> Arc<TrustList> {
        Arc::new(TrustList::new(
            self.server.client(),
            config,
            self.clock.clone(),
            Arc::new(TrustStore::new(policy)),
        ))
    }

    fn list(&self) -> Arc<TrustList> {
        self.list_with(self.config(), CrlPolicy::Soft)
    }

    fn leaf_chain(&self) -> CertificateChain {
        CertificateChain::from_pem(self.pki.sti_ca.chain_pem().as_bytes()).unwrap()
    }
}

#[tokio::test]
async fn refresh_installs_anchors_that_verify_a_real_chain() -> TestResult {
    let s = Setup::new().await;
    let list = s.list();
    let store = list.store().clone();
    assert!(store.current().anchors().is_empty());
    assert!(
        s.leaf_chain()
            .verify(store.current().anchors(), at(TEST_TIME), None)
            .is_err()
    );

    let done = list.refresh_ca_list().await?;
    assert_eq!((done.sequence, done.anchors, done.skipped), (1, 1, 0));
    assert_eq!(done.exp, TEST_TIME + 30 * 86_400);
    let state = store.current();
    let verified = s
        .leaf_chain()
        .verify(state.anchors(), at(TEST_TIME), None)?;
    assert_eq!(verified.spc().as_str(), "1234");
    assert_eq!(state.ca_list().map(|l| l.sequence()), Some(1));
    assert_eq!(store.epoch(), 1);
    // One login, one list, one signer fetch; the token went raw, without "Bearer ".
    assert_eq!(
        (
            s.server.hits("login"),
            s.server.hits("ca-list"),
            s.server.hits("signer")
        ),
        (1, 1, 1)
    );
    assert_eq!(
        s.server.state.seen.lock().unwrap().authorization,
        vec![pa::TOKEN.to_owned()]
    );
    Ok(())
}

#[tokio::test]
async fn wrong_password_is_unauthorized_and_not_retried() -> TestResult {
    let s = Setup::new().await;
    let mut config = s.config();
    config.password = Secret::new("not the password");
    // With no back-off for other failures, only the 401 rule keeps the scheduler quiet.
    config.retry_min = Duration::ZERO;
    config.retry_max = Duration::ZERO;
    let list = s.list_with(config, CrlPolicy::Soft);
    let result = list.refresh_ca_list().await;
    assert!(
        matches!(result, Err(TrustListError::StiPa(StiPaError::Unauthorized))),
        "{result:?}"
    );
    assert_eq!((s.server.hits("login"), s.server.hits("ca-list")), (1, 0));
    assert_eq!(list.store().epoch(), 0);

    // The scheduler: after the refused login it waits the patient interval (24 h), so the
    // login count stays at two (this one plus the direct call) however long we watch.
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = list.clone().spawn(shutdown);
    while s.server.hits("login") < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Let the task run its CRL refresh and go to sleep.
    while s.server.hits("crl") < 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Two hours later on the test clock, past any back-off but the 24 h one, and longer in
    // real time than the shortest retry sleep the scheduler could take (1 s).
    s.clock.set(TEST_TIME + 2 * 3600);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(s.server.hits("login"), 2);
    stop.send(true)?;
    task.await?;
    Ok(())
}

#[tokio::test]
async fn signer_from_another_root_is_refused_and_the_list_kept() -> TestResult {
    let s = Setup::new().await;
    let list = s.list();
    list.refresh_ca_list().await?;
    let before = list.store().current();

    let rogue_root = TestCert::self_signed(&CertOptions::root("STI-PA Root Certificate"));
    let rogue_signer = rogue_root.issue(&CertOptions::crl_signer("STI-PA CA List Signer"));
    let other_ca = TestCert::self_signed(&CertOptions::root("Rogue SHAKEN Root"));
    let jws = s.pki.ca_list(
        &rogue_signer,
        &s.server.url("/download/v1/certificate/signer.crt"),
        2,
        TEST_TIME + 86_400,
        &[&other_ca],
    );
    s.server.serve_list(jws, rogue_signer.pem());
    let result = list.refresh_ca_list().await;
    assert!(
        matches!(result, Err(TrustListError::CaListSigner(_))),
        "{result:?}"
    );
    let after = list.store().current();
    assert!(Arc::ptr_eq(&before, &after));
    assert_eq!(after.ca_list().map(|l| l.sequence()), Some(1));
    s.leaf_chain()
        .verify(after.anchors(), at(TEST_TIME), None)?;
    Ok(())
}

#[tokio::test]
async fn list_signed_by_a_different_key_than_its_x5u_is_refused() -> TestResult {
    let s = Setup::new().await;
    let list = s.list();
    // Signed by the CRL signer, but x5u names the (valid) list signer chain.
    let jws = s.pki.ca_list(
        &s.pki.crl_signer,
        &s.server.url("/download/v1/certificate/signer.crt"),
        1,
        TEST_TIME + 86_400,
        &[&s.pki.sti_ca.root],
    );
    s.server.serve_list(jws, s.pki.list_signer.pem());
    let result = list.refresh_ca_list().await;
    assert!(
        matches!(result, Err(TrustListError::CaList(CaListError::Jws(_)))),
        "{result:?}"
    );
    assert_eq!(list.store().epoch(), 0);
    Ok(())
}

#[tokio::test]
async fn expired_list_is_refused() {
    let s = Setup::new().await;
    let jws = s.pki.ca_list(
        &s.pki.list_signer,
        &s.server.url("/download/v1/certificate/signer.crt"),
        1,
        TEST_TIME - 1,
        &[&s.pki.sti_ca.root],
    );
    s.server.serve_list(jws, s.pki.list_signer.pem());
    let list = s.list();
    let result = list.refresh_ca_list().await;
    assert!(
        matches!(
            result,
            Err(TrustListError::CaList(CaListError::Expired { exp, now }))
                if exp == TEST_TIME - 1 && now == TEST_TIME
        ),
        "{result:?}"
    );
    assert!(list.store().current().anchors().is_empty());
}

#[tokio::test]
async fn rollback_to_a_lower_sequence_is_refused() -> TestResult {
    let s = Setup::new().await;
    let list = s.list();
    s.server
        .serve_list(s.pki.good_list(&s.server, 5), s.pki.list_signer.pem());
    list.refresh_ca_list().await?;
    s.server
        .serve_list(s.pki.good_list(&s.server, 4), s.pki.list_signer.pem());
    let result = list.refresh_ca_list().await;
    assert!(
        matches!(
            result,
            Err(TrustListError::CaList(CaListError::Rollback {
                offered: 4,
                held: 5
            }))
        ),
        "{result:?}"
    );
    assert_eq!(
        list.store().current().ca_list().map(|l| l.sequence()),
        Some(5)
    );
    // The same sequence again is accepted (an unchanged list re-fetched).
    s.server
        .serve_list(s.pki.good_list(&s.server, 5), s.pki.list_signer.pem());
    list.refresh_ca_list().await?;
    Ok(())
}

#[tokio::test]
async fn last_good_is_reloaded_after_a_restart_without_network() -> TestResult {
    let s = Setup::new().await;
    let dir = tempfile::tempdir()?;
    let mut config = s.config();
    config.state_dir = Some(dir.path().to_owned());
    let list = s.list_with(config, CrlPolicy::Strict);
    list.refresh_ca_list().await?;
    list.refresh_crl().await?;
    // Written by rename: only the two final files, no temporary left behind.
    let mut files: Vec<String> = std::fs::read_dir(dir.path())?
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["ca-list.json", "crl.json"]);

    // "Restart": a new store and list, and the STI-PA is gone.
    let client = s.server.client();
    let addr = s.server.stop();
    let mut config = TrustListConfig::new(
        USER,
        password(),
        s.pki.roots(),
        format!("https://{addr}/download/v1/crl"),
    );
    config.state_dir = Some(dir.path().to_owned());
    config.crl_signer = CrlSigner::Pem(s.pki.crl_signer.pem().into_bytes());
    let store = Arc::new(TrustStore::new(CrlPolicy::Strict));
    let restarted = TrustList::new(client, config, s.clock.clone(), store.clone());
    let result = restarted.refresh_ca_list().await;
    assert!(
        matches!(result, Err(TrustListError::StiPa(StiPaError::Transport(_)))),
        "{result:?}"
    );
    assert!(matches!(
        store.revocation(at(TEST_TIME)),
        Err(NoUsableCrl {
            reason: CrlUnavailable::Missing
        })
    ));

    let loaded = restarted.load_last_good().await?;
    assert_eq!(loaded.ca_list.map(|l| l.sequence), Some(1));
    assert!(loaded.crl.is_some());
    let state = store.current();
    let Ok(Revocation::Checked(crl)) = store.revocation(at(TEST_TIME)) else {
        panic!("crl not loaded");
    };
    s.leaf_chain()
        .verify(state.anchors(), at(TEST_TIME), Some(&crl))?;
    Ok(())
}

#[tokio::test]
async fn last_good_that_expired_meanwhile_is_refused() -> TestResult {
    let s = Setup::new().await;
    let dir = tempfile::tempdir()?;
    let mut config = s.config();
    config.state_dir = Some(dir.path().to_owned());
    s.list_with(config, CrlPolicy::Soft)
        .refresh_ca_list()
        .await?;

    s.clock.set(TEST_TIME + 31 * 86_400);
    let mut config = s.config();
    config.state_dir = Some(dir.path().to_owned());
    let restarted = s.list_with(config, CrlPolicy::Soft);
    let result = restarted.load_last_good().await;
    assert!(
        matches!(&result, Err(TrustListError::LastGood { reason, .. }) if reason.contains("expired")),
        "{result:?}"
    );
    assert!(restarted.store().current().anchors().is_empty());
    Ok(())
}

#[tokio::test]
async fn corrupt_last_good_is_a_clear_error() -> TestResult {
    let s = Setup::new().await;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("ca-list.json");
    let cases: [&[u8]; 4] = [
        b"\x00\xffgarbage",
        b"{\"caList\": 5}",
        b"{\"caList\": \"a.b.c\", \"signerChain\": \"!!!\"}",
        b"{\"caList\": \"not-a-jws\", \"signerChain\": \"\"}",
    ];
    for corrupt in cases {
        std::fs::write(&file, corrupt)?;
        let mut config = s.config();
        config.state_dir = Some(dir.path().to_owned());
        let list = s.list_with(config, CrlPolicy::Soft);
        let result = list.load_last_good().await;
        match result {
            Err(TrustListError::LastGood { path, .. }) => assert_eq!(path, file),
            other => panic!("{other:?}"),
        }
        assert_eq!(list.store().epoch(), 0);
    }

    // A saved list whose signature was tampered with after saving.
    let mut config = s.config();
    config.state_dir = Some(dir.path().to_owned());
    std::fs::remove_file(&file)?;
    s.list_with(config, CrlPolicy::Soft)
        .refresh_ca_list()
        .await?;
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&file)?)?;
    let jws = saved["caList"].as_str().unwrap();
    let tampered = format!("{}AAAA", &jws[..jws.len() - 4]);
    let body = serde_json::json!({"caList": tampered, "signerChain": saved["signerChain"]});
    std::fs::write(&file, body.to_string())?;
    let mut config = s.config();
    config.state_dir = Some(dir.path().to_owned());
    let result = s.list_with(config, CrlPolicy::Soft).load_last_good().await;
    assert!(
        matches!(result, Err(TrustListError::LastGood { .. })),
        "{result:?}"
    );
    Ok(())
}

#[tokio::test]
async fn missing_last_good_loads_nothing() -> TestResult {
    let s = Setup::new().await;
    let dir = tempfile::tempdir()?;
    let mut config = s.config();
    config.state_dir = Some(dir.path().join("not-yet"));
    let loaded = s
        .list_with(config, CrlPolicy::Soft)
        .load_last_good()
        .await?;
    assert_eq!(loaded, sti::LastGood::default());
    Ok(())
}

#[tokio::test]
async fn crl_refresh_revokes_and_bumps_the_epoch() -> TestResult {
    let s = Setup::new().await;
    let list = s.list();
    list.refresh_ca_list().await?;
    let epoch = list.store().epoch();
    s.server.serve_crl(Some(s.pki.crl(
        &s.server.crl_url(),
        vec![CrlEntry::for_cert(&s.pki.sti_ca.leaf)],
    )));
    let done = list.refresh_crl().await?;
    assert_eq!(done.entries, 1);
    assert_eq!(
        done.next_update.map(|t| t.as_secs()),
        Some(TEST_TIME + 86_400)
    );
    assert_eq!(list.store().epoch(), epoch + 1);
    let Ok(Revocation::Checked(crl)) = list.store().revocation(at(TEST_TIME)) else {
        panic!("no crl");
    };
    let result = s
        .leaf_chain()
        .verify(list.store().current().anchors(), at(TEST_TIME), Some(&crl));
    assert!(
        matches!(result, Err(ChainError::Revoked { .. })),
        "{result:?}"
    );
    Ok(())
}

#[tokio::test]
async fn crl_signer_outside_the_sti_pa_root_and_wrong_url_are_refused() -> TestResult {
    let s = Setup::new().await;
    // Signed by a CRL signer of another root, configured as the signer.
    let rogue_root = TestCert::self_signed(&CertOptions::root("STI-PA Root Certificate"));
    let rogue = rogue_root.issue(&CertOptions::crl_signer("STI-PA CRL"));
    let mut crl = stirling_test::IndirectCrl::new(Vec::new());
    crl.distribution_point = Some(s.server.crl_url());
    s.server.serve_crl(Some(crl.sign(&rogue)));
    let mut config = s.config();
    config.crl_signer = CrlSigner::Pem(rogue.pem().into_bytes());
    let list = s.list_with(config, CrlPolicy::Soft);
    let result = list.refresh_crl().await;
    assert!(matches!(result, Err(TrustListError::Crl(_))), "{result:?}");

    // A genuine CRL naming another distribution point.
    s.server
        .serve_crl(Some(s.pki.crl("https://elsewhere.example/crl", Vec::new())));
    let result = s.list().refresh_crl().await;
    assert!(
        matches!(result, Err(TrustListError::CrlDistributionPoint { .. })),
        "{result:?}"
    );
    Ok(())
}

#[tokio::test]
async fn crl_signer_may_be_the_ca_list_signer() -> TestResult {
    let s = Setup::new().await;
    let mut config = s.config();
    config.crl_signer = CrlSigner::CaListSigner;
    let list = s.list_with(config, CrlPolicy::Soft);
    assert!(matches!(
        list.refresh_crl().await,
        Err(TrustListError::CrlSignerUnknown)
    ));
    let mut crl = stirling_test::IndirectCrl::new(Vec::new());
    crl.distribution_point = Some(s.server.crl_url());
    s.server.serve_crl(Some(crl.sign(&s.pki.list_signer)));
    list.refresh_ca_list().await?;
    list.refresh_crl().await?;
    Ok(())
}

#[tokio::test]
async fn crl_endpoint_down_soft_verifies_without_strict_refuses() -> TestResult {
    let s = Setup::new().await;
    s.server.serve_crl(None);
    let soft = s.list_with(s.config(), CrlPolicy::Soft);
    let strict = s.list_with(s.config(), CrlPolicy::Strict);
    for list in [&soft, &strict] {
        list.refresh_ca_list().await?;
        let result = list.refresh_crl().await;
        assert!(
            matches!(
                result,
                Err(TrustListError::StiPa(StiPaError::Status { status: 503 }))
            ),
            "{result:?}"
        );
    }
    let soft_revocation = soft.store().revocation(at(TEST_TIME))?;
    assert!(matches!(
        soft_revocation,
        Revocation::Unchecked(CrlUnavailable::Missing)
    ));
    s.leaf_chain()
        .verify(soft.store().current().anchors(), at(TEST_TIME), None)?;
    assert_eq!(
        strict.store().revocation(at(TEST_TIME)).unwrap_err(),
        NoUsableCrl {
            reason: CrlUnavailable::Missing
        }
    );

    // Once fetched, a CRL past its nextUpdate is stale: soft reports it, strict refuses.
    s.server
        .serve_crl(Some(s.pki.crl(&s.server.crl_url(), Vec::new())));
    soft.refresh_crl().await?;
    strict.refresh_crl().await?;
    let later = at(TEST_TIME + 2 * 86_400);
    let stale = CrlUnavailable::Stale {
        next_update: TEST_TIME + 86_400,
    };
    assert!(matches!(soft.store().revocation(later)?, Revocation::Unchecked(r) if r == stale));
    assert_eq!(
        strict.store().revocation(later).unwrap_err(),
        NoUsableCrl { reason: stale }
    );
    Ok(())
}

#[tokio::test]
async fn older_crl_is_refused() -> TestResult {
    let s = Setup::new().await;
    let list = s.list();
    list.refresh_crl().await?;
    let mut older = stirling_test::IndirectCrl::new(Vec::new());
    older.distribution_point = Some(s.server.crl_url());
    older.this_update = TEST_TIME - 3 * 86_400;
    s.server.serve_crl(Some(older.sign(&s.pki.crl_signer)));
    let result = list.refresh_crl().await;
    assert!(
        matches!(result, Err(TrustListError::CrlRollback { offered, held })
            if offered == TEST_TIME - 3 * 86_400 && held == TEST_TIME - 86_400),
        "{result:?}"
    );
    Ok(())
}

#[tokio::test]
async fn config_and_errors_do_not_leak_the_password() {
    let s = Setup::new().await;
    let config = s.config();
    let debug = format!("{config:?}");
    assert!(!debug.contains(pa::PASSWORD), "{debug}");
    assert!(debug.contains("Secret(<redacted>)"));
    let mut config = s.config();
    config.password = Secret::new("leaky-password-123");
    let list = s.list_with(config, CrlPolicy::Soft);
    let debug = format!("{list:?}");
    assert!(!debug.contains("leaky-password-123"));
    let error = list.refresh_ca_list().await.unwrap_err();
    assert!(!format!("{error} {error:?}").contains("leaky-password-123"));
}

#[tokio::test]
async fn anchors_are_withheld_before_the_first_list_and_after_exp() -> TestResult {
    let s = Setup::new().await;
    let list = s.list();
    let store = list.store();
    assert_eq!(
        store.anchors(at(TEST_TIME)).unwrap_err(),
        NoUsableCaList::Missing
    );
    let done = list.refresh_ca_list().await?;
    let anchors = store.anchors(at(done.exp))?;
    s.leaf_chain().verify(&anchors, at(TEST_TIME), None)?;
    assert_eq!(
        store.anchors(at(done.exp + 1)).unwrap_err(),
        NoUsableCaList::Expired { exp: done.exp }
    );
    Ok(())
}

#[tokio::test]
async fn unchanged_list_keeps_the_epoch_a_new_one_bumps_it() -> TestResult {
    let s = Setup::new().await;
    let list = s.list();
    list.refresh_ca_list().await?;
    assert_eq!(list.store().epoch(), 1);
    list.refresh_ca_list().await?;
    assert_eq!(list.store().epoch(), 1);
    s.server
        .serve_list(s.pki.good_list(&s.server, 2), s.pki.list_signer.pem());
    list.refresh_ca_list().await?;
    assert_eq!(list.store().epoch(), 2);
    Ok(())
}

#[tokio::test]
async fn scheduler_installs_list_and_crl_then_stops_on_shutdown() -> TestResult {
    let s = Setup::new().await;
    let list = s.list_with(s.config(), CrlPolicy::Strict);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = list.clone().spawn(shutdown);
    let store = list.store().clone();
    while !(store.current().ca_list().is_some() && store.current().crl().is_some()) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(matches!(
        store.revocation(at(TEST_TIME))?,
        Revocation::Checked(_)
    ));
    s.leaf_chain()
        .verify(store.current().anchors(), at(TEST_TIME), None)?;
    stop.send(true)?;
    task.await?;
    Ok(())
}

#[tokio::test]
async fn pem_crl_is_accepted_like_der() -> TestResult {
    let s = Setup::new().await;
    let der = s.pki.crl(
        &s.server.crl_url(),
        vec![CrlEntry::for_cert(&s.pki.sti_ca.leaf)],
    );
    s.server
        .serve_crl(Some(stirling_test::crl_pem(&der).into_bytes()));
    let done = s.list().refresh_crl().await?;
    assert_eq!(done.entries, 1);
    Ok(())
}

#[tokio::test]
async fn der_signer_certificate_is_accepted() -> TestResult {
    let s = Setup::new().await;
    s.server.state.served.lock().unwrap().signer_der = Some(s.pki.list_signer.der().to_vec());
    let done = s.list().refresh_ca_list().await?;
    assert_eq!(done.sequence, 1);
    Ok(())
}

#[tokio::test]
async fn crl_signer_may_be_fetched_from_a_url() -> TestResult {
    let s = Setup::new().await;
    let mut crl = stirling_test::IndirectCrl::new(Vec::new());
    crl.distribution_point = Some(s.server.crl_url());
    s.server.serve_crl(Some(crl.sign(&s.pki.list_signer)));
    let mut config = s.config();
    config.crl_signer = CrlSigner::Url(s.server.url("/download/v1/certificate/signer.crt"));
    let list = s.list_with(config, CrlPolicy::Strict);
    list.refresh_crl().await?;
    assert_eq!(s.server.hits("signer"), 1);
    assert!(matches!(
        list.store().revocation(at(TEST_TIME))?,
        Revocation::Checked(_)
    ));
    Ok(())
}
