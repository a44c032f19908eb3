//! `stirling serve`: run the service.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use crate::config::Config;

/// Flags of `stirling serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// TOML configuration file; `STIRLING_*` environment variables override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Development mode with embedded defaults (the master key file is generated on first
    /// start). Never use it in production.
    #[arg(long)]
    sandbox: bool,
}

/// Loads the configuration, starts logging and runs the service until a stop signal.
pub(crate) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config =
        Config::load(args.config.as_deref(), args.sandbox).context("invalid configuration")?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log.filter)
                .context("invalid log.filter")?,
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|e| anyhow::anyhow!("starting the logger: {e}"))?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %config.redacted_json(),
        "starting"
    );
    if config.sandbox {
        tracing::warn!("SANDBOX MODE: embedded defaults, generated master key; not for production");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match runtime.block_on(crate::serve::run(config)) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "stopped with an error");
            Ok(ExitCode::FAILURE)
        }
    }
}
