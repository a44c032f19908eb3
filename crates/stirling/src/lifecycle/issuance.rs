//! Issuance of one certificate version for an entry (DESIGN "Certificate lifecycle"):
//! ACME account key → STI-PA login → SPC token (fingerprint of the account key) → ACME order
//! with the TNAuthList identifier → `tkauth-01` answered with the token → finalize with a CSR
//! for a fresh P-256 key → download the chain → check it → store the version (key sealed) →
//! switch the active version atomically.
//!
//! Every step is recorded as certificate events (`started`, then `succeeded` or `failed` with
//! the error text). Error texts come from our typed errors, whose messages never carry the
//! STI-PA password, an access token or an SPC token.
//!
//! Nothing here retries: one call is one attempt. A wrong STI-PA password fails at
//! [`Step::StiPaLogin`] after a single login, marked
//! [`credentials_refused`](IssuanceFailure::credentials_refused), and the caller's retry policy
//! ([`RenewalPolicy`](super::renewal::RenewalPolicy)) decides when to try again, so the STI-PA
//! never sees a retry storm. Within one attempt the `tkauth-01` challenge may be answered
//! more than once ([`AcmeConfig::token_attempts`](sti::AcmeConfig)); each answer carries a
//! fresh SPC token, obtained by logging in and requesting again.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use passport::{SigningKey, UnixTime};
use pki::{CsrParams, TnAuthList};
use sti::{
    AccessToken, Account, AcmeClient, Atc, Clock, Fingerprint, FingerprintInput, IssuedChain,
    NewAccount, OrderRequest, Secret, StiPaClient, StiPaError, identifier_value,
};

use crate::repository::repository_path;
use crate::store::{
    CertificateEntry, CertificateId, CertificateVersion, EventOutcome, NewAcmeAccount, NewEvent,
    NewVersion, Store, StoreError, TenantId,
};

/// What issuance needs from outside the store: the two clients, the fingerprint method and
/// the clock.
#[derive(Debug)]
pub struct IssuanceDeps {
    /// Client of the STI-PA the entry's credentials belong to.
    pub sti_pa: StiPaClient,
    /// Client of the STI-CA; its directory URL keys the stored ACME account.
    pub acme: AcmeClient,
    /// How the STI-CA computes the account key fingerprint of the ATC (per STI-CA,
    /// `reference/standards.md` §4.4).
    pub fingerprint_input: FingerprintInput,
    /// The time source for events, the store and validity checks.
    pub clock: Arc<dyn Clock>,
    /// Fetching the new version from our own repository before activating it; `None` skips
    /// [`Step::SelfCheck`] (tests of issuance without a repository listener).
    pub self_check: Option<SelfCheck>,
    /// External account binding for STI-CAs that require one when the ACME account is made.
    pub external_account: Option<sti::ExternalAccountBinding>,
}

/// How the self-check reaches and judges our own certificate repository.
#[derive(Debug)]
pub struct SelfCheck {
    /// Public URL of the repository root, to which a version's repository path is appended:
    /// the same base the signers put in `x5u`.
    pub x5u_base: String,
    /// The fetcher verifiers use (HTTPS, SSRF rules), so the check sees what they will see.
    pub fetcher: sti::X5uFetcher,
    /// What the published chain must validate against.
    pub anchors: pki::TrustAnchors,
}

/// One step of issuance, as recorded in the entry's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Reading the entry, its tenant and its sealed STI-PA password.
    LoadEntry,
    /// Getting the entry's stored ACME account, or creating and storing one.
    AcmeAccount,
    /// Logging in to the STI-PA with the entry's user id and password.
    StiPaLogin,
    /// Requesting an SPC token for the entry's SPID and the account key fingerprint.
    SpcToken,
    /// Making the CSR for a new P-256 key.
    Csr,
    /// Ordering, answering `tkauth-01`, finalizing and downloading the chain; the client
    /// checks that the leaf's TNAuthList is the one ordered.
    AcmeOrder,
    /// Linting the leaf against the SHAKEN profile and reading its serial and validity.
    Lint,
    /// Storing the new version (pending, key sealed).
    Store,
    /// Fetching the stored version from our own repository at its x5u URL and validating the
    /// chain as a verifier would; a failure leaves it pending.
    SelfCheck,
    /// Making the new version the active one, retiring the previous.
    Activate,
}

impl Step {
    /// Every step, in the order issuance runs them.
    pub const ALL: [Self; 10] = [
        Self::LoadEntry,
        Self::AcmeAccount,
        Self::StiPaLogin,
        Self::SpcToken,
        Self::Csr,
        Self::AcmeOrder,
        Self::Lint,
        Self::Store,
        Self::SelfCheck,
        Self::Activate,
    ];

    /// The name stored in the event's `step` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoadEntry => "load_entry",
            Self::AcmeAccount => "acme_account",
            Self::StiPaLogin => "sti_pa_login",
            Self::SpcToken => "spc_token",
            Self::Csr => "csr",
            Self::AcmeOrder => "acme_order",
            Self::Lint => "lint",
            Self::Store => "store",
            Self::SelfCheck => "self_check",
            Self::Activate => "activate",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an issuance attempt failed: the step and the error text (as also recorded in the
/// step's `failed` event; never contains secrets).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("issuance failed at {step}: {error}")]
pub struct IssuanceFailure {
    /// The step that failed.
    pub step: Step,
    /// What went wrong, with the error's causes.
    pub error: String,
    /// The STI-PA refused the entry's user id or password (a 401 at login). Retrying cannot
    /// help until the entry is corrected, and repeated attempts can lock the STI-PA user: the
    /// caller schedules no retry and says so in the alert.
    pub credentials_refused: bool,
}

/// Why the downloaded chain was refused after the STI-CA issued it.
#[derive(Debug, thiserror::Error)]
enum ChainCheckError {
    /// The CA sent no certificate.
    #[error("the issued chain is empty")]
    Empty,
    /// The leaf does not parse.
    #[error("the issued certificate does not parse: {0}")]
    Parse(String),
    /// The profile linter could not run.
    #[error("cannot lint the issued certificate: {0}")]
    Lint(#[from] pki::ProfileError),
    /// The leaf violates the SHAKEN certificate profile.
    #[error("the issued certificate violates the profile: {rules}")]
    Violations {
        /// The failed rules with their findings.
        rules: String,
    },
    /// A validity time is before 1970.
    #[error("the issued certificate's validity is before 1970")]
    Validity,
}

/// Why the ACME account could not be got or created.
#[derive(Debug, thiserror::Error)]
enum AccountError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Acme(#[from] sti::AcmeError),
    #[error("cannot generate the account key: {0}")]
    Key(#[from] passport::KeyError),
}

/// Why the SPC token request could not be made.
#[derive(Debug, thiserror::Error)]
enum TokenError {
    #[error("cannot encode the account key: {0}")]
    Key(#[from] passport::KeyError),
    #[error(transparent)]
    Fingerprint(#[from] sti::FingerprintError),
    #[error(transparent)]
    StiPa(#[from] StiPaError),
}

/// Why the CSR could not be made.
#[derive(Debug, thiserror::Error)]
enum CsrStepError {
    #[error(transparent)]
    Csr(#[from] pki::CsrError),
    #[error("cannot read the new key: {0}")]
    Key(#[from] passport::KeyError),
}

/// What the lint step read from the leaf.
struct CheckedLeaf {
    serial: String,
    fingerprint: String,
    not_before: UnixTime,
    not_after: UnixTime,
}

/// Records the events of one attempt.
struct Recorder<'a> {
    store: &'a Store,
    tenant: &'a TenantId,
    certificate: &'a CertificateId,
    clock: &'a dyn Clock,
}

impl Recorder<'_> {
    /// Appends an event. Best effort: a store that cannot take the event fails the step that
    /// needs it anyway, so the failure to record is logged, not returned.
    async fn event(&self, step: Step, outcome: EventOutcome, error_text: Option<&str>) {
        let event = NewEvent {
            at: self.clock.now(),
            step: step.as_str(),
            outcome,
            error_text,
        };
        if let Err(e) = self
            .store
            .append_event(self.tenant, self.certificate, &event)
            .await
        {
            tracing::warn!(
                certificate = %self.certificate,
                step = step.as_str(),
                error = %e,
                "cannot record certificate event"
            );
        }
    }

    /// Runs one step between its `started` and `succeeded`/`failed` events.
    async fn step<T, E, F>(&self, step: Step, work: F) -> Result<T, IssuanceFailure>
    where
        F: Future<Output = Result<T, E>>,
        E: std::error::Error + 'static,
    {
        self.event(step, EventOutcome::Started, None).await;
        match work.await {
            Ok(value) => {
                self.event(step, EventOutcome::Succeeded, None).await;
                Ok(value)
            }
            Err(e) => {
                let error = error_chain(&e);
                self.event(step, EventOutcome::Failed, Some(&error)).await;
                tracing::warn!(
                    certificate = %self.certificate,
                    step = step.as_str(),
                    error = %error,
                    "certificate issuance step failed"
                );
                Err(IssuanceFailure {
                    step,
                    error,
                    credentials_refused: credentials_refused(&e),
                })
            }
        }
    }
}

/// The error's message followed by its causes, `: `-separated, without repeats (a
/// `transparent` or `{0}` wrapper already shows its source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Whether `error` or one of its causes is the STI-PA's 401 to a login.
fn credentials_refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if matches!(
            e.downcast_ref::<StiPaError>(),
            Some(StiPaError::Unauthorized)
        ) {
            return true;
        }
        // `AcmeError::Token` holds the token source's error in an `Arc`, whose `source()`
        // skips the error it wraps: look inside.
        if let Some(inner) = e.downcast_ref::<Arc<dyn std::error::Error + Send + Sync>>() {
            return credentials_refused(&**inner);
        }
        next = e.source();
    }
    false
}

/// Issues a new certificate version for the entry `certificate` of `tenant` and activates it.
///
/// Runs the steps of [`Step::ALL`] in order, recording each as events, and returns the new
/// active version. The entry's ACME account is created on the first attempt and reused by
/// later ones. On failure nothing is activated: the previously active version (if any) stays
/// active, and a version stored before a failed activation stays `pending`.
///
/// # Errors
///
/// [`IssuanceFailure`] naming the failed step and why; e.g. a wrong STI-PA password gives
/// [`Step::StiPaLogin`] with the STI-PA's 401.
pub async fn issue_certificate(
    store: &Store,
    tenant: &TenantId,
    certificate: &CertificateId,
    deps: &IssuanceDeps,
) -> Result<CertificateVersion, IssuanceFailure> {
    let run = Recorder {
        store,
        tenant,
        certificate,
        clock: deps.clock.as_ref(),
    };

    let (entry, contact, password) = run
        .step(Step::LoadEntry, async {
            let tenant_row = store.tenant(tenant).await?;
            let entry = store.certificate(tenant, certificate).await?;
            let password = store.certificate_password(tenant, certificate).await?;
            Ok::<_, StoreError>((
                entry,
                format!("mailto:{}", tenant_row.system_email),
                Secret::new(password.secret_str()),
            ))
        })
        .await?;

    let account = run
        .step(
            Step::AcmeAccount,
            acme_account(store, tenant, certificate, deps, contact),
        )
        .await?;

    let user_id = entry.fields.sti_pa_user_id.as_str();
    let access = run
        .step(Step::StiPaLogin, deps.sti_pa.login(user_id, &password))
        .await?;

    let list = TnAuthList::from_spc(entry.fields.spid.clone());
    let (atc, first_token) = run
        .step(Step::SpcToken, async {
            let spki = account.key().public_key_spki_der()?;
            let atc = Atc {
                tkvalue: identifier_value(&list, deps.acme.config().identifier_encoding),
                ca: false,
                fingerprint: Fingerprint::of_account_key(deps.fingerprint_input, &spki)?,
            };
            let token = spc_token(&deps.sti_pa, &access, &entry, &atc).await?;
            Ok::<_, TokenError>((atc, token))
        })
        .await?;
    drop(access);

    let (csr, new_key) = run
        .step(Step::Csr, async {
            let csr = CsrParams::new(list.clone()).sign_with_new_key()?;
            let key = SigningKey::from_der(csr.secret_key().secret_pkcs8_der())?;
            Ok::<_, CsrStepError>((csr, key))
        })
        .await?;

    let chain = run
        .step(
            Step::AcmeOrder,
            order(
                deps,
                &account,
                Arc::new(TokenCredentials {
                    client: deps.sti_pa.clone(),
                    user_id: user_id.to_owned(),
                    password,
                    account_id: entry.fields.sti_pa_account_id.as_str().to_owned(),
                    atc,
                }),
                list,
                csr.der(),
                first_token,
            ),
        )
        .await?;

    let leaf = run.step(Step::Lint, async { check_chain(&chain) }).await?;

    let path = repository_path(&entry.fields.spid, &leaf.fingerprint);
    let version = run
        .step(Step::Store, async {
            store
                .insert_version(
                    tenant,
                    certificate,
                    &NewVersion {
                        chain_pem: &chain.pem,
                        key: &new_key,
                        serial: &leaf.serial,
                        fingerprint: &leaf.fingerprint,
                        not_before: leaf.not_before,
                        not_after: leaf.not_after,
                        repository_path: &path,
                    },
                    deps.clock.now(),
                )
                .await
        })
        .await?;

    if let Some(check) = &deps.self_check {
        run.step(
            Step::SelfCheck,
            self_check(check, &version, &entry, deps.clock.now()),
        )
        .await?;
    }

    let active = run
        .step(Step::Activate, async {
            store
                .activate_version(tenant, certificate, &version.id, deps.clock.now())
                .await
        })
        .await?;
    tracing::info!(
        certificate = %certificate,
        version = %active.id,
        serial = %active.serial,
        "certificate issued and activated"
    );
    Ok(active)
}

/// Why our own repository did not serve what a verifier needs.
#[derive(Debug, thiserror::Error)]
enum SelfCheckError {
    /// The fetch failed (status, TLS, timeout, size...).
    #[error("fetching {url}: {error}")]
    Fetch {
        /// The x5u URL.
        url: String,
        /// Why.
        error: sti::FetchError,
    },
    /// The served chain is not the stored one.
    #[error("{url} serves another certificate than the stored version")]
    WrongCertificate {
        /// The x5u URL.
        url: String,
    },
    /// The served chain does not validate.
    #[error("the chain at {url} does not validate: {error}")]
    Chain {
        /// The x5u URL.
        url: String,
        /// Why.
        error: pki::ChainError,
    },
    /// The chain validates but names another SPC than the entry's SPID.
    #[error("the chain at {url} is for SPC {found}, not {expected}")]
    Spc {
        /// The x5u URL.
        url: String,
        /// The entry's SPID.
        expected: String,
        /// The leaf's SPC.
        found: String,
    },
}

/// Fetches `version` from our repository as a verifier would and validates it.
async fn self_check(
    check: &SelfCheck,
    version: &CertificateVersion,
    entry: &CertificateEntry,
    now: UnixTime,
) -> Result<(), SelfCheckError> {
    let url = format!("{}{}", check.x5u_base, version.repository_path);
    let fetched = check
        .fetcher
        .fetch(&url)
        .await
        .map_err(|error| SelfCheckError::Fetch {
            url: url.clone(),
            error,
        })?;
    let leaf_matches = fetched.chain.first().is_some_and(|leaf| {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, leaf.as_ref());
        hex::encode(digest) == version.fingerprint
    });
    if !leaf_matches {
        return Err(SelfCheckError::WrongCertificate { url });
    }
    let verified = pki::CertificateChain::from_der(fetched.chain)
        .and_then(|chain| chain.verify(&check.anchors, now, None))
        .map_err(|error| SelfCheckError::Chain {
            url: url.clone(),
            error,
        })?;
    if verified.spc() != &entry.fields.spid {
        return Err(SelfCheckError::Spc {
            url,
            expected: entry.fields.spid.to_string(),
            found: verified.spc().to_string(),
        });
    }
    Ok(())
}

/// The entry's stored ACME account at this STI-CA, or a new one, stored before use.
async fn acme_account(
    store: &Store,
    tenant: &TenantId,
    certificate: &CertificateId,
    deps: &IssuanceDeps,
    contact: String,
) -> Result<Account, AccountError> {
    let directory_url = deps.acme.config().directory_url.as_str();
    if let Some(stored) = store
        .acme_account(tenant, certificate, directory_url)
        .await?
    {
        return Ok(Account::from_parts(stored.key, stored.account_url));
    }
    let account = deps
        .acme
        .new_account(
            SigningKey::generate()?,
            &NewAccount {
                contact: vec![contact],
                terms_of_service_agreed: true,
                external_account_binding: deps.external_account.clone(),
                ..NewAccount::default()
            },
        )
        .await?;
    let new = NewAcmeAccount {
        directory_url,
        account_url: account.url(),
        key: account.key(),
    };
    match store
        .insert_acme_account(tenant, certificate, &new, deps.clock.now())
        .await
    {
        Ok(_) => Ok(account),
        // Another node created one meanwhile: use the stored one, so all agree.
        Err(StoreError::Conflict { .. }) => {
            let stored = store
                .acme_account(tenant, certificate, directory_url)
                .await?
                .ok_or(StoreError::NotFound {
                    what: "acme account",
                })?;
            Ok(Account::from_parts(stored.key, stored.account_url))
        }
        Err(e) => Err(e.into()),
    }
}

/// One SPC token request for the entry's account.
async fn spc_token(
    client: &StiPaClient,
    access: &AccessToken,
    entry: &CertificateEntry,
    atc: &Atc,
) -> Result<Secret, StiPaError> {
    let answer = client
        .spc_token(access, entry.fields.sti_pa_account_id.as_str(), atc)
        .await?;
    Ok(answer.token)
}

/// The ACME order. The challenge's first answer uses `first_token` (requested just before);
/// every further answer logs in and requests a fresh token.
async fn order(
    deps: &IssuanceDeps,
    account: &Account,
    credentials: Arc<TokenCredentials>,
    list: TnAuthList,
    csr_der: &[u8],
    first_token: Secret,
) -> Result<IssuedChain, sti::AcmeError> {
    let first = Arc::new(Mutex::new(Some(first_token)));
    let token_source = move || {
        // Taken synchronously: the lock is never held across an await. The future owns what
        // it uses, so the whole issuance future stays `Send`.
        let ready = first.lock().ok().and_then(|mut slot| slot.take());
        let credentials = credentials.clone();
        async move {
            if let Some(token) = ready {
                return Ok(token.secret_str().to_owned());
            }
            let token = credentials.fresh_token().await?;
            Ok::<_, StiPaError>(token.secret_str().to_owned())
        }
    };
    let request = OrderRequest {
        tn_auth_list: list,
        not_before: None,
        not_after: None,
    };
    deps.acme
        .issue(account, &request, csr_der, token_source)
        .await
}

/// What a fresh SPC token needs: a login and a token request with the same ATC.
struct TokenCredentials {
    client: StiPaClient,
    user_id: String,
    password: Secret,
    account_id: String,
    atc: Atc,
}

impl TokenCredentials {
    async fn fresh_token(&self) -> Result<Secret, StiPaError> {
        let access = self.client.login(&self.user_id, &self.password).await?;
        let answer = self
            .client
            .spc_token(&access, &self.account_id, &self.atc)
            .await?;
        Ok(answer.token)
    }
}

/// Lints the leaf and reads what the version stores about it.
fn check_chain(chain: &IssuedChain) -> Result<CheckedLeaf, ChainCheckError> {
    let leaf = chain.der_chain.first().ok_or(ChainCheckError::Empty)?;
    let report = pki::lint_certificate(leaf.as_ref())?;
    if report.has_errors() {
        let rules: Vec<String> = report
            .findings()
            .iter()
            .filter(|f| f.severity == pki::Severity::Error)
            .map(|f| format!("{} ({})", f.rule, f.text))
            .collect();
        return Err(ChainCheckError::Violations {
            rules: rules.join("; "),
        });
    }
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| ChainCheckError::Parse(e.to_string()))?;
    let time = |t: x509_parser::time::ASN1Time| {
        u64::try_from(t.timestamp())
            .map(|secs| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs)))
            .map_err(|_| ChainCheckError::Validity)
    };
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, leaf.as_ref());
    Ok(CheckedLeaf {
        serial: hex::encode(cert.raw_serial()),
        fingerprint: hex::encode(digest),
        not_before: time(cert.validity().not_before)?,
        not_after: time(cert.validity().not_after)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issuance runs in spawned background jobs: its future must be `Send`.
    #[allow(dead_code)]
    fn issuance_can_be_spawned(
        store: Store,
        tenant: TenantId,
        certificate: CertificateId,
        deps: Arc<IssuanceDeps>,
    ) {
        drop(tokio::spawn(async move {
            issue_certificate(&store, &tenant, &certificate, &deps).await
        }));
    }

    #[test]
    fn refused_credentials_are_found_among_the_causes() {
        assert!(credentials_refused(&StiPaError::Unauthorized));
        // A fresh token's login during the order fails inside the ACME client.
        let during_order = sti::AcmeError::Token(Arc::new(StiPaError::Unauthorized));
        assert!(credentials_refused(&during_order));
        assert!(!credentials_refused(&StiPaError::Forbidden));
        assert!(!credentials_refused(&sti::AcmeError::Token(Arc::new(
            StiPaError::Status { status: 503 }
        ))));
    }

    #[test]
    fn step_names_are_distinct() {
        let names: std::collections::HashSet<_> = Step::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names.len(), Step::ALL.len());
    }
}
