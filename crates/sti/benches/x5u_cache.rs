//! Criterion benchmarks of the x5u cache.
//!
//! - `x5u_cache/warm_lookup`: a lookup that the cache answers (the verifier's common case).
//! - `x5u_body/parse_chain`: parsing the 2-certificate PEM body, part of what a warm lookup
//!   saves; shown in the same run so the warm figure reads as a ratio.
//! - `x5u_cache/cold_lookup`: clear, then fetch over TLS from a server on 127.0.0.1 and
//!   validate (the test validator does no X.509 work), so mostly handshake and HTTP cost.
//!
//! Run: `cargo bench -p sti --bench x5u_cache`. To reduce noise, pin to one core
//! (`taskset -c 1 cargo bench …`) on an otherwise idle machine.

#![allow(missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use support::{Behaviour, ManualClock, Reply, TestPki, TestServer, cache};

type Setup = (
    tokio::runtime::Runtime,
    TestPki,
    TestServer,
    sti::X5uCache<support::Checked, support::Refused>,
);

fn setup() -> Result<Setup, Box<dyn std::error::Error + Send + Sync>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let pki = TestPki::new()?;
    let reply = Reply::ok(pki.chain_pem.clone());
    let server = rt.block_on(TestServer::start(&pki, Behaviour::Respond(reply)))?;
    let config = pki.config(server.port());
    let clock = ManualClock::at(1_800_000_000);
    let cache = cache(&config, clock, 1_900_000_000, 10, Arc::default())?;
    rt.block_on(cache.lookup(&server.url("leaf.pem")))?;
    Ok((rt, pki, server, cache))
}

fn benches(c: &mut Criterion) {
    let (rt, pki, server, cache) = match setup() {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("x5u benchmark set-up failed: {e}");
            return;
        }
    };
    let url = server.url("leaf.pem");

    c.bench_function("x5u_cache/warm_lookup", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(cache.lookup(black_box(&url)).await) })
    });

    let body = pki.chain_pem.as_bytes();
    c.bench_function("x5u_body/parse_chain", |b| {
        b.iter(|| black_box(sti::parse_x5u_body(black_box(body))))
    });

    let mut cold = c.benchmark_group("x5u_cache");
    cold.sample_size(20);
    cold.bench_function("cold_lookup", |b| {
        b.to_async(&rt).iter(|| async {
            cache.clear();
            let looked_up = cache.lookup(&url).await;
            assert!(looked_up.is_ok(), "{looked_up:?}");
            black_box(looked_up)
        })
    });
    cold.finish();
}

criterion_group!(x5u, benches);
criterion_main!(x5u);
