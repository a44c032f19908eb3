//! Telling the tenant's Technical Contact (its System Email) when certificate generation fails,
//! and once more when it recovers. The scheduler decides when (at most one failure mail per
//! entry per interval, throttled through the store so every node agrees).

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use passport::UnixTime;

use crate::secrets::SecretString;

/// A failed generation attempt, as the operator needs to read it.
#[derive(Clone, Debug)]
pub struct GenerationFailure {
    /// The entry's Name.
    pub entry_name: String,
    /// The entry's SPID (OCN).
    pub spid: String,
    /// The step that failed, e.g. `sti-pa-login`, `acme-challenge`.
    pub step: String,
    /// The error, as reported by the step (never a secret).
    pub error: String,
    /// Expiry of the certificate still signing calls, if any.
    pub current_expiry: Option<UnixTime>,
    /// When Stirling tries again, if it will.
    pub next_attempt: Option<UnixTime>,
}

/// What an alert mail is about.
#[derive(Clone, Debug)]
pub enum Alert {
    /// Generation failed.
    Failed(GenerationFailure),
    /// A certificate was generated after failures.
    Recovered {
        /// The entry's Name.
        entry_name: String,
        /// The entry's SPID.
        spid: String,
        /// Expiry of the new certificate.
        new_expiry: UnixTime,
    },
}

impl Alert {
    /// The mail subject.
    pub fn subject(&self) -> String {
        match self {
            Self::Failed(f) => format!(
                "Stirling: certificate generation failed for {} (SPID {})",
                f.entry_name, f.spid
            ),
            Self::Recovered {
                entry_name, spid, ..
            } => {
                format!("Stirling: certificate generation recovered for {entry_name} (SPID {spid})")
            }
        }
    }

    /// The plain-text body.
    pub fn body(&self) -> String {
        match self {
            Self::Failed(f) => {
                let current = match f.current_expiry {
                    Some(at) => format!(
                        "The current certificate keeps signing calls until {}.",
                        utc(at)
                    ),
                    None => "There is no valid certificate: calls of this SPID are not signed."
                        .to_owned(),
                };
                let next = match f.next_attempt {
                    Some(at) => format!("Stirling will try again at {}.", utc(at)),
                    None => "Stirling will not retry on its own: correct the entry (for a \
                             rejected STI-PA login, its User ID or Password) and save it, or \
                             press Renew now."
                        .to_owned(),
                };
                format!(
                    "Certificate generation failed.\n\n\
                     Entry:  {}\nSPID:   {}\nStep:   {}\nError:  {}\n\n{current}\n{next}\n",
                    f.entry_name, f.spid, f.step, f.error
                )
            }
            Self::Recovered {
                entry_name,
                spid,
                new_expiry,
            } => format!(
                "A new certificate was generated and is active.\n\n\
                 Entry:  {entry_name}\nSPID:   {spid}\nValid until: {}\n",
                utc(*new_expiry)
            ),
        }
    }
}

fn utc(at: UnixTime) -> String {
    let secs = i64::try_from(at.as_secs()).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{secs} (unix time)"))
}

/// How to reach the SMTP relay.
#[derive(Debug)]
pub struct SmtpConfig {
    /// Relay host name.
    pub host: String,
    /// Relay port (587 for STARTTLS, 465 for implicit TLS).
    pub port: u16,
    /// Transport security.
    pub security: SmtpSecurity,
    /// Login, if the relay wants one.
    pub username: Option<String>,
    /// Password for `username`.
    pub password: Option<SecretString>,
    /// The From address.
    pub from: String,
    /// Bound on connecting and on each command.
    pub timeout: Duration,
}

/// SMTP transport security.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection, only for a relay on the same host or in tests; the name says why.
    DangerPlaintext,
    /// Implicit TLS (port 465).
    Tls,
    /// STARTTLS, required (port 587).
    StartTls,
}

/// Why an alert was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address is not a mailbox.
    #[error("invalid mail address {address:?}")]
    Address {
        /// The address.
        address: String,
    },
    /// The message could not be built.
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
    /// The relay refused or could not be reached.
    #[error("smtp: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// Sends alert mails through the configured relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for `config`.
    pub fn new(config: &SmtpConfig) -> Result<Self, MailError> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(config.timeout));
        builder = match config.security {
            SmtpSecurity::DangerPlaintext => builder.tls(Tls::None),
            SmtpSecurity::Tls => {
                builder.tls(Tls::Wrapper(TlsParameters::new(config.host.clone())?))
            }
            SmtpSecurity::StartTls => {
                builder.tls(Tls::Required(TlsParameters::new(config.host.clone())?))
            }
        };
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.secret_str().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from: mailbox(&config.from)?,
        })
    }

    /// Sends `alert` to `to` (the tenant's System Email).
    pub async fn send(&self, to: &str, alert: &Alert) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(mailbox(to)?)
            .subject(alert.subject())
            .header(ContentType::TEXT_PLAIN)
            .body(alert.body())?;
        self.transport.send(message).await?;
        Ok(())
    }

    /// Sends the SMTP test of Settings ▸ Account to `to`, so an operator sees that alerts
    /// for `tenant` reach its System Email.
    pub async fn send_test(&self, to: &str, tenant: &str) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(mailbox(to)?)
            .subject(format!("Stirling: test message for {tenant}"))
            .header(ContentType::TEXT_PLAIN)
            .body(format!(
                "This is a test from Stirling (Settings > Account > Send test mail).\n\n\
                 Certificate generation alerts for tenant {tenant} are sent to this address \
                 through the same relay.\n"
            ))?;
        self.transport.send(message).await?;
        Ok(())
    }
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.parse().map_err(|_| MailError::Address {
        address: address.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    #[test]
    fn the_body_says_what_failed_and_what_happens_next() {
        let alert = Alert::Failed(GenerationFailure {
            entry_name: "Main trunk".into(),
            spid: "709J".into(),
            step: "sti-pa-login".into(),
            error: "401 Unauthorized".into(),
            current_expiry: Some(t(1_767_225_600)),
            next_attempt: None,
        });
        let body = alert.body();
        assert!(body.contains("Entry:  Main trunk\nSPID:   709J\nStep:   sti-pa-login"));
        assert!(body.contains("until 2026-01-01T00:00:00Z"));
        assert!(body.contains("will not retry on its own"));
        assert_eq!(
            alert.subject(),
            "Stirling: certificate generation failed for Main trunk (SPID 709J)"
        );
    }
}
