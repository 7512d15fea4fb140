-- Reviewers' decisions on flagged records (issue 13): append-only, each
-- attributed to the operator who made it. The latest decision on a record
-- is the one in force; earlier ones stay as history.
CREATE TABLE review_decision (
    id INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('accept', 'reject')),
    note TEXT NOT NULL,
    operator TEXT NOT NULL,
    decided_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX review_decision_record ON review_decision (record_id, id);

CREATE TRIGGER review_decision_no_update BEFORE UPDATE ON review_decision
BEGIN SELECT RAISE(ABORT, 'review decisions are append-only'); END;
CREATE TRIGGER review_decision_no_delete BEFORE DELETE ON review_decision
BEGIN SELECT RAISE(ABORT, 'review decisions are append-only'); END;

-- Who an operator token belongs to, so what it does is attributed.
ALTER TABLE operator_token ADD COLUMN name TEXT NOT NULL DEFAULT 'operator';
