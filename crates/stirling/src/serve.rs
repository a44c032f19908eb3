//! Start-up and shutdown of the service: master key, store, migrations, HTTP listener, and a
//! graceful stop on SIGINT/SIGTERM with a deadline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::serve::ListenerExt as _;
use pki::TrustAnchors;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use sti::{
    AcmeConfig, Clock, CrlPolicy, CrlSigner, DangerousAcmeConfig, DangerousStiPaConfig,
    DangerousX5uConfig, FingerprintInput, Secret, StiPaClient, StiPaConfig, TrustList,
    TrustListConfig, TrustStore, X5uConfig,
};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;

use crate::call_path::CallPath;
use crate::config::{
    Config, CrlPolicyConfig, EnvironmentConfig, FingerprintMethod, SmtpSecurityConfig,
};
use crate::demo;
use crate::directory::{self, DirectoryHolder};
use crate::entry::Environment;
use crate::http::{AppState, router_with_calls};
use crate::lifecycle::alert::{Mailer, SmtpConfig, SmtpSecurity};
use crate::lifecycle::renewal::RenewalPolicy;
use crate::lifecycle::scheduler::{
    Alerts, Ecosystem, Issuer, RenewNow, Scheduler, SelfCheckSettings,
};
use crate::message_log::MessageLog;
use crate::metrics::Metrics;
use crate::secrets::{MasterKey, SecretString};
use crate::sip_front::{SipFront, SipFrontConfig};
use crate::store::Store;
use crate::verification::{FixedTrust, TrustSource, Verifier};

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
    store
        .set_number_indexes(config.message_log.index_numbers)
        .await
        .context("creating or dropping the SIP Messages number indexes")?;
    tracing::info!(backend = ?store.backend(), "store ready");
    let clock: Arc<dyn Clock> = Arc::new(sti::SystemClock);

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

    // The HTTPS listener and the x5u base of our signatures.
    let (https, tls_root) = https_listener(&config).await?;
    let x5u_base = match (&config.repository.public_url, &https) {
        (Some(url), _) => url.clone(),
        (None, Some((listener, _))) => {
            let port = listener
                .local_addr()
                .context("https listener address")?
                .port();
            format!("https://127.0.0.1:{port}/")
        }
        (None, None) => anyhow::bail!("repository.public_url is not set"),
    };
    tracing::info!(x5u_base = %x5u_base, "certificate repository");

    let parts = Parts::build(&config, sandbox.as_ref(), tls_root.as_ref(), &x5u_base)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    let trust: Arc<dyn TrustSource> =
        match trust_list(&config, sandbox.as_ref(), &parts, clock.clone())? {
            Some(list) => start_trust_list(list, stop_tx.subscribe()).await,
            None => Arc::new(FixedTrust::new(parts.verification_anchors.clone(), None)),
        };
    let verifier = Arc::new(
        Verifier::new(
            &parts.x5u,
            trust,
            clock.clone(),
            config.verification.freshness_secs,
            config.verification.precomputed_keys,
        )
        .context("building the verifier")?,
    );

    let metrics = Arc::new(Metrics::new());
    {
        let verifier = verifier.clone();
        metrics.watch_x5u_cache(move || verifier.cache_stats());
    }
    {
        let verifier = verifier.clone();
        metrics.watch_precomputed_keys(move || {
            u64::try_from(verifier.precomputed_keys()).unwrap_or(u64::MAX)
        });
    }
    let (message_log, message_log_tasks) = MessageLog::start(
        &config.message_log,
        store.clone(),
        clock.clone(),
        metrics.clone(),
    );

    if config.sandbox {
        let demo = demo::ensure_demo(&store, clock.now())
            .await
            .context("creating the sandbox demo tenant")?;
        if let Some(credentials) = &demo.credentials {
            tracing::warn!(tenant = %demo.tenant, certificate = %demo.certificate,
                "created the demo tenant, its certificate entry (SPID 1234), an SBC for \
                 127.0.0.0/8, an attest-A policy and demo logins (printed once on stdout)");
            print_demo_credentials(credentials, addr);
        }
    }

    // The call path's snapshot of SBCs, policies and signers, reloaded periodically (changes
    // of other nodes) and at once after a local activation.
    let directory = Arc::new(DirectoryHolder::default());
    if let Err(e) = directory::reload(&store, &directory, &x5u_base).await {
        tracing::warn!(error = %e, "loading SBCs and certificates; calls wait for the next reload");
    }
    let activated = Arc::new(Notify::new());
    let reloader = tokio::spawn(reload_directory(
        store.clone(),
        directory.clone(),
        x5u_base.clone(),
        Duration::from_secs(config.sip.reload_secs),
        activated.clone(),
        stopped(),
    ));

    let (renew_now, renew_requests) = RenewNow::channel();
    let policy = RenewalPolicy {
        renew_after_fraction: config.renewal.renew_after_fraction,
        retry_base: Duration::from_secs(config.renewal.retry_base_secs),
        retry_max: Duration::from_secs(config.renewal.retry_max_secs),
    };
    // One relay for the scheduler's alerts and the Account page's SMTP test.
    let mailer = mailer(&config)?;
    let scheduler = Scheduler {
        store: store.clone(),
        issuers: parts.issuers,
        policy,
        check_interval: Duration::from_secs(config.renewal.check_interval_secs),
        self_check: parts.self_check,
        alerts: mailer.clone().map(|mailer| Alerts {
            mailer,
            interval: Duration::from_secs(config.alerts.interval_secs),
        }),
        activated,
        clock: clock.clone(),
    };
    let scheduler = tokio::spawn(scheduler.run(renew_requests, stopped()));

    // One call path for SIP and for ATIS-1000082 over HTTP.
    let calls = CallPath {
        directory: directory.clone(),
        verifier: verifier.clone(),
        clock: clock.clone(),
        freshness_secs: config.verification.freshness_secs,
        log: Some(message_log.clone()),
    };
    let front = SipFront::new(
        SipFrontConfig {
            origid_header: Some(config.sip.origid_header.clone()).filter(|h| !h.is_empty()),
            attestation_header: config.sip.attestation_header.clone(),
            x_identity: config.sip.x_identity,
            trust_attestation_indicator: config.sip.trust_attestation_indicator,
        },
        calls.clone(),
    );
    let sip_server = sip::Server::bind(
        sip::ServerConfig {
            udp: config.sip.udp,
            tcp: config.sip.tcp,
            tls: sip_tls(&config)?,
            max_connections: config.sip.max_connections,
            max_in_flight: config.sip.max_in_flight,
            warn_agent: "stirling".into(),
            ..sip::ServerConfig::default()
        },
        front,
    )
    .await
    .context("binding the SIP listeners")?;
    tracing::info!(
        udp = ?sip_server.udp_addr(),
        tcp = ?sip_server.tcp_addr(),
        tls = ?sip_server.tls_addr(),
        "sip listening"
    );
    let sip_task = tokio::spawn(sip_server.run());

    let app = router_with_calls(
        AppState {
            store: store.clone(),
            clock: clock.clone(),
            renew_now,
            auth: crate::auth::Auth::new(config.http.secure_cookies),
            mailer,
            renewal: policy,
        },
        calls,
    )
    .merge(crate::metrics::router(metrics.clone()));
    let https_task = https.map(|(listener, tls)| {
        tokio::spawn(crate::https::serve(listener, tls, app.clone(), stopped()))
    });
    let mut server = tokio::spawn({
        let stop = stopped();
        async move {
            // The peer address feeds login rate limiting.
            axum::serve(
                listener.tap_io(|tcp| crate::http::no_delay(tcp)),
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(stop)
            .await
        }
    });

    tokio::select! {
        result = &mut server => {
            result.context("HTTP server task")?.context("HTTP server")?;
            anyhow::bail!("HTTP server stopped on its own");
        }
        _ = terminate.recv() => tracing::info!(signal = "SIGTERM", "shutting down"),
        _ = interrupt.recv() => tracing::info!(signal = "SIGINT", "shutting down"),
    }
    let _ = stop_tx.send(true);
    sip_task.abort();
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
    // Attempts in flight are abandoned: issuance is written to converge when run again.
    let _ = tokio::time::timeout(Duration::from_secs(1), scheduler).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), reloader).await;
    // The SIP Messages still queued are written before the store closes.
    drop(message_log);
    if tokio::time::timeout(STORE_CLOSE_TIMEOUT, message_log_tasks.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("the SIP Messages log did not flush in time");
    }
    if let Some(task) = https_task {
        task.abort();
    }
    if tokio::time::timeout(STORE_CLOSE_TIMEOUT, store.close())
        .await
        .is_err()
    {
        tracing::warn!("store connections did not close in time");
    }
    if let Some(sandbox) = sandbox {
        sandbox.task.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// Shows the demo logins once, on stdout (not in the log): only their hashes are stored.
fn print_demo_credentials(credentials: &demo::DemoCredentials, http: std::net::SocketAddr) {
    println!(
        "\nStirling sandbox demo logins (shown once, stored only as hashes):\n  \
         web UI  http://{http}/login\n  \
         admin     {} / {}\n  \
         operator  {} / {}\n  \
         API token (operator of tenant demo): {}\n",
        credentials.admin_email,
        credentials.admin_password.secret_str(),
        credentials.operator_email,
        credentials.operator_password.secret_str(),
        credentials.api_token.secret_str(),
    );
}

/// Reloads the call path's directory every `every`, and at once when `activated` fires.
async fn reload_directory(
    store: Store,
    directory: Arc<DirectoryHolder>,
    x5u_base: String,
    every: Duration,
    activated: Arc<Notify>,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticker.tick() => {}
            () = activated.notified() => {}
        }
        if let Err(e) = directory::reload(&store, &directory, &x5u_base).await {
            tracing::warn!(error = %e, "reloading SBCs and certificates; keeping the previous");
        }
    }
}

/// How long start-up waits for the first CA list and CRL before serving anyway (verification
/// answers 437 until they arrive; the refresher keeps trying).
const FIRST_TRUST_REFRESH: Duration = Duration::from_secs(10);

/// The STI-PA trust list configured (`verification.sti_pa`), or with `--sandbox` the embedded
/// sandbox STI-PA's; `None` when the anchors come from a file.
fn trust_list(
    config: &Config,
    sandbox: Option<&EmbeddedSandbox>,
    parts: &Parts,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Option<Arc<TrustList>>> {
    let (client, list_config) = match (&config.verification.sti_pa, sandbox) {
        (Some(sti_pa), _) => {
            let key = sti_pa.environment.as_str();
            let issuer = parts
                .issuers
                .get(&Ecosystem::us(sti_pa.environment))
                .with_context(|| {
                    format!("verification.sti_pa.environment: environments.{key} is not configured")
                })?;
            let roots = match &sti_pa.roots_file {
                Some(file) => TrustAnchors::from_pem(
                    &std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
                )
                .map_err(|e| anyhow::anyhow!("verification.sti_pa.roots_file: {e}"))?,
                None => sti::sti_pa_production_roots()
                    .map_err(|e| anyhow::anyhow!("built-in STI-PA root: {e}"))?,
            };
            let mut list = TrustListConfig::new(
                sti_pa.user_id.clone(),
                Secret::new(sti_pa.password.secret_str()),
                roots,
                sti_pa.crl_url.clone(),
            );
            if let Some(file) = &sti_pa.crl_signer_file {
                list.crl_signer = CrlSigner::Pem(
                    std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
                );
            }
            list.state_dir = sti_pa.state_dir.clone();
            (issuer.sti_pa.clone(), list)
        }
        (None, Some(sandbox)) if config.verification.trust_anchors_file.is_none() => {
            let issuer = parts
                .issuers
                .get(&Ecosystem::us(Environment::Sandbox))
                .context("the sandbox environment")?;
            let roots = TrustAnchors::from_pem(sandbox.pa_root_pem.as_bytes())
                .map_err(|e| anyhow::anyhow!("sandbox STI-PA root: {e}"))?;
            // The sandbox STI-PA's seeded API user (`sandbox::Seed::demo`).
            let mut list = TrustListConfig::new(
                "sandbox",
                Secret::new("sandbox"),
                roots,
                format!("{}/download/v1/crl", sandbox.base_url),
            );
            list.crl_signer = CrlSigner::Pem(sandbox.crl_signer_pem.clone().into_bytes());
            (issuer.sti_pa.clone(), list)
        }
        _ => return Ok(None),
    };
    let policy = match config.verification.sti_pa.as_ref().map(|s| s.crl_policy) {
        Some(CrlPolicyConfig::Strict) => CrlPolicy::Strict,
        _ => CrlPolicy::Soft,
    };
    Ok(Some(Arc::new(TrustList::new(
        client,
        list_config,
        clock,
        Arc::new(TrustStore::new(policy)),
    ))))
}

/// Loads the last good CA list and CRL, fetches fresh ones (waiting a bounded time), and
/// starts the background refresher; returns the store verification reads.
async fn start_trust_list(
    list: Arc<TrustList>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Arc<dyn TrustSource> {
    if let Err(e) = list.load_last_good().await {
        tracing::warn!(error = %e, "no saved STI-PA CA list or CRL");
    }
    let first = async {
        let ca = list.refresh_ca_list().await;
        let crl = list.refresh_crl().await;
        (ca, crl)
    };
    match tokio::time::timeout(FIRST_TRUST_REFRESH, first).await {
        Ok((Ok(ca), Ok(_))) => {
            tracing::info!(
                anchors = ca.anchors,
                sequence = ca.sequence,
                "sti-pa ca list and crl loaded"
            );
        }
        Ok((ca, crl)) => {
            tracing::warn!(ca_list = ?ca.err().map(|e| e.to_string()),
                crl = ?crl.err().map(|e| e.to_string()),
                "first sti-pa trust refresh failed; retrying in the background");
        }
        Err(_) => {
            tracing::warn!("first sti-pa trust refresh timed out; retrying in the background")
        }
    }
    let store: Arc<dyn TrustSource> = list.store().clone();
    // The refresher reads the list's schedule and stops with the service.
    drop(list.spawn(stop));
    store
}

/// The clients and trust settings built from the configuration.
struct Parts {
    x5u: X5uConfig,
    verification_anchors: TrustAnchors,
    issuers: HashMap<Ecosystem, Issuer>,
    self_check: HashMap<Ecosystem, SelfCheckSettings>,
}

impl Parts {
    fn build(
        config: &Config,
        sandbox: Option<&EmbeddedSandbox>,
        tls_root: Option<&CertificateDer<'static>>,
        x5u_base: &str,
    ) -> anyhow::Result<Self> {
        let defaults = X5uConfig::default();
        let mut roots = RootCertStore::clone(&defaults.roots);
        let mut danger = DangerousX5uConfig::default();
        if let Some(root) = tls_root {
            roots
                .add(root.clone())
                .context("adding the loopback TLS root")?;
        }
        if let Some(port) = url::Url::parse(x5u_base).ok().and_then(|u| u.port()) {
            danger.extra_port = Some(port);
        }
        if config.sandbox {
            // Our own repository on loopback: the one exception the sandbox needs.
            danger.allowed_hosts = vec!["127.0.0.1".into(), "localhost".into()];
        }
        let x5u = X5uConfig {
            roots: Arc::new(roots),
            danger,
            ..defaults
        };
        let mut anchors_pem = String::new();
        if let Some(file) = &config.verification.trust_anchors_file {
            anchors_pem.push_str(
                &std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?,
            );
        }
        if let Some(sandbox) = sandbox {
            anchors_pem.push_str(&sandbox.ca_root_pem);
        }
        let verification_anchors = if anchors_pem.is_empty() {
            tracing::warn!(
                "no verification.trust_anchors_file: every received call fails with 437"
            );
            TrustAnchors::default()
        } else {
            TrustAnchors::from_pem(anchors_pem.as_bytes())
                .map_err(|e| anyhow::anyhow!("verification trust anchors: {e}"))?
        };

        let fetcher = sti::X5uFetcher::new(&x5u).context("building the x5u fetcher")?;
        let mut issuers = HashMap::new();
        let mut self_check = HashMap::new();
        let sandbox_env = sandbox.map(|s| EnvironmentConfig {
            sti_pa_url: format!("{}/", s.base_url),
            acme_directory: format!("{}/acme/directory", s.base_url),
            fingerprint: FingerprintMethod::SpkiDer,
            ca_roots_file: None,
            danger_allow_http: true,
            request_timeout_secs: 30,
            eab_kid: None,
            eab_hmac_key: None,
        });
        let mut envs = Vec::new();
        for (sti_ga, configured) in [
            (false, &config.environments),
            (true, &config.environments_canada),
        ] {
            // The embedded sandbox plays both the US STI-PA and Canada's STI-GA.
            let sandbox = configured.sandbox.as_ref().or(sandbox_env.as_ref());
            for (environment, settings) in [
                (Environment::Production, configured.production.as_ref()),
                (Environment::Staging, configured.staging.as_ref()),
                (Environment::Sandbox, sandbox),
            ] {
                envs.push((
                    Ecosystem {
                        environment,
                        sti_ga,
                    },
                    settings,
                ));
            }
        }
        for (ecosystem, settings) in envs {
            let Some(settings) = settings else { continue };
            let environment = ecosystem.environment;
            let section = if ecosystem.sti_ga {
                "environments_canada"
            } else {
                "environments"
            };
            let key = format!("{section}.{}", environment.as_str());
            let timeout = Duration::from_secs(settings.request_timeout_secs);
            let sti_pa = StiPaClient::new(&StiPaConfig {
                timeout,
                danger: DangerousStiPaConfig {
                    allow_http: settings.danger_allow_http,
                },
                ..StiPaConfig::new(
                    settings
                        .sti_pa_url
                        .parse()
                        .with_context(|| format!("{key}.sti_pa_url"))?,
                )
            })
            .with_context(|| format!("{key}: STI-PA client"))?;
            let acme = AcmeConfig {
                request_timeout: timeout,
                danger: DangerousAcmeConfig {
                    allow_http: settings.danger_allow_http,
                },
                ..AcmeConfig::new(settings.acme_directory.clone())
            };
            let external_account = match (&settings.eab_kid, &settings.eab_hmac_key) {
                (Some(kid), Some(mac)) => Some(
                    sti::ExternalAccountBinding::from_base64url(kid.clone(), mac.secret_str())
                        .map_err(|e| anyhow::anyhow!("{key}.eab_hmac_key: {e}"))?,
                ),
                (None, None) => None,
                _ => anyhow::bail!("{key}: eab_kid and eab_hmac_key go together"),
            };
            issuers.insert(
                ecosystem,
                Issuer {
                    sti_pa,
                    acme,
                    external_account,
                    fingerprint_input: match settings.fingerprint {
                        FingerprintMethod::JwkThumbprint => FingerprintInput::JwkThumbprint,
                        FingerprintMethod::SpkiDer => FingerprintInput::SpkiDer,
                    },
                },
            );
            let anchors = match (&settings.ca_roots_file, environment, sandbox) {
                (Some(file), _, _) => TrustAnchors::from_pem(
                    &std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
                )
                .map_err(|e| anyhow::anyhow!("{key}.ca_roots_file: {e}"))?,
                (None, Environment::Sandbox, Some(s)) => {
                    TrustAnchors::from_pem(s.ca_root_pem.as_bytes())
                        .map_err(|e| anyhow::anyhow!("sandbox CA root: {e}"))?
                }
                (None, _, _) => verification_anchors.clone(),
            };
            self_check.insert(
                ecosystem,
                SelfCheckSettings {
                    x5u_base: x5u_base.to_owned(),
                    fetcher: fetcher.clone(),
                    anchors,
                },
            );
        }
        Ok(Self {
            x5u,
            verification_anchors,
            issuers,
            self_check,
        })
    }
}

/// The HTTPS listener, if configured, with its TLS configuration, and the root of a
/// generated loopback certificate (sandbox) that our own fetchers must trust.
async fn https_listener(
    config: &Config,
) -> anyhow::Result<(
    Option<(TcpListener, Arc<rustls::ServerConfig>)>,
    Option<CertificateDer<'static>>,
)> {
    let Some(listen) = config.repository.https_listen else {
        return Ok((None, None));
    };
    let (tls, root) = match (
        &config.repository.tls_cert_file,
        &config.repository.tls_key_file,
    ) {
        (Some(cert), Some(key)) => (crate::https::server_config(cert, key)?, None),
        _ => {
            let dir = config.embedded_sandbox.state_dir.clone();
            let (tls, root) = tokio::task::spawn_blocking(move || crate::https::sandbox_tls(&dir))
                .await
                .context("tls task")??;
            (tls, Some(root))
        }
    };
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the HTTPS listener to {listen}"))?;
    tracing::info!(addr = %listener.local_addr().context("https address")?, "https listening");
    Ok((Some((listener, Arc::new(tls))), root))
}

/// The SIP TLS listener's configuration, when `sip.tls` is set (with its PEM files).
fn sip_tls(config: &Config) -> anyhow::Result<Option<sip::TlsConfig>> {
    let (Some(addr), Some(cert), Some(key)) = (
        config.sip.tls,
        &config.sip.tls_cert_file,
        &config.sip.tls_key_file,
    ) else {
        return Ok(None);
    };
    let read = |path: &std::path::Path| {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    };
    let tls = sip::TlsConfig::from_pem(addr, &read(cert)?, &read(key)?)
        .with_context(|| format!("sip.tls_cert_file {}", cert.display()))?;
    Ok(Some(tls))
}

/// The mailer of the configured SMTP relay, if any.
fn mailer(config: &Config) -> anyhow::Result<Option<Mailer>> {
    let Some(smtp) = &config.alerts.smtp else {
        return Ok(None);
    };
    let mailer = Mailer::new(&SmtpConfig {
        host: smtp.host.clone(),
        port: smtp.port,
        security: match smtp.security {
            SmtpSecurityConfig::DangerPlaintext => SmtpSecurity::DangerPlaintext,
            SmtpSecurityConfig::Starttls => SmtpSecurity::StartTls,
            SmtpSecurityConfig::Tls => SmtpSecurity::Tls,
        },
        username: smtp.username.clone(),
        password: smtp
            .password
            .as_ref()
            .map(|p| SecretString::new(p.secret_str().to_owned())),
        from: smtp.from.clone(),
        timeout: Duration::from_secs(smtp.timeout_secs),
    })
    .context("alerts.smtp")?;
    Ok(Some(mailer))
}

/// The embedded sandbox, running.
struct EmbeddedSandbox {
    task: tokio::task::JoinHandle<()>,
    base_url: String,
    ca_root_pem: String,
    pa_root_pem: String,
    crl_signer_pem: String,
}

/// Opens (or creates) the sandbox state and serves its STI-PA and STI-CA.
async fn start_embedded_sandbox(config: &Config) -> anyhow::Result<EmbeddedSandbox> {
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
    let sandbox_config = sandbox::SandboxConfig {
        certificate_validity: Duration::from_secs(settings.certificate_validity_secs),
        ..sandbox::SandboxConfig::new(base_url.clone())
    };
    // Opening reads and may create key files: off the runtime's worker threads.
    let opened = tokio::task::spawn_blocking(move || {
        sandbox::Sandbox::open(&dir, sandbox_config, &sandbox::Seed::demo())
    })
    .await
    .context("sandbox task")?
    .map_err(|e| anyhow::anyhow!("opening the sandbox state: {e:?}"))?;
    let (ca_root_pem, pa_root_pem, crl_signer_pem) = (
        opened.ca_root_pem(),
        opened.pa_root_pem(),
        opened.crl_signer_pem(),
    );
    let app = sandbox::router(opened.clone()).merge(sandbox::admin_router(opened));
    tracing::warn!(
        sti_pa = %format!("{base_url}/api/v1"),
        acme_directory = %format!("{base_url}/acme/directory"),
        "SANDBOX STI-PA and STI-CA running in-process: NOT FOR PRODUCTION"
    );
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "sandbox listener failed");
        }
    });
    Ok(EmbeddedSandbox {
        task,
        base_url,
        ca_root_pem,
        pa_root_pem,
        crl_signer_pem,
    })
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
