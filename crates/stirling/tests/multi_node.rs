//! Several `stirling serve --sandbox` nodes on one PostgreSQL store (issue #5 item 7): the
//! per-entry advisory lock lets exactly one node renew, the others sign with the new version
//! within 5 s, and a node killed in the middle of a renewal leaves it to another, with an
//! unexpired active version at every moment.
//!
//! Each node runs its own embedded sandbox STI-PA/STI-CA (its own port, so a fault can hold
//! one node's attempt) over one shared state directory (the same roots), with the same master
//! key and store. The sandbox CA backdates `notBefore` by 60 s, so with 25 s certificates and
//! renewal at 0.8 of the lifetime a version is due about 8 s after it is issued and expires
//! 25 s after: a renewal every ~9 s with room for a failover.

#![allow(clippy::panic, clippy::unwrap_used)] // Test code: a panic is a failed test.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::{Connection as _, Row as _};
use stirling_test::{PG_ADMIN_URL, headers, sipp};
use support::service::Service;

/// One master key for all nodes of a cluster (base64 of 32 bytes): each unseals what another
/// sealed.
const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const VALIDITY_SECS: u64 = 25;
const RENEW_AFTER_FRACTION: f64 = 0.8;
/// How often the test reads the versions straight from PostgreSQL.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);
/// The route the kill test holds a node's attempt at: inside the ACME order, after the
/// challenge, before the certificate exists.
const FINALIZE: &str = "/acme/order/{id}/finalize";
/// The nodes' renewal check interval.
const CHECK_INTERVAL_SECS: u64 = 1;

/// A blocking connection to the test database, for looking under the nodes.
struct Db {
    runtime: tokio::runtime::Runtime,
    conn: sqlx::AnyConnection,
}

impl Db {
    fn connect(url: &str) -> Self {
        sqlx::any::install_default_drivers();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conn = runtime
            .block_on(sqlx::AnyConnection::connect(url))
            .unwrap_or_else(|e| {
                panic!("PostgreSQL at {PG_ADMIN_URL} (run scripts/test to start it): {e}")
            });
        Self { runtime, conn }
    }

    fn execute(&mut self, sql: &str) {
        let query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        self.runtime
            .block_on(query.execute(&mut self.conn))
            .unwrap();
    }

    fn rows(&mut self, sql: &str) -> Vec<sqlx::any::AnyRow> {
        let query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        self.runtime
            .block_on(query.fetch_all(&mut self.conn))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

/// A fresh schema, a shared sandbox state directory and the store URL of its nodes; the
/// schema is dropped at the end (declare the cluster before its nodes, so they die first).
struct Cluster {
    schema: String,
    state_dir: tempfile::TempDir,
}

impl Cluster {
    fn new() -> Self {
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        Db::connect(PG_ADMIN_URL).execute(&format!("CREATE SCHEMA {schema}"));
        Self {
            schema,
            state_dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The store URL; `application_name` tells the nodes' sessions apart in `pg_stat_activity`.
    fn url(&self, application: &str) -> String {
        format!(
            "{PG_ADMIN_URL}?options[search_path]={}&application_name={application}",
            self.schema
        )
    }

    /// The `application_name` of node `name`.
    fn application(&self, name: &str) -> String {
        format!("{}_{name}", self.schema)
    }

    fn db(&self) -> Db {
        Db::connect(&self.url(&self.application("test")))
    }

    /// Starts node `name` and waits until it takes calls.
    fn node(&self, name: &'static str) -> Node {
        let node = Node::start(self, name);
        node.wait_for("sip listening", 1);
        node
    }

    /// Which of `nodes` holds an advisory lock of this cluster (the renewal lock of its one
    /// entry), if any.
    fn lock_holder(&self, db: &mut Db, nodes: &[&Node]) -> Option<&'static str> {
        let holders: Vec<String> = db
            .rows(&format!(
                "SELECT a.application_name FROM pg_locks l \
                 JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted \
                 AND a.application_name LIKE '{}\\_%'",
                self.schema
            ))
            .iter()
            .map(|r| r.try_get("application_name").unwrap())
            .collect();
        assert!(holders.len() <= 1, "several holders: {holders:?}");
        let holder = holders.first()?;
        Some(
            nodes
                .iter()
                .find(|n| &self.application(n.name) == holder)
                .unwrap_or_else(|| panic!("lock held by {holder}"))
                .name,
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        Db::connect(PG_ADMIN_URL).execute(&format!("DROP SCHEMA {} CASCADE", self.schema));
    }
}

/// A running `stirling serve --sandbox` of the cluster; killed (SIGKILL) when dropped.
struct Node {
    name: &'static str,
    service: Service,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start(cluster: &Cluster, name: &'static str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let service = Service::start(
            dir.path(),
            &[
                (
                    "STIRLING_STORE__URL",
                    cluster.url(&cluster.application(name)),
                ),
                ("STIRLING_MASTER_KEY", MASTER_KEY.to_owned()),
                (
                    "STIRLING_EMBEDDED_SANDBOX__STATE_DIR",
                    cluster.state_dir.path().display().to_string(),
                ),
                (
                    "STIRLING_EMBEDDED_SANDBOX__CERTIFICATE_VALIDITY_SECS",
                    VALIDITY_SECS.to_string(),
                ),
                (
                    "STIRLING_RENEWAL__RENEW_AFTER_FRACTION",
                    RENEW_AFTER_FRACTION.to_string(),
                ),
                (
                    "STIRLING_RENEWAL__CHECK_INTERVAL_SECS",
                    CHECK_INTERVAL_SECS.to_string(),
                ),
            ],
        );
        Self {
            name,
            service,
            _dir: dir,
        }
    }

    /// SIGKILL: no shutdown, the store connections just drop.
    fn kill(&mut self) {
        self.service.kill();
    }

    /// How many log lines contain `text`.
    fn count(&self, text: &str) -> usize {
        self.service.count(text)
    }

    /// Renewals this node completed, by its log.
    fn renewals(&self) -> usize {
        self.count(" renewed ")
    }

    /// Waits until `times` log lines contain `text`.
    fn wait_for(&self, text: &str, times: usize) {
        self.service.wait_for_times(text, times);
    }

    /// Signs one call with sipp over UDP; the Identity header it got, if any.
    fn sign(&self) -> Option<String> {
        let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/sign.xml");
        let run = sipp(
            &scenario,
            self.service.sip,
            "u1",
            &[("orig", "+12155550121")],
        );
        assert!(run.success, "node {}:\n{}", self.name, run.log);
        headers(&run.received("SIP/2.0 302"), "Identity").pop()
    }

    /// Waits until this node signs with the version at repository path `path`.
    fn signs_with(&self, path: &str, deadline: Instant) {
        loop {
            let identity = self.sign();
            if identity.as_deref().is_some_and(|i| i.contains(path)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {} still signs with {identity:?}, not {path}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One request to this node's embedded sandbox admin router, which must succeed; the body.
    fn sandbox_request(&self, method: &str, path: &str, body: &str) -> String {
        let (status, response) = self.service.sandbox_request(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {response}"
        );
        response
    }

    /// Requests its sandbox received at `route` so far.
    fn sandbox_requests(&self, route: &str) -> u64 {
        let body = self.sandbox_request("GET", "/sandbox/requests", "");
        let counts: BTreeMap<String, u64> = serde_json::from_str(&body).unwrap();
        counts.get(route).copied().unwrap_or(0)
    }
}

/// The active versions at one moment, read from PostgreSQL.
#[derive(Debug)]
struct Sample {
    /// Unix seconds when read.
    at: i64,
    /// (id, repository path, notAfter) of each active version.
    active: Vec<(String, String, i64)>,
}

/// A version seen active for the first time.
#[derive(Debug)]
struct Activation {
    path: String,
    seen: Instant,
}

/// Reads the active versions every [`SAMPLE_EVERY`] on its own thread and reports each new one.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<Sample>>>,
    activations: mpsc::Receiver<Activation>,
}

impl Sampler {
    /// Starts sampling; the version active at the first sample is not reported as new.
    fn start(cluster: &Cluster) -> Self {
        let mut db = cluster.db();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, activations) = mpsc::channel();
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples: Vec<Sample> = Vec::new();
            while !stopping.load(Ordering::SeqCst) {
                let active: Vec<(String, String, i64)> = db
                    .rows(
                        "SELECT id, repository_path, not_after FROM certificate_versions \
                         WHERE state = 'active'",
                    )
                    .iter()
                    .map(|r| {
                        (
                            r.try_get("id").unwrap(),
                            r.try_get("repository_path").unwrap(),
                            r.try_get("not_after").unwrap(),
                        )
                    })
                    .collect();
                let seen = Instant::now();
                let is_new = |(id, _, _): &(String, String, i64)| {
                    samples
                        .last()
                        .is_some_and(|s| s.active.iter().all(|(i, _, _)| i != id))
                };
                for (_, path, _) in active.iter().filter(|v| is_new(v)) {
                    let _ = tx.send(Activation {
                        path: path.clone(),
                        seen,
                    });
                }
                samples.push(Sample {
                    at: unix_now(),
                    active,
                });
                std::thread::sleep(SAMPLE_EVERY);
            }
            samples
        });
        Self {
            stop,
            thread: Some(thread),
            activations,
        }
    }

    /// The next version seen active.
    fn next_activation(&self) -> Activation {
        // A renewal is due ~8 s after the previous one; the rest is slack for a loaded machine.
        self.activations
            .recv_timeout(Duration::from_secs(40))
            .unwrap_or_else(|e| panic!("no new active version: {e}"))
    }

    /// Stops sampling and checks every sample had exactly one active, unexpired version.
    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        let samples = self.thread.take().unwrap().join().unwrap();
        for sample in &samples {
            assert_eq!(sample.active.len(), 1, "{sample:?}");
            let (_, _, not_after) = &sample.active[0];
            assert!(*not_after > sample.at, "expired: {sample:?}");
        }
        samples.len()
    }
}

impl Drop for Sampler {
    /// A failed test stops the sampling before its schema goes.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

/// Every node signs with the version at `path` within 5 s of it being seen active.
fn all_sign_with(nodes: &[&Node], activation: &Activation) {
    let deadline = activation.seen + Duration::from_secs(5);
    std::thread::scope(|scope| {
        for node in nodes {
            scope.spawn(|| node.signs_with(&activation.path, deadline));
        }
    });
}

/// (created_at, not_before, not_after) of every version, oldest first.
fn versions(db: &mut Db) -> Vec<(i64, i64, i64)> {
    db.rows(
        "SELECT created_at, not_before, not_after FROM certificate_versions \
         ORDER BY created_at, not_before",
    )
    .iter()
    .map(|r| {
        (
            r.try_get("created_at").unwrap(),
            r.try_get("not_before").unwrap(),
            r.try_get("not_after").unwrap(),
        )
    })
    .collect()
}

/// How many ACME orders were started up to `until` (Unix seconds), by the events.
fn orders_started(db: &mut Db, until: i64) -> i64 {
    db.rows(&format!(
        "SELECT COUNT(*) AS n FROM certificate_events \
         WHERE step = 'acme_order' AND outcome = 'started' AND at <= {until}"
    ))[0]
        .try_get("n")
        .unwrap()
}

#[test]
fn two_live_nodes_renew_each_certificate_once_and_both_sign_with_it() {
    const RENEWALS: usize = 3;
    let cluster = Cluster::new();
    // The first node creates the sandbox PKI in the shared directory and the demo entry, and
    // issues the first version; the second then opens the same PKI.
    let mut a = cluster.node("a");
    a.wait_for(" renewed ", 1);
    let mut b = cluster.node("b");
    // Every attempt outlasts a check interval, so the other node always looks at the entry
    // while one renews it: only the lock keeps it from renewing too.
    let slow = format!(
        r#"{{"delayMs": {}, "delayRoute": "{FINALIZE}"}}"#,
        CHECK_INTERVAL_SECS * 1500
    );
    for node in [&a, &b] {
        node.sandbox_request("PUT", "/sandbox/faults", &slow);
    }
    let sampler = Sampler::start(&cluster);

    for _ in 0..RENEWALS {
        let activation = sampler.next_activation();
        all_sign_with(&[&a, &b], &activation);
    }
    // Orders started after the last version belong to a renewal cut short by this stop.
    a.kill();
    b.kill();
    let samples = sampler.finish();
    assert!(samples > 0);

    let mut db = cluster.db();
    let versions = versions(&mut db);
    assert!(versions.len() > RENEWALS, "{versions:?}");
    // Each version was made only once its predecessor was due: never two in one window.
    for pair in versions.windows(2) {
        let ((_, not_before, not_after), (created, _, _)) = (pair[0], pair[1]);
        let lifetime = (not_after - not_before) as f64;
        let due = not_before + (lifetime * RENEW_AFTER_FRACTION) as i64;
        assert!(created >= due, "renewed before due: {versions:?}");
    }
    let (last_created, _, _) = versions[versions.len() - 1];
    let started = orders_started(&mut db, last_created);
    assert_eq!(
        usize::try_from(started).unwrap(),
        versions.len(),
        "orders started vs versions: {versions:?}; renewals by a: {}, by b: {}",
        a.renewals(),
        b.renewals()
    );
}

#[test]
fn killing_the_renewing_node_mid_order_leaves_the_renewal_to_the_other() {
    let cluster = Cluster::new();
    let a = cluster.node("a");
    a.wait_for(" renewed ", 1);
    let b = cluster.node("b");
    let sampler = Sampler::start(&cluster);
    // Hold whichever node renews next inside its ACME order; count from zero (the first
    // issuance went through a's sandbox).
    let hold = format!(r#"{{"delayMs": 60000, "delayRoute": "{FINALIZE}"}}"#);
    for node in [&a, &b] {
        node.sandbox_request("PUT", "/sandbox/faults", &hold);
        node.sandbox_request("DELETE", "/sandbox/requests", "");
    }

    let mut db = cluster.db();
    let deadline = Instant::now() + Duration::from_secs(40);
    let (held, holder) = loop {
        let waiting: Vec<&Node> = [&a, &b]
            .into_iter()
            .filter(|n| n.sandbox_requests(FINALIZE) > 0)
            .collect();
        let holder = cluster.lock_holder(&mut db, &[&a, &b]);
        if let ([node], Some(holder)) = (waiting.as_slice(), holder) {
            break (node.name, holder);
        }
        assert!(
            waiting.len() <= 1,
            "two nodes in an order at once: the lock did not exclude"
        );
        assert!(Instant::now() < deadline, "no node held in its order");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(held, holder, "the node inside the order holds the lock");

    let (mut victim, survivor) = if holder == "a" { (a, b) } else { (b, a) };
    let renewed_before = survivor.renewals();
    victim.kill();
    survivor.sandbox_request("DELETE", "/sandbox/faults", "");

    let activation = sampler.next_activation();
    all_sign_with(&[&survivor], &activation);
    survivor.wait_for(" renewed ", renewed_before + 1);
    assert_eq!(
        survivor.renewals(),
        renewed_before + 1,
        "the survivor made the new version"
    );
    assert_eq!(
        cluster.lock_holder(&mut db, &[&survivor]),
        None,
        "the survivor released the lock"
    );
    assert!(sampler.finish() > 0);
    // The killed node made nothing: the survivor's version follows the first one.
    assert_eq!(versions(&mut db).len(), 2);
}
