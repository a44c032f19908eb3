//! A failed-generation alert travels over a real SMTP socket to the tenant's System Email.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::time::Duration;

use passport::UnixTime;
use stirling::lifecycle::alert::{Alert, GenerationFailure, Mailer, SmtpConfig, SmtpSecurity};
use stirling_test::SmtpSink;

fn t(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

#[tokio::test]
async fn the_failure_mail_is_received_with_entry_step_error_expiry_and_next_step() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::new(&SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.addr().port(),
        security: SmtpSecurity::DangerPlaintext,
        username: None,
        password: None,
        from: "Stirling <stirling@sp.example>".into(),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let alert = Alert::Failed(GenerationFailure {
        entry_name: "Main trunk".into(),
        spid: "709J".into(),
        step: "acme-challenge".into(),
        error: "urn:ietf:params:acme:error:unauthorized: fingerprint mismatch".into(),
        current_expiry: Some(t(1_767_225_600)),
        next_attempt: Some(t(1_767_000_000)),
    });
    mailer.send("noc@acme.example", &alert).await.unwrap();

    let mails = sink.received();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "stirling@sp.example");
    assert_eq!(mail.to, ["noc@acme.example"]);
    assert!(mail.data.contains("To: noc@acme.example"), "{}", mail.data);
    assert!(
        mail.data.contains(
            "Subject: Stirling: certificate generation failed for Main trunk (SPID 709J)"
        ),
        "{}",
        mail.data
    );
    for needle in [
        "Entry:  Main trunk",
        "SPID:   709J",
        "Step:   acme-challenge",
        "fingerprint mismatch",
        "until 2026-01-01T00:00:00Z",
        "try again at 2025-12-29T09:20:00Z",
    ] {
        assert!(
            mail.data.contains(needle),
            "missing {needle:?} in\n{}",
            mail.data
        );
    }

    let bad = mailer.send("not an address", &alert).await;
    assert!(bad.is_err());
}

#[tokio::test]
async fn an_unreachable_relay_is_an_error_not_a_hang() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mailer = Mailer::new(&SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::DangerPlaintext,
        username: None,
        password: None,
        from: "stirling@sp.example".into(),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let alert = Alert::Recovered {
        entry_name: "Main".into(),
        spid: "709J".into(),
        new_expiry: t(1_767_225_600),
    };
    assert!(mailer.send("noc@acme.example", &alert).await.is_err());
}
