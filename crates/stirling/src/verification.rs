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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// A validated signer: its chain and its key, parsed once for every call it signs.
#[derive(Debug)]
pub struct TrustedSigner {
    chain: VerifiedChain,
    key: VerifyingKey,
    /// The certificates as fetched, leaf first, shared with the SIP Messages log.
    certificates: Arc<[CertificateDer<'static>]>,
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
        })
    }

    /// The certificates as fetched, leaf first.
    pub fn certificates(&self) -> &Arc<[CertificateDer<'static>]> {
        &self.certificates
    }

    /// The validated chain.
    pub fn chain(&self) -> &VerifiedChain {
        &self.chain
    }

    /// The leaf's key.
    pub fn key(&self) -> &VerifyingKey {
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
    trust: Arc<dyn TrustSource>,
    /// The trust epoch the cached chains were validated under.
    epoch: AtomicU64,
    clock: Arc<dyn Clock>,
    freshness_secs: u64,
}

impl Verifier {
    /// A verifier fetching x5u with `config`, trusting what `trust` says at the time of each
    /// fetch.
    pub fn new(
        config: &X5uConfig,
        trust: Arc<dyn TrustSource>,
        clock: Arc<dyn Clock>,
        freshness_secs: u64,
    ) -> Result<Self, X5uBuildError> {
        let fetcher = X5uFetcher::new(config)?;
        let (validation_clock, validation_trust) = (clock.clone(), trust.clone());
        let cache = X5uCache::new(config, fetcher, clock.clone(), move |certs| {
            let now = validation_clock.now();
            let snapshot = validation_trust.snapshot(now)?;
            Ok(TrustedSigner::validate(
                certs,
                &snapshot.anchors,
                now,
                snapshot.revocation.as_deref(),
            )?)
        });
        Ok(Self {
            cache,
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
        let verified = passport.verify(signer.key(), checks)?;
        Ok((verified, signer))
    }
}
