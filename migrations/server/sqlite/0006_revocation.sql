-- Who revoked a tablet or a technician's key from the office, when, and why
-- (a back-dated revocation needs a reason). The time in force stays on
-- device.revoked_at_ms / technician_key.revoked_at_ms; this is the note.
CREATE TABLE revocation_note (
    id INTEGER PRIMARY KEY,
    -- 'device' (subject = device_id) or 'technician_key' (subject = kid).
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('device', 'technician_key')),
    subject TEXT NOT NULL,
    effective_at_ms INTEGER NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    reason TEXT
) STRICT;

CREATE TRIGGER revocation_note_no_update BEFORE UPDATE ON revocation_note
BEGIN SELECT RAISE(ABORT, 'revocation notes are append-only'); END;
CREATE TRIGGER revocation_note_no_delete BEFORE DELETE ON revocation_note
BEGIN SELECT RAISE(ABORT, 'revocation notes are append-only'); END;
