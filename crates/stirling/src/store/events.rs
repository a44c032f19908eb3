//! Certificate events: one row per lifecycle step attempted, for the history an operator reads.

use std::fmt;
use std::str::FromStr;

use passport::UnixTime;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{
    CertificateId, EventId, OnConstraint as _, Store, StoreError, TenantId, optional_time_column,
    parsed_column, time_column, to_db_time,
};

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventOutcome {
    /// The step failed; the event's error text says why.
    Failed,
    /// The step began.
    Started,
    /// The step completed.
    Succeeded,
}

impl EventOutcome {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Started => "started",
            Self::Succeeded => "succeeded",
        }
    }
}

impl FromStr for EventOutcome {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "failed" => Ok(Self::Failed),
            "started" => Ok(Self::Started),
            "succeeded" => Ok(Self::Succeeded),
            _ => Err(()),
        }
    }
}

impl fmt::Display for EventOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event to append.
#[derive(Clone, Copy, Debug)]
pub struct NewEvent<'a> {
    /// When it happened.
    pub at: UnixTime,
    /// The lifecycle step, e.g. `sti_pa_login`, `acme_order`, `activate`.
    pub step: &'a str,
    /// How it ended.
    pub outcome: EventOutcome,
    /// Why it failed, for [`EventOutcome::Failed`]. Must not contain secrets.
    pub error_text: Option<&'a str>,
}

/// A stored event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateEvent {
    /// Its id (time-ordered).
    pub id: EventId,
    /// The entry it is about.
    pub certificate_id: CertificateId,
    /// When it happened.
    pub at: UnixTime,
    /// The step.
    pub step: String,
    /// How it ended.
    pub outcome: EventOutcome,
    /// Why it failed.
    pub error_text: Option<String>,
}

impl Store {
    /// Appends an event to an entry of `tenant`.
    pub async fn append_event(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
        event: &NewEvent<'_>,
    ) -> Result<CertificateEvent, StoreError> {
        let id = EventId::new();
        // INSERT … SELECT: the row is written only if the entry belongs to the tenant.
        let done = sqlx::query(
            "INSERT INTO certificate_events (id, certificate_id, at, step, outcome, error_text) \
             SELECT $1, c.id, $3, $4, $5, $6 FROM certificates c \
             WHERE c.id = $2 AND c.tenant_id = $7",
        )
        .bind(id.as_str())
        .bind(certificate.as_str())
        .bind(to_db_time(event.at)?)
        .bind(event.step)
        .bind(event.outcome.as_str())
        .bind(event.error_text)
        .bind(tenant.as_str())
        .execute(&self.pool)
        .await
        .on_constraint("the event does not fit its entry")?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "certificate entry",
            });
        }
        Ok(CertificateEvent {
            id,
            certificate_id: certificate.clone(),
            at: event.at,
            step: event.step.to_owned(),
            outcome: event.outcome,
            error_text: event.error_text.map(str::to_owned),
        })
    }

    /// When the newest event of `step` of an entry of `tenant` happened, if any.
    pub async fn last_event_at(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
        step: &str,
    ) -> Result<Option<UnixTime>, StoreError> {
        let row = sqlx::query(
            "SELECT MAX(e.at) AS at FROM certificate_events e \
             JOIN certificates c ON c.id = e.certificate_id \
             WHERE e.certificate_id = $1 AND c.tenant_id = $2 AND e.step = $3",
        )
        .bind(certificate.as_str())
        .bind(tenant.as_str())
        .bind(step)
        .fetch_one(&self.pool)
        .await?;
        optional_time_column(&row, "at")
    }

    /// The id of the newest event of `step` (with `outcome`, when given) of an entry of
    /// `tenant`. Ids are UUIDv7, so they order events in time at millisecond resolution even
    /// where their `at` seconds are equal.
    pub async fn last_event_id(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
        step: &str,
        outcome: Option<EventOutcome>,
    ) -> Result<Option<EventId>, StoreError> {
        let row = sqlx::query(
            "SELECT MAX(e.id) AS id FROM certificate_events e \
             JOIN certificates c ON c.id = e.certificate_id \
             WHERE e.certificate_id = $1 AND c.tenant_id = $2 AND e.step = $3 \
             AND ($4 = '' OR e.outcome = $4)",
        )
        .bind(certificate.as_str())
        .bind(tenant.as_str())
        .bind(step)
        .bind(outcome.map_or("", EventOutcome::as_str))
        .fetch_one(&self.pool)
        .await?;
        let id: Option<String> = row.try_get("id")?;
        Ok(id.map(EventId))
    }

    /// The newest `limit` events of an entry of `tenant`, newest first.
    pub async fn list_events(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
        limit: u32,
    ) -> Result<Vec<CertificateEvent>, StoreError> {
        sqlx::query(
            "SELECT e.id, e.certificate_id, e.at, e.step, e.outcome, e.error_text \
             FROM certificate_events e JOIN certificates c ON c.id = e.certificate_id \
             WHERE e.certificate_id = $1 AND c.tenant_id = $2 \
             ORDER BY e.at DESC, e.id DESC LIMIT $3",
        )
        .bind(certificate.as_str())
        .bind(tenant.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(event_from_row)
        .collect()
    }
}

fn event_from_row(row: &AnyRow) -> Result<CertificateEvent, StoreError> {
    Ok(CertificateEvent {
        id: EventId(row.try_get("id")?),
        certificate_id: CertificateId(row.try_get("certificate_id")?),
        at: time_column(row, "at")?,
        step: row.try_get("step")?,
        outcome: parsed_column(row, "outcome")?,
        error_text: row.try_get("error_text")?,
    })
}
