-- Every rule set the office stored; as migrations/server/sqlite/0004_rule_set_version.sql.
CREATE TABLE rule_set_version (
    version BIGINT PRIMARY KEY,
    effective_at_ms BIGINT NOT NULL,
    body TEXT NOT NULL,
    set_by TEXT NOT NULL
);

CREATE TRIGGER rule_set_version_no_update BEFORE UPDATE ON rule_set_version
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('rule set versions are');
CREATE TRIGGER rule_set_version_no_delete BEFORE DELETE ON rule_set_version
FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change('rule set versions are');
