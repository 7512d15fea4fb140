-- 0004: what the sync engine keeps between runs (protocol §5, §8).

-- The server clock as last measured: offset = server time − device time at
-- the midpoint of the round trip. New records carry device time + offset as
-- `created.last_server_time_ms`.
CREATE TABLE server_clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    offset_ms INTEGER NOT NULL,
    rtt_ms INTEGER NOT NULL CHECK (rtt_ms >= 0),
    server_time_ms INTEGER NOT NULL,
    measured_at_ms INTEGER NOT NULL
) STRICT;

-- A tus upload in progress. The offset is written after every chunk the
-- server confirmed, so an upload resumes after a restart instead of starting over.
CREATE TABLE blob_upload (
    sha256 TEXT PRIMARY KEY REFERENCES blob (sha256),
    upload_url TEXT,
    confirmed_offset INTEGER NOT NULL DEFAULT 0 CHECK (confirmed_offset >= 0),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER,
    last_error TEXT,
    updated_at_ms INTEGER NOT NULL
) STRICT;

-- Which sealed record names which file: written with the chain row, so that
-- "may this photo leave the tablet?" is an index lookup, not a scan of
-- every record's JSON.
CREATE TABLE chain_attachment (
    seq INTEGER NOT NULL REFERENCES chain (seq),
    sha256 TEXT NOT NULL,
    PRIMARY KEY (sha256, seq)
) STRICT;

INSERT OR IGNORE INTO chain_attachment (seq, sha256)
SELECT c.seq, json_extract(a.value, '$.sha256')
FROM chain c, json_each(CAST(c.content AS TEXT), '$.attachments') a;

-- Set when the file was deleted from the tablet: the server had the blob and
-- every record referring to it had a receipt.
ALTER TABLE blob ADD COLUMN removed_at_ms INTEGER;

-- Each lane's lasting state. A lane stopped by a conflict or a rejection
-- stays stopped across restarts until support has looked at it.
CREATE TABLE sync_lane (
    lane TEXT PRIMARY KEY CHECK (lane IN ('records', 'blobs', 'feed')),
    stopped_code TEXT,
    stopped_message TEXT,
    stopped_at_ms INTEGER,
    last_success_ms INTEGER,
    last_error TEXT,
    last_error_at_ms INTEGER
) STRICT;

-- A second, different receipt for an entry that already had one: the server
-- lost data and received the entry again. The first receipt stays the
-- tablet's proof; this keeps the later one as evidence.
CREATE TABLE receipt_reissued (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL REFERENCES chain (seq),
    receipt TEXT NOT NULL,
    receipt_sig TEXT NOT NULL,
    stored_at_ms INTEGER NOT NULL
) STRICT;

-- The server this tablet is enrolled with: where it is, the device token it
-- issued, and its receipt key as fetched at enrolment (receipts are checked
-- against this key, not one fetched later).
CREATE TABLE server_link (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    server_url TEXT NOT NULL,
    device_token TEXT NOT NULL,
    server_kid TEXT NOT NULL,
    server_public_key BLOB NOT NULL CHECK (length(server_public_key) = 32),
    linked_at_ms INTEGER NOT NULL
) STRICT;
