//! Browser sessions, kept in the store so every node accepts a cookie another node issued. The
//! caller passes the SHA-256 of the session id; the id itself is never stored.

use passport::UnixTime;
use sqlx::Row as _;

use super::users::user_from_row;
use super::{OnConstraint as _, Store, StoreError, User, UserId, to_db_time};

/// A live session: its user and the CSRF token its forms carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Who is logged in.
    pub user: User,
    /// The token every state-changing form of this session must echo.
    pub csrf_token: String,
}

impl Store {
    /// Stores a new session for `user`, valid until `expires_at`.
    pub async fn create_session(
        &self,
        id_hash: &str,
        user: &UserId,
        csrf_token: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash)
        .bind(user.as_str())
        .bind(csrf_token)
        .bind(to_db_time(now)?)
        .bind(to_db_time(expires_at)?)
        .execute(&self.pool)
        .await
        .on_constraint("the session could not be stored")?;
        Ok(())
    }

    /// The session with this id hash if it has not expired at `now`.
    pub async fn session(
        &self,
        id_hash: &str,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.tenant_id, u.email, u.role, u.created_at, u.updated_at, \
             s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2",
        )
        .bind(id_hash)
        .bind(to_db_time(now)?)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(SessionRecord {
                user: user_from_row(&row)?,
                csrf_token: row.try_get("csrf_token")?,
            })),
        }
    }

    /// Ends a session (logout). Ending one that does not exist is not an error.
    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes sessions that expired before `now`; returns how many.
    pub async fn delete_expired_sessions(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(to_db_time(now)?)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
