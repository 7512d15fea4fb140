-- The central server on PostgreSQL 15: the same schema as
-- migrations/server/sqlite/0001_init.sql. Records and conflict evidence are
-- append-only; everything else is current state. JSON is stored as TEXT
-- holding serde_json, byte for byte as on SQLite.

-- Which migrations are applied. The runner (storage/postgres.rs) applies each
-- numbered file in its own transaction under pg_advisory_xact_lock and records
-- it here in that same transaction.
CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Sequence counters, deliberately not PostgreSQL sequences: a sequence hands
-- out numbers in call order, not commit order, so a reader could skip a row
-- that commits late. Taking the next value updates this row inside the
-- writing transaction; the row lock is held until commit, so numbers are
-- handed out in commit order (and a rolled-back transaction leaves no gap).
CREATE TABLE counter (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counter (name, value) VALUES ('server_seq', 0), ('feed_seq', 0);

CREATE TABLE operator_token (
    token_hash TEXT PRIMARY KEY,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE enrol_code (
    code_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('device', 'technician')),
    tech_id TEXT,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms BIGINT
);

CREATE TABLE device (
    device_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    public_key BYTEA NOT NULL CHECK (octet_length(public_key) = 32),
    kid TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    enrolled_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);

CREATE TABLE technician_key (
    kid TEXT PRIMARY KEY,
    tech_id TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES device (device_id),
    public_key BYTEA NOT NULL CHECK (octet_length(public_key) = 32),
    bound_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);
CREATE INDEX technician_key_device ON technician_key (device_id);

CREATE TABLE snapshot (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    rev BIGINT NOT NULL,
    body TEXT NOT NULL,
    scope TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);

-- The feed holds one row per snapshot: its latest version, at the feed_seq
-- it was last written.
CREATE TABLE feed (
    feed_seq BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    UNIQUE (kind, id)
);

CREATE TABLE entry (
    device_id TEXT NOT NULL,
    seq BIGINT NOT NULL CHECK (seq >= 1),
    server_seq BIGINT NOT NULL UNIQUE,
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
    device_time_ms BIGINT NOT NULL,
    monotonic_ms BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX entry_work_order ON entry (work_order_id);
CREATE INDEX entry_boot ON entry (device_id, boot_id, seq);

-- Refuses the statement; TG_ARGV[0] says what is append-only. Used as a
-- statement-level trigger, so it fires even when no row matches, and also
-- on TRUNCATE (which skips row triggers).
CREATE FUNCTION refuse_append_only_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% append-only', TG_ARGV[0];
END;
$$;

CREATE TRIGGER entry_no_update BEFORE UPDATE ON entry
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('records are');
CREATE TRIGGER entry_no_delete BEFORE DELETE ON entry
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('records are');
CREATE TRIGGER entry_no_truncate BEFORE TRUNCATE ON entry
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('records are');

CREATE TABLE conflict (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    envelope TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL
);
CREATE INDEX conflict_device ON conflict (device_id, seq);

CREATE TRIGGER conflict_no_update BEFORE UPDATE ON conflict
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('conflict evidence is');
CREATE TRIGGER conflict_no_delete BEFORE DELETE ON conflict
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('conflict evidence is');
CREATE TRIGGER conflict_no_truncate BEFORE TRUNCATE ON conflict
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('conflict evidence is');
