//! `stirling passport …`: sign, verify and decode.

use std::process::ExitCode;

use clap::Subcommand;

/// `stirling passport` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum PassportCommand {}

pub(crate) fn run(cmd: PassportCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
