//! The x5u cache: validated chains by URL, with single-flight fetching and negative caching.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;
use passport::UnixTime;
use rustls_pki_types::CertificateDer;

use super::config::X5uConfig;
use super::error::X5uError;
use super::fetcher::X5uFetcher;
use super::ttl;
use crate::clock::Clock;

/// A validated chain that knows when its leaf certificate expires, so the cache never serves
/// it past that time (`reference/standards.md` §3.6).
pub trait Expiring {
    /// The leaf certificate's notAfter.
    fn not_after(&self) -> UnixTime;
}

type Validator<T, E> = dyn Fn(&[CertificateDer<'static>]) -> Result<T, E> + Send + Sync;

/// Validated x5u chains by URL.
///
/// `T` is whatever the caller's validator makes of a fetched chain (a verified path and the
/// leaf's public key, say); `E` is its error. A warm lookup is one hash-map probe and an `Arc`
/// clone: no parsing, no validation.
///
/// - Single flight: concurrent lookups of a URL that is not cached share one fetch.
/// - A chain is cached for `max(max-age, 24 h)` but never past [`Expiring::not_after`].
/// - A failure (fetch or validation) is cached for [`X5uConfig::negative_ttl`].
/// - At most [`X5uConfig::max_entries`] URLs are held; moka evicts beyond that.
///
/// Cheap to clone; clones share the cache.
///
/// ```no_run
/// use std::sync::Arc;
/// use sti::{Expiring, SystemClock, X5uCache, X5uConfig, X5uError, X5uFetcher};
/// use passport::UnixTime;
///
/// /// What the validator keeps: here only the leaf's notAfter.
/// struct Valid(UnixTime);
/// impl Expiring for Valid {
///     fn not_after(&self) -> UnixTime {
///         self.0
///     }
/// }
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let config = X5uConfig::default();
/// let cache = X5uCache::new(&config, X5uFetcher::new(&config)?, Arc::new(SystemClock), |chain| {
///     // Real code validates the chain against the STI-PA trust anchors here.
///     if chain.is_empty() { Err("empty") } else { Ok(Valid(UnixTime::now())) }
/// });
/// match cache.lookup("https://cr.example.com/sp.pem").await {
///     Ok(valid) => println!("leaf valid until {:?}", valid.0),
///     Err(X5uError::Fetch(e)) => println!("436 Bad Identity Info: {e}"),
///     Err(X5uError::Validation(e)) => println!("437 Unsupported Credential: {e}"),
/// }
/// # Ok(())
/// # }
/// ```
pub struct X5uCache<T, E> {
    inner: Arc<Inner<T, E>>,
}

struct Inner<T, E> {
    fetcher: X5uFetcher,
    validate: Box<Validator<T, E>>,
    clock: Arc<dyn Clock>,
    negative_ttl: Duration,
    entries: Cache<String, Arc<Entry<T, E>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How often [`X5uCache::lookup`] was answered from the cache, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct X5uCacheStats {
    /// Lookups answered by an entry already cached (good or negative), including those that
    /// waited for another lookup's fetch of the same URL (single flight).
    pub hits: u64,
    /// Lookups that fetched and validated the chain themselves.
    pub misses: u64,
}

struct Entry<T, E> {
    outcome: Result<Arc<T>, X5uError<E>>,
    expires_at: UnixTime,
    /// `expires_at` as a duration from insertion, for moka's own expiry (a memory backstop;
    /// freshness is decided by `expires_at` against the injected clock).
    ttl: Duration,
}

impl<T, E> X5uCache<T, E>
where
    T: Expiring + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// A cache that fetches with `fetcher`, validates with `validate` and reads time from
    /// `clock`; `config` gives the negative TTL and the size bound.
    pub fn new(
        config: &X5uConfig,
        fetcher: X5uFetcher,
        clock: Arc<dyn Clock>,
        validate: impl Fn(&[CertificateDer<'static>]) -> Result<T, E> + Send + Sync + 'static,
    ) -> Self {
        let entries = Cache::builder()
            .max_capacity(config.max_entries)
            .expire_after(EntryExpiry)
            .build();
        Self {
            inner: Arc::new(Inner {
                fetcher,
                validate: Box::new(validate),
                clock,
                negative_ttl: config.negative_ttl,
                entries,
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
            }),
        }
    }

    /// The validated chain at `x5u`, from the cache or fetched and validated now.
    ///
    /// # Errors
    ///
    /// [`X5uError::Fetch`] when the chain cannot be fetched, [`X5uError::Validation`] when the
    /// validator rejects it; either may come from the negative cache.
    pub async fn lookup(&self, x5u: &str) -> Result<Arc<T>, X5uError<E>> {
        let inner = &self.inner;
        if let Some(entry) = inner.entries.get(x5u).await
            && entry.expires_at > inner.clock.now()
        {
            inner.hits.fetch_add(1, Ordering::Relaxed);
            return entry.outcome.clone();
        }
        let entry = inner
            .entries
            .entry_by_ref(x5u)
            .or_insert_with_if(inner.load(x5u), |entry| {
                entry.expires_at <= inner.clock.now()
            })
            .await;
        // Fresh: this lookup ran the load; otherwise another lookup's load (or an entry
        // inserted meanwhile) answered it.
        let counter = match entry.is_fresh() {
            true => &inner.misses,
            false => &inner.hits,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        entry.into_value().outcome.clone()
    }

    /// Lookups answered from the cache and lookups that fetched, since the cache was made.
    pub fn stats(&self) -> X5uCacheStats {
        X5uCacheStats {
            hits: self.inner.hits.load(Ordering::Relaxed),
            misses: self.inner.misses.load(Ordering::Relaxed),
        }
    }

    /// How many URLs are cached, good and bad, after finishing pending evictions (moka
    /// applies evictions in batches); for metrics.
    pub async fn entry_count(&self) -> u64 {
        self.inner.entries.run_pending_tasks().await;
        self.inner.entries.entry_count()
    }

    /// Drops every cached entry, good and bad.
    pub fn clear(&self) {
        self.inner.entries.invalidate_all();
    }
}

impl<T, E> Inner<T, E>
where
    T: Expiring,
{
    /// Fetches and validates. Validation runs inline on the runtime: it happens once per URL
    /// per TTL (about 170 µs for a webpki path, `reference/rust-stack.md` §2), which does not
    /// justify a thread hop and a cancellation case of `spawn_blocking`.
    async fn load(&self, x5u: &str) -> Arc<Entry<T, E>> {
        let outcome = match self.fetcher.fetch(x5u).await {
            Ok(response) => match (self.validate)(&response.chain) {
                Ok(valid) => Ok((Arc::new(valid), response.max_age)),
                Err(e) => Err(X5uError::Validation(e)),
            },
            Err(e) => Err(X5uError::Fetch(e)),
        };
        let now = self.clock.now();
        let (outcome, expires_at) = match outcome {
            Ok((valid, max_age)) => {
                let expires_at = ttl::expires_at(now, max_age, valid.not_after());
                (Ok(valid), expires_at)
            }
            Err(e) => {
                let secs = now.as_secs().saturating_add(self.negative_ttl.as_secs());
                (
                    Err(e),
                    UnixTime::since_unix_epoch(Duration::from_secs(secs)),
                )
            }
        };
        let ttl = Duration::from_secs(expires_at.as_secs().saturating_sub(now.as_secs()));
        Arc::new(Entry {
            outcome,
            expires_at,
            ttl,
        })
    }
}

impl<T, E> Clone for X5uCache<T, E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T, E> fmt::Debug for X5uCache<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("X5uCache")
            .field("fetcher", &self.inner.fetcher)
            .field("clock", &self.inner.clock)
            .field("negative_ttl", &self.inner.negative_ttl)
            .field("entries", &self.inner.entries.entry_count())
            .finish_non_exhaustive()
    }
}

/// Hands each entry's own TTL to moka.
struct EntryExpiry;

impl<T, E> Expiry<String, Arc<Entry<T, E>>> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Arc<Entry<T, E>>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &Arc<Entry<T, E>>,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}
