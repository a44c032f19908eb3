//! The store: tenants, users and their sessions and API tokens, certificate entries, their versions and events, over one `AnyPool`.
//!
//! One code path and one migration set serve SQLite (the embedded default) and PostgreSQL (for
//! several nodes). sqlx's `query!` macros cannot check queries against the Any driver, so every
//! query here is a runtime query and the integration tests (`tests/store.rs`) run the whole
//! suite on both backends. The Any driver carries only basic types: ids are TEXT, times are
//! BIGINT unix seconds, booleans are INTEGER 0/1.
//!
//! Every function on tenant data takes the tenant id and filters by it, so a caller holding one
//! tenant's id cannot reach another tenant's rows by guessing row ids.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use passport::UnixTime;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::error::ErrorKind;
use sqlx::{AnyConnection, AnyPool, Connection as _, Row as _};

use crate::secrets::{MasterKey, SecretsError};

mod acme_accounts;
mod api_tokens;
mod certificates;
mod events;
mod policies;
mod sbcs;
mod sessions;
mod sip_messages;
mod tenants;
mod users;
mod versions;

pub use acme_accounts::{AcmeAccountRecord, NewAcmeAccount};
pub use api_tokens::{ApiToken, NewApiToken};
pub use certificates::CertificateEntry;
pub use events::{CertificateEvent, EventOutcome, NewEvent};
pub use policies::{PolicyForm, PolicyRecord};
pub use sbcs::{SbcForm, SbcRecord, ValidSbc};
pub use sessions::SessionRecord;
pub use sip_messages::{
    CallCount, CallResult, MAX_PAGE_SIZE, MessageTransport, NewChain, RawMessage, Service,
    SipMessage, SipMessageCursor, SipMessageDetail, SipMessageFilter, SipMessagePage,
    SipMessageSummary, SipMessageWriter,
};
pub use tenants::{NewTenant, Tenant};
pub use users::{NewUser, Role, User, scope_for};
pub use versions::{CertificateVersion, NewVersion, PublishedChain, VersionState};

/// Migrations embedded in the binary, run by [`Store::migrate`] at start-up.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a caller waits for a pooled connection before the store reports an error.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness, foreign-key or check constraint refused the write.
    #[error("conflict: {what}")]
    Conflict {
        /// What clashed, e.g. `a certificate entry with this SPID already exists`.
        what: &'static str,
    },
    /// The row does not exist, or belongs to another tenant.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for, e.g. `certificate entry`.
        what: &'static str,
    },
    /// A stored value does not parse as its type: the row was changed outside Stirling.
    #[error("stored {column} is invalid")]
    Corrupt {
        /// The column.
        column: &'static str,
    },
    /// A time does not fit the store's signed 64-bit seconds.
    #[error("time out of range")]
    TimeOutOfRange,
    /// The URL names a database other than SQLite or PostgreSQL.
    #[error("unsupported store url scheme (expected sqlite: or postgres:)")]
    UnsupportedUrl,
    /// Sealing or opening a secret failed.
    #[error(transparent)]
    Secret(#[from] SecretsError),
    /// Running the embedded migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database has no room for the write: SQLite's `SQLITE_FULL` (its disk, or its page
    /// limit) or PostgreSQL's `disk_full`. The write was rolled back; it can succeed once
    /// space is freed.
    #[error("the database or the disk it is on is full")]
    Full(#[source] sqlx::Error),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_full(&e) {
            Self::Full(e)
        } else {
            Self::Database(e)
        }
    }
}

/// SQLite result code `SQLITE_FULL` (13).
const SQLITE_FULL: &str = "13";
/// PostgreSQL SQLSTATE `disk_full` (class 53, insufficient resources).
const PG_DISK_FULL: &str = "53100";

fn is_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some(SQLITE_FULL | PG_DISK_FULL))
        }
        _ => false,
    }
}

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// PostgreSQL, for several nodes.
    Postgres,
    /// SQLite, the embedded default.
    Sqlite,
}

impl Backend {
    /// The backend a connection URL names, from its scheme.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

/// The settings every SQLite connection gets when it opens.
///
/// In WAL mode NORMAL syncs at checkpoints instead of at every commit: a crash of the process loses
/// nothing, a power loss may lose the last commits but never corrupts the file
/// (sqlite.org/pragma.html#pragma_synchronous). It took 11 % off the SIP Messages log's writes
/// (benches/message_log.rs).
///
/// 16 KiB pages instead of 4: a SIP Messages row carries two raw messages (2-3 KiB), so with 4 KiB
/// pages nearly every logged call filled a fresh page, and SQLite writes each WAL frame with its
/// own system calls. Measured: 26-42 % of the write calls per signed call, a 500-row batch 32.1 ->
/// 25.5 ms with the number indexes and 10.7 -> 7.3 ms without. With those indexes and varied
/// numbers the bytes grow (each call dirties a random index page, now 16 KiB): one more reason for
/// `index_numbers = false` at high rates (bench/README.md). The size is fixed when a file is
/// created; on an existing file the pragma does nothing.
pub(crate) async fn sqlite_connection_pragmas(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(&mut *conn, "PRAGMA page_size = 16384").await?;
    sqlx::Executor::execute(conn, "PRAGMA synchronous = NORMAL").await?;
    Ok(())
}

/// A handle on the store: cheap to clone (the pool and the key are shared).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    key: Arc<MasterKey>,
}

impl Store {
    /// Opens a pool on `url` (`sqlite://…` or `postgres://…`). SQLite is switched to WAL
    /// journaling. Does not migrate: call [`Store::migrate`].
    pub async fn connect(
        url: &str,
        max_connections: u32,
        key: Arc<MasterKey>,
    ) -> Result<Self, StoreError> {
        let backend = Backend::from_url(url)?;
        sqlx::any::install_default_drivers();
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT);
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _| Box::pin(sqlite_connection_pragmas(conn)));
        }
        let pool = options.connect(url).await?;
        if backend == Backend::Sqlite {
            // The journal mode is stored in the database file, so setting it once suffices.
            sqlx::query("PRAGMA journal_mode = WAL")
                .fetch_optional(&pool)
                .await?;
        }
        Ok(Self { pool, backend, key })
    }

    /// Applies the embedded migrations that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Checks the store answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Takes the renewal lock of an entry if no other node holds it. On PostgreSQL this is a
    /// session advisory lock on a connection the returned [`EntryLock`] keeps: a node that dies
    /// loses its connection and with it the lock. SQLite serves one node, which runs at most
    /// one attempt per entry by itself, so the lock is always granted there.
    pub async fn try_lock_entry(
        &self,
        certificate: &CertificateId,
    ) -> Result<Option<EntryLock>, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(Some(EntryLock { held: None }));
        }
        let key = advisory_key(certificate);
        // A connection of its own, not the pool's: it is held for the whole attempt (minutes
        // against a slow CA) while the attempt, the call path and the other attempts work
        // through the pool; a pooled one would starve them (with a pool of one, for ever).
        let options = self.pool.connect_options();
        let mut conn =
            tokio::time::timeout(ACQUIRE_TIMEOUT, sqlx::AnyConnection::connect_with(&options))
                .await
                .map_err(|_| {
                    sqlx::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "connecting for the renewal lock",
                    ))
                })??;
        let row = sqlx::query("SELECT pg_try_advisory_lock($1) AS locked")
            .bind(key)
            .fetch_one(&mut conn)
            .await;
        let locked = match row.and_then(|row| row.try_get::<bool, _>("locked")) {
            Ok(locked) => locked,
            Err(e) => {
                let _ = conn.close().await;
                return Err(e.into());
            }
        };
        if !locked {
            let _ = conn.close().await;
            return Ok(None);
        }
        Ok(Some(EntryLock { held: Some(conn) }))
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The renewal lock of one entry, held until [`EntryLock::release`] (or the connection dies).
#[derive(Debug)]
pub struct EntryLock {
    held: Option<sqlx::AnyConnection>,
}

impl EntryLock {
    /// Releases the lock.
    pub async fn release(self) {
        if let Some(conn) = self.held {
            // Ending the session releases its advisory locks; should the goodbye fail, the
            // dropped socket ends it all the same.
            let _ = conn.close().await;
        }
    }
}

/// The advisory lock key of an entry: 64 bits of a hash of its id, in a space of our own.
fn advisory_key(certificate: &CertificateId) -> i64 {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("stirling-renewal:{}", certificate.as_str()).as_bytes(),
    );
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest.as_ref()[..8]);
    i64::from_be_bytes(bytes)
}

/// Maps constraint violations of a write to [`StoreError::Conflict`], everything else to
/// [`StoreError::Database`] (or [`StoreError::Full`]). The one place that decides what a
/// conflict is (realworld's `on_constraint`); the HTTP layer turns `Conflict` into 409.
trait OnConstraint<T> {
    fn on_constraint(self, what: &'static str) -> Result<T, StoreError>;
}

impl<T> OnConstraint<T> for Result<T, sqlx::Error> {
    fn on_constraint(self, what: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db)
                if matches!(
                    db.kind(),
                    ErrorKind::UniqueViolation
                        | ErrorKind::ForeignKeyViolation
                        | ErrorKind::CheckViolation
                        | ErrorKind::NotNullViolation
                ) =>
            {
                StoreError::Conflict { what }
            }
            _ => e.into(),
        })
    }
}

/// A time as stored: signed 64-bit unix seconds.
fn to_db_time(time: UnixTime) -> Result<i64, StoreError> {
    i64::try_from(time.as_secs()).map_err(|_| StoreError::TimeOutOfRange)
}

/// Reads a stored time column.
fn time_column(row: &AnyRow, column: &'static str) -> Result<UnixTime, StoreError> {
    let secs: i64 = row.try_get(column)?;
    let secs = u64::try_from(secs).map_err(|_| StoreError::Corrupt { column })?;
    Ok(UnixTime::since_unix_epoch(Duration::from_secs(secs)))
}

/// Reads a nullable time column (e.g. an aggregate over no rows).
fn optional_time_column(
    row: &AnyRow,
    column: &'static str,
) -> Result<Option<UnixTime>, StoreError> {
    let secs: Option<i64> = row.try_get(column)?;
    secs.map(|secs| {
        u64::try_from(secs)
            .map(|secs| UnixTime::since_unix_epoch(Duration::from_secs(secs)))
            .map_err(|_| StoreError::Corrupt { column })
    })
    .transpose()
}

/// Serialises a time as unix seconds (for JSON bodies).
fn serialize_time<S: serde::Serializer>(time: &UnixTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(time.as_secs())
}

/// Serialises an optional time as unix seconds or `null`.
fn serialize_optional_time<S: serde::Serializer>(
    time: &Option<UnixTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serializer.serialize_some(&time.as_secs()),
        None => serializer.serialize_none(),
    }
}

/// Reads a text column and parses it as `T`.
fn parsed_column<T: FromStr>(row: &AnyRow, column: &'static str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|_| StoreError::Corrupt { column })
}

/// Declares a row id: a UUID as TEXT, created here, opaque to callers.
macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh, time-ordered id (UUIDv7).
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// The id as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            /// Parses an id from a URL or a form; only UUIDs are ids.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(|u| Self(u.to_string()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

row_id!(
    /// Identifies a tenant.
    TenantId
);

/// Which tenants' rows a caller may see: every query on tenant data for a request is filtered
/// by the caller's scope, so rows of other tenants are "not found" rather than forbidden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantScope {
    /// An administrator of the installation: every tenant.
    All,
    /// A user or API token of one tenant.
    Tenant(TenantId),
}

impl TenantScope {
    /// Whether a row of `tenant` is visible in this scope.
    pub fn allows(&self, tenant: &TenantId) -> bool {
        match self {
            Self::All => true,
            Self::Tenant(own) => own == tenant,
        }
    }

    /// The one tenant this scope is limited to, if any.
    pub fn tenant(&self) -> Option<&TenantId> {
        match self {
            Self::All => None,
            Self::Tenant(own) => Some(own),
        }
    }
}
row_id!(
    /// Identifies a certificate entry.
    CertificateId
);
row_id!(
    /// Identifies a certificate version.
    VersionId
);
row_id!(
    /// Identifies a certificate event.
    EventId
);
row_id!(
    /// Identifies an SBC.
    SbcId
);
row_id!(
    /// Identifies a policy rule.
    PolicyId
);
row_id!(
    /// Identifies a logged SIP message.
    SipMessageId
);
row_id!(
    /// Identifies a user.
    UserId
);
row_id!(
    /// Identifies an API token.
    ApiTokenId
);
