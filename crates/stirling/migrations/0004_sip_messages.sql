-- SIP Messages log (issue #6): one row per request Stirling answered, written in batches by
-- the message-log writer, pruned by received_at after the retention period. Replaces the
-- placeholder of 0001, which nothing wrote to. Portable to SQLite and PostgreSQL: TEXT ids,
-- BIGINT unix seconds and integers, BIGINT 0/1 booleans.
--
-- No foreign keys on purpose: a log row records what happened, even for a tenant, SBC or
-- certificate version that is deleted later, and one stale reference must never make the
-- writer's whole batch fail. Retention bounds what is kept.
DROP TABLE sip_messages;

CREATE TABLE sip_messages (
    id TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL,
    service TEXT NOT NULL CHECK (service IN ('signing', 'verification')),
    transport TEXT NOT NULL CHECK (transport IN ('http', 'tcp', 'tls', 'udp')),
    source TEXT NOT NULL,
    tenant_id TEXT,
    sbc_id TEXT,
    sbc_name TEXT,
    call_id TEXT NOT NULL,
    from_tn TEXT,
    to_tn TEXT,
    attestation TEXT,
    verstat TEXT,
    result TEXT NOT NULL,
    status_code BIGINT NOT NULL,
    reason TEXT,
    certificate_version_id TEXT,
    x5u TEXT,
    chain_fingerprint TEXT,
    latency_us BIGINT NOT NULL,
    raw_request TEXT NOT NULL,
    raw_request_truncated BIGINT NOT NULL,
    raw_response TEXT NOT NULL,
    raw_response_truncated BIGINT NOT NULL
);
-- Newest first, overall and per tenant; (received_at, id) is also the pagination cursor.
CREATE INDEX sip_messages_received ON sip_messages (received_at, id);
CREATE INDEX sip_messages_tenant_received ON sip_messages (tenant_id, received_at, id);
CREATE INDEX sip_messages_from_tn ON sip_messages (from_tn);
CREATE INDEX sip_messages_to_tn ON sip_messages (to_tn);
CREATE INDEX sip_messages_chain ON sip_messages (chain_fingerprint);

-- Certificate chains seen by verification, each stored once (SHA-256 of the verified path,
-- hex) so the detail view can show the signer's certificate. stored_at is refreshed while the
-- writer keeps seeing the chain; unreferenced chains older than the retention are pruned.
CREATE TABLE sip_message_chains (
    fingerprint TEXT PRIMARY KEY,
    chain_pem TEXT NOT NULL,
    stored_at BIGINT NOT NULL
);
