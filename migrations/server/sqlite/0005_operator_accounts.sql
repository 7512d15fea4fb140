-- Operator accounts, their sessions and the office audit log (issue 15).
-- Passwords are stored only as Argon2id PHC strings; sessions only as the
-- SHA-256 of their secret and of their CSRF token.
CREATE TABLE operator_account (
    username TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- Comma-separated, each one of dispatcher, customer_service, reviewer, manager, admin.
    roles TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE operator_session (
    session_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES operator_account (username),
    csrf_hash TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX operator_session_username ON operator_session (username);

-- Every office action that changes something, logins and logouts:
-- append-only, as review decisions are (0002_review.sql).
CREATE TABLE office_audit (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    target TEXT NOT NULL,
    status INTEGER NOT NULL
) STRICT;

CREATE TRIGGER office_audit_no_update BEFORE UPDATE ON office_audit
BEGIN SELECT RAISE(ABORT, 'the office audit log is append-only'); END;
CREATE TRIGGER office_audit_no_delete BEFORE DELETE ON office_audit
BEGIN SELECT RAISE(ABORT, 'the office audit log is append-only'); END;
