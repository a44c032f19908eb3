#![allow(clippy::panic, clippy::unwrap_used)]
//! `GET /metrics`: the exposition parses as Prometheus text format 0.0.4 (checked strictly
//! below: names, HELP/TYPE before samples, label syntax, cumulative histogram buckets), and
//! calls, the x5u cache (a real one, fetching from a loopback HTTPS server) and the message
//! log show up as counter increments.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bytes::Bytes;
use passport::UnixTime;
use rustls::RootCertStore;
use sti::{Clock, DangerousX5uConfig, Expiring, X5uCache, X5uConfig, X5uFetcher};
use stirling::config::MessageLogConfig;
use stirling::message_log::{MessageLog, MessageRecord};
use stirling::metrics::Metrics;
use stirling::secrets::MasterKey;
use stirling::store::{CallResult, MessageTransport, Service, Store};
use stirling_test::{FixedHttpsServer, TestPki};
use tower::ServiceExt as _;

#[derive(Debug)]
struct At(UnixTime);

impl Clock for At {
    fn now(&self) -> UnixTime {
        self.0
    }
}

/// Series (name plus labels as written) → value, from a strictly checked exposition.
type Samples = BTreeMap<String, f64>;

async fn scrape(metrics: &Arc<Metrics>) -> Samples {
    let app: axum::Router = stirling::metrics::router(metrics.clone());
    let response = app
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    parse_exposition(std::str::from_utf8(&bytes).unwrap())
}

fn call(service: Service, result: CallResult, code: u16, micros: u64) -> MessageRecord {
    MessageRecord {
        received_at: UnixTime::since_unix_epoch(Duration::from_secs(1_800_000_000)),
        service,
        transport: MessageTransport::Udp,
        source: SocketAddr::from(([127, 0, 0, 1], 5060)),
        tenant_id: None,
        sbc_id: None,
        sbc_name: None,
        call_id: "c1".into(),
        from_tn: None,
        to_tn: None,
        attestation: None,
        verstat: None,
        result,
        status_code: code,
        reason: None,
        certificate_version_id: None,
        x5u: None,
        chain: None,
        latency: Duration::from_micros(micros),
        raw_request: Bytes::from_static(b"INVITE sip:x SIP/2.0\r\n\r\n"),
        raw_response: Bytes::from_static(b"SIP/2.0 302 Moved Temporarily\r\n\r\n"),
    }
}

struct Leaf(UnixTime);

impl Expiring for Leaf {
    fn not_after(&self) -> UnixTime {
        self.0
    }
}

#[tokio::test]
async fn scrape_parses_and_shows_calls_cache_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let key = Arc::new(MasterKey::from_bytes(&[7u8; 32]).unwrap());
    let store = Store::connect(&url, 2, key).await.unwrap();
    store.migrate().await.unwrap();

    // A real x5u cache in front of a loopback HTTPS repository.
    let pki = TestPki::new();
    let server = FixedHttpsServer::start(
        200,
        "application/pem-certificate-chain",
        pki.chain_pem().into_bytes(),
    )
    .await;
    let mut roots = RootCertStore::empty();
    roots.add(server.tls_root().clone()).unwrap();
    let config = X5uConfig {
        roots: Arc::new(roots),
        danger: DangerousX5uConfig {
            allowed_hosts: vec!["127.0.0.1".into()],
            extra_port: Some(server.addr().port()),
        },
        ..X5uConfig::default()
    };
    let now = UnixTime::since_unix_epoch(Duration::from_secs(1_800_000_000));
    let far = UnixTime::since_unix_epoch(Duration::from_secs(1_900_000_000));
    let cache = X5uCache::new(
        &config,
        X5uFetcher::new(&config).unwrap(),
        Arc::new(At(now)),
        move |_chain| Ok::<_, String>(Leaf(far)),
    );

    let metrics = Arc::new(Metrics::new());
    let watched = cache.clone();
    assert!(metrics.watch_x5u_cache(move || watched.stats()));
    assert!(metrics.watch_precomputed_keys(|| 3));
    let (log, tasks) = MessageLog::start(
        &MessageLogConfig::default(),
        store.clone(),
        Arc::new(At(now)),
        metrics.clone(),
    );

    let before = scrape(&metrics).await;
    let signed = "stirling_calls_total{service=\"signing\",result=\"signed\"}";
    let code_302 = "stirling_call_responses_total{service=\"signing\",code=\"302\"}";
    let code_438 = "stirling_call_responses_total{service=\"verification\",code=\"438\"}";
    let count = "stirling_call_duration_seconds_count{service=\"signing\"}";
    let le_25us = "stirling_call_duration_seconds_bucket{service=\"signing\",le=\"0.000025\"}";
    let le_50us = "stirling_call_duration_seconds_bucket{service=\"signing\",le=\"0.00005\"}";
    let sum = "stirling_call_duration_seconds_sum{service=\"signing\"}";
    let hits = "stirling_x5u_cache_hits_total";
    let misses = "stirling_x5u_cache_misses_total";
    let dropped = "stirling_message_log_dropped_total";
    for series in [signed, count, le_25us, le_50us, sum, hits, misses, dropped] {
        assert_eq!(before[series], 0.0, "{series}");
    }
    assert_eq!(before["stirling_verification_precomputed_keys"], 3.0);
    assert!(
        !before.contains_key(code_302),
        "codes not seen are not listed"
    );

    log.record(call(Service::Signing, CallResult::Signed, 302, 35));
    log.record(call(Service::Signing, CallResult::Signed, 302, 45));
    log.record(call(Service::Verification, CallResult::Failed, 302, 2_000));
    metrics.record_call(
        Service::Verification,
        CallResult::Refused,
        438,
        Duration::from_micros(20),
    );
    let x5u = server.url("/sp.pem");
    cache.lookup(&x5u).await.unwrap();
    cache.lookup(&x5u).await.unwrap();
    tasks.shutdown().await;
    // The writer stopped: this record is dropped and counted.
    log.record(call(Service::Signing, CallResult::Signed, 302, 35));

    let after = scrape(&metrics).await;
    assert_eq!(after[signed], 3.0);
    assert_eq!(after[code_302], 3.0);
    assert_eq!(after[code_438], 1.0);
    assert_eq!(after[count], 3.0);
    assert_eq!(after[le_25us], 0.0, "35 and 45 µs are above 25 µs");
    assert_eq!(after[le_50us], 3.0);
    assert!((after[sum] - 0.000115).abs() < 1e-12, "{}", after[sum]);
    assert_eq!(
        after["stirling_calls_total{service=\"verification\",result=\"failed\"}"],
        1.0
    );
    assert_eq!(after[misses], 1.0);
    assert_eq!(after[hits], 1.0);
    assert_eq!(after[dropped], 1.0);
    assert_eq!(after["stirling_message_log_written_total"], 3.0);
    assert_eq!(after["stirling_message_log_queue_depth"], 0.0);
    assert_eq!(server.requests(), 1);
}

/// The checker above is only worth something if it refuses what Prometheus would.
#[test]
fn the_checker_refuses_broken_expositions() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n";
    assert_eq!(parse_exposition(good)["a_total{x=\"1\"}"], 2.0);
    let broken = [
        // No TYPE, no HELP, sample before its family.
        "# HELP a_total A.\na_total 1\n",
        "a_total 1\n",
        // A counter not ending in _total; a bad name; a bad value; an unquoted label.
        "# HELP a A.\n# TYPE a counter\na 1\n",
        "# HELP 1a_total A.\n# TYPE 1a_total counter\n1a_total 1\n",
        "# HELP a_total A.\n# TYPE a_total counter\na_total one\n",
        "# HELP a_total A.\n# TYPE a_total counter\na_total{x=1} 1\n",
        // A duplicate series; a family reopened.
        "# HELP a_total A.\n# TYPE a_total counter\na_total 1\na_total 2\n",
        "# HELP a_total A.\n# TYPE a_total counter\n# HELP b_total B.\n# TYPE b_total counter\n\
         b_total 1\na_total 1\n",
        // Buckets not cumulative; no +Inf; +Inf not equal to _count.
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",
        // No final newline.
        "# HELP a_total A.\n# TYPE a_total counter\na_total 1",
    ];
    for text in broken {
        let refused = std::panic::catch_unwind(|| parse_exposition(text)).is_err();
        assert!(refused, "accepted: {text:?}");
    }
}

/// Parses a text exposition, failing on anything format 0.0.4 does not allow or that breaks
/// the family rules: HELP and TYPE once each, before the family's samples; samples of a
/// family together, named after it (histograms: `_bucket`, `_sum`, `_count`); counters
/// ending in `_total`; no duplicate series; histogram buckets cumulative up to `+Inf`, which
/// equals `_count`.
fn parse_exposition(text: &str) -> Samples {
    let mut samples = Samples::new();
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = HashSet::new();
    let mut closed = HashSet::new();
    let mut current: Option<String> = None;
    let mut buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    assert!(text.ends_with('\n'), "exposition must end with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            assert!(valid_name(name), "{line}");
            assert!(!help.is_empty(), "{line}");
            assert!(helped.insert(name.to_owned()), "second HELP: {line}");
            if let Some(previous) = current.replace(name.to_owned()) {
                closed.insert(previous);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(valid_name(name), "{line}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert_eq!(
                current.as_deref(),
                Some(name),
                "TYPE without its HELP: {line}"
            );
            assert!(
                families.insert(name.to_owned(), kind.to_owned()).is_none(),
                "second TYPE: {line}"
            );
            if kind == "counter" {
                assert!(name.ends_with("_total"), "{line}");
            }
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').unwrap())),
            None => (series, Vec::new()),
        };
        assert!(valid_name(name), "{line}");
        let family = current
            .as_deref()
            .unwrap_or_else(|| panic!("sample first: {line}"));
        assert!(!closed.contains(family), "{line}");
        let kind = families
            .get(family)
            .unwrap_or_else(|| panic!("no TYPE: {line}"));
        match kind.as_str() {
            "histogram" => {
                let suffix = name
                    .strip_prefix(family)
                    .unwrap_or_else(|| panic!("{line}"));
                assert!(["_bucket", "_sum", "_count"].contains(&suffix), "{line}");
                if suffix == "_bucket" {
                    let le = labels.iter().find(|(k, _)| k == "le").unwrap();
                    let le: f64 = match le.1.as_str() {
                        "+Inf" => f64::INFINITY,
                        v => v.parse().unwrap(),
                    };
                    let rest: Vec<String> = labels
                        .iter()
                        .filter(|(k, _)| k != "le")
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    buckets
                        .entry(format!("{family}{{{}}}", rest.join(",")))
                        .or_default()
                        .push((le, value));
                }
            }
            _ => assert_eq!(name, family, "{line}"),
        }
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "duplicate {line}"
        );
    }
    for (series, list) in &buckets {
        assert!(
            list.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{series}"
        );
        let (last_le, last) = list.last().unwrap();
        assert!(last_le.is_infinite(), "{series} has no +Inf bucket");
        let (family, labels) = series.split_once('{').unwrap();
        let labels = labels
            .trim_end_matches('}')
            .replace('=', "=\"")
            .replace(',', "\",");
        let count = format!("{family}_count{{{labels}\"}}");
        assert_eq!(samples.get(&count), Some(last), "{count}");
    }
    samples
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `a="x",b="y"` → pairs; values may not hold quotes, backslashes or newlines unescaped.
fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{text}"));
        assert!(valid_name(name) && !name.contains(':'), "label {name}");
        let end = after.find('"').unwrap_or_else(|| panic!("{text}"));
        let value = &after[..end];
        assert!(!value.contains(['\\', '\n']), "{text}");
        out.push((name.to_owned(), value.to_owned()));
        rest = after[end + 1..]
            .strip_prefix(',')
            .unwrap_or(&after[end + 1..]);
    }
    out
}
