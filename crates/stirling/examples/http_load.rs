//! A small closed-loop load generator for the ATIS-1000082 HTTP interface of a running
//! `stirling serve`: N keep-alive connections, each sending `POST /stir/v1/signing` (or
//! `/stir/v1/verification` with `--identity`) back to back, then throughput, latency
//! percentiles and, given the server's pid, its CPU time per request from `/proc`.
//!
//! `bench/http-load` starts the service and runs this; by hand:
//!
//! ```sh
//! STIRLING_API_TOKEN=stk_… cargo run --release -p stirling --example http_load -- \
//!     --url http://127.0.0.1:8080 --connections 8 --requests 50000 --server-pid PID
//! ```
//!
//! Plain HTTP to loopback only: it refuses any other address.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use serde_json::json;

#[derive(Parser, Debug)]
#[command(about = "HTTP load on /stir/v1/signing or /stir/v1/verification")]
struct Args {
    /// Base URL of the service's plain HTTP listener (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// API token (`stk_…`).
    #[arg(long, env = "STIRLING_API_TOKEN", hide_env_values = true)]
    token: String,
    /// Concurrent keep-alive connections, each with one request in flight.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Requests in all.
    #[arg(long, default_value_t = 50_000)]
    requests: u64,
    /// Verify this Identity header value instead of signing.
    #[arg(long)]
    identity: Option<String>,
    /// The server's pid, for its CPU time per request (utime+stime from /proc/PID/stat).
    #[arg(long)]
    server_pid: Option<u32>,
}

/// What one connection saw.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    failed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let base = url::Url::parse(&args.url).context("--url")?;
    let loopback = match base.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if base.scheme() != "http" || !loopback {
        bail!("--url must be plain http on loopback");
    }
    // reqwest is built without a default TLS provider; plain HTTP needs none, but the client
    // builder still wants one installed.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    let (path, body) = match &args.identity {
        Some(identity) => (
            "stir/v1/verification",
            json!({"verificationRequest": {"from": {"tn": "12155550121"},
                "to": {"tn": ["12155550131"]}, "identity": identity}}),
        ),
        None => (
            "stir/v1/signing",
            json!({"signingRequest": {"attest": "A", "orig": {"tn": "12155550121"},
                "dest": {"tn": ["12155550131"]}}}),
        ),
    };
    let target = base.join(path).context("request URL")?;
    let verifying = args.identity.is_some();
    let body = bytes::Bytes::from(serde_json::to_vec(&body)?);
    let auth = format!("Bearer {}", args.token);

    let remaining = Arc::new(AtomicU64::new(args.requests));
    let cpu_before = args.server_pid.map(server_cpu).transpose()?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections.max(1) {
        // One client per task: each keeps its own single keep-alive connection.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(10))
            .build()
            .context("HTTP client")?;
        let (target, body, auth, remaining) = (
            target.clone(),
            body.clone(),
            auth.clone(),
            remaining.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                let sent = Instant::now();
                let response = client
                    .post(target.clone())
                    .header("Authorization", &auth)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let ok = match response {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        // A verification answers 200 whatever the verstat: only a pass counts.
                        Ok(body) => !verifying || verification_passed(&body),
                        Err(_) => false,
                    },
                    _ => false,
                };
                let us = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                if ok {
                    tally.latencies_us.push(us);
                } else {
                    tally.failed += 1;
                }
            }
            tally
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    for task in tasks {
        let tally = task.await.context("load task")?;
        latencies.extend(tally.latencies_us);
        failed += tally.failed;
    }
    let elapsed = started.elapsed();
    let cpu_after = args.server_pid.map(server_cpu).transpose()?;
    latencies.sort_unstable();

    let ok = latencies.len() as u64;
    let pct = |p: f64| -> f64 {
        // Nearest rank.
        let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
        latencies
            .get(rank.saturating_sub(1))
            .map_or(f64::NAN, |&us| f64::from(us) / 1000.0)
    };
    println!("endpoint:             POST /{path}");
    println!("connections:          {}", args.connections);
    println!("requests:             {ok} ok, {failed} failed");
    println!(
        "throughput:           {:.0} requests/s over {:.2} s",
        ok as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "latency:              p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        pct(50.0),
        pct(90.0),
        pct(99.0),
        pct(100.0)
    );
    if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
        let cpu = after - before;
        println!(
            "server CPU:           {:.1} us/request ({cpu:.2} s)",
            cpu * 1e6 / (ok + failed).max(1) as f64
        );
    }
    Ok(())
}

/// Whether a verification response body reports `TN-Validation-Passed`.
fn verification_passed(body: &[u8]) -> bool {
    const PASSED: &[u8] = b"\"TN-Validation-Passed\"";
    body.windows(PASSED.len()).any(|w| w == PASSED)
}

/// utime + stime of `pid` in seconds (fields 14 and 15 of /proc/PID/stat).
fn server_cpu(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name may hold spaces; count fields after its closing parenthesis.
    let rest = stat
        .rfind(')')
        .and_then(|i| stat.get(i + 2..))
        .context("malformed /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .context("short /proc stat")?
            .parse::<u64>()
            .context("/proc stat field")? as f64)
    };
    // USER_HZ is 100 on Linux for every architecture this runs on (sysconf(_SC_CLK_TCK)).
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}
