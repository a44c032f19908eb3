//! Runs a store test on both backends: SQLite in a temporary file and PostgreSQL on
//! 127.0.0.1:5432 (user `root`, database `test`), each test in a fresh schema that is dropped
//! afterwards. `scripts/test` makes sure PostgreSQL is running. Used by the test files with
//! `mod backends;` and `on_both_backends!(case, …)`.

// Each test file uses a part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;

use sqlx::Connection as _;
use stirling::secrets::MasterKey;
use stirling::store::{Backend, Store};
use stirling_test::PgSchema;

struct TestDb {
    store: Store,
    url: String,
    backend: Backend,
    schema: Option<PgSchema>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    async fn new(backend: Backend) -> Self {
        sqlx::any::install_default_drivers();
        let key = Arc::new(MasterKey::from_bytes(&[42u8; 32]).unwrap());
        let (url, schema, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
                (url, None, Some(dir))
            }
            Backend::Postgres => {
                let schema = PgSchema::for_test().await;
                (schema.url(), Some(schema), None)
            }
        };
        let store = Store::connect(&url, 5, key).await.unwrap();
        store.migrate().await.unwrap();
        Self {
            store,
            url,
            backend,
            schema,
            _dir: dir,
        }
    }

    async fn cleanup(self) {
        self.store.close().await;
        if let Some(schema) = self.schema {
            schema.drop().await;
        }
    }
}

/// What a case gets: the store under test and a raw connection URL to the same database, for
/// looking under the store's API.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) store: Store,
    pub(crate) url: String,
    pub(crate) backend: Backend,
}

impl Ctx {
    pub(crate) async fn raw(&self) -> sqlx::AnyConnection {
        sqlx::AnyConnection::connect(&self.url).await.unwrap()
    }
}

pub(crate) async fn run<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = TestDb::new(backend).await;
    let ctx = Ctx {
        store: db.store.clone(),
        url: db.url.clone(),
        backend: db.backend,
    };
    // Run the case in its own task so a failed assertion still lets us drop the schema.
    let outcome = tokio::spawn(case(ctx)).await;
    db.cleanup().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::backends::run(stirling::store::Backend::Sqlite, super::$case).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::backends::run(stirling::store::Backend::Postgres, super::$case).await;
                }
            )*
        }
    };
}
