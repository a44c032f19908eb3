//! The x5u cache against a real HTTPS server on 127.0.0.1: single flight, TTL from
//! Cache-Control with the 24 h floor and the notAfter ceiling, and the negative cache.
//! Time moves through an injected clock, never by sleeping.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use sti::{FetchError, X5uCacheStats, X5uConfig, X5uError};
use support::{Behaviour, ManualClock, Refused, Reply, TestPki, TestResult, TestServer, cache};

const NOW: u64 = 1_800_000_000;
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;
const FAR: u64 = NOW + 365 * DAY;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

async fn server_with(
    pki: &TestPki,
    reply: Reply,
) -> Result<TestServer, Box<dyn std::error::Error + Send + Sync>> {
    TestServer::start(pki, Behaviour::Respond(reply)).await
}

#[tokio::test]
async fn warm_lookup_neither_fetches_nor_validates_again() -> TestResult {
    let pki = TestPki::new()?;
    let server = server_with(&pki, Reply::ok(pki.chain_pem.clone())).await?;
    let validations = Arc::new(AtomicUsize::new(0));
    let cache = cache(
        &pki.config(server.port()),
        ManualClock::at(NOW),
        FAR,
        10,
        validations.clone(),
    )?;
    let url = server.url("leaf.pem");

    let first = cache.lookup(&url).await?;
    let second = cache.lookup(&url).await?;

    assert_eq!(first.certificates, 2);
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(server.requests(), 1);
    assert_eq!(validations.load(Ordering::SeqCst), 1);
    assert_eq!(cache.stats(), X5uCacheStats { hits: 1, misses: 1 });
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousand_concurrent_lookups_of_a_new_url_fetch_once() -> TestResult {
    let pki = TestPki::new()?;
    let server = server_with(&pki, Reply::ok(pki.chain_pem.clone())).await?;
    let validations = Arc::new(AtomicUsize::new(0));
    let cache = cache(
        &pki.config(server.port()),
        ManualClock::at(NOW),
        FAR,
        10,
        validations.clone(),
    )?;
    let url = server.url("leaf.pem");

    let lookups = (0..1000).map(|_| {
        let (cache, url) = (cache.clone(), url.clone());
        tokio::spawn(async move { cache.lookup(&url).await })
    });
    let results = join_all(lookups).await;

    let mut chains = Vec::new();
    for joined in results {
        chains.push(joined??);
    }
    assert_eq!(chains.len(), 1000);
    assert!(chains.iter().all(|c| Arc::ptr_eq(c, &chains[0])));
    assert_eq!(server.requests(), 1, "server hits");
    assert_eq!(validations.load(Ordering::SeqCst), 1);
    // Every lookup but the one that fetched was answered without fetching.
    assert_eq!(
        cache.stats(),
        X5uCacheStats {
            hits: 999,
            misses: 1
        }
    );
    Ok(())
}

#[tokio::test]
async fn short_max_age_is_raised_to_24_hours() -> TestResult {
    let pki = TestPki::new()?;
    let reply = Reply::ok(pki.chain_pem.clone()).header("Cache-Control", "max-age=60");
    let server = server_with(&pki, reply).await?;
    let clock = ManualClock::at(NOW);
    let cache = cache(
        &pki.config(server.port()),
        clock.clone(),
        FAR,
        10,
        Arc::default(),
    )?;
    let url = server.url("leaf.pem");

    cache.lookup(&url).await?;
    clock.advance(secs(DAY - 1));
    cache.lookup(&url).await?;
    assert_eq!(server.requests(), 1, "refetched before 24 h");
    clock.advance(secs(1));
    cache.lookup(&url).await?;
    assert_eq!(server.requests(), 2, "not refetched at 24 h");
    Ok(())
}

#[tokio::test]
async fn missing_cache_control_caches_24_hours() -> TestResult {
    let pki = TestPki::new()?;
    let server = server_with(&pki, Reply::ok(pki.chain_pem.clone())).await?;
    let clock = ManualClock::at(NOW);
    let cache = cache(
        &pki.config(server.port()),
        clock.clone(),
        FAR,
        10,
        Arc::default(),
    )?;
    let url = server.url("leaf.pem");

    cache.lookup(&url).await?;
    clock.advance(secs(DAY - 1));
    cache.lookup(&url).await?;
    assert_eq!(server.requests(), 1);
    clock.advance(secs(1));
    cache.lookup(&url).await?;
    assert_eq!(server.requests(), 2);
    Ok(())
}

#[tokio::test]
async fn longer_max_age_is_honoured() -> TestResult {
    let pki = TestPki::new()?;
    let reply = Reply::ok(pki.chain_pem.clone()).header("Cache-Control", "public, max-age=172800");
    let server = server_with(&pki, reply).await?;
    let clock = ManualClock::at(NOW);
    let cache = cache(
        &pki.config(server.port()),
        clock.clone(),
        FAR,
        10,
        Arc::default(),
    )?;
    let url = server.url("leaf.pem");

    cache.lookup(&url).await?;
    clock.advance(secs(2 * DAY - 1));
    cache.lookup(&url).await?;
    assert_eq!(server.requests(), 1, "refetched before max-age");
    clock.advance(secs(1));
    cache.lookup(&url).await?;
    assert_eq!(server.requests(), 2, "not refetched at max-age");
    Ok(())
}

#[tokio::test]
async fn never_cached_past_the_leaf_not_after() -> TestResult {
    let pki = TestPki::new()?;
    let reply = Reply::ok(pki.chain_pem.clone()).header("Cache-Control", "max-age=864000");
    let server = server_with(&pki, reply).await?;
    let clock = ManualClock::at(NOW);
    let not_after = NOW + HOUR;
    let cache = cache(
        &pki.config(server.port()),
        clock.clone(),
        not_after,
        10,
        Arc::default(),
    )?;
    let url = server.url("leaf.pem");

    cache.lookup(&url).await?;
    clock.advance(secs(HOUR - 1));
    cache.lookup(&url).await?;
    assert_eq!(server.requests(), 1);
    clock.advance(secs(1));
    cache.lookup(&url).await?;
    assert_eq!(server.requests(), 2, "served past notAfter");
    Ok(())
}

#[tokio::test]
async fn fetch_failures_are_cached_for_the_negative_ttl() -> TestResult {
    let pki = TestPki::new()?;
    let server = server_with(&pki, Reply::status(404)).await?;
    let clock = ManualClock::at(NOW);
    let cache = cache(
        &pki.config(server.port()),
        clock.clone(),
        FAR,
        10,
        Arc::default(),
    )?;
    let url = server.url("leaf.pem");

    let first = cache.lookup(&url).await.err();
    assert!(
        matches!(
            first,
            Some(X5uError::Fetch(FetchError::HttpStatus { status: 404 }))
        ),
        "{first:?}"
    );
    // The repository is fixed, but the failure is remembered for 30 s.
    server.set(Behaviour::Respond(Reply::ok(pki.chain_pem.clone())));
    clock.advance(secs(29));
    let second = cache.lookup(&url).await.err();
    assert!(
        matches!(
            second,
            Some(X5uError::Fetch(FetchError::HttpStatus { status: 404 }))
        ),
        "{second:?}"
    );
    assert_eq!(server.requests(), 1, "the second lookup reached the server");

    assert_eq!(
        cache.stats(),
        X5uCacheStats { hits: 1, misses: 1 },
        "negative hit"
    );

    clock.advance(secs(1));
    assert_eq!(cache.lookup(&url).await?.certificates, 2);
    assert_eq!(server.requests(), 2);
    assert_eq!(
        cache.stats(),
        X5uCacheStats { hits: 1, misses: 2 },
        "expired: refetched"
    );
    Ok(())
}

#[tokio::test]
async fn negative_ttl_is_configurable() -> TestResult {
    let pki = TestPki::new()?;
    let server = server_with(&pki, Reply::status(500)).await?;
    let clock = ManualClock::at(NOW);
    let config = X5uConfig {
        negative_ttl: secs(5),
        ..pki.config(server.port())
    };
    let cache = cache(&config, clock.clone(), FAR, 10, Arc::default())?;
    let url = server.url("leaf.pem");

    assert!(cache.lookup(&url).await.is_err());
    clock.advance(secs(4));
    assert!(cache.lookup(&url).await.is_err());
    assert_eq!(server.requests(), 1);
    clock.advance(secs(1));
    assert!(cache.lookup(&url).await.is_err());
    assert_eq!(server.requests(), 2);
    Ok(())
}

#[tokio::test]
async fn validation_failures_are_cached_and_reported_as_such() -> TestResult {
    let pki = TestPki::new()?;
    let server = server_with(&pki, Reply::ok(pki.chain_pem.clone())).await?;
    let validations = Arc::new(AtomicUsize::new(0));
    // This validator accepts single certificates only; the body has two.
    let cache = cache(
        &pki.config(server.port()),
        ManualClock::at(NOW),
        FAR,
        1,
        validations.clone(),
    )?;
    let url = server.url("leaf.pem");

    for _ in 0..3 {
        let err = cache.lookup(&url).await.err();
        assert!(
            matches!(err, Some(X5uError::Validation(Refused(2)))),
            "{err:?}"
        );
    }
    assert_eq!(server.requests(), 1);
    assert_eq!(validations.load(Ordering::SeqCst), 1);
    Ok(())
}

#[tokio::test]
async fn urls_are_cached_separately() -> TestResult {
    let pki = TestPki::new()?;
    let server = server_with(&pki, Reply::ok(pki.chain_pem.clone())).await?;
    let cache = cache(
        &pki.config(server.port()),
        ManualClock::at(NOW),
        FAR,
        10,
        Arc::default(),
    )?;

    let a = cache.lookup(&server.url("a.pem")).await?;
    let b = cache.lookup(&server.url("b.pem")).await?;
    assert!(!Arc::ptr_eq(&a, &b));
    assert_eq!(server.requests(), 2);
    cache.clear();
    cache.lookup(&server.url("a.pem")).await?;
    assert_eq!(server.requests(), 3, "clear kept an entry");
    Ok(())
}

#[tokio::test]
async fn the_cache_is_bounded() -> TestResult {
    let pki = TestPki::new()?;
    let server = server_with(&pki, Reply::ok(pki.chain_pem.clone())).await?;
    let config = X5uConfig {
        max_entries: 3,
        ..pki.config(server.port())
    };
    let cache = cache(&config, ManualClock::at(NOW), FAR, 10, Arc::default())?;
    for i in 0..20 {
        cache.lookup(&server.url(&format!("{i}.pem"))).await?;
    }
    assert_eq!(server.requests(), 20);
    let held = cache.entry_count().await;
    assert!((1..=3).contains(&held), "{held} entries held");
    Ok(())
}
