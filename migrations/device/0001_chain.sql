-- The tablet's sealed chain, its outbox, the server's receipts, drafts and
-- the files records refer to. Sealed rows are append-only.

CREATE TABLE device_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    device_id TEXT NOT NULL CHECK (device_id <> ''),
    enrolled_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE chain (
    seq INTEGER PRIMARY KEY CHECK (seq >= 1),
    record_id TEXT NOT NULL UNIQUE,
    schema TEXT NOT NULL,
    work_order_id TEXT,
    prev TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    sigs_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL UNIQUE,
    entry BLOB NOT NULL,
    content BLOB NOT NULL,
    tech_sigs TEXT NOT NULL,
    device_sig TEXT NOT NULL,
    sealed_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX chain_work_order ON chain (work_order_id, seq);

CREATE TRIGGER chain_no_update BEFORE UPDATE ON chain
BEGIN SELECT RAISE(ABORT, 'the chain is append-only: sealed records are never updated'); END;

CREATE TRIGGER chain_no_delete BEFORE DELETE ON chain
BEGIN SELECT RAISE(ABORT, 'the chain is append-only: sealed records are never deleted'); END;

CREATE TABLE receipt (
    seq INTEGER PRIMARY KEY REFERENCES chain (seq),
    server_seq INTEGER NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('valid', 'needs_review')),
    receipt TEXT NOT NULL,
    receipt_sig TEXT NOT NULL,
    stored_at_ms INTEGER NOT NULL
) STRICT;

CREATE TRIGGER receipt_no_update BEFORE UPDATE ON receipt
BEGIN SELECT RAISE(ABORT, 'receipts are append-only'); END;

CREATE TRIGGER receipt_no_delete BEFORE DELETE ON receipt
BEGIN SELECT RAISE(ABORT, 'receipts are append-only'); END;

-- What still has to reach the server. A row leaves only once its receipt is stored.
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY REFERENCES chain (seq),
    enqueued_at_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at_ms INTEGER
) STRICT;

CREATE TRIGGER outbox_delete_needs_receipt BEFORE DELETE ON outbox
WHEN NOT EXISTS (SELECT 1 FROM receipt WHERE receipt.seq = OLD.seq)
BEGIN SELECT RAISE(ABORT, 'an outbox row leaves only after its receipt is stored'); END;

-- Work in progress, editable until it is sealed.
CREATE TABLE draft (
    draft_id TEXT PRIMARY KEY CHECK (draft_id <> ''),
    schema TEXT NOT NULL,
    work_order_id TEXT,
    data TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

-- Photos and signature images, stored on disk under their SHA-256.
CREATE TABLE blob (
    sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size INTEGER NOT NULL CHECK (size >= 0),
    media_type TEXT NOT NULL,
    stored_at_ms INTEGER NOT NULL,
    uploaded_at_ms INTEGER
) STRICT;
