//! The SIP front end to end: an in-process `sip::Server` on loopback running
//! [`SipFront`], sipp (package `sip-tester`) as the SBC over UDP and TCP, and a real HTTPS x5u
//! server serving the test PKI's chain. Scenarios are in `tests/sipp/`; sipp's message trace
//! gives the test the response it received.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use passport::{Attestation, Claims, Dest, Ppt, Verstat};
use sip::{Server, ServerConfig};
use stirling::call_path::CallPath;
use stirling::directory::DirectoryHolder;
use stirling::sip_front::{SbcMode, SipFront, SipFrontConfig};
use stirling::verification::CallParties;
use stirling_test::{SippRun, TEST_TIME, headers};

mod support;

use support::{At, NOW, Setup, setup, tn};

impl Setup {
    /// Runs a front for one SBC at `source` in `mode`; returns its UDP and TCP addresses and
    /// the directory holder.
    async fn front(
        &self,
        source: &str,
        mode: SbcMode,
    ) -> (SocketAddr, SocketAddr, Arc<DirectoryHolder>) {
        self.front_with(SipFrontConfig::default(), source, mode)
            .await
    }

    /// Like [`Setup::front`] with front settings.
    async fn front_with(
        &self,
        config: SipFrontConfig,
        source: &str,
        mode: SbcMode,
    ) -> (SocketAddr, SocketAddr, Arc<DirectoryHolder>) {
        let holder = Arc::new(DirectoryHolder::new(self.directory(
            source,
            mode,
            self.signer("/cr/1234.pem"),
        )));
        let front = SipFront::new(
            config,
            CallPath {
                directory: holder.clone(),
                verifier: self.verifier.clone(),
                clock: Arc::new(At(NOW)),
                freshness_secs: 60,
                log: None,
            },
        );
        let config = ServerConfig {
            udp: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            tcp: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..ServerConfig::default()
        };
        let server = Server::bind(config, front).await.unwrap();
        let (udp, tcp) = (server.udp_addr().unwrap(), server.tcp_addr().unwrap());
        tokio::spawn(server.run());
        (udp, tcp, holder)
    }

    async fn verify(&self, identity: &str) -> stirling::verification::Verification {
        let (o, d) = (tn("12155550121"), tn("12155550131"));
        self.verifier
            .verify(
                &[identity],
                CallParties {
                    orig: Some(&o),
                    dest: Some(&d),
                },
            )
            .await
    }
}

/// Runs one call of `scenario` (in `tests/sipp/`) with sipp against `target`.
async fn sipp(
    scenario: &str,
    target: SocketAddr,
    transport: &str,
    keys: &[(&str, &str)],
) -> SippRun {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    let transport = transport.to_owned();
    let keys: Vec<(String, String)> = keys
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let keys: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        stirling_test::sipp(&path, target, &transport, &keys)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_over_udp_and_tcp() {
    let s = setup().await;
    let (udp, tcp, holder) = s.front("127.0.0.0/8", SbcMode::Both).await;
    for (target, t) in [(udp, "u1"), (tcp, "t1")] {
        let run = sipp("sign.xml", target, t, &[("orig", "+12155550121")]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        assert_eq!(
            headers(&msg, "Contact"),
            [format!("<sip:+12155550131@{target};user=phone>")],
            "{msg}"
        );
        let identity = headers(&msg, "Identity");
        assert_eq!(identity.len(), 1, "{msg}");
        assert!(
            identity[0].contains(&format!("info=<{}>", s.server.url("/cr/1234.pem"))),
            "{msg}"
        );
        let v = s.verify(&identity[0]).await;
        assert_eq!(v.verstat, Verstat::TnValidationPassed, "{:?}", v.failure);
        let claims = v.passport.unwrap().claims().clone();
        assert_eq!(claims.attest, Some(Attestation::A));
        assert_eq!(claims.origid.as_deref(), Some("origid-sipp-1"));
        assert_eq!(claims.iat, NOW, "no Date header: iat is our clock");

        // Anonymous: no telephone number to sign, the call goes on unsigned.
        let run = sipp("sign.xml", target, t, &[("orig", "anonymous")]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        assert!(headers(&msg, "Identity").is_empty(), "{msg}");
        assert_eq!(headers(&msg, "Contact").len(), 1, "{msg}");

        // Blocked by policy.
        let run = sipp("blocked.xml", target, t, &[]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 603");
        assert_eq!(
            headers(&msg, "Reason"),
            ["SIP;cause=603;text=\"sti-blocked\""],
            "{msg}"
        );
    }

    // A new certificate version is switched in for the next call.
    holder.replace(s.directory("127.0.0.0/8", SbcMode::Both, s.signer("/cr/1234-v2.pem")));
    let run = sipp("sign.xml", udp, "u1", &[("orig", "+12155550121")]).await;
    assert!(run.success, "{}", run.log);
    let msg = run.received("SIP/2.0 302");
    assert!(
        headers(&msg, "Identity")[0]
            .contains(&format!("info=<{}>", s.server.url("/cr/1234-v2.pem"))),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifies_over_udp_and_tcp() {
    let s = setup().await;
    let (udp, tcp, _) = s.front("127.0.0.1/32", SbcMode::Verify).await;
    let signer = s.signer("/cr/1234.pem");
    let claims = |iat| {
        Claims::shaken(
            Attestation::A,
            tn("12155550121"),
            Dest::tns(vec![tn("12155550131")]),
            iat,
            "origid-1".into(),
        )
    };
    let valid = signer
        .identity_header(Ppt::Shaken, &claims(TEST_TIME))
        .unwrap();
    let stale = signer
        .identity_header(Ppt::Shaken, &claims(TEST_TIME - 3600))
        .unwrap();
    // Flip one character in the middle of the signature.
    let sig_start = valid.find(';').unwrap() - 40;
    let mut tampered = valid.clone().into_bytes();
    tampered[sig_start] = if tampered[sig_start] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let tampered = String::from_utf8(tampered).unwrap();

    for (target, t) in [(udp, "u1"), (tcp, "t1")] {
        let run = sipp("verify.xml", target, t, &[("identity", &valid)]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        // No P-Asserted-Identity in the INVITE: built from From, tag dropped.
        let pai = headers(&msg, "P-Asserted-Identity");
        assert_eq!(pai.len(), 1, "{msg}");
        assert!(
            pai[0]
                .starts_with("\"sipp\" <sip:+12155550121;verstat=TN-Validation-Passed@127.0.0.1:")
                && pai[0].ends_with(";user=phone>"),
            "{msg}"
        );
        assert!(headers(&msg, "Reason").is_empty(), "{msg}");
        assert_eq!(
            headers(&msg, "X-Stirling-Attestation"),
            ["A; spc=1234"],
            "{msg}"
        );

        let run = sipp("verify.xml", target, t, &[("identity", &tampered)]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        let pai = headers(&msg, "P-Asserted-Identity");
        assert!(pai[0].contains(";verstat=TN-Validation-Failed@"), "{msg}");
        assert_eq!(
            headers(&msg, "Reason"),
            ["SIP;cause=438;text=\"Invalid Identity Header\""],
            "{msg}"
        );
        assert!(headers(&msg, "X-Stirling-Attestation").is_empty(), "{msg}");

        let run = sipp("verify.xml", target, t, &[("identity", &stale)]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        let pai = headers(&msg, "P-Asserted-Identity");
        assert!(pai[0].contains(";verstat=No-TN-Validation@"), "{msg}");
        assert_eq!(
            headers(&msg, "Reason"),
            ["SIP;cause=403;text=\"Stale Date\""],
            "{msg}"
        );

        // No Identity: the received P-Asserted-Identity gets No-TN-Validation, no Reason.
        let run = sipp("sign.xml", target, t, &[("orig", "+12155550121")]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 302");
        assert_eq!(
            headers(&msg, "P-Asserted-Identity"),
            ["\"Caller\" <sip:+12155550121;verstat=No-TN-Validation@127.0.0.1;user=phone>"],
            "{msg}"
        );
        assert!(headers(&msg, "Reason").is_empty(), "{msg}");
        assert!(headers(&msg, "Identity").is_empty(), "{msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_source_is_forbidden_over_udp_and_tcp() {
    let s = setup().await;
    // sipp sends from 127.0.0.1; the only SBC is 127.0.0.2.
    let (udp, tcp, _) = s.front("127.0.0.2/32", SbcMode::Both).await;
    for (target, t) in [(udp, "u1"), (tcp, "t1")] {
        let run = sipp("forbidden.xml", target, t, &[]).await;
        assert!(run.success, "{t}:\n{}", run.log);
        let msg = run.received("SIP/2.0 403");
        assert!(headers(&msg, "Identity").is_empty(), "{msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_x5u_is_436_and_a_rejecting_tenant_answers_with_the_code() {
    let s = setup().await;
    // An x5u the fetcher refuses to reach (a port outside 443, 8443 and the test's own).
    let unreachable = s
        .signer_at("https://127.0.0.1:1/cr/1234.pem")
        .identity_header(
            Ppt::Shaken,
            &Claims::shaken(
                Attestation::A,
                tn("12155550121"),
                Dest::tns(vec![tn("12155550131")]),
                NOW,
                "origid-1".into(),
            ),
        )
        .unwrap();
    let (udp, _, holder) = s.front("127.0.0.1/32", SbcMode::Verify).await;
    let run = sipp("verify.xml", udp, "u1", &[("identity", &unreachable)]).await;
    assert!(run.success, "{}", run.log);
    let msg = run.received("SIP/2.0 302");
    assert_eq!(
        headers(&msg, "Reason"),
        ["SIP;cause=436;text=\"Bad Identity Info\""],
        "{msg}"
    );
    assert!(
        headers(&msg, "P-Asserted-Identity")[0].contains(";verstat=No-TN-Validation@"),
        "{msg}"
    );

    // The tenant rejects failed verifications: the answer is the failure's own code.
    let mut directory = s.directory("127.0.0.1/32", SbcMode::Verify, s.signer("/cr/1234.pem"));
    directory.set_reject_failed_verification(true);
    holder.replace(directory);
    let run = sipp(
        "verify_rejected.xml",
        udp,
        "u1",
        &[("identity", &unreachable)],
    )
    .await;
    assert!(run.success, "{}", run.log);
    let msg = run.received("SIP/2.0 436");
    assert_eq!(
        headers(&msg, "Reason"),
        ["SIP;cause=436;text=\"Bad Identity Info\""],
        "{msg}"
    );
    assert!(headers(&msg, "Contact").is_empty(), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_attestation_indicator_and_x_identity() {
    let s = setup().await;
    let config = SipFrontConfig {
        x_identity: true,
        trust_attestation_indicator: true,
        ..SipFrontConfig::default()
    };
    let (udp, _, _) = s.front_with(config, "127.0.0.1/32", SbcMode::Sign).await;
    let run = sipp(
        "sign_indicated.xml",
        udp,
        "u1",
        &[("orig", "+12155550121"), ("attest", "B")],
    )
    .await;
    assert!(run.success, "{}", run.log);
    let msg = run.received("SIP/2.0 302");
    let identity = headers(&msg, "Identity");
    assert_eq!(headers(&msg, "X-Identity"), identity, "{msg}");
    let v = s.verify(&identity[0]).await;
    assert_eq!(v.passport.unwrap().claims().attest, Some(Attestation::B));

    // Not trusted (the default): the policy's A stands whatever the SBC says.
    let (udp, _, _) = s.front("127.0.0.1/32", SbcMode::Sign).await;
    let run = sipp(
        "sign_indicated.xml",
        udp,
        "u1",
        &[("orig", "+12155550121"), ("attest", "C")],
    )
    .await;
    assert!(run.success, "{}", run.log);
    let msg = run.received("SIP/2.0 302");
    assert!(headers(&msg, "X-Identity").is_empty(), "{msg}");
    let v = s.verify(&headers(&msg, "Identity")[0]).await;
    assert_eq!(v.passport.unwrap().claims().attest, Some(Attestation::A));
}

/// INVITEs the SIP server answered itself get their SIP Messages record too: a 503 under
/// overload (the handler never saw the INVITE) and a 500 for a handler that failed or ran out
/// of time, as `sip::Handler::completed` reports them (the `sip` crate's transaction tests
/// show the server reporting both). They are errors of the SBC's tenant, with a reason; a
/// 500's record dates from when the handler was called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invites_the_server_answered_itself_are_logged() {
    use sip::{Handler as _, Outcome, StatusCode, Transport};
    use stirling::config::MessageLogConfig;
    use stirling::message_log::MessageLog;
    use stirling::metrics::Metrics;
    use stirling::store::{CallResult, Service, SipMessageFilter, Store, TenantScope};

    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("log.db").display());
    let key = Arc::new(stirling::secrets::MasterKey::from_bytes(&[7; 32]).unwrap());
    let store = Store::connect(&url, 2, key).await.unwrap();
    store.migrate().await.unwrap();
    let (log, tasks) = MessageLog::start(
        &MessageLogConfig::default(),
        store.clone(),
        Arc::new(At(NOW)),
        Arc::new(Metrics::new()),
    );
    let directory = s.directory("127.0.0.1/32", SbcMode::Sign, s.signer("/cr/1234.pem"));
    let tenant = directory
        .route("127.0.0.1".parse().unwrap(), "127.0.0.1")
        .unwrap()
        .tenant
        .clone();
    let front = SipFront::new(
        SipFrontConfig::default(),
        CallPath {
            directory: Arc::new(DirectoryHolder::new(directory)),
            verifier: s.verifier.clone(),
            clock: Arc::new(At(NOW)),
            freshness_secs: 60,
            log: Some(log),
        },
    );
    let invite = |call_id: &str| {
        sip::Request::parse(bytes::Bytes::from(format!(
            "INVITE sip:+12155550131@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{}\r\n\
             From: <sip:+12155550121@127.0.0.1>;tag=1\r\n\
             To: <sip:+12155550131@127.0.0.1>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\n\
             Max-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n",
            call_id.len()
        )))
        .unwrap()
    };
    let sbc: SocketAddr = "127.0.0.1:5070".parse().unwrap();
    let busy = invite("busy@test");
    let sent = busy
        .respond(StatusCode::SERVICE_UNAVAILABLE)
        .build()
        .unwrap();
    front.completed(&busy, &sent, Outcome::Overloaded, sbc, Transport::Udp);
    let stuck = invite("stuck@test");
    let sent = stuck
        .respond(StatusCode::SERVER_INTERNAL_ERROR)
        .build()
        .unwrap();
    let after = std::time::Duration::from_secs(10);
    front.completed(
        &stuck,
        &sent,
        Outcome::Failed { after },
        sbc,
        Transport::Udp,
    );
    drop(front);
    tasks.shutdown().await;

    let scope = TenantScope::Tenant(tenant);
    let page = store
        .list_sip_messages(&scope, &SipMessageFilter::default(), None, 10)
        .await
        .unwrap();
    let mut logged: Vec<_> = page
        .messages
        .iter()
        .map(|m| {
            (
                m.call_id.as_str(),
                m.status_code,
                m.result,
                m.service,
                m.reason.as_deref(),
                m.sbc_name.as_deref(),
                m.latency_us,
                m.received_at.as_secs(),
            )
        })
        .collect();
    logged.sort();
    assert_eq!(
        logged,
        [
            (
                "busy@test",
                503,
                CallResult::Error,
                Service::Signing,
                Some("overloaded (sip.max_in_flight)"),
                Some("sbc-1"),
                0,
                NOW
            ),
            (
                "stuck@test",
                500,
                CallResult::Error,
                Service::Signing,
                Some("no answer after 10000 ms"),
                Some("sbc-1"),
                10_000_000,
                NOW - 10
            ),
        ]
    );
    let detail = store
        .sip_message(&scope, &page.messages[0].id)
        .await
        .unwrap();
    assert!(
        detail.message.raw_response.text.starts_with("SIP/2.0 50"),
        "{}",
        detail.message.raw_response.text
    );
}
