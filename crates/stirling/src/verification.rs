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

use std::sync::{Arc, RwLock};

use passport::{
    Checks, IdentityHeader, Ppt, SipFailure, TelephoneNumber, UnixTime, VerifiedPassport,
    VerifyingKey, Verstat,
};
use pki::{CertificateChain, ChainError, RevocationList, TrustAnchors, VerifiedChain};
use rustls_pki_types::CertificateDer;
use sti::{Clock, Expiring, FetchError, X5uBuildError, X5uCache, X5uConfig, X5uError, X5uFetcher};

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
}

impl VerificationFailure {
    /// The SIP response code, reason phrase and verstat.
    pub fn sip_failure(&self) -> SipFailure {
        match self {
            // ATIS-1000082 E17: "Failed to authenticate CA" → 437, the credential was
            // evaluated and found untrusted.
            Self::Chain(_) => SipFailure {
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
            Self::Chain(_) => 25,
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
        Ok(Self { chain, key })
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

/// Where the verifier gets trust anchors and revocation data; the trust list implements it.
pub trait TrustSource: Send + Sync {
    /// The current anchors.
    fn anchors(&self) -> Arc<TrustAnchors>;
    /// The current revocation list, if any.
    fn revocation(&self) -> Option<Arc<RevocationList>>;
}

/// A fixed set of anchors and optional CRL, for the CLI, tests and simple deployments.
#[derive(Debug, Default)]
pub struct FixedTrust {
    anchors: RwLock<Arc<TrustAnchors>>,
    revocation: RwLock<Option<Arc<RevocationList>>>,
}

impl FixedTrust {
    /// Trust exactly `anchors`, without revocation data.
    pub fn new(anchors: TrustAnchors) -> Self {
        Self {
            anchors: RwLock::new(Arc::new(anchors)),
            revocation: RwLock::new(None),
        }
    }
}

impl TrustSource for FixedTrust {
    fn anchors(&self) -> Arc<TrustAnchors> {
        // A poisoned lock still holds a valid Arc: keep serving it.
        match self.anchors.read() {
            Ok(a) => a.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn revocation(&self) -> Option<Arc<RevocationList>> {
        match self.revocation.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
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
    cache: X5uCache<TrustedSigner, ChainError>,
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
        let validation_clock = clock.clone();
        let cache = X5uCache::new(config, fetcher, clock.clone(), move |certs| {
            let revocation = trust.revocation();
            TrustedSigner::validate(
                certs,
                &trust.anchors(),
                validation_clock.now(),
                revocation.as_deref(),
            )
        });
        Ok(Self {
            cache,
            clock,
            freshness_secs,
        })
    }

    /// Forgets every cached chain, e.g. after the trust anchors or the CRL changed.
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    /// Verifies the Identity header fields of one request.
    pub async fn verify(&self, identity_fields: &[&str], parties: CallParties<'_>) -> Verification {
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
                X5uError::Validation(c) => VerificationFailure::Chain(c),
            })?;
        let verified = passport.verify(signer.key(), checks)?;
        Ok((verified, signer))
    }
}
