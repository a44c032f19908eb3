//! The `stirling` command line: one module per command group.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cert;
mod issue_once;
mod passport;
mod sandbox;
mod serve;

/// Exit code for a usage error (bad flags, unreadable files).
const EXIT_USAGE: u8 = 2;

/// STIR/SHAKEN call authentication: sign, verify, and keep certificates valid.
#[derive(Debug, Parser)]
#[command(name = "stirling", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check SHAKEN certificates and certificate requests.
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Run one issuance attempt for one certificate entry (for process-kill tests).
    #[command(hide = true)]
    IssueOnce(issue_once::IssueOnceArgs),
    /// Sign, verify and decode PASSporTs and SIP Identity header values.
    #[command(subcommand)]
    Passport(passport::PassportCommand),
    /// Run a local STI-PA and STI-CA (ACME, tkauth-01) for development and tests.
    Sandbox(sandbox::SandboxArgs),
    /// Run the service: HTTP (`/healthz`), the store and, as they land, SIP and the lifecycle.
    Serve(serve::ServeArgs),
}

/// Runs the command line and returns the process exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout with success, errors to stderr.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Cert(cmd) => cert::run(cmd),
        Command::IssueOnce(args) => issue_once::run(args),
        Command::Passport(cmd) => passport::run(cmd),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stirling: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
