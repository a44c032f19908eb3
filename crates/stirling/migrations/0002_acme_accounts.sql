-- ACME accounts, one per certificate entry and STI-CA directory, kept across issuance
-- attempts so renewals reuse the account the STI-CA knows. The account key is stored only
-- sealed (src/secrets.rs, bound to the row id). Portable to SQLite and PostgreSQL.

CREATE TABLE acme_accounts (
    id TEXT PRIMARY KEY,
    certificate_id TEXT NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    directory_url TEXT NOT NULL,
    account_url TEXT NOT NULL,
    key_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (certificate_id, directory_url)
);
