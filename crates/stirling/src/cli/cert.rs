//! `stirling cert …`: check our own SHAKEN certificates and CSRs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject as _;

/// Exit code when a linted document breaks an error-level rule.
const EXIT_FINDINGS: u8 = 1;

/// `stirling cert` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum CertCommand {
    /// Lint certificates or CSRs against the SHAKEN profile (ATIS-1000080 v005, US CP).
    ///
    /// Reads PEM (text around the blocks, such as an `openssl x509 -text` dump, is skipped)
    /// or a single DER certificate or CSR. Prints one line per finding,
    /// `error|warn|notice <rule-id>: <text>`; exits 1 if any finding is an error, 0 if not,
    /// and 2 if the file cannot be read or holds no certificate or CSR.
    Lint {
        /// The file to lint.
        file: PathBuf,
    },
    /// Write a PKCS#10 CSR carrying a TNAuthList with one SPC (ATIS-1000080, RFC 8226).
    ///
    /// Signs with a fresh P-256 key written to `--key-out`, or with the PKCS#8 key in
    /// `--key`. Prints the CSR as PEM unless `--out` is given.
    Csr(CsrArgs),
}

/// Arguments of `stirling cert csr`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("key_source").required(true).args(["key", "key_out"])))]
pub(crate) struct CsrArgs {
    /// Service provider code for the TNAuthList, e.g. `1234`.
    #[arg(long)]
    spc: String,
    /// Existing PKCS#8 P-256 private key (PEM) to sign with.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Where to write a freshly generated private key (PEM, mode 0600).
    #[arg(long)]
    key_out: Option<PathBuf>,
    /// Where to write the CSR (PEM); standard output if absent.
    #[arg(long)]
    out: Option<PathBuf>,
    /// CRL distribution point URI to request (the `crl` value returned with the SPC token).
    #[arg(long)]
    crl_uri: Option<String>,
    /// Add the STI-PA CRL issuer name as the distribution point's cRLIssuer.
    #[arg(long, requires = "crl_uri")]
    sti_pa_crl_issuer: bool,
    /// Subject C.
    #[arg(long)]
    country: Option<String>,
    /// Subject O.
    #[arg(long)]
    organization: Option<String>,
    /// Subject CN, e.g. `SHAKEN 1234`.
    #[arg(long)]
    common_name: Option<String>,
    /// Request basicConstraints CA:FALSE.
    #[arg(long)]
    basic_constraints: bool,
}

pub(crate) fn run(cmd: CertCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CertCommand::Lint { file } => lint(&file),
        CertCommand::Csr(args) => csr(&args),
    }
}

fn csr(args: &CsrArgs) -> anyhow::Result<ExitCode> {
    let spc = passport::Spc::new(&args.spc).with_context(|| format!("--spc {:?}", args.spc))?;
    let mut subject = pki::DistinguishedName::default();
    for (attribute, value) in [
        (pki::NameAttribute::Country, &args.country),
        (pki::NameAttribute::Organization, &args.organization),
        (pki::NameAttribute::CommonName, &args.common_name),
    ] {
        if let Some(value) = value {
            subject = subject.push(attribute, value);
        }
    }
    let mut params = pki::CsrParams::new(pki::TnAuthList::from_spc(spc)).subject(subject);
    if let Some(uri) = &args.crl_uri {
        params = params.crl_distribution_point(pki::CrlDistributionPoint {
            uri: uri.clone(),
            crl_issuer: args
                .sti_pa_crl_issuer
                .then(pki::DistinguishedName::sti_pa_crl_issuer),
        });
    }
    if args.basic_constraints {
        params = params.end_entity_basic_constraints();
    }
    let csr = match (&args.key, &args.key_out) {
        (Some(path), _) => {
            let pem =
                std::fs::read(path).with_context(|| format!("reading key {}", path.display()))?;
            let key = PrivatePkcs8KeyDer::from_pem_slice(&pem)
                .map_err(|e| anyhow::anyhow!("{e:?}"))
                .with_context(|| format!("no pkcs#8 private key in {}", path.display()))?;
            params.sign(&key)?
        }
        (None, Some(path)) => {
            let csr = params.sign_with_new_key()?;
            write_secret(path, csr.secret_key_pem().as_bytes())
                .with_context(|| format!("writing key {}", path.display()))?;
            csr
        }
        // clap's required "key_source" group makes this unreachable; say so if it is not.
        (None, None) => anyhow::bail!("one of --key or --key-out is required"),
    };
    match &args.out {
        Some(path) => std::fs::write(path, csr.pem())
            .with_context(|| format!("writing csr {}", path.display()))?,
        None => print!("{}", csr.pem()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a private key readable by its owner only; refuses to overwrite.
fn write_secret(path: &PathBuf, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

fn lint(file: &PathBuf) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let reports = pki::lint(&bytes).with_context(|| format!("linting {}", file.display()))?;
    let several = reports.len() > 1;
    let mut errors = false;
    for (i, report) in reports.iter().enumerate() {
        if several {
            // Only files with several blocks get a header, so one-block output stays one
            // line per finding.
            println!("# block {}: {}", i + 1, report.document());
        }
        for finding in report.findings() {
            println!("{finding}");
        }
        errors |= report.has_errors();
    }
    Ok(if errors {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    })
}
