#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.
//! The renewal scheduler's loop: however many entries are due at once, a node runs at most
//! [`ATTEMPTS_AT_ONCE`] attempts together (each holds a PostgreSQL connection for its lock and
//! talks to the STI-PA/STI-CA), and the others run as slots free up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sti::{
    AcmeConfig, Clock, DangerousAcmeConfig, DangerousStiPaConfig, FingerprintInput, StiPaClient,
    StiPaConfig, SystemClock,
};
use stirling::entry::{EntryForm, Environment};
use stirling::lifecycle::renewal::RenewalPolicy;
use stirling::lifecycle::scheduler::{ATTEMPTS_AT_ONCE, Ecosystem, Issuer, RenewNow, Scheduler};
use stirling::secrets::{MasterKey, SecretString};
use stirling::store::{NewTenant, Store};
use tokio::net::{TcpListener, TcpStream};

/// An STI-CA on loopback that takes connections and answers none, holding each attempt at its
/// first step (reading the directory) until told to hang up.
struct SilentCa {
    url: String,
    arrived: Arc<AtomicUsize>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    hung_up: Arc<AtomicBool>,
}

impl SilentCa {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/acme/directory", listener.local_addr().unwrap());
        let arrived = Arc::new(AtomicUsize::new(0));
        let held = Arc::new(Mutex::new(Vec::new()));
        let hung_up = Arc::new(AtomicBool::new(false));
        let (count, keep, hang_up) = (arrived.clone(), held.clone(), hung_up.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                // After the hang-up, later connections are closed as they come.
                if !hang_up.load(Ordering::SeqCst) {
                    keep.lock().unwrap().push(stream);
                }
            }
        });
        Self {
            url,
            arrived,
            held,
            hung_up,
        }
    }

    fn arrived(&self) -> usize {
        self.arrived.load(Ordering::SeqCst)
    }

    /// Closes the held connections (their attempts fail) and every later one.
    fn hang_up(&self) {
        self.hung_up.store(true, Ordering::SeqCst);
        self.held.lock().unwrap().clear();
    }

    async fn wait_for(&self, connections: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.arrived() < connections {
            assert!(
                Instant::now() < deadline,
                "{} of {connections} attempts reached the CA",
                self.arrived()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_runs_at_most_a_few_attempts_at_once() {
    const ENTRIES: usize = ATTEMPTS_AT_ONCE + 4;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let key = Arc::new(MasterKey::from_bytes(&[7u8; 32]).unwrap());
    let store = Store::connect(&url, 5, key).await.unwrap();
    store.migrate().await.unwrap();
    let now = SystemClock.now();
    let tenant = store
        .create_tenant(
            &NewTenant {
                name: "acme".into(),
                company: "Acme Telecom".into(),
                technical_contact_name: "Ada Ops".into(),
                technical_contact_phone: "+12025550100".into(),
                system_email: "noc@acme.example".into(),
            },
            now,
        )
        .await
        .unwrap();
    // None has a certificate yet, so all are due at the first check.
    for i in 0..ENTRIES {
        let spid = format!("7{i:02}J");
        let valid = EntryForm {
            name: format!("Entry {i}"),
            spid: spid.clone(),
            sti_pa_account_id: spid,
            sti_pa_user_id: "ops@example.com".into(),
            sti_pa_password: SecretString::new("s3cret!".into()),
            environment: "staging".into(),
            sti_ga: false,
        }
        .validate()
        .unwrap();
        store
            .create_certificate(&tenant.id, &valid, now)
            .await
            .unwrap();
    }

    let ca = SilentCa::start().await;
    let issuer = Issuer {
        sti_pa: StiPaClient::new(&StiPaConfig {
            danger: DangerousStiPaConfig { allow_http: true },
            ..StiPaConfig::new(ca.url.parse().unwrap())
        })
        .unwrap(),
        acme: AcmeConfig {
            danger: DangerousAcmeConfig { allow_http: true },
            ..AcmeConfig::new(ca.url.clone())
        },
        fingerprint_input: FingerprintInput::SpkiDer,
        external_account: None,
    };
    let scheduler = Scheduler {
        store: store.clone(),
        issuers: HashMap::from([(Ecosystem::us(Environment::Staging), issuer)]),
        policy: RenewalPolicy::default(),
        check_interval: Duration::from_secs(1),
        self_check: HashMap::new(),
        alerts: None,
        activated: Arc::default(),
        clock: Arc::new(SystemClock),
    };
    let (_renew_now, requests) = RenewNow::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(scheduler.run(requests, async {
        let _ = stopped.await;
    }));

    ca.wait_for(ATTEMPTS_AT_ONCE).await;
    // Not a synchronisation: a window in which the held-back attempts would show up if they
    // were not held back (they were all started by the same check, microseconds apart).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        ca.arrived(),
        ATTEMPTS_AT_ONCE,
        "attempts beyond the slots ran"
    );

    // The held attempts fail and free their slots: the waiting ones run.
    ca.hang_up();
    ca.wait_for(ENTRIES).await;

    let _ = stop.send(());
    running.await.unwrap();
    store.close().await;
}
