//! Retention: deletes messages older than the configured days, in bounded batches.

use std::sync::Arc;
use std::time::Duration;

use passport::UnixTime;
use sti::Clock;
use tokio::sync::watch;

use crate::store::{Store, StoreError};

/// How often the pruning job runs.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(600);

/// Messages deleted per statement: small enough that one delete never holds the table (or
/// SQLite's single writer lock) for long against the writer's inserts.
pub const PRUNE_BATCH: u32 = 1000;

/// Deletes every message received before `now - retention`, [`PRUNE_BATCH`] at a time, then
/// the chains no message refers to any more; returns how many messages went.
pub async fn prune_once(
    store: &Store,
    now: UnixTime,
    retention: Duration,
) -> Result<u64, StoreError> {
    let cutoff = UnixTime::since_unix_epoch(Duration::from_secs(
        now.as_secs().saturating_sub(retention.as_secs()),
    ));
    let mut total = 0;
    loop {
        let deleted = store.prune_sip_messages(cutoff, PRUNE_BATCH).await?;
        total += deleted;
        if deleted < u64::from(PRUNE_BATCH) {
            break;
        }
        // Let the writer's transactions in between batches.
        tokio::task::yield_now().await;
    }
    store.prune_sip_message_chains(cutoff).await?;
    Ok(total)
}

/// Runs [`prune_once`] at start and every [`PRUNE_INTERVAL`] until `stop` turns true.
pub(super) async fn run(
    store: Store,
    clock: Arc<dyn Clock>,
    retention: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match prune_once(&store, clock.now(), retention).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned old sip messages"),
            Err(e) => tracing::warn!(error = %e, "pruning sip messages failed"),
        }
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
            () = tokio::time::sleep(PRUNE_INTERVAL) => {}
        }
    }
}
