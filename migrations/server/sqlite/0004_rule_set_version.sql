-- Every rule set the office stored, with the time it took effect and who
-- set it (issue 14): past results are judged by the version in force at
-- their time, never rewritten by a later change. Append-only.
CREATE TABLE rule_set_version (
    version INTEGER PRIMARY KEY,
    effective_at_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    set_by TEXT NOT NULL
) STRICT;

CREATE TRIGGER rule_set_version_no_update BEFORE UPDATE ON rule_set_version
BEGIN SELECT RAISE(ABORT, 'rule set versions are append-only'); END;
CREATE TRIGGER rule_set_version_no_delete BEFORE DELETE ON rule_set_version
BEGIN SELECT RAISE(ABORT, 'rule set versions are append-only'); END;
