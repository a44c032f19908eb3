//! Prometheus metrics, served as text (exposition format 0.0.4) at `GET /metrics`.
//!
//! A small hand-written registry rather than the `prometheus-client` crate: the set is fixed
//! and small (calls by service and result or SIP code, two latency histograms, the x5u cache,
//! the keys with precomputed multiples, the message log), and every label value comes from a
//! closed set, so each series is a preallocated atomic. Recording a call is a few relaxed `fetch_add`s: no lock, no
//! allocation, no label hashing (a `prometheus-client` `Family` hashes the label set and
//! takes a lock on every observation). Scraping reads the atomics and formats text.
//!
//! Times are exported in seconds (Prometheus' base unit) with buckets from 10 µs to 1 s.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sti::X5uCacheStats;

use crate::store::{CallResult, Service};

/// Upper bounds of the latency buckets, in microseconds: 10 µs (an ES256 signature takes
/// ~17 µs) up to 1 s (an x5u fetch at its timeout); slower calls land in `+Inf`.
pub const LATENCY_BUCKETS_US: [u64; 16] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
    500_000, 1_000_000,
];

/// SIP final and provisional codes are 100 to 699 (RFC 3261 §7.2); one counter each.
const FIRST_CODE: u16 = 100;
const CODES: usize = 600;

const SERVICES: usize = Service::ALL.len();
const RESULTS: usize = CallResult::ALL.len();

/// Source of the x5u cache's counters, read at scrape time.
type X5uStatsSource = Box<dyn Fn() -> X5uCacheStats + Send + Sync>;
/// Source of a gauge, read at scrape time.
type GaugeSource = Box<dyn Fn() -> u64 + Send + Sync>;

/// The service's metrics. Share one `Arc<Metrics>` between the SIP front, the HTTP API, the
/// message log and the `/metrics` route.
pub struct Metrics {
    results: [[AtomicU64; RESULTS]; SERVICES],
    codes: [Box<[AtomicU64]>; SERVICES],
    latency: [Histogram; SERVICES],
    log_dropped: AtomicU64,
    log_written: AtomicU64,
    log_write_failed: AtomicU64,
    log_queue_depth: AtomicU64,
    x5u: OnceLock<X5uStatsSource>,
    precomputed_keys: OnceLock<GaugeSource>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Every counter at zero.
    pub fn new() -> Self {
        Self {
            results: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            codes: std::array::from_fn(|_| (0..CODES).map(|_| AtomicU64::new(0)).collect()),
            latency: std::array::from_fn(|_| Histogram::new()),
            log_dropped: AtomicU64::new(0),
            log_written: AtomicU64::new(0),
            log_write_failed: AtomicU64::new(0),
            log_queue_depth: AtomicU64::new(0),
            x5u: OnceLock::new(),
            precomputed_keys: OnceLock::new(),
        }
    }

    /// Counts one answered call: its result, its SIP status code and its latency. Cheap enough
    /// for every call (atomics only). [`crate::message_log::MessageLog::record`] calls it; use
    /// it directly only for calls that are not logged.
    pub fn record_call(
        &self,
        service: Service,
        result: CallResult,
        status_code: u16,
        latency: Duration,
    ) {
        let s = service as usize;
        self.results[s][result as usize].fetch_add(1, Ordering::Relaxed);
        if let Some(counter) = status_code
            .checked_sub(FIRST_CODE)
            .and_then(|i| self.codes[s].get(usize::from(i)))
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.latency[s].observe(latency);
    }

    /// Reads the x5u cache's hit and miss counters at each scrape, e.g.
    /// `metrics.watch_x5u_cache(move || cache.stats())`. Only the first source is kept;
    /// returns whether this one was.
    pub fn watch_x5u_cache(
        &self,
        stats: impl Fn() -> X5uCacheStats + Send + Sync + 'static,
    ) -> bool {
        self.x5u.set(Box::new(stats)).is_ok()
    }

    /// Reads how many signers' keys hold precomputed multiples at each scrape, e.g.
    /// `metrics.watch_precomputed_keys(move || verifier.precomputed_keys() as u64)`. Only the
    /// first source is kept; returns whether this one was.
    pub fn watch_precomputed_keys(&self, held: impl Fn() -> u64 + Send + Sync + 'static) -> bool {
        self.precomputed_keys.set(Box::new(held)).is_ok()
    }

    /// Records the log could not queue (the writer fell behind) or lost to a store failure.
    pub fn message_log_dropped(&self) -> u64 {
        self.log_dropped.load(Ordering::Relaxed)
    }

    /// Records the log's writer stored.
    pub fn message_log_written(&self) -> u64 {
        self.log_written.load(Ordering::Relaxed)
    }

    /// Records waiting for the writer now.
    pub fn message_log_queue_depth(&self) -> u64 {
        self.log_queue_depth.load(Ordering::Relaxed)
    }

    pub(crate) fn log_dropped(&self) {
        self.log_dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn log_queued(&self) {
        self.log_queue_depth.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn log_dequeued(&self, n: usize) {
        // The writer only dequeues what was queued, so this never goes below zero; saturate
        // anyway rather than wrap if that ever changes.
        let n = n as u64;
        let _ = self
            .log_queue_depth
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                Some(d.saturating_sub(n))
            });
    }

    pub(crate) fn log_written(&self, n: usize) {
        self.log_written.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn log_write_failed(&self, n: usize) {
        self.log_write_failed.fetch_add(n as u64, Ordering::Relaxed);
        self.log_dropped.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        family(
            &mut out,
            "stirling_calls_total",
            "counter",
            "Calls answered, by service and result.",
        );
        for service in Service::ALL {
            for result in CallResult::ALL {
                let n = self.results[*service as usize][*result as usize].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "stirling_calls_total{{service=\"{service}\",result=\"{result}\"}} {n}"
                );
            }
        }
        family(
            &mut out,
            "stirling_call_responses_total",
            "counter",
            "Final SIP responses sent for calls, by service and status code.",
        );
        for service in Service::ALL {
            for (i, counter) in self.codes[*service as usize].iter().enumerate() {
                let n = counter.load(Ordering::Relaxed);
                // Only codes seen: 600 mostly-zero series per service would bloat every scrape.
                if n > 0 {
                    let code = usize::from(FIRST_CODE) + i;
                    let _ = writeln!(
                        out,
                        "stirling_call_responses_total{{service=\"{service}\",code=\"{code}\"}} {n}"
                    );
                }
            }
        }
        family(
            &mut out,
            "stirling_call_duration_seconds",
            "histogram",
            "Time from request to response, by service.",
        );
        for service in Service::ALL {
            self.latency[*service as usize].render(
                &mut out,
                "stirling_call_duration_seconds",
                &format!("service=\"{service}\""),
            );
        }
        let (hits, misses) = self
            .x5u
            .get()
            .map(|stats| {
                let s = stats();
                (s.hits, s.misses)
            })
            .unwrap_or((0, 0));
        for (name, help, value) in [
            (
                "stirling_x5u_cache_hits_total",
                "x5u lookups answered from the cache (good or negative entries).",
                hits,
            ),
            (
                "stirling_x5u_cache_misses_total",
                "x5u lookups that fetched and validated a chain.",
                misses,
            ),
            (
                "stirling_message_log_dropped_total",
                "SIP message log records lost: queue full or store write failed.",
                self.log_dropped.load(Ordering::Relaxed),
            ),
            (
                "stirling_message_log_write_failures_total",
                "SIP message log records lost because the store refused their batch.",
                self.log_write_failed.load(Ordering::Relaxed),
            ),
            (
                "stirling_message_log_written_total",
                "SIP message log records stored.",
                self.log_written.load(Ordering::Relaxed),
            ),
        ] {
            family(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {value}");
        }
        family(
            &mut out,
            "stirling_message_log_queue_depth",
            "gauge",
            "SIP message log records waiting for the writer.",
        );
        let _ = writeln!(
            out,
            "stirling_message_log_queue_depth {}",
            self.log_queue_depth.load(Ordering::Relaxed)
        );
        family(
            &mut out,
            "stirling_verification_precomputed_keys",
            "gauge",
            "Signers' keys holding precomputed multiples (verification.precomputed_keys).",
        );
        let _ = writeln!(
            out,
            "stirling_verification_precomputed_keys {}",
            self.precomputed_keys.get().map_or(0, |held| held())
        );
        out
    }
}

/// `GET /metrics` on `metrics`. The route carries its own state, so it merges into the
/// application's router whatever that router's state is.
pub fn router<S: Clone + Send + Sync + 'static>(metrics: Arc<Metrics>) -> Router<S> {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        metrics.render(),
    )
        .into_response()
}

/// A latency histogram: one counter per bucket (not cumulative; summed at scrape), plus the
/// overflow bucket, the count and the sum in microseconds.
struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_us: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BUCKETS_US.partition_point(|&le| le < us);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0u64;
        for (i, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = LATENCY_BUCKETS_US
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |&us| seconds(us));
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
        let sum = seconds(self.sum_us.load(Ordering::Relaxed));
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        // The count is the +Inf bucket: reading it from there keeps the two consistent
        // within one scrape even while calls are recorded.
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

/// Microseconds as decimal seconds without trailing zeros: 10 → `0.00001`, 1000000 → `1`.
fn seconds(us: u64) -> String {
    let text = format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_written_without_trailing_zeros() {
        assert_eq!(seconds(10), "0.00001");
        assert_eq!(seconds(2_500), "0.0025");
        assert_eq!(seconds(1_000_000), "1");
        assert_eq!(seconds(1_500_000), "1.5");
        assert_eq!(seconds(0), "0");
    }

    #[test]
    fn latencies_land_in_the_first_bucket_that_holds_them() {
        let h = Histogram::new();
        for us in [0, 10, 11, 1_000_000, 1_000_001] {
            h.observe(Duration::from_micros(us));
        }
        let counts: Vec<u64> = h
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts[0], 2, "0 and 10 µs are ≤ 10 µs");
        assert_eq!(counts[1], 1, "11 µs is ≤ 25 µs");
        assert_eq!(counts[LATENCY_BUCKETS_US.len() - 1], 1, "1 s is ≤ 1 s");
        assert_eq!(counts[LATENCY_BUCKETS_US.len()], 1, "over 1 s is +Inf only");
        assert_eq!(h.count.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn codes_outside_sip_range_are_not_counted_but_calls_are() {
        let m = Metrics::new();
        m.record_call(Service::Signing, CallResult::Error, 42, Duration::ZERO);
        m.record_call(Service::Signing, CallResult::Error, 700, Duration::ZERO);
        let text = m.render();
        assert!(text.contains("stirling_calls_total{service=\"signing\",result=\"error\"} 2"));
        assert!(!text.contains("code=\"42\""), "{text}");
        assert!(!text.contains("code=\"700\""), "{text}");
    }
}
