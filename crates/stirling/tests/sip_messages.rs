#![allow(clippy::panic, clippy::unwrap_used)]
//! The SIP Messages log on both backends: store queries (scope, filters, pages, detail,
//! pruning, dashboard counts), the background writer (batches, chains stored once, raw bound,
//! flush on shutdown, drops when the store is slow), and the `/api/v1/sip-messages` routes.

#[macro_use]
mod backends;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use passport::{
    Attestation, Claims, Dest, Ppt, Signer, SigningKey, TelephoneNumber, UnixTime, Verstat,
};
use rustls_pki_types::CertificateDer;
use serde_json::Value;
use sqlx::{Connection as _, Row as _};
use sti::Clock;
use stirling::config::MessageLogConfig;
use stirling::http::AppState;
use stirling::lifecycle::scheduler::RenewNow;
use stirling::message_log::{LoggedChain, MessageLog, MessageRecord, prune_once};
use stirling::metrics::Metrics;
use stirling::store::{
    Backend, CallCount, CallResult, MessageTransport, NewTenant, NewVersion, RawMessage, Service,
    SipMessage, SipMessageFilter, SipMessageId, SipMessageSummary, Store, StoreError, TenantId,
    TenantScope,
};
use stirling_test::TestPki;
use tower::ServiceExt as _;

use backends::Ctx;

on_both_backends!(
    messages_are_listed_newest_first_and_scoped,
    filters_narrow_the_list,
    number_filter_works_with_and_without_the_number_indexes,
    pages_follow_the_cursor,
    a_failing_batch_writes_nothing,
    detail_is_scoped_and_carries_raw_text,
    pruning_deletes_old_messages_in_batches_and_orphan_chains,
    call_counts_are_by_service_and_result_since,
    writer_flushes_what_it_holds_on_shutdown,
    writer_writes_a_partial_batch_after_the_interval,
    writer_stores_each_chain_once_and_cuts_raw_messages,
    api_lists_with_filters_and_refuses_bad_ones,
    api_shows_a_verification_with_passport_and_chain,
    api_shows_a_signing_with_its_certificate_version,
);

const NOW: u64 = 1_800_000_000;

fn t(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

#[derive(Debug)]
struct At(UnixTime);

impl Clock for At {
    fn now(&self) -> UnixTime {
        self.0
    }
}

fn tn(text: &str) -> TelephoneNumber {
    TelephoneNumber::canonicalize(text).unwrap()
}

/// A stored message as the writer would make it.
fn message(
    tenant: &TenantId,
    at: u64,
    service: Service,
    result: CallResult,
    from: &str,
    to: &str,
) -> SipMessage {
    SipMessage {
        summary: SipMessageSummary {
            id: SipMessageId::new(),
            received_at: t(at),
            service,
            transport: MessageTransport::Udp,
            source: "192.0.2.10:5060".into(),
            tenant_id: Some(tenant.clone()),
            sbc_id: None,
            sbc_name: Some("edge-1".into()),
            call_id: format!("call-{at}-{from}"),
            from_tn: Some(from.into()),
            to_tn: Some(to.into()),
            attestation: Some(Attestation::A),
            verstat: (service == Service::Verification).then_some(Verstat::TnValidationPassed),
            result,
            status_code: 302,
            reason: None,
            certificate_version_id: None,
            x5u: None,
            chain_fingerprint: None,
            latency_us: 42,
        },
        raw_request: RawMessage {
            text: "INVITE sip:x SIP/2.0\r\n\r\n".into(),
            truncated: false,
        },
        raw_response: RawMessage {
            text: "SIP/2.0 302 Moved Temporarily\r\n\r\n".into(),
            truncated: true,
        },
    }
}

/// A record as the SIP front would hand it to the log.
fn record(tenant: &TenantId, service: Service, result: CallResult) -> MessageRecord {
    MessageRecord {
        received_at: t(NOW),
        service,
        transport: MessageTransport::Tcp,
        source: SocketAddr::from(([192, 0, 2, 10], 5060)),
        tenant_id: Some(tenant.clone()),
        sbc_id: None,
        sbc_name: Some("edge-1".into()),
        call_id: "call-1@192.0.2.10".into(),
        from_tn: Some(tn("+12155550121")),
        to_tn: Some(tn("+12155550131")),
        attestation: Some(Attestation::A),
        verstat: None,
        result,
        status_code: 302,
        reason: None,
        certificate_version_id: None,
        x5u: None,
        chain: None,
        latency: Duration::from_micros(35),
        raw_request: Bytes::from_static(b"INVITE sip:+12155550131@ss.example SIP/2.0\r\n\r\n"),
        raw_response: Bytes::from_static(b"SIP/2.0 302 Moved Temporarily\r\n\r\n"),
    }
}

fn ids(messages: &[SipMessageSummary]) -> Vec<&SipMessageId> {
    messages.iter().map(|m| &m.id).collect()
}

async fn count_rows(ctx: &Ctx, table: &str) -> i64 {
    let mut raw = ctx.raw().await;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM {table}"
    )))
    .fetch_one(&mut raw)
    .await
    .unwrap();
    let n: i64 = row.try_get("n").unwrap();
    raw.close().await.unwrap();
    n
}

async fn messages_are_listed_newest_first_and_scoped(ctx: Ctx) {
    let store = &ctx.store;
    let (a, b) = (TenantId::new(), TenantId::new());
    let a_old = message(&a, NOW - 10, Service::Signing, CallResult::Signed, "1", "2");
    let b_mid = message(&b, NOW - 5, Service::Signing, CallResult::Signed, "1", "2");
    let a_new = message(&a, NOW, Service::Verification, CallResult::Passed, "1", "2");
    store
        .sip_message_writer()
        .insert(&[a_old.clone(), b_mid.clone(), a_new.clone()], &[], t(NOW))
        .await
        .unwrap();

    let all = store
        .list_sip_messages(&TenantScope::All, &SipMessageFilter::default(), None, 50)
        .await
        .unwrap();
    assert_eq!(
        ids(&all.messages),
        [&a_new.summary.id, &b_mid.summary.id, &a_old.summary.id]
    );
    assert_eq!(all.messages[0], a_new.summary, "every column round-trips");
    assert_eq!(all.next, None);

    let only_a = store
        .list_sip_messages(
            &TenantScope::Tenant(a.clone()),
            &SipMessageFilter::default(),
            None,
            50,
        )
        .await
        .unwrap();
    assert_eq!(
        ids(&only_a.messages),
        [&a_new.summary.id, &a_old.summary.id]
    );
    let none = store
        .list_sip_messages(
            &TenantScope::Tenant(TenantId::new()),
            &SipMessageFilter::default(),
            None,
            50,
        )
        .await
        .unwrap();
    assert!(none.messages.is_empty());
}

/// The ids of the first page `scope` sees under `filter`, newest first.
async fn listed_ids(
    store: &Store,
    scope: &TenantScope,
    filter: SipMessageFilter,
) -> Vec<SipMessageId> {
    store
        .list_sip_messages(scope, &filter, None, 50)
        .await
        .unwrap()
        .messages
        .into_iter()
        .map(|m| m.id)
        .collect()
}

async fn filters_narrow_the_list(ctx: Ctx) {
    let store = &ctx.store;
    let a = TenantId::new();
    let m1 = message(
        &a,
        NOW - 30,
        Service::Signing,
        CallResult::Signed,
        "12155550100",
        "12155550200",
    );
    let m2 = message(
        &a,
        NOW - 20,
        Service::Signing,
        CallResult::Blocked,
        "12155550300",
        "12155550100",
    );
    let m3 = message(
        &a,
        NOW - 10,
        Service::Verification,
        CallResult::Failed,
        "12155550300",
        "12155550400",
    );
    let m4 = message(
        &a,
        NOW,
        Service::Verification,
        CallResult::Passed,
        "12155550500",
        "12155550600",
    );
    store
        .sip_message_writer()
        .insert(
            &[m1.clone(), m2.clone(), m3.clone(), m4.clone()],
            &[],
            t(NOW),
        )
        .await
        .unwrap();
    let scope = TenantScope::Tenant(a);
    let list = |filter: SipMessageFilter| listed_ids(store, &scope, filter);

    // A number matches as calling or as called party.
    let by_tn = list(SipMessageFilter {
        tn: Some(tn("+1 215 555 0100")),
        ..SipMessageFilter::default()
    })
    .await;
    assert_eq!(by_tn, [m2.summary.id.clone(), m1.summary.id.clone()]);

    let by_result = list(SipMessageFilter {
        result: Some(CallResult::Failed),
        ..SipMessageFilter::default()
    })
    .await;
    assert_eq!(by_result, std::slice::from_ref(&m3.summary.id));

    let by_service = list(SipMessageFilter {
        service: Some(Service::Verification),
        ..SipMessageFilter::default()
    })
    .await;
    assert_eq!(by_service, [m4.summary.id.clone(), m3.summary.id.clone()]);

    // since is inclusive, until exclusive.
    let window = list(SipMessageFilter {
        since: Some(t(NOW - 20)),
        until: Some(t(NOW)),
        ..SipMessageFilter::default()
    })
    .await;
    assert_eq!(window, [m3.summary.id.clone(), m2.summary.id.clone()]);

    let combined = list(SipMessageFilter {
        tn: Some(tn("12155550300")),
        result: Some(CallResult::Blocked),
        ..SipMessageFilter::default()
    })
    .await;
    assert_eq!(combined, std::slice::from_ref(&m2.summary.id));
}

async fn number_filter_works_with_and_without_the_number_indexes(ctx: Ctx) {
    let store = &ctx.store;
    let both = ["sip_messages_from_tn", "sip_messages_to_tn"];
    // Migrations create them; setting true again changes nothing.
    assert_eq!(store.number_indexes().await.unwrap(), both);
    store.set_number_indexes(true).await.unwrap();
    assert_eq!(store.number_indexes().await.unwrap(), both);

    let a = TenantId::new();
    let calls = [
        ("12155550100", "12155550200"),
        ("12155550300", "12155550100"),
        ("12155550300", "12155550400"),
    ];
    let messages: Vec<SipMessage> = calls
        .iter()
        .enumerate()
        .map(|(i, (from, to))| {
            message(
                &a,
                NOW - 10 + i as u64,
                Service::Signing,
                CallResult::Signed,
                from,
                to,
            )
        })
        .collect();
    store
        .sip_message_writer()
        .insert(&messages, &[], t(NOW))
        .await
        .unwrap();
    let scope = TenantScope::Tenant(a.clone());
    let by_tn = |number: &str| {
        let filter = SipMessageFilter {
            tn: Some(tn(number)),
            ..SipMessageFilter::default()
        };
        listed_ids(store, &scope, filter)
    };
    let expected = [
        messages[1].summary.id.clone(),
        messages[0].summary.id.clone(),
    ];
    assert_eq!(by_tn("12155550100").await, expected);

    store.set_number_indexes(false).await.unwrap();
    assert!(store.number_indexes().await.unwrap().is_empty());
    // Dropping twice is fine, and the filter still finds the same calls (by reading rows).
    store.set_number_indexes(false).await.unwrap();
    assert_eq!(by_tn("12155550100").await, expected);
    store
        .sip_message_writer()
        .insert(
            &[message(
                &a,
                NOW,
                Service::Signing,
                CallResult::Signed,
                "12155550100",
                "12155550500",
            )],
            &[],
            t(NOW),
        )
        .await
        .unwrap();
    assert_eq!(by_tn("12155550100").await.len(), 3);

    // Created again over the rows already there.
    store.set_number_indexes(true).await.unwrap();
    assert_eq!(store.number_indexes().await.unwrap(), both);
    assert_eq!(by_tn("12155550100").await.len(), 3);
    assert_eq!(by_tn("12155550300").await.len(), 2);
}

async fn pages_follow_the_cursor(ctx: Ctx) {
    let store = &ctx.store;
    let a = TenantId::new();
    // Seven messages, three of them in one second: the id orders them within it.
    let mut written = Vec::new();
    for at in [NOW - 3, NOW - 2, NOW - 2, NOW - 2, NOW - 1, NOW, NOW] {
        written.push(message(
            &a,
            at,
            Service::Signing,
            CallResult::Signed,
            "1",
            "2",
        ));
    }
    store
        .sip_message_writer()
        .insert(&written, &[], t(NOW))
        .await
        .unwrap();
    let mut expected: Vec<SipMessageId> = written.iter().map(|m| m.summary.id.clone()).collect();
    expected.sort_by_key(|id| {
        let at = written
            .iter()
            .find(|m| &m.summary.id == id)
            .unwrap()
            .summary
            .received_at
            .as_secs();
        std::cmp::Reverse((at, id.clone()))
    });

    let scope = TenantScope::All;
    let filter = SipMessageFilter::default();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = Vec::new();
    loop {
        let page = store
            .list_sip_messages(&scope, &filter, cursor.as_ref(), 3)
            .await
            .unwrap();
        pages.push(page.messages.len());
        seen.extend(page.messages.into_iter().map(|m| m.id));
        // The cursor survives its text form, as the API hands it out.
        cursor = page.next.map(|c| c.to_string().parse().unwrap());
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(pages, [3, 3, 1]);
    assert_eq!(seen, expected);

    // The limit is capped at 200 and at least 1.
    let one = store
        .list_sip_messages(&scope, &filter, None, 0)
        .await
        .unwrap();
    assert_eq!(one.messages.len(), 1);
    assert!(one.next.is_some());
    let capped = store
        .list_sip_messages(&scope, &filter, None, 10_000)
        .await
        .unwrap();
    assert_eq!(capped.messages.len(), 7);
}

/// A batch is one transaction: a row that breaks a constraint in its last statement (a
/// duplicate id; the batch takes three INSERTs of 64, 4 and 2 rows) leaves none of its rows and
/// none of its chains behind, and the store takes the next batch as usual.
async fn a_failing_batch_writes_nothing(ctx: Ctx) {
    let store = &ctx.store;
    // One writer throughout, as the service's: the batch after the failed one goes through it.
    let mut writer = store.sip_message_writer();
    let a = TenantId::new();
    let stored = message(&a, NOW, Service::Signing, CallResult::Signed, "1", "2");
    writer
        .insert(std::slice::from_ref(&stored), &[], t(NOW))
        .await
        .unwrap();
    let mut batch: Vec<SipMessage> = (0..70)
        .map(|i| {
            message(
                &a,
                NOW + 1 + i,
                Service::Signing,
                CallResult::Signed,
                "3",
                "4",
            )
        })
        .collect();
    batch[68].summary.id = stored.summary.id.clone();
    let chain = stirling::store::NewChain {
        fingerprint: "cc".repeat(32),
        chain_pem: "chain".into(),
    };
    let err = writer
        .insert(&batch, std::slice::from_ref(&chain), t(NOW))
        .await;
    assert!(err.is_err(), "a duplicate id must fail the batch");
    assert_eq!(count_rows(&ctx, "sip_messages").await, 1);
    assert_eq!(count_rows(&ctx, "sip_message_chains").await, 0);

    batch[68].summary.id = SipMessageId::new();
    writer.insert(&batch, &[chain], t(NOW)).await.unwrap();
    assert_eq!(count_rows(&ctx, "sip_messages").await, 71);
    assert_eq!(count_rows(&ctx, "sip_message_chains").await, 1);
    let page = store
        .list_sip_messages(&TenantScope::All, &SipMessageFilter::default(), None, 200)
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 71);
}

async fn detail_is_scoped_and_carries_raw_text(ctx: Ctx) {
    let store = &ctx.store;
    let (a, b) = (TenantId::new(), TenantId::new());
    let mut m = message(&a, NOW, Service::Verification, CallResult::Failed, "1", "2");
    m.summary.reason = Some("Invalid Identity Header".into());
    m.summary.status_code = 438;
    m.raw_request.text = "INVITE sip:+1@x SIP/2.0\r\nIdentity: abc\r\n\r\n".into();
    store
        .sip_message_writer()
        .insert(&[m.clone()], &[], t(NOW))
        .await
        .unwrap();

    let own = store
        .sip_message(&TenantScope::Tenant(a), &m.summary.id)
        .await
        .unwrap();
    assert_eq!(own.message, m);
    assert_eq!(own.chain_pem, None);
    let admin = store
        .sip_message(&TenantScope::All, &m.summary.id)
        .await
        .unwrap();
    assert_eq!(admin.message, m);

    let other = store
        .sip_message(&TenantScope::Tenant(b), &m.summary.id)
        .await;
    assert!(
        matches!(other, Err(StoreError::NotFound { .. })),
        "{other:?}"
    );
    let missing = store
        .sip_message(&TenantScope::All, &SipMessageId::new())
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })));
}

async fn pruning_deletes_old_messages_in_batches_and_orphan_chains(ctx: Ctx) {
    let store = &ctx.store;
    let a = TenantId::new();
    let retention = Duration::from_secs(30 * 86_400);
    let cutoff = NOW - retention.as_secs();
    // More old messages than one prune batch holds, so the job must loop.
    let old: Vec<SipMessage> = (0..2_345)
        .map(|i| {
            message(
                &a,
                cutoff - 1 - i % 50,
                Service::Signing,
                CallResult::Signed,
                "1",
                "2",
            )
        })
        .collect();
    let mut writer = store.sip_message_writer();
    for chunk in old.chunks(500) {
        writer.insert(chunk, &[], t(cutoff)).await.unwrap();
    }
    let kept_chain = stirling::store::NewChain {
        fingerprint: "aa".repeat(32),
        chain_pem: "kept".into(),
    };
    let orphan_chain = stirling::store::NewChain {
        fingerprint: "bb".repeat(32),
        chain_pem: "orphan".into(),
    };
    let mut at_cutoff = message(
        &a,
        cutoff,
        Service::Verification,
        CallResult::Passed,
        "1",
        "2",
    );
    at_cutoff.summary.chain_fingerprint = Some(kept_chain.fingerprint.clone());
    let recent = message(&a, NOW, Service::Signing, CallResult::Signed, "1", "2");
    // Both chains were last stored before the cutoff.
    writer
        .insert(
            &[at_cutoff.clone(), recent.clone()],
            &[kept_chain.clone(), orphan_chain],
            t(cutoff - 100),
        )
        .await
        .unwrap();

    let deleted = prune_once(store, t(NOW), retention).await.unwrap();
    assert_eq!(deleted, 2_345);
    assert_eq!(count_rows(&ctx, "sip_messages").await, 2);
    let kept = store
        .sip_message(&TenantScope::All, &at_cutoff.summary.id)
        .await
        .unwrap();
    assert_eq!(
        kept.chain_pem.as_deref(),
        Some("kept"),
        "a referenced chain stays"
    );
    assert_eq!(
        count_rows(&ctx, "sip_message_chains").await,
        1,
        "the orphan went"
    );
    assert_eq!(prune_once(store, t(NOW), retention).await.unwrap(), 0);
}

async fn call_counts_are_by_service_and_result_since(ctx: Ctx) {
    let store = &ctx.store;
    let (a, b) = (TenantId::new(), TenantId::new());
    let since = NOW - 86_400;
    let messages = [
        message(
            &a,
            since - 1,
            Service::Signing,
            CallResult::Signed,
            "1",
            "2",
        ),
        message(&a, since, Service::Signing, CallResult::Signed, "1", "2"),
        message(&a, NOW, Service::Signing, CallResult::Signed, "1", "2"),
        message(&a, NOW, Service::Signing, CallResult::Blocked, "1", "2"),
        message(&a, NOW, Service::Verification, CallResult::Failed, "1", "2"),
        message(&b, NOW, Service::Verification, CallResult::Passed, "1", "2"),
    ];
    store
        .sip_message_writer()
        .insert(&messages, &[], t(NOW))
        .await
        .unwrap();
    let count = |service, result, count| CallCount {
        service,
        result,
        count,
    };
    let for_a = store
        .call_counts(&TenantScope::Tenant(a), t(since))
        .await
        .unwrap();
    assert_eq!(
        for_a,
        [
            count(Service::Signing, CallResult::Blocked, 1),
            count(Service::Signing, CallResult::Signed, 2),
            count(Service::Verification, CallResult::Failed, 1),
        ]
    );
    let all = store
        .call_counts(&TenantScope::All, t(since))
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.contains(&count(Service::Verification, CallResult::Passed, 1)));
}

fn log_config(
    queue_capacity: usize,
    batch_size: usize,
    flush_interval_ms: u64,
) -> MessageLogConfig {
    MessageLogConfig {
        queue_capacity,
        batch_size,
        flush_interval_ms,
        raw_max_bytes: 256,
        retention_days: 30,
        index_numbers: true,
    }
}

async fn writer_flushes_what_it_holds_on_shutdown(ctx: Ctx) {
    let metrics = Arc::new(Metrics::new());
    // A batch larger than what is recorded and a minute's interval: only shutdown writes.
    let (log, tasks) = MessageLog::start(
        &log_config(100, 1_000, 60_000),
        ctx.store.clone(),
        Arc::new(At(t(NOW))),
        metrics.clone(),
    );
    let a = TenantId::new();
    for _ in 0..25 {
        log.record(record(&a, Service::Signing, CallResult::Signed));
    }
    tasks.shutdown().await;
    assert_eq!(count_rows(&ctx, "sip_messages").await, 25);
    assert_eq!(metrics.message_log_written(), 25);
    assert_eq!(metrics.message_log_dropped(), 0);
    assert_eq!(metrics.message_log_queue_depth(), 0);

    // After shutdown the log refuses records without waiting, and counts them.
    log.record(record(&a, Service::Signing, CallResult::Signed));
    assert_eq!(metrics.message_log_dropped(), 1);
    assert_eq!(count_rows(&ctx, "sip_messages").await, 25);

    let page = ctx
        .store
        .list_sip_messages(
            &TenantScope::Tenant(a),
            &SipMessageFilter::default(),
            None,
            1,
        )
        .await
        .unwrap();
    let m = &page.messages[0];
    assert_eq!(m.transport, MessageTransport::Tcp);
    assert_eq!(m.source, "192.0.2.10:5060");
    assert_eq!(m.from_tn.as_deref(), Some("12155550121"));
    assert_eq!(m.latency_us, 35);
}

async fn writer_writes_a_partial_batch_after_the_interval(ctx: Ctx) {
    let metrics = Arc::new(Metrics::new());
    // A batch far larger than what is recorded: only the interval can write these.
    let (log, tasks) = MessageLog::start(
        &log_config(100, 1_000, 5),
        ctx.store.clone(),
        Arc::new(At(t(NOW))),
        metrics.clone(),
    );
    let a = TenantId::new();
    for _ in 0..3 {
        log.record(record(&a, Service::Signing, CallResult::Signed));
    }
    // Waits for the outcome, not for a time: the loop ends as soon as the rows are there
    // (the bound only keeps a broken writer from hanging the suite).
    let mut polls = 0;
    while metrics.message_log_written() < 3 {
        polls += 1;
        assert!(polls < 2_000, "the partial batch was never written");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(count_rows(&ctx, "sip_messages").await, 3);
    tasks.shutdown().await;
    assert_eq!(metrics.message_log_written(), 3);
}

async fn writer_stores_each_chain_once_and_cuts_raw_messages(ctx: Ctx) {
    let metrics = Arc::new(Metrics::new());
    // Batches of 2: the chain shows up in several batches and is still stored once.
    let (log, tasks) = MessageLog::start(
        &log_config(100, 2, 60_000),
        ctx.store.clone(),
        Arc::new(At(t(NOW))),
        metrics.clone(),
    );
    let pki = TestPki::new();
    let chain = LoggedChain {
        fingerprint: [7; 32],
        certificates: Arc::from(vec![
            CertificateDer::from(pki.leaf.der().to_vec()),
            CertificateDer::from(pki.intermediate.der().to_vec()),
        ]),
    };
    let a = TenantId::new();
    for _ in 0..5 {
        let mut r = record(&a, Service::Verification, CallResult::Passed);
        r.chain = Some(chain.clone());
        r.x5u = Some("https://cr.example.net/1234.pem".into());
        r.raw_request = Bytes::from(vec![b'x'; 1_000]);
        log.record(r);
    }
    tasks.shutdown().await;
    assert_eq!(count_rows(&ctx, "sip_messages").await, 5);
    assert_eq!(count_rows(&ctx, "sip_message_chains").await, 1);

    let page = ctx
        .store
        .list_sip_messages(&TenantScope::All, &SipMessageFilter::default(), None, 1)
        .await
        .unwrap();
    let detail = ctx
        .store
        .sip_message(&TenantScope::All, &page.messages[0].id)
        .await
        .unwrap();
    assert_eq!(
        detail.message.summary.chain_fingerprint,
        Some("07".repeat(32))
    );
    let pem = detail.chain_pem.unwrap();
    let blocks = pem::parse_many(&pem).unwrap();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].contents(), pki.leaf.der());
    assert_eq!(detail.message.raw_request.text, "x".repeat(256));
    assert!(detail.message.raw_request.truncated);
    assert!(!detail.message.raw_response.truncated);
}

/// The PostgreSQL case of "calls never wait on the store": another connection holds an
/// exclusive lock on the table, so the writer's first insert waits for as long as the test
/// wants (PostgreSQL has no lock timeout by default; SQLite's busy timeout would make the
/// outcome depend on time). Meanwhile far more records arrive than the queue holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_drops_records_instead_of_waiting_for_a_slow_store() {
    backends::run(Backend::Postgres, |ctx: Ctx| async move {
        let mut locker = ctx.raw().await;
        sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
        sqlx::query("LOCK TABLE sip_messages IN ACCESS EXCLUSIVE MODE")
            .execute(&mut locker)
            .await
            .unwrap();

        let (capacity, batch) = (8, 4);
        let metrics = Arc::new(Metrics::new());
        let (log, tasks) = MessageLog::start(
            &log_config(capacity, batch, 1),
            ctx.store.clone(),
            Arc::new(At(t(NOW))),
            metrics.clone(),
        );
        let a = TenantId::new();
        let sent = 200;
        // `record` is a plain function: were it to wait for the store, this loop would never
        // end, because the lock is released only after it.
        for _ in 0..sent {
            log.record(record(&a, Service::Signing, CallResult::Signed));
        }
        // At most a full queue plus the batch the writer took before blocking got in.
        let dropped = metrics.message_log_dropped();
        assert!(
            dropped >= (sent - capacity - batch) as u64,
            "dropped {dropped} of {sent}"
        );
        assert!(metrics.message_log_queue_depth() <= capacity as u64);
        // Every call was counted, logged or not.
        let exposition = metrics.render();
        assert!(
            exposition.contains(&format!(
                "stirling_calls_total{{service=\"signing\",result=\"signed\"}} {sent}"
            )),
            "{exposition}"
        );

        sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
        locker.close().await.unwrap();
        tasks.shutdown().await;
        let stored = count_rows(&ctx, "sip_messages").await;
        assert_eq!(stored as u64 + metrics.message_log_dropped(), sent as u64);
        assert_eq!(metrics.message_log_written(), stored as u64);
        assert_eq!(metrics.message_log_queue_depth(), 0);
    })
    .await;
}

/// The message-log writer keeps one connection (`SipMessageWriter`). When that connection dies
/// (here PostgreSQL ends it, as a restart or an administrator would), the batch on it is lost
/// and counted, and the next batch goes through a new connection: a writer that kept the dead
/// one would lose every batch from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_replaces_a_connection_that_died() {
    backends::run(Backend::Postgres, |ctx: Ctx| async move {
        // The store's connections carry a name of their own, so that only they are ended.
        let name = format!("w{}", uuid::Uuid::new_v4().simple());
        let key = Arc::new(stirling::secrets::MasterKey::from_bytes(&[42u8; 32]).unwrap());
        let store = Store::connect(&format!("{}&application_name={name}", ctx.url), 2, key)
            .await
            .unwrap();
        let mut writer = store.sip_message_writer();
        let a = TenantId::new();
        let batch = |n: u64| -> Vec<SipMessage> {
            (0..n)
                .map(|i| message(&a, NOW + i, Service::Signing, CallResult::Signed, "1", "2"))
                .collect()
        };
        writer.insert(&batch(3), &[], t(NOW)).await.unwrap();

        let mut admin = ctx.raw().await;
        // The pids first: in one statement PostgreSQL may call pg_terminate_backend before
        // it filters on the name, ending every connection.
        let pids: Vec<i32> =
            sqlx::query("SELECT pid FROM pg_stat_activity WHERE application_name = $1")
                .bind(&name)
                .fetch_all(&mut admin)
                .await
                .unwrap()
                .iter()
                .map(|row| row.get("pid"))
                .collect();
        assert!(!pids.is_empty(), "no connection of the store to end");
        for pid in pids {
            sqlx::query("SELECT pg_terminate_backend($1, 5000)")
                .bind(pid)
                .execute(&mut admin)
                .await
                .unwrap();
        }

        assert!(
            writer.insert(&batch(4), &[], t(NOW)).await.is_err(),
            "a batch on the ended connection cannot be written"
        );
        writer.insert(&batch(5), &[], t(NOW)).await.unwrap();
        assert_eq!(count_rows(&ctx, "sip_messages").await, 3 + 5);
        admin.close().await.unwrap();
        drop(writer);
        store.close().await;
    })
    .await;
}

/// The message-log writer's SQLite connection runs on a thread of lower priority than the rest
/// of the service (nice 19, the lowest), so that logging never delays the answers to calls when the cores
/// are busy; the pool's connections keep the normal priority.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_sqlite_thread_runs_at_lower_priority() {
    backends::run(Backend::Sqlite, |ctx: Ctx| async move {
        let mut writer = ctx.store.sip_message_writer();
        let a = TenantId::new();
        let row = message(&a, NOW, Service::Signing, CallResult::Signed, "1", "2");
        writer.insert(&[row], &[], t(NOW)).await.unwrap();
        // Tests run side by side in this process: other SQLite threads may come and go, but
        // only a message-log writer's run at nice 19.
        let nices = sqlite_thread_nices();
        assert!(
            nices.contains(&19),
            "no SQLite thread at nice 19: {nices:?}"
        );
        assert!(nices.contains(&0), "no SQLite thread at nice 0: {nices:?}");
        drop(writer);
    })
    .await;
}

/// The nice values of this process's SQLite connection threads (sqlx names them
/// `sqlx-sqlite-worker-N`, which /proc cuts to 15 bytes), from /proc/self/task/*/stat.
fn sqlite_thread_nices() -> Vec<i64> {
    let mut nices = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let Ok(stat) = std::fs::read_to_string(task.unwrap().path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        // "tid (comm) state ppid …": the nice value is field 19, the 17th after the comm.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        if head.contains("(sqlx-sqlite-wor") {
            nices.push(rest.split_whitespace().nth(16).unwrap().parse().unwrap());
        }
    }
    nices
}

// --- HTTP API ---

fn app(store: &Store, scope: TenantScope) -> axum::Router {
    let (renew_now, _requests) = RenewNow::channel();
    stirling::message_log::router()
        .layer(Extension(scope))
        .with_state(AppState {
            store: store.clone(),
            clock: Arc::new(At(t(NOW))),
            renew_now,
            auth: stirling::auth::Auth::new(false),
            mailer: None,
            renewal: Default::default(),
        })
}

async fn get(app: axum::Router, uri: &str) -> (StatusCode, Value) {
    let response = app
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn api_lists_with_filters_and_refuses_bad_ones(ctx: Ctx) {
    let store = &ctx.store;
    let (a, b) = (TenantId::new(), TenantId::new());
    let m1 = message(
        &a,
        NOW - 10,
        Service::Signing,
        CallResult::Signed,
        "12155550100",
        "12155550200",
    );
    let m2 = message(
        &a,
        NOW,
        Service::Verification,
        CallResult::Failed,
        "12155550300",
        "12155550100",
    );
    let m3 = message(
        &b,
        NOW,
        Service::Verification,
        CallResult::Passed,
        "12155550100",
        "12155550200",
    );
    store
        .sip_message_writer()
        .insert(&[m1.clone(), m2.clone(), m3.clone()], &[], t(NOW))
        .await
        .unwrap();

    let tenant_a = app(store, TenantScope::Tenant(a));
    let (status, body) = get(tenant_a.clone(), "/api/v1/sip-messages").await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [m2.summary.id.as_str(), m1.summary.id.as_str()]);
    assert_eq!(body["next_cursor"], Value::Null);
    let first = &body["messages"][0];
    assert_eq!(first["service"], "verification");
    assert_eq!(first["result"], "failed");
    assert_eq!(first["verstat"], "TN-Validation-Passed");
    assert_eq!(first["received_at"], NOW);
    assert!(
        first.get("raw_request").is_none(),
        "the list carries no raw text"
    );

    let (_, body) = get(
        tenant_a.clone(),
        "/api/v1/sip-messages?tn=%2B1-215-555-0100&result=signed&limit=1",
    )
    .await;
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(body["messages"][0]["id"], m1.summary.id.as_str());

    let (_, body) = get(tenant_a.clone(), "/api/v1/sip-messages?limit=1").await;
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let (_, body) = get(
        tenant_a.clone(),
        &format!("/api/v1/sip-messages?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(body["messages"][0]["id"], m1.summary.id.as_str());

    let (_, body) = get(
        app(store, TenantScope::All),
        &format!("/api/v1/sip-messages?since={NOW}&service=verification"),
    )
    .await;
    assert_eq!(body["messages"].as_array().unwrap().len(), 2);

    let (status, body) = get(
        tenant_a.clone(),
        "/api/v1/sip-messages?tn=anonymous&result=maybe&limit=500&cursor=x&service=both",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["tn", "result", "service", "limit", "cursor"]);
    let (status, body) = get(tenant_a, "/api/v1/sip-messages?since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "bad_body");
}

fn signed_identity(key: SigningKey, x5u: &str) -> String {
    let signer = Signer::new(key, x5u).unwrap();
    let claims = Claims::shaken(
        Attestation::B,
        tn("+12155550121"),
        Dest::tns(vec![tn("+12155550131")]),
        NOW,
        "123e4567-e89b-12d3-a456-426655440000".into(),
    );
    signer.identity_header(Ppt::Shaken, &claims).unwrap()
}

async fn api_shows_a_verification_with_passport_and_chain(ctx: Ctx) {
    let metrics = Arc::new(Metrics::new());
    let (log, tasks) = MessageLog::start(
        &MessageLogConfig::default(),
        ctx.store.clone(),
        Arc::new(At(t(NOW))),
        metrics,
    );
    let pki = TestPki::new();
    let x5u = "https://cr.example.net/1234.pem";
    let identity = signed_identity(SigningKey::generate().unwrap(), x5u);
    let a = TenantId::new();
    let mut r = record(&a, Service::Verification, CallResult::Passed);
    r.verstat = Some(Verstat::TnValidationPassed);
    r.x5u = Some(x5u.into());
    r.chain = Some(LoggedChain {
        fingerprint: [9; 32],
        certificates: Arc::from(vec![CertificateDer::from(pki.leaf.der().to_vec())]),
    });
    r.raw_request = Bytes::from(format!(
        "INVITE sip:+12155550131@ss.example SIP/2.0\r\nCall-ID: c1\r\nIdentity: {identity}\r\n\r\n"
    ));
    log.record(r);
    tasks.shutdown().await;

    let store = &ctx.store;
    let page = store
        .list_sip_messages(&TenantScope::All, &SipMessageFilter::default(), None, 1)
        .await
        .unwrap();
    let id = page.messages[0].id.as_str().to_owned();

    let (status, body) = get(
        app(store, TenantScope::Tenant(a)),
        &format!("/api/v1/sip-messages/{id}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], id.as_str());
    assert!(
        body["raw_request"]["text"]
            .as_str()
            .unwrap()
            .contains(&identity)
    );
    assert_eq!(body["raw_request"]["truncated"], false);
    let passport = &body["passports"][0];
    assert_eq!(passport["info"], x5u);
    assert_eq!(passport["header"]["x5u"], x5u);
    assert_eq!(passport["claims"]["attest"], "B");
    assert_eq!(passport["claims"]["dest"]["tn"][0], "12155550131");
    let cert = &body["certificate"];
    assert_eq!(cert["spc"], "1234");
    assert!(
        cert["subject"].as_str().unwrap().contains("SHAKEN 1234"),
        "{cert}"
    );
    assert!(
        cert["issuer"].as_str().unwrap().contains("Issuing CA"),
        "{cert}"
    );
    assert!(
        cert["pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert_eq!(body["certificate_error"], Value::Null);

    // Another tenant, and an id that is not one: 404 alike.
    let (status, _) = get(
        app(store, TenantScope::Tenant(TenantId::new())),
        &format!("/api/v1/sip-messages/{id}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(
        app(store, TenantScope::All),
        "/api/v1/sip-messages/not-an-id",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn api_shows_a_signing_with_its_certificate_version(ctx: Ctx) {
    let store = &ctx.store;
    let tenant = store
        .create_tenant(
            &NewTenant {
                name: "acme".into(),
                company: "Acme Telecom".into(),
                technical_contact_name: "Ada Ops".into(),
                technical_contact_phone: "+12025550100".into(),
                system_email: "noc@acme.example".into(),
            },
            t(NOW),
        )
        .await
        .unwrap();
    let entry = stirling::entry::EntryForm {
        name: "Main".into(),
        spid: "1234".into(),
        sti_pa_account_id: "1234".into(),
        sti_pa_user_id: "ops@example.com".into(),
        sti_pa_password: stirling::secrets::SecretString::new("s3cret!".into()),
        environment: "staging".into(),
        sti_ga: false,
    }
    .validate()
    .unwrap();
    let cert = store
        .create_certificate(&tenant.id, &entry, t(NOW))
        .await
        .unwrap();
    let pki = TestPki::new();
    let key = SigningKey::generate().unwrap();
    let chain_pem = pki.chain_pem();
    let version = store
        .insert_version(
            &tenant.id,
            &cert.id,
            &NewVersion {
                chain_pem: &chain_pem,
                key: &key,
                serial: "3000",
                fingerprint: "ab",
                not_before: t(NOW - 86_400),
                not_after: t(NOW + 86_400),
                repository_path: "cr/1234/ab.pem",
            },
            t(NOW),
        )
        .await
        .unwrap();

    let identity = signed_identity(key, "https://cr.example.net/cr/1234/ab.pem");
    let mut m = message(
        &tenant.id,
        NOW,
        Service::Signing,
        CallResult::Signed,
        "12155550121",
        "12155550131",
    );
    m.summary.certificate_version_id = Some(version.id.clone());
    m.raw_response.text = format!("SIP/2.0 302 Moved Temporarily\r\nIdentity: {identity}\r\n\r\n");
    let mut gone = message(
        &tenant.id,
        NOW,
        Service::Signing,
        CallResult::Signed,
        "1",
        "2",
    );
    gone.summary.certificate_version_id = Some(stirling::store::VersionId::new());
    store
        .sip_message_writer()
        .insert(&[m.clone(), gone.clone()], &[], t(NOW))
        .await
        .unwrap();

    let scope = TenantScope::Tenant(tenant.id.clone());
    let (status, body) = get(
        app(store, scope.clone()),
        &format!("/api/v1/sip-messages/{}", m.summary.id),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["certificate_version_id"], version.id.as_str());
    assert_eq!(body["passports"][0]["claims"]["attest"], "B");
    assert_eq!(body["certificate"]["spc"], "1234");
    assert_eq!(body["certificate"]["pem"], chain_pem);
    assert_eq!(body["raw_response"]["truncated"], true);

    // A version deleted since: the message still shows, saying why there is no certificate.
    let (status, body) = get(
        app(store, scope),
        &format!("/api/v1/sip-messages/{}", gone.summary.id),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["certificate"], Value::Null);
    assert!(
        body["certificate_error"]
            .as_str()
            .unwrap()
            .contains("no longer")
    );
}
