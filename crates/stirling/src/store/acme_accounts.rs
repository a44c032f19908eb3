//! ACME accounts: the account key and URL an entry uses at one STI-CA, kept across issuance
//! attempts so every renewal reuses the account (and its key fingerprint) the STI-CA knows.
//!
//! The key is stored only sealed, bound to its row ([`SealContext`]).

use passport::{SigningKey, UnixTime};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{
    CertificateId, OnConstraint as _, Store, StoreError, TenantId, time_column, to_db_time,
};
use crate::secrets::{SealContext, SecretsError};

/// An ACME account to store for an entry.
#[derive(Debug)]
pub struct NewAcmeAccount<'a> {
    /// The STI-CA's directory URL the account belongs to.
    pub directory_url: &'a str,
    /// The account URL (`kid`) the STI-CA gave out.
    pub account_url: &'a str,
    /// The account key; stored only sealed.
    pub key: &'a SigningKey,
}

/// A stored ACME account, with its opened key.
#[derive(Debug)]
pub struct AcmeAccountRecord {
    /// The entry it belongs to.
    pub certificate_id: CertificateId,
    /// The STI-CA's directory URL.
    pub directory_url: String,
    /// The account URL (`kid`).
    pub account_url: String,
    /// The account key (a secret: `SigningKey`'s `Debug` does not print it).
    pub key: SigningKey,
    /// When it was stored.
    pub created_at: UnixTime,
}

const ENTRY: &str = "certificate entry";

fn key_context(id: &str) -> SealContext<'_> {
    SealContext {
        table: "acme_accounts",
        column: "key_sealed",
        row_id: id,
    }
}

impl Store {
    /// The ACME account of an entry of `tenant` at the STI-CA `directory_url`, if one was
    /// stored.
    pub async fn acme_account(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
        directory_url: &str,
    ) -> Result<Option<AcmeAccountRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT a.id, a.certificate_id, a.directory_url, a.account_url, a.key_sealed, \
             a.created_at FROM acme_accounts a JOIN certificates c ON c.id = a.certificate_id \
             WHERE a.certificate_id = $1 AND a.directory_url = $2 AND c.tenant_id = $3",
        )
        .bind(certificate.as_str())
        .bind(directory_url)
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| self.account_from_row(&row)).transpose()
    }

    /// Stores the ACME account of an entry of `tenant`, sealing its key. An entry has at most
    /// one account per directory: a second one is [`StoreError::Conflict`].
    pub async fn insert_acme_account(
        &self,
        tenant: &TenantId,
        certificate: &CertificateId,
        new: &NewAcmeAccount<'_>,
        now: UnixTime,
    ) -> Result<AcmeAccountRecord, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let der = zeroize::Zeroizing::new(
            new.key
                .secret_pkcs8_der()
                .map_err(|_| SecretsError::Crypto)?,
        );
        let sealed = self.key.seal(&der, &key_context(&id))?;
        // INSERT … SELECT: the row is written only if the entry belongs to the tenant.
        let done = sqlx::query(
            "INSERT INTO acme_accounts (id, certificate_id, directory_url, account_url, \
             key_sealed, created_at) \
             SELECT $1, c.id, $3, $4, $5, $6 FROM certificates c \
             WHERE c.id = $2 AND c.tenant_id = $7",
        )
        .bind(id.as_str())
        .bind(certificate.as_str())
        .bind(new.directory_url)
        .bind(new.account_url)
        .bind(sealed)
        .bind(to_db_time(now)?)
        .bind(tenant.as_str())
        .execute(&self.pool)
        .await
        .on_constraint("this certificate entry already has an acme account at this directory")?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: ENTRY });
        }
        self.acme_account(tenant, certificate, new.directory_url)
            .await?
            .ok_or(StoreError::NotFound {
                what: "acme account",
            })
    }

    fn account_from_row(&self, row: &AnyRow) -> Result<AcmeAccountRecord, StoreError> {
        let id: String = row.try_get("id")?;
        let sealed: String = row.try_get("key_sealed")?;
        let der = self.key.open(&sealed, &key_context(&id))?;
        let key = SigningKey::from_der(der.secret_bytes()).map_err(|_| StoreError::Corrupt {
            column: "key_sealed",
        })?;
        Ok(AcmeAccountRecord {
            certificate_id: CertificateId(row.try_get("certificate_id")?),
            directory_url: row.try_get("directory_url")?,
            account_url: row.try_get("account_url")?,
            key,
            created_at: time_column(row, "created_at")?,
        })
    }
}
