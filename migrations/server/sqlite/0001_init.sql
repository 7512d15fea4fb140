-- The central server on SQLite (the embedded default). Records and conflict
-- evidence are append-only; everything else is current state.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Sequence counters. Taking the next value updates this row inside the
-- writing transaction, so numbers are handed out in commit order.
CREATE TABLE counter (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO counter (name, value) VALUES ('server_seq', 0), ('feed_seq', 0);

CREATE TABLE operator_token (
    token_hash TEXT PRIMARY KEY,
    created_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE enrol_code (
    code_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('device', 'technician')),
    tech_id TEXT,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms INTEGER
) STRICT;

CREATE TABLE device (
    device_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    kid TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    enrolled_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
) STRICT;

CREATE TABLE technician_key (
    kid TEXT PRIMARY KEY,
    tech_id TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES device (device_id),
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    bound_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
) STRICT;
CREATE INDEX technician_key_device ON technician_key (device_id);

CREATE TABLE snapshot (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    rev INTEGER NOT NULL,
    body TEXT NOT NULL,
    scope TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;

-- The feed holds one row per snapshot: its latest version, at the feed_seq
-- it was last written.
CREATE TABLE feed (
    feed_seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    UNIQUE (kind, id)
) STRICT;

CREATE TABLE entry (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    server_seq INTEGER NOT NULL UNIQUE,
    record_id TEXT NOT NULL UNIQUE,
    entry_hash TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    schema TEXT NOT NULL,
    work_order_id TEXT,
    envelope TEXT NOT NULL,
    receipt TEXT NOT NULL,
    receipt_sig TEXT NOT NULL,
    flags TEXT NOT NULL,
    boot_id TEXT NOT NULL,
    device_time_ms INTEGER NOT NULL,
    monotonic_ms INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT;
CREATE INDEX entry_work_order ON entry (work_order_id);
CREATE INDEX entry_boot ON entry (device_id, boot_id, seq);

CREATE TRIGGER entry_no_update BEFORE UPDATE ON entry
BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
CREATE TRIGGER entry_no_delete BEFORE DELETE ON entry
BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;

CREATE TABLE conflict (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    envelope TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX conflict_device ON conflict (device_id, seq);

CREATE TRIGGER conflict_no_update BEFORE UPDATE ON conflict
BEGIN SELECT RAISE(ABORT, 'conflict evidence is append-only'); END;
CREATE TRIGGER conflict_no_delete BEFORE DELETE ON conflict
BEGIN SELECT RAISE(ABORT, 'conflict evidence is append-only'); END;
