//! `stirling issue-once` (hidden): runs one issuance attempt for one certificate entry and
//! exits. It exists so tests can SIGKILL a real process in the middle of issuance and check
//! that the next attempt converges; the scheduler, not this command, issues in service.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use sti::{
    AcmeClient, AcmeConfig, DangerousAcmeConfig, DangerousStiPaConfig, FingerprintInput,
    StiPaClient, StiPaConfig, SystemClock,
};

use crate::lifecycle::issuance::{IssuanceDeps, issue_certificate};
use crate::secrets::MasterKey;
use crate::store::{CertificateId, Store, TenantId};

/// Flags of `stirling issue-once`.
#[derive(Debug, clap::Args)]
pub(crate) struct IssueOnceArgs {
    /// Store URL (`sqlite://…` or `postgres://…`); it must be migrated already.
    #[arg(long)]
    store: String,
    /// File holding the master key (base64) that sealed the entry's secrets.
    #[arg(long, value_name = "FILE")]
    master_key: PathBuf,
    /// The tenant id.
    #[arg(long)]
    tenant: String,
    /// The certificate entry id.
    #[arg(long)]
    certificate: String,
    /// STI-PA API base URL.
    #[arg(long)]
    sti_pa: String,
    /// STI-CA ACME directory URL.
    #[arg(long)]
    acme_directory: String,
    /// Allow plain `http://` STI-PA and STI-CA URLs (a sandbox on loopback).
    #[arg(long)]
    danger_allow_http: bool,
}

/// Issues once; prints the new active version's id. Exit status 1 when issuance failed.
pub(crate) fn run(args: IssueOnceArgs) -> anyhow::Result<ExitCode> {
    let tenant: TenantId = args.tenant.parse().context("--tenant is not an id")?;
    let certificate: CertificateId = args
        .certificate
        .parse()
        .context("--certificate is not an id")?;
    let key =
        MasterKey::load_or_generate(&args.master_key, false).context("reading the master key")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let store = Store::connect(&args.store, 2, Arc::new(key))
            .await
            .context("opening the store")?;
        let sti_pa = StiPaClient::new(&StiPaConfig {
            danger: DangerousStiPaConfig {
                allow_http: args.danger_allow_http,
            },
            ..StiPaConfig::new(args.sti_pa.parse().context("--sti-pa is not a url")?)
        })
        .context("building the sti-pa client")?;
        let acme = AcmeClient::connect(AcmeConfig {
            danger: DangerousAcmeConfig {
                allow_http: args.danger_allow_http,
            },
            ..AcmeConfig::new(args.acme_directory)
        })
        .await
        .context("reading the acme directory")?;
        let deps = IssuanceDeps {
            sti_pa,
            acme,
            fingerprint_input: FingerprintInput::SpkiDer,
            clock: Arc::new(SystemClock),
            self_check: None,
            external_account: None,
        };
        let outcome = issue_certificate(&store, &tenant, &certificate, &deps).await;
        store.close().await;
        match outcome {
            Ok(version) => {
                println!("{}", version.id);
                Ok(ExitCode::SUCCESS)
            }
            Err(failure) => {
                eprintln!("stirling: {failure}");
                Ok(ExitCode::FAILURE)
            }
        }
    })
}
