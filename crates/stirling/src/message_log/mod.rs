//! The SIP Messages log (issue #6): every answered request, its final response and what
//! became of the call, for the UI's log and its **Show** button.
//!
//! The call path never waits for the store (`DESIGN.md`, signing flow): [`MessageLog::record`]
//! is a plain function that counts the call in [`Metrics`] and `try_send`s the record into a
//! bounded queue. When the queue is full the record is dropped and counted
//! (`stirling_message_log_dropped_total`) rather than slowing the call. A background writer
//! empties the queue in batches (one transaction per batch, up to `batch_size` records or
//! `flush_interval_ms`), cuts raw messages to `raw_max_bytes`, stores each verification chain
//! once, and flushes what it holds when asked to stop. A pruning job deletes messages older
//! than `retention_days` in bounded batches.
//!
//! ```no_run
//! # async fn example(store: stirling::store::Store) {
//! use std::sync::Arc;
//! use stirling::config::MessageLogConfig;
//! use stirling::message_log::MessageLog;
//! use stirling::metrics::Metrics;
//!
//! let metrics = Arc::new(Metrics::new());
//! let (log, tasks) = MessageLog::start(
//!     &MessageLogConfig::default(),
//!     store,
//!     Arc::new(sti::SystemClock),
//!     metrics.clone(),
//! );
//! // … hand `log` (cheap to clone) to the SIP front and the HTTP API; on every answer:
//! // log.record(MessageRecord { … });
//! tasks.shutdown().await; // at exit: writes what is queued
//! # }
//! ```
//!
//! In a `sip::Handler`, [`MessageRecord::sip`] fills in what the messages say; the handler
//! adds the call's details and [`MessageLog::record`]s it.

mod api;
mod display;
mod prune;
mod writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use passport::{Attestation, TelephoneNumber, UnixTime, Verstat};
use rustls_pki_types::CertificateDer;
use sti::Clock;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use api::{message_view, router};
pub use display::{
    CertificateDetails, DecodedPassport, MessageView, certificate_details, decode_identities,
};
pub use prune::{PRUNE_BATCH, PRUNE_INTERVAL, prune_once};

use crate::config::MessageLogConfig;
use crate::metrics::Metrics;
use crate::store::{CallResult, MessageTransport, Service, Store, TenantId, VersionId};

/// One answered request, as the SIP front or the HTTP API hands it to the log.
///
/// Building one is cheap: raw messages are `Bytes` (a reference count, no copy) and the chain
/// is shared; cutting and encoding happen in the writer, off the call path.
#[derive(Clone, Debug)]
pub struct MessageRecord {
    /// When the request arrived.
    pub received_at: UnixTime,
    /// Signing or verification.
    pub service: Service,
    /// SIP transport, or HTTP for the ATIS-1000082 API.
    pub transport: MessageTransport,
    /// The peer's address.
    pub source: SocketAddr,
    /// The tenant the SBC or API token belongs to; `None` for an unknown source.
    pub tenant_id: Option<TenantId>,
    /// The SBC's id, when SBCs come from the store.
    pub sbc_id: Option<String>,
    /// The SBC's name.
    pub sbc_name: Option<String>,
    /// The Call-ID (for HTTP, the request's identifier).
    pub call_id: String,
    /// The calling number, when it is a telephone number.
    pub from_tn: Option<TelephoneNumber>,
    /// The called number, when it is a telephone number.
    pub to_tn: Option<TelephoneNumber>,
    /// The attestation signed, or the one of the verified PASSporT.
    pub attestation: Option<Attestation>,
    /// The verstat placed (verification).
    pub verstat: Option<Verstat>,
    /// What became of the call.
    pub result: CallResult,
    /// The final response's SIP status code (for HTTP, the SIP code its body carries).
    pub status_code: u16,
    /// The Reason header's text on failure, e.g. `Invalid Identity Header` or `sti-blocked`.
    pub reason: Option<String>,
    /// The certificate version that signed (signing).
    pub certificate_version_id: Option<VersionId>,
    /// The x5u of the PASSporT checked (verification).
    pub x5u: Option<String>,
    /// The chain that verified (verification), stored once per fingerprint.
    pub chain: Option<LoggedChain>,
    /// Time from request to response.
    pub latency: Duration,
    /// The request as received.
    pub raw_request: Bytes,
    /// The final response as sent.
    pub raw_response: Bytes,
}

impl MessageRecord {
    /// A record of one SIP exchange with what the messages themselves say filled in: the
    /// Call-ID, the status code and both raw messages (shared, not copied). The call details
    /// (tenant, SBC, numbers, attestation, verstat, reason, certificate, chain) start empty
    /// for the caller to set.
    #[allow(clippy::too_many_arguments)]
    pub fn sip(
        service: Service,
        result: CallResult,
        request: &sip::Request,
        response: &sip::Response,
        source: SocketAddr,
        transport: sip::Transport,
        received_at: UnixTime,
        latency: Duration,
    ) -> Self {
        Self {
            transport: transport.into(),
            // A request without a Call-ID is answered 400 and still logged.
            call_id: request.call_id().unwrap_or_default().to_owned(),
            ..Self::http(
                service,
                result,
                request.as_bytes().clone(),
                response.as_bytes().clone(),
                response.status().as_u16(),
                source,
                received_at,
                latency,
            )
        }
    }
}

impl MessageRecord {
    /// A record of one ATIS-1000082 HTTP exchange: the JSON bodies are the raw messages; HTTP
    /// has no Call-ID. The call details start empty, as with [`MessageRecord::sip`] (which is
    /// this record with the SIP transport and Call-ID).
    #[allow(clippy::too_many_arguments)]
    pub fn http(
        service: Service,
        result: CallResult,
        request: Bytes,
        response: Bytes,
        status_code: u16,
        source: SocketAddr,
        received_at: UnixTime,
        latency: Duration,
    ) -> Self {
        Self {
            received_at,
            service,
            transport: MessageTransport::Http,
            source,
            tenant_id: None,
            sbc_id: None,
            sbc_name: None,
            call_id: String::new(),
            from_tn: None,
            to_tn: None,
            attestation: None,
            verstat: None,
            result,
            status_code,
            reason: None,
            certificate_version_id: None,
            x5u: None,
            chain: None,
            latency,
            raw_request: request,
            raw_response: response,
        }
    }
}

/// A verified chain as the log stores it.
#[derive(Clone, Debug)]
pub struct LoggedChain {
    /// SHA-256 of the verified path (`pki::VerifiedChain::fingerprint`).
    pub fingerprint: [u8; 32],
    /// The certificates as fetched from the x5u, leaf first. An `Arc` so the verifier's
    /// cache entry can share it with every record.
    pub certificates: Arc<[CertificateDer<'static>]>,
}

/// The handle calls log through. Cheap to clone; clones share the queue.
#[derive(Clone, Debug)]
pub struct MessageLog {
    queue: mpsc::Sender<MessageRecord>,
    metrics: Arc<Metrics>,
}

/// The writer and pruning tasks behind a [`MessageLog`]; stop them with
/// [`MessageLogTasks::shutdown`].
#[derive(Debug)]
pub struct MessageLogTasks {
    stop: watch::Sender<bool>,
    writer: JoinHandle<()>,
    pruner: JoinHandle<()>,
}

impl MessageLog {
    /// Starts the writer and the pruning job on the current Tokio runtime.
    pub fn start(
        config: &MessageLogConfig,
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> (Self, MessageLogTasks) {
        let (queue, receiver) = mpsc::channel(config.queue_capacity.max(1));
        let (stop, stopped) = watch::channel(false);
        let writer = writer::Writer::new(
            receiver,
            store.clone(),
            clock.clone(),
            metrics.clone(),
            config,
        );
        let writer = tokio::spawn(writer.run(stopped.clone()));
        let retention = Duration::from_secs(u64::from(config.retention_days) * 86_400);
        let pruner = tokio::spawn(prune::run(store, clock, retention, stopped));
        (
            Self { queue, metrics },
            MessageLogTasks {
                stop,
                writer,
                pruner,
            },
        )
    }

    /// Counts the call in the metrics and queues its record for the writer. Never blocks and
    /// never awaits: when the queue is full (or the writer stopped) the record is dropped and
    /// counted.
    pub fn record(&self, record: MessageRecord) {
        self.metrics.record_call(
            record.service,
            record.result,
            record.status_code,
            record.latency,
        );
        // Counted as queued before the send, so the writer never dequeues a record the depth
        // does not yet include.
        self.metrics.log_queued();
        if self.queue.try_send(record).is_err() {
            self.metrics.log_dequeued(1);
            self.metrics.log_dropped();
        }
    }

    /// The metrics this log counts into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}

impl MessageLogTasks {
    /// Stops accepting records, writes every record already queued, and stops the pruning
    /// job. Returns when the last batch is in the store (or failed).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.writer.await {
            tracing::error!(error = %e, "message log writer task failed");
        }
        if let Err(e) = self.pruner.await {
            tracing::error!(error = %e, "message log pruning task failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sip_record_shares_the_messages_and_reads_call_id_and_status() {
        let invite = Bytes::from_static(
            b"INVITE sip:+12155551212@ss.example.net SIP/2.0\r\n\
              Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1\r\n\
              From: <sip:+12155550100@a.example.com>;tag=1\r\n\
              To: <sip:+12155551212@b.example.com>\r\n\
              Call-ID: call-1@192.0.2.10\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        );
        let request = sip::Request::parse(invite.clone()).unwrap();
        let response = request
            .respond(sip::StatusCode::MOVED_TEMPORARILY)
            .build()
            .unwrap();
        let source = SocketAddr::from(([192, 0, 2, 10], 5060));
        let at = UnixTime::since_unix_epoch(Duration::from_secs(1_800_000_000));
        let record = MessageRecord::sip(
            Service::Signing,
            CallResult::Unsigned,
            &request,
            &response,
            source,
            sip::Transport::Udp,
            at,
            Duration::from_micros(20),
        );
        assert_eq!(record.call_id, "call-1@192.0.2.10");
        assert_eq!(record.status_code, 302);
        assert_eq!(record.transport, MessageTransport::Udp);
        assert_eq!(record.raw_request, invite);
        // Shared, not copied: the same buffer as the parsed request.
        assert_eq!(record.raw_request.as_ptr(), request.as_bytes().as_ptr());
        assert!(record.raw_response.starts_with(b"SIP/2.0 302 "));
        assert_eq!(record.raw_response, response.as_bytes());
    }
}
