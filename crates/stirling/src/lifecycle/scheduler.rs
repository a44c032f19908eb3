//! The renewal scheduler: decides which entries need a new certificate version and runs
//! issuance for them, one attempt at a time per entry.
//!
//! [`RenewNow`] is the handle the API and UI use to ask for an immediate attempt ("Renew
//! now"); the scheduler loop owns the receiving end.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use passport::UnixTime;
use sti::{AcmeClient, AcmeConfig, Clock, FingerprintInput, StiPaClient};
use tokio::sync::{Notify, Semaphore, mpsc};

use super::alert::{Alert, GenerationFailure, Mailer};
use super::issuance::{IssuanceDeps, IssuanceFailure, SelfCheck, Step, issue_certificate};
use super::renewal::RenewalPolicy;
use crate::entry::Environment;
use crate::store::{
    CertificateEntry, CertificateId, CertificateVersion, EventOutcome, NewEvent, Store, StoreError,
    TenantId,
};

/// How many "Renew now" requests may wait before further ones are refused as busy.
const RENEW_NOW_QUEUE: usize = 256;

/// How many attempts one node runs at once; further due entries wait for a free slot. Each
/// attempt holds a PostgreSQL connection for its lock and talks to the STI-PA and STI-CA: a
/// thousand entries due at once must not open a thousand of either.
pub const ATTEMPTS_AT_ONCE: usize = 8;

/// A request for an immediate issuance attempt for one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenewRequest {
    /// The tenant the entry belongs to.
    pub tenant: TenantId,
    /// The entry.
    pub certificate: CertificateId,
}

/// Sends "Renew now" requests to the scheduler. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RenewNow(mpsc::Sender<RenewRequest>);

/// Why a "Renew now" request was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenewNowError {
    /// Too many requests are already waiting.
    #[error("too many renewals are queued; try again shortly")]
    Busy,
    /// The scheduler is not running (the service is stopping).
    #[error("the renewal scheduler is not running")]
    Stopped,
}

impl RenewNow {
    /// A handle and the receiving end the scheduler reads.
    pub fn channel() -> (Self, mpsc::Receiver<RenewRequest>) {
        let (tx, rx) = mpsc::channel(RENEW_NOW_QUEUE);
        (Self(tx), rx)
    }

    /// Asks for an attempt for `certificate` of `tenant` as soon as possible. The caller has
    /// already checked that the entry exists and belongs to the tenant.
    pub fn request(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
    ) -> Result<(), RenewNowError> {
        self.0
            .try_send(RenewRequest {
                tenant: tenant.clone(),
                certificate: certificate.clone(),
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => RenewNowError::Busy,
                mpsc::error::TrySendError::Closed(_) => RenewNowError::Stopped,
            })
    }
}

/// Which ecosystem an entry's certificates come from: its environment, in the US (STI-PA) or in
/// Canada (STI-GA). Each is configured on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ecosystem {
    /// Production, staging or sandbox.
    pub environment: Environment,
    /// Canada's STI-GA rather than the US STI-PA.
    pub sti_ga: bool,
}

impl Ecosystem {
    /// The US STI-PA's `environment`.
    pub fn us(environment: Environment) -> Self {
        Self {
            environment,
            sti_ga: false,
        }
    }

    /// Canada's STI-GA `environment`.
    pub fn canada(environment: Environment) -> Self {
        Self {
            environment,
            sti_ga: true,
        }
    }
}

impl std::fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.sti_ga {
            false => write!(f, "{}", self.environment),
            true => write!(f, "{} (Canada, STI-GA)", self.environment),
        }
    }
}

/// The STI-PA and STI-CA of one environment, as the scheduler reaches them.
#[derive(Clone, Debug)]
pub struct Issuer {
    /// The STI-PA client.
    pub sti_pa: StiPaClient,
    /// The STI-CA's ACME configuration; a client connects (reads the directory) per attempt,
    /// so a CA that was down at start or changed its directory is picked up.
    pub acme: AcmeConfig,
    /// How this STI-CA computes the account key fingerprint.
    pub fingerprint_input: FingerprintInput,
    /// External account binding when this STI-CA requires one.
    pub external_account: Option<sti::ExternalAccountBinding>,
}

/// Everything the scheduler works with.
pub struct Scheduler {
    /// The store.
    pub store: Store,
    /// The PA/CA of each configured environment; entries of other environments are skipped
    /// with an event saying so.
    pub issuers: HashMap<Ecosystem, Issuer>,
    /// When to renew and how to back off.
    pub policy: RenewalPolicy,
    /// How often entries are looked at.
    pub check_interval: Duration,
    /// The self-check settings: repository base URL, fetcher and anchors per environment.
    pub self_check: HashMap<Ecosystem, SelfCheckSettings>,
    /// Failure mails; `None` when no SMTP relay is configured (failures are still events).
    pub alerts: Option<Alerts>,
    /// Told after every activation, so the call path reloads its signers at once.
    pub activated: Arc<Notify>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

/// What the self-check of one environment needs (see [`SelfCheck`]).
#[derive(Clone, Debug)]
pub struct SelfCheckSettings {
    /// Public URL of the repository root.
    pub x5u_base: String,
    /// The fetcher.
    pub fetcher: sti::X5uFetcher,
    /// The anchors the published chain must validate against.
    pub anchors: pki::TrustAnchors,
}

/// Failure and recovery mails.
#[derive(Clone)]
pub struct Alerts {
    /// The relay.
    pub mailer: Mailer,
    /// At most one failure mail per entry per this interval.
    pub interval: Duration,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// The event step of a failure mail; its time is what throttles the next one, on every node
/// alike.
const ALERT_STEP: &str = "alert_mail";

/// The event step of a recovery mail.
const RECOVERY_STEP: &str = "recovery_mail";

/// Per entry: consecutive failures and when the next attempt may start.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    failures: u32,
    next: u64,
    /// After refused STI-PA credentials: the entry's `updated_at` then; no retry until the
    /// entry is saved again and it changes.
    parked: Option<u64>,
}

/// What the loop does next for an entry after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    /// Succeeded, or nothing to do.
    No,
    /// Failed: try again after the delay.
    After(Duration),
    /// The STI-PA refused the credentials: trying again cannot help until someone corrects
    /// the entry (or presses Renew now). Carries the entry's `updated_at` (unix seconds).
    WhenChanged(u64),
}

/// How an attempt ended, reported back to the loop.
#[derive(Debug)]
struct Attempted {
    certificate: CertificateId,
    retry: Retry,
}

impl Scheduler {
    /// Runs until `stop` resolves: every `check_interval`, starts an attempt for each entry
    /// that is due and not backing off; "Renew now" requests start one at once. At most one
    /// attempt per entry runs on this node, and on PostgreSQL an advisory lock makes it one
    /// across nodes; at most [`ATTEMPTS_AT_ONCE`] run at once.
    pub async fn run(
        self,
        mut requests: mpsc::Receiver<RenewRequest>,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let this = Arc::new(self);
        let mut backoff: HashMap<CertificateId, Backoff> = HashMap::new();
        let mut running: HashSet<CertificateId> = HashSet::new();
        // "Renew now" for an entry whose attempt is still running: run it once that ends (the
        // running attempt may have started before what the operator just corrected).
        let mut requested_again: HashMap<CertificateId, TenantId> = HashMap::new();
        let (done_tx, mut done_rx) = mpsc::channel::<Attempted>(64);
        let slots = Arc::new(Semaphore::new(ATTEMPTS_AT_ONCE));
        let mut ticker = tokio::time::interval(this.check_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                _ = ticker.tick() => {
                    let due = match this.due_entries(&backoff).await {
                        Ok(due) => due,
                        Err(e) => {
                            tracing::warn!(error = %e, "renewal check: store unavailable");
                            continue;
                        }
                    };
                    for (tenant, certificate) in due {
                        if running.insert(certificate.clone()) {
                            let failures = backoff.get(&certificate).map_or(0, |b| b.failures);
                            spawn_attempt(&this, &slots, tenant, certificate, false, failures, done_tx.clone());
                        }
                    }
                }
                Some(request) = requests.recv() => {
                    if running.insert(request.certificate.clone()) {
                        let failures = backoff.get(&request.certificate).map_or(0, |b| b.failures);
                        spawn_attempt(&this, &slots, request.tenant, request.certificate, true, failures, done_tx.clone());
                    } else {
                        requested_again.insert(request.certificate, request.tenant);
                    }
                }
                Some(done) = done_rx.recv() => {
                    running.remove(&done.certificate);
                    if let Some(tenant) = requested_again.remove(&done.certificate) {
                        running.insert(done.certificate.clone());
                        let failures = backoff.get(&done.certificate).map_or(0, |b| b.failures);
                        spawn_attempt(&this, &slots, tenant, done.certificate.clone(), true, failures, done_tx.clone());
                    }
                    let now = this.clock.now().as_secs();
                    match done.retry {
                        Retry::No => { backoff.remove(&done.certificate); }
                        Retry::After(delay) => {
                            let entry = failed(&mut backoff, &done.certificate, now);
                            entry.next = now + delay.as_secs();
                            entry.parked = None;
                        }
                        Retry::WhenChanged(updated_at) => {
                            let entry = failed(&mut backoff, &done.certificate, now);
                            entry.next = u64::MAX;
                            entry.parked = Some(updated_at);
                        }
                    }
                }
            }
        }
    }

    /// Entries whose active version is due for renewal (or that have none) and that are not
    /// backing off.
    async fn due_entries(
        &self,
        backoff: &HashMap<CertificateId, Backoff>,
    ) -> Result<Vec<(TenantId, CertificateId)>, StoreError> {
        let now = self.clock.now();
        let active: HashMap<CertificateId, (UnixTime, UnixTime)> = self
            .store
            .active_versions()
            .await?
            .into_iter()
            .map(|(_, v)| (v.certificate_id, (v.not_before, v.not_after)))
            .collect();
        Ok(self
            .store
            .list_all_certificates()
            .await?
            .into_iter()
            .filter(|entry| {
                let waited = backoff.get(&entry.id).is_none_or(|b| {
                    now.as_secs() >= b.next
                        || b.parked.is_some_and(|at| entry.updated_at.as_secs() != at)
                });
                waited && self.policy.due(active.get(&entry.id).copied(), now)
            })
            .map(|entry| (entry.tenant_id, entry.id))
            .collect())
    }

    /// One attempt for one entry; returns when to retry after a failure.
    async fn attempt(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
        forced: bool,
        failures_before: u32,
    ) -> Retry {
        // On PostgreSQL only the node holding the entry's lock renews it; the lock goes with
        // the connection, so a killed node frees it.
        let lock = match self.store.try_lock_entry(certificate).await {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                tracing::debug!(%certificate, "another node is renewing this entry");
                return Retry::No;
            }
            Err(e) => {
                tracing::warn!(%certificate, error = %e, "renewal: cannot take the entry lock");
                return Retry::After(self.policy.retry_delay(failures_before + 1, jitter()));
            }
        };
        let result = self
            .attempt_locked(tenant, certificate, forced, failures_before)
            .await;
        lock.release().await;
        result
    }

    async fn attempt_locked(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
        forced: bool,
        failures_before: u32,
    ) -> Retry {
        let entry = match self.store.certificate(tenant, certificate).await {
            Ok(entry) => entry,
            // Deleted meanwhile: nothing to do.
            Err(StoreError::NotFound { .. }) => return Retry::No,
            Err(e) => {
                tracing::warn!(%certificate, error = %e, "renewal: store unavailable");
                return Retry::After(self.policy.retry_delay(failures_before + 1, jitter()));
            }
        };
        let previous = self
            .store
            .active_version(tenant, certificate)
            .await
            .ok()
            .flatten();
        // Another node may have renewed it while we waited for the lock.
        if !forced
            && !self.policy.due(
                previous.as_ref().map(|v| (v.not_before, v.not_after)),
                self.clock.now(),
            )
        {
            return Retry::No;
        }
        // Whether a failure was mailed since the last activation: then a success is a recovery.
        let alerted = self
            .failure_mailed_since_activation(tenant, certificate)
            .await;
        let environment = Ecosystem {
            environment: entry.fields.environment,
            sti_ga: entry.fields.sti_ga,
        };
        let prepared = match self.issuers.get(&environment) {
            None => Err(IssuanceFailure {
                credentials_refused: false,
                step: Step::LoadEntry,
                error: format!("no STI-PA/STI-CA configured for environment {environment}"),
            }),
            Some(issuer) => match AcmeClient::connect(issuer.acme.clone()).await {
                Err(e) => Err(IssuanceFailure {
                    credentials_refused: false,
                    step: Step::AcmeAccount,
                    error: format!("reading the STI-CA directory: {e}"),
                }),
                Ok(acme) => Ok(IssuanceDeps {
                    sti_pa: issuer.sti_pa.clone(),
                    acme,
                    fingerprint_input: issuer.fingerprint_input,
                    external_account: issuer.external_account.clone(),
                    clock: self.clock.clone(),
                    self_check: self.self_check.get(&environment).map(|s| SelfCheck {
                        x5u_base: s.x5u_base.clone(),
                        fetcher: s.fetcher.clone(),
                        anchors: s.anchors.clone(),
                    }),
                }),
            },
        };
        let outcome = match prepared {
            Ok(deps) => issue_certificate(&self.store, tenant, certificate, &deps).await,
            Err(failure) => {
                // Issuance did not start, so it recorded nothing: the entry's timeline must
                // still say why.
                let event = NewEvent {
                    at: self.clock.now(),
                    step: failure.step.as_str(),
                    outcome: EventOutcome::Failed,
                    error_text: Some(&failure.error),
                };
                if let Err(e) = self.store.append_event(tenant, certificate, &event).await {
                    tracing::warn!(error = %e, "failure event not stored");
                }
                Err(failure)
            }
        };
        match outcome {
            Ok(version) => {
                self.activated.notify_one();
                // The x5u verifiers will fetch, when this node knows its public base.
                let x5u = self
                    .self_check
                    .get(&environment)
                    .map(|c| format!("{}{}", c.x5u_base, version.repository_path));
                tracing::info!(%certificate, version = %version.id, x5u = x5u.as_deref().unwrap_or(&version.repository_path), "renewed");
                if alerted {
                    self.mail_recovery(tenant, &entry, &version).await;
                }
                Retry::No
            }
            Err(failure) if failure.credentials_refused => {
                // The same password fails the same way: no retry storm at the STI-PA.
                tracing::warn!(%certificate, step = %failure.step, error = %failure.error,
                    "certificate generation failed: STI-PA credentials refused; waiting for \
                     the entry to be corrected");
                self.mail_failure(tenant, &entry, previous.as_ref(), &failure, None)
                    .await;
                Retry::WhenChanged(entry.updated_at.as_secs())
            }
            Err(failure) => {
                let delay = self.policy.retry_delay(failures_before + 1, jitter());
                tracing::warn!(%certificate, step = %failure.step, error = %failure.error,
                    retry_in_secs = delay.as_secs(), "certificate generation failed");
                let next = UnixTime::since_unix_epoch(Duration::from_secs(
                    self.clock.now().as_secs() + delay.as_secs(),
                ));
                self.mail_failure(tenant, &entry, previous.as_ref(), &failure, Some(next))
                    .await;
                Retry::After(delay)
            }
        }
    }

    async fn mail_failure(
        &self,
        tenant: &TenantId,
        entry: &CertificateEntry,
        current: Option<&CertificateVersion>,
        failure: &IssuanceFailure,
        next: Option<UnixTime>,
    ) {
        let Some(alerts) = &self.alerts else { return };
        let now = self.clock.now();
        match self
            .store
            .last_event_at(tenant, &entry.id, ALERT_STEP)
            .await
        {
            Ok(Some(sent))
                if now.as_secs().saturating_sub(sent.as_secs()) < alerts.interval.as_secs() =>
            {
                return;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "alert throttle: store unavailable; not mailing");
                return;
            }
        }
        let alert = Alert::Failed(GenerationFailure {
            entry_name: entry.fields.name.as_str().to_owned(),
            spid: entry.fields.spid.to_string(),
            step: failure.step.as_str().to_owned(),
            error: failure.error.clone(),
            current_expiry: current.map(|v| v.not_after),
            next_attempt: next,
        });
        self.send(tenant, entry, &alert, ALERT_STEP).await;
    }

    async fn failure_mailed_since_activation(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
    ) -> bool {
        let store = &self.store;
        let mailed = store
            .last_event_id(tenant, certificate, ALERT_STEP, None)
            .await;
        let activated = store
            .last_event_id(
                tenant,
                certificate,
                Step::Activate.as_str(),
                Some(EventOutcome::Succeeded),
            )
            .await;
        match (mailed, activated) {
            (Ok(Some(mailed)), Ok(activated)) => activated.is_none_or(|a| mailed > a),
            _ => false,
        }
    }

    async fn mail_recovery(
        &self,
        tenant: &TenantId,
        entry: &CertificateEntry,
        version: &CertificateVersion,
    ) {
        let alert = Alert::Recovered {
            entry_name: entry.fields.name.as_str().to_owned(),
            spid: entry.fields.spid.to_string(),
            new_expiry: version.not_after,
        };
        self.send(tenant, entry, &alert, RECOVERY_STEP).await;
    }

    async fn send(
        &self,
        tenant: &TenantId,
        entry: &CertificateEntry,
        alert: &Alert,
        step: &'static str,
    ) {
        let Some(alerts) = &self.alerts else { return };
        let to = match self.store.tenant(tenant).await {
            Ok(t) => t.system_email,
            Err(e) => {
                tracing::warn!(error = %e, "alert: tenant unavailable");
                return;
            }
        };
        let (outcome, text) = match alerts.mailer.send(&to, alert).await {
            Ok(()) => (EventOutcome::Succeeded, format!("mailed {to}")),
            Err(e) => {
                tracing::warn!(error = %e, "alert mail not sent");
                (EventOutcome::Failed, format!("mail to {to} failed: {e}"))
            }
        };
        let event = NewEvent {
            at: self.clock.now(),
            step,
            outcome,
            error_text: Some(&text),
        };
        if let Err(e) = self.store.append_event(tenant, &entry.id, &event).await {
            tracing::warn!(error = %e, "alert event not stored");
        }
    }
}

/// Counts a failure of `certificate` and returns its backoff state to update.
fn failed<'b>(
    backoff: &'b mut HashMap<CertificateId, Backoff>,
    certificate: &CertificateId,
    now: u64,
) -> &'b mut Backoff {
    let entry = backoff.entry(certificate.clone()).or_insert(Backoff {
        failures: 0,
        next: now,
        parked: None,
    });
    entry.failures = entry.failures.saturating_add(1);
    entry
}

fn spawn_attempt(
    scheduler: &Arc<Scheduler>,
    slots: &Arc<Semaphore>,
    tenant: TenantId,
    certificate: CertificateId,
    forced: bool,
    failures: u32,
    done: mpsc::Sender<Attempted>,
) {
    let scheduler = Arc::clone(scheduler);
    let slots = Arc::clone(slots);
    tokio::spawn(async move {
        // The semaphore is never closed; should it be, the attempt runs unthrottled.
        let _slot = slots.acquire_owned().await.ok();
        let retry = scheduler
            .attempt(&tenant, &certificate, forced, failures)
            .await;
        let _ = done.send(Attempted { certificate, retry }).await;
    });
}

/// A number in [0, 1) for retry jitter.
fn jitter() -> f64 {
    f64::from(rand_u32()) / (f64::from(u32::MAX) + 1.0)
}

fn rand_u32() -> u32 {
    let mut bytes = [0u8; 4];
    // The system RNG failing leaves zero jitter, which only loses the spreading.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    u32::from_le_bytes(bytes)
}
