-- Server-derived tables: snapshots from the downward feed (protocol §7).
-- The feed replaces them; a reset drops only these.

CREATE TABLE feed_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cursor TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE feed_work_order (
    id TEXT PRIMARY KEY,
    rev INTEGER NOT NULL,
    body TEXT NOT NULL
) STRICT;

CREATE TABLE feed_technician (
    id TEXT PRIMARY KEY,
    rev INTEGER NOT NULL,
    body TEXT NOT NULL
) STRICT;

CREATE TABLE feed_thermometer (
    id TEXT PRIMARY KEY,
    rev INTEGER NOT NULL,
    body TEXT NOT NULL
) STRICT;

CREATE TABLE feed_rule_set (
    id TEXT PRIMARY KEY,
    rev INTEGER NOT NULL,
    body TEXT NOT NULL
) STRICT;

CREATE TABLE feed_key_revocation (
    id TEXT PRIMARY KEY,
    rev INTEGER NOT NULL,
    body TEXT NOT NULL
) STRICT;

CREATE TABLE feed_review_status (
    id TEXT PRIMARY KEY,
    rev INTEGER NOT NULL,
    body TEXT NOT NULL
) STRICT;
