//! Start-up and shutdown of the service: master key, store, migrations, HTTP listener, and a
//! graceful stop on SIGINT/SIGTERM with a deadline.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;
use crate::http::{AppState, router};
use crate::lifecycle::scheduler::RenewNow;
use crate::secrets::MasterKey;
use crate::store::Store;

/// How long closing the store may take after the listener stopped.
const STORE_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the service until SIGINT or SIGTERM, then stops gracefully. Returns once everything
/// has stopped; an error means start-up or the listener failed.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let key = Arc::new(load_master_key(&config).await?);
    let store = Store::connect(&config.store.url, config.store.max_connections, key)
        .await
        .context("connecting to the store")?;
    store.migrate().await.context("migrating the store")?;
    tracing::info!(backend = ?store.backend(), "store ready");

    // Install the handlers before announcing the listener, so a signal sent as soon as the
    // service is reachable already means a graceful stop.
    let mut terminate = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;

    let listener = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding the HTTP listener to {}", config.http.listen))?;
    let addr = listener
        .local_addr()
        .context("reading the HTTP listener's address")?;
    tracing::info!(%addr, "listening");

    // In sandbox mode the local STI-PA/STI-CA run in-process on their own listener; they stop
    // with the process.
    let sandbox = match config.sandbox {
        true => Some(start_embedded_sandbox(&config).await?),
        false => None,
    };

    // The scheduler that reads these requests is started with the lifecycle wiring.
    let (renew_now, _renew_requests) = RenewNow::channel();
    let app = router(AppState {
        store: store.clone(),
        clock: Arc::new(sti::SystemClock),
        renew_now,
        auth: crate::auth::Auth::new(config.http.secure_cookies),
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(async move {
        // The peer address feeds login rate limiting.
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            // Either a send or a dropped sender means stop.
            let _ = stopped.await;
        })
        .await
    });

    tokio::select! {
        result = &mut server => {
            result.context("HTTP server task")?.context("HTTP server")?;
            anyhow::bail!("HTTP server stopped on its own");
        }
        _ = terminate.recv() => tracing::info!(signal = "SIGTERM", "shutting down"),
        _ = interrupt.recv() => tracing::info!(signal = "SIGINT", "shutting down"),
    }
    let _ = stop.send(());
    let deadline = Duration::from_secs(config.http.shutdown_timeout_secs);
    match tokio::time::timeout(deadline, &mut server).await {
        Ok(result) => result.context("HTTP server task")?.context("HTTP server")?,
        Err(_) => {
            tracing::warn!(
                deadline_secs = deadline.as_secs(),
                "connections still open at the shutdown deadline; dropping them"
            );
            server.abort();
        }
    }
    if tokio::time::timeout(STORE_CLOSE_TIMEOUT, store.close())
        .await
        .is_err()
    {
        tracing::warn!("store connections did not close in time");
    }
    if let Some(task) = sandbox {
        task.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// Opens (or creates) the sandbox state and serves its STI-PA and STI-CA.
async fn start_embedded_sandbox(config: &Config) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let settings = &config.embedded_sandbox;
    if !settings.listen.ip().is_loopback() {
        anyhow::bail!(
            "embedded_sandbox.listen {} is not loopback; the sandbox serves plain HTTP",
            settings.listen
        );
    }
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding the sandbox listener to {}", settings.listen))?;
    let addr = listener.local_addr().context("sandbox listener address")?;
    let base_url = format!("http://{addr}");
    let dir = settings.state_dir.clone();
    let sandbox_config = sandbox::SandboxConfig::new(base_url.clone());
    // Opening reads and may create key files: off the runtime's worker threads.
    let opened = tokio::task::spawn_blocking(move || {
        sandbox::Sandbox::open(&dir, sandbox_config, &sandbox::Seed::demo())
    })
    .await
    .context("sandbox task")?
    .map_err(|e| anyhow::anyhow!("opening the sandbox state: {e:?}"))?;
    let app = sandbox::router(opened.clone()).merge(sandbox::admin_router(opened));
    tracing::warn!(
        sti_pa = %format!("{base_url}/api/v1"),
        acme_directory = %format!("{base_url}/acme/directory"),
        "SANDBOX STI-PA and STI-CA running in-process: NOT FOR PRODUCTION"
    );
    Ok(tokio::spawn(async move {
        if let Err(e) = // The peer address feeds login rate limiting.
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        {
            tracing::error!(error = %e, "sandbox listener failed");
        }
    }))
}

/// The master key from `master_key` (environment) or the key file, generated when allowed.
async fn load_master_key(config: &Config) -> anyhow::Result<MasterKey> {
    if let Some(text) = &config.master_key {
        tracing::info!("master key from configuration (STIRLING_MASTER_KEY)");
        return MasterKey::from_base64(text.secret_str()).context("reading master_key");
    }
    let path = config.secrets.master_key_file.clone();
    let generate = config.secrets.generate_master_key;
    let shown = path.display().to_string();
    // File I/O off the runtime's worker threads.
    let (key, existed) = tokio::task::spawn_blocking(move || {
        let existed = path.exists();
        MasterKey::load_or_generate(&path, generate).map(|key| (key, existed))
    })
    .await
    .context("master key task")?
    .context("loading the master key")?;
    if existed {
        tracing::info!(file = %shown, "master key loaded");
    } else {
        tracing::warn!(file = %shown, "generated a new master key; back it up");
    }
    Ok(key)
}
