//! `stirling sandbox`: run the local STI-PA and STI-CA (the `sandbox` crate) over plain HTTP,
//! on loopback unless told otherwise.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sandbox::{
    ExternalAccountKey, FingerprintInput, Sandbox, SandboxConfig, Seed, SeedAccount, SeedUser,
};

/// Arguments of `stirling sandbox`.
#[derive(Debug, clap::Args)]
pub(crate) struct SandboxArgs {
    /// Address to listen on. Plain HTTP: keep it on loopback.
    #[arg(long, default_value = "127.0.0.1:8444")]
    listen: SocketAddr,
    /// Directory holding the sandbox PKI (keys included) and state; created if missing.
    #[arg(long, default_value = "stirling-sandbox")]
    state: PathBuf,
    /// URL clients use to reach the sandbox (default `http://<listen address>`).
    #[arg(long)]
    base_url: Option<String>,
    /// JSON seed file of STI-PA users and accounts (see the sandbox README).
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Add an STI-PA user: `USER:PASSWORD:ACCOUNT[,ACCOUNT…]`.
    #[arg(long = "user", value_name = "USER:PASSWORD:ACCOUNTS")]
    users: Vec<String>,
    /// Add an STI-PA account and the OCNs it may request tokens for: `ACCOUNT:OCN[,OCN…]`.
    #[arg(long = "account", value_name = "ACCOUNT:OCNS")]
    accounts: Vec<String>,
    /// Seed of the generator for identifiers, nonces and tokens (used for a new state only).
    #[arg(long, default_value_t = 0)]
    rng_seed: u64,
    /// Validity of issued certificates, in days.
    #[arg(long, default_value_t = 7)]
    cert_validity_days: u64,
    /// Lifetime of SPC tokens, in seconds.
    #[arg(long, default_value_t = 300)]
    token_lifetime_secs: u64,
    /// What the CA hashes for the account key fingerprint: `spki` or `jwk-thumbprint`.
    #[arg(long, default_value = "spki")]
    fingerprint: String,
    /// Require external account binding with this key id (with `--eab-hmac-key`).
    #[arg(long, requires = "eab_hmac_key")]
    eab_kid: Option<String>,
    /// The EAB MAC key, base64url.
    #[arg(long, requires = "eab_kid")]
    eab_hmac_key: Option<String>,
    /// Allow listening on a non-loopback address (the sandbox serves plain HTTP).
    #[arg(long)]
    danger_listen_non_loopback: bool,
}

/// Runs the sandbox until Ctrl-C.
pub(crate) fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    if !args.listen.ip().is_loopback() && !args.danger_listen_non_loopback {
        anyhow::bail!(
            "{} is not a loopback address; the sandbox serves plain HTTP \
             (pass --danger-listen-non-loopback to insist)",
            args.listen
        );
    }
    let seed = seed(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args, seed))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: SandboxArgs, seed: Seed) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let local = listener.local_addr().context("reading the bound address")?;
    let base_url = args
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let mut config = SandboxConfig::new(base_url.clone());
    config.rng_seed = args.rng_seed;
    config.certificate_validity = Duration::from_secs(args.cert_validity_days * 86_400);
    config.token_lifetime = Duration::from_secs(args.token_lifetime_secs);
    config.fingerprint_input = match args.fingerprint.as_str() {
        "spki" => FingerprintInput::SpkiDer,
        "jwk-thumbprint" => FingerprintInput::JwkThumbprint,
        other => anyhow::bail!("--fingerprint {other:?}: expected spki or jwk-thumbprint"),
    };
    if let (Some(kid), Some(key)) = (&args.eab_kid, &args.eab_hmac_key) {
        config.external_account = Some(ExternalAccountKey {
            kid: kid.clone(),
            secret_hmac_key: URL_SAFE_NO_PAD
                .decode(key.trim_end_matches('='))
                .context("--eab-hmac-key is not base64url")?,
        });
    }
    let sandbox = Sandbox::open(&args.state, config, &seed)
        .with_context(|| format!("opening sandbox state in {}", args.state.display()))?;
    for (name, pem) in [
        ("sti-pa-root.pem", sandbox.pa_root_pem()),
        ("sti-ca-root.pem", sandbox.ca_root_pem()),
    ] {
        let path = args.state.join(name);
        std::fs::write(&path, pem).with_context(|| format!("writing {}", path.display()))?;
    }
    // Loud on purpose: this is not a real PA/CA.
    println!("stirling sandbox: SANDBOX STI-PA and STI-CA, NOT FOR PRODUCTION");
    println!("listening on {base_url}");
    println!("  STI-PA API      {base_url}/api/v1");
    println!("  ACME directory  {base_url}/acme/directory");
    println!("  fault switches  {base_url}/sandbox/faults");
    println!(
        "  trust anchors   {} (STI-PA root), {} (STI-CA root)",
        args.state.join("sti-pa-root.pem").display(),
        args.state.join("sti-ca-root.pem").display()
    );
    for user in &seed.users {
        println!(
            "  user            {} (accounts {})",
            user.user_id,
            user.accounts.join(",")
        );
    }
    let app = sandbox::router(sandbox.clone()).merge(sandbox::admin_router(sandbox));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")?;
    Ok(())
}

/// The seed file, plus `--account` and `--user`; the demo seed when none is given.
fn seed(args: &SandboxArgs) -> anyhow::Result<Seed> {
    let mut seed = match &args.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Seed::from_json(&text).with_context(|| format!("parsing {}", path.display()))?
        }
        None if args.users.is_empty() && args.accounts.is_empty() => Seed::demo(),
        None => Seed::default(),
    };
    for account in &args.accounts {
        let (id, ocns) = account
            .split_once(':')
            .with_context(|| format!("--account {account:?}: expected ACCOUNT:OCN[,OCN…]"))?;
        seed.accounts.push(SeedAccount {
            account_id: id.to_owned(),
            ocns: ocns.split(',').map(str::to_owned).collect(),
        });
    }
    for user in &args.users {
        let mut parts = user.splitn(3, ':');
        let (Some(id), Some(password), Some(accounts)) = (parts.next(), parts.next(), parts.next())
        else {
            anyhow::bail!("--user: expected USER:PASSWORD:ACCOUNT[,ACCOUNT…]");
        };
        seed.users.push(SeedUser {
            user_id: id.to_owned(),
            password: password.to_owned(),
            accounts: accounts.split(',').map(str::to_owned).collect(),
        });
    }
    Ok(seed)
}
