//! The renewal scheduler: decides which entries need a new certificate version and runs
//! issuance for them, one attempt at a time per entry.
//!
//! [`RenewNow`] is the handle the API and UI use to ask for an immediate attempt ("Renew
//! now"); the scheduler loop owns the receiving end.

use tokio::sync::mpsc;

use crate::store::{CertificateId, TenantId};

/// How many "Renew now" requests may wait before further ones are refused as busy.
const RENEW_NOW_QUEUE: usize = 256;

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
