-- Operator accounts, their sessions and the office audit log (issue 15);
-- as migrations/server/sqlite/0005_operator_accounts.sql.
CREATE TABLE operator_account (
    username TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE operator_session (
    session_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES operator_account (username),
    csrf_hash TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX operator_session_username ON operator_session (username);

CREATE TABLE office_audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    target TEXT NOT NULL,
    status INTEGER NOT NULL
);

CREATE TRIGGER office_audit_no_update BEFORE UPDATE ON office_audit
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('the office audit log is');
CREATE TRIGGER office_audit_no_delete BEFORE DELETE ON office_audit
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('the office audit log is');
CREATE TRIGGER office_audit_no_truncate BEFORE TRUNCATE ON office_audit
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('the office audit log is');
