//! Network clients of the STIR/SHAKEN ecosystem: the STI-PA API, ACME for STI certificates,
//! and the x5u certificate fetcher.
//!
//! The x5u fetcher dereferences the `x5u` URL of a PASSporT under the rules of
//! `reference/standards.md` §3.6 (ATIS-1000074, ATIS-1000080): HTTPS on port 443 or 8443 only,
//! no redirects, no userinfo, query or fragment, short timeouts, a size cap, and no
//! connection to loopback, private or otherwise special addresses (checked on the resolved
//! address, so a DNS answer cannot smuggle one in). [`X5uCache`] puts a validated chain in
//! front of it: one fetch per URL however many calls wait for it, a TTL of at least 24 h that
//! never outlives the leaf certificate, and a short negative cache for failures.
//!
//! [`StiPaClient`] speaks the STI-PA API (`reference/standards.md` §4, iconectiv shapes, hosts
//! from configuration): login, SPC token requests with the account key [`Fingerprint`], the
//! signed CA list, the CRL and the STI-PA signer certificates. [`TrustList`] uses it to keep a
//! [`TrustStore`] of verifier trust anchors and the STI-PA CRL fresh: each object is checked
//! against the pinned STI-PA root ([`STI_PA_ROOT_PEM`]) before it is swapped in, and the last
//! good copy is kept on disk for restarts without network. Passwords and tokens are
//! [`Secret`]s and [`AccessToken`]s whose `Debug` prints a placeholder.
//!
//! Chain validation of x5u bodies is not done here: the cache is generic over a
//! caller-supplied validator (the trust list and the ACME client read certificates with the
//! PKI crate).
//!
//! The ACME client ([`AcmeClient`]) orders STI certificates from an STI-CA: a TNAuthList
//! identifier authorized by a tkauth-01 challenge answered with an SPC token
//! (`reference/standards.md` §5). It reads TNAuthList with the PKI crate.

mod acme;
mod clock;
mod https;
mod sti_pa;
mod trust_list;
mod x5u;

pub use acme::{
    ACME_MAX_BODY_BYTES, Account, AcmeClient, AcmeConfig, AcmeError, Authorization,
    AuthorizationStatus, Challenge, ChallengeStatus, DangerousAcmeConfig, Directory, DirectoryMeta,
    ExternalAccountBinding, Identifier, IdentifierEncoding, IssuedChain, NewAccount, Order,
    OrderRequest, OrderStatus, PEM_CERTIFICATE_CHAIN, Problem, ProblemType, RevocationReason,
    TKAUTH_CHALLENGE, TKAUTH_TYPE_ATC, TN_AUTH_LIST_IDENTIFIER, atc_fingerprint, identifier_value,
};

pub use clock::{Clock, SystemClock};
pub use sti_pa::{
    AccessToken, Atc, DangerousStiPaConfig, Fingerprint, FingerprintError, FingerprintInput,
    MAX_CRL_BYTES, MAX_JSON_BYTES, MAX_SIGNER_CHAIN_BYTES, MIN_SPC_TOKEN_LIFETIME, Secret,
    SpcTokenError, SpcTokenResponse, StiPaBuildError, StiPaClient, StiPaConfig, StiPaError,
    VerifiedSpcToken,
};
pub use trust_list::{
    CA_LIST_EXP_MARGIN, CaListRefresh, CrlPolicy, CrlRefresh, CrlSigner, CrlUnavailable, LastGood,
    MIN_REFRESH_GAP, NoUsableCaList, NoUsableCrl, Revocation, STI_PA_ROOT_PEM, TrustList,
    TrustListConfig, TrustListError, TrustState, TrustStore, ca_list_refresh_at, crl_refresh_at,
    retry_delay, sti_pa_production_roots,
};
pub use x5u::{
    DangerousX5uConfig, Expiring, FetchError, ForbiddenRange, X5U_MAX_BODY_BYTES,
    X5U_MAX_CERTIFICATES, X5U_MIN_TTL, X5uBuildError, X5uCache, X5uCacheStats, X5uConfig, X5uError,
    X5uFetcher, X5uResponse, forbidden_range, parse_x5u_body,
};
