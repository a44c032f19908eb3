//! The machine's PostgreSQL for tests and benches: a fresh schema per test, dropped afterwards.

use sqlx::Connection as _;

/// The test PostgreSQL (`scripts/test` starts it). Loopback only: tests never reach beyond
/// this machine.
pub const PG_ADMIN_URL: &str = "postgres://root@127.0.0.1:5432/test";

/// A schema created for one test or bench in the test PostgreSQL; [`PgSchema::drop`] removes
/// it with everything in it.
#[derive(Debug)]
pub struct PgSchema {
    name: String,
}

impl PgSchema {
    /// Creates a schema named `{prefix}_{random}`; the error when PostgreSQL does not answer.
    pub async fn create(prefix: &str) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        admin(&format!("CREATE SCHEMA {name}")).await?;
        Ok(Self { name })
    }

    /// Like [`PgSchema::create`], panicking with a hint when PostgreSQL does not answer.
    pub async fn for_test() -> Self {
        Self::create("t").await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {PG_ADMIN_URL} (run scripts/test to start it): {e}")
        })
    }

    /// A connection URL whose tables are in this schema.
    pub fn url(&self) -> String {
        format!("{PG_ADMIN_URL}?options[search_path]={}", self.name)
    }

    /// Drops the schema and everything in it.
    pub async fn drop(self) {
        admin(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await
            .unwrap();
    }
}

/// Runs one statement on an administrative connection of its own.
async fn admin(sql: &str) -> Result<(), sqlx::Error> {
    let mut admin = sqlx::AnyConnection::connect(PG_ADMIN_URL).await?;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut admin)
        .await?;
    admin.close().await
}
