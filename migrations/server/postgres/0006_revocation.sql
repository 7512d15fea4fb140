-- Who revoked a tablet or a technician's key from the office, when, and why;
-- as migrations/server/sqlite/0006_revocation.sql.
CREATE TABLE revocation_note (
    id BIGSERIAL PRIMARY KEY,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('device', 'technician_key')),
    subject TEXT NOT NULL,
    effective_at_ms BIGINT NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    reason TEXT
);

CREATE TRIGGER revocation_note_no_update BEFORE UPDATE ON revocation_note
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('revocation notes are');
CREATE TRIGGER revocation_note_no_delete BEFORE DELETE ON revocation_note
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('revocation notes are');
CREATE TRIGGER revocation_note_no_truncate BEFORE TRUNCATE ON revocation_note
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('revocation notes are');
