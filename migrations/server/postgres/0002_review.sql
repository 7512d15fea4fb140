-- Reviewers' decisions on flagged records (issue 13): append-only, each
-- attributed to the operator who made it; as migrations/server/sqlite/0002_review.sql.
CREATE TABLE review_decision (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_id TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('accept', 'reject')),
    note TEXT NOT NULL,
    operator TEXT NOT NULL,
    decided_at_ms BIGINT NOT NULL
);
CREATE INDEX review_decision_record ON review_decision (record_id, id);

CREATE TRIGGER review_decision_no_update BEFORE UPDATE ON review_decision
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('review decisions are');
CREATE TRIGGER review_decision_no_delete BEFORE DELETE ON review_decision
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('review decisions are');

ALTER TABLE operator_token ADD COLUMN name TEXT NOT NULL DEFAULT 'operator';
