//! The one error type of PASSporT and Identity header handling, and its SIP mapping.

use std::fmt;

use crate::Verstat;

/// Which segment of the compact JWS a failure is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwsPart {
    /// The protected header.
    Header,
    /// The claims.
    Payload,
    /// The signature.
    Signature,
}

impl fmt::Display for JwsPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        })
    }
}

/// What failed while parsing, signing or verifying a PASSporT or an Identity header.
///
/// Each variant maps to a SIP response code, reason phrase and verstat through
/// [`Error::sip_failure`] (`standards.md` §2.3, ATIS-1000082 error cases).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The `alg` parameter of the Identity header names an algorithm other than ES256.
    #[error("identity header alg parameter is {alg:?}, only ES256 is supported")]
    AlgParam {
        /// The value received.
        alg: String,
    },
    /// The signature segment does not decode from unpadded base64url.
    #[error("{part} is not unpadded base64url")]
    Base64 {
        /// The segment at fault.
        part: JwsPart,
    },
    /// The ES256 signature does not verify under the signer's key.
    #[error("signature does not verify")]
    BadSignature,
    /// The PASSporT is in compact form (`..signature`), which SHAKEN does not allow.
    #[error("PASSporT is in compact form; SHAKEN requires full form")]
    CompactForm,
    /// The `dest` claim does not name the called number.
    #[error("dest claim does not match the called number {expected}")]
    DestMismatch {
        /// The number the call is for.
        expected: String,
    },
    /// An object in the header or payload repeats a member name.
    #[error("{part} repeats the member name {key:?}")]
    DuplicateKey {
        /// The segment at fault.
        part: JwsPart,
        /// The repeated name.
        key: String,
    },
    /// The Identity header is not `jws;info=<uri>[;param…]` (RFC 8224 §4, erratum 6499).
    #[error("identity header is malformed: {reason}")]
    IdentityMalformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The `info` parameter is not an absolute URI in angle brackets.
    #[error("identity header info parameter is not <absoluteURI>")]
    InfoMalformed,
    /// The `info` parameter differs from the `x5u` of the PASSporT header.
    #[error("identity header info {info:?} differs from the PASSporT x5u {x5u:?}")]
    InfoMismatch {
        /// The `info` URI.
        info: String,
        /// The `x5u` URL.
        x5u: String,
    },
    /// A claim is present but not of the required form.
    #[error("claim {claim} {reason}")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A JWS segment is not JSON, or not a JSON object.
    #[error("{part} is not a JSON object: {detail}")]
    Json {
        /// The segment at fault.
        part: JwsPart,
        /// The parser's account.
        detail: String,
    },
    /// The value does not have the three dot-separated segments of a compact JWS.
    #[error("PASSporT has {segments} segments, a JWS has 3")]
    JwsSegments {
        /// How many segments were found.
        segments: usize,
    },
    /// A claim the extension requires is absent.
    #[error("claim {claim} is missing")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// A header parameter SHAKEN requires (`alg`, `ppt`, `typ`, `x5u`) is absent.
    #[error("PASSporT header parameter {name} is missing")]
    MissingHeaderParam {
        /// The parameter's name.
        name: &'static str,
    },
    /// The Identity header has no `info` parameter.
    #[error("identity header has no info parameter")]
    MissingInfo,
    /// The `orig` claim does not name the calling number.
    #[error("orig claim does not match the calling number {expected}")]
    OrigMismatch {
        /// The number the call is from.
        expected: String,
    },
    /// The `ppt` parameter of the Identity header differs from the PASSporT header's `ppt`.
    #[error("identity header ppt {param:?} differs from the PASSporT ppt {header:?}")]
    PptMismatch {
        /// The Identity header parameter.
        param: String,
        /// The JWS header value.
        header: String,
    },
    /// The signature is not 64 bytes of R‖S (RFC 7518 §3.4).
    #[error("ES256 signature is {len} bytes, not 64")]
    SignatureLength {
        /// Its length.
        len: usize,
    },
    /// Signing failed inside the crypto library.
    #[error("signing failed")]
    SigningFailed,
    /// `iat` is further from the verifier's clock than the freshness window, either way.
    #[error("iat {iat} is {} s from now {now}, more than {window} s", iat.abs_diff(*now))]
    Stale {
        /// The claim.
        iat: u64,
        /// The verifier's time.
        now: u64,
        /// The allowed distance in seconds.
        window: u64,
    },
    /// The request carries more Identity headers than we examine.
    #[error("{count} identity headers, at most {max} are examined")]
    TooManyIdentityHeaders {
        /// How many there were.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The header's `alg` is not ES256.
    #[error("PASSporT alg {alg:?} is not supported, only ES256")]
    UnsupportedAlg {
        /// The value received.
        alg: String,
    },
    /// The header has a `crit` parameter; no critical extension is supported.
    #[error("PASSporT header marks parameters critical; none is supported")]
    UnsupportedCritical,
    /// The `ppt` names an extension we do not support.
    #[error("PASSporT extension {ppt:?} is not supported")]
    UnsupportedPpt {
        /// The value received.
        ppt: String,
    },
    /// The header's `typ` is not `passport`.
    #[error("PASSporT typ {typ:?} is not \"passport\"")]
    UnsupportedTyp {
        /// The value received.
        typ: String,
    },
}

/// The SIP outcome of a failure: response code, reason phrase and verstat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SipFailure {
    /// 403, 436, 437 or 438.
    pub code: u16,
    /// The reason phrase of RFC 8224 / ATIS-1000074 §5.3.2.
    pub reason: &'static str,
    /// What the verifier reports on the P-Asserted-Identity.
    pub verstat: Verstat,
}

const STALE_DATE: SipFailure = SipFailure {
    code: 403,
    reason: "Stale Date",
    verstat: Verstat::NoTnValidation,
};
const BAD_IDENTITY_INFO: SipFailure = SipFailure {
    code: 436,
    reason: "Bad Identity Info",
    verstat: Verstat::NoTnValidation,
};
const UNSUPPORTED_CREDENTIAL: SipFailure = SipFailure {
    code: 437,
    reason: "Unsupported Credential",
    verstat: Verstat::NoTnValidation,
};
const INVALID_IDENTITY_HEADER: SipFailure = SipFailure {
    code: 438,
    reason: "Invalid Identity Header",
    verstat: Verstat::NoTnValidation,
};

impl Error {
    /// The SIP response code, reason phrase and verstat for this failure.
    ///
    /// Verstat follows ATIS-1000082's error cases as vermouth implements them: a PASSporT
    /// that could not be evaluated gives `No-TN-Validation`; one that was evaluated and
    /// found false (signature) gives `TN-Validation-Failed`.
    pub fn sip_failure(&self) -> SipFailure {
        match self {
            // ATIS-1000082 E12 / RFC 8224 §6.2.2: an algorithm we cannot use is an
            // unsupported credential.
            Self::AlgParam { .. } | Self::UnsupportedAlg { .. } => UNSUPPORTED_CREDENTIAL,
            // ATIS-1000082 E11: typ other than "passport".
            Self::UnsupportedTyp { .. } => UNSUPPORTED_CREDENTIAL,
            // ATIS-1000082 E6/E7/E9/E10: info missing or unusable, header lacks a
            // parameter, or x5u differs from info — the credential cannot be obtained.
            Self::MissingInfo
            | Self::InfoMalformed
            | Self::InfoMismatch { .. }
            | Self::MissingHeaderParam { .. } => BAD_IDENTITY_INFO,
            // ATIS-1000082 E18: the signature was checked and is false.
            Self::BadSignature => SipFailure {
                verstat: Verstat::TnValidationFailed,
                ..INVALID_IDENTITY_HEADER
            },
            // RFC 8224 §6.2.1 / ATIS-1000082 E3, E15: outside the freshness window.
            Self::Stale { .. } => STALE_DATE,
            // ATIS-1000082 E4 (compact form), E5/E13 (ppt), E14 (payload corrupt or a
            // claim missing), E16 (orig/dest mismatch), E19 (attest): RFC 8224 438.
            Self::Base64 { .. }
            | Self::CompactForm
            | Self::DestMismatch { .. }
            | Self::DuplicateKey { .. }
            | Self::IdentityMalformed { .. }
            | Self::InvalidClaim { .. }
            | Self::Json { .. }
            | Self::JwsSegments { .. }
            | Self::MissingClaim { .. }
            | Self::OrigMismatch { .. }
            | Self::PptMismatch { .. }
            | Self::SignatureLength { .. }
            | Self::TooManyIdentityHeaders { .. }
            | Self::UnsupportedCritical
            | Self::UnsupportedPpt { .. } => INVALID_IDENTITY_HEADER,
            // Our own signer failed: the nearest SIP meaning is that no valid Identity
            // could be produced, reported as 438 if ever surfaced to a peer.
            Self::SigningFailed => INVALID_IDENTITY_HEADER,
        }
    }

    /// How far verification got before this failure; higher is further.
    ///
    /// With several Identity headers, the failure that got furthest is the most specific
    /// one to report (`STYLE.md` §3, after webpki's `most_specific`).
    pub fn stage(&self) -> u8 {
        match self {
            Self::TooManyIdentityHeaders { .. } | Self::SigningFailed => 0,
            Self::IdentityMalformed { .. }
            | Self::CompactForm
            | Self::JwsSegments { .. }
            | Self::Base64 { .. }
            | Self::Json { .. }
            | Self::DuplicateKey { .. } => 1,
            Self::MissingInfo
            | Self::InfoMalformed
            | Self::MissingHeaderParam { .. }
            | Self::InfoMismatch { .. }
            | Self::AlgParam { .. }
            | Self::UnsupportedAlg { .. }
            | Self::UnsupportedTyp { .. }
            | Self::UnsupportedCritical
            | Self::UnsupportedPpt { .. }
            | Self::PptMismatch { .. }
            | Self::SignatureLength { .. } => 2,
            Self::BadSignature => 3,
            Self::MissingClaim { .. } | Self::InvalidClaim { .. } => 4,
            Self::OrigMismatch { .. } | Self::DestMismatch { .. } => 5,
            Self::Stale { .. } => 6,
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
