-- SBCs and attestation policies as the call path uses them (the 0001 tables were unused
-- placeholders), and the tenant's choice of what a failed verification does.

DROP TABLE policies;

-- An SBC: requests from source_ip (a CIDR network) whose Request-URI host matches
-- partition_name ('' = any host) belong to the tenant; mode says whether they are signed,
-- verified or both. The table is kept (sip_messages refers to it); it gains its mode.
ALTER TABLE sbcs ADD COLUMN mode TEXT NOT NULL DEFAULT 'both'
    CHECK (mode IN ('sign', 'verify', 'both'));
CREATE UNIQUE INDEX sbcs_tenant_name ON sbcs (tenant_id, name);

-- An attestation policy rule: scope (tenant | sbc | calling_prefix | tn_list | trunk_group,
-- with its value), the action, and the certificate entry that signs (NULL: the tenant's
-- default entry).
CREATE TABLE policies (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    scope_kind TEXT NOT NULL
        CHECK (scope_kind IN ('tenant', 'sbc', 'calling_prefix', 'tn_list', 'trunk_group')),
    scope_value TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL CHECK (action IN ('A', 'B', 'C', 'block', 'skip')),
    certificate_id TEXT REFERENCES certificates (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX policies_tenant ON policies (tenant_id);

-- 'annotate': a failed verification still gets the 302 with verstat and Reason;
-- 'reject': it gets the failure's own SIP code (403/428/436/437/438) instead.
ALTER TABLE tenants ADD COLUMN verification_failure TEXT NOT NULL DEFAULT 'annotate'
    CHECK (verification_failure IN ('annotate', 'reject'));
