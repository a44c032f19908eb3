-- Users, browser sessions and API tokens. The placeholder `users` and `api_tokens` tables of
-- 0001 were never used, so they are replaced rather than altered (SQLite cannot add CHECK
-- constraints to an existing table). Portable to SQLite and PostgreSQL.

DROP TABLE api_tokens;
DROP TABLE users;

-- tenant_id is NULL only for administrators of the whole installation; operators and viewers
-- always belong to one tenant. The password is stored only as an argon2id PHC string.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (role = 'admin' OR tenant_id IS NOT NULL)
);
CREATE INDEX users_tenant ON users (tenant_id);

-- Server-side sessions, so any node can check a cookie. Only the SHA-256 of the session id is
-- stored: a copy of the table does not let anyone log in.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- API tokens act as their user. Only the SHA-256 of the token is stored; `prefix` (the first
-- characters after `stk_`) lets a user tell tokens apart. Revoking deletes the row.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
