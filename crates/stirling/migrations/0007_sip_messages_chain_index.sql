-- Only verification rows name a certificate chain; the index on it serves the pruning of
-- sip_message_chains (`m.chain_fingerprint = …`, which implies NOT NULL, so both SQLite and
-- PostgreSQL use a partial index for it). Signing rows, most of the log, stop adding a NULL
-- entry to it with every call.
DROP INDEX sip_messages_chain;
CREATE INDEX sip_messages_chain ON sip_messages (chain_fingerprint)
    WHERE chain_fingerprint IS NOT NULL;
