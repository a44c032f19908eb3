//! The SIP Messages log's write path on its own: batches of rows shaped like a signed call's
//! (an INVITE as the bench scenario sends it, the 302 with its Identity) inserted as the log
//! writer does, into a SQLite store in a temporary directory and into PostgreSQL on
//! 127.0.0.1:5432 (user `root`, database `test`, a fresh schema dropped afterwards; skipped
//! with a message when it does not answer). The table grows during the run, as it does in
//! service. Run: `cargo bench -p stirling --bench message_log`.
//!
//! Criterion reports the time per batch and the rows per second; the writer awaits the
//! store, so the time is that of the store's thread (SQLite) or of the server's round trips
//! (PostgreSQL, whose own CPU runs in its processes on the same machine) plus the hand-over.

#![allow(missing_docs, clippy::unwrap_used)] // Bench harness code.

use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use passport::{Attestation, UnixTime};
use stirling::secrets::MasterKey;
use stirling::store::{
    Backend, CallResult, MessageTransport, RawMessage, Service, SipMessage, SipMessageId,
    SipMessageSummary, Store, TenantId, VersionId,
};
use stirling_test::{PG_ADMIN_URL, PgSchema};

/// The batch the writer writes at most per transaction by default (`message_log.batch_size`).
const BATCH: usize = 500;

const INVITE: &str = "INVITE sip:+12155550131@127.0.0.1:5060;user=phone SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1234-1-0;received=127.0.0.1;rport=5061\r\n\
From: \"sipp\" <sip:+12155550121@127.0.0.1:5061;user=phone>;tag=1\r\n\
To: <sip:+12155550131@127.0.0.1:5060;user=phone>\r\n\
P-Asserted-Identity: \"Caller\" <sip:+12155550121@127.0.0.1;user=phone>\r\n\
P-Origination-ID: origid-sipp-1\r\n\
Call-ID: 1-1234@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:sipp@127.0.0.1:5061;transport=UDP>\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n";

const RESPONSE: &str = "SIP/2.0 302 Moved Temporarily\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1234-1-0;received=127.0.0.1;rport=5061\r\n\
From: \"sipp\" <sip:+12155550121@127.0.0.1:5061;user=phone>;tag=1\r\n\
To: <sip:+12155550131@127.0.0.1:5060;user=phone>;tag=c0ffee\r\n\
Call-ID: 1-1234@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:+12155550131@127.0.0.1:5060;user=phone>\r\n\
Identity: eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly8xMjcuMC4wLjE6ODQ0My9jci8xMjM0L2FiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODkucGVtIn0.eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ0biI6WyIxMjE1NTU1MDEzMSJdfSwiaWF0IjoxNzAwMDAwMDAwLCJvcmlnIjp7InRuIjoiMTIxNTU1NTAxMjEifSwib3JpZ2lkIjoiMDE5MmQ3ZTAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAwIn0.MEUCIQDabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdef;info=<https://127.0.0.1:8443/cr/1234/abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789.pem>;alg=ES256;ppt=shaken\r\n\
Content-Length: 0\r\n\r\n";

fn rows(tenant: &TenantId, version: &VersionId, first: u64) -> Vec<SipMessage> {
    (0..BATCH as u64)
        .map(|i| {
            let n = first + i;
            SipMessage {
                summary: SipMessageSummary {
                    id: SipMessageId::new(),
                    received_at: UnixTime::since_unix_epoch(Duration::from_secs(
                        1_700_000_000 + n / 10_000,
                    )),
                    service: Service::Signing,
                    transport: MessageTransport::Udp,
                    source: "127.0.0.1:5061".into(),
                    tenant_id: Some(tenant.clone()),
                    sbc_id: Some("0192d7e0-0000-7000-8000-000000000001".into()),
                    sbc_name: Some("sipp".into()),
                    call_id: format!("{n}-1234@127.0.0.1"),
                    // Numbers vary as in real traffic, so the number indexes are not appends.
                    from_tn: Some(format!("1215{:07}", n.wrapping_mul(7_919) % 10_000_000)),
                    to_tn: Some(format!("1212{:07}", n.wrapping_mul(104_729) % 10_000_000)),
                    attestation: Some(Attestation::A),
                    verstat: None,
                    result: CallResult::Signed,
                    status_code: 302,
                    reason: None,
                    certificate_version_id: Some(version.clone()),
                    x5u: None,
                    chain_fingerprint: None,
                    latency_us: 20,
                },
                raw_request: RawMessage {
                    text: INVITE.into(),
                    truncated: false,
                },
                raw_response: RawMessage {
                    text: RESPONSE.into(),
                    truncated: false,
                },
            }
        })
        .collect()
}

/// A store to bench on `backend`: its URL, and what to drop afterwards (SQLite's directory,
/// PostgreSQL's schema). `None` when PostgreSQL does not answer.
async fn bench_store(
    backend: Backend,
) -> Option<(String, Option<tempfile::TempDir>, Option<PgSchema>)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            );
            Some((url, Some(dir), None))
        }
        Backend::Postgres => match PgSchema::create("bench").await {
            Ok(schema) => Some((schema.url(), None, Some(schema))),
            Err(e) => {
                eprintln!("PostgreSQL benches skipped: {PG_ADMIN_URL}: {e}");
                None
            }
        },
    }
}

fn message_log(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    sqlx::any::install_default_drivers();
    let mut group = c.benchmark_group("message_log");
    group.throughput(Throughput::Elements(BATCH as u64));
    // `message_log.index_numbers`: with the two number indexes (the default) and without.
    for (backend, name) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
        for index_numbers in [true, false] {
            let Some((url, _dir, schema)) = rt.block_on(bench_store(backend)) else {
                continue;
            };
            let key = Arc::new(MasterKey::from_bytes(&[7; 32]).unwrap());
            let store = rt.block_on(async {
                let store = Store::connect(&url, 10, key).await.unwrap();
                store.migrate().await.unwrap();
                store.set_number_indexes(index_numbers).await.unwrap();
                store
            });
            let tenant = TenantId::new();
            let version = VersionId::new();
            let now = UnixTime::since_unix_epoch(Duration::from_secs(1_700_000_000));
            let mut next = 0u64;
            let id = format!(
                "{name}_500_signed_calls_numbers_{}",
                if index_numbers {
                    "indexed"
                } else {
                    "not_indexed"
                }
            );
            // The service's writer: one kept connection (SipMessageWriter).
            let mut writer = store.sip_message_writer();
            group.bench_function(id, |b| {
                b.iter_batched(
                    || {
                        next += BATCH as u64;
                        rows(&tenant, &version, next)
                    },
                    |batch| {
                        rt.block_on(writer.insert(&batch, &[], now)).unwrap();
                    },
                    BatchSize::PerIteration,
                );
            });
            drop(writer);
            rt.block_on(store.close());
            if let Some(schema) = schema {
                rt.block_on(schema.drop());
            }
        }
    }
    group.finish();
}

criterion_group!(benches, message_log);
criterion_main!(benches);
