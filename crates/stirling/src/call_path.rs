//! The call path both fronts share (the SIP redirect server and the ATIS-1000082 HTTP
//! interface): the directory of SBCs, policies and active signers, the verifier, the clock,
//! the freshness window and the SIP Messages log.

use std::sync::Arc;

use passport::{Attestation, TelephoneNumber, Verstat};
use sti::Clock;

use crate::directory::{DirectoryHolder, SbcRoute};
use crate::message_log::{LoggedChain, MessageLog, MessageRecord};
use crate::store::{CallResult, Service, TenantId, VersionId};
use crate::verification::{Verification, Verifier};

/// What the SIP front and the ATIS-1000082 interface sign and verify with.
#[derive(Clone)]
pub struct CallPath {
    /// SBCs, policies and the tenants' active signers.
    pub directory: Arc<DirectoryHolder>,
    /// The verifier (x5u cache, trust anchors).
    pub verifier: Arc<Verifier>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// How far `iat` / `time` may be from our clock, seconds.
    pub freshness_secs: u64,
    /// Where every request and answer is logged, as for SIP.
    pub log: Option<MessageLog>,
}

impl std::fmt::Debug for CallPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallPath")
            .field("freshness_secs", &self.freshness_secs)
            .finish_non_exhaustive()
    }
}

/// What a front learnt about a call while answering it, for the SIP Messages log.
#[derive(Debug, Default)]
pub(crate) struct CallNote {
    pub(crate) service: Option<Service>,
    pub(crate) result: Option<CallResult>,
    pub(crate) tenant: Option<TenantId>,
    /// The SBC's id (when stored) and name.
    pub(crate) sbc: Option<(Option<String>, String)>,
    pub(crate) from_tn: Option<TelephoneNumber>,
    pub(crate) to_tn: Option<TelephoneNumber>,
    pub(crate) attestation: Option<Attestation>,
    pub(crate) verstat: Option<Verstat>,
    pub(crate) reason: Option<String>,
    pub(crate) version: Option<VersionId>,
    pub(crate) x5u: Option<String>,
    pub(crate) chain: Option<LoggedChain>,
}

impl CallNote {
    /// The call came from `sbc`: its tenant and the SBC's id and name.
    pub(crate) fn routed(&mut self, sbc: &SbcRoute) {
        self.tenant = Some(sbc.tenant.clone());
        self.sbc = Some((sbc.id.as_ref().map(ToString::to_string), sbc.name.clone()));
    }

    /// What a verification says about the call: verstat, result (no PASSporT and no failure
    /// means there was no Identity to check), reason, x5u, attestation and the chain.
    pub(crate) fn verified(&mut self, verification: &Verification) {
        self.verstat = Some(verification.verstat);
        self.result = Some(match (&verification.failure, &verification.passport) {
            (Some(_), _) => CallResult::Failed,
            (None, Some(_)) => CallResult::Passed,
            (None, None) => CallResult::Unverified,
        });
        if let Some(failure) = &verification.failure {
            self.reason = Some(failure.sip_failure().reason.to_owned());
        }
        if let Some(passport) = &verification.passport {
            self.x5u = Some(passport.x5u().to_owned());
            self.attestation = passport.claims().attest;
        }
        if let Some(signer) = &verification.signer {
            self.chain = Some(LoggedChain {
                fingerprint: *signer.chain().fingerprint(),
                certificates: signer.certificates().clone(),
            });
        }
    }

    /// Copies what was learnt into `record`, whose service, result, messages and timing the
    /// front set.
    pub(crate) fn fill(self, record: &mut MessageRecord) {
        record.tenant_id = self.tenant;
        if let Some((id, name)) = self.sbc {
            record.sbc_id = id;
            record.sbc_name = Some(name);
        }
        record.from_tn = self.from_tn;
        record.to_tn = self.to_tn;
        record.attestation = self.attestation;
        record.verstat = self.verstat;
        record.reason = self.reason;
        record.certificate_version_id = self.version;
        record.x5u = self.x5u;
        record.chain = self.chain;
    }
}
