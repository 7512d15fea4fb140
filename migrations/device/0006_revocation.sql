-- 0006: revocations made by the office, as the feed told them (protocol §10.7).

-- A technician's key revoked by the office is destroyed like one locked out
-- by wrong PINs; revoked_at_ms (from when it stopped counting) says it was
-- the office, so the tablet says so instead of "too many wrong PINs".
ALTER TABLE technician_key ADD COLUMN revoked_at_ms INTEGER;

-- This tablet, revoked by the office (the feed's `device_revocation`, body
-- `{device_id, effective_at_ms}`): it seals nothing more, and keeps what it
-- has not sent for a rescue export. Shaped like a feed table but not one: a
-- feed reset does not forget it.
CREATE TABLE device_revocation (
    id TEXT PRIMARY KEY,
    rev INTEGER NOT NULL,
    body TEXT NOT NULL
) STRICT;
