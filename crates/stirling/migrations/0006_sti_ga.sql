-- Canada: an entry whose certificates come from the Canadian STI-GA (and its STI-CAs) instead of
-- the US STI-PA; which endpoints that means is configuration (`environments_canada`).
ALTER TABLE certificates ADD COLUMN sti_ga BIGINT NOT NULL DEFAULT 0;
