//! The SIP front: a redirect server (`sip::Handler`) that signs and verifies INVITEs for the
//! tenants' SBCs (`standards.md` §2.2–§2.4).
//!
//! An SBC sends an INVITE; we answer `302 Moved Temporarily` with `Contact: <Request-URI>`
//! and the headers it should add to its own INVITE when it follows the redirect:
//!
//! * **Signing** (STI-AS): `orig` from P-Asserted-Identity, else From; `dest` from To; `iat`
//!   from Date when it is fresh, else our clock; `origid` from a configured header, else a
//!   new UUID v4. The tenant's policy ([`signing::decide`]) picks the attestation:
//!   `Attest` → 302 with `Identity`; `Skip` → 302 without; `Block` → `603 Decline` with
//!   `Reason: SIP;cause=603;text="sti-blocked"`. A calling or called number that is not a
//!   telephone number (`anonymous`, a SIP user name) cannot be signed under SHAKEN: the call
//!   gets a 302 without Identity, so it proceeds unsigned.
//! * **Verification** (STI-VS): every Identity header goes to
//!   [`Verifier::verify`](crate::verification::Verifier::verify). The 302
//!   carries each P-Asserted-Identity with `verstat` (a P-Asserted-Identity built from From
//!   when the request had none); on failure a `Reason: SIP;cause=<code>;text="<phrase>"`;
//!   on success the attestation and the signer's SPC in a configured header (default
//!   `X-Stirling-Attestation: A; spc=1234`). A `verstat` already present on a received URI
//!   is replaced: only we vouch for it.
//!
//! An SBC is known by its source address ([`Cidr`]) and partition (the Request-URI host);
//! any other source gets `403 Forbidden`. Its [`SbcMode`] says whether it signs, verifies or
//! both (sign without Identity, verify with). SBCs, policies and signers come from a
//! [`Directory`](crate::directory::Directory) snapshot, so a new certificate version is
//! switched in atomically without restarting the server. The policy rule names the
//! certificate entry; with no active version the call proceeds unsigned. A tenant may have
//! failed verifications rejected with their own code (403/428/436/437/438) instead of a 302.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use passport::{Attestation, TelephoneNumber, UnixTime, Verstat};
use sip::{
    HeaderName, NameAddr, Outcome, Request, Response, ResponseBuilder, StatusCode, Transport,
};

use crate::call_path::{CallNote, CallPath};
use crate::directory::{SbcRoute, TenantCalls};
use crate::message_log::MessageRecord;
use crate::signing::{self, CallContext, PolicyAction, SigningError, SigningRequest};
use crate::store::{CallResult, Service};
use crate::verification::{CallParties, Verification};

/// The default header carrying the attestation and SPC of a verified call.
pub const DEFAULT_ATTESTATION_HEADER: &str = "X-Stirling-Attestation";

/// The default header an SBC may put the origination identifier in.
pub const DEFAULT_ORIGID_HEADER: &str = "P-Origination-ID";

/// The header a trusted SBC may name the attestation in.
const ATTESTATION_INDICATOR: &str = "P-Attestation-Indicator";

/// The copy of the Identity header for SBCs that pass on X- headers only.
const X_IDENTITY: &str = "X-Identity";

/// SIP `603 Decline` (RFC 3261 §21.6.2), the answer to a call the policy blocks.
const DECLINE: u16 = 603;

/// The `Reason` of a blocked call (ATIS-1000074 style, `standards.md` §2.3).
const BLOCKED_REASON: &str = "SIP;cause=603;text=\"sti-blocked\"";

/// An IP network in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`, or a bare address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why a CIDR string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The address part is not an IP address.
    #[error("not an ip address: {0:?}")]
    Address(String),
    /// The prefix length is not a number or longer than the address.
    #[error("bad prefix length {prefix:?} (at most {max})")]
    Prefix {
        /// The prefix as given.
        prefix: String,
        /// The longest prefix for the address family.
        max: u8,
    },
}

impl Cidr {
    /// The network of `addr` with `prefix` bits.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, CidrError> {
        let max = max_prefix(addr);
        if prefix > max {
            return Err(CidrError::Prefix {
                prefix: prefix.to_string(),
                max,
            });
        }
        Ok(Self { addr, prefix })
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in this network. IPv4-mapped IPv6 addresses count as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => masked(
                u128::from(net.to_bits()),
                u128::from(ip.to_bits()),
                self.prefix,
                32,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(net.to_bits(), ip.to_bits(), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Whether the top `prefix` of `width` bits of `a` and `b` agree.
fn masked(a: u128, b: u128, prefix: u8, width: u8) -> bool {
    let shift = u32::from(width - prefix.min(width));
    // A shift by the full width of u128 would overflow; a zero prefix matches everything.
    a.checked_shr(shift).unwrap_or(0) == b.checked_shr(shift).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| CidrError::Address(addr.to_owned()))?;
        let max = max_prefix(addr);
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().map_err(|_| CidrError::Prefix {
                prefix: p.to_owned(),
                max,
            })?,
        };
        Self::new(addr, prefix)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// What the front does for an SBC's calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbcMode {
    /// Sign every call (an Identity already present is not looked at).
    Sign,
    /// Verify every call (without Identity: `No-TN-Validation`).
    Verify,
    /// Sign calls without Identity, verify calls with one.
    Both,
}

impl SbcMode {
    /// The name used in the store, the API and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sign => "sign",
            Self::Verify => "verify",
            Self::Both => "both",
        }
    }
}

impl FromStr for SbcMode {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim() {
            "sign" => Ok(Self::Sign),
            "verify" => Ok(Self::Verify),
            "both" => Ok(Self::Both),
            _ => Err(()),
        }
    }
}

impl fmt::Display for SbcMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Settings of the front that are the same for every tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipFrontConfig {
    /// The request header holding the origination identifier, if the SBC sends one.
    pub origid_header: Option<String>,
    /// The response header carrying attestation and SPC of a verified call.
    pub attestation_header: String,
    /// Also put the Identity value in an `X-Identity` header, for SBCs that copy only
    /// X- headers from a redirect.
    pub x_identity: bool,
    /// Take the attestation from the SBC's `P-Attestation-Indicator: A|B|C` header when a
    /// policy rule attests (the SBC knows the customer better); off unless the SBCs are trusted.
    pub trust_attestation_indicator: bool,
}

impl Default for SipFrontConfig {
    /// origid from `P-Origination-ID`, attestation in `X-Stirling-Attestation`.
    fn default() -> Self {
        Self {
            origid_header: Some(DEFAULT_ORIGID_HEADER.to_owned()),
            attestation_header: DEFAULT_ATTESTATION_HEADER.to_owned(),
            x_identity: false,
            trust_attestation_indicator: false,
        }
    }
}

/// Why a verstat could not be placed on a URI.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerstatPlacementError {
    /// The value is not a name-addr or addr-spec.
    #[error("malformed identity {0:?}")]
    Malformed(&'static str),
    /// A `sip:`/`sips:` URI without a user part has no place for `verstat` (§2.4).
    #[error("sip uri has no user part")]
    NoUserPart,
    /// Neither `tel:`, `sip:` nor `sips:`.
    #[error("unsupported uri scheme")]
    Scheme,
}

/// Puts `verstat` on a URI (`standards.md` §2.4): a `tel:` URI gets a `;verstat=` parameter;
/// a `sip:`/`sips:` URI gets it at the end of the user part, before `@`
/// (`sip:+15617500080;verstat=TN-Validation-Passed@foo.com;user=phone`). A `verstat` already
/// there is replaced.
pub fn uri_with_verstat(uri: &str, verstat: Verstat) -> Result<String, VerstatPlacementError> {
    let uri = uri.trim();
    let colon = uri.find(':').ok_or(VerstatPlacementError::Scheme)?;
    let scheme = &uri[..colon];
    let rest = &uri[colon + 1..];
    if scheme.eq_ignore_ascii_case("tel") {
        // telephone-subscriber = number *par (RFC 3966 §3); no headers in a tel URI.
        let kept = without_verstat(rest);
        return Ok(format!("{scheme}:{kept};verstat={}", verstat.as_str()));
    }
    if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
        return Err(VerstatPlacementError::Scheme);
    }
    // userinfo ends at the last '@' before any URI parameter or header of the host part;
    // user parts cannot contain an unescaped '@'.
    let at = rest.find('@').ok_or(VerstatPlacementError::NoUserPart)?;
    let (user, host) = (&rest[..at], &rest[at..]);
    // A password (`user:password@`, deprecated by RFC 3261 §19.1.1) leaves no well-defined
    // place for a user parameter: refuse rather than guess.
    if user.contains(':') || user.is_empty() {
        return Err(VerstatPlacementError::NoUserPart);
    }
    let kept = without_verstat(user);
    Ok(format!(
        "{scheme}:{kept};verstat={}{host}",
        verstat.as_str()
    ))
}

/// `s` without any `;verstat=…` parameter.
fn without_verstat(s: &str) -> String {
    let mut parts = s.split(';');
    let mut out = parts.next().unwrap_or_default().to_owned();
    for p in parts {
        let name = p.split('=').next().unwrap_or_default().trim();
        if !name.eq_ignore_ascii_case("verstat") {
            out.push(';');
            out.push_str(p);
        }
    }
    out
}

/// A P-Asserted-Identity value for a From or P-Asserted-Identity value with `verstat` on its
/// URI: display name kept, URI in angle brackets, header parameters (e.g. From's `tag`, which
/// has no meaning on P-Asserted-Identity, RFC 3325 §9.1) dropped.
pub fn identity_with_verstat(
    value: &str,
    verstat: Verstat,
) -> Result<String, VerstatPlacementError> {
    let parsed = NameAddr::parse(value).map_err(VerstatPlacementError::Malformed)?;
    let uri = uri_with_verstat(parsed.uri().as_str(), verstat)?;
    Ok(match parsed.display_name() {
        Some(display) => format!("{display} <{uri}>"),
        None => format!("<{uri}>"),
    })
}

/// The redirect server: a [`sip::Handler`] for every tenant's SBCs.
pub struct SipFront {
    config: SipFrontConfig,
    calls: CallPath,
}

impl SipFront {
    /// A front for `config` on `calls`: routing and signing with whatever its directory holds
    /// at the time of each call, logging to its log when it has one.
    pub fn new(config: SipFrontConfig, calls: CallPath) -> Self {
        Self { config, calls }
    }

    async fn answer(
        &self,
        req: &Request,
        source: SocketAddr,
        note: &mut CallNote,
    ) -> Result<Response, Refusal> {
        let directory = self.calls.directory.current();
        let host = req.uri().host();
        let Some(sbc) = directory.route(source.ip(), host) else {
            tracing::info!(%source, host, "sip request from an unknown source");
            note.result = Some(CallResult::Refused);
            return Ok(fallback(req, StatusCode::FORBIDDEN));
        };
        note.routed(sbc);
        let Some(tenant) = directory.tenant(&sbc.tenant) else {
            // An SBC whose tenant has no settings yet: nothing to sign with, no policy.
            tracing::warn!(sbc = %sbc.name, "sbc of a tenant without call settings");
            note.result = Some(CallResult::Refused);
            return Ok(fallback(req, StatusCode::FORBIDDEN));
        };
        let identities = req.identities()?;
        let sign = match sbc.mode {
            SbcMode::Sign => true,
            SbcMode::Verify => false,
            SbcMode::Both => identities.is_empty(),
        };
        if sign {
            note.service = Some(Service::Signing);
            self.sign(req, sbc, tenant, note)
        } else {
            note.service = Some(Service::Verification);
            self.verify(req, &identities, tenant, note).await
        }
    }

    fn sign(
        &self,
        req: &Request,
        sbc: &SbcRoute,
        tenant: &TenantCalls,
        note: &mut CallNote,
    ) -> Result<Response, Refusal> {
        note.result = Some(CallResult::Unsigned);
        let pai = req.p_asserted_identities()?;
        let from = req.from();
        let to = req.to();
        let orig = pai.first().unwrap_or(&from).uri().as_str();
        let redirect = redirect(req);
        // SHAKEN signs telephone numbers only; `anonymous` and the like go on unsigned.
        let Ok(orig_tn) = TelephoneNumber::canonicalize(orig) else {
            tracing::debug!("calling number is not a telephone number: not signed");
            return Ok(redirect.build()?);
        };
        note.from_tn = Some(orig_tn.clone());
        note.to_tn = TelephoneNumber::canonicalize(to.uri().as_str()).ok();
        let uri = req.uri();
        let call = CallContext {
            orig: &orig_tn,
            sbc: Some(&sbc.name),
            trunk_group: uri.param("tgrp").flatten(),
        };
        let Some(rule) = signing::matching_rule(&tenant.policies, &call) else {
            return Ok(redirect.build()?);
        };
        let attest = match rule.action {
            PolicyAction::Attest(attest) => self.indicated(req).unwrap_or(attest),
            PolicyAction::Skip => return Ok(redirect.build()?),
            PolicyAction::Block => {
                note.result = Some(CallResult::Blocked);
                note.reason = Some("sti-blocked".into());
                let status = StatusCode::new(DECLINE).ok_or(Refusal::Internal)?;
                return Ok(req
                    .respond(status)
                    .header(HeaderName::Reason.as_str(), BLOCKED_REASON)
                    .build()?);
            }
        };
        let dest = [to.uri().as_str()];
        let origid = self
            .config
            .origid_header
            .as_deref()
            .and_then(|name| req.headers().get_named(name).next())
            .and_then(|v| std::str::from_utf8(v).ok());
        let request = SigningRequest {
            orig,
            dest: &dest,
            // A malformed Date is no Date: `iat` then comes from our clock.
            date: req.date_time().ok().flatten(),
            origid,
        };
        let Some(signer) = tenant.signer(rule.certificate.as_ref()) else {
            // No active certificate (yet): the call goes on unsigned rather than failing;
            // the certificate page shows why there is none.
            tracing::warn!(sbc = %sbc.name, "no active certificate to sign with: not signed");
            return Ok(redirect.build()?);
        };
        match signing::identity_for(
            &signer.signer,
            &request,
            attest,
            self.calls.clock.now(),
            self.calls.freshness_secs,
        ) {
            Ok(identity) => {
                note.result = Some(CallResult::Signed);
                note.attestation = Some(attest);
                note.version = Some(signer.version.clone());
                let redirect = match self.config.x_identity {
                    true => redirect.header(X_IDENTITY, identity.clone()),
                    false => redirect,
                };
                Ok(redirect
                    .header(HeaderName::Identity.as_str(), identity)
                    .build()?)
            }
            Err(
                e @ (SigningError::CallingNumber(_)
                | SigningError::CalledNumber(_)
                | SigningError::NoCalledNumber),
            ) => {
                tracing::debug!(error = %e, "call not signed");
                Ok(redirect.build()?)
            }
            Err(e @ SigningError::Passport(_)) => {
                tracing::error!(error = %e, "signing failed");
                Err(Refusal::Internal)
            }
        }
    }

    /// The attestation a trusted SBC asks for in `P-Attestation-Indicator`, if any; an
    /// unknown value is ignored (the policy's stands).
    fn indicated(&self, req: &Request) -> Option<Attestation> {
        if !self.config.trust_attestation_indicator {
            return None;
        }
        let value = req.headers().get_named(ATTESTATION_INDICATOR).next()?;
        match std::str::from_utf8(value).ok()?.trim() {
            "A" | "a" => Some(Attestation::A),
            "B" | "b" => Some(Attestation::B),
            "C" | "c" => Some(Attestation::C),
            _ => None,
        }
    }

    async fn verify(
        &self,
        req: &Request,
        identities: &[&str],
        tenant: &TenantCalls,
        note: &mut CallNote,
    ) -> Result<Response, Refusal> {
        let pai = req.p_asserted_identities()?;
        let from = req.from();
        let to = req.to();
        // Prefer a tel PAI, then any PAI that is a number, then From (§2.4).
        let orig = pai
            .iter()
            .filter(|p| {
                p.uri()
                    .as_str()
                    .get(..4)
                    .is_some_and(|s| s.eq_ignore_ascii_case("tel:"))
            })
            .chain(pai.iter())
            .chain(std::iter::once(&from))
            .find_map(|p| TelephoneNumber::canonicalize(p.uri().as_str()).ok());
        let dest = TelephoneNumber::canonicalize(to.uri().as_str())
            .or_else(|_| TelephoneNumber::canonicalize(req.uri_str()))
            .ok();
        let verification = self
            .calls
            .verifier
            .verify(
                identities,
                CallParties {
                    orig: orig.as_ref(),
                    dest: dest.as_ref(),
                },
            )
            .await;
        note.from_tn = orig;
        note.to_tn = dest;
        note.verified(&verification);
        if let (true, Some(failure)) = (tenant.reject_failed_verification, &verification.failure) {
            // The tenant's policy: refuse the call with the failure's own code (§2.3).
            let f = failure.sip_failure();
            tracing::info!(code = f.code, error = %failure, "identity did not verify: rejected");
            let status = StatusCode::new(f.code).ok_or(Refusal::Internal)?;
            return Ok(req
                .respond(status)
                .header(HeaderName::Reason.as_str(), reason_value(&f))
                .build()?);
        }
        let mut response = redirect(req);
        let sources: Vec<&str> = if pai.is_empty() {
            vec![req.headers().single(HeaderName::From)?]
        } else {
            req.headers()
                .values(HeaderName::PAssertedIdentity)
                .collect::<Result<_, _>>()?
        };
        for value in sources {
            match identity_with_verstat(value, verification.verstat) {
                Ok(with) => {
                    response = response.header(HeaderName::PAssertedIdentity.as_str(), with);
                }
                Err(e) => tracing::debug!(error = %e, "verstat not placed"),
            }
        }
        if let Some(failure) = &verification.failure {
            let f = failure.sip_failure();
            tracing::info!(code = f.code, error = %failure, "identity did not verify");
            response = response.header(HeaderName::Reason.as_str(), reason_value(&f));
        }
        if let Some(value) = attestation_value(&verification) {
            response = response.header(&self.config.attestation_header, value);
        }
        Ok(response.build()?)
    }
}

/// The `Reason` header value of a failed verification (RFC 3326 with the STIR codes).
fn reason_value(f: &passport::SipFailure) -> String {
    format!("SIP;cause={};text=\"{}\"", f.code, f.reason)
}

/// `A; spc=1234` for a verified call.
fn attestation_value(v: &Verification) -> Option<String> {
    let attest = v.passport.as_ref()?.claims().attest?;
    Some(match &v.signer {
        Some(signer) => format!("{attest}; spc={}", signer.chain().spc()),
        None => attest.to_string(),
    })
}

/// `302` with `Contact: <Request-URI>`.
fn redirect(req: &Request) -> ResponseBuilder<'_> {
    req.respond(StatusCode::MOVED_TEMPORARILY)
        .header(HeaderName::Contact.as_str(), format!("<{}>", req.uri_str()))
}

/// Why a request got no regular answer.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    /// A header the answer depends on is malformed: its 4xx.
    #[error("{0}")]
    Parse(#[from] sip::ParseError),
    /// We built a header that is not a valid SIP header (a bug).
    #[error("{0}")]
    Build(#[from] sip::BuildError),
    /// Signing failed on our side.
    #[error("internal error")]
    Internal,
}

/// A response with only the echoed headers.
fn fallback(req: &Request, status: StatusCode) -> Response {
    match req.respond(status).build() {
        Ok(r) => r,
        // `build` fails only for headers added by the caller, and none were.
        Err(_) => Response::empty(status),
    }
}

/// What [`SipFront`] learned while answering an INVITE. Its SIP Messages record is made once
/// the response sent is known ([`sip::Handler::completed`]): a CANCEL that came while the call
/// was handled replaces the answer with 487, and the record shows the 487 the caller got
/// (with the result of the work done, e.g. `signed`).
#[derive(Debug)]
pub struct AnsweredCall {
    note: CallNote,
    received_at: UnixTime,
    started: std::time::Instant,
}

impl sip::Handler for SipFront {
    type Note = AnsweredCall;

    async fn handle(
        &self,
        req: &Request,
        source: SocketAddr,
        _transport: Transport,
    ) -> (Response, AnsweredCall) {
        let started = std::time::Instant::now();
        let received_at = self.calls.clock.now();
        let mut note = CallNote::default();
        let response = match self.answer(req, source, &mut note).await {
            Ok(response) => response,
            Err(Refusal::Parse(e)) => {
                tracing::info!(error = %e, "malformed request");
                note.result = Some(CallResult::Refused);
                note.reason = Some(e.to_string());
                fallback(req, e.status())
            }
            Err(e @ (Refusal::Build(_) | Refusal::Internal)) => {
                tracing::error!(error = %e, "no answer for a request");
                note.result = Some(CallResult::Error);
                fallback(req, StatusCode::SERVER_INTERNAL_ERROR)
            }
        };
        (
            response,
            AnsweredCall {
                note,
                received_at,
                started,
            },
        )
    }

    fn completed(
        &self,
        req: &Request,
        sent: &Response,
        outcome: Outcome<AnsweredCall>,
        source: SocketAddr,
        transport: Transport,
    ) {
        let Some(log) = &self.calls.log else {
            return;
        };
        let (note, received_at, latency) = match outcome {
            Outcome::Answered(call) => (call.note, call.received_at, call.started.elapsed()),
            // Answered by the SIP server itself: what the call's record can still say.
            Outcome::Failed { after } => {
                let now = self.calls.clock.now().as_secs();
                let called = std::time::Duration::from_secs(now).saturating_sub(after);
                (
                    self.unanswered(
                        req,
                        source,
                        format!("no answer after {} ms", after.as_millis()),
                    ),
                    UnixTime::since_unix_epoch(called),
                    after,
                )
            }
            Outcome::Overloaded => (
                self.unanswered(req, source, "overloaded (sip.max_in_flight)".to_owned()),
                self.calls.clock.now(),
                std::time::Duration::ZERO,
            ),
        };
        // Refused before routing: what the request would have asked for.
        let service =
            note.service
                .unwrap_or_else(|| match req.headers().get_named("Identity").next() {
                    Some(_) => Service::Verification,
                    None => Service::Signing,
                });
        let mut record = MessageRecord::sip(
            service,
            note.result.unwrap_or(CallResult::Error),
            req,
            sent,
            source,
            transport,
            received_at,
            latency,
        );
        note.fill(&mut record);
        log.record(record);
    }
}

impl SipFront {
    /// The note of an INVITE the SIP server answered itself (500 or 503): an error, with
    /// `reason`, under the SBC's tenant when the source is a known SBC, so that the tenant
    /// sees it in its log.
    fn unanswered(&self, req: &Request, source: SocketAddr, reason: String) -> CallNote {
        let mut note = CallNote {
            result: Some(CallResult::Error),
            reason: Some(reason),
            ..CallNote::default()
        };
        let directory = self.calls.directory.current();
        if let Some(sbc) = directory.route(source.ip(), req.uri().host()) {
            note.routed(sbc);
        }
        note
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const PASSED: Verstat = Verstat::TnValidationPassed;

    #[test]
    fn tel_uri_gets_a_parameter() {
        assert_eq!(
            uri_with_verstat("tel:+15617500080", PASSED).unwrap(),
            "tel:+15617500080;verstat=TN-Validation-Passed"
        );
        assert_eq!(
            uri_with_verstat(
                "tel:+15617500080;foo=bar;verstat=TN-Validation-Passed",
                Verstat::TnValidationFailed
            )
            .unwrap(),
            "tel:+15617500080;foo=bar;verstat=TN-Validation-Failed"
        );
    }

    #[test]
    fn sip_uri_gets_it_in_the_user_part() {
        assert_eq!(
            uri_with_verstat("sip:+15617500080@foo.com;user=phone", PASSED).unwrap(),
            "sip:+15617500080;verstat=TN-Validation-Passed@foo.com;user=phone"
        );
        assert_eq!(
            uri_with_verstat(
                "sips:+15617500080;cpc=x;VERSTAT=bogus@foo.com:5061",
                Verstat::NoTnValidation
            )
            .unwrap(),
            "sips:+15617500080;cpc=x;verstat=No-TN-Validation@foo.com:5061"
        );
        assert_eq!(
            uri_with_verstat("sip:foo.com", PASSED),
            Err(VerstatPlacementError::NoUserPart)
        );
        assert_eq!(
            uri_with_verstat("mailto:a@b", PASSED),
            Err(VerstatPlacementError::Scheme)
        );
    }

    #[test]
    fn name_addr_keeps_the_display_name_and_drops_header_params() {
        assert_eq!(
            identity_with_verstat(
                "\"Alice\" <sip:+12155550121@a.example.com;user=phone>;tag=1928301774",
                PASSED
            )
            .unwrap(),
            "\"Alice\" <sip:+12155550121;verstat=TN-Validation-Passed@a.example.com;user=phone>"
        );
        assert_eq!(
            identity_with_verstat("<tel:+12155550121>", PASSED).unwrap(),
            "<tel:+12155550121;verstat=TN-Validation-Passed>"
        );
        assert_eq!(
            identity_with_verstat("sip:+12155550121@a.example.com;tag=x", PASSED).unwrap(),
            "<sip:+12155550121;verstat=TN-Validation-Passed@a.example.com>"
        );
        assert!(identity_with_verstat("\"unterminated <sip:x@y>", PASSED).is_err());
    }

    #[test]
    fn cidr_matches_networks() {
        let net: Cidr = "127.0.0.0/8".parse().unwrap();
        assert!(net.contains("127.1.2.3".parse().unwrap()));
        assert!(net.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!net.contains("10.0.0.1".parse().unwrap()));
        let one: Cidr = "127.0.0.2".parse().unwrap();
        assert!(!one.contains("127.0.0.1".parse().unwrap()));
        assert!(one.contains("127.0.0.2".parse().unwrap()));
        let all: Cidr = "::/0".parse().unwrap();
        assert!(all.contains("2001:db8::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense/8".parse::<Cidr>().is_err());
        assert_eq!(net.to_string(), "127.0.0.0/8");
    }
}
