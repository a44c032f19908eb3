-- Stirling store schema, version 1. One migration set for SQLite and PostgreSQL alike, so only
-- the types and syntax both accept are used: TEXT ids (UUIDs), BIGINT unix seconds, INTEGER
-- booleans (0/1), TEXT for sealed secrets (base64 envelopes, see src/secrets.rs) and raw SIP.
-- An applied migration is never edited: add a new file instead.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    company TEXT NOT NULL,
    technical_contact_name TEXT NOT NULL,
    technical_contact_phone TEXT NOT NULL,
    system_email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Placeholder for the users and roles work: columns exist, nothing uses them yet.
-- tenant_id is NULL for operators of the whole installation.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Placeholder: API tokens are stored as hashes only.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT
);

-- Certificate entries: what the lifecycle needs to obtain and renew one SHAKEN certificate.
CREATE TABLE certificates (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    spid TEXT NOT NULL,
    sti_pa_account_id TEXT NOT NULL,
    sti_pa_user_id TEXT NOT NULL,
    sti_pa_password_sealed TEXT NOT NULL,
    environment TEXT NOT NULL CHECK (environment IN ('production', 'staging', 'sandbox')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, spid)
);
CREATE INDEX certificates_tenant ON certificates (tenant_id);

CREATE TABLE certificate_versions (
    id TEXT PRIMARY KEY,
    certificate_id TEXT NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    chain_pem TEXT NOT NULL,
    key_sealed TEXT NOT NULL,
    serial TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    repository_path TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retired')),
    created_at BIGINT NOT NULL
);
CREATE INDEX certificate_versions_certificate ON certificate_versions (certificate_id);
-- At most one active version per certificate, whatever the code does.
CREATE UNIQUE INDEX certificate_versions_one_active
    ON certificate_versions (certificate_id) WHERE state = 'active';

CREATE TABLE certificate_events (
    id TEXT PRIMARY KEY,
    certificate_id TEXT NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    step TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('started', 'succeeded', 'failed')),
    error_text TEXT
);
CREATE INDEX certificate_events_certificate_at ON certificate_events (certificate_id, at);

-- Placeholder: SBCs are identified by source address and partition.
CREATE TABLE sbcs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    source_ip TEXT NOT NULL,
    partition_name TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (source_ip, partition_name)
);

-- Placeholder: policies decide the action (attest A/B/C, block, skip) and the certificate.
CREATE TABLE policies (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    priority INTEGER NOT NULL,
    match_rule TEXT NOT NULL,
    action TEXT NOT NULL,
    certificate_id TEXT REFERENCES certificates (id) ON DELETE SET NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Message log, written by a bounded background writer; retention-bounded by received_at.
CREATE TABLE sip_messages (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE SET NULL,
    sbc_id TEXT REFERENCES sbcs (id) ON DELETE SET NULL,
    received_at BIGINT NOT NULL,
    service TEXT NOT NULL,
    transport TEXT NOT NULL,
    source TEXT NOT NULL,
    call_id TEXT NOT NULL,
    from_tn TEXT,
    to_tn TEXT,
    attestation TEXT,
    outcome TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    certificate_version_id TEXT REFERENCES certificate_versions (id) ON DELETE SET NULL,
    latency_us BIGINT NOT NULL,
    raw_request TEXT NOT NULL,
    raw_response TEXT NOT NULL
);
CREATE INDEX sip_messages_received_at ON sip_messages (received_at);
CREATE INDEX sip_messages_tenant_received_at ON sip_messages (tenant_id, received_at);
