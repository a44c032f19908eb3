//! Users: who may log in, with which role, for which tenant. The password is stored only as an
//! argon2id PHC string made by `auth::hash_password`; reading a user never returns it,
//! [`Store::user_for_login`] does so on purpose.

use std::fmt;
use std::str::FromStr;

use passport::UnixTime;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{
    OnConstraint as _, Store, StoreError, TenantId, TenantScope, UserId, parsed_column,
    time_column, to_db_time,
};

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, for every tenant and the installation.
    Admin,
    /// Manage their own tenant: entries, users, tokens, account.
    Operator,
    /// Read their own tenant.
    Viewer,
}

impl Role {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Viewer => "viewer",
        }
    }

    /// Whether this role may change anything (POST, PUT, DELETE).
    pub fn may_write(self) -> bool {
        match self {
            Self::Admin | Self::Operator => true,
            Self::Viewer => false,
        }
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "admin" => Ok(Self::Admin),
            "operator" => Ok(Self::Operator),
            "viewer" => Ok(Self::Viewer),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user as stored, without the password hash.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The tenant; `None` only for an administrator of the whole installation.
    pub tenant_id: Option<TenantId>,
    /// Login name, stored lower case.
    pub email: String,
    /// What the user may do.
    pub role: Role,
    /// When it was created.
    #[serde(serialize_with = "crate::store::serialize_time")]
    pub created_at: UnixTime,
    /// When it was last changed.
    #[serde(serialize_with = "crate::store::serialize_time")]
    pub updated_at: UnixTime,
}

impl User {
    /// The tenants this user's requests may see.
    pub fn scope(&self) -> TenantScope {
        scope_for(self.role, self.tenant_id.as_ref())
    }
}

/// The tenants a user of `role` in `tenant` may see: the one place that decides it.
pub fn scope_for(role: Role, tenant: Option<&TenantId>) -> TenantScope {
    match (role, tenant) {
        (Role::Admin, _) => TenantScope::All,
        (Role::Operator | Role::Viewer, Some(tenant)) => TenantScope::Tenant(tenant.clone()),
        // The schema refuses a non-admin without a tenant; should one appear anyway, it sees
        // nothing rather than everything (no tenant has the empty id).
        (Role::Operator | Role::Viewer, None) => TenantScope::Tenant(TenantId(String::new())),
    }
}

/// A user to create. The email is compared and stored lower case.
#[derive(Debug)]
pub struct NewUser<'a> {
    /// The tenant; `None` only with [`Role::Admin`].
    pub tenant_id: Option<&'a TenantId>,
    /// Login name.
    pub email: &'a str,
    /// What the user may do.
    pub role: Role,
    /// The argon2id PHC string from `auth::hash_password`.
    pub password_hash: &'a str,
}

macro_rules! user_columns {
    () => {
        "id, tenant_id, email, role, created_at, updated_at"
    };
}
const USER: &str = "user";
const EMAIL_TAKEN: &str = "a user with this email already exists";

impl Store {
    /// Creates a user.
    pub async fn create_user(&self, new: &NewUser<'_>, now: UnixTime) -> Result<User, StoreError> {
        let id = UserId::new();
        sqlx::query(
            "INSERT INTO users (id, tenant_id, email, role, password_hash, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(id.as_str())
        .bind(new.tenant_id.map(TenantId::as_str))
        .bind(new.email.trim().to_lowercase())
        .bind(new.role.as_str())
        .bind(new.password_hash)
        .bind(to_db_time(now)?)
        .execute(&self.pool)
        .await
        .on_constraint(EMAIL_TAKEN)?;
        self.user(&TenantScope::All, &id).await
    }

    /// One user visible in `scope`.
    pub async fn user(&self, scope: &TenantScope, id: &UserId) -> Result<User, StoreError> {
        let row = match scope {
            TenantScope::All => {
                sqlx::query(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users WHERE id = $1"
                ))
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?
            }
            TenantScope::Tenant(tenant) => {
                sqlx::query(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users WHERE id = $1 AND tenant_id = $2"
                ))
                .bind(id.as_str())
                .bind(tenant.as_str())
                .fetch_optional(&self.pool)
                .await?
            }
        };
        user_from_row(&row.ok_or(StoreError::NotFound { what: USER })?)
    }

    /// The users visible in `scope`, by email.
    pub async fn list_users(&self, scope: &TenantScope) -> Result<Vec<User>, StoreError> {
        let rows = match scope {
            TenantScope::All => {
                sqlx::query(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users ORDER BY email"
                ))
                .fetch_all(&self.pool)
                .await?
            }
            TenantScope::Tenant(tenant) => {
                sqlx::query(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users WHERE tenant_id = $1 ORDER BY email"
                ))
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(user_from_row).collect()
    }

    /// Deletes a user visible in `scope`, with its sessions and tokens.
    pub async fn delete_user(&self, scope: &TenantScope, id: &UserId) -> Result<(), StoreError> {
        let done = match scope {
            TenantScope::All => {
                sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id.as_str())
                    .execute(&self.pool)
                    .await?
            }
            TenantScope::Tenant(tenant) => {
                sqlx::query("DELETE FROM users WHERE id = $1 AND tenant_id = $2")
                    .bind(id.as_str())
                    .bind(tenant.as_str())
                    .execute(&self.pool)
                    .await?
            }
        };
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: USER });
        }
        Ok(())
    }

    /// The user with `email` and their password hash, for checking a login. `None` when no
    /// such user exists.
    pub async fn user_for_login(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", password_hash FROM users WHERE email = $1"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let hash: String = row.try_get("password_hash")?;
                Ok(Some((user_from_row(&row)?, hash)))
            }
        }
    }
}

pub(super) fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    let tenant: Option<String> = row.try_get("tenant_id")?;
    Ok(User {
        id: UserId(row.try_get("id")?),
        tenant_id: tenant.map(TenantId),
        email: row.try_get("email")?,
        role: parsed_column(row, "role")?,
        created_at: time_column(row, "created_at")?,
        updated_at: time_column(row, "updated_at")?,
    })
}
