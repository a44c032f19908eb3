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
use serde_json::{Value, json};

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
    /// PEM certificate chain, leaf first, whose leaf key verifies the signature.
    #[arg(long)]
    cert: PathBuf,
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
    let chain = std::fs::read(&args.cert)
        .with_context(|| format!("reading certificate {}", args.cert.display()))?;
    let key = leaf_key(&chain).with_context(|| format!("certificate {}", args.cert.display()))?;
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
    let outcome = IdentityHeader::parse(&args.identity)
        .and_then(|h| h.passport())
        .and_then(|p| p.verify(&key, &checks));
    // Show what was received even when it fails: that is what an operator needs.
    let (header, claims) = match passport::decode(&args.identity) {
        Ok(d) => (d.header, d.payload),
        Err(_) => (Value::Null, Value::Null),
    };
    let (report, code) = match outcome {
        Ok(_) => (
            json!({
                "verstat": Verstat::TnValidationPassed.as_str(),
                "reason_code": null,
                "reason_text": null,
                "header": header,
                "claims": claims,
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
                    "header": header,
                    "claims": claims,
                }),
                ExitCode::from(EXIT_INVALID),
            )
        }
    };
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

/// The public key of the first certificate of a PEM chain.
fn leaf_key(pem: &[u8]) -> anyhow::Result<VerifyingKey> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let leaf = CertificateDer::pem_slice_iter(pem)
        .next()
        .context("no CERTIFICATE PEM block")?
        .context("malformed PEM")?;
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
