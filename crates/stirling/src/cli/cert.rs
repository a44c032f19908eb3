//! `stirling cert …`: check our own SHAKEN certificates and CSRs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

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
}

pub(crate) fn run(cmd: CertCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CertCommand::Lint { file } => lint(&file),
    }
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
