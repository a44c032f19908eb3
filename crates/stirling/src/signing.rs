//! The authentication service (STI-AS, `standards.md` §2.2) without I/O: which attestation a
//! call gets under the tenant's policies, and the claims it is signed with. SIP and the HTTP
//! API call the same functions; the signer is the active certificate version's.

use std::collections::BTreeSet;

use crate::store::CertificateId;
use passport::{
    Attestation, Claims, Dest, InvalidTelephoneNumber, Ppt, Signer, TelephoneNumber, UnixTime,
};

/// What a policy rule does with a matching call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyAction {
    /// Sign with this attestation.
    Attest(Attestation),
    /// Refuse the call (SIP `603` with `Reason: SIP;cause=603;text="sti-blocked"`).
    Block,
    /// Pass the call on without an Identity header.
    Skip,
}

/// Which calls a rule applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyScope {
    /// Calling numbers starting with these digits (canonical form).
    CallingPrefix(String),
    /// Every call of an SBC.
    Sbc(String),
    /// Every call of the tenant: its default.
    Tenant,
    /// Calling numbers in this list (canonical form).
    TnList(BTreeSet<String>),
    /// Calls from this trunk group (e.g. the `tgrp` parameter, RFC 4904).
    TrunkGroup(String),
}

/// One attestation policy rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRule {
    /// Which calls.
    pub scope: PolicyScope,
    /// What to do.
    pub action: PolicyAction,
    /// The certificate entry that signs the calls it attests; `None` for the tenant's default
    /// entry.
    pub certificate: Option<CertificateId>,
}

/// What is known about a call when choosing its policy.
#[derive(Clone, Copy, Debug)]
pub struct CallContext<'a> {
    /// The canonical calling number.
    pub orig: &'a TelephoneNumber,
    /// The SBC the call came from.
    pub sbc: Option<&'a str>,
    /// The trunk group, when the SBC names one.
    pub trunk_group: Option<&'a str>,
}

/// Chooses the action for a call: the most specific matching rule wins — a TN list, then the
/// longest calling prefix, then the trunk group, then the SBC, then the tenant default. With
/// no rule at all the call is not signed: attesting is a decision the operator makes.
pub fn decide(rules: &[PolicyRule], call: &CallContext<'_>) -> PolicyAction {
    matching_rule(rules, call).map_or(PolicyAction::Skip, |rule| rule.action)
}

/// The rule [`decide`] follows for a call, if any matches; it also names the certificate entry
/// that signs.
pub fn matching_rule<'r>(
    rules: &'r [PolicyRule],
    call: &CallContext<'_>,
) -> Option<&'r PolicyRule> {
    let tn = call.orig.as_str();
    let mut best: Option<(u32, &PolicyRule)> = None;
    for rule in rules {
        let rank = match &rule.scope {
            PolicyScope::TnList(list) if list.contains(tn) => u32::MAX,
            // Longer prefixes are more specific; prefixes are at most 15 digits.
            PolicyScope::CallingPrefix(prefix) if tn.starts_with(prefix.as_str()) => {
                1_000 + u32::try_from(prefix.len()).unwrap_or(15)
            }
            PolicyScope::TrunkGroup(group) if call.trunk_group == Some(group.as_str()) => 300,
            PolicyScope::Sbc(sbc) if call.sbc == Some(sbc.as_str()) => 200,
            PolicyScope::Tenant => 100,
            _ => continue,
        };
        if best.is_none_or(|(r, _)| rank > r) {
            best = Some((rank, rule));
        }
    }
    best.map(|(_, rule)| rule)
}

/// Why a call cannot be signed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The calling number is not a telephone number (e.g. `anonymous`): SHAKEN signs TNs.
    #[error("calling number: {0}")]
    CallingNumber(InvalidTelephoneNumber),
    /// A called number is not a telephone number.
    #[error("called number: {0}")]
    CalledNumber(InvalidTelephoneNumber),
    /// No called number at all.
    #[error("no called number")]
    NoCalledNumber,
    /// The signer refused.
    #[error("{0}")]
    Passport(#[from] passport::Error),
}

/// The call as the SBC presents it.
#[derive(Clone, Copy, Debug)]
pub struct SigningRequest<'a> {
    /// P-Asserted-Identity if present, else From: a URI or a number.
    pub orig: &'a str,
    /// To (or the Request-URI): URIs or numbers.
    pub dest: &'a [&'a str],
    /// The SIP Date header, if any.
    pub date: Option<UnixTime>,
    /// A configured origination identifier header (e.g. `P-Origination-ID`), if present.
    pub origid: Option<&'a str>,
}

/// RFC 8224 §4.1: `iat` is the Date header when it is within the freshness window of our
/// clock (sixty seconds recommended), otherwise our clock.
pub fn iat_for(date: Option<UnixTime>, now: UnixTime, window_secs: u64) -> u64 {
    let now = now.as_secs();
    match date {
        Some(date) if date.as_secs().abs_diff(now) <= window_secs => date.as_secs(),
        _ => now,
    }
}

/// The SHAKEN claims for a call; `origid` defaults to a new random UUID v4.
pub fn claims_for(
    request: &SigningRequest<'_>,
    attest: Attestation,
    now: UnixTime,
    window_secs: u64,
) -> Result<Claims, SigningError> {
    let orig = TelephoneNumber::canonicalize(request.orig).map_err(SigningError::CallingNumber)?;
    let dest = request
        .dest
        .iter()
        .map(|d| TelephoneNumber::canonicalize(d).map_err(SigningError::CalledNumber))
        .collect::<Result<Vec<_>, _>>()?;
    if dest.is_empty() {
        return Err(SigningError::NoCalledNumber);
    }
    let origid = match request.origid.map(str::trim) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => uuid::Uuid::new_v4().to_string(),
    };
    Ok(Claims::shaken(
        attest,
        orig,
        Dest::tns(dest),
        iat_for(request.date, now, window_secs),
        origid,
    ))
}

/// Signs a call: the Identity header value for `request` at `attest`.
pub fn identity_for(
    signer: &Signer,
    request: &SigningRequest<'_>,
    attest: Attestation,
    now: UnixTime,
    window_secs: u64,
) -> Result<String, SigningError> {
    let claims = claims_for(request, attest, now, window_secs)?;
    Ok(signer.identity_header(Ppt::Shaken, &claims)?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use passport::{Checks, IdentityHeader, SigningKey};

    use super::*;

    fn t(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    fn tn(s: &str) -> TelephoneNumber {
        TelephoneNumber::canonicalize(s).unwrap()
    }

    fn rule(scope: PolicyScope, action: PolicyAction) -> PolicyRule {
        PolicyRule {
            scope,
            action,
            certificate: None,
        }
    }

    #[test]
    fn the_most_specific_rule_wins() {
        use PolicyAction::*;
        let rules = [
            rule(PolicyScope::Tenant, Attest(Attestation::C)),
            rule(PolicyScope::Sbc("sbc-1".into()), Attest(Attestation::B)),
            rule(
                PolicyScope::TrunkGroup("tg-ent".into()),
                Attest(Attestation::A),
            ),
            rule(
                PolicyScope::CallingPrefix("1215".into()),
                Attest(Attestation::B),
            ),
            rule(PolicyScope::CallingPrefix("1215555".into()), Block),
            rule(
                PolicyScope::TnList(["12155550121".to_owned()].into()),
                Attest(Attestation::A),
            ),
        ];
        let call = |n: &str, sbc, tg| {
            let orig = tn(n);
            decide(
                &rules,
                &CallContext {
                    orig: &orig,
                    sbc,
                    trunk_group: tg,
                },
            )
        };
        assert_eq!(
            call("12155550121", None, None),
            Attest(Attestation::A),
            "TN list"
        );
        assert_eq!(call("12155550199", None, None), Block, "longest prefix");
        assert_eq!(
            call("12154440199", Some("sbc-1"), Some("tg-ent")),
            Attest(Attestation::B)
        );
        assert_eq!(
            call("13035550199", Some("sbc-1"), Some("tg-ent")),
            Attest(Attestation::A)
        );
        assert_eq!(
            call("13035550199", Some("sbc-1"), None),
            Attest(Attestation::B)
        );
        assert_eq!(
            call("13035550199", Some("sbc-2"), None),
            Attest(Attestation::C)
        );
        assert_eq!(
            decide(
                &[],
                &CallContext {
                    orig: &tn("1"),
                    sbc: None,
                    trunk_group: None
                }
            ),
            Skip
        );
    }

    #[test]
    fn iat_is_the_date_header_only_when_fresh() {
        assert_eq!(iat_for(Some(t(1_000)), t(1_060), 60), 1_000);
        assert_eq!(iat_for(Some(t(1_000)), t(1_061), 60), 1_061);
        assert_eq!(iat_for(Some(t(1_100)), t(1_000), 60), 1_000, "future Date");
        assert_eq!(iat_for(None, t(5), 60), 5);
    }

    #[test]
    fn claims_come_from_the_sip_identities() {
        let request = SigningRequest {
            orig: "sip:+12155550121@sbc.example;user=phone",
            dest: &["tel:+1-215-555-0131"],
            date: Some(t(1_000)),
            origid: Some("3f2b6a1e-0000-4000-8000-000000000001"),
        };
        let claims = claims_for(&request, Attestation::B, t(1_010), 60).unwrap();
        assert_eq!(
            claims.to_canonical_json(),
            r#"{"attest":"B","dest":{"tn":["12155550131"]},"iat":1000,"orig":{"tn":"12155550121"},"origid":"3f2b6a1e-0000-4000-8000-000000000001"}"#
        );
        let without_header = SigningRequest {
            origid: None,
            ..request
        };
        let generate = || {
            claims_for(&without_header, Attestation::B, t(1_010), 60)
                .unwrap()
                .origid
                .unwrap()
        };
        let origid = generate();
        let parsed = uuid::Uuid::parse_str(&origid).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(origid, parsed.hyphenated().to_string());
        assert_ne!(origid, generate(), "each call gets its own");
    }

    #[test]
    fn anonymous_and_empty_calls_are_not_signed() {
        let anonymous = SigningRequest {
            orig: "sip:anonymous@anonymous.invalid",
            dest: &["12155550131"],
            date: None,
            origid: None,
        };
        assert!(matches!(
            claims_for(&anonymous, Attestation::A, t(0), 60),
            Err(SigningError::CallingNumber(_))
        ));
        let nobody = SigningRequest {
            orig: "12155550121",
            dest: &[],
            ..anonymous
        };
        assert_eq!(
            claims_for(&nobody, Attestation::A, t(0), 60),
            Err(SigningError::NoCalledNumber)
        );
    }

    #[test]
    fn the_identity_verifies() {
        let signer = Signer::new(
            SigningKey::generate().unwrap(),
            "https://cr.example/cr/1.pem",
        )
        .unwrap();
        let request = SigningRequest {
            orig: "+12155550121",
            dest: &["+12155550131"],
            date: None,
            origid: None,
        };
        let value = identity_for(&signer, &request, Attestation::A, t(1_000), 60).unwrap();
        let verified = IdentityHeader::parse(&value)
            .unwrap()
            .passport()
            .unwrap()
            .verify(&signer.verifying_key().unwrap(), &Checks::at(t(1_000)))
            .unwrap();
        assert_eq!(verified.claims().attest, Some(Attestation::A));
    }
}
