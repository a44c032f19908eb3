//! The verification service (STI-VS, `standards.md` §2.3): Identity header values in, a
//! verstat and the most specific failure out. SIP and the HTTP API call the same function.
//!
//! Per Identity header: parse it and its PASSporT header (436/437/438), look the x5u up in
//! the cache, which fetches it once and validates the chain to the trust anchors (436 when it
//! cannot be had, 437 when it is not trusted), verify the signature over the received bytes
//! and the claims (438), then freshness (403). With several headers the call passes when any
//! `shaken` PASSporT passes; otherwise the failure that got furthest is reported.
//!
//! The cache validates a chain when it is fetched, at that moment. A PASSporT that passes
//! the freshness check has an `iat` within 60 s of now, so validity "at `iat`" and "now"
//! differ by at most that; the cache never keeps a chain past its earliest notAfter.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use passport::{
    Checks, IdentityHeader, Ppt, SipFailure, TelephoneNumber, UnixTime, VerifiedPassport,
    VerifyingKey, Verstat,
};
use pki::{CertificateChain, ChainError, RevocationList, TrustAnchors, VerifiedChain};
use rustls_pki_types::CertificateDer;
use sti::{
    Clock, Expiring, FetchError, Revocation, TrustStore, X5uBuildError, X5uCache, X5uConfig,
    X5uError, X5uFetcher,
};

/// Why a PASSporT did not verify.
#[derive(Clone, Debug, thiserror::Error)]
pub enum VerificationFailure {
    /// The certificate chain is not trusted (unknown CA, expired, revoked, wrong profile).
    #[error("certificate chain: {0}")]
    Chain(#[from] ChainError),
    /// The x5u could not be dereferenced.
    #[error("x5u: {0}")]
    Fetch(#[from] FetchError),
    /// The Identity header or the PASSporT itself.
    #[error("{0}")]
    Passport(#[from] passport::Error),
    /// The verifier has no usable trust data: no current CA list, or (strict CRL policy) no
    /// current CRL.
    #[error("no usable trust data: {reason}")]
    TrustUnavailable {
        /// What is missing.
        reason: String,
    },
}

impl VerificationFailure {
    /// The SIP response code, reason phrase and verstat.
    pub fn sip_failure(&self) -> SipFailure {
        match self {
            // ATIS-1000082 E17: "Failed to authenticate CA" → 437, the credential was
            // evaluated and found untrusted; without trust data none can be trusted either.
            Self::Chain(_) | Self::TrustUnavailable { .. } => SipFailure {
                code: 437,
                reason: "Unsupported Credential",
                verstat: Verstat::TnValidationFailed,
            },
            // ATIS-1000082 E8 / RFC 8224 §6.2.2: the credential cannot be obtained → 436.
            Self::Fetch(_) => SipFailure {
                code: 436,
                reason: "Bad Identity Info",
                verstat: Verstat::NoTnValidation,
            },
            Self::Passport(e) => e.sip_failure(),
        }
    }

    /// How far verification got, on passport's scale: fetching the credential comes after
    /// the header checks, validating it before the signature.
    fn stage(&self) -> u8 {
        match self {
            Self::Fetch(_) => 20,
            Self::Chain(_) | Self::TrustUnavailable { .. } => 25,
            Self::Passport(e) => match e.stage() {
                s @ 0..=2 => s * 10,
                s => s * 10 + 10,
            },
        }
    }

    /// Of two failures, the one that got further (the first on a tie).
    pub fn most_specific(self, other: Self) -> Self {
        if other.stage() > self.stage() {
            other
        } else {
            self
        }
    }
}

/// Verifications by one signer's key before its multiples are computed, and between attempts
/// while the budget is full: computing them takes about 1 ms, what some 30 verifications with
/// them save.
const VERIFICATIONS_BEFORE_MULTIPLES: u32 = 32;

/// How many signers' keys may hold precomputed multiples at once
/// ([`VerifyingKey::with_multiples`], 148 KiB each).
#[derive(Debug)]
pub struct MultiplesBudget {
    limit: usize,
    held: AtomicUsize,
}

impl MultiplesBudget {
    /// Room for `limit` keys; 0 keeps every key on the plain verification.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            held: AtomicUsize::new(0),
        })
    }

    /// Keys holding multiples now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    fn reserve(self: &Arc<Self>) -> Option<MultiplesSlot> {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < self.limit).then_some(held + 1)
            })
            .ok()?;
        Some(MultiplesSlot(self.clone()))
    }
}

/// One key's share of the budget, given back when its signer leaves the cache.
#[derive(Debug)]
struct MultiplesSlot(Arc<MultiplesBudget>);

impl Drop for MultiplesSlot {
    fn drop(&mut self) {
        self.0.held.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A validated signer: its chain and its key, parsed once for every call it signs.
#[derive(Debug)]
pub struct TrustedSigner {
    chain: VerifiedChain,
    key: VerifyingKey,
    /// The certificates as fetched, leaf first, shared with the SIP Messages log.
    certificates: Arc<[CertificateDer<'static>]>,
    /// Where the key's multiples get room; `None`: never computed.
    budget: Option<Arc<MultiplesBudget>>,
    /// Verifications so far, counted until `fast_key` is set.
    verifications: AtomicU32,
    /// The key with its multiples, once it verified enough calls and the budget had room.
    fast_key: OnceLock<(VerifyingKey, MultiplesSlot)>,
}

impl TrustedSigner {
    /// Validates `certificates` (leaf first) at `time`.
    pub fn validate(
        certificates: &[CertificateDer<'static>],
        anchors: &TrustAnchors,
        time: UnixTime,
        revocation: Option<&RevocationList>,
    ) -> Result<Self, ChainError> {
        let chain =
            CertificateChain::from_der(certificates.to_vec())?.verify(anchors, time, revocation)?;
        let key = VerifyingKey::from_public_key(chain.spki_der())
            .map_err(|_| ChainError::InvalidEndEntityKey)?;
        Ok(Self {
            chain,
            key,
            certificates: certificates.into(),
            budget: None,
            verifications: AtomicU32::new(0),
            fast_key: OnceLock::new(),
        })
    }

    /// This signer, its key to get multiples from `budget` once it verified 32 calls.
    pub fn with_multiples_budget(mut self, budget: Arc<MultiplesBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The certificates as fetched, leaf first.
    pub fn certificates(&self) -> &Arc<[CertificateDer<'static>]> {
        &self.certificates
    }

    /// The validated chain.
    pub fn chain(&self) -> &VerifiedChain {
        &self.chain
    }

    /// The leaf's key for verifying one call, counting it: with its multiples once the signer
    /// has verified enough calls and the budget has room. The call that crosses the count
    /// computes them (about 1 ms, once per signer); the others never wait for it.
    pub fn key_for_call(&self) -> &VerifyingKey {
        if let Some((fast, _)) = self.fast_key.get() {
            return fast;
        }
        let Some(budget) = &self.budget else {
            return &self.key;
        };
        let count = self
            .verifications
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        if count.is_multiple_of(VERIFICATIONS_BEFORE_MULTIPLES)
            && let Some(slot) = budget.reserve()
            && let Some(fast) = self.key.with_multiples()
        {
            // Only a caller 32 counts later could have set it while this one computed; then
            // this key and its slot drop here, giving the slot back.
            let _ = self.fast_key.set((fast, slot));
            if let Some((fast, _)) = self.fast_key.get() {
                return fast;
            }
        }
        &self.key
    }
}

impl Expiring for TrustedSigner {
    fn not_after(&self) -> UnixTime {
        self.chain.path_not_after()
    }
}

/// What chains are validated against at one moment.
#[derive(Clone, Debug)]
pub struct TrustSnapshot {
    /// The STI-CA certificates of the current CA list.
    pub anchors: Arc<TrustAnchors>,
    /// The current CRL; `None` when none is held and the policy allows verifying without.
    pub revocation: Option<Arc<RevocationList>>,
}

/// Where the verifier gets trust anchors and revocation data; the trust list implements it.
pub trait TrustSource: Send + Sync {
    /// The anchors and CRL to validate with at `now`, or why there are none usable.
    fn snapshot(&self, now: UnixTime) -> Result<TrustSnapshot, VerificationFailure>;
    /// Changes whenever the anchors or the CRL change, so validated chains can be dropped.
    fn epoch(&self) -> u64;
}

/// A fixed set of anchors and optional CRL, for the CLI, tests and simple deployments.
#[derive(Debug)]
pub struct FixedTrust(TrustSnapshot);

impl FixedTrust {
    /// Trust exactly `anchors`, checking revocation against `revocation` when given.
    pub fn new(anchors: TrustAnchors, revocation: Option<RevocationList>) -> Self {
        Self(TrustSnapshot {
            anchors: Arc::new(anchors),
            revocation: revocation.map(Arc::new),
        })
    }
}

impl TrustSource for FixedTrust {
    fn snapshot(&self, _now: UnixTime) -> Result<TrustSnapshot, VerificationFailure> {
        Ok(self.0.clone())
    }

    fn epoch(&self) -> u64 {
        0
    }
}

impl TrustSource for TrustStore {
    fn snapshot(&self, now: UnixTime) -> Result<TrustSnapshot, VerificationFailure> {
        let untrusted = |reason: String| VerificationFailure::TrustUnavailable { reason };
        let anchors = self.anchors(now).map_err(|e| untrusted(e.to_string()))?;
        let revocation = match self.revocation(now).map_err(|e| untrusted(e.to_string()))? {
            Revocation::Checked(crl) => Some(crl),
            // CrlPolicy::Soft: verify without revocation data rather than fail every call.
            Revocation::Unchecked(_) => None,
        };
        Ok(TrustSnapshot {
            anchors,
            revocation,
        })
    }

    fn epoch(&self) -> u64 {
        TrustStore::epoch(self)
    }
}

/// What the verifier concluded about a request.
#[derive(Debug)]
pub struct Verification {
    /// The verstat to put on the P-Asserted-Identity.
    pub verstat: Verstat,
    /// Why it did not pass, when it did not (none when there was no Identity header).
    pub failure: Option<VerificationFailure>,
    /// The PASSporT that passed.
    pub passport: Option<VerifiedPassport>,
    /// The signer of the PASSporT that passed.
    pub signer: Option<Arc<TrustedSigner>>,
}

impl Verification {
    fn no_identity() -> Self {
        Self {
            verstat: Verstat::NoTnValidation,
            failure: None,
            passport: None,
            signer: None,
        }
    }

    fn failed(failure: VerificationFailure) -> Self {
        Self {
            verstat: failure.sip_failure().verstat,
            failure: Some(failure),
            passport: None,
            signer: None,
        }
    }
}

/// The numbers a PASSporT must match and the verifier's freshness window.
#[derive(Clone, Copy, Debug)]
pub struct CallParties<'a> {
    /// The calling number (P-Asserted-Identity, else From).
    pub orig: Option<&'a TelephoneNumber>,
    /// The called number (To, or the Request-URI).
    pub dest: Option<&'a TelephoneNumber>,
}

/// The STI-VS: x5u cache, trust source and clock.
pub struct Verifier {
    cache: X5uCache<TrustedSigner, VerificationFailure>,
    multiples: Arc<MultiplesBudget>,
    trust: Arc<dyn TrustSource>,
    /// The trust epoch the cached chains were validated under.
    epoch: AtomicU64,
    clock: Arc<dyn Clock>,
    freshness_secs: u64,
}

impl Verifier {
    /// A verifier fetching x5u with `config`, trusting what `trust` says at the time of each
    /// fetch, giving precomputed multiples to at most `precomputed_keys` signers' keys.
    pub fn new(
        config: &X5uConfig,
        trust: Arc<dyn TrustSource>,
        clock: Arc<dyn Clock>,
        freshness_secs: u64,
        precomputed_keys: usize,
    ) -> Result<Self, X5uBuildError> {
        let fetcher = X5uFetcher::new(config)?;
        let multiples = MultiplesBudget::new(precomputed_keys);
        let (validation_clock, validation_trust, budget) =
            (clock.clone(), trust.clone(), multiples.clone());
        let cache = X5uCache::new(config, fetcher, clock.clone(), move |certs| {
            let now = validation_clock.now();
            let snapshot = validation_trust.snapshot(now)?;
            Ok(TrustedSigner::validate(
                certs,
                &snapshot.anchors,
                now,
                snapshot.revocation.as_deref(),
            )?
            .with_multiples_budget(budget.clone()))
        });
        Ok(Self {
            cache,
            multiples,
            epoch: AtomicU64::new(trust.epoch()),
            trust,
            clock,
            freshness_secs,
        })
    }

    /// Hits and misses of the x5u cache, for the metrics.
    pub fn cache_stats(&self) -> sti::X5uCacheStats {
        self.cache.stats()
    }

    /// Signers' keys holding precomputed multiples now.
    pub fn precomputed_keys(&self) -> usize {
        self.multiples.held()
    }

    /// Forgets every cached chain, e.g. after the trust anchors or the CRL changed.
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    /// Verifies the Identity header fields of one request.
    pub async fn verify(&self, identity_fields: &[&str], parties: CallParties<'_>) -> Verification {
        // New anchors or a new CRL invalidate every validated chain (one atomic load per call).
        let epoch = self.trust.epoch();
        if self.epoch.swap(epoch, Ordering::AcqRel) != epoch {
            self.cache.clear();
        }
        let values = match IdentityHeader::split(identity_fields.iter().copied()) {
            Ok(values) if values.is_empty() => return Verification::no_identity(),
            Ok(values) => values,
            Err(e) => return Verification::failed(e.into()),
        };
        let checks = Checks {
            now: self.clock.now(),
            freshness_secs: self.freshness_secs,
            orig: parties.orig,
            dest: parties.dest,
        };
        let mut worst: Option<VerificationFailure> = None;
        for value in values {
            match self.verify_one(value, &checks).await {
                Ok((passport, signer)) if passport.ppt() == Ppt::Shaken => {
                    return Verification {
                        verstat: Verstat::TnValidationPassed,
                        failure: None,
                        passport: Some(passport),
                        signer: Some(signer),
                    };
                }
                // A valid div or rcd PASSporT alone does not validate the caller's number.
                Ok(_) => {}
                Err(e) => {
                    worst = Some(match worst {
                        None => e,
                        Some(w) => w.most_specific(e),
                    })
                }
            }
        }
        match worst {
            Some(failure) => Verification::failed(failure),
            None => Verification::no_identity(),
        }
    }

    async fn verify_one(
        &self,
        value: &str,
        checks: &Checks<'_>,
    ) -> Result<(VerifiedPassport, Arc<TrustedSigner>), VerificationFailure> {
        let header = IdentityHeader::parse(value)?;
        let passport = header.passport()?;
        let signer = self
            .cache
            .lookup(passport.x5u())
            .await
            .map_err(|e| match e {
                X5uError::Fetch(f) => VerificationFailure::Fetch(f),
                X5uError::Validation(failure) => failure,
            })?;
        let verified = passport.verify(signer.key_for_call(), checks)?;
        Ok((verified, signer))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rustls_pki_types::pem::PemObject as _;
    use stirling_test::{TEST_TIME, TestPki};

    use super::*;

    fn validated(pki: &TestPki) -> TrustedSigner {
        let chain = CertificateDer::pem_slice_iter(pki.chain_pem().as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("chain PEM");
        let anchors = TrustAnchors::from_pem(pki.root.pem().as_bytes()).expect("root");
        let at = UnixTime::since_unix_epoch(Duration::from_secs(TEST_TIME));
        TrustedSigner::validate(&chain, &anchors, at, None).expect("valid chain")
    }

    fn signer(pki: &TestPki, budget: &Arc<MultiplesBudget>) -> TrustedSigner {
        validated(pki).with_multiples_budget(budget.clone())
    }

    /// Calls `key_for_call` `times` times; whether the last key had multiples.
    fn verify_calls(signer: &TrustedSigner, times: u32) -> bool {
        (0..times)
            .map(|_| signer.key_for_call().has_multiples())
            .last()
            .unwrap_or(false)
    }

    #[test]
    fn keys_get_multiples_after_enough_calls_within_the_budget() {
        let pki = TestPki::new();
        let budget = MultiplesBudget::new(1);
        let first = signer(&pki, &budget);
        assert!(!verify_calls(&first, VERIFICATIONS_BEFORE_MULTIPLES - 1));
        assert_eq!(budget.held(), 0);
        assert!(verify_calls(&first, 1), "the 32nd call computes them");
        assert_eq!(budget.held(), 1);

        // The budget is full: a second signer stays on the plain key and tries again later.
        let second = signer(&pki, &budget);
        assert!(!verify_calls(&second, 2 * VERIFICATIONS_BEFORE_MULTIPLES));
        assert_eq!(budget.held(), 1);
        // The first leaves the cache: its room goes to the second at its next attempt.
        drop(first);
        assert_eq!(budget.held(), 0);
        assert!(!verify_calls(&second, VERIFICATIONS_BEFORE_MULTIPLES - 1));
        assert!(verify_calls(&second, 1));
        assert_eq!(budget.held(), 1);
    }

    #[test]
    fn without_a_budget_keys_stay_plain() {
        let pki = TestPki::new();
        let none = MultiplesBudget::new(0);
        assert!(!verify_calls(
            &signer(&pki, &none),
            3 * VERIFICATIONS_BEFORE_MULTIPLES
        ));
        assert_eq!(none.held(), 0);
        assert!(!verify_calls(
            &validated(&pki),
            2 * VERIFICATIONS_BEFORE_MULTIPLES
        ));
    }
}
