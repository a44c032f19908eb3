//! The SIP Messages log: one row per request answered (signing or verification, SIP or HTTP),
//! written in batches by the message-log writer (`crate::message_log`), read newest first by
//! the API, pruned after the retention period.
//!
//! Every read takes a [`TenantScope`]: a tenant sees its own calls only, and another tenant's
//! message is "not found". Verification chains are stored once per fingerprint in
//! `sip_message_chains` and joined in by [`Store::sip_message`].

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use passport::{Attestation, TelephoneNumber, UnixTime, Verstat};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Connection as _, Row as _};

use super::{
    Backend, SipMessageId, Store, StoreError, TenantId, TenantScope, VersionId, parsed_column,
    serialize_time, sqlite_connection_pragmas, time_column, to_db_time,
};

/// The most messages one page of [`Store::list_sip_messages`] returns.
pub const MAX_PAGE_SIZE: u32 = 200;

/// Declares a closed set of words stored as TEXT: `as_str`, `FromStr`, `Display`, serde.
macro_rules! stored_words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The stored (and JSON) form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)*
                }
            }
        }

        impl FromStr for $name {
            type Err = ();

            fn from_str(s: &str) -> Result<Self, ()> {
                match s {
                    $($word => Ok(Self::$variant),)*
                    _ => Err(()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

stored_words!(
    /// Which service answered the request.
    Service {
        /// STI-AS: the request asked for an Identity header.
        Signing = "signing",
        /// STI-VS: the request carried (or could carry) Identity headers to check.
        Verification = "verification",
    }
);

stored_words!(
    /// How the request reached Stirling.
    MessageTransport {
        /// The ATIS-1000082 HTTP API.
        Http = "http",
        /// SIP over TCP.
        Tcp = "tcp",
        /// SIP over TLS.
        Tls = "tls",
        /// SIP over UDP.
        Udp = "udp",
    }
);

stored_words!(
    /// What became of the call: the word the log is filtered and the dashboard counted by.
    CallResult {
        /// Signing: a policy blocked the call (`603`, `sti-blocked`).
        Blocked = "blocked",
        /// Stirling could not answer (a `5xx`).
        Error = "error",
        /// Verification: an Identity header was present and did not verify.
        Failed = "failed",
        /// Verification: the PASSporT verified (`TN-Validation-Passed`).
        Passed = "passed",
        /// Refused before signing or verifying: unknown source (`403`) or a malformed request.
        Refused = "refused",
        /// Signing: the answer carries an Identity header.
        Signed = "signed",
        /// Signing: answered without Identity (a `skip` policy, a number that is not a TN).
        Unsigned = "unsigned",
        /// Verification: no Identity header to check (`No-TN-Validation`).
        Unverified = "unverified",
    }
);

impl From<sip::Transport> for MessageTransport {
    fn from(transport: sip::Transport) -> Self {
        match transport {
            sip::Transport::Tcp => Self::Tcp,
            sip::Transport::Tls => Self::Tls,
            sip::Transport::Udp => Self::Udp,
        }
    }
}

/// A raw SIP (or HTTP body) message as kept: possibly cut at the configured bound.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RawMessage {
    /// The text (invalid UTF-8 replaced by U+FFFD).
    pub text: String,
    /// Whether the message was longer than what is kept.
    pub truncated: bool,
}

/// What the log lists: everything about a call but the raw messages.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SipMessageSummary {
    /// Its id (time-ordered).
    pub id: SipMessageId,
    /// When the request arrived.
    #[serde(serialize_with = "serialize_time")]
    pub received_at: UnixTime,
    /// Signing or verification.
    pub service: Service,
    /// How it arrived.
    pub transport: MessageTransport,
    /// The peer's address, `ip:port`.
    pub source: String,
    /// The tenant whose SBC or API token sent it; `None` when the source was unknown.
    pub tenant_id: Option<TenantId>,
    /// The SBC's id, when SBCs come from the store.
    pub sbc_id: Option<String>,
    /// The SBC's name.
    pub sbc_name: Option<String>,
    /// The Call-ID (or the HTTP request's identifier).
    pub call_id: String,
    /// The calling number, canonical digits.
    pub from_tn: Option<String>,
    /// The called number, canonical digits.
    pub to_tn: Option<String>,
    /// The attestation signed, or the verified PASSporT's.
    pub attestation: Option<Attestation>,
    /// The verstat placed (verification).
    #[serde(serialize_with = "serialize_verstat")]
    pub verstat: Option<Verstat>,
    /// What became of the call.
    pub result: CallResult,
    /// The SIP status code of the final response.
    pub status_code: u16,
    /// The Reason header's text on failure, e.g. `Invalid Identity Header`.
    pub reason: Option<String>,
    /// The certificate version that signed (signing).
    pub certificate_version_id: Option<VersionId>,
    /// The x5u of the PASSporT checked (verification).
    pub x5u: Option<String>,
    /// SHA-256 of the verified chain, hex (verification).
    pub chain_fingerprint: Option<String>,
    /// Time from request to response, microseconds.
    pub latency_us: u64,
}

/// One logged message in full.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipMessage {
    /// The summary columns.
    pub summary: SipMessageSummary,
    /// The request as received.
    pub raw_request: RawMessage,
    /// The final response as sent.
    pub raw_response: RawMessage,
}

/// A logged message as read back for the detail view: the chain comes along.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipMessageDetail {
    /// The message.
    pub message: SipMessage,
    /// The verified chain, PEM, when the message has a chain fingerprint still stored.
    pub chain_pem: Option<String>,
}

/// A verification chain to store once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChain {
    /// SHA-256 of the verified path, lower-case hex.
    pub fingerprint: String,
    /// The certificates, PEM, leaf first.
    pub chain_pem: String,
}

/// Which messages [`Store::list_sip_messages`] returns; every field narrows the set.
#[derive(Clone, Debug, Default)]
pub struct SipMessageFilter {
    /// Received at or after this time.
    pub since: Option<UnixTime>,
    /// Received before this time.
    pub until: Option<UnixTime>,
    /// The calling or the called number is this one.
    pub tn: Option<TelephoneNumber>,
    /// With this result.
    pub result: Option<CallResult>,
    /// Of this service.
    pub service: Option<Service>,
}

/// Where a page ends: the next page starts strictly after (older than) this message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipMessageCursor {
    received_at: UnixTime,
    id: SipMessageId,
}

impl fmt::Display for SipMessageCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.received_at.as_secs(), self.id)
    }
}

impl FromStr for SipMessageCursor {
    type Err = ();

    /// Parses what [`SipMessageCursor`]'s `Display` wrote: `<secs>_<uuid>`.
    fn from_str(s: &str) -> Result<Self, ()> {
        let (secs, id) = s.split_once('_').ok_or(())?;
        let secs: u64 = secs.parse().map_err(|_| ())?;
        i64::try_from(secs).map_err(|_| ())?;
        Ok(Self {
            received_at: UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs)),
            id: id.parse().map_err(|_| ())?,
        })
    }
}

/// One page of the log, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipMessagePage {
    /// The messages.
    pub messages: Vec<SipMessageSummary>,
    /// Where the next page starts, when there is one.
    pub next: Option<SipMessageCursor>,
}

/// How many calls of one service ended with one result.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CallCount {
    /// The service.
    pub service: Service,
    /// The result.
    pub result: CallResult,
    /// How many.
    pub count: u64,
}

const MESSAGE: &str = "sip message";

/// The summary columns, in [`summary_from_row`]'s order; `m` is the table.
macro_rules! summary_columns {
    () => {
        "m.id, m.received_at, m.service, m.transport, m.source, m.tenant_id, m.sbc_id, \
         m.sbc_name, m.call_id, m.from_tn, m.to_tn, m.attestation, m.verstat, m.result, \
         m.status_code, m.reason, m.certificate_version_id, m.x5u, m.chain_fingerprint, \
         m.latency_us"
    };
}

/// The columns of `sip_messages` an insert binds, in bind order.
const INSERT_COLUMNS: &str = "id, received_at, service, transport, source, tenant_id, sbc_id, \
    sbc_name, call_id, from_tn, to_tn, attestation, verstat, result, status_code, reason, \
    certificate_version_id, x5u, chain_fingerprint, latency_us, raw_request, \
    raw_request_truncated, raw_response, raw_response_truncated";

/// The indexes on the numbers (created by migration 0004), by name and column.
const NUMBER_INDEXES: [(&str, &str); 2] = [
    ("sip_messages_from_tn", "from_tn"),
    ("sip_messages_to_tn", "to_tn"),
];

/// Deletes the stored chains no message names and not seen since `$1`. The messages are found
/// through the partial index `sip_messages_chain` (migration 0007): `=` implies NOT NULL.
const PRUNE_CHAINS: &str = "DELETE FROM sip_message_chains WHERE stored_at < $1 AND NOT EXISTS \
    (SELECT 1 FROM sip_messages m WHERE m.chain_fingerprint = sip_message_chains.fingerprint)";

/// Values bound per row of an insert (the number of [`INSERT_COLUMNS`]).
const INSERT_BINDS: usize = 24;

/// The most rows one INSERT writes: 64 × 24 = 1 536 bound values, well under the limits of
/// SQLite (32 766) and PostgreSQL (65 535).
const MAX_INSERT_ROWS: usize = 64;

/// How many of `remaining` rows the next INSERT takes: [`MAX_INSERT_ROWS`], else the largest
/// power of two that fits. Many rows per statement spare a round trip to the database per row
/// (a thread hop on SQLite, a network round trip on PostgreSQL); powers of two keep the
/// distinct statements, each prepared and cached once per connection, to seven.
fn insert_rows(remaining: usize) -> usize {
    if remaining >= MAX_INSERT_ROWS {
        MAX_INSERT_ROWS
    } else {
        1 << remaining.max(1).ilog2()
    }
}

/// The statement for `rows` rows (a value of [`insert_rows`]) on `backend`, built once.
fn insert_statement(rows: usize, backend: Backend) -> &'static str {
    const VARIANTS: usize = MAX_INSERT_ROWS.ilog2() as usize + 1;
    static SQLITE: [OnceLock<String>; VARIANTS] = [const { OnceLock::new() }; VARIANTS];
    static POSTGRES: [OnceLock<String>; VARIANTS] = [const { OnceLock::new() }; VARIANTS];
    let statements = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    statements[rows.ilog2() as usize].get_or_init(|| values_statement(rows, backend))
}

/// `INSERT INTO sip_messages (…) VALUES (…), (…)` for `rows` rows. PostgreSQL numbers its
/// placeholders (`$1`…); SQLite gets plain `?`, bound in order: its driver looks up each
/// numbered placeholder's name in a list as long as the statement's, which made binding a
/// 64-row statement quadratic (a quarter of the log writer's time, measured with perf).
///
/// On SQLite the statement is `INSERT OR FAIL`: with the default `ABORT`, a statement writing
/// several rows inside a transaction first copies every page it touches into a statement
/// journal, to undo just itself on a constraint error (sqlite.org/lang_conflict.html).
/// Nothing needs that undo here: an error fails the whole batch and
/// [`SipMessageWriter::insert`] rolls its transaction back. Measured: 4 % less time per
/// batch without the number indexes (`benches/message_log.rs`), no change measurable with
/// them or in the service.
fn values_statement(rows: usize, backend: Backend) -> String {
    let verb = match backend {
        Backend::Sqlite => "INSERT OR FAIL",
        Backend::Postgres => "INSERT",
    };
    let mut sql = format!("{verb} INTO sip_messages ({INSERT_COLUMNS}) VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..INSERT_BINDS {
            if column > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&(row * INSERT_BINDS + column + 1).to_string());
                }
            }
        }
        sql.push(')');
    }
    sql
}

/// The nice value of the thread that runs the [`SipMessageWriter`]'s SQLite connection: the
/// lowest. The log is background work: when the service's cores are busy, the threads answering
/// calls go first, and a writer that falls behind drops records (counted) instead of delaying
/// answers; a SQLite batch with the number indexes holds a core for milliseconds. Measured with
/// `bench/sip-load --rate 10000 --varied-numbers`, the service on one core, sipp's p99 response
/// time: 8-76 ms (median 20) in 19 runs with the writer at the service's priority, 4-48 ms
/// (median 8, 4 ms in 6) in 16 runs at nice 19; CPU per call within this machine's noise.
const WRITER_NICE: i32 = 19;

/// Writes SIP Messages batches on one connection it keeps. Not a pooled one per batch, as before:
/// sqlx hands out idle connections in turn (a FIFO queue), and on SQLite in WAL mode a connection
/// empties its page cache when another connection wrote since its last transaction
/// (`pagerBeginReadTransaction`), so each batch began by reading the index pages it updates again,
/// and each connection prepared its own copy of the multi-row INSERTs. Measured at 10k signed
/// calls/s with varied numbers: the writer's SQLite thread 18.8-20.7 -> 14.4-16.1 CPU-µs per call
/// over the first 100k rows, 32.9-33.6 -> 27.7-28.2 over the next. The connection is taken out of
/// the pool, which may open another in its place (one more than `store.max_connections`), and is
/// replaced after a failed batch, in case the connection is what failed.
#[derive(Debug)]
pub struct SipMessageWriter {
    store: Store,
    conn: Option<AnyConnection>,
}

impl SipMessageWriter {
    /// Writes `messages` and upserts `chains` in one transaction: all or nothing.
    ///
    /// A chain already stored only gets its `stored_at` refreshed to `now`, which keeps a
    /// chain in use from being pruned.
    pub async fn insert(
        &mut self,
        messages: &[SipMessage],
        chains: &[NewChain],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(Self::connect(&self.store).await?),
        };
        let written = insert_batch(conn, self.store.backend, messages, chains, now).await;
        if written.is_err() {
            self.conn = None;
        }
        written
    }

    /// The writer's own connection. On PostgreSQL one taken out of the pool (the pool may open
    /// another in its place). On SQLite a new one whose thread runs at a lower priority
    /// ([`WRITER_NICE`]), with the pool's settings.
    async fn connect(store: &Store) -> Result<AnyConnection, StoreError> {
        if store.backend != Backend::Sqlite {
            return Ok(store.pool.acquire().await?.detach());
        }
        // sqlx runs each SQLite connection on a thread it starts while connecting, and on
        // Linux a thread starts with the nice value of the thread that started it: so connect
        // from a short-lived thread of lower priority.
        let options = store.pool.connect_options();
        let runtime = tokio::runtime::Handle::current();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("message-log-connect".to_owned())
            .spawn(move || {
                // Failing to lower it changes nothing but the priority.
                let _ = rustix::process::setpriority_process(None, WRITER_NICE);
                let _ = sender.send(runtime.block_on(AnyConnection::connect_with(&options)));
            })
            .map_err(sqlx::Error::Io)?;
        let mut conn = receiver
            .await
            .map_err(|_| sqlx::Error::Io(std::io::Error::other("the connecting thread ended")))??;
        sqlite_connection_pragmas(&mut conn).await?;
        Ok(conn)
    }
}

/// The transaction of [`SipMessageWriter::insert`].
async fn insert_batch(
    conn: &mut AnyConnection,
    backend: Backend,
    messages: &[SipMessage],
    chains: &[NewChain],
    now: UnixTime,
) -> Result<(), StoreError> {
    let now = to_db_time(now)?;
    let mut tx = conn.begin().await?;
    for chain in chains {
        sqlx::query(
            "INSERT INTO sip_message_chains (fingerprint, chain_pem, stored_at) \
             VALUES ($1, $2, $3) \
             ON CONFLICT (fingerprint) DO UPDATE SET stored_at = excluded.stored_at",
        )
        .bind(chain.fingerprint.as_str())
        .bind(chain.chain_pem.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let mut rest = messages;
    while !rest.is_empty() {
        let rows = insert_rows(rest.len());
        let (chunk, tail) = rest.split_at(rows);
        rest = tail;
        let mut query = sqlx::query(AssertSqlSafe(insert_statement(rows, backend)));
        for message in chunk {
            let s = &message.summary;
            query = query
                .bind(s.id.as_str())
                .bind(to_db_time(s.received_at)?)
                .bind(s.service.as_str())
                .bind(s.transport.as_str())
                .bind(s.source.as_str())
                .bind(s.tenant_id.as_ref().map(TenantId::as_str))
                .bind(s.sbc_id.as_deref())
                .bind(s.sbc_name.as_deref())
                .bind(s.call_id.as_str())
                .bind(s.from_tn.as_deref())
                .bind(s.to_tn.as_deref())
                .bind(s.attestation.map(Attestation::as_str))
                .bind(s.verstat.map(Verstat::as_str))
                .bind(s.result.as_str())
                .bind(i64::from(s.status_code))
                .bind(s.reason.as_deref())
                .bind(s.certificate_version_id.as_ref().map(VersionId::as_str))
                .bind(s.x5u.as_deref())
                .bind(s.chain_fingerprint.as_deref())
                .bind(i64::try_from(s.latency_us).unwrap_or(i64::MAX))
                .bind(message.raw_request.text.as_str())
                .bind(i64::from(message.raw_request.truncated))
                .bind(message.raw_response.text.as_str())
                .bind(i64::from(message.raw_response.truncated));
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A value bound to a query built at run time.
enum Bind {
    Int(i64),
    Text(String),
}

impl Store {
    /// A writer of SIP Messages batches on a connection of its own (see [`SipMessageWriter`]).
    pub fn sip_message_writer(&self) -> SipMessageWriter {
        SipMessageWriter {
            store: self.clone(),
            conn: None,
        }
    }

    /// Creates the indexes on the calling and called numbers, or drops them
    /// (`message_log.index_numbers`). With numbers as varied as real traffic's, every logged
    /// call dirties a page of each of the two indexes: measured, they made a row about four
    /// times dearer to write (68.6 against 16.2 µs, `benches/message_log.rs`). Without them a
    /// number filter reads the rows of the time range instead. Cheap when nothing changes;
    /// creating them on a large table takes as long as reading it.
    pub async fn set_number_indexes(&self, enabled: bool) -> Result<(), StoreError> {
        for (name, column) in NUMBER_INDEXES {
            let sql = if enabled {
                format!("CREATE INDEX IF NOT EXISTS {name} ON sip_messages ({column})")
            } else {
                format!("DROP INDEX IF EXISTS {name}")
            };
            sqlx::query(AssertSqlSafe(sql)).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Which of the number indexes exist, by name.
    pub async fn number_indexes(&self) -> Result<Vec<String>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sip_messages' \
                 AND name IN ($1, $2) ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = current_schema() \
                 AND tablename = 'sip_messages' AND indexname IN ($1, $2) ORDER BY indexname"
            }
        };
        let rows = sqlx::query(sql)
            .bind(NUMBER_INDEXES[0].0)
            .bind(NUMBER_INDEXES[1].0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| row.try_get::<String, _>("name").map_err(StoreError::from))
            .collect()
    }

    /// One page of the messages `scope` may see that match `filter`, newest first, starting
    /// after `after`. `limit` is capped at [`MAX_PAGE_SIZE`] (and at least 1).
    pub async fn list_sip_messages(
        &self,
        scope: &TenantScope,
        filter: &SipMessageFilter,
        after: Option<&SipMessageCursor>,
        limit: u32,
    ) -> Result<SipMessagePage, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE_SIZE);
        let mut sql = String::from(concat!(
            "SELECT ",
            summary_columns!(),
            " FROM sip_messages m WHERE 1 = 1"
        ));
        let mut binds = Vec::new();
        let mut param = |sql: &mut String, bind: Bind| {
            binds.push(bind);
            sql.push_str(&format!("${}", binds.len()));
        };
        if let Some(tenant) = scope.tenant() {
            sql.push_str(" AND m.tenant_id = ");
            param(&mut sql, Bind::Text(tenant.as_str().to_owned()));
        }
        if let Some(since) = filter.since {
            sql.push_str(" AND m.received_at >= ");
            param(&mut sql, Bind::Int(to_db_time(since)?));
        }
        if let Some(until) = filter.until {
            sql.push_str(" AND m.received_at < ");
            param(&mut sql, Bind::Int(to_db_time(until)?));
        }
        if let Some(tn) = &filter.tn {
            sql.push_str(" AND (m.from_tn = ");
            param(&mut sql, Bind::Text(tn.as_str().to_owned()));
            sql.push_str(" OR m.to_tn = ");
            param(&mut sql, Bind::Text(tn.as_str().to_owned()));
            sql.push(')');
        }
        if let Some(result) = filter.result {
            sql.push_str(" AND m.result = ");
            param(&mut sql, Bind::Text(result.as_str().to_owned()));
        }
        if let Some(service) = filter.service {
            sql.push_str(" AND m.service = ");
            param(&mut sql, Bind::Text(service.as_str().to_owned()));
        }
        if let Some(cursor) = after {
            let at = to_db_time(cursor.received_at)?;
            sql.push_str(" AND (m.received_at < ");
            param(&mut sql, Bind::Int(at));
            sql.push_str(" OR (m.received_at = ");
            param(&mut sql, Bind::Int(at));
            sql.push_str(" AND m.id < ");
            param(&mut sql, Bind::Text(cursor.id.as_str().to_owned()));
            sql.push_str("))");
        }
        sql.push_str(" ORDER BY m.received_at DESC, m.id DESC LIMIT ");
        // One more than asked: whether it comes back says if there is a next page.
        param(&mut sql, Bind::Int(i64::from(limit) + 1));

        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bind in binds {
            query = match bind {
                Bind::Int(value) => query.bind(value),
                Bind::Text(value) => query.bind(value),
            };
        }
        let mut messages = query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(summary_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if messages.len() > limit as usize {
            messages.truncate(limit as usize);
            messages.last().map(|last| SipMessageCursor {
                received_at: last.received_at,
                id: last.id.clone(),
            })
        } else {
            None
        };
        Ok(SipMessagePage { messages, next })
    }

    /// One message with its raw text and, for verification, its chain; another tenant's
    /// message is [`StoreError::NotFound`].
    pub async fn sip_message(
        &self,
        scope: &TenantScope,
        id: &SipMessageId,
    ) -> Result<SipMessageDetail, StoreError> {
        let sql = format!(
            concat!(
                "SELECT ",
                summary_columns!(),
                ", m.raw_request, m.raw_request_truncated, m.raw_response, \
                 m.raw_response_truncated, c.chain_pem \
                 FROM sip_messages m \
                 LEFT JOIN sip_message_chains c ON c.fingerprint = m.chain_fingerprint \
                 WHERE m.id = $1{}"
            ),
            scope_condition(scope, 2)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(id.as_str());
        if let Some(tenant) = scope.tenant() {
            query = query.bind(tenant.as_str());
        }
        let row = query
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound { what: MESSAGE })?;
        let flag = |column| -> Result<bool, StoreError> {
            let value: i64 = row.try_get(column)?;
            Ok(value != 0)
        };
        Ok(SipMessageDetail {
            message: SipMessage {
                summary: summary_from_row(&row)?,
                raw_request: RawMessage {
                    text: row.try_get("raw_request")?,
                    truncated: flag("raw_request_truncated")?,
                },
                raw_response: RawMessage {
                    text: row.try_get("raw_response")?,
                    truncated: flag("raw_response_truncated")?,
                },
            },
            chain_pem: row.try_get("chain_pem")?,
        })
    }

    /// Deletes up to `batch` messages received before `before`; returns how many went. Callers
    /// loop until fewer than `batch` go, so no statement holds locks for long.
    pub async fn prune_sip_messages(
        &self,
        before: UnixTime,
        batch: u32,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM sip_messages WHERE id IN \
             (SELECT id FROM sip_messages WHERE received_at < $1 LIMIT $2)",
        )
        .bind(to_db_time(before)?)
        .bind(i64::from(batch))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Deletes stored chains no message refers to any more and not seen since `before`;
    /// returns how many went.
    pub async fn prune_sip_message_chains(&self, before: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query(PRUNE_CHAINS)
            .bind(to_db_time(before)?)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// How many calls `scope` may see were received since `since`, by service and result,
    /// for the dashboard. Pairs with no call are left out.
    pub async fn call_counts(
        &self,
        scope: &TenantScope,
        since: UnixTime,
    ) -> Result<Vec<CallCount>, StoreError> {
        let sql = format!(
            "SELECT m.service, m.result, COUNT(*) AS n FROM sip_messages m \
             WHERE m.received_at >= $1{} \
             GROUP BY m.service, m.result ORDER BY m.service, m.result",
            scope_condition(scope, 2)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(to_db_time(since)?);
        if let Some(tenant) = scope.tenant() {
            query = query.bind(tenant.as_str());
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let count: i64 = row.try_get("n")?;
                Ok(CallCount {
                    service: parsed_column(row, "service")?,
                    result: parsed_column(row, "result")?,
                    count: u64::try_from(count).map_err(|_| StoreError::Corrupt { column: "n" })?,
                })
            })
            .collect()
    }
}

fn summary_from_row(row: &AnyRow) -> Result<SipMessageSummary, StoreError> {
    let status: i64 = row.try_get("status_code")?;
    let latency: i64 = row.try_get("latency_us")?;
    let optional = |column: &'static str| -> Result<Option<String>, StoreError> {
        Ok(row.try_get::<Option<String>, _>(column)?)
    };
    Ok(SipMessageSummary {
        id: SipMessageId(row.try_get("id")?),
        received_at: time_column(row, "received_at")?,
        service: parsed_column(row, "service")?,
        transport: parsed_column(row, "transport")?,
        source: row.try_get("source")?,
        tenant_id: optional("tenant_id")?.map(TenantId),
        sbc_id: optional("sbc_id")?,
        sbc_name: optional("sbc_name")?,
        call_id: row.try_get("call_id")?,
        from_tn: optional("from_tn")?,
        to_tn: optional("to_tn")?,
        attestation: optional("attestation")?
            .map(|a| a.parse())
            .transpose()
            .map_err(|_| StoreError::Corrupt {
                column: "attestation",
            })?,
        verstat: optional("verstat")?
            .map(|v| v.parse())
            .transpose()
            .map_err(|_| StoreError::Corrupt { column: "verstat" })?,
        result: parsed_column(row, "result")?,
        status_code: u16::try_from(status).map_err(|_| StoreError::Corrupt {
            column: "status_code",
        })?,
        reason: optional("reason")?,
        certificate_version_id: optional("certificate_version_id")?.map(VersionId),
        x5u: optional("x5u")?,
        chain_fingerprint: optional("chain_fingerprint")?,
        latency_us: u64::try_from(latency).map_err(|_| StoreError::Corrupt {
            column: "latency_us",
        })?,
    })
}

/// `AND m.tenant_id = $<n>` when `scope` is one tenant (the caller then binds the id), nothing
/// for [`TenantScope::All`].
fn scope_condition(scope: &TenantScope, n: usize) -> String {
    match scope {
        TenantScope::All => String::new(),
        TenantScope::Tenant(_) => format!(" AND m.tenant_id = ${n}"),
    }
}

/// Serialises a verstat as its wire value.
fn serialize_verstat<S: serde::Serializer>(
    verstat: &Option<Verstat>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match verstat {
        Some(v) => serializer.serialize_str(v.as_str()),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signing rows name no chain and are left out of its index (migration 0007); the
    /// pruning of chains must still find verification rows through it, not by reading the log.
    #[tokio::test]
    async fn chain_pruning_reads_the_partial_chain_index() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
        let key = std::sync::Arc::new(crate::secrets::MasterKey::from_bytes(&[7; 32]).unwrap());
        let store = Store::connect(&url, 1, key).await.unwrap();
        store.migrate().await.unwrap();
        let plan = sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {PRUNE_CHAINS}")))
            .bind(0_i64)
            .fetch_all(&store.pool)
            .await
            .unwrap();
        let plan: Vec<String> = plan.iter().map(|r| r.get::<String, _>("detail")).collect();
        assert!(
            plan.iter()
                .any(|step| step.contains("INDEX sip_messages_chain")),
            "{plan:?}"
        );
        store.close().await;
    }

    #[test]
    fn inserts_take_full_chunks_then_powers_of_two() {
        let mut sizes = Vec::new();
        let mut remaining = 64 + 64 + 37;
        while remaining > 0 {
            let rows = insert_rows(remaining);
            sizes.push(rows);
            remaining -= rows;
        }
        assert_eq!(sizes, vec![64, 64, 32, 4, 1]);
        assert_eq!(insert_rows(1), 1);
    }

    #[test]
    fn statements_have_a_placeholder_per_column_and_row() {
        assert_eq!(INSERT_COLUMNS.split(',').count(), INSERT_BINDS);
        let two = values_statement(2, Backend::Postgres);
        assert!(two.contains("VALUES ($1, $2,"));
        assert!(two.ends_with("$23, $24), ($25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46, $47, $48)"));
        assert!(two.starts_with("INSERT INTO sip_messages (id, "));
        let two = values_statement(2, Backend::Sqlite);
        assert!(two.starts_with("INSERT OR FAIL INTO sip_messages (id, "));
        assert_eq!(two.matches('?').count(), 2 * INSERT_BINDS);
        assert!(!two.contains('$'));
        for backend in [Backend::Sqlite, Backend::Postgres] {
            assert_eq!(insert_statement(64, backend).matches('(').count(), 65);
            assert!(std::ptr::eq(
                insert_statement(8, backend),
                insert_statement(8, backend)
            ));
        }
    }
}
