//! API tokens: bearer credentials that act as their user. The caller passes the SHA-256 of the
//! token; the token itself is shown once at creation and never stored.

use passport::UnixTime;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::users::user_from_row;
use super::{
    ApiTokenId, OnConstraint as _, Store, StoreError, TenantScope, User, UserId, time_column,
    to_db_time,
};

/// A token as listed: never the token or its hash.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ApiToken {
    /// Its id.
    pub id: ApiTokenId,
    /// The user it acts as.
    pub user_id: UserId,
    /// The owner's email, for lists.
    pub user_email: String,
    /// What the owner called it.
    pub name: String,
    /// The first characters after `stk_`, to tell tokens apart.
    pub prefix: String,
    /// When it was created.
    #[serde(serialize_with = "crate::store::serialize_time")]
    pub created_at: UnixTime,
    /// When it last authenticated a request, if ever.
    #[serde(serialize_with = "crate::store::serialize_optional_time")]
    pub last_used_at: Option<UnixTime>,
}

/// A token to store.
#[derive(Debug)]
pub struct NewApiToken<'a> {
    /// The user it acts as.
    pub user_id: &'a UserId,
    /// What the owner calls it.
    pub name: &'a str,
    /// The first characters after `stk_`.
    pub prefix: &'a str,
    /// SHA-256 of the whole token, hex.
    pub token_hash: &'a str,
}

const TOKEN: &str = "API token";
/// How stale `last_used_at` may get before a use rewrites it.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

impl Store {
    /// Stores a token.
    pub async fn create_api_token(
        &self,
        new: &NewApiToken<'_>,
        now: UnixTime,
    ) -> Result<ApiToken, StoreError> {
        let id = ApiTokenId::new();
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.as_str())
        .bind(new.user_id.as_str())
        .bind(new.name)
        .bind(new.prefix)
        .bind(new.token_hash)
        .bind(to_db_time(now)?)
        .execute(&self.pool)
        .await
        .on_constraint("the token could not be stored")?;
        self.api_token(&TenantScope::All, &id).await
    }

    /// One token whose owner is visible in `scope`.
    pub async fn api_token(
        &self,
        scope: &TenantScope,
        id: &ApiTokenId,
    ) -> Result<ApiToken, StoreError> {
        self.list_tokens_where(scope, Some(id))
            .await?
            .pop()
            .ok_or(StoreError::NotFound { what: TOKEN })
    }

    /// The tokens whose owners are visible in `scope`, newest first.
    pub async fn list_api_tokens(&self, scope: &TenantScope) -> Result<Vec<ApiToken>, StoreError> {
        self.list_tokens_where(scope, None).await
    }

    /// Revokes a token whose owner is visible in `scope`.
    pub async fn delete_api_token(
        &self,
        scope: &TenantScope,
        id: &ApiTokenId,
    ) -> Result<(), StoreError> {
        // Resolving it first applies the scope in one place.
        let token = self.api_token(scope, id).await?;
        sqlx::query("DELETE FROM api_tokens WHERE id = $1")
            .bind(token.id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user a token hash belongs to, noting the use at `now`. `None` for an unknown or
    /// revoked token.
    pub async fn api_token_user(
        &self,
        token_hash: &str,
        now: UnixTime,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.tenant_id, u.email, u.role, u.created_at, u.updated_at, \
             t.id AS token_id, t.last_used_at AS token_last_used_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        // At most one write a minute per token, so a busy API client does not turn every read
        // into a write: the UPDATE is not even sent while the stored time is recent (even a
        // no-op UPDATE takes SQLite's write lock, beside the SIP Messages writer).
        let now = to_db_time(now)?;
        let stale_before = now.saturating_sub(LAST_USED_RESOLUTION_SECS);
        let last_used: Option<i64> = row.try_get("token_last_used_at")?;
        if last_used.is_none_or(|used| used <= stale_before) {
            let token_id: String = row.try_get("token_id")?;
            // The condition again: another node may have written it meanwhile.
            sqlx::query(
                "UPDATE api_tokens SET last_used_at = $2 \
                 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)",
            )
            .bind(&token_id)
            .bind(now)
            .bind(stale_before)
            .execute(&self.pool)
            .await?;
        }
        Ok(Some(user_from_row(&row)?))
    }

    async fn list_tokens_where(
        &self,
        scope: &TenantScope,
        id: Option<&ApiTokenId>,
    ) -> Result<Vec<ApiToken>, StoreError> {
        const SELECT: &str = "SELECT t.id, t.user_id, u.email, t.name, t.prefix, t.created_at, \
             t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id";
        // Four fixed statements rather than assembled SQL: the filters are the scope and the id.
        let rows = match (scope, id) {
            (TenantScope::All, None) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{SELECT} ORDER BY t.created_at DESC, t.id DESC"
                )))
                .fetch_all(&self.pool)
                .await?
            }
            (TenantScope::All, Some(id)) => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE t.id = $1")))
                    .bind(id.as_str())
                    .fetch_all(&self.pool)
                    .await?
            }
            (TenantScope::Tenant(tenant), None) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{SELECT} WHERE u.tenant_id = $1 ORDER BY t.created_at DESC, t.id DESC"
                )))
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await?
            }
            (TenantScope::Tenant(tenant), Some(id)) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{SELECT} WHERE t.id = $1 AND u.tenant_id = $2"
                )))
                .bind(id.as_str())
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(token_from_row).collect()
    }
}

fn token_from_row(row: &AnyRow) -> Result<ApiToken, StoreError> {
    let last_used: Option<i64> = row.try_get("last_used_at")?;
    Ok(ApiToken {
        id: ApiTokenId(row.try_get("id")?),
        user_id: UserId(row.try_get("user_id")?),
        user_email: row.try_get("email")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        created_at: time_column(row, "created_at")?,
        last_used_at: match last_used {
            None => None,
            Some(_) => Some(time_column(row, "last_used_at")?),
        },
    })
}
