//! `stirling passport …`: sign, verify and decode PASSporTs and Identity header values.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use passport::{
    Attestation, Checks, Claims, Dest, IdentityHeader, Ppt, Signer, SigningKey, TelephoneNumber,
    UnixTime, VerifyingKey, Verstat,
};
use pki::TrustAnchors;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use serde_json::{Value, json};

use crate::verification::{TrustedSigner, VerificationFailure};

/// Exit code when a PASSporT is invalid (distinct from a usage error).
const EXIT_INVALID: u8 = 1;

/// `stirling passport` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum PassportCommand {
    /// Sign a SHAKEN PASSporT and print the Identity header value.
    Sign(SignArgs),
    /// Verify an Identity header value and print the outcome as JSON.
    Verify(VerifyArgs),
    /// Print the header and claims of a PASSporT without verifying it.
    Decode {
        /// A compact JWS or a whole Identity header value.
        value: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// PEM private key (SEC1 `EC PRIVATE KEY` or PKCS#8 `PRIVATE KEY`), P-256.
    #[arg(long)]
    key: PathBuf,
    /// URL of the certificate chain that verifiers will fetch.
    #[arg(long)]
    x5u: String,
    /// Attestation level.
    #[arg(long, value_parser = parse_attestation)]
    attest: Attestation,
    /// Calling number, in any usual form (`+1 215 555 0121`, `tel:…`, `sip:…@…`).
    #[arg(long)]
    orig: String,
    /// Called number(s), comma separated.
    #[arg(long, value_delimiter = ',', required = true)]
    dest: Vec<String>,
    /// Origination identifier; a random UUID v4 when absent.
    #[arg(long)]
    origid: Option<String>,
    /// Issued-at time in seconds since the epoch; now when absent.
    #[arg(long)]
    iat: Option<u64>,
    /// PASSporT extension.
    #[arg(long, value_enum, default_value = "shaken")]
    ppt: SignPpt,
}

/// Extensions `sign` can produce from its flags.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum SignPpt {
    Shaken,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The Identity header value (`<jws>;info=<url>;alg=ES256;ppt=shaken`).
    #[arg(long)]
    identity: String,
    /// PEM certificate chain, leaf first, whose leaf key verifies the signature (what the
    /// x5u URL serves).
    #[arg(long)]
    cert: PathBuf,
    /// PEM files of trusted STI-CA certificates; when given, the chain is validated to one of
    /// them at the PASSporT's `iat` (437 when it is not trusted).
    #[arg(long = "trust-anchors", num_args = 1..)]
    trust_anchors: Vec<PathBuf>,
    /// Calling number the `orig` claim must match.
    #[arg(long)]
    orig: Option<String>,
    /// Called number the `dest` claim must contain.
    #[arg(long)]
    dest: Option<String>,
    /// Verification time in seconds since the epoch; now when absent.
    #[arg(long)]
    now: Option<u64>,
    /// Freshness window in seconds, applied both ways around `iat`.
    #[arg(long, default_value_t = passport::DEFAULT_FRESHNESS_SECS)]
    freshness: u64,
}

pub(crate) fn run(cmd: PassportCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PassportCommand::Sign(args) => sign(args),
        PassportCommand::Verify(args) => verify(args),
        PassportCommand::Decode { value } => decode(&value),
    }
}

fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    let pem =
        std::fs::read(&args.key).with_context(|| format!("reading key {}", args.key.display()))?;
    let key = SigningKey::from_pem(&pem).with_context(|| format!("key {}", args.key.display()))?;
    let signer = Signer::new(key, &args.x5u).context("--x5u")?;
    let orig = TelephoneNumber::canonicalize(&args.orig).context("--orig")?;
    let dest = args
        .dest
        .iter()
        .map(|d| TelephoneNumber::canonicalize(d).with_context(|| format!("--dest {d}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let origid = args
        .origid
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if origid.is_empty() {
        bail!("--origid must not be empty");
    }
    let iat = match args.iat {
        Some(iat) => iat,
        None => now_secs()?,
    };
    let SignPpt::Shaken = args.ppt;
    let claims = Claims::shaken(args.attest, orig, Dest::tns(dest), iat, origid);
    println!("{}", signer.identity_header(Ppt::Shaken, &claims)?);
    Ok(ExitCode::SUCCESS)
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let chain_pem = std::fs::read(&args.cert)
        .with_context(|| format!("reading certificate {}", args.cert.display()))?;
    let certificates = CertificateDer::pem_slice_iter(&chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("certificate {}", args.cert.display()))?;
    // Without anchors the leaf key is used as given; check it is usable before verifying.
    let trust = match args.trust_anchors.as_slice() {
        [] => Trust::LeafKey(
            leaf_key(&certificates)
                .with_context(|| format!("certificate {}", args.cert.display()))?,
        ),
        files => Trust::Anchors(trust_anchors(files)?),
    };
    let orig = args
        .orig
        .as_deref()
        .map(TelephoneNumber::canonicalize)
        .transpose()
        .context("--orig")?;
    let dest = args
        .dest
        .as_deref()
        .map(TelephoneNumber::canonicalize)
        .transpose()
        .context("--dest")?;
    let now = match args.now {
        Some(now) => now,
        None => now_secs()?,
    };
    let checks = Checks {
        now: UnixTime::since_unix_epoch(Duration::from_secs(now)),
        freshness_secs: args.freshness,
        orig: orig.as_ref(),
        dest: dest.as_ref(),
    };
    let outcome = (|| -> Result<Option<TrustedSigner>, VerificationFailure> {
        let passport = IdentityHeader::parse(&args.identity)?.passport()?;
        match &trust {
            Trust::Anchors(anchors) => {
                // standards.md §3.4: validity is checked at the PASSporT's time.
                let at = passport.claimed_iat().unwrap_or(now);
                let time = UnixTime::since_unix_epoch(Duration::from_secs(at));
                let signer = TrustedSigner::validate(&certificates, anchors, time, None)?;
                passport.verify(signer.key_for_call(), &checks)?;
                Ok(Some(signer))
            }
            Trust::LeafKey(key) => {
                passport.verify(key, &checks)?;
                Ok(None)
            }
        }
    })();
    // Show what was received even when it fails: that is what an operator needs.
    let (header, claims) = match passport::decode(&args.identity) {
        Ok(d) => (d.header, d.payload),
        Err(_) => (Value::Null, Value::Null),
    };
    let (mut report, code) = match &outcome {
        Ok(_) => (
            json!({
                "verstat": Verstat::TnValidationPassed.as_str(),
                "reason_code": null,
                "reason_text": null,
            }),
            ExitCode::SUCCESS,
        ),
        Err(e) => {
            let failure = e.sip_failure();
            (
                json!({
                    "verstat": failure.verstat.as_str(),
                    "reason_code": failure.code,
                    "reason_text": failure.reason,
                    "detail": e.to_string(),
                }),
                ExitCode::from(EXIT_INVALID),
            )
        }
    };
    report["header"] = header;
    report["claims"] = claims;
    if let Ok(Some(signer)) = &outcome {
        let chain = signer.chain();
        report["chain"] = json!({
            "spc": chain.spc().as_str(),
            "fingerprint": hex_colon(chain.fingerprint()),
            "warnings": chain.warnings().iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        });
    }
    println!("{report}");
    Ok(code)
}

fn decode(value: &str) -> anyhow::Result<ExitCode> {
    match passport::decode(value) {
        Ok(d) => {
            let out = json!({ "header": d.header, "claims": d.payload });
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("stirling: cannot decode: {e}");
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}

/// What `verify` trusts: anchors the chain must lead to, or the leaf's key as given.
enum Trust {
    Anchors(TrustAnchors),
    LeafKey(VerifyingKey),
}

/// Trust anchors from PEM files, each holding one or more certificates.
fn trust_anchors(files: &[PathBuf]) -> anyhow::Result<TrustAnchors> {
    let mut anchors = TrustAnchors::new();
    for file in files {
        let pem = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("trust anchors {}", file.display()))?;
        if certs.is_empty() {
            bail!("trust anchors {}: no CERTIFICATE PEM block", file.display());
        }
        for cert in certs {
            anchors
                .add_der(cert.as_ref())
                .with_context(|| format!("trust anchor in {}", file.display()))?;
        }
    }
    Ok(anchors)
}

/// SHA-256 as `AB:CD:…`, the way operators compare certificate fingerprints.
fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The public key of the first certificate of a chain.
fn leaf_key(certificates: &[CertificateDer<'static>]) -> anyhow::Result<VerifyingKey> {
    let leaf = certificates.first().context("no CERTIFICATE PEM block")?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| anyhow::anyhow!("not an X.509 certificate: {e}"))?;
    Ok(VerifyingKey::from_public_key(cert.public_key().raw)?)
}

fn parse_attestation(s: &str) -> Result<Attestation, String> {
    s.parse::<Attestation>().map_err(|e| e.to_string())
}

fn now_secs() -> anyhow::Result<u64> {
    Ok(SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .context("system clock is before 1970")?
        .as_secs())
}
